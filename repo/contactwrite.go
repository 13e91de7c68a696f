package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/remy-crm/remy/model"
)

// How a contact is read and written: every statement's column list, its
// arguments and its scan targets come from model.ContactFields, so a new
// column is a migration and a struct field, and no statement here names
// one. Reads and writes are prepared pgx statements (bun would send each
// as new text to parse and plan), and a write sends its row, its Activity
// Log entry and the question "which webhook endpoints want this event" as
// one statement, pipelined with the statements that open and close its
// transaction (see README, Performance).

var (
	contactSelectList = strings.Join(model.Columns(model.ContactFields.All), ", ")

	// getContactSQL reads one contact of an account.
	getContactSQL = named(`SELECT ` + contactSelectList + ` FROM contacts
	WHERE account_id = @account_id AND id = @id`)

	// readContactSQL is getContactSQL with whether any webhook endpoint
	// wants @action; update appends FOR UPDATE when it must lock.
	readContactSQL = `SELECT ` + contactSelectList + `,
	EXISTS (SELECT FROM webhook_endpoints w WHERE ` + endpointWants + `)
	FROM contacts WHERE account_id = @account_id AND id = @id`

	// txidAndNow follows the read in the same round trip, so that under FOR
	// UPDATE both are taken once the lock is held: the transaction's id
	// then orders it after the write it waited for (the change feed's
	// order), and the update's time is never before that write's.
	txidAndNow = statement{sql: "SELECT txid_current(), clock_timestamp()"}

	// createContactSQL inserts a contact and its contact.created entry, and
	// returns the generated columns, the endpoints that want the event, the
	// transaction's id and how many contacts the account had before (for
	// ContactRepo.stats). The event, which needs the generated columns in
	// its snapshot, follows with the close (insertEventSQL).
	createContactSQL = named(`WITH c AS (
	INSERT INTO contacts (account_id, ` + contactSettable(", ", "%s") + `)
	VALUES (@account_id, ` + contactSettable(", ", "@%s") + `)
	RETURNING id, version, created_at, updated_at
), a AS (` + activityInsert("@entry_id", "c.id", "c.created_at", "c") + `)
SELECT c.id, c.version, c.created_at, c.updated_at, ` + endpointsWanting + `, txid_current(),
	(SELECT coalesce(sum(n), 0) FROM contact_counts WHERE account_id = @account_id)::bigint
FROM c, a`)

	// insertEventSQL writes the change-feed event of entry @entry_id.
	insertEventSQL = named(`INSERT INTO events (account_id, id, type, object, created_at)
	VALUES (@account_id, @entry_id, @action, @object, @created_at)`)
)

// contactSettable formats each settable column with format and joins them.
func contactSettable(sep, format string) string {
	return contactColumns(sep, format, allSettable)
}

// contactColumns formats the settable columns whose bit is set in mask (bit
// i: model.ContactFields.Settable[i]) with format, and joins them.
func contactColumns(sep, format string, mask uint64) string {
	var parts []string
	for i, f := range model.ContactFields.Settable {
		if mask&(1<<i) != 0 {
			parts = append(parts, fmt.Sprintf(format, f.Column))
		}
	}
	return strings.Join(parts, sep)
}

// allSettable is the mask of every settable column.
var allSettable = func() uint64 {
	n := len(model.ContactFields.Settable)
	if n > 63 {
		panic("repo: more settable contact fields than a mask holds")
	}
	return 1<<n - 1
}()

// maxTargetedColumns is how many changed columns an update sets alone; a
// larger patch sets every settable column. Setting only what changed
// spares Postgres recomputing the search column (unaccent of the names
// and emails) and decoding every list argument, ~100 µs of a PATCH; the
// bound keeps the statements a connection prepares to a few hundred.
const maxTargetedColumns = 2

var updateStatements sync.Map // mask<<1 | hooks → namedSQL

