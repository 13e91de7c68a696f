package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// sqlMeta are strings that break naively built SQL.
var sqlMeta = []string{
	`'; DROP TABLE contacts; --`,
	`" OR "1"="1`,
	`1' OR '1'='1' /*`,
	`\'; SELECT pg_sleep(10); --`,
	`%_\%`,
	`$1 $$ $tag$`,
	"Robert'); DELETE FROM notes;--",
}

// The attack table: hostile requests over real HTTP. Every one gets a
// documented 4xx with the JSON error body (never a 5xx, never a hang), or,
// where the input is merely unusual data, is stored exactly as sent.
func TestAttack_Table(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	one := "/api/v1/contacts/" + c["id"].(string)
	n := s.createNote(t, a.Key, c["id"].(string), "first")
	note := "/api/v1/notes/" + n["id"].(string)
	notes := one + "/notes"

	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	deepArray := `{"tags":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	manyTags := make([]string, 10000)
	for i := range manyTags {
		manyTags[i] = fmt.Sprintf("t%d", i)
	}
	tags, _ := json.Marshal(map[string]any{"givenName": "Many", "tags": manyTags})

	tests := []errorCase{
		// Invalid text.
		{"invalid UTF-8 in a contact", "POST", "/api/v1/contacts", "{\"givenName\":\"\xff\xfe\"}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"invalid UTF-8 in a nested field", "POST", "/api/v1/contacts", "{\"emails\":[{\"value\":\"a@b.co\",\"label\":\"w\xc3\x28\"}]}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"invalid UTF-8 in a key", "POST", "/api/v1/contacts", "{\"given\xffName\":\"x\"}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"invalid UTF-8 on PATCH", "PATCH", one, "{\"nickname\":\"\xed\xa0\x80\"}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"invalid UTF-8 in a note", "POST", notes, "{\"body\":\"x\xc0\xafy\"}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"invalid UTF-8 in a note PATCH", "PATCH", note, "{\"body\":\"\x80\"}", nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"lone surrogate escape", "POST", "/api/v1/contacts", `{"givenName":"\ud800"}`, nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"reversed surrogate pair", "POST", notes, `{"body":"\udc00\ud800"}`, nil, 400, "Malformed JSON: invalid UTF-8", ""},
		{"NUL in a note body", "POST", notes, `{"body":"x\u0000y"}`, nil, 422, "Validation failed", "body"},
		{"NUL in a note PATCH", "PATCH", note, `{"body":"\u0000"}`, nil, 422, "Validation failed", "body"},
		{"NUL in givenName", "POST", "/api/v1/contacts", `{"givenName":"a\u0000"}`, nil, 422, "Validation failed", "givenName"},
		{"NUL in company on PATCH", "PATCH", one, `{"company":"\u0000"}`, nil, 422, "Validation failed", "company"},
		{"NUL in a tag", "POST", "/api/v1/contacts", `{"givenName":"a","tags":["x\u0000"]}`, nil, 422, "Validation failed", "tags"},
		{"NUL in a phone label", "POST", "/api/v1/contacts", `{"givenName":"a","phones":[{"value":"1","label":"\u0000"}]}`, nil, 422, "Validation failed", "phones"},
		{"NUL in an email", "POST", "/api/v1/contacts", `{"emails":[{"value":"a\u0000@b.co"}]}`, nil, 422, "Validation failed", "emails"},

		// Shapes and sizes.
		{"body over 1 MiB", "POST", "/api/v1/contacts", `{"givenName":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, "Request body too large: the limit is 1 MiB", ""},
		{"deeply nested object", "POST", "/api/v1/contacts", deep, nil, 400, "", ""},
		{"deeply nested array", "PATCH", one, deepArray, nil, 400, "", ""},
		{"10,000 tags", "POST", "/api/v1/contacts", string(tags), nil, 422, "Validation failed", "tags"},
		{"duplicate keys", "POST", "/api/v1/contacts", `{"givenName":"a","givenName":"b"}`, nil, 400, `Malformed JSON: duplicate key "givenName"`, ""},
		{"duplicate nested keys", "PATCH", one, `{"emails":[{"value":"a@b.co","value":"c@d.co"}]}`, nil, 400, `Malformed JSON: duplicate key "value"`, ""},
		{"duplicate note body", "POST", notes, `{"body":"a","body":"b"}`, nil, 400, `Malformed JSON: duplicate key "body"`, ""},
		{"huge number as a name", "POST", "/api/v1/contacts", `{"givenName":1e999}`, nil, 400, "", ""},
		{"huge integer as a name", "POST", "/api/v1/contacts", `{"givenName":123456789012345678901234567890}`, nil, 422, "Validation failed", "givenName"},
		{"huge limit", "GET", "/api/v1/contacts?limit=99999999999999999999999", nil, nil, 422, "Validation failed", "limit"},
		{"huge offset", "GET", "/api/v1/contacts?offset=99999999999999999999999", nil, nil, 422, "Validation failed", "offset"},
		{"negative offset", "GET", "/api/v1/contacts?offset=-1", nil, nil, 422, "Validation failed", "offset"},
		{"float limit", "GET", "/api/v1/contacts?limit=1e3", nil, nil, 422, "Validation failed", "limit"},
		{"not an object", "POST", notes, `"body"`, nil, 422, "Validation failed", ""},
		{"null body", "POST", "/api/v1/contacts", `null`, nil, 422, "Validation failed", ""},
		{"trailing garbage", "POST", "/api/v1/contacts", `{"givenName":"a"} {"x":1}`, nil, 400, "", ""},

		// SQL metacharacters where they cannot be data.
		{"SQL in limit", "GET", "/api/v1/contacts?limit=1;DROP%20TABLE%20contacts", nil, nil, 422, "Validation failed", "limit"},
		{"SQL in offset", "GET", "/api/v1/contacts?offset=0%20OR%201=1", nil, nil, 422, "Validation failed", "offset"},
		{"SQL in since", "GET", "/api/v1/activity?since=" + url.QueryEscape(`2020-01-01' OR '1'='1`), nil, nil, 422, "Validation failed", "since"},
		{"SQL in resourceId", "GET", "/api/v1/activity?resourceId=" + url.QueryEscape(`' OR 1=1--`), nil, nil, 422, "Validation failed", "resourceId"},
		{"SQL in format", "GET", "/api/v1/export?format=" + url.QueryEscape(`json'--`), nil, nil, 422, "Validation failed", "format"},
		{"SQL in resource", "GET", "/api/v1/export?format=csv&resource=" + url.QueryEscape(`contacts;--`), nil, nil, 422, "Validation failed", "resource"},
		{"SQL in an unknown parameter", "GET", "/api/v1/contacts?order=" + url.QueryEscape(`id; DROP TABLE x`), nil, nil, 422, "Validation failed", ""},
		{"SQL in a path id", "GET", "/api/v1/contacts/" + url.PathEscape(`1' OR '1'='1`), nil, nil, 400, "Malformed id in path: must be a UUID", ""},
		{"SQL in a note path id", "DELETE", "/api/v1/notes/" + url.PathEscape(`'; DROP TABLE notes;--`), nil, nil, 400, "Malformed id in path: must be a UUID", ""},
		{"SQL in contactId", "GET", "/api/v1/contacts/" + url.PathEscape(`' OR 1=1--`) + "/notes", nil, nil, 400, "Malformed contactId in path: must be a UUID", ""},
		{"SQL in introducedById", "PATCH", one, `{"introducedById":"' OR 1=1--"}`, nil, 422, "Validation failed", "introducedById"},
		{"SQL in birthday", "POST", "/api/v1/contacts", `{"givenName":"a","birthday":"2020-01-01'; --"}`, nil, 422, "Validation failed", "birthday"},
		{"SQL in an email", "POST", "/api/v1/contacts", `{"emails":[{"value":"a'; DROP TABLE contacts;--@b.co"}]}`, nil, 422, "Validation failed", "emails"},
		{"SQL in the bearer token", "GET", "/api/v1/contacts", nil, []header{{"Authorization", `Bearer rmy_' OR '1'='1`}}, 401, "Invalid, expired, or revoked API key", ""},
		{"SQL in If-Match", "PATCH", one, `{"nickname":"x"}`, []header{{"If-Match", `"' OR 1=1--"`}}, 412, "", ""},
		{"SQL in Idempotency-Key", "POST", "/api/v1/contacts", `{"givenName":"Idem"}`, []header{{"Idempotency-Key", strings.Repeat("'; DROP TABLE x;--", 20)}}, 422, "Validation failed", "Idempotency-Key"},

		// Paths.
		{"path traversal", "GET", "/api/v1/contacts/../../../etc/passwd", nil, nil, 404, "Not found", ""},
		{"encoded path traversal", "GET", "/api/v1/contacts/..%2F..%2F..%2Fetc%2Fpasswd", nil, nil, 400, "Malformed id in path: must be a UUID", ""},
		{"traversal under docs", "GET", "/docs/../../../../etc/passwd", nil, nil, 404, "Not found", ""},
		{"encoded traversal under docs", "GET", "/docs/..%2F..%2F..%2Fetc%2Fpasswd", nil, nil, 404, "Not found", ""},
		{"NUL in a path", "GET", "/api/v1/contacts/%00", nil, nil, 400, "Malformed id in path: must be a UUID", ""},
		{"invalid UTF-8 in a path", "GET", "/api/v1/contacts/%ff%fe", nil, nil, 400, "Malformed id in path: must be a UUID", ""},
		{"invalid UTF-8 in a query", "GET", "/api/v1/activity?since=%ff", nil, nil, 422, "Validation failed", "since"},
	}
	s.wantErrors(t, a.Key, tests)

	// None of it was stored: the account holds what the test created.
	if got := s.countContacts(t, a.Account.ID); got != 1 {
		t.Fatalf("%d contacts after the attacks, want 1", got)
	}
	got := s.do(t, http.MethodGet, note, a.Key, nil).Data(t)["body"]
	if got != "first" {
		t.Fatalf("note body = %q after the attacks", got)
	}
}

