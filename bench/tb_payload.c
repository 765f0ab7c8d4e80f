#include "tb_payload.h"

#include <string.h>

static const char hexd[] = "0123456789abcdef";

static void put_hex(uint8_t *out, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (uint8_t)hexd[v & 15];
        v >>= 4;
    }
}

static int get_hex(const uint8_t *in, int digits, uint64_t *v)
{
    uint64_t r = 0;
    for (int i = 0; i < digits; i++) {
        uint8_t ch = in[i];
        int d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else
            return -1;
        r = r << 4 | (uint64_t)d;
    }
    *v = r;
    return 0;
}

void tb_payload_write(uint8_t *buf, const tb_payload_t *p)
{
    memcpy(buf, "TTB1 ", 5);
    put_hex(buf + 5, p->run_id, 8);
    buf[13] = ' ';
    put_hex(buf + 14, p->sender, 8);
    buf[22] = ' ';
    put_hex(buf + 23, p->seq, 16);
    buf[39] = ' ';
    put_hex(buf + 40, p->send_us, 16);
    buf[56] = ' ';
}

int tb_payload_parse(const uint8_t *buf, size_t len, tb_payload_t *p)
{
    uint64_t run, sender;
    if (len < TB_PAYLOAD_HEADER || memcmp(buf, "TTB1 ", 5) != 0 || buf[13] != ' ' ||
        buf[22] != ' ' || buf[39] != ' ' || buf[56] != ' ')
        return -1;
    if (get_hex(buf + 5, 8, &run) < 0 || get_hex(buf + 14, 8, &sender) < 0 ||
        get_hex(buf + 23, 16, &p->seq) < 0 || get_hex(buf + 40, 16, &p->send_us) < 0)
        return -1;
    p->run_id = (uint32_t)run;
    p->sender = (uint32_t)sender;
    return 0;
}

int tb_pattern_ok(const char *pattern)
{
    int conversions = 0;
    for (const char *p = pattern; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p == '0' || *p == '-' || *p == '+' || *p == ' ')
            p++;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p != 'd' && *p != 'i' && *p != 'u')
            return -1;
        conversions++;
    }
    return conversions == 1 ? 0 : -1;
}

uint32_t tb_pair_shift(uint32_t count, uint32_t senders)
{
    if (count < 2 || senders > count)
        return 0;
    return senders < count ? (senders ? senders : 1) : count / 2;
}

uint32_t tb_slot_count(uint32_t window)
{
    static const uint32_t divisors[] = {43, 127, 129, 381, 5461}; /* 16383 = 3 * 43 * 127 */
    for (size_t i = 0; i < sizeof(divisors) / sizeof(divisors[0]); i++)
        if (divisors[i] >= 2 * window + 8)
            return divisors[i];
    return TB_MSG_SEQS;
}

int tb_rx_first_time(tb_rx_window_t *r, uint64_t seq)
{
    if (seq > r->hi) {
        if (seq - r->hi >= TB_RX_WINDOW)
            memset(r->bits, 0, sizeof(r->bits));
        else
            for (uint64_t q = r->hi + 1; q < seq; q++)
                r->bits[(q % TB_RX_WINDOW) / 64] &= ~(UINT64_C(1) << (q % 64));
        r->hi = seq;
        r->bits[(seq % TB_RX_WINDOW) / 64] |= UINT64_C(1) << (seq % 64);
        return 1;
    }
    if (r->hi - seq >= TB_RX_WINDOW)
        return 1;
    uint64_t bit = UINT64_C(1) << (seq % 64);
    uint64_t *word = &r->bits[(seq % TB_RX_WINDOW) / 64];
    if (*word & bit)
        return 0;
    *word |= bit;
    return 1;
}
