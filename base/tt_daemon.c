#include "tt_daemon.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tt_log.h"

static void auth_report(void *arg, const char *peer, const char *why, uint64_t total,
                        uint64_t others);

static void usage(const char *name, const char *default_conf)
{
    printf("usage: %s [-c FILE] [-t] [-l LOG4CRC] [-p PIDFILE]\n"
           "  -c FILE     configuration file (default ./%s)\n"
           "  -t          check the configuration and exit (0 ok, 1 error)\n"
           "  -l LOG4CRC  log4c configuration (default: log4crc beside the configuration)\n"
           "  -p PIDFILE  write the process id to PIDFILE\n",
           name, default_conf);
}

int tt_daemon_init(tt_daemon_t *d, const char *name, const char *default_conf, int argc,
                   char **argv)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->conf_path = default_conf;
    d->sigfd = -1;
    d->stop_timeout_ms = 5000;
    const char *log_rc = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt(argc, argv, "c:tl:p:hv")) != -1) {
        switch (opt) {
        case 'c':
            d->conf_path = optarg;
            break;
        case 't':
            d->check_only = 1;
            break;
        case 'l':
            log_rc = optarg;
            break;
        case 'p':
            d->pid_path = optarg;
            break;
        case 'h':
            usage(name, default_conf);
            return 1;
        case 'v':
            printf("%s (teamtalk-c) 0.1\n", name);
            return 1;
        default:
            usage(name, default_conf);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
        return -1;
    }
    if (log_rc)
        snprintf(d->log_rc, sizeof(d->log_rc), "%s", log_rc);
    else {
        const char *slash = strrchr(d->conf_path, '/');
        if (slash)
            snprintf(d->log_rc, sizeof(d->log_rc), "%.*s/log4crc", (int)(slash - d->conf_path),
                     d->conf_path);
        else
            snprintf(d->log_rc, sizeof(d->log_rc), "log4crc");
    }
    char err[512];
    d->cfg = tt_cfg_load(d->conf_path, err, sizeof(err));
    if (!d->cfg) {
        fprintf(stderr, "%s: %s\n", name, err);
        return -1;
    }
    if (tt_log_init(name, d->log_rc, d->check_only, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", name, err);
        tt_cfg_free(d->cfg);
        d->cfg = NULL;
        return -1;
    }
    d->auth.report = auth_report;
    if (tt_auth_from_cfg(&d->auth, d->cfg, err, sizeof(err)) < 0) {
        if (!d->check_only)
            log_error("%s", err);
        fprintf(stderr, "%s: %s\n", name, err);
        return -1;
    }
    return 0;
}

int tt_daemon_check_ok(tt_daemon_t *d)
{
    printf("%s: %s: configuration OK\n", d->name, d->conf_path);
    return 0;
}

static void stop_timeout_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    tt_daemon_t *d = udata;
    log_warn("stop did not finish within %u ms, exiting anyway", (unsigned)d->stop_timeout_ms);
    tt_loop_stop(loop);
}

static int drained(const tt_daemon_t *d)
{
    for (int i = 0; i < d->nservers; i++)
        if (tt_server_conn_count(d->servers[i]) > 0)
            return 0;
    for (int i = 0; i < d->nhttps; i++)
        if (tt_http_server_conns(d->https[i]) > 0)
            return 0;
    return 1;
}

static void drain_check_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    tt_daemon_t *d = udata;
    if (drained(d)) {
        tt_timer_stop(loop, t);
        tt_loop_stop(loop);
    }
}

void tt_daemon_drain(tt_daemon_t *d)
{
    for (int i = 0; i < d->nservers; i++) {
        tt_server_stop_listening(d->servers[i]);
        tt_server_close_all(d->servers[i], "server stopping");
    }
    for (int i = 0; i < d->nhttps; i++)
        tt_http_server_stop_listening(d->https[i]);
    if (drained(d))
        tt_loop_stop(d->loop);
    else
        tt_timer_start(d->loop, &d->drain_timer, 10, 10);
}


static int config_error(tt_daemon_t *d, const char *err)
{
    if (!d->check_only)
        log_error("%s", err);
    fprintf(stderr, "%s: %s\n", d->name, err);
    return -1;
}

int tt_daemon_cfg_error(tt_daemon_t *d, const char *fmt, ...)
{
    char err[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, sizeof(err), fmt, ap);
    va_end(ap);
    return config_error(d, err);
}

int tt_daemon_cfg_port(tt_daemon_t *d, const char *key, int def, uint16_t *out)
{
    char err[512];
    if (tt_cfg_port(d->cfg, key, def, out, err, sizeof(err)) < 0)
        return config_error(d, err);
    return 0;
}

int tt_daemon_cfg_int(tt_daemon_t *d, const char *key, long long def, long long min,
                      long long max, long long *out)
{
    char err[512];
    if (tt_cfg_int(d->cfg, key, def, min, max, out, err, sizeof(err)) < 0)
        return config_error(d, err);
    return 0;
}

int tt_daemon_cfg_str(tt_daemon_t *d, const char *key, const char **out)
{
    char err[512];
    if (tt_cfg_need_str(d->cfg, key, out, err, sizeof(err)) < 0)
        return config_error(d, err);
    return 0;
}

