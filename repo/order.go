package repo

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// The change feed orders events by their transaction's id (see
// migrations/000008_change_feed.tx.up.sql). For two writes of one row that
// order must be the order in which they were made, or a client applying
// snapshots in feed order would end with the older one. A transaction gets
// its id at its first write or row lock, so a single-row write, or the first
// lock of a transaction, is always ordered after any write it waited for.
// A transaction that locks or writes more rows later may find one changed,
// meanwhile, by a transaction that got its id after it did: its events would
// be served first though made later. checkFresh detects exactly that, and
// runTx runs such a transaction again (with a new id).

// errReordered is checkFresh's answer: run the transaction again.
var errReordered = errors.New("a row changed under a transaction that already had its id")

// checkFresh returns errReordered if any of the rows (table, ids of
// accountID), locked by the caller's transaction, was last written by a
// committed transaction whose id is newer than the caller's. age(xmin) is
// the caller's id minus the row's writer's; the caller's own savepoints
// have newer ids too, but are not committed.
func checkFresh(ctx context.Context, tx bun.IDB, table string, accountID uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	var stale bool
	err := tx.NewRaw(`SELECT pg_current_xact_id() IS NOT NULL AND EXISTS (SELECT FROM ? WHERE account_id = ? AND id IN (?) AND age(xmin) < 0
		AND pg_xact_status((pg_current_xact_id()::text::bigint - age(xmin))::text::xid8) = 'committed')`,
		bun.Ident(table), accountID, bun.List(ids)).Scan(ctx, &stale)
	if err != nil {
		return err
	}
	if stale {
		return errReordered
	}
	return nil
}
