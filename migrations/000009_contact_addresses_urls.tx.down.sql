-- Birthdays without a year have no full date to become: they go.
UPDATE contacts SET birthday = NULL
WHERE birthday BETWEEN DATE '0005-01-01 BC' AND DATE '0005-12-31 BC';
COMMENT ON COLUMN contacts.birthday IS NULL;
ALTER TABLE contacts DROP COLUMN addresses, DROP COLUMN urls;
