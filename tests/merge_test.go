package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// mergeFixture is a target, two sources and the contacts and notes around
// them, as seedMerge makes them.
type mergeFixture struct {
	target, s1, s2 string
	// byS1, byS2 and byTarget were introduced by s1, s2 and the target.
	byS1, byS2, byTarget string
	// n0 is the target's note, n1 s1's, n2a and n2b s2's.
	n0, n1, n2a, n2b string
}

// seedMerge makes a mergeFixture through the API: the target introduced
// by s1 (a link that would point at itself after the merge), s2 introduced
// by s1, and fields that overlap.
func (s *client) seedMerge(t testing.TB, key string) mergeFixture {
	t.Helper()
	id := func(body map[string]any) string { return s.createContact(t, key, body)["id"].(string) }
	note := func(contact, body string) string {
		res := s.do(t, http.MethodPost, "/api/v1/contacts/"+contact+"/notes", key, map[string]any{"body": body})
		wantStatus(t, res, http.StatusCreated)
		return res.Data(t)["id"].(string)
	}
	var f mergeFixture
	f.s1 = id(map[string]any{"givenName": "Augusta", "familyName": "King",
		"emails": []any{map[string]any{"value": "ADA@example.com", "label": "home"}, map[string]any{"value": "augusta@example.com"}},
		"phones": []any{map[string]any{"value": "+1 415 555 0123", "label": "mobile"}, map[string]any{"value": "+44 20 7946 0958"}},
		"tags":   []any{"poetry", "math"}})
	f.s2 = id(map[string]any{"familyName": "Lovelace", "company": "Analytical Engines", "birthday": "1815-12-10",
		"tags": []any{"engines"}, "introducedById": f.s1})
	f.target = id(map[string]any{"givenName": "Ada",
		"emails": []any{map[string]any{"value": "ada@example.com", "label": "work"}},
		"phones": []any{map[string]any{"value": "(415) 555-0123"}},
		"tags":   []any{"math"}, "introducedById": f.s1})
	f.byS1 = id(map[string]any{"givenName": "Met through Augusta", "introducedById": f.s1})
	f.byS2 = id(map[string]any{"givenName": "Met through Lovelace", "introducedById": f.s2})
	f.byTarget = id(map[string]any{"givenName": "Met through Ada", "introducedById": f.target})
	f.n0, f.n1 = note(f.target, "The target's"), note(f.s1, "Augusta's")
	f.n2a, f.n2b = note(f.s2, "Lovelace's first"), note(f.s2, "Lovelace's second")
	return f
}

// merge posts a merge of sources into target.
func (s *client) merge(t testing.TB, key, target string, sources []string, headers ...header) *response {
	t.Helper()
	return s.do(t, http.MethodPost, "/api/v1/contacts/"+target+"/merge", key, map[string]any{"sourceIds": sources}, headers...)
}

