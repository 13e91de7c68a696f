package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// createNote posts a note on a contact and returns its data, failing unless 201.
func (s *client) createNote(t testing.TB, key, contactID, body string) map[string]any {
	t.Helper()
	res := s.do(t, http.MethodPost, "/api/v1/contacts/"+contactID+"/notes", key, map[string]any{"body": body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create note: status %d: %s", res.Status, res.Body)
	}
	return res.Data(t)
}

func TestNotes_CreateGet(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	cid := c["id"].(string)

	body := "  Met at the Analytical Society.\nLoves poetry, \"engines\" & numbers.  "
	res := s.do(t, http.MethodPost, "/api/v1/contacts/"+cid+"/notes", a.Key, map[string]any{"body": body})
	wantStatus(t, res, http.StatusCreated)
	n := res.Data(t)
	id, _ := n["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("id %q is not a UUID", id)
	}
	if res.Header.Get("Location") != "/api/v1/notes/"+id {
		t.Errorf("Location = %q", res.Header.Get("Location"))
	}
	if n["contactId"] != cid || n["body"] != body || n["createdAt"] == nil || n["updatedAt"] == nil {
		t.Fatalf("note = %v", n)
	}
	if len(n) != 5 {
		t.Fatalf("note has fields %v, want exactly id, contactId, body, createdAt, updatedAt", n)
	}
	got := s.do(t, http.MethodGet, "/api/v1/notes/"+id, a.Key, nil)
	wantStatus(t, got, http.StatusOK)
	if fmt.Sprint(got.Data(t)) != fmt.Sprint(n) {
		t.Fatalf("GET = %v, want %v", got.Data(t), n)
	}
}

func TestNotes_Validation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	path := "/api/v1/contacts/" + cid + "/notes"

	for _, tt := range []struct {
		name string
		body any
	}{
		{"missing body", map[string]any{}},
		{"empty body", map[string]any{"body": ""}},
		{"blank body", map[string]any{"body": " \n\t "}},
		{"null body", `{"body": null}`},
		{"too long", map[string]any{"body": strings.Repeat("é", 10001)}},
		{"wrong type", map[string]any{"body": 42}},
		{"unknown field", map[string]any{"body": "x", "title": "y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fe, form := fieldErrors(t, s.do(t, http.MethodPost, path, a.Key, tt.body))
			if len(fe)+len(form) == 0 {
				t.Fatal("want a fieldErrors or formErrors entry")
			}
		})
	}
	t.Run("10,000 characters is fine", func(t *testing.T) {
		n := s.createNote(t, a.Key, cid, strings.Repeat("é", 10000))
		if len([]rune(n["body"].(string))) != 10000 {
			t.Fatal("body changed")
		}
	})
	t.Run("malformed contact id", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodPost, "/api/v1/contacts/nope/notes", a.Key, map[string]any{"body": "x"}), http.StatusBadRequest, "")
	})
}

func TestNotes_UnknownOrForeignContact(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	foreign := s.createContact(t, b.Key, map[string]any{"givenName": "B's"})["id"].(string)
	s.createNote(t, b.Key, foreign, "B's secret")

	for _, cid := range []string{foreign, uuid.NewString()} {
		path := "/api/v1/contacts/" + cid + "/notes"
		wantError(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusNotFound, "Contact not found")
		wantError(t, s.do(t, http.MethodPost, path, a.Key, map[string]any{"body": "x"}), http.StatusNotFound, "Contact not found")
	}
	var n int
	if err := s.Store.DB.NewRaw("SELECT count(*) FROM notes").Scan(context.Background(), &n); err != nil || n != 1 {
		t.Fatalf("notes in the database = %d (%v), want only B's", n, err)
	}
}

func TestNotes_Tenancy(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	note := s.createNote(t, a.Key, cid, "mine")
	path := "/api/v1/notes/" + note["id"].(string)
	missing := "/api/v1/notes/" + uuid.NewString()

	for _, m := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPatch, `{"body":"stolen"}`}, {http.MethodDelete, nil}} {
		t.Run(m.method, func(t *testing.T) {
			foreign := s.do(t, m.method, path, b.Key, m.body)
			absent := s.do(t, m.method, missing, b.Key, m.body)
			wantError(t, foreign, http.StatusNotFound, "Note not found")
			if string(foreign.Body) != string(absent.Body) {
				t.Fatalf("another account's note %s differs from a missing one %s", foreign.Body, absent.Body)
			}
		})
	}
	if got := s.do(t, http.MethodGet, path, a.Key, nil).Data(t); got["body"] != "mine" {
		t.Fatalf("another account changed the note: %v", got)
	}
}

