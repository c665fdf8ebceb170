/*
 * src/stream/tcp.c - tcp:// transport: a sender that listens and serves any
 * number of clients, and a receiver that connects and reconnects.
 *
 * On the wire each message is a record: a 4-byte little-endian length, then
 * the 40-byte frame header and the message (docs/TRANSPORTS.md), the
 * length-prefix framing SAPIENT (BSI Flex 335) uses over TCP.
 *
 * Sender: vt_sender_send builds the record once, in a reference-counted
 * buffer, and appends a reference to every client's queue under a mutex
 * that no one holds across I/O, so it never waits for a socket. A thread of
 * the sender's own accepts clients and writes their queues with
 * non-blocking sockets (up to 32 records per sendmsg), driven by poll(). A queue is bounded
 * (messages and bytes): a client that does not keep up loses its OLDEST messages, counted per
 * client, never the one half written. A client that goes away is closed and forgotten.
 *
 * Receiver: connects (non-blocking, within vt_receiver_next's timeout),
 * reads records, and when the connection fails or the server goes away
 * tries again with a backoff from 50 ms doubling to 2 s. The sequence
 * numbers go on across a reconnection to the same sender, so what was missed
 * meanwhile counts as lost. A length prefix out of range means the stream is
 * out of step: counted as garbage, and the connection is made again.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/transport_internal.h"

enum { TCP_MAX_CLIENTS = 64, TCP_DEFAULT_QUEUE = 1024, TCP_BATCH = 32 /* records per sendmsg */ };
#define TCP_DEFAULT_QUEUE_BYTES ((uint64_t)32 << 20)

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- sender --------------------------------------------------------------- */

typedef struct record {
    atomic_int refs;
    size_t len; /* bytes in data: prefix, header, message */
    uint8_t data[];
} record;

static void record_unref(record *rec)
{
    if (rec && atomic_fetch_sub_explicit(&rec->refs, 1, memory_order_acq_rel) == 1)
        free(rec);
}

typedef struct client {
    int fd;
    char name[64];
    record **queue; /* ring of queue_cap references */
    size_t head, count, bytes;
    record *batch[TCP_BATCH]; /* being written (off bytes of the first done); out of the queue */
    int nbatch;
    size_t off;
    uint64_t dropped;
} client;

typedef struct tcp_sender {
    int listen_fd, wake[2];
    pthread_t thread;
    bool thread_started;
    atomic_bool stop, wake_pending;
    pthread_mutex_t lock; /* clients[] and their queues */
    client *clients[TCP_MAX_CLIENTS];
    int nclients;
    size_t queue_cap;
    uint64_t queue_bytes;
    vt_sender *owner;
} tcp_sender;

static void wake_thread(tcp_sender *t)
{
    if (!atomic_exchange(&t->wake_pending, true)) {
        char c = 1;
        if (write(t->wake[1], &c, 1) < 0) { /* full pipe: the thread is awake anyway */
        }
    }
}

/* Drops the oldest queued message (never the one being written). Lock held. */
static void drop_oldest(tcp_sender *t, client *c)
{
    record *rec = c->queue[c->head];
    c->head = (c->head + 1) % t->queue_cap;
    c->count--;
    c->bytes -= rec->len;
    c->dropped++;
    atomic_fetch_add_explicit(&t->owner->dropped, 1, memory_order_relaxed);
    record_unref(rec);
}

static vt_status tcp_send(vt_sender *s, uint8_t type, uint64_t seq, const uint8_t *msg, size_t len)
{
    tcp_sender *t = s->impl;
    if (atomic_load_explicit(&s->clients, memory_order_relaxed) == 0)
        return VT_OK; /* nobody to send to: numbered all the same */
    size_t n = VT__RECORD_PREFIX + VT__FRAME_HEADER + len;
    record *rec = malloc(sizeof *rec + n);
    if (!rec)
        return vt__error(VT_ENOMEM, "%s: record of %zu bytes", s->url, n);
    rec->len = n;
    atomic_init(&rec->refs, 1);
    vt__record_header(rec->data, type, s->frame_flags, s->stream_id, seq, msg, len);
    if (len)
        memcpy(rec->data + VT__RECORD_PREFIX + VT__FRAME_HEADER, msg, len);
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->nclients; i++) {
        client *c = t->clients[i];
        while (c->count > 0 && (c->count == t->queue_cap || c->bytes + n > t->queue_bytes))
            drop_oldest(t, c);
        if (n > t->queue_bytes && c->count == 0) {
            c->dropped++; /* larger than the whole queue: never fits */
            atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
            continue;
        }
        atomic_fetch_add_explicit(&rec->refs, 1, memory_order_relaxed);
        c->queue[(c->head + c->count) % t->queue_cap] = rec;
        c->count++;
        c->bytes += n;
    }
    pthread_mutex_unlock(&t->lock);
    record_unref(rec);
    wake_thread(t);
    return VT_OK;
}

