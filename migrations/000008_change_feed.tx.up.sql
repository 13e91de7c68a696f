-- The change feed (GET /api/v1/events): every deliverable event, with the
-- resource as it was right after the change (before, for deletions),
-- written in the transaction of the change.
--
-- Position: (xid, seq). xid is the writing transaction's id; the feed serves
-- only events of transactions older than the oldest one still running
-- (pg_snapshot_xmin(pg_current_snapshot())), so an event can never appear
-- behind a cursor that has moved past it: a long transaction delays the
-- feed, never loses from it. seq orders the events of one transaction.
CREATE TABLE events (
    account_id uuid        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq        bigint      GENERATED ALWAYS AS IDENTITY,
    id         uuid        NOT NULL, -- the Activity Log entry's id
    type       text        NOT NULL,
    object     json        NOT NULL, -- json, not jsonb: the bytes a webhook delivers
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, xid, seq)
);

-- Retention prunes by age; events arrive in time order, so a BRIN index is
-- enough and costs a write next to nothing.
CREATE INDEX events_created_brin ON events USING brin (created_at);

-- The newest position pruned from each account's feed: a cursor before it
-- may have missed events, and is answered 410.
CREATE TABLE events_pruned (
    account_id uuid   PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    xid        xid8   NOT NULL,
    seq        bigint NOT NULL
);

-- One notification per committing statement that wrote events, naming each
-- account: it wakes the long-polls and streams of every remy process
-- (NOTIFY is delivered at COMMIT, never for a rollback).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('remy_events', a) FROM (SELECT DISTINCT account_id::text AS a FROM inserted) s;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
