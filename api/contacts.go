package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// EmailInput is one email address of a contact.
type EmailInput struct {
	Value string `json:"value" format:"email" maxLength:"254" doc:"A plain address, no display name." example:"ada@example.com"`
	Label string `json:"label,omitempty" maxLength:"50" nullable:"true" doc:"Free text such as work or home; absent, null and blank all mean no label." example:"work"`
}

// PhoneInput is one phone number of a contact.
type PhoneInput struct {
	Value string `json:"value" minLength:"1" maxLength:"50" example:"+44 20 7946 0018"`
	Label string `json:"label,omitempty" maxLength:"50" nullable:"true" doc:"Free text such as mobile; absent, null and blank all mean no label." example:"mobile"`
}

// AddressInput is one postal address of a contact: at least one of street,
// city, region, postalCode or country, each part trimmed.
type AddressInput struct {
	Label      string `json:"label,omitempty" maxLength:"500" nullable:"true" doc:"Free text such as home or work; absent, null and blank all mean no label." example:"home"`
	Street     string `json:"street,omitempty" maxLength:"500" nullable:"true" doc:"May span several lines." example:"12 St James's Square"`
	City       string `json:"city,omitempty" maxLength:"500" nullable:"true" example:"London"`
	Region     string `json:"region,omitempty" maxLength:"500" nullable:"true" example:"Greater London"`
	PostalCode string `json:"postalCode,omitempty" maxLength:"500" nullable:"true" example:"SW1Y 4LE"`
	Country    string `json:"country,omitempty" maxLength:"500" nullable:"true" example:"United Kingdom"`
}

// URLInput is one web link of a contact.
type URLInput struct {
	Value string `json:"value" minLength:"1" maxLength:"2048" doc:"An absolute http:// or https:// URL, stored as sent." example:"https://example.com/ada"`
	Label string `json:"label,omitempty" maxLength:"50" nullable:"true" doc:"Free text such as blog or profile; absent, null and blank all mean no label." example:"blog"`
}

// ContactInput is the body of POST and PATCH. On POST every field is
// optional (but a contact needs a name, company or email); on PATCH an
// absent field is left alone and null clears it.
type ContactInput struct {
	GivenName      Nullable[string]         `json:"givenName,omitempty" maxLength:"100" example:"Ada"`
	FamilyName     Nullable[string]         `json:"familyName,omitempty" maxLength:"100" example:"Lovelace"`
	Nickname       Nullable[string]         `json:"nickname,omitempty" maxLength:"100" example:"Countess"`
	Company        Nullable[string]         `json:"company,omitempty" maxLength:"200" example:"Analytical Engines Ltd"`
	JobTitle       Nullable[string]         `json:"jobTitle,omitempty" maxLength:"200" example:"Programmer"`
	Emails         Nullable[[]EmailInput]   `json:"emails,omitempty" maxItems:"20" doc:"Replaces the whole list."`
	Phones         Nullable[[]PhoneInput]   `json:"phones,omitempty" maxItems:"20" doc:"Replaces the whole list."`
	Addresses      Nullable[[]AddressInput] `json:"addresses,omitempty" maxItems:"20" doc:"Replaces the whole list."`
	URLs           Nullable[[]URLInput]     `json:"urls,omitempty" maxItems:"20" doc:"Replaces the whole list."`
	Birthday       Nullable[string]         `json:"birthday,omitempty" pattern:"^(?:[0-9]{4}|-)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$" doc:"A real date: YYYY-MM-DD, or --MM-DD when the year is unknown (--02-29 is one)." example:"1815-12-10"`
	Tags           Nullable[[]string]       `json:"tags,omitempty" maxItems:"50" minLength:"1" maxLength:"50" doc:"1–50 characters each; stored trimmed, lower-cased and de-duplicated, order kept." example:"[\"friends\",\"london\"]"`
	IntroducedByID Nullable[uuid.UUID]      `json:"introducedById,omitempty" format:"uuid" doc:"Another contact of this account who introduced this one." example:"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11"`
}

// contactInputFields maps ContactInput onto model.Contact's fields.
var contactInputFields = pairInput[ContactInput, model.Contact]()

func (in ContactInput) patch() (model.ContactPatch, error) { return contactInputFields.patch(&in) }

