package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The environment variables documented in the README reach the server:
// driven through the real binary, as an operator would.
func TestServe_Configuration(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "ops@example.com")
	other := strings.TrimSpace(remy(t, dsn, "keys", "create", "--account", "ops@example.com").ok(t).stdout)

	redisURL := testRedisURL(t)
	env := []string{
		"REMY_PUBLIC_URL=https://api.remy.example",
		"REMY_TRUSTED_PROXIES=127.0.0.1/32, ::1",
		"REMY_RATE_LIMIT_RPS=0.05", // one token per 20 s: no refill during the test
		"REMY_RATE_LIMIT_BURST=3",
		"REDIS_URL=" + redisURL,
	}
	// Two instances behind one "load balancer" share the Redis buckets.
	first := startServe(t, dsn, env...)
	second := startServe(t, dsn, env...)

	call := func(base, method, path, k string, body any, hs ...header) *response {
		t.Helper()
		return clientAt(base).do(t, method, path, k, body, hs...)
	}

	// REMY_PUBLIC_URL names the server in the OpenAPI document.
	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	clientAt(first).document(t, &doc)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.remy.example" {
		t.Fatalf("servers = %+v", doc.Servers)
	}

	// REMY_TRUSTED_PROXIES: loopback is a trusted proxy, so X-Forwarded-For counts.
	res := call(first, http.MethodPost, "/api/v1/contacts", key, `{"givenName":"Via proxy"}`,
		header{"X-Forwarded-For", "203.0.113.7"}, header{"User-Agent", "ops-test/1.0"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d", res.Status)
	}
	if res.Header.Get("RateLimit-Policy") == "" || res.Header.Get("RateLimit") == "" {
		t.Fatalf("RateLimit headers missing: %v", res.Header)
	}
	var act struct {
		Data []struct{ IP, UserAgent, AuthMethod string } `json:"data"`
	}
	if err := json.Unmarshal(call(second, http.MethodGet, "/api/v1/activity", key, nil).Body, &act); err != nil {
		t.Fatal(err)
	}
	if len(act.Data) != 1 || act.Data[0].IP != "203.0.113.7" || act.Data[0].UserAgent != "ops-test/1.0" || act.Data[0].AuthMethod != "api_key" {
		t.Fatalf("activity = %+v", act.Data)
	}

	// REMY_RATE_LIMIT_BURST=3 across both instances: the key made 2 requests
	// above, one more passes and then both instances refuse it.
	if got := call(second, http.MethodGet, "/api/v1/contacts", key, nil).Status; got != http.StatusOK {
		t.Fatalf("third request: %d", got)
	}
	for _, base := range []string{first, second} {
		res := call(base, http.MethodGet, "/api/v1/contacts", key, nil)
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("over the shared burst: status %d, Retry-After %q", res.Status, res.Header.Get("Retry-After"))
		}
	}
	// Limits are per key.
	if got := call(first, http.MethodGet, "/api/v1/contacts", other, nil).Status; got != http.StatusOK {
		t.Fatalf("another key was limited: %d", got)
	}
}

// REMY_PHONE_REGION reads numbers written without a country code, and a
// region the phone-number library does not know stops `remy serve` at
// once, naming the variable.
func TestServe_PhoneRegion(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	key := provision(t, dsn, "gb@example.com")
	base := startServe(t, dsn, "REMY_PHONE_REGION=gb")
	c := clientAt(base)
	for _, phone := range []string{"020 7946 0958", "+44 20 7946 0958"} {
		c.createContact(t, key, map[string]any{"givenName": "Phone", "phones": []any{map[string]any{"value": phone}}})
	}
	groups, total := c.duplicates(t, key, "")
	if total != 1 || groups[0].Reason != "phone" || groups[0].Value != "+442079460958" {
		t.Fatalf("groups %q, want the two numbers as one in GB", groupIDs(groups))
	}

	cmd := exec.Command(remyBinary(t), "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REMY_ADDR=127.0.0.1:0", "REMY_PHONE_REGION=XX")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `REMY_PHONE_REGION: "XX" is not a region`) {
		t.Fatalf("serve with REMY_PHONE_REGION=XX: %v\n%s", err, out)
	}
}
