package repo

import (
	"cmp"
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// settableNames are the JSON names of every settable contact field: a
// patch naming them all sets a contact to another's values.
var settableNames = func() []string {
	names := make([]string, len(model.ContactFields.Settable))
	for i, f := range model.ContactFields.Settable {
		names[i] = f.JSON
	}
	return names
}()

// Merge folds sources into target, in one transaction: the target takes
// model.MergeContacts' result (contact.updated, if a field changed), the
// contacts a source introduced are introduced by the target
// (contact.updated each), the sources' notes move to the target
// (note.updated each) and the sources are deleted (contact.deleted each,
// with the source as it was). A source or target that is missing or another
// account's is ErrNotFound, and nothing changes; check (If-Match) runs on
// the locked target. The contacts' updates go through Update's write (the
// row, its entry and its deliveries as a PATCH writes them), the moves and
// deletions through events.log; every entry carries actor's key, address
// and user agent.
func (r *ContactRepo) Merge(ctx context.Context, actor model.Actor, targetID uuid.UUID, sourceIDs []uuid.UUID, check model.Precondition[model.Contact]) (*model.Contact, error) {
	if err := model.CheckMergeSources(targetID, sourceIDs); err != nil {
		return nil, err
	}
	var out *model.Contact
	err := inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		target, sources, err := lockMerge(ctx, tx, actor.AccountID, targetID, sourceIDs)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(target); err != nil {
				return err
			}
		}
		merged := model.ContactPatch{Values: model.MergeContacts(*target, sources, r.region), Set: settableNames}
		if out, err = r.update(ctx, actor, targetID, merged, nil); err != nil {
			return err
		}
		if err := r.repoint(ctx, tx, actor, targetID, sourceIDs); err != nil {
			return err
		}
		for _, s := range sources {
			if err := r.moveNotes(ctx, tx, actor, s.ID, targetID); err != nil {
				return err
			}
		}
		return r.deleteSources(ctx, tx, actor, sources)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockMerge reads the target and the sources (in sourceIDs' order) FOR
// UPDATE, together with the contacts the sources introduced, all in one
// statement and in id order: two merges lock their rows in the same order,
// so neither can hold a row the other waits for while waiting for one it
// holds. A held source also keeps new notes and new introducedById links
// from naming it (their foreign key checks wait for it) until it is gone.
func lockMerge(ctx context.Context, tx bun.Tx, accountID, targetID uuid.UUID, sourceIDs []uuid.UUID) (*model.Contact, []model.Contact, error) {
	var rows []model.Contact
	err := tx.NewSelect().Model(&rows).
		Where("account_id = ?", accountID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("id IN (?)", bun.List(append([]uuid.UUID{targetID}, sourceIDs...))).
				WhereOr("introduced_by_id IN (?)", bun.List(sourceIDs))
		}).
		OrderExpr("id").
		For("UPDATE").
		Scan(ctx)
	if err != nil {
		return nil, nil, err
	}
	locked := make([]uuid.UUID, len(rows))
	for i := range rows {
		locked[i] = rows[i].ID
	}
	if err := checkFresh(ctx, tx, "contacts", accountID, locked); err != nil {
		return nil, nil, err
	}
	find := func(id uuid.UUID) *model.Contact {
		i := slices.IndexFunc(rows, func(c model.Contact) bool { return c.ID == id })
		if i < 0 {
			return nil
		}
		return &rows[i]
	}
	target := find(targetID)
	if target == nil {
		return nil, nil, model.ErrNotFound
	}
	sources := make([]model.Contact, len(sourceIDs))
	for i, id := range sourceIDs {
		s := find(id)
		if s == nil {
			return nil, nil, model.ErrNotFound
		}
		sources[i] = *s
	}
	return target, sources, nil
}

// repoint makes the target the introducer of every contact a source
// introduced (but the sources, about to go, and the target, whose own link
// the merge settled), through Update's write, so each logs contact.updated
// with its introducedById change.
func (r *ContactRepo) repoint(ctx context.Context, tx bun.Tx, actor model.Actor, targetID uuid.UUID, sourceIDs []uuid.UUID) error {
	var ids []uuid.UUID
	err := tx.NewSelect().Model((*model.Contact)(nil)).Column("id").
		Where("account_id = ? AND introduced_by_id IN (?)", actor.AccountID, bun.List(sourceIDs)).
		Where("id NOT IN (?)", bun.List(append([]uuid.UUID{targetID}, sourceIDs...))).
		OrderExpr("id").
		Scan(ctx, &ids)
	if err != nil {
		return err
	}
	patch := model.ContactPatch{Values: model.Contact{IntroducedByID: &targetID}}
	patch.With("introducedById")
	for _, id := range ids {
		if _, err := r.update(ctx, actor, id, patch, nil); err != nil {
			return err
		}
	}
	return nil
}

// moveNotes moves every note of contact from to contact to, each with a
// new version and a note.updated entry whose changes are its contactId.
func (r *ContactRepo) moveNotes(ctx context.Context, tx bun.Tx, actor model.Actor, from, to uuid.UUID) error {
	var notes []model.Note
	_, err := tx.NewUpdate().Model((*model.Note)(nil)).
		Set("contact_id = ?", to).
		Set("version = version + 1").
		Set("updated_at = clock_timestamp()").
		Where("account_id = ? AND contact_id = ?", actor.AccountID, from).
		Returning("*").
		Exec(ctx, &notes)
	if err != nil {
		return err
	}
	slices.SortFunc(notes, func(a, b model.Note) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), slices.Compare(a.ID[:], b.ID[:]))
	})
	for i := range notes {
		changes := map[string]model.Change{"contactId": {Before: from, After: to}}
		a := model.NewActivity(actor, model.ActionNoteUpdated, model.ResourceNote, notes[i].ID, changes)
		if err := r.ev.log(ctx, a, &notes[i]); err != nil {
			return err
		}
	}
	return nil
}

// deleteSources deletes the sources, whose notes and introductions have
// moved, and logs contact.deleted for each, with the source as it was.
func (r *ContactRepo) deleteSources(ctx context.Context, tx bun.Tx, actor model.Actor, sources []model.Contact) error {
	ids := make([]uuid.UUID, len(sources))
	for i, s := range sources {
		ids[i] = s.ID
	}
	_, err := tx.NewDelete().Model((*model.Contact)(nil)).
		Where("account_id = ? AND id IN (?)", actor.AccountID, bun.List(ids)).
		Exec(ctx)
	if err != nil {
		return err
	}
	for i := range sources {
		a := model.NewActivity(actor, model.ActionContactDeleted, model.ResourceContact, sources[i].ID, nil)
		if err := r.ev.log(ctx, a, &sources[i]); err != nil {
			return err
		}
	}
	return nil
}
