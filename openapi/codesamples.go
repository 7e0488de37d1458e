package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// CodeSample is one entry of an operation's x-codeSamples (the convention Redocly and
// the reference's Swagger UI plugin read).
type CodeSample struct {
	Lang   string `json:"lang"`
	Label  string `json:"label"`
	Source string `json:"source"`
}

// api says which published document an operation is in, and so which client its
// samples use.
type api struct {
	tokenEnv  string // the environment variable holding the token
	goImport  string // the Go client's import path
	goPackage string // and its package name
	tsSDK     bool   // whether the TypeScript SDK covers it (the partner API only)
}

var (
	partnerAPI  = api{tokenEnv: "PRIMA_TOKEN", goImport: "github.com/prima-dining/partner-api/sdk/go", goPackage: "client", tsSDK: true}
	operatorAPI = api{tokenEnv: "PRIMA_OPERATOR_TOKEN", goImport: "github.com/prima-dining/partner-api/sdk/go/operator", goPackage: "operator"}
)

var methods = []string{"get", "put", "post", "patch", "delete"}

// addCodeSamples writes x-codeSamples, in curl, TypeScript and Go, into every operation
// of doc, made of its method, path, required parameters and request example. The curl
// runs in bash and zsh on Linux and macOS alike (no GNU-only flags).
func addCodeSamples(doc map[string]any, a api) {
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		pathItem, _ := item.(map[string]any)
		for _, method := range methods {
			op, ok := pathItem[method].(map[string]any)
			if !ok {
				continue
			}
			o := describe(doc, path, method, pathItem, op)
			op["x-codeSamples"] = []CodeSample{
				{Lang: "curl", Label: "curl", Source: o.curl(a)},
				{Lang: "TypeScript", Label: "TypeScript", Source: o.typescript(a)},
				{Lang: "Go", Label: "Go", Source: o.golang(a)},
			}
		}
	}
}

// param is one parameter a sample sends.
type param struct {
	name, in string
	required bool
	schema   map[string]any
	example  any
}

// operation is what the samples of one operation are made of.
type operation struct {
	id, method, path string
	auth             bool
	params           []param // path parameters, required query parameters, headers sent
	hasParamsStruct  bool    // whether the Go client takes a <Op>Params (any query or header parameter)
	body             any     // the request example, nil without a body
}

func describe(doc map[string]any, path, method string, pathItem, op map[string]any) operation {
	o := operation{method: method, path: path}
	o.id, _ = op["operationId"].(string)
	o.auth = true
	if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
		o.auth = false
	}
	var raw []any
	raw = append(raw, anySlice(pathItem["parameters"])...)
	raw = append(raw, anySlice(op["parameters"])...)
	for _, r := range raw {
		p, _ := resolve(doc, r).(map[string]any)
		name, _ := p["name"].(string)
		in, _ := p["in"].(string)
		required, _ := p["required"].(bool)
		schema, _ := resolve(doc, p["schema"]).(map[string]any)
		if in == "query" || in == "header" {
			o.hasParamsStruct = true
		}
		// Sent: path parameters, required ones, and an Idempotency-Key whenever one is taken.
		if in == "path" || required || (in == "header" && name == "Idempotency-Key") {
			ex := p["example"]
			if ex == nil {
				ex = schema["example"]
			}
			if ex == nil {
				ex = schema["default"]
			}
			o.params = append(o.params, param{name: name, in: in, required: required, schema: schema, example: ex})
		}
	}
	if rb, ok := resolve(doc, op["requestBody"]).(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		media, _ := content["application/json"].(map[string]any)
		o.body = media["example"]
		if o.body == nil {
			examples, _ := media["examples"].(map[string]any)
			names := make([]string, 0, len(examples))
			for n := range examples {
				names = append(names, n)
			}
			slices.Sort(names)
			if slices.Contains(names, "succeeded") { // the sandbox's happy path first
				names = []string{"succeeded"}
			}
			if len(names) > 0 {
				ex, _ := resolve(doc, examples[names[0]]).(map[string]any)
				o.body = ex["value"]
			}
		}
		if o.body == nil {
			o.body = map[string]any{}
		}
	}
	return o
}

// resolve follows a local $ref ("#/components/…") in doc.
func resolve(doc map[string]any, v any) any {
	for range 8 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		v = cur
	}
	return v
}

func isDate(p param) bool { return p.schema["format"] == "date" }

func (o operation) pathWith(value func(param) string) string {
	path := o.path
	for _, p := range o.params {
		if p.in == "path" {
			path = strings.ReplaceAll(path, "{"+p.name+"}", value(p))
		}
	}
	return path
}

func (o operation) inParams(in string) []param {
	var out []param
	for _, p := range o.params {
		if p.in == in {
			out = append(out, p)
		}
	}
	return out
}

