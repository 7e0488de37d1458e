package locale

import (
	"testing"

	"golang.org/x/text/language"
)

type hours int

func TestMemoMakesEachTextOncePerLanguageAndKey(t *testing.T) {
	en, fr := Printer(language.English), Printer(language.French)
	if Printer(language.French) != fr {
		t.Fatal("the printer of a supported language is made afresh on every call")
	}
	made := 0
	text := func(pr string) func() string {
		return func() string { made++; return pr }
	}
	if got := Memo(en, hours(24), text("en 24")); got != "en 24" {
		t.Fatalf("first text = %q", got)
	}
	if got := Memo(en, hours(24), text("again")); got != "en 24" || made != 1 {
		t.Fatalf("second text = %q after %d makes, want the first, made once", got, made)
	}
	if got := Memo(fr, hours(24), text("fr 24")); got != "fr 24" {
		t.Fatalf("French text = %q: another language's text was served", got)
	}
	if got := Memo(en, 24, text("int 24")); got != "int 24" {
		t.Fatalf("a key of another type = %q: keys of different types met", got)
	}
	if made != 3 {
		t.Fatalf("made %d texts, want 3", made)
	}
}
