package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/remy-crm/remy/model"
)

// --scopes through the real binary: valid lists, shorthands, implication,
// typos refused with the valid names, keys list showing each key's scopes,
// and the served API honouring them.
func TestCLI_KeyScopes(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	all := provision(t, dsn, "scopes@example.com")
	create := func(name string, args ...string) string {
		t.Helper()
		args = append([]string{"keys", "create", "--account", "scopes@example.com", "--name", name}, args...)
		key := strings.TrimSuffix(remy(t, dsn, args...).ok(t).stdout, "\n")
		if !keyFormat.MatchString(key) {
			t.Fatalf("keys create %v printed %q, want the key alone", args, key)
		}
		return key
	}
	reader := create("reader", "--scopes", "read")
	writer := create("writer", "--scopes", "contacts:write,export:read")
	create("everything", "--scopes", "all")

	for _, bad := range []string{"contacts:delete", "contacts:read,admin", "", ","} {
		r := remy(t, dsn, "keys", "create", "--account", "scopes@example.com", "--name", "bad", "--scopes", bad)
		if r.code == 0 {
			t.Fatalf("--scopes %q accepted: %+v", bad, r)
		}
		for _, s := range model.AllScopes {
			if !strings.Contains(r.stderr, string(s)) {
				t.Fatalf("--scopes %q: the error does not list %s:\n%s", bad, s, r.stderr)
			}
		}
		if r.stdout != "" {
			t.Fatalf("--scopes %q printed %q", bad, r.stdout)
		}
	}

	list := remy(t, dsn, "keys", "list", "--account", "scopes@example.com").ok(t).stdout
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "SCOPES") {
		t.Fatalf("keys list: want a SCOPES column and 4 keys (none from the refused creates):\n%s", list)
	}
	wantScopes := map[string]string{
		"-":          "all", // provision's key: the default
		"reader":     "contacts:read,notes:read,activity:read,export:read,webhooks:read",
		"writer":     "contacts:read,contacts:write,export:read",
		"everything": "all",
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || wantScopes[f[1]] == "" || f[3] != wantScopes[f[1]] {
			t.Errorf("keys list row %q: want scopes %q", line, wantScopes[f[1]])
		}
	}

	base := startServe(t, dsn)
	call := func(method, path, key, body string) int {
		t.Helper()
		var b any // a GET sends no body
		if body != "" {
			b = body
		}
		return clientAt(base).do(t, method, path, key, b).Status
	}
	for _, tt := range []struct {
		key, method, path, body string
		want                    int
	}{
		{all, http.MethodPost, "/api/v1/contacts", `{"givenName":"Ada"}`, http.StatusCreated},
		{reader, http.MethodGet, "/api/v1/contacts", "", http.StatusOK},
		{reader, http.MethodGet, "/api/v1/activity", "", http.StatusOK},
		{reader, http.MethodPost, "/api/v1/contacts", `{"givenName":"Bob"}`, http.StatusForbidden},
		{writer, http.MethodPost, "/api/v1/contacts", `{"givenName":"Cy"}`, http.StatusCreated},
		{writer, http.MethodGet, "/api/v1/contacts", "", http.StatusOK},
		{writer, http.MethodGet, "/api/v1/activity", "", http.StatusForbidden},
	} {
		if got := call(tt.method, tt.path, tt.key, tt.body); got != tt.want {
			t.Errorf("%s %s with key %s…: %d, want %d", tt.method, tt.path, tt.key[:12], got, tt.want)
		}
	}
}
