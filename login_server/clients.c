/* Clients asking which msg_server to use: HTTP (any method, URL starting with /msg_server,
 * JSON answer of PROTOCOL.md §5.1) and the deprecated TCP port (IMMsgServReq ->
 * IMMsgServRsp, then close). Both answer with the registry's pick. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "login_server.h"
#include "tt_log.h"

static const char *const pick_msg[] = {"", "没有msg_server", "负载过高"};

char *ls_discovery_json(const ls_msg_server_t *m, int code, const char *msfs,
                        const char *discovery, size_t *len)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *msg = m || code < 0 || code > 2 ? "" : pick_msg[code];
    int bad = json_object_set_new(o, "code", json_integer(code));
    bad |= json_object_set_new(o, "msg", json_string(msg));
    if (m) {
        char port[16];
        snprintf(port, sizeof(port), "%u", (unsigned)m->port); /* a string, as clients expect */
        /* The original's "telecom" test is true for every IPv4 peer: IpAddr1 first. */
        bad |= json_object_set_new(o, "priorIP", json_string(m->ip1));
        bad |= json_object_set_new(o, "backupIP", json_string(m->ip2));
        bad |= json_object_set_new(o, "port", json_string(port));
        bad |= json_object_set_new(o, "msfsPrior", json_string(msfs));
        bad |= json_object_set_new(o, "msfsBackup", json_string(msfs));
        bad |= json_object_set_new(o, "discovery", json_string(discovery));
    }
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}

void ls_http_request(tt_http_req_t *req, void *udata)
{
    login_server_t *ls = udata;
    if (strncmp(req->url, "/msg_server", 11) != 0) {
        tt_http_drop(req, "unknown path"); /* as the original: no answer */
        return;
    }
    int code;
    const ls_msg_server_t *m = ls_registry_pick(&ls->registry, &code);
    size_t len;
    char *body = ls_discovery_json(m, code, ls->msfs, ls->discovery, &len);
    if (!body) {
        tt_http_drop(req, "out of memory");
        return;
    }
    if (m)
        log_debug("%s %s from %s: msg_server %s:%u (%u/%u)", req->method, req->url,
                  req->conn->peer, m->ip1, (unsigned)m->port, (unsigned)m->cur_conn_cnt,
                  (unsigned)m->max_conn_cnt);
    else
        log_info_rl("%s %s from %s: no msg_server to give (%s)", req->method, req->url,
                 req->conn->peer, code == LS_PICK_FULL ? "all full" : "none registered");
    tt_http_respond(req, 200, "text/html;charset=utf-8", body, len);
    free(body);
}

/* ---- deprecated TCP path (ClientPort) ---- */

static void tcp_client_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    login_server_t *ls = udata;
    if (pdu->command_id != IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_MSGSERVER) {
        log_info_rl("command 0x%04x from client %s not handled", pdu->command_id, c->peer);
        return;
    }
    int code;
    const ls_msg_server_t *m = ls_registry_pick(&ls->registry, &code);
    IM__Login__IMMsgServRsp rsp = IM__LOGIN__IMMSG_SERV_RSP__INIT;
    rsp.result_code = (IM__BaseDefine__ResultType)code;
    if (m) {
        rsp.prior_ip = m->ip1;
        rsp.backip_ip = m->ip2;
        rsp.has_port = 1;
        rsp.port = m->port;
    }
    tt_pdu_send(c, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_MSGSERVER, pdu->seq_num, &rsp.base);
    tt_conn_close_after_flush(c, "answered");
}

const tt_server_handler_t ls_tcp_client_handler = {NULL, tcp_client_pdu, NULL, NULL};
