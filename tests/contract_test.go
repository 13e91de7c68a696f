package tests

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/remy-crm/remy/api"
)

// The contract check: every response any test gets from a server started by
// newServer passes through checkContract, which holds it to the document
// the server itself serves at /openapi.json. A status the operation does
// not declare, an undeclared header, a header or body the schema does not
// allow, or a Content-Type not among the declared media types fails the
// test that made the request. Requests are not validated: tests send bad
// ones on purpose. New operations and new tests are covered without any
// change here, since the check wraps the handler, not the client.

// contract is the served document, loaded once, and what the run exercised.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options

	mu        sync.Mutex
	exercised map[string]map[int]int // operationId → status → responses
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

// loadContract reads /openapi.json from handler (any server's document is
// the same but for servers, which routing ignores).
func loadContract(handler http.Handler) (*contract, error) {
	contractOnce.Do(func() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
		if rec.Code != http.StatusOK {
			contractErr = fmt.Errorf("GET /openapi.json: %d", rec.Code)
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(rec.Body.Bytes())
		if err != nil {
			contractErr = fmt.Errorf("load /openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contractErr = fmt.Errorf("/openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		// kin-openapi compiles a JSON Schema 2020-12 validator on every
		// call for a 3.1 document and then, for schemas with $refs (all of
		// ours), falls back to its own visitor anyway: ~100 ms per list
		// response under -race, enough to starve the suite's timing tests.
		// Going straight to that visitor checks the same things.
		doc.OpenAPI = "3.0.3"
		doc.Servers = nil // match any host: httptest picks the port
		allowNullInAnySchema(doc)
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			contractErr = err
			return
		}
		opts := &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
				openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
			},
		}
		theContract = &contract{doc: doc, router: router, opts: opts, exercised: map[string]map[int]int{}}
	})
	return theContract, contractErr
}

// allowNullInAnySchema works around kin-openapi v0.153: for schemas with
// $refs it falls back from JSON Schema 2020-12 to its own validator, which
// refuses null for {} although in 3.1 {} admits every value, null included.
// Spelling out every type says the same thing in a form it understands.
func allowNullInAnySchema(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if s.IsEmpty() {
			s.Type = &openapi3.Types{"null", "boolean", "object", "array", "number", "string"}
		}
		for _, p := range s.Properties {
			walk(p.Value)
		}
		if s.Items != nil {
			walk(s.Items.Value)
		}
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema.Value)
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s.Value)
	}
}

// Headers any HTTP response may carry without the document naming them.
var transportHeaders = []string{"Content-Type", "Content-Length", "Date", "Transfer-Encoding", "Connection", "Trailer"}

// maxCheckedBody is the largest body whose content is validated; bigger
// ones (benchmark exports) still have their status and headers checked.
const maxCheckedBody = 8 << 20

// wrap returns handler with every response checked against the contract;
// failures are reported on t. The check runs after the response is sent,
// off the request's path (contractQueue), so it cannot delay responses;
// t's cleanup waits for the checks of all its responses.
func (c *contract) wrap(t testing.TB, handler http.Handler) http.Handler {
	var pending sync.WaitGroup
	t.Cleanup(pending.Wait) // registered before the server's Close, so it runs after it
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := r.Clone(context.WithoutCancel(r.Context()))
		tee := &teeWriter{ResponseWriter: w}
		handler.ServeHTTP(tee, r)
		// An aborted response (a panic with http.ErrAbortHandler) never
		// gets here: the client sees a broken transfer, not a response.
		res := &captured{code: tee.status(), header: w.Header().Clone(), body: bytes.Clone(tee.body.Bytes()), truncated: tee.truncated}
		if res.code == 499 {
			// The client went away first (nginx's 499, which Remy logs): no
			// one receives this response, so there is no contract to keep.
			return
		}
		pending.Add(1)
		contractQueue <- func() {
			defer pending.Done()
			op, err := c.check(req, res)
			c.record(op, res.code)
			if err != nil {
				t.Errorf("OpenAPI contract: %s %s → %d: %v", req.Method, req.URL.RequestURI(), res.code, err)
			}
		}
	})
}

// contractQueue feeds the one goroutine that runs every check, one at a
// time: validation (slow under -race) then takes at most one CPU from the
// servers under test, whose timing tests (rate limits) need the rest.
var (
	contractQueue = make(chan func(), 1<<16)
	contractDone  = make(chan struct{})
)

func init() {
	go func() {
		defer close(contractDone)
		for check := range contractQueue {
			check()
		}
	}()
}

// stopContractChecks ends the checking goroutine once no test can queue a
// check any more, so the leak check after the tests sees it gone.
func stopContractChecks() {
	close(contractQueue)
	<-contractDone
}

