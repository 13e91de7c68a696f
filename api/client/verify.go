package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The errors of VerifyWebhook, for errors.Is.
var (
	// ErrWebhookSignature: the delivery's signature headers are missing or
	// malformed, or no signature in them matches the body and the secret.
	ErrWebhookSignature = errors.New("remy: webhook signature does not verify")
	// ErrWebhookTimestamp: the delivery was signed more than 5 minutes
	// from now (before or after), so it may be a replay.
	ErrWebhookTimestamp = errors.New("remy: webhook timestamp outside the 5-minute tolerance")
)

// VerifyWebhook checks that a webhook request comes from Remy, with the
// endpoint's secret ("whsec_…", from Webhooks.Create or RotateSecret), its
// headers and its body exactly as received, and returns the event it
// carries. Verification follows Standard Webhooks (the specification's own
// Go library does it): an HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}",
// and a timestamp within 5 minutes of now. Event.ID is the webhook-id:
// deliveries can arrive twice, so deduplicate on it.
//
// Errors: ErrWebhookSignature, ErrWebhookTimestamp, or a malformed secret
// or body.
func VerifyWebhook(secret string, h http.Header, body []byte) (*Event, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("remy: webhook secret: %w", err)
	}
	if err := wh.Verify(body, h); err != nil {
		if errors.Is(err, standardwebhooks.ErrMessageTooOld) || errors.Is(err, standardwebhooks.ErrMessageTooNew) {
			return nil, fmt.Errorf("%w: %w", ErrWebhookTimestamp, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrWebhookSignature, err)
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("remy: webhook body: %w", err)
	}
	ev.ID = h.Get(standardwebhooks.HeaderWebhookID)
	return &ev, nil
}
