package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// Activity is an Activity Log entry: one change to a contact, note or
// webhook endpoint, and who made it.
type Activity struct {
	ID           string            `json:"id"`
	Action       string            `json:"action"`       // "contact.created", "note.updated", "webhook.deleted", …
	ResourceType string            `json:"resourceType"` // "contact", "note" or "webhook"
	ResourceID   string            `json:"resourceId"`
	AuthMethod   string            `json:"authMethod"` // "api_key" or "cli"
	APIKeyID     *string           `json:"apiKeyId"`   // nil for changes made with the CLI
	IP           string            `json:"ip"`
	UserAgent    string            `json:"userAgent"`
	Changes      map[string]Change `json:"changes"` // updates only: each changed field
	CreatedAt    time.Time         `json:"createdAt"`
}

// Change is a field's value before and after an update, as JSON: a
// string, a list, a boolean, or null when it was or became unset.
type Change struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// ActivityService is the Activity Log: Client.Activity.
type ActivityService struct{ c *Client }

// ListActivityParams filters and pages the Activity Log (newest first).
type ListActivityParams struct {
	Since         time.Time // entries created at or after this instant
	ResourceID    string    // one contact's, note's or endpoint's history
	Limit, Offset int
}

func (p ListActivityParams) query() url.Values {
	q := ListParams{p.Limit, p.Offset}.query()
	if !p.Since.IsZero() {
		q.Set("since", p.Since.UTC().Format(time.RFC3339Nano))
	}
	if p.ResourceID != "" {
		q.Set("resourceId", p.ResourceID)
	}
	return q
}

// List returns one page of the Activity Log.
func (s *ActivityService) List(ctx context.Context, p ListActivityParams) (*Page[Activity], error) {
	return list[Activity](ctx, s.c, "/api/v1/activity", p.query())
}

// All yields every entry p matches, each once; see ContactsService.All.
// To follow changes as they happen, Events.Follow is the better tool.
func (s *ActivityService) All(ctx context.Context, p ListActivityParams) iter.Seq2[*Activity, error] {
	return all(ctx, ListParams{p.Limit, p.Offset}, func(a *Activity) string { return a.ID },
		func(ctx context.Context, lp ListParams) (*Page[Activity], error) {
			p.Limit, p.Offset = lp.Limit, lp.Offset
			return s.List(ctx, p)
		})
}
