package tests

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/remy-crm/remy/model"
)

// A second, independent reader of vCard, written from RFC 6350 for these
// tests and stricter than Remy's own: it refuses a line not ended by CRLF,
// longer than 75 octets or folded inside a UTF-8 sequence, and a value
// holding an escape other than \\ \n \, \; — so an export that a lenient
// reader would take is still caught.

// vProp is one property of a card, its value as written.
type vProp struct {
	Group, Name string
	Params      map[string][]string
	Raw         string
}

// strictCards reads a vCard file strictly, failing the test on any breach.
func strictCards(t testing.TB, b []byte) [][]vProp {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("the file does not end with CRLF")
	}
	var logical []string
	for i, line := range strings.Split(string(b[:len(b)-2]), "\r\n") {
		switch {
		case strings.ContainsAny(line, "\r\n"):
			t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
		case len(line) > 75:
			t.Fatalf("line %d is %d octets long: %q", i, len(line), line)
		case !utf8.ValidString(line):
			t.Fatalf("line %d is folded inside a UTF-8 sequence: %q", i, line)
		case strings.HasPrefix(line, " "):
			if len(logical) == 0 || len(line) == 1 {
				t.Fatalf("line %d: a continuation with nothing to continue: %q", i, line)
			}
			logical[len(logical)-1] += line[1:]
		default:
			logical = append(logical, line)
		}
	}
	var cards [][]vProp
	var cur []vProp
	for _, l := range logical {
		p := strictProp(t, l)
		switch {
		case p.Name == "BEGIN" && p.Raw == "VCARD" && cur == nil:
			cur = []vProp{}
		case cur == nil:
			t.Fatalf("%q outside a card", l)
		case p.Name == "END" && p.Raw == "VCARD":
			if len(cur) == 0 || cur[0].Name != "VERSION" {
				t.Fatalf("a card does not start with VERSION: %v", cur)
			}
			cards, cur = append(cards, cur), nil
		default:
			cur = append(cur, p)
		}
	}
	if cur != nil {
		t.Fatal("the last card has no END:VCARD")
	}
	return cards
}

var (
	propName   = regexp.MustCompile(`^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=[^;:"]*)*):(.*)$`)
	goodEscape = regexp.MustCompile(`\\(.)`)
)

