package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// NoteInput is the body of POST (body required) and PATCH (body optional,
// never null: a note cannot be emptied, only deleted).
type NoteInput struct {
	Body Nullable[string] `json:"body,omitempty" nullable:"false" minLength:"1" maxLength:"10000" doc:"1–10,000 characters, not only whitespace; stored exactly as sent." example:"Met at the Analytical Society; loves poetry."`
}

// NoteCreateInput is the body of POST: the same field, required.
type NoteCreateInput struct {
	Body string `json:"body" minLength:"1" maxLength:"10000" doc:"1–10,000 characters, not only whitespace; stored exactly as sent." example:"Met at the Analytical Society; loves poetry."`
}

// NoteIDParam is the {id} of a note URL.
type NoteIDParam struct {
	ID uuid.UUID `path:"id" format:"uuid" doc:"The note's id." example:"5f0c2d9e-8a1b-4c3d-9e8f-7a6b5c4d3e2f"`
}

// ContactNotesParam is the {contactId} of a contact's notes URL.
type ContactNotesParam struct {
	ContactID uuid.UUID `path:"contactId" format:"uuid" doc:"The contact's id." example:"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11"`
}

type noteResponse struct {
	ETagHeader
	Body dataBody[*model.Note]
}

type noteCreatedResponse struct {
	Location string `header:"Location" doc:"URL of the new note."`
	ETagHeader
	IdempotentReplayedHeader
	Body dataBody[*model.Note]
}

// noteETag is the ETag of a note's current version.
func noteETag(n *model.Note) string { return etag(n.ID, n.Version) }

func noteOut(n *model.Note) *noteResponse {
	return &noteResponse{ETagHeader: ETagHeader{noteETag(n)}, Body: dataBody[*model.Note]{n}}
}

func (s *server) registerNotes() {
	s.listNotes()
	s.createNote()
	s.getNote()
	s.updateNote()
	s.deleteNote()
}

func (s *server) listNotes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listNotes",
		Method:      http.MethodGet,
		Path:        "/api/v1/contacts/{contactId}/notes",
		Summary:     "List a contact's notes",
		Description: "Returns a page of one contact's notes, newest first, and the total count before pagination. An unknown or another account's contact is a 404.",
		Tags:        []string{"Notes"},
		Security:    requireScope(model.ScopeNotesRead),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		ContactNotesParam
		ListParams
	}) (*listResponse[model.Note], error) {
		page, err := s.notes.List(ctx, accountID(ctx), in.ContactID, model.NoteFilter{ListParams: in.model()})
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return listOut(page), nil
	})
}

func (s *server) createNote() {
	huma.Register(s.api, huma.Operation{
		OperationID:   "createNote",
		Method:        http.MethodPost,
		Path:          "/api/v1/contacts/{contactId}/notes",
		Summary:       "Add a note to a contact",
		Description:   "Creates a note on one contact. An unknown or another account's contact is a 404.",
		Tags:          []string{"Notes"},
		Security:      requireScope(model.ScopeNotesWrite),
		DefaultStatus: http.StatusCreated,
		Errors:        errs(http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		ContactNotesParam
		IdempotencyKeyParam
		Body NoteCreateInput
	}) (*noteCreatedResponse, error) {
		n, err := s.notes.Create(ctx, actor(ctx), in.ContactID, &model.Note{Body: in.Body.Body})
		if err != nil {
			return nil, problem(err, "Contact")
		}
		return &noteCreatedResponse{Location: "/api/v1/notes/" + n.ID.String(), ETagHeader: ETagHeader{noteETag(n)}, Body: dataBody[*model.Note]{n}}, nil
	})
}

func (s *server) getNote() {
	huma.Register(s.api, huma.Operation{
		OperationID: "getNote",
		Method:      http.MethodGet,
		Path:        "/api/v1/notes/{id}",
		Summary:     "Get a note",
		Description: "Returns one note. Another account's note is a 404, exactly like a missing one.",
		Tags:        []string{"Notes"},
		Security:    requireScope(model.ScopeNotesRead),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound),
		Responses:   notModifiedResponse(),
	}, func(ctx context.Context, in *struct {
		NoteIDParam
		IfNoneMatchParam
	}) (*noteResponse, error) {
		n, err := s.notes.Get(ctx, accountID(ctx), in.ID)
		if err != nil {
			return nil, problem(err, "Note")
		}
		if err := in.notModified(noteETag(n)); err != nil {
			return nil, err
		}
		return noteOut(n), nil
	})
}

func (s *server) updateNote() {
	huma.Register(s.api, huma.Operation{
		OperationID: "updateNote",
		Method:      http.MethodPatch,
		Path:        "/api/v1/notes/{id}",
		Summary:     "Update a note",
		Description: "Partial update: an absent body is unchanged; null is refused (422), since a note cannot be empty.",
		Tags:        []string{"Notes"},
		Security:    requireScope(model.ScopeNotesWrite),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *struct {
		NoteIDParam
		IfMatchParam
		Body NoteInput
	}) (*noteResponse, error) {
		patch := model.NotePatch{Body: optional(in.Body.Body, same)}
		n, err := s.notes.Update(ctx, actor(ctx), in.ID, patch, precondition(in.IfMatchParam, noteETag))
		if err != nil {
			return nil, problem(err, "Note")
		}
		return noteOut(n), nil
	})
}

func (s *server) deleteNote() {
	huma.Register(s.api, huma.Operation{
		OperationID: "deleteNote",
		Method:      http.MethodDelete,
		Path:        "/api/v1/notes/{id}",
		Summary:     "Delete a note",
		Description: "Deletes a note.",
		Tags:        []string{"Notes"},
		Security:    requireScope(model.ScopeNotesWrite),
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed),
	}, func(ctx context.Context, in *struct {
		NoteIDParam
		IfMatchParam
	}) (*dataResponse[Deleted], error) {
		if err := s.notes.Delete(ctx, actor(ctx), in.ID, precondition(in.IfMatchParam, noteETag)); err != nil {
			return nil, problem(err, "Note")
		}
		return deleted(in.ID), nil
	})
}
