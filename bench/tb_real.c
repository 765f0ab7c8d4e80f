/* tt-bench real: the realistic mode (see tb_real.h and docs/BENCHMARKS.md). Options are read
 * in a first pass with tt-bench's own option table plus the ones of this mode; the run(s) are
 * then ordinary send runs given a rebuilt command line: this mode's defaults first, the
 * user's options after them (so they win), the derived accounts and senders last. */
#include "tb_real.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tt_bench.h"

#define REAL_MAX_ARGS 256       /* rebuilt command line */
#define CHILD_OUT_MAX (16u << 20) /* a run's JSON */
#define STEP_PAUSE_US 1000000   /* between two runs: the server sees the last logouts */
#define PRIME_RATE "1"
#define PRIME_DURATION "2"

/* ---- pairing ---- */

uint32_t tb_half_partner(uint32_t count, uint32_t offset, uint32_t i)
{
    uint32_t h = count / 2;
    if (!h)
        return 0;
    return count - h + (uint32_t)(((uint64_t)i + offset) % h);
}

uint32_t tb_half_sender(uint32_t count, uint32_t senders, uint32_t offset, uint32_t j)
{
    uint32_t h = count / 2, base = count - h;
    if (!h || j < base || j >= count)
        return UINT32_MAX;
    uint32_t i = (uint32_t)(((uint64_t)(j - base) + h - offset % h) % h);
    return i < senders ? i : UINT32_MAX;
}

uint32_t tb_partner_of(const tb_config_t *cfg, uint32_t i)
{
    if (cfg->pair_half)
        return tb_half_partner(cfg->count, cfg->pair_offset, i);
    return (i + cfg->shift) % cfg->count;
}

uint32_t tb_sender_of(const tb_config_t *cfg, uint32_t j)
{
    if (cfg->pair_half)
        return tb_half_sender(cfg->count, cfg->senders, cfg->pair_offset, j);
    return (j + cfg->count - cfg->shift) % cfg->count;
}

uint64_t tb_unacked_after(const tb_result_t *r, uint64_t limit_us)
{
    uint64_t sent = r->c[TB_C_SENT_M], acked = r->c[TB_C_ACKED_M];
    return (sent > acked ? sent - acked : 0) + tb_hist_count_above(&r->ack_hist, limit_us);
}

/* ---- sweep lists and verdicts ---- */

int tb_sweep_parse(const char *arg, tb_sweep_t *sw, char *err, size_t errlen)
{
    memset(sw, 0, sizeof(*sw));
    const char *eq = strchr(arg, '=');
    if (eq && (size_t)(eq - arg) == 13 && strncmp(arg, "conversations", 13) == 0)
        sw->kind = TB_SWEEP_CONVERSATIONS;
    else if (eq && (size_t)(eq - arg) == 4 && strncmp(arg, "rate", 4) == 0)
        sw->kind = TB_SWEEP_RATE;
    else {
        snprintf(err, errlen, "--sweep wants conversations=LIST or rate=LIST, not '%s'", arg);
        return -1;
    }
    const char *p = eq + 1;
    for (;;) {
        char *e;
        errno = 0;
        double v = strtod(p, &e);
        int integral = sw->kind != TB_SWEEP_CONVERSATIONS || v == floor(v);
        if (errno || e == p || (*e && *e != ',') || !(v > 0) || !integral ||
            v > (sw->kind == TB_SWEEP_CONVERSATIONS ? 1e6 : 1e6)) {
            snprintf(err, errlen, "--sweep: bad value in '%s' (%s)", arg,
                     sw->kind == TB_SWEEP_CONVERSATIONS ? "whole numbers of conversations"
                                                        : "messages/s per sender");
            return -1;
        }
        if (sw->n >= TB_SWEEP_MAX) {
            snprintf(err, errlen, "--sweep: at most %d steps", TB_SWEEP_MAX);
            return -1;
        }
        if (sw->n && v <= sw->v[sw->n - 1]) {
            snprintf(err, errlen, "--sweep: the values must increase ('%s')", arg);
            return -1;
        }
        sw->v[sw->n++] = v;
        if (!*e)
            break;
        p = e + 1;
    }
    return 0;
}

static void add_why(tb_step_t *st, const char *what)
{
    size_t l = strlen(st->why);
    snprintf(st->why + l, sizeof(st->why) - l, "%s%s", l ? ", " : "", what);
}

int tb_step_verdict(tb_step_t *st, double p99_bound_ms, double min_share)
{
    char b[96];
    st->why[0] = '\0';
    if (!st->ran) {
        add_why(st, st->rc == 130 ? "interrupted" : "no figures");
        return st->pass = 0;
    }
    if (st->rc == 130)
        add_why(st, "interrupted");
    if (st->login_failed) {
        snprintf(b, sizeof(b), "%llu logins failed", (unsigned long long)st->login_failed);
        add_why(st, b);
    }
    if (st->p99_ms < 0)
        add_why(st, "nothing acked");
    else if (st->p99_ms > p99_bound_ms) {
        snprintf(b, sizeof(b), "p99 %.1f ms > %g ms", st->p99_ms, p99_bound_ms);
        add_why(st, b);
    }
    if (st->unacked5) {
        snprintf(b, sizeof(b), "%llu unacked after 5 s", (unsigned long long)st->unacked5);
        add_why(st, b);
    }
    if (st->acked_ps < min_share * st->offered) {
        snprintf(b, sizeof(b), "acked %.0f/s < %.0f %% of offered", st->acked_ps,
                 min_share * 100);
        add_why(st, b);
    }
    if (st->rc != 0 && st->rc != 130 && !st->why[0]) {
        snprintf(b, sizeof(b), "exit status %d", st->rc);
        add_why(st, b);
    }
    return st->pass = st->why[0] == '\0';
}

int tb_sweep_best(const tb_step_t *steps, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!steps[i].counted)
            continue;
        if (!steps[i].pass)
            break;
        if (best < 0 || steps[i].offered > steps[best].offered)
            best = i;
    }
    return best;
}

/* ---- a run's JSON ---- */

