/* tt_pdu: the TeamTalk frame. A 16-byte big-endian header (length including the header,
 * version, flag, service_id, command_id, seq_num, reserved) followed by a protobuf body.
 * The parser is pure: it looks at bytes and says OK / AGAIN / ERR, with hard size caps.
 * Pack/unpack helpers turn protobuf-c messages into frames and bodies back into messages,
 * where a body that does not parse is an error, never a crash. */
#ifndef TT_PDU_H
#define TT_PDU_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "tt_buf.h"
#include "tt_conn.h"

#define TT_PDU_HEADER_LEN 16
#define TT_PDU_VERSION 1
#define TT_PDU_DEFAULT_MAX (4u << 20)

/* Big-endian integers, as the header and the attach_data blobs carry them. */
static inline uint32_t tt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void tt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#define TT_OK 0
#define TT_ERR (-1)
#define TT_AGAIN (-2)

typedef struct tt_pdu_s {
    uint32_t length;      /* whole frame, header included */
    uint16_t version;     /* never validated (clients send 1, 6 or 13) */
    uint16_t flag;        /* ignored */
    uint16_t service_id;  /* carried, not used for dispatch */
    uint16_t command_id;  /* what every daemon dispatches on */
    uint16_t seq_num;     /* echoed in responses, 0 in notifications */
    uint16_t reserved;    /* ignored */
    const uint8_t *body;  /* points into the caller's buffer */
    uint32_t body_len;    /* length - 16 */
} tt_pdu_t;

/* Looks at the start of buf. TT_OK: *pdu describes one whole frame of pdu->length bytes;
 * TT_AGAIN: more bytes are needed; TT_ERR: the stream is bad (reason in err). */
int tt_pdu_parse(const uint8_t *buf, size_t len, uint32_t max_len, tt_pdu_t *pdu, char *err,
                 size_t errlen);
void tt_pdu_encode_header(uint8_t out[TT_PDU_HEADER_LEN], uint32_t length, uint16_t service_id,
                          uint16_t command_id, uint16_t seq_num);
/* Appends header + packed message (msg may be NULL for an empty body). */
int tt_pdu_append(tt_buf_t *b, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                  const ProtobufCMessage *msg);

/* Unpacks a body; NULL when it does not parse or lacks a required field. */
ProtobufCMessage *tt_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                               size_t len);
void tt_pb_free(void *msg);
/* 1 when a length-delimited occurrence of top-level field `field` in body holds a NUL byte (a
 * string protobuf-c would hand over cut at the NUL), 0 when none does, -1 when the body is
 * not well-formed. */
int tt_pb_field_has_nul(const uint8_t *body, size_t len, uint32_t field);

/* One top-level field of a protobuf body, as tt_pb_next_field reads it. */
typedef struct tt_pb_field_s {
    uint32_t number;     /* field number */
    uint32_t wire;       /* wire type: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit */
    uint64_t value;      /* a varint's value */
    const uint8_t *data; /* a length-delimited field's bytes */
    size_t len;          /* their number */
    size_t start, end;   /* where the whole field (key included) lies in the body */
} tt_pb_field_t;
/* Reads the field at *pos and moves *pos past it, so that a few fields can be read without
 * unpacking (and allocating) the whole message. 1 a field, 0 the end of the body, -1 not
 * well-formed (groups included). */
int tt_pb_next_field(const uint8_t *body, size_t len, size_t *pos, tt_pb_field_t *f);

/* Incremental reader over a byte stream: feed arbitrary pieces, take whole frames. */
typedef struct tt_pdu_reader_s {
    tt_buf_t buf;       /* unconsumed bytes */
    uint32_t max_len;   /* frame cap */
    size_t pending;     /* bytes of the frame returned last, dropped on the next call */
    char err[128];      /* why the stream was rejected */
} tt_pdu_reader_t;

void tt_pdu_reader_init(tt_pdu_reader_t *r, uint32_t max_len);
void tt_pdu_reader_free(tt_pdu_reader_t *r);
int tt_pdu_reader_feed(tt_pdu_reader_t *r, const void *p, size_t n);
/* TT_OK with *pdu valid until the next feed/next call, TT_AGAIN, or TT_ERR (r->err). */
int tt_pdu_reader_next(tt_pdu_reader_t *r, tt_pdu_t *pdu);

/* ---- frames over a tt_conn ---- */

typedef void (*tt_pdu_fn)(tt_conn_t *c, const tt_pdu_t *pdu, void *arg);

/* Calls fn for every whole frame in c->in and consumes them; stops when the connection closes
 * or pauses, or when fn set c->hold_frame (that frame stays, for after a resume). A bad frame closes the connection (the reason says why). Returns frames handled. */
int tt_pdu_conn_drain(tt_conn_t *c, uint32_t max_len, tt_pdu_fn fn, void *arg);
/* Queues one frame carrying msg on c. 0 ok, -1 when the connection refused it. */
int tt_pdu_send(tt_conn_t *c, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                const ProtobufCMessage *msg);
/* Queues a frame with a raw body. */
int tt_pdu_send_raw(tt_conn_t *c, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                    const uint8_t *body, size_t body_len);

/* Dispatch tables: a command id maps to one handler. */
typedef struct tt_cmd_s {
    uint16_t command_id;
    void (*fn)(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu);
} tt_cmd_t;
const tt_cmd_t *tt_cmd_find(const tt_cmd_t *table, size_t n, uint16_t command_id);

#endif
