package model

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// MaxNoteBody is the longest note body, in characters (Unicode code points).
const MaxNoteBody = 10000

// Note is free text attached to one contact. Its JSON form is the API's
// resource shape.
type Note struct {
	bun.BaseModel `bun:"table:notes,alias:n" json:"-"`

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	AccountID uuid.UUID `bun:"account_id,type:uuid,notnull" json:"-"`
	ContactID uuid.UUID `bun:"contact_id,type:uuid,notnull" json:"contactId" format:"uuid" readOnly:"true"`
	Body      string    `bun:"body,notnull" json:"body"`
	Version   int64     `bun:"version,notnull,default:1" json:"-"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:clock_timestamp()" json:"createdAt" readOnly:"true"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:clock_timestamp()" json:"updatedAt" readOnly:"true"`
}

// Validate checks the body: 1 to MaxNoteBody characters, not only
// whitespace. The body is stored exactly as sent.
func (n *Note) Validate() error {
	switch c := utf8.RuneCountInString(n.Body); {
	case strings.TrimSpace(n.Body) == "":
		return FieldError("body", "Must not be blank")
	case c > MaxNoteBody:
		return FieldError("body", fmt.Sprintf("Must be at most %d characters", MaxNoteBody))
	case !utf8.ValidString(n.Body):
		return FieldError("body", "Must be valid UTF-8")
	case strings.ContainsRune(n.Body, 0):
		return FieldError("body", MsgNUL)
	}
	return nil
}

// NotePatch is a partial update of a note. The body cannot be cleared: a
// Set with a nil Value is a ValidationError.
type NotePatch struct {
	Body Optional[string]
}

// Apply writes the patch onto n, validates the result and returns the fields
// whose value changed, keyed by JSON name.
func (p NotePatch) Apply(n *Note) (map[string]Change, error) {
	if !p.Body.Set {
		return map[string]Change{}, nil
	}
	if p.Body.Value == nil {
		return nil, FieldError("body", "Must not be null")
	}
	before := n.Body
	n.Body = *p.Body.Value
	if err := n.Validate(); err != nil {
		return nil, err
	}
	changes := map[string]Change{}
	if before != n.Body {
		changes["body"] = Change{Before: before, After: n.Body}
	}
	return changes, nil
}

// NoteFilter selects one contact's notes for NoteRepo.List.
type NoteFilter struct {
	ListParams
}
