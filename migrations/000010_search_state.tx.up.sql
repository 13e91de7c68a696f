-- Search that holds from the moment contacts arrive, at a lower cost per
-- write (issue 18; README, Finding contacts and Performance).

-- A 1–2 character term has no trigram, so the trigram index cannot find it:
-- every contact of the account was read and matched with LIKE. Its bigrams
-- can: a 2-character term is a substring of _search exactly when it is one
-- of these. Terms never hold a space, so no bigram spans one.
CREATE FUNCTION remy_bigrams(text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT substr(w, i, 2) FROM string_to_table($1, ' ') AS w, generate_series(1, length(w) - 1) AS i);

-- One GIN index for every search condition: the account, q's trigrams, the
-- tags and q's bigrams ("C": compared byte-wise whatever the database's
-- collation). Against one index per condition it writes one index entry set
-- per row instead of three (a single-row insert measured ~80 µs cheaper of
-- ~550), and a tag and a term are intersected inside the index, before any
-- row is read.
--
-- GIN takes new rows into a pending list, unsorted, that every scan reads
-- whole and that is merged into the index when it outgrows
-- gin_pending_list_limit (or at autovacuum's visit). At the default 4 MB,
-- right after a bulk write each list held ~450 pages, read twice by every
-- search (the page and its total): 20 ms more for a one-contact match, and
-- plans that avoided the index. 256 kB bounds that to 32 pages; writes
-- measured no slower (the merges are smaller and more frequent). fastupdate
-- off, the other bound, made an insert ~250 µs dearer. A bulk write empties
-- the list at once (ContactRepo.AfterBulkWrite).
CREATE INDEX contacts_find_idx ON contacts
    USING gin (account_id, _search gin_trgm_ops, tags, remy_bigrams(_search COLLATE "C"))
    WITH (gin_pending_list_limit = 256);
DROP INDEX contacts_search_idx, contacts_tags_idx;

-- Counted short terms with an index-only scan, which reads the heap too
-- until VACUUM has set the visibility map (the first minutes after a bulk
-- write), and still matched every entry: the bigrams replace it.
DROP INDEX contacts_search_cover_idx;

-- One B-tree per name serves both directions: ascending is its order, and
-- descending (nulls still last) is its non-null range read backwards, then
-- its null range read backwards (repo/contactlist.go).
DROP INDEX contacts_given_desc_idx, contacts_family_desc_idx, contacts_company_desc_idx;

-- The counters (contact_counts, tag_counts) in one statement trigger per
-- kind of write instead of two. Same statements, same slots, same
-- transaction; measured on POST /api/v1/contacts under load (32 clients,
-- 20 accounts), Postgres's CPU per request fell from ~900 to ~700 µs: half
-- the trigger firings, one transition table instead of two.
CREATE FUNCTION remy_count_contacts_and_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_counts AS cc (account_id, slot, n)
        SELECT account_id, pg_backend_pid() % 8, count(*) FROM new_rows GROUP BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n;
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT r.account_id, t.tag, pg_backend_pid() % 8, count(*)
        FROM new_rows r, unnest(r.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    ELSE
        -- Deleting an account cascades to its contacts: its counts go with
        -- it, so only accounts that still exist are counted down.
        INSERT INTO contact_counts AS cc (account_id, slot, n)
        SELECT o.account_id, pg_backend_pid() % 8, -count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id GROUP BY o.account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n;
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT o.account_id, t.tag, pg_backend_pid() % 8, -count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id, unnest(o.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER contacts_count_insert ON contacts;
DROP TRIGGER contacts_tags_insert ON contacts;
DROP TRIGGER contacts_count_delete ON contacts;
DROP TRIGGER contacts_tags_delete ON contacts;
DROP FUNCTION remy_count_contacts();
CREATE TRIGGER contacts_counts_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts_and_tags();
CREATE TRIGGER contacts_counts_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts_and_tags();

-- updated_at changes with every write, and while a B-tree indexed it, no
-- update could be HOT (a new row version on the same page, no index
-- touched): every PATCH wrote a new entry into each of the table's indexes,
-- the GIN's ~90 keys among them. A BRIN index is summarizing: since
-- PostgreSQL 16 it does not stand in the way of HOT, and a PATCH that
-- leaves the names, emails and tags alone touches no index at all
-- (PATCH /api/v1/contacts/{id} under load: 0.66 → 0.8 of a bare table's
-- rate). updatedSince still finds the recently changed rows' blocks
-- through it; sort=updatedAt sorts the account's contacts instead of
-- walking an index (README, Finding contacts).
-- The account is in it too: the blocks a bulk write or a busy account
-- filled are then skipped for every other account.
DROP INDEX contacts_updated_idx;
CREATE INDEX contacts_updated_brin ON contacts USING brin (account_id, updated_at)
    WITH (pages_per_range = 32, autosummarize = on);

-- No parallel workers for a contacts scan. The only plans that chose them
-- were the counts of broad terms (2 letters: ~30,000 matches), where two
-- workers doubled the CPU (15 → 32 ms per count) and, on this 2-core
-- machine with anything else running, were slower too (16.5 → 20.7 ms):
-- an API serving many requests has no idle core to lend one of them.
ALTER TABLE contacts SET (parallel_workers = 0);
