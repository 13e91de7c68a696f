ALTER TABLE contacts RESET (parallel_workers);
DROP INDEX contacts_updated_brin;
CREATE INDEX contacts_updated_idx ON contacts (account_id, updated_at DESC, id DESC);
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
DROP TRIGGER contacts_counts_insert ON contacts;
DROP TRIGGER contacts_counts_delete ON contacts;
DROP FUNCTION remy_count_contacts_and_tags();
CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts();
CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_contacts();
CREATE TRIGGER contacts_tags_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_tags();
CREATE TRIGGER contacts_tags_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION remy_count_tags();
CREATE INDEX contacts_given_desc_idx ON contacts (account_id, given_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_family_desc_idx ON contacts (account_id, family_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_company_desc_idx ON contacts (account_id, company DESC NULLS LAST, id DESC);
CREATE INDEX contacts_search_cover_idx ON contacts (account_id) INCLUDE (_search, tags);
CREATE INDEX contacts_search_idx ON contacts USING gin (account_id, _search gin_trgm_ops);
CREATE INDEX contacts_tags_idx ON contacts USING gin (account_id, tags);
DROP INDEX contacts_find_idx;
DROP FUNCTION remy_bigrams(text);
