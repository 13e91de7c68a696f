package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
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

// statement is one statement of a pipeline: its SQL, its arguments and
// where its one row goes (nil: it returns none).
type statement struct {
	sql  string
	args []any
	dest []any
}

// BEGIN and COMMIT, for pipelines.
var (
	begin  = statement{sql: "BEGIN"}
	commit = statement{sql: "COMMIT"}
)

// pipeline sends stmts in one round trip and reads their results in order;
// it returns the first error (Postgres skips what follows a failed
// statement). A statement with arguments or a row is prepared on the
// connection the first time (one more round trip, once), then only bound
// and executed; one without (BEGIN, COMMIT) is sent as it is. pgx's Batch
// would do the same, but it follows the connection's default mode, which is
// the simple protocol, unprepared, for bun's sake (see Open).
func pipeline(ctx context.Context, conn *pgx.Conn, stmts ...statement) error {
	sds := make([]*pgconn.StatementDescription, len(stmts))
	params := make([]pgx.ExtendedQueryBuilder, len(stmts))
	for i, s := range stmts {
		if s.args == nil && s.dest == nil {
			continue
		}
		sd, err := conn.Prepare(ctx, statementName(s.sql), s.sql)
		if err != nil {
			return err
		}
		if err := params[i].Build(conn.TypeMap(), sd, s.args); err != nil {
			return err
		}
		sds[i] = sd
	}
	pl := conn.PgConn().StartPipeline(ctx)
	for i, s := range stmts {
		if sds[i] == nil {
			pl.SendQueryParams(s.sql, nil, nil, nil, nil)
		} else {
			pl.SendQueryStatement(sds[i], params[i].ParamValues, params[i].ParamFormats, params[i].ResultFormats)
		}
	}
	if err := pl.Sync(); err != nil {
		_ = pl.Close()
		return err
	}
	var err error
	for _, s := range stmts {
		var res any
		if res, err = pl.GetResults(); err != nil {
			break
		}
		if err = readResult(conn, res, s.dest); err != nil {
			break
		}
	}
	// Reads what is left up to the Sync; a failed statement's error first.
	if closeErr := pl.Close(); err == nil {
		err = closeErr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && isStalePlan(pgErr) {
		// A migration changed a table under a prepared statement (see
		// interpretError). The connection goes, and its statements with it;
		// the client's retry runs on another, which prepares them afresh.
		_ = conn.Close(ctx)
	}
	return err
}

// statementName names the prepared statement of sql on every connection:
// a digest, since Postgres cuts names at 63 bytes.
func statementName(sql string) string {
	if name, ok := statementNames.Load(sql); ok {
		return name.(string)
	}
	sum := sha256.Sum256([]byte(sql))
	name := "remy_" + hex.EncodeToString(sum[:12])
	statementNames.Store(sql, name)
	return name
}

var statementNames sync.Map // SQL text → statement name

// readResult reads a pipelined statement's result into dest.
func readResult(conn *pgx.Conn, res any, dest []any) error {
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("pipeline: unexpected result %T", res)
	}
	if dest == nil {
		_, err := rr.Close()
		return err
	}
	rows := pgx.RowsFromResultReader(conn.TypeMap(), rr)
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// connTx lets River insert jobs in the transaction open on a connection
// (River takes a pgx.Tx); the transaction ends as its owner ends it
// (ContactRepo.write, runTx), never through connTx.
type connTx struct{ c *pgx.Conn }

var _ pgx.Tx = connTx{}

func (t connTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("connTx: nested transactions are not supported")
}
func (t connTx) Commit(context.Context) error { return errors.New("connTx: commit with a pipeline") }
func (t connTx) Rollback(context.Context) error {
	return errors.New("connTx: rolled back by its owner")
}
func (t connTx) Conn() *pgx.Conn                { return t.c }
func (t connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} } // unused by River
func (t connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}
func (t connTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, cols, src)
}
func (t connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Prepare(ctx, name, sql)
}
func (t connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}
func (t connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}
func (t connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}

// Arguments in the forms pgx encodes directly in binary. Given a
// uuid.UUID or a model.Date, pgx goes through their driver.Valuer (a
// string), fails to encode that in binary and falls back to text, a cost
// measured on every hot write (README, Performance).

func pgUUID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func pgUUIDOrNull(id *uuid.UUID) pgtype.UUID {
	if id == nil {
		return pgtype.UUID{}
	}
	return pgUUID(*id)
}

func pgDateOrNull(d *model.Date) pgtype.Date {
	if d == nil {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: d.Time, Valid: true}
}

// pgArg is v in the form pgx encodes directly, for the types above.
func pgArg(v any) any {
	switch v := v.(type) {
	case uuid.UUID:
		return pgUUID(v)
	case *uuid.UUID:
		return pgUUIDOrNull(v)
	case *model.Date:
		return pgDateOrNull(v)
	}
	return v
}
