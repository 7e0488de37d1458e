package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// kin-openapi checks date and date-time itself; email it leaves to the application.
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(`^[^\s@]+@[^\s@]+\.[^\s@]+$`))
}

func contextWithoutCancel(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// jsonObject reports whether body is one JSON object.
func jsonObject(body []byte) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal(body, &v) == nil
}

var unsupportedProperty = regexp.MustCompile(`property "([^"]+)" is unsupported`)

// validationProblem turns a kin-openapi validation error into the error format, naming
// the parameter and saying what is wrong in words, never in Go's.
func validationProblem(err error) *Problem {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return newProblem(CodeParameterInvalid, "The request is invalid.", "")
	}
	if prm := re.Parameter; prm != nil {
		name := prm.Name
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) {
			if strings.EqualFold(name, "Idempotency-Key") {
				return newProblem(CodeIdempotencyKeyMissing, "", name)
			}
			return newProblem(CodeParameterMissing, fmt.Sprintf("%s is required.", name), name)
		}
		var schema *openapi3.Schema
		if prm.Schema != nil {
			schema = prm.Schema.Value
		}
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			if strings.EqualFold(name, "Idempotency-Key") && se.SchemaField == "minLength" {
				return newProblem(CodeIdempotencyKeyMissing, "", name) // sent, but empty
			}
			if se.Schema != nil {
				schema = se.Schema
			}
			return newProblem(CodeParameterInvalid, schemaMessage(name, se.SchemaField, schema), name)
		}
		return newProblem(CodeParameterInvalid, schemaMessage(name, "type", schema), name)
	}
	if re.RequestBody != nil {
		switch {
		case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
			return newProblem(CodeBodyInvalid, "This call needs a JSON body.", "")
		case strings.HasPrefix(re.Reason, "header Content-Type has unexpected value"):
			return newProblem(CodeUnsupportedMediaType, "", "")
		}
		var se *openapi3.SchemaError
		if !errors.As(re.Err, &se) {
			return newProblem(CodeBodyInvalid, "", "")
		}
		field := strings.Join(se.JSONPointer(), ".")
		switch se.SchemaField {
		case "required":
			return newProblem(CodeParameterMissing, fmt.Sprintf("%s is required.", field), field)
		case "properties":
			if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
				unknown := joinField(field, m[1])
				return newProblem(CodeParameterUnknown, fmt.Sprintf("%s is not a field of this request.", unknown), unknown)
			}
		}
		if field == "" && se.SchemaField == "minProperties" {
			return newProblem(CodeParameterMissing, "Send at least one field to change.", "")
		}
		if field == "" {
			return newProblem(CodeBodyInvalid, "The body must be a JSON object.", "")
		}
		return newProblem(CodeParameterInvalid, schemaMessage(field, se.SchemaField, se.Schema), field)
	}
	return newProblem(CodeParameterInvalid, "The request is invalid.", "")
}

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// schemaMessage says in words which rule of schema the value of field broke.
func schemaMessage(field, rule string, schema *openapi3.Schema) string {
	if schema == nil {
		return field + " is invalid."
	}
	switch rule {
	case "type", "nullable":
		return fmt.Sprintf("%s must be %s.", field, typeInWords(schema))
	case "format":
		switch schema.Format {
		case "date":
			return fmt.Sprintf("%s must be a date like 2026-12-04.", field)
		case "date-time":
			return fmt.Sprintf("%s must be an RFC 3339 date-time like 2026-12-04T19:30:00Z.", field)
		case "email":
			return fmt.Sprintf("%s must be an email address.", field)
		}
		return fmt.Sprintf("%s must be in %s format.", field, schema.Format)
	case "minimum", "exclusiveMinimum":
		if schema.Min != nil {
			return fmt.Sprintf("%s must be at least %s.", field, number(*schema.Min))
		}
	case "maximum", "exclusiveMaximum":
		if schema.Max != nil {
			return fmt.Sprintf("%s must be at most %s.", field, number(*schema.Max))
		}
	case "minProperties":
		return fmt.Sprintf("%s must have at least one field.", field)
	case "minLength":
		if schema.MinLength <= 1 {
			return fmt.Sprintf("%s must not be empty.", field)
		}
		return fmt.Sprintf("%s must be at least %d characters long.", field, schema.MinLength)
	case "maxLength":
		if schema.MaxLength != nil {
			return fmt.Sprintf("%s must be at most %d characters long.", field, *schema.MaxLength)
		}
	case "enum":
		vals := make([]string, 0, len(schema.Enum))
		for _, v := range schema.Enum {
			vals = append(vals, fmt.Sprint(v))
		}
		return fmt.Sprintf("%s must be one of: %s.", field, strings.Join(vals, ", "))
	case "pattern":
		if schema.Example != nil {
			return fmt.Sprintf("%s has the wrong format; it must look like %v.", field, schema.Example)
		}
		return fmt.Sprintf("%s has the wrong format.", field)
	}
	return field + " is invalid."
}

func typeInWords(schema *openapi3.Schema) string {
	switch {
	case schema.Type.Is("integer"):
		return "an integer"
	case schema.Type.Is("number"):
		return "a number"
	case schema.Type.Is("boolean"):
		return "true or false"
	case schema.Type.Is("array"):
		return "an array"
	case schema.Type.Is("object"):
		return "an object"
	}
	return "a string"
}

func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
