/*
 * src/stream/connect_internal.h - an outgoing TCP connection that gives up
 * in time: what the clients of this folder that connect to a server (the
 * CoT sender's TCP side, the SAPIENT node) share. Never installed.
 */
#ifndef VOXTRACK_CONNECT_INTERNAL_H
#define VOXTRACK_CONNECT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

/*
 * Connects to host:port (names resolved with getaddrinfo, IPv4 and IPv6,
 * each address tried in turn) without blocking longer than timeout_ms per
 * address, in slices of at most 100 ms after each of which *stop is read
 * (NULL: never stop). Returns a connected, non-blocking socket, or -1.
 */
int vt__tcp_connect(const char *host, const char *port, int timeout_ms, const atomic_bool *stop);

#endif