// updateContactSQL writes the columns of set ("given_name = @given_name,
// …") of a contact still at the version read (@version), with a new
// version, and its contact.updated entry, created when the contact was
// updated, so that a write whose answer was lost can be found, and its
// result told, from the entry alone; no row when another write got there
// first. It returns endpoints, the endpoints that want the event
// (noEndpoints when none did at the read).
func updateContactSQL(set, endpoints string) string {
	return `WITH c AS (
	UPDATE contacts SET ` + set + `,
		version = version + 1, updated_at = @updated_at
	WHERE account_id = @account_id AND id = @id AND version = @version
	RETURNING id, version, updated_at
), a AS (` + activityInsert("@entry_id", "c.id", "c.updated_at", "c") + `
), e AS (` + eventInsert("a.id", "@object", "a.created_at", "a") + `)
SELECT c.version, c.updated_at, ` + endpoints + `
FROM c, a`
}

// updateContactStatement is the update of the columns that changes (keyed
// by JSON name) names, returning the endpoints that want the event when
// hooks, none otherwise.
func updateContactStatement(changes map[string]model.Change, hooks bool) namedSQL {
	var mask uint64
	for i, f := range model.ContactFields.Settable {
		if _, ok := changes[f.JSON]; ok {
			mask |= 1 << i
		}
	}
	if bits.OnesCount64(mask) > maxTargetedColumns {
		mask = allSettable
	}
	key := mask << 1
	lookup := noEndpoints
	if hooks {
		key, lookup = key|1, endpointsWanting
	}
	if s, ok := updateStatements.Load(key); ok {
		return s.(namedSQL)
	}
	s := named(updateContactSQL(contactColumns(", ", "%[1]s = @%[1]s", mask), lookup))
	updateStatements.Store(key, s)
	return s
}

// contactTargets are where the columns of contactSelectList go, then more.
func contactTargets(c *model.Contact, more ...any) []any {
	dest := make([]any, 0, len(model.ContactFields.All)+len(more))
	lists := make([]jsonList, 0, jsonListCount) // one allocation for all of them
	for i, f := range model.ContactFields.All {
		if jsonLists[i] {
			lists = append(lists, jsonList{reflect.ValueOf(c).Elem().FieldByIndex(f.Index())})
			dest = append(dest, &lists[len(lists)-1])
			continue
		}
		dest = append(dest, f.Addr(c))
	}
	return append(dest, more...)
}

// jsonLists marks the fields of model.ContactFields.All stored as jsonb
// lists (a slice of structs: emails, phones, addresses, urls).
var jsonLists, jsonListCount = func() ([]bool, int) {
	marks, n := make([]bool, len(model.ContactFields.All)), 0
	for i, f := range model.ContactFields.All {
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			marks[i], n = true, n+1
		}
	}
	return marks, n
}()

// jsonList scans a jsonb list into a slice field. "[]", which most
// contacts' phones, addresses and URLs are, becomes an empty list without
// encoding/json: decoding lists was a quarter of a list request's CPU.
// pgx hands a BytesScanner the JSON text as it arrived.
type jsonList struct{ field reflect.Value }

var _ pgtype.BytesScanner = (*jsonList)(nil)

func (l *jsonList) ScanBytes(src []byte) error {
	switch string(src) {
	case "[]":
		l.field.Set(reflect.MakeSlice(l.field.Type(), 0, 0))
		return nil
	case "", "null": // nil src: SQL NULL
		l.field.SetZero()
		return nil
	}
	return json.Unmarshal(src, l.field.Addr().Interface())
}

// contactArgs are the named arguments of a write of c: each settable
// column's (named after the column), entry a's, and the contact's @id and
// @version (the one read).
type contactArgs struct {
	c       *model.Contact
	a       *model.Activity
	id      uuid.UUID
	version int64
	object  []byte // the event's snapshot
}

func (w contactArgs) arg(name string) (any, bool) {
	switch name {
	case "id":
		return pgUUID(w.id), true
	case "version":
		return w.version, true
	case "object":
		return string(w.object), true
	case "updated_at":
		return w.c.UpdatedAt, true
	case "created_at":
		return w.a.CreatedAt, true
	}
	if f, ok := model.ContactFields.ByColumn(name); ok && f.Settable {
		return pgArg(f.Get(w.c)), true
	}
	return entryArg(w.a, name)
}

