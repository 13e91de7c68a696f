// Package migrations holds Remy's SQL schema changes, embedded in the binary,
// and the runner that applies them.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// lockKey is the pg_advisory_lock key that serialises migrations across
// processes ("remy" in ASCII).
const lockKey = 0x72656d79

// Migrate applies every pending migration and returns the names it applied.
//
// Concurrent callers (two `remy serve` starting together) are serialised by a
// Postgres advisory lock held on one dedicated connection: the second waits
// for the first and then finds nothing to do. bun's own lock table is not used
// because it fails at once on contention and survives a crash. A migration is
// recorded as applied only after it succeeded, so a failed one is retried.
//
// River's own migrations (its job queue, which delivers webhooks) run after
// ours under the same lock; they are recorded in River's table and not
// reported in applied.
func Migrate(ctx context.Context, db *bun.DB) (applied []string, err error) {
	return Runner{FS: files, River: true}.Migrate(ctx, db)
}

// Runner applies one set of migrations: Migrate's (the embedded files and
// River's), or another, such as a test's of the runner itself.
type Runner struct {
	// FS holds the migrations, NNNNNN_name.up.sql (.tx.up.sql for one
	// that runs in a transaction).
	FS fs.FS
	// River also applies River's own migrations, after FS's.
	River bool
}

// Migrate applies r's migrations that db lacks, as the package's Migrate
// does.
func (r Runner) Migrate(ctx context.Context, db *bun.DB) (applied []string, err error) {
	fsys, withRiver := r.FS, r.River
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	// Waiting for another process's migrations may take longer than the
	// pool's statement_timeout allows a statement.
	if _, err := conn.ExecContext(ctx, "SET statement_timeout = 0"); err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "RESET statement_timeout")
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the caller's may be done, and the lock must not
		// outlive this call on a pooled connection.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey)
	}()

	migrator, err := newMigrator(db, fsys)
	if err != nil {
		return nil, err
	}
	if err := migrator.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	group, err := migrator.Migrate(ctx)
	if group != nil {
		for _, m := range group.Migrations {
			applied = append(applied, m.Name)
		}
	}
	if err != nil {
		// The last one in the group is the one that failed.
		if n := len(applied); n > 0 {
			applied = applied[:n-1]
		}
		return applied, fmt.Errorf("migrate: %w", err)
	}
	if withRiver {
		rm, err := rivermigrate.New(riverdatabasesql.New(db.DB), nil)
		if err != nil {
			return applied, fmt.Errorf("migrate: river: %w", err)
		}
		if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return applied, fmt.Errorf("migrate: river: %w", err)
		}
	}
	return applied, nil
}

func newMigrator(db *bun.DB, fsys fs.FS) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("migrate: discover: %w", err)
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}
