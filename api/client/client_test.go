package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is an API stand-in: every request is recorded and answered by the
// handler of its number (from 0; the last handler answers the rest).
type fake struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	handlers []http.HandlerFunc
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, r)
	f.bodies = append(f.bodies, string(b))
	h := f.handlers[min(n, len(f.handlers)-1)]
	f.mu.Unlock()
	h(w, r)
}

// got is the requests so far.
func (f *fake) got() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

// setup starts a fake answering with handlers and a client of it whose
// waits between attempts are recorded, not spent.
func setup(t *testing.T, handlers []http.HandlerFunc, opts ...Option) (*Client, *fake, *[]time.Duration) {
	t.Helper()
	f := &fake{handlers: handlers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := New(srv.URL, "rmy_test", append([]Option{WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	c.sleep = func(ctx context.Context, d time.Duration) bool {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err() == nil
	}
	return c, f, waits
}

// answer writes status with a JSON body and headers given as name, value pairs.
func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp reads the request, then closes the connection without answering:
// the answer is lost on the way back.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

const contactJSON = `{"data":{"id":"c1","givenName":"Ada","familyName":null,"nickname":null,"company":null,"jobTitle":null,"birthday":null,"introducedById":null,"emails":[],"phones":[],"tags":[],"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}}`

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	for _, tt := range []struct{ base, key, wantErr, wantBase string }{
		{"https://app.remy.com", "k", "", "https://app.remy.com"},
		{"https://app.remy.com/api/v1/", "k", "", "https://app.remy.com"},
		{"http://localhost:8080/remy/", "k", "", "http://localhost:8080/remy"},
		{"https://app.remy.com", " ", "API key", ""},
		{"app.remy.com", "k", "absolute", ""},
		{"ftp://app.remy.com", "k", "absolute", ""},
		{"http://[::1", "k", "base URL", ""},
	} {
		c, err := New(tt.base, tt.key)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("New(%q, %q) = %v, want an error about %s", tt.base, tt.key, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || c.base.String() != tt.wantBase):
			t.Errorf("New(%q) = %v, %v; want base %s", tt.base, c, err, tt.wantBase)
		}
	}
}

func TestDo_POSTRetriedWithOneIdempotencyKey(t *testing.T) {
	c, f, waits := setup(t, []http.HandlerFunc{hangUp, answer(503, `{"error":"Service temporarily unavailable"}`), answer(201, contactJSON)})
	ct, err := c.Contacts.Create(context.Background(), ContactInput{GivenName: Ptr("Ada")})
	if err != nil || ct.ID != "c1" {
		t.Fatalf("Create = %+v, %v", ct, err)
	}
	reqs := f.got()
	if len(reqs) != 3 || len(*waits) != 2 {
		t.Fatalf("%d attempts, %d waits; want 3 and 2", len(reqs), len(*waits))
	}
	key := reqs[0].Header.Get("Idempotency-Key")
	if !uuidV4.MatchString(key) {
		t.Fatalf("Idempotency-Key %q is not a random UUID", key)
	}
	for i, r := range reqs {
		if r.Header.Get("Idempotency-Key") != key || f.bodies[i] != `{"givenName":"Ada"}` {
			t.Fatalf("attempt %d: key %q body %s; want %q and the same body", i, r.Header.Get("Idempotency-Key"), f.bodies[i], key)
		}
	}
	// Another call is another operation: another key.
	if _, err := c.Contacts.Create(context.Background(), ContactInput{GivenName: Ptr("Ada")}); err != nil {
		t.Fatal(err)
	}
	if k := f.got()[3].Header.Get("Idempotency-Key"); k == key || !uuidV4.MatchString(k) {
		t.Fatalf("second call's key %q (first %q)", k, key)
	}
}

func TestDo_CallersIdempotencyKeyKept(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{hangUp, answer(201, contactJSON)})
	if _, err := c.Contacts.Create(context.Background(), ContactInput{GivenName: Ptr("Ada")}, IdempotencyKey("mine-1")); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.got() {
		if k := r.Header.Get("Idempotency-Key"); k != "mine-1" {
			t.Fatalf("Idempotency-Key %q, want the caller's", k)
		}
	}
}

func TestDo_OnlyPOSTGetsAKey(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{answer(200, contactJSON)})
	ctx := context.Background()
	_, _ = c.Contacts.Get(ctx, "c1")
	_, _ = c.Contacts.Update(ctx, "c1", Patch{"nickname": nil})
	_ = c.Contacts.Delete(ctx, "c1")
	for _, r := range f.got() {
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			t.Fatalf("%s carries Idempotency-Key %q", r.Method, k)
		}
	}
}

func TestDo_WhatIsRetried(t *testing.T) {
	for _, tt := range []struct {
		status  int
		retried bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false}, {409, false}, {410, false},
		{412, false}, {413, false}, {422, false}, {429, true}, {500, false}, {501, false},
		{502, true}, {503, true}, {504, true},
	} {
		c, f, _ := setup(t, []http.HandlerFunc{answer(tt.status, `{"error":"no"}`)})
		_, err := c.Contacts.Get(context.Background(), "c1")
		var e *Error
		if !errors.As(err, &e) || e.Status != tt.status || e.Message != "no" {
			t.Fatalf("%d: error %v", tt.status, err)
		}
		want := 1
		if tt.retried {
			want = 4 // the default 3 retries
		}
		if n := len(f.got()); n != want {
			t.Errorf("%d: %d attempts, want %d", tt.status, n, want)
		}
	}
}

func TestDo_MaxRetries(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		c, f, _ := setup(t, []http.HandlerFunc{hangUp}, WithMaxRetries(n))
		if _, err := c.Contacts.Get(context.Background(), "c1"); err == nil {
			t.Fatal("no error")
		}
		if got := len(f.got()); got != n+1 {
			t.Errorf("WithMaxRetries(%d): %d attempts", n, got)
		}
	}
}

