/* msg_server, all its layers in one include: for unit tests and tools only. No msg_server
 * source includes it (test/unit/check_ms_layers.sh checks), each includes just the layers
 * below it (docs/ARCHITECTURE.md, "msg_server: layers"). */
#ifndef MSG_SERVER_H
#define MSG_SERVER_H

#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_buddy.h"
#include "ms_chat.h"
#include "ms_core.h"
#include "ms_dispatch.h"
#include "ms_file.h"
#include "ms_gcache.h"
#include "ms_limits.h"
#include "ms_login.h"
#include "ms_push.h"
#include "ms_session.h"
#include "ms_upstream.h"

#endif
