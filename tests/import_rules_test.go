package tests

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/remy-crm/remy/model"
)

// dupFile is five cards against an account holding existing (see
// seedExisting): 0 shares its email (in another case), 1 its phone number
// (written another way), 2 is new, 3 repeats 2's email, 4 breaks a rule.
var dupFile = card(
	"BEGIN:VCARD", "VERSION:3.0", "FN:Dup", "N:;Dup;;;", "EMAIL:DUP@example.com", "ORG:NewCo", "CATEGORIES:new", "NOTE:n0", "END:VCARD",
	"BEGIN:VCARD", "VERSION:3.0", "FN:Phone", "N:;Phone;;;", "TEL:+1 415 555 0123", "TITLE:CTO", "END:VCARD",
	"BEGIN:VCARD", "VERSION:3.0", "FN:Fresh", "N:;Fresh;;;", "EMAIL:fresh@example.com", "NOTE:n2", "END:VCARD",
	"BEGIN:VCARD", "VERSION:3.0", "FN:Fresh", "N:;Fresh;;;", "NICKNAME:Freshie", "EMAIL:FRESH@example.com", "NOTE:n3", "END:VCARD",
	"BEGIN:VCARD", "VERSION:3.0", "FN:Broken", "N:;Broken;;;", "EMAIL:not an email", "END:VCARD")

// seedExisting is the contact dupFile's first two cards duplicate.
func seedExisting(t testing.TB, s *testServer, key string) string {
	t.Helper()
	return s.createContact(t, key, map[string]any{"givenName": "Existing", "tags": []any{"old"},
		"emails": []any{lv("dup@example.com", "work")}, "phones": []any{lv("(415) 555-0123", "")}})["id"].(string)
}

// statuses lists the results' statuses.
func statuses(r importReport) []string {
	var out []string
	for _, x := range r.Results {
		out = append(out, x.Status)
	}
	return out
}

// footprint is what an account holds: contacts, notes, Activity Log
// entries, feed events, and the list's total (its counter).
func (s *testServer) footprint(t testing.TB, key string, accountID any) [5]int {
	t.Helper()
	var n [5]int
	for i, table := range []string{"contacts", "notes", "activity_log", "events"} {
		if err := s.Store.DB.NewRaw("SELECT count(*) FROM "+table+" WHERE account_id = ?", accountID).Scan(context.Background(), &n[i]); err != nil {
			t.Fatal(err)
		}
	}
	n[4] = int(s.do(t, http.MethodGet, "/api/v1/contacts?limit=1", key, nil).JSON(t)["total"].(float64))
	if n[4] != n[0] {
		t.Fatalf("the list's total is %d, the account has %d contacts", n[4], n[0])
	}
	return n
}

func TestImport_OnDuplicate(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tt := range []struct {
		mode   string
		want   []string
		counts [4]int // created, merged, skipped, failed
	}{
		{"skip", []string{"skipped", "skipped", "created", "skipped", "failed"}, [4]int{1, 0, 3, 1}},
		{"merge", []string{"merged", "merged", "created", "merged", "failed"}, [4]int{1, 3, 0, 1}},
		{"create", []string{"created", "created", "created", "created", "failed"}, [4]int{4, 0, 0, 1}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			a := s.newTenant(t)
			existing := seedExisting(t, s, a.Key)
			before := s.footprint(t, a.Key, a.Account.ID)
			dry := s.imported(t, a.Key, "text/vcard", dupFile, "?dryRun=true&onDuplicate="+tt.mode, http.StatusOK)
			if after := s.footprint(t, a.Key, a.Account.ID); after != before {
				t.Fatalf("a dry run wrote: %v → %v", before, after)
			}
			rep := s.imported(t, a.Key, "text/vcard", dupFile, "?onDuplicate="+tt.mode, http.StatusCreated)
			for _, r := range []importReport{dry, rep} {
				if got := statuses(r); !slices.Equal(got, tt.want) || [4]int{r.Created, r.Merged, r.Skipped, r.Failed} != tt.counts {
					t.Fatalf("statuses %v %+v, want %v %v", got, r, tt.want, tt.counts)
				}
			}
			if dry.Results[2].ID != "" || rep.Results[2].ID == "" {
				t.Fatalf("a dry run names no new contact, a real one does: %q, %q", dry.Results[2].ID, rep.Results[2].ID)
			}
			wantDuplicates(t, s, a, tt.mode, existing, rep)
		})
	}
}

