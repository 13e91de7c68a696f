package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// FeedRepo reads the change feed: the events table, in (xid, seq) order,
// up to the horizon below which every transaction has ended (see
// migrations/000008_change_feed.tx.up.sql).
type FeedRepo struct {
	db  *bun.DB
	hub feedHub
}

// feedPageSQL reads, in one statement: the horizon, whether events after
// the cursor were pruned, whether any committed after it wait behind the
// horizon, and the page itself, each event with its Activity Log entry.
// $1–$4 are the cursor's xid and seq, the account and the limit; %[1]s holds
// the conditions on "e" the query adds (types, snapshot), from $5 on. It is
// a prepared statement (one per variant), so it is planned once per
// connection, not per page.
const feedPageSQL = `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT h.xmin::text,
	COALESCE((SELECT (p.xid, p.seq) > ($1::text::xid8, $2) FROM events_pruned p WHERE p.account_id = $3), false),
	EXISTS (SELECT FROM events e WHERE e.account_id = $3 AND (e.xid, e.seq) > ($1::text::xid8, $2) AND e.xid >= h.xmin %[1]s),
	e.xid::text, e.seq, e.type, e.object::text,
	a.id, a.action, a.resource_type, a.resource_id, a.auth_method, a.api_key_id, a.ip, a.user_agent, a.changes, a.created_at
FROM h LEFT JOIN LATERAL (
	SELECT e.* FROM events e
	WHERE e.account_id = $3 AND (e.xid, e.seq) > ($1::text::xid8, $2) AND e.xid < h.xmin %[1]s
	ORDER BY e.xid, e.seq LIMIT $4
) e ON true
LEFT JOIN LATERAL (
	-- Lateral, so that even a generic plan (which cannot know $4 is at
	-- most 101) looks each entry up by its key instead of hashing the log;
	-- LIMIT 1 keeps the planner from flattening it back into a join.
	SELECT a.* FROM activity_log a WHERE a.id = e.id AND a.account_id = $3 LIMIT 1
) a ON true
ORDER BY e.xid, e.seq`

// FeedQuery is one read of an account's feed.
type FeedQuery struct {
	After model.FeedPosition
	// FromStart: no cursor given; the feed starts at its oldest retained
	// event, so nothing pruned can be missed from there.
	FromStart bool
	Types     []string
	Limit     int
}

// Page returns the events after q.After that are safe to serve, at most
// q.Limit, and the position to continue from. model.ErrCursorExpired when
// events after q.After were pruned.
func (r *FeedRepo) Page(ctx context.Context, accountID uuid.UUID, q FeedQuery) (model.FeedPage, error) {
	var cond strings.Builder
	args := []any{strconv.FormatUint(q.After.XID, 10), q.After.Seq, pgUUID(accountID), q.Limit + 1}
	if len(q.Types) > 0 {
		args = append(args, q.Types)
		fmt.Fprintf(&cond, " AND e.type = ANY($%d)", len(args))
	}
	if q.After.Snapshot != "" {
		args = append(args, q.After.Snapshot)
		fmt.Fprintf(&cond, " AND NOT pg_visible_in_snapshot(e.xid, $%d::text::pg_snapshot)", len(args))
	}
	var page model.FeedPage
	var horizon uint64
	var expired bool
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, fmt.Sprintf(feedPageSQL, cond.String()), append([]any{pgx.QueryExecModeCacheStatement}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		page, horizon, expired, err = scanFeed(rows)
		return err
	})
	if err != nil {
		return model.FeedPage{}, interpretError(err)
	}
	if expired && !q.FromStart {
		return model.FeedPage{}, model.ErrCursorExpired
	}
	return q.next(page, horizon), nil
}

// next sets where page leaves off: after its last event when more follow;
// otherwise at the horizon if that is further, since every event below it
// after the cursor was in this page.
func (q FeedQuery) next(page model.FeedPage, horizon uint64) model.FeedPage {
	if len(page.Events) > q.Limit {
		page.Events, page.HasMore = page.Events[:q.Limit], true
	}
	page.Next = q.After
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].Position()
	}
	if at := (model.FeedPosition{XID: horizon}); !page.HasMore && page.Next.Before(at) {
		page.Next = at
	}
	page.Next.Snapshot = q.After.Snapshot
	if page.Next.XID >= model.SnapshotXmax(q.After.Snapshot) {
		page.Next.Snapshot = "" // nothing from here on was visible to it
	}
	return page
}

