package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// NoteRepo stores notes. Every method is scoped to one account: a note (or
// contact) of another account is ErrNotFound, exactly like a missing one.
type NoteRepo struct {
	db    *bun.DB
	notes owned[model.Note]
}

// Create adds a note to one of the account's contacts and logs note.created
// in the same transaction. An unknown or foreign contact is ErrNotFound; a
// body breaking the rules is a ValidationError.
func (r *NoteRepo) Create(ctx context.Context, actor model.Actor, contactID uuid.UUID, n *model.Note) (*model.Note, error) {
	n.AccountID, n.ContactID = actor.AccountID, contactID
	if err := n.Validate(); err != nil {
		return nil, err
	}
	// The composite foreign key (account_id, contact_id) turns a foreign
	// contact into notes_contact_fk, which interpretError makes ErrNotFound.
	return r.notes.insert(ctx, actor, n)
}

// Get returns one note of the account; ErrNotFound if there is none.
func (r *NoteRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Note, error) {
	return getOwned[model.Note](ctx, r.db, accountID, id)
}

type noteRow struct {
	model.Note `bun:",extend"`
	Total      int `bun:"total,scanonly"`
}

func (r noteRow) item() model.Note { return r.Note }
func (r noteRow) total() int       { return r.Total }

// List returns one page of a contact's notes, newest first, and the count
// of all of them. An unknown or foreign contact is ErrNotFound, not an
// empty list.
func (r *NoteRepo) List(ctx context.Context, accountID, contactID uuid.UUID, f model.NoteFilter) (model.Page[model.Note], error) {
	return listPage[model.Note, noteRow](ctx, r.db, f.ListParams, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("?TableAlias.account_id = ? AND ?TableAlias.contact_id = ?", accountID, contactID)
	}, func(ctx context.Context) (int, error) {
		// No row: the contact has no notes, the page is past the end, or
		// the contact is not the account's (ErrNotFound).
		var total int
		err := r.db.NewSelect().
			ColumnExpr("(SELECT count(*) FROM notes WHERE account_id = c.account_id AND contact_id = c.id)").
			TableExpr("contacts AS c").
			Where("c.account_id = ? AND c.id = ?", accountID, contactID).
			Scan(ctx, &total)
		return total, err
	})
}

// Update applies a partial update and logs note.updated with the changed
// fields, in one transaction, the row locked first so the precondition and
// the write are atomic.
func (r *NoteRepo) Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.NotePatch, check model.Precondition[model.Note]) (*model.Note, error) {
	return r.notes.update(ctx, actor, id, check, patch.Apply, "body")
}

// Delete removes a note and logs note.deleted, in one transaction.
func (r *NoteRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[model.Note]) error {
	return r.notes.delete(ctx, actor, id, check, nil)
}
