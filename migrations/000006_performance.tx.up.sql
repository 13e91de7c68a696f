-- Every instance caches API keys in memory (repo/keycache.go) and LISTENs on
-- remy_api_keys: any change that matters to authentication, however it is
-- made (remy keys revoke, the API, plain SQL, an account's deletion), is
-- announced with the key's hash, so each instance drops it at once.
-- last_used_at alone is bookkeeping and stays quiet.
CREATE FUNCTION remy_notify_api_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       OR to_jsonb(OLD) - 'last_used_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_used_at' THEN
        PERFORM pg_notify('remy_api_keys', encode(OLD.hash, 'hex'));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_notify_change
    AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION remy_notify_api_key_change();
