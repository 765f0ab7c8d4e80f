/* tt_cfg: the original TeamTalk `key=value` configuration format. '#' starts a comment,
 * lines without '=' are ignored, keys and values are trimmed of spaces and tabs (and of a
 * CR left by CRLF files), and the first occurrence of a key wins. Getters are typed, take
 * defaults and bounds, and their errors name the file, the line and the key. */
#ifndef TT_CFG_H
#define TT_CFG_H

#include <stddef.h>
#include <stdint.h>

typedef struct tt_cfg_s tt_cfg_t;

/* NULL on error (cannot read the file), with the reason in err. */
tt_cfg_t *tt_cfg_load(const char *path, char *err, size_t errlen);
/* Parses text as if it were the file `name` (for tests and tools). */
tt_cfg_t *tt_cfg_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void tt_cfg_free(tt_cfg_t *cfg);
const char *tt_cfg_path(const tt_cfg_t *cfg);

/* The value, or def when the key is absent. */
const char *tt_cfg_str(const tt_cfg_t *cfg, const char *key, const char *def);
/* Line number where key is defined, 0 if absent. */
int tt_cfg_line(const tt_cfg_t *cfg, const char *key);

/* Required string: -1 with "file: missing required key 'key'" when absent or empty. */
int tt_cfg_need_str(const tt_cfg_t *cfg, const char *key, const char **out, char *err,
                    size_t errlen);
/* Integer in [min, max]; def when absent (use a def outside [min,max] to make it required).
 * -1 with "file:line: key 'k': 'v' is not an integer in [min, max]". */
int tt_cfg_int(const tt_cfg_t *cfg, const char *key, long long def, long long min, long long max,
               long long *out, char *err, size_t errlen);
/* A TCP port (1..65535). */
int tt_cfg_port(const tt_cfg_t *cfg, const char *key, int def, uint16_t *out, char *err,
                size_t errlen);

/* Numbered pairs XxxIP1/XxxPort1, XxxIP2/XxxPort2, ... read until the first missing index.
 * Fills up to max entries; returns how many, or -1 on a bad port. hosts[i] point into cfg. */
int tt_cfg_servers(const tt_cfg_t *cfg, const char *ip_prefix, const char *port_prefix,
                   const char **hosts, uint16_t *ports, int max, char *err, size_t errlen);

/* Splits a ';'-separated list (as in ListenIP=0.0.0.0;10.0.0.1) into at most max items,
 * copied into buf. Returns the count. */
int tt_cfg_split(const char *value, char sep, char *buf, size_t buflen, const char **items,
                 int max);

#endif
