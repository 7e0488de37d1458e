package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/openapi"
)

type sample struct{ Lang, Label, Source string }

// samples reads the x-codeSamples of every operation of both published documents, by
// document ("partner", "operator") and operationId.
func samples(t *testing.T) map[string]map[string][]sample {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	full, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	partner, operator, err := openapi.Documents(full)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]sample{}
	for name, b := range map[string][]byte{"partner": partner, "operator": operator} {
		var d struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		out[name] = map[string][]sample{}
		for path, item := range d.Paths {
			for method, raw := range item {
				var op struct {
					OperationID string   `json:"operationId"`
					Samples     []sample `json:"x-codeSamples"`
				}
				if json.Unmarshal(raw, &op) != nil || op.OperationID == "" {
					continue // not an operation (parameters, summary)
				}
				if len(op.Samples) == 0 {
					t.Errorf("%s: %s %s has no x-codeSamples", name, method, path)
				}
				out[name][op.OperationID] = op.Samples
			}
		}
	}
	return out
}

// TestEveryOperationHasCurlTypeScriptAndGo, and the curl runs on macOS as on Linux.
func TestEveryOperationHasCurlTypeScriptAndGo(t *testing.T) {
	gnuOnly := regexp.MustCompile(`date -d|date --date|sed -i|base64 -w|readlink -f|grep -P|xargs -r|uuidgen`)
	for doc, ops := range samples(t) {
		if len(ops) < 10 {
			t.Errorf("%s: %d operations", doc, len(ops))
		}
		for id, ss := range ops {
			var langs []string
			for _, s := range ss {
				langs = append(langs, s.Lang)
				if strings.TrimSpace(s.Source) == "" {
					t.Errorf("%s %s: empty %s sample", doc, id, s.Lang)
				}
			}
			if strings.Join(langs, ",") != "curl,TypeScript,Go" {
				t.Errorf("%s %s: samples %v, want curl, TypeScript, Go", doc, id, langs)
				continue
			}
			if m := gnuOnly.FindString(ss[0].Source); m != "" {
				t.Errorf("%s %s: the curl uses %q, which not every macOS or Linux has", doc, id, m)
			}
			if !strings.HasPrefix(ss[0].Source, "curl -sS ") {
				t.Errorf("%s %s: the curl sample starts %q", doc, id, ss[0].Source[:20])
			}
		}
	}
}

// TestGoSamplesCompile writes every Go sample into a package inside the Go SDK's module
// (sdk/go, which holds both clients) and vets them all: a sample that names a method,
// a parameter struct or a field the generated clients lack fails here, not on a
// partner's machine.
func TestGoSamplesCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every Go sample (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	sdk, err := filepath.Abs("../sdk/go")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(sdk, "zz-samples-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	n := 0
	for doc, ops := range samples(t) {
		for id, ss := range ops {
			pkg := filepath.Join(dir, doc+"_"+id)
			if err := os.Mkdir(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(ss[2].Source), 0o600); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	cmd := exec.Command(goBin, "vet", "./"+filepath.Base(dir)+"/...")
	cmd.Dir = sdk
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the %d Go samples: %v\n%s", n, err, out)
	}
	t.Logf("%d Go samples compile and vet", n)
}

// TestTypeScriptSamplesTypeCheck type-checks the partner API's TypeScript samples
// against the SDK (sdk/typescript, with its npm dependencies installed: make
// node-deps); skipped without them.
func TestTypeScriptSamplesTypeCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tsc (-short)")
	}
	sdk, err := filepath.Abs("../sdk/typescript")
	if err != nil {
		t.Fatal(err)
	}
	tsc := filepath.Join(sdk, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Skip("sdk/typescript has no node_modules (make node-deps)")
	}
	dir, err := os.MkdirTemp(sdk, "zz-samples-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var files []string
	for id, ss := range samples(t)["partner"] {
		// Each sample is a module of its own (top-level await), importing the SDK by path.
		src := strings.Replace(ss[1].Source, `from "@prima-dining/partner-api"`, `from "../src/index.js"`, 1)
		name := filepath.Join(dir, id+".ts")
		if err := os.WriteFile(name, []byte(src+"export {};\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	config := fmt.Sprintf(`{"extends": "../tsconfig.json", "compilerOptions": {"noEmit": true, "rootDir": ".."}, "include": [%q, "../src"]}`, "*.ts")
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tsc, "-p", filepath.Join(dir, "tsconfig.json"))
	cmd.Dir = sdk
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc of the %d TypeScript samples: %v\n%s", len(files), err, out)
	}
	t.Logf("%d TypeScript samples type-check", len(files))
}
