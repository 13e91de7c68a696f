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
type ContactRepo struct {
	db       *bun.DB
	ev       *events
	contacts owned[model.Contact] // for Delete
	region   string               // of phone numbers without a country code
	// phoneKeys remembers the keys of the phone numbers it has seen.
	phoneKeys *model.PhoneKeys
	// stats refreshes the planner's statistics as accounts grow.
	stats *statsRefresh
	// totals remembers the counted totals of filtered lists.
	totals *totals
}

// Create inserts a contact for actor's account and logs contact.created in
// the same transaction (the caller's, inside Store.InTx). It returns a
// ValidationError for domain rule violations (including an introducedById
// outside the account).
func (r *ContactRepo) Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error) {
	c.AccountID = actor.AccountID
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	if err := r.create(ctx, actor, c); err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

// Get returns one contact of the account; ErrNotFound if there is none.
func (r *ContactRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error) {
	c := new(model.Contact)
	args := getContactSQL.args(func(name string) (any, bool) {
		switch name {
		case "account_id":
			return pgUUID(accountID), true
		case "id":
			return pgUUID(id), true
		}
		return nil, false
	})
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, getContactSQL.sql, append([]any{pgx.QueryExecModeCacheStatement}, args...)...).Scan(contactTargets(c)...)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

// Update applies a partial update and logs contact.updated with the changed
// fields, in one transaction (the caller's, inside Store.InTx). The write
// applies only to the version the precondition was checked against, so the
// check and the write are one atomic step.
func (r *ContactRepo) Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact]) (*model.Contact, error) {
	return r.update(ctx, actor, id, patch, check)
}

// Delete removes a contact and its notes and logs contact.deleted (and
// note.deleted for each note), in one transaction. Contacts it introduced
// lose the link, get a new version and each its contact.updated: every
// change is an event.
func (r *ContactRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[model.Contact]) error {
	return r.contacts.delete(ctx, actor, id, check,
		func(ctx context.Context, tx bun.Tx) error {
			if err := r.unlinkIntroduced(ctx, tx, actor, id); err != nil {
				return err
			}
			// Its notes go by ON DELETE CASCADE; each gets its note.deleted entry.
			return r.ev.logCascadedNoteDeletes(ctx, actor, id)
		})
}

// unlinkIntroduced clears introducedById on every contact that id
// introduced, and logs contact.updated for each.
func (r *ContactRepo) unlinkIntroduced(ctx context.Context, tx bun.Tx, actor model.Actor, id uuid.UUID) error {
	var ids []uuid.UUID
	err := tx.NewSelect().Model((*model.Contact)(nil)).Column("id").
		Where("account_id = ? AND introduced_by_id = ?", actor.AccountID, id).
		Order("id").For("UPDATE").Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := checkFresh(ctx, tx, "contacts", actor.AccountID, append(ids, id)); err != nil {
		return err
	}
	var unlinked []model.Contact
	err = tx.NewUpdate().Model((*model.Contact)(nil)).
		Set("introduced_by_id = NULL").
		Set("version = version + 1").
		Set("updated_at = clock_timestamp()").
		Where("account_id = ? AND id IN (?)", actor.AccountID, bun.List(ids)).
		Returning("*").
		Scan(ctx, &unlinked)
	if err != nil {
		return err
	}
	changes := map[string]model.Change{"introducedById": {Before: id, After: nil}}
	entries := make([]Entry, len(unlinked))
	for i := range unlinked {
		c := &unlinked[i]
		entries[i] = Entry{model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, c.ID, changes), c}
	}
	return r.ev.logMany(ctx, entries)
}
