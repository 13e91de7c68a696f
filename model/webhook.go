package model

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Webhook event types. The first six are the deliverable Activity Log
// actions; webhook.ping is sent only on request.
const (
	EventPing = "webhook.ping"
	// EventAll in an endpoint's events selects every deliverable event.
	EventAll = "*"
)

// Activity Log actions of endpoint management. They are logged, never
// delivered.
const (
	ActionWebhookCreated       = "webhook.created"
	ActionWebhookUpdated       = "webhook.updated"
	ActionWebhookDeleted       = "webhook.deleted"
	ActionWebhookSecretRotated = "webhook.secret_rotated"
	ResourceWebhook            = "webhook"
)

// WebhookEvents are the event types an endpoint may subscribe to.
var WebhookEvents = []string{
	ActionContactCreated, ActionContactUpdated, ActionContactDeleted,
	ActionNoteCreated, ActionNoteUpdated, ActionNoteDeleted,
}

// Deliverable reports whether an Activity Log action is a webhook event.
func Deliverable(action string) bool { return slices.Contains(WebhookEvents, action) }

// Webhook limits and timings.
const (
	MaxWebhookURL         = 2048
	MaxWebhookDescription = 500
	// WebhookSecretOverlap is how long the previous secret keeps signing
	// after a rotation.
	WebhookSecretOverlap = 24 * time.Hour
	// WebhookFailuresToDisable is how many deliveries ending failed in a row
	// disable an endpoint.
	WebhookFailuresToDisable = 5
	// WebhookRetention is how long deliveries are kept.
	WebhookRetention = 30 * 24 * time.Hour
)

// Webhook is an endpoint events are delivered to. Its JSON form is the API's
// resource shape; Secret is shown only on creation and rotation.
type Webhook struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:w" json:"-"`

	ID                  uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	AccountID           uuid.UUID  `bun:"account_id,type:uuid,notnull" json:"-"`
	URL                 string     `bun:"url,notnull" json:"url"`
	Events              []string   `bun:"events,array,notnull" json:"events"`
	Description         string     `bun:"description,notnull" json:"description"`
	Enabled             bool       `bun:"enabled,notnull" json:"enabled"`
	DisabledReason      *string    `bun:"disabled_reason" json:"disabledReason" readOnly:"true"`
	Secret              string     `bun:"secret,notnull" json:"-"`
	PreviousSecret      *string    `bun:"previous_secret" json:"-"`
	PreviousSecretUntil *time.Time `bun:"previous_secret_until" json:"-"`
	ConsecutiveFailures int        `bun:"consecutive_failures,notnull" json:"-"`
	Version             int64      `bun:"version,notnull,default:1" json:"-"`
	CreatedAt           time.Time  `bun:"created_at,nullzero,notnull,default:clock_timestamp()" json:"createdAt" readOnly:"true"`
	UpdatedAt           time.Time  `bun:"updated_at,nullzero,notnull,default:clock_timestamp()" json:"updatedAt" readOnly:"true"`
}

// Secrets returns the secrets that sign a delivery made at now: the current
// one, and the previous one during the overlap after a rotation.
func (w *Webhook) Secrets(now time.Time) []string {
	s := []string{w.Secret}
	if w.PreviousSecret != nil && w.PreviousSecretUntil != nil && now.Before(*w.PreviousSecretUntil) {
		s = append(s, *w.PreviousSecret)
	}
	return s
}

