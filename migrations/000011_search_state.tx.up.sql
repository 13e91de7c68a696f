-- Search that holds from the moment contacts arrive (issue 18; README,
-- Finding contacts).

-- A 1–2 character term has no trigram, so contacts_search_idx cannot find
-- it: every contact of the account was read and matched with LIKE. Its
-- bigrams can: a 2-character term is a substring of _search exactly when it
-- is one of these. Terms never hold a space, so no bigram spans one.
CREATE FUNCTION remy_bigrams(text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT substr(w, i, 2) FROM string_to_table($1, ' ') AS w, generate_series(1, length(w) - 1) AS i);

-- "C": the keys are compared byte-wise whatever the database's collation.
CREATE INDEX contacts_bigram_idx ON contacts USING gin (account_id, remy_bigrams(_search COLLATE "C"));

-- Counted short terms with an index-only scan, which reads the heap too
-- until VACUUM has set the visibility map (the first minutes after a bulk
-- write), and still matched every entry: contacts_bigram_idx replaces it.
DROP INDEX contacts_search_cover_idx;

-- One B-tree per name serves both directions: ascending is its order, and
-- descending (nulls still last) is its non-null range read backwards, then
-- its null range read backwards (repo/contactlist.go).
DROP INDEX contacts_given_desc_idx, contacts_family_desc_idx, contacts_company_desc_idx;
