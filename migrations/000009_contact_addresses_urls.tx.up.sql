-- Postal addresses and web links of a contact: lists, like emails and phones.
ALTER TABLE contacts
    ADD COLUMN addresses jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN urls      jsonb NOT NULL DEFAULT '[]';

-- A birthday without a year (--MM-DD) stays a date, in 5 BC: a leap year, so
-- --02-29 exists, and one no YYYY-MM-DD the API accepts can name, so every full
-- date keeps its meaning, its type and its order (model.Date). The column
-- itself is unchanged; the comment is for whoever reads it in SQL.
COMMENT ON COLUMN contacts.birthday IS
    'A date in 5 BC (year -5 to extract()) is a birthday without a year: --MM-DD in the API';
