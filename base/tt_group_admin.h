/* Group dissolve, a server-only command between http_msg_server and db_proxy_server (the
 * /api/v1/group/dissolve endpoint). http_msg_server sends TT_CID_GROUP_DISSOLVE_REQ with an
 * IMGroupChangeMemberReq body: group_id, user_id 0 (the admin), change_type DEL, no member
 * list. db_proxy_server removes every member (as an admin change; the group's row and its
 * messages stay, with no members it is in nobody's list) and answers TT_CID_GROUP_DISSOLVE_RSP
 * with an IMGroupChangeMemberRsp: result_code 0 and the removed members in chg_user_id_list
 * (cur_user_id_list empty), 1 when there is no such group. http_msg_server then tells
 * route_server an IMGroupChangeMemberNotify with them, as for any member change, so that
 * logged-in members drop the group. Clients never see these commands. */
#ifndef TT_GROUP_ADMIN_H
#define TT_GROUP_ADMIN_H

#define TT_SID_GROUP 0x0004
#define TT_CID_GROUP_DISSOLVE_REQ 0x07e8
#define TT_CID_GROUP_DISSOLVE_RSP 0x07e9

#endif
