/* Server-only commands between push_server and db_proxy_server (service SID_OTHER, cids
 * 0x07e0-0x07e3 reserved for push). push_server sends TT_CID_PUSH_TOKEN_GONE when APNs or FCM
 * reports a device token as unregistered (APNs 410 / 400 BadDeviceToken, FCM 404 /
 * UNREGISTERED); the body is an IM.Login.IMDeviceTokenReq with user_id and device_token the
 * token exactly as stored (with or without its "ios:"/"android:" prefix). db_proxy_server
 * deletes push_token_<uid> only while it still holds that token, and the reverse key
 * push_owner_<token>, then answers TT_CID_PUSH_TOKEN_GONE_RSP (an IM.Login.IMDeviceTokenRsp,
 * user_id echoed), which push_server only logs. Clients never see these commands. */
#ifndef TT_PUSH_H
#define TT_PUSH_H

#define TT_SID_OTHER 0x0007
#define TT_CID_PUSH_TOKEN_GONE 0x07e0
#define TT_CID_PUSH_TOKEN_GONE_RSP 0x07e1

#endif
