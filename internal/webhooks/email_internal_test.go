package webhooks

import "testing"

func TestParseSMTPURL(t *testing.T) {
	for raw, want := range map[string]SMTPConfig{
		"smtp://mail.example": {Host: "mail.example", Port: 25, TLS: "opportunistic", From: "prima@mail.example"},
		"smtp://u:p%40ss@mail.example:587?tls=starttls&from=r@x.io": {Host: "mail.example", Port: 587, TLS: "starttls", Username: "u", Password: "p@ss", From: "r@x.io"},
		"smtps://mail.example":           {Host: "mail.example", Port: 465, TLS: "tls", From: "prima@mail.example"},
		"smtp://127.0.0.1:1025?tls=none": {Host: "127.0.0.1", Port: 1025, TLS: "none", From: "prima@127.0.0.1"},
	} {
		got, err := ParseSMTPURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "http://mail.example", "smtp://", "smtp://h:0", "smtp://h:99999", "smtp://h?tls=maybe", "smtps://h?tls=none"} {
		if _, err := ParseSMTPURL(raw); err == nil {
			t.Errorf("ParseSMTPURL(%q) accepted", raw)
		}
	}
}