static void client_free(client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    for (int i = 0; i < c->nbatch; i++)
        record_unref(c->batch[i]);
    free(c->queue);
    free(c);
}

/* Removes client i (lock held) and frees its queue. */
static void client_remove(tcp_sender *t, int i)
{
    client *c = t->clients[i];
    if (c->dropped)
        vt__log(2, "%s: client %s gone; it lost %llu messages", t->owner->url, c->name,
                (unsigned long long)c->dropped);
    while (c->count > 0) {
        record_unref(c->queue[c->head]);
        c->head = (c->head + 1) % t->queue_cap;
        c->count--;
    }
    client_free(c);
    t->clients[i] = t->clients[--t->nclients];
    atomic_store(&t->owner->clients, (uint64_t)t->nclients);
}

static void accept_clients(tcp_sender *t)
{
    for (;;) {
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        int fd = accept(t->listen_fd, (struct sockaddr *)&a, &al);
        if (fd < 0)
            return;
        client *c = calloc(1, sizeof *c);
        if (c)
            c->queue = calloc(t->queue_cap, sizeof *c->queue);
        pthread_mutex_lock(&t->lock);
        bool room = t->nclients < TCP_MAX_CLIENTS;
        if (!c || !c->queue || !room) {
            pthread_mutex_unlock(&t->lock);
            if (!room)
                vt__log(1, "%s: refusing a client: %d connected already", t->owner->url,
                        TCP_MAX_CLIENTS);
            if (c)
                free(c->queue);
            free(c);
            close(fd);
            continue;
        }
        set_nonblocking(fd);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
        snprintf(c->name, sizeof c->name, "%s:%d", ip, ntohs(a.sin_port));
        t->clients[t->nclients++] = c;
        atomic_store(&t->owner->clients, (uint64_t)t->nclients);
        atomic_fetch_add(&t->owner->accepted, 1);
        pthread_mutex_unlock(&t->lock);
    }
}

/* Takes up to TCP_BATCH records off the client's queue. */
static void take_batch(tcp_sender *t, client *c)
{
    pthread_mutex_lock(&t->lock);
    while (c->count > 0 && c->nbatch < TCP_BATCH) {
        record *rec = c->queue[c->head];
        c->head = (c->head + 1) % t->queue_cap;
        c->count--;
        c->bytes -= rec->len;
        c->batch[c->nbatch++] = rec;
    }
    pthread_mutex_unlock(&t->lock);
    c->off = 0;
}

/* Writes what the socket takes, several records per system call; false when the client is
   gone. */
static bool client_write(tcp_sender *t, client *c)
{
    for (;;) {
        if (c->nbatch == 0) {
            take_batch(t, c);
            if (c->nbatch == 0)
                return true;
        }
        struct iovec iov[TCP_BATCH];
        for (int i = 0; i < c->nbatch; i++) {
            size_t skip = i == 0 ? c->off : 0;
            iov[i].iov_base = c->batch[i]->data + skip;
            iov[i].iov_len = c->batch[i]->len - skip;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)c->nbatch};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        size_t done = (size_t)n;
        int k = 0;
        while (k < c->nbatch && done >= c->batch[k]->len - c->off) {
            done -= c->batch[k]->len - c->off;
            record_unref(c->batch[k++]);
            c->off = 0;
        }
        c->off += done;
        memmove(c->batch, c->batch + k, (size_t)(c->nbatch - k) * sizeof *c->batch);
        c->nbatch -= k;
    }
}

