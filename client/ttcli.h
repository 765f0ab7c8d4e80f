/* ttcli internals: what ttcli.c (options, session, the directory and presence commands, main)
 * and ttcli_chat.c (messages, history, unread counts, sessions, groups) share. */
#ifndef TTCLI_H
#define TTCLI_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "tt_client.h"

#define HEARTBEAT_MS 30000  /* watch, chat: heartbeat period */
#define WATCH_SLICE_MS 500  /* watch, chat: how often the stop flag is looked at */

/* Command line and session. */
typedef struct cli_s {
    const char *url;         /* login_server discovery URL (-s) */
    const char *direct;      /* HOST:PORT of a msg_server (-m), or NULL */
    const char *user;        /* login name (-u) */
    char password[256];      /* plain password (-p, TT_PASSWORD or prompt) */
    uint32_t client_type;    /* -t */
    const char *type_name;   /* -t as given ("pc", ...) */
    int timeout_ms;          /* per request (-w) */
    char host[256];          /* msg_server used */
    uint16_t port;           /* its port */
    ttc_t *c;                /* the connection */
    IM__Login__IMLoginRes *login; /* the login answer */
} cli_t;

/* Set by SIGINT / SIGTERM in watch and chat. */
extern volatile sig_atomic_t cli_stop;

/* Prints "ttcli: ..." on stderr (after flushing stdout); returns 1, the exit status. */
int cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints s with tabs, newlines and other control characters turned into spaces. */
void cli_put_clean(const char *s);
/* "online", "offline", "leave" or "unknown". */
const char *cli_presence_name(int status);
/* t as local "YYYY-MM-DD HH:MM:SS". */
void cli_format_time(time_t t, char *out, size_t len);
/* The user with id in all (NULL: not there, or all NULL). */
const IM__BaseDefine__UserInfo *cli_find_user(const IM__Buddy__IMAllUserRsp *all, uint32_t id);

/* ---- ttcli_chat.c ---- */

/* Sets up the message cipher (0 ok, -1 error); cli_chat_end frees it and the user list. */
int cli_chat_start(void);
void cli_chat_end(void);
/* Prints message content: text decrypted, voice as its size. */
void cli_put_content(uint32_t msg_type, const uint8_t *data, size_t len);
/* The commands; args are the words after the command, NULL-terminated, checked by main. */
int cli_cmd_send(cli_t *cli, char **args);
int cli_cmd_chat(cli_t *cli, char **args);
int cli_cmd_history(cli_t *cli, char **args);
int cli_cmd_unread(cli_t *cli, char **args);
int cli_cmd_sessions(cli_t *cli, char **args);
int cli_cmd_groups(cli_t *cli, char **args);
int cli_cmd_group(cli_t *cli, char **args);
/* A user by login name or id (0 ok, else the exit status, the reason printed). */
int cli_resolve_user(cli_t *cli, const char *s, uint32_t *id);
/* The login name of user id, or its number when unknown (the user list loaded once). */
const char *cli_user_name(cli_t *cli, uint32_t id, char *buf, size_t len);

/* ---- ttcli_file.c ---- */

int cli_cmd_send_file(cli_t *cli, char **args);
int cli_cmd_files(cli_t *cli, char **args);
int cli_cmd_get_file(cli_t *cli, char **args);

#endif
