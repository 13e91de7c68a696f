package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/api"
	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
	"github.com/remy-crm/remy/repo/egress"
)

// testServer is the real API handler on a real listener over a database of
// the test's own. Requests go through its client (do, send).
type testServer struct {
	client
	DSN   string
	Store *repo.Store
}

// client sends requests to one Remy API over HTTP: the in-process test
// server (a testServer is one) or a `remy serve` process (clientAt).
type client struct {
	URL  string       // the API's base URL
	HTTP *http.Client // nil: http.DefaultClient
}

// clientAt is a client of the API at base, such as a `remy serve`
// process's address.
func clientAt(base string) *client { return &client{URL: base} }

// newServer starts the API for one test. configure, if given, adjusts the
// API configuration before the server starts.
func newServer(t testing.TB, configure ...func(*api.Config)) *testServer {
	t.Helper()
	return newServerOn(t, newDatabase(t), configure...)
}

// newServerOn starts another API process over an existing database (two
// instances behind one load balancer share one), with its own pool.
func newServerOn(t testing.TB, dsn string, configure ...func(*api.Config)) *testServer {
	t.Helper()
	return startServer(t, dsn, serverOptions{configure: configure})
}

// newServerWith is newServerOn with the given webhook network policy.
func newServerWith(t testing.TB, dsn string, policy egress.Policy, configure ...func(*api.Config)) *testServer {
	t.Helper()
	return startServer(t, dsn, serverOptions{policy: policy, configure: configure})
}

// serverOptions are startServer's choices beyond the database.
type serverOptions struct {
	policy    egress.Policy       // the webhook network policy
	configure []func(*api.Config) // adjust the API configuration
	// logs, if set, receives every log line from debug level up; otherwise
	// warnings and errors go to the test's output.
	logs io.Writer
	// timed: a benchmark times the server, so its responses are not held
	// to the document (the check would take a CPU from it).
	timed bool
	// countEvery: every filtered list counts its total (no remembered
	// totals), for benchmarks of the count.
	countEvery bool
}

// startServer is the one place the tests build the API (newServer,
// newServerOn and newServerWith call it).
func startServer(t testing.TB, dsn string, o serverOptions) *testServer {
	t.Helper()
	db, err := repo.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	opts := []repo.Option{repo.WithWebhookPolicy(o.policy)}
	if o.countEvery {
		opts = append(opts, repo.WithEveryTotalCounted())
	}
	store := repo.NewStore(db, opts...)
	cfg := api.Config{PublicURL: "http://remy.test", Version: "test"}
	for _, f := range o.configure {
		f(&cfg)
	}
	logs, level := io.Writer(t.Output()), slog.LevelWarn
	if o.logs != nil {
		logs, level = o.logs, slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	listenCtx, stopListening := context.WithCancel(context.Background())
	if err := store.Feed.Listen(listenCtx, dsn, log); err != nil {
		t.Fatal(err)
	}
	handler := api.New(cfg, api.Deps{Store: store, Log: log})
	if !o.timed {
		c, err := loadContract(handler)
		if err != nil {
			t.Fatal(err)
		}
		// Every response is held to the served OpenAPI document (contract_test.go).
		handler = c.wrap(t, handler)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.Close()
		stopListening()
		_ = db.Close()
	})
	return &testServer{client: client{URL: srv.URL}, DSN: dsn, Store: store}
}

// tenant is an account with one API key.
type tenant struct {
	Account *model.Account
	Key     string
	KeyID   uuid.UUID
}

func (s *testServer) newTenant(t testing.TB) tenant {
	t.Helper()
	ctx := context.Background()
	a, err := s.Store.Accounts.Create(ctx, "user-"+uuid.NewString()[:8]+"@example.com", "Test")
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	secret, k, err := s.Store.Keys.Create(ctx, a.ID, "test", nil)
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return tenant{Account: a, Key: secret, KeyID: k.ID}
}

// response is what came back, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// Sent and Received bracket the request: what the server did happened
	// between them.
	Sent, Received time.Time
}

// JSON decodes the body into a generic map (failing the test if it is not a
// JSON object).
func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Data is the "data" object of a single-resource envelope.
func (r *response) Data(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.JSON(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.Body)
	}
	return d
}

// header is an extra request header.
type header struct{ Name, Value string }

// do sends a request. body may be nil, a string (sent raw) or anything JSON
// encodes; a body gets Content-Type: application/json unless a header says
// otherwise. key "" sends no Authorization header.
func (c *client) do(t testing.TB, method, path, key string, body any, headers ...header) *response {
	t.Helper()
	res, err := c.send(method, path, key, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// send is do for goroutines other than the test's: it returns its error.
func (c *client) send(method, path, key string, body any, headers ...header) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, h := range headers {
		req.Header.Set(h.Name, h.Value)
	}
	sent := time.Now()
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b, Sent: sent, Received: time.Now()}, nil
}

