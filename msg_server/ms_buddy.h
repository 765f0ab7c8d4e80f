/* msg_server feature (layer 5): buddy list, organisation and profile commands (buddy.c). */
#ifndef MS_BUDDY_H
#define MS_BUDDY_H

#include "ms_dispatch.h"

extern const ms_feature_t ms_buddy_feature;

#endif
