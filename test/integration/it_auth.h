/* The daemon handshake for test programs that act as a daemon: with $TT_DAEMON_SECRET set
 * (lib.sh sets it, and the test's daemons get it as DaemonSecret=), a connection to a
 * daemon-only port starts with the tt_auth handshake. */
#ifndef IT_AUTH_H
#define IT_AUTH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_auth.h"

/* 0 when authenticated (or no secret is set), -1 with a message on stderr. */
static inline int it_daemon_auth(int fd)
{
    const char *secret = getenv("TT_DAEMON_SECRET");
    if (!secret || !*secret)
        return 0;
    static tt_auth_t auth;
    char err[256];
    if (tt_auth_set_secret(&auth, secret, strlen(secret), err, sizeof(err)) < 0 ||
        tt_auth_client_fd(fd, &auth, 8000, err, sizeof(err)) < 0) {
        fprintf(stderr, "daemon handshake: %s\n", err);
        return -1;
    }
    return 0;
}

#endif