// wantDuplicates checks what each mode did to the existing contact and
// to the file's own duplicate.
func wantDuplicates(t *testing.T, s *testServer, a tenant, mode, existing string, rep importReport) {
	t.Helper()
	key := a.Key
	fresh := rep.Results[2].ID
	switch mode {
	case "skip":
		for i, dupOf := range []string{existing, existing, "", fresh} {
			if rep.Results[i].DuplicateOf != dupOf && i != 2 {
				t.Errorf("result %d duplicateOf = %q, want %q", i, rep.Results[i].DuplicateOf, dupOf)
			}
		}
		if rep.Results[3].DuplicateOfIndex == nil || *rep.Results[3].DuplicateOfIndex != 2 || rep.Results[0].DuplicateOfIndex != nil {
			t.Errorf("duplicateOfIndex: %+v", rep.Results)
		}
		wantFields(t, "skipped into", s.contact(t, key, existing), map[string]any{"company": nil, "tags": []any{"old"}})
	case "merge":
		if rep.Results[0].ID != existing || rep.Results[1].ID != existing || rep.Results[3].ID != fresh {
			t.Errorf("merged into: %+v", rep.Results)
		}
		wantFields(t, "merged into", s.contact(t, key, existing), map[string]any{"givenName": "Existing", "company": "NewCo",
			"jobTitle": "CTO", "tags": []any{"old", "new"}, "emails": []any{lv("dup@example.com", "work")}})
		wantFields(t, "merged in the file", s.contact(t, key, fresh), map[string]any{"nickname": "Freshie",
			"emails": []any{lv("fresh@example.com", "")}})
		if n := s.noteBodies(t, key, existing); !slices.Equal(n, []string{"n0"}) {
			t.Errorf("existing notes %q", n)
		}
		if n := s.noteBodies(t, key, fresh); !slices.Equal(n, []string{"n2", "n3"}) {
			t.Errorf("fresh notes %q", n)
		}
	case "create":
		s.wantContacts(t, a.Account.ID, 5)
	}
}

func TestImport_PartialFailures(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	file := card(
		"BEGIN:VCARD", "VERSION:3.0", "FN:Good", "N:;Good;;;", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "N:;"+strings.Repeat("x", 101)+";;;", "EMAIL:a@b.example", "BDAY:1999-02-30", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "ORG:", "NOTE:orphan", "END:VCARD",
		"BEGIN:VCARD", "VERSION:2.1", "FN:Old", "N:;Old;;;", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "FN:Nul", "N:;N\x00ul;;;", "END:VCARD",
		"BEGIN:VCARD", "VERSION:3.0", "FN:Url", "N:;Url;;;", "URL:javascript:alert(1)", "END:VCARD",
		"BEGIN:VCARD", "VERSION:4.0", "FN:Also good", "END:VCARD")
	rep := s.imported(t, a.Key, "text/vcard", file, "", http.StatusCreated)
	if got := statuses(rep); !slices.Equal(got, []string{"created", "failed", "failed", "failed", "failed", "failed", "created"}) {
		t.Fatalf("statuses = %v", got)
	}
	for i, want := range map[int][]string{1: {"givenName", "birthday"}, 5: {"urls"}} {
		fe := rep.Results[i].Details["fieldErrors"].(map[string]any)
		for _, field := range want {
			if fe[field] == nil {
				t.Errorf("result %d: no fieldErrors.%s: %v", i, field, rep.Results[i].Details)
			}
		}
		if rep.Results[i].Error != "Validation failed" {
			t.Errorf("result %d error = %q", i, rep.Results[i].Error)
		}
	}
	for i, want := range map[int]string{2: "at least one of", 3: `version "2.1"`, 4: "NUL"} {
		if form := fmt.Sprint(rep.Results[i].Details["formErrors"]); !strings.Contains(form, want) {
			t.Errorf("result %d formErrors = %s, want %q", i, form, want)
		}
	}
	if n := s.footprint(t, a.Key, a.Account.ID); n[0] != 2 || n[1] != 0 {
		t.Fatalf("contacts, notes = %d, %d; want 2, 0", n[0], n[1])
	}
}

