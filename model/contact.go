package model

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// LabeledValue is one email address or phone number with an optional label
// ("work", "home").
type LabeledValue struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Contact is one person in an account's contact book. Its JSON form is the
// API's resource shape.
type Contact struct {
	bun.BaseModel `bun:"table:contacts,alias:c" json:"-"`

	ID             uuid.UUID      `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	AccountID      uuid.UUID      `bun:"account_id,type:uuid,notnull" json:"-"`
	GivenName      *string        `bun:"given_name" json:"givenName"`
	FamilyName     *string        `bun:"family_name" json:"familyName"`
	Nickname       *string        `bun:"nickname" json:"nickname"`
	Company        *string        `bun:"company" json:"company"`
	JobTitle       *string        `bun:"job_title" json:"jobTitle"`
	Emails         []LabeledValue `bun:"emails,type:jsonb,notnull" json:"emails"`
	Phones         []LabeledValue `bun:"phones,type:jsonb,notnull" json:"phones"`
	Birthday       *Date          `bun:"birthday,type:date" json:"birthday" format:"date"`
	Tags           []string       `bun:"tags,array,notnull" json:"tags" minLength:"1" maxLength:"50"`
	IntroducedByID *uuid.UUID     `bun:"introduced_by_id,type:uuid" json:"introducedById" format:"uuid" nullable:"true"`
	Version        int64          `bun:"version,notnull,default:1" json:"-"`
	CreatedAt      time.Time      `bun:"created_at,nullzero,notnull,default:clock_timestamp()" json:"createdAt" readOnly:"true"`
	UpdatedAt      time.Time      `bun:"updated_at,nullzero,notnull,default:clock_timestamp()" json:"updatedAt" readOnly:"true"`
}

// Limits on contact fields. The API declares the same numbers in its schema;
// Normalize enforces the rules that only hold after normalisation.
const (
	MaxTagLength = 50
)

// Normalize puts a contact in its stored form: names trimmed (blank means
// absent), lists never nil, tags trimmed, lower-cased and de-duplicated in
// their first-seen order. It then checks the rules that span fields.
func (c *Contact) Normalize() error {
	verr := &ValidationError{}
	for _, s := range []**string{&c.GivenName, &c.FamilyName, &c.Nickname, &c.Company, &c.JobTitle} {
		*s = trimmedOrNil(*s)
	}
	if c.Emails == nil {
		c.Emails = []LabeledValue{}
	}
	if c.Phones == nil {
		c.Phones = []LabeledValue{}
	}
	for i := range c.Emails {
		c.Emails[i].Value = strings.TrimSpace(c.Emails[i].Value)
		c.Emails[i].Label = strings.TrimSpace(c.Emails[i].Label)
		// net/mail also accepts "Name <a@b.c>"; a contact's email is the bare address.
		if a, err := mail.ParseAddress(c.Emails[i].Value); err != nil || a.Address != c.Emails[i].Value {
			verr.Field("emails", fmt.Sprintf("emails[%d].value must be a plain email address", i))
		}
	}
	for i := range c.Phones {
		c.Phones[i].Value = strings.TrimSpace(c.Phones[i].Value)
		c.Phones[i].Label = strings.TrimSpace(c.Phones[i].Label)
		if c.Phones[i].Value == "" {
			verr.Field("phones", fmt.Sprintf("phones[%d].value must not be blank", i))
		}
	}
	checkText(verr, "givenName", c.GivenName)
	checkText(verr, "familyName", c.FamilyName)
	checkText(verr, "nickname", c.Nickname)
	checkText(verr, "company", c.Company)
	checkText(verr, "jobTitle", c.JobTitle)
	for _, lv := range c.Phones {
		checkText(verr, "phones", &lv.Value, &lv.Label)
	}
	for _, lv := range c.Emails {
		checkText(verr, "emails", &lv.Label)
	}
	for i := range c.Tags {
		checkText(verr, "tags", &c.Tags[i])
	}
	tags := make([]string, 0, len(c.Tags))
	for _, t := range c.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		switch n := utf8.RuneCountInString(t); {
		case n == 0:
			verr.Field("tags", "Tags must not be blank")
			continue
		case n > MaxTagLength:
			verr.Field("tags", fmt.Sprintf("Tags must be at most %d characters", MaxTagLength))
			continue
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	if c.IntroducedByID != nil && *c.IntroducedByID == c.ID && c.ID != uuid.Nil {
		verr.Field("introducedById", "A contact cannot introduce itself")
	}
	if c.GivenName == nil && c.FamilyName == nil && c.Nickname == nil && c.Company == nil && len(c.Emails) == 0 {
		verr.Whole("A contact needs at least one of givenName, familyName, nickname, company or an email")
	}
	return verr.OrNil()
}

// checkText refuses NUL characters, which JSON allows and Postgres text does not.
func checkText(verr *ValidationError, field string, values ...*string) {
	for _, v := range values {
		if v != nil && strings.ContainsRune(*v, 0) {
			verr.Field(field, "Must not contain NUL (\\u0000) characters")
			return
		}
	}
}

func trimmedOrNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// Optional is one field of a partial update. Unset leaves the stored value
// alone; Set with a nil Value clears it; Set with a Value replaces it.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// Some returns an Optional that sets v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

// ContactPatch is a partial update of a contact (PATCH semantics).
type ContactPatch struct {
	GivenName      Optional[string]
	FamilyName     Optional[string]
	Nickname       Optional[string]
	Company        Optional[string]
	JobTitle       Optional[string]
	Emails         Optional[[]LabeledValue]
	Phones         Optional[[]LabeledValue]
	Birthday       Optional[Date]
	Tags           Optional[[]string]
	IntroducedByID Optional[uuid.UUID]
}

// Change is one field's value before and after an update, as the Activity
// Log records it.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Apply writes the patch onto c, normalises the result and returns the
// fields whose stored value changed, keyed by JSON name.
func (p ContactPatch) Apply(c *Contact) (map[string]Change, error) {
	before := *c
	p.Assign(c)
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return before.diff(c), nil
}

// Assign writes the set fields of the patch onto c, as they are.
func (p ContactPatch) Assign(c *Contact) {
	setPtr(p.GivenName, &c.GivenName)
	setPtr(p.FamilyName, &c.FamilyName)
	setPtr(p.Nickname, &c.Nickname)
	setPtr(p.Company, &c.Company)
	setPtr(p.JobTitle, &c.JobTitle)
	setPtr(p.Birthday, &c.Birthday)
	setPtr(p.IntroducedByID, &c.IntroducedByID)
	setSlice(p.Emails, &c.Emails)
	setSlice(p.Phones, &c.Phones)
	setSlice(p.Tags, &c.Tags)
}

func setPtr[T any](o Optional[T], dst **T) {
	if o.Set {
		*dst = o.Value
	}
}

func setSlice[T any](o Optional[[]T], dst *[]T) {
	if !o.Set {
		return
	}
	if o.Value == nil {
		*dst = nil
		return
	}
	*dst = slices.Clone(*o.Value)
}

func (c *Contact) diff(after *Contact) map[string]Change {
	changes := map[string]Change{}
	add := func(name string, b, a any, equal bool) {
		if !equal {
			changes[name] = Change{Before: b, After: a}
		}
	}
	add("givenName", c.GivenName, after.GivenName, ptrEqual(c.GivenName, after.GivenName))
	add("familyName", c.FamilyName, after.FamilyName, ptrEqual(c.FamilyName, after.FamilyName))
	add("nickname", c.Nickname, after.Nickname, ptrEqual(c.Nickname, after.Nickname))
	add("company", c.Company, after.Company, ptrEqual(c.Company, after.Company))
	add("jobTitle", c.JobTitle, after.JobTitle, ptrEqual(c.JobTitle, after.JobTitle))
	add("emails", c.Emails, after.Emails, slices.Equal(c.Emails, after.Emails))
	add("phones", c.Phones, after.Phones, slices.Equal(c.Phones, after.Phones))
	add("birthday", c.Birthday, after.Birthday, ptrEqual(c.Birthday, after.Birthday))
	add("tags", c.Tags, after.Tags, slices.Equal(c.Tags, after.Tags))
	add("introducedById", c.IntroducedByID, after.IntroducedByID, ptrEqual(c.IntroducedByID, after.IntroducedByID))
	return changes
}

func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Page is one page of a list plus the count of the whole list.
type Page[T any] struct {
	Items []T
	Total int
}

// ListParams are the pagination parameters every list endpoint takes.
type ListParams struct {
	Limit  int
	Offset int
}