/* A client sends nothing; reading tells whether it hung up. */
static bool client_alive(client *c)
{
    char buf[256];
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

static void *tcp_thread(void *arg)
{
    tcp_sender *t = arg;
    struct pollfd pfd[2 + TCP_MAX_CLIENTS];
    client *polled[TCP_MAX_CLIENTS];
    while (!atomic_load(&t->stop)) {
        pfd[0] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = t->listen_fd, .events = POLLIN};
        int np = 0;
        pthread_mutex_lock(&t->lock);
        for (int i = 0; i < t->nclients; i++) {
            client *c = t->clients[i];
            polled[np] = c;
            pfd[2 + np++] = (struct pollfd){
                .fd = c->fd, .events = (short)(POLLIN | (c->nbatch || c->count ? POLLOUT : 0))};
        }
        pthread_mutex_unlock(&t->lock);
        if (poll(pfd, (nfds_t)(2 + np), 1000) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            char buf[64];
            while (read(t->wake[0], buf, sizeof buf) > 0)
                ;
            /* Only after draining: a wake-up byte written after this store stays in the
               pipe, and one sent before it found its messages queued already. */
            atomic_store(&t->wake_pending, false);
        }
        if (pfd[1].revents & POLLIN)
            accept_clients(t);
        /* Only this thread removes clients, so polled[] is still valid. */
        for (int k = 0; k < np; k++) {
            client *c = polled[k];
            short ev = pfd[2 + k].revents;
            bool ok = true;
            if (ev & (POLLERR | POLLNVAL))
                ok = false;
            else if (ev & (POLLIN | POLLHUP))
                ok = client_alive(c);
            if (ok) /* also after a wake-up: new messages may be queued */
                ok = client_write(t, c);
            if (!ok) {
                pthread_mutex_lock(&t->lock);
                for (int i = 0; i < t->nclients; i++)
                    if (t->clients[i] == c)
                        client_remove(t, i);
                pthread_mutex_unlock(&t->lock);
            }
        }
    }
    return NULL;
}

static void tcp_sender_free(vt_sender *s)
{
    tcp_sender *t = s->impl;
    if (!t)
        return;
    if (t->thread_started) {
        atomic_store(&t->stop, true);
        char c = 1;
        if (write(t->wake[1], &c, 1) < 0) {
        }
        pthread_join(t->thread, NULL);
    }
    while (t->nclients > 0)
        client_remove(t, t->nclients - 1);
    if (t->listen_fd >= 0)
        close(t->listen_fd);
    if (t->wake[0] >= 0)
        close(t->wake[0]);
    if (t->wake[1] >= 0)
        close(t->wake[1]);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static int tcp_sender_port(const vt_sender *s)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    const tcp_sender *t = s->impl;
    if (getsockname(t->listen_fd, (struct sockaddr *)&a, &n) != 0)
        return 0;
    return ntohs(a.sin_port);
}

static const vt__sender_ops tcp_sender_ops = {tcp_send, tcp_sender_free, tcp_sender_port};

