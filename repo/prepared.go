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
