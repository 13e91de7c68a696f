package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/remy-crm/remy/model"
)

// sampleValue is a valid JSON value for a settable contact field, by name
// where the field has rules of its own, else by Go type. A field of a kind
// it does not know fails the walk: give it a sample here.
func sampleValue(t *testing.T, f model.Field[model.Contact], introducer string) any {
	t.Helper()
	switch f.JSON {
	case "emails":
		return []any{map[string]any{"value": "walk@example.com", "label": "work"}}
	case "urls":
		return []any{map[string]any{"value": "https://example.com/walk", "label": "walk"}}
	case "introducedById":
		return introducer
	}
	switch f.Type {
	case reflect.TypeFor[*string]():
		return "walk " + f.JSON
	case reflect.TypeFor[[]model.LabeledValue]():
		return []any{map[string]any{"value": "+1 555 0100", "label": "walk " + f.JSON}}
	case reflect.TypeFor[[]model.Address]():
		return []any{map[string]any{"label": "walk", "street": "1 Walk Street\nFlat 2", "city": "Walkton",
			"region": "Walkshire", "postalCode": "W1 2AB", "country": "Walkland"}}
	case reflect.TypeFor[[]string]():
		return []any{"walk-" + f.JSON}
	case reflect.TypeFor[*model.Date]():
		return "1990-04-01"
	}
	t.Fatalf("no sample value for contact field %s (%s): add one to sampleValue", f.JSON, f.Type)
	return nil
}

// clearedValue is what a settable field reads as once a PATCH set it to
// null: null, or [] for a list.
func clearedValue(f model.Field[model.Contact]) any {
	if f.Type.Kind() == reflect.Slice {
		return []any{}
	}
	return nil
}

// TestContactFields_WalkEveryLayer takes every settable field of
// model.Contact (from the same table the code uses, so a new field is
// walked without editing this test) through every layer that shows or
// stores it: POST, GET, the list, PATCH set and clear, the Activity Log's
// changes, a webhook's object, and the JSON and CSV exports. A layer that
// forgets a field fails here, not for a customer.
func TestContactFields_WalkEveryLayer(t *testing.T) {
	t.Parallel()
	s := newWebhookServer(t, webhookOpts{})
	a := s.newTenant(t)
	rc := newReceiver(t)
	s.createWebhook(t, a.Key, rc.URL, "contact.created", "contact.updated")
	introducer := s.createContact(t, a.Key, map[string]any{"givenName": "Introducer"})["id"].(string)
	rc.wait(t, 1, 10*time.Second)

	fields := model.ContactFields.Settable
	sample := map[string]any{}
	for _, f := range fields {
		sample[f.JSON] = sampleValue(t, f, introducer)
	}
	created := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, sample)
	wantStatus(t, created, http.StatusCreated)
	id := created.Data(t)["id"].(string)
	path := "/api/v1/contacts/" + id

	wantFields(t, "POST response", created.Data(t), sample)
	wantFields(t, "GET", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), sample)
	wantFields(t, "list", listedContact(t, s, a.Key, id), sample)
	wantFields(t, "contact.created webhook object", hookObject(t, rc, func(e map[string]any, object map[string]any) bool {
		return e["type"] == "contact.created" && object["id"] == id
	}), sample)
	wantExported(t, s, a.Key, id, sample)

	for _, f := range fields {
		t.Run(f.JSON, func(t *testing.T) {
			cleared := s.do(t, http.MethodPatch, path, a.Key, map[string]any{f.JSON: nil})
			wantStatus(t, cleared, http.StatusOK)
			wantFields(t, "PATCH null", cleared.Data(t), map[string]any{f.JSON: clearedValue(f)})
			wantFields(t, "GET after clearing", s.do(t, http.MethodGet, path, a.Key, nil).Data(t), map[string]any{f.JSON: clearedValue(f)})
			wantChange(t, s, a.Key, id, f.JSON, sample[f.JSON], clearedValue(f))

			set := s.do(t, http.MethodPatch, path, a.Key, map[string]any{f.JSON: sample[f.JSON]})
			wantStatus(t, set, http.StatusOK)
			wantFields(t, "PATCH set", set.Data(t), map[string]any{f.JSON: sample[f.JSON]})
			wantChange(t, s, a.Key, id, f.JSON, clearedValue(f), sample[f.JSON])
			entry := s.do(t, http.MethodGet, "/api/v1/activity?limit=1&resourceId="+id, a.Key, nil).JSON(t)["data"].([]any)[0].(map[string]any)
			wantFields(t, "contact.updated webhook object", hookObject(t, rc, func(e map[string]any, _ map[string]any) bool {
				activity, _ := e["data"].(map[string]any)["activity"].(map[string]any)
				return activity["id"] == entry["id"]
			}), map[string]any{f.JSON: sample[f.JSON]})
		})
	}
}

