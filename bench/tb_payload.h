/* tb_payload: what tt-bench puts inside a message, and how accounts and pairs are laid out.
 * The plaintext (before the TeamTalk cipher) starts with a fixed 57-byte ASCII header
 *   "TTB1 <run id, 8 hex> <sender index, 8 hex> <sequence, 16 hex> <send time us, 16 hex> "
 * followed by filler up to --size bytes, so a receiver can match a delivery to its send time
 * and detect duplicates without any state shared with the sender. */
#ifndef TB_PAYLOAD_H
#define TB_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define TB_PAYLOAD_HEADER 57

typedef struct tb_payload_s {
    uint32_t run_id;   /* random per tt-bench process: messages of other runs are foreign */
    uint32_t sender;   /* index of the sending client */
    uint64_t seq;      /* per-sender message number, from 1 */
    uint64_t send_us;  /* monotonic send time of the sending process, microseconds */
} tb_payload_t;

/* Writes the header over the first TB_PAYLOAD_HEADER bytes of buf (no NUL). */
void tb_payload_write(uint8_t *buf, const tb_payload_t *p);
/* 0 when buf starts with a well-formed header (fields set), -1 otherwise. */
int tb_payload_parse(const uint8_t *buf, size_t len, tb_payload_t *p);

/* 0 when pattern has exactly one integer conversion (%d, %i or %u with optional flags and
 * width, "%%" allowed elsewhere) and nothing else that printf would interpret. */
int tb_pattern_ok(const char *pattern);

/* The pairing rule: sender i (i < senders) sends to client (i + shift) mod count, with
 * shift = senders when senders < count, else count / 2. Every client then receives from at
 * most one sender, and never from itself. 0 when count < 2 or senders > count. */
uint32_t tb_pair_shift(uint32_t count, uint32_t senders);

/* Messages take the odd seq numbers 1, 3, .. 32765: TB_MSG_SEQS of them, then wrap. */
#define TB_MSG_SEQS 16383
/* Window slots per sender: the smallest divisor of TB_MSG_SEQS that holds two windows, so
 * message k (seq 2k+1) lives in slot k % slots and the index never jumps at the wrap. */
uint32_t tb_slot_count(uint32_t window);

/* Receiver-side duplicate detection over the last TB_RX_WINDOW sequences of one sender. */
#define TB_RX_WINDOW 1024
typedef struct tb_rx_window_s {
    uint32_t from;                    /* index of the only client that sends to this one */
    uint64_t hi;                      /* highest sequence seen (0: none) */
    uint64_t bits[TB_RX_WINDOW / 64]; /* which of hi-1023 .. hi were seen */
} tb_rx_window_t;
/* 1 when seq (>= 1) is seen for the first time (or is too old to tell), 0 for a duplicate. */
int tb_rx_first_time(tb_rx_window_t *r, uint64_t seq);

#endif
