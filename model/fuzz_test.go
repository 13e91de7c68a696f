package model

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseDate: a date is accepted only in the one form it is written
// back in, so what is stored is what was sent.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1815-12-10", "2024-02-29", "2023-02-29", "2023-02-30", "0000-01-01", "9999-12-31",
		"2024-1-01", "2024-01-1", "+2024-01-01", "2024-01-01T00:00:00Z", " 2024-01-01", "2024-13-01", "２０２４-01-01", "",
		"--12-09", "--02-29", "--02-30", "--1-09", "--12-9", "-12-09", "--12-09Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) reads back as %q", s, d.String())
		}
		b, _ := json.Marshal(d)
		var back Date
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Fatalf("JSON round trip of %q: %s, %v", s, b, err)
		}
	})
}

// FuzzWellFormedKey: WellFormedKey accepts exactly prefix + 32 base62 +
// the checksum of those 32, and never panics.
func FuzzWellFormedKey(f *testing.F) {
	f.Add(NewAPIKeySecret())
	f.Add("rmy_")
	f.Add("rmy_" + strings.Repeat("A", 38))
	f.Add(strings.Repeat("x", KeyLength))
	f.Add("rmy_é" + strings.Repeat("A", 36))
	f.Fuzz(func(t *testing.T, s string) {
		got := WellFormedKey(s)
		want := len(s) == KeyLength && strings.HasPrefix(s, KeyPrefix) &&
			strings.Trim(s[len(KeyPrefix):], base62) == "" &&
			checksum([]byte(s[len(KeyPrefix):len(KeyPrefix)+keyRandomLen])) == s[len(KeyPrefix)+keyRandomLen:]
		if got != want {
			t.Fatalf("WellFormedKey(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzKeyChecksum: from any 32 base62 characters a well-formed key is
// built, and any one substituted character makes it ill-formed (the
// checksum catches every single-character typo).
func FuzzKeyChecksum(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuv"), uint8(3), uint8(7))
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, pos, sub uint8) {
		random := make([]byte, keyRandomLen)
		for i := range random {
			var c byte
			if i < len(raw) {
				c = raw[i]
			}
			random[i] = base62[int(c)%len(base62)]
		}
		key := KeyPrefix + string(random) + checksum(random)
		if !WellFormedKey(key) {
			t.Fatalf("built key %q is not well formed", key)
		}
		i := len(KeyPrefix) + int(pos)%(KeyLength-len(KeyPrefix))
		c := base62[int(sub)%len(base62)]
		if c == key[i] {
			return
		}
		typo := key[:i] + string(c) + key[i+1:]
		if WellFormedKey(typo) {
			t.Fatalf("typo at %d not caught: %q -> %q", i, key, typo)
		}
	})
}

// FuzzContactNormalize: whatever the fields, Normalize either refuses the
// contact or leaves it in its stored form: trimmed, no NUL, tags lower-case
// and unique, lists not nil.
func FuzzContactNormalize(f *testing.F) {
	f.Add("Ada", "  Lovelace ", "a@example.com", "+44", "Friends", "friends")
	f.Add("", "", "", "", "", "")
	f.Add("\x00", "x", "Ada <a@b.co>", " ", "İ", "i̇")
	f.Fuzz(func(t *testing.T, given, family, email, phone, tag1, tag2 string) {
		c := &Contact{GivenName: &given, FamilyName: &family, Tags: []string{tag1, tag2}}
		if email != "" {
			c.Emails = []LabeledValue{{Value: email}}
		}
		if phone != "" {
			c.Phones = []LabeledValue{{Value: phone}}
		}
		if err := c.Normalize(); err != nil {
			return
		}
		for _, p := range []*string{c.GivenName, c.FamilyName} {
			if p != nil && (*p != strings.TrimSpace(*p) || *p == "" || strings.ContainsRune(*p, 0)) {
				t.Fatalf("stored name %q", *p)
			}
		}
		seen := map[string]bool{}
		for _, tag := range c.Tags {
			if tag != strings.ToLower(strings.TrimSpace(tag)) || tag == "" || seen[tag] || strings.ContainsRune(tag, 0) {
				t.Fatalf("stored tags %q", c.Tags)
			}
			seen[tag] = true
		}
		if c.Emails == nil || c.Phones == nil || c.Tags == nil {
			t.Fatal("nil list after Normalize")
		}
	})
}
