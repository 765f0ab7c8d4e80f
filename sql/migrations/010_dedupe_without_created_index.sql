-- tt_msg_dedupe without its secondary index idx_created (migration 003): every stored message
-- with a resend key inserts a row here, and keeping idx_created up to date cost MariaDB a
-- third of that insert. db_proxy_server now purges old keys by walking the primary key in
-- chunks of 2000 rows (td_msg.c td_msg_dedupe_purge), which needs no index on created.
-- A db_proxy_server older than this migration still works on the table (its purge, DELETE ...
-- WHERE created < ... LIMIT 1000, then reads the whole table instead of the index: slower
-- purges, same results); upgrade every db_proxy_server of a database before or soon after
-- applying this.
ALTER TABLE tt_msg_dedupe DROP INDEX IF EXISTS idx_created;