static void auth_report(void *arg, const char *peer, const char *why, uint64_t total,
                        uint64_t others)
{
    (void)arg;
    if (peer)
        log_warn("daemon authentication failed for %s: %s (%llu failure(s) since start)", peer,
                 why, (unsigned long long)total);
    else
        log_warn("daemon authentication: %llu more failure(s) not logged (%llu since start)",
                 (unsigned long long)others, (unsigned long long)total);
}

tt_auth_t *tt_daemon_auth(tt_daemon_t *d) { return tt_auth_enabled(&d->auth) ? &d->auth : NULL; }

static int is_loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0;
}

/* Without a secret a daemon-only port keeps the loopback addresses of its list only. */
static const char *loopback_hosts(tt_daemon_t *d, const char *hosts, const char *port_key)
{
    char buf[512];
    const char *items[16];
    int n = tt_cfg_split(hosts, ';', buf, sizeof(buf), items, 16);
    size_t len = 0;
    d->daemon_hosts[0] = '\0';
    for (int i = 0; i < n; i++)
        if (is_loopback(items[i]) && len + strlen(items[i]) + 2 < sizeof(d->daemon_hosts))
            len += (size_t)snprintf(d->daemon_hosts + len, sizeof(d->daemon_hosts) - len, "%s%s",
                                    len ? ";" : "", items[i]);
    if (!len)
        snprintf(d->daemon_hosts, sizeof(d->daemon_hosts), "127.0.0.1");
    if (strcmp(d->daemon_hosts, hosts) != 0)
        log_warn("no DaemonSecret set: %s listens on %s only, not on %s (set DaemonSecret in "
                 "every daemon's configuration to let other hosts in)",
                 port_key, d->daemon_hosts, hosts);
    else
        log_warn("no DaemonSecret set: %s is open to any local process and links to other "
                 "daemons are not authenticated", port_key);
    return d->daemon_hosts;
}

int tt_daemon_listen(tt_daemon_t *d, const char *ip_key, const char *port_key,
                     const tt_server_opts_t *opts, const tt_server_handler_t *h, void *udata,
                     tt_server_t **out)
{
    char err[512];
    tt_server_opts_t o = *opts;
    if (!o.lim.pool)
        o.lim.pool = &d->pool;
    o.hosts = tt_cfg_str(d->cfg, ip_key, "0.0.0.0");
    if (o.daemon_only) {
        o.auth = tt_daemon_auth(d);
        if (!o.auth && !(o.hosts = loopback_hosts(d, o.hosts, port_key)))
            return -1;
    }
    if (tt_cfg_port(d->cfg, port_key, -1, &o.port, err, sizeof(err)) < 0)
        return config_error(d, err);
    if (!o.max_pdu && tt_daemon_max_pdu(d, &o.max_pdu) < 0)
        return -1;
    if (d->nservers >= TT_DAEMON_MAX_SERVERS)
        return config_error(d, "too many listeners");
    tt_server_t *s = tt_server_new(d->loop, &o, h, udata, err, sizeof(err));
    if (!s)
        return config_error(d, err);
    d->servers[d->nservers++] = s;
    log_notice("listening on %s port %u (%s%s)", o.hosts, (unsigned)tt_server_port(s), port_key,
               o.auth ? ", daemons with the secret only" : "");
    *out = s;
    return 0;
}

int tt_daemon_listen_http(tt_daemon_t *d, const char *ip_key, const char *port_key,
                          const tt_http_limits_t *lim, tt_http_handler_fn fn, void *udata,
                          tt_http_server_t **out)
{
    char err[512];
    uint16_t port;
    const char *host = tt_cfg_str(d->cfg, ip_key, "0.0.0.0");
    if (tt_cfg_port(d->cfg, port_key, -1, &port, err, sizeof(err)) < 0)
        return config_error(d, err);
    if (d->nhttps >= TT_DAEMON_MAX_SERVERS)
        return config_error(d, "too many listeners");
    tt_http_limits_t l = lim ? *lim : (tt_http_limits_t){0};
    if (!l.pool)
        l.pool = &d->pool;
    tt_http_server_t *s = tt_http_server_new(d->loop, host, port, &l, fn, udata, err,
                                             sizeof(err));
    if (!s)
        return config_error(d, err);
    d->https[d->nhttps++] = s;
    log_notice("HTTP listening on %s port %u (%s)", host, (unsigned)tt_http_server_port(s),
               port_key);
    *out = s;
    return 0;
}

