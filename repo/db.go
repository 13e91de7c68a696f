// Package repo is all of Remy's SQL. Exported methods own their transaction;
// every driver error passes through interpretError once, so callers only ever
// see model's sentinel errors (or a wrapped internal error).
package repo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo/egress"
)

// Open connects to Postgres at dsn through pgx and checks the connection.
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	// bun inlines arguments into the SQL text, so every statement is unique:
	// the simple protocol avoids pgx preparing (and caching) each one.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	// Server-side backstops for when a client's cancellation never reaches
	// Postgres (a lost cancel request, a process that stalls holding a
	// transaction): statements and idle transactions cannot hold locks
	// forever. A DATABASE_URL that sets them wins.
	for name, d := range map[string]time.Duration{
		"statement_timeout":                   StatementTimeout,
		"idle_in_transaction_session_timeout": IdleInTransactionTimeout,
	} {
		if _, ok := cfg.RuntimeParams[name]; !ok {
			cfg.RuntimeParams[name] = fmt.Sprintf("%dms", d.Milliseconds())
		}
	}
	// timestamptz values arrive in UTC, as the API shows them, whatever the
	// process's time zone (pgx's default is time.Local).
	utc := stdlib.OptionAfterConnect(func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	})
	sqldb := stdlib.OpenDB(*cfg, utc)
	n := PoolSize()
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to database: %w", interpretError(err))
	}
	return db, nil
}

// PoolSize is how many connections Open's pool keeps at most: enough to
// keep Postgres busy on this many cores while others wait on the network.
func PoolSize() int { return 4 * runtime.GOMAXPROCS(0) }

// Server-side limits set on every pooled connection. Both are above the
// API's default request deadline (10 s), which normally ends a request's
// statement first, through cancellation.
const (
	StatementTimeout         = 30 * time.Second
	IdleInTransactionTimeout = 30 * time.Second
)

// Store groups the repositories over one database handle.
type Store struct {
	// Idempotency holds Idempotency-Key records.
	Idempotency *IdempotencyRepo

	DB       *bun.DB
	Accounts *AccountRepo
	Keys     *KeyRepo
	Contacts *ContactRepo
	Tags     *TagRepo
	Notes    *NoteRepo
	Activity *ActivityRepo
	Feed     *FeedRepo
	Export   *ExportRepo
	Webhooks *WebhookRepo
}

// Option adjusts a Store as NewStore builds it.
type Option func(*Store)

// WithWebhookPolicy sets where webhook endpoints may point; without it,
// public addresses over https only (the zero egress.Policy).
func WithWebhookPolicy(p egress.Policy) Option {
	return func(s *Store) { s.Webhooks.policy = p }
}

// WithPhoneRegion sets the region of phone numbers written without a
// country code (model.PhoneKey), for duplicates and merges; without it,
// model.DefaultPhoneRegion.
func WithPhoneRegion(region string) Option {
	return func(s *Store) { s.Contacts.region, s.Contacts.phoneKeys = region, newPhoneKeys(region) }
}

// WithEveryTotalCounted makes every filtered list count its total, as
// before totals were remembered (see totals): for benchmarks that measure
// the count.
func WithEveryTotalCounted() Option {
	return func(s *Store) { s.Contacts.totals = nil }
}

// phoneKeysRemembered is how many phone numbers' keys a store remembers:
// every number of an account of 10,000 contacts and more, in ~10 MB.
const phoneKeysRemembered = 100_000

func newPhoneKeys(region string) *model.PhoneKeys {
	return model.NewPhoneKeys(region, phoneKeysRemembered)
}

// NewStore returns the repositories over db.
func NewStore(db *bun.DB, opts ...Option) *Store {
	ev := newEvents(db)
	s := &Store{
		Idempotency: &IdempotencyRepo{db: db},

		DB:       db,
		Accounts: &AccountRepo{db: db},
		Keys:     &KeyRepo{db: db},
		Contacts: &ContactRepo{db: db, ev: ev, region: model.DefaultPhoneRegion, phoneKeys: newPhoneKeys(model.DefaultPhoneRegion),
			stats: &statsRefresh{db: db}, totals: newTotals(),
			contacts: owned[model.Contact]{db, ev,
				model.ResourceContact, model.ActionContactCreated, model.ActionContactUpdated, model.ActionContactDeleted}},
		Tags: &TagRepo{db: db},
		Notes: &NoteRepo{db: db, notes: owned[model.Note]{db, ev, model.ResourceNote,
			model.ActionNoteCreated, model.ActionNoteUpdated, model.ActionNoteDeleted}},
		Activity: &ActivityRepo{db: db},
		Feed:     &FeedRepo{db: db},
		Export:   &ExportRepo{db: db},
		Webhooks: &WebhookRepo{db: db, ev: ev, endpoints: owned[model.Webhook]{db, ev, model.ResourceWebhook,
			model.ActionWebhookCreated, model.ActionWebhookUpdated, model.ActionWebhookDeleted}},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return interpretError(s.DB.PingContext(ctx))
}

// Postgres error codes we translate.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgFeatureNotSupported = "0A000"
)

