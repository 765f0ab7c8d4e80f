/* tt-bench: a load generator that speaks only the TeamTalk wire protocol. N clients log in
 * (discovering msg_server through login_server like a real client, or told where it is), then
 * either send one-to-one text messages in pairs and measure throughput and latency
 * (mode "send"), or send group messages fanned out to G groups of M members and check that
 * every member connection gets each exactly once (mode "group", tb_group.h), or stay logged in
 * with heartbeats so that the server's memory per idle connection can be measured (mode
 * "idle").
 *
 * Threads: one coordinator (main: phases, progress, RSS sampling, signals) and T workers, each
 * with its own tt_loop and its own clients (client i belongs to worker i % T). Workers share
 * nothing mutable with each other: they publish counters (single writer, relaxed atomics) and
 * the user ids learnt at login; the coordinator moves the shared phase forward. Latency is
 * carried inside the message itself (sequence number and send time in the plaintext), so a
 * receiver never needs the sender's state. */
#ifndef TT_BENCH_H
#define TT_BENCH_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ttc_crypto.h"
#include "tb_cpu.h"
#include "tb_discover.h"
#include "tb_hist.h"
#include "tb_payload.h"
#include "tb_rss.h"
#include "tt_conn.h"
#include "tt_loop.h"

#define TB_VERSION "tt-bench/1"
#define TB_MAX_WATCH 16
#define TB_MAX_SRC_IPS 64
#define TB_MAX_WINDOW 4096
#define TB_MAX_MSG_SERVERS 16

typedef enum { TB_MODE_SEND, TB_MODE_IDLE, TB_MODE_GROUP } tb_mode_t;

typedef struct tb_config_s {
    tb_mode_t mode;              /* send or idle */
    const char *login_url;       /* --login-url, NULL with --msg-server */
    int discover_each;           /* --discover each: every client asks login_server itself */
    char msg_host[256];          /* msg_server address (given or discovered once) */
    uint16_t msg_port;           /* msg_server port */
    const char *msg_list;        /* --msg-server as given: HOST:PORT[,HOST:PORT...] */
    uint32_t groups, members;    /* mode group: G groups of M members (tb_group.h) */
    uint32_t group_cap;          /* mode group: messages tracked per sender */
    const char *user_pattern;    /* printf pattern with one integer, e.g. "TT%03d" */
    uint32_t first, count;       /* accounts first .. first + count - 1 */
    char password_md5[33];       /* md5 hex of --password, as clients send it */
    uint32_t client_type;        /* IM.BaseDefine.ClientType */
    uint32_t senders;            /* clients 0 .. senders-1 send (group: members per group) */
    uint32_t shift;              /* sender i sends to client (i + shift) mod count */
    int pair_half;               /* --pair-offset given: the half rule (tb_real.h) instead */
    uint32_t pair_offset;        /* --pair-offset K */
    int zero_msg_id;             /* --msg-id zero: msg_id 0 on the wire, as shipped clients */
    const char *label;           /* --label, printed in the report (NULL: none) */
    double cpu_baseline;         /* --cpu-baseline S: idle CPU sampled before the logins */
    double rate;                 /* messages/s per sender, 0: as fast as the window allows */
    uint32_t window;             /* messages in flight (unacknowledged) per sender */
    double max_conn_rate;        /* messages/s cap per connection, 0: none */
    uint32_t size;               /* plaintext bytes per message */
    double duration;             /* measured seconds (idle: seconds to stay logged in) */
    double warmup;               /* seconds of sending before measuring */
    double grace;                /* seconds to wait for late acks/deliveries after sending */
    uint32_t ack_timeout_ms;     /* an unacknowledged message stops holding a window slot */
    uint32_t login_timeout_ms;   /* per client: discovery + connect + login */
    uint32_t login_window;       /* logins in progress at once (all workers together) */
    uint32_t heartbeat_s;        /* heartbeat after this many seconds without sending */
    uint32_t threads;            /* worker threads */
    uint32_t max_pdu;            /* largest frame accepted from the server */
    struct in_addr src_ips[TB_MAX_SRC_IPS]; /* --source-ips */
    uint32_t n_src_ips;
    tb_watch_t watch[TB_MAX_WATCH]; /* --watch-pid */
    int n_watch;
    int json;                    /* --json: one JSON object on stdout */
    int quiet;                   /* no progress lines */
    int no_receipts;             /* --no-receipts: receivers do not answer with IMMsgDataAck */
} tb_config_t;

