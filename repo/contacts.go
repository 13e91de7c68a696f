package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// ContactRepo stores contacts. Every method is scoped to one account: a
// contact of another account is ErrNotFound, exactly like a missing one.
type ContactRepo struct {
	db *bun.DB
	ev *events
}

// Create inserts a contact for actor's account and logs contact.created in
// the same transaction. It returns a ValidationError for domain rule
// violations (including an introducedById outside the account).
func (r *ContactRepo) Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error) {
	c.AccountID = actor.AccountID
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return insertLogged(ctx, r.db, r.ev, c, func() *model.Activity {
		return model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, c.ID, nil)
	})
}

// Get returns one contact of the account; ErrNotFound if there is none.
func (r *ContactRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error) {
	return getOwned[model.Contact](ctx, r.db, accountID, id)
}

type contactRow struct {
	model.Contact `bun:",extend"`
	Total         int `bun:"total,scanonly"`
}

func (r contactRow) item() model.Contact { return r.Contact }
func (r contactRow) total() int          { return r.Total }

// List returns one page of the account's contacts, newest first, and the
// count of all of them.
func (r *ContactRepo) List(ctx context.Context, accountID uuid.UUID, f model.ContactFilter) (model.Page[model.Contact], error) {
	return listPage[model.Contact, contactRow](ctx, r.db, f.ListParams, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("?TableAlias.account_id = ?", accountID)
	}, nil)
}

// Update applies a partial update and logs contact.updated with the changed
// fields, in one transaction. The row is locked first, so the precondition
// check and the write are one atomic step.
func (r *ContactRepo) Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check Precondition[model.Contact]) (*model.Contact, error) {
	return updateLogged(ctx, r.db, r.ev, actor, id, check, patch.Apply, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.ExcludeColumn("id", "account_id", "created_at", "version", "updated_at")
	}, model.ActionContactUpdated, model.ResourceContact)
}

// Delete removes a contact and its notes and logs contact.deleted (and
// note.deleted for each note), in one transaction. Contacts it introduced
// lose the link (and get a new version).
func (r *ContactRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check Precondition[model.Contact]) error {
	return deleteLogged(ctx, r.db, r.ev, actor, id, check, model.ActionContactDeleted, model.ResourceContact,
		func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewUpdate().Model((*model.Contact)(nil)).
				Set("introduced_by_id = NULL").
				Set("version = version + 1").
				Set("updated_at = clock_timestamp()").
				Where("account_id = ? AND introduced_by_id = ?", actor.AccountID, id).
				Exec(ctx)
			if err != nil {
				return err
			}
			// Its notes go by ON DELETE CASCADE; each gets its note.deleted entry.
			return r.ev.logCascadedNoteDeletes(ctx, tx, actor, id)
		})
}
