-- Postal addresses and web links of a contact: lists, like emails and phones.
ALTER TABLE contacts
    ADD COLUMN addresses jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN urls      jsonb NOT NULL DEFAULT '[]';
