package model

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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

// DuplicateFields are the fields GroupDuplicates reads (JSON names): all a
// search for duplicates needs to load.
var DuplicateFields = []string{"id", "givenName", "familyName", "emails", "phones"}

// DuplicateGroup is two or more contacts of an account that share a value
// (EmailKey, PhoneKey or NameKey).
type DuplicateGroup struct {
	Reason   string    `json:"reason" doc:"What the contacts share: an email address, a phone number, or the same given and family name."`
	Value    string    `json:"value" doc:"The shared value as compared: the email trimmed and lower-cased, the phone number in E.164 (or its digits, when it does not parse), or the name lower-cased without accents." example:"ada@example.com"`
	Contacts []Contact `json:"contacts" doc:"The contacts that share it, oldest first (id breaks ties)."`
}

// PhoneKeys is PhoneKey in one region, remembering its answers: parsing a
// number takes ~16 µs (libphonenumber's regular expressions), 0.2 s for an
// account of 10,000 contacts, and the same numbers come back at every
// search for duplicates. It forgets everything once it holds max answers,
// which bounds its memory (~100 bytes an answer). Safe for concurrent use.
type PhoneKeys struct {
	region string
	max    int
	mu     sync.Mutex
	keys   map[string]string
}

// NewPhoneKeys returns a PhoneKeys for region holding up to max answers.
func NewPhoneKeys(region string, max int) *PhoneKeys {
	return &PhoneKeys{region: region, max: max, keys: map[string]string{}}
}

// Key is PhoneKey(phone, region).
func (p *PhoneKeys) Key(phone string) string {
	p.mu.Lock()
	k, ok := p.keys[phone]
	p.mu.Unlock()
	if ok {
		return k
	}
	k = PhoneKey(phone, p.region)
	p.mu.Lock()
	if len(p.keys) >= p.max {
		clear(p.keys)
	}
	p.keys[phone] = k
	p.mu.Unlock()
	return k
}

// GroupDuplicates finds the groups of two or more of contacts sharing an
// email, a phone number (phones' key) or a given and family name, ordered
// by reason (as DuplicateReasons), then value, so pages of them are
// stable. A group lists its contacts in the order they come in cs, each
// once. Only the fields compared need be set.
func GroupDuplicates(cs []Contact, phones *PhoneKeys) []DuplicateGroup {
	keys := make([][]duplicateKey, len(cs))
	inParallel(len(cs), func(i int) { keys[i] = duplicateKeys(&cs[i], phones) })
	members := map[duplicateKey][]int{}
	for i := range cs {
		for _, k := range keys[i] {
			// cs is walked in order, so a contact seen already is the last one.
			if m := members[k]; len(m) == 0 || m[len(m)-1] != i {
				members[k] = append(members[k], i)
			}
		}
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

// duplicateKey is one value a contact may share with another.
type duplicateKey struct{ reason, value string }

// duplicateKeys are the values of c that GroupDuplicates compares.
func duplicateKeys(c *Contact, phones *PhoneKeys) []duplicateKey {
	keys := make([]duplicateKey, 0, len(c.Emails)+len(c.Phones)+1)
	add := func(reason, value string) {
		if value != "" {
			keys = append(keys, duplicateKey{reason, value})
		}
	}
	for _, e := range c.Emails {
		add(DuplicateEmail, EmailKey(e.Value))
	}
	for _, p := range c.Phones {
		add(DuplicatePhone, phones.Key(p.Value))
	}
	add(DuplicateName, NameKey(c.GivenName, c.FamilyName))
	return keys
}

// inParallel calls fn for each of 0…n-1 on every core: parsing the phone
// numbers of a large account is the bulk of a search for duplicates, and
// one request should not wait on one core for what two can do.
func inParallel(n int, fn func(i int)) {
	const batch = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+batch-1)/batch) {
		wg.Go(func() {
			for {
				start := int(next.Add(batch)) - batch
				if start >= n {
					return
				}
				for i := start; i < min(start+batch, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}
