package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// card joins the lines of a vCard file with CRLF, as vCard writers end
// them.
func card(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// importReport is the body of an import's answer.
type importReport struct {
	Created, Merged, Skipped, Failed int
	Results                          []struct {
		Index            int            `json:"index"`
		Status           string         `json:"status"`
		ID               string         `json:"id"`
		DuplicateOf      string         `json:"duplicateOf"`
		DuplicateOfIndex *int           `json:"duplicateOfIndex"`
		Error            string         `json:"error"`
		Details          map[string]any `json:"details"`
	}
}

// importFile posts body as contentType to the import (query is "" or
// "?…") and returns the answer.
func (c *client) importFile(t testing.TB, key, contentType, body, query string, headers ...header) *response {
	t.Helper()
	return c.do(t, http.MethodPost, "/api/v1/contacts/import"+query, key, body,
		append([]header{{"Content-Type", contentType}}, headers...)...)
}

// imported posts body and decodes the report, failing unless the status
// is status.
func (c *client) imported(t testing.TB, key, contentType, body, query string, status int) importReport {
	t.Helper()
	res := c.importFile(t, key, contentType, body, query)
	wantStatus(t, res, status)
	var out struct{ Data importReport }
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatalf("import answer: %v: %s", err, res.Body)
	}
	if len(out.Data.Results) != out.Data.Created+out.Data.Merged+out.Data.Skipped+out.Data.Failed {
		t.Fatalf("the counts do not add up to the results: %s", res.Body)
	}
	for i, r := range out.Data.Results {
		if r.Index != i {
			t.Fatalf("result %d has index %d: %s", i, r.Index, res.Body)
		}
	}
	return out.Data
}

// contact is GET /api/v1/contacts/{id}'s data.
func (c *client) contact(t testing.TB, key, id string) map[string]any {
	t.Helper()
	res := c.do(t, http.MethodGet, "/api/v1/contacts/"+id, key, nil)
	wantStatus(t, res, http.StatusOK)
	return res.Data(t)
}

// noteBodies are a contact's note bodies, oldest first.
func (c *client) noteBodies(t testing.TB, key, id string) []string {
	t.Helper()
	res := c.do(t, http.MethodGet, "/api/v1/contacts/"+id+"/notes?limit=100", key, nil)
	wantStatus(t, res, http.StatusOK)
	var out []string
	list := res.JSON(t)["data"].([]any)
	for i := len(list) - 1; i >= 0; i-- { // newest first
		out = append(out, list[i].(map[string]any)["body"].(string))
	}
	return out
}

func lv(value, label string) map[string]any { return map[string]any{"value": value, "label": label} }

func TestImport_AppleCard(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	apple := card(
		"BEGIN:VCARD",
		"VERSION:3.0",
		"PRODID:-//Apple Inc.//iPhone OS 17.5//EN",
		"N:Lovelace;Ada;Augusta;;",
		"FN:Ada Lovelace",
		"NICKNAME:Countess",
		"ORG:Analytical Engines;Research;",
		"TITLE:Programmer",
		"item1.EMAIL;type=INTERNET;type=pref:ada@example.com",
		"item1.X-ABLabel:_$!<Work>!$_",
		"EMAIL;type=INTERNET;type=HOME:ada@home.example",
		"TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0018",
		"item2.TEL:+44 20 7946 0019",
		"item2.X-ABLabel:studio",
		"item3.ADR;type=HOME;type=pref:;;12 St James's Square\\nFlat 3;London;;SW1Y 4LE;United Kingdom",
		"item3.X-ABADR:gb",
		"item4.URL;type=pref:https://example.com/ada",
		"item4.X-ABLabel:_$!<HomePage>!$_",
		"BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-10",
		"NOTE:Met at the Society.\\nWrote the first program.",
		"CATEGORIES:Math,Poetry",
		"END:VCARD")
	rep := s.imported(t, a.Key, "text/vcard", apple, "", http.StatusCreated)
	if rep.Created != 1 || rep.Results[0].Status != "created" || rep.Results[0].ID == "" {
		t.Fatalf("report: %+v", rep)
	}
	got := s.contact(t, a.Key, rep.Results[0].ID)
	wantFields(t, "apple", got, map[string]any{
		"givenName": "Ada Augusta", "familyName": "Lovelace", "nickname": "Countess",
		"company": "Analytical Engines", "jobTitle": "Programmer", "birthday": "--12-10",
		"emails": []any{lv("ada@example.com", "work"), lv("ada@home.example", "home")},
		"phones": []any{lv("+44 20 7946 0018", "cell"), lv("+44 20 7946 0019", "studio")},
		"addresses": []any{map[string]any{"label": "home", "street": "12 St James's Square\nFlat 3", "city": "London",
			"region": "", "postalCode": "SW1Y 4LE", "country": "United Kingdom"}},
		"urls": []any{lv("https://example.com/ada", "homepage")},
		"tags": []any{"math", "poetry"}, "introducedById": nil,
	})
	if notes := s.noteBodies(t, a.Key, rep.Results[0].ID); len(notes) != 1 || notes[0] != "Met at the Society.\nWrote the first program." {
		t.Fatalf("notes = %q", notes)
	}
}

