/* Group message fan-out between msg_server and route_server, a server-only command: a stored
 * group message (an IMMsgData, the form clients receive) whose attach_data holds BE32 user
 * ids. msg_server sends it with every member of the group; route_server sends it on to each
 * other msg_server that has members online, with only those members; that msg_server writes
 * the message to their connections. Clients never see this command. */
#ifndef TT_FANOUT_H
#define TT_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_pdu.h"

#define TT_SID_MSG 0x0003
#define TT_CID_GROUP_FANOUT 0x03f0

/* The i-th of the ids in attach_data bytes (n = len / 4). */
static inline uint32_t tt_fanout_id(const uint8_t *ids, size_t i) { return tt_get32(ids + 4 * i); }

#endif
