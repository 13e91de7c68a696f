package api

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/api/contactfile"
	"github.com/remy-crm/remy/model"
)

const importPath = "/api/v1/contacts/import"

// maxImportBody is the largest import file, in bytes. Huma refuses a body
// of MaxBodyBytes or more, hence the operation's limit of one more.
const maxImportBody = 10 << 20

// ImportParams choose what an import does.
type ImportParams struct {
	DryRun      bool   `query:"dryRun" doc:"true: read and check the file and answer 200 with the counts and statuses a real import would give, writing nothing."`
	OnDuplicate string `query:"onDuplicate" default:"skip" doc:"What to do with an item that shares an email address (case-insensitively) or a phone number (in E.164) with an existing contact or an earlier item of the file: skip it, merge it into that contact (its empty fields filled, its lists and tags united, existing values kept), or create it anyway."`
}

type importInput struct {
	ImportParams
	IdempotencyKeyParam
	RawBody     []byte `contentType:"text/vcard"`
	contentType string
}

// Resolve keeps the request's Content-Type, which Huma does not check for
// a raw body.
func (in *importInput) Resolve(ctx huma.Context) []error {
	in.contentType = ctx.Header("Content-Type")
	return nil
}

// ImportReport is an import's answer: how many items had each outcome, and
// each item's.
type ImportReport struct {
	Created int                `json:"created" doc:"Contacts created."`
	Merged  int                `json:"merged" doc:"Items merged into a contact."`
	Skipped int                `json:"skipped" doc:"Items left out as duplicates."`
	Failed  int                `json:"failed" doc:"Items that broke a rule; nothing of them was imported."`
	Results []ImportItemResult `json:"results" doc:"One per item, in file order."`
}

// ImportItemResult is what became of one card or row.
type ImportItemResult struct {
	Index            int                `json:"index" doc:"The item's position in the file: the card's, or the row's after the header, from 0."`
	Status           string             `json:"status" doc:"created: a new contact; merged: folded into the contact it duplicates; skipped: a duplicate, left out; failed: broke a rule, see details."`
	ID               *uuid.UUID         `json:"id,omitempty" format:"uuid" doc:"created: the new contact (absent in a dry run); merged: the contact the item was merged into."`
	DuplicateOf      *uuid.UUID         `json:"duplicateOf,omitempty" format:"uuid" doc:"skipped: the contact the item duplicates (absent in a dry run when that contact is one the file creates)."`
	DuplicateOfIndex *int               `json:"duplicateOfIndex,omitempty" doc:"skipped or merged: the earlier item of the file the item duplicates, when not a contact that existed before."`
	Error            string             `json:"error,omitempty" doc:"failed: Validation failed." example:"Validation failed"`
	Details          *ValidationDetails `json:"details,omitempty" doc:"failed: what is wrong, by field, as a 422 says it."`
}

type importResponse struct {
	Status int
	IdempotentReplayedHeader
	Body dataBody[*ImportReport]
}

const importDescription = `Adds the contacts of a file to the account, in one transaction: a vCard file (text/vcard or
text/x-vcard: one or more cards of version 3.0 or 4.0, Apple's and Google's included) or a CSV file
(text/csv) in Google Contacts' export columns or in Remy's own contacts export (GET /api/v1/export?format=csv&resource=contacts).

Every item (card or row) is created, merged, skipped or failed (see onDuplicate); an item that breaks a rule
fails alone, with its fieldErrors, and the rest is imported. A card's NOTE (a row's Notes) becomes a note of the
contact; X-REMY-INTRODUCED-BY (Remy's introducedById column) links the contact to the one the item with that UID
(id) became, else to the account's contact with that id, else to none.

The Activity Log and webhooks get contact.created for each new contact, contact.updated for each contact items
were merged into, and note.created for each note. At most 10 MiB and 10,000 items.`

