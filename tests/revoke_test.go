package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// `remy keys revoke` is honoured by every instance within a second, even by
// one that has just authenticated the key (and so would have it cached, were
// keys cached).
func TestCLI_RevokeHonouredByBothInstancesWithin1s(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "revoke@example.com")
	keep := strings.TrimSpace(remy(t, dsn, "keys", "create", "--account", "revoke@example.com", "--name", "keep").ok(t).stdout)
	var keyID string
	for _, line := range strings.Split(remy(t, dsn, "keys", "list", "--account", "revoke@example.com").ok(t).stdout, "\n") {
		if f := strings.Fields(line); len(f) > 2 && strings.HasPrefix(key, strings.TrimSuffix(f[2], "…")) {
			keyID = f[0]
		}
	}
	if keyID == "" {
		t.Fatal("the key is not in keys list")
	}
	bases := []string{startServe(t, dsn), startServe(t, dsn)}
	status := func(base, k string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+k)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, base := range bases {
		for range 3 {
			if got := status(base, key); got != http.StatusOK {
				t.Fatalf("before revocation: %d", got)
			}
		}
	}

	remy(t, dsn, "keys", "revoke", keyID).ok(t)
	revoked := time.Now()
	for i, base := range bases {
		for {
			got := status(base, key)
			if got == http.StatusUnauthorized {
				t.Logf("instance %d refused the revoked key %v after the CLI returned", i+1, time.Since(revoked).Round(time.Millisecond))
				break
			}
			if got != http.StatusOK {
				t.Fatalf("instance %d: %d", i+1, got)
			}
			if time.Since(revoked) > time.Second {
				t.Fatalf("instance %d still accepts the key %v after `remy keys revoke`", i+1, time.Since(revoked))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := status(base, keep); got != http.StatusOK {
			t.Fatalf("instance %d: the other key of the account answered %d", i+1, got)
		}
	}
}