// ListParams are the pagination query parameters of every list.
type ListParams struct {
	Limit  int `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"How many results to return."`
	Offset int `query:"offset" minimum:"0" default:"0" doc:"How many results to skip from the start."`
}

func (p ListParams) model() model.ListParams {
	return model.ListParams{Limit: p.Limit, Offset: p.Offset}
}

// ContactListParams are the query parameters of the contact list: filters
// that combine with AND, an order, and the page.
type ContactListParams struct {
	ListParams
	Q              string    `query:"q" maxLength:"200" doc:"Search: keeps contacts whose given name, family name, nickname, company or an email address contains every whitespace-separated term, ignoring case and accents (q=jose finds José, q=grace@navy finds the address). Every character is literal: % _ and \\ are not wildcards." example:"grace hopper"`
	Tag            []string  `query:"tag,explode" maxItems:"10" doc:"Repeatable (?tag=a&tag=b): keeps contacts that carry every given tag. Matched as tags are stored: trimmed and lower-cased." example:"vip"`
	IntroducedByID uuid.UUID `query:"introducedById" format:"uuid" doc:"Keeps the contacts that this contact introduced." example:"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11"`
	UpdatedSince   time.Time `query:"updatedSince" format:"date-time" doc:"RFC 3339 instant (encode + as %2B): keeps contacts created or changed at or after it (updatedAt >= updatedSince, to the microsecond), for a look at what changed lately. The comparison is inclusive, and stays so: a client that sends the instant to the second (as generated clients format it) reads that second's contacts again rather than missing one. An updatedAt is taken before its transaction commits, so timestamp-based sync can miss a late commit, and deletions never appear: to keep a copy exact, follow the change feed (GET /api/v1/events)." example:"2026-01-31T09:00:00Z"`
	Sort           string    `query:"sort" default:"-createdAt" doc:"Order: a field, ascending, or the field after - for descending. Contacts without a value come last either way; the id breaks ties, so pages never overlap or skip."`
}

func (p ContactListParams) filter() (model.ContactFilter, error) {
	f := model.ContactFilter{ListParams: p.model(), IntroducedByID: p.IntroducedByID, UpdatedSince: p.UpdatedSince}
	var err error
	if f.Terms, err = model.SearchTerms("q", p.Q); err != nil {
		return f, err
	}
	if f.Tags, err = model.NormalizeTags("tag", p.Tag); err != nil {
		return f, err
	}
	f.Sort, _ = model.ParseContactSort(p.Sort) // the enum validated it
	return f, nil
}

// ContactIDParam is the {id} of a contact URL.
type ContactIDParam struct {
	ID uuid.UUID `path:"id" format:"uuid" doc:"The contact's id." example:"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11"`
}

type contactResponse struct {
	ETagHeader
	Body dataBody[*model.Contact]
}

func contactOut(c *model.Contact) *contactResponse {
	return &contactResponse{ETagHeader: ETagHeader{contactETag(c)}, Body: dataBody[*model.Contact]{c}}
}

type contactCreatedResponse struct {
	Location string `header:"Location" doc:"URL of the new contact."`
	ETagHeader
	IdempotentReplayedHeader
	Body dataBody[*model.Contact]
}

// contactETag is the ETag of a contact's current version.
func contactETag(c *model.Contact) string { return etag(c.ID, c.Version) }

// Deleted is the body of a successful DELETE.
type Deleted struct {
	ID      uuid.UUID `json:"id" format:"uuid" readOnly:"true"`
	Deleted bool      `json:"deleted" example:"true"`
}

func deleted(id uuid.UUID) *dataResponse[Deleted] { return dataOut(Deleted{ID: id, Deleted: true}) }

// Statuses every authenticated operation can answer besides its own: the
// key and its scopes, the rate limit, and the database being unreachable or
// too slow for the request's deadline.
var authErrors = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable}

func errs(statuses ...int) []int {
	for _, st := range authErrors {
		if !slices.Contains(statuses, st) {
			statuses = append(statuses, st)
		}
	}
	return statuses
}

func (s *server) registerContacts() {
	s.listContacts()
	s.createContact()
	s.getContact()
	s.updateContact()
	s.deleteContact()
	s.listDuplicates()
	s.mergeContacts()
	s.importContacts()
}

