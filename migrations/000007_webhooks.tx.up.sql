-- Outbound webhooks. An endpoint belongs to one account; a delivery is one
-- event bound for one endpoint, written in the same transaction as the
-- change (and its Activity Log entry) it reports. The attempts themselves
-- are River jobs (river_job, created by River's own migrations).
CREATE TABLE webhook_endpoints (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id           uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url                  text NOT NULL,
    events               text[] NOT NULL,
    description          text NOT NULL DEFAULT '',
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    secret               text NOT NULL,
    -- After a rotation the old secret signs too, until it expires.
    previous_secret      text,
    previous_secret_until timestamptz,
    -- Deliveries ended failed in a row; 5 disables the endpoint.
    consecutive_failures integer NOT NULL DEFAULT 0,
    version              bigint NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT webhook_endpoints_account_id_key UNIQUE (account_id, id),
    CONSTRAINT webhook_endpoints_url_length CHECK (char_length(url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_endpoints_events_not_empty CHECK (cardinality(events) > 0)
);
-- Every mutation looks up the account's enabled endpoints inside its own
-- transaction: a partial index keeps that probe to an empty index range for
-- accounts without webhooks.
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (account_id) WHERE enabled;
CREATE INDEX webhook_endpoints_account_order_idx ON webhook_endpoints (account_id, created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id       uuid NOT NULL,
    endpoint_id      uuid NOT NULL,
    -- The Activity Log entry's id (or a ping's own id): the webhook-id header.
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    -- The resource as the API returned it after the change (as it was, for a
    -- deletion), stored as sent: json, not jsonb, keeps the bytes.
    object           json NOT NULL,
    status           text NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    -- Attempts made on the retry schedule (manual retries are not counted):
    -- the position in REMY_WEBHOOK_RETRY_DELAYS.
    scheduled_attempts integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz DEFAULT clock_timestamp(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Deleting an endpoint drops its deliveries (pending ones included).
    CONSTRAINT webhook_deliveries_endpoint_fk FOREIGN KEY (account_id, endpoint_id)
        REFERENCES webhook_endpoints (account_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);
CREATE INDEX webhook_deliveries_endpoint_order_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
-- The 30-day retention deletes by age.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
