package model

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ContactFilter selects and orders contacts for ContactRepo.List. Zero
// values select all; the filters combine with AND.
type ContactFilter struct {
	ListParams
	// Terms must each occur, as substrings, in a contact's names, company or
	// email addresses, ignoring case and accents. Characters are literal.
	Terms []string
	// Tags must all be carried by a contact (stored form: trimmed, lower-cased).
	Tags []string
	// IntroducedByID keeps the contacts that contact introduced.
	IntroducedByID uuid.UUID
	// UpdatedSince keeps contacts created or changed at or after this instant.
	UpdatedSince time.Time
	Sort         ContactSort
}

// Filtered reports whether anything but pagination and order narrows the list.
func (f ContactFilter) Filtered() bool {
	return len(f.Terms) > 0 || len(f.Tags) > 0 || f.IntroducedByID != uuid.Nil || !f.UpdatedSince.IsZero()
}

// OnlyTag is the tag when one tag is the whole filter, else "".
func (f ContactFilter) OnlyTag() string {
	if len(f.Tags) == 1 && len(f.Terms) == 0 && f.IntroducedByID == uuid.Nil && f.UpdatedSince.IsZero() {
		return f.Tags[0]
	}
	return ""
}

// ContactSortKey is a field contacts can be ordered by.
type ContactSortKey string

// The sort keys, by their API names.
const (
	SortCreatedAt  ContactSortKey = "createdAt"
	SortUpdatedAt  ContactSortKey = "updatedAt"
	SortGivenName  ContactSortKey = "givenName"
	SortFamilyName ContactSortKey = "familyName"
	SortCompany    ContactSortKey = "company"
)

// ContactSortKeys are every sort key, in the order the API lists them.
var ContactSortKeys = []ContactSortKey{SortCreatedAt, SortUpdatedAt, SortGivenName, SortFamilyName, SortCompany}

// ContactSortValues are the values ParseContactSort reads: each key,
// ascending then descending.
func ContactSortValues() []string {
	out := make([]string, 0, 2*len(ContactSortKeys))
	for _, k := range ContactSortKeys {
		out = append(out, string(k), "-"+string(k))
	}
	return out
}

// ContactSort is an order of the contact list. Whatever the key, missing
// values come last and the id breaks ties, in either direction.
type ContactSort struct {
	Key  ContactSortKey
	Desc bool
}

// DefaultContactSort is newest first.
var DefaultContactSort = ContactSort{Key: SortCreatedAt, Desc: true}

// ParseContactSort reads "field" (ascending) or "-field" (descending);
// "" is the default order.
func ParseContactSort(s string) (ContactSort, bool) {
	if s == "" {
		return DefaultContactSort, true
	}
	key, desc := strings.CutPrefix(s, "-")
	if k := ContactSortKey(key); slices.Contains(ContactSortKeys, k) {
		return ContactSort{Key: k, Desc: desc}, true
	}
	return ContactSort{}, false
}

// SearchTerms splits q at whitespace into the terms that must all match;
// text Postgres cannot store is a ValidationError on field.
func SearchTerms(field, q string) ([]string, error) {
	if strings.ContainsRune(q, 0) {
		return nil, FieldError(field, MsgNUL)
	}
	return strings.Fields(q), nil
}

// TagKey is a tag in its stored form: trimmed and lower-cased. Two tags
// with the same key are the same tag.
func TagKey(tag string) string { return strings.ToLower(strings.TrimSpace(tag)) }

// NormalizeTags puts tags in their stored form (trimmed, lower-cased,
// de-duplicated in first-seen order): a contact's tags, and tag filters, so
// a filter matches what a contact was given. Blank or over-long tags, or
// text Postgres cannot store, are a ValidationError on field.
func NormalizeTags(field string, tags []string) ([]string, error) {
	verr := &ValidationError{}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = TagKey(t)
		switch n := utf8.RuneCountInString(t); {
		case n == 0:
			verr.Field(field, "Tags must not be blank")
		case n > MaxTagLength:
			verr.Field(field, fmt.Sprintf("Tags must be at most %d characters", MaxTagLength))
		case strings.ContainsRune(t, 0):
			verr.Field(field, MsgNUL)
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	return out, verr.OrNil()
}
