package booking

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Booking questions (issue 19): a venue asks them, a hold answers them, a change may
// change the answers until the modification cutoff. The questions are kept on the venue
// as JSON, the answers on the reservation as a JSON object, question id to answer.

// Question kinds.
const (
	KindOccasion          = "occasion"
	KindDietary           = "dietary"
	KindAccessibility     = "accessibility"
	KindSeatingPreference = "seating_preference"
	KindHighChair         = "high_chair"
	KindArrivalBy         = "arrival_by"
	KindCustom            = "custom"
)

// Answer types.
const (
	AnswerText    = "text"
	AnswerYesNo   = "yes_no"
	AnswerOneOf   = "one_of"
	AnswerNumber  = "number"
	AnswerDietary = "dietary" // {restrictions: [...], details: "..."}
)

// DietaryRestrictions is the fixed list a dietary answer's restrictions come from.
var DietaryRestrictions = []string{
	"vegetarian", "vegan", "pescatarian", "gluten_free", "dairy_free", "halal", "kosher",
	"nut_allergy", "peanut_allergy", "shellfish_allergy", "fish_allergy", "egg_allergy",
	"soy_allergy", "sesame_allergy",
}

// builtIn is what each built-in kind asks, unless the operator's label replaces it.
var builtIn = map[string]Question{
	KindOccasion:          {Type: AnswerOneOf, Label: "What is the occasion?", Options: []string{"birthday", "anniversary", "date", "business", "celebration", "other"}},
	KindDietary:           {Type: AnswerDietary, Label: "Dietary restrictions or allergies?", Options: DietaryRestrictions},
	KindAccessibility:     {Type: AnswerText, Label: "Any accessibility needs?"},
	KindSeatingPreference: {Type: AnswerOneOf, Label: "Seating preference?", Options: []string{"indoor", "outdoor", "bar", "window", "quiet", "booth"}},
	KindHighChair:         {Type: AnswerNumber, Label: "How many high chairs?"},
	KindArrivalBy:         {Type: AnswerOneOf, Label: "How will you arrive?", Options: []string{"car", "taxi", "public_transport", "walking", "wheelchair"}},
}

// Question is a booking question of a venue.
type Question struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Type     string   `json:"type"`
	Label    string   `json:"label"`
	Required bool     `json:"required,omitempty"`
	Options  []string `json:"options,omitempty"`
	// SlotTypes are the slot types whose holds are asked it; empty means every type.
	SlotTypes []SlotType `json:"slot_types,omitempty"`
}

// AskedFor says whether a hold of a slot of type t is asked q.
func (q Question) AskedFor(t SlotType) bool {
	return len(q.SlotTypes) == 0 || slices.Contains(q.SlotTypes, t)
}

// Answers are a reservation's answers, question id to answer (a decoded JSON value).
type Answers map[string]any

var questionID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// NormalizeQuestions checks an operator's questions and fills in what built-in kinds
// bring; a refusal is a ParamError naming the field (questions.2.options).
func NormalizeQuestions(in []Question) ([]Question, error) {
	out := make([]Question, 0, len(in))
	seen := map[string]bool{}
	for i, q := range in {
		param := func(field string) string { return fmt.Sprintf("questions.%d.%s", i, field) }
		if !questionID.MatchString(q.ID) {
			return nil, &ParamError{Param: param("id"), Message: "A question id is lower-case letters, digits and underscores, starting with a letter."}
		}
		if seen[q.ID] {
			return nil, &ParamError{Param: param("id"), Message: fmt.Sprintf("Two questions have the id %q.", q.ID)}
		}
		seen[q.ID] = true
		q.Label = strings.TrimSpace(q.Label)
		if q.Kind == KindCustom {
			switch q.Type {
			case AnswerText, AnswerYesNo, AnswerNumber:
				q.Options = nil
			case AnswerOneOf:
				if len(q.Options) == 0 {
					return nil, &ParamError{Param: param("options"), Message: "A one_of question needs its options."}
				}
				q.Options = slices.Compact(q.Options)
			default:
				return nil, &ParamError{Param: param("type"), Message: "A custom question needs a type: text, yes_no, one_of or number."}
			}
			if q.Label == "" {
				return nil, &ParamError{Param: param("label"), Message: "A custom question needs a label."}
			}
		} else {
			b, ok := builtIn[q.Kind]
			if !ok {
				return nil, &ParamError{Param: param("kind"), Message: fmt.Sprintf("%q is not a kind of question.", q.Kind)}
			}
			if q.Type != "" || len(q.Options) > 0 {
				return nil, &ParamError{Param: param("type"), Message: "Only custom questions set type and options; built-in kinds bring theirs."}
			}
			q.Type, q.Options = b.Type, b.Options
			if q.Label == "" {
				q.Label = b.Label
			}
		}
		q.SlotTypes = slices.Compact(slices.Sorted(slices.Values(q.SlotTypes)))
		if len(q.SlotTypes) == 2 {
			q.SlotTypes = nil // both: every type
		}
		out = append(out, q)
	}
	return out, nil
}

