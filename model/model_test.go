package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestNewAPIKeySecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		k := NewAPIKeySecret()
		if !strings.HasPrefix(k, "rmy_") || len(k) != KeyLength || len(k)-len("rmy_") < 32 {
			t.Fatalf("bad key %q", k)
		}
		if !WellFormedKey(k) {
			t.Fatalf("own key %q not well formed", k)
		}
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
		// Any single-character change breaks the checksum.
		b := []byte(k)
		i := len("rmy_") + len(seen)%keyRandomLen
		b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
		if WellFormedKey(string(b)) {
			t.Fatalf("tampered key %q accepted", b)
		}
	}
	for _, bad := range []string{"", "rmy_", "rmy_short", "xyz_" + strings.Repeat("a", 38), "rmy_" + strings.Repeat("!", 38)} {
		if WellFormedKey(bad) {
			t.Errorf("WellFormedKey(%q) = true", bad)
		}
	}
}

func TestContactNormalize(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	c := &Contact{GivenName: s("  Ada "), FamilyName: s("   "), Tags: []string{" B", "b", "A ", "a", "c"}}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if *c.GivenName != "Ada" || c.FamilyName != nil || fmt.Sprint(c.Tags) != "[b a c]" || c.Emails == nil || c.Phones == nil {
		t.Fatalf("normalized: %+v", c)
	}

	empty := &Contact{JobTitle: s("CEO")}
	var verr *ValidationError
	if err := empty.Normalize(); !errors.As(err, &verr) || len(verr.Form) != 1 {
		t.Fatalf("want a form error, got %v", err)
	}
	onlyEmail := &Contact{Emails: []LabeledValue{{Value: "a@example.com"}}}
	if err := onlyEmail.Normalize(); err != nil {
		t.Fatalf("an email alone identifies a contact: %v", err)
	}
}

func TestContactPatchApply(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	c := &Contact{GivenName: s("Ada"), Company: s("Engines"), Tags: []string{"x"}}
	changes, err := ContactPatch{
		Values: Contact{Nickname: s("Countess"), Tags: []string{"x"}},
		// givenName is cleared; tags are the same as before: not a change.
		Set: []string{"givenName", "nickname", "tags"},
	}.Apply(c)
	if err != nil {
		t.Fatal(err)
	}
	if c.GivenName != nil || *c.Nickname != "Countess" || *c.Company != "Engines" {
		t.Fatalf("after apply: %+v", c)
	}
	if len(changes) != 2 || changes["givenName"].After != (*string)(nil) || changes["tags"] != (Change{}) {
		t.Fatalf("changes = %v", changes)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"2024-02-29", "1815-12-10", "--12-09", "--02-29"} {
		if d, err := ParseDate(ok); err != nil || d.String() != ok {
			t.Errorf("ParseDate(%q) = %q, %v", ok, d, err)
		}
	}
	for _, bad := range []string{"2023-02-29", "2023-13-01", "10/12/1815", "", "2023-1-1", "--02-30", "--13-01", "--1-09", "---12-09", "--12-09-"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

// TestDate_Stored: a date without a year is kept as a date in 5 BC, which
// reads back without its year whichever form the driver hands it in; full
// dates are stored as they always were.
func TestDate_Stored(t *testing.T) {
	t.Parallel()
	for written, stored := range map[string]string{
		"--12-09": "0005-12-09 BC", "--02-29": "0005-02-29 BC",
		"1815-12-10": "1815-12-10", "0000-01-01": "0001-01-01 BC",
	} {
		d, err := ParseDate(written)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := d.Value(); v != stored {
			t.Errorf("%s is stored as %v, want %s", written, v, stored)
		}
		for _, src := range []any{stored, []byte(stored), d.Time} {
			var back Date
			if err := back.Scan(src); err != nil || back != d || back.String() != written {
				t.Errorf("Scan(%#v) = %s, %v; want %s", src, back, err, written)
			}
		}
		if d.HasYear() != !strings.HasPrefix(written, "--") {
			t.Errorf("%s: HasYear() = %v", written, d.HasYear())
		}
	}
}

func TestContactNormalize_AddressesAndURLs(t *testing.T) {
	t.Parallel()
	c := &Contact{GivenName: new("Ada"),
		Addresses: []Address{{Label: " home ", Street: " 12 St James's Square\nLondon \n", Country: "UK "}},
		URLs:      []LabeledValue{{Value: " https://example.com/ada ", Label: " blog "}, {Value: "HTTP://Example.org:8080/a?b#c"}},
	}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := Address{Label: "home", Street: "12 St James's Square\nLondon", Country: "UK"}
	if c.Addresses[0] != want || c.URLs[0] != (LabeledValue{Value: "https://example.com/ada", Label: "blog"}) {
		t.Fatalf("not trimmed: %+v %+v", c.Addresses, c.URLs)
	}
	if c := (&Contact{GivenName: new("Ada")}); c.Normalize() != nil || c.Addresses == nil || c.URLs == nil {
		t.Fatalf("lists of a contact without them: %#v %#v", c.Addresses, c.URLs)
	}

	bad := []struct {
		name  string
		c     Contact
		field string
		msg   string
	}{
		{"label only", Contact{Addresses: []Address{{City: "Paris"}, {Label: "home", Street: " \n "}}}, "addresses", "addresses[1] needs at least one of street, city, region, postalCode or country"},
		{"NUL in an address", Contact{Addresses: []Address{{City: "Pa\x00ris"}}}, "addresses", MsgNUL},
		{"NUL in a URL", Contact{URLs: []LabeledValue{{Value: "https://a.b/\x00"}}}, "urls", MsgNUL},
		{"NUL in a URL's label", Contact{URLs: []LabeledValue{{Value: "https://a.b/", Label: "\x00"}}}, "urls", MsgNUL},
		{"too long", Contact{URLs: []LabeledValue{{Value: "https://a.b/" + strings.Repeat("x", MaxURLLength-11)}}}, "urls", "urls[0].value must be at most 2048 characters"},
	}
	for _, v := range []string{"", "example.com", "/relative", "//example.com/x", "mailto:ada@example.com", "javascript:alert(1)", "ftp://example.com", "http://", "http://:80", "https:example.com", "http://exa mple.com"} {
		bad = append(bad, struct {
			name  string
			c     Contact
			field string
			msg   string
		}{v, Contact{URLs: []LabeledValue{{Value: v}}}, "urls", "urls[0].value must be an absolute http:// or https:// URL"})
	}
	for _, tt := range bad {
		tt.c.GivenName = new("Ada")
		var verr *ValidationError
		if err := tt.c.Normalize(); !errors.As(err, &verr) || !slices.Contains(verr.Fields[tt.field], tt.msg) {
			t.Errorf("%s: Normalize() = %v, want %s: %q", tt.name, err, tt.field, tt.msg)
		}
	}
	ok := &Contact{GivenName: new("Ada"), URLs: []LabeledValue{{Value: "https://a.b/" + strings.Repeat("x", MaxURLLength-12)}}}
	if err := ok.Normalize(); err != nil {
		t.Errorf("a URL of %d characters: %v", MaxURLLength, err)
	}
}