// strictProp parses one unfolded content line; parameter values are never
// quoted in what Remy writes.
func strictProp(t testing.TB, l string) vProp {
	t.Helper()
	m := propName.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("not a content line: %q", l)
	}
	p := vProp{Group: m[1], Name: strings.ToUpper(m[2]), Params: map[string][]string{}, Raw: m[4]}
	for _, kv := range strings.Split(m[3], ";")[1:] {
		k, v, _ := strings.Cut(kv, "=")
		p.Params[strings.ToUpper(k)] = append(p.Params[strings.ToUpper(k)], strings.Split(v, ",")...)
	}
	for _, e := range goodEscape.FindAllStringSubmatch(strings.ReplaceAll(p.Raw, `\\`, ""), -1) {
		if !strings.Contains(`n,;`, e[1]) {
			t.Fatalf("%s: escape \\%s is not one of vCard's: %q", p.Name, e[1], p.Raw)
		}
	}
	if strings.HasSuffix(strings.ReplaceAll(p.Raw, `\\`, ""), `\`) {
		t.Fatalf("%s ends inside an escape: %q", p.Name, p.Raw)
	}
	return p
}

// vSplit cuts a value at each unescaped sep and unescapes the parts.
func vSplit(raw string, sep byte) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw):
			i++
			if raw[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(raw[i])
			}
		case c == sep:
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(parts, b.String())
}

// vText is a text value, unescaped; a raw ; or , in it is a breach (a
// writer must escape both in a text).
func vText(t testing.TB, p vProp) string {
	t.Helper()
	if len(vSplit(p.Raw, ';')) != 1 || len(vSplit(p.Raw, ',')) != 1 {
		t.Fatalf("%s holds an unescaped ; or ,: %q", p.Name, p.Raw)
	}
	return vSplit(p.Raw, 0)[0]
}

// props are the card's properties named name.
func props(c []vProp, name string) []vProp {
	var out []vProp
	for _, p := range c {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// roundTripSeed makes contacts that use every field, with text that needs
// every escape, long lines, accents and labels of every kind; the second is
// introduced by the first, the third by the second.
func roundTripSeed(t *testing.T, s *testServer, key string) []map[string]any {
	t.Helper()
	long := strings.Repeat("Ünïcödé, text; long\\enough to fold ", 4)
	first := s.createContact(t, key, map[string]any{
		"givenName": "Ada; \"Countess\"", "familyName": "Lovelace, Byron", "nickname": `A\B`,
		"company": "Engines; Ltd, Co", "jobTitle": long,
		"emails": []any{lv("ada@example.com", "work"), lv("ada2@example.com", "Work"), lv("ada3@example.com", "my, label; x"), lv("ada4@example.com", "")},
		"phones": []any{lv("+44 20 7946 0018", "cell"), lv("+44 20 7946 0019", "voice"), lv("555-0100", "")},
		"addresses": []any{map[string]any{"label": "home", "street": "12 St James's Square\nFlat 3; rear", "city": "London, City of",
			"region": "", "postalCode": "SW1Y 4LE", "country": "United Kingdom"}},
		"urls": []any{lv("https://example.com/a?b=1,2;c", "blog")}, "birthday": "1815-12-10",
		"tags": []any{"math", "a,b", "semi;colon"},
	})
	s.createNote(t, key, first["id"].(string), "First note.\nWith a second line; and a comma, and a \\.")
	s.createNote(t, key, first["id"].(string), long+long)
	second := s.createContact(t, key, map[string]any{"company": "Difference Engines", "birthday": "--02-29",
		"introducedById": first["id"]})
	third := s.createContact(t, key, map[string]any{"emails": []any{lv("x@example.com", "home")}, "nickname": "Ex",
		"introducedById": second["id"]})
	return []map[string]any{first, second, third}
}

func TestExport_VCardStrict(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, other := s.newTenant(t), s.newTenant(t)
	seeded := roundTripSeed(t, s, a.Key)
	s.createContact(t, other.Key, map[string]any{"givenName": "Someone else's"})
	for _, v := range []string{"2.1", "5.0", "3"} {
		fe, _ := fieldErrors(t, s.do(t, http.MethodGet, "/api/v1/export?format=vcard&version="+v, a.Key, nil))
		if fe["version"] == nil {
			t.Fatalf("version=%s: no fieldErrors.version: %v", v, fe)
		}
	}
	for _, version := range []string{"3.0", "4.0"} {
		t.Run(version, func(t *testing.T) {
			query := "?format=vcard"
			if version == "4.0" {
				query += "&version=4.0"
			}
			res := s.do(t, http.MethodGet, "/api/v1/export"+query, a.Key, nil)
			cards := strictCards(t, exportedFile(t, res, "text/vcard; charset=utf-8", ".vcf"))
			if len(cards) != len(seeded) {
				t.Fatalf("%d cards, want %d (the account's only)", len(cards), len(seeded))
			}
			c := cards[0]
			want := map[string]string{"VERSION": version, "UID": "urn:uuid:" + seeded[0]["id"].(string),
				"FN": "Ada; \"Countess\" Lovelace, Byron", "NICKNAME": `A\B`, "TITLE": seeded[0]["jobTitle"].(string)}
			for name, w := range want {
				if got := vText(t, props(c, name)[0]); got != w {
					t.Errorf("%s = %q, want %q", name, got, w)
				}
			}
			if n := vSplit(props(c, "N")[0].Raw, ';'); !slices.Equal(n, []string{"Lovelace, Byron", "Ada; \"Countess\"", "", "", ""}) {
				t.Errorf("N = %q", n)
			}
			if adr := vSplit(props(c, "ADR")[0].Raw, ';'); !slices.Equal(adr, []string{"", "", "12 St James's Square\nFlat 3; rear", "London, City of", "", "SW1Y 4LE", "United Kingdom"}) {
				t.Errorf("ADR = %q", adr)
			}
			if cat := vSplit(props(c, "CATEGORIES")[0].Raw, ','); !slices.Equal(cat, []string{"math", "a,b", "semi;colon"}) {
				t.Errorf("CATEGORIES = %q", cat)
			}
			notes := props(c, "NOTE")
			if len(notes) != 2 || vText(t, notes[0]) != "First note.\nWith a second line; and a comma, and a \\." {
				t.Errorf("NOTE = %v", notes)
			}
			bday := map[string]string{"3.0": "1815-12-10", "4.0": "18151210"}[version]
			if got := props(c, "BDAY")[0].Raw; got != bday {
				t.Errorf("BDAY = %q, want %q", got, bday)
			}
			if got := props(cards[1], "BDAY")[0].Raw; got != "--0229" {
				t.Errorf("year-less BDAY = %q, want --0229", got)
			}
			if got := props(cards[1], "X-REMY-INTRODUCED-BY")[0].Raw; got != "urn:uuid:"+seeded[0]["id"].(string) {
				t.Errorf("introducer = %q", got)
			}
			wantLabels(t, c)
		})
	}
}

// wantLabels checks how the first seeded card states its labels:
// well-known ones as TYPE, others on an X-ABLabel of the value's group.
func wantLabels(t *testing.T, c []vProp) {
	t.Helper()
	label := func(p vProp) string {
		for _, l := range props(c, "X-ABLABEL") {
			if p.Group != "" && l.Group == p.Group {
				return "X-ABLabel:" + vText(t, l)
			}
		}
		return "TYPE=" + strings.Join(p.Params["TYPE"], ",")
	}
	var got []string
	for _, name := range []string{"EMAIL", "TEL"} {
		for _, p := range props(c, name) {
			got = append(got, name+" "+label(p))
		}
	}
	want := []string{"EMAIL TYPE=WORK", "EMAIL X-ABLabel:Work", "EMAIL X-ABLabel:my, label; x", "EMAIL TYPE=",
		"TEL TYPE=CELL", "TEL X-ABLabel:voice", "TEL TYPE="}
	if !slices.Equal(got, want) {
		t.Errorf("labels = %q, want %q", got, want)
	}
}

func TestImport_RoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	seeded := roundTripSeed(t, s, a.Key)
	for _, tt := range []struct{ name, query, contentType string }{
		{"vCard 3.0", "?format=vcard", "text/vcard"},
		{"vCard 4.0", "?format=vcard&version=4.0", "text/vcard"},
		{"Remy CSV", "?format=csv&resource=contacts", "text/csv"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := s.do(t, http.MethodGet, "/api/v1/export"+tt.query, a.Key, nil)
			wantStatus(t, file, http.StatusOK)
			b := s.newTenant(t)
			rep := s.imported(t, b.Key, tt.contentType, string(file.Body), "", http.StatusCreated)
			if rep.Created != len(seeded) {
				t.Fatalf("report: %+v", rep)
			}
			newID := map[string]string{}
			for i, c := range seeded {
				newID[c["id"].(string)] = rep.Results[i].ID
			}
			for i, want := range seeded {
				got := s.contact(t, b.Key, rep.Results[i].ID)
				for _, f := range model.ContactFields.Settable {
					w := want[f.JSON]
					if id, ok := w.(string); ok && f.JSON == "introducedById" {
						w = newID[id]
					}
					if !sameJSON(got[f.JSON], w) {
						t.Errorf("contact %d: %s = %#v, want %#v", i, f.JSON, got[f.JSON], w)
					}
				}
				if tt.contentType == "text/vcard" {
					old, now := s.noteBodies(t, a.Key, want["id"].(string)), s.noteBodies(t, b.Key, rep.Results[i].ID)
					if !slices.Equal(old, now) {
						t.Errorf("contact %d: notes %q, want %q", i, now, old)
					}
				}
			}
		})
	}
}

// Reading a card back does not depend on the order of its properties or
// on how its lines are folded: a fold after every octet still reads.
func TestImport_FoldedEverywhere(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	var b strings.Builder
	for _, line := range []string{"BEGIN:VCARD", "VERSION:4.0", "N:Dürer;Albrecht;;;", "FN:Albrecht Dürer", "END:VCARD"} {
		if strings.HasPrefix(line, "N:") {
			b.WriteString(line[:1])
			for i := 1; i < len(line); i++ {
				b.WriteString("\r\n ")
				b.WriteByte(line[i])
			}
			b.WriteString("\r\n")
			continue
		}
		b.WriteString(line + "\r\n")
	}
	rep := s.imported(t, a.Key, "text/vcard", b.String(), "", http.StatusCreated)
	wantFields(t, "folded", s.contact(t, a.Key, rep.Results[0].ID), map[string]any{"givenName": "Albrecht", "familyName": "Dürer"})
}