// A database error in the middle of an import (a trigger that raises on one
// row of the bulk insert, or on the notes written after the contacts)
// leaves nothing: no contact, note, entry or event, and the list's total
// unchanged.
func TestImport_DatabaseErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	for _, stmt := range []string{
		`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.given_name = 'Boom' OR NEW.body = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER boom BEFORE INSERT ON contacts FOR EACH ROW WHEN (NEW.given_name = 'Boom') EXECUTE FUNCTION boom()`,
		`CREATE TRIGGER boom BEFORE INSERT ON notes FOR EACH ROW WHEN (NEW.body = 'boom') EXECUTE FUNCTION boom()`,
	} {
		if _, err := s.Store.DB.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	a := s.newTenant(t)
	existing := seedExisting(t, s, a.Key)
	before := s.footprint(t, a.Key, a.Account.ID)
	for name, file := range map[string]string{
		"a contact": card("BEGIN:VCARD", "VERSION:3.0", "N:;Fine;;;", "NOTE:fine", "END:VCARD",
			"BEGIN:VCARD", "VERSION:3.0", "N:;Boom;;;", "END:VCARD"),
		"a note after a merge": card("BEGIN:VCARD", "VERSION:3.0", "N:;Fine;;;", "NOTE:fine", "END:VCARD",
			"BEGIN:VCARD", "VERSION:3.0", "N:;Dup;;;", "EMAIL:dup@example.com", "ORG:Changed", "NOTE:boom", "END:VCARD"),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.importFile(t, a.Key, "text/vcard", file, "?onDuplicate=merge"), http.StatusInternalServerError, "Internal server error")
			if after := s.footprint(t, a.Key, a.Account.ID); after != before {
				t.Fatalf("a failed import left %v, before %v", after, before)
			}
			wantFields(t, "the merge target", s.contact(t, a.Key, existing), map[string]any{"company": nil})
		})
	}
}

func TestImport_HostileFiles(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	tooMany := strings.Repeat(card("BEGIN:VCARD", "VERSION:4.0", "FN:x", "END:VCARD"), model.MaxImportItems+1)
	huge := card("BEGIN:VCARD", "VERSION:4.0", "FN:x", "NOTE:"+strings.Repeat("x", 11<<20), "END:VCARD")
	for _, tt := range []struct {
		name, ctype, body, query string
		status                   int
		msg                      string
	}{
		{"garbage", "text/vcard", "hello, world\nthis is not a card\n", "", 400, "Malformed vCard: no card (BEGIN:VCARD … END:VCARD) found"},
		{"a property before BEGIN", "text/vcard", "garbage:yes\r\n", "", 400, "Malformed vCard: card 0: no BEGIN field found"},
		{"truncated card", "text/vcard", card("BEGIN:VCARD", "VERSION:3.0", "FN:Ok", "END:VCARD", "BEGIN:VCARD", "VERSION:3.0", "FN:Cut"), "", 400, "Malformed vCard: card 1: no END field found"},
		{"broken CSV quoting", "text/csv", "First Name,Last Name\n\"Ada,Lovelace\n", "", 400, ""},
		{"bare quote in CSV", "text/csv", "First Name,Last Name\nA\"da,Lovelace\n", "", 400, ""},
		{"invalid UTF-8 vCard", "text/vcard", card("BEGIN:VCARD", "VERSION:3.0", "FN:\xff\xfe", "END:VCARD"), "", 400, "Malformed vCard: the body is not valid UTF-8"},
		{"invalid UTF-8 CSV", "text/csv", "First Name\n\xc3\x28\n", "", 400, "Malformed CSV: the body is not valid UTF-8"},
		{"empty body", "text/vcard", "", "", 400, "Request body is required"},
		{"11 MiB", "text/vcard", huge, "", 413, "Request body too large: the limit is 10 MiB"},
		{"JSON", "application/json", `{"givenName":"Ada"}`, "", 415, "Unsupported Content-Type: send text/csv, text/vcard or text/x-vcard"},
		{"no header known", "text/csv", "Foo,Bar\n1,2\n", "", 422, "Validation failed"},
		{"too many cards", "text/vcard", tooMany, "", 422, "Validation failed"},
		{"unknown onDuplicate", "text/vcard", card("BEGIN:VCARD", "VERSION:3.0", "FN:Ok", "END:VCARD"), "?onDuplicate=replace", 422, "Validation failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := s.importFile(t, a.Key, tt.ctype, tt.body, tt.query)
			body := wantError(t, res, tt.status, tt.msg)
			if tt.status == 400 && tt.msg == "" && !strings.HasPrefix(body["error"].(string), "Malformed CSV: ") {
				t.Fatalf("error = %v", body["error"])
			}
			if tt.name == "no header known" && !strings.Contains(string(res.Body), "First Name") {
				t.Fatalf("the 422 does not say which columns it reads: %s", res.Body)
			}
		})
	}
	if n := s.footprint(t, a.Key, a.Account.ID); n != [5]int{} {
		t.Fatalf("hostile files wrote %v", n)
	}
}