// SQL metacharacters in every text field are data: stored and returned
// byte for byte, and they find nothing.
func TestAttack_SQLMetacharactersAreData(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	other := s.newTenant(t)
	s.createContact(t, other.Key, map[string]any{"givenName": "Someone else"})
	for _, v := range sqlMeta {
		body := map[string]any{
			"givenName": v, "familyName": v, "nickname": v, "company": v, "jobTitle": v,
			"phones": []map[string]string{{"value": v, "label": v}},
			"emails": []map[string]string{{"value": "x@example.com", "label": v}},
			"tags":   []string{strings.ToLower(v)},
		}
		c := s.createContact(t, a.Key, body)
		for _, f := range []string{"givenName", "familyName", "nickname", "company", "jobTitle"} {
			if c[f] != v {
				t.Errorf("%s = %q, want %q", f, c[f], v)
			}
		}
		id := c["id"].(string)
		n := s.createNote(t, a.Key, id, v)
		if n["body"] != v {
			t.Errorf("note body = %q, want %q", n["body"], v)
		}
		res := s.do(t, http.MethodPatch, "/api/v1/notes/"+n["id"].(string), a.Key, map[string]any{"body": v + v})
		wantStatus(t, res, http.StatusOK)
		if res.Data(t)["body"] != v+v {
			t.Errorf("patched note body = %q", res.Data(t)["body"])
		}
		got := s.do(t, http.MethodGet, "/api/v1/contacts/"+id, a.Key, nil).Data(t)
		if got["phones"].([]any)[0].(map[string]any)["value"] != v {
			t.Errorf("phone = %v", got["phones"])
		}
	}
	list := s.do(t, http.MethodGet, "/api/v1/contacts?limit=100", a.Key, nil).JSON(t)
	if list["total"] != float64(len(sqlMeta)) {
		t.Fatalf("total = %v, want %d (and nothing of the other account)", list["total"], len(sqlMeta))
	}
}

