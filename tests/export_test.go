package tests

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exportedFile checks an export's headers and returns its body.
func exportedFile(t testing.TB, res *response, contentType, filename string) []byte {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != contentType {
		t.Fatalf("Content-Type = %q, want %q", ct, contentType)
	}
	want := regexp.MustCompile(`^attachment; filename="remy-export-\d{4}-\d{2}-\d{2}` + regexp.QuoteMeta(filename) + `"$`)
	if cd := res.Header.Get("Content-Disposition"); !want.MatchString(cd) {
		t.Fatalf("Content-Disposition = %q, want %s", cd, want)
	}
	// Dated the day the snapshot was taken, which is between sending and
	// receiving (both days, if the export straddled UTC midnight).
	dated := false
	for _, at := range []time.Time{res.Sent, res.Received} {
		dated = dated || strings.Contains(res.Header.Get("Content-Disposition"), at.UTC().Format(time.DateOnly))
	}
	if !dated || res.Sent.IsZero() {
		t.Fatalf("Content-Disposition %q is not dated between %v and %v", res.Header.Get("Content-Disposition"), res.Sent.UTC(), res.Received.UTC())
	}
	return res.Body
}

// readCSV parses a CSV file into a header and rows keyed by column name.
func readCSV(t testing.TB, b []byte) ([]string, []map[string]string) {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180 CSV: %v\n%s", err, b)
	}
	if len(records) == 0 {
		t.Fatal("no header row")
	}
	var rows []map[string]string
	for _, r := range records[1:] {
		row := map[string]string{}
		for i, col := range records[0] {
			row[col] = r[i]
		}
		rows = append(rows, row)
	}
	return records[0], rows
}

// unneutralize reverses the documented formula neutralisation.
func unneutralize(s string) string { return strings.TrimPrefix(s, "'") }