func TestContacts_Merge(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	f := s.seedMerge(t, a.Key)
	_, logged := s.activity(t, a.Key, "?limit=1")

	res := s.merge(t, a.Key, f.target, []string{f.s1, f.s2}, header{"User-Agent", "merge-test/1.0"})
	wantStatus(t, res, http.StatusOK)
	got := res.Data(t)
	wantFields(t, "merged", got, map[string]any{
		"id": f.target, "givenName": "Ada", "familyName": "King", "nickname": nil,
		"company": "Analytical Engines", "jobTitle": nil, "birthday": "1815-12-10",
		"emails": []any{map[string]any{"value": "ada@example.com", "label": "work"}, map[string]any{"value": "augusta@example.com", "label": ""}},
		"phones": []any{map[string]any{"value": "(415) 555-0123", "label": ""}, map[string]any{"value": "+44 20 7946 0958", "label": ""}},
		"tags":   []any{"math", "poetry", "engines"}, "introducedById": nil,
	})
	after := s.do(t, http.MethodGet, "/api/v1/contacts/"+f.target, a.Key, nil)
	if !sameJSON(after.Data(t), got) || wantETag(t, res) != wantETag(t, after) {
		t.Fatalf("GET after the merge (ETag %s) differs from its answer (ETag %s):\n%s\n%s",
			after.Header.Get("ETag"), res.Header.Get("ETag"), after.Body, res.Body)
	}

	t.Run("sources are gone", func(t *testing.T) {
		for _, id := range []string{f.s1, f.s2} {
			wantError(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil), http.StatusNotFound, "Contact not found")
		}
		s.wantContacts(t, a.Account.ID, 4)
	})
	t.Run("introductions re-pointed", func(t *testing.T) {
		for _, id := range []string{f.byS1, f.byS2, f.byTarget} {
			if c := s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil).Data(t); c["introducedById"] != f.target {
				t.Errorf("%s introducedById = %v, want the target", c["givenName"], c["introducedById"])
			}
		}
	})
	t.Run("notes moved", func(t *testing.T) {
		list := s.do(t, http.MethodGet, "/api/v1/contacts/"+f.target+"/notes", a.Key, nil).JSON(t)
		if list["total"] != 4.0 {
			t.Fatalf("the target has %v notes, want 4", list["total"])
		}
		for _, id := range []string{f.n0, f.n1, f.n2a, f.n2b} {
			if n := s.do(t, http.MethodGet, "/api/v1/notes/"+id, a.Key, nil).Data(t); n["contactId"] != f.target {
				t.Errorf("note %q contactId = %v", n["body"], n["contactId"])
			}
		}
	})
	t.Run("events", func(t *testing.T) {
		entries, total := s.activity(t, a.Key, "?limit=100")
		wantMergeEvents(t, a, f, entries[:int(total-logged)])
	})
}

// wantMergeEvents checks the Activity Log entries of seedMerge's merge:
// one per change, each with the caller's key, address and user agent.
func wantMergeEvents(t *testing.T, a tenant, f mergeFixture, entries []map[string]any) {
	t.Helper()
	move := func(from string) map[string]any { return map[string]any{"before": from, "after": f.target} }
	want := map[string]map[string]any{ // action resourceId → changes
		"contact.updated " + f.byS1: {"introducedById": move(f.s1)},
		"contact.updated " + f.byS2: {"introducedById": move(f.s2)},
		"note.updated " + f.n1:      {"contactId": move(f.s1)},
		"note.updated " + f.n2a:     {"contactId": move(f.s2)},
		"note.updated " + f.n2b:     {"contactId": move(f.s2)},
		"contact.deleted " + f.s1:   nil,
		"contact.deleted " + f.s2:   nil,
		"contact.updated " + f.target: {
			"familyName":     map[string]any{"before": nil, "after": "King"},
			"company":        map[string]any{"before": nil, "after": "Analytical Engines"},
			"birthday":       map[string]any{"before": nil, "after": "1815-12-10"},
			"introducedById": map[string]any{"before": f.s1, "after": nil},
			"tags":           map[string]any{"before": []any{"math"}, "after": []any{"math", "poetry", "engines"}},
			"emails": map[string]any{
				"before": []any{map[string]any{"value": "ada@example.com", "label": "work"}},
				"after":  []any{map[string]any{"value": "ada@example.com", "label": "work"}, map[string]any{"value": "augusta@example.com", "label": ""}}},
			"phones": map[string]any{
				"before": []any{map[string]any{"value": "(415) 555-0123", "label": ""}},
				"after":  []any{map[string]any{"value": "(415) 555-0123", "label": ""}, map[string]any{"value": "+44 20 7946 0958", "label": ""}}},
		},
	}
	if len(entries) != len(want) {
		t.Fatalf("the merge wrote %d entries, want %d: %v", len(entries), len(want), entries)
	}
	for _, e := range entries {
		k := e["action"].(string) + " " + e["resourceId"].(string)
		changes, ok := want[k]
		if !ok {
			t.Errorf("unexpected entry %s: %v", k, e)
			continue
		}
		delete(want, k)
		if !sameJSON(e["changes"], changes) {
			t.Errorf("%s changes\n got %v\nwant %v", k, e["changes"], changes)
		}
		if e["authMethod"] != "api_key" || e["apiKeyId"] != a.KeyID.String() || e["ip"] != "127.0.0.1" || e["userAgent"] != "merge-test/1.0" {
			t.Errorf("%s actor = %v %v %v %v", k, e["authMethod"], e["apiKeyId"], e["ip"], e["userAgent"])
		}
	}
	// The deletions come last: an Activity Log reader sees the sources'
	// notes and introductions move before the sources go.
	for _, e := range entries[:2] {
		if e["action"] != "contact.deleted" {
			t.Errorf("newest entries %v %v, want the two deletions", entries[0]["action"], entries[1]["action"])
		}
	}
}

