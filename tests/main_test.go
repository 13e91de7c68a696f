// Package tests drives Remy over real HTTP against a real Postgres.
//
// The database comes from $TEST_DATABASE_URL when set, otherwise from a
// testcontainers Postgres ($TEST_POSTGRES_IMAGE, default postgres:17); Redis
// likewise from $TEST_REDIS_URL or a redis:7 container (see testRedisURL).
// Migrations run once into a template database; every test clones its own
// database from it, so tests run in parallel and never see each other's rows.
package tests

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"go.uber.org/goleak"

	"github.com/remy-crm/remy/migrations"
	"github.com/remy-crm/remy/repo"
)

var (
	// adminDSN connects to the server as a user that may create databases.
	adminDSN string
	// templateDB is the migrated database every test database is cloned from.
	templateDB string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx := context.Background()
	stop, err := startPostgres(ctx)
	if err != nil {
		log.Printf("tests: %v", err)
		return 1
	}
	defer stop()
	if err := createTemplate(ctx); err != nil {
		log.Printf("tests: %v", err)
		return 1
	}
	defer dropDatabase(templateDB)
	code := m.Run()
	if c := reportContract(); code == 0 {
		code = c
	}
	cleanupBinary()
	stopRedis()
	stopContractChecks()
	if code == 0 {
		if err := leakedGoroutines(); err != nil {
			log.Printf("tests: goroutines outlived the tests (every in-process server, pool and client must be closed):\n%v", err)
			return 1
		}
	}
	return code
}

// leakedGoroutines reports goroutines still running once every test and
// its cleanups are done: a server, pool, Redis client or stream left open.
// Idle keep-alive connections of the shared HTTP client are closed first,
// since they are the client's to keep, not a leak of Remy's.
func leakedGoroutines() error {
	http.DefaultClient.CloseIdleConnections()
	// toxiproxy (the fault tests' in-process proxy, not Remy) strands a
	// toxic's goroutine when a toxic whose removal closes the link (timeout)
	// is removed while the previous stub is handing it a chunk: RemoveToxic
	// returns early after Cleanup and nothing reads that stub's output again.
	return goleak.Find(goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"))
}

func startPostgres(ctx context.Context) (func(), error) {
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		adminDSN = dsn
		return func() {}, nil
	}
	image := os.Getenv("TEST_POSTGRES_IMAGE")
	if image == "" {
		image = "postgres:17"
	}
	opts := []testcontainers.ContainerCustomizer{
		postgres.WithDatabase("remy"),
		postgres.WithUsername("remy"),
		postgres.WithPassword("remy"),
		postgres.BasicWaitStrategies(),
	}
	// Durability buys nothing in a throwaway test database. A benchmark that
	// reports what a new user sees asks for the image's own configuration
	// (TEST_POSTGRES_DEFAULTS=1, `task bench:search`).
	if os.Getenv("TEST_POSTGRES_DEFAULTS") == "" {
		opts = append(opts, testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300"))
	}
	ctr, err := postgres.Run(ctx, image, opts...)
	stop := func() {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("start Postgres with testcontainers (set TEST_DATABASE_URL to use an existing server): %w", err)
	}
	adminDSN, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

func createTemplate(ctx context.Context) error {
	templateDB = "remy_tpl_" + strings.ToLower(rand.Text()[:10])
	if err := adminExec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		return err
	}
	db, err := repo.Open(ctx, dsnFor(templateDB))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Migrate(ctx, db); err != nil {
		return err
	}
	return nil
}

// newDatabase clones the template into a fresh database for one test and
// returns its DSN; the database is dropped when the test ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	name := "remy_t_" + strings.ToLower(rand.Text()[:12])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		// Two clones of one template at the same instant collide ("source
		// database is being accessed by other users"): retry briefly.
		err = adminExec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", name, templateDB))
		if err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(time.Duration(20+attempt*10) * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("clone template: %v", err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	return dsnFor(name)
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		log.Printf("drop database %s: %v", name, err)
	}
}

func adminExec(ctx context.Context, query string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}

// dsnFor is adminDSN pointed at another database.
func dsnFor(database string) string {
	u, err := url.Parse(adminDSN)
	if err != nil || u.Scheme == "" {
		// key=value form
		return adminDSN + " dbname=" + database
	}
	u.Path = "/" + database
	return u.String()
}

// newEmptyDatabase creates a database with no schema, dropped when the test ends.
func newEmptyDatabase(t testing.TB) string {
	t.Helper()
	name := "remy_e_" + strings.ToLower(rand.Text()[:12])
	if err := adminExec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(name) })
	return dsnFor(name)
}
