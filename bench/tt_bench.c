/* tt-bench: command line, the coordinator (phases, progress, RSS sampling, signals) and the
 * exit status. See tt_bench.h for the design and docs/BENCHMARKS.md for how to use it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tb_group.h"
#include "tb_real.h"
#include "tt_bench.h"

#define COORD_TICK_MS 50

static void usage(FILE *f)
{
    fprintf(f,
"usage: tt-bench [send|group|idle|login] (--login-url URL | --msg-server HOST:PORT[,...])\n"
"                [options]\n"
"       tt-bench real [--conversations N] [--contact first|warm|both] [--sweep WHAT=LIST]\n"
"                [--p99-bound MS] [options]   (see tt-bench real --help)\n"
"       tt-bench --self-test\n"
"\n"
"Load generator speaking only the TeamTalk protocol. Accounts are PATTERN(first) ..\n"
"PATTERN(first+count-1); sender i (i < senders) sends to client (i + senders) mod count\n"
"(when every client sends: (i + count/2) mod count). Mode login: a login storm (every client\n"
"logs in at once, the logins/s and login latency are reported, then all disconnect).\n"
"Mode group: client i is member i %% M of group i / M; member 0 creates the group (temporary),\n"
"members 0 .. senders-1 send group texts; every other member connection must get each\n"
"message exactly once.\n"
"\n"
"Target:\n"
"  --login-url URL        ask login_server like a client (GET, JSON priorIP + port)\n"
"  --discover once|each   once at start (default) or by every client before it logs in\n"
"  --msg-server HOST:PORT skip discovery; a comma list spreads the clients (client i on\n"
"                         entry i mod n)\n"
"Accounts:\n"
"  --user-pattern PAT     printf pattern with one integer (default TT%%03d)\n"
"  --first N              first account number (default 1)\n"
"  --count N              clients (default 100)\n"
"  --password P           plain password, sent as md5 hex (default test123)\n"
"  --client-type T        android|ios|pc|windows|mac (default android; PC clients also get\n"
"                         a status notify for every login: N^2 frames for N PC clients)\n"
"Load (mode send, group):\n"
"  --senders M            clients that send (default count/2; group: per group, default 1)\n"
"  --groups G             mode group: groups (default 1)\n"
"  --members M            mode group: members per group, >= 2 (default 100); --count\n"
"                         defaults to G*M\n"
"  --rate R               messages/s per sender; 0 = as fast as the window allows (default 0)\n"
"  --window W             unacknowledged messages per sender (default 1, max %d)\n"
"  --max-conn-rate R      cap in messages/s per connection, 0 = none (the original\n"
"                         msg_server drops above 20/s: use 18 or less against it)\n"
"  --size BYTES           plaintext bytes per message, >= %d (default 100)\n"
"  --duration S           measured seconds (idle: seconds to stay logged in; default 10)\n"
"  --warmup S             seconds of sending before measuring (default 2)\n"
"  --grace S              wait for late acks/deliveries after sending (default 5)\n"
"  --ack-timeout S        an unacked message frees its window slot after this (default 10)\n"
"  --no-receipts          receivers do not answer deliveries with IMMsgDataAck (as Mac\n"
"                         clients; Windows ones do not for group messages)\n"
"  --pair-offset K        sender i sends to client ceil(count/2) + (i+K) mod floor(count/2)\n"
"                         (needs senders <= count/2); a new K gives pairs that never talked\n"
"  --msg-id local|zero    client msg_id: Android-style local ids from 90000000 (default), or\n"
"                         0 as every shipped client sends\n"
"Connections:\n"
"  --login-timeout S      per client: discovery + connect + login (default 30)\n"
"  --login-window N       logins in progress at once (default 256)\n"
"  --heartbeat S          heartbeat after S seconds without sending (default 30)\n"
"  --source-ips LIST      bind outgoing connections round-robin to these addresses\n"
"                         (a,b,c or a-b, e.g. 127.0.0.1-127.0.0.8)\n"
"  --threads T            worker threads, each with its own event loop (default 1)\n"
"  --max-pdu BYTES        largest frame accepted from the server (default 1048576)\n"
"Output:\n"
"  --watch-pid NAME=PID   report the RSS of PID, and its CPU over the measured phase\n"
"                         (repeatable; tt-bench's own CPU is always reported)\n"
"  --cpu-baseline S       first measure the watched processes' idle CPU for S seconds, and\n"
"                         report CPU per message net of it (default 0: not measured)\n"
"  --json                 one JSON object on stdout instead of the summary\n"
"  --label TEXT           a name for this run, printed in the summary and the JSON\n"
"  --quiet                no progress lines on stderr\n"
"  --self-test            check the cipher, md5, JSON and HTTP parsing, histogram; exit\n"
"\n"
"Exit status: 0 ok; 1 a login failed, or (send) nothing was acknowledged, or (group) a\n"
"group was not created; 2 bad usage;\n"
"130 interrupted (the summary so far is printed).\n",
            TB_MAX_WINDOW, TB_PAYLOAD_HEADER);
}

static int die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "tt-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    return 2;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || e == s || *e || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int parse_host_port(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    uint32_t p;
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen ||
        parse_u32(colon + 1, 1, 65535, &p) < 0)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static int add_src_ip(tb_config_t *cfg, struct in_addr a)
{
    if (cfg->n_src_ips >= TB_MAX_SRC_IPS)
        return -1;
    cfg->src_ips[cfg->n_src_ips++] = a;
    return 0;
}

static int parse_src_ips(tb_config_t *cfg, const char *list)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        struct in_addr a, b;
        if (dash) {
            *dash = '\0';
            if (inet_pton(AF_INET, tok, &a) != 1 || inet_pton(AF_INET, dash + 1, &b) != 1 ||
                ntohl(b.s_addr) < ntohl(a.s_addr) ||
                ntohl(b.s_addr) - ntohl(a.s_addr) >= TB_MAX_SRC_IPS)
                return -1;
            for (uint32_t v = ntohl(a.s_addr); v <= ntohl(b.s_addr); v++) {
                struct in_addr x = {htonl(v)};
                if (add_src_ip(cfg, x) < 0)
                    return -1;
            }
        } else if (inet_pton(AF_INET, tok, &a) != 1 || add_src_ip(cfg, a) < 0)
            return -1;
    }
    return cfg->n_src_ips ? 0 : -1;
}

/* HOST:PORT[,HOST:PORT...]: each entry is checked; the first one goes to msg_host/msg_port. */
static int parse_msg_list(tb_config_t *cfg, const char *list)
{
    char buf[4096], host[256];
    uint16_t port;
    int n = 0;
    if (strlen(list) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n >= TB_MAX_MSG_SERVERS || parse_host_port(tok, host, sizeof(host), &port) < 0)
            return -1;
        if (n++ == 0) {
            snprintf(cfg->msg_host, sizeof(cfg->msg_host), "%s", host);
            cfg->msg_port = port;
        }
    }
    cfg->msg_list = list;
    return n ? 0 : -1;
}

