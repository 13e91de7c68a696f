CREATE INDEX contacts_given_desc_idx ON contacts (account_id, given_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_family_desc_idx ON contacts (account_id, family_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_company_desc_idx ON contacts (account_id, company DESC NULLS LAST, id DESC);
CREATE INDEX contacts_search_cover_idx ON contacts (account_id) INCLUDE (_search, tags);
CREATE INDEX contacts_search_idx ON contacts USING gin (account_id, _search gin_trgm_ops);
CREATE INDEX contacts_tags_idx ON contacts USING gin (account_id, tags);
DROP INDEX contacts_find_idx;
DROP FUNCTION remy_bigrams(text);
