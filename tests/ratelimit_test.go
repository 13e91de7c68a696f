package tests

import (
	"context"
	"crypto/rand"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/remy-crm/remy/api"
)

// testRedis connects to the tests' Redis (see testRedisURL), or to url when
// given, and returns the client and a key prefix of this test's own, so
// parallel tests never share buckets.
func testRedis(t testing.TB, url string) (*redis.Client, string) {
	t.Helper()
	if url == "" {
		url = testRedisURL(t)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redis URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, "remy-test-" + strings.ToLower(rand.Text()[:10]) + ":"
}

func limits(rps float64, burst int) func(*api.Config) {
	return func(c *api.Config) { c.RateLimitRPS, c.RateLimitBurst = rps, burst }
}

func withRedis(rdb *redis.Client, prefix string) func(*api.Config) {
	return func(c *api.Config) { c.Redis, c.RateLimitPrefix = rdb, prefix }
}

var rateLimitField = regexp.MustCompile(`^"default";r=(\d+);t=(\d+)$`)

// remaining checks the RateLimit field's syntax and returns its r.
func remaining(t testing.TB, res *response) int {
	t.Helper()
	m := rateLimitField.FindStringSubmatch(res.Header.Get("RateLimit"))
	if m == nil {
		t.Fatalf("RateLimit = %q, want \"default\";r=N;t=N", res.Header.Get("RateLimit"))
	}
	r, _ := strconv.Atoi(m[1])
	return r
}

// want429 checks a rate-limited response and returns its Retry-After.
func want429(t testing.TB, res *response) time.Duration {
	t.Helper()
	wantStatus(t, res, http.StatusTooManyRequests)
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds >= 1", res.Header.Get("Retry-After"))
	}
	want := `{"error":"Rate limit exceeded, retry in ` + strconv.Itoa(n) + ` seconds"}`
	if got := strings.TrimSpace(string(res.Body)); got != want {
		t.Fatalf("body = %s, want %s", got, want)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	return time.Duration(n) * time.Second
}

func TestRateLimit_BurstAndRecovery(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t, "")
	for _, tt := range []struct {
		name      string
		configure []func(*api.Config)
		redis     bool
	}{
		{"in memory", nil, false},
		{"in Redis", []func(*api.Config){withRedis(rdb, prefix)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, append(tt.configure, limits(1, 3))...)
			a := s.newTenant(t)
			for i := range 3 {
				res := s.do(t, http.MethodGet, contactsPath, a.Key, nil)
				wantStatus(t, res, http.StatusOK)
				if p := res.Header.Get("RateLimit-Policy"); p != `"default";q=3;w=3` {
					t.Fatalf("RateLimit-Policy = %q", p)
				}
				if r := remaining(t, res); r != 2-i {
					t.Fatalf("request %d: r=%d, want %d", i+1, r, 2-i)
				}
			}
			// The bucket really is in Redis (redis_rate prefixes "rate:"),
			// not in the per-process fallback.
			bucketKey := "rate:" + prefix + "key:" + a.KeyID.String()
			if n, err := rdb.Exists(context.Background(), bucketKey).Result(); err != nil || (n == 1) != tt.redis {
				t.Fatalf("EXISTS %s = %d, %v; want the bucket in Redis: %v", bucketKey, n, err, tt.redis)
			}
			// The 4th is refused, and a refused POST creates nothing.
			res := s.do(t, http.MethodPost, contactsPath, a.Key, map[string]any{"givenName": "Ada"})
			wait := want429(t, res)
			if wait != time.Second {
				t.Fatalf("Retry-After %v, want 1s at 1 request/s", wait)
			}
			if r := remaining(t, res); r != 0 {
				t.Fatalf("r=%d on a 429", r)
			}
			if res.Header.Get("RateLimit-Policy") == "" {
				t.Fatal("429 without RateLimit-Policy")
			}
			if n := s.countContacts(t, a.Account.ID); n != 0 {
				t.Fatalf("a rate-limited POST created %d contacts", n)
			}
			time.Sleep(wait)
			wantStatus(t, s.do(t, http.MethodPost, contactsPath, a.Key, map[string]any{"givenName": "Ada"}), http.StatusCreated)
		})
	}
}