// The webhook objects of a merge's events are the resources as the API
// shows them right after each change, and the sources as they were.
func TestContacts_MergeWebhookObjects(t *testing.T) {
	t.Parallel()
	s, rc, a := setupWebhooks(t, webhookOpts{})
	f := s.seedMerge(t, a.Key)
	s1Before := s.do(t, http.MethodGet, "/api/v1/contacts/"+f.s1, a.Key, nil).Data(t)
	s.createWebhook(t, a.Key, rc.URL, "*")

	res := s.merge(t, a.Key, f.target, []string{f.s1, f.s2})
	wantStatus(t, res, http.StatusOK)
	of := func(typ, id string) map[string]any {
		return hookObject(t, rc, func(e, o map[string]any) bool { return e["type"] == typ && o["id"] == id })
	}
	if o := of("contact.updated", f.target); !sameJSON(o, res.Data(t)) {
		t.Errorf("target's object %v, want %v", o, res.Data(t))
	}
	if o := of("contact.deleted", f.s1); !sameJSON(o, s1Before) {
		t.Errorf("s1's object %v, want it as it was: %v", o, s1Before)
	}
	for _, id := range []string{f.byS1, f.byS2} {
		if o, now := of("contact.updated", id), s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil).Data(t); !sameJSON(o, now) {
			t.Errorf("introduced contact's object %v, want %v", o, now)
		}
	}
	if o, now := of("note.updated", f.n1), s.do(t, http.MethodGet, "/api/v1/notes/"+f.n1, a.Key, nil).Data(t); !sameJSON(o, now) || o["contactId"] != f.target {
		t.Errorf("moved note's object %v, want %v", o, now)
	}
}

// A contact that had nothing to gain keeps its fields and ETag; its
// sources' links are still taken over, and a source's introducer fills an
// empty one.
func TestContacts_MergeFillsIntroducer(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	x := s.createContact(t, a.Key, map[string]any{"givenName": "X"})["id"].(string)
	src := s.createContact(t, a.Key, map[string]any{"givenName": "Source", "introducedById": x})["id"].(string)
	target := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "Target"})
	wantStatus(t, target, http.StatusCreated)
	res := s.merge(t, a.Key, target.Data(t)["id"].(string), []string{src})
	wantStatus(t, res, http.StatusOK)
	if got := res.Data(t); got["givenName"] != "Target" || got["introducedById"] != x {
		t.Fatalf("merged %v", got)
	}

	same := s.createContact(t, a.Key, map[string]any{"givenName": "Same"})["id"].(string)
	other := s.createContact(t, a.Key, map[string]any{"givenName": "Other"})["id"].(string)
	before := s.do(t, http.MethodGet, "/api/v1/contacts/"+same, a.Key, nil)
	res = s.merge(t, a.Key, same, []string{other})
	wantStatus(t, res, http.StatusOK)
	if wantETag(t, res) != wantETag(t, before) || !sameJSON(res.Data(t), before.Data(t)) {
		t.Fatalf("a target whose fields did not change changed: %s", res.Body)
	}
	entries, _ := s.activity(t, a.Key, "?resourceId="+same)
	if len(entries) != 1 || entries[0]["action"] != "contact.created" {
		t.Fatalf("a target whose fields did not change has entries %v", entries)
	}
}