/* Counters; each worker writes only its own (relaxed atomics so the coordinator can read). */
typedef enum {
    TB_C_LOGIN_OK,        /* IMLoginRes with result 0 */
    TB_C_LOGIN_REFUSED,   /* IMLoginRes with another result (see refused[]) */
    TB_C_LOGIN_TIMEOUT,   /* no answer within --login-timeout */
    TB_C_LOGIN_CLOSED,    /* connection closed before the answer */
    TB_C_CONNECT_FAILED,  /* TCP connect to msg_server failed */
    TB_C_DISCOVER_FAILED, /* per-client login_server GET failed */
    TB_C_SENT,            /* IMMsgData sent (warm-up included) */
    TB_C_ACKED,           /* of those, IMMsgDataAck received */
    TB_C_DELIVERED,       /* of those, delivered to the receiver (distinct) */
    TB_C_SENT_M,          /* sent inside the measured window */
    TB_C_ACKED_M,         /* measured messages acknowledged */
    TB_C_DELIVERED_M,     /* measured messages delivered */
    TB_C_ACK_LATE,        /* acks that came after --ack-timeout (still counted as acked) */
    TB_C_ACK_TIMEOUT,     /* window slots released by --ack-timeout */
    TB_C_ACK_UNMATCHED,   /* IMMsgDataAck whose seq matched nothing in flight */
    TB_C_DUP_DELIVERY,    /* the same message delivered again */
    TB_C_FOREIGN_DELIVERY,/* a tt-bench message from an unexpected sender */
    TB_C_BAD_DELIVERY,    /* IMMsgData text that does not decrypt to a tt-bench payload */
    TB_C_OTHER_MSG,       /* IMMsgData of another type */
    TB_C_RECEIPTS,        /* IMMsgDataAck sent by receivers */
    TB_C_KICKED,          /* IMKickUser received (connection then closed by us) */
    TB_C_CLOSED_BY_SERVER,/* logged-in connections closed by the server */
    TB_C_CONN_ERRORS,     /* logged-in connections lost otherwise (reset, bad frame, ...) */
    TB_C_UNKNOWN_PDU,     /* frames with a command we do not use (ignored) */
    TB_C_BAD_PDU,         /* bodies that do not parse */
    TB_C_HEARTBEAT_TX,    /* heartbeats sent */
    TB_C_HEARTBEAT_RX,    /* heartbeats received */
    TB_C_RATE_SLIPS,      /* a sender fell more than 1 s behind its --rate schedule */
    TB_C_IDLE_SENDERS,    /* senders that could not send (they or their partner not logged in) */
    TB_NCOUNTERS
} tb_counter_t;

extern const char *const tb_counter_names[TB_NCOUNTERS];

#define TB_REFUSE_CODES 9 /* IMLoginRes result codes 0..7, 8 = anything else */
#define TB_UNKNOWN_SLOTS 8 /* distinct unknown command ids counted per worker */

/* Frames with a command tt-bench does not use, by command id (the rest in "other"). */
typedef struct tb_unknown_s {
    uint16_t cmd[TB_UNKNOWN_SLOTS];   /* command ids, in order of first appearance */
    uint64_t count[TB_UNKNOWN_SLOTS]; /* frames per command id */
    uint32_t n;                       /* slots used */
    uint64_t other;                   /* frames of further command ids */
} tb_unknown_t;

typedef struct tb_worker_s tb_worker_t;
typedef struct tb_client_s tb_client_t;

/* Shared by all threads. Fields above `phase` are written before the workers start or before
 * the phase store that publishes them (release), and only read afterwards. */
typedef struct tb_run_s {
    const tb_config_t *cfg;          /* options */
    struct sockaddr_in msg_addr;     /* msg_server (unless discover_each) */
    struct sockaddr_in msg_addrs[TB_MAX_MSG_SERVERS]; /* --msg-server list: client i uses */
    uint32_t n_msg_addrs;            /* msg_addrs[i % n] (0: msg_addr for everybody) */
    struct tb_group_s *group;        /* mode group */
    tb_url_t login_url;              /* parsed --login-url */
    struct sockaddr_in login_addr;   /* login_server HTTP address */
    uint32_t *user_ids;              /* per client, from IMLoginRes (0: not logged in) */
    uint32_t run_id;                 /* random, in every payload (other runs' are foreign) */
    uint64_t login_start_us;         /* when the first client started */
    uint64_t run_start_us;           /* sending starts */
    uint64_t measure_start_us;       /* run_start + warm-up */
    uint64_t measure_end_us;         /* measure_start + duration */
    _Atomic int phase;               /* tb_phase_t */
    tb_worker_t *workers;            /* cfg->threads of them */
} tb_run_t;

