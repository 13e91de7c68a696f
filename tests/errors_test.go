package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestErrorContract(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	one := "/api/v1/contacts/" + c["id"].(string)

	s.wantErrors(t, a.Key, []errorCase{
		{"malformed JSON", http.MethodPost, "/api/v1/contacts", `{"givenName": `, nil, 400, "", ""},
		{"JSON that is not an object", http.MethodPost, "/api/v1/contacts", `[1,2]`, nil, 422, "Validation failed", ""},
		{"malformed JSON on PATCH", http.MethodPatch, one, `{nope}`, nil, 400, "", ""},
		{"malformed UUID in path (GET)", http.MethodGet, "/api/v1/contacts/not-a-uuid", nil, nil, 400, "", ""},
		{"malformed UUID in path (PATCH)", http.MethodPatch, "/api/v1/contacts/123", `{"nickname":"x"}`, nil, 400, "", ""},
		{"malformed UUID in path (DELETE)", http.MethodDelete, "/api/v1/contacts/zzz", nil, nil, 400, "", ""},
		{"wrong content type", http.MethodPost, "/api/v1/contacts", `givenName=Ada`, []header{{"Content-Type", "application/x-www-form-urlencoded"}}, 415, "", ""},
		{"text/plain", http.MethodPatch, one, `{"nickname":"x"}`, []header{{"Content-Type", "text/plain"}}, 415, "", ""},
		{"body over 1 MiB", http.MethodPost, "/api/v1/contacts", `{"givenName":"` + strings.Repeat("x", 1<<20+10) + `"}`, nil, 413, "", ""},
		{"unknown route", http.MethodGet, "/api/v1/nope", nil, nil, 404, "Not found", ""},
		{"unknown top-level route", http.MethodGet, "/nope", nil, nil, 404, "Not found", ""},
		{"wrong method", http.MethodPut, "/api/v1/contacts", `{}`, nil, 405, "Method not allowed", ""},
		{"wrong method on item", http.MethodPost, one, `{}`, nil, 405, "Method not allowed", ""},
		{"missing contact", http.MethodGet, "/api/v1/contacts/" + uuid.NewString(), nil, nil, 404, "Contact not found", ""},
	})
	t.Run("400 names the problem", func(t *testing.T) {
		res := s.do(t, http.MethodGet, "/api/v1/contacts/not-a-uuid", a.Key, nil)
		body := wantError(t, res, 400, "")
		if !strings.Contains(body["error"].(string), "UUID") {
			t.Fatalf("message should say what is malformed: %s", res.Body)
		}
	})
	t.Run("405 lists the allowed methods", func(t *testing.T) {
		res := s.do(t, http.MethodPut, one, `{}`, a.Key)
		wantStatus(t, res, 405)
		if allow := res.Header.Get("Allow"); !strings.Contains(allow, "PATCH") || !strings.Contains(allow, "GET") {
			t.Fatalf("Allow = %q", allow)
		}
	})
	t.Run("empty body on POST is 400", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, ""), 400, "")
	})
	t.Run("field names are case-sensitive", func(t *testing.T) {
		fieldErrors(t, s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, `{"GIVENNAME":"Ada"}`))
	})
	t.Run("nothing leaks", func(t *testing.T) {
		for _, res := range []*response{
			s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, `{"givenName": `),
			s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "a", "introducedById": uuid.NewString()}),
		} {
			for _, bad := range []string{"SQLSTATE", "pq:", "ERROR:", "goroutine", ".go:"} {
				if strings.Contains(string(res.Body), bad) {
					t.Fatalf("body leaks internals (%q): %s", bad, res.Body)
				}
			}
		}
	})
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	for _, path := range []string{"/healthz", "/api/v1/contacts", "/nope"} {
		res := s.do(t, http.MethodGet, path, a.Key, nil)
		if id := res.Header.Get("X-Request-Id"); len(id) < 16 {
			t.Errorf("%s: X-Request-Id = %q", path, id)
		}
	}
	res := s.do(t, http.MethodGet, "/api/v1/contacts", "", nil, header{"X-Request-Id", "client-req-42"})
	if got := res.Header.Get("X-Request-Id"); got != "client-req-42" {
		t.Errorf("a sane incoming id is echoed: got %q", got)
	}
	res = s.do(t, http.MethodGet, "/healthz", "", nil, header{"X-Request-Id", "bad id\twith <html>" + strings.Repeat("x", 300)})
	if got := res.Header.Get("X-Request-Id"); strings.ContainsAny(got, " <\t") || len(got) > 128 || got == "" {
		t.Errorf("an insane incoming id is replaced: got %q", got)
	}
	a1 := s.do(t, http.MethodGet, "/healthz", "", nil).Header.Get("X-Request-Id")
	a2 := s.do(t, http.MethodGet, "/healthz", "", nil).Header.Get("X-Request-Id")
	if a1 == a2 {
		t.Errorf("generated ids repeat: %q", a1)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		res := s.do(t, http.MethodGet, path, "", nil)
		wantStatus(t, res, http.StatusOK)
		if res.JSON(t)["status"] != "ok" {
			t.Errorf("%s body = %s", path, res.Body)
		}
	}

	t.Run("readyz is 503 without the database", func(t *testing.T) {
		s := newServer(t)
		s.dropDatabase(t)
		start := time.Now()
		res := s.do(t, http.MethodGet, "/readyz", "", nil)
		wantError(t, res, http.StatusServiceUnavailable, "")
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("readyz took %v to fail", d)
		}
		wantStatus(t, s.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
	})
}

func TestDatabaseGone_Is503(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	name := s.dropDatabase(t)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		res := s.do(t, m, "/api/v1/contacts", a.Key, map[string]any{"givenName": "x"})
		if m == http.MethodGet {
			res = s.do(t, m, "/api/v1/contacts", a.Key, nil)
		}
		wantError(t, res, http.StatusServiceUnavailable, "")
		if strings.Contains(string(res.Body), "database") && strings.Contains(string(res.Body), name) {
			t.Fatalf("leaks the database name: %s", res.Body)
		}
	}
}

// dropDatabase removes the server's database from under it, as an outage
// would, and returns its name.
func (s *testServer) dropDatabase(t testing.TB) string {
	t.Helper()
	name := s.DSN[strings.LastIndex(s.DSN, "/")+1:]
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	if err := adminExec(context.Background(), fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", name)); err != nil {
		t.Fatal(err)
	}
	return name
}