// A hostile User-Agent: 1 MB, and one with invalid UTF-8. The request is
// served; the Activity Log keeps at most 512 bytes, cut on a character
// boundary.
func TestAttack_UserAgent(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	huge := strings.Repeat("é", 500_000) // 1,000,000 bytes; 512 falls between é's two bytes only if misaligned
	odd := "x" + huge                    // so the cut at 512 lands inside a character
	for _, ua := range []string{huge, odd, "bad \xff\xfe agent"} {
		res := s.do(t, http.MethodPost, "/api/v1/contacts", a.Key, map[string]any{"givenName": "UA"}, header{"User-Agent", ua})
		wantStatus(t, res, http.StatusCreated)
	}
	entries, _ := s.activity(t, a.Key, "")
	if len(entries) != 3 {
		t.Fatalf("%d entries", len(entries))
	}
	for _, e := range entries {
		ua := e["userAgent"].(string)
		if len(ua) > 512 || !utf8.ValidString(ua) {
			t.Errorf("stored User-Agent: %d bytes, valid UTF-8 %v", len(ua), utf8.ValidString(ua))
		}
	}
	if ua := entries[1]["userAgent"].(string); len(ua) != 511 || !strings.HasPrefix(odd, ua) {
		t.Errorf("misaligned cut: %d bytes", len(ua))
	}
	if ua := entries[2]["userAgent"].(string); len(ua) != 512 || !strings.HasPrefix(huge, ua) {
		t.Errorf("aligned cut: %d bytes", len(ua))
	}
}

