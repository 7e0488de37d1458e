package booking

import (
	"fmt"

	"golang.org/x/text/language"
)

// CanonicalLanguage checks a BCP 47 tag and returns its canonical form ("" stays "");
// a tag that does not parse is a ParamError naming param.
func CanonicalLanguage(tag, param string) (string, error) {
	if tag == "" {
		return "", nil
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", &ParamError{Param: param, Message: fmt.Sprintf("%q is not a BCP 47 language tag such as fr or de-CH.", tag)}
	}
	return t.String(), nil
}
