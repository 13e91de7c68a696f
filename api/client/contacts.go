package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Contact is a person in the account's contact book. A nil pointer is a
// field without a value; lists are empty, never nil, once read from the API.
type Contact struct {
	ID             string         `json:"id"`
	GivenName      *string        `json:"givenName"`
	FamilyName     *string        `json:"familyName"`
	Nickname       *string        `json:"nickname"`
	Company        *string        `json:"company"`
	JobTitle       *string        `json:"jobTitle"`
	Birthday       *string        `json:"birthday"` // "1906-12-09", or "--12-09" without a year
	IntroducedByID *string        `json:"introducedById"`
	Emails         []LabeledValue `json:"emails"`
	Phones         []LabeledValue `json:"phones"`
	URLs           []LabeledValue `json:"urls"`
	Addresses      []Address      `json:"addresses"`
	Tags           []string       `json:"tags"` // trimmed, lower-cased, without repeats
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`

	// ETag identifies this version of the contact, for IfMatch. Get,
	// Create, Update and Merge set it; a contact from a list or an event
	// has none (Get it first).
	ETag string `json:"-"`
}

// LabeledValue is an email address, phone number or URL with an optional
// label such as "work".
type LabeledValue struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Address is a postal address; every part is optional.
type Address struct {
	Label      string `json:"label,omitempty"`
	Street     string `json:"street,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// ContactInput is a new contact: the settable fields of Contact. A nil
// field (or an empty list) is not sent. A contact needs at least one of
// GivenName, FamilyName, Nickname, Company or an email.
type ContactInput struct {
	GivenName      *string        `json:"givenName,omitempty"`
	FamilyName     *string        `json:"familyName,omitempty"`
	Nickname       *string        `json:"nickname,omitempty"`
	Company        *string        `json:"company,omitempty"`
	JobTitle       *string        `json:"jobTitle,omitempty"`
	Birthday       *string        `json:"birthday,omitempty"`
	IntroducedByID *string        `json:"introducedById,omitempty"`
	Emails         []LabeledValue `json:"emails,omitempty"`
	Phones         []LabeledValue `json:"phones,omitempty"`
	URLs           []LabeledValue `json:"urls,omitempty"`
	Addresses      []Address      `json:"addresses,omitempty"`
	Tags           []string       `json:"tags,omitempty"`
}

// ContactsService is the contacts API: Client.Contacts.
type ContactsService struct{ c *Client }

const contactsPath = "/api/v1/contacts"

func contactPath(id string) string { return contactsPath + "/" + pathID(id) }

// withETag sets the contact's ETag from the answer's headers.
func withETag(ct *Contact, h http.Header) *Contact {
	ct.ETag = h.Get("ETag")
	return ct
}

// Create adds a contact. Retries of the call carry one Idempotency-Key, so
// it creates one contact however many attempts it takes.
// Errors: ErrValidation (see Error.FieldErrors), ErrUnauthorized, ErrForbidden.
func (s *ContactsService) Create(ctx context.Context, in ContactInput, opts ...CallOption) (*Contact, error) {
	r := newRequest(http.MethodPost, contactsPath, opts)
	if err := r.jsonBody(in); err != nil {
		return nil, err
	}
	ct, h, err := one[Contact](ctx, s.c, r)
	if err != nil {
		return nil, err
	}
	return withETag(ct, h), nil
}

// Get reads one contact. Errors: ErrNotFound (also for another account's
// contact), ErrBadRequest for an id that is not a UUID.
func (s *ContactsService) Get(ctx context.Context, id string) (*Contact, error) {
	ct, h, err := one[Contact](ctx, s.c, newRequest(http.MethodGet, contactPath(id), nil))
	if err != nil {
		return nil, err
	}
	return withETag(ct, h), nil
}

// Update changes the fields p names (a JSON merge patch): a field set to
// nil is cleared, lists are replaced whole, absent fields stay. With
// IfMatch it applies only to that version: ErrPreconditionFailed otherwise.
// Errors: ErrNotFound, ErrValidation, ErrPreconditionFailed.
func (s *ContactsService) Update(ctx context.Context, id string, p Patch, opts ...CallOption) (*Contact, error) {
	r := newRequest(http.MethodPatch, contactPath(id), opts)
	if err := r.jsonBody(p); err != nil {
		return nil, err
	}
	ct, h, err := one[Contact](ctx, s.c, r)
	if err != nil {
		return nil, err
	}
	return withETag(ct, h), nil
}

// Delete removes a contact and its notes; contacts it introduced keep no
// introducer. With IfMatch it applies only to that version.
// Errors: ErrNotFound, ErrPreconditionFailed.
func (s *ContactsService) Delete(ctx context.Context, id string, opts ...CallOption) error {
	_, err := s.c.call(ctx, newRequest(http.MethodDelete, contactPath(id), opts), nil)
	return err
}

// ListContactsParams filters, orders and pages GET /api/v1/contacts. Zero
// fields are not sent.
type ListContactsParams struct {
	Q              string    // every whitespace-separated term in a name, the company or an email
	Tags           []string  // contacts carrying every one of these tags
	IntroducedByID string    // contacts this contact introduced
	UpdatedSince   time.Time // created or changed at or after this instant
	Sort           string    // createdAt, updatedAt, givenName, familyName, company; "-" before: descending (default "-createdAt")
	Limit, Offset  int
}

func (p ListContactsParams) query() url.Values {
	q := url.Values{}
	if p.Q != "" {
		q.Set("q", p.Q)
	}
	for _, t := range p.Tags {
		q.Add("tag", t)
	}
	if p.IntroducedByID != "" {
		q.Set("introducedById", p.IntroducedByID)
	}
	if !p.UpdatedSince.IsZero() {
		q.Set("updatedSince", p.UpdatedSince.UTC().Format(time.RFC3339Nano))
	}
	if p.Sort != "" {
		q.Set("sort", p.Sort)
	}
	ListParams{p.Limit, p.Offset}.addTo(q)
	return q
}

// List returns one page of contacts. Errors: ErrValidation for a bad
// parameter (Error.FieldErrors names it).
func (s *ContactsService) List(ctx context.Context, p ListContactsParams) (*Page[Contact], error) {
	return list[Contact](ctx, s.c, contactsPath, p.query())
}

// All yields every contact that p matches, page after page from p.Offset
// (p.Limit is the page size, default 100), each once even if the list
// changes meanwhile. After an error, yielded with a nil contact, it stops.
//
//	for ct, err := range c.Contacts.All(ctx, client.ListContactsParams{Tags: []string{"vip"}}) {
//		if err != nil {
//			return err
//		}
//		…
//	}
func (s *ContactsService) All(ctx context.Context, p ListContactsParams) iter.Seq2[*Contact, error] {
	return all(ctx, ListParams{p.Limit, p.Offset}, func(ct *Contact) string { return ct.ID },
		func(ctx context.Context, lp ListParams) (*Page[Contact], error) {
			p.Limit, p.Offset = lp.Limit, lp.Offset
			return s.List(ctx, p)
		})
}
