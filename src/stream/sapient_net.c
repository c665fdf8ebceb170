/*
 * src/stream/sapient_net.c - the connection of a voxtrack SAPIENT node to
 * its fusion node: one thread that connects, registers, reads, writes and
 * reconnects (see voxtrack/sapient.h).
 *
 * On every new connection the queue left from the last one is dropped
 * (those reports are stale, and the fusion node has not accepted this
 * connection yet) and the Registration is written first. Frame-set reports
 * and alerts are queued only once a RegistrationAck has accepted the node;
 * StatusReports start then (one at once with info NEW, then one per
 * interval, and one with NEW whenever the cameras or the task changed).
 *
 * The thread sleeps in poll() on the socket and on a pipe that an enqueue
 * writes to when the thread is asleep, in slices of at most 100 ms, so that
 * it sees the stop flag and its status timer in time. Reads are parsed as
 * length-prefixed messages (4-byte little-endian length); a length over
 * VT__SAPIENT_MAX_IN means the stream is out of step, and the connection is
 * dropped and made again. Writes are non-blocking: the message being written
 * is a copy taken out of the queue, so the publisher never waits for the
 * network. A connection that fails (an error, the peer closing it, a
 * registration refused) is closed and made again after a backoff that
 * starts at 0.1 s (1 s after a refused registration) and doubles to 5 s;
 * it starts again at 0.1 s once a connection has been accepted.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pb_decode.h>

#include "core/bytes.h"
#include "core/internal.h"
#include "stream/connect_internal.h"
#include "stream/sapient_internal.h"

#define SLICE_MS 100

/* What the thread holds on its own: the socket, the message being written, the bytes read. */
typedef struct conn {
    int fd;
    uint8_t *work;
    size_t wcap, wlen, woff;
    bool writing;
    uint8_t *rb;
    size_t rcap, rlen;
    vt__sapient_rx rx;
} conn;

void vt__sapient_net_wake(vt_sapient *s)
{
    if (atomic_exchange(&s->asleep, false)) {
        ssize_t w = write(s->wake[1], "", 1);
        (void)w; /* a full pipe already wakes the thread */
    }
}

static void drain_wake(vt_sapient *s)
{
    char buf[64];
    while (read(s->wake[0], buf, sizeof buf) > 0)
        ;
}

/* Waits `seconds` unless stop is set (the wake pipe cuts it short). */
static void sleep_unless_stopped(vt_sapient *s, double seconds)
{
    double end = vt__now() + seconds;
    while (!atomic_load(&s->stop)) {
        double left = end - vt__now();
        if (left <= 0)
            break;
        struct pollfd pf = {s->wake[0], POLLIN, 0};
        poll(&pf, 1, left * 1e3 < SLICE_MS ? (int)(left * 1e3) + 1 : SLICE_MS);
        drain_wake(s);
    }
}

static bool take_copy(conn *c, const uint8_t *p, size_t n)
{
    if (n > c->wcap) {
        uint8_t *w = realloc(c->work, n);
        if (!w)
            return false;
        c->work = w;
        c->wcap = n;
    }
    memcpy(c->work, p, n);
    c->wlen = n;
    c->woff = 0;
    c->writing = true;
    return true;
}

/* Closes the connection; what was queued or half written is lost. Call locked. */
static void drop_locked(vt_sapient *s, conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->writing)
        s->st.dropped++;
    c->writing = false;
    c->rlen = 0;
    vt__sapient_queue_clear(s);
    s->connected = s->registered = s->busy_writing = false;
    pthread_cond_broadcast(&s->changed);
}

/* A new connection: Registration first. Call locked. */
static void on_connect_locked(vt_sapient *s, conn *c, int fd)
{
    c->fd = fd;
    c->rlen = 0;
    c->rx.warned_error = false;
    s->connected = true;
    s->registered = s->rejected = false;
    s->st.connections++;
    vt__sapient_queue_clear(s);
    vt__sapient_begin(s, sapient_SapientMessage_registration_tag, vt__sapient_unix_now());
    vt__sapient_build_registration(s);
    size_t len;
    if (vt__sapient_encode(s, &len) != VT_OK || !take_copy(c, s->enc, len)) {
        vt__log(1, "%s: cannot make the registration: %s", s->url, vt_last_error());
        drop_locked(s, c);
    }
}

