package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Webhook is an endpoint Remy delivers events to (Standard Webhooks; see
// VerifyWebhook).
type Webhook struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"` // event types, or "*" for all
	Description    string    `json:"description"`
	Enabled        bool      `json:"enabled"`
	DisabledReason *string   `json:"disabledReason"` // why Remy disabled it, if it did
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`

	// Secret ("whsec_…") verifies deliveries. Only Create and
	// RotateSecret return it; keep it then.
	Secret string `json:"secret,omitempty"`
}

// WebhookInput is a new endpoint: an https:// URL of a public address, and
// the event types to deliver ("contact.created", …, or "*").
type WebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// Delivery is one event's delivery to one endpoint, over its attempts.
type Delivery struct {
	ID             string     `json:"id"`
	EventID        string     `json:"eventId"` // the webhook-id header
	EventType      string     `json:"eventType"`
	Status         string     `json:"status"` // "pending", "succeeded" or "failed"
	Attempts       int        `json:"attempts"`
	LastAttemptAt  *time.Time `json:"lastAttemptAt"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt"`
	LastStatusCode *int       `json:"lastStatusCode"`
	LastError      *string    `json:"lastError"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// ListDeliveriesParams filters and pages an endpoint's deliveries.
type ListDeliveriesParams struct {
	Status        string // "pending", "succeeded" or "failed"; "" for all
	Limit, Offset int
}

// WebhooksService manages webhook endpoints: Client.Webhooks.
type WebhooksService struct{ c *Client }

const webhooksPath = "/api/v1/webhooks"

func webhookPath(id string) string { return webhooksPath + "/" + pathID(id) }

// Create registers an endpoint; the answer holds its Secret, shown only
// here. Errors: ErrValidation (a URL Remy may not call, an unknown event).
func (s *WebhooksService) Create(ctx context.Context, in WebhookInput, opts ...CallOption) (*Webhook, error) {
	r := newRequest(http.MethodPost, webhooksPath, opts)
	if err := r.jsonBody(in); err != nil {
		return nil, err
	}
	w, _, err := one[Webhook](ctx, s.c, r)
	return w, err
}

// Get reads an endpoint (without its secret). Errors: ErrNotFound.
func (s *WebhooksService) Get(ctx context.Context, id string) (*Webhook, error) {
	w, _, err := one[Webhook](ctx, s.c, newRequest(http.MethodGet, webhookPath(id), nil))
	return w, err
}

// Update changes the fields p names: "url", "events", "description",
// "enabled" (true re-enables an endpoint Remy disabled).
// Errors: ErrNotFound, ErrValidation.
func (s *WebhooksService) Update(ctx context.Context, id string, p Patch) (*Webhook, error) {
	r := newRequest(http.MethodPatch, webhookPath(id), nil)
	if err := r.jsonBody(p); err != nil {
		return nil, err
	}
	w, _, err := one[Webhook](ctx, s.c, r)
	return w, err
}

// Delete removes an endpoint and drops its pending deliveries.
// Errors: ErrNotFound.
func (s *WebhooksService) Delete(ctx context.Context, id string) error {
	_, err := s.c.call(ctx, newRequest(http.MethodDelete, webhookPath(id), nil), nil)
	return err
}

// List returns one page of endpoints.
func (s *WebhooksService) List(ctx context.Context, p ListParams) (*Page[Webhook], error) {
	return list[Webhook](ctx, s.c, webhooksPath, p.query())
}

// All yields every endpoint, each once; see ContactsService.All.
func (s *WebhooksService) All(ctx context.Context, p ListParams) iter.Seq2[*Webhook, error] {
	return all(ctx, p, func(w *Webhook) string { return w.ID }, s.List)
}

// RotateSecret gives the endpoint a new secret, returned in Secret; for 24
// hours deliveries are signed with both. Errors: ErrNotFound.
func (s *WebhooksService) RotateSecret(ctx context.Context, id string) (*Webhook, error) {
	w, _, err := one[Webhook](ctx, s.c, newRequest(http.MethodPost, webhookPath(id)+"/rotate-secret", nil))
	return w, err
}

// Ping sends a webhook.ping event to this endpoint only, at once, and
// returns its delivery (pending; see Deliveries). Errors: ErrNotFound.
func (s *WebhooksService) Ping(ctx context.Context, id string) (*Delivery, error) {
	d, _, err := one[Delivery](ctx, s.c, newRequest(http.MethodPost, webhookPath(id)+"/ping", nil))
	return d, err
}

func (p ListDeliveriesParams) query() url.Values {
	q := ListParams{p.Limit, p.Offset}.query()
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	return q
}

// Deliveries returns one page of an endpoint's deliveries, newest first.
func (s *WebhooksService) Deliveries(ctx context.Context, id string, p ListDeliveriesParams) (*Page[Delivery], error) {
	return list[Delivery](ctx, s.c, webhookPath(id)+"/deliveries", p.query())
}

// RetryDelivery makes one more attempt of a delivery now, with the same
// webhook-id. Errors: ErrNotFound.
func (s *WebhooksService) RetryDelivery(ctx context.Context, id, deliveryID string) (*Delivery, error) {
	path := webhookPath(id) + "/deliveries/" + pathID(deliveryID) + "/retry"
	d, _, err := one[Delivery](ctx, s.c, newRequest(http.MethodPost, path, nil))
	return d, err
}
