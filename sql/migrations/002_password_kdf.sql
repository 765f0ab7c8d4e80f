-- Passwords are stored as pbkdf2_sha256$<iterations>$<salt base64>$<hash base64> (about 90
-- characters; see db_proxy_server/td_password.h), which does not fit the original varchar(32).
-- Rows in the original md5 format keep working and are rewritten at the user's next login.
-- Running this again changes nothing.
ALTER TABLE IMUser MODIFY password varchar(255) COLLATE utf8mb4_bin NOT NULL DEFAULT ''
    COMMENT 'pbkdf2_sha256$iter$salt$hash, or the original md5(md5(plain) . salt)';
