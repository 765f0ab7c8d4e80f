/* ttc_internal: what the client's own files share and the public header does not show. */
#ifndef TTC_INTERNAL_H
#define TTC_INTERNAL_H

#include <stdint.h>

#include "tt_client.h"

/* Sets the text ttc_error() returns (printf-style). */
void ttc_set_error(ttc_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remembers the logged-in user's id (ttc_login). */
void ttc_set_user_id(ttc_t *c, uint32_t user_id);

#endif