func TestExport_JSON(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	c1 := s.createContact(t, a.Key, map[string]any{
		"givenName": "Ada", "familyName": "Lovelace", "birthday": "1815-12-10", "tags": []string{"math"},
		"emails": []map[string]any{{"value": "ada@example.com", "label": "work"}},
	})
	c2 := s.createContact(t, a.Key, map[string]any{"company": "Engines", "introducedById": c1["id"]})
	n1 := s.createNote(t, a.Key, c1["id"].(string), "first <note> & more")
	n2 := s.createNote(t, a.Key, c2["id"].(string), "second")
	bc := s.createContact(t, b.Key, map[string]any{"givenName": "Bob"})
	s.createNote(t, b.Key, bc["id"].(string), "B's note")

	body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export", a.Key, nil), "application/json", ".json")
	var doc struct {
		Data struct {
			ExportedAt time.Time        `json:"exportedAt"`
			Account    map[string]any   `json:"account"`
			Contacts   []map[string]any `json:"contacts"`
			Notes      []map[string]any `json:"notes"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not the export document: %v\n%s", err, body)
	}
	d := doc.Data
	if time.Since(d.ExportedAt) > time.Minute {
		t.Errorf("exportedAt = %v", d.ExportedAt)
	}
	if d.Account["id"] != a.Account.ID.String() || d.Account["email"] != a.Account.Email {
		t.Errorf("account = %v", d.Account)
	}
	// The same resource shapes as the API, oldest first; nothing of B's.
	for i, want := range []map[string]any{c1, c2} {
		got := s.do(t, http.MethodGet, "/api/v1/contacts/"+want["id"].(string), a.Key, nil).Data(t)
		if len(d.Contacts) != 2 || fmt.Sprint(d.Contacts[i]) != fmt.Sprint(got) {
			t.Fatalf("contacts[%d] = %v, want %v", i, d.Contacts, got)
		}
	}
	for i, want := range []map[string]any{n1, n2} {
		if len(d.Notes) != 2 || fmt.Sprint(d.Notes[i]) != fmt.Sprint(want) {
			t.Fatalf("notes[%d] = %v, want %v", i, d.Notes, want)
		}
	}
	if bytes.Contains(body, []byte("Bob")) || bytes.Contains(body, []byte("B's")) || bytes.Contains(body, []byte(b.Account.ID.String())) {
		t.Fatalf("export of A holds B's data: %s", body)
	}

	t.Run("B's export holds only B's", func(t *testing.T) {
		body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=json", b.Key, nil), "application/json", ".json")
		var doc map[string]map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc["data"]["contacts"].([]any)) != 1 || len(doc["data"]["notes"].([]any)) != 1 || bytes.Contains(body, []byte("Ada")) {
			t.Fatalf("B's export: %s", body)
		}
	})
	t.Run("one resource", func(t *testing.T) {
		body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?resource=notes", a.Key, nil), "application/json", "-notes.json")
		var doc map[string]map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if _, ok := doc["data"]["contacts"]; ok || len(doc["data"]["notes"].([]any)) != 2 {
			t.Fatalf("notes-only export: %s", body)
		}
	})
	t.Run("empty account", func(t *testing.T) {
		body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export", s.newTenant(t).Key, nil), "application/json", ".json")
		if !bytes.Contains(body, []byte(`"contacts":[],"notes":[]}}`)) {
			t.Fatalf("empty export: %s", body)
		}
	})
}

func TestExport_CSVRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	tricky := "Smith, \"Bob\"\nthe second"
	c := s.createContact(t, a.Key, map[string]any{
		"givenName": tricky, "company": "Acme, Inc.", "birthday": "1990-02-03", "tags": []string{"a,b", `q"uote`},
		"emails": []map[string]any{{"value": "bob@example.com", "label": "work, main"}},
		"phones": []map[string]any{{"value": "+1 555 0100", "label": ""}},
	})
	plain := s.createContact(t, a.Key, map[string]any{"nickname": "Plain"})
	noteBody := "Line one, with comma\nLine \"two\"\n\nend"
	n := s.createNote(t, a.Key, c["id"].(string), noteBody)

	t.Run("contacts", func(t *testing.T) {
		body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv&resource=contacts", a.Key, nil), "text/csv; charset=utf-8", "-contacts.csv")
		header, rows := readCSV(t, body)
		if strings.Join(header, ",") != "id,givenName,familyName,nickname,company,jobTitle,emails,phones,addresses,urls,birthday,tags,introducedById,createdAt,updatedAt" {
			t.Fatalf("header = %v", header)
		}
		if len(rows) != 2 || rows[0]["id"] != c["id"] || rows[1]["id"] != plain["id"] {
			t.Fatalf("rows = %v", rows)
		}
		r := rows[0]
		if r["givenName"] != tricky || r["company"] != "Acme, Inc." || r["birthday"] != "1990-02-03" || r["familyName"] != "" || r["introducedById"] != "" {
			t.Fatalf("row = %v", r)
		}
		// List cells hold the JSON arrays the API returns.
		for _, f := range []string{"emails", "phones", "tags"} {
			var got any
			if err := json.Unmarshal([]byte(r[f]), &got); err != nil {
				t.Fatalf("%s cell %q is not JSON: %v", f, r[f], err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c[f]) {
				t.Fatalf("%s = %v, want %v", f, got, c[f])
			}
		}
		for _, f := range []string{"createdAt", "updatedAt"} {
			got, err := time.Parse(time.RFC3339Nano, r[f])
			want, _ := time.Parse(time.RFC3339Nano, c[f].(string))
			if err != nil || !got.Equal(want) {
				t.Fatalf("%s = %q, want %v", f, r[f], c[f])
			}
		}
	})
	t.Run("notes", func(t *testing.T) {
		body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv&resource=notes", a.Key, nil), "text/csv; charset=utf-8", "-notes.csv")
		header, rows := readCSV(t, body)
		if strings.Join(header, ",") != "id,contactId,body,createdAt,updatedAt" {
			t.Fatalf("header = %v", header)
		}
		if len(rows) != 1 || rows[0]["id"] != n["id"] || rows[0]["contactId"] != c["id"] || rows[0]["body"] != noteBody {
			t.Fatalf("rows = %q", rows)
		}
	})
}

