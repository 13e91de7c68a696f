package contactfile

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// Any text Remy can store comes back from a card as it went in: as a
// plain text (NICKNAME), a component (ADR's street), a list value
// (CATEGORIES) and a NOTE, in lines of at most 75 octets ending in CRLF.
func FuzzVCardText(f *testing.F) {
	for _, s := range []string{"plain", `a\b`, "a,b;c", "line\nbreak", "Ünïcödé " + strings.Repeat("é", 60), `\n`, `\\;`, `trailing\`, "::\t:"} {
		f.Add(s, "tag, with; marks")
	}
	f.Fuzz(func(t *testing.T, text, tag string) {
		text, tag = strings.TrimSpace(text), strings.TrimSpace(tag)
		for _, s := range []string{text, tag} {
			if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r") {
				t.Skip("not a text Remy stores, or one vCard cannot hold (CR)")
			}
		}
		if strings.HasPrefix(tag, "* ") {
			t.Skip("a Google system group")
		}
		c := model.Contact{ID: uuid.New(), Nickname: &text, Tags: []string{tag},
			Addresses: []model.Address{{Street: text, City: "x"}}}
		for _, version := range VCardVersions {
			var b bytes.Buffer
			if err := NewVCardWriter(&b, version).Write(&c, []string{text}); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.SplitAfter(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
				if l := strings.TrimSuffix(line, "\r\n"); len(l) > 75 || strings.ContainsAny(l, "\r\n") || !utf8.ValidString(l) {
					t.Fatalf("%s: bad line %q", version, line)
				}
			}
			items, err := ReadVCard(b.Bytes(), 1)
			if err != nil {
				t.Fatalf("%s: %v\n%s", version, err, b.String())
			}
			got := items[0]
			if got.Contact.Nickname == nil || *got.Contact.Nickname != text || got.Contact.Addresses[0].Street != text ||
				len(got.Notes) != 1 || got.Notes[0] != text || len(got.Contact.Tags) != 1 || got.Contact.Tags[0] != tag {
				t.Fatalf("%s: read back %+v, notes %q, from\n%s", version, got.Contact, got.Notes, b.String())
			}
		}
	})
}

// A truncated or foreign file is refused whole; a card's own problems fail
// that card.
func TestReadVCard_Errors(t *testing.T) {
	for body, want := range map[string]string{
		"":                                   "no card",
		"BEGIN:VCARD\r\nFN:x\r\n":            "card 0: no END field found",
		"NOTE:x\r\n":                         "card 0: no BEGIN field found",
		"BEGIN:VCARD\r\nVERSION:3.0\xff\r\n": "not valid UTF-8",
	} {
		_, err := ReadVCard([]byte(body), 10)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	items, err := ReadVCard([]byte("BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nEND:VCARD\r\n"), 10)
	if err != nil || items[0].Err == nil {
		t.Fatalf("a 2.1 card: %v, %+v", err, items)
	}
}
