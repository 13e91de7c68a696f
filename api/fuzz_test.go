package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// The fuzz targets drive the real handler (router, middleware, Huma's
// decoding and validation, the model's rules) over in-memory stand-ins for
// the repositories, which apply the same model validation the database
// repositories do. `go test` runs the seed corpora in testdata/fuzz;
// `go tool task fuzz` explores for 30 s per target.

var (
	fuzzAccount = uuid.MustParse("00000000-0000-4000-8000-000000000001")
	fuzzContact = uuid.MustParse("00000000-0000-4000-8000-0000000000c1")
	fuzzNote    = uuid.MustParse("00000000-0000-4000-8000-0000000000a1")
)

type fakeKeys struct{}

func (fakeKeys) Authenticate(context.Context, string) (*model.APIKey, error) {
	return &model.APIKey{ID: uuid.New(), AccountID: fuzzAccount, Scopes: model.AllScopes}, nil
}

type fakeContacts struct{}

func (fakeContacts) stored() *model.Contact {
	name := "Ada"
	return &model.Contact{ID: fuzzContact, AccountID: fuzzAccount, GivenName: &name, Version: 1,
		Emails: []model.LabeledValue{}, Phones: []model.LabeledValue{}, Tags: []string{}}
}

func (fakeContacts) Create(_ context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error) {
	c.ID, c.AccountID, c.Version = uuid.New(), actor.AccountID, 1
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return c, nil
}

func (f fakeContacts) Get(_ context.Context, _, id uuid.UUID) (*model.Contact, error) {
	if id != fuzzContact {
		return nil, model.ErrNotFound
	}
	return f.stored(), nil
}

func (fakeContacts) List(context.Context, uuid.UUID, model.ContactFilter) (model.Page[model.Contact], error) {
	return model.Page[model.Contact]{Items: []model.Contact{}}, nil
}

func (f fakeContacts) Update(_ context.Context, _ model.Actor, id uuid.UUID, p model.ContactPatch, check model.Precondition[model.Contact]) (*model.Contact, error) {
	c, err := f.Get(context.Background(), fuzzAccount, id)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(c); err != nil {
			return nil, err
		}
	}
	if _, err := p.Apply(c); err != nil {
		return nil, err
	}
	return c, nil
}

func (fakeContacts) Delete(context.Context, model.Actor, uuid.UUID, model.Precondition[model.Contact]) error {
	return nil
}

type fakeNotes struct{}

func (fakeNotes) Create(_ context.Context, actor model.Actor, contactID uuid.UUID, n *model.Note) (*model.Note, error) {
	if contactID != fuzzContact {
		return nil, model.ErrNotFound
	}
	n.ID, n.AccountID, n.ContactID, n.Version = uuid.New(), actor.AccountID, contactID, 1
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

func (fakeNotes) Get(_ context.Context, _, id uuid.UUID) (*model.Note, error) {
	if id != fuzzNote {
		return nil, model.ErrNotFound
	}
	return &model.Note{ID: fuzzNote, AccountID: fuzzAccount, ContactID: fuzzContact, Body: "first", Version: 1}, nil
}

func (fakeNotes) List(context.Context, uuid.UUID, uuid.UUID, model.NoteFilter) (model.Page[model.Note], error) {
	return model.Page[model.Note]{Items: []model.Note{}}, nil
}

func (f fakeNotes) Update(_ context.Context, _ model.Actor, id uuid.UUID, p model.NotePatch, check model.Precondition[model.Note]) (*model.Note, error) {
	n, err := f.Get(context.Background(), fuzzAccount, id)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(n); err != nil {
			return nil, err
		}
	}
	if _, err := p.Apply(n); err != nil {
		return nil, err
	}
	return n, nil
}

func (fakeNotes) Delete(context.Context, model.Actor, uuid.UUID, model.Precondition[model.Note]) error {
	return nil
}

type fakeActivity struct{}

func (fakeActivity) List(context.Context, uuid.UUID, model.ActivityFilter) (model.Page[model.Activity], error) {
	return model.Page[model.Activity]{Items: []model.Activity{}}, nil
}

// fuzzHandler is the whole API over the stand-ins, built once.
var fuzzHandler = New(Config{PublicURL: "http://remy.test", Version: "fuzz"}, Deps{
	Log:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
	Keys:     fakeKeys{},
	Contacts: fakeContacts{},
	Notes:    fakeNotes{},
	Activity: fakeActivity{},
})