// X-Request-Id is echoed only when it is a plain token: anything that
// could split a header, inject HTML or flood the logs is replaced.
func TestAttack_RequestIDInjection(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, id := range []string{"abc<script>", "a b", strings.Repeat("x", 129), "x\"y", "%0d%0aSet-Cookie:x=1", "é"} {
		res := s.do(t, http.MethodGet, "/healthz", "", nil, header{"X-Request-Id", id})
		wantStatus(t, res, http.StatusOK)
		if got := res.Header.Get("X-Request-Id"); got == id || got == "" {
			t.Errorf("X-Request-Id %q echoed as %q", id, got)
		}
	}
	// On the wire, a CR LF inside the value starts a new header: the
	// server sees two headers and echoes only the sane first part.
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\nSet-Cookie: injected=1\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Set-Cookie") != "" || res.Header.Get("X-Request-Id") != "abc" {
		t.Fatalf("response headers: %v", res.Header)
	}
	// A bare CR or NUL inside a header value is refused by Go's HTTP parser.
	for _, raw := range []string{"abc\rSet-Cookie: x=1", "abc\x00def"} {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n", raw)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Set-Cookie") != "" {
			t.Errorf("%q: %d %v", raw, res.StatusCode, res.Header)
		}
	}
}

// A body that trickles in is cut off with a JSON 408 after Huma's body
// read timeout (5 s), not held open.
func TestAttack_SlowBody(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/contacts", pr)
	req.Header.Set("Authorization", "Bearer "+a.Key)
	req.Header.Set("Content-Type", "application/json")
	go func() {
		_, _ = pw.Write([]byte(`{"givenName":`))
		// then nothing, until the test ends
	}()
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	took := time.Since(start)
	t.Logf("slow body answered %d after %v", res.StatusCode, took.Round(time.Millisecond))
	wantError(t, &response{Status: res.StatusCode, Header: res.Header, Body: b}, http.StatusRequestTimeout, "Request body read timeout")
	if took > 8*time.Second {
		t.Fatalf("took %v", took)
	}
}

// Every response carries nosniff and no version banner; /api responses
// are never cached.
func TestAttack_SecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	for _, r := range []struct {
		method, path, key string
		body              any
	}{
		{"GET", "/api/v1/contacts", a.Key, nil},
		{"GET", "/api/v1/contacts/" + c["id"].(string), a.Key, nil},
		{"POST", "/api/v1/contacts", a.Key, map[string]any{"givenName": "B"}},
		{"GET", "/api/v1/contacts", "", nil},                        // 401
		{"GET", "/api/v1/contacts/nope", a.Key, nil},                // 400
		{"GET", "/api/v1/nope", a.Key, nil},                         // 404 from the router
		{"PUT", "/api/v1/contacts", a.Key, map[string]any{}},        // 405
		{"POST", "/api/v1/contacts", a.Key, map[string]any{"x": 1}}, // 422
		{"GET", "/api/v1/activity", a.Key, nil},
		{"GET", "/api/v1/export", a.Key, nil},
		{"GET", "/healthz", "", nil},
		{"GET", "/readyz", "", nil},
		{"GET", "/openapi.json", "", nil},
		{"GET", "/docs", "", nil},
	} {
		res := s.do(t, r.method, r.path, r.key, r.body)
		h := res.Header
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options = %q", r.method, r.path, res.Status, h.Get("X-Content-Type-Options"))
		}
		if strings.HasPrefix(r.path, "/api/v1") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s (%d): Cache-Control = %q", r.method, r.path, res.Status, h.Get("Cache-Control"))
		}
		for _, banner := range []string{"Server", "X-Powered-By", "X-AspNet-Version", "Via"} {
			if v := h.Get(banner); v != "" {
				t.Errorf("%s %s: %s: %s", r.method, r.path, banner, v)
			}
		}
	}
}

