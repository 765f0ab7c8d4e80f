#include "tt_pdu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int tt_pdu_parse(const uint8_t *buf, size_t len, uint32_t max_len, tt_pdu_t *pdu, char *err,
                 size_t errlen)
{
    if (len < 4)
        return TT_AGAIN;
    uint32_t length = tt_get32(buf);
    if (length < TT_PDU_HEADER_LEN) {
        snprintf(err, errlen, "frame length %u is below the %d-byte header", length,
                 TT_PDU_HEADER_LEN);
        return TT_ERR;
    }
    if (length > max_len) {
        snprintf(err, errlen, "frame length %u is above the maximum of %u", length, max_len);
        return TT_ERR;
    }
    if (len < length)
        return TT_AGAIN;
    pdu->length = length;
    pdu->version = get16(buf + 4);
    pdu->flag = get16(buf + 6);
    pdu->service_id = get16(buf + 8);
    pdu->command_id = get16(buf + 10);
    pdu->seq_num = get16(buf + 12);
    pdu->reserved = get16(buf + 14);
    pdu->body = buf + TT_PDU_HEADER_LEN;
    pdu->body_len = length - TT_PDU_HEADER_LEN;
    return TT_OK;
}

void tt_pdu_encode_header(uint8_t out[TT_PDU_HEADER_LEN], uint32_t length, uint16_t service_id,
                          uint16_t command_id, uint16_t seq_num)
{
    tt_put32(out, length);
    put16(out + 4, TT_PDU_VERSION);
    put16(out + 6, 0);
    put16(out + 8, service_id);
    put16(out + 10, command_id);
    put16(out + 12, seq_num);
    put16(out + 14, 0);
}

int tt_pdu_append(tt_buf_t *b, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                  const ProtobufCMessage *msg)
{
    size_t body = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    if (body > UINT32_MAX - TT_PDU_HEADER_LEN)
        return -1;
    if (tt_buf_reserve(b, TT_PDU_HEADER_LEN + body) < 0)
        return -1;
    uint8_t *p = tt_buf_tail(b);
    tt_pdu_encode_header(p, (uint32_t)(TT_PDU_HEADER_LEN + body), service_id, command_id, seq_num);
    if (msg)
        protobuf_c_message_pack(msg, p + TT_PDU_HEADER_LEN);
    tt_buf_commit(b, TT_PDU_HEADER_LEN + body);
    return 0;
}

ProtobufCMessage *tt_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                               size_t len)
{
    /* protobuf-c rejects truncated input, bad wire types and missing required fields. */
    return protobuf_c_message_unpack(desc, NULL, len, body);
}

void tt_pb_free(void *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* Reads a varint at *pos. 0 ok, -1 when it is cut or longer than 10 bytes. */
static int get_varint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t c = b[(*pos)++];
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1;
}