// serve sends one request to the handler and returns the status and body,
// failing on any 5xx or a non-JSON error body.
func serve(t *testing.T, method, target string, body []byte) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "http://remy.test/", bytes.NewReader(body))
	req.URL.RawQuery = ""
	path, query, _ := strings.Cut(target, "?")
	req.URL.Path, req.URL.RawQuery = path, query
	req.RequestURI = ""
	req.Header.Set("Authorization", "Bearer rmy_fuzz")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	fuzzHandler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body)
	}
	var out map[string]any
	if rec.Code != http.StatusNoContent {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d, body is not a JSON object: %q", method, target, rec.Code, rec.Body)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("response is not UTF-8: %q", rec.Body)
		}
	}
	if rec.Code >= 400 {
		if msg, _ := out["error"].(string); msg == "" {
			t.Fatalf("%d without an error message: %s", rec.Code, rec.Body)
		}
	}
	return rec.Code, out
}

// checkBody states what every body decoder promises, whatever the bytes:
// invalid text is a 400 naming it; a success stores each string exactly as
// sent (trimmed, for contact fields), never a replacement character.
func checkBody(t *testing.T, status int, out map[string]any, body []byte, fields []string, trim bool) {
	t.Helper()
	if !validJSONText(body) {
		if status != http.StatusBadRequest || out["error"] != "Malformed JSON: invalid UTF-8" {
			t.Fatalf("invalid UTF-8 answered %d %v", status, out)
		}
		return
	}
	if status != http.StatusOK && status != http.StatusCreated {
		if status == http.StatusUnprocessableEntity && out["details"] == nil {
			t.Fatalf("422 without details: %v", out)
		}
		return
	}
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("accepted a body encoding/json refuses (%v): %q", err, body)
	}
	data, _ := out["data"].(map[string]any)
	for _, f := range fields {
		v, ok := sent[f].(string)
		if !ok {
			continue
		}
		if trim {
			v = strings.TrimSpace(v)
			if v == "" {
				continue // blank means absent
			}
		}
		if data[f] != v {
			t.Fatalf("%s: sent %q, stored %q", f, v, data[f])
		}
	}
}

// contactTextFields are stored as sent, trimmed; a birthday is never
// trimmed (its pattern refuses spaces), so an accepted one is as sent.
var contactTextFields = []string{"givenName", "familyName", "nickname", "company", "jobTitle", "birthday"}