static const char *content_name(pb_size_t tag)
{
    switch (tag) {
    case sapient_SapientMessage_registration_tag:
        return "Registration";
    case sapient_SapientMessage_status_report_tag:
        return "StatusReport";
    case sapient_SapientMessage_detection_report_tag:
        return "DetectionReport";
    case sapient_SapientMessage_task_ack_tag:
        return "TaskAck";
    case sapient_SapientMessage_alert_tag:
        return "Alert";
    default:
        return "a message with no content";
    }
}

bool vt__sapient_receive_locked(vt_sapient *s, vt__sapient_rx *rx, const uint8_t *p, size_t n)
{
    sapient_SapientMessage *m = s->in;
    pb_istream_t is = pb_istream_from_buffer(p, n);
    if (!pb_decode(&is, sapient_SapientMessage_fields, m)) {
        char what[200];
        snprintf(what, sizeof what, "cannot decode a SapientMessage of %zu bytes: %s", n,
                 PB_GET_ERROR(&is));
        s->st.bad_messages++;
        vt__sapient_queue_error(s, p, n, what);
        return true;
    }
    s->st.received++;
    if (m->has_destination_id && m->destination_id[0] && strcmp(m->destination_id, s->node_id))
        return true; /* for another node */
    switch (m->which_content) {
    case sapient_SapientMessage_registration_ack_tag: {
        const sapient_RegistrationAck *a = &m->content.registration_ack;
        if (a->has_acceptance && a->acceptance) {
            s->registered = true;
            s->st.registrations++;
            s->status_due = true;
            rx->backoff = VT__SAPIENT_BACKOFF_MIN;
            pthread_cond_broadcast(&s->changed);
            return true;
        }
        s->st.rejections++;
        s->rejected = true;
        vt__log(1, "%s: the fusion node refused the registration%s%s", s->url,
                a->ack_response_reason_count ? ": " : "",
                a->ack_response_reason_count ? a->ack_response_reason[0] : "");
        rx->backoff = VT__SAPIENT_BACKOFF_REFUSED; /* do not hammer a node that said no */
        return false;
    }
    case sapient_SapientMessage_task_tag:
        vt__sapient_task_handle(s, &m->content.task);
        return true;
    case sapient_SapientMessage_alert_ack_tag:
        return true;
    case sapient_SapientMessage_error_tag:
        if (!rx->warned_error) /* never answered: two nodes must not ping-pong errors */
            vt__log(1, "%s: the fusion node reported an error: %s", s->url,
                    m->content.error.error_message_count ? m->content.error.error_message[0]
                                                         : "(no message)");
        rx->warned_error = true;
        return true;
    default: {
        char what[128];
        snprintf(what, sizeof what, "unexpected %s from a fusion node",
                 content_name(m->which_content));
        s->st.bad_messages++;
        vt__sapient_queue_error(s, p, n, what);
        return true;
    }
    }
}