// The import as the Activity Log, the feed and tenancy see it.
func TestImport_EventsAndTenancy(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, other := s.newTenant(t), s.newTenant(t)
	theirs := s.createContact(t, other.Key, map[string]any{"givenName": "Not yours"})["id"].(string)
	mine := s.createContact(t, a.Key, map[string]any{"givenName": "Mine"})["id"].(string)
	file := card(
		"BEGIN:VCARD", "VERSION:4.0", "UID:later", "FN:Introduced later", "X-REMY-INTRODUCED-BY:urn:uuid:"+theirs, "END:VCARD",
		"BEGIN:VCARD", "VERSION:4.0", "UID:b", "FN:By mine", "X-REMY-INTRODUCED-BY:urn:uuid:"+mine, "NOTE:hello", "END:VCARD",
		"BEGIN:VCARD", "VERSION:4.0", "UID:c", "FN:By a later card", "X-REMY-INTRODUCED-BY:d", "END:VCARD",
		"BEGIN:VCARD", "VERSION:4.0", "UID:d", "FN:Introducer", "X-REMY-INTRODUCED-BY:d", "END:VCARD")
	rep := s.imported(t, a.Key, "text/vcard", file, "", http.StatusCreated)
	id := func(i int) string { return rep.Results[i].ID }
	for i, want := range []any{nil, mine, id(3), nil} {
		if got := s.contact(t, a.Key, id(i))["introducedById"]; got != want {
			t.Errorf("card %d introducedById = %v, want %v", i, got, want)
		}
	}
	wantError(t, s.do(t, http.MethodGet, "/api/v1/contacts/"+id(0), other.Key, nil), http.StatusNotFound, "Contact not found")

	evs, _ := s.followN(t, a.Key, "", 6)
	evs = evs[1:] // Mine's
	var created []string
	for _, e := range evs {
		if e.Type == "contact.created" {
			obj := e.object(t)
			created = append(created, obj["id"].(string))
			if !sameJSON(obj, s.contact(t, a.Key, obj["id"].(string))) {
				t.Errorf("the event's snapshot differs from the contact: %v", obj)
			}
		}
	}
	if !slices.Equal(created, []string{id(0), id(1), id(2), id(3)}) {
		t.Fatalf("contact.created events for %v, want %v", created, []string{id(0), id(1), id(2), id(3)})
	}
	if types := eventTypes(evs); types[len(types)-1] != "note.created" || len(types) != 5 {
		t.Fatalf("event types %v", types)
	}
	entries, _ := s.activity(t, a.Key, "?limit=5", header{"User-Agent", "ignored"})
	for _, e := range entries {
		if e["apiKeyId"] != a.KeyID.String() || e["ip"] != "127.0.0.1" || e["userAgent"] != "Go-http-client/1.1" {
			t.Fatalf("entry does not name the caller: %v", e)
		}
	}
}

func TestImport_ScopesAndIdempotency(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	file := card("BEGIN:VCARD", "VERSION:3.0", "FN:Once", "N:;Once;;;", "END:VCARD")
	readOnly := s.newKey(t, a.Account.ID, model.ScopeContactsRead, model.ScopeExportRead)
	wantForbidden(t, s.importFile(t, readOnly, "text/vcard", file, ""), model.ScopeContactsWrite)

	key := header{"Idempotency-Key", "import-1"}
	first := s.importFile(t, a.Key, "text/vcard", file, "", key)
	wantStatus(t, first, http.StatusCreated)
	again := s.importFile(t, a.Key, "text/vcard", file, "", key)
	wantStatus(t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("the retry was not a replay: %s", again.Body)
	}
	fieldErrors(t, s.importFile(t, a.Key, "text/vcard", file+file, "", key))
	if n := s.footprint(t, a.Key, a.Account.ID); n[0] != 1 {
		t.Fatalf("%d contacts after a retried import, want 1", n[0])
	}
}

// Webhooks receive each imported contact, merged contact and note as the
// API shows it after the import, and the contact.updated its changes.
func TestImport_WebhookObjects(t *testing.T) {
	t.Parallel()
	s, rc, a := setupWebhooks(t, webhookOpts{})
	existing := seedExisting(t, s, a.Key)
	s.createWebhook(t, a.Key, rc.URL, "*")
	rep := s.imported(t, a.Key, "text/vcard", dupFile, "?onDuplicate=merge", http.StatusCreated)
	of := func(typ, id string) map[string]any {
		return hookObject(t, rc, func(e, o map[string]any) bool { return e["type"] == typ && o["id"] == id })
	}
	fresh := rep.Results[2].ID
	for typ, id := range map[string]string{"contact.created": fresh, "contact.updated": existing} {
		if o, now := of(typ, id), s.contact(t, a.Key, id); !sameJSON(o, now) {
			t.Errorf("%s object %v, want %v", typ, o, now)
		}
	}
	notes := s.do(t, http.MethodGet, "/api/v1/contacts/"+existing+"/notes", a.Key, nil).JSON(t)["data"].([]any)
	n := notes[0].(map[string]any)
	if o := of("note.created", n["id"].(string)); !sameJSON(o, n) {
		t.Errorf("note object %v, want %v", o, n)
	}
}
