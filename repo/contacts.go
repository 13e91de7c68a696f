package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// ContactRepo stores contacts. Every method is scoped to one account: a
// contact of another account is ErrNotFound, exactly like a missing one.
type ContactRepo struct{ db *bun.DB }

// Create inserts a contact for actor's account and logs contact.created in
// the same transaction. It returns a ValidationError for domain rule
// violations (including an introducedById outside the account).
func (r *ContactRepo) Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error) {
	c.AccountID = actor.AccountID
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return insertLogged(ctx, r.db, c, func() *model.Activity {
		return model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, c.ID, nil)
	})
}

// Get returns one contact of the account; ErrNotFound if there is none.
//
// It is the hottest read, so it is a prepared pgx statement rather than
// bun's getOwned[model.Contact] (the same query): measured with
// `task bench:http`, see README.
func (r *ContactRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error) {
	c := new(model.Contact)
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, getContactSQL, pgx.QueryExecModeCacheStatement, accountID, id).Scan(
			&c.ID, &c.AccountID, &c.GivenName, &c.FamilyName, &c.Nickname, &c.Company, &c.JobTitle,
			&c.Emails, &c.Phones, &c.Birthday, &c.Tags, &c.IntroducedByID, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	// As bun hands them over, whatever the process's time zone.
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// read is Get for updateLogged: the prepared statement, unless the caller's
// transaction (Store.InTx) must see the row.
func (r *ContactRepo) read(ctx context.Context, idb bun.IDB, accountID, id uuid.UUID) (*model.Contact, error) {
	if _, inTx := ctx.Value(txKey{}).(bun.Tx); inTx {
		return getOwned[model.Contact](ctx, idb, accountID, id)
	}
	return r.Get(ctx, accountID, id)
}

// getContactSQL is getOwned[model.Contact]'s query with placeholders; the
// columns are model.Contact's, in Get's Scan order.
const getContactSQL = `SELECT id, account_id, given_name, family_name, nickname, company, job_title,
	emails, phones, birthday, tags, introduced_by_id, version, created_at, updated_at
	FROM contacts WHERE account_id = $1 AND id = $2`

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
	return updateLogged(ctx, r.db, actor, id, check, r.read, patch.Apply, func(c *model.Contact) int64 { return c.Version }, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.ExcludeColumn("id", "account_id", "created_at", "version", "updated_at")
	}, model.ActionContactUpdated, model.ResourceContact)
}

// Delete removes a contact and its notes and logs contact.deleted (and
// note.deleted for each note), in one transaction. Contacts it introduced
// lose the link (and get a new version).
func (r *ContactRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check Precondition[model.Contact]) error {
	return deleteLogged(ctx, r.db, actor, id, check, model.ActionContactDeleted, model.ResourceContact,
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
			return logCascadedNoteDeletes(ctx, tx, actor, id)
		})
}
