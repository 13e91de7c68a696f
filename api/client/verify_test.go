package client

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signed is a delivery as Remy sends it, signed at the given time with
// each secret (two during a rotation).
func signed(t *testing.T, body string, at time.Time, secrets ...string) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set("webhook-id", "0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11")
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	var sigs string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(h.Get("webhook-id"), at, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sigs += " " + sig
	}
	h.Set("webhook-signature", sigs[1:])
	return h
}

func TestVerifyWebhook(t *testing.T) {
	body := `{"type":"contact.created","timestamp":"2026-01-02T03:04:05Z","data":{"object":{"id":"c1"},"activity":{"id":"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11","action":"contact.created"}}}`
	now := time.Now()
	const other = "whsec_dGhlIG90aGVyIHNlY3JldCBvZiB0aGlydHkgdHdvIGI="

	ev, err := VerifyWebhook(testSecret, signed(t, body, now, testSecret), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11" || ev.Type != "contact.created" || ev.Data.Activity.Action != "contact.created" {
		t.Fatalf("%+v", ev)
	}
	// During a rotation a delivery carries both signatures.
	if _, err := VerifyWebhook(testSecret, signed(t, body, now, other, testSecret), []byte(body)); err != nil {
		t.Fatalf("rotation: %v", err)
	}

	for _, tt := range []struct {
		name   string
		header http.Header
		body   string
		want   error
	}{
		{"tampered body", signed(t, body, now, testSecret), body + " ", ErrWebhookSignature},
		{"another secret", signed(t, body, now, other), body, ErrWebhookSignature},
		{"no signature", http.Header{}, body, ErrWebhookSignature},
		{"six minutes old", signed(t, body, now.Add(-6*time.Minute), testSecret), body, ErrWebhookTimestamp},
		{"from the future", signed(t, body, now.Add(6*time.Minute), testSecret), body, ErrWebhookTimestamp},
	} {
		if _, err := VerifyWebhook(testSecret, tt.header, []byte(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := VerifyWebhook("whsec_!!!", signed(t, body, now, testSecret), []byte(body)); err == nil {
		t.Error("a malformed secret verified")
	}
}
