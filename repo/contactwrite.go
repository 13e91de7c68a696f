package repo

import (
	"context"

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

// lockContactSQL is getContactSQL FOR UPDATE, with the transaction's id.
const lockContactSQL = `SELECT id, account_id, given_name, family_name, nickname, company, job_title,
	emails, phones, birthday, tags, introduced_by_id, version, created_at, updated_at, txid_current()
	FROM contacts WHERE account_id = $1 AND id = $2 FOR UPDATE`

// updateContactSQL writes every patchable column of a locked contact with a
// new version, and its contact.updated entry.
const updateContactSQL = `WITH c AS (
	UPDATE contacts SET given_name = $4, family_name = $5, nickname = $6, company = $7, job_title = $8,
		emails = $9, phones = $10, birthday = $11, tags = $12, introduced_by_id = $13,
		version = version + 1, updated_at = clock_timestamp()
	WHERE account_id = $1 AND id = $3
	RETURNING version, updated_at
), a AS (
	INSERT INTO activity_log (account_id, action, resource_type, resource_id, auth_method, api_key_id, ip, user_agent, changes)
	SELECT $1, $2, 'contact', $3, $14, $15, $16, $17, $18 FROM c
	RETURNING id, created_at
)
SELECT c.version, c.updated_at, a.id, a.created_at, ` + endpointsWanting + `
FROM c, a`

// create is Create outside a Store.InTx.
func (r *ContactRepo) create(ctx context.Context, actor model.Actor, c *model.Contact) error {
	a := model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, uuid.Nil, nil)
	return runPgxTx(ctx, r.db, func(tx pgx.Tx) (int64, error) {
		var endpoints []uuid.UUID
		var xid int64
		err := tx.QueryRow(ctx, createContactSQL, pgx.QueryExecModeCacheStatement,
			c.AccountID, a.Action, c.GivenName, c.FamilyName, c.Nickname, c.Company, c.JobTitle,
			c.Emails, c.Phones, c.Birthday, c.Tags, c.IntroducedByID,
			a.AuthMethod, a.APIKeyID, a.IP, a.UserAgent,
		).Scan(&c.ID, &c.Version, &c.CreatedAt, &c.UpdatedAt, &a.ID, &a.CreatedAt, &endpoints, &xid)
		if err != nil {
			return 0, err
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		a.ResourceID = c.ID
		return xid, r.ev.deliver(ctx, tx, a, endpoints, c)
	})
}

// update is Update outside a Store.InTx: lock, check, apply, and write only
// when something changed.
func (r *ContactRepo) update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check Precondition[model.Contact]) (*model.Contact, error) {
	c := new(model.Contact)
	a := model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, id, nil)
	err := runPgxTx(ctx, r.db, func(tx pgx.Tx) (int64, error) {
		var xid int64
		err := tx.QueryRow(ctx, lockContactSQL, pgx.QueryExecModeCacheStatement, actor.AccountID, id).Scan(
			&c.ID, &c.AccountID, &c.GivenName, &c.FamilyName, &c.Nickname, &c.Company, &c.JobTitle,
			&c.Emails, &c.Phones, &c.Birthday, &c.Tags, &c.IntroducedByID, &c.Version, &c.CreatedAt, &c.UpdatedAt, &xid)
		if err != nil {
			return 0, err
		}
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		if check != nil {
			if err := check(c); err != nil {
				return 0, err
			}
		}
		if a.Changes, err = patch.Apply(c); err != nil || len(a.Changes) == 0 {
			return xid, err
		}
		var endpoints []uuid.UUID
		err = tx.QueryRow(ctx, updateContactSQL, pgx.QueryExecModeCacheStatement,
			actor.AccountID, a.Action, id, c.GivenName, c.FamilyName, c.Nickname, c.Company, c.JobTitle,
			c.Emails, c.Phones, c.Birthday, c.Tags, c.IntroducedByID,
			a.AuthMethod, a.APIKeyID, a.IP, a.UserAgent, a.Changes,
		).Scan(&c.Version, &c.UpdatedAt, &a.ID, &a.CreatedAt, &endpoints)
		if err != nil {
			return 0, err
		}
		c.UpdatedAt = c.UpdatedAt.UTC()
		return xid, r.ev.deliver(ctx, tx, a, endpoints, c)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}