// captured is one response as the client got it.
type captured struct {
	code      int
	header    http.Header
	body      []byte
	truncated bool
}

// check holds one response to the document and names the operation it
// was held to.
func (c *contract) check(req *http.Request, rec *captured) (string, error) {
	status := rec.code
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		return c.checkUnrouted(req, rec, status)
	}
	return route.Operation.OperationID, c.checkRouted(req, rec, route, pathParams)
}

func (c *contract) checkRouted(req *http.Request, rec *captured, route *routers.Route, pathParams map[string]string) error {
	status := rec.code
	respRef := route.Operation.Responses.Status(status)
	if respRef == nil || respRef.Value == nil {
		return fmt.Errorf("status %d is not declared for %s", status, route.Operation.OperationID)
	}
	if err := checkHeaders(rec.header, respRef.Value); err != nil {
		return err
	}
	if err := checkMediaType(rec.header, respRef.Value, len(rec.body)); err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: c.opts},
		Status:                 status,
		Header:                 rec.header,
		Options:                c.opts,
	}
	mt, _, _ := mime.ParseMediaType(rec.header.Get("Content-Type"))
	if mt != "application/json" || rec.truncated {
		// Binary bodies (CSV, zip) are checked by media type above; their
		// content is the export tests' business.
		opts := *c.opts
		opts.ExcludeResponseBody = true
		in.Options = &opts
	}
	in.SetBodyBytes(rec.body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkUnrouted covers requests that match no operation: the router's own
// 404 and 405, and the document and docs pages themselves.
func (c *contract) checkUnrouted(req *http.Request, rec *captured, status int) (string, error) {
	p := req.URL.Path
	if p == "/docs" || strings.HasPrefix(p, "/docs/") || strings.HasPrefix(p, "/openapi") || strings.HasPrefix(p, "/schemas/") {
		return "(document)", nil
	}
	if status == http.StatusMethodNotAllowed {
		// The path exists with other methods: every operation on it
		// declares the 405, so check it against the first one.
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut} {
			other := req.Clone(req.Context())
			other.Method = m
			if route, _, err := c.router.FindRoute(other); err == nil {
				id := route.Operation.OperationID
				resp := route.Operation.Responses.Status(status)
				if resp == nil {
					return id, fmt.Errorf("405 is not declared for %s", id)
				}
				if err := checkHeaders(rec.header, resp.Value); err != nil {
					return id, err
				}
				return id, checkMediaType(rec.header, resp.Value, len(rec.body))
			}
		}
		return "(no operation)", fmt.Errorf("405 for a path the document does not have")
	}
	if status == http.StatusNotFound {
		return "(no operation)", nil
	}
	return "(no operation)", fmt.Errorf("no operation in the document matches this request")
}

// checkHeaders fails on a header the response sends but does not declare.
func checkHeaders(h http.Header, resp *openapi3.Response) error {
	var undeclared []string
	for name := range h {
		if slices.Contains(transportHeaders, name) {
			continue
		}
		declared := false
		for d := range resp.Headers {
			declared = declared || strings.EqualFold(d, name)
		}
		if !declared {
			undeclared = append(undeclared, name)
		}
	}
	if len(undeclared) > 0 {
		sort.Strings(undeclared)
		return fmt.Errorf("undeclared response headers %v", undeclared)
	}
	return nil
}

