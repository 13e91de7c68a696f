package tests

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/api"
)

// activity fetches the Activity Log with a query and returns its entries
// and total, failing unless 200.
func (s *client) activity(t testing.TB, key, query string, headers ...header) ([]map[string]any, float64) {
	t.Helper()
	res := s.do(t, http.MethodGet, "/api/v1/activity"+query, key, nil, headers...)
	wantStatus(t, res, http.StatusOK)
	body := res.JSON(t)
	var out []map[string]any
	for _, e := range body["data"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out, body["total"].(float64)
}

func TestActivity_EntryPerMutation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ua := header{"User-Agent", "remy-test/1.0"}

	c := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "Ada"}, ua)
	wantStatus(t, c, http.StatusCreated)
	cid := c.Data(t)["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+cid, a.Key, map[string]any{"givenName": "Augusta", "nickname": "Ada"}, ua), http.StatusOK)
	// A PATCH that changes nothing is not a change.
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/contacts/"+cid, a.Key, map[string]any{"givenName": "Augusta"}, ua), http.StatusOK)
	n := s.do(t, http.MethodPost, "/api/v1/contacts/"+cid+"/notes", a.Key, map[string]any{"body": "first"}, ua)
	wantStatus(t, n, http.StatusCreated)
	nid := n.Data(t)["id"].(string)
	wantStatus(t, s.do(t, http.MethodPatch, "/api/v1/notes/"+nid, a.Key, map[string]any{"body": "second"}, ua), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/notes/"+nid, a.Key, nil, ua), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodDelete, "/api/v1/contacts/"+cid, a.Key, nil, ua), http.StatusOK)
	// Reads and failed mutations are not logged.
	s.do(t, http.MethodGet, "/api/v1/contacts", a.Key, nil, ua)
	s.do(t, http.MethodPatch, "/api/v1/notes/"+nid, a.Key, map[string]any{"body": "gone"}, ua)
	s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"jobTitle": "invalid"}, ua)

	entries, total := s.activity(t, a.Key, "")
	want := []struct{ action, resourceType, resourceID string }{
		{"contact.deleted", "contact", cid},
		{"note.deleted", "note", nid},
		{"note.updated", "note", nid},
		{"note.created", "note", nid},
		{"contact.updated", "contact", cid},
		{"contact.created", "contact", cid},
	}
	if total != float64(len(want)) || len(entries) != len(want) {
		t.Fatalf("got %d entries (total %v), want %d: %v", len(entries), total, len(want), entries)
	}
	for i, w := range want {
		e := entries[i]
		if e["action"] != w.action || e["resourceType"] != w.resourceType || e["resourceId"] != w.resourceID {
			t.Errorf("entry %d = %v %v %v, want %v", i, e["action"], e["resourceType"], e["resourceId"], w)
		}
		if e["authMethod"] != "api_key" || e["apiKeyId"] != a.KeyID.String() || e["ip"] != "127.0.0.1" || e["userAgent"] != "remy-test/1.0" {
			t.Errorf("entry %d actor = %v %v %v %v", i, e["authMethod"], e["apiKeyId"], e["ip"], e["userAgent"])
		}
		if _, err := time.Parse(time.RFC3339Nano, e["createdAt"].(string)); err != nil {
			t.Errorf("entry %d createdAt: %v", i, err)
		}
		if _, err := uuid.Parse(e["id"].(string)); err != nil {
			t.Errorf("entry %d id: %v", i, err)
		}
		if len(e) != 10 {
			t.Errorf("entry %d has fields %v", i, e)
		}
	}
	contactChanges := entries[4]["changes"].(map[string]any)
	if len(contactChanges) != 2 ||
		contactChanges["givenName"].(map[string]any)["before"] != "Ada" || contactChanges["givenName"].(map[string]any)["after"] != "Augusta" ||
		contactChanges["nickname"].(map[string]any)["before"] != nil || contactChanges["nickname"].(map[string]any)["after"] != "Ada" {
		t.Errorf("contact.updated changes = %v", contactChanges)
	}
	noteChanges := entries[2]["changes"].(map[string]any)
	if len(noteChanges) != 1 || noteChanges["body"].(map[string]any)["before"] != "first" || noteChanges["body"].(map[string]any)["after"] != "second" {
		t.Errorf("note.updated changes = %v", noteChanges)
	}
	for _, i := range []int{0, 1, 3, 5} {
		if entries[i]["changes"] != nil {
			t.Errorf("%v carries changes %v", entries[i]["action"], entries[i]["changes"])
		}
	}

	t.Run("another account sees none of it", func(t *testing.T) {
		if entries, total := s.activity(t, s.newTenant(t).Key, ""); len(entries) != 0 || total != 0 {
			t.Fatalf("other account sees %v", entries)
		}
	})
}

