/* td_store: the SQL of users and departments (IMUser, IMDepart), shared by db_proxy_server and
 * ttadm. Every statement is a prepared one with bound values. Times written are the database
 * server's UNIX_TIMESTAMP(), so that every writer (daemons, admin tool) uses one clock for the
 * `updated` columns that drive the clients' incremental sync. Functions return 0 (or a count /
 * found flag, as documented) and -1 on a database error, whose text is td_conn_error(c). */
#ifndef TD_STORE_H
#define TD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "td_mysql.h"

#define TD_USER_STATUS_LEFT 3 /* "resigned": hidden by clients, cannot log in */
#define TD_IDS_PER_QUERY 100  /* ids per IN (...) statement */

/* One IMUser row. Allocated as one block together with its strings. */
typedef struct td_user_s {
    uint32_t id;          /* IMUser.id */
    uint32_t sex;         /* 0 unknown, 1 male, 2 female */
    uint32_t depart_id;   /* IMUser.departId */
    uint32_t status;      /* 0 active, 1 probation, 2 regular, 3 left, 4 intern */
    uint32_t created;     /* unix time */
    uint32_t updated;     /* unix time of the last change */
    uint32_t push_shield; /* 1: do not disturb */
    char *name;           /* login name (also the real name) */
    char *domain;         /* pinyin */
    char *nick;           /* nick name */
    char *password;       /* stored password (td_password formats) */
    char *salt;           /* salt of the original md5 format, '' otherwise */
    char *phone;          /* phone */
    char *email;          /* e-mail */
    char *avatar;         /* avatar URL */
    char *sign_info;      /* signature */
} td_user_t;

typedef struct td_user_list_s {
    td_user_t **v; /* rows */
    size_t n;      /* rows used */
    size_t cap;    /* rows allocated */
} td_user_list_t;

/* One IMDepart row, allocated as one block with its name. */
typedef struct td_dept_s {
    uint32_t id;        /* IMDepart.id */
    uint32_t priority;  /* display order */
    uint32_t parent_id; /* 0 = top */
    uint32_t status;    /* 0 normal, 1 deleted */
    uint32_t created;   /* unix time */
    uint32_t updated;   /* unix time of the last change */
    char *name;         /* departName */
} td_dept_t;

typedef struct td_dept_list_s {
    td_dept_t **v; /* rows */
    size_t n;      /* rows used */
    size_t cap;    /* rows allocated */
} td_dept_list_t;

void td_user_list_free(td_user_list_t *l);
void td_dept_list_free(td_dept_list_t *l);

/* The account to log in as: the row of that name, an active (status 0) one first if there
 * are several. 1 found (*out to free()), 0 none, -1 error. */
int td_user_by_name(td_conn_t *c, const char *name, size_t len, td_user_t **out);
#define TD_NAMES_PER_QUERY 32
/* Every row with one of the given names (n <= TD_NAMES_PER_QUERY, any status): the lookups of
 * several logins in one statement. 0 ok, -1 error. */
int td_users_by_names(td_conn_t *c, const char *const *names, const size_t *lens, size_t n,
                      td_user_list_t *out);
/* A copy of a row in one allocation (free()); NULL when out of memory. */
td_user_t *td_user_dup(const td_user_t *u);
/* Users with the given ids (any status; duplicates and missing ids are simply not there). */
int td_users_by_ids(td_conn_t *c, const uint32_t *ids, size_t n, td_user_list_t *out);
/* since == 0: every user who has not left; else every user with updated >= since, those who
 * left included (clients learn departures). */
int td_users_changed(td_conn_t *c, uint32_t since, td_user_list_t *out);
/* Every user, in id order (admin listing). */
int td_users_all(td_conn_t *c, td_user_list_t *out);
/* Number of users named name (any status). */
int td_user_count_by_name(td_conn_t *c, const char *name, uint32_t *count);

/* Updates that also set updated = now. *matched = rows that matched (0: no such user). */
int td_user_set_sign(td_conn_t *c, uint32_t id, const char *sign, uint64_t *matched);
int td_user_set_avatar(td_conn_t *c, uint32_t id, const char *url, uint64_t *matched);
int td_user_set_push_shield(td_conn_t *c, uint32_t id, uint32_t shield, uint64_t *matched);
int td_user_set_password(td_conn_t *c, const char *name, const char *stored, uint64_t *matched);
int td_user_set_status(td_conn_t *c, const char *name, uint32_t status, uint64_t *matched);
/* Replaces the stored password only if it still is `old` (and clears the legacy salt); does
 * not touch `updated` (nothing clients see changed). */
int td_user_upgrade_password(td_conn_t *c, uint32_t id, const char *old, const char *stored,
                             uint64_t *matched);
/* 1 found (*shield set), 0 no such user, -1 error. */
int td_user_get_push_shield(td_conn_t *c, uint32_t id, uint32_t *shield);
/* The database clock (*now) and the ids of the users who left (status 3) with
 * updated >= since, at most TD_LEFT_MAX of them (*ids to free(), *n of them). Reads the
 * updated index (migration 007): a cheap query to run every few seconds. */
#define TD_LEFT_MAX 100000
int td_users_left_since(td_conn_t *c, uint32_t since, uint32_t *now, uint32_t **ids, size_t *n);
/* Writes sex, domain, nick, phone, email, avatar, depart_id and sign_info of user u->id (and
 * updated = now). */
int td_user_update(td_conn_t *c, const td_user_t *u, uint64_t *matched);
/* Inserts u (id, created and updated are ignored: set by the database). */
int td_user_add(td_conn_t *c, const td_user_t *u, uint32_t *id);

/* Departments with updated > since (any status). */
int td_depts_changed(td_conn_t *c, uint32_t since, td_dept_list_t *out);
/* Every department, in id order. */
int td_depts_all(td_conn_t *c, td_dept_list_t *out);
/* 1 when a department with that id exists (status 0 when active_only), 0 when not. */
int td_dept_exists(td_conn_t *c, uint32_t id, int active_only);
/* The active department with the smallest id: 1 found, 0 none. */
int td_dept_first(td_conn_t *c, uint32_t *id);
int td_dept_add(td_conn_t *c, const char *name, uint32_t parent, uint32_t priority,
                uint32_t *id);
int td_dept_rename(td_conn_t *c, uint32_t id, const char *name, uint64_t *matched);
/* The parent of department id: 1 found (*parent set), 0 no such department, -1 error. */
int td_dept_parent(td_conn_t *c, uint32_t id, uint32_t *parent);
/* 1 when making parent the parent of id would put id below itself (or the chain above parent
 * is longer than TD_DEPT_MAX_DEPTH, or loops already), 0 when not, -1 error. */
#define TD_DEPT_MAX_DEPTH 256
int td_dept_would_cycle(td_conn_t *c, uint32_t id, uint32_t parent);
int td_dept_move(td_conn_t *c, uint32_t id, uint32_t parent, uint64_t *matched);

#endif