static vt_status tcp_sender_setup(vt__url *u, tcp_sender *t)
{
    struct sockaddr_in addr;
    uint64_t queue;
    vt_status st;
    if ((st = vt__url_param_u64(u, "queue", 1, 1 << 20, TCP_DEFAULT_QUEUE, &queue)) != VT_OK ||
        (st = vt__url_param_u64(u, "queue_bytes", 1024, (uint64_t)1 << 34, TCP_DEFAULT_QUEUE_BYTES,
                                &t->queue_bytes)) != VT_OK ||
        (st = vt__url_check_params(u)) != VT_OK || (st = vt__url_resolve(u, &addr)) != VT_OK)
        return st;
    t->queue_cap = (size_t)queue;
    if (pipe(t->wake) != 0)
        return vt__error(VT_EIO, "%s: pipe: %s", u->text, strerror(errno));
    set_nonblocking(t->wake[0]);
    set_nonblocking(t->wake[1]);
    if ((t->listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return vt__error(VT_EIO, "%s: socket: %s", u->text, strerror(errno));
    int one = 1;
    setsockopt(t->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(t->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(t->listen_fd, 16) != 0)
        return vt__error(VT_EIO, "%s: listening on %s:%d: %s", u->text, u->host, u->port,
                         strerror(errno));
    set_nonblocking(t->listen_fd);
    if (pthread_create(&t->thread, NULL, tcp_thread, t) != 0)
        return vt__error(VT_EIO, "%s: cannot start the sending thread", u->text);
    t->thread_started = true;
    return VT_OK;
}

vt_status vt__tcp_sender_open(vt__url *u, vt_sender *s)
{
    tcp_sender *t = calloc(1, sizeof *t);
    if (!t)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    t->listen_fd = t->wake[0] = t->wake[1] = -1;
    t->owner = s;
    pthread_mutex_init(&t->lock, NULL);
    s->ops = &tcp_sender_ops;
    s->impl = t;
    vt_status st = tcp_sender_setup(u, t);
    if (st != VT_OK) {
        tcp_sender_free(s);
        s->impl = NULL;
    }
    return st;
}

/* ---- receiver ------------------------------------------------------------- */

typedef struct tcp_receiver {
    struct sockaddr_in addr;
    int fd;
    bool connecting, ever_connected;
    double next_try, backoff;
    vt__recbuf buf;
} tcp_receiver;

static void disconnect(tcp_receiver *c, bool lost)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->connecting = false;
    c->buf.start = c->buf.end = 0;
    c->next_try = vt__now() + (lost ? 0.0 : c->backoff);
    if (!lost)
        c->backoff = c->backoff * 2 > 2.0 ? 2.0 : c->backoff * 2;
}

/* Starts a non-blocking connect. */
static void start_connect(vt_receiver *r, tcp_receiver *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        disconnect(c, false);
        return;
    }
    set_nonblocking(c->fd);
    if (connect(c->fd, (struct sockaddr *)&c->addr, sizeof c->addr) == 0) {
        c->connecting = false;
    } else if (errno == EINPROGRESS) {
        c->connecting = true;
    } else {
        disconnect(c, false);
        return;
    }
    (void)r;
}

static void connected(vt_receiver *r, tcp_receiver *c)
{
    c->connecting = false;
    if (c->ever_connected)
        r->stats.reconnects++;
    c->ever_connected = true;
    c->backoff = 0.05;
}

static vt_status tcp_next(vt_receiver *r, int timeout_ms, uint8_t *type, const uint8_t **msg,
                          size_t *len, bool *end)
{
    tcp_receiver *c = r->impl;
    double deadline = vt__deadline(timeout_ms);
    (void)end;
    for (;;) {
        if (c->fd >= 0 && !c->connecting) {
            vt__frame f;
            const uint8_t *payload;
            vt__rec_result rr = vt__recbuf_next(&c->buf, &f, &payload);
            if (rr == VT__REC_OK) {
                if (!vt__receiver_accept(r, f.stream_id, f.seq))
                    continue;
                *type = f.type;
                r->frame_flags = f.flags;
                *msg = payload;
                *len = f.msg_len;
                return VT_OK;
            }
            if (rr == VT__REC_GARBAGE) {
                r->stats.garbage++;
                continue;
            }
            if (rr == VT__REC_BADLENGTH) { /* out of step: start over */
                r->stats.garbage++;
                disconnect(c, false);
                continue;
            }
        }
        /* Wait for bytes, for the connection, or for the next try. */
        int ms = vt__ms_left(deadline);
        if (c->fd < 0) {
            double now = vt__now();
            if (now >= c->next_try) {
                start_connect(r, c);
                if (c->fd >= 0 && !c->connecting)
                    connected(r, c);
                continue;
            }
            int wait = (int)((c->next_try - now) * 1e3) + 1;
            if (ms == 0)
                return VT_OK;
            struct timespec ts = {0, 0};
            wait = ms >= 0 && ms < wait ? ms : wait;
            ts.tv_sec = wait / 1000;
            ts.tv_nsec = (long)(wait % 1000) * 1000000L;
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd pfd = {.fd = c->fd, .events = c->connecting ? POLLOUT : POLLIN};
        int pr = poll(&pfd, 1, ms);
        if (pr < 0) {
            if (errno == EINTR)
                return VT_OK;
            return vt__error(VT_EIO, "%s: poll: %s", r->url, strerror(errno));
        }
        if (pr == 0) {
            if (ms == 0)
                return VT_OK;
            continue;
        }
        if (c->connecting) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err)
                disconnect(c, false);
            else
                connected(r, c);
            continue;
        }
        vt_status st = vt__recbuf_reserve(&c->buf, 1 << 16);
        if (st != VT_OK)
            return st;
        ssize_t n = recv(c->fd, c->buf.data + c->buf.end, c->buf.cap - c->buf.end, 0);
        if (n > 0)
            c->buf.end += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            disconnect(c, true); /* the server went away: try again at once */
    }
}

static void tcp_receiver_free(vt_receiver *r)
{
    tcp_receiver *c = r->impl;
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    vt__recbuf_free(&c->buf);
    free(c);
}

static const vt__receiver_ops tcp_receiver_ops = {tcp_next, tcp_receiver_free, NULL};

vt_status vt__tcp_receiver_open(vt__url *u, vt_receiver *r)
{
    vt_status st = vt__url_check_params(u);
    if (st != VT_OK)
        return st;
    tcp_receiver *c = calloc(1, sizeof *c);
    if (!c)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    c->fd = -1;
    c->backoff = 0.05;
    r->ops = &tcp_receiver_ops;
    r->impl = c;
    if ((st = vt__url_resolve(u, &c->addr)) != VT_OK) {
        tcp_receiver_free(r);
        r->impl = NULL;
        return st;
    }
    if (u->port == 0) {
        tcp_receiver_free(r);
        r->impl = NULL;
        return vt__error(VT_EINVAL, "%s: a receiver needs a port other than 0", u->text);
    }
    return VT_OK;
}
