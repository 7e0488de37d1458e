package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func currentToken(t *testing.T, e *env, token string) (int, client.Token) {
	t.Helper()
	status, _, body := e.do("GET", "/v1/tokens/current", token, "")
	var tok client.Token
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &tok); err != nil {
			t.Fatal(err)
		}
	}
	return status, tok
}

func TestCurrentTokenDescribesTheCaller(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		// Any valid token may read itself, whatever its scopes.
		narrow := e.newToken("acme-rewards", "venues:read")
		status, tok := currentToken(t, e, narrow)
		if status != http.StatusOK || tok.Object != "token" || tok.Partner.Name != "acme-rewards" ||
			len(tok.Scopes) != 1 || tok.Scopes[0] != "venues:read" || tok.RevokesAt != nil || tok.LastUsedAt == nil {
			t.Fatalf("%d %+v", status, tok)
		}
		if status, _ := currentToken(t, e, ""); status != http.StatusUnauthorized {
			t.Fatalf("without a token: %d", status)
		}

		// Rotation: both secrets work during the overlap, and the old one says when it ends.
		newSecret, successor, err := e.tokens.Rotate(context.Background(), tok.Id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		status, old := currentToken(t, e, narrow)
		if status != http.StatusOK || old.RevokesAt == nil || old.RevokesAt.Before(time.Now().Add(59*time.Minute)) {
			t.Fatalf("the rotated token: %d %+v", status, old)
		}
		status, next := currentToken(t, e, newSecret)
		if status != http.StatusOK || next.Id != successor.ID || next.Id == tok.Id || next.RevokesAt != nil ||
			next.Partner.Id != tok.Partner.Id || len(next.Scopes) != 1 {
			t.Fatalf("the successor: %d %+v", status, next)
		}
		if err := e.tokens.Revoke(context.Background(), tok.Id); err != nil {
			t.Fatal(err)
		}
		if status, _ := currentToken(t, e, narrow); status != http.StatusUnauthorized {
			t.Fatalf("the old token after revoke: %d", status)
		}
		if _, _, err := e.tokens.Rotate(context.Background(), tok.Id, time.Hour); err == nil {
			t.Fatal("a revoked token was rotated")
		}
	})
}
