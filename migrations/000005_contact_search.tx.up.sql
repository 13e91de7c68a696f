-- Finding contacts: substring search (q), tag filters, sort keys, and a
-- total for the unfiltered list that does not count the account's rows.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
-- Lets one GIN index lead with account_id, so a search reads only the
-- account's matches, never another account's.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- unaccent(text) is only STABLE: it finds its dictionary through the
-- search_path. Naming the dictionary makes the result depend on the input
-- alone, so it can be stored and indexed.
CREATE FUNCTION remy_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

-- The one string q matches: names, company and email addresses, unaccented
-- and lower-cased, joined by spaces (q's terms never contain one, so no
-- term matches across two fields).
CREATE FUNCTION remy_contact_search_text(given text, family text, nick text, company text, emails jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(remy_unaccent(concat_ws(' ', given, family, nick, company,
        (SELECT string_agg(e ->> 'value', ' ') FROM jsonb_array_elements(emails) AS e))));

-- Generated in the row itself, so a contact is findable the moment its
-- INSERT or UPDATE commits. The leading underscore keeps it out of the API
-- model (bun skips result columns named _*).
ALTER TABLE contacts ADD COLUMN _search text NOT NULL
    GENERATED ALWAYS AS (remy_contact_search_text(given_name, family_name, nickname, company, emails)) STORED;

-- q with terms of 3+ characters: trigram lookups within the account.
CREATE INDEX contacts_search_idx ON contacts USING gin (account_id, _search gin_trgm_ops);
-- tag=: containment within the account.
CREATE INDEX contacts_tags_idx ON contacts USING gin (account_id, tags);
-- Counting broad matches (a 1–2 character term has no trigram to look up, a
-- common one matches thousands of rows): an index-only scan of the account's
-- narrow entries instead of its heap.
CREATE INDEX contacts_search_cover_idx ON contacts (account_id) INCLUDE (_search, tags);

-- Sort keys. Names sort nulls last in both directions, which one B-tree
-- cannot give (read backwards, NULLS LAST becomes NULLS FIRST): one per
-- direction. created_at has contacts_account_order_idx (000001).
CREATE INDEX contacts_updated_idx ON contacts (account_id, updated_at DESC, id DESC);
CREATE INDEX contacts_given_asc_idx ON contacts (account_id, given_name ASC NULLS LAST, id ASC);
CREATE INDEX contacts_given_desc_idx ON contacts (account_id, given_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_family_asc_idx ON contacts (account_id, family_name ASC NULLS LAST, id ASC);
CREATE INDEX contacts_family_desc_idx ON contacts (account_id, family_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_company_asc_idx ON contacts (account_id, company ASC NULLS LAST, id ASC);
CREATE INDEX contacts_company_desc_idx ON contacts (account_id, company DESC NULLS LAST, id DESC);

-- How many contacts each account has, kept by the triggers below in the
-- transaction of every insert and delete, so the unfiltered list's total is
-- exact and in the same snapshot as its page. Each account's count is
-- spread over slots (picked by backend), so concurrent writers to one
-- account rarely wait on the same row; the count is their sum.
CREATE TABLE contact_counts (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    slot       smallint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (account_id, slot)
);

CREATE FUNCTION remy_count_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_counts AS cc (account_id, slot, n)
        SELECT account_id, pg_backend_pid() % 8, count(*) FROM new_rows GROUP BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n;
    ELSE
        -- Deleting an account cascades to its contacts: its counts go with
        -- it, so only accounts that still exist are counted down.
        INSERT INTO contact_counts AS cc (account_id, slot, n)
        SELECT o.account_id, pg_backend_pid() % 8, -count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id GROUP BY o.account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET n = cc.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts();
CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts();

-- How many of each account's contacts carry each tag, for GET /api/v1/tags,
-- kept the same way (slots, same transaction). Unnesting every contact's tags
-- per request costs a pass over the account; this is a range of a small
-- table. An UPDATE that leaves tags alone does not reach the function (WHEN).
CREATE TABLE tag_counts (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag        text NOT NULL,
    slot       smallint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (account_id, tag, slot)
);

CREATE FUNCTION remy_count_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT r.account_id, t.tag, pg_backend_pid() % 8, count(*)
        FROM new_rows r, unnest(r.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT o.account_id, t.tag, pg_backend_pid() % 8, -count(*)
        FROM old_rows o JOIN accounts a ON a.id = o.account_id, unnest(o.tags) AS t(tag) GROUP BY 1, 2
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    ELSE
        INSERT INTO tag_counts AS tc (account_id, tag, slot, n)
        SELECT NEW.account_id, d.tag, pg_backend_pid() % 8, sum(d.n)
        FROM (SELECT unnest(NEW.tags), 1 UNION ALL SELECT unnest(OLD.tags), -1) AS d(tag, n)
        GROUP BY d.tag HAVING sum(d.n) <> 0
        ON CONFLICT (account_id, tag, slot) DO UPDATE SET n = tc.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_tags_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_tags();
CREATE TRIGGER contacts_tags_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_tags();
CREATE TRIGGER contacts_tags_update AFTER UPDATE OF tags ON contacts
    FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION remy_count_tags();

-- Counting the contacts already there must not race inserts still running.
LOCK TABLE contacts IN SHARE MODE;
INSERT INTO contact_counts (account_id, slot, n)
SELECT account_id, 0, count(*) FROM contacts GROUP BY account_id;
INSERT INTO tag_counts (account_id, tag, slot, n)
SELECT c.account_id, t.tag, 0, count(*) FROM contacts c, unnest(c.tags) AS t(tag) GROUP BY 1, 2;