func TestDo_Waits(t *testing.T) {
	date := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	c, _, waits := setup(t, []http.HandlerFunc{
		answer(429, `{"error":"Rate limit exceeded, retry in 2 seconds"}`, "Retry-After", "2"),
		answer(503, `{}`, "Retry-After", "3600"),
		answer(503, `{}`, "Retry-After", date),
		answer(502, `<html>`),
	}, WithMaxRetries(6))
	_, _ = c.Contacts.Get(context.Background(), "c1")
	w := *waits
	if len(w) != 6 || w[0] != 2*time.Second || w[1] != time.Minute || w[2] < 18*time.Second || w[2] > 20*time.Second {
		t.Fatalf("waits %v: want 2s (Retry-After), 1m (capped), about 20s (a date)", w)
	}
	// Without Retry-After: doubling from 0.5 s by attempt, each in its
	// upper half.
	for i, d := range w[3:] {
		hi := baseBackoff << (i + 3)
		if d < hi/2 || d > hi {
			t.Errorf("backoff %d = %v, want within [%v, %v]", i, d, hi/2, hi)
		}
	}
}

func TestDo_ContextEndsTheWait(t *testing.T) {
	c, f, _ := setup(t, []http.HandlerFunc{answer(503, `{"error":"Service temporarily unavailable"}`, "Retry-After", "30")})
	c.sleep = sleep // really wait
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Contacts.Get(ctx, "c1")
	if time.Since(start) > 5*time.Second || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after %v: %v; want the cancellation and the 503 at once", time.Since(start), err)
	}
	if n := len(f.got()); n != 1 {
		t.Fatalf("%d attempts after the context ended", n)
	}

	// A retry that could only start after the deadline is not waited for.
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start = time.Now()
	_, err = c.Contacts.Get(ctx, "c1")
	var e *Error
	if time.Since(start) > time.Second || !errors.As(err, &e) || e.RetryAfter != 30*time.Second {
		t.Fatalf("after %v: %v; want the 503 at once", time.Since(start), err)
	}
}

func TestDo_UserAgentAndAuth(t *testing.T) {
	for _, tt := range []struct {
		opts []Option
		want string
	}{
		{nil, "remy-go/" + Version},
		{[]Option{WithUserAgent("crm-sync/1.4")}, "crm-sync/1.4 remy-go/" + Version},
	} {
		c, f, _ := setup(t, []http.HandlerFunc{answer(200, contactJSON)}, tt.opts...)
		_, _ = c.Contacts.Get(context.Background(), "c1")
		r := f.got()[0]
		if ua := r.Header.Get("User-Agent"); ua != tt.want {
			t.Errorf("User-Agent %q, want %q", ua, tt.want)
		}
		if a := r.Header.Get("Authorization"); a != "Bearer rmy_test" {
			t.Errorf("Authorization %q", a)
		}
	}
}

func TestError(t *testing.T) {
	body := `{"error":"Validation failed","details":{"fieldErrors":{"givenName":["expected length <= 100"]},"formErrors":["A contact needs a name"]}}`
	c, _, _ := setup(t, []http.HandlerFunc{answer(422, body, "X-Request-Id", "req-7")})
	_, err := c.Contacts.Create(context.Background(), ContactInput{})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrValidation) || errors.Is(err, ErrNotFound) {
		t.Fatalf("%v: want an *Error matching ErrValidation only", err)
	}
	if e.RequestID != "req-7" || e.FieldErrors["givenName"][0] != "expected length <= 100" || e.FormErrors[0] != "A contact needs a name" {
		t.Fatalf("%+v", e)
	}
	want := "remy: 422 Validation failed; givenName: expected length <= 100; A contact needs a name (request req-7)"
	if e.Error() != want {
		t.Fatalf("Error() = %q\nwant      %q", e.Error(), want)
	}

	c, _, _ = setup(t, []http.HandlerFunc{answer(502, `<html>bad gateway</html>`)}, WithMaxRetries(0))
	_, err = c.Contacts.Get(context.Background(), "c1")
	if !errors.As(err, &e) || e.Message != "Bad Gateway" || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a proxy's HTML page: %v", err)
	}
}

func TestError_IsByStatus(t *testing.T) {
	for status, want := range sentinels {
		if err := error(&Error{Status: status}); !errors.Is(err, want) {
			t.Errorf("%d is not %v", status, want)
		}
	}
	if errors.Is(&Error{Status: 500}, ErrUnavailable) {
		t.Error("a 500 is not ErrUnavailable: it is not retried")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0,
		"99999999999999":                24 * time.Hour,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// A DELETE whose answer was lost did delete: the retry's 404 is success.
// A DELETE answered 404 at once is not.
func TestDelete_LostAnswerThen404(t *testing.T) {
	notFound := answer(404, `{"error":"Contact not found"}`)
	c, _, _ := setup(t, []http.HandlerFunc{hangUp, notFound})
	if err := c.Contacts.Delete(context.Background(), "c1"); err != nil {
		t.Fatalf("retried DELETE: %v", err)
	}
	c, _, _ = setup(t, []http.HandlerFunc{notFound})
	if err := c.Contacts.Delete(context.Background(), "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DELETE of nothing: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, hi := range map[int]time.Duration{0: 500 * time.Millisecond, 1: time.Second, 5: 16 * time.Second, 6: maxBackoff, 1000: maxBackoff} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(attempt)
			if d < hi/2 || d > hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, hi/2, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("backoff(%d) has no jitter: %v", attempt, seen)
		}
	}
}