func TestNotes_List(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	other := s.createContact(t, a.Key, map[string]any{"givenName": "Other"})["id"].(string)
	const n = 5
	var ids []string
	for i := range n {
		ids = append(ids, s.createNote(t, a.Key, cid, fmt.Sprint("note ", i))["id"].(string))
	}
	s.createNote(t, a.Key, other, "another contact's note")

	list := func(t *testing.T, contactID, query string) ([]string, float64) {
		t.Helper()
		res := s.do(t, http.MethodGet, "/api/v1/contacts/"+contactID+"/notes"+query, a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		body := res.JSON(t)
		var got []string
		for _, it := range body["data"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		return got, body["total"].(float64)
	}
	all, total := list(t, cid, "")
	if total != n || len(all) != n {
		t.Fatalf("got %d notes, total %v; want %d", len(all), total, n)
	}
	for i := range n {
		if all[i] != ids[n-1-i] {
			t.Fatalf("order: got %v, want newest first %v", all, ids)
		}
	}
	var paged []string
	for off := 0; off < n; off += 2 {
		page, total := list(t, cid, fmt.Sprintf("?limit=2&offset=%d", off))
		if total != n {
			t.Fatalf("total = %v at offset %d", total, off)
		}
		paged = append(paged, page...)
	}
	if fmt.Sprint(paged) != fmt.Sprint(all) {
		t.Fatalf("pages %v != list %v", paged, all)
	}
	if page, total := list(t, cid, "?offset=50"); len(page) != 0 || total != n {
		t.Fatalf("past the end: %v, total %v", page, total)
	}
	t.Run("contact without notes", func(t *testing.T) {
		empty := s.createContact(t, a.Key, map[string]any{"givenName": "Quiet"})["id"].(string)
		res := s.do(t, http.MethodGet, "/api/v1/contacts/"+empty+"/notes", a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		if strings.TrimSpace(string(res.Body)) != `{"data":[],"total":0}` {
			t.Fatalf("body = %s", res.Body)
		}
	})
	for _, q := range []string{"?limit=0", "?limit=101", "?offset=-1", "?page=2"} {
		t.Run("bad query "+q, func(t *testing.T) {
			fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+cid+"/notes"+q, a.Key, nil))
		})
	}
}

func TestNotes_Update(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	note := s.createNote(t, a.Key, cid, "first")
	path := "/api/v1/notes/" + note["id"].(string)

	res := s.do(t, http.MethodPatch, path, a.Key, map[string]any{"body": "second"})
	wantStatus(t, res, http.StatusOK)
	d := res.Data(t)
	if d["body"] != "second" || d["createdAt"] != note["createdAt"] || d["updatedAt"] == note["updatedAt"] {
		t.Fatalf("after PATCH: %v (before %v)", d, note)
	}
	if got := s.do(t, http.MethodGet, path, a.Key, nil).Data(t); fmt.Sprint(got) != fmt.Sprint(d) {
		t.Fatalf("GET after PATCH = %v, want %v", got, d)
	}

	t.Run("absent body changes nothing", func(t *testing.T) {
		res := s.do(t, http.MethodPatch, path, a.Key, `{}`)
		wantStatus(t, res, http.StatusOK)
		if fmt.Sprint(res.Data(t)) != fmt.Sprint(d) {
			t.Fatalf("empty PATCH changed the note: %v", res.Data(t))
		}
	})
	for _, tt := range []struct{ name, body string }{
		{"null body", `{"body": null}`},
		{"empty body", `{"body": ""}`},
		{"blank body", `{"body": "   "}`},
		{"too long", `{"body": "` + strings.Repeat("x", 10001) + `"}`},
		{"contactId is not writable", `{"contactId": "` + uuid.NewString() + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fieldErrors(t, s.do(t, http.MethodPatch, path, a.Key, tt.body))
			if got := s.do(t, http.MethodGet, path, a.Key, nil).Data(t); got["body"] != "second" {
				t.Fatalf("a refused PATCH changed the note: %v", got)
			}
		})
	}
	t.Run("missing note", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodPatch, "/api/v1/notes/"+uuid.NewString(), a.Key, `{"body":"x"}`), http.StatusNotFound, "Note not found")
	})
	t.Run("malformed id", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodPatch, "/api/v1/notes/123", a.Key, `{"body":"x"}`), http.StatusBadRequest, "")
	})
}

func TestNotes_Delete(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	note := s.createNote(t, a.Key, cid, "bye")
	path := "/api/v1/notes/" + note["id"].(string)

	res := s.do(t, http.MethodDelete, path, a.Key, nil)
	wantStatus(t, res, http.StatusOK)
	if strings.TrimSpace(string(res.Body)) != fmt.Sprintf(`{"data":{"id":%q,"deleted":true}}`, note["id"]) {
		t.Fatalf("body = %s", res.Body)
	}
	wantError(t, s.do(t, http.MethodGet, path, a.Key, nil), http.StatusNotFound, "Note not found")
	wantError(t, s.do(t, http.MethodDelete, path, a.Key, nil), http.StatusNotFound, "Note not found")
	if total := s.do(t, http.MethodGet, "/api/v1/contacts/"+cid+"/notes", a.Key, nil).JSON(t)["total"]; total != float64(0) {
		t.Fatalf("total = %v after delete", total)
	}
}

func TestNotes_DeletedWithTheirContact(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	keep := s.createContact(t, a.Key, map[string]any{"givenName": "Keep"})["id"].(string)
	n1 := s.createNote(t, a.Key, cid, "one")
	n2 := s.createNote(t, a.Key, cid, "two")
	kept := s.createNote(t, a.Key, keep, "kept")

	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+cid, a.Key, nil), http.StatusOK)
	for _, n := range []map[string]any{n1, n2} {
		wantError(t, s.do(t, http.MethodGet, "/api/v1/notes/"+n["id"].(string), a.Key, nil), http.StatusNotFound, "Note not found")
	}
	wantError(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+cid+"/notes", a.Key, nil), http.StatusNotFound, "Contact not found")
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/notes/"+kept["id"].(string), a.Key, nil), http.StatusOK)

	// The Activity Log tells a poller about each note that went with the contact.
	for _, n := range []map[string]any{n1, n2} {
		res := s.do(t, http.MethodGet, "/api/v1/activity?resourceId="+n["id"].(string), a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		data := res.JSON(t)["data"].([]any)
		if len(data) != 2 || data[0].(map[string]any)["action"] != "note.deleted" {
			t.Fatalf("activity of a cascaded note: %s", res.Body)
		}
	}
}