// The API key never appears in the logs, in error bodies or in the
// Activity Log, whatever the client does with it.
func TestAttack_KeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	s := startServer(t, newDatabase(t), serverOptions{logs: &logs})
	store := s.Store
	a := s.newTenant(t)
	revoked := s.newTenant(t)
	if _, err := store.DB.NewUpdate().TableExpr("api_keys").Set("revoked_at = now()").Where("id = ?", revoked.KeyID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}

	var bodies []string
	record := func(res *response) { bodies = append(bodies, string(res.Body)) }
	c := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})
	for _, key := range []string{a.Key, revoked.Key, a.Key + "x", strings.ToUpper(a.Key)} {
		record(s.do(t, http.MethodGet, "/api/v1/contacts", key, nil))
		record(s.do(t, http.MethodGet, "/api/v1/contacts?key="+key, key, nil))
		record(s.do(t, http.MethodGet, "/api/v1/contacts/"+key, key, nil))
		record(s.do(t, http.MethodPost, "/api/v1/contacts", key, map[string]any{"givenName": "x", "nope": key}))
		record(s.do(t, http.MethodPatch, "/api/v1/contacts/"+c["id"].(string), key, "{\"nickname\":\""+key+"\xff\"}"))
		record(s.do(t, http.MethodPost, "/api/v1/contacts", key, `{"givenName":"`+key, header{"X-Request-Id", key}))
		record(s.do(t, http.MethodGet, "/api/v1/contacts", "", nil, header{"Authorization", key}))
		record(s.do(t, http.MethodGet, "/api/v1/contacts", "", nil, header{"Authorization", "Basic " + key}))
		record(s.do(t, http.MethodGet, "/api/v1/contacts", "", nil, header{"Authorization", "Bearer  " + key + " extra"}))
	}
	act := s.do(t, http.MethodGet, "/api/v1/activity?limit=100", a.Key, nil)
	record(act)
	for _, secret := range []string{a.Key, revoked.Key} {
		for _, b := range bodies {
			if strings.Contains(b, secret) {
				t.Errorf("a response body holds the key: %s", b)
			}
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("the logs hold the key: %s", line)
			}
		}
		// The random part alone, too (after the rmy_ prefix).
		if strings.Contains(logs.String(), secret[len("rmy_"):]) {
			t.Errorf("the logs hold the key's secret part")
		}
	}
	if !strings.Contains(logs.String(), `"msg":"request"`) {
		t.Fatalf("no request lines were logged: %s", logs.String())
	}
}

// Slow loris against the real binary's http.Server: a client that trickles
// its headers, or keeps an idle connection, is cut off; meanwhile the
// server keeps answering everyone else.
func TestAttack_SlowLorisHeaders(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	provision(t, dsn, "loris@example.com")
	base := startServe(t, dsn)
	u, _ := url.Parse(base)

	var conns []net.Conn
	for range 20 {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		conns = append(conns, conn)
	}
	start := time.Now()
	closed := make(chan time.Duration, len(conns))
	for _, conn := range conns {
		go func() {
			// One more header byte a second, forever.
			for {
				if _, err := conn.Write([]byte("X")); err != nil {
					closed <- time.Since(start)
					return
				}
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				var b [1]byte
				if _, err := conn.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					closed <- time.Since(start)
					return
				}
			}
		}()
	}
	// The server still answers while the lorises hang on.
	if got := clientAt(base).do(t, http.MethodGet, "/healthz", "", nil).Status; got != http.StatusOK {
		t.Fatalf("healthz during the attack: %d", got)
	}
	var slowest time.Duration
	for range conns {
		select {
		case d := <-closed:
			slowest = max(slowest, d)
		case <-time.After(15 * time.Second):
			t.Fatal("a slow-loris connection was still open after 15 s")
		}
	}
	t.Logf("20 slow-loris connections cut within %v", slowest.Round(time.Millisecond))
	if slowest < 4*time.Second {
		t.Fatalf("cut after %v: before the 5 s ReadHeaderTimeout?", slowest)
	}
}
