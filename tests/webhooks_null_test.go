package tests

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// What the document says of a webhook update's fields is what the server
// does: none is nullable, and each null gets a 422 "Must not be null".
func TestWebhooks_UpdateRefusesNullAsDocumented(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	doc := servedDocument(t, s)
	fields := []string{"url", "events", "description", "enabled"}
	for _, f := range fields {
		schema := at(doc, "components", "schemas", "WebhookUpdateInput", "properties", f)
		if schema == nil {
			t.Fatalf("WebhookUpdateInput.%s is not documented", f)
		}
		if typ, ok := at(schema, "type").([]any); ok && slices.Contains(typ, any("null")) {
			t.Errorf("WebhookUpdateInput.%s is documented nullable: %v", f, typ)
		}
	}
	w := s.do(t, http.MethodPost, "/api/v1/webhooks", tn.Key, map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"*"}})
	wantStatus(t, w, http.StatusCreated)
	id := w.Data(t)["id"].(string)
	body := map[string]any{}
	for _, f := range fields {
		body[f] = nil
	}
	fe, _ := fieldErrors(t, s.do(t, http.MethodPatch, "/api/v1/webhooks/"+id, tn.Key, body))
	for _, f := range fields {
		if fmt.Sprint(fe[f]) != "[Must not be null]" {
			t.Errorf("PATCH %s: null: fieldErrors = %v", f, fe)
		}
	}
}
