DROP TRIGGER contacts_counts_update ON contacts;
CREATE OR REPLACE FUNCTION remy_count_contacts_and_tags() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE contact_counts DROP COLUMN writes;
