-- What each API key may do: a set of scopes such as contacts:read (see
-- model/scope.go). Keys made before scopes existed keep every scope, so
-- nothing that worked stops working.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL
        DEFAULT '{contacts:read,contacts:write,notes:read,notes:write,activity:read,export:read,webhooks:read,webhooks:write}';
-- A key with no scope could do nothing, and an unknown scope is a typo;
-- adding a scope means a migration that widens this list.
ALTER TABLE api_keys
    ADD CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0
        AND scopes <@ '{contacts:read,contacts:write,notes:read,notes:write,activity:read,export:read,webhooks:read,webhooks:write}'::text[]
    );