func TestImport_GoogleCard(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	google := card(
		"BEGIN:VCARD",
		"VERSION:3.0",
		"FN:Grace Hopper",
		"N:Hopper;Grace;;;",
		"ORG:Remington Rand\\, Inc.",
		"EMAIL;TYPE=INTERNET;TYPE=WORK:grace@example.com",
		"TEL;TYPE=CELL:(415) 555-0123",
		"BDAY:--1209",
		"item1.URL:https\\://example.com/grace?a=1\\,2",
		"item1.X-ABLabel:Profile",
		"NOTE:Compilers\\, and nanoseconds\\; wire.",
		"CATEGORIES:myContacts,Navy,starred",
		"PRODID:-//Google Inc//Google Contacts//EN",
		"END:VCARD")
	rep := s.imported(t, a.Key, "text/x-vcard", google, "", http.StatusCreated)
	got := s.contact(t, a.Key, rep.Results[0].ID)
	wantFields(t, "google", got, map[string]any{
		"givenName": "Grace", "familyName": "Hopper", "company": "Remington Rand, Inc.", "birthday": "--12-09",
		"emails": []any{lv("grace@example.com", "work")}, "phones": []any{lv("(415) 555-0123", "cell")},
		"urls": []any{lv("https://example.com/grace?a=1,2", "Profile")}, "tags": []any{"navy"},
	})
	if notes := s.noteBodies(t, a.Key, rep.Results[0].ID); len(notes) != 1 || notes[0] != "Compilers, and nanoseconds; wire." {
		t.Fatalf("notes = %q", notes)
	}
}

func TestImport_V4FoldedNonASCII(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	// The family name is folded inside "ü" (two octets split across the
	// fold), and the note across a plain character: both unfold.
	v4 := card(
		"BEGIN:VCARD",
		"VERSION:4.0",
		"UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
		"FN:José Núñez-Müller",
		"N:Núñez-M\xc3",
		" \xbcller;José;;;",
		"EMAIL;TYPE=work:jose@example.es",
		"TEL;VALUE=uri;TYPE=\"cell,voice\":tel:+34-91-555-0100",
		"BDAY:19700101",
		"NOTE:Café con leche en la Plaza Mayor\\, siempre a las och",
		" o.",
		"END:VCARD")
	rep := s.imported(t, a.Key, "text/vcard; charset=utf-8", v4, "", http.StatusCreated)
	got := s.contact(t, a.Key, rep.Results[0].ID)
	wantFields(t, "4.0", got, map[string]any{
		"givenName": "José", "familyName": "Núñez-Müller", "birthday": "1970-01-01",
		"emails": []any{lv("jose@example.es", "work")}, "phones": []any{lv("+34-91-555-0100", "cell")},
	})
	if notes := s.noteBodies(t, a.Key, rep.Results[0].ID); len(notes) != 1 || notes[0] != "Café con leche en la Plaza Mayor, siempre a las ocho." {
		t.Fatalf("notes = %q", notes)
	}
}

// googleCSV is Google Contacts' current export: two emails (the primary
// one's label marked "* "), several labels in one cell, system groups, an
// address, and a row that breaks a rule.
const googleCSV = "First Name,Middle Name,Last Name,Nickname,Organization Name,Organization Title,Birthday,Notes,Labels," +
	"E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value," +
	"Address 1 - Label,Address 1 - Street,Address 1 - City,Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,Website 1 - Label,Website 1 - Value\r\n" +
	`Katherine,Coleman,Johnson,Katie,NASA,Mathematician,1918-08-26,"Computed trajectories,` + "\n" + `by hand.",Friends ::: * myContacts ::: Space ::: * starred,` +
	`* Work,kj@nasa.example,Home,katie@home.example ::: kcj@home.example,Mobile,+1 757 555 0100,` +
	`Home,"1 Langley Blvd` + "\n" + `Apt 2",Hampton,VA,23666,USA,Blog,https://example.com/kj` + "\r\n" +
	`Dorothy,,Vaughan,,,,--09-20,,,Work,not-an-email,,,,,,,,,,,,` + "\r\n"

func TestImport_GoogleCSV(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	rep := s.imported(t, a.Key, "text/csv", googleCSV, "", http.StatusCreated)
	if rep.Created != 1 || rep.Failed != 1 || rep.Results[1].Status != "failed" {
		t.Fatalf("report: %+v", rep)
	}
	if fe, _ := rep.Results[1].Details["fieldErrors"].(map[string]any); fe["emails"] == nil {
		t.Fatalf("the failed row does not name emails: %+v", rep.Results[1])
	}
	got := s.contact(t, a.Key, rep.Results[0].ID)
	wantFields(t, "google csv", got, map[string]any{
		"givenName": "Katherine Coleman", "familyName": "Johnson", "nickname": "Katie", "company": "NASA",
		"jobTitle": "Mathematician", "birthday": "1918-08-26",
		"emails": []any{lv("kj@nasa.example", "work"), lv("katie@home.example", "home"), lv("kcj@home.example", "home")},
		"phones": []any{lv("+1 757 555 0100", "mobile")},
		"addresses": []any{map[string]any{"label": "home", "street": "1 Langley Blvd\nApt 2", "city": "Hampton",
			"region": "VA", "postalCode": "23666", "country": "USA"}},
		"urls": []any{lv("https://example.com/kj", "blog")}, "tags": []any{"friends", "space"},
	})
	if notes := s.noteBodies(t, a.Key, rep.Results[0].ID); len(notes) != 1 || notes[0] != "Computed trajectories,\nby hand." {
		t.Fatalf("notes = %q", notes)
	}
}

func TestImport_GoogleLegacyCSV(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	legacy := "Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value\n" +
		"Mary Jackson,Mary,Jackson,* myContacts ::: Engineers,* Work,mary@nasa.example\n"
	rep := s.imported(t, a.Key, "text/csv", legacy, "", http.StatusCreated)
	wantFields(t, "legacy csv", s.contact(t, a.Key, rep.Results[0].ID), map[string]any{
		"givenName": "Mary", "familyName": "Jackson", "emails": []any{lv("mary@nasa.example", "work")}, "tags": []any{"engineers"},
	})
}