func TestContacts_MergeErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, other := s.newTenant(t), s.newTenant(t)
	target := s.createContact(t, a.Key, map[string]any{"givenName": "Target"})["id"].(string)
	source := s.createContact(t, a.Key, map[string]any{"givenName": "Source", "familyName": "Fills the target's"})["id"].(string)
	foreign := s.createContact(t, other.Key, map[string]any{"givenName": "Foreign"})["id"].(string)
	path := "/api/v1/contacts/" + target + "/merge"
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = s.createContact(t, a.Key, map[string]any{"givenName": fmt.Sprint("Extra ", i)})["id"].(string)
	}
	before := s.writeCount(t, a.Account.ID)
	body := func(ids ...string) map[string]any { return map[string]any{"sourceIds": ids} }
	s.wantErrors(t, a.Key, []errorCase{
		{name: "no sources", method: http.MethodPost, path: path, body: body(), status: 422, field: "sourceIds"},
		{name: "more than 10", method: http.MethodPost, path: path, body: body(eleven...), status: 422, field: "sourceIds"},
		{name: "repeated id", method: http.MethodPost, path: path, body: body(source, source), status: 422, field: "sourceIds"},
		{name: "the target itself", method: http.MethodPost, path: path, body: body(source, target), status: 422, field: "sourceIds"},
		{name: "malformed id", method: http.MethodPost, path: path, body: body("nope"), status: 422, field: "sourceIds"},
		{name: "missing sourceIds", method: http.MethodPost, path: path, body: map[string]any{}, status: 422, field: "sourceIds"},
		{name: "null sourceIds", method: http.MethodPost, path: path, body: `{"sourceIds":null}`, status: 422, field: "sourceIds"},
		{name: "malformed target", method: http.MethodPost, path: "/api/v1/contacts/nope/merge", body: body(source), status: 400},
		{name: "no body", method: http.MethodPost, path: path, status: 400},
	})

	t.Run("404s are byte-identical and change nothing", func(t *testing.T) {
		missing := s.merge(t, a.Key, target, []string{source, uuid.NewString()})
		wantError(t, missing, http.StatusNotFound, "Contact not found")
		for name, res := range map[string]*response{
			"another account's source":    s.merge(t, a.Key, target, []string{source, foreign}),
			"another account's target":    s.merge(t, a.Key, foreign, []string{source}),
			"a missing target":            s.merge(t, a.Key, uuid.NewString(), []string{source}),
			"merging into a foreign one":  s.merge(t, other.Key, foreign, []string{source}),
			"a missing source, If-Match":  s.merge(t, a.Key, target, []string{uuid.NewString()}, header{"If-Match", `"stale"`}),
			"another account's, If-Match": s.merge(t, a.Key, target, []string{foreign}, header{"If-Match", `"stale"`}),
		} {
			if res.Status != http.StatusNotFound || !bytes.Equal(res.Body, missing.Body) {
				t.Errorf("%s: %d %s, want the missing one's %s", name, res.Status, res.Body, missing.Body)
			}
		}
		if after := s.writeCount(t, a.Account.ID); after != before {
			t.Fatalf("failed merges changed contacts/notes/activity from %v to %v", before, after)
		}
		wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+foreign, other.Key, nil), http.StatusOK)
	})
	t.Run("403 with a read-only key", func(t *testing.T) {
		ro := s.newKey(t, a.Account.ID, model.ScopeContactsRead)
		wantForbidden(t, s.merge(t, ro, target, []string{source}), model.ScopeContactsWrite)
		if after := s.writeCount(t, a.Account.ID); after != before {
			t.Fatalf("a forbidden merge changed %v to %v", before, after)
		}
	})
	t.Run("If-Match", func(t *testing.T) {
		stale := wantETag(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+target, a.Key, nil))
		wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+target, a.Key, map[string]any{"nickname": "T"}), http.StatusOK)
		current := wantETag(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+target, a.Key, nil))
		settled := s.writeCount(t, a.Account.ID)
		wantError(t, s.merge(t, a.Key, target, []string{source}, header{"If-Match", stale}), http.StatusPreconditionFailed, "")
		if after := s.writeCount(t, a.Account.ID); after != settled {
			t.Fatalf("a stale merge changed %v to %v", settled, after)
		}
		res := s.merge(t, a.Key, target, []string{source}, header{"If-Match", current})
		wantStatus(t, res, http.StatusOK)
		if wantETag(t, res) == current {
			t.Fatal("the merge that changed the target kept its ETag")
		}
	})
}

