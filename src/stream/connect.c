/*
 * src/stream/connect.c - a non-blocking TCP connect with a deadline that a
 * stop flag cuts short (see connect_internal.h), so that a client thread
 * freeing its sender never waits for an address that does not answer.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "stream/connect_internal.h"

#define SLICE_MS 100

static bool stopped(const atomic_bool *stop)
{
    return stop && atomic_load(stop);
}

int vt__tcp_connect(const char *host, const char *port, int timeout_ms, const atomic_bool *stop)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0 && !stopped(stop); ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        int ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        for (int waited = 0; !ok && errno == EINPROGRESS && waited < timeout_ms && !stopped(stop);
             waited += SLICE_MS) {
            struct pollfd pf = {fd, POLLOUT, 0};
            if (poll(&pf, 1, SLICE_MS) > 0) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
                ok = err == 0;
                errno = err;
                break;
            }
        }
        if (!ok) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}
