package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/uptrace/bun"

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

// The Activity Log entry and the endpoint lookup, each written once and
// shared by every statement that writes an entry. Their arguments are
// named: @account_id, @action, @resource_type, @auth_method, @api_key_id,
// @ip, @user_agent and @changes (see entryArgs).

// endpointWants is the condition on "webhook_endpoints w" that keeps the
// account's enabled endpoints that want event @action.
const endpointWants = `w.account_id = @account_id AND w.enabled AND w.events && ARRAY[@action, '*']::text[]`

// endpointsWanting is the ids of those endpoints, selected beside an entry
// and passed to deliver.
const endpointsWanting = `ARRAY(SELECT w.id FROM webhook_endpoints w WHERE ` + endpointWants + `)`

// noEndpoints stands for endpointsWanting where no endpoint can want the
// event (webhook.* actions are not delivered, even to '*').
const noEndpoints = `'{}'::uuid[]`

// activityInsert is the INSERT of Activity Log entries, one per row of
// from (no FROM when ""), with the entry's id, resource and time given as
// SQL over from's rows. It returns each entry's id, resource and time.
func activityInsert(id, resourceID, createdAt, from string) string {
	if from != "" {
		from = "\n\tFROM " + from
	}
	return `INSERT INTO activity_log (id, account_id, action, resource_type, resource_id,
		auth_method, api_key_id, ip, user_agent, changes, created_at)
	SELECT ` + id + `, @account_id, @action, @resource_type, ` + resourceID + `,
		@auth_method, @api_key_id, @ip, @user_agent, @changes, ` + createdAt + from + `
	RETURNING id, resource_id, created_at`
}

// entryArgs are the named arguments of entry a: its own id and resource,
// and the actor and action every entry records.
func entryArgs(a *model.Activity) arguments {
	return func(name string) (any, bool) { return entryArg(a, name) }
}

func entryArg(a *model.Activity, name string) (any, bool) {
	switch name {
	case "entry_id":
		return pgUUID(a.ID), true
	case "account_id":
		return pgUUID(a.AccountID), true
	case "action":
		return a.Action, true
	case "resource_type":
		return a.ResourceType, true
	case "resource_id":
		return pgUUID(a.ResourceID), true
	case "auth_method":
		return a.AuthMethod, true
	case "api_key_id":
		return pgUUIDOrNull(a.APIKeyID), true
	case "ip":
		return a.IP, true
	case "user_agent":
		return a.UserAgent, true
	case "changes":
		if a.Changes == nil {
			return nil, true
		}
		return a.Changes, true
	}
	return nil, false
}

// eventInsert is the INSERT of change-feed events: one per row of from,
// with the entry's id and time given as SQL over from's rows, and the
// resource's snapshot as @object (JSON, as the API shows it) or SQL.
func eventInsert(id, object, createdAt, from string) string {
	return `INSERT INTO events (account_id, id, type, object, created_at)
	SELECT @account_id, ` + id + `, @action, ` + object + `, ` + createdAt + `
	FROM ` + from
}

// logEntrySQL writes one deliverable entry, its change-feed event and
// returns the endpoints that want it and the transaction's id; logQuietSQL,
// for actions that are neither delivered nor in the feed (webhook.*),
// skips both.
var (
	logEntrySQL = named(`WITH a AS (` + activityInsert("@entry_id", "@resource_id", "clock_timestamp()", "") + `),
e AS (` + eventInsert("a.id", "@object", "a.created_at", "a") + `)
SELECT a.created_at, ` + endpointsWanting + `, txid_current() FROM a`)
	logQuietSQL = named(`WITH a AS (` + activityInsert("@entry_id", "@resource_id", "clock_timestamp()", "") + `)
SELECT a.created_at, ` + noEndpoints + `, txid_current() FROM a`)
)

// withObject adds @object, the snapshot of an event, to args.
func withObject(args arguments, object []byte) arguments {
	return func(name string) (any, bool) {
		if name == "object" {
			return string(object), true
		}
		return args(name)
	}
}

