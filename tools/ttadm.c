/* ttadm: the admin tool. Adds, disables, enables and lists users, sets their passwords, adds,
 * renames and lists departments, adds normal groups and changes their members, directly in
 * MariaDB, through the same data layer as db_proxy_server (ttdata: prepared statements only).
 * Reads the connection settings (teamtalk_master_*) and PasswordKdfIterations from
 * dbproxyserver.conf. Every change sets
 * `updated` to now, so that clients' incremental sync picks it up. `ttadm msfs usage` reads
 * msfs.conf instead and walks msfs's BaseDir (no database). Exit status 0 or 1. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "msfs.h"
#include "td_group.h"
#include "td_mysql.h"
#include "td_password.h"
#include "td_store.h"
#include "tt_cfg.h"

#define PLAIN_MAX 1024 /* longest password accepted */
#define ER_DATA_TOO_LONG_NUM 1406

static const char usage_text[] =
    "usage: ttadm [-c dbproxyserver.conf] COMMAND\n"
    "  user add NAME [--nick N] [--dept ID] [--password P | --password-stdin]\n"
    "               [--sex 0|1|2] [--email E] [--phone P]\n"
    "  user disable NAME        the user leaves: hidden from clients, cannot log in (status 3)\n"
    "  user enable NAME         active again (status 0)\n"
    "  user passwd NAME [--password P | --password-stdin]\n"
    "  user list\n"
    "  dept add NAME [--parent ID] [--priority N]\n"
    "  dept rename ID NEWNAME\n"
    "  dept list\n"
    "  group add NAME --members U1,U2,... [--creator U] [--avatar URL]\n"
    "                           a normal group (type 1); U: a user name or id\n"
    "  group members GID [--add U1,U2,...] [--remove U1,U2,...]\n"
    "  group list               normal groups, with their versions and members\n"
    "  msfs usage [--by day|dir] stored files and thumbnails under msfs's BaseDir: count,\n"
    "                           bytes, oldest and newest, per day (UTC) or per directory\n"
    "The configuration file gives teamtalk_master_host/_port/_dbname/_username/_password and\n"
    "PasswordKdfIterations (default ./dbproxyserver.conf); for msfs it is msfs.conf (BaseDir,\n"
    "RetentionDays; default ./msfs.conf).\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ttadm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int usage(void)
{
    fputs(usage_text, stderr);
    return 1;
}

/* ---- options after the command: --key value or --key=value ---- */

typedef struct opt_s {
    const char *name;  /* without the dashes */
    int flag;          /* takes no value */
    const char *value; /* what was given ("1" for a flag), NULL if absent */
} opt_t;

/* Parses argv[from..] into the positional slots and opts. 0 ok, -1 (message printed). */
static int parse(int argc, char **argv, int from, const char **pos, int npos, opt_t *opts)
{
    int got = 0;
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (got == npos)
                return (fail("unexpected argument '%s'", a), -1);
            pos[got++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        opt_t *o = NULL;
        for (opt_t *k = opts; k && k->name; k++)
            if (strlen(k->name) == nlen && strncmp(k->name, name, nlen) == 0)
                o = k;
        if (!o)
            return (fail("unknown option '%s'", a), -1);
        if (o->flag) {
            if (eq)
                return (fail("option --%s takes no value", o->name), -1);
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            return (fail("option --%s needs a value", o->name), -1);
        }
    }
    if (got < npos)
        return (fail("missing argument (see ttadm -h)"), -1);
    return 0;
}

static const char *opt(const opt_t *opts, const char *name)
{
    for (const opt_t *k = opts; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k->value;
    return NULL;
}

/* ---- checks ---- */

/* Characters in a UTF-8 string, or -1 when it is not valid UTF-8 or has control characters. */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                : (c & 0xf8) == 0xf0 ? 4
                                                     : 0;
        if (len == 0 || (len == 1 && (c < 0x20 || c == 0x7f)))
            return -1;
        unsigned v = len == 1 ? c : c & (0x7f >> len);
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return -1;
            v = (v << 6) | (p[k] & 0x3f);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return -1;
        p += len;
        n++;
    }
    return n;
}

