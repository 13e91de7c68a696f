package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/remy-crm/remy/model"
)

// The contact writes are the hottest, so, like Get, they are prepared pgx
// statements rather than bun's insertLogged and updateLogged (which the other
// resources use, and these too inside a Store.InTx): the row, its Activity
// Log entry and the question "which webhook endpoints want this event" go in
// one statement, and Postgres only binds and executes it. Measured with
// `task bench:http`, see README.

// createContactSQL inserts a contact and its contact.created entry, and
// returns the generated columns, the entry's, the endpoints that want the
// event and the transaction's id.
const createContactSQL = `WITH c AS (
	INSERT INTO contacts (account_id, given_name, family_name, nickname, company, job_title,
		emails, phones, birthday, tags, introduced_by_id)
	VALUES ($1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	RETURNING id, version, created_at, updated_at
), a AS (
	INSERT INTO activity_log (account_id, action, resource_type, resource_id, auth_method, api_key_id, ip, user_agent)
	SELECT $1, $2, 'contact', c.id, $13, $14, $15, $16 FROM c
	RETURNING id, created_at
)
SELECT c.id, c.version, c.created_at, c.updated_at, a.id, a.created_at, ` + endpointsWanting + `, txid_current()
FROM c, a`

// readContactSQL is getContactSQL with the transaction's id and whether
// any webhook endpoint wants contact.updated ($3); update appends FOR
// UPDATE when it must lock.
const readContactSQL = `SELECT id, account_id, given_name, family_name, nickname, company, job_title,
	emails, phones, birthday, tags, introduced_by_id, version, created_at, updated_at, txid_current(),
	EXISTS (SELECT FROM webhook_endpoints w WHERE w.account_id = $1 AND w.enabled AND w.events && ARRAY[$3, '*']::text[])
	FROM contacts WHERE account_id = $1 AND id = $2`

// updateContactSQL writes every patchable column of a contact still at the
// version read ($19), with a new version, and its contact.updated entry
// (id $20, given by the caller, and created when the contact was updated,
// so that a write whose answer was lost can be found, and its result told,
// from the entry alone); no row when another write got there first. It returns the endpoints that want
// the event; updateContactQuietSQL, for when none did at the read, skips
// the lookup.
var (
	updateContactSQL      = fmt.Sprintf(updateContactTemplate, endpointsWanting)
	updateContactQuietSQL = fmt.Sprintf(updateContactTemplate, "'{}'::uuid[]")
)

const updateContactTemplate = `WITH c AS (
	UPDATE contacts SET given_name = $4, family_name = $5, nickname = $6, company = $7, job_title = $8,
		emails = $9, phones = $10, birthday = $11, tags = $12, introduced_by_id = $13,
		version = version + 1, updated_at = clock_timestamp()
	WHERE account_id = $1 AND id = $3 AND version = $19
	RETURNING version, updated_at
), a AS (
	INSERT INTO activity_log (id, account_id, action, resource_type, resource_id, auth_method, api_key_id, ip, user_agent, changes, created_at)
	SELECT $20, $1, $2, 'contact', $3, $14, $15, $16, $17, $18, c.updated_at FROM c
	RETURNING id
)
SELECT c.version, c.updated_at, %s
FROM c, a`

// create is Create outside a Store.InTx, in two round trips: BEGIN with
// the statement, then COMMIT (after the deliveries, if any endpoint wants
// the event).
func (r *ContactRepo) create(ctx context.Context, actor model.Actor, c *model.Contact) error {
	a := model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, uuid.Nil, nil)
	return withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		defer rollbackOpen(ctx, conn)
		var endpoints []uuid.UUID
		var xid int64
		args := append([]any{pgUUID(c.AccountID), a.Action}, patchable(c)...)
		args = append(args, a.AuthMethod, pgUUIDOrNull(a.APIKeyID), a.IP, a.UserAgent)
		err := pipeline(ctx, conn, begin, statement{sql: createContactSQL, args: args, dest: []any{&c.ID, &c.Version, &c.CreatedAt, &c.UpdatedAt, &a.ID, &a.CreatedAt, &endpoints, &xid}})
		if err != nil {
			return err
		}
		a.ResourceID = c.ID
		if err := r.ev.deliver(ctx, connTx{conn}, a, endpoints, c); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // COMMIT not sent: rolled back for certain
		}
		return commitResolved(ctx, r.db, xid, func() error { return pipeline(ctx, conn, commit) })
	})
}

// patchable is the arguments of the columns a contact's writes set, in the
// order of createContactSQL's and updateContactTemplate's lists.
func patchable(c *model.Contact) []any {
	return []any{c.GivenName, c.FamilyName, c.Nickname, c.Company, c.JobTitle,
		c.Emails, c.Phones, pgDateOrNull(c.Birthday), c.Tags, pgUUIDOrNull(c.IntroducedByID)}
}

// errOvertaken is updateOnce's answer when another write changed the
// contact between its read and its write.
var errOvertaken = errors.New("contact changed since it was read")

// update is Update outside a Store.InTx: read, check, apply, and write only
// when something changed. First optimistically: the read takes no lock (a
// row lock is a WAL record of its own) and the write applies only if the
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

// updateOnce is one attempt of update, in two round trips (BEGIN with the
// read, then the write with COMMIT) when no webhook endpoint wants the
// event; with one, the deliveries go in before a separate COMMIT.
func (r *ContactRepo) updateOnce(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact], lock bool) (*model.Contact, error) {
	c := new(model.Contact)
	a := model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, id, nil)
	a.ID = uuid.New()
	var readVersion int64
	read := readContactSQL
	if lock {
		read += " FOR UPDATE"
	}
	overtaken := false
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		defer rollbackOpen(ctx, conn)
		var xid int64
		var hooks bool
		err := pipeline(ctx, conn, begin, statement{sql: read, args: []any{pgUUID(actor.AccountID), pgUUID(id), a.Action},
			dest: contactColumns(c, &xid, &hooks)})
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		if a.Changes, err = patch.Apply(c); err != nil || len(a.Changes) == 0 {
			return err // nothing written: the deferred ROLLBACK ends it
		}
		var endpoints []uuid.UUID
		args := append([]any{pgUUID(actor.AccountID), a.Action, pgUUID(id)}, patchable(c)...)
		args = append(args, a.AuthMethod, pgUUIDOrNull(a.APIKeyID), a.IP, a.UserAgent, a.Changes, c.Version, pgUUID(a.ID))
		readVersion = c.Version
		write := statement{sql: updateContactQuietSQL, args: args, dest: []any{&c.Version, &c.UpdatedAt, &endpoints}}
		// No endpoint wanted the event when the row was read: the write
		// and COMMIT travel together. (One created since gets no delivery:
		// the two were concurrent, and this is one order of them.)
		send := []statement{write, commit}
		if hooks {
			write.sql = updateContactSQL
			if err := pipeline(ctx, conn, write); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					overtaken = true
					return nil
				}
				return err
			}
			if err := r.ev.deliver(ctx, connTx{conn}, a, endpoints, c); err != nil {
				return err
			}
			send = []statement{commit}
		}
		if err := ctx.Err(); err != nil {
			return err // COMMIT not sent: rolled back for certain
		}
		return commitResolved(ctx, r.db, xid, func() error {
			err := pipeline(ctx, conn, send...)
			if errors.Is(err, pgx.ErrNoRows) { // nothing written; the COMMIT ended an empty transaction
				overtaken = true
				return nil
			}
			return err
		})
	})
	switch {
	case err != nil:
		return nil, err
	case overtaken:
		return nil, errOvertaken
	case len(a.Changes) > 0 && c.Version == readVersion:
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
