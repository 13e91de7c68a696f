-- A count of every write to an account's contacts, kept beside the number
-- of contacts, so that the exact total of a broad search can be reused
-- while nothing has changed (repo/totals.go; README, Finding contacts).
--
-- Counting a 2-letter term's 30,000 matches visits every heap page of the
-- account (GIN has no index-only scans, and the visibility of each match
-- must be checked): 12–20 ms on a 2-core machine, most of a list request.
-- Paging through that search, or running it again, asked the same question
-- of the same rows. Remy now remembers (per process) each filter's total
-- with the account's write count it was counted at; a list sends the
-- remembered pair, and its statement counts again only if the account's
-- write count, read in the same snapshot, differs.
--
-- Why a count of writes and not a timestamp or the contact count: it only
-- grows, by at least one for every committed transaction that inserted,
-- updated or deleted one of the account's contacts, and snapshots only ever
-- see more committed transactions, so two snapshots with the same sum saw
-- exactly the same writes. Kept by the same kind of statement trigger as n,
-- in the writing transaction, spread over the same slots.
ALTER TABLE contact_counts ADD COLUMN writes bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION remy_count_contacts_and_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_counts AS cc (account_id, slot, n, writes)
        SELECT account_id, pg_backend_pid() % 8, count(*), count(*) FROM new_rows GROUP BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n, writes = cc.writes + excluded.writes;
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT r.account_id, t.tag, pg_backend_pid() % 8, count(*)
        FROM new_rows r, unnest(r.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only the write count: n and the tags' counts (contacts_tags_update)
        -- are what they were.
        INSERT INTO contact_counts AS cc (account_id, slot, n, writes)
        SELECT r.account_id, pg_backend_pid() % 8, 0, count(*)
        FROM new_rows r JOIN accounts a ON a.id = r.account_id GROUP BY r.account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET writes = cc.writes + excluded.writes;
    ELSE
        -- Deleting an account cascades to its contacts: its counts go with
        -- it, so only accounts that still exist are counted down.
        INSERT INTO contact_counts AS cc (account_id, slot, n, writes)
        SELECT o.account_id, pg_backend_pid() % 8, -count(*), count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id GROUP BY o.account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n, writes = cc.writes + excluded.writes;
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT o.account_id, t.tag, pg_backend_pid() % 8, -count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id, unnest(o.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_counts_update AFTER UPDATE ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts_and_tags();