// countContacts is how many contacts the account has, read from the database.
func (s *testServer) countContacts(t testing.TB, accountID uuid.UUID) int {
	t.Helper()
	n, err := s.Store.DB.NewSelect().Model((*model.Contact)(nil)).Where("account_id = ?", accountID).Count(context.Background())
	if err != nil {
		t.Fatalf("count contacts: %v", err)
	}
	return int(n)
}

// document GETs the served OpenAPI document and decodes it into doc, with
// the shared responses and headers it refers to inlined (inlineRefs).
func (c *client) document(t testing.TB, doc any) {
	t.Helper()
	res := c.do(t, http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	if err := json.Unmarshal(inlineRefs(t, res.Body), doc); err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
}

// wantContacts fails the test unless the account has n contacts.
func (s *testServer) wantContacts(t testing.TB, accountID uuid.UUID, n int) {
	t.Helper()
	if got := s.countContacts(t, accountID); got != n {
		t.Fatalf("%d contacts, want %d", got, n)
	}
}

// dbNow is the time by the database's clock, the one that stamps
// createdAt and updatedAt (a test machine's clock may differ from it).
func (s *testServer) dbNow(t testing.TB) time.Time {
	t.Helper()
	var now time.Time
	if err := s.Store.DB.NewRaw("SELECT clock_timestamp()").Scan(context.Background(), &now); err != nil {
		t.Fatalf("read the database's clock: %v", err)
	}
	return now.UTC()
}

// createContact posts a contact and returns its data, failing unless 201.
func (s *client) createContact(t testing.TB, key string, body map[string]any) map[string]any {
	t.Helper()
	res := s.do(t, http.MethodPost, "/api/v1/contacts", key, body)
	if res.Status != http.StatusCreated {
		t.Fatalf("create contact: status %d: %s", res.Status, res.Body)
	}
	return res.Data(t)
}

// wantStatus fails the test unless the response has the status.
func wantStatus(t testing.TB, res *response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", res.Status, status, res.Body)
	}
}

// wantError checks an error response: status, JSON content type and the
// exact {"error": msg} message (msg "" accepts any non-empty message).
func wantError(t testing.TB, res *response, status int, msg string) map[string]any {
	t.Helper()
	wantStatus(t, res, status)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	body := res.JSON(t)
	got, _ := body["error"].(string)
	if got == "" || (msg != "" && got != msg) {
		t.Fatalf("error = %q, want %q; body: %s", got, msg, res.Body)
	}
	return body
}

// errorCase is a request that must fail, and how.
type errorCase struct {
	name    string
	method  string
	path    string
	body    any
	headers []header
	status  int
	msg     string // "" accepts any message
	field   string // for 422: the field that must be named ("": none)
}

// wantErrors sends each case, in a subtest of its name, with key unless
// the case sets its own Authorization header, and checks its error answer
// (wantError, and the field it names).
func (c *client) wantErrors(t *testing.T, key string, cases []errorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			k := key
			for _, h := range tt.headers {
				if h.Name == "Authorization" {
					k = ""
				}
			}
			res := c.do(t, tt.method, tt.path, k, tt.body, tt.headers...)
			if res.Status >= 500 {
				t.Fatalf("%d: %s", res.Status, res.Body)
			}
			wantError(t, res, tt.status, tt.msg)
			if tt.field != "" {
				fe, _ := fieldErrors(t, res)
				if _, ok := fe[tt.field]; !ok {
					t.Fatalf("422 does not name %s: %s", tt.field, res.Body)
				}
			}
		})
	}
}

// fieldErrors checks a 422 validation body and returns its fieldErrors and
// formErrors.
func fieldErrors(t testing.TB, res *response) (map[string]any, []any) {
	t.Helper()
	body := wantError(t, res, http.StatusUnprocessableEntity, "Validation failed")
	details, ok := body["details"].(map[string]any)
	if !ok {
		t.Fatalf("no details in %s", res.Body)
	}
	fe, ok1 := details["fieldErrors"].(map[string]any)
	form, ok2 := details["formErrors"].([]any)
	if !ok1 || !ok2 {
		t.Fatalf("details must hold fieldErrors (object) and formErrors (array): %s", res.Body)
	}
	return fe, form
}

// eventually calls cond until it returns nil, first at once, then at
// intervals growing from 5 ms to 50 ms, and fails the test with cond's
// last error if that has not happened within timeout. It returns how long
// cond took to hold. cond runs on the caller's goroutine, so it may call
// t.Fatal itself for a state no amount of waiting can mend.
func eventually(t testing.TB, timeout time.Duration, cond func() error) time.Duration {
	t.Helper()
	took, err := poll(timeout, cond)
	if err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
	return took
}

// poll is eventually for a caller that decides itself what a timeout
// means: it returns how long cond took to hold, or cond's last error once
// timeout has passed.
func poll(timeout time.Duration, cond func() error) (time.Duration, error) {
	start := time.Now()
	wait := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil || time.Since(start) > timeout {
			return time.Since(start), err
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}
