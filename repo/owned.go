package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// getOwned reads one row of an account-owned table; ErrNotFound when there
// is none or it belongs to another account (the two are indistinguishable).
func getOwned[T any](ctx context.Context, db bun.IDB, accountID, id uuid.UUID) (*T, error) {
	v := new(T)
	err := db.NewSelect().Model(v).
		Where("?TableAlias.account_id = ? AND ?TableAlias.id = ?", accountID, id).
		Scan(ctx)
	if err != nil {
		return nil, interpretError(err)
	}
	return v, nil
}

// lockOwned reads an account-owned row FOR UPDATE and runs the precondition
// on it, so the check and the write that follows are one atomic step.
func lockOwned[T any](ctx context.Context, tx bun.Tx, accountID, id uuid.UUID, check model.Precondition[T]) (*T, error) {
	v := new(T)
	err := tx.NewSelect().Model(v).
		Where("?TableAlias.account_id = ? AND ?TableAlias.id = ?", accountID, id).
		For("UPDATE").
		Scan(ctx)
	if err != nil {
		return nil, interpretError(err)
	}
	if check != nil {
		if err := check(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// owned is an account-owned table's generic writes: each runs in one
// transaction (the caller's, inside Store.InTx) with the Activity Log entry
// of its action, whose webhook deliveries get the resource as it is after
// the write (before it, for a delete).
type owned[T any] struct {
	db                        *bun.DB
	ev                        *events
	resource                  string // the Activity Log's resourceType
	created, updated, deleted string // the Activity Log's actions
}

// insert inserts v (filling its generated columns) and logs o.created.
func (o owned[T]) insert(ctx context.Context, actor model.Actor, v *T) (*T, error) {
	err := inTx(ctx, o.db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(v).Returning("*").Exec(ctx); err != nil {
			return err
		}
		return o.ev.log(ctx, model.NewActivity(actor, o.created, o.resource, idOf(v), nil), v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// idOf is the id of an account-owned row.
func idOf[T any](v *T) uuid.UUID {
	f, _ := model.FieldsOf[T]().ByJSON("id")
	return f.Get(v).(uuid.UUID)
}

// pageRow is a row of T scanned with the window count of every row the
// query matched, so a page and its total come in one round trip and one
// snapshot. Each resource declares one (a struct embedding T with
// `bun:",extend"` and a `total` column).
type pageRow[T any] interface {
	item() T
	total() int
}

// listPage returns one page of T, newest first (id breaks ties, so pages
// never overlap or skip), and the count of every row filter selects. Past
// the end no row carries the count: emptyTotal, if given, supplies it (and
// may refuse the list); otherwise a COUNT with the same filter does.
func listPage[T any, R pageRow[T]](ctx context.Context, db *bun.DB, p model.ListParams,
	filter func(*bun.SelectQuery) *bun.SelectQuery, emptyTotal func(context.Context) (int, error),
) (model.Page[T], error) {
	var rows []R
	err := db.NewSelect().Model(&rows).
		ColumnExpr("?TableAlias.*").
		ColumnExpr("count(*) OVER () AS total").
		Apply(filter).
		OrderExpr("?TableAlias.created_at DESC, ?TableAlias.id DESC").
		Limit(int64(p.Limit)).Offset(int64(p.Offset)).
		Scan(ctx)
	if err != nil {
		return model.Page[T]{}, interpretError(err)
	}
	page := model.Page[T]{Items: make([]T, len(rows))}
	for i, row := range rows {
		page.Items[i], page.Total = row.item(), row.total()
	}
	switch {
	case len(rows) > 0:
	case emptyTotal != nil:
		page.Total, err = emptyTotal(ctx)
	case p.Offset > 0:
		var n int64
		n, err = db.NewSelect().Model((*T)(nil)).Apply(filter).Count(ctx)
		page.Total = int(n)
	}
	if err != nil {
		return model.Page[T]{}, interpretError(err)
	}
	return page, nil
}

// update is every partial update: it locks the row (running the
// precondition), applies the patch, and, when something changed, writes
// columns with a new version and logs o.updated with the changes. A patch
// that changes nothing writes nothing.
func (o owned[T]) update(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[T],
	apply func(*T) (map[string]model.Change, error), columns ...string,
) (*T, error) {
	var out *T
	err := inTx(ctx, o.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := lockOwned(ctx, tx, actor.AccountID, id, check)
		if err != nil {
			return err
		}
		changes, err := apply(v)
		if err != nil {
			return err
		}
		out = v
		if len(changes) == 0 {
			return nil
		}
		_, err = tx.NewUpdate().Model(v).
			Column(columns...).
			Set("version = version + 1").
			Set("updated_at = clock_timestamp()").
			WherePK().
			Returning("*").
			Exec(ctx)
		if err != nil {
			return err
		}
		return o.ev.log(ctx, model.NewActivity(actor, o.updated, o.resource, id, changes), v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// delete is every delete: it locks the row (running the precondition),
// runs before (what must go first, if anything), deletes the row and logs
// o.deleted.
func (o owned[T]) delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[T],
	before func(context.Context, bun.Tx) error,
) error {
	return inTx(ctx, o.db, func(ctx context.Context, tx bun.Tx) error {
		old, err := lockOwned(ctx, tx, actor.AccountID, id, check)
		if err != nil {
			return err
		}
		if before != nil {
			if err := before(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.NewDelete().Model((*T)(nil)).
			Where("?TableAlias.account_id = ? AND ?TableAlias.id = ?", actor.AccountID, id).
			Exec(ctx); err != nil {
			return err
		}
		return o.ev.log(ctx, model.NewActivity(actor, o.deleted, o.resource, id, nil), old)
	})
}
