-- Idempotency-Key records: one per (account, key). A request claims its key
-- by inserting a 'running' row; on success the response is stored and the row
-- becomes 'done', so a retry replays it. Failed requests delete their claim.
-- Rows live for 24 hours (expires_at); a 'running' claim whose process died
-- may be taken over once locked_until has passed.
CREATE TABLE idempotency_keys (
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key          text NOT NULL,
    -- SHA-256 over method, path and body of the request that claimed the key.
    fingerprint  bytea NOT NULL,
    state        text NOT NULL DEFAULT 'running',
    -- Identifies one claim, so a request whose claim was taken over cannot
    -- complete or release its successor's.
    claim        uuid NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    locked_until timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, key),
    CONSTRAINT idempotency_keys_state_check CHECK (state IN ('running', 'done')),
    CONSTRAINT idempotency_keys_key_length CHECK (length(key) BETWEEN 1 AND 255)
);
-- The purge deletes by expiry.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