int tt_daemon_max_pdu(tt_daemon_t *d, uint32_t *out)
{
    long long v;
    if (tt_daemon_cfg_int(d, "MaxPduSize", 4 << 20, 65536, 64 << 20, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int tt_daemon_cfg_http(tt_daemon_t *d, tt_http_limits_t *lim)
{
    long long header_s, body_s, rate, per_addr;
    if (tt_daemon_cfg_int(d, "HttpHeaderTimeout", 10, 1, 3600, &header_s) < 0 ||
        tt_daemon_cfg_int(d, "HttpBodyTimeout", 10, 1, 3600, &body_s) < 0 ||
        tt_daemon_cfg_int(d, "HttpMinBodyRate", 4096, 1, 1LL << 30, &rate) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxConnsPerAddr", 64, 1, 1000000, &per_addr) < 0)
        return -1;
    lim->header_ms = (uint32_t)header_s * 1000u;
    lim->body_ms = (uint32_t)body_s * 1000u;
    lim->min_rate = (uint32_t)rate;
    lim->max_per_addr = (uint32_t)per_addr;
    return 0;
}

static void signal_cb(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)events;
    tt_daemon_t *d = udata;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            tt_log_reopen();
            log_notice("SIGHUP: logs reopened");
            if (d->on_hup)
                d->on_hup(d->udata);
            continue;
        }
        if (d->stopping)
            continue;
        d->stopping = 1;
        log_notice("%s received, stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        tt_timer_start(loop, &d->stop_timer, d->stop_timeout_ms, 0);
        if (d->on_stop)
            d->on_stop(d->udata);
        else
            tt_daemon_drain(d);
    }
}

int tt_daemon_setup(tt_daemon_t *d)
{
    d->loop = tt_loop_new();
    if (!d->loop) {
        log_error("cannot create the event loop: %s", strerror(errno));
        return -1;
    }
    tt_timer_init(&d->stop_timer, stop_timeout_cb, d);
    tt_timer_init(&d->drain_timer, drain_check_cb, d);
    tt_conn_pool_init(&d->pool, d->loop, d->buffer_limit);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked here, before any thread starts, so every thread inherits the mask. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        tt_loop_watch(d->loop, d->sigfd, TT_READABLE, signal_cb, d) < 0) {
        log_error("cannot set up signal handling: %s", strerror(errno));
        return -1;
    }
    if (d->pid_path) {
        FILE *f = fopen(d->pid_path, "w");
        if (!f) {
            log_error("cannot write pid file %s: %s", d->pid_path, strerror(errno));
            return -1;
        }
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    return 0;
}

/* Reports what rate-limited log lines suppressed, when nothing else did (tt_log). */
static tt_timer_t g_log_flush;
static void log_flush_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    (void)udata;
    tt_log_limit_flush();
}

int tt_daemon_run(tt_daemon_t *d)
{
    log_notice("%s running (pid %ld, config %s)", d->name, (long)getpid(), d->conf_path);
    tt_timer_init(&g_log_flush, log_flush_cb, NULL);
    tt_timer_start(d->loop, &g_log_flush, 2000, 2000);
    int rc = tt_loop_run(d->loop);
    tt_timer_stop(d->loop, &g_log_flush);
    tt_log_limit_flush_at(tt_log_limit_now(), 1); /* whatever is still counted */
    tt_timer_stop(d->loop, &d->stop_timer);
    tt_timer_stop(d->loop, &d->drain_timer);
    if (rc < 0) {
        log_error("event loop failed: %s", strerror(errno));
        return 1;
    }
    log_notice("%s stopped", d->name);
    return 0;
}

void tt_daemon_fini(tt_daemon_t *d)
{
    for (int i = 0; i < d->nservers; i++)
        tt_server_free(d->servers[i]);
    for (int i = 0; i < d->nhttps; i++)
        tt_http_server_free(d->https[i]);
    if (d->loop) {
        tt_loop_run_once(d->loop, 0); /* let closed connections be freed */
        tt_conn_pool_fini(&d->pool);
    }
    if (d->pid_path && d->loop)
        unlink(d->pid_path);
    if (d->sigfd >= 0)
        close(d->sigfd);
    if (d->loop)
        tt_loop_free(d->loop);
    if (d->auth.failures)
        log_notice("daemon authentication: %llu failure(s) since start",
                   (unsigned long long)d->auth.failures);
    tt_cfg_free(d->cfg);
    tt_log_fini();
    memset(d, 0, sizeof(*d));
    d->sigfd = -1;
}

/* MaxConnBuffersMB: the total of the input and output buffers of all accepted connections
 * (like Redis's maxmemory-clients); over it the biggest non-reading ones are cut. */
static int read_buffer_limit(tt_daemon_t *d)
{
    long long mb;
    if (tt_daemon_cfg_int(d, "MaxConnBuffersMB", 1024, 1, 1 << 20, &mb) < 0)
        return -1;
    d->buffer_limit = (size_t)mb << 20;
    return 0;
}

int tt_daemon_main(tt_daemon_t *d, const char *name, const char *default_conf, int argc,
                   char **argv, const tt_daemon_ops_t *ops, void *udata)
{
    int rc = tt_daemon_init(d, name, default_conf, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    d->udata = udata;
    rc = 1;
    if (ops->configure(d, udata) < 0 || read_buffer_limit(d) < 0)
        goto out;
    if (d->check_only) {
        rc = tt_daemon_check_ok(d);
        goto out;
    }
    if (tt_daemon_setup(d) < 0 || ops->start(d, udata) < 0)
        goto out;
    rc = tt_daemon_run(d);
out:
    if (ops->finish)
        ops->finish(d, udata);
    tt_daemon_fini(d);
    return rc;
}