func exampleString(p param) string {
	switch v := p.example.(type) {
	case nil:
		return p.name
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// curl: bash and zsh, Linux and macOS. The Idempotency-Key comes from /dev/urandom
// through od and tr, which both systems have (uuidgen is not installed on every Linux).
func (o operation) curl(a api) string {
	var b strings.Builder
	u := "$PRIMA_URL" + o.pathWith(func(p param) string { return exampleString(p) })
	var query []string
	for _, p := range o.inParams("query") {
		v := exampleString(p)
		if isDate(p) {
			v = "$(TZ=UTC-24 date +%F)" // tomorrow, with GNU and BSD date alike
		}
		query = append(query, p.name+"="+v)
	}
	if len(query) > 0 {
		u += "?" + strings.Join(query, "&")
	}
	var lines []string
	if o.method == "get" {
		lines = append(lines, `curl -sS "`+u+`"`)
	} else {
		lines = append(lines, `curl -sS -X `+strings.ToUpper(o.method)+` "`+u+`"`)
	}
	if o.auth {
		lines = append(lines, `  -H "Authorization: Bearer $`+a.tokenEnv+`"`)
	}
	for _, p := range o.inParams("header") {
		if p.name == "Idempotency-Key" {
			lines = append(lines, `  -H "Idempotency-Key: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"`)
			continue
		}
		lines = append(lines, `  -H '`+p.name+`: `+strings.ReplaceAll(exampleString(p), "'", `'\''`)+`'`)
	}
	if o.body != nil {
		body, _ := json.MarshalIndent(o.body, "  ", "  ")
		lines = append(lines, `  -H 'Content-Type: application/json'`)
		lines = append(lines, `  -d '`+strings.ReplaceAll(string(body), "'", `'\''`)+`'`)
	}
	b.WriteString(strings.Join(lines, " \\\n"))
	b.WriteString("\n")
	return b.String()
}

// typescript: the SDK (sdk/typescript, openapi-fetch) for the partner API; fetch for
// the operator API, which the SDK does not cover.
func (o operation) typescript(a api) string {
	var b strings.Builder
	method := strings.ToUpper(o.method)
	if !a.tsSDK {
		b.WriteString("const res = await fetch(`${process.env.PRIMA_URL}" + o.pathWith(func(p param) string { return exampleString(p) }) + "`, {\n")
		b.WriteString("  method: \"" + method + "\",\n  headers: {\n")
		if o.auth {
			b.WriteString("    Authorization: `Bearer ${process.env." + a.tokenEnv + "}`,\n")
		}
		for _, p := range o.inParams("header") {
			if p.name == "Idempotency-Key" {
				b.WriteString("    \"Idempotency-Key\": crypto.randomUUID(),\n")
			} else {
				b.WriteString("    " + strconv.Quote(p.name) + ": " + strconv.Quote(exampleString(p)) + ",\n")
			}
		}
		if o.body != nil {
			b.WriteString("    \"Content-Type\": \"application/json\",\n")
		}
		b.WriteString("  },\n")
		if o.body != nil {
			b.WriteString("  body: JSON.stringify(" + jsLiteral(o.body, "  ") + "),\n")
		}
		b.WriteString("});\nconsole.log(res.status, await res.json());\n")
		return b.String()
	}

	usesKey := slices.ContainsFunc(o.params, func(p param) bool { return p.name == "Idempotency-Key" })
	imports := "createPrimaClient"
	if usesKey {
		imports += ", newIdempotencyKey"
	}
	b.WriteString("import { " + imports + " } from \"@prima-dining/partner-api\";\n\n")
	b.WriteString("const prima = createPrimaClient(process.env.PRIMA_URL!, process.env." + a.tokenEnv + "!);\n\n")
	var groups []string
	for _, in := range []string{"path", "query", "header"} {
		ps := o.inParams(in)
		if len(ps) == 0 {
			continue
		}
		var fields []string
		for _, p := range ps {
			var v string
			switch {
			case p.name == "Idempotency-Key":
				v = "newIdempotencyKey()"
			case isDate(p):
				v = "new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10)" // tomorrow
			default:
				v = jsLiteral(p.example, "")
			}
			fields = append(fields, jsKey(p.name)+": "+v)
		}
		groups = append(groups, "    "+in+": { "+strings.Join(fields, ", ")+" },")
	}
	var opts []string
	if len(groups) > 0 {
		opts = append(opts, "  params: {\n"+strings.Join(groups, "\n")+"\n  },")
	}
	if o.body != nil {
		opts = append(opts, "  body: "+jsLiteral(o.body, "  ")+",")
	}
	call := "await prima." + method + "(" + strconv.Quote(o.path)
	if len(opts) > 0 {
		call += ", {\n" + strings.Join(opts, "\n") + "\n}"
	}
	b.WriteString("const { data, error, response } = " + call + ");\n")
	b.WriteString("if (error) console.error(response.status, error);\nelse console.log(data);\n")
	return b.String()
}

var jsIdent = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func jsKey(k string) string {
	if jsIdent.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

// jsLiteral writes v (decoded JSON) as a JavaScript literal, two spaces a level.
func jsLiteral(v any, indent string) string {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			b.WriteString(indent + "  " + jsKey(k) + ": " + jsLiteral(t[k], indent+"  ") + ",\n")
		}
		b.WriteString(indent + "}")
		return b.String()
	case []any:
		if len(t) == 0 {
			return "[]"
		}
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = jsLiteral(e, indent)
		}
		one := "[" + strings.Join(parts, ", ") + "]"
		if !strings.Contains(one, "\n") && len(one) < 80 {
			return one
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, e := range t {
			b.WriteString(indent + "  " + jsLiteral(e, indent+"  ") + ",\n")
		}
		b.WriteString(indent + "]")
		return b.String()
	default:
		out, _ := json.Marshal(t)
		return string(out)
	}
}

// golang: a complete program with the Go client (sdk/go, or sdk/go/operator). The body
// is sent as the request example's JSON (the client's …WithBody method), so the sample
// does not depend on how the generator names the request types' fields.
func (o operation) golang(a api) string {
	imports := []string{"context", "fmt", "log", "net/http", "os"}
	var thirdParty []string
	name := goName(o.id)
	args := []string{"ctx"}
	for _, p := range o.inParams("path") {
		args = append(args, strconv.Quote(exampleString(p)))
	}
	var pre []string
	if o.hasParamsStruct {
		var fields []string
		for _, p := range o.params {
			if p.in == "path" {
				continue
			}
			var v string
			switch {
			case p.name == "Idempotency-Key":
				v = strconv.Quote("order-1001-" + o.id)
				if !p.required {
					pre = append(pre, "\t// One key per operation you mean to do once: send it again to retry it safely.",
						"\tkey := "+v)
					v = "&key"
				}
			case isDate(p):
				v = "openapi_types.Date{Time: time.Now().AddDate(0, 0, 1)}" // tomorrow
				imports = append(imports, "time")
				thirdParty = append(thirdParty, `openapi_types "github.com/oapi-codegen/runtime/types"`)
			default:
				v = goLiteral(p)
			}
			fields = append(fields, goName(p.name)+": "+v)
		}
		args = append(args, "&"+a.goPackage+"."+name+"Params{"+strings.Join(fields, ", ")+"}")
	}
	method := name + "WithResponse"
	if o.body != nil {
		method = name + "WithBodyWithResponse"
		body, _ := json.MarshalIndent(o.body, "\t", "\t")
		pre = append(pre, "\tbody := `"+strings.ReplaceAll(string(body), "`", "` + \"`\" + `")+"`")
		args = append(args, `"application/json"`, "strings.NewReader(body)")
		imports = append(imports, "strings")
	}
	slices.Sort(imports)
	imports = slices.Compact(imports)

	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	for _, i := range imports {
		b.WriteString("\t" + strconv.Quote(i) + "\n")
	}
	b.WriteString("\n")
	for _, i := range slices.Compact(thirdParty) {
		b.WriteString("\t" + i + "\n")
	}
	if len(thirdParty) > 0 {
		b.WriteString("\n")
	}
	alias := ""
	if a.goPackage == "client" {
		alias = "client "
	}
	b.WriteString("\t" + alias + strconv.Quote(a.goImport) + "\n)\n\n")
	b.WriteString("func main() {\n\tctx := context.Background()\n")
	fmt.Fprintf(&b, "\tc, err := %s.NewClientWithResponses(os.Getenv(\"PRIMA_URL\")", a.goPackage)
	if o.auth {
		fmt.Fprintf(&b, ", %s.WithRequestEditorFn(\n\t\tfunc(_ context.Context, r *http.Request) error {\n\t\t\tr.Header.Set(\"Authorization\", \"Bearer \"+os.Getenv(%q))\n\t\t\treturn nil\n\t\t}))\n", a.goPackage, a.tokenEnv)
	} else {
		b.WriteString(")\n")
	}
	b.WriteString("\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n")
	for _, l := range pre {
		b.WriteString(l + "\n")
	}
	b.WriteString("\tres, err := c." + method + "(" + strings.Join(args, ", ") + ")\n")
	b.WriteString("\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n")
	b.WriteString("\tfmt.Println(res.StatusCode(), string(res.Body))\n}\n")
	out := b.String()
	if !o.auth {
		out = strings.Replace(out, "\t\"net/http\"\n", "", 1)
	}
	return out
}

// goLiteral is a parameter's example as a Go constant (a string or a number, which
// also converts to the client's named types).
func goLiteral(p param) string {
	switch v := p.example.(type) {
	case string:
		return strconv.Quote(v)
	case float64, bool:
		b, _ := json.Marshal(v)
		return string(b)
	default:
		return strconv.Quote(exampleString(p))
	}
}

// goName is the name oapi-codegen gives an operation or a parameter: each word
// (split at '_', '-' and '.') capitalised, "Id" kept as it is.
func goName(s string) string {
	var b bytes.Buffer
	upper := true
	for _, r := range s {
		if r == '_' || r == '-' || r == '.' || r == ' ' {
			upper = true
			continue
		}
		if upper {
			b.WriteRune(unicode.ToUpper(r))
			upper = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