static int parse_watch(tb_config_t *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    uint32_t pid;
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(cfg->watch[0].name) ||
        parse_u32(eq + 1, 1, 0x7fffffff, &pid) < 0 || cfg->n_watch >= TB_MAX_WATCH)
        return -1;
    tb_watch_t *wt = &cfg->watch[cfg->n_watch++];
    memset(wt, 0, sizeof(*wt));
    memcpy(wt->name, arg, (size_t)(eq - arg));
    wt->pid = (pid_t)pid;
    return 0;
}

enum {
    OPT_LOGIN_URL = 256, OPT_DISCOVER, OPT_MSG_SERVER, OPT_PATTERN, OPT_FIRST, OPT_COUNT,
    OPT_PASSWORD, OPT_CLIENT_TYPE, OPT_SENDERS, OPT_RATE, OPT_WINDOW, OPT_MAX_CONN_RATE,
    OPT_SIZE, OPT_DURATION, OPT_WARMUP, OPT_GRACE, OPT_ACK_TIMEOUT, OPT_LOGIN_TIMEOUT,
    OPT_LOGIN_WINDOW, OPT_HEARTBEAT, OPT_SOURCE_IPS, OPT_THREADS, OPT_MAX_PDU, OPT_WATCH,
    OPT_JSON, OPT_QUIET, OPT_SELF_TEST, OPT_MODE, OPT_VERSION, OPT_PAIR_OFFSET, OPT_MSG_ID,
    OPT_LABEL, OPT_CPU_BASELINE, OPT_GROUPS, OPT_MEMBERS, OPT_NO_RECEIPTS
};

