package tests

import (
	"fmt"
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
		return clientAt(base).do(t, http.MethodGet, "/api/v1/contacts", k, nil).Status
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
		// Within a second of the CLI returning, for every instance.
		eventually(t, time.Until(revoked.Add(time.Second)), func() error {
			switch got := status(base, key); got {
			case http.StatusUnauthorized:
				return nil
			case http.StatusOK:
				return fmt.Errorf("instance %d still accepts the key %v after `remy keys revoke`", i+1, time.Since(revoked))
			default:
				t.Fatalf("instance %d: %d", i+1, got)
				return nil
			}
		})
		t.Logf("instance %d refused the revoked key %v after the CLI returned", i+1, time.Since(revoked).Round(time.Millisecond))
		if got := status(base, keep); got != http.StatusOK {
			t.Fatalf("instance %d: the other key of the account answered %d", i+1, got)
		}
	}
}
