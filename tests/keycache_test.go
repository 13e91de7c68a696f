package tests

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// keyID finds a key's id in `remy keys list` by its display prefix.
func keyID(t *testing.T, dsn, email, key string) string {
	t.Helper()
	for _, line := range strings.Split(remy(t, dsn, "keys", "list", "--account", email).ok(t).stdout, "\n") {
		if f := strings.Fields(line); len(f) > 2 && strings.HasPrefix(key, strings.TrimSuffix(f[2], "…")) {
			return f[0]
		}
	}
	t.Fatalf("key %s… not in keys list", key[:12])
	return ""
}

// untilRejected polls every instance until each answers 401 for key, and
// returns how long the slowest took.
func untilRejected(t *testing.T, limit time.Duration, key string, bases ...string) time.Duration {
	t.Helper()
	pending := append([]string(nil), bases...)
	return eventually(t, limit, func() error {
		var next []string
		for _, b := range pending {
			switch got := clientAt(b).do(t, http.MethodGet, "/api/v1/contacts", key, nil).Status; got {
			case http.StatusUnauthorized:
			case http.StatusOK:
				next = append(next, b)
			default:
				t.Fatalf("%s: status %d", b, got)
			}
		}
		if pending = next; len(pending) > 0 {
			return fmt.Errorf("still accepted by %v", pending)
		}
		return nil
	})
}

// Each `remy serve` caches keys in memory; `remy keys revoke` (another
// process again) still takes effect on every instance within a second.
func TestKeyCache_RevocationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "cache@example.com")
	silent := strings.TrimSpace(remy(t, dsn, "keys", "create", "--account", "cache@example.com").ok(t).stdout)
	// Polling is frequent: no rate limits in the way.
	first, second := startServe(t, dsn, "REMY_RATE_LIMIT_RPS=0"), startServe(t, dsn, "REMY_RATE_LIMIT_RPS=0")
	for range 3 { // warm both caches
		for _, b := range []string{first, second} {
			for _, k := range []string{key, silent} {
				if got := clientAt(b).do(t, http.MethodGet, "/api/v1/contacts", k, nil).Status; got != http.StatusOK {
					t.Fatalf("%s before revocation: %d", b, got)
				}
			}
		}
	}

	remy(t, dsn, "keys", "revoke", keyID(t, dsn, "cache@example.com", key)).ok(t)
	took := untilRejected(t, time.Second, key, first, second)
	t.Logf("revocation seen by both instances after %s", took)

	// Even a change that slips past the trigger (here: triggers disabled)
	// leaves the caches within their TTL.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE api_keys SET revoked_at = now() WHERE hash = sha256($1::bytea)`, silent); err != nil {
		t.Fatal(err)
	}
	untilRejected(t, 12*time.Second, silent, first, second)
}
