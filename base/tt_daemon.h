/* tt_daemon: the life of a daemon process. Command line (-c FILE, -t, -l LOG4CRC, -p PIDFILE,
 * -h), configuration and log loading, the pid file, and signals handled on the loop through a
 * signalfd: TERM/INT start a graceful stop, HUP reopens the logs, PIPE is ignored. */
#ifndef TT_DAEMON_H
#define TT_DAEMON_H

#include <stdint.h>

#include "tt_auth.h"
#include "tt_cfg.h"
#include "tt_http.h"
#include "tt_loop.h"
#include "tt_server.h"

#define TT_DAEMON_MAX_SERVERS 8

typedef struct tt_daemon_s {
    const char *name;             /* daemon name, also its log category */
    const char *conf_path;        /* -c FILE */
    char log_rc[4096];            /* -l FILE; default: log4crc beside the config file */
    const char *pid_path;         /* -p FILE; no pid file when absent */
    int check_only;               /* -t: check the configuration and exit */
    tt_cfg_t *cfg;                /* the loaded configuration */
    tt_loop_t *loop;              /* the reactor, created by tt_daemon_setup */
    int sigfd;                    /* signalfd for TERM, INT, HUP */
    int stopping;                 /* 1 once a stop signal arrived */
    uint32_t stop_timeout_ms;     /* a stop finishes within this long (default 5000) */
    tt_timer_t stop_timer;        /* enforces stop_timeout_ms */
    void (*on_stop)(void *udata); /* close listeners, flush; call tt_loop_stop when done */
    void (*on_hup)(void *udata);  /* after the logs were reopened (optional) */
    void *udata;                  /* passed to the callbacks */
    tt_server_t *servers[TT_DAEMON_MAX_SERVERS];     /* PDU listeners, drained on stop */
    int nservers;
    tt_http_server_t *https[TT_DAEMON_MAX_SERVERS];  /* HTTP listeners, drained on stop */
    int nhttps;
    tt_timer_t drain_timer;       /* polls for the end of the drain */
    size_t buffer_limit;          /* MaxConnBuffersMB in bytes */
    tt_conn_pool_t pool;          /* buffers of every accepted connection, capped in total */
    tt_auth_t auth;               /* DaemonSecret / DaemonSecretFile (len 0: none set) */
    char daemon_hosts[512];       /* loopback-only listen list used without a secret */
} tt_daemon_t;

typedef struct tt_daemon_ops_s {
    int (*configure)(tt_daemon_t *d, void *udata); /* read and check the config (also for -t) */
    int (*start)(tt_daemon_t *d, void *udata);     /* after setup: listen, connect */
    void (*finish)(tt_daemon_t *d, void *udata);   /* after the loop ended (optional) */
} tt_daemon_ops_t;

/* The whole life: init, configure, -t, setup, start, run, finish, fini. Returns the exit code. */
int tt_daemon_main(tt_daemon_t *d, const char *name, const char *default_conf, int argc,
                   char **argv, const tt_daemon_ops_t *ops, void *udata);

/* Parses argv and loads the configuration and the log configuration. Returns 0 to go on,
 * 1 when the process should exit 0 (help printed), -1 on error (message printed on stderr). */
int tt_daemon_init(tt_daemon_t *d, const char *name, const char *default_conf, int argc,
                   char **argv);
/* For -t: prints "<file>: configuration OK" and returns 0. */
int tt_daemon_check_ok(tt_daemon_t *d);
/* Creates the loop, blocks the signals into a signalfd, writes the pid file. -1 on error. */
int tt_daemon_setup(tt_daemon_t *d);
/* Runs the loop until the daemon stops; returns the process exit code. */
int tt_daemon_run(tt_daemon_t *d);
void tt_daemon_fini(tt_daemon_t *d);

/* Opens a PDU listener on the addresses of ip_key (default 0.0.0.0, ';'-list) and the port of
 * port_key (required), with the frame cap of the MaxPduSize key, and registers it for the
 * graceful stop. Its connections count in d->pool (unless opts->lim.pool says otherwise):
 * the buffers of all connections a daemon accepted are capped by MaxConnBuffersMB. With
 * opts->daemon_only, peers must pass the tt_auth handshake under the daemon secret; when no
 * secret is set, the port listens on the loopback addresses of the list only (127.0.0.1 when
 * it has none), with a warning. Logs where it listens; -1 (logged) on error. */
int tt_daemon_listen(tt_daemon_t *d, const char *ip_key, const char *port_key,
                     const tt_server_opts_t *opts, const tt_server_handler_t *h, void *udata,
                     tt_server_t **out);
/* The same for an HTTP listener (one address). */
int tt_daemon_listen_http(tt_daemon_t *d, const char *ip_key, const char *port_key,
                          const tt_http_limits_t *lim, tt_http_handler_fn fn, void *udata,
                          tt_http_server_t **out);
/* The daemon secret for links and daemon-only ports; NULL when none is set. */
tt_auth_t *tt_daemon_auth(tt_daemon_t *d);
/* Configuration getters that report errors (stderr and the log) themselves; -1 on error.
 * A def outside [min, max] makes the key required. */
int tt_daemon_cfg_port(tt_daemon_t *d, const char *key, int def, uint16_t *out);
int tt_daemon_cfg_int(tt_daemon_t *d, const char *key, long long def, long long min,
                      long long max, long long *out);
int tt_daemon_cfg_str(tt_daemon_t *d, const char *key, const char **out);
/* Reports a configuration problem found by the daemon itself; always -1. */
int tt_daemon_cfg_error(tt_daemon_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the MaxPduSize key (bytes; default 4 MiB, 64 KiB..64 MiB). -1 (message printed). */
int tt_daemon_max_pdu(tt_daemon_t *d, uint32_t *out);
/* Reads the request deadlines and the per-address cap every HTTP listener has into lim:
 * HttpHeaderTimeout (s, default 10), HttpBodyTimeout (s of grace for the body, default 10),
 * HttpMinBodyRate (bytes/s the body must average after the grace, default 4096) and
 * HttpMaxConnsPerAddr (default 64). -1 (message printed). */
int tt_daemon_cfg_http(tt_daemon_t *d, tt_http_limits_t *lim);
/* Default stop: stop listening, close every registered connection after its output is
 * written, and stop the loop once none is left. Daemons with an on_stop of their own call it
 * at the end of theirs. */
void tt_daemon_drain(tt_daemon_t *d);

#endif
