package model

import (
	"fmt"
	"net/mail"
	"net/url"
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

// Address is one postal address of a contact. Street may span lines; a
// blank part is "".
type Address struct {
	Label      string `json:"label"`
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
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
	Addresses      []Address      `bun:"addresses,type:jsonb,notnull" json:"addresses"`
	URLs           []LabeledValue `bun:"urls,type:jsonb,notnull" json:"urls"`
	Birthday       *Date          `bun:"birthday,type:date" json:"birthday" pattern:"^(?:[0-9]{4}|-)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$" doc:"YYYY-MM-DD, or --MM-DD when the year is unknown."`
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
	MaxURLLength = 2048
)

// Messages of rules stated in more than one place (the model, and the
// database constraint that backs it).
const (
	MsgNUL            = "Must not contain NUL (\\u0000) characters"
	MsgIntroducesSelf = "A contact cannot introduce itself"
)

// ContactFields is the table of a contact's columns (see Field).
var ContactFields = FieldsOf[Contact]()

// ContactPatch is a partial update of a contact.
type ContactPatch = Patch[Contact]

// Normalize puts a contact in its stored form: text fields trimmed (blank
// means absent), lists never nil, every text of emails, phones, addresses
// and URLs trimmed, tags trimmed, lower-cased and de-duplicated in their
// first-seen order. It checks each item of a list (an address needs more
// than a label, a URL must be one a browser opens) and then the rules that
// span fields.
func (c *Contact) Normalize() error {
	verr := &ValidationError{}
	for _, f := range ContactFields.Settable {
		if s, ok := f.Addr(c).(**string); ok {
			*s = trimmedOrNil(*s)
			checkText(verr, f.JSON, *s)
		}
	}
	c.Emails = normalizeLabeled(verr, "emails", c.Emails, func(i int, v string) string {
		// net/mail also accepts "Name <a@b.c>"; a contact's email is the bare address.
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return fmt.Sprintf("emails[%d].value must be a plain email address", i)
		}
		return ""
	})
	c.Phones = normalizeLabeled(verr, "phones", c.Phones, func(i int, v string) string {
		if v == "" {
			return fmt.Sprintf("phones[%d].value must not be blank", i)
		}
		checkText(verr, "phones", &v)
		return ""
	})
	c.Addresses = normalizeAddresses(verr, c.Addresses)
	c.URLs = normalizeLabeled(verr, "urls", c.URLs, func(i int, v string) string {
		if strings.ContainsRune(v, 0) {
			return MsgNUL
		}
		return urlProblem(i, v)
	})
	tags, err := NormalizeTags("tags", c.Tags)
	verr.merge(err)
	c.Tags = tags
	if c.IntroducedByID != nil && *c.IntroducedByID == c.ID && c.ID != uuid.Nil {
		verr.Field("introducedById", MsgIntroducesSelf)
	}
	if c.GivenName == nil && c.FamilyName == nil && c.Nickname == nil && c.Company == nil && len(c.Emails) == 0 {
		verr.Whole("A contact needs at least one of givenName, familyName, nickname, company or an email")
	}
	return verr.OrNil()
}

// normalizeLabeled trims a list's values and labels (never nil) and checks
// each value with check, which returns a problem or "".
func normalizeLabeled(verr *ValidationError, field string, list []LabeledValue, check func(i int, value string) string) []LabeledValue {
	if list == nil {
		return []LabeledValue{}
	}
	for i := range list {
		list[i].Value = strings.TrimSpace(list[i].Value)
		list[i].Label = strings.TrimSpace(list[i].Label)
		if msg := check(i, list[i].Value); msg != "" {
			verr.Field(field, msg)
		}
		checkText(verr, field, &list[i].Label)
	}
	return list
}

// normalizeAddresses trims every part of each address (never nil) and
// refuses an address with nothing but a label.
func normalizeAddresses(verr *ValidationError, list []Address) []Address {
	if list == nil {
		return []Address{}
	}
	for i := range list {
		a := &list[i]
		for _, part := range []*string{&a.Label, &a.Street, &a.City, &a.Region, &a.PostalCode, &a.Country} {
			*part = strings.TrimSpace(*part)
			checkText(verr, "addresses", part)
		}
		if a.Street+a.City+a.Region+a.PostalCode+a.Country == "" {
			verr.Field("addresses", fmt.Sprintf("addresses[%d] needs at least one of street, city, region, postalCode or country", i))
		}
	}
	return list
}

// urlProblem is what is wrong with the i-th URL of a contact, or "": it
// must be an absolute http or https URL with a host (a link a browser can
// open; javascript: and relative ones are not), of at most MaxURLLength
// characters. It is kept as sent, not re-encoded.
func urlProblem(i int, v string) string {
	if utf8.RuneCountInString(v) > MaxURLLength {
		return fmt.Sprintf("urls[%d].value must be at most %d characters", i, MaxURLLength)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Sprintf("urls[%d].value must be an absolute http:// or https:// URL", i)
	}
	return ""
}

// checkText refuses NUL characters, which JSON allows and Postgres text does not.
func checkText(verr *ValidationError, field string, v *string) {
	if v != nil && strings.ContainsRune(*v, 0) {
		verr.Field(field, MsgNUL)
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