func TestRateLimit_PerKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, limits(0.1, 2))
	a, b := s.newTenant(t), s.newTenant(t)
	secondKey, _, err := s.Store.Keys.Create(context.Background(), a.Account.ID, "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantStatus(t, s.do(t, http.MethodGet, contactsPath, a.Key, nil), http.StatusOK)
	}
	want429(t, s.do(t, http.MethodGet, contactsPath, a.Key, nil))
	// Another key of the same account, and another account, are unaffected.
	for _, key := range []string{secondKey, b.Key} {
		res := s.do(t, http.MethodGet, contactsPath, key, nil)
		wantStatus(t, res, http.StatusOK)
		if r := remaining(t, res); r != 1 {
			t.Fatalf("fresh key r=%d, want 1", r)
		}
	}
}

func TestRateLimit_Disabled(t *testing.T) {
	t.Parallel()
	s := newServer(t, limits(0, 1))
	a := s.newTenant(t)
	for range 30 {
		res := s.do(t, http.MethodGet, contactsPath, a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("RateLimit") != "" || res.Header.Get("RateLimit-Policy") != "" {
			t.Fatalf("rate limiting is off but RateLimit fields were sent: %v", res.Header)
		}
	}
}

// The defaults (10/s, burst 50) let an ordinary script burst without a 429.
func TestRateLimit_DefaultsAreGenerous(t *testing.T) {
	t.Parallel()
	s := newServer(t, limits(10, 50))
	a := s.newTenant(t)
	for i := range 50 {
		res := s.do(t, http.MethodGet, contactsPath, a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		if i == 0 && res.Header.Get("RateLimit-Policy") != `"default";q=50;w=5` {
			t.Fatalf("RateLimit-Policy = %q", res.Header.Get("RateLimit-Policy"))
		}
	}
}

// Requests without a valid key are limited per client IP, so guessing keys
// runs into 429s; health checks are never limited.
func TestRateLimit_Unauthenticated(t *testing.T) {
	t.Parallel()
	s := newServer(t, limits(0.1, 2))
	a := s.newTenant(t)
	res := s.do(t, http.MethodGet, contactsPath, "", nil)
	wantError(t, res, http.StatusUnauthorized, "Missing Authorization header")
	if remaining(t, res) != 1 {
		t.Fatalf("401 RateLimit = %q", res.Header.Get("RateLimit"))
	}
	wantError(t, s.do(t, http.MethodGet, contactsPath, "rmy_guess", nil), http.StatusUnauthorized, "Invalid, expired, or revoked API key")
	want429(t, s.do(t, http.MethodGet, contactsPath, "rmy_guess2", nil))
	want429(t, s.do(t, http.MethodGet, contactsPath, "", nil))
	// A valid key has its own bucket.
	wantStatus(t, s.do(t, http.MethodGet, contactsPath, a.Key, nil), http.StatusOK)
	for range 5 {
		res := s.do(t, http.MethodGet, "/healthz", "", nil)
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("RateLimit") != "" {
			t.Fatal("health check is rate limited")
		}
	}
}

// Two processes sharing one Redis share one limit per key.
func TestRateLimit_SharedThroughRedis(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t, "")
	s1 := newServer(t, limits(0.1, 3), withRedis(rdb, prefix))
	s2 := newServerOn(t, s1.DSN, limits(0.1, 3), withRedis(rdb, prefix))
	a := s1.newTenant(t)
	for i, srv := range []*testServer{s1, s2, s1} {
		res := srv.do(t, http.MethodGet, contactsPath, a.Key, nil)
		wantStatus(t, res, http.StatusOK)
		if r := remaining(t, res); r != 2-i {
			t.Fatalf("request %d: r=%d, want %d", i+1, r, 2-i)
		}
	}
	if wait := want429(t, s2.do(t, http.MethodGet, contactsPath, a.Key, nil)); wait < 9*time.Second {
		t.Fatalf("Retry-After %v, want ~10s at 0.1 request/s", wait)
	}
	want429(t, s1.do(t, http.MethodGet, contactsPath, a.Key, nil))
}

// With Redis unreachable the server keeps serving, limiting per process.
func TestRateLimit_RedisUnreachable(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t, "redis://127.0.0.1:1/0")
	s := newServer(t, limits(0.1, 2), withRedis(rdb, prefix))
	a := s.newTenant(t)
	start := time.Now()
	wantStatus(t, s.do(t, http.MethodGet, contactsPath, a.Key, nil), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodPost, contactsPath, a.Key, map[string]any{"givenName": "Ada"}), http.StatusCreated)
	want429(t, s.do(t, http.MethodGet, contactsPath, a.Key, nil))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("three requests took %v with Redis down", d)
	}
}
