package tests

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/remy-crm/remy/migrations"
	"github.com/remy-crm/remy/repo"
)

func TestMigrate_ConcurrentProcessesTakeTurns(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	ctx := context.Background()
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	applied := make([][]string, n)
	for i := range n {
		wg.Go(func() {
			// Each "process" has its own pool, as separate binaries would.
			db, err := repo.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = migrations.Migrate(ctx, db)
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	db, err := repo.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again, err := migrations.Migrate(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("still to apply after concurrent migrate: %v", again)
	}
	var rows int
	if err := db.NewRaw("SELECT count(*) FROM bun_migrations").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if rows != total || total == 0 {
		t.Fatalf("bun_migrations has %d rows, migrators reported %d applied: each must be applied exactly once", rows, total)
	}
}

func TestMigrate_FailedMigrationIsNotMarkedApplied(t *testing.T) {
	t.Parallel()
	dsn := newEmptyDatabase(t)
	ctx := context.Background()
	db, err := repo.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	broken := fstest.MapFS{
		"000001_first.tx.up.sql":  {Data: []byte("CREATE TABLE first (id int);")},
		"000002_second.tx.up.sql": {Data: []byte("CREATE TABLE second (id int);\n--bun:split\nSELECT no_such_function();")},
	}
	applied, err := migrations.Runner{FS: broken}.Migrate(ctx, db)
	if err == nil {
		t.Fatal("a failing migration reported success")
	}
	if len(applied) != 1 || applied[0] != "000001" {
		t.Fatalf("applied = %v, want just 000001", applied)
	}
	var names []string
	if err := db.NewRaw("SELECT name FROM bun_migrations ORDER BY name").Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "000001" {
		t.Fatalf("bun_migrations = %v: the failed migration must not be marked applied", names)
	}
	var exists bool
	if err := db.NewRaw("SELECT to_regclass('second') IS NOT NULL").Scan(ctx, &exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("the failed transactional migration left its table behind")
	}

	fixed := fstest.MapFS{
		"000001_first.tx.up.sql":  broken["000001_first.tx.up.sql"],
		"000002_second.tx.up.sql": {Data: []byte("CREATE TABLE second (id int);")},
	}
	applied, err = migrations.Runner{FS: fixed}.Migrate(ctx, db)
	if err != nil || len(applied) != 1 || applied[0] != "000002" {
		t.Fatalf("after the fix: applied %v, err %v", applied, err)
	}
}
