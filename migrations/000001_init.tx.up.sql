-- Accounts own everything; every other table carries account_id so that
-- tenancy is enforced by the WHERE clause of every query and by composite
-- foreign keys, never by application code alone.
CREATE TABLE accounts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL,
    name       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique regardless of case.
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    -- The first characters of the key, for people to recognise it in lists.
    prefix       text NOT NULL,
    -- SHA-256 of the whole key: the key itself is never stored.
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at);

CREATE TABLE contacts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    given_name       text,
    family_name      text,
    nickname         text,
    company          text,
    job_title        text,
    emails           jsonb NOT NULL DEFAULT '[]',
    phones           jsonb NOT NULL DEFAULT '[]',
    birthday         date,
    tags             text[] NOT NULL DEFAULT '{}',
    introduced_by_id uuid,
    -- Bumped on every update; the ETag is derived from it.
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Target of the composite foreign key below.
    CONSTRAINT contacts_account_id_id_key UNIQUE (account_id, id),
    -- The introducer must belong to the same account; deleting it clears the link.
    CONSTRAINT contacts_introduced_by_fk FOREIGN KEY (account_id, introduced_by_id)
        REFERENCES contacts (account_id, id) ON DELETE SET NULL (introduced_by_id),
    CONSTRAINT contacts_introduced_by_not_self CHECK (introduced_by_id <> id)
);
-- The list order (newest first, id as tie-breaker) is served by one index scan.
CREATE INDEX contacts_account_order_idx ON contacts (account_id, created_at DESC, id DESC);
CREATE INDEX contacts_introduced_by_idx ON contacts (account_id, introduced_by_id)
    WHERE introduced_by_id IS NOT NULL;

CREATE TABLE activity_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   uuid NOT NULL,
    auth_method   text NOT NULL,
    api_key_id    uuid,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    changes       jsonb,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX activity_log_account_idx ON activity_log (account_id, created_at DESC, id DESC);
CREATE INDEX activity_log_resource_idx ON activity_log (account_id, resource_id, created_at DESC);