static double jnum(json_t *o, const char *path, double dflt)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_is_object(cur) ? json_object_get(cur, k) : NULL;
    return json_is_number(cur) ? json_number_value(cur) : dflt;
}

int tb_step_from_json(tb_step_t *st, const char *text, size_t len)
{
    json_error_t e;
    json_t *o = json_loadb(text, len, 0, &e);
    if (!json_is_object(o) || !json_is_object(json_object_get(o, "messages"))) {
        json_decref(o);
        return -1;
    }
    st->json = o;
    st->ran = 1;
    st->login_failed = (uint64_t)jnum(o, "logins.failed", 0);
    st->sent = (uint64_t)jnum(o, "messages.sent", 0);
    st->acked = (uint64_t)jnum(o, "messages.acked", 0);
    st->unacked5 = (uint64_t)jnum(o, "messages.unacked_after_5s", 0);
    st->sent_ps = jnum(o, "messages.sent_per_second", 0);
    st->acked_ps = jnum(o, "messages.acked_per_second", 0);
    st->delivered_ps = jnum(o, "messages.delivered_per_second", 0);
    st->p50_ms = jnum(o, "latency_ms.send_to_ack.p50", -1);
    st->p99_ms = jnum(o, "latency_ms.send_to_ack.p99", -1);
    st->watched_us_per_msg = jnum(o, "cpu.watched_total.us_per_acked_msg", -1);
    st->watched_net_us_per_msg = jnum(o, "cpu.watched_total.net_us_per_acked_msg", -1);
    json_t *procs = json_object_get(json_object_get(o, "cpu"), "processes");
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        if (st->n_cpu >= TB_CPU_MAX)
            break;
        tb_step_cpu_t *c = &st->cpu[st->n_cpu++];
        const char *name = json_string_value(json_object_get(p, "name"));
        snprintf(c->name, sizeof(c->name), "%s", name ? name : "?");
        c->ok = json_is_true(json_object_get(p, "ok"));
        c->percent = jnum(p, "cpu_percent", 0);
        c->us_per_msg = jnum(p, "us_per_acked_msg", -1);
        c->net_us_per_msg = jnum(p, "net_us_per_acked_msg", -1);
    }
    return 0;
}

void tb_step_free(tb_step_t *st)
{
    json_decref(st->json);
    st->json = NULL;
}

/* ---- options ---- */

enum { RO_CONVERSATIONS = 1000, RO_CONTACT, RO_SWEEP, RO_P99_BOUND, RO_MIN_SHARE, RO_NO_PRIME,
       RO_SWEEP_ALL };

static const struct option real_opts[] = {
    {"conversations", required_argument, NULL, RO_CONVERSATIONS},
    {"contact", required_argument, NULL, RO_CONTACT},
    {"sweep", required_argument, NULL, RO_SWEEP},
    {"p99-bound", required_argument, NULL, RO_P99_BOUND},
    {"min-acked-share", required_argument, NULL, RO_MIN_SHARE},
    {"no-prime", no_argument, NULL, RO_NO_PRIME},
    {"sweep-all", no_argument, NULL, RO_SWEEP_ALL},
};
#define N_REAL_OPTS (sizeof(real_opts) / sizeof(real_opts[0]))

typedef enum { CONTACT_NONE, CONTACT_FIRST, CONTACT_WARM, CONTACT_BOTH } contact_t;

typedef struct real_s {
    int real;                   /* the mode is "real" */
    int help, json, quiet;
    uint32_t conversations;     /* --conversations (default 200) */
    uint32_t count;             /* --count given by the user (0: 2 x conversations) */
    double rate;                /* --rate given, or 15 */
    uint32_t pair_offset;       /* --pair-offset given, or 0 */
    contact_t contact;
    tb_sweep_t sweep;
    double p99_bound_ms;        /* --p99-bound (default 100) */
    double min_share;           /* --min-acked-share (default 0.95) */
    int prime, sweep_all;
    const char *fwd[REAL_MAX_ARGS]; /* the user's tt-bench options, rebuilt */
    int n_fwd;
    char store[REAL_MAX_ARGS][512]; /* "--name=value" texts of fwd */
} real_t;

static int real_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tt-bench real: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try tt-bench real --help)\n");
    return 2;
}

static void real_help(void)
{
    printf(
"usage: tt-bench real (--login-url URL | --msg-server HOST:PORT) [options]\n"
"\n"
"Many conversations at a human pace, as a company's traffic: --conversations N pairs of\n"
"distinct accounts (sender i -> receiver), each sender at --rate msg/s with --window messages\n"
"in flight, msg_id 0 and create_time = now as the shipped clients send. Accounts are\n"
"PATTERN(first) .. PATTERN(first + count - 1), count = 2N unless --count gives a bigger pool;\n"
"senders are the first N, receivers the upper half, paired by --pair-offset K:\n"
"sender i -> client ceil(count/2) + (i + K) mod floor(count/2). Pairs of another K never\n"
"talked: use a new K (or another --first) for every first-contact run on the same database.\n"
"Every tt-bench option applies; this mode changes the defaults to\n"
"  --rate 15 --window 4 --size 64 --warmup 0 --duration 20 --msg-id zero --pair-offset 0\n"
"  --cpu-baseline 1\n"
"(warm-up 0: a first-contact run measures the conversations' first messages too).\n"
"\n"
"  --conversations N      sender->receiver pairs (default 200)\n"
"  --contact first|warm   label the run (first contact: pairs that never talked)\n"
"  --contact both         two runs on the same pairs, first contact then warm, reported apart\n"
"                         (with the ratio first/warm of the acked rate)\n"
"  --sweep conversations=LIST | rate=LIST\n"
"                         one run per value (increasing, comma separated), each --duration\n"
"                         long; reports every step and the highest offered rate that passed:\n"
"                         p99 send->ack <= --p99-bound, nothing unacked after 5 s, acked/s\n"
"                         >= --min-acked-share x offered, no login failure. Stops after the\n"
"                         first step that fails unless --sweep-all. Before the steps, an\n"
"                         unmeasured prime run (the largest step's conversations at 1 msg/s\n"
"                         for 2 s) makes every pair warm, unless --no-prime.\n"
"  --p99-bound MS         (default 100)\n"
"  --min-acked-share F    (default 0.95)\n"
"  --json                 one JSON object for everything (runs as tt-bench send --json)\n"
"\n"
"Runs for --contact both and --sweep are made by forked copies of tt-bench (progress on\n"
"stderr unless --quiet); the shipped MsgRateLimit stays as it is (bench/run-local.sh does not\n"
"lift it for this mode). Exit status: 0 ok (sweep: at least one step passed), 1 otherwise,\n"
"2 bad usage, 130 interrupted.\n");
}