// frame is how a write's statements are framed: in a transaction of its
// own (BEGIN … COMMIT, then the lost-answer check), or in a savepoint of
// the caller's transaction (Store.InTx), which commits it.
type frame struct {
	open, close statement
	undo        string
	own         bool
	closed      bool // the close went through
}

var (
	ownTx     = frame{open: begin, close: commit, undo: "ROLLBACK", own: true}
	savepoint = frame{open: statement{sql: "SAVEPOINT remy_write"}, close: statement{sql: "RELEASE SAVEPOINT remy_write"},
		undo: "ROLLBACK TO SAVEPOINT remy_write; RELEASE SAVEPOINT remy_write"}
)

// undoTimeout bounds the ROLLBACK after a failed write; past it the
// connection is closed instead.
const undoTimeout = time.Second

// write runs fn with a pgx connection and the frame for it: a pooled
// connection of its own, or the caller's transaction's. If fn returns
// without closing its frame (an error, or nothing to write), what it
// opened is undone.
func (r *ContactRepo) write(ctx context.Context, fn func(conn *pgx.Conn, f *frame) error) error {
	run := func(conn *pgx.Conn, f frame) error {
		err := fn(conn, &f)
		if f.closed || conn.IsClosed() || (f.own && err == nil && conn.PgConn().TxStatus() == 'I') {
			return err
		}
		// After an error the connection's idea of its transaction status
		// may predate what Postgres did with the statements it was sent,
		// so the transaction is ended whatever it says; a connection that
		// cannot end it is closed, never handed to the next request with
		// this one's statements pending.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if _, uerr := conn.Exec(undoCtx, f.undo); uerr != nil && f.own {
			_ = conn.Close(undoCtx)
		}
		return err
	}
	if s := sessionOf(ctx); s != nil {
		return s.pgx(func(conn *pgx.Conn) error { return run(conn, savepoint) })
	}
	// A COMMIT whose answer was lost is resolved once the broken
	// connection is back in the pool (see commitResolved).
	return resolve(ctx, r.db, withPgx(ctx, r.db, func(conn *pgx.Conn) error { return run(conn, ownTx) }))
}

// finish sends stmts and closes the frame in the same round trip. In a
// transaction of its own, a COMMIT whose answer is lost is a lostCommit,
// which write resolves; in a savepoint, the caller's transaction notes the
// id. When a statement sent with the close returned no row, the close still
// ran (an empty commit) and the answer is errOvertaken.
func (r *ContactRepo) finish(ctx context.Context, conn *pgx.Conn, f *frame, xid int64, stmts ...statement) error {
	if err := ctx.Err(); err != nil {
		return err // the close not sent: undone for certain
	}
	stmts = append(stmts, f.close)
	noRow := false
	send := func() error {
		err := pipeline(ctx, conn, stmts...)
		if errors.Is(err, pgx.ErrNoRows) {
			noRow, err = true, nil
		}
		return err
	}
	if !f.own {
		if p := noteXID(ctx); p != nil {
			*p = xid
		}
	}
	err := send()
	if f.own && answerLost(err) {
		return &lostCommit{xid: xid, err: err} // write resolves it
	}
	f.closed = err == nil
	if noRow && err == nil {
		return errOvertaken
	}
	return err
}

// create is Create's write: the open statement with the row, its entry and
// the endpoint lookup; the deliveries, if any endpoint wants the event;
// the close.
func (r *ContactRepo) create(ctx context.Context, actor model.Actor, c *model.Contact) error {
	a := model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, uuid.Nil, nil)
	return r.write(ctx, func(conn *pgx.Conn, f *frame) error {
		var endpoints []uuid.UUID
		var xid, before int64
		err := pipeline(ctx, conn, f.open, createContactSQL.statement(contactArgs{c: c, a: a}.arg,
			&c.ID, &c.Version, &c.CreatedAt, &c.UpdatedAt, &endpoints, &xid, &before))
		if err != nil {
			return err
		}
		a.ResourceID, a.CreatedAt = c.ID, c.CreatedAt
		obj, err := encodeObject(c)
		if err != nil {
			return err
		}
		if err := r.ev.deliver(ctx, connTx{conn}, a, endpoints, obj); err != nil {
			return err
		}
		if err := r.finish(ctx, conn, f, xid, insertEventSQL.statement(contactArgs{c: c, a: a, object: obj}.arg)); err != nil {
			return err
		}
		r.stats.grown(before, before+1)
		return nil
	})
}

