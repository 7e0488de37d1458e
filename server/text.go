package server

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// badJSONText finds the first string of a JSON body (a key or a value) that is not
// valid text: invalid UTF-8 bytes (stray continuation bytes, overlong forms, encoded
// surrogates) or a \u escape of a UTF-16 surrogate that is not half of a valid pair.
// encoding/json would silently turn either into U+FFFD and store it. It returns the
// field's name as the validator names body params (guest.first_name, items.0.name),
// and ok = true when it found one. A body that is not well-formed JSON is left to the
// JSON checks that follow.
func badJSONText(body []byte) (field string, ok bool) {
	s := &textScanner{b: body}
	s.value(nil)
	return s.field, s.found
}

type textScanner struct {
	b     []byte
	i     int
	found bool
	stop  bool // found, or the JSON is malformed
	field string
}

func (s *textScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *textScanner) fail(path []string) {
	s.found, s.stop, s.field = true, true, strings.Join(path, ".")
}

// maxTextDepth bounds the nesting the scanner follows (encoding/json refuses deeper
// bodies anyway), so a body of a million brackets cannot grow the stack without bound.
const maxTextDepth = 10_000

func (s *textScanner) value(path []string) {
	s.ws()
	if s.stop || s.i >= len(s.b) || len(path) > maxTextDepth {
		s.stop = true
		return
	}
	switch s.b[s.i] {
	case '{':
		s.object(path)
	case '[':
		s.array(path)
	case '"':
		if _, valid := s.str(); !valid && !s.stop {
			s.fail(path)
		}
	default: // a number, true, false or null: up to the next delimiter
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\n\r", rune(s.b[s.i])) {
			s.i++
		}
	}
}

func (s *textScanner) object(path []string) {
	s.i++ // {
	for first := true; ; first = false {
		s.ws()
		if s.i >= len(s.b) {
			s.stop = true
			return
		}
		if first && s.b[s.i] == '}' {
			s.i++
			return
		}
		if s.b[s.i] != '"' {
			s.stop = true
			return
		}
		key, valid := s.str()
		if s.stop {
			return
		}
		child := append(path[:len(path):len(path)], strings.ToValidUTF8(key, "\uFFFD"))
		if !valid {
			s.fail(child)
			return
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			s.stop = true
			return
		}
		s.i++
		s.value(child)
		if s.stop {
			return
		}
		if !s.more('}') {
			return
		}
	}
}

func (s *textScanner) array(path []string) {
	s.i++ // [
	for n := 0; ; n++ {
		s.ws()
		if n == 0 && s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return
		}
		s.value(append(path[:len(path):len(path)], strconv.Itoa(n)))
		if s.stop {
			return
		}
		if !s.more(']') {
			return
		}
	}
}

// more reads what follows a member or element: a comma (true: another one comes), the
// closing byte (false), or anything else, which stops the scan (false).
func (s *textScanner) more(closing byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ',' {
		s.i++
		return true
	}
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		return false
	}
	s.stop = true
	return false
}

// str reads the string at s.i (its opening quote) and returns its raw text (escapes
// left as written; only a key's text is used, to name the field) and whether it is
// valid text. A string that does not end marks the JSON malformed.
func (s *textScanner) str() (string, bool) {
	start := s.i + 1
	valid := true
	for s.i++; s.i < len(s.b); {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := string(s.b[start:s.i])
			s.i++
			return raw, valid
		case c == '\\':
			if s.i+1 >= len(s.b) {
				s.stop = true
				return "", false
			}
			if s.b[s.i+1] != 'u' {
				s.i += 2
				continue
			}
			r, ok := s.hex4(s.i + 2)
			if !ok {
				s.stop = true // malformed escape: the JSON checks refuse it
				return "", false
			}
			s.i += 6
			switch {
			case r >= 0xD800 && r < 0xDC00: // high half: a low half must follow
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					if lo, ok := s.hex4(s.i + 2); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						s.i += 6
						continue
					}
				}
				valid = false
			case r >= 0xDC00 && r <= 0xDFFF: // a low half alone
				valid = false
			}
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			s.i += size
		}
	}
	s.stop = true
	return "", false
}

func (s *textScanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// invalidTextProblem is the 400 for a JSON body holding a string that is not valid
// text (see badJSONText), naming the field; nil when every string is valid.
func invalidTextProblem(contentType string, body []byte) *Problem {
	if len(body) == 0 || !isJSON(contentType) {
		return nil
	}
	field, bad := badJSONText(body)
	if !bad {
		return nil
	}
	name := field
	if name == "" {
		name = "The body"
	}
	return newProblem(CodeParameterInvalid, name+" must be valid text: it holds invalid UTF-8 or an unpaired UTF-16 surrogate escape (\\ud800 to \\udfff).", field)
}
