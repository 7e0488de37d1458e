package locale

import (
	"sync"
	"sync/atomic"

	"golang.org/x/text/message"
)

// Texts such as a policy's summary are the same for every slot of a venue and every
// request in a language, yet formatting one through the catalogue costs a search page
// of twenty slots more than encoding it. Memo keeps each text once made.

// memoLimit bounds the texts kept: past it, texts are made afresh each time (there are
// far fewer distinct policies and prices than this in practice).
const memoLimit = 50_000

var (
	memo     sync.Map // memoKey → string
	memoSize atomic.Int64
)

type memoKey struct {
	pr  *message.Printer
	key any
}

// Memo returns text() for key in pr's language, made once per printer and key. key
// must be comparable and say everything the text depends on; give each kind of text a
// key type of its own, since keys of different types never meet.
func Memo[K comparable](pr *message.Printer, key K, text func() string) string {
	k := memoKey{pr: pr, key: key}
	if s, ok := memo.Load(k); ok {
		return s.(string)
	}
	s := text()
	if memoSize.Load() < memoLimit {
		if _, loaded := memo.LoadOrStore(k, s); !loaded {
			memoSize.Add(1)
		}
	}
	return s
}
