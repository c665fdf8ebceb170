/*
 * src/stream/cot_net.c - the network side of the CoT sender: UDP datagrams
 * or a TCP stream to a TAK server (see voxtrack/cot.h).
 *
 * UDP: one event per datagram, as TAK's SA multicast (239.2.3.1:6969) and
 * unicast inputs expect. Sent with MSG_DONTWAIT: a full socket buffer drops
 * the event (counted) instead of blocking the pipeline. Multicast gets a TTL
 * (default 1: stays on the local network), loopback on (a TAK client on the
 * same machine sees it) and optionally the interface of a local address.
 *
 * TCP: a TAK server's streaming input reads events back to back on one
 * connection. The publisher only copies the event into a bounded queue of
 * slots (their buffers grow once and are reused; when the queue is full the
 * oldest event is dropped and counted); a thread of its own connects, sends
 * and, when the connection fails or the server closes it, reconnects with
 * exponential backoff (0.1 s doubling to 5 s). Every wait of that thread is
 * cut into slices of at most 100 ms that check the stop flag, so freeing
 * the sender never waits for an unresponsive server. An event whose
 * connection breaks while it is being written is lost (counted as dropped):
 * TCP cannot tell how much of it the server got, and a half event followed
 * by a whole one would corrupt the server's parse of the stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "core/internal.h"
#include "stream/connect_internal.h"
#include "stream/cot_internal.h"

#define SLICE_MS 100
#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0

typedef struct slot {
    char *buf;
    size_t cap, len;
} slot;

struct vt__cot_net {
    bool tcp;
    int fd; /* UDP socket, or the TCP connection (-1 while down) */
    struct sockaddr_in dst;
    char host[256], port[16], url[300];
    /* TCP */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stop;
    slot *q;
    size_t qcap, qhead, qcount;
    char *work; /* the event being written, copied out of the queue */
    size_t work_cap;
    /* counters (under mu) */
    uint64_t sent, dropped, errors, reconnects, connections;
    bool connected, warned;
};

/* Copies src into dst of `size` bytes, truncating; always NUL-terminated. */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- URL ---- */

typedef struct parsed {
    bool tcp;
    char host[256], port[16], iface[64];
    int ttl; /* -1: not given */
} parsed;

static vt_status parse_query(const char *url, char *q, parsed *p)
{
    for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return vt__error(VT_EINVAL, "CoT URL '%s': option '%s' needs a value (KEY=VALUE)", url,
                             kv);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "ttl") == 0) {
            char *end;
            long t = strtol(v, &end, 10);
            if (!*v || *end || t < 0 || t > 255)
                return vt__error(VT_EINVAL, "CoT URL '%s': ttl '%s' must be 0..255", url, v);
            p->ttl = (int)t;
        } else if (strcmp(kv, "iface") == 0) {
            struct in_addr a;
            if (strlen(v) >= sizeof p->iface || inet_pton(AF_INET, v, &a) != 1)
                return vt__error(VT_EINVAL, "CoT URL '%s': iface '%s' must be a local IPv4 address",
                                 url, v);
            copy_str(p->iface, sizeof p->iface, v);
        } else {
            return vt__error(VT_EINVAL, "CoT URL '%s': unknown option '%s' (ttl, iface)", url, kv);
        }
    }
    return VT_OK;
}

