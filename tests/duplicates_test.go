package tests

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/remy-crm/remy/model"
)

// duplicateGroup is one group of GET /api/v1/contacts/duplicates.
type duplicateGroup struct {
	Reason   string           `json:"reason"`
	Value    string           `json:"value"`
	Contacts []map[string]any `json:"contacts"`
}

// duplicates GETs a page of duplicate groups, failing unless 200.
func (s *client) duplicates(t testing.TB, key, query string) ([]duplicateGroup, int) {
	t.Helper()
	res := s.do(t, http.MethodGet, "/api/v1/contacts/duplicates"+query, key, nil)
	wantStatus(t, res, http.StatusOK)
	var body struct {
		Data  []duplicateGroup `json:"data"`
		Total *int             `json:"total"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.Data == nil || body.Total == nil {
		t.Fatalf("not a list envelope (%v): %s", err, res.Body)
	}
	return body.Data, *body.Total
}

// groupIDs is each group as "reason value: id id…".
func groupIDs(groups []duplicateGroup) []string {
	var out []string
	for _, g := range groups {
		line := g.Reason + " " + g.Value + ":"
		for _, c := range g.Contacts {
			line += " " + c["id"].(string)
		}
		out = append(out, line)
	}
	return out
}

func TestContacts_Duplicates(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, other := s.newTenant(t), s.newTenant(t)
	id := func(body map[string]any) string { return s.createContact(t, a.Key, body)["id"].(string) }
	email1 := id(map[string]any{"givenName": "Ann", "emails": []any{map[string]any{"value": "Ann@Example.com"}}, "tags": []any{"vip"}})
	phone1 := id(map[string]any{"givenName": "Phil", "phones": []any{map[string]any{"value": "(415) 555-0123"}}})
	name1 := id(map[string]any{"givenName": "José", "familyName": "Núñez"})
	email2 := id(map[string]any{"company": "Acme", "emails": []any{map[string]any{"value": "ann@example.COM"}, map[string]any{"value": "other@example.com"}}})
	phone2 := id(map[string]any{"givenName": "Philip", "phones": []any{map[string]any{"value": "+1 415 555 0123", "label": "mobile"}}})
	name2 := id(map[string]any{"givenName": " jose ", "familyName": "NUNEZ"})
	id(map[string]any{"givenName": "José"})                       // no family name: no name group
	id(map[string]any{"givenName": "Ann", "familyName": "Other"}) // alone
	id(map[string]any{"nickname": "x", "phones": []any{map[string]any{"value": "(415) 555-0199"}}})
	s.createContact(t, other.Key, map[string]any{"emails": []any{map[string]any{"value": "ann@example.com"}}}) // another account's

	groups, total := s.duplicates(t, a.Key, "")
	want := []string{
		"email ann@example.com: " + email1 + " " + email2,
		"phone +14155550123: " + phone1 + " " + phone2,
		"name jose nunez: " + name1 + " " + name2,
	}
	got := groupIDs(groups)
	if total != 3 || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("groups (total %d):\n%q\nwant\n%q", total, got, want)
	}
	// The contacts are whole, as GET /contacts/{id} shows them.
	whole := s.do(t, http.MethodGet, "/api/v1/contacts/"+email1, a.Key, nil).Data(t)
	if !sameJSON(groups[0].Contacts[0], whole) {
		t.Fatalf("group contact %v, want %v", groups[0].Contacts[0], whole)
	}

	t.Run("pagination", func(t *testing.T) {
		page, total := s.duplicates(t, a.Key, "?limit=1&offset=1")
		if total != 3 || len(page) != 1 || groupIDs(page)[0] != want[1] {
			t.Fatalf("limit=1&offset=1: %q, total %d", groupIDs(page), total)
		}
		page, total = s.duplicates(t, a.Key, "?limit=2")
		if total != 3 || len(page) != 2 || groupIDs(page)[1] != want[1] {
			t.Fatalf("limit=2: %q, total %d", groupIDs(page), total)
		}
		if page, total := s.duplicates(t, a.Key, "?offset=3"); total != 3 || len(page) != 0 {
			t.Fatalf("past the end: %q, total %d", groupIDs(page), total)
		}
		s.wantErrors(t, a.Key, []errorCase{
			{name: "limit 0", method: http.MethodGet, path: "/api/v1/contacts/duplicates?limit=0", status: 422, field: "limit"},
			{name: "limit 101", method: http.MethodGet, path: "/api/v1/contacts/duplicates?limit=101", status: 422, field: "limit"},
			{name: "offset -1", method: http.MethodGet, path: "/api/v1/contacts/duplicates?offset=-1", status: 422, field: "offset"},
		})
	})
	t.Run("tenancy", func(t *testing.T) {
		if page, total := s.duplicates(t, other.Key, ""); total != 0 || len(page) != 0 {
			t.Fatalf("another account sees %q", groupIDs(page))
		}
	})
	t.Run("a read-only key", func(t *testing.T) {
		if _, total := s.duplicates(t, s.newKey(t, a.Account.ID, model.ScopeContactsRead), ""); total != 3 {
			t.Fatalf("total %d", total)
		}
	})
}
