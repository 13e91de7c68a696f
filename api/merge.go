package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// MergeInput is the body of a merge.
type MergeInput struct {
	SourceIDs []uuid.UUID `json:"sourceIds" minItems:"1" maxItems:"10" uniqueItems:"true" format:"uuid" doc:"The contacts to fold into this one and delete, 1–10 other contacts of the account. Where this contact has no value, the first of them (in this order) that has one gives it." example:"[\"5d1f0c2e-8b4a-4f6e-9c3d-2a7b9e0f1c44\"]"`
}

// mergeResponse is a merge's answer: the target as it now is.
type mergeResponse struct {
	ETagHeader
	IdempotentReplayedHeader
	Body dataBody[*model.Contact]
}

const duplicatesDescription = `Returns a page of groups of two or more of the account's contacts that look like one person, and how many groups there are. A group shares one of:

- ` + "`email`" + `: an email address, compared trimmed and case-insensitively;
- ` + "`phone`" + `: a phone number, compared in E.164 (` + "`(415) 555-0123`" + ` and ` + "`+1 415 555 0123`" + ` are one number; a number without a country code is read in the server's REMY_PHONE_REGION, US by default; one that does not parse is compared by its digits);
- ` + "`name`" + `: the same given and family name, both present, ignoring case and accents.

Groups are ordered by reason (email, phone, name), then by value; a group lists its contacts oldest first. A contact can be in several groups. Merge a group with POST /api/v1/contacts/{id}/merge.`

const mergeDescription = `Folds the sourceIds contacts into this one, in one transaction, and returns it:

- fields this contact has keep their value; an empty one takes the first value among the sources, in sourceIds order;
- lists (emails, phones, tags…) become this contact's items followed by the sources', without duplicates (emails compared case-insensitively, phone numbers in E.164, tags as stored);
- the sources' notes move to this contact, and contacts a source introduced are now introduced by this one (a link from this contact to a source is dropped rather than becoming a link to itself);
- the sources are deleted.

The Activity Log (and webhooks) get contact.updated for this contact (with its changes, when a field changed), note.updated for each moved note (changes.contactId), contact.updated for each contact whose introducer changed, and contact.deleted for each source. A source that does not exist or is another account's is a 404 and nothing changes; If-Match applies to this contact, as on PATCH.`

func (s *server) listDuplicates() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listContactDuplicates",
		Method:      http.MethodGet,
		Path:        "/api/v1/contacts/duplicates",
		Summary:     "List possible duplicate contacts",
		Description: duplicatesDescription,
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsRead),
		Errors:      errs(http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *ListParams) (*listResponse[model.DuplicateGroup], error) {
		page, err := s.store.Contacts.Duplicates(ctx, accountID(ctx), in.model())
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return listOut(page), nil
	})
}

func (s *server) mergeContacts() {
	huma.Register(s.api, huma.Operation{
		OperationID: "mergeContacts",
		Method:      http.MethodPost,
		Path:        "/api/v1/contacts/{id}/merge",
		Summary:     "Merge contacts into one",
		Description: mergeDescription,
		Tags:        []string{"Contacts"},
		Security:    requireScope(model.ScopeContactsWrite),
		Errors: errs(http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		ContactIDParam
		IfMatchParam
		IdempotencyKeyParam
		Body MergeInput
	}) (*mergeResponse, error) {
		c, err := s.store.Contacts.Merge(ctx, actor(ctx), in.ID, in.Body.SourceIDs, precondition(in.IfMatchParam, contactETag))
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return &mergeResponse{ETagHeader: ETagHeader{contactETag(c)}, Body: dataBody[*model.Contact]{c}}, nil
	})
}