typedef enum {
    TB_PHASE_LOGIN, /* clients connect and log in */
    TB_PHASE_RUN,   /* senders send (send mode) / everybody idles (idle mode) */
    TB_PHASE_STOP,  /* workers stop their loops */
    TB_PHASE_SETUP  /* between LOGIN and RUN in mode group: the groups are created */
} tb_phase_t;

struct tb_worker_s {
    tb_run_t *run;                   /* shared state */
    int id;                          /* 0 .. threads-1 */
    pthread_t thread;                /* the worker thread */
    tt_loop_t *loop;                 /* its reactor */
    tt_timer_t tick;                 /* phase changes, ack timeouts */
    tt_defer_t start_defer;          /* start more logins (keeps fail paths non-recursive) */
    tb_client_t **clients;           /* clients of this worker */
    uint32_t n_clients;
    uint32_t next_start;             /* next client to start logging in */
    uint32_t logins_in_progress;     /* started, not finished */
    uint32_t login_window;           /* this worker's share of --login-window */
    int phase_seen;                  /* last phase acted on */
    unsigned ticks;                  /* tick counter */
    int stopping;                    /* closing everything: closes are not counted */
    ttc_cipher_t cipher;              /* message cipher */
    uint8_t *plain;                  /* plaintext template (size bytes) and scratch */
    char *text;                      /* Base64 scratch */
    size_t text_cap;
    uint8_t *rx_plain;               /* decrypted delivery scratch */
    size_t rx_cap;
    uint64_t rng;                    /* xorshift state (send staggering) */
    tb_hist_t ack_hist;              /* send -> IMMsgDataAck, us (measured messages) */
    tb_hist_t deliv_hist;            /* send -> delivery, us (measured messages) */
    tb_hist_t login_hist;            /* start -> IMLoginRes, us */
    tb_unknown_t unknown;            /* ignored frames by command (read after the join) */
    _Atomic uint64_t c[TB_NCOUNTERS];            /* counters */
    _Atomic uint64_t refused[TB_REFUSE_CODES];   /* login refusals by result code */
    _Atomic uint64_t last_login_us;  /* when the last login of this worker finished */
    _Atomic uint32_t logins_done;    /* finished logins (ok or not); release after user_ids */
    char first_error[256];           /* first failure text, for the report */
    char first_close[256];           /* first unexpected close of a logged-in connection */
};

uint64_t tb_now_us(void);

/* tb_client.c: the worker thread. */
int tb_worker_init(tb_worker_t *w, tb_run_t *run, int id);
void *tb_worker_main(void *arg);
void tb_worker_free(tb_worker_t *w);

static inline uint64_t tb_get(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

/* tb_report.c: summary and JSON. */
typedef struct tb_result_s {
    const tb_config_t *cfg;          /* options */
    const char *target;              /* "host:port" of msg_server, or "discovered per client" */
    uint64_t c[TB_NCOUNTERS];        /* summed counters */
    uint64_t refused[TB_REFUSE_CODES];
    tb_hist_t ack_hist, deliv_hist, login_hist;
    tb_unknown_t unknown;            /* merged */
    double login_seconds;            /* first start -> last login answer */
    double measured_seconds;         /* measured window actually covered */
    double run_seconds;              /* send/idle phase length */
    int interrupted;                 /* Ctrl-C / SIGTERM */
    int logins_attempted;            /* clients started */
    const char *first_error;         /* first login failure text, or NULL */
    const char *first_close;         /* first unexpected close, or NULL */
    const tb_watch_t *watch;         /* --watch-pid results */
    int n_watch;
    uint64_t self_rss_hwm;           /* tt-bench's own peak RSS */
    const tb_cpu_t *cpu;             /* CPU over the measured phase (tb_cpu.h) */
    const struct tb_group_s *group;  /* mode group, after tb_group_finish */
} tb_result_t;

/* Measured messages not acked within 5 s of their send: never acked, or acked later. */
uint64_t tb_unacked_after(const tb_result_t *r, uint64_t limit_us);

void tb_unknown_add(tb_unknown_t *u, uint16_t cmd, uint64_t n);
void tb_report_text(const tb_result_t *r);
void tb_report_json(const tb_result_t *r);

/* tb_real.c: the pairing rule of a configuration (shift rule, or the half rule of
 * --pair-offset): the partner of sender i, and the sender of client j (UINT32_MAX: none). */
uint32_t tb_partner_of(const tb_config_t *cfg, uint32_t i);
uint32_t tb_sender_of(const tb_config_t *cfg, uint32_t j);

/* tb_selftest.c */
int tb_self_test(void);

#endif
