package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// Precondition inspects the current row of a resource, under lock, before a
// write; it returns model.ErrPreconditionFailed to stop the write (If-Match).
type Precondition[T any] func(current *T) error

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
func lockOwned[T any](ctx context.Context, tx bun.Tx, accountID, id uuid.UUID, check Precondition[T]) (*T, error) {
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

// insertLogged inserts v (filling its generated columns) and the Activity
// Log entry that entry() builds from it, in one transaction.
func insertLogged[T any](ctx context.Context, db *bun.DB, v *T, entry func() *model.Activity) (*T, error) {
	err := inTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(v).Returning("*").Exec(ctx); err != nil {
			return err
		}
		return logActivity(ctx, tx, entry())
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
