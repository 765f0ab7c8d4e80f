/* attach_data (layer 1, ms_attach.h): the opaque blob msg_server puts in requests to
 * db_proxy_server and route_server, which echo it, so that an answer finds its client
 * connection again. */
#include <stdlib.h>
#include <string.h>

#include "ms_attach.h"

#define ATTACH_TYPE_HANDLE 1
#define ATTACH_TYPE_HANDLE_AND_PDU 3

void ms_attach_encode(uint8_t out[12], uint32_t handle, uint32_t ordinal)
{
    tt_put32(out, ATTACH_TYPE_HANDLE);
    tt_put32(out + 4, handle);
    tt_put32(out + 8, ordinal);
}

void ms_attach_encode_chat(uint8_t out[MS_ATTACH_CHAT_LEN], uint32_t handle, uint32_t ordinal,
                           uint16_t seq, uint32_t client_time)
{
    tt_put32(out, ATTACH_TYPE_HANDLE_AND_PDU);
    tt_put32(out + 4, handle);
    tt_put32(out + 8, ordinal);
    tt_put32(out + 12, MS_ATTACH_CHAT_LEN - 16);
    memcpy(out + 16, MS_RESEND_TAG, 4);
    tt_put32(out + 20, seq);
    tt_put32(out + 24, client_time);
}

void ms_attach_encode_group(uint8_t out[MS_ATTACH_GROUP_LEN], uint32_t handle, uint32_t ordinal,
                            uint16_t seq, uint32_t client_time, uint32_t version)
{
    ms_attach_encode_chat(out, handle, ordinal, seq, client_time);
    tt_put32(out + 12, MS_ATTACH_GROUP_LEN - 16);
    tt_put32(out + 28, version);
}

int ms_attach_group(const uint8_t *payload, size_t plen, uint32_t *version, const uint8_t **ids,
                    size_t *n)
{
    if (!payload || plen < 12 || memcmp(payload, MS_GROUP_TAG, 4) != 0)
        return -1;
    *version = tt_get32(payload + 4);
    *n = tt_get32(payload + 8);
    if (*n != (plen - 12) / 4 || (plen - 12) % 4)
        return -1;
    *ids = payload + 12;
    return 0;
}

int ms_attach_encode_payload(ProtobufCBinaryData *out, uint32_t handle, uint32_t ordinal,
                             const uint8_t *payload, size_t len)
{
    if (len > UINT32_MAX - 16)
        return -1;
    out->data = malloc(16 + len);
    if (!out->data)
        return -1;
    tt_put32(out->data, ATTACH_TYPE_HANDLE_AND_PDU);
    tt_put32(out->data + 4, handle);
    tt_put32(out->data + 8, ordinal);
    tt_put32(out->data + 12, (uint32_t)len);
    if (len)
        memcpy(out->data + 16, payload, len);
    out->len = 16 + len;
    return 0;
}

int ms_attach_decode(const ProtobufCBinaryData *a, uint32_t *handle, uint32_t *ordinal,
                     const uint8_t **payload, size_t *plen)
{
    *payload = NULL;
    *plen = 0;
    if (!a->data || a->len < 12)
        return -1;
    *handle = tt_get32(a->data + 4);
    *ordinal = tt_get32(a->data + 8);
    if (a->len == 12)
        return 0;
    if (a->len < 16)
        return -1;
    uint32_t n = tt_get32(a->data + 12);
    if (n != a->len - 16)
        return -1;
    *payload = a->data + 16;
    *plen = n;
    return 0;
}

ProtobufCBinaryData *ms_pb_attach(ProtobufCMessage *m, protobuf_c_boolean **has)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, 20);
    if (!f || f->type != PROTOBUF_C_TYPE_BYTES || f->label != PROTOBUF_C_LABEL_OPTIONAL)
        return NULL;
    *has = (protobuf_c_boolean *)((char *)m + f->quantifier_offset);
    return (ProtobufCBinaryData *)((char *)m + f->offset);
}

static const ProtobufCFieldDescriptor *u32_field(const ProtobufCMessageDescriptor *d,
                                                 const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    if (!f || f->type != PROTOBUF_C_TYPE_UINT32 || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return f;
}

int ms_pb_set_u32(ProtobufCMessage *m, const char *name, uint32_t v)
{
    const ProtobufCFieldDescriptor *f = u32_field(m->descriptor, name);
    if (!f)
        return -1;
    *(uint32_t *)((char *)m + f->offset) = v;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
    return 0;
}

int ms_pb_get_u32(const ProtobufCMessage *m, const char *name, uint32_t *v)
{
    const ProtobufCFieldDescriptor *f = u32_field(m->descriptor, name);
    if (!f)
        return -1;
    *v = *(const uint32_t *)((const char *)m + f->offset);
    return 0;
}
