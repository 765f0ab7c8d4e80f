-- One-to-one message content as bytes (db_proxy_server/h_msg.c, td_msg.c).
--
-- IMMessage_<n>.content was varchar(4096) utf8mb4_bin, so MariaDB refused text that is not
-- valid UTF-8 and such a message was lost (no ack). A client's text is whatever bytes it sent
-- (the shipped clients send base64 of AES output, but nothing on the wire enforces that), so
-- the column becomes VARBINARY(16384): any bytes, up to what the old column held in the worst
-- case (4096 characters of 4 bytes). Existing rows keep their bytes: utf8mb4 text is its
-- UTF-8 bytes. Readers that take content as a string (the original db_proxy_server, this
-- suite's, admin tools) read the same bytes as before; only comparisons and sorting on the
-- column become byte-wise, which utf8mb4_bin already was. Group message tables are left as
-- they are (this suite does not write them). Each ALTER copies its table: on a large
-- deployment run it in a quiet hour.
ALTER TABLE IMMessage_0 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_1 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_2 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_3 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_4 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_5 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_6 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
ALTER TABLE IMMessage_7 MODIFY COLUMN content VARBINARY(16384) DEFAULT '';
