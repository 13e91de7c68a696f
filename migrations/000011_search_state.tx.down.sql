CREATE INDEX contacts_given_desc_idx ON contacts (account_id, given_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_family_desc_idx ON contacts (account_id, family_name DESC NULLS LAST, id DESC);
CREATE INDEX contacts_company_desc_idx ON contacts (account_id, company DESC NULLS LAST, id DESC);
CREATE INDEX contacts_search_cover_idx ON contacts (account_id) INCLUDE (_search, tags);
DROP INDEX contacts_bigram_idx;
DROP FUNCTION remy_bigrams(text);
