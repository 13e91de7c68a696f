package client

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Note is a free-text note about a contact.
type Note struct {
	ID        string    `json:"id"`
	ContactID string    `json:"contactId"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// ETag identifies this version of the note, for IfMatch; set by Get,
	// Create and Update, empty in lists.
	ETag string `json:"-"`
}

// NoteInput is a new note. Body is 1–10,000 characters, not only
// whitespace, stored exactly as sent.
type NoteInput struct {
	Body string `json:"body"`
}

// NotesService is the notes API: Client.Notes.
type NotesService struct{ c *Client }

func notePath(id string) string { return "/api/v1/notes/" + pathID(id) }

func contactNotesPath(contactID string) string { return contactPath(contactID) + "/notes" }

func noteWithETag(n *Note, h http.Header) *Note {
	n.ETag = h.Get("ETag")
	return n
}

// Create adds a note to a contact; retries of the call carry one
// Idempotency-Key. Errors: ErrNotFound (the contact), ErrValidation.
func (s *NotesService) Create(ctx context.Context, contactID string, in NoteInput, opts ...CallOption) (*Note, error) {
	r := newRequest(http.MethodPost, contactNotesPath(contactID), opts)
	if err := r.jsonBody(in); err != nil {
		return nil, err
	}
	n, h, err := one[Note](ctx, s.c, r)
	if err != nil {
		return nil, err
	}
	return noteWithETag(n, h), nil
}

// Get reads one note. Errors: ErrNotFound.
func (s *NotesService) Get(ctx context.Context, id string) (*Note, error) {
	n, h, err := one[Note](ctx, s.c, newRequest(http.MethodGet, notePath(id), nil))
	if err != nil {
		return nil, err
	}
	return noteWithETag(n, h), nil
}

// Update changes a note: Patch{"body": "…"} (a note's body cannot be
// cleared). Errors: ErrNotFound, ErrValidation, ErrPreconditionFailed
// (with IfMatch).
func (s *NotesService) Update(ctx context.Context, id string, p Patch, opts ...CallOption) (*Note, error) {
	r := newRequest(http.MethodPatch, notePath(id), opts)
	if err := r.jsonBody(p); err != nil {
		return nil, err
	}
	n, h, err := one[Note](ctx, s.c, r)
	if err != nil {
		return nil, err
	}
	return noteWithETag(n, h), nil
}

// Delete removes a note. Errors: ErrNotFound, ErrPreconditionFailed (with
// IfMatch).
func (s *NotesService) Delete(ctx context.Context, id string, opts ...CallOption) error {
	_, err := s.c.call(ctx, newRequest(http.MethodDelete, notePath(id), opts), nil)
	return err
}

// List returns one page of a contact's notes, newest first.
// Errors: ErrNotFound (the contact).
func (s *NotesService) List(ctx context.Context, contactID string, p ListParams) (*Page[Note], error) {
	return list[Note](ctx, s.c, contactNotesPath(contactID), p.query())
}

// All yields every note of a contact, each once; see ContactsService.All.
func (s *NotesService) All(ctx context.Context, contactID string, p ListParams) iter.Seq2[*Note, error] {
	return all(ctx, p, func(n *Note) string { return n.ID },
		func(ctx context.Context, p ListParams) (*Page[Note], error) { return s.List(ctx, contactID, p) })
}
