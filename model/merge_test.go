package model

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
)

func str(s string) *string { return &s }

func TestMergeContacts(t *testing.T) {
	t.Parallel()
	other, introducer := uuid.New(), uuid.New()
	target := Contact{ID: uuid.New(), GivenName: str("Ada"),
		Emails: []LabeledValue{{Value: "ada@example.com", Label: "work"}},
		Phones: []LabeledValue{{Value: "(415) 555-0123"}},
		Tags:   []string{"math"}}
	s1 := Contact{ID: uuid.New(), GivenName: str("Augusta"), FamilyName: str("King"), IntroducedByID: &target.ID,
		Emails: []LabeledValue{{Value: "ADA@example.com", Label: "home"}, {Value: "augusta@example.com"}},
		Phones: []LabeledValue{{Value: "+1 415 555 0123", Label: "mobile"}, {Value: "+44 20 7946 0958"}},
		Tags:   []string{"poetry", "math"}}
	s2 := Contact{ID: uuid.New(), FamilyName: str("Lovelace"), Company: str("Engines"), IntroducedByID: &introducer,
		Tags: []string{"engines"}}
	// The target's link to s1 would become a self-link: it is empty, and
	// s1's link (to the target) is skipped for the same reason, so s2's wins.
	target.IntroducedByID = &s1.ID

	m := MergeContacts(target, []Contact{s1, s2}, "US")
	got, _ := json.Marshal(struct {
		G, F, C any
		E, P    []LabeledValue
		T       []string
		I       *uuid.UUID
	}{m.GivenName, m.FamilyName, m.Company, m.Emails, m.Phones, m.Tags, m.IntroducedByID})
	want, _ := json.Marshal(struct {
		G, F, C any
		E, P    []LabeledValue
		T       []string
		I       *uuid.UUID
	}{"Ada", "King", "Engines",
		[]LabeledValue{{Value: "ada@example.com", Label: "work"}, {Value: "augusta@example.com"}},
		[]LabeledValue{{Value: "(415) 555-0123"}, {Value: "+44 20 7946 0958"}},
		[]string{"math", "poetry", "engines"}, &introducer})
	if string(got) != string(want) {
		t.Fatalf("merged\n got %s\nwant %s", got, want)
	}
	if len(target.Emails) != 1 || *target.IntroducedByID != s1.ID {
		t.Fatal("MergeContacts changed its target")
	}
	// Only the merged set's links are dropped.
	if m := MergeContacts(Contact{ID: target.ID}, []Contact{{ID: s1.ID, IntroducedByID: &other}}, "US"); m.IntroducedByID == nil || *m.IntroducedByID != other {
		t.Fatalf("introducedById = %v, want %v", m.IntroducedByID, other)
	}
	if m := MergeContacts(Contact{ID: target.ID, IntroducedByID: &s1.ID}, []Contact{{ID: s1.ID}}, "US"); m.IntroducedByID != nil {
		t.Fatalf("a link to a source must go: %v", m.IntroducedByID)
	}
}

func TestCheckMergeSources(t *testing.T) {
	t.Parallel()
	target, a := uuid.New(), uuid.New()
	many := make([]uuid.UUID, MaxMergeSources+1)
	for i := range many {
		many[i] = uuid.New()
	}
	for name, ids := range map[string][]uuid.UUID{
		"empty": nil, "too many": many, "target": {a, target}, "repeated": {a, a},
	} {
		if err := CheckMergeSources(target, ids); err == nil {
			t.Errorf("%s: accepted", name)
		} else if verr, ok := err.(*ValidationError); !ok || len(verr.Fields["sourceIds"]) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := CheckMergeSources(target, many[:MaxMergeSources]); err != nil {
		t.Errorf("10 sources: %v", err)
	}
}

func TestGroupDuplicates(t *testing.T) {
	t.Parallel()
	cs := []Contact{
		{ID: uuid.New(), GivenName: str("José"), FamilyName: str("Núñez"), Emails: []LabeledValue{{Value: "Ann@Example.com"}, {Value: "ann@example.com"}}},
		{ID: uuid.New(), GivenName: str("jose"), FamilyName: str("NUNEZ"), Phones: []LabeledValue{{Value: "(415) 555-0123"}}},
		{ID: uuid.New(), Emails: []LabeledValue{{Value: "ann@example.com"}}, Phones: []LabeledValue{{Value: "+1 415 555 0123"}}},
		{ID: uuid.New(), GivenName: str("José"), Emails: []LabeledValue{{Value: "solo@example.com"}}},
	}
	var got []string
	for _, g := range GroupDuplicates(cs, NewPhoneKeys("US", 10)) {
		ids := ""
		for _, c := range g.Contacts {
			for i := range cs {
				if cs[i].ID == c.ID {
					ids += string(rune('0' + i))
				}
			}
		}
		got = append(got, g.Reason+" "+g.Value+" "+ids)
	}
	want := []string{"email ann@example.com 02", "phone +14155550123 12", "name jose nunez 01"}
	if len(got) != len(want) {
		t.Fatalf("groups %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("groups %q, want %q", got, want)
		}
	}
}

func TestParsePhoneRegion(t *testing.T) {
	t.Parallel()
	if r, err := ParsePhoneRegion(" gb "); r != "GB" || err != nil {
		t.Errorf("gb: %q %v", r, err)
	}
	for _, bad := range []string{"", "XX", "USA", "1"} {
		if _, err := ParsePhoneRegion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Large inputs are keyed on every core: the groups are the same as one
// core's (run with -race).
func TestGroupDuplicates_Many(t *testing.T) {
	t.Parallel()
	cs := make([]Contact, 2000)
	for i := range cs {
		n := i / 2 // pairs: national and international forms of one number
		phone := fmt.Sprintf("(415) 555-%04d", n)
		if i%2 == 1 {
			phone = fmt.Sprintf("+1 415 555 %04d", n)
		}
		cs[i] = Contact{ID: uuid.New(), Phones: []LabeledValue{{Value: phone}}}
	}
	groups := GroupDuplicates(cs, NewPhoneKeys("US", 100))
	if len(groups) != 1000 {
		t.Fatalf("%d groups, want 1000", len(groups))
	}
	for n, g := range groups {
		if g.Value != fmt.Sprintf("+1415555%04d", n) || len(g.Contacts) != 2 || g.Contacts[0].ID != cs[2*n].ID || g.Contacts[1].ID != cs[2*n+1].ID {
			t.Fatalf("group %d = %s %v", n, g.Value, g.Contacts)
		}
	}
}
