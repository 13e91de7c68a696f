package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/remy-crm/remy/repo/delivery"
	"github.com/remy-crm/remy/repo/egress"
)

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Event decodes the body.
func (r received) Event(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("webhook body is not JSON: %v\n%s", err, r.Body)
	}
	return m
}

// receiver is a webhook endpoint on loopback that records every request
// and answers what respond says (200 by default).
type receiver struct {
	URL string

	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter, r *http.Request)
	arrived chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{arrived: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: b, At: time.Now()})
		n, respond := len(rc.got), rc.respond
		rc.mu.Unlock()
		rc.arrived <- struct{}{}
		if respond != nil {
			respond(n, w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hook"
	return rc
}

// answer sets how the receiver responds from now on.
func (rc *receiver) answer(f func(n int, w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// requests is a copy of what arrived so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// wait returns once n requests arrived in all, failing the test after timeout.
func (rc *receiver) wait(t testing.TB, n int, timeout time.Duration) []received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := rc.requests(); len(got) >= n {
			return got
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d within %s", len(rc.requests()), n, timeout)
		}
	}
}

// quiet fails the test if more than n requests arrive within d.
func (rc *receiver) quiet(t testing.TB, n int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if got := rc.requests(); len(got) != n {
		t.Fatalf("receiver got %d requests, want exactly %d", len(got), n)
	}
}

// setupWebhooks is a webhook test's usual start: a server with its worker
// tuned by o, a receiver to point endpoints at, and a tenant.
func setupWebhooks(t testing.TB, o webhookOpts) (*testServer, *receiver, tenant) {
	t.Helper()
	s := newWebhookServer(t, o)
	return s, newReceiver(t), s.newTenant(t)
}

// webhookOpts tune the worker of a webhook test.
type webhookOpts struct {
	Timeout     time.Duration
	RetryDelays []time.Duration
	NoPrivate   bool // the worker refuses private addresses (creation still allows them)
	SkipWorker  bool
	ServerOnDSN string
}

// newWebhookServer is the API with private webhook URLs allowed (the
// receiver is on loopback) and a delivery worker with short timings.
func newWebhookServer(t testing.TB, o webhookOpts) *testServer {
	t.Helper()
	dsn := o.ServerOnDSN
	if dsn == "" {
		dsn = newDatabase(t)
	}
	s := newServerWith(t, dsn, egress.Policy{AllowPrivate: true})
	if o.SkipWorker {
		return s
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.RetryDelays == nil {
		o.RetryDelays = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	}
	ctx := context.Background()
	r, err := delivery.Start(ctx, s.Store, delivery.Config{
		Timeout:      o.Timeout,
		RetryDelays:  o.RetryDelays,
		Policy:       egress.Policy{AllowPrivate: !o.NoPrivate},
		PollInterval: 200 * time.Millisecond,
		UserAgent:    "Remy-Webhooks/test",
	})
	if err != nil {
		t.Fatalf("start webhook worker: %v", err)
	}
	// Registered after newServer's cleanup, so it runs first: the worker
	// stops before the database goes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return s
}

// createWebhook registers an endpoint and returns its data (with secret).
func (s *client) createWebhook(t testing.TB, key, url string, events ...string) map[string]any {
	t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	res := s.do(t, http.MethodPost, "/api/v1/webhooks", key, map[string]any{"url": url, "events": events, "description": "test"})
	wantStatus(t, res, http.StatusCreated)
	return res.Data(t)
}

// verify checks a delivery's signature with secret, as a receiver would.
func verify(t testing.TB, r received, secret string) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("signature does not verify with the endpoint's secret: %v\nheaders: %v", err, r.Header)
	}
}

// deliveries lists an endpoint's deliveries (query like "?status=failed").
func (s *client) deliveries(t testing.TB, key, endpointID, query string) []map[string]any {
	t.Helper()
	res := s.do(t, http.MethodGet, "/api/v1/webhooks/"+endpointID+"/deliveries"+query, key, nil)
	wantStatus(t, res, http.StatusOK)
	var out []map[string]any
	for _, d := range res.JSON(t)["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// waitDelivery polls an endpoint's newest delivery until cond holds.
func (s *client) waitDelivery(t testing.TB, key, endpointID string, timeout time.Duration, cond func(d map[string]any) bool) map[string]any {
	t.Helper()
	var last []map[string]any
	eventually(t, timeout, func() error {
		last = s.deliveries(t, key, endpointID, "")
		if len(last) == 0 || !cond(last[0]) {
			return fmt.Errorf("delivery never reached the expected state; deliveries: %v", last)
		}
		return nil
	})
	return last[0]
}
