/* msg_server feature (layer 5): group commands (group.c). */
#ifndef MS_GROUP_H
#define MS_GROUP_H

#include "ms_dispatch.h"

extern const ms_feature_t ms_group_feature;

#endif