func TestActivity_Filters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c1 := s.createContact(t, a.Key, map[string]any{"givenName": "One"})["id"].(string)
	c2 := s.createContact(t, a.Key, map[string]any{"givenName": "Two"})["id"].(string)
	all, _ := s.activity(t, a.Key, "")
	mark := all[0]["createdAt"].(string) // c2's creation
	s.do(t, http.MethodPatch, "/api/v1/contacts/"+c1, a.Key, map[string]any{"nickname": "x"})
	s.do(t, http.MethodPatch, "/api/v1/contacts/"+c2, a.Key, map[string]any{"nickname": "y"})

	t.Run("since is inclusive, newest first", func(t *testing.T) {
		entries, total := s.activity(t, a.Key, "?since="+url.QueryEscape(mark))
		if total != 3 || len(entries) != 3 || entries[2]["resourceId"] != c2 || entries[2]["action"] != "contact.created" || entries[0]["resourceId"] != c2 {
			t.Fatalf("since %s: total %v, %v", mark, total, entries)
		}
	})
	t.Run("since in the future", func(t *testing.T) {
		if entries, total := s.activity(t, a.Key, "?since=2999-01-01T00:00:00Z"); len(entries) != 0 || total != 0 {
			t.Fatalf("got %v", entries)
		}
	})
	t.Run("since with an offset", func(t *testing.T) {
		past := time.Now().Add(-time.Hour).In(time.FixedZone("x", 2*3600)).Format(time.RFC3339)
		if _, total := s.activity(t, a.Key, "?since="+url.QueryEscape(past)); total != 4 {
			t.Fatalf("since %s: total %v", past, total)
		}
	})
	t.Run("resourceId", func(t *testing.T) {
		entries, total := s.activity(t, a.Key, "?resourceId="+c1)
		if total != 2 || entries[0]["action"] != "contact.updated" || entries[1]["action"] != "contact.created" {
			t.Fatalf("resourceId: %v", entries)
		}
		entries, total = s.activity(t, a.Key, "?resourceId="+c2+"&since="+url.QueryEscape(mark)+"&limit=1")
		if total != 2 || len(entries) != 1 || entries[0]["action"] != "contact.updated" {
			t.Fatalf("resourceId+since+limit: total %v, %v", total, entries)
		}
	})
	t.Run("pagination", func(t *testing.T) {
		p1, total := s.activity(t, a.Key, "?limit=3")
		p2, _ := s.activity(t, a.Key, "?limit=3&offset=3")
		if total != 4 || len(p1) != 3 || len(p2) != 1 || p2[0]["id"] == p1[2]["id"] {
			t.Fatalf("pages %v / %v", p1, p2)
		}
		if past, total := s.activity(t, a.Key, "?offset=10"); len(past) != 0 || total != 4 {
			t.Fatalf("past the end: %v, total %v", past, total)
		}
	})
	for _, q := range []string{"?since=yesterday", "?since=2026-01-01", "?resourceId=nope", "?limit=101", "?action=x"} {
		t.Run("bad query "+q, func(t *testing.T) {
			fe, _ := fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/activity"+q, a.Key, nil))
			if len(fe) == 0 {
				t.Fatalf("want fieldErrors")
			}
		})
	}
	t.Run("needs a key", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodGet, "/api/v1/activity", "", nil), http.StatusUnauthorized, "Missing Authorization header")
	})
}

func TestActivity_ClientIP(t *testing.T) {
	t.Parallel()
	xff := header{"X-Forwarded-For", "203.0.113.7, 10.0.0.1"}
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"untrusted peer: X-Forwarded-For ignored", nil, "127.0.0.1"},
		{"trusted proxy: right-most untrusted hop", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "10.0.0.1"},
		{"chain of trusted proxies", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(c *api.Config) { c.TrustedProxies = tt.trusted })
			a := s.newTenant(t)
			res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "Ada"}, xff)
			wantStatus(t, res, http.StatusCreated)
			entries, _ := s.activity(t, a.Key, "")
			if len(entries) != 1 || entries[0]["ip"] != tt.want {
				t.Fatalf("ip = %v, want %s", entries[0]["ip"], tt.want)
			}
		})
	}
}

// TestActivity_AtomicWithChange makes writing the entry fail after the change
// has been made: the request must fail and leave neither change nor entry.
func TestActivity_AtomicWithChange(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ctx := context.Background()
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	nid := s.createNote(t, a.Key, cid, "note")["id"].(string)
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := s.Store.DB.NewRaw(query, args...).Scan(ctx, &n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	before := count("SELECT count(*) FROM activity_log")

	_, err := s.Store.DB.ExecContext(ctx, `
		CREATE FUNCTION fail_activity() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'activity log is broken (test)'; END $$;
		CREATE TRIGGER fail_activity BEFORE INSERT ON activity_log
		FOR EACH ROW EXECUTE FUNCTION fail_activity();`)
	if err != nil {
		t.Fatalf("install trigger: %v", err)
	}

	for _, m := range []struct {
		name, method, path string
		body               any
	}{
		{"create contact", http.MethodPost, "/api/v1/contacts", map[string]any{"givenName": "Ghost"}},
		{"update contact", http.MethodPatch, "/api/v1/contacts/" + cid, map[string]any{"givenName": "Changed"}},
		{"delete contact", http.MethodDelete, "/api/v1/contacts/" + cid, nil},
		{"create note", http.MethodPost, "/api/v1/contacts/" + cid + "/notes", map[string]any{"body": "ghost"}},
		{"update note", http.MethodPatch, "/api/v1/notes/" + nid, map[string]any{"body": "changed"}},
		{"delete note", http.MethodDelete, "/api/v1/notes/" + nid, nil},
	} {
		t.Run(m.name, func(t *testing.T) {
			res := s.do(t, m.method, m.path, a.Key, m.body)
			wantError(t, res, http.StatusInternalServerError, "Internal server error")
		})
	}
	if n := count("SELECT count(*) FROM contacts WHERE account_id = ?", a.Account.ID); n != 1 {
		t.Errorf("contacts = %d, want 1", n)
	}
	if n := count("SELECT count(*) FROM contacts WHERE id = ? AND given_name = 'Ada' AND version = 1", cid); n != 1 {
		t.Errorf("the contact changed")
	}
	if n := count("SELECT count(*) FROM notes WHERE id = ? AND body = 'note' AND version = 1", nid); n != 1 {
		t.Errorf("the note changed or went")
	}
	if n := count("SELECT count(*) FROM notes"); n != 1 {
		t.Errorf("notes = %d, want 1", n)
	}
	if n := count("SELECT count(*) FROM activity_log"); n != before {
		t.Errorf("activity entries = %d, want %d", n, before)
	}
}