static vt_status parse_url(const char *url, parsed *p)
{
    memset(p, 0, sizeof *p);
    p->ttl = -1;
    const char *s = url;
    if (strncmp(s, "cot+", 4) == 0)
        s += 4;
    if (strncmp(s, "udp://", 6) == 0)
        p->tcp = false;
    else if (strncmp(s, "tcp://", 6) == 0)
        p->tcp = true;
    else
        return vt__error(VT_EINVAL,
                         "CoT URL '%s': must start with udp:// or tcp:// (or cot+udp://, "
                         "cot+tcp://)",
                         url);
    s += 6;
    char rest[600];
    if (strlen(s) >= sizeof rest)
        return vt__error(VT_EINVAL, "CoT URL '%s': too long", url);
    copy_str(rest, sizeof rest, s);
    char *query = strchr(rest, '?');
    if (query) {
        *query++ = '\0';
        vt_status st = parse_query(url, query, p);
        if (st)
            return st;
    }
    char *host = rest, *port = NULL;
    if (host[0] == '[') { /* [IPv6]:port */
        char *close = strchr(host, ']');
        if (!close)
            return vt__error(VT_EINVAL, "CoT URL '%s': '[' without ']'", url);
        *close = '\0';
        host++;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return vt__error(VT_EINVAL, "CoT URL '%s': expected ':PORT' after ']'", url);
    } else {
        char *colon = strrchr(host, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
    }
    if (strlen(host) >= sizeof p->host)
        return vt__error(VT_EINVAL, "CoT URL '%s': host name too long", url);
    if (!host[0] && p->tcp)
        return vt__error(VT_EINVAL, "CoT URL '%s': tcp:// needs a host (tcp://HOST:PORT)", url);
    copy_str(p->host, sizeof p->host, host[0] ? host : "239.2.3.1");
    if (port && *port) {
        char *end;
        long n = strtol(port, &end, 10);
        if (*end || n < 1 || n > 65535)
            return vt__error(VT_EINVAL, "CoT URL '%s': port '%s' must be 1..65535", url, port);
        snprintf(p->port, sizeof p->port, "%ld", n);
    } else if (port) {
        return vt__error(VT_EINVAL, "CoT URL '%s': empty port after ':'", url);
    } else {
        copy_str(p->port, sizeof p->port, p->tcp ? "8087" : "6969");
    }
    return VT_OK;
}

/* ---- UDP ---- */

static vt_status udp_open(vt__cot_net *n, const parsed *p, int ttl)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    int e = getaddrinfo(p->host, p->port, &hints, &res);
    if (e || !res)
        return vt__error(VT_EINVAL, "CoT URL '%s': cannot resolve '%s' as IPv4: %s", n->url,
                         p->host, gai_strerror(e));
    memcpy(&n->dst, res->ai_addr, sizeof n->dst);
    freeaddrinfo(res);
    n->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (n->fd < 0)
        return vt__error(VT_EIO, "CoT %s: socket: %s", n->url, strerror(errno));
    uint32_t a = ntohl(n->dst.sin_addr.s_addr);
    if ((a & 0xf0000000u) == 0xe0000000u) { /* 224.0.0.0/4: multicast */
        unsigned char t = (unsigned char)(p->ttl >= 0 ? p->ttl : ttl), loop = 1;
        if (setsockopt(n->fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof t) != 0 ||
            setsockopt(n->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
            return vt__error(VT_EIO, "CoT %s: multicast TTL/loop: %s", n->url, strerror(errno));
        if (p->iface[0]) {
            struct in_addr ifa;
            inet_pton(AF_INET, p->iface, &ifa);
            if (setsockopt(n->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa) != 0)
                return vt__error(VT_EIO, "CoT %s: multicast interface %s: %s", n->url, p->iface,
                                 strerror(errno));
        }
    }
    return VT_OK;
}

static void udp_send(vt__cot_net *n, const char *xml, size_t len)
{
    ssize_t w = sendto(n->fd, xml, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&n->dst, sizeof n->dst);
    int err = errno;
    pthread_mutex_lock(&n->mu);
    if (w == (ssize_t)len) {
        n->sent++;
    } else {
        n->dropped++;
        if (w < 0 && err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS) {
            n->errors++;
            if (!n->warned)
                vt__log(1, "CoT %s: send: %s (further errors only counted)", n->url, strerror(err));
            n->warned = true;
        }
    }
    pthread_mutex_unlock(&n->mu);
}

/* ---- TCP ---- */

static void deadline_in(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    long long ns = ts->tv_nsec + (long long)(seconds * 1e9);
    ts->tv_sec += (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

/* Waits on the condition variable (a new event or stop) for up to `seconds`. Call locked. */
static void wait_locked(vt__cot_net *n, double seconds)
{
    struct timespec ts;
    deadline_in(&ts, seconds);
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* Sleeps `seconds` unless stop is set; new events do not cut it short. Call locked. */
static void backoff_locked(vt__cot_net *n, double seconds)
{
    struct timespec ts;
    deadline_in(&ts, seconds);
    while (!atomic_load(&n->stop))
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
            break;
}

/* Non-blocking connect with a deadline of 2 s, abandoned when stop is set. */
static int tcp_connect(vt__cot_net *n)
{
    return vt__tcp_connect(n->host, n->port, 2000, &n->stop);
}

/* Writes the whole buffer; false when the connection failed or stop was set. */
static bool tcp_write_all(vt__cot_net *n, int fd, const char *p, size_t len)
{
    while (len > 0) {
        if (atomic_load(&n->stop))
            return false;
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, SLICE_MS);
        } else {
            return false;
        }
    }
    return true;
}

/* True when the server closed the connection (reads and discards anything it sent). */
static bool tcp_peer_closed(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            continue;
        if (r == 0)
            return true;
        return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

static void tcp_disconnect_locked(vt__cot_net *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
    n->connected = false;
}

/* Takes the oldest queued event into n->work; false when there is none. Call locked. */
static bool pop_locked(vt__cot_net *n, size_t *len)
{
    if (n->qcount == 0)
        return false;
    slot *s = &n->q[n->qhead];
    if (s->len > n->work_cap) {
        char *w = realloc(n->work, s->len);
        if (!w)
            return false;
        n->work = w;
        n->work_cap = s->len;
    }
    memcpy(n->work, s->buf, s->len);
    *len = s->len;
    n->qhead = (n->qhead + 1) % n->qcap;
    n->qcount--;
    return true;
}

static void *tcp_thread(void *arg)
{
    vt__cot_net *n = arg;
    double backoff = BACKOFF_MIN;
    pthread_mutex_lock(&n->mu);
    while (!atomic_load(&n->stop)) {
        if (n->fd < 0) {
            pthread_mutex_unlock(&n->mu);
            int fd = tcp_connect(n);
            pthread_mutex_lock(&n->mu);
            if (fd < 0) {
                backoff_locked(n, backoff); /* free() signals cv: no long wait at stop */
                backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
                continue;
            }
            n->fd = fd;
            n->connected = true;
            if (n->connections++ > 0)
                n->reconnects++;
            backoff = BACKOFF_MIN;
        }
        size_t len;
        if (!pop_locked(n, &len)) {
            wait_locked(n, 0.2);
            if (n->qcount == 0 && tcp_peer_closed(n->fd))
                tcp_disconnect_locked(n);
            continue;
        }
        int fd = n->fd;
        pthread_mutex_unlock(&n->mu);
        bool ok = tcp_write_all(n, fd, n->work, len);
        pthread_mutex_lock(&n->mu);
        if (ok) {
            n->sent++;
        } else {
            n->dropped++;
            if (!atomic_load(&n->stop))
                tcp_disconnect_locked(n);
        }
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static void tcp_send(vt__cot_net *n, const char *xml, size_t len)
{
    pthread_mutex_lock(&n->mu);
    if (n->qcount == n->qcap) { /* full: the oldest goes */
        n->qhead = (n->qhead + 1) % n->qcap;
        n->qcount--;
        n->dropped++;
    }
    slot *s = &n->q[(n->qhead + n->qcount) % n->qcap];
    if (len > s->cap) {
        char *b = realloc(s->buf, len);
        if (!b) {
            n->dropped++;
            n->errors++;
            pthread_mutex_unlock(&n->mu);
            return;
        }
        s->buf = b;
        s->cap = len;
    }
    memcpy(s->buf, xml, len);
    s->len = len;
    n->qcount++;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* ---- the interface to cot.c ---- */

vt_status vt__cot_net_open(const char *url, int ttl, int queue, vt__cot_net **out)
{
    *out = NULL;
    parsed p;
    vt_status s = parse_url(url, &p);
    if (s)
        return s;
    vt__cot_net *n = calloc(1, sizeof *n);
    if (!n)
        return vt__error(VT_ENOMEM, "CoT %s: out of memory", url);
    n->fd = -1;
    n->tcp = p.tcp;
    copy_str(n->url, sizeof n->url, url);
    copy_str(n->host, sizeof n->host, p.host);
    copy_str(n->port, sizeof n->port, p.port);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    atomic_init(&n->stop, false);
    if (!p.tcp) {
        s = udp_open(n, &p, ttl);
        n->connected = true;
    } else if (p.ttl >= 0 || p.iface[0]) {
        s = vt__error(VT_EINVAL, "CoT URL '%s': ttl and iface are UDP options", url);
    } else {
        n->qcap = (size_t)queue;
        n->q = calloc(n->qcap, sizeof *n->q);
        if (!n->q)
            s = vt__error(VT_ENOMEM, "CoT %s: out of memory for a queue of %d", url, queue);
        else if (pthread_create(&n->thread, NULL, tcp_thread, n) != 0)
            s = vt__error(VT_EIO, "CoT %s: cannot start the sender thread", url);
        else
            n->thread_started = true;
    }
    if (s) {
        vt__cot_net_free(n);
        return s;
    }
    *out = n;
    return VT_OK;
}

void vt__cot_net_send(vt__cot_net *n, const char *xml, size_t len)
{
    if (n->tcp)
        tcp_send(n, xml, len);
    else
        udp_send(n, xml, len);
}

void vt__cot_net_stats(vt__cot_net *n, vt_cot_stats *st)
{
    pthread_mutex_lock(&n->mu);
    st->sent = n->sent;
    st->dropped = n->dropped;
    st->errors = n->errors;
    st->reconnects = n->reconnects;
    st->connected = n->connected;
    pthread_mutex_unlock(&n->mu);
}

void vt__cot_net_free(vt__cot_net *n)
{
    if (!n)
        return;
    if (n->thread_started) {
        pthread_mutex_lock(&n->mu);
        atomic_store(&n->stop, true);
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->thread, NULL);
    }
    if (n->fd >= 0)
        close(n->fd);
    for (size_t i = 0; i < n->qcap; i++)
        free(n->q[i].buf);
    free(n->q);
    free(n->work);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}