// scanFeed reads feedPageSQL's rows.
func scanFeed(rows pgx.Rows) (page model.FeedPage, horizon uint64, expired bool, err error) {
	for rows.Next() {
		var h string
		var xid, typ, obj pgtype.Text
		var seq pgtype.Int8
		a := new(activityScan)
		if err := rows.Scan(append([]any{&h, &expired, &page.Pending, &xid, &seq, &typ, &obj}, a.targets()...)...); err != nil {
			return page, 0, false, err
		}
		if horizon, err = strconv.ParseUint(h, 10, 64); err != nil {
			return page, 0, false, err
		}
		if !xid.Valid {
			continue // the page is empty: one row of metadata
		}
		x, err := strconv.ParseUint(xid.String, 10, 64)
		if err != nil {
			return page, 0, false, err
		}
		act, err := a.activity()
		if err != nil {
			return page, 0, false, err
		}
		page.Events = append(page.Events, model.Event{ID: act.ID, Type: typ.String, Timestamp: act.CreatedAt.UTC(),
			Data: model.EventData{Object: json.RawMessage(obj.String), Activity: act}, At: model.FeedPosition{XID: x, Seq: seq.Int64}})
	}
	return page, horizon, expired, rows.Err()
}

// activityScan takes an Activity Log entry from a row where it may be
// absent (NULLs), in pgx's own types (database/sql's scanners cost a
// conversion each).
type activityScan struct {
	action, resourceType, authMethod, ip, userAgent pgtype.Text
	id, resourceID, apiKeyID                        pgtype.UUID
	changes                                         []byte
	createdAt                                       pgtype.Timestamptz
}

func (s *activityScan) targets() []any {
	return []any{&s.id, &s.action, &s.resourceType, &s.resourceID, &s.authMethod, &s.apiKeyID, &s.ip, &s.userAgent, &s.changes, &s.createdAt}
}

func (s *activityScan) activity() (*model.Activity, error) {
	a := &model.Activity{Action: s.action.String, ResourceType: s.resourceType.String, AuthMethod: s.authMethod.String,
		IP: s.ip.String, UserAgent: s.userAgent.String, CreatedAt: s.createdAt.Time.UTC()}
	if !s.id.Valid {
		return nil, errors.New("event without its Activity Log entry")
	}
	a.ID, a.ResourceID = s.id.Bytes, s.resourceID.Bytes
	if s.apiKeyID.Valid {
		a.APIKeyID = new(uuid.UUID(s.apiKeyID.Bytes))
	}
	if len(s.changes) > 0 {
		if err := json.Unmarshal(s.changes, &a.Changes); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Head is the "now" position: after every event committed so far, and
// before every event still to commit (see model.FeedPosition.Snapshot).
func (r *FeedRepo) Head(ctx context.Context) (model.FeedPosition, error) {
	var snap string
	if err := r.db.QueryRowContext(ctx, "SELECT pg_current_snapshot()::text").Scan(&snap); err != nil {
		return model.FeedPosition{}, interpretError(err)
	}
	xmin, err := strconv.ParseUint(snap[:strings.IndexByte(snap, ':')], 10, 64)
	if err != nil {
		return model.FeedPosition{}, err
	}
	return model.FeedPosition{XID: xmin, Snapshot: snap}, nil
}

// pruneBatch bounds one DELETE of Prune, so no statement holds its locks long.
const pruneBatch = 5000

// Prune deletes events created before cutoff, noting for each account the
// newest position pruned (a cursor before it is expired), and returns how
// many it deleted.
func (r *FeedRepo) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := r.db.QueryRowContext(ctx, `WITH d AS (
	DELETE FROM events WHERE ctid = ANY(ARRAY(SELECT ctid FROM events WHERE created_at < ? LIMIT ?))
	RETURNING account_id, xid, seq
), m AS (
	INSERT INTO events_pruned (account_id, xid, seq)
	SELECT DISTINCT ON (account_id) account_id, xid, seq FROM d ORDER BY account_id, xid DESC, seq DESC
	ON CONFLICT (account_id) DO UPDATE SET xid = EXCLUDED.xid, seq = EXCLUDED.seq
		WHERE (events_pruned.xid, events_pruned.seq) < (EXCLUDED.xid, EXCLUDED.seq)
)
SELECT count(*) FROM d`, cutoff, pruneBatch).Scan(&n)
		total += n
		if err != nil || n < pruneBatch {
			return total, interpretError(err)
		}
	}
}

// HorizonLag is how long the feed's horizon has been held back: the age of
// the oldest transaction of the cluster that has an id and is still
// running (0 when none). Events committed after it wait that long.
func (r *FeedRepo) HorizonLag(ctx context.Context) (time.Duration, error) {
	var secs float64
	err := r.db.QueryRowContext(ctx, `SELECT COALESCE(EXTRACT(epoch FROM clock_timestamp() - min(xact_start)), 0)
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL`).Scan(&secs)
	return time.Duration(secs * float64(time.Second)), interpretError(err)
}