static const struct option long_opts[] = {
    {"login-url", required_argument, NULL, OPT_LOGIN_URL},
    {"discover", required_argument, NULL, OPT_DISCOVER},
    {"msg-server", required_argument, NULL, OPT_MSG_SERVER},
    {"user-pattern", required_argument, NULL, OPT_PATTERN},
    {"first", required_argument, NULL, OPT_FIRST},
    {"count", required_argument, NULL, OPT_COUNT},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"client-type", required_argument, NULL, OPT_CLIENT_TYPE},
    {"senders", required_argument, NULL, OPT_SENDERS},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"members", required_argument, NULL, OPT_MEMBERS},
    {"no-receipts", no_argument, NULL, OPT_NO_RECEIPTS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"max-conn-rate", required_argument, NULL, OPT_MAX_CONN_RATE},
    {"size", required_argument, NULL, OPT_SIZE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"ack-timeout", required_argument, NULL, OPT_ACK_TIMEOUT},
    {"login-timeout", required_argument, NULL, OPT_LOGIN_TIMEOUT},
    {"login-window", required_argument, NULL, OPT_LOGIN_WINDOW},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"source-ips", required_argument, NULL, OPT_SOURCE_IPS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-pdu", required_argument, NULL, OPT_MAX_PDU},
    {"watch-pid", required_argument, NULL, OPT_WATCH},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"self-test", no_argument, NULL, OPT_SELF_TEST},
    {"mode", required_argument, NULL, OPT_MODE},
    {"version", no_argument, NULL, OPT_VERSION},
    {"pair-offset", required_argument, NULL, OPT_PAIR_OFFSET},
    {"msg-id", required_argument, NULL, OPT_MSG_ID},
    {"label", required_argument, NULL, OPT_LABEL},
    {"cpu-baseline", required_argument, NULL, OPT_CPU_BASELINE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int login_storm; /* mode "login": idle, disconnecting right after the logins */

static int set_mode(tb_config_t *cfg, const char *m)
{
    login_storm = strcmp(m, "login") == 0;
    if (strcmp(m, "send") == 0)
        cfg->mode = TB_MODE_SEND;
    else if (strcmp(m, "group") == 0)
        cfg->mode = TB_MODE_GROUP;
    else if (strcmp(m, "idle") == 0 || login_storm)
        cfg->mode = TB_MODE_IDLE;
    else
        return -1;
    return 0;
}

/* 0 to run, 1 to exit 0 (help, self-test passed), 2 usage error, 3 self-test failed. */
static int parse_args(tb_config_t *cfg, int argc, char **argv)
{
    const char *password = "test123";
    int senders_given = 0, count_given = 0;
    double ack_timeout = 10, login_timeout = 30;
    memset(cfg, 0, sizeof(*cfg));
    cfg->mode = TB_MODE_SEND;
    cfg->user_pattern = "TT%03d";
    cfg->first = 1;
    cfg->count = 100;
    cfg->client_type = 18; /* android: see --client-type */
    cfg->window = 1;
    cfg->size = 100;
    cfg->duration = 10;
    cfg->warmup = 2;
    cfg->grace = 5;
    cfg->login_window = 256;
    cfg->heartbeat_s = 30;
    cfg->threads = 1;
    cfg->max_pdu = 1u << 20;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_LOGIN_URL:
            cfg->login_url = optarg;
            break;
        case OPT_DISCOVER:
            if (strcmp(optarg, "once") && strcmp(optarg, "each"))
                return die_usage("--discover takes once or each, not '%s'", optarg);
            cfg->discover_each = strcmp(optarg, "each") == 0;
            break;
        case OPT_MSG_SERVER:
            if (parse_msg_list(cfg, optarg) < 0)
                return die_usage("--msg-server wants HOST:PORT[,HOST:PORT...] (at most 16), "
                                 "not '%s'", optarg);
            break;
        case OPT_GROUPS:
            if (parse_u32(optarg, 1, 100000u, &cfg->groups) < 0)
                return die_usage("bad --groups '%s'", optarg);
            break;
        case OPT_MEMBERS:
            if (parse_u32(optarg, 2, 100000u, &cfg->members) < 0)
                return die_usage("bad --members '%s' (at least 2)", optarg);
            break;
        case OPT_PATTERN:
            if (tb_pattern_ok(optarg) < 0)
                return die_usage("--user-pattern needs exactly one %%d/%%u conversion: '%s'",
                                 optarg);
            cfg->user_pattern = optarg;
            break;
        case OPT_FIRST:
            if (parse_u32(optarg, 0, 2000000000u, &cfg->first) < 0)
                return die_usage("bad --first '%s'", optarg);
            break;
        case OPT_COUNT:
            if (parse_u32(optarg, 1, 10000000u, &cfg->count) < 0)
                return die_usage("bad --count '%s'", optarg);
            count_given = 1;
            break;
        case OPT_PASSWORD:
            password = optarg;
            break;
        case OPT_CLIENT_TYPE:
            if (!strcasecmp(optarg, "pc") || !strcasecmp(optarg, "windows"))
                cfg->client_type = 1;
            else if (!strcasecmp(optarg, "mac"))
                cfg->client_type = 2;
            else if (!strcasecmp(optarg, "ios"))
                cfg->client_type = 17;
            else if (!strcasecmp(optarg, "android"))
                cfg->client_type = 18;
            else
                return die_usage("--client-type is pc, windows, mac, android or ios, not '%s'",
                                 optarg);
            break;
        case OPT_SENDERS:
            if (parse_u32(optarg, 0, 10000000u, &cfg->senders) < 0)
                return die_usage("bad --senders '%s'", optarg);
            senders_given = 1;
            break;
        case OPT_RATE:
            if (parse_double(optarg, 0, 1e6, &cfg->rate) < 0)
                return die_usage("bad --rate '%s'", optarg);
            break;
        case OPT_WINDOW:
            if (parse_u32(optarg, 1, TB_MAX_WINDOW, &cfg->window) < 0)
                return die_usage("bad --window '%s'", optarg);
            break;
        case OPT_MAX_CONN_RATE:
            if (parse_double(optarg, 0, 1e6, &cfg->max_conn_rate) < 0)
                return die_usage("bad --max-conn-rate '%s'", optarg);
            break;
        case OPT_SIZE:
            if (parse_u32(optarg, TB_PAYLOAD_HEADER, 1u << 20, &cfg->size) < 0)
                return die_usage("bad --size '%s' (at least 57 bytes: the tt-bench header)",
                                 optarg);
            break;
        case OPT_DURATION:
            if (parse_double(optarg, 0.1, 1e7, &cfg->duration) < 0)
                return die_usage("bad --duration '%s'", optarg);
            break;
        case OPT_WARMUP:
            if (parse_double(optarg, 0, 1e6, &cfg->warmup) < 0)
                return die_usage("bad --warmup '%s'", optarg);
            break;
        case OPT_GRACE:
            if (parse_double(optarg, 0, 1e6, &cfg->grace) < 0)
                return die_usage("bad --grace '%s'", optarg);
            break;
        case OPT_ACK_TIMEOUT:
            if (parse_double(optarg, 0.01, 1e6, &ack_timeout) < 0)
                return die_usage("bad --ack-timeout '%s'", optarg);
            break;
        case OPT_LOGIN_TIMEOUT:
            if (parse_double(optarg, 0.01, 1e6, &login_timeout) < 0)
                return die_usage("bad --login-timeout '%s'", optarg);
            break;
        case OPT_LOGIN_WINDOW:
            if (parse_u32(optarg, 1, 10000000u, &cfg->login_window) < 0)
                return die_usage("bad --login-window '%s'", optarg);
            break;
        case OPT_HEARTBEAT:
            if (parse_u32(optarg, 1, 86400, &cfg->heartbeat_s) < 0)
                return die_usage("bad --heartbeat '%s'", optarg);
            break;
        case OPT_SOURCE_IPS:
            if (parse_src_ips(cfg, optarg) < 0)
                return die_usage("bad --source-ips '%s' (IPv4 list or range, at most 64)",
                                 optarg);
            break;
        case OPT_THREADS:
            if (parse_u32(optarg, 1, 256, &cfg->threads) < 0)
                return die_usage("bad --threads '%s'", optarg);
            break;
        case OPT_MAX_PDU:
            if (parse_u32(optarg, 4096, 64u << 20, &cfg->max_pdu) < 0)
                return die_usage("bad --max-pdu '%s'", optarg);
            break;
        case OPT_WATCH:
            if (parse_watch(cfg, optarg) < 0)
                return die_usage("--watch-pid wants NAME=PID (at most 16), not '%s'", optarg);
            break;
        case OPT_JSON:
            cfg->json = 1;
            break;
        case OPT_QUIET:
            cfg->quiet = 1;
            break;
        case OPT_NO_RECEIPTS:
            cfg->no_receipts = 1;
            break;
        case OPT_SELF_TEST:
            return tb_self_test() == 0 ? 1 : 3;
        case OPT_MODE:
            if (set_mode(cfg, optarg) < 0)
                return die_usage("mode is send, group, idle or login, not '%s'", optarg);
            break;
        case OPT_VERSION:
            printf("%s\n", TB_VERSION);
            return 1;
        case OPT_PAIR_OFFSET:
            if (parse_u32(optarg, 0, 0x7fffffffu, &cfg->pair_offset) < 0)
                return die_usage("bad --pair-offset '%s'", optarg);
            cfg->pair_half = 1;
            break;
        case OPT_MSG_ID:
            if (strcmp(optarg, "zero") && strcmp(optarg, "local"))
                return die_usage("--msg-id takes zero or local, not '%s'", optarg);
            cfg->zero_msg_id = strcmp(optarg, "zero") == 0;
            break;
        case OPT_LABEL:
            cfg->label = optarg;
            break;
        case OPT_CPU_BASELINE:
            if (parse_double(optarg, 0, 3600, &cfg->cpu_baseline) < 0)
                return die_usage("bad --cpu-baseline '%s'", optarg);
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        if (set_mode(cfg, argv[i]) < 0)
            return die_usage("unexpected argument '%s'", argv[i]);
    if (cfg->mode == TB_MODE_GROUP) {
        char err[300];
        if (!cfg->groups)
            cfg->groups = 1;
        if (!cfg->members)
            cfg->members = 100;
        if (!senders_given)
            cfg->senders = 1;
        if ((uint64_t)cfg->groups * cfg->members > 10000000u)
            return die_usage("%s", "--groups x --members is more than 10,000,000 clients");
        if (!count_given)
            cfg->count = cfg->groups * cfg->members;
        if (cfg->count < cfg->groups * cfg->members)
            return die_usage("%s", "--count is less than --groups x --members");
        if (tb_group_size(cfg->groups, cfg->members, cfg->senders, cfg->rate,
                          cfg->warmup + cfg->duration, &cfg->group_cap, err, sizeof(err)) < 0)
            return die_usage("%s", err);
    }
    if (!cfg->login_url == !cfg->msg_host[0])
        return die_usage("%s", "give exactly one of --login-url and --msg-server");
    if (cfg->discover_each && !cfg->login_url)
        return die_usage("%s", "--discover each needs --login-url");
    if ((size_t)snprintf(NULL, 0, cfg->user_pattern, (unsigned)(cfg->first + cfg->count)) >= 100)
        return die_usage("%s", "account names longer than 100 characters");
    if ((uint64_t)cfg->first + cfg->count > 0xffffffffu)
        return die_usage("%s", "--first + --count out of range");
    if (ttc_md5_hex_buf(password, strlen(password), cfg->password_md5) < 0)
        return die_usage("%s", "md5 is not available");
    if (cfg->mode == TB_MODE_SEND) {
        if (!senders_given)
            cfg->senders = cfg->count / 2;
        if (cfg->count < 2)
            return die_usage("%s", "mode send needs --count of at least 2");
        if (cfg->senders < 1 || cfg->senders > cfg->count)
            return die_usage("%s", "--senders must be between 1 and --count");
        cfg->shift = tb_pair_shift(cfg->count, cfg->senders);
        if (cfg->pair_half && cfg->senders > cfg->count / 2)
            return die_usage("%s", "--pair-offset needs --senders of at most --count / 2");
    } else if (cfg->mode == TB_MODE_IDLE)
        cfg->senders = 0;
    if (cfg->threads > cfg->count)
        cfg->threads = cfg->count;
    cfg->ack_timeout_ms = (uint32_t)(ack_timeout * 1000);
    cfg->login_timeout_ms = (uint32_t)(login_timeout * 1000);
    if (login_storm)
        cfg->duration = 0.1;
    return 0;
}

/* ---- coordinator ---- */

typedef struct totals_s {
    uint64_t c[TB_NCOUNTERS];
    uint32_t logins_done;
} totals_t;

static void sum_counters(tb_run_t *run, totals_t *t)
{
    memset(t, 0, sizeof(*t));
    for (uint32_t i = 0; i < run->cfg->threads; i++) {
        tb_worker_t *w = &run->workers[i];
        /* acquire: pairs with the release in login_finished (user ids are then visible) */
        t->logins_done += atomic_load_explicit(&w->logins_done, memory_order_acquire);
        for (int k = 0; k < TB_NCOUNTERS; k++)
            t->c[k] += tb_get(&w->c[k]);
    }
}

/* which: 0 baseline, 1 after the logins, 2 end, -1 only the peak */
static void sample_rss(tb_config_t *cfg, int which)
{
    for (int i = 0; i < cfg->n_watch; i++) {
        tb_watch_t *wt = &cfg->watch[i];
        uint64_t rss, hwm;
        if (wt->gone)
            continue;
        if (tb_rss_read(wt->pid, &rss, &hwm) < 0) {
            wt->gone = 1;
            continue;
        }
        if (rss > wt->peak)
            wt->peak = rss;
        wt->hwm = hwm;
        switch (which) {
        case 0:
            wt->before = rss;
            break;
        case 1:
            wt->after_login = rss;
            break;
        case 2:
            wt->end = rss;
            break;
        default:
            break;
        }
    }
}

static void progress(const tb_run_t *run, const totals_t *t, const totals_t *prev, double elapsed,
                     const char *phase)
{
    const tb_config_t *cfg = run->cfg;
    uint64_t failed = t->c[TB_C_LOGIN_REFUSED] + t->c[TB_C_LOGIN_TIMEOUT] +
                      t->c[TB_C_LOGIN_CLOSED] + t->c[TB_C_CONNECT_FAILED] +
                      t->c[TB_C_DISCOVER_FAILED];
    fprintf(stderr, "[%6.1fs] %-7s logins %llu/%u (failed %llu)", elapsed, phase,
            (unsigned long long)t->c[TB_C_LOGIN_OK], cfg->count, (unsigned long long)failed);
    if (cfg->mode != TB_MODE_IDLE)
        fprintf(stderr, "  sent %llu/s  acked %llu/s  delivered %llu/s",
                (unsigned long long)(t->c[TB_C_SENT] - prev->c[TB_C_SENT]),
                (unsigned long long)(t->c[TB_C_ACKED] - prev->c[TB_C_ACKED]),
                (unsigned long long)(t->c[TB_C_DELIVERED] - prev->c[TB_C_DELIVERED]));
    uint64_t lost = t->c[TB_C_CLOSED_BY_SERVER] + t->c[TB_C_CONN_ERRORS] + t->c[TB_C_KICKED];
    if (lost)
        fprintf(stderr, "  closed %llu", (unsigned long long)lost);
    fputc('\n', stderr);
}

static uint64_t self_hwm(void)
{
    uint64_t rss = 0, hwm = 0;
    tb_rss_read(getpid(), &rss, &hwm);
    return hwm;
}

static void raise_fd_limit(const tb_config_t *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)cfg->count + 64)
        fprintf(stderr,
                "tt-bench: warning: %u clients but only %llu file descriptors (ulimit -n)\n",
                cfg->count, (unsigned long long)rl.rlim_cur);
}