// Constraints whose violation is the client's doing: the field to blame,
// and what to tell the client.
var constraintErrors = map[string]struct{ field, message string }{
	"contacts_introduced_by_fk":       {"introducedById", "Must be the id of another contact in this account"},
	"contacts_introduced_by_not_self": {"introducedById", model.MsgIntroducesSelf},
}

// Foreign keys whose violation means the parent named in the URL is not the
// account's (or no longer exists): a 404, not a validation error.
var notFoundConstraints = map[string]bool{
	"notes_contact_fk": true,
}

// isStalePlan reports a prepared statement that a migration outdated
// ("cached plan must not change result type").
func isStalePlan(pgErr *pgconn.PgError) bool {
	return pgErr.Code == pgFeatureNotSupported && strings.Contains(pgErr.Message, "cached plan must not change result type")
}

// interpretError turns driver errors into model's sentinels. Anything it does
// not recognise is returned as is and becomes a 500 upstream.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return model.ErrNotFound
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// Whatever the server said while connecting, it is not serving us now.
		return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if strings.HasPrefix(pgErr.Code, "08") { // connection exceptions
			return fmt.Errorf("%w: %s", model.ErrUnavailable, pgErr.Code)
		}
		if notFoundConstraints[pgErr.ConstraintName] {
			return model.ErrNotFound
		}
		if c, ok := constraintErrors[pgErr.ConstraintName]; ok {
			return model.FieldError(c.field, c.message)
		}
		switch pgErr.Code {
		case "22021", "22P05": // bad byte sequence, unsupported Unicode escape (NUL)
			return &model.ValidationError{Form: []string{"Text must not contain NUL (\\u0000) characters"}}
		case pgUniqueViolation:
			return fmt.Errorf("%w: %s", model.ErrConflict, pgErr.ConstraintName)
		case "57P01", "57P02", "57P03", "53300": // admin shutdown, crash, cannot connect now, too many connections
			return fmt.Errorf("%w: %s", model.ErrUnavailable, pgErr.Code)
		}
		if pgErr.Code == "40001" || pgErr.Code == "40P01" { // serialization failure, deadlock
			return fmt.Errorf("%w: %s", model.ErrUnavailable, pgErr.Code)
		}
		if isStalePlan(pgErr) {
			// A migration changed a table under a prepared statement of a
			// running connection: nothing ran, and a retry will prepare it
			// afresh (pgx forgets it; see pipeline).
			return fmt.Errorf("%w: %s", model.ErrUnavailable, pgErr.Message)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, errReordered) { // met inside a caller's transaction, which runTx cannot retry
		return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	return err
}

// session is a transaction and the pooled connection it runs on. bun's
// statements go through tx; pipelined pgx statements (the contact writes,
// the Activity Log entry) go to the same connection through pgx, so both
// kinds run in the one transaction. The two are never used at once: a
// request's repository calls are sequential.
type session struct {
	conn bun.Conn
	tx   bun.Tx
}

// pgx runs fn on the session's connection as pgx itself.
func (s *session) pgx(fn func(*pgx.Conn) error) error {
	return s.conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// sessionKey carries the session of runTx in a context.
type sessionKey struct{}

// sessionOf is ctx's transaction, if it carries one.
func sessionOf(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// InTx runs fn in one transaction: every repository call made with the
// context fn receives joins it (as a savepoint), so the calls commit or
// roll back together. The API uses it to store an idempotent request's
// response in the same transaction as the resource the request created.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return inTx(ctx, s.DB, func(ctx context.Context, _ bun.Tx) error { return fn(ctx) })
}

// commitCheckWindow is how long, at least, runTx keeps asking whether a
// COMMIT whose answer was lost took effect, even when the request's own
// deadline has already passed: long enough for a database that comes back
// from a short cut, under load, to take new connections (their SASL
// handshake alone took over 250 ms on two loaded cores).
const commitCheckWindow = 3 * time.Second

// runTx is bun's RunInTx for a top-level transaction, plus an answer to the
// one question a lost connection leaves open: did the COMMIT happen? When
// the connection breaks after COMMIT was sent, Postgres may have committed
// or not; reporting a failure for a write that was in fact applied would
// lie to the client. So the transaction notes its id before committing,
// and on an unanswered COMMIT asks Postgres (txid_status, on another
// connection) until it knows or until the request's deadline, but at least
// commitCheckWindow. Only when the database stays unreachable that long is
// the outcome unknown; the error is then ErrUnavailable like any outage,
// and an Idempotency-Key makes the retry safe.
func runTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := runTxOnce(ctx, db, fn)
		if !errors.Is(err, errReordered) || attempt == maxTxAttempts {
			return err
		}
	}
}

// maxTxAttempts bounds runTx's retries of a transaction that met
// errReordered; the last one's error becomes a 503.
const maxTxAttempts = 4

