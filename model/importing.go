package model

import (
	"strings"

	"github.com/google/uuid"
)

// MaxImportItems is how many cards or rows one import may hold.
const MaxImportItems = 10_000

// What an import does with an item that duplicates a contact
// (onDuplicate), in the order the API lists them; the first is the default.
const (
	OnDuplicateSkip   = "skip"
	OnDuplicateMerge  = "merge"
	OnDuplicateCreate = "create"
)

// OnDuplicateModes lists the modes above: the enum the API documents.
var OnDuplicateModes = []string{OnDuplicateSkip, OnDuplicateMerge, OnDuplicateCreate}

// What became of an imported item.
const (
	ImportCreated = "created"
	ImportMerged  = "merged"
	ImportSkipped = "skipped"
	ImportFailed  = "failed"
)

// ImportStatuses lists the statuses above: the enum the API documents.
var ImportStatuses = []string{ImportCreated, ImportMerged, ImportSkipped, ImportFailed}

// ImportItem is one card or row of an import file, as read.
type ImportItem struct {
	Contact Contact
	// Notes become notes of the contact the item becomes, in order.
	Notes []string
	// Ref is the item's own id in the file (a vCard's UID, the id column of
	// Remy's CSV): how the file's other items name it as their introducer.
	Ref string
	// IntroducerRef names the item's introducer: another item's Ref, or
	// else the id of one of the account's contacts (bare or urn:uuid:).
	IntroducerRef string
	// Err is why the item cannot be imported (a *ValidationError), if it
	// cannot.
	Err error
}

// ImportOptions are an import's choices.
type ImportOptions struct {
	// DryRun plans the import and reports it, writing nothing.
	DryRun bool
	// OnDuplicate is one of OnDuplicateModes ("" is skip).
	OnDuplicate string
}

// ImportOutcome is what became of one item.
type ImportOutcome struct {
	Index  int
	Status string
	// ID is the contact the item became: the new one (created; uuid.Nil in
	// a dry run) or the one it was merged into.
	ID uuid.UUID
	// DuplicateOf is the contact a skipped item duplicates; uuid.Nil in a
	// dry run when that contact is one the file would create.
	DuplicateOf uuid.UUID
	// DuplicateOfIndex is the earlier item of the file that a skipped or
	// merged item duplicates, or -1 when it duplicates a contact that
	// existed before.
	DuplicateOfIndex int
	// Err is why a failed item failed.
	Err *ValidationError
}

// ImportResult is an import's report, one outcome per item in file order.
type ImportResult struct {
	Created, Merged, Skipped, Failed int
	Outcomes                         []ImportOutcome
}

// Count fills the totals from the outcomes.
func (r *ImportResult) Count() {
	r.Created, r.Merged, r.Skipped, r.Failed = 0, 0, 0, 0
	for _, o := range r.Outcomes {
		switch o.Status {
		case ImportCreated:
			r.Created++
		case ImportMerged:
			r.Merged++
		case ImportSkipped:
			r.Skipped++
		default:
			r.Failed++
		}
	}
}

// importOwner is a contact a key belongs to while an import is planned: an
// existing one (index -1) or the one an item of the file creates.
type importOwner struct {
	id    uuid.UUID
	index int
}

// PlanImport decides what becomes of each item. existing are the account's
// contacts, oldest first (their ids, emails and phones suffice); phoneKey is
// PhoneKey in the import's region. Unless mode is create, an item
// duplicates the first contact, existing or created by an earlier item,
// that shares an email (EmailKey) or a phone number (phoneKey) with it, its
// emails before its phones: skip leaves it out, merge folds it into that
// contact. Any other item is created, with its id chosen here, so that the
// items can name each other as introducers before anything is written.
// Items whose Err is set fail.
func PlanImport(items []ImportItem, existing []Contact, mode string, phoneKey func(string) string) []ImportOutcome {
	// Parsing phone numbers is most of the work: it is done on every core,
	// once per contact and item.
	oldKeys, newKeys := make([][]string, len(existing)), make([][]string, len(items))
	inParallel(len(existing), func(i int) { oldKeys[i] = importKeys(&existing[i], phoneKey) })
	inParallel(len(items), func(i int) {
		if items[i].Err == nil {
			newKeys[i] = importKeys(&items[i].Contact, phoneKey)
		}
	})
	owners := map[string]importOwner{}
	claim := func(keys []string, o importOwner) {
		for _, k := range keys {
			if _, ok := owners[k]; !ok {
				owners[k] = o
			}
		}
	}
	for i := range existing {
		claim(oldKeys[i], importOwner{existing[i].ID, -1})
	}
	out := make([]ImportOutcome, len(items))
	for i := range items {
		it := &items[i]
		o := &out[i]
		*o = ImportOutcome{Index: i, DuplicateOfIndex: -1}
		if it.Err != nil {
			o.Status, o.Err = ImportFailed, AsValidationError(it.Err)
			continue
		}
		owner, dup := findOwner(newKeys[i], owners)
		switch {
		case !dup || mode == OnDuplicateCreate:
			o.Status, o.ID = ImportCreated, uuid.New()
			owner = importOwner{o.ID, i}
		case mode == OnDuplicateMerge:
			o.Status, o.ID, o.DuplicateOfIndex = ImportMerged, owner.id, owner.index
		default:
			o.Status, o.DuplicateOf, o.DuplicateOfIndex = ImportSkipped, owner.id, owner.index
		}
		claim(newKeys[i], owner)
	}
	return out
}

