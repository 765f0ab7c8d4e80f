/* msg_server layer 1: attach_data, the opaque blob put in requests to db_proxy_server and
 * route_server, which echo it, so that an answer finds its client connection (and request)
 * again; and reflection helpers over any request or answer (attach.c). */
#ifndef MS_ATTACH_H
#define MS_ATTACH_H

#include "ms_core.h"

/* The 12-byte CDbAttachData: type 1, handle, and our request ordinal in service_type. */
void ms_attach_encode(uint8_t out[12], uint32_t handle, uint32_t ordinal);
/* The 16+N-byte CPduAttachData (type 3) carrying an extra payload (the original request). */
int ms_attach_encode_payload(ProtobufCBinaryData *out, uint32_t handle, uint32_t ordinal,
                             const uint8_t *payload, size_t len);
/* A chat message's attach_data to db_proxy_server: the type-3 form (28 bytes) whose payload is
 * MS_RESEND_TAG, BE32(request seq_num), BE32(the client's create_time) — what db_proxy needs to
 * recognise a client's resend (db_proxy_server/h_msg.h DBP_MSG_RESEND_TAG), since this server
 * stamps create_time itself. */
#define MS_RESEND_TAG "RSND"
#define MS_ATTACH_CHAT_LEN 28
void ms_attach_encode_chat(uint8_t out[MS_ATTACH_CHAT_LEN], uint32_t handle, uint32_t ordinal,
                           uint16_t seq, uint32_t client_time);
/* A group message's form: the chat form and BE32(version of the group's member list cached
 * here, 0 for none) — db_proxy_server answers with the members when the message is stored
 * under another version (db_proxy_server/h_msg.h DBP_MSG_ATTACH_GROUP_LEN). */
#define MS_ATTACH_GROUP_LEN 32
void ms_attach_encode_group(uint8_t out[MS_ATTACH_GROUP_LEN], uint32_t handle, uint32_t ordinal,
                            uint16_t seq, uint32_t client_time, uint32_t version);
/* The payload of a stored group message's answer: "GRPV", BE32 version, BE32 n, n x BE32 ids
 * (n 0: the cached list is that version). 0 when it is one (*ids points into it), -1 not. */
#define MS_GROUP_TAG "GRPV"
int ms_attach_group(const uint8_t *payload, size_t plen, uint32_t *version, const uint8_t **ids,
                    size_t *n);
/* The payload db_proxy_server appends to a stored-message answer for a resend that was
 * already answered and delivered (db_proxy_server/h_msg.h DBP_MSG_DUP_MARK). */
#define MS_DUP_MARK "DUPE"
#define MS_DUP_MARK_LEN 4
/* Reads either form; payload is NULL for the 12-byte one. -1 when malformed. */
int ms_attach_decode(const ProtobufCBinaryData *a, uint32_t *handle, uint32_t *ordinal,
                     const uint8_t **payload, size_t *plen);
/* Reflection helpers: the attach_data field (20) and a uint32 field by name. */
ProtobufCBinaryData *ms_pb_attach(ProtobufCMessage *m, protobuf_c_boolean **has);
int ms_pb_set_u32(ProtobufCMessage *m, const char *name, uint32_t v);
int ms_pb_get_u32(const ProtobufCMessage *m, const char *name, uint32_t *v);

#endif