// Idempotency-Key works on a merge as on the other POSTs: a retry gets the
// first answer back, although the sources are gone.
func TestContacts_MergeIdempotent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	target := s.createContact(t, a.Key, map[string]any{"givenName": "Target"})["id"].(string)
	source := s.createContact(t, a.Key, map[string]any{"familyName": "Source"})["id"].(string)
	key := idemKey(uuid.NewString())
	first := s.merge(t, a.Key, target, []string{source}, key)
	wantStatus(t, first, http.StatusOK)
	again := s.merge(t, a.Key, target, []string{source}, key)
	wantStatus(t, again, http.StatusOK)
	if !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Fatalf("retry: %s %v, want a replay of %s", again.Body, again.Header, first.Body)
	}
	wantError(t, s.merge(t, a.Key, target, []string{source}), http.StatusNotFound, "Contact not found")
	if entries, _ := s.activity(t, a.Key, "?resourceId="+source); len(entries) != 2 {
		t.Fatalf("the source has %d entries, want created and deleted once: %v", len(entries), entries)
	}
}

// Concurrent merges over the same contacts lock them in one order: none
// deadlocks or fails with a 5xx, and no note is lost.
func TestContacts_MergeConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	const n = 6
	ids := make([]string, n)
	for i := range ids {
		ids[i], _ = s.seedContactAndNote(t, a.Key)
	}
	// Each merges the next contact (in a ring) into one: every pair of
	// neighbours is claimed by two merges, in opposite roles.
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := s.send(http.MethodPost, "/api/v1/contacts/"+ids[i]+"/merge", a.Key, map[string]any{"sourceIds": []string{ids[(i+1)%n]}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = res.Status
			if res.Status != http.StatusOK && res.Status != http.StatusNotFound {
				t.Errorf("merge %d: %d %s", i, res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	merged := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			merged++
		}
	}
	if merged == 0 || merged == n {
		t.Fatalf("statuses %v: want some merges to win and some to find their contacts gone", statuses)
	}
	s.wantContacts(t, a.Account.ID, n-merged)
	if got := s.writeCount(t, a.Account.ID)[1]; got != n {
		t.Fatalf("%d notes left, want all %d", got, n)
	}
}

// The merge operation in /openapi.json: its body's rules, its answers.
func TestOpenAPI_Merge(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name string } `json:"parameters"`
			Responses  map[string]any          `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
				Required   []string                  `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	s.document(t, &doc)
	op := doc.Paths["/api/v1/contacts/{id}/merge"]["post"]
	var params []string
	for _, p := range op.Parameters {
		params = append(params, p.Name)
	}
	for _, want := range []string{"id", "If-Match", "Idempotency-Key"} {
		if !slices.Contains(params, want) {
			t.Errorf("merge parameters %v lack %s", params, want)
		}
	}
	for _, st := range []string{"200", "400", "403", "404", "409", "412", "422"} {
		if op.Responses[st] == nil {
			t.Errorf("merge does not document %s", st)
		}
	}
	in := doc.Components.Schemas["MergeInput"]
	ids := in.Properties["sourceIds"]
	if ids["minItems"] != 1.0 || ids["maxItems"] != 10.0 || ids["uniqueItems"] != true || !slices.Contains(in.Required, "sourceIds") {
		t.Errorf("sourceIds schema %v, required %v", ids, in.Required)
	}
	reason := doc.Components.Schemas["DuplicateGroup"].Properties["reason"]
	if fmt.Sprint(reason["enum"]) != "[email phone name]" {
		t.Errorf("DuplicateGroup.reason enum %v", reason["enum"])
	}
	if !strings.Contains(fmt.Sprint(doc.Paths["/api/v1/contacts/duplicates"]["get"].Responses["200"]), "DuplicateGroup") {
		t.Errorf("duplicates 200: %v", doc.Paths["/api/v1/contacts/duplicates"]["get"].Responses["200"])
	}
}
