package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/remy-crm/remy/model"
)

// The document's webhooks section is what receivers get: one entry per
// event type, with the Standard Webhooks headers, and every real delivery
// (contacts, notes, ping) passes its entry's body schema, the changes of
// contact.updated included.
func TestWebhooks_PayloadsMatchTheDocument(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	res := s.do(t, http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	doc, err := openapi3.NewLoader().LoadFromData(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(model.WebhookEvents), model.EventPing)
	for _, e := range want {
		item := doc.Webhooks[e]
		if item == nil || item.Post == nil || item.Post.RequestBody == nil {
			t.Fatalf("webhooks.%s is not documented", e)
		}
		for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			if p := item.Post.Parameters.GetByInAndName("header", h); p == nil || !p.Required {
				t.Errorf("webhooks.%s does not require the %s header", e, h)
			}
		}
	}
	if len(doc.Webhooks) != len(want) {
		t.Errorf("webhooks has %d entries, want %d (%v)", len(doc.Webhooks), len(want), want)
	}
	// Held to the document the way the contract check holds responses.
	doc.OpenAPI = "3.0.3"
	allowNullInAnySchema(doc)

	rc := newReceiver(t)
	ten := s.newTenant(t)
	id := s.createWebhook(t, ten.Key, rc.URL)["id"].(string)
	c := s.createContact(t, ten.Key, map[string]any{"givenName": "Ada", "emails": []map[string]any{{"value": "ada@example.com"}}, "tags": []string{"math"}})
	cid := c["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+cid, ten.Key, map[string]any{
		"familyName": "Lovelace", "tags": []string{"math", "poetry"}, "emails": nil, "company": "Analytical Engines"}), http.StatusOK)
	n := s.do(t, http.MethodPost, "/api/v1/contacts/"+cid+"/notes", ten.Key, map[string]any{"body": "Met at a salon"})
	wantStatus(t, n, http.StatusCreated)
	nid := n.Data(t)["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/notes/"+nid, ten.Key, map[string]any{"body": "Met at Babbage's salon"}), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/notes/"+nid, ten.Key, nil), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+cid, ten.Key, nil), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodPost, "/api/v1/webhooks/"+id+"/ping", ten.Key, nil), http.StatusAccepted)

	// The schemas do refuse what a receiver would not get.
	contactSchema := doc.Webhooks[model.ActionContactUpdated].Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if contactSchema.VisitJSON(map[string]any{"type": "contact.updated", "timestamp": "2026-01-01T00:00:00Z", "data": map[string]any{"object": map[string]any{}}}) == nil {
		t.Fatal("the contact.updated schema accepts a body without a contact or an activity")
	}

	seen := map[string]bool{}
	for _, r := range rc.wait(t, len(want), 15*time.Second) {
		var body any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		typ, _ := body.(map[string]any)["type"].(string)
		seen[typ] = true
		item := doc.Webhooks[typ]
		if item == nil {
			t.Errorf("delivery of undocumented type %q: %s", typ, r.Body)
			continue
		}
		schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(body, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s delivery does not match webhooks.%s: %v\n%s", typ, typ, err, r.Body)
		}
	}
	for _, e := range want {
		if !seen[e] {
			t.Errorf("no %s delivery arrived", e)
		}
	}
}
