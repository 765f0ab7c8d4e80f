-- TeamTalk MariaDB schema (PROTOCOL.md §7.1): the same tables and columns as the original
-- ttopen.sql, utf8mb4, so an existing TeamTalk database works with this suite unchanged.
-- Plus IMTransmitFile, which the original dumps forgot. Later additions go into
-- sql/migrations/NNN_*.sql. Loading this file twice is harmless.

CREATE TABLE IF NOT EXISTS IMUser (
    id int(11) unsigned NOT NULL AUTO_INCREMENT COMMENT 'user id',
    sex tinyint(1) unsigned NOT NULL DEFAULT 0 COMMENT '1 male, 2 female, 0 unknown',
    name varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'login name',
    domain varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'pinyin',
    nick varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'nick name',
    password varchar(32) COLLATE utf8mb4_bin NOT NULL DEFAULT '' COMMENT 'lowercase hex md5(md5hex(plain) . salt), PROTOCOL.md 6.4',
    salt varchar(4) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    phone varchar(11) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    email varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    avatar varchar(255) COLLATE utf8mb4_bin DEFAULT '',
    departId int(11) unsigned NOT NULL,
    status tinyint(2) unsigned DEFAULT 0 COMMENT '0 active, 1 probation, 2 regular, 3 left, 4 intern',
    created int(11) unsigned NOT NULL,
    updated int(11) unsigned NOT NULL,
    push_shield_status tinyint(1) unsigned NOT NULL DEFAULT 0,
    sign_info varchar(128) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    KEY idx_domain (domain),
    KEY idx_name (name),
    KEY idx_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMDepart (
    id int(11) unsigned NOT NULL AUTO_INCREMENT,
    departName varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    priority int(11) unsigned NOT NULL DEFAULT 0,
    parentId int(11) unsigned NOT NULL,
    status int(11) unsigned NOT NULL DEFAULT 0 COMMENT '0 normal, 1 deleted',
    created int(11) unsigned NOT NULL,
    updated int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_departName (departName),
    KEY idx_priority_status (priority, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMRelationShip (
    id int(11) NOT NULL AUTO_INCREMENT,
    smallId int(11) unsigned NOT NULL,
    bigId int(11) unsigned NOT NULL,
    status tinyint(1) unsigned DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_smallId_bigId_status_updated (smallId, bigId, status, updated)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroup (
    id int(11) NOT NULL AUTO_INCREMENT,
    name varchar(256) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    avatar varchar(256) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    creator int(11) unsigned NOT NULL DEFAULT 0,
    type tinyint(3) unsigned NOT NULL DEFAULT 1 COMMENT '1 normal, 2 temporary',
    userCnt int(11) unsigned NOT NULL DEFAULT 0,
    status tinyint(3) unsigned NOT NULL DEFAULT 1,
    version int(11) unsigned NOT NULL DEFAULT 1,
    lastChated int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_name (name(191)),
    KEY idx_creator (creator)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMember (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    status tinyint(4) unsigned NOT NULL DEFAULT 1 COMMENT '0 member, 1 left',
    created int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_userId_status (groupId, userId, status),
    KEY idx_userId_status_updated (userId, status, updated),
    KEY idx_groupId_updated (groupId, updated)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMRecentSession (
    id int(11) NOT NULL AUTO_INCREMENT,
    userId int(11) unsigned NOT NULL,
    peerId int(11) unsigned NOT NULL,
    type tinyint(1) unsigned DEFAULT 0 COMMENT '1 single, 2 group',
    status tinyint(1) unsigned DEFAULT 0 COMMENT '0 normal, 1 removed',
    created int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_userId_peerId_status_updated (userId, peerId, status, updated),
    KEY idx_userId_peerId_type (userId, peerId, type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMAudio (
    id int(11) NOT NULL AUTO_INCREMENT,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    path varchar(255) COLLATE utf8mb4_bin DEFAULT '',
    size int(11) unsigned NOT NULL DEFAULT 0,
    duration int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_fromId_toId (fromId, toId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMDiscovery (
    id int(11) unsigned NOT NULL AUTO_INCREMENT,
    itemName varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    itemUrl varchar(64) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    itemPriority int(11) unsigned NOT NULL,
    status int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL,
    updated int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_itemName (itemName)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMAdmin (
    id mediumint(6) unsigned NOT NULL AUTO_INCREMENT,
    uname varchar(40) NOT NULL,
    pwd char(32) NOT NULL,
    status tinyint(2) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT IGNORE INTO IMAdmin (id, uname, pwd, status, created, updated)
    VALUES (1, 'admin', '21232f297a57a5a743894a0e4a801fc3', 0, 0, 0);

CREATE TABLE IF NOT EXISTS IMTransmitFile (
    id int(11) unsigned NOT NULL AUTO_INCREMENT,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    fileName varchar(512) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    size int(11) unsigned NOT NULL DEFAULT 0,
    taskId varchar(128) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    status tinyint(3) unsigned NOT NULL DEFAULT 0 COMMENT '0 pending',
    created int(11) unsigned NOT NULL,
    updated int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_toId_status_created (toId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_0 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_0 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_1 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_1 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_2 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_2 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_3 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_3 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_4 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_4 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_5 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_5 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_6 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_6 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_7 (
    id int(11) NOT NULL AUTO_INCREMENT,
    relateId int(11) unsigned NOT NULL,
    fromId int(11) unsigned NOT NULL,
    toId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin DEFAULT '',
    type tinyint(2) unsigned NOT NULL DEFAULT 1,
    status tinyint(1) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL,
    created int(11) unsigned NOT NULL,
    PRIMARY KEY (id),
    KEY idx_relateId_status_created (relateId, status, created),
    KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
    KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMGroupMessage_7 (
    id int(11) NOT NULL AUTO_INCREMENT,
    groupId int(11) unsigned NOT NULL,
    userId int(11) unsigned NOT NULL,
    msgId int(11) unsigned NOT NULL,
    content varchar(4096) COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    type tinyint(3) unsigned NOT NULL DEFAULT 2,
    status int(11) unsigned NOT NULL DEFAULT 0,
    updated int(11) unsigned NOT NULL DEFAULT 0,
    created int(11) unsigned NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY idx_groupId_status_created (groupId, status, created),
    KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
