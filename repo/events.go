package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/remy-crm/remy/model"
)

// DeliverArgs is the River job that makes one attempt at a webhook
// delivery. It is inserted in the transaction that creates the delivery, so
// a rolled-back change queues nothing and a committed one is never lost.
type DeliverArgs struct {
	DeliveryID uuid.UUID `json:"deliveryId"`
	// Manual marks a retry asked for through the API: one attempt, now,
	// whatever the delivery's status.
	Manual bool `json:"manual,omitempty"`
}

// WebhookQueue is the River queue of webhook jobs.
const WebhookQueue = "webhooks"

// Kind names the job in river_job.
func (DeliverArgs) Kind() string { return "webhook_delivery" }

// InsertOpts puts deliveries on their own queue. The retry schedule is the
// worker's (it snoozes the job); River's attempts only count attempts that
// died (a killed process, a database error), hence the generous maximum.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: WebhookQueue, MaxAttempts: 25}
}

// events writes Activity Log entries and, in the same statement, the
// webhook deliveries they cause; the River jobs follow in the same
// transaction, only when there are deliveries.
type events struct {
	queue    *river.Client[*sql.Tx] // insert-only, for bun's transactions
	pgxQueue *river.Client[pgx.Tx]  // insert-only, for the pipelined writes' transactions
}

func newEvents(db *bun.DB) *events {
	// Insert-only clients (no queues, no workers) cannot fail to build.
	c, err := river.NewClient(riverdatabasesql.New(db.DB), &river.Config{})
	if err != nil {
		panic(fmt.Sprintf("river insert-only client: %v", err))
	}
	pc, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		panic(fmt.Sprintf("river insert-only client: %v", err))
	}
	return &events{queue: c, pgxQueue: pc}
}

// log writes entry and, when it is a deliverable event, one delivery of
// object (the resource as the API shows it) for each of the account's
// enabled endpoints that want it. For an account without webhooks this is
// the same single round trip as a plain INSERT: the delivery half of the
// statement probes an empty range of a partial index.
func (e *events) log(ctx context.Context, tx bun.Tx, a *model.Activity, object any) error {
	if !model.Deliverable(a.Action) {
		return logActivity(ctx, tx, a)
	}
	obj, err := json.Marshal(object)
	if err != nil {
		return fmt.Errorf("encode webhook object: %w", err)
	}
	var changes *string
	if a.Changes != nil {
		b, err := json.Marshal(a.Changes)
		if err != nil {
			return fmt.Errorf("encode changes: %w", err)
		}
		s := string(b)
		changes = &s
	}
	var ids []uuid.UUID
	var xid int64
	err = tx.NewRaw(`WITH a AS (
			INSERT INTO activity_log (account_id, action, resource_type, resource_id, auth_method, api_key_id, ip, user_agent, changes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
			RETURNING id, created_at
		), d AS (
			INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, object)
			SELECT w.account_id, w.id, a.id, ?, ?::json
			FROM webhook_endpoints w, a
			WHERE w.account_id = ? AND w.enabled AND w.events && ARRAY[?, '*']::text[]
			RETURNING id
		)
		SELECT a.id, a.created_at, ARRAY(SELECT id FROM d), txid_current() FROM a`,
		a.AccountID, a.Action, a.ResourceType, a.ResourceID, a.AuthMethod, a.APIKeyID, a.IP, a.UserAgent, changes,
		a.Action, string(obj),
		a.AccountID, a.Action,
	).Scan(ctx, &a.ID, &a.CreatedAt, pgdialect.Array(&ids), &xid)
	if err != nil {
		return err
	}
	if p := noteXID(ctx); p != nil {
		*p = xid
	}
	return e.enqueue(ctx, tx, ids, false)
}

// enqueue inserts one delivery job per id in tx.
func (e *events) enqueue(ctx context.Context, tx bun.Tx, ids []uuid.UUID, manual bool) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := e.queue.InsertManyTx(ctx, tx.Tx, deliveryJobs(ids, manual))
	return err
}

func deliveryJobs(ids []uuid.UUID, manual bool) []river.InsertManyParams {
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: DeliverArgs{DeliveryID: id, Manual: manual}}
	}
	return params
}

// endpointsWanting is the SQL of the ids of account $1's enabled webhook
// endpoints that want event $2; a hot write selects it beside its Activity
// Log entry and passes the result to deliver.
const endpointsWanting = `ARRAY(SELECT w.id FROM webhook_endpoints w
	WHERE w.account_id = $1 AND w.enabled AND w.events && ARRAY[$2, '*']::text[])`

// deliver writes, in a pipelined write's transaction, the delivery of object (the
// resource as the API shows it) for event a to each of endpoints, and
// their River jobs; nothing when endpoints is empty, as it is for most
// accounts.
func (e *events) deliver(ctx context.Context, tx pgx.Tx, a *model.Activity, endpoints []uuid.UUID, object any) error {
	if len(endpoints) == 0 {
		return nil
	}
	obj, err := json.Marshal(object)
	if err != nil {
		return fmt.Errorf("encode webhook object: %w", err)
	}
	rows, err := tx.Query(ctx, `INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, object)
		SELECT $1, e, $2, $3, $4::json FROM unnest($5::uuid[]) AS e
		RETURNING id`, pgx.QueryExecModeCacheStatement, a.AccountID, a.ID, a.Action, string(obj), endpoints)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	_, err = e.pgxQueue.InsertManyTx(ctx, tx, deliveryJobs(ids, false))
	return err
}

// jsonTime formats a timestamptz as Go's encoding/json does (RFC 3339 in
// UTC, fractional seconds without trailing zeros), so an object built in
// SQL reads exactly like the API's.
const jsonTime = `rtrim(rtrim(to_char(%[1]s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '0'), '.') || 'Z'`

// logCascadedNoteDeletes writes a note.deleted entry for every note of a
// contact about to be deleted, so an Activity Log poller learns of each,
// and their webhook deliveries (each note as it was), in one statement.
func (e *events) logCascadedNoteDeletes(ctx context.Context, tx bun.Tx, actor model.Actor, contactID uuid.UUID) error {
	var ids []uuid.UUID
	err := tx.NewRaw(`WITH a AS (
			INSERT INTO activity_log
			(account_id, action, resource_type, resource_id, auth_method, api_key_id, ip, user_agent)
			SELECT account_id, ?, ?, id, ?, ?, ?, ?
			FROM notes WHERE account_id = ? AND contact_id = ?
			ORDER BY created_at, id
			RETURNING id, resource_id
		), d AS (
			INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, object)
			SELECT w.account_id, w.id, a.id, ?, json_build_object(
				'id', n.id, 'contactId', n.contact_id, 'body', n.body,
				'createdAt', `+fmt.Sprintf(jsonTime, "n.created_at")+`,
				'updatedAt', `+fmt.Sprintf(jsonTime, "n.updated_at")+`)
			FROM a JOIN notes n ON n.account_id = ? AND n.id = a.resource_id
			JOIN webhook_endpoints w ON w.account_id = ? AND w.enabled AND w.events && ARRAY[?, '*']::text[]
			RETURNING id
		)
		SELECT ARRAY(SELECT id FROM d)`,
		model.ActionNoteDeleted, model.ResourceNote, actor.AuthMethod, actor.APIKeyID, actor.IP, actor.UserAgent,
		actor.AccountID, contactID,
		model.ActionNoteDeleted,
		actor.AccountID, actor.AccountID, model.ActionNoteDeleted,
	).Scan(ctx, pgdialect.Array(&ids))
	if err != nil {
		return err
	}
	return e.enqueue(ctx, tx, ids, false)
}