static int check_text(const char *what, const char *s, long max, int may_be_empty)
{
    long n = utf8_chars(s);
    if (n < 0)
        return fail("%s must be UTF-8 text without control characters", what);
    if (n == 0 && !may_be_empty)
        return fail("%s must not be empty", what);
    if (n > max)
        return fail("%s is %ld characters long; at most %ld fit", what, n, max);
    return 0;
}

static int parse_u32(const char *what, const char *s, unsigned long max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > max || s[0] == '-')
        return fail("%s must be a number from 0 to %lu, not '%s'", what, max, s);
    *out = (uint32_t)v;
    return 0;
}

/* ---- passwords ---- */

static int read_line(FILE *f, char *buf, size_t len)
{
    if (!fgets(buf, (int)len, f))
        return -1;
    size_t n = strlen(buf);
    if (n == len - 1 && buf[n - 1] != '\n')
        return -2; /* too long */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

/* Prompts on the terminal without echo. */
static int prompt(const char *text, char *buf, size_t len)
{
    struct termios old, quiet;
    fputs(text, stderr);
    fflush(stderr);
    int tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int rc = read_line(stdin, buf, len);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

/* The plain password from --password, --password-stdin or (if required) a prompt / stdin.
 * 1 got one, 0 none given (and not required), -1 error. */
static int get_password(const opt_t *opts, int required, char *plain, size_t len)
{
    const char *given = opt(opts, "password");
    int from_stdin = opt(opts, "password-stdin") != NULL;
    if (given && from_stdin)
        return (fail("give either --password or --password-stdin"), -1);
    if (given) {
        if (strlen(given) >= len)
            return (fail("the password is too long"), -1);
        snprintf(plain, len, "%s", given);
    } else if (from_stdin || (required && !isatty(STDIN_FILENO))) {
        int rc = read_line(stdin, plain, len);
        if (rc < 0)
            return (fail(rc == -2 ? "the password is too long" : "no password on stdin"), -1);
    } else if (required) {
        char again[PLAIN_MAX + 2];
        if (prompt("New password: ", plain, len) < 0 || prompt("Again: ", again, sizeof(again)) < 0)
            return (fail("no password entered"), -1);
        if (strcmp(plain, again) != 0)
            return (fail("the passwords differ"), -1);
    } else {
        return 0;
    }
    if (!plain[0])
        return (fail("the password must not be empty"), -1);
    return 1;
}

/* What db_proxy_server will compare: PBKDF2 over md5hex(plain), as clients send it. */
static int hash_password(const char *plain, uint32_t iterations, char *stored, size_t len)
{
    char client[33];
    if (td_pw_md5hex(plain, strlen(plain), client) < 0 ||
        td_pw_hash(client, 32, iterations, stored, len) < 0)
        return fail("cannot hash the password (OpenSSL failed)");
    return 0;
}

/* ---- the database ---- */

typedef struct adm_s {
    int lib;              /* td_mysql_init done */
    td_db_t *db;          /* one connection to teamtalk_master */
    td_conn_t *c;         /* checked out */
    uint32_t iterations;  /* PasswordKdfIterations */
} adm_t;

static int db_error(adm_t *a, const char *what)
{
    const char *hint = "";
    if (td_conn_errno(a->c) == ER_DATA_TOO_LONG_NUM && strstr(td_conn_error(a->c), "password"))
        hint = " (apply sql/migrations/002_password_kdf.sql: the password column is too narrow)";
    return fail("%s failed: %s%s", what, td_conn_error(a->c), hint);
}

static int open_db(adm_t *a, const char *conf)
{
    char err[512];
    tt_cfg_t *cfg = tt_cfg_load(conf, err, sizeof(err));
    if (!cfg)
        return fail("%s", err);
    const char *host, *dbname, *user;
    uint16_t port;
    long long iter, timeout;
    if (tt_cfg_need_str(cfg, "teamtalk_master_host", &host, err, sizeof(err)) < 0 ||
        tt_cfg_port(cfg, "teamtalk_master_port", 3306, &port, err, sizeof(err)) < 0 ||
        tt_cfg_need_str(cfg, "teamtalk_master_dbname", &dbname, err, sizeof(err)) < 0 ||
        tt_cfg_need_str(cfg, "teamtalk_master_username", &user, err, sizeof(err)) < 0 ||
        tt_cfg_int(cfg, "PasswordKdfIterations", TD_PW_DEFAULT_ITER, TD_PW_MIN_ITER,
                   TD_PW_MAX_ITER, &iter, err, sizeof(err)) < 0 ||
        tt_cfg_int(cfg, "DBTimeoutMs", 5000, 100, 600000, &timeout, err, sizeof(err)) < 0) {
        tt_cfg_free(cfg);
        return fail("%s", err);
    }
    a->iterations = (uint32_t)iter;
    td_db_opts_t o = {
        .name = "teamtalk_master",
        .host = host,
        .port = port,
        .dbname = dbname,
        .user = user,
        .password = tt_cfg_str(cfg, "teamtalk_master_password", ""),
        .max_conns = 1,
        .timeout_ms = (uint32_t)timeout,
    };
    if (td_mysql_init() < 0) {
        tt_cfg_free(cfg);
        return fail("cannot initialise the MariaDB client library");
    }
    a->lib = 1;
    a->db = td_db_new(&o); /* copies the strings */
    tt_cfg_free(cfg);
    if (!a->db)
        return fail("out of memory");
    a->c = td_db_get(a->db, err, sizeof(err));
    if (!a->c)
        return fail("%s", err);
    return 0;
}

static void close_db(adm_t *a)
{
    if (a->db) {
        td_db_put(a->db, a->c);
        td_db_free(a->db);
    }
    if (a->lib)
        td_mysql_end();
}

static const char *status_name(uint32_t s)
{
    static const char *const names[] = {"active", "probation", "regular", "left", "intern"};
    return s < 5 ? names[s] : "?";
}

/* ---- user commands ---- */

static int user_add(adm_t *a, const char *name, const opt_t *opts)
{
    const char *nick = opt(opts, "nick"), *email = opt(opts, "email"),
               *phone = opt(opts, "phone"), *dept_s = opt(opts, "dept"),
               *sex_s = opt(opts, "sex");
    td_user_t u;
    memset(&u, 0, sizeof(u));
    if (check_text("the user name", name, 32, 0) || (nick && check_text("--nick", nick, 32, 1)) ||
        (email && check_text("--email", email, 64, 1)) ||
        (phone && check_text("--phone", phone, 11, 1)) ||
        (sex_s && parse_u32("--sex", sex_s, 2, &u.sex)) ||
        (dept_s && parse_u32("--dept", dept_s, UINT32_MAX, &u.depart_id)))
        return 1;
    char plain[PLAIN_MAX + 2], stored[TD_PW_STORED_MAX] = "";
    int have = get_password(opts, 0, plain, sizeof(plain));
    if (have < 0)
        return 1;
    if (have && hash_password(plain, a->iterations, stored, sizeof(stored)))
        return 1;
    uint32_t count;
    if (td_user_count_by_name(a->c, name, &count) < 0)
        return db_error(a, "looking the name up");
    if (count)
        return fail("a user named '%s' exists already", name);
    if (dept_s) {
        int rc = td_dept_exists(a->c, u.depart_id, 1);
        if (rc < 0)
            return db_error(a, "looking the department up");
        if (!rc)
            return fail("no active department with id %u (see ttadm dept list)",
                        (unsigned)u.depart_id);
    } else {
        int rc = td_dept_first(a->c, &u.depart_id);
        if (rc < 0)
            return db_error(a, "looking for a department");
        if (!rc)
            return fail("there is no department yet: add one with ttadm dept add NAME");
    }
    char domain[129];
    snprintf(domain, sizeof(domain), "%s", name);
    for (char *p = domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    u.name = (char *)name;
    u.domain = domain;
    u.nick = (char *)(nick ? nick : name);
    u.password = stored;
    u.phone = (char *)(phone ? phone : "");
    u.email = (char *)(email ? email : "");
    u.avatar = "";
    u.sign_info = "";
    u.status = 0;
    uint32_t id;
    if (td_user_add(a->c, &u, &id) < 0)
        return db_error(a, "adding the user");
    printf("user %s added (id %u, department %u)%s\n", name, (unsigned)id,
           (unsigned)u.depart_id, have ? "" : "; no password yet: set one with ttadm user passwd");
    return 0;
}

static int user_status(adm_t *a, const char *name, uint32_t status)
{
    uint64_t matched = 0;
    if (td_user_set_status(a->c, name, status, &matched) < 0)
        return db_error(a, "changing the status");
    if (!matched)
        return fail("no user named '%s'", name);
    if (status == TD_USER_STATUS_LEFT)
        printf("user %s disabled: hidden from clients, cannot log in\n", name);
    else
        printf("user %s enabled\n", name);
    return 0;
}

static int user_passwd(adm_t *a, const char *name, const opt_t *opts)
{
    uint32_t count;
    if (td_user_count_by_name(a->c, name, &count) < 0)
        return db_error(a, "looking the name up");
    if (!count)
        return fail("no user named '%s'", name);
    char plain[PLAIN_MAX + 2], stored[TD_PW_STORED_MAX];
    if (get_password(opts, 1, plain, sizeof(plain)) < 0 ||
        hash_password(plain, a->iterations, stored, sizeof(stored)))
        return 1;
    uint64_t matched = 0;
    if (td_user_set_password(a->c, name, stored, &matched) < 0)
        return db_error(a, "storing the password");
    if (!matched)
        return fail("no user named '%s'", name);
    printf("password of %s changed\n", name);
    return 0;
}

static int user_list(adm_t *a)
{
    td_user_list_t l = {0};
    if (td_users_all(a->c, &l) < 0) {
        td_user_list_free(&l);
        return db_error(a, "listing the users");
    }
    printf("%-8s %-20s %-20s %-6s %-10s %s\n", "ID", "NAME", "NICK", "DEPT", "STATUS",
           "UPDATED");
    for (size_t i = 0; i < l.n; i++) {
        const td_user_t *u = l.v[i];
        printf("%-8u %-20s %-20s %-6u %-10s %u\n", (unsigned)u->id, u->name, u->nick,
               (unsigned)u->depart_id, status_name(u->status), (unsigned)u->updated);
    }
    td_user_list_free(&l);
    return 0;
}

/* ---- department commands ---- */

static int dept_add(adm_t *a, const char *name, const opt_t *opts)
{
    uint32_t parent = 0, priority = 0;
    const char *parent_s = opt(opts, "parent"), *prio_s = opt(opts, "priority");
    if (check_text("the department name", name, 64, 0) ||
        (parent_s && parse_u32("--parent", parent_s, UINT32_MAX, &parent)) ||
        (prio_s && parse_u32("--priority", prio_s, UINT32_MAX, &priority)))
        return 1;
    if (parent) {
        int rc = td_dept_exists(a->c, parent, 0);
        if (rc < 0)
            return db_error(a, "looking the parent up");
        if (!rc)
            return fail("no department with id %u", (unsigned)parent);
    }
    uint32_t id;
    if (td_dept_add(a->c, name, parent, priority, &id) < 0)
        return db_error(a, "adding the department");
    printf("department %s added (id %u)\n", name, (unsigned)id);
    return 0;
}

static int dept_rename(adm_t *a, const char *id_s, const char *name)
{
    uint32_t id;
    if (parse_u32("the department id", id_s, UINT32_MAX, &id) ||
        check_text("the department name", name, 64, 0))
        return 1;
    uint64_t matched = 0;
    if (td_dept_rename(a->c, id, name, &matched) < 0)
        return db_error(a, "renaming the department");
    if (!matched)
        return fail("no department with id %u", (unsigned)id);
    printf("department %u renamed to %s\n", (unsigned)id, name);
    return 0;
}

static int dept_list(adm_t *a)
{
    td_dept_list_t l = {0};
    if (td_depts_all(a->c, &l) < 0) {
        td_dept_list_free(&l);
        return db_error(a, "listing the departments");
    }
    printf("%-8s %-8s %-8s %-8s %s\n", "ID", "PARENT", "PRIORITY", "STATUS", "NAME");
    for (size_t i = 0; i < l.n; i++) {
        const td_dept_t *d = l.v[i];
        printf("%-8u %-8u %-8u %-8s %s\n", (unsigned)d->id, (unsigned)d->parent_id,
               (unsigned)d->priority, d->status == 0 ? "normal" : "deleted", d->name);
    }
    td_dept_list_free(&l);
    return 0;
}

/* ---- group commands ---- */

/* A user given by name, else (all digits) by id: 0 ok, 1 (message printed). */
static int user_id_of(adm_t *a, const char *s, uint32_t *id)
{
    td_user_t *u = NULL;
    int rc = td_user_by_name(a->c, s, strlen(s), &u);
    if (rc < 0)
        return db_error(a, "looking the user up");
    if (rc) {
        *id = u->id;
        free(u);
        return 0;
    }
    uint32_t n;
    if (s[0] >= '0' && s[0] <= '9' && parse_u32("a user id", s, UINT32_MAX, &n) == 0 && n) {
        td_user_list_t l = {0};
        if (td_users_by_ids(a->c, &n, 1, &l) < 0) {
            td_user_list_free(&l);
            return db_error(a, "looking the user up");
        }
        size_t found = l.n;
        td_user_list_free(&l);
        if (found) {
            *id = n;
            return 0;
        }
    }
    return fail("no user '%s'", s);
}

/* "U1,U2,..." to ids (each once). 0 ok, 1 (message printed); *ids to free(). */
static int user_ids(adm_t *a, const char *list, uint32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    if (cap > TD_GROUP_MEMBERS_MAX)
        return fail("at most %d users at once", TD_GROUP_MEMBERS_MAX);
    uint32_t *v = calloc(cap, sizeof(*v));
    char *copy = strdup(list);
    if (!v || !copy) {
        free(v);
        free(copy);
        return fail("out of memory");
    }
    int rc = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint32_t id;
        if ((rc = user_id_of(a, t, &id)) != 0)
            break;
        int dup = 0;
        for (size_t k = 0; k < *n; k++)
            dup |= v[k] == id;
        if (!dup)
            v[(*n)++] = id;
    }
    free(copy);
    if (rc == 0 && *n == 0)
        rc = fail("no users given");
    if (rc) {
        free(v);
        *n = 0;
        return rc;
    }
    *ids = v;
    return 0;
}

static void print_ids(const td_ids_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        printf("%s%u", i ? "," : "", (unsigned)l->v[i]);
}

static int group_add(adm_t *a, const char *name, const opt_t *opts)
{
    const char *members = opt(opts, "members"), *creator_s = opt(opts, "creator"),
               *avatar = opt(opts, "avatar");
    if (check_text("the group name", name, TD_GROUP_NAME_MAX, 0) ||
        (avatar && check_text("--avatar", avatar, TD_GROUP_NAME_MAX, 1)))
        return 1;
    if (!members)
        return fail("give the members: --members U1,U2,...");
    uint32_t creator = 0, *ids;
    size_t n;
    if ((creator_s && user_id_of(a, creator_s, &creator)) || user_ids(a, members, &ids, &n))
        return 1;
    uint32_t gid;
    int rc = td_group_create(a->c, name, avatar ? avatar : "", creator, TD_GROUP_NORMAL, ids, n,
                             &gid);
    free(ids);
    if (rc < 0)
        return db_error(a, "adding the group");
    printf("group %s added (id %u, %zu members)\n", name, (unsigned)gid, n);
    return 0;
}

static int group_change(adm_t *a, uint32_t gid, int op, const char *list)
{
    uint32_t *ids;
    size_t n;
    if (user_ids(a, list, &ids, &n))
        return 1;
    td_group_change_t r;
    int rc = td_group_change(a->c, gid, 0, op, ids, n, &r);
    free(ids);
    if (rc < 0)
        return db_error(a, "changing the members");
    if (r.result == TD_GC_NO_GROUP)
        return (td_group_change_free(&r), fail("no group with id %u", (unsigned)gid));
    printf("group %u: %zu %s, version %u, members ", (unsigned)gid, r.changed.n,
           op == TD_GROUP_ADD ? "added" : "removed", (unsigned)r.version);
    print_ids(&r.current);
    putchar('\n');
    td_group_change_free(&r);
    return 0;
}

static int group_members(adm_t *a, const char *gid_s, const opt_t *opts)
{
    uint32_t gid;
    const char *add = opt(opts, "add"), *del = opt(opts, "remove");
    if (parse_u32("the group id", gid_s, UINT32_MAX, &gid))
        return 1;
    td_group_t *g = malloc(sizeof(*g));
    if (!g)
        return fail("out of memory");
    int rc = td_group_get(a->c, gid, g);
    free(g);
    if (rc < 0)
        return db_error(a, "looking the group up");
    if (!rc)
        return fail("no group with id %u", (unsigned)gid);
    if (add && group_change(a, gid, TD_GROUP_ADD, add))
        return 1;
    if (del && group_change(a, gid, TD_GROUP_DEL, del))
        return 1;
    if (!add && !del) {
        td_ids_t l = {0};
        if (td_group_members(a->c, gid, &l) < 0)
            return (td_ids_free(&l), db_error(a, "listing the members"));
        printf("group %u members ", (unsigned)gid);
        print_ids(&l);
        putchar('\n');
        td_ids_free(&l);
    }
    return 0;
}

static int on_listed_group(void *arg, const td_group_t *g)
{
    adm_t *a = arg;
    td_ids_t l = {0};
    if (td_group_members(a->c, g->id, &l) < 0)
        return (td_ids_free(&l), -1);
    printf("%-8u %-8u %-8u %-8zu %-20s ", (unsigned)g->id, (unsigned)g->version,
           (unsigned)g->creator, l.n, g->name);
    print_ids(&l);
    putchar('\n');
    td_ids_free(&l);
    return 0;
}

static int group_list(adm_t *a)
{
    printf("%-8s %-8s %-8s %-8s %-20s %s\n", "ID", "VERSION", "CREATOR", "MEMBERS", "NAME",
           "MEMBER IDS");
    if (td_groups_all(a->c, TD_GROUP_NORMAL, on_listed_group, a) < 0)
        return db_error(a, "listing the groups");
    return 0;
}

/* ---- msfs usage: a walk over BaseDir (no database) ---- */

typedef struct usage_row_s {
    char key[32];     /* "YYYY-MM-DD" or "D1/D2" */
    uint64_t files, bytes;
} usage_row_t;

typedef struct usage_s {
    int by_dir;                    /* rows per directory, else per day */
    uint64_t files, bytes;         /* stored files */
    uint64_t thumbs, thumb_bytes;  /* cached thumbnails */
    time_t oldest, newest;         /* of the stored files */
    char oldest_name[300], newest_name[300];
    usage_row_t *rows;
    size_t nrows, cap;
} usage_t;

static void day_of(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

static void time_of(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int usage_add(void *arg, int dirfd, const msfs_entry_t *e)
{
    (void)dirfd;
    usage_t *u = arg;
    if (e->is_thumb) {
        u->thumbs++;
        u->thumb_bytes += e->size;
        return 0;
    }
    if (u->files == 0 || e->mtime < u->oldest) {
        u->oldest = e->mtime;
        snprintf(u->oldest_name, sizeof(u->oldest_name), "%s/%s", e->dir_rel, e->name);
    }
    if (u->files == 0 || e->mtime > u->newest) {
        u->newest = e->mtime;
        snprintf(u->newest_name, sizeof(u->newest_name), "%s/%s", e->dir_rel, e->name);
    }
    u->files++;
    u->bytes += e->size;
    char key[32];
    if (u->by_dir)
        snprintf(key, sizeof(key), "%s", e->dir_rel);
    else
        day_of(e->mtime, key, sizeof(key));
    for (size_t i = u->nrows; i > 0; i--) { /* the same key as a recent row, usually */
        if (strcmp(u->rows[i - 1].key, key) == 0) {
            u->rows[i - 1].files++;
            u->rows[i - 1].bytes += e->size;
            return 0;
        }
    }
    if (u->nrows == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        usage_row_t *r = realloc(u->rows, cap * sizeof(*r));
        if (!r)
            return -1;
        u->rows = r;
        u->cap = cap;
    }
    usage_row_t *r = &u->rows[u->nrows++];
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->files = 1;
    r->bytes = e->size;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const usage_row_t *)a)->key, ((const usage_row_t *)b)->key);
}

static int msfs_usage(const char *conf, const opt_t *opts)
{
    const char *by = opt(opts, "by");
    if (by && strcmp(by, "day") != 0 && strcmp(by, "dir") != 0)
        return fail("--by takes day or dir, not '%s'", by);
    char err[512];
    tt_cfg_t *cfg = tt_cfg_load(conf, err, sizeof(err));
    if (!cfg)
        return fail("%s", err);
    const char *base = tt_cfg_str(cfg, "BaseDir", NULL);
    long long days = 0;
    if (!base || !*base) {
        tt_cfg_free(cfg);
        return fail("%s: no BaseDir", conf);
    }
    if (tt_cfg_int(cfg, "RetentionDays", 0, 0, 100000, &days, err, sizeof(err)) < 0) {
        tt_cfg_free(cfg);
        return fail("%s", err);
    }
    usage_t u;
    memset(&u, 0, sizeof(u));
    u.by_dir = by && strcmp(by, "dir") == 0;
    int rc = msfs_walk(base, usage_add, &u, err, sizeof(err));
    if (rc < 0) {
        free(u.rows);
        fail("%s", rc == -1 && err[0] ? err : "out of memory");
        tt_cfg_free(cfg);
        return 1;
    }
    printf("msfs storage %s\n", base);
    printf("stored files: %llu, %llu bytes\n", (unsigned long long)u.files,
           (unsigned long long)u.bytes);
    printf("thumbnails: %llu, %llu bytes\n", (unsigned long long)u.thumbs,
           (unsigned long long)u.thumb_bytes);
    char t1[64], t2[64];
    if (u.files) {
        time_of(u.oldest, t1, sizeof(t1));
        time_of(u.newest, t2, sizeof(t2));
        printf("oldest: %s g0/%s\nnewest: %s g0/%s\n", t1, u.oldest_name, t2, u.newest_name);
    }
    if (days > 0) {
        day_of(time(NULL) - (time_t)days * 86400, t1, sizeof(t1));
        printf("retention: %lld days (files last changed before %s are deleted)\n", days, t1);
    } else {
        printf("retention: none (RetentionDays=0, files are kept)\n");
    }
    qsort(u.rows, u.nrows, sizeof(u.rows[0]), row_cmp);
    printf("%-12s %10s %14s\n", u.by_dir ? "directory" : "day (UTC)", "files", "bytes");
    for (size_t i = 0; i < u.nrows; i++)
        printf("%-12s %10llu %14llu\n", u.rows[i].key, (unsigned long long)u.rows[i].files,
               (unsigned long long)u.rows[i].bytes);
    free(u.rows);
    tt_cfg_free(cfg);
    return 0;
}

/* ---- main ---- */

static int run(adm_t *a, int argc, char **argv, int i)
{
    const char *group = argv[i], *cmd = i + 1 < argc ? argv[i + 1] : "";
    int from = i + 2;
    const char *pos[2] = {NULL, NULL};
    opt_t user_opts[] = {{"nick", 0, NULL},           {"dept", 0, NULL},  {"password", 0, NULL},
                         {"password-stdin", 1, NULL}, {"sex", 0, NULL},   {"email", 0, NULL},
                         {"phone", 0, NULL},          {NULL, 0, NULL}};
    opt_t pw_opts[] = {{"password", 0, NULL}, {"password-stdin", 1, NULL}, {NULL, 0, NULL}};
    opt_t dept_opts[] = {{"parent", 0, NULL}, {"priority", 0, NULL}, {NULL, 0, NULL}};
    opt_t none[] = {{NULL, 0, NULL}};
    opt_t group_opts[] = {{"members", 0, NULL}, {"creator", 0, NULL}, {"avatar", 0, NULL},
                          {NULL, 0, NULL}};
    opt_t member_opts[] = {{"add", 0, NULL}, {"remove", 0, NULL}, {NULL, 0, NULL}};
    if (strcmp(group, "user") == 0) {
        if (strcmp(cmd, "add") == 0)
            return parse(argc, argv, from, pos, 1, user_opts) ? 1 : user_add(a, pos[0], user_opts);
        if (strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0)
            return parse(argc, argv, from, pos, 1, none)
                       ? 1
                       : user_status(a, pos[0], cmd[0] == 'd' ? TD_USER_STATUS_LEFT : 0);
        if (strcmp(cmd, "passwd") == 0)
            return parse(argc, argv, from, pos, 1, pw_opts) ? 1 : user_passwd(a, pos[0], pw_opts);
        if (strcmp(cmd, "list") == 0)
            return parse(argc, argv, from, pos, 0, none) ? 1 : user_list(a);
    } else if (strcmp(group, "dept") == 0) {
        if (strcmp(cmd, "add") == 0)
            return parse(argc, argv, from, pos, 1, dept_opts) ? 1 : dept_add(a, pos[0], dept_opts);
        if (strcmp(cmd, "rename") == 0)
            return parse(argc, argv, from, pos, 2, none) ? 1 : dept_rename(a, pos[0], pos[1]);
        if (strcmp(cmd, "list") == 0)
            return parse(argc, argv, from, pos, 0, none) ? 1 : dept_list(a);
    } else if (strcmp(group, "group") == 0) {
        if (strcmp(cmd, "add") == 0)
            return parse(argc, argv, from, pos, 1, group_opts) ? 1
                                                                : group_add(a, pos[0], group_opts);
        if (strcmp(cmd, "members") == 0)
            return parse(argc, argv, from, pos, 1, member_opts)
                       ? 1
                       : group_members(a, pos[0], member_opts);
        if (strcmp(cmd, "list") == 0)
            return parse(argc, argv, from, pos, 0, none) ? 1 : group_list(a);
    }
    fail("unknown command '%s%s%s'", group, cmd[0] ? " " : "", cmd);
    return usage();
}

/* Commands are checked before connecting, so a typo does not wait for the database. */
static int known(int argc, char **argv, int i)
{
    static const char *const cmds[] = {"user add",  "user disable", "user enable", "user passwd",
                                       "user list", "dept add",     "dept rename", "dept list",
                                       "group add", "group members", "group list"};
    if (i + 1 >= argc)
        return 0;
    char both[64];
    snprintf(both, sizeof(both), "%s %s", argv[i], argv[i + 1]);
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (strcmp(both, cmds[k]) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fail("unknown option '%s'", argv[i]);
            return usage();
        }
    }
    if (i + 1 < argc && strcmp(argv[i], "msfs") == 0 && strcmp(argv[i + 1], "usage") == 0) {
        const char *pos[1] = {NULL};
        opt_t usage_opts[] = {{"by", 0, NULL}, {NULL, 0, NULL}};
        if (parse(argc, argv, i + 2, pos, 0, usage_opts))
            return 1;
        return msfs_usage(conf ? conf : "msfs.conf", usage_opts);
    }
    if (!conf)
        conf = "dbproxyserver.conf";
    if (!known(argc, argv, i)) {
        if (i < argc)
            fail("unknown command '%s%s%s'", argv[i], i + 1 < argc ? " " : "",
                 i + 1 < argc ? argv[i + 1] : "");
        return usage();
    }
    adm_t a;
    memset(&a, 0, sizeof(a));
    int rc = open_db(&a, conf);
    if (rc == 0)
        rc = run(&a, argc, argv, i);
    close_db(&a);
    return rc ? 1 : 0;
}
