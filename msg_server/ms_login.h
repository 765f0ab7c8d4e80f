/* msg_server feature (layer 5): login, logout, push tokens and shield, kicks (login.c). */
#ifndef MS_LOGIN_H
#define MS_LOGIN_H

#include "ms_dispatch.h"

extern const ms_feature_t ms_login_feature;

#endif