// checkMediaType fails when a body's Content-Type is not a declared media
// type of the response (parameters such as charset aside).
func checkMediaType(h http.Header, resp *openapi3.Response, bodyLen int) error {
	ct := h.Get("Content-Type")
	if ct == "" && bodyLen == 0 {
		if len(resp.Content) > 0 {
			return fmt.Errorf("no body, but the document declares %v", keys(resp.Content))
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", ct, err)
	}
	if resp.Content[mt] == nil {
		return fmt.Errorf("Content-Type %s is not among the declared %v", mt, keys(resp.Content))
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *contract) record(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exercised[op] == nil {
		c.exercised[op] = map[int]int{}
	}
	c.exercised[op][status]++
}

// teeWriter passes a response through and keeps a copy of its status and
// the first maxCheckedBody bytes of its body.
type teeWriter struct {
	http.ResponseWriter
	code      int
	body      bytes.Buffer
	truncated bool
}

func (w *teeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body.Len()+len(b) <= maxCheckedBody {
		w.body.Write(b)
	} else {
		w.truncated = true
	}
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach deadlines and Flush.
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var contractReport = flag.String("contract-report", "", "write the operation/status pairs the suite exercised to this file (- for stdout)")

// reportContract runs after the suite: it lists, per operation, the
// statuses the suite exercised and those it declares but never produced,
// and fails a full run (no -run filter) in which some operation of the
// document was never called at all.
func reportContract() int {
	if theContract == nil {
		return 0
	}
	c := theContract
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	var missing []string
	fmt.Fprintln(&b, "OpenAPI response coverage (operation: exercised statuses | declared, never seen):")
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method, op := range c.doc.Paths.Value(path).Operations() {
			seen := c.exercised[op.OperationID]
			var got, not []string
			for code := range op.Responses.Map() {
				n, _ := strconv.Atoi(code)
				if seen[n] > 0 {
					got = append(got, code)
				} else {
					not = append(not, code)
				}
			}
			sort.Strings(got)
			sort.Strings(not)
			fmt.Fprintf(&b, "  %-14s %-6s %-36s %s | %s\n", op.OperationID, method, path, strings.Join(got, " "), strings.Join(not, " "))
			if len(seen) == 0 {
				missing = append(missing, op.OperationID)
			}
		}
	}
	switch *contractReport {
	case "":
	case "-":
		fmt.Print(b.String())
	default:
		if err := os.WriteFile(*contractReport, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" && len(missing) > 0 {
		sort.Strings(missing)
		fmt.Fprintf(os.Stderr, "OpenAPI contract: no test exercised %v\n", missing)
		return 1
	}
	return 0
}

// The check itself must be able to fail: a response the document does not
// allow is reported.
func TestContract_CatchesDrift(t *testing.T) {
	t.Parallel()
	newServer(t) // loads the contract
	c := theContract
	for _, tt := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string
	}{
		{"undeclared status", http.MethodGet, "/api/v1/contacts", http.StatusTeapot, http.Header{"Content-Type": {"application/json"}}, `{"error":"x"}`, "not declared"},
		{"undeclared header", http.MethodGet, "/healthz", 200, http.Header{"Content-Type": {"application/json"}, "X-Secret": {"1"}}, `{"status":"ok"}`, "undeclared response headers"},
		{"body off schema", http.MethodGet, "/api/v1/contacts", 200, http.Header{"Content-Type": {"application/json"}}, `{"data":[{"id":"nope"}],"total":1}`, "doesn't match"},
		{"null where the schema has none", http.MethodGet, "/api/v1/notes/" + "0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11", 200, http.Header{"Content-Type": {"application/json"}}, `{"data":{"id":"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11","contactId":null,"body":"x","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}}`, "doesn't match"},
		{"media type not declared", http.MethodGet, "/api/v1/export", 200, http.Header{"Content-Type": {"application/octet-stream"}}, `xx`, "not among the declared"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &captured{code: tt.status, header: tt.header, body: []byte(tt.body)}
			_, err := c.check(httptest.NewRequest(tt.method, tt.path, nil), rec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("check = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Every operation of the document, driven into the errors every operation
// shares (401, 400 on a malformed path id, 422 on an unknown parameter, 429,
// 405 on its path), so that their declarations are held to real responses
// for all of them, not only for the operations other tests happen to use.
func TestContract_CommonErrorsOfEveryOperation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// One token per key, refilled in 1000 s: a key's second request is a 429.
	limited := newServer(t, func(c *api.Config) { c.RateLimitRPS, c.RateLimitBurst = 0.001, 1 })
	a := s.newTenant(t)
	for _, path := range theContract.doc.Paths.InMatchingOrder() {
		item := theContract.doc.Paths.Value(path)
		concrete := strings.NewReplacer("{id}", "not-a-uuid", "{contactId}", "not-a-uuid").Replace(path)
		t.Run("405 "+path, func(t *testing.T) {
			res := s.do(t, http.MethodPut, concrete, "", nil)
			wantError(t, res, http.StatusMethodNotAllowed, "Method not allowed")
		})
		for method, op := range item.Operations() {
			if !strings.HasPrefix(path, "/api/") {
				continue
			}
			t.Run(op.OperationID, func(t *testing.T) {
				wantError(t, s.do(t, method, concrete, "", nil), http.StatusUnauthorized, "Missing Authorization header")
				if concrete != path {
					wantError(t, s.do(t, method, concrete, a.Key, nil), http.StatusBadRequest, "")
				}
				uuidPath := strings.NewReplacer("not-a-uuid", "0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11").Replace(concrete)
				fieldErrors(t, s.do(t, method, uuidPath+"?bogus=1", a.Key, nil))

				key := limited.newTenant(t).Key
				first := uuidPath
				if op.OperationID == "streamEvents" {
					first += "?after=malformed" // a stream that started would never end
				}
				limited.do(t, method, first, key, nil)
				res := limited.do(t, method, uuidPath, key, nil)
				wantStatus(t, res, http.StatusTooManyRequests)
				if res.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			})
		}
	}
}