int tt_pb_next_field(const uint8_t *body, size_t len, size_t *pos, tt_pb_field_t *f)
{
    if (*pos >= len)
        return 0;
    uint64_t key, n;
    memset(f, 0, sizeof(*f));
    f->start = *pos;
    if (get_varint(body, len, pos, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    f->number = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    switch (f->wire) {
    case 0:
        if (get_varint(body, len, pos, &f->value) < 0)
            return -1;
        break;
    case 1:
    case 5:
        n = f->wire == 1 ? 8 : 4;
        if (len - *pos < n)
            return -1;
        f->data = body + *pos;
        f->len = (size_t)n;
        *pos += (size_t)n;
        break;
    case 2:
        if (get_varint(body, len, pos, &n) < 0 || n > len - *pos)
            return -1;
        f->data = body + *pos;
        f->len = (size_t)n;
        *pos += (size_t)n;
        break;
    default:
        return -1;
    }
    f->end = *pos;
    return 1;
}

int tt_pb_field_has_nul(const uint8_t *body, size_t len, uint32_t field)
{
    size_t pos = 0;
    int found = 0;
    while (pos < len) {
        uint64_t key, n;
        if (get_varint(body, len, &pos, &key) < 0)
            return -1;
        switch (key & 7) {
        case 0: /* varint */
            if (get_varint(body, len, &pos, &n) < 0)
                return -1;
            break;
        case 1: /* 64-bit */
        case 5: /* 32-bit */
            n = (key & 7) == 1 ? 8 : 4;
            if (len - pos < n)
                return -1;
            pos += n;
            break;
        case 2: /* length-delimited */
            if (get_varint(body, len, &pos, &n) < 0 || n > len - pos)
                return -1;
            if (key >> 3 == field && memchr(body + pos, 0, (size_t)n))
                found = 1;
            pos += (size_t)n;
            break;
        default: /* groups: not used by these protocols */
            return -1;
        }
    }
    return found;
}

/* ---- incremental reader ---- */

void tt_pdu_reader_init(tt_pdu_reader_t *r, uint32_t max_len)
{
    memset(r, 0, sizeof(*r));
    tt_buf_init(&r->buf);
    r->max_len = max_len ? max_len : TT_PDU_DEFAULT_MAX;
}

void tt_pdu_reader_free(tt_pdu_reader_t *r) { tt_buf_free(&r->buf); }

static void reader_drop_pending(tt_pdu_reader_t *r)
{
    if (r->pending) {
        tt_buf_consume(&r->buf, r->pending);
        r->pending = 0;
    }
}

int tt_pdu_reader_feed(tt_pdu_reader_t *r, const void *p, size_t n)
{
    reader_drop_pending(r);
    return tt_buf_append(&r->buf, p, n);
}

int tt_pdu_reader_next(tt_pdu_reader_t *r, tt_pdu_t *pdu)
{
    reader_drop_pending(r);
    int rc = tt_pdu_parse(tt_buf_head(&r->buf), tt_buf_len(&r->buf), r->max_len, pdu, r->err,
                          sizeof(r->err));
    if (rc == TT_OK)
        r->pending = pdu->length;
    return rc;
}

/* ---- frames over a connection ---- */

int tt_pdu_conn_drain(tt_conn_t *c, uint32_t max_len, tt_pdu_fn fn, void *arg)
{
    int handled = 0;
    char err[128];
    while (c->state == TT_CONN_OPEN && !c->paused) {
        tt_pdu_t pdu;
        int rc = tt_pdu_parse(tt_buf_head(&c->in), tt_buf_len(&c->in), max_len, &pdu, err,
                              sizeof(err));
        if (rc == TT_AGAIN)
            break;
        if (rc == TT_ERR) {
            tt_conn_close(c, "bad frame: %s", err);
            break;
        }
        /* The frame stays in c->in while fn runs (pdu.body points there); consume after. */
        fn(c, &pdu, arg);
        if (c->state == TT_CONN_CLOSED)
            break;
        if (c->hold_frame) { /* to be handled again after a resume */
            c->hold_frame = 0;
            break;
        }
        tt_buf_consume(&c->in, pdu.length);
        handled++;
    }
    return handled;
}

int tt_pdu_send(tt_conn_t *c, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                const ProtobufCMessage *msg)
{
    size_t body = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    if (body > UINT32_MAX - TT_PDU_HEADER_LEN)
        return -1;
    uint8_t *p = tt_conn_reserve(c, TT_PDU_HEADER_LEN + body);
    if (!p)
        return -1;
    tt_pdu_encode_header(p, (uint32_t)(TT_PDU_HEADER_LEN + body), service_id, command_id, seq_num);
    if (msg)
        protobuf_c_message_pack(msg, p + TT_PDU_HEADER_LEN);
    return tt_conn_commit(c, TT_PDU_HEADER_LEN + body);
}

int tt_pdu_send_raw(tt_conn_t *c, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                    const uint8_t *body, size_t body_len)
{
    if (body_len > UINT32_MAX - TT_PDU_HEADER_LEN)
        return -1;
    uint8_t *p = tt_conn_reserve(c, TT_PDU_HEADER_LEN + body_len);
    if (!p)
        return -1;
    tt_pdu_encode_header(p, (uint32_t)(TT_PDU_HEADER_LEN + body_len), service_id, command_id,
                         seq_num);
    if (body_len)
        memcpy(p + TT_PDU_HEADER_LEN, body, body_len);
    return tt_conn_commit(c, TT_PDU_HEADER_LEN + body_len);
}

const tt_cmd_t *tt_cmd_find(const tt_cmd_t *table, size_t n, uint16_t command_id)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].command_id == command_id)
            return &table[i];
    return NULL;
}