static int is_flag(const struct option *o) { return o->has_arg == no_argument; }

/* One option of tt-bench's own table: remember what this mode needs, forward it. */
static int take_std(real_t *rl, const struct option *o, const char *arg)
{
    const char *n = o->name;
    if (!strcmp(n, "help")) {
        rl->help = 1;
        return 0;
    }
    if (!strcmp(n, "mode")) {
        if (strcmp(arg, "real"))
            return real_usage_error("mode %s cannot be mixed with real", arg);
        rl->real = 1;
        return 0;
    }
    if (!strcmp(n, "senders"))
        return real_usage_error("%s", "real takes --conversations, not --senders");
    if (!strcmp(n, "self-test"))
        return real_usage_error("%s", "--self-test is a mode of its own");
    if (!strcmp(n, "json"))
        rl->json = 1;
    if (!strcmp(n, "quiet"))
        rl->quiet = 1;
    char *e;
    if (!strcmp(n, "count")) {
        unsigned long v = strtoul(arg, &e, 10);
        if (*e || !v || v > 10000000ul)
            return real_usage_error("bad --count '%s'", arg);
        rl->count = (uint32_t)v;
        return 0; /* given again at the end */
    }
    if (!strcmp(n, "rate")) {
        rl->rate = strtod(arg, &e);
        if (*e || !(rl->rate > 0) || rl->rate > 1e6)
            return real_usage_error("real needs a --rate above 0, not '%s'", arg);
    }
    if (!strcmp(n, "pair-offset"))
        rl->pair_offset = (uint32_t)strtoul(arg, NULL, 10);
    if (rl->n_fwd >= REAL_MAX_ARGS)
        return real_usage_error("%s", "too many options");
    if (is_flag(o))
        snprintf(rl->store[rl->n_fwd], sizeof(rl->store[0]), "--%s", n);
    else if ((size_t)snprintf(rl->store[rl->n_fwd], sizeof(rl->store[0]), "--%s=%s", n, arg) >=
             sizeof(rl->store[0]))
        return real_usage_error("option too long: --%s", n);
    rl->fwd[rl->n_fwd] = rl->store[rl->n_fwd];
    rl->n_fwd++;
    return 0;
}

static int take_real(real_t *rl, int code, const char *arg)
{
    char *e, err[256];
    double d;
    switch (code) {
    case RO_CONVERSATIONS: {
        unsigned long v = strtoul(arg, &e, 10);
        if (*e || !v || v > 5000000ul)
            return real_usage_error("bad --conversations '%s'", arg);
        rl->conversations = (uint32_t)v;
        return 0;
    }
    case RO_CONTACT:
        if (!strcmp(arg, "first"))
            rl->contact = CONTACT_FIRST;
        else if (!strcmp(arg, "warm"))
            rl->contact = CONTACT_WARM;
        else if (!strcmp(arg, "both"))
            rl->contact = CONTACT_BOTH;
        else
            return real_usage_error("--contact is first, warm or both, not '%s'", arg);
        return 0;
    case RO_SWEEP:
        if (tb_sweep_parse(arg, &rl->sweep, err, sizeof(err)) < 0)
            return real_usage_error("%s", err);
        return 0;
    case RO_P99_BOUND:
        d = strtod(arg, &e);
        if (*e || !(d > 0) || d > 1e7)
            return real_usage_error("bad --p99-bound '%s'", arg);
        rl->p99_bound_ms = d;
        return 0;
    case RO_MIN_SHARE:
        d = strtod(arg, &e);
        if (*e || !(d >= 0) || d > 1)
            return real_usage_error("--min-acked-share is between 0 and 1, not '%s'", arg);
        rl->min_share = d;
        return 0;
    case RO_NO_PRIME:
        rl->prime = 0;
        return 0;
    case RO_SWEEP_ALL:
        rl->sweep_all = 1;
        return 0;
    default:
        return 2;
    }
}

/* First pass. Returns 0 (rl filled; rl->real says whether this mode is wanted), or 2. */
static int real_parse(real_t *rl, int argc, char **argv, const struct option *std_opts)
{
    memset(rl, 0, sizeof(*rl));
    rl->conversations = 200;
    rl->rate = 15;
    rl->p99_bound_ms = 100;
    rl->min_share = 0.95;
    rl->prime = 1;
    size_t n_std = 0;
    while (std_opts[n_std].name)
        n_std++;
    struct option *all = calloc(n_std + N_REAL_OPTS + 1, sizeof(*all));
    char **av = calloc((size_t)argc + 1, sizeof(*av));
    if (!all || !av) {
        free(all);
        free(av);
        fprintf(stderr, "tt-bench: out of memory\n");
        return 2;
    }
    memcpy(all, std_opts, n_std * sizeof(*all));
    memcpy(all + n_std, real_opts, sizeof(real_opts));
    memcpy(av, argv, (size_t)argc * sizeof(*av));
    /* is it this mode at all? (a quiet pass: tt-bench's own parser reports the errors) */
    int rc = 0, opt, li;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, av, "h", all, &li)) != -1)
        if (opt != '?' && opt != ':' && opt != 'h' && li >= 0 && (size_t)li < n_std &&
            !strcmp(all[li].name, "mode") && !strcmp(optarg, "real"))
            rl->real = 1;
    for (int i = optind; i < argc; i++)
        if (!strcmp(av[i], "real"))
            rl->real = 1;
    if (!rl->real)
        goto out;
    opterr = 1;
    optind = 0;
    memcpy(av, argv, (size_t)argc * sizeof(*av));
    while (rc == 0 && (li = -1, opt = getopt_long(argc, av, "h", all, &li)) != -1) {
        if (opt == '?' || opt == ':')
            rc = 2;
        else if (opt == 'h')
            rl->help = 1;
        else if (opt >= RO_CONVERSATIONS)
            rc = take_real(rl, opt, optarg);
        else if (li >= 0)
            rc = take_std(rl, &all[li], optarg);
    }
    for (int i = optind; rc == 0 && i < argc; i++)
        if (strcmp(av[i], "real"))
            rc = real_usage_error("unexpected argument '%s' (one mode only)", av[i]);
    if (rc == 0 && rl->sweep.kind && rl->contact == CONTACT_BOTH)
        rc = real_usage_error("%s", "--sweep and --contact both do not go together");