func runTxOnce(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	var xid int64
	ctx = context.WithValue(ctx, sessionKey{}, &session{conn: c, tx: tx})
	if err := fn(context.WithValue(ctx, xidKey{}, &xid), tx); err != nil {
		return err
	}
	if xid == 0 { // no statement of fn noted it (see noteXID)
		if err := tx.NewRaw("SELECT txid_current()").Scan(ctx, &xid); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err // COMMIT not sent: rolled back for certain
	}
	committed = true // from here on Rollback could only fail
	return commitResolved(ctx, db, xid, tx.Commit, c.Close)
}

// commitResolved sends COMMIT for transaction xid and, when its answer is
// lost, finds out from Postgres whether it took effect (see runTx). The
// question is asked after release has given back the broken connection, so
// that a pool full of writers whose answers a network fault lost still has
// room for the questions.
func commitResolved(ctx context.Context, db *bun.DB, xid int64, commit, release func() error) error {
	err := commit()
	if !answerLost(err) {
		return err
	}
	_ = release()
	if commitTookEffect(ctx, db, xid) {
		return nil
	}
	return err
}

// answerLost reports a COMMIT whose result is unknown: the connection
// failed, rather than Postgres answering (or the COMMIT never being sent).
func answerLost(err error) bool {
	var pgErr *pgconn.PgError
	return err != nil && !errors.As(err, &pgErr) && !errors.Is(err, sql.ErrTxDone)
}

// lostCommit is a COMMIT sent on a connection that broke before its answer
// came: the caller, once it has given the connection back, asks whether it
// took effect (resolve).
type lostCommit struct {
	xid int64
	err error
}

func (e *lostCommit) Error() string { return e.err.Error() }
func (e *lostCommit) Unwrap() error { return e.err }

// resolve is err, or, for a lostCommit, nil when the commit took effect
// and its error when it did not or stays unknown.
func resolve(ctx context.Context, db *bun.DB, err error) error {
	var lost *lostCommit
	if !errors.As(err, &lost) {
		return err
	}
	if commitTookEffect(ctx, db, lost.xid) {
		return nil
	}
	return lost.err
}

// xidKey carries, from runTx into its transaction, where to note the
// transaction's id.
type xidKey struct{}

// noteXID is where a statement of runTx's transaction may store
// txid_current(), selected beside its own result, to spare runTx a round
// trip asking for it; nil outside runTx.
func noteXID(ctx context.Context) *int64 {
	p, _ := ctx.Value(xidKey{}).(*int64)
	return p
}

// commitTookEffect asks, on a fresh connection, whether transaction xid
// committed, retrying while the database is unreachable or the transaction
// is still finishing. A transaction still in progress when the time is up
// (statements that reached Postgres before the connection broke, still
// running) could commit after the client was told it failed: its backend
// is terminated, which ends it, and the question asked again, so the
// answer given is the final one.
func commitTookEffect(ctx context.Context, db *bun.DB, xid int64) bool {
	committed, inProgress := false, false
	ask := func(ctx context.Context) bool {
		var status sql.NullString
		err := db.NewRaw("SELECT txid_status(?)", xid).Scan(ctx, &status)
		inProgress = err == nil && status.String == "in progress"
		if err != nil || inProgress {
			return false
		}
		committed = status.String == "committed"
		return true
	}
	askUntilAnswered(ctx, ask)
	if inProgress {
		// backend_xid is the 32-bit xid: txid_current()'s without its epoch.
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_, _ = db.NewRaw(`SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity
			WHERE backend_xid = (?::bigint & 4294967295)::text::xid`, xid).Exec(endCtx)
		askUntilAnswered(context.WithoutCancel(ctx), ask)
	}
	return committed
}

// askTryTimeout bounds one try of askUntilAnswered, a new connection
// included.
const askTryTimeout = time.Second

// askUntilAnswered asks a question about a write whose answer was lost,
// every 50 ms until ask reports it has its answer, for as long as the
// request's deadline allows but at least commitCheckWindow, even if that
// deadline has passed.
func askUntilAnswered(ctx context.Context, ask func(context.Context) bool) {
	deadline := time.Now().Add(commitCheckWindow)
	if d, ok := ctx.Deadline(); ok && d.After(deadline) {
		deadline = d
	}
	askCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	for {
		// Each try has a short limit of its own: one stuck on a connection
		// that a stalled network holds must not use up the whole window,
		// or the answer the database gives once it is back is never read.
		tryCtx, cancelTry := context.WithTimeout(askCtx, askTryTimeout)
		answered := ask(tryCtx)
		cancelTry()
		if answered {
			return
		}
		select {
		case <-askCtx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// inTx runs fn in a transaction, or in a savepoint of the caller's (see
// Store.InTx), and interprets its error: the one place a transaction's
// error is interpreted.
func inTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	if s := sessionOf(ctx); s != nil {
		// bun would hand fn the context the transaction began with,
		// without the session.
		return interpretError(s.tx.RunInTx(ctx, nil, func(_ context.Context, sp bun.Tx) error { return fn(ctx, sp) }))
	}
	return interpretError(runTx(ctx, db, fn))
}

// conn is the caller's transaction (see Store.InTx) if there is one, else db.
func conn(ctx context.Context, db *bun.DB) bun.IDB {
	if s := sessionOf(ctx); s != nil {
		return s.tx
	}
	return db
}
