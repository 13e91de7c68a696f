package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/remy-crm/remy/model"
)

const (
	smallAccounts = 20
	smallContacts = 100
	bigContacts   = 100_000
)

func signalContext() (context.Context, func()) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// database returns the DSN of a server this run may create databases on.
func database(ctx context.Context) (string, func(), error) {
	if admin := os.Getenv("TEST_DATABASE_URL"); admin != "" {
		return admin, func() {}, nil
	}
	ctr, err := postgres.Run(ctx, "postgres:17",
		postgres.WithDatabase("remy"), postgres.WithUsername("remy"), postgres.WithPassword("remy"),
		postgres.BasicWaitStrategies(),
		testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=200",
			"-c", "shared_preload_libraries=pg_stat_statements"),
	)
	stop := func() {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
	}
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("start Postgres with testcontainers (or set TEST_DATABASE_URL): %w", err)
	}
	admin, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		stop()
		return "", nil, err
	}
	return admin, stop, nil
}

// newDatabase creates an empty database for this run on admin's server and
// returns its DSN and what drops it.
func newDatabase(ctx context.Context, admin, suffix string) (string, func(), error) {
	name := "remy_bench_" + strings.ToLower(rand.Text()[:8]) + suffix
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}, nil
}

// bareSchema turns Remy's contacts table into the bare one a server without
// search, sorts or counters would have: the same columns, its primary key
// and the list's index, and nothing else (no other index, no trigger, no
// foreign key into it).
const bareSchema = `
ALTER TABLE contacts DROP CONSTRAINT contacts_account_id_id_key CASCADE;
DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT indexrelid::regclass AS ix FROM pg_index WHERE indrelid = 'contacts'::regclass
		AND indexrelid::regclass::text NOT IN ('contacts_pkey', 'contacts_account_order_idx') LOOP
		EXECUTE 'DROP INDEX ' || r.ix;
	END LOOP;
	FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = 'contacts'::regclass AND NOT tgisinternal LOOP
		EXECUTE format('DROP TRIGGER %I ON contacts', r.tgname);
	END LOOP;
END $$;`

func adminExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

type account struct {
	key      string
	contacts []string
}

type fixtures struct {
	small []account
	big   account
}

// seed fills the database straight through SQL (the API would take minutes
// for 100,000 contacts); keys are made the way remy makes them.
func seed(ctx context.Context, dsn string) (*fixtures, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	mk := func(i, n int) (account, error) {
		var a account
		var id string
		err := conn.QueryRow(ctx, `INSERT INTO accounts (email, name) VALUES ($1, $2) RETURNING id::text`,
			fmt.Sprintf("bench%d@example.com", i), fmt.Sprintf("Bench %d", i)).Scan(&id)
		if err != nil {
			return a, err
		}
		a.key = model.NewAPIKeySecret()
		_, err = conn.Exec(ctx, `INSERT INTO api_keys (account_id, name, prefix, hash) VALUES ($1, 'bench', $2, $3)`,
			id, a.key[:model.KeyDisplayChars], model.HashKey(a.key))
		if err != nil {
			return a, err
		}
		_, err = conn.Exec(ctx, `INSERT INTO contacts (account_id, given_name, family_name, company, job_title, emails, phones, tags)
			SELECT $1, 'Given' || g, 'Family' || g, 'Company ' || (g % 97), 'Engineer',
			       jsonb_build_array(jsonb_build_object('value', 'p' || g || '@example.com', 'label', 'work')),
			       jsonb_build_array(jsonb_build_object('value', '+44 20 7946 ' || lpad((g % 10000)::text, 4, '0'), 'label', 'mobile')),
			       ARRAY['tag' || (g % 10), 'bench']
			FROM generate_series(1, $2) g`, id, n)
		if err != nil {
			return a, err
		}
		if n <= smallContacts {
			rows, err := conn.Query(ctx, `SELECT id::text FROM contacts WHERE account_id = $1`, id)
			if err != nil {
				return a, err
			}
			a.contacts, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return a, err
			}
		}
		return a, nil
	}
	fx := &fixtures{}
	for i := range smallAccounts {
		a, err := mk(i, smallContacts)
		if err != nil {
			return nil, err
		}
		fx.small = append(fx.small, a)
	}
	if fx.big, err = mk(smallAccounts, bigContacts); err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return fx, err
}