static int bench_main(int argc, char **argv)
{
    static tb_config_t cfg;
    int prc = parse_args(&cfg, argc, argv);
    if (prc == 1)
        return 0;
    if (prc)
        return prc == 3 ? 1 : 2;

    tb_run_t run;
    memset(&run, 0, sizeof(run));
    run.cfg = &cfg;
    char err[512];
    char target[400];
    if (cfg.login_url) {
        if (tb_url_parse(cfg.login_url, &run.login_url, err, sizeof(err)) < 0)
            return die_usage("%s", err);
        if (tb_resolve4(run.login_url.host, run.login_url.port, &run.login_addr) < 0) {
            fprintf(stderr, "tt-bench: cannot resolve login_server host '%s'\n",
                    run.login_url.host);
            return 1;
        }
    }
    if (cfg.login_url && !cfg.discover_each) {
        if (tb_discover(cfg.login_url, 10000, cfg.msg_host, sizeof(cfg.msg_host), &cfg.msg_port,
                        err, sizeof(err)) < 0) {
            fprintf(stderr, "tt-bench: discovery failed: %s\n", err);
            return 1;
        }
    }
    if (cfg.discover_each)
        snprintf(target, sizeof(target), "msg_server asked by every client from %s",
                 cfg.login_url);
    else {
        if (tb_resolve4(cfg.msg_host, cfg.msg_port, &run.msg_addr) < 0) {
            fprintf(stderr, "tt-bench: cannot resolve msg_server host '%s'\n", cfg.msg_host);
            return 1;
        }
        snprintf(target, sizeof(target), "%s:%u%s%s%s", cfg.msg_host, (unsigned)cfg.msg_port,
                 cfg.login_url ? " (from " : "", cfg.login_url ? cfg.login_url : "",
                 cfg.login_url ? ")" : "");
    }
    if (cfg.msg_list && strchr(cfg.msg_list, ',')) {
        char list[4096], host[256];
        uint16_t port;
        snprintf(list, sizeof(list), "%s", cfg.msg_list);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            if (parse_host_port(tok, host, sizeof(host), &port) < 0 ||
                tb_resolve4(host, port, &run.msg_addrs[run.n_msg_addrs]) < 0) {
                fprintf(stderr, "tt-bench: cannot resolve msg_server '%s'\n", tok);
                return 1;
            }
            run.n_msg_addrs++;
        }
        snprintf(target, sizeof(target), "%s (client i on entry i mod %u)", cfg.msg_list,
                 (unsigned)run.n_msg_addrs);
    }
    raise_fd_limit(&cfg);

    /* signals go to the coordinator only, which waits for them between its ticks */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    run.user_ids = calloc(cfg.count, sizeof(*run.user_ids));
    run.workers = calloc(cfg.threads, sizeof(*run.workers));
    if (cfg.mode == TB_MODE_GROUP)
        run.group = tb_group_new(cfg.groups, cfg.members, cfg.senders, cfg.group_cap);
    if (!run.user_ids || !run.workers || (cfg.mode == TB_MODE_GROUP && !run.group)) {
        fprintf(stderr, "tt-bench: out of memory\n");
        return 1;
    }
    uint64_t seed = tb_now_us() ^ (uint64_t)getpid() << 20;
    run.run_id = (uint32_t)(seed ^ seed >> 32);
    atomic_store(&run.phase, TB_PHASE_LOGIN);
    int rc = 0;
    uint32_t started = 0;
    for (uint32_t i = 0; i < cfg.threads; i++)
        if (tb_worker_init(&run.workers[i], &run, (int)i) < 0) {
            fprintf(stderr, "tt-bench: cannot set up worker %u (out of memory?)\n", i);
            rc = 1;
            goto cleanup;
        }

    static tb_cpu_t cpu; /* from the measured window's start to the end of the drain */
    if (cfg.cpu_baseline > 0) /* idle CPU of the watched processes, before any connection */
        tb_cpu_baseline(&cpu, cfg.watch, cfg.n_watch, getpid(), cfg.cpu_baseline);
    sample_rss(&cfg, 0); /* baseline, before the first connection */
    run.login_start_us = tb_now_us();
    for (; started < cfg.threads; started++)
        if (pthread_create(&run.workers[started].thread, NULL, tb_worker_main,
                           &run.workers[started]) != 0) {
            fprintf(stderr, "tt-bench: cannot start a thread\n");
            atomic_store_explicit(&run.phase, TB_PHASE_STOP, memory_order_release);
            rc = 1;
            goto join;
        }

    enum { ST_LOGIN, ST_RUN, ST_DRAIN, ST_SETUP, ST_GROUPS_READY } st = ST_LOGIN;
    totals_t tot, prev;
    memset(&prev, 0, sizeof(prev));
    uint64_t login_end_us = 0, last_progress = run.login_start_us, run_end_us = 0;
    int interrupted = 0;
    for (;;) {
        struct timespec ts = {0, COORD_TICK_MS * 1000000L};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            interrupted = 1;
            if (!cfg.quiet)
                fprintf(stderr, "tt-bench: interrupted, stopping\n");
        }
        uint64_t now = tb_now_us();
        sample_rss(&cfg, -1);
        sum_counters(&run, &tot);
        if (!cfg.quiet && now - last_progress >= 1000000) {
            static const char *names[] = {"login", "run", "drain", "groups", "groups"};
            progress(&run, &tot, &prev, (double)(now - run.login_start_us) / 1e6, names[st]);
            prev = tot;
            last_progress = now;
        }
        if (interrupted)
            break;
        if (st == ST_LOGIN && tot.logins_done >= cfg.count && run.group) {
            login_end_us = now;
            if (tot.c[TB_C_LOGIN_OK] == 0)
                break;
            tb_group_begin_setup(run.group, run.user_ids, now);
            atomic_store_explicit(&run.phase, TB_PHASE_SETUP, memory_order_release);
            st = ST_SETUP;
            continue;
        }
        if (st == ST_SETUP && (tb_group_setup_done(run.group) ||
                               now - login_end_us > (uint64_t)cfg.login_timeout_ms * 1000u)) {
            if (tb_group_created(run.group) == 0) {
                if (!cfg.quiet)
                    fprintf(stderr, "tt-bench: no group was created%s%s\n",
                            run.group->first_refusal[0] ? ": " : "",
                            run.group->first_refusal);
                break;
            }
            st = ST_GROUPS_READY;
        }
        if ((st == ST_LOGIN && tot.logins_done >= cfg.count) || st == ST_GROUPS_READY) {
            if (!login_end_us)
                login_end_us = now;
            sample_rss(&cfg, 1);
            if (tot.c[TB_C_LOGIN_OK] == 0)
                break;
            run.run_start_us = now;
            run.measure_start_us =
                cfg.mode != TB_MODE_IDLE ? now + (uint64_t)(cfg.warmup * 1e6) : now;
            run.measure_end_us = run.measure_start_us + (uint64_t)(cfg.duration * 1e6);
            atomic_store_explicit(&run.phase, TB_PHASE_RUN, memory_order_release);
            st = ST_RUN;
        } else if (st == ST_RUN && now >= run.measure_end_us) {
            if (cfg.mode == TB_MODE_IDLE)
                break;
            st = ST_DRAIN;
        }
        if ((st == ST_RUN || st == ST_DRAIN) && !cpu.begun && now >= run.measure_start_us)
            tb_cpu_begin(&cpu, cfg.watch, cfg.n_watch, getpid(), now);
        if (st == ST_DRAIN) {
            int settled = tot.c[TB_C_ACKED] >= tot.c[TB_C_SENT] &&
                          (run.group ? tb_group_settled(run.group, tot.c[TB_C_DELIVERED])
                                     : tot.c[TB_C_DELIVERED] >= tot.c[TB_C_SENT]);
            if (settled || now >= run.measure_end_us + (uint64_t)(cfg.grace * 1e6))
                break;
        }
    }
    run_end_us = tb_now_us();
    tb_cpu_end(&cpu, run_end_us);
    sample_rss(&cfg, 2); /* before the connections close */
    atomic_store_explicit(&run.phase, TB_PHASE_STOP, memory_order_release);

