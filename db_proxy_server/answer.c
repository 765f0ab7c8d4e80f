/* Helpers shared by the handlers: packing an answer frame, UserInfo from a row, checked-out
 * connections with their failures logged, and checks of client-supplied strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_proxy.h"
#include "tt_log.h"

int dbp_answer(dbp_ctx_t *x, const ProtobufCMessage *msg)
{
    free(x->frame);
    x->frame = NULL;
    x->frame_len = 0;
    size_t body = protobuf_c_message_get_packed_size(msg);
    if (body > UINT32_MAX - TT_PDU_HEADER_LEN)
        return -1;
    uint8_t *f = malloc(TT_PDU_HEADER_LEN + body);
    if (!f)
        return -1;
    protobuf_c_message_pack(msg, f + TT_PDU_HEADER_LEN);
    tt_pdu_encode_header(f, (uint32_t)(TT_PDU_HEADER_LEN + body), x->cmd->rsp_sid,
                         x->cmd->rsp_cid, x->seq);
    x->frame = f;
    x->frame_len = TT_PDU_HEADER_LEN + body;
    return 0;
}

void dbp_user_info(IM__BaseDefine__UserInfo *ui, const td_user_t *u)
{
    im__base_define__user_info__init(ui);
    ui->user_id = u->id;
    ui->user_gender = u->sex;
    ui->user_nick_name = u->nick;
    ui->avatar_url = u->avatar;
    ui->department_id = u->depart_id;
    ui->email = u->email;
    ui->user_real_name = u->name;
    ui->user_tel = u->phone;
    ui->user_domain = u->domain;
    ui->status = u->status;
    ui->sign_info = u->sign_info;
}

td_conn_t *dbp_db(dbp_ctx_t *x, int write)
{
    char err[512];
    td_conn_t *c = td_db_get(write ? x->dbp->master : x->dbp->slave, err, sizeof(err));
    if (!c) /* the pool itself warns when the server goes and comes back */
        log_debug("%s from %s: no database: %s", x->cmd->name, x->peer, err);
    return c;
}

void dbp_db_put(dbp_ctx_t *x, td_conn_t *c, int write)
{
    td_db_put(write ? x->dbp->master : x->dbp->slave, c);
}

void dbp_db_failed(dbp_ctx_t *x, td_conn_t *c, const char *what)
{
    log_warn("%s from %s: %s failed: %s (%u)", x->cmd->name, x->peer, what, td_conn_error(c),
             td_conn_errno(c));
}

dbp_cache_conn_t *dbp_cache(dbp_ctx_t *x, dbp_cache_t *p)
{
    char err[512];
    if (!p) {
        log_info("%s from %s: that Redis pool is not configured", x->cmd->name, x->peer);
        return NULL;
    }
    dbp_cache_conn_t *c = dbp_cache_get(p, err, sizeof(err));
    if (!c)
        log_debug("%s from %s: no Redis: %s", x->cmd->name, x->peer, err);
    return c;
}

int dbp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            min = 0x80;
            c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            min = 0x800;
            c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            min = 0x10000;
            c &= 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

const char *dbp_printable(const char *s, char *buf, size_t buflen)
{
    size_t o = 0, shown = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < buflen; p++) {
        if (shown++ == 64) {
            o += (size_t)snprintf(buf + o, buflen - o, "...");
            break;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            buf[o++] = (char)*p;
        else
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", *p);
    }
    buf[o < buflen ? o : buflen - 1] = '\0';
    return buf;
}

uint64_t dbp_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}
