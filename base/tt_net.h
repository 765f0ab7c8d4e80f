/* tt_net: socket helpers — non-blocking listen and connect over IPv4 and IPv6, accept, and
 * address formatting. Errors go into a caller buffer; nothing here logs. */
#ifndef TT_NET_H
#define TT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Listen on host:port ("0.0.0.0", "::", "127.0.0.1", a name...). Returns the fd or -1. */
int tt_net_listen(const char *host, uint16_t port, int backlog, char *err, size_t errlen);
/* Start a non-blocking connect; *in_progress is 1 when completion must be awaited
 * (writable, then tt_net_connect_result). Returns the fd or -1. */
int tt_net_connect(const char *host, uint16_t port, int *in_progress, char *err, size_t errlen);
/* 0 when the pending connect succeeded, else the errno value. */
int tt_net_connect_result(int fd);
/* Accept one connection as a non-blocking fd. -1 with errno (EAGAIN when none is pending). */
int tt_net_accept(int lfd, struct sockaddr_storage *addr);
int tt_net_set_nonblock(int fd);
int tt_net_set_nodelay(int fd);
/* "ip:port" or "[ip6]:port" */
void tt_net_format_addr(const struct sockaddr_storage *addr, char *out, size_t outlen);
/* Port the socket is bound to (0 on error). */
uint16_t tt_net_local_port(int fd);

#endif
