// Package webhooks tells venues' reservation platforms and partners' webhook endpoints
// what happened to reservations: the connectors (a signed webhook, or the "log" kept for
// demo venues), an HTTP sender that signs per Standard Webhooks and refuses to reach
// private addresses, and the outbox worker that delivers every message with retries.
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks headers (https://www.standardwebhooks.com/).
const (
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID        // the outbox message id, the same on every attempt
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp // unix seconds of the attempt
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature // "v1,<base64 HMAC-SHA256>"
)

// UserAgent is sent with every delivery.
const UserAgent = "PRIMA-Webhooks/1"

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key; the spec asks for 24 to 64 bytes.
const secretBytes = 32

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhooks: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Sign returns the webhook-signature header value ("v1,<base64>") of body sent as
// message msgID at ts, with a whsec_ secret, computed by the Standard Webhooks library.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "", fmt.Errorf("webhooks: signing secret is not whsec_ and base64: %w", err)
	}
	sig, err := wh.Sign(msgID, ts, body)
	if err != nil {
		return "", fmt.Errorf("webhooks: sign: %w", err)
	}
	return sig, nil
}
