/* Presence for push decisions (base/tt_pushpresence.h): a msg_server asks, for up to
 * TT_PUSH_PRESENCE_MAX users, whether each has a mobile client connected and a PC client
 * online anywhere; the answer goes back on the asking connection only, in the order asked.
 * A malformed query is logged (rate-limited) and not answered: the msg_server's deadline then
 * decides. */
#include <stdlib.h>

#include "route_server.h"
#include "tt_log.h"
#include "tt_pushpresence.h"

void rs_push_presence(void *ctx, tt_conn_t *from, const tt_pdu_t *pdu)
{
    route_server_t *rs = ctx;
    size_t len = pdu->body_len;
    if (len < 8 || (len - 4) % 4 || (len - 4) / 4 > TT_PUSH_PRESENCE_MAX) {
        log_warn_rl("push presence query from %s refused: %zu bytes", from->peer, len);
        return;
    }
    size_t n = (len - 4) / 4;
    uint8_t *out = malloc(4 + n * TT_PP_ENTRY);
    if (!out) {
        log_error("out of memory answering a push presence query from %s", from->peer);
        return;
    }
    tt_put32(out, tt_get32(pdu->body));
    for (size_t i = 0; i < n; i++) {
        uint32_t uid = tt_get32(pdu->body + 4 + 4 * i);
        unsigned k = rs_presence_kinds(&rs->presence, uid);
        uint8_t *e = out + 4 + i * TT_PP_ENTRY;
        tt_put32(e, uid);
        e[4] = (uint8_t)(((k & RS_KIND_MOBILE) ? TT_PP_MOBILE : 0) | ((k & RS_KIND_PC) ? TT_PP_PC : 0));
    }
    if (tt_pdu_send_raw(from, TT_SID_OTHER, TT_CID_PUSH_PRESENCE_RSP, pdu->seq_num, out,
                        4 + n * TT_PP_ENTRY) < 0)
        log_warn_rl("push presence answer not queued to %s", from->peer);
    free(out);
}