func FuzzContactBody(f *testing.F) {
	for _, s := range []string{
		`{"givenName":"Ada"}`,
		`{"givenName":"Ada","familyName":"Lovelace","emails":[{"value":"ada@example.com","label":"work"}],"phones":[{"value":"+44 1","label":"m"}],"tags":["a","B"],"birthday":"1815-12-10"}`,
		`{"givenName":null,"company":"  x  "}`,
		`{"givenName":"\u0000"}`,
		"{\"givenName\":\"\xff\"}",
		`{"givenName":"\ud83d\ude00"}`,
		`{"givenName":"\ud800"}`,
		`{"givenName":"a","givenName":"b"}`,
		`{"birthday":"2023-02-30","givenName":"x"}`,
		`{"birthday":"--02-29","givenName":"x"}`,
		`{"birthday":"--02-30","givenName":"x"}`,
		`{"givenName":"x","addresses":[{"label":" home ","street":"1 Road\nFlat 2","city":"\u0000","country":null}],"urls":[{"value":" https://example.com/a ","label":"blog"}]}`,
		`{"givenName":"x","addresses":[{"label":"only"}],"urls":[{"value":"javascript:alert(1)"}]}`,
		`{"introducedById":"00000000-0000-4000-8000-0000000000c1","givenName":"x"}`,
		`[]`, `null`, `{`, `{"tags":[[[]]]}`, `{"givenName":1e999}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, patch bool) {
		method, path := http.MethodPost, "/api/v1/contacts"
		if patch {
			method, path = http.MethodPatch, "/api/v1/contacts/"+fuzzContact.String()
		}
		status, out := serve(t, method, path, body)
		checkBody(t, status, out, body, contactTextFields, true)
	})
}

func FuzzNoteBody(f *testing.F) {
	for _, s := range []string{
		`{"body":"Met at the Analytical Society"}`,
		`{"body":"  padded  "}`,
		`{"body":"x\u0000y"}`,
		"{\"body\":\"\xc3\x28\"}",
		`{"body":"\udc00"}`,
		`{"body":null}`,
		`{"body":""}`,
		`{"body":"a","body":"b"}`,
		`{}`, `"x"`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, patch bool) {
		method, path := http.MethodPost, "/api/v1/contacts/"+fuzzContact.String()+"/notes"
		if patch {
			method, path = http.MethodPatch, "/api/v1/notes/"+fuzzNote.String()
		}
		status, out := serve(t, method, path, body)
		checkBody(t, status, out, body, []string{"body"}, false)
	})
}

// FuzzListQuery: any query string on the lists is a 200, a 400 or a 422,
// and a 200 honours the documented bounds.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"", "limit=1", "limit=100&offset=0", "limit=0", "limit=101", "offset=-1", "limit=abc",
		"limit=1e2", "limit=99999999999999999999", "offset=1&offset=2", "since=2024-01-01T00:00:00Z",
		"since=2024-01-01T00:00:00%2B02:00", "since=not-a-time", "resourceId=" + fuzzContact.String(),
		"resourceId='%20OR%201=1", "nope=1", "%zz", "limit=%00", "limit=+5",
	} {
		f.Add(q, uint8(0))
		f.Add(q, uint8(1))
		f.Add(q, uint8(2))
	}
	paths := []string{"/api/v1/contacts", "/api/v1/activity", "/api/v1/contacts/" + fuzzContact.String() + "/notes"}
	f.Fuzz(func(t *testing.T, query string, which uint8) {
		path := paths[int(which)%len(paths)]
		status, out := serve(t, http.MethodGet, path+"?"+query, nil)
		switch status {
		case http.StatusOK:
			if _, ok := out["total"].(float64); !ok {
				t.Fatalf("200 without total: %v", out)
			}
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("%s?%s: status %d", path, query, status)
		}
	})
}

// FuzzCSVCell: any string written by the export's CSV writer comes back,
// read as RFC 4180 and with the neutralising ' dropped, exactly as it was.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "line\nbreak", "bare\rcr", "crlf\r\n", "=1+1", "+1", "-1",
		"@SUM(A1)", "\tx", "'quoted", "''", " =not a formula", "é\u2028", "\x00", "\xff"} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		cw := newCSVWriter(&buf, []string{"a", "b"})
		if err := cw.row(a, b); err != nil {
			t.Fatal(err)
		}
		if err := cw.flush(); err != nil {
			t.Fatal(err)
		}
		records := parseRFC4180(t, buf.String())
		if len(records) != 2 || len(records[1]) != 2 {
			t.Fatalf("%q: records %q", buf.String(), records)
		}
		for i, want := range []string{a, b} {
			if got := unneutralize(records[1][i]); got != want {
				t.Fatalf("cell %d: wrote %q, recovered %q", i, want, got)
			}
		}
	})
}

func unneutralize(s string) string { return strings.TrimPrefix(s, "'") }

// parseRFC4180 is a strict reader for what the export writes: fields
// separated by commas, quoted when they hold a comma, quote, CR or LF (a
// quote doubled inside), records ending in LF. Unlike encoding/csv it keeps
// a CR before an LF inside a quoted field.
func parseRFC4180(t *testing.T, s string) [][]string {
	t.Helper()
	var records [][]string
	var rec []string
	for len(s) > 0 {
		var field string
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for {
				if i >= len(s) {
					t.Fatalf("unterminated quoted field")
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			field, s = b.String(), s[i:]
		} else {
			end := strings.IndexAny(s, ",\n")
			if end < 0 {
				t.Fatalf("record does not end in LF")
			}
			field, s = s[:end], s[end:]
			if strings.ContainsAny(field, "\"\r") {
				t.Fatalf("unquoted field holds a quote or CR: %q", field)
			}
		}
		rec = append(rec, field)
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, "\n"):
			s = s[1:]
			records = append(records, rec)
			rec = nil
		default:
			t.Fatalf("garbage after a field: %q", s)
		}
	}
	return records
}

// The strict reader agrees with encoding/csv where encoding/csv is exact.
func TestParseRFC4180(t *testing.T) {
	in := "a,\"b,\"\"c\"\"\"\n\"x\ny\",\n"
	want, err := csv.NewReader(strings.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := parseRFC4180(t, in)
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// FuzzNeutralize: the result never starts a formula, and the rule is
// reversible (drop one leading ').
func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"", "=", "+1", "-", "@", "\t", "\r", "'", "''=", "a=", "=cmd|' /C calc'!A0", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := neutralize(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("neutralize(%q) = %q starts a formula", s, got)
		}
		if unneutralize(got) != s {
			t.Fatalf("neutralize(%q) = %q does not reverse", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("neutralize(%q) = %q changes more than a prefix", s, got)
		}
	})
}