func TestExport_CSVFormulaNeutralisation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	bodies := []string{
		"=HYPERLINK(\"http://evil.example\",\"x\")",
		"+1+2",
		"-2+3",
		"@SUM(A1:A2)",
		"\t=1+1",
		"\r=1+1",
		"'already quoted",
		"safe = text",
		"1+1",
	}
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "=cmd|' /C calc'!A0", "company": "-Acme"})["id"].(string)
	for _, b := range bodies {
		s.createNote(t, a.Key, cid, b)
	}
	_, notes := readCSV(t, exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv&resource=notes", a.Key, nil), "text/csv; charset=utf-8", "-notes.csv"))
	if len(notes) != len(bodies) {
		t.Fatalf("%d rows, want %d", len(notes), len(bodies))
	}
	for i, want := range bodies {
		got := notes[i]["body"]
		neutralised := strings.ContainsRune("=+-@\t\r'", rune(want[0]))
		if neutralised && got != "'"+want {
			t.Errorf("body %q exported as %q, want a ' in front", want, got)
		}
		if !neutralised && got != want {
			t.Errorf("body %q exported as %q, want it unchanged", want, got)
		}
		if unneutralize(got) != want {
			t.Errorf("dropping one leading ' from %q does not give back %q", got, want)
		}
	}
	_, contacts := readCSV(t, exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv&resource=contacts", a.Key, nil), "text/csv; charset=utf-8", "-contacts.csv"))
	if contacts[0]["givenName"] != "'=cmd|' /C calc'!A0" || contacts[0]["company"] != "'-Acme" {
		t.Fatalf("contact cells not neutralised: %q", contacts[0])
	}
}

func TestExport_CSVZip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.newTenant(t), s.newTenant(t)
	cid := s.createContact(t, a.Key, map[string]any{"givenName": "Ada"})["id"].(string)
	s.createNote(t, a.Key, cid, "hello, world")
	s.createNote(t, b.Key, s.createContact(t, b.Key, map[string]any{"givenName": "Bob"})["id"].(string), "B's")

	body := exportedFile(t, s.do(t, http.MethodGet, "/api/v1/export?format=csv", a.Key, nil), "application/zip", ".zip")
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	if len(zr.File) != 2 || zr.File[0].Name != "contacts.csv" || zr.File[1].Name != "notes.csv" {
		t.Fatalf("zip holds %v", zr.File)
	}
	read := func(f *zip.File) []byte {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc) // also checks the CRC
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		return b
	}
	ch, contacts := readCSV(t, read(zr.File[0]))
	nh, notes := readCSV(t, read(zr.File[1]))
	if ch[0] != "id" || ch[1] != "givenName" || len(contacts) != 1 || contacts[0]["givenName"] != "Ada" {
		t.Fatalf("contacts.csv: %v %v", ch, contacts)
	}
	if nh[1] != "contactId" || len(notes) != 1 || notes[0]["body"] != "hello, world" || notes[0]["contactId"] != cid {
		t.Fatalf("notes.csv: %v %v", nh, notes)
	}
}

func TestExport_Errors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	for _, q := range []string{"?format=xml", "?format=CSV", "?format=csv&resource=tags", "?resource=accounts", "?since=2020-01-01T00:00:00Z"} {
		t.Run(q, func(t *testing.T) {
			res := s.do(t, http.MethodGet, "/api/v1/export"+q, a.Key, nil)
			fieldErrors(t, res)
			if res.Header.Get("Content-Disposition") != "" {
				t.Fatalf("an error is not an attachment: %v", res.Header)
			}
		})
	}
	wantError(t, s.do(t, http.MethodGet, "/api/v1/export", "", nil), http.StatusUnauthorized, "Missing Authorization header")
}