join:
    for (uint32_t i = 0; i < started; i++)
        pthread_join(run.workers[i].thread, NULL);
    if (rc == 0) {
        tb_result_t r;
        memset(&r, 0, sizeof(r));
        r.cfg = &cfg;
        r.target = target;
        r.interrupted = interrupted;
        tb_hist_init(&r.ack_hist);
        tb_hist_init(&r.deliv_hist);
        tb_hist_init(&r.login_hist);
        uint64_t last_login = 0;
        for (uint32_t i = 0; i < cfg.threads; i++) {
            tb_worker_t *w = &run.workers[i];
            for (int k = 0; k < TB_NCOUNTERS; k++)
                r.c[k] += tb_get(&w->c[k]);
            for (int k = 0; k < TB_REFUSE_CODES; k++)
                r.refused[k] += tb_get(&w->refused[k]);
            tb_hist_merge(&r.ack_hist, &w->ack_hist);
            tb_hist_merge(&r.deliv_hist, &w->deliv_hist);
            tb_hist_merge(&r.login_hist, &w->login_hist);
            for (uint32_t k = 0; k < w->unknown.n; k++)
                tb_unknown_add(&r.unknown, w->unknown.cmd[k], w->unknown.count[k]);
            r.unknown.other += w->unknown.other;
            uint64_t ll = tb_get(&w->last_login_us);
            if (ll > last_login)
                last_login = ll;
            r.logins_attempted += (int)w->next_start;
            if (!r.first_error && w->first_error[0])
                r.first_error = w->first_error;
            if (!r.first_close && w->first_close[0])
                r.first_close = w->first_close;
        }
        if (!login_end_us)
            login_end_us = run_end_us;
        r.login_seconds = last_login > run.login_start_us
                              ? (double)(last_login - run.login_start_us) / 1e6 : 0;
        if (run.run_start_us) {
            uint64_t mend = run_end_us < run.measure_end_us ? run_end_us : run.measure_end_us;
            r.measured_seconds = mend > run.measure_start_us
                                     ? (double)(mend - run.measure_start_us) / 1e6 : 0;
            r.run_seconds = (double)(run_end_us - run.run_start_us) / 1e6;
        }
        r.watch = cfg.watch;
        r.n_watch = cfg.n_watch;
        r.self_rss_hwm = self_hwm();
        r.cpu = &cpu;
        if (run.group) {
            tb_group_finish(run.group);
            r.group = run.group;
        }
        if (cfg.json)
            tb_report_json(&r);
        else
            tb_report_text(&r);
        uint64_t failed = r.c[TB_C_LOGIN_REFUSED] + r.c[TB_C_LOGIN_TIMEOUT] +
                          r.c[TB_C_LOGIN_CLOSED] + r.c[TB_C_CONNECT_FAILED] +
                          r.c[TB_C_DISCOVER_FAILED];
        if (interrupted)
            rc = 130;
        else if (failed || r.c[TB_C_LOGIN_OK] == 0)
            rc = 1;
        else if (cfg.mode != TB_MODE_IDLE && r.c[TB_C_ACKED] == 0)
            rc = 1;
        else if (run.group && tb_group_created(run.group) < cfg.groups)
            rc = 1;
    }
cleanup:
    for (uint32_t i = 0; i < cfg.threads; i++)
        tb_worker_free(&run.workers[i]);
    free(run.workers);
    free(run.user_ids);
    tb_group_free(run.group);
    return rc;
}

int main(int argc, char **argv) { return tb_real_main(argc, argv, long_opts, bench_main); }