// NewWebhookSecret returns "whsec_" and the base64 of 32 random bytes, the
// Standard Webhooks form.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Validate checks what can be checked without the network: the URL's form
// (the address rules are the repository's, which resolves names), the
// events and the description. Events are de-duplicated in place.
func (w *Webhook) Validate(allowHTTP bool) error {
	verr := &ValidationError{}
	if msg := checkWebhookURL(w.URL, allowHTTP); msg != "" {
		verr.Field("url", msg)
	}
	if len(w.Events) == 0 {
		verr.Field("events", "Must list at least one event type")
	}
	var events []string
	for _, e := range w.Events {
		if e != EventAll && !Deliverable(e) {
			verr.Field("events", fmt.Sprintf("Unknown event type %q: use %s or \"*\"", e, strings.Join(WebhookEvents, ", ")))
			continue
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if events != nil {
		w.Events = events
	}
	if len([]rune(w.Description)) > MaxWebhookDescription {
		verr.Field("description", fmt.Sprintf("Must be at most %d characters", MaxWebhookDescription))
	}
	return verr.OrNil()
}

func checkWebhookURL(raw string, allowHTTP bool) string {
	if len(raw) > MaxWebhookURL {
		return fmt.Sprintf("Must be at most %d characters", MaxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "Must be an absolute https:// URL"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return "Must be an absolute https:// URL"
	}
	if u.User != nil {
		return "Must not contain credentials"
	}
	if u.Hostname() == "" {
		return "Must be an absolute https:// URL"
	}
	return ""
}

// WebhookPatch is a partial update of an endpoint.
type WebhookPatch struct {
	URL         Optional[string]
	Events      Optional[[]string]
	Description Optional[string]
	Enabled     Optional[bool]
}

// Apply writes the patch onto w, validates the result and returns the
// changed fields, keyed by JSON name. Re-enabling clears disabledReason and
// the failure count.
func (p WebhookPatch) Apply(w *Webhook, allowHTTP bool) (map[string]Change, error) {
	before := *w
	verr := &ValidationError{}
	set := func(name string, o Optional[string], dst *string) {
		if !o.Set {
			return
		}
		if o.Value == nil {
			verr.Field(name, "Must not be null")
			return
		}
		*dst = *o.Value
	}
	set("url", p.URL, &w.URL)
	set("description", p.Description, &w.Description)
	if p.Events.Set {
		if p.Events.Value == nil {
			verr.Field("events", "Must not be null")
		} else {
			w.Events = *p.Events.Value
		}
	}
	if p.Enabled.Set {
		if p.Enabled.Value == nil {
			verr.Field("enabled", "Must not be null")
		} else {
			w.Enabled = *p.Enabled.Value
		}
	}
	if !verr.Empty() {
		return nil, verr
	}
	if err := w.Validate(allowHTTP); err != nil {
		return nil, err
	}
	changes := map[string]Change{}
	if before.URL != w.URL {
		changes["url"] = Change{Before: before.URL, After: w.URL}
	}
	if !slices.Equal(before.Events, w.Events) {
		changes["events"] = Change{Before: before.Events, After: w.Events}
	}
	if before.Description != w.Description {
		changes["description"] = Change{Before: before.Description, After: w.Description}
	}
	if before.Enabled != w.Enabled {
		changes["enabled"] = Change{Before: before.Enabled, After: w.Enabled}
		if w.Enabled {
			if w.DisabledReason != nil {
				changes["disabledReason"] = Change{Before: *w.DisabledReason, After: nil}
			}
			w.DisabledReason, w.ConsecutiveFailures = nil, 0
		}
	}
	return changes, nil
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// DeliveryStatuses are every delivery status.
var DeliveryStatuses = []string{DeliveryPending, DeliverySucceeded, DeliveryFailed}

// Delivery is one event bound for one endpoint, and how its attempts went.
type Delivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:d" json:"-"`

	ID             uuid.UUID       `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	AccountID      uuid.UUID       `bun:"account_id,type:uuid,notnull" json:"-"`
	EndpointID     uuid.UUID       `bun:"endpoint_id,type:uuid,notnull" json:"-"`
	EventID        uuid.UUID       `bun:"event_id,type:uuid,notnull" json:"eventId" format:"uuid" readOnly:"true"`
	EventType      string          `bun:"event_type,notnull" json:"eventType" readOnly:"true"`
	Object         json.RawMessage `bun:"object,type:json,notnull" json:"-"`
	Status         string          `bun:"status,notnull" json:"status" readOnly:"true" enum:"pending,succeeded,failed"`
	Attempts       int             `bun:"attempts,notnull" json:"attempts" readOnly:"true"`
	Scheduled      int             `bun:"scheduled_attempts,notnull" json:"-"`
	LastAttemptAt  *time.Time      `bun:"last_attempt_at" json:"lastAttemptAt" readOnly:"true"`
	NextAttemptAt  *time.Time      `bun:"next_attempt_at" json:"nextAttemptAt" readOnly:"true"`
	LastStatusCode *int            `bun:"last_status_code" json:"lastStatusCode" readOnly:"true"`
	LastError      *string         `bun:"last_error" json:"lastError" readOnly:"true"`
	CreatedAt      time.Time       `bun:"created_at,nullzero,notnull,default:clock_timestamp()" json:"createdAt" readOnly:"true"`
}

// DeliveryFilter selects an endpoint's deliveries. Status "" selects all.
type DeliveryFilter struct {
	ListParams
	Status string
}

// Attempt is the outcome of one delivery attempt, as the worker records it.
type Attempt struct {
	At         time.Time
	StatusCode *int
	Error      *string
	Succeeded  bool
	// Final: no further attempt will be made (success, last attempt, 410).
	Final bool
	// Next is when the next attempt is due, if not Final.
	Next *time.Time
	// Gone: the receiver answered 410, which disables the endpoint.
	Gone bool
	// Manual: a retry asked for through the API, outside the schedule.
	Manual bool
}