// TestExport_DisconnectStopsQuery starts a large export, reads a little and
// hangs up: the server must cancel the query and release the connection.
func TestExport_DisconnectStopsQuery(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	ctx := context.Background()
	seedAccount(t, s, a, 10_000, 0, 4000) // 40 MB: far more than socket buffers hold

	busy := func() int {
		t.Helper()
		var n int
		err := s.Store.DB.NewRaw(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND (state IN ('active', 'idle in transaction') OR xact_start IS NOT NULL)`).Scan(ctx, &n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/export?format=csv&resource=contacts", nil)
	req.Header.Set("Authorization", "Bearer "+a.Key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if n := busy(); n != 1 {
		t.Fatalf("%d busy backends while the export streams, want 1", n)
	}
	// Closing an unfinished body closes the connection.
	res.Body.Close()
	eventually(t, 10*time.Second, func() error {
		if n := busy(); n != 0 {
			return fmt.Errorf("the export's query is still running after the client left (%d busy backends)", n)
		}
		return nil
	})
}

// seedAccount gives the tenant n contacts and m notes (spread over the
// contacts) in two INSERT … SELECT statements. A pad > 0 makes each
// contact's jobTitle that long, for tests that need many bytes from few rows.
func seedAccount(t testing.TB, s *testServer, a tenant, contacts, notes, pad int) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Store.DB.ExecContext(ctx, `
		INSERT INTO contacts (account_id, given_name, family_name, company, job_title, emails, phones, tags, birthday, created_at)
		SELECT ?, 'Given ' || i, 'Family, "' || i || '"', 'Company ' || (i % 100),
			CASE WHEN ? > 0 THEN repeat('x', ?) ELSE 'Job ' || i END,
			jsonb_build_array(jsonb_build_object('value', 'p' || i || '@example.com', 'label', 'work')),
			jsonb_build_array(jsonb_build_object('value', '+44 20 7946 ' || i, 'label', 'mobile')),
			ARRAY['tag' || (i % 10), 'friends'], date '1980-01-01' + (i % 10000),
			timestamptz '2026-01-01' + i * interval '1 second'
		FROM generate_series(1, ?) AS i`, a.Account.ID, pad, pad, contacts)
	if err != nil {
		t.Fatalf("seed contacts: %v", err)
	}
	if notes == 0 {
		return
	}
	_, err = s.Store.DB.ExecContext(ctx, `
		WITH c AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS rn FROM contacts WHERE account_id = ?)
		INSERT INTO notes (account_id, contact_id, body, created_at)
		SELECT ?, c.id, 'Note ' || i || E': met for coffee, talked about "engines".\nFollow up next week.',
			timestamptz '2026-06-01' + i * interval '1 second'
		FROM generate_series(1, ?) AS i JOIN c ON c.rn = 1 + (i % ?)`,
		a.Account.ID, a.Account.ID, notes, contacts)
	if err != nil {
		t.Fatalf("seed notes: %v", err)
	}
}

// TestExport_FailureMidStreamBreaksTransfer makes the notes query fail after
// the contacts have started streaming: the status is already 200, so the
// server must break the transfer rather than end a truncated file cleanly.
func TestExport_FailureMidStreamBreaksTransfer(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	seedAccount(t, s, a, 10_000, 0, 4000) // 40 MB: far more than socket buffers hold

	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/export?format=json", nil) // uncompressed: the server blocks on a full socket long before notes
	req.Header.Set("Authorization", "Bearer "+a.Key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	wantStatus(t, &response{Status: res.StatusCode}, http.StatusOK)
	if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	// The export has not reached notes yet, so it holds no lock on them.
	if _, err := s.Store.DB.ExecContext(context.Background(), "ALTER TABLE notes RENAME TO notes_gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Fatal("the body ended cleanly although the export failed half-way")
	}
}

// Exports hold a database connection while their client reads, so only a
// few run at once; the rest of the API keeps working meanwhile.
func TestExport_ConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	seedAccount(t, s, a, 10_000, 0, 4000) // 40 MB: far more than socket buffers hold

	start := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/export?format=csv&resource=contacts", nil)
		req.Header.Set("Authorization", "Bearer "+a.Key)
		// Each export on its own connection, as separate clients would be.
		res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var stalled []*http.Response
	for range 2 {
		res := start()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("export: %d", res.StatusCode)
		}
		if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, res) // started, and no longer read
	}

	third := start()
	body, _ := io.ReadAll(third.Body)
	third.Body.Close()
	if third.StatusCode != http.StatusServiceUnavailable || third.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"error"`) {
		t.Fatalf("third export: %d, Retry-After %q, body %s", third.StatusCode, third.Header.Get("Retry-After"), body)
	}
	wantStatus(t, s.do(t, http.MethodGet, "/api/v1/contacts?limit=1", a.Key, nil), http.StatusOK)

	stalled[0].Body.Close() // one client gives up: its slot comes back
	eventually(t, 10*time.Second, func() error {
		res := start()
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("no export slot freed after a client left (last status %d)", res.StatusCode)
		}
		return nil
	})
	stalled[1].Body.Close()
}