out:
    optind = 0;
    opterr = 1;
    free(all);
    free(av);
    return rc;
}

/* ---- command lines of the runs ---- */

typedef struct argv_s {
    char *v[REAL_MAX_ARGS + 64];
    int n;
    char num[16][32];           /* storage for numbers */
    int n_num;
} argv_t;

static void push(argv_t *a, const char *s)
{
    if (a->n < (int)(sizeof(a->v) / sizeof(a->v[0])) - 1)
        a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static void push_num(argv_t *a, const char *opt, double v)
{
    if (a->n_num >= 16)
        return;
    char *b = a->num[a->n_num++];
    snprintf(b, sizeof(a->num[0]), "%.10g", v);
    push(a, opt);
    push(a, b);
}

static uint32_t pool_size(const real_t *rl, uint32_t max_conversations)
{
    return rl->count ? rl->count : 2 * max_conversations;
}

/* The command line of one run: defaults, the user's options, then what this run needs. */
static void build_argv(argv_t *a, const real_t *rl, char *argv0, uint32_t conversations,
                       uint32_t pool, double rate_override, const char *label, int json)
{
    memset(a, 0, sizeof(*a));
    push(a, argv0);
    static const char *const defaults[] = {"--mode", "send", "--rate", "15", "--window", "4",
                                           "--size", "64", "--warmup", "0", "--duration", "20",
                                           "--msg-id", "zero", "--pair-offset", "0",
                                           "--cpu-baseline", "1"};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        push(a, defaults[i]);
    if (label) {
        push(a, "--label");
        push(a, label);
    }
    for (int i = 0; i < rl->n_fwd; i++)
        push(a, rl->fwd[i]);
    push_num(a, "--count", pool);
    push_num(a, "--senders", conversations);
    if (rate_override > 0)
        push_num(a, "--rate", rate_override);
    if (json)
        push(a, "--json");
}

/* ---- running a step in a child ---- */

static int take_signal(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    struct timespec zero = {0, 0};
    return sigtimedwait(&s, NULL, &zero) > 0;
}

/* Runs bench_main(a) in a forked child with stdout into a pipe; fills st. Returns 1 when a
 * signal asked us to stop (forwarded to the child), else 0. */
static int run_child(int (*bench_main)(int, char **), argv_t *a, tb_step_t *st)
{
    int fds[2];
    st->rc = 1;
    if (pipe(fds) < 0) {
        fprintf(stderr, "tt-bench real: pipe: %s\n", strerror(errno));
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tt-bench real: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(1);
        close(fds[1]);
        optind = 0;
        int rc = bench_main(a->n, a->v);
        fflush(stdout);
        _exit(rc);
    }
    close(fds[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    int stop = 0, too_big = 0;
    for (;;) {
        if (!stop && take_signal()) {
            stop = 1;
            kill(pid, SIGTERM);
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (out && len + 4096 > cap && cap < CHILD_OUT_MAX) {
            char *n = realloc(out, cap * 2);
            if (n) {
                out = n;
                cap *= 2;
            }
        }
        char sink[4096];
        char *dst = out && len + 4096 <= cap ? out + len : sink;
        ssize_t r = read(fds[0], dst, 4096);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst == sink)
            too_big = 1;
        else
            len += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    st->rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (out && !too_big && tb_step_from_json(st, out, len) < 0 && st->rc != 2)
        fprintf(stderr, "tt-bench real: run %s gave no figures (exit status %d)\n", st->label,
                st->rc);
    free(out);
    if (!stop && take_signal())
        stop = 1;
    return stop || st->rc == 130;
}

/* ---- printing ---- */

static void print_ms(double v)
{
    if (v < 0)
        printf(" %8s", "-");
    else
        printf(" %8.1f", v);
}

static void print_steps(const tb_step_t *steps, int n, int verdicts)
{
    printf("%-14s %6s %6s %10s %10s %10s %8s %8s %10s%s\n", "run", "conv", "rate", "offered/s",
           "sent/s", "acked/s", "p50 ms", "p99 ms", "unacked>5s", verdicts ? "  verdict" : "");
    for (int i = 0; i < n; i++) {
        const tb_step_t *s = &steps[i];
        printf("%-14s %6u %6g %10.0f", s->label, s->conversations, s->rate, s->offered);
        if (s->ran) {
            printf(" %10.1f %10.1f", s->sent_ps, s->acked_ps);
            print_ms(s->p50_ms);
            print_ms(s->p99_ms);
            printf(" %10llu", (unsigned long long)s->unacked5);
        } else
            printf(" %10s %10s %8s %8s %10s", "-", "-", "-", "-", "-");
        if (verdicts && !s->counted)
            printf("  (not counted)");
        else if (verdicts)
            printf("  %s%s%s%s", s->pass ? "pass" : "FAIL", s->pass ? "" : " (", s->why,
                   s->pass ? "" : ")");
        printf("\n");
    }
    /* CPU: the processes of the first run that has them, in its order */
    const tb_step_t *ref = NULL;
    for (int i = 0; i < n && !ref; i++)
        if (steps[i].n_cpu)
            ref = &steps[i];
    if (!ref)
        return;
    printf("cpu: %% of one core, CPU us per acked message [net of the idle baseline], over the "
           "measured window + drain\n");
    printf("%-14s", "run");
    for (int k = 0; k < ref->n_cpu; k++)
        printf(" %22.22s", ref->cpu[k].name);
    printf(" %22s\n", "watched total us/msg");
    for (int i = 0; i < n; i++) {
        const tb_step_t *s = &steps[i];
        if (!s->ran)
            continue;
        printf("%-14s", s->label);
        for (int k = 0; k < ref->n_cpu; k++) {
            const tb_step_cpu_t *c = NULL;
            for (int j = 0; j < s->n_cpu && !c; j++)
                if (!strcmp(s->cpu[j].name, ref->cpu[k].name))
                    c = &s->cpu[j];
            char cell[64] = "-", net[24] = "";
            if (c && c->ok && c->net_us_per_msg >= 0)
                snprintf(net, sizeof(net), " [%.1f]", c->net_us_per_msg);
            if (c && c->ok && c->us_per_msg >= 0)
                snprintf(cell, sizeof(cell), "%.1f%% %.1f%s", c->percent, c->us_per_msg, net);
            else if (c && c->ok)
                snprintf(cell, sizeof(cell), "%.1f%% -", c->percent);
            printf(" %22s", cell);
        }
        char tot[64] = "-";
        if (s->watched_us_per_msg >= 0 && s->watched_net_us_per_msg >= 0)
            snprintf(tot, sizeof(tot), "%.1f [%.1f]", s->watched_us_per_msg,
                     s->watched_net_us_per_msg);
        else if (s->watched_us_per_msg >= 0)
            snprintf(tot, sizeof(tot), "%.1f", s->watched_us_per_msg);
        printf(" %22s\n", tot);
    }
}

static json_t *step_json(const tb_step_t *s, int verdicts)
{
    json_t *o = json_object();
    json_object_set_new(o, "label", json_string(s->label));
    json_object_set_new(o, "conversations", json_integer(s->conversations));
    json_object_set_new(o, "rate", json_real(s->rate));
    json_object_set_new(o, "offered_per_second", json_real(s->offered));
    json_object_set_new(o, "exit_status", json_integer(s->rc));
    if (verdicts) {
        json_object_set_new(o, "counted", json_boolean(s->counted));
        json_object_set_new(o, "pass", json_boolean(s->pass));
        json_object_set_new(o, "why", json_string(s->why));
    }
    json_object_set_new(o, "run", s->json ? json_incref((json_t *)s->json) : json_null());
    return o;
}

static void print_json(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (text) {
        printf("%s\n", text);
        free(text);
    }
    json_decref(o);
}

/* ---- the two multi-run modes ---- */

static void init_step(tb_step_t *st, const char *label, uint32_t conv, double rate)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->label, sizeof(st->label), "%s", label);
    st->conversations = conv;
    st->rate = rate;
    st->offered = conv * rate;
    st->p50_ms = st->p99_ms = st->watched_us_per_msg = st->watched_net_us_per_msg = -1;
    st->counted = 1;
}

static int contact_both(const real_t *rl, char *argv0, int (*bench_main)(int, char **))
{
    static tb_step_t steps[2];
    static const char *const labels[2] = {"first-contact", "warm"};
    uint32_t pool = pool_size(rl, rl->conversations);
    int n = 0, stopped = 0;
    for (int i = 0; i < 2 && !stopped; i++) {
        argv_t a;
        init_step(&steps[i], labels[i], rl->conversations, rl->rate);
        build_argv(&a, rl, argv0, rl->conversations, pool, 0, labels[i], 1);
        if (!rl->quiet)
            fprintf(stderr, "tt-bench real: %s run, %u conversations x %g msg/s\n", labels[i],
                    rl->conversations, rl->rate);
        if (i)
            usleep(STEP_PAUSE_US);
        stopped = run_child(bench_main, &a, &steps[i]);
        n++;
        if (steps[i].rc == 2)
            return 2;
    }
    double ratio = n == 2 && steps[1].acked_ps > 0 ? steps[0].acked_ps / steps[1].acked_ps : -1;
    if (rl->json) {
        json_t *o = json_object();
        json_object_set_new(o, "tool", json_string(TB_VERSION));
        json_object_set_new(o, "mode", json_string("real"));
        json_object_set_new(o, "contact", json_string("both"));
        json_object_set_new(o, "interrupted", json_boolean(stopped));
        json_t *runs = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(runs, step_json(&steps[i], 0));
        json_object_set_new(o, "runs", runs);
        json_object_set_new(o, "first_over_warm_acked", ratio >= 0 ? json_real(ratio) : json_null());
        print_json(o);
    } else {
        printf("tt-bench real: %u conversations x %g msg/s (%g offered), pair offset %u, %u "
               "accounts; first contact, then warm on the same pairs%s\n",
               rl->conversations, rl->rate, rl->conversations * rl->rate, rl->pair_offset, pool,
               stopped ? " (INTERRUPTED)" : "");
        print_steps(steps, n, 0);
        if (ratio >= 0)
            printf("first-contact / warm acked rate: %.1f %%\n", ratio * 100);
    }
    int rc = stopped ? 130 : 0;
    for (int i = 0; i < n; i++) {
        if (!rc && steps[i].rc)
            rc = 1;
        tb_step_free(&steps[i]);
    }
    return rc;
}

static int sweep(const real_t *rl, char *argv0, int (*bench_main)(int, char **))
{
    static tb_step_t steps[TB_SWEEP_MAX + 1];
    const tb_sweep_t *sw = &rl->sweep;
    int by_conv = sw->kind == TB_SWEEP_CONVERSATIONS;
    uint32_t max_conv = by_conv ? (uint32_t)sw->v[sw->n - 1] : rl->conversations;
    uint32_t pool = pool_size(rl, max_conv);
    if (pool < 2 * max_conv) {
        fprintf(stderr, "tt-bench real: --count %u is too small for %u conversations\n", pool,
                max_conv);
        return 2;
    }
    int n = 0, stopped = 0;
    argv_t a;
    if (rl->prime) {
        tb_step_t *st = &steps[n++];
        init_step(st, "prime", max_conv, 1);
        st->counted = 0;
        build_argv(&a, rl, argv0, max_conv, pool, 0, "prime", 1);
        /* the prime's own pace and length go last */
        push(&a, "--rate");
        push(&a, PRIME_RATE);
        push(&a, "--duration");
        push(&a, PRIME_DURATION);
        push(&a, "--warmup");
        push(&a, "0");
        if (!rl->quiet)
            fprintf(stderr, "tt-bench real: prime run (unmeasured), %u conversations x %s msg/s\n",
                    max_conv, PRIME_RATE);
        stopped = run_child(bench_main, &a, st);
        if (st->rc == 2)
            return 2;
    }
    for (int i = 0; i < sw->n && !stopped; i++) {
        char label[16];
        snprintf(label, sizeof(label), "%d", i + 1);
        uint32_t conv = by_conv ? (uint32_t)sw->v[i] : rl->conversations;
        double rate = by_conv ? rl->rate : sw->v[i];
        tb_step_t *st = &steps[n++];
        init_step(st, label, conv, rate);
        char full[48];
        snprintf(full, sizeof(full), "sweep step %d", i + 1);
        build_argv(&a, rl, argv0, conv, pool, by_conv ? 0 : rate, full, 1);
        if (!rl->quiet)
            fprintf(stderr, "tt-bench real: sweep step %d of %d, %u conversations x %g msg/s = "
                    "%g offered\n", i + 1, sw->n, conv, rate, conv * rate);
        if (n > 1)
            usleep(STEP_PAUSE_US);
        stopped = run_child(bench_main, &a, st);
        if (st->rc == 2)
            return 2;
        if (!tb_step_verdict(st, rl->p99_bound_ms, rl->min_share) && !rl->sweep_all)
            break;
    }
    int best = tb_sweep_best(steps, n);
    if (rl->json) {
        json_t *o = json_object();
        json_object_set_new(o, "tool", json_string(TB_VERSION));
        json_object_set_new(o, "mode", json_string("real"));
        json_object_set_new(o, "sweep", json_string(by_conv ? "conversations" : "rate"));
        json_object_set_new(o, "p99_bound_ms", json_real(rl->p99_bound_ms));
        json_object_set_new(o, "min_acked_share", json_real(rl->min_share));
        json_object_set_new(o, "accounts", json_integer(pool));
        json_object_set_new(o, "interrupted", json_boolean(stopped));
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, step_json(&steps[i], 1));
        json_object_set_new(o, "steps", arr);
        json_object_set_new(o, "best", best >= 0 ? step_json(&steps[best], 1) : json_null());
        print_json(o);
    } else {
        printf("tt-bench real sweep: %s, pair offset %u, %u accounts; pass = p99 send->ack <= "
               "%g ms, nothing unacked after 5 s, acked >= %g %% of offered%s\n",
               by_conv ? "conversations" : "rate per sender", rl->pair_offset, pool,
               rl->p99_bound_ms, rl->min_share * 100, stopped ? " (INTERRUPTED)" : "");
        print_steps(steps, n, 1);
        if (best >= 0)
            printf("highest offered rate that passed: %.0f msg/s (%u conversations x %g msg/s, "
                   "step %s: p99 %.1f ms, acked %.1f msg/s)\n",
                   steps[best].offered, steps[best].conversations, steps[best].rate,
                   steps[best].label, steps[best].p99_ms, steps[best].acked_ps);
        else
            printf("highest offered rate that passed: none (the first step failed)\n");
    }
    for (int i = 0; i < n; i++)
        tb_step_free(&steps[i]);
    return stopped ? 130 : best >= 0 ? 0 : 1;
}

int tb_real_main(int argc, char **argv, const struct option *std_opts,
                 int (*bench_main)(int, char **))
{
    static real_t rl;
    int rc = real_parse(&rl, argc, argv, std_opts);
    if (rc)
        return rc;
    if (!rl.real)
        return bench_main(argc, argv);
    if (rl.help) {
        real_help();
        return 0;
    }
    uint32_t max_conv = rl.sweep.kind == TB_SWEEP_CONVERSATIONS
                            ? (uint32_t)rl.sweep.v[rl.sweep.n - 1] : rl.conversations;
    if (rl.count && rl.count < 2 * max_conv) {
        fprintf(stderr, "tt-bench real: --count %u is too small for %u conversations (2 "
                        "accounts each)\n", rl.count, max_conv);
        return 2;
    }
    if (rl.sweep.kind || rl.contact == CONTACT_BOTH) {
        /* the runs get the signals; we forward them and stop */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
        signal(SIGPIPE, SIG_IGN);
        return rl.sweep.kind ? sweep(&rl, argv[0], bench_main)
                             : contact_both(&rl, argv[0], bench_main);
    }
    static argv_t a;
    const char *label = rl.contact == CONTACT_FIRST  ? "first-contact"
                        : rl.contact == CONTACT_WARM ? "warm" : "real";
    build_argv(&a, &rl, argv[0], rl.conversations, pool_size(&rl, rl.conversations), 0, label,
               0);
    optind = 0;
    return bench_main(a.n, a.v);
}

/* ---- self-test ---- */

static int st_checks, st_failures;

static void st_check(int ok, const char *what)
{
    st_checks++;
    if (!ok) {
        st_failures++;
        printf("FAIL: %s\n", what);
    }
}

static void test_pairing(void)
{
    int ok = 1, inverse = 0, disjoint = 1;
    for (uint32_t count = 2; count <= 41; count++)
        for (uint32_t senders = 1; senders <= count / 2; senders++)
            for (uint32_t k = 0; k < count + 3; k++) {
                int got[41] = {0};
                for (uint32_t i = 0; i < senders; i++) {
                    uint32_t r = tb_half_partner(count, k, i);
                    if (r >= count || r < count - count / 2 || r == i || got[r]++)
                        ok = 0;
                    if (tb_half_sender(count, senders, k, r) != i)
                        inverse++;
                }
                for (uint32_t j = 0; j < count; j++) {
                    uint32_t s = tb_half_sender(count, senders, k, j);
                    if (s != UINT32_MAX && (s >= senders || tb_half_partner(count, k, s) != j))
                        inverse++;
                    if (s == UINT32_MAX && got[j])
                        inverse++;
                }
            }
    st_check(ok, "half pairing: receivers in the upper half, distinct, never the sender");
    st_check(inverse == 0, "half pairing: tb_half_sender inverts tb_half_partner");
    /* two offsets that differ mod count/2 share no pair */
    for (uint32_t k1 = 0; k1 < 10; k1++)
        for (uint32_t k2 = 0; k2 < 10; k2++)
            for (uint32_t i = 0; i < 10 && k1 != k2; i++)
                if (tb_half_partner(20, k1, i) == tb_half_partner(20, k2, i))
                    disjoint = 0;
    st_check(disjoint, "half pairing: a new offset gives pairs that never talked");
    st_check(tb_half_partner(400, 0, 7) == 207 && tb_half_partner(400, 5, 199) == 204 &&
                 tb_half_partner(5, 0, 0) == 3 && tb_half_sender(400, 200, 5, 204) == 199 &&
                 tb_half_sender(400, 100, 0, 350) == UINT32_MAX &&
                 tb_half_sender(400, 200, 0, 10) == UINT32_MAX,
             "half pairing: examples");
    /* offset 0 with count = 2 x senders is the shift rule (senders, partner i + senders) */
    tb_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.count = 300;
    cfg.senders = 150;
    cfg.shift = tb_pair_shift(cfg.count, cfg.senders);
    int same = 1;
    for (uint32_t i = 0; i < 150; i++) {
        uint32_t a = tb_partner_of(&cfg, i);
        cfg.pair_half = 1;
        if (tb_partner_of(&cfg, i) != a || tb_sender_of(&cfg, a) != i)
            same = 0;
        cfg.pair_half = 0;
        if (tb_sender_of(&cfg, a) != i)
            same = 0;
    }
    st_check(same, "offset 0 over 2N accounts pairs like the shift rule");
}

static void test_cpu(void)
{
    uint64_t t = 0;
    st_check(tb_cpu_parse_stat("1234 (msg_server) S 1 1234 1234 0 -1 4194560 500 0 0 0 "
                               "731 269 0 0 20 0 3 0 123 4567 89\n", &t) == 0 && t == 1000,
             "/proc/PID/stat: utime + stime");
    st_check(tb_cpu_parse_stat("77 (a) b (c)) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14\n", &t) == 0 &&
                 t == 23,
             "/proc/PID/stat: a command name with spaces and parentheses");
    st_check(tb_cpu_parse_stat("1234 (x) S 1 2 3", &t) < 0 && tb_cpu_parse_stat("", &t) < 0 &&
                 tb_cpu_parse_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5\n", &t) < 0,
             "/proc/PID/stat: short or malformed lines are refused");
    st_check(tb_cpu_read(getpid(), &t) == 0, "own /proc/self/stat is readable");
    /* 250 ticks at 100 Hz over 5 s = 2.5 s = 50 % of a core; 10 000 messages = 250 us each */
    tb_cpu_fig_t f = tb_cpu_figures(250, 100, 5000000, 10000);
    st_check(fabs(f.cpu_seconds - 2.5) < 1e-9 && fabs(f.percent - 50) < 1e-9 &&
                 fabs(f.us_per_msg - 250) < 1e-9,
             "cpu figures: seconds, % of one core, us per message");
    tb_cpu_net(&f, 0.1, 5000000, 10000); /* idle 10 %: 0.5 s of the 2.5 s were idle work */
    st_check(fabs(f.base_percent - 10) < 1e-9 && fabs(f.net_us_per_msg - 200) < 1e-9,
             "cpu net of the idle baseline");
    tb_cpu_net(&f, 0.9, 5000000, 10000);
    st_check(f.net_us_per_msg == 0, "net CPU never goes below 0");
    f = tb_cpu_figures(10, 100, 0, 0);
    st_check(f.percent == 0 && f.us_per_msg < 0 && f.net_us_per_msg < 0,
             "cpu figures without time or messages");
    tb_cpu_t c;
    tb_watch_t w[2];
    memset(w, 0, sizeof(w));
    snprintf(w[0].name, sizeof(w[0].name), "me");
    w[0].pid = getpid();
    w[1].pid = 0x7ffffff0; /* no such process */
    tb_cpu_baseline(&c, w, 2, getpid(), 0.05);
    st_check(c.base_seconds >= 0.05 && c.p[0].base_ok && !c.p[1].base_ok && c.p[2].base_ok,
             "idle baseline sampled, a gone process marked");
    tb_cpu_begin(&c, w, 2, getpid(), 1000);
    volatile double x = 0;
    for (int i = 0; i < 3000000; i++)
        x += i * 0.5;
    tb_cpu_end(&c, 2001000);
    st_check(c.n == 3 && c.p[0].ok && !c.p[1].ok && c.p[2].ok && !strcmp(c.p[2].name, "tt-bench") &&
                 c.base_seconds > 0 && c.p[0].base_ok &&
                 tb_cpu_proc_figures(&c, 0, 1).base_percent >= 0,
             "cpu samples: watched processes, then tt-bench itself; a gone one is marked");
    tb_cpu_fig_t tot = tb_cpu_total_figures(&c, 1);
    st_check(tot.cpu_seconds == tb_cpu_proc_figures(&c, 0, 1).cpu_seconds,
             "cpu total counts the watched processes only");
}

static void test_sweep(void)
{
    tb_sweep_t sw;
    char err[256];
    st_check(tb_sweep_parse("conversations=200,500,1000", &sw, err, sizeof(err)) == 0 &&
                 sw.kind == TB_SWEEP_CONVERSATIONS && sw.n == 3 && sw.v[2] == 1000,
             "sweep list of conversations");
    st_check(tb_sweep_parse("rate=5,7.5,15", &sw, err, sizeof(err)) == 0 &&
                 sw.kind == TB_SWEEP_RATE && sw.n == 3 && sw.v[1] == 7.5,
             "sweep list of rates");
    st_check(tb_sweep_parse("conversations=200,100", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("conversations=1.5", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("rate=", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("rate=5,,6", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("rate=0", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("speed=1", &sw, err, sizeof(err)) < 0 &&
                 tb_sweep_parse("conversations", &sw, err, sizeof(err)) < 0,
             "bad sweep lists are refused");
    char big[400] = "rate=";
    for (int i = 1; i <= TB_SWEEP_MAX + 1; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s%d", i > 1 ? "," : "", i);
    st_check(tb_sweep_parse(big, &sw, err, sizeof(err)) < 0, "at most TB_SWEEP_MAX steps");

    tb_step_t s[5];
    for (int i = 0; i < 5; i++) {
        init_step(&s[i], "x", (uint32_t)(100 * (i + 1)), 15);
        s[i].ran = 1;
        s[i].acked_ps = s[i].offered;
        s[i].p50_ms = 5;
        s[i].p99_ms = 20 + 30 * i; /* 20 50 80 110 140 */
    }
    s[0].counted = 0; /* prime */
    s[0].p99_ms = 1000;
    int v = 1;
    for (int i = 0; i < 5; i++)
        tb_step_verdict(&s[i], 100, 0.95);
    v = !s[0].pass && s[1].pass && s[2].pass && !s[3].pass && !s[4].pass;
    st_check(v && strstr(s[3].why, "p99 110.0 ms > 100 ms"), "sweep verdict on the p99 bound");
    st_check(tb_sweep_best(s, 5) == 2, "best: the highest passing step before the first failure "
                                       "(the uncounted prime ignored)");
    s[2].unacked5 = 3;
    tb_step_verdict(&s[2], 100, 0.95);
    st_check(!s[2].pass && strstr(s[2].why, "3 unacked after 5 s") && tb_sweep_best(s, 5) == 1,
             "a step with messages unacked after 5 s fails");
    s[1].acked_ps = 0.9 * s[1].offered;
    tb_step_verdict(&s[1], 100, 0.95);
    st_check(!s[1].pass && tb_sweep_best(s, 5) == -1, "a step acking too little of what is "
                                                      "offered fails; none passed: -1");
    s[4].pass = 1; /* a later pass after a failure does not count */
    st_check(tb_sweep_best(s, 5) == -1, "steps after the first failure are not the best");
    tb_step_t r;
    init_step(&r, "x", 10, 15);
    r.rc = 1;
    st_check(!tb_step_verdict(&r, 100, 0.95) && !strcmp(r.why, "no figures"), "a run without "
                                                                             "figures fails");
    static const char js[] =
        "{\"logins\":{\"failed\":0},\"messages\":{\"sent\":300,\"acked\":299,"
        "\"unacked_after_5s\":1,\"sent_per_second\":15.0,\"acked_per_second\":14.95,"
        "\"delivered_per_second\":14.9},\"latency_ms\":{\"send_to_ack\":{\"p50\":4.5,"
        "\"p99\":12.25}},\"cpu\":{\"processes\":[{\"name\":\"msg_server\",\"ok\":true,"
        "\"cpu_percent\":12.5,\"us_per_acked_msg\":40.0},{\"name\":\"tt-bench\",\"ok\":false}],"
        "\"watched_total\":{\"us_per_acked_msg\":40.0}}}";
    init_step(&r, "x", 1, 15);
    st_check(tb_step_from_json(&r, js, strlen(js)) == 0 && r.ran && r.sent == 300 &&
                 r.unacked5 == 1 && r.p99_ms == 12.25 && r.n_cpu == 2 && r.cpu[0].ok &&
                 r.cpu[0].us_per_msg == 40.0 && !r.cpu[1].ok && r.watched_us_per_msg == 40.0,
             "a run's JSON is read back");
    tb_step_free(&r);
    st_check(tb_step_from_json(&r, "{\"mode\":\"idle\"}", 15) < 0 &&
                 tb_step_from_json(&r, "not json", 8) < 0,
             "JSON that is not a send run is refused");
}

static void test_args(void)
{
    static real_t rl;
    static const struct option std[] = {
        {"count", required_argument, NULL, 300}, {"rate", required_argument, NULL, 301},
        {"json", no_argument, NULL, 302},        {"mode", required_argument, NULL, 303},
        {"senders", required_argument, NULL, 304}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char *v1[] = {"tt-bench", "--json", "real", "--conversations", "50", "--rate=10",
                  "--count", "400", NULL};
    st_check(real_parse(&rl, 8, v1, std) == 0 && rl.real && rl.json && rl.conversations == 50 &&
                 rl.rate == 10 && rl.count == 400 && rl.n_fwd == 2 &&
                 !strcmp(rl.fwd[0], "--json") && !strcmp(rl.fwd[1], "--rate=10"),
             "real mode options are read, the others forwarded");
    argv_t a;
    build_argv(&a, &rl, v1[0], 50, 400, 0, "warm", 0);
    int senders = -1, last_rate = -1;
    for (int i = 0; i + 1 < a.n; i++) {
        if (!strcmp(a.v[i], "--senders"))
            senders = i;
        if (!strncmp(a.v[i], "--rate", 6))
            last_rate = i;
    }
    st_check(senders > 0 && !strcmp(a.v[senders + 1], "50") && last_rate > 0 &&
                 !strcmp(a.v[last_rate], "--rate=10") && a.v[a.n] == NULL,
             "a run's command line: the user's --rate after the default, the senders last");
    char *v2[] = {"tt-bench", "--count", "10", NULL};
    st_check(real_parse(&rl, 3, v2, std) == 0 && !rl.real, "not real mode: nothing taken");
    char *v3[] = {"tt-bench", "--mode", "real", "--senders", "5", NULL};
    st_check(real_parse(&rl, 5, v3, std) == 2, "real refuses --senders");
    char *v4[] = {"tt-bench", "real", "send", NULL};
    st_check(real_parse(&rl, 3, v4, std) == 2, "real refuses a second mode");
    char *v5[] = {"tt-bench", "real", "--sweep", "rate=5,10", "--contact", "both", NULL};
    st_check(real_parse(&rl, 6, v5, std) == 2, "sweep and contact both are exclusive");
}

int tb_real_self_test(int *checks)
{
    st_checks = st_failures = 0;
    test_pairing();
    test_cpu();
    test_sweep();
    test_args();
    *checks += st_checks;
    return st_failures;
}