func (s *server) listContacts() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listContacts",
		Method:      http.MethodGet,
		Path:        "/api/v1/contacts",
		Summary:     "List contacts",
		Description: "Returns a page of the account's contacts (newest first unless sort says otherwise) and how many contacts match the filters. Filters combine: a contact must match all of them. A contact is found as soon as the request that created or changed it has returned.",
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsRead),
		Errors:      errs(http.StatusUnprocessableEntity),
		Metadata:    map[string]any{paramEnumsKey: map[string][]string{"sort": model.ContactSortValues()}},
	}, func(ctx context.Context, in *ContactListParams) (*listResponse[model.Contact], error) {
		f, err := in.filter()
		if err != nil {
			return nil, problem(err, "Contact")
		}
		page, err := s.contacts.List(ctx, accountID(ctx), f)
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return listOut(page), nil
	})
}

func (s *server) createContact() {
	huma.Register(s.api, huma.Operation{
		OperationID:   "createContact",
		Method:        http.MethodPost,
		Path:          "/api/v1/contacts",
		Summary:       "Create a contact",
		Description:   "Creates a contact. It needs at least one of givenName, familyName, nickname, company or an email.",
		Tags:          []string{"Contacts"},
		Security:      requireScope(model.ScopeContactsWrite),
		DefaultStatus: http.StatusCreated,
		Errors:        errs(http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		IdempotencyKeyParam
		Body ContactInput
	}) (*contactCreatedResponse, error) {
		patch, err := in.Body.patch()
		if err != nil {
			return nil, problem(err, "Contact")
		}
		c := new(model.Contact)
		patch.Assign(c)
		c, err = s.contacts.Create(ctx, actor(ctx), c)
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return &contactCreatedResponse{
			Location:   "/api/v1/contacts/" + c.ID.String(),
			ETagHeader: ETagHeader{contactETag(c)},
			Body:       dataBody[*model.Contact]{c},
		}, nil
	})
}

func (s *server) getContact() {
	huma.Register(s.api, huma.Operation{
		OperationID: "getContact",
		Method:      http.MethodGet,
		Path:        "/api/v1/contacts/{id}",
		Summary:     "Get a contact",
		Description: "Returns one contact. Another account's contact is a 404, exactly like a missing one.",
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsRead),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound),
		Responses:   notModifiedResponse(),
	}, func(ctx context.Context, in *struct {
		ContactIDParam
		IfNoneMatchParam
	}) (*contactResponse, error) {
		c, err := s.contacts.Get(ctx, accountID(ctx), in.ID)
		if err != nil {
			return nil, problem(err, "Contact")
		}
		if err := in.notModified(contactETag(c)); err != nil {
			return nil, err
		}
		return contactOut(c), nil
	})
}

func (s *server) updateContact() {
	huma.Register(s.api, huma.Operation{
		OperationID: "updateContact",
		Method:      http.MethodPatch,
		Path:        "/api/v1/contacts/{id}",
		Summary:     "Update a contact",
		Description: "Partial update: absent fields are unchanged, null clears a field, lists are replaced whole.",
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsWrite),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		ContactIDParam
		IfMatchParam
		Body ContactInput
	}) (*contactResponse, error) {
		patch, err := in.Body.patch()
		if err != nil {
			return nil, problem(err, "Contact")
		}
		c, err := s.contacts.Update(ctx, actor(ctx), in.ID, patch, precondition(in.IfMatchParam, contactETag))
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return contactOut(c), nil
	})
}

func (s *server) deleteContact() {
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteContact",
		Method:      http.MethodDelete,
		Path:        "/api/v1/contacts/{id}",
		Summary:     "Delete a contact",
		Description: "Deletes a contact and its notes. Contacts it introduced keep existing, with introducedById cleared.",
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsWrite),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed),
	}, func(ctx context.Context, in *struct {
		ContactIDParam
		IfMatchParam
	}) (*dataResponse[Deleted], error) {
		if err := s.contacts.Delete(ctx, actor(ctx), in.ID, precondition(in.IfMatchParam, contactETag)); err != nil {
			return nil, problem(err, "Contact")
		}
		return deleted(in.ID), nil
	})
}

func (s *server) routes() {
	s.registerHealth()
	s.registerContacts()
	s.registerTags()
	s.registerNotes()
	s.registerExport()
	s.registerActivity()
	s.registerEvents()
	s.registerWebhooks()
}
