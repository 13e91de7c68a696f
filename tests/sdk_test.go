package tests

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	sdk "github.com/remy-crm/remy/api/client"
	"github.com/remy-crm/remy/model"
)

// The Go SDK (api/client) against the real server. Its own module tests
// its behaviour against stand-ins; these tests check it against Remy.

// sdkStatuses records the status of every answer an SDK client received.
type sdkStatuses struct {
	mu  sync.Mutex
	got []int
}

func (s *sdkStatuses) count(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, got := range s.got {
		if got == status {
			n++
		}
	}
	return n
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newSDK is an SDK client of base with key, on a transport of its own
// whose idle connections close with the test (goleak), recording statuses.
func newSDK(t testing.TB, base, key string, opts ...sdk.Option) (*sdk.Client, *sdkStatuses) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	st := &sdkStatuses{}
	record := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res, err := tr.RoundTrip(r)
		if err == nil {
			st.mu.Lock()
			st.got = append(st.got, res.StatusCode)
			st.mu.Unlock()
		}
		return res, err
	})
	opts = append([]sdk.Option{sdk.WithHTTPClient(&http.Client{Transport: record}), sdk.WithUserAgent("sdk-test/1")}, opts...)
	c, err := sdk.New(base, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

// interpose starts a proxy in front of target: handle answers the n-th
// request (from 0), passing it on with forward or not.
func interpose(t testing.TB, target string, handle func(n int, w http.ResponseWriter, r *http.Request, forward http.Handler)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	rp.Transport = tr
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(int(n.Add(1)-1), w, r, rp)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv.URL
}

// A create whose answer is lost on the way back (the server created the
// contact, then the connection broke) is retried with the same
// Idempotency-Key, and the server replays its answer: one contact.
func TestSDK_LostAnswerRetriedWithTheSameKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	var mu sync.Mutex
	var keys, replayed []string
	base := interpose(t, s.URL, func(n int, w http.ResponseWriter, r *http.Request, forward http.Handler) {
		rec := httptest.NewRecorder()
		forward.ServeHTTP(rec, r)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		replayed = append(replayed, rec.Header().Get("Idempotent-Replayed"))
		mu.Unlock()
		if n == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	c, _ := newSDK(t, base, tn.Key)
	ct, err := c.Contacts.Create(context.Background(), sdk.ContactInput{GivenName: sdk.Ptr("Ada")})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	k, rp := append([]string(nil), keys...), append([]string(nil), replayed...)
	mu.Unlock()
	if len(k) != 2 || k[0] == "" || k[1] != k[0] || rp[0] != "" || rp[1] != "true" {
		t.Fatalf("keys %q, Idempotent-Replayed %q: want one key twice, the second answer replayed", k, rp)
	}
	s.wantContacts(t, tn.Account.ID, 1)
	if got, err := c.Contacts.Get(context.Background(), ct.ID); err != nil || *got.GivenName != "Ada" {
		t.Fatalf("%+v, %v", got, err)
	}
}

// A 503 with Retry-After: 1 is waited out, then the call succeeds.
func TestSDK_UnavailableWaitedOut(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	base := interpose(t, s.URL, func(n int, w http.ResponseWriter, r *http.Request, forward http.Handler) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"Service temporarily unavailable"}`))
			return
		}
		forward.ServeHTTP(w, r)
	})
	c, st := newSDK(t, base, tn.Key)
	start := time.Now()
	page, err := c.Contacts.List(context.Background(), sdk.ListContactsParams{})
	if took := time.Since(start); err != nil || page.Total != 0 || took < time.Second {
		t.Fatalf("after %v: %+v, %v; want an empty list after waiting 1 s", took, page, err)
	}
	if st.count(http.StatusServiceUnavailable) != 1 || st.count(http.StatusOK) != 1 {
		t.Fatalf("statuses %v", st.got)
	}
}

// Under a low rate limit, the 429s are waited out (Retry-After) and every
// call succeeds.
func TestSDK_RateLimitAbsorbed(t *testing.T) {
	t.Parallel()
	s := newServer(t, limits(1, 2))
	tn := s.newTenant(t)
	c, st := newSDK(t, s.URL, tn.Key)
	for i := range 5 {
		if _, err := c.Contacts.Create(context.Background(), sdk.ContactInput{GivenName: sdk.Ptr("n" + strconv.Itoa(i))}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if st.count(http.StatusTooManyRequests) == 0 {
		t.Fatalf("no 429 met (statuses %v): the limit did not bite", st.got)
	}
	s.wantContacts(t, tn.Account.ID, 5)
}

func TestSDK_TypedErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	ctx := context.Background()
	c, _ := newSDK(t, s.URL, tn.Key)
	ada, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Contacts.Update(ctx, ada.ID, sdk.Patch{"nickname": "Countess"}); err != nil {
		t.Fatal(err)
	}
	wrongKey, _ := newSDK(t, s.URL, "rmy_"+uuid.NewString())
	notesOnly, _ := newSDK(t, s.URL, s.newKey(t, tn.Account.ID, model.ScopeNotesRead))
	long := strings.Repeat("x", 101)
	for _, tt := range []struct {
		name   string
		call   func() error
		want   error
		status int
		msg    string
	}{
		{"401", func() error { _, err := wrongKey.Contacts.Get(ctx, ada.ID); return err }, sdk.ErrUnauthorized, 401, "Invalid, expired, or revoked API key"},
		{"403", func() error {
			_, err := notesOnly.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("x")})
			return err
		}, sdk.ErrForbidden, 403, "This API key does not have the contacts:write scope"},
		{"404", func() error { _, err := c.Contacts.Get(ctx, uuid.NewString()); return err }, sdk.ErrNotFound, 404, "Contact not found"},
		{"400", func() error { _, err := c.Contacts.Get(ctx, "not-a-uuid"); return err }, sdk.ErrBadRequest, 400, "Malformed id in path: must be a UUID"},
		{"412", func() error {
			_, err := c.Contacts.Update(ctx, ada.ID, sdk.Patch{"nickname": nil}, sdk.IfMatch(ada.ETag))
			return err
		}, sdk.ErrPreconditionFailed, 412, ""},
		{"422 form", func() error { _, err := c.Contacts.Create(ctx, sdk.ContactInput{JobTitle: sdk.Ptr("CEO")}); return err }, sdk.ErrValidation, 422, "Validation failed"},
		{"422 field", func() error { _, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: &long}); return err }, sdk.ErrValidation, 422, "Validation failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *sdk.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Status != tt.status || (tt.msg != "" && e.Message != tt.msg) {
				t.Fatalf("%v; want %v, %d %q", err, tt.want, tt.status, tt.msg)
			}
			if e.RequestID == "" {
				t.Fatal("no request id")
			}
			switch tt.name {
			case "422 form":
				if len(e.FormErrors) == 0 {
					t.Fatalf("no formErrors: %+v", e)
				}
			case "422 field":
				if len(e.FieldErrors["givenName"]) == 0 {
					t.Fatalf("no fieldErrors.givenName: %+v", e)
				}
			}
		})
	}
}

// All walks 230 contacts, by pages of 100 and of 50, each once.
func TestSDK_AllYieldsEachOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	ctx := context.Background()
	c, st := newSDK(t, s.URL, tn.Key)
	created := map[string]bool{}
	for i := range 230 {
		ct, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("c" + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		created[ct.ID] = true
	}
	for _, limit := range []int{0, 50} {
		before := len(st.got)
		seen := map[string]bool{}
		for ct, err := range c.Contacts.All(ctx, sdk.ListContactsParams{Limit: limit, Sort: "givenName"}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[ct.ID] || !created[ct.ID] {
				t.Fatalf("limit %d: %s yielded twice, or never created", limit, ct.ID)
			}
			seen[ct.ID] = true
		}
		want := map[int]int{0: 3, 50: 5}[limit]
		if len(seen) != 230 || len(st.got)-before != want {
			t.Fatalf("limit %d: %d contacts in %d requests; want 230 in %d", limit, len(seen), len(st.got)-before, want)
		}
	}
}

// VerifyWebhook accepts a real delivery, and refuses it with its body
// changed or signed too long ago.
func TestSDK_VerifyWebhookOnARealDelivery(t *testing.T) {
	t.Parallel()
	s, rc, tn := setupWebhooks(t, webhookOpts{})
	ctx := context.Background()
	c, _ := newSDK(t, s.URL, tn.Key)
	hook, err := c.Webhooks.Create(ctx, sdk.WebhookInput{URL: rc.URL, Events: []string{"contact.created"}})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := c.Contacts.Create(ctx, sdk.ContactInput{GivenName: sdk.Ptr("Ada")})
	if err != nil {
		t.Fatal(err)
	}
	got := rc.wait(t, 1, 10*time.Second)[0]

	ev, err := sdk.VerifyWebhook(hook.Secret, got.Header, got.Body)
	if err != nil {
		t.Fatalf("a real delivery does not verify: %v", err)
	}
	ct, err := ev.Contact()
	if err != nil || ev.Type != "contact.created" || ct.ID != ada.ID || ev.Data.Activity.ID != ev.ID || ev.Data.Activity.UserAgent != "sdk-test/1 remy-go/dev" {
		t.Fatalf("event %+v, contact %+v, %v", ev, ct, err)
	}

	tampered := append([]byte(nil), got.Body...)
	tampered[len(tampered)-2] = ' '
	if _, err := sdk.VerifyWebhook(hook.Secret, got.Header, tampered); !errors.Is(err, sdk.ErrWebhookSignature) {
		t.Fatalf("tampered body: %v", err)
	}

	// The same delivery signed, correctly, six minutes ago: a replay.
	wh, err := standardwebhooks.NewWebhook(hook.Secret)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-6 * time.Minute)
	sig, err := wh.Sign(got.Header.Get("webhook-id"), old, got.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := got.Header.Clone()
	h.Set("webhook-timestamp", strconv.FormatInt(old.Unix(), 10))
	h.Set("webhook-signature", sig)
	if _, err := sdk.VerifyWebhook(hook.Secret, h, got.Body); !errors.Is(err, sdk.ErrWebhookTimestamp) {
		t.Fatalf("old timestamp: %v", err)
	}
}
