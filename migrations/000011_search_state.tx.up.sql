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