// encodeObject is the snapshot of a resource as an event carries it: the
// same bytes for the feed and every webhook delivery.
func encodeObject(object any) ([]byte, error) {
	b, err := json.Marshal(object)
	if err != nil {
		return nil, fmt.Errorf("encode event object: %w", err)
	}
	return b, nil
}

// log writes entry a, in the transaction of ctx (see runTx), and, when it
// is a deliverable event, its change-feed event with object (the resource
// as the API shows it) and one delivery of object for each of the
// account's enabled endpoints that want it.
func (e *events) log(ctx context.Context, a *model.Activity, object any) error {
	s := sessionOf(ctx)
	if s == nil {
		return errors.New("events.log: outside a transaction")
	}
	stmt, obj := logQuietSQL, []byte(nil)
	if model.Deliverable(a.Action) {
		var err error
		if obj, err = encodeObject(object); err != nil {
			return err
		}
		stmt = logEntrySQL
	}
	return s.pgx(func(conn *pgx.Conn) error {
		var endpoints []uuid.UUID
		var xid int64
		if err := pipeline(ctx, conn, stmt.statement(withObject(entryArgs(a), obj), &a.CreatedAt, &endpoints, &xid)); err != nil {
			return err
		}
		if p := noteXID(ctx); p != nil {
			*p = xid
		}
		return e.deliver(ctx, connTx{conn}, a, endpoints, obj)
	})
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

// deliver writes, in the transaction open on conn, the delivery of obj
// (the event's snapshot, see encodeObject) for event a to each of
// endpoints, and their River jobs; nothing when endpoints is empty, as it
// is for most accounts.
func (e *events) deliver(ctx context.Context, tx pgx.Tx, a *model.Activity, endpoints []uuid.UUID, obj []byte) error {
	if len(endpoints) == 0 {
		return nil
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
	return e.insertJobs(ctx, tx, ids)
}

// insertJobs queues one delivery job per id in tx.
func (e *events) insertJobs(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := e.pgxQueue.InsertManyTx(ctx, tx, deliveryJobs(ids, false))
	return err
}

// jsonTime formats a timestamptz as Go's encoding/json does (RFC 3339 in
// UTC, fractional seconds without trailing zeros), so an object built in
// SQL reads exactly like the API's.
const jsonTime = `rtrim(rtrim(to_char(%[1]s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '0'), '.') || 'Z'`

// noteObject is a note as the API shows it, built in SQL over "notes n".
var noteObject = `json_build_object(
		'id', n.id, 'contactId', n.contact_id, 'body', n.body,
		'createdAt', ` + fmt.Sprintf(jsonTime, "n.created_at") + `,
		'updatedAt', ` + fmt.Sprintf(jsonTime, "n.updated_at") + `)`

// cascadedNoteDeletesSQL writes a note.deleted entry for every note of
// contact @contact_id, about to go with it, their change-feed events and
// their webhook deliveries (each note as it was).
var cascadedNoteDeletesSQL = named(`WITH a AS (` +
	activityInsert("gen_random_uuid()", "n.id", "clock_timestamp()",
		"notes n WHERE n.account_id = @account_id AND n.contact_id = @contact_id ORDER BY n.created_at, n.id") + `
), o AS (
	SELECT a.id, a.created_at, ` + noteObject + ` AS object
	FROM a JOIN notes n ON n.account_id = @account_id AND n.id = a.resource_id
), e AS (` + eventInsert("o.id", "o.object", "o.created_at", "o ORDER BY o.created_at, o.id") + `
), d AS (
	INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, object)
	SELECT w.account_id, w.id, o.id, @action, o.object
	FROM o JOIN webhook_endpoints w ON ` + endpointWants + `
	RETURNING id
)
SELECT ARRAY(SELECT id FROM d)`)

// logCascadedNoteDeletes writes a note.deleted entry for every note of a
// contact about to be deleted, so an Activity Log poller learns of each,
// and their webhook deliveries, in one statement.
func (e *events) logCascadedNoteDeletes(ctx context.Context, actor model.Actor, contactID uuid.UUID) error {
	s := sessionOf(ctx)
	if s == nil {
		return errors.New("events.logCascadedNoteDeletes: outside a transaction")
	}
	a := model.NewActivity(actor, model.ActionNoteDeleted, model.ResourceNote, uuid.Nil, nil)
	args := func(name string) (any, bool) {
		if name == "contact_id" {
			return pgUUID(contactID), true
		}
		return entryArg(a, name)
	}
	return s.pgx(func(conn *pgx.Conn) error {
		var ids []uuid.UUID
		if err := pipeline(ctx, conn, cascadedNoteDeletesSQL.statement(args, &ids)); err != nil {
			return err
		}
		return e.insertJobs(ctx, connTx{conn}, ids)
	})
}

// logManySQL writes entries given as parallel arrays (one per entry, in
// order: id, resource, action, resource type, changes, snapshot), all by
// one actor, with their change-feed events in the same order and the
// webhook deliveries they cause; it returns the deliveries' ids.
var logManySQL = named(`WITH x AS (
	SELECT * FROM unnest(@ids::uuid[], @resource_ids::uuid[], @actions::text[], @resource_types::text[],
		@changes_list::jsonb[], @objects::json[]) WITH ORDINALITY
		AS x(id, resource_id, action, resource_type, changes, object, n)
), a AS (
	INSERT INTO activity_log (id, account_id, action, resource_type, resource_id,
		auth_method, api_key_id, ip, user_agent, changes, created_at)
	SELECT x.id, @account_id, x.action, x.resource_type, x.resource_id,
		@auth_method, @api_key_id, @ip, @user_agent, x.changes, clock_timestamp()
	FROM x ORDER BY x.n
	RETURNING id, created_at
), e AS (
	INSERT INTO events (account_id, id, type, object, created_at)
	SELECT @account_id, x.id, x.action, x.object, a.created_at
	FROM x JOIN a ON a.id = x.id ORDER BY x.n
), d AS (
	INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, object)
	SELECT w.account_id, w.id, x.id, x.action, x.object
	FROM x JOIN webhook_endpoints w ON w.account_id = @account_id AND w.enabled AND w.events && ARRAY[x.action, '*']::text[]
	ORDER BY x.n
	RETURNING id
)
SELECT ARRAY(SELECT id FROM d)`)

// Entry is one Activity Log entry of logMany, with its resource's
// snapshot (see log).
type Entry struct {
	Activity *model.Activity
	Object   any
}

// logMany is log for many deliverable entries by one actor, in one
// statement: a bulk write's (an import's) entries cost one round trip, not
// one each. Entries keep their order in the feed.
func (e *events) logMany(ctx context.Context, entries []Entry) error {
	s := sessionOf(ctx)
	if s == nil {
		return errors.New("events.logMany: outside a transaction")
	}
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	ids, resources := make([]uuid.UUID, n), make([]uuid.UUID, n)
	actions, types, objects := make([]string, n), make([]string, n), make([]string, n)
	changes := make([]*string, n)
	for i, en := range entries {
		a := en.Activity
		if !model.Deliverable(a.Action) {
			return fmt.Errorf("events.logMany: %s is not an event", a.Action)
		}
		obj, err := encodeObject(en.Object)
		if err != nil {
			return err
		}
		ids[i], resources[i], actions[i], types[i], objects[i] = a.ID, a.ResourceID, a.Action, a.ResourceType, string(obj)
		if a.Changes != nil {
			b, err := json.Marshal(a.Changes)
			if err != nil {
				return err
			}
			changes[i] = new(string(b))
		}
	}
	first := entries[0].Activity
	args := func(name string) (any, bool) {
		switch name {
		case "ids":
			return ids, true
		case "resource_ids":
			return resources, true
		case "actions":
			return actions, true
		case "resource_types":
			return types, true
		case "changes_list":
			return changes, true
		case "objects":
			return objects, true
		}
		return entryArg(first, name)
	}
	return s.pgx(func(conn *pgx.Conn) error {
		var deliveries []uuid.UUID
		if err := pipeline(ctx, conn, logManySQL.statement(args, &deliveries)); err != nil {
			return err
		}
		return e.insertJobs(ctx, connTx{conn}, deliveries)
	})
}