func (s *server) importContacts() {
	reportSchema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[dataBody[*ImportReport]](), true, "")
	binary := func(media string) *huma.MediaType {
		return &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeString, Format: "binary", Extensions: map[string]any{"contentMediaType": media}}}
	}
	huma.Register(s.api, huma.Operation{
		OperationID:   "importContacts",
		Method:        http.MethodPost,
		Path:          importPath,
		Summary:       "Import contacts from a vCard or CSV file",
		Description:   importDescription,
		Tags:          []string{"Contacts"},
		Security:      requireScope(model.ScopeContactsWrite),
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  maxImportBody + 1,
		RequestBody: &huma.RequestBody{Description: "The file.",
			Content: map[string]*huma.MediaType{"text/x-vcard": binary("text/x-vcard"), "text/csv": binary("text/csv")}},
		Responses: map[string]*huma.Response{"200": {Description: "The report of a dry run (nothing was written).",
			Content: map[string]*huma.MediaType{"application/json": {Schema: reportSchema}}}},
		Errors: errs(http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
		Metadata: map[string]any{
			paramEnumsKey: map[string][]string{"onDuplicate": model.OnDuplicateModes},
			errorExamplesKey: map[int][]string{
				http.StatusBadRequest: {"Malformed vCard: card 3: no END field found", "Malformed CSV: record on line 2: wrong number of fields"},
			},
		},
	}, func(ctx context.Context, in *importInput) (*importResponse, error) {
		items, err := readImport(in.contentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		s.checkImported(items)
		opts := model.ImportOptions{DryRun: in.DryRun, OnDuplicate: in.OnDuplicate}
		res, err := s.store.Contacts.Import(ctx, actor(ctx), items, opts)
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return importOut(res, in.DryRun), nil
	})
	// Huma documents output headers on the default status only, and its
	// raw body as application/octet-stream whatever its media type.
	op := s.api.OpenAPI().Paths[importPath].Post
	op.Responses["200"].Headers["Idempotent-Replayed"] = op.Responses["201"].Headers["Idempotent-Replayed"]
	op.RequestBody.Content["text/vcard"] = binary("text/vcard")
}

// readImport reads body as its content type says.
func readImport(contentType string, body []byte) ([]model.ImportItem, error) {
	media, _, _ := mime.ParseMediaType(contentType)
	var items []model.ImportItem
	var err error
	switch media {
	case "text/vcard", "text/x-vcard":
		items, err = contactfile.ReadVCard(body, model.MaxImportItems)
	case "text/csv":
		items, err = contactfile.ReadCSV(body, model.MaxImportItems)
	default:
		op := &huma.Operation{RequestBody: &huma.RequestBody{Content: map[string]*huma.MediaType{"text/vcard": nil, "text/x-vcard": nil, "text/csv": nil}}}
		return nil, newError(http.StatusUnsupportedMediaType, unsupportedType(op))
	}
	return items, problem(err, "Contact")
}

// checkImported holds every item to the schema of a contact's POST body,
// which states the limits (lengths, counts, formats) that the model's
// rules leave to it: an item breaking one fails as that POST would, with
// these problems added to any its reading found.
func (s *server) checkImported(items []model.ImportItem) {
	reg := s.api.OpenAPI().Components.Schemas
	schema := reg.Schema(reflect.TypeFor[ContactInput](), true, "")
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	res := &huma.ValidateResult{}
	for i := range items {
		verr, ok := items[i].Err.(*model.ValidationError)
		if items[i].Err != nil && !ok {
			continue
		}
		body, err := contactBody(&items[i].Contact)
		if err != nil {
			items[i].Err = err
			continue
		}
		pb.Reset()
		pb.Push("body")
		res.Reset()
		huma.Validate(reg, schema, pb, huma.ModeWriteToServer, body, res)
		if len(res.Errors) > 0 {
			details := make([]*huma.ErrorDetail, 0, len(res.Errors))
			for _, e := range res.Errors {
				if d, ok := e.(*huma.ErrorDetail); ok {
					details = append(details, d)
				}
			}
			if verr == nil {
				verr = &model.ValidationError{}
			}
			d := flatten(details)
			for field, msgs := range d.FieldErrors {
				for _, m := range msgs {
					verr.Field(field, m)
				}
			}
			verr.Form = append(verr.Form, d.FormErrors...)
			items[i].Err = verr
		}
	}
}

// importOut is the answer to an import.
func importOut(res *model.ImportResult, dryRun bool) *importResponse {
	out := &ImportReport{Created: res.Created, Merged: res.Merged, Skipped: res.Skipped, Failed: res.Failed,
		Results: make([]ImportItemResult, len(res.Outcomes))}
	for i, o := range res.Outcomes {
		r := ImportItemResult{Index: o.Index, Status: o.Status, ID: idOrNil(o.ID), DuplicateOf: idOrNil(o.DuplicateOf)}
		if o.DuplicateOfIndex >= 0 {
			r.DuplicateOfIndex = &o.DuplicateOfIndex
		}
		if o.Err != nil {
			r.Error = "Validation failed"
			r.Details = validationDetails(o.Err)
		}
		out.Results[i] = r
	}
	status := http.StatusCreated
	if dryRun {
		status = http.StatusOK
	}
	return &importResponse{Status: status, Body: dataBody[*ImportReport]{out}}
}

func idOrNil(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// contactBody is c as the body of a POST that would create it, as JSON
// values, for the schema to check.
func contactBody(c *model.Contact) (any, error) {
	fields := make(map[string]any, len(model.ContactFields.Settable))
	for _, f := range model.ContactFields.Settable {
		fields[f.JSON] = f.Get(c)
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	var body any
	return body, json.Unmarshal(b, &body)
}
