package booking

import (
	"errors"
	"testing"
)

func TestAnswersAreCheckedAgainstTheQuestionsOfTheSlotType(t *testing.T) {
	qs, err := NormalizeQuestions([]Question{
		{ID: "allergies", Kind: KindDietary, Required: true},
		{ID: "chairs", Kind: KindHighChair},
		{ID: "terrace", Kind: KindCustom, Type: AnswerYesNo, Label: "Terrace?", SlotTypes: []SlotType{SlotPrime}},
		{ID: "note", Kind: KindCustom, Type: AnswerText, Label: "Anything else?"},
		{ID: "seat", Kind: KindCustom, Type: AnswerOneOf, Label: "Where?", Options: []string{"bar", "room"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	allergy := map[string]any{"restrictions": []any{"vegan", "peanut_allergy", "vegan"}}
	for _, c := range []struct {
		name    string
		t       SlotType
		answers Answers
		param   string // "" when accepted
		missing bool
	}{
		{"all good", SlotPrime, Answers{"allergies": allergy, "chairs": 2.0, "terrace": true, "note": " Late ", "seat": "bar"}, "", false},
		{"required missing", SlotStandard, Answers{"chairs": 1.0}, "answers.allergies", true},
		{"not asked for this slot type", SlotStandard, Answers{"allergies": allergy, "terrace": true}, "answers.terrace", false},
		{"unknown question", SlotPrime, Answers{"allergies": allergy, "dessert": "yes"}, "answers.dessert", false},
		{"number as text", SlotPrime, Answers{"allergies": allergy, "chairs": "two"}, "answers.chairs", false},
		{"negative number", SlotPrime, Answers{"allergies": allergy, "chairs": -1.0}, "answers.chairs", false},
		{"yes_no as text", SlotPrime, Answers{"allergies": allergy, "terrace": "yes"}, "answers.terrace", false},
		{"blank text", SlotPrime, Answers{"allergies": allergy, "note": "  "}, "answers.note", false},
		{"not an option", SlotPrime, Answers{"allergies": allergy, "seat": "roof"}, "answers.seat", false},
		{"empty dietary", SlotPrime, Answers{"allergies": map[string]any{}}, "answers.allergies", false},
		{"dietary extra field", SlotPrime, Answers{"allergies": map[string]any{"details": "x", "severity": "high"}}, "answers.allergies.severity", false},
	} {
		got, err := checkAnswers(qs, c.t, c.answers)
		var pe *ParamError
		switch {
		case c.param == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.param != "" && (!errors.As(err, &pe) || pe.Param != c.param || pe.Missing != c.missing):
			t.Errorf("%s: got %v, want param %s (missing %v)", c.name, err, c.param, c.missing)
		case c.param == "":
			if s, _ := answersJSON(got); s != `{"allergies":{"restrictions":["peanut_allergy","vegan"]},"chairs":2,"note":"Late","seat":"bar","terrace":true}` {
				t.Errorf("%s: stored %s", c.name, s)
			}
		}
	}
}

func TestOperatorsQuestionsAreNormalized(t *testing.T) {
	qs, err := NormalizeQuestions([]Question{{ID: "occasion", Kind: KindOccasion, SlotTypes: []SlotType{SlotPrime, SlotStandard}}})
	if err != nil || qs[0].Type != AnswerOneOf || len(qs[0].Options) == 0 || qs[0].Label == "" || qs[0].SlotTypes != nil {
		t.Fatalf("built-in kind: %+v %v", qs, err)
	}
	for _, c := range []struct {
		q     Question
		param string
	}{
		{Question{ID: "9x", Kind: KindOccasion}, "questions.0.id"},
		{Question{ID: "x", Kind: "weather"}, "questions.0.kind"},
		{Question{ID: "x", Kind: KindOccasion, Type: AnswerText}, "questions.0.type"},
		{Question{ID: "x", Kind: KindCustom, Label: "?"}, "questions.0.type"},
		{Question{ID: "x", Kind: KindCustom, Type: AnswerText}, "questions.0.label"},
	} {
		var pe *ParamError
		if _, err := NormalizeQuestions([]Question{c.q}); !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%+v: %v, want %s", c.q, err, c.param)
		}
	}
}
