-- Notes belong to one contact of one account. The composite foreign key
-- makes a note pointing at another account's contact impossible, and
-- deleting a contact deletes its notes.
CREATE TABLE notes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id uuid NOT NULL,
    body       text NOT NULL,
    -- Bumped on every update; the ETag is derived from it.
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT notes_contact_fk FOREIGN KEY (account_id, contact_id)
        REFERENCES contacts (account_id, id) ON DELETE CASCADE,
    -- The API checks the same limits; this is the last line of defence.
    CONSTRAINT notes_body_length CHECK (char_length(body) BETWEEN 1 AND 10000)
);
-- The per-contact list (newest first, id as tie-breaker) is one index scan;
-- the same index serves the cascade from contacts.
CREATE INDEX notes_contact_order_idx ON notes (account_id, contact_id, created_at DESC, id DESC);
-- The account-wide export walks this one.
CREATE INDEX notes_account_order_idx ON notes (account_id, created_at DESC, id DESC);
-- Polling the Activity Log with ?since= is a range scan of
-- activity_log_account_idx (account_id, created_at DESC, id DESC), created
-- in 000001; ?resourceId= uses activity_log_resource_idx.
