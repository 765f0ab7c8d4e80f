-- db_proxy_server polls every 2 s for users who were disabled (ttadm user disable sets
-- status = 3 and updated = now) to close their live sessions: SELECT id FROM IMUser WHERE
-- updated >= ? AND status = 3. This index keeps that a short range read instead of a scan of
-- every user. Clients' incremental sync (updated >= ?) uses it too.
ALTER TABLE IMUser ADD INDEX IF NOT EXISTS idx_updated (updated);