/* Reads what the socket has and handles every whole message. False: drop the connection. */
static bool read_some(vt_sapient *s, conn *c)
{
    if (c->rcap - c->rlen < 65536) {
        size_t cap = c->rcap ? c->rcap * 2 : 131072;
        uint8_t *b = realloc(c->rb, cap);
        if (!b)
            return false;
        c->rb = b;
        c->rcap = cap;
    }
    ssize_t r = recv(c->fd, c->rb + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
    if (r == 0)
        return false;
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->rlen += (size_t)r;
    size_t off = 0;
    bool keep = true;
    pthread_mutex_lock(&s->mu);
    while (keep && c->rlen - off >= 4) {
        uint32_t n = vt__get_u32(c->rb + off);
        if (n > VT__SAPIENT_MAX_IN) {
            vt__log(1, "%s: a message of %u bytes announced (at most %zu): out of step", s->url, n,
                    VT__SAPIENT_MAX_IN);
            keep = false;
            break;
        }
        if (c->rlen - off - 4 < n)
            break;
        keep = vt__sapient_receive_locked(s, &c->rx, c->rb + off + 4, n);
        off += 4 + (size_t)n;
    }
    pthread_mutex_unlock(&s->mu);
    memmove(c->rb, c->rb + off, c->rlen - off);
    c->rlen -= off;
    return keep;
}

/* Writes what the socket takes of the message in hand. False: drop the connection. */
static bool write_some(vt_sapient *s, conn *c)
{
    ssize_t w = send(c->fd, c->work + c->woff, c->wlen - c->woff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->woff += (size_t)w;
    if (c->woff == c->wlen) {
        c->writing = false;
        pthread_mutex_lock(&s->mu);
        s->st.sent++;
        pthread_mutex_unlock(&s->mu);
    }
    return true;
}

/* Timers and the next message to write; returns the poll timeout in ms. Call locked. */
static int prepare_locked(vt_sapient *s, conn *c)
{
    double now = vt__now();
    vt__sapient_task_expire(s, vt__sapient_unix_now());
    int timeout = SLICE_MS;
    /* After the GOODBYE (vt_sapient_free) nothing more is reported: a status that fell due
       while the queue drained would otherwise follow it. */
    if (s->registered && !s->goodbye_sent) {
        if (s->status_due) {
            s->status_due = false;
            vt__sapient_queue_status(s, true, false);
            s->next_status = now + s->o.status_interval_s;
        } else if (now >= s->next_status) {
            vt__sapient_queue_status(s, false, false);
            s->next_status += s->o.status_interval_s;
            if (s->next_status <= now) /* fell behind: no burst to catch up */
                s->next_status = now + s->o.status_interval_s;
        }
        double left = (s->next_status - now) * 1e3;
        if (left < timeout)
            timeout = left < 1 ? 1 : (int)left;
    }
    if (!c->writing && s->qcount > 0) {
        vt__sapient_slot *q = &s->q[s->qhead];
        if (take_copy(c, q->buf, q->len)) {
            s->qhead = (s->qhead + 1) % s->qcap;
            s->qcount--;
        }
    }
    s->busy_writing = c->writing;
    if (!c->writing && s->qcount == 0)
        pthread_cond_broadcast(&s->changed); /* drained: vt_sapient_free may go on */
    return timeout;
}

/* The wait before the next connection, which then doubles (to its maximum). */
static void back_off(vt_sapient *s, conn *c)
{
    sleep_unless_stopped(s, c->rx.backoff);
    c->rx.backoff *= 2;
    if (c->rx.backoff > VT__SAPIENT_BACKOFF_MAX)
        c->rx.backoff = VT__SAPIENT_BACKOFF_MAX;
}

static void *net_thread(void *arg)
{
    vt_sapient *s = arg;
    conn c = {.fd = -1, .rx = {.backoff = VT__SAPIENT_BACKOFF_MIN}};
    while (!atomic_load(&s->stop)) {
        if (c.fd < 0) {
            int fd = vt__tcp_connect(s->host, s->port, 2000, &s->stop);
            if (fd < 0) {
                back_off(s, &c);
                continue;
            }
            pthread_mutex_lock(&s->mu);
            on_connect_locked(s, &c, fd);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        int timeout = prepare_locked(s, &c);
        atomic_store(&s->asleep, true); /* an enqueue from now on writes to the pipe */
        pthread_mutex_unlock(&s->mu);

        struct pollfd pf[2] = {{c.fd, (short)(POLLIN | (c.writing ? POLLOUT : 0)), 0},
                               {s->wake[0], POLLIN, 0}};
        int nready = poll(pf, 2, timeout);
        atomic_store(&s->asleep, false);
        if (nready > 0 && pf[1].revents)
            drain_wake(s);
        bool ok = true;
        if (nready > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            ok = read_some(s, &c);
        if (ok && c.writing && nready > 0 && (pf[0].revents & POLLOUT))
            ok = write_some(s, &c);
        if (!ok) {
            pthread_mutex_lock(&s->mu);
            drop_locked(s, &c);
            pthread_mutex_unlock(&s->mu);
            back_off(s, &c);
        }
    }
    pthread_mutex_lock(&s->mu);
    if (c.fd >= 0)
        drop_locked(s, &c);
    pthread_mutex_unlock(&s->mu);
    free(c.work);
    free(c.rb);
    return NULL;
}

vt_status vt__sapient_net_start(vt_sapient *s)
{
    if (pipe(s->wake) != 0) {
        s->wake[0] = s->wake[1] = -1;
        return vt__error(VT_EIO, "%s: cannot make a pipe: %s", s->url, strerror(errno));
    }
    for (int i = 0; i < 2; i++)
        fcntl(s->wake[i], F_SETFL, fcntl(s->wake[i], F_GETFL) | O_NONBLOCK);
    if (pthread_create(&s->thread, NULL, net_thread, s) != 0)
        return vt__error(VT_EIO, "%s: cannot start the connection thread", s->url);
    s->thread_started = true;
    return VT_OK;
}

void vt__sapient_net_stop(vt_sapient *s)
{
    if (s->thread_started) {
        atomic_store(&s->stop, true);
        atomic_store(&s->asleep, true);
        vt__sapient_net_wake(s);
        pthread_join(s->thread, NULL);
        s->thread_started = false;
    }
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    s->wake[0] = s->wake[1] = -1;
}