// errOvertaken is updateOnce's answer when another write changed the
// contact between its read and its write.
var errOvertaken = errors.New("contact changed since it was read")

// update is Update's write: read, check, apply, and write only when
// something changed. First optimistically: the read takes no lock (a row
// lock is a WAL record of its own) and the write applies only if the
// version is still the one read; if another write got there first, once
// more under FOR UPDATE, which nothing can overtake.
func (r *ContactRepo) update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact]) (*model.Contact, error) {
	c, err := r.updateOnce(ctx, actor, id, patch, check, false)
	if errors.Is(err, errOvertaken) {
		c, err = r.updateOnce(ctx, actor, id, patch, check, true)
	}
	if err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

var (
	readContact       = named(readContactSQL)
	readContactLocked = named(readContactSQL + " FOR UPDATE")
)

// updateOnce is one attempt of update, in two round trips (the open
// statement with the read, then the write with the close) when no webhook
// endpoint wants the event; with one, the deliveries go in before a
// separate close.
func (r *ContactRepo) updateOnce(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact], lock bool) (*model.Contact, error) {
	c := new(model.Contact)
	a := model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, id, nil)
	read := readContact
	if lock {
		read = readContactLocked
	}
	var readVersion int64
	var own bool
	overtaken := false
	err := r.write(ctx, func(conn *pgx.Conn, f *frame) error {
		own = f.own
		var xid int64
		var hooks bool
		var now time.Time
		args := contactArgs{c: c, a: a, id: id}
		txid := txidAndNow
		txid.dest = []any{&xid, &now}
		if err := pipeline(ctx, conn, f.open, read.statement(args.arg, contactTargets(c, &hooks)...), txid); err != nil {
			return err
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		var err error
		if a.Changes, err = patch.Apply(c); err != nil || len(a.Changes) == 0 {
			return err // nothing written: write undoes what was opened
		}
		var endpoints []uuid.UUID
		readVersion = c.Version
		args.version = c.Version
		c.UpdatedAt = now.UTC()
		if args.object, err = encodeObject(c); err != nil {
			return err
		}
		w := updateContactStatement(a.Changes, hooks).statement(args.arg, &c.Version, &c.UpdatedAt, &endpoints)
		// No endpoint wanted the event when the row was read: the write
		// and the close travel together. (One created since gets no
		// delivery: the two were concurrent, and this is one order of them.)
		send := []statement{w}
		if hooks {
			if err := pipeline(ctx, conn, w); err != nil {
				overtaken = errors.Is(err, pgx.ErrNoRows)
				return err
			}
			if err := r.ev.deliver(ctx, connTx{conn}, a, endpoints, args.object); err != nil {
				return err
			}
			send = nil
		}
		err = r.finish(ctx, conn, f, xid, send...)
		if errors.Is(err, errOvertaken) { // nothing written; the close ended an empty transaction
			overtaken = true
			return nil
		}
		return err
	})
	switch {
	case overtaken:
		return nil, errOvertaken
	case err != nil:
		return nil, err
	case own && len(a.Changes) > 0 && c.Version == readVersion:
		// Committed, but the answer carrying the new version was lost.
		return r.lostUpdate(ctx, c, a.ID)
	}
	return c, nil
}

// lostUpdate tells the result of an update whose transaction committed but
// whose answer was lost, from its Activity Log entry: there, the update was
// applied, at the entry's time, one version on from the one read (c, with
// the patch applied); missing, the transaction committed without it (another
// write got there first).
func (r *ContactRepo) lostUpdate(ctx context.Context, c *model.Contact, entryID uuid.UUID) (*model.Contact, error) {
	var err error
	askUntilAnswered(ctx, func(ctx context.Context) bool {
		err = r.db.NewRaw("SELECT created_at FROM activity_log WHERE id = ?", entryID).Scan(ctx, &c.UpdatedAt)
		return err == nil || errors.Is(err, sql.ErrNoRows)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errOvertaken
	case err != nil:
		return nil, err
	}
	c.Version++
	return c, nil
}
