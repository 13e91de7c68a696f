DROP TRIGGER contacts_tags_update ON contacts;
DROP TRIGGER contacts_tags_delete ON contacts;
DROP TRIGGER contacts_tags_insert ON contacts;
DROP FUNCTION remy_count_tags();
DROP TABLE tag_counts;
DROP TRIGGER contacts_count_delete ON contacts;
DROP TRIGGER contacts_count_insert ON contacts;
DROP FUNCTION remy_count_contacts();
DROP TABLE contact_counts;
DROP INDEX contacts_company_desc_idx, contacts_company_asc_idx, contacts_family_desc_idx,
    contacts_family_asc_idx, contacts_given_desc_idx, contacts_given_asc_idx, contacts_updated_idx,
    contacts_search_cover_idx, contacts_tags_idx, contacts_search_idx;
ALTER TABLE contacts DROP COLUMN _search;
DROP FUNCTION remy_contact_search_text(text, text, text, text, jsonb);
DROP FUNCTION remy_unaccent(text);
-- The extensions stay: other objects may have come to depend on them.
