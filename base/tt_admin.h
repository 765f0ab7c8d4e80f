/* Administration of users and departments, server-only commands (pb/TT.Admin.proto):
 * http_msg_server sends UserReq / DeptReq to db_proxy_server over its DaemonSecret link and
 * gets UserRsp / DeptRsp back with the same seq_num and attach_data. db_proxy_server is the
 * only one that writes MariaDB; the clients learn the changes through their changed-since
 * lists (users, departments). Clients never see these commands: msg_server forwards only the
 * commands of its tables, and refuses to register any in TT_CID_ADMIN_FIRST..TT_CID_ADMIN_LAST
 * (the server-only range, which also holds the daemon handshake, 0x07f0 / 0x07f1 of tt_auth.h:
 * the administration commands start after it). */
#ifndef TT_ADMIN_H
#define TT_ADMIN_H

#define TT_SID_ADMIN 0x0007 /* SID_OTHER */
#define TT_CID_ADMIN_FIRST 0x07f0
#define TT_CID_ADMIN_USER_REQ 0x07f4
#define TT_CID_ADMIN_USER_RSP 0x07f5
#define TT_CID_ADMIN_DEPT_REQ 0x07f6
#define TT_CID_ADMIN_DEPT_RSP 0x07f7
#define TT_CID_ADMIN_LAST 0x07ff

#define TT_ADMIN_IS_CID(cid) ((cid) >= TT_CID_ADMIN_FIRST && (cid) <= TT_CID_ADMIN_LAST)

#endif