// hookObject waits for the webhook event that match picks and returns its
// object (deliveries may arrive in any order).
func hookObject(t *testing.T, rc *receiver, match func(event, object map[string]any) bool) map[string]any {
	t.Helper()
	var object map[string]any
	eventually(t, 10*time.Second, func() error {
		var seen []string
		for _, r := range rc.requests() {
			e := r.Event(t)
			o, _ := e["data"].(map[string]any)["object"].(map[string]any)
			if match(e, o) {
				object = o
				return nil
			}
			seen = append(seen, string(r.Body))
		}
		return fmt.Errorf("no such webhook event among %d received:\n%s", len(seen), strings.Join(seen, "\n"))
	})
	return object
}

// wantFields checks that got holds each field of want, compared as JSON.
func wantFields(t *testing.T, where string, got, want map[string]any) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: field %s missing", where, name)
			continue
		}
		if !sameJSON(g, w) {
			t.Errorf("%s: %s = %#v, want %#v", where, name, g, w)
		}
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// listedContact is contact id as GET /api/v1/contacts shows it.
func listedContact(t *testing.T, s *testServer, key, id string) map[string]any {
	t.Helper()
	for _, c := range s.do(t, http.MethodGet, "/api/v1/contacts?limit=100", key, nil).JSON(t)["data"].([]any) {
		if c := c.(map[string]any); c["id"] == id {
			return c
		}
	}
	t.Fatalf("contact %s not in the list", id)
	return nil
}

// wantChange checks the newest Activity Log entry of contact id records
// field going from before to after.
func wantChange(t *testing.T, s *testServer, key, id, field string, before, after any) {
	t.Helper()
	entries, _ := s.activity(t, key, "?resourceId="+id+"&limit=1")
	if len(entries) == 0 {
		t.Fatalf("no Activity Log entry for %s", id)
	}
	changes, _ := entries[0]["changes"].(map[string]any)
	change, ok := changes[field].(map[string]any)
	if !ok {
		t.Fatalf("Activity Log changes %v lack %s", entries[0]["changes"], field)
	}
	if !sameJSON(change["before"], before) || !sameJSON(change["after"], after) {
		t.Fatalf("Activity Log change of %s = %v, want before %v after %v", field, change, before, after)
	}
}

// wantExported checks contact id in the JSON export and in the CSV export,
// where a list is the JSON array the API returns and a null an empty cell.
func wantExported(t *testing.T, s *testServer, key, id string, want map[string]any) {
	t.Helper()
	var doc struct {
		Data struct {
			Contacts []map[string]any `json:"contacts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(s.do(t, http.MethodGet, "/api/v1/export", key, nil).Body, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range doc.Data.Contacts {
		if c["id"] == id {
			found = true
			wantFields(t, "JSON export", c, want)
		}
	}
	if !found {
		t.Fatalf("contact %s not in the JSON export", id)
	}
	_, rows := readCSV(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv&resource=contacts", key, nil).Body)
	for _, row := range rows {
		if row["id"] != id {
			continue
		}
		for name, w := range want {
			cell, ok := row[name]
			if !ok {
				t.Errorf("CSV export: no column %s", name)
				continue
			}
			var got any = unneutralize(cell)
			var decoded any
			if _, isString := w.(string); !isString && json.Unmarshal([]byte(cell), &decoded) == nil {
				got = decoded
			}
			if !sameJSON(got, w) {
				t.Errorf("CSV export: %s = %q, want %v", name, cell, w)
			}
		}
		return
	}
	t.Fatalf("contact %s not in the CSV export", id)
}
