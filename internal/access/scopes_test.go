package access

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

func TestNormalizeScopesKeepsKnownScopesOnceInTheGivenOrder(t *testing.T) {
	cases := []struct {
		name  string
		in    []string
		known []string
		want  []string
	}{
		{"none means every partner scope", nil, AllScopes, AllScopes},
		{"empty means every partner scope", []string{}, AllScopes, AllScopes},
		{"none means every operator scope", nil, OperatorScopes, OperatorScopes},
		{"one", []string{ScopeVenuesRead}, AllScopes, []string{ScopeVenuesRead}},
		{"order kept as given", []string{ScopeReservationsWrite, ScopeVenuesRead}, AllScopes, []string{ScopeReservationsWrite, ScopeVenuesRead}},
		{"duplicates once, at the first", []string{ScopeAuditRead, ScopeVenuesRead, ScopeAuditRead, ScopeVenuesRead}, AllScopes, []string{ScopeAuditRead, ScopeVenuesRead}},
		{"spaces trimmed", []string{"  venues:read ", "\treservations:read\n"}, AllScopes, []string{ScopeVenuesRead, ScopeReservationsRead}},
		{"blanks skipped", []string{"", ScopeBookingsRead, "  "}, OperatorScopes, []string{ScopeBookingsRead}},
		{"trimmed duplicates once", []string{"inventory:read", " inventory:read"}, OperatorScopes, []string{ScopeInventoryRead}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeScopes(tc.in, tc.known)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("normalizeScopes(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeScopesRefusesUnknownAndEmptySets(t *testing.T) {
	cases := []struct {
		name    string
		in      []string
		known   []string
		wantMsg string
	}{
		{"unknown", []string{ScopeVenuesRead, "venues:write"}, AllScopes, `unknown scope "venues:write"`},
		{"wrong case", []string{"Venues:Read"}, AllScopes, `unknown scope "Venues:Read"`},
		{"operator scope on a partner", []string{ScopeInventoryWrite}, AllScopes, `unknown scope "inventory:write"`},
		{"partner scope on an operator", []string{ScopeReservationsWrite}, OperatorScopes, `unknown scope "reservations:write"`},
		{"a wildcard", []string{"*"}, AllScopes, `unknown scope "*"`},
		{"only blanks", []string{"", " "}, AllScopes, "at least one scope is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeScopes(tc.in, tc.known)
			if err == nil || got != nil {
				t.Fatalf("normalizeScopes(%q) = %q, %v; want an error", tc.in, got, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tc.wantMsg)
			}
		})
	}
	// The refusal lists what is known, so the caller can correct it.
	_, err := normalizeScopes([]string{"nope"}, OperatorScopes)
	if err == nil || !strings.Contains(err.Error(), strings.Join(OperatorScopes, ", ")) {
		t.Fatalf("error %v does not list the operator scopes", err)
	}
}

// The default is a copy: a caller changing the token's scopes cannot change AllScopes.
func TestNormalizeScopesDefaultIsACopy(t *testing.T) {
	before := slices.Clone(AllScopes)
	got, err := normalizeScopes(nil, AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "tampered"
	if !slices.Equal(AllScopes, before) {
		t.Fatalf("AllScopes changed to %q", AllScopes)
	}
}

func TestNoScopeIsBothAPartnersAndAnOperators(t *testing.T) {
	for _, s := range OperatorScopes {
		if slices.Contains(AllScopes, s) {
			t.Errorf("scope %q is both a partner and an operator scope", s)
		}
	}
}

func TestHasScopeMatchesExactly(t *testing.T) {
	p := Principal{Scopes: []string{ScopeVenuesRead, ScopeReservationsWrite}}
	cases := []struct {
		scope string
		want  bool
	}{
		{ScopeVenuesRead, true},
		{ScopeReservationsWrite, true},
		{ScopeReservationsRead, false}, // write does not imply read
		{"reservations", false},
		{"venues:read ", false},
		{"VENUES:READ", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := p.HasScope(tc.scope); got != tc.want {
			t.Errorf("HasScope(%q) = %v, want %v", tc.scope, got, tc.want)
		}
	}
	if (Principal{}).HasScope(ScopeVenuesRead) {
		t.Error("a principal without scopes has venues:read")
	}
}

func TestAccountIDIsThePartnerOrTheOperator(t *testing.T) {
	cases := []struct {
		name string
		p    Principal
		want string
	}{
		{"partner", Principal{Kind: KindPartner, PartnerID: "ptn_1"}, "ptn_1"},
		{"operator", Principal{Kind: KindOperator, OperatorID: "opr_1"}, "opr_1"},
		// An operator never falls back to a partner id, even a stray one.
		{"operator with a stray partner id", Principal{Kind: KindOperator, OperatorID: "opr_1", PartnerID: "ptn_1"}, "opr_1"},
		{"no kind is a partner", Principal{PartnerID: "ptn_1", OperatorID: "opr_1"}, "ptn_1"},
	}
	for _, tc := range cases {
		if got := tc.p.AccountID(); got != tc.want {
			t.Errorf("%s: AccountID = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTokenFromRowTellsPartnerAndOperatorTokensApart(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := created.Add(time.Hour)
	partnerRow := store.Token{
		ID: "tok_1", PartnerID: "ptn_1", Name: "checkout", Prefix: "prima_pat_abc123", Hash: "secret-hash",
		Scopes: "venues:read reservations:write", ExpiresAt: &exp, CreatedAt: created,
		Partner: store.Partner{ID: "ptn_1", Name: "Acme Rewards"},
	}
	tok := tokenFromRow(partnerRow)
	if tok.Kind != KindPartner || tok.PartnerID != "ptn_1" || tok.PartnerName != "Acme Rewards" || tok.OperatorID != "" ||
		tok.Name != "checkout" || tok.Prefix != "prima_pat_abc123" || tok.ExpiresAt != &exp || !tok.CreatedAt.Equal(created) {
		t.Errorf("partner token = %+v", tok)
	}
	if !slices.Equal(tok.Scopes, []string{ScopeVenuesRead, ScopeReservationsWrite}) {
		t.Errorf("scopes = %q", tok.Scopes)
	}
	opr := "opr_1"
	operatorRow := store.Token{ID: "tok_2", OperatorID: &opr, Scopes: "inventory:read", Operator: store.Operator{ID: "opr_1", Name: "Bistro Group"}}
	if tok := tokenFromRow(operatorRow); tok.Kind != KindOperator || tok.OperatorID != "opr_1" || tok.OperatorName != "Bistro Group" || tok.PartnerID != "" {
		t.Errorf("operator token = %+v", tok)
	}
}
