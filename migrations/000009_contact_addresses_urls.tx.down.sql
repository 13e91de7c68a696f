ALTER TABLE contacts DROP COLUMN addresses, DROP COLUMN urls;
