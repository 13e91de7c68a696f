package model

import (
	"cmp"
	"slices"
)

// Why two contacts are reported as possible duplicates, in the order
// GET /contacts/duplicates lists their groups.
const (
	DuplicateEmail = "email"
	DuplicatePhone = "phone"
	DuplicateName  = "name"
)

// DuplicateReasons lists the reasons above, in their order: the enum the
// API documents.
var DuplicateReasons = []string{DuplicateEmail, DuplicatePhone, DuplicateName}

// DuplicateGroup is two or more contacts of an account that share a value
// (EmailKey, PhoneKey or NameKey).
type DuplicateGroup struct {
	Reason   string    `json:"reason" doc:"What the contacts share: an email address, a phone number, or the same given and family name."`
	Value    string    `json:"value" doc:"The shared value as compared: the email trimmed and lower-cased, the phone number in E.164 (or its digits, when it does not parse), or the name lower-cased without accents." example:"ada@example.com"`
	Contacts []Contact `json:"contacts" doc:"The contacts that share it, oldest first (id breaks ties)."`
}

// GroupDuplicates finds the groups of two or more of contacts sharing an
// email, a phone number (read in region when it has no country code) or a
// given and family name, ordered by reason (as DuplicateReasons), then
// value, so pages of them are stable. A group lists its contacts in the
// order they come in cs, each once. Only the fields compared need be set.
func GroupDuplicates(cs []Contact, region string) []DuplicateGroup {
	type key struct{ reason, value string }
	members := map[key][]int{}
	add := func(reason, value string, i int) {
		if value == "" {
			return
		}
		k := key{reason, value}
		// cs is walked in order, so a contact seen already is the last one.
		if m := members[k]; len(m) == 0 || m[len(m)-1] != i {
			members[k] = append(members[k], i)
		}
	}
	for i := range cs {
		for _, e := range cs[i].Emails {
			add(DuplicateEmail, EmailKey(e.Value), i)
		}
		for _, p := range cs[i].Phones {
			add(DuplicatePhone, PhoneKey(p.Value, region), i)
		}
		add(DuplicateName, NameKey(cs[i].GivenName, cs[i].FamilyName), i)
	}
	var groups []DuplicateGroup
	for k, m := range members {
		if len(m) < 2 {
			continue
		}
		g := DuplicateGroup{Reason: k.reason, Value: k.value, Contacts: make([]Contact, len(m))}
		for j, i := range m {
			g.Contacts[j] = cs[i]
		}
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b DuplicateGroup) int {
		return cmp.Or(
			cmp.Compare(slices.Index(DuplicateReasons, a.Reason), slices.Index(DuplicateReasons, b.Reason)),
			cmp.Compare(a.Value, b.Value))
	})
	return groups
}
