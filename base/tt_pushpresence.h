/* Presence for push decisions, a server-only command between msg_server and route_server.
 * The msg_server that stored a message asks, for the recipients that have a push token,
 * whether each has a mobile client connected anywhere and whether a PC client is online;
 * route_server answers from its presence state (route_server/presence.c). Bodies are raw
 * big-endian bytes, not protobuf:
 *   TT_CID_PUSH_PRESENCE_REQ  msg_server -> route_server: BE32 query id, then n BE32 user ids
 *                             (1 <= n <= TT_PUSH_PRESENCE_MAX; a longer or ragged body is
 *                             refused and not answered)
 *   TT_CID_PUSH_PRESENCE_RSP  route_server -> that msg_server: BE32 query id, then for each
 *                             asked user in order: BE32 user id, one byte of TT_PP_* flags
 * Clients never see these commands. Cids 0x07e6-0x07e7 are kept for this exchange. */
#ifndef TT_PUSHPRESENCE_H
#define TT_PUSHPRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tt_pdu.h"

#define TT_SID_OTHER 0x0007
#define TT_CID_PUSH_PRESENCE_REQ 0x07e4
#define TT_CID_PUSH_PRESENCE_RSP 0x07e5
#define TT_PUSH_PRESENCE_MAX 4096 /* users per query */
#define TT_PP_ENTRY 5             /* bytes of one answer entry */

#define TT_PP_MOBILE 0x01 /* a mobile client (client_type & 0x10) is connected somewhere */
#define TT_PP_PC 0x02     /* a PC client is online somewhere */

#endif
