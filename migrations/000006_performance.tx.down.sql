DROP TRIGGER IF EXISTS api_keys_notify_change ON api_keys;
DROP FUNCTION IF EXISTS remy_notify_api_key_change();
