// Package locale chooses the language of the text PRIMA writes itself (policy and quote
// summaries, prices in words, the venue's email) and holds its translations. English,
// French and German; English when neither the guest's language nor the caller's
// Accept-Language matches one of them.
package locale

import (
	"context"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Supported are the languages PRIMA writes, the fallback first.
var Supported = []language.Tag{language.English, language.French, language.German}

var matcher = language.NewMatcher(Supported)

// Pick is the language to write in: the guest's (a BCP 47 tag, "" when unknown) when
// PRIMA writes it, else the best match of an Accept-Language header, else English.
func Pick(guest, acceptLanguage string) language.Tag {
	if guest != "" {
		if t, err := language.Parse(guest); err == nil {
			if m, ok := match(t); ok {
				return m
			}
		}
	}
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil {
			for _, t := range tags {
				if m, ok := match(t); ok {
					return m
				}
			}
		}
	}
	return language.English
}

// match is the supported language t asks for, if any: fr-CA is French, de-AT German.
func match(t language.Tag) (language.Tag, bool) {
	_, i, conf := matcher.Match(t)
	if conf == language.No {
		return language.English, false
	}
	return Supported[i], true
}

// Printer formats and translates the catalogue's messages into tag, one of Supported.
// The printers of Supported are made once and shared (a Printer is read-only once made),
// so Memo finds their texts again.
func Printer(tag language.Tag) *message.Printer {
	if pr, ok := printers[tag]; ok {
		return pr
	}
	return message.NewPrinter(tag, message.Catalog(texts))
}

var printers = func() map[language.Tag]*message.Printer {
	out := make(map[language.Tag]*message.Printer, len(Supported))
	for _, t := range Supported {
		out[t] = message.NewPrinter(t, message.Catalog(texts))
	}
	return out
}()

// English is the printer of the fallback language.
var English = Printer(language.English)

type acceptKey struct{}

// WithAcceptLanguage keeps a request's Accept-Language header in ctx.
func WithAcceptLanguage(ctx context.Context, header string) context.Context {
	if header == "" {
		return ctx
	}
	return context.WithValue(ctx, acceptKey{}, header)
}

// AcceptLanguage is the Accept-Language header kept in ctx ("" when none).
func AcceptLanguage(ctx context.Context) string {
	s, _ := ctx.Value(acceptKey{}).(string)
	return s
}

// For is the printer for a text about a guest whose language is guest ("" when
// unknown), in a request whose context is ctx.
func For(ctx context.Context, guest string) *message.Printer {
	return Printer(Pick(guest, AcceptLanguage(ctx)))
}

// texts is the catalogue: each message's key is its English text.
var texts = func() *catalog.Builder {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for key, tr := range translations {
		if err := b.SetString(language.English, key, key); err != nil {
			panic(err)
		}
		for tag, msg := range map[language.Tag]string{language.French: tr.fr, language.German: tr.de} {
			if err := b.SetString(tag, key, msg); err != nil {
				panic(err)
			}
		}
	}
	return b
}()

type translation struct{ fr, de string }
