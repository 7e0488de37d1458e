package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// forbiddenWebhookHosts are loopback, private, link-local, unspecified and metadata
// hosts in every spelling a resolver or a browser accepts (issue 14). internal/webhooks
// tests the parser on a longer table; this one goes through the real router.
var forbiddenWebhookHosts = []string{
	"http://2130706433/hook",
	"http://0x7f000001/hook",
	"http://0x7f.1/hook",
	"http://0177.0.0.1/hook",
	"http://127.1/hook",
	"http://127.0.0.1/hook",
	"http://10.1/hook",
	"http://192.168.1.1/hook",
	"http://0/hook",
	"http://0.0.0.0/hook",
	"http://[::]/hook",
	"http://[::ffff:127.0.0.1]/hook",
	"http://[::ffff:7f00:1]/hook",
	"http://[::1]/hook",
	"http://[fd00::1]/hook",
	"http://[fe80::1]/hook",
	"http://localhost:8080/hook",
	"http://hooks.localhost/hook",
	"http://169.254.169.254/latest/meta-data/",
	"http://0xa9fea9fe/latest/meta-data/",
	"http://metadata.google.internal/computeMetadata/v1/",
	"https://partner:secret@hooks.partner.example/hook",
	"https://hooks.partner.example@127.0.0.1/hook",
}

// checkParamInvalid asserts a 400 parameter_invalid naming param, with a message for
// humans.
func checkParamInvalid(t *testing.T, what string, status int, body []byte, param string) {
	t.Helper()
	if status != http.StatusBadRequest {
		t.Errorf("%s: %d %s, want 400", what, status, body)
		return
	}
	d := apiError(t, body)
	if d.Code != "parameter_invalid" || d.Param == nil || *d.Param != param || !strings.HasPrefix(d.Message, "The URL") {
		t.Errorf("%s: %s, want parameter_invalid on %s", what, body, param)
	}
}

func TestWebhookEndpointRegistrationRefusesEverySpellingOfAPrivateHost(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withPublicWebhooksOnly())
		for _, u := range forbiddenWebhookHosts {
			body := fmt.Sprintf(`{"url":%q,"events":["*"]}`, u)
			status, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, body, "Idempotency-Key", key())
			checkParamInvalid(t, u, status, b, "url")
		}
		if n := e.count(t, "SELECT count(*) FROM webhook_endpoints"); n != 0 {
			t.Fatalf("%d refused endpoints were stored", n)
		}
		for _, u := range []string{"https://hooks.partner.example/prima", "https://93.184.215.14/hook", "https://[2606:4700::1111]/hook"} {
			status, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, fmt.Sprintf(`{"url":%q,"events":["*"]}`, u), "Idempotency-Key", key())
			if status != http.StatusCreated {
				t.Errorf("public %s: %d %s", u, status, b)
			}
		}
		if n := e.count(t, "SELECT count(*) FROM webhook_endpoints"); n != 3 {
			t.Fatalf("%d endpoints stored, want the 3 public ones", n)
		}
	})
}

func TestVenuePlatformURLRefusesEverySpellingOfAPrivateHost(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		op := e.newOperatorToken("lupa-group", nil)
		venue := e.createVenue(t, op)
		var fields map[string]any
		if err := json.Unmarshal([]byte(venueBody), &fields); err != nil {
			t.Fatal(err)
		}
		for _, u := range forbiddenWebhookHosts {
			platform := map[string]any{"kind": "webhook", "url": u}
			fields["platform"] = platform
			create, _ := json.Marshal(fields)
			status, _, b := e.do("POST", "/v1/operator/venues", op, string(create), "Idempotency-Key", key())
			checkParamInvalid(t, "create "+u, status, b, "platform.url")

			patch, _ := json.Marshal(map[string]any{"platform": platform})
			status, _, b = e.do("PATCH", "/v1/operator/venues/"+venue.Id, op, string(patch), "Idempotency-Key", key())
			checkParamInvalid(t, "update "+u, status, b, "platform.url")
		}
		if n := e.count(t, "SELECT count(*) FROM venues"); n != 1 {
			t.Fatalf("%d venues stored, want only the one created first", n)
		}
		if n := e.count(t, "SELECT count(*) FROM venues WHERE platform_kind <> 'log' OR platform_url <> '' OR platform_secret <> ''"); n != 0 {
			t.Fatalf("a refused platform URL was stored on %d venues", n)
		}
		// A public platform is accepted, on update and on create.
		status, _, b := e.do("PATCH", "/v1/operator/venues/"+venue.Id, op, `{"platform":{"kind":"webhook","url":"https://platform.example/prima"}}`, "Idempotency-Key", key())
		if status != http.StatusOK {
			t.Fatalf("public platform on update: %d %s", status, b)
		}
		fields["platform"] = map[string]any{"kind": "webhook", "url": "https://93.184.215.14/prima"}
		create, _ := json.Marshal(fields)
		if status, _, b := e.do("POST", "/v1/operator/venues", op, string(create), "Idempotency-Key", key()); status != http.StatusCreated {
			t.Fatalf("public platform on create: %d %s", status, b)
		}
		if n := e.count(t, "SELECT count(*) FROM venues WHERE platform_kind = 'webhook'"); n != 2 {
			t.Fatalf("%d venues with a public platform, want 2", n)
		}
	})
}
