/*
 * fuzz/fuzz_http.c - libFuzzer target for the dashboard's HTTP request path
 * (vt_monitor_server_start, voxtrack/monitor.h; src/monitor/http.c): the
 * input is what a client sends on one connection, to a server with a token
 * (so that authentication by header, cookie and query is reached) over an
 * empty monitor (its documents are tested by test_monitor).
 *
 * The request goes over loopback; then the client closes its sending side
 * and reads until the server closes (libmicrohttpd ends a connection whose
 * client has gone). Whatever comes back must be HTTP/1.x; the server must
 * stay up (the next input is served by the same server). Anything else, a
 * crash, a hang, a sanitizer report or a leak, is a bug. Built and run by
 * scripts/fuzz (loopback needed).
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "voxtrack/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vt_monitor *mon;
static vt_monitor_server *srv;

static void stop(void)
{
    vt_monitor_server_stop(srv);
    vt_monitor_free(mon);
}

static int server_port(void)
{
    if (srv)
        return vt_monitor_server_port(srv);
    vt_monitor_server_opts o = vt_monitor_server_opts_default();
    o.listen = "127.0.0.1:0";
    o.token = "fuzz-token";
    o.header_limit = 4096;
    if (vt_monitor_new(NULL, NULL, &mon) != VT_OK ||
        vt_monitor_server_start(mon, &o, &srv) != VT_OK) {
        fprintf(stderr, "fuzz_http: %s\n", vt_last_error());
        abort();
    }
    atexit(stop);
    return vt_monitor_server_port(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("fuzz_http: connect");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = send(fd, data + done, size - done, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server refused early (a header too large): fine */
        done += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char head[16];
    size_t got = 0;
    for (;;) {
        /* An event stream (/events) never ends by itself: 2 s without a byte ends the read. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 2000) <= 0)
            break;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && got < sizeof head; i++)
            head[got++] = buf[i];
    }
    close(fd);
    if (got >= 7 && memcmp(head, "HTTP/1.", 7) != 0) {
        fprintf(stderr, "fuzz_http: the answer is not HTTP: %.16s\n", head);
        abort();
    }
    return 0;
}