// QuestionsFromJSON reads a venue's stored questions ("" is none). Stored questions were
// checked when they were set; a row that does not parse asks nothing.
func QuestionsFromJSON(s string) []Question {
	if s == "" {
		return nil
	}
	var qs []Question
	if json.Unmarshal([]byte(s), &qs) != nil {
		return nil
	}
	return qs
}

// QuestionsJSON is the stored form of qs ("" for none).
func QuestionsJSON(qs []Question) (string, error) {
	if len(qs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(qs)
	return string(b), err
}

// AnswersFromJSON reads a reservation's stored answers ("" is none).
func AnswersFromJSON(s string) Answers {
	out := Answers{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &out)
	}
	return out
}

// answersJSON is the stored form of a ("" for none): keys sorted, so that equal answers
// are equal text.
func answersJSON(a Answers) (string, error) {
	if len(a) == 0 {
		return "", nil
	}
	b, err := json.Marshal(map[string]any(a))
	return string(b), err
}

// checkAnswers checks a hold's (or a changed booking's) answers against the questions
// asked for slot type t, and returns them in their stored form: every required question
// answered, every answer of its question's type, no answer to a question not asked.
func checkAnswers(questions []Question, t SlotType, answers Answers) (Answers, error) {
	asked := map[string]Question{}
	for _, q := range questions {
		if q.AskedFor(t) {
			asked[q.ID] = q
		}
	}
	// In a fixed order, so that a request with several faults always names the same one.
	for _, id := range slices.Sorted(maps.Keys(answers)) {
		q, ok := asked[id]
		if !ok {
			return nil, &ParamError{Param: "answers." + id, Message: fmt.Sprintf("The venue asks no question %q for this slot.", id)}
		}
		v, err := checkAnswer(q, answers[id])
		if err != nil {
			return nil, err
		}
		answers[id] = v
	}
	for _, q := range questions {
		if _, ok := answers[q.ID]; q.Required && q.AskedFor(t) && !ok {
			return nil, &ParamError{Param: "answers." + q.ID, Missing: true, Message: fmt.Sprintf("The venue requires an answer to %q (%s).", q.ID, q.Label)}
		}
	}
	return answers, nil
}

func checkAnswer(q Question, v any) (any, error) {
	param := "answers." + q.ID
	invalid := func(msg string) error { return &ParamError{Param: param, Message: msg} }
	text := func(v any, param string) (string, error) {
		s, ok := v.(string)
		s = strings.TrimSpace(s)
		if !ok || s == "" || utf8.RuneCountInString(s) > 500 {
			return "", &ParamError{Param: param, Message: "The answer must be a text of 1 to 500 characters."}
		}
		return s, nil
	}
	switch q.Type {
	case AnswerText:
		return text(v, param)
	case AnswerYesNo:
		if _, ok := v.(bool); !ok {
			return nil, invalid("The answer must be true or false.")
		}
		return v, nil
	case AnswerNumber:
		n, ok := v.(float64)
		if !ok || math.IsNaN(n) || n < 0 || n > 1000 {
			return nil, invalid("The answer must be a number from 0 to 1000.")
		}
		return n, nil
	case AnswerOneOf:
		s, ok := v.(string)
		if !ok || !slices.Contains(q.Options, s) {
			return nil, invalid(fmt.Sprintf("The answer must be one of %s.", strings.Join(q.Options, ", ")))
		}
		return s, nil
	case AnswerDietary:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, invalid(`The answer must be an object {"restrictions": [...], "details": "..."}.`)
		}
		for k := range obj {
			if k != "restrictions" && k != "details" {
				return nil, &ParamError{Param: param + "." + k, Message: "A dietary answer has only restrictions and details."}
			}
		}
		out := map[string]any{}
		if raw, ok := obj["restrictions"]; ok {
			list, ok := raw.([]any)
			if !ok {
				return nil, &ParamError{Param: param + ".restrictions", Message: "restrictions must be a list."}
			}
			rs := make([]string, 0, len(list))
			for _, r := range list {
				s, ok := r.(string)
				if !ok || !slices.Contains(q.Options, s) {
					return nil, &ParamError{Param: param + ".restrictions", Message: fmt.Sprintf("Each restriction must be one of %s.", strings.Join(q.Options, ", "))}
				}
				rs = append(rs, s)
			}
			if len(rs) > 0 {
				out["restrictions"] = slices.Compact(slices.Sorted(slices.Values(rs)))
			}
		}
		if raw, ok := obj["details"]; ok && raw != "" {
			s, err := text(raw, param+".details")
			if err != nil {
				return nil, err
			}
			out["details"] = s
		}
		if len(out) == 0 {
			return nil, invalid("A dietary answer needs restrictions or details.")
		}
		return out, nil
	}
	return nil, invalid("The venue's question cannot be answered.")
}

// answerText is an answer as history text: its JSON ("" for none).
func answerText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