// findOwner is the contact that the first of keys already belongs to.
func findOwner(keys []string, owners map[string]importOwner) (importOwner, bool) {
	for _, k := range keys {
		if o, ok := owners[k]; ok {
			return o, true
		}
	}
	return importOwner{}, false
}

// importKeys are the keys an import compares c by, emails first.
func importKeys(c *Contact, phoneKey func(string) string) []string {
	keys := make([]string, 0, len(c.Emails)+len(c.Phones))
	for _, e := range c.Emails {
		if k := EmailKey(e.Value); k != "" {
			keys = append(keys, DuplicateEmail+":"+k)
		}
	}
	for _, p := range c.Phones {
		if k := phoneKey(p.Value); k != "" {
			keys = append(keys, DuplicatePhone+":"+k)
		}
	}
	return keys
}

// ResolveIntroducers sets each planned item's introducer from its
// IntroducerRef: the contact that the item whose Ref it is became (a new
// one, the one it was merged into, or the one it duplicates), else the
// account's contact with that id (exists says which ids are the account's),
// else none. A link to the contact the item itself becomes is dropped.
func ResolveIntroducers(items []ImportItem, outcomes []ImportOutcome, exists func(uuid.UUID) bool) {
	became := map[string]uuid.UUID{}
	for i := range items {
		if id := outcomes[i].Became(); items[i].Ref != "" && id != uuid.Nil {
			if _, seen := became[items[i].Ref]; !seen {
				became[items[i].Ref] = id
			}
		}
	}
	for i := range items {
		it, self := &items[i], outcomes[i].Became()
		it.Contact.IntroducedByID = nil
		if it.IntroducerRef == "" || self == uuid.Nil {
			continue
		}
		id, ok := became[it.IntroducerRef]
		if !ok {
			parsed, err := uuid.Parse(strings.TrimPrefix(strings.ToLower(it.IntroducerRef), "urn:uuid:"))
			ok = err == nil && exists(parsed)
			id = parsed
		}
		if ok && id != self {
			it.Contact.IntroducedByID = &id
		}
	}
}

// Became is the contact the item became: created, merged into, or
// duplicated; uuid.Nil for a failed item.
func (o ImportOutcome) Became() uuid.UUID {
	if o.Status == ImportSkipped {
		return o.DuplicateOf
	}
	return o.ID
}

// AsValidationError is err as a *ValidationError, wrapping any other
// error as a problem with the whole item.
func AsValidationError(err error) *ValidationError {
	if v, ok := err.(*ValidationError); ok {
		return v
	}
	return &ValidationError{Form: []string{err.Error()}}
}

// ImportWrites is what a planned import writes.
type ImportWrites struct {
	// Created are the new contacts in file order, each with the items
	// merged into it folded in (MergeContacts, in file order).
	Created []Contact
	// Merges are, for each existing contact items are merged into, those
	// items' contacts in file order.
	Merges map[uuid.UUID][]Contact
	// MergeOrder lists the keys of Merges in the order first met.
	MergeOrder []uuid.UUID
	// Notes are the notes of created and merged items, each with the
	// contact it belongs to, in file order.
	Notes []Note
}

// FoldImport gathers what a planned import writes (after
// ResolveIntroducers). Phone numbers without a country code are read in
// region when lists are merged.
func FoldImport(items []ImportItem, outcomes []ImportOutcome, region string) ImportWrites {
	w := ImportWrites{Merges: map[uuid.UUID][]Contact{}}
	created := map[uuid.UUID]int{} // new contact → its index in w.Created
	for i := range items {
		o, c := outcomes[i], items[i].Contact
		switch {
		case o.Status == ImportCreated:
			c.ID = o.ID
			created[o.ID] = len(w.Created)
			w.Created = append(w.Created, c)
		case o.Status == ImportMerged && o.DuplicateOfIndex >= 0:
			j := created[o.ID]
			w.Created[j] = MergeContacts(w.Created[j], []Contact{c}, region)
		case o.Status == ImportMerged:
			if _, ok := w.Merges[o.ID]; !ok {
				w.MergeOrder = append(w.MergeOrder, o.ID)
			}
			w.Merges[o.ID] = append(w.Merges[o.ID], c)
		default:
			continue
		}
		for _, body := range items[i].Notes {
			w.Notes = append(w.Notes, Note{ID: uuid.New(), ContactID: o.ID, Body: body})
		}
	}
	return w
}
