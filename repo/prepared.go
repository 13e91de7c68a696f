package repo

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// withPgx runs fn on a pooled connection as pgx itself, for the few hot
// statements that pay for being prepared. bun writes its arguments into
// the SQL text, so Postgres parses and plans each of its statements anew;
// a pgx statement run with QueryExecModeCacheStatement is prepared once per
// connection and then only bound and executed (see README, Performance).
func withPgx(ctx context.Context, db *bun.DB, fn func(*pgx.Conn) error) error {
	c, err := db.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// runPgxTx is runTx for the hot writes that run as pgx: fn runs in a
// transaction on one pooled connection, its statements prepared, and
// returns the transaction's id (txid_current(), selected beside one of its
// statements), so that a COMMIT whose answer is lost is resolved as in
// runTx.
func runPgxTx(ctx context.Context, db *bun.DB, fn func(tx pgx.Tx) (xid int64, err error)) error {
	return withPgx(ctx, db, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		// A no-op once committed. Should it fail, the connection is still in
		// the transaction and database/sql discards it (stdlib's ResetSession).
		defer func() { _ = tx.Rollback(ctx) }()
		xid, err := fn(tx)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // COMMIT not sent: rolled back for certain
		}
		return commitResolved(ctx, db, xid, func() error { return tx.Commit(ctx) })
	})
}
