/*
 * src/stream/udp.c - udp:// transport: one message per datagram (or a few,
 * when it is longer than the MTU), unicast or IPv4 multicast.
 *
 * Sender: each datagram is a 40-byte frame header (transport_internal.h,
 * docs/TRANSPORTS.md) and a fragment of the message; the socket is
 * non-blocking and a datagram the kernel will not take (EAGAIN, ENOBUFS)
 * drops the whole message, counted. Multicast senders set the TTL, keep
 * IP_MULTICAST_LOOP on (so that a receiver on the same host hears) and may
 * pick the interface.
 *
 * Receiver: binds the port (the group's address for multicast, joined with
 * IP_ADD_MEMBERSHIP), checks each datagram (magic, lengths, CRC: garbage and
 * truncated frames are counted and skipped) and reassembles fragments in a
 * small table of partial messages, bounded in count and bytes: when it is
 * full the oldest partial message is given up, and the gap it leaves in the
 * sequence numbers counts it lost.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/transport_internal.h"

enum {
    UDP_DEFAULT_MTU = 1400,
    UDP_MAX_DATAGRAM = 65507,
    UDP_PARTIALS = 16,                /* messages being reassembled at once */
    UDP_PARTIAL_BYTES_MAX = 64 << 20, /* their bytes together */
    UDP_DEFAULT_RCVBUF = 4 << 20
};

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &n) != 0)
        return 0;
    return ntohs(a.sin_port);
}

static bool is_multicast(const struct sockaddr_in *a)
{
    return IN_MULTICAST(ntohl(a->sin_addr.s_addr));
}

static vt_status parse_iface(vt__url *u, struct in_addr *iface)
{
    const char *v = vt__url_param_str(u, "iface");
    iface->s_addr = htonl(INADDR_ANY);
    if (v && inet_pton(AF_INET, v, iface) != 1)
        return vt__error(VT_EINVAL, "%s: iface=%s is not an IPv4 address", u->text, v);
    return VT_OK;
}

/* ---- sender -------------------------------------------------------------- */

typedef struct udp_sender {
    int fd;
    struct sockaddr_in to;
    size_t mtu;
    uint8_t *dgram; /* mtu bytes */
} udp_sender;

static vt_status udp_send(vt_sender *s, uint8_t type, uint64_t seq, const uint8_t *msg, size_t len)
{
    udp_sender *u = s->impl;
    size_t chunk = u->mtu - VT__FRAME_HEADER;
    size_t count = len == 0 ? 1 : (len + chunk - 1) / chunk;
    if (count > 65535)
        return vt__error(VT_ERANGE,
                         "%s: message of %zu bytes needs %zu datagrams of %zu bytes (at most "
                         "65535); raise mtu=",
                         s->url, len, count, u->mtu);
    vt__frame f = {.type = type,
                   .flags = s->frame_flags,
                   .stream_id = s->stream_id,
                   .msg_len = (uint32_t)len,
                   .seq = seq,
                   .frag_count = (uint16_t)count};
    for (size_t i = 0; i < count; i++) {
        f.frag_index = (uint16_t)i;
        f.frag_off = (uint32_t)(i * chunk);
        f.frag_len = (uint32_t)(len - f.frag_off < chunk ? len - f.frag_off : chunk);
        if (f.frag_len)
            memcpy(u->dgram + VT__FRAME_HEADER, msg + f.frag_off, f.frag_len);
        vt__frame_write(u->dgram, &f, u->dgram + VT__FRAME_HEADER);
        ssize_t n = sendto(u->fd, u->dgram, VT__FRAME_HEADER + f.frag_len, MSG_DONTWAIT,
                           (const struct sockaddr *)&u->to, sizeof u->to);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
                errno == ECONNREFUSED || errno == EINTR) {
                /* The rest of the message is useless without this fragment. */
                atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
                return VT_OK;
            }
            return vt__error(VT_EIO, "%s: sendto: %s", s->url, strerror(errno));
        }
    }
    return VT_OK;
}

static void udp_sender_free(vt_sender *s)
{
    udp_sender *u = s->impl;
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    free(u->dgram);
    free(u);
}

static int udp_sender_port(const vt_sender *s)
{
    return local_port(((const udp_sender *)s->impl)->fd);
}

static const vt__sender_ops udp_sender_ops = {udp_send, udp_sender_free, udp_sender_port};

static vt_status udp_sender_setup(vt__url *url, udp_sender *u)
{
    uint64_t ttl, mtu;
    struct in_addr iface;
    vt_status st;
    if ((st = vt__url_param_u64(url, "ttl", 0, 255, 1, &ttl)) != VT_OK ||
        (st = vt__url_param_u64(url, "mtu", VT__FRAME_HEADER + 1, UDP_MAX_DATAGRAM, UDP_DEFAULT_MTU,
                                &mtu)) != VT_OK ||
        (st = parse_iface(url, &iface)) != VT_OK || (st = vt__url_check_params(url)) != VT_OK ||
        (st = vt__url_resolve(url, &u->to)) != VT_OK)
        return st;
    if (url->port == 0)
        return vt__error(VT_EINVAL, "%s: a sender needs a port other than 0", url->text);
    u->mtu = mtu;
    if (!(u->dgram = malloc(mtu)))
        return vt__error(VT_ENOMEM, "%s: datagram buffer", url->text);
    if ((u->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
        return vt__error(VT_EIO, "%s: socket: %s", url->text, strerror(errno));
    fcntl(u->fd, F_SETFL, fcntl(u->fd, F_GETFL) | O_NONBLOCK);
    int ittl = (int)ttl;
    if (is_multicast(&u->to)) {
        unsigned char mttl = (unsigned char)ttl, loop = 1;
        if (setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof mttl) != 0 ||
            setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
            return vt__error(VT_EIO, "%s: multicast options: %s", url->text, strerror(errno));
        if (iface.s_addr != htonl(INADDR_ANY) &&
            setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0)
            return vt__error(VT_EIO, "%s: iface: %s", url->text, strerror(errno));
    } else if (ittl > 0 && setsockopt(u->fd, IPPROTO_IP, IP_TTL, &ittl, sizeof ittl) != 0) {
        return vt__error(VT_EIO, "%s: ttl: %s", url->text, strerror(errno));
    }
    return VT_OK;
}

vt_status vt__udp_sender_open(vt__url *url, vt_sender *s)
{
    udp_sender *u = calloc(1, sizeof *u);
    if (!u)
        return vt__error(VT_ENOMEM, "%s: out of memory", url->text);
    u->fd = -1;
    s->ops = &udp_sender_ops;
    s->impl = u;
    vt_status st = udp_sender_setup(url, u);
    if (st != VT_OK) {
        udp_sender_free(s);
        s->impl = NULL;
    }
    return st;
}

/* ---- receiver ------------------------------------------------------------ */

typedef struct partial {
    bool used;
    uint8_t type;
    uint8_t flags; /* VT__FRAME_LZ4 or 0 */
    uint32_t stream_id, msg_len;
    uint64_t seq;
    uint16_t count, got;
    uint8_t *data;  /* msg_len bytes */
    uint64_t *have; /* one bit per fragment */
} partial;

typedef struct udp_receiver {
    int fd;
    uint8_t dgram[UDP_MAX_DATAGRAM + 1];
    partial parts[UDP_PARTIALS];
    size_t part_bytes;
    uint8_t *done; /* the last reassembled message, returned to the caller */
} udp_receiver;

static void partial_drop(udp_receiver *u, partial *p)
{
    u->part_bytes -= p->msg_len;
    free(p->data);
    free(p->have);
    memset(p, 0, sizeof *p);
}

/* The partial message for (stream, seq), or a fresh slot for it (the oldest one given up). */
static partial *partial_find(udp_receiver *u, const vt__frame *f)
{
    partial *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < UDP_PARTIALS; i++) {
        partial *p = &u->parts[i];
        if (!p->used) {
            free_slot = free_slot ? free_slot : p;
            continue;
        }
        if (p->stream_id == f->stream_id && p->seq == f->seq)
            return p;
        if (!oldest || p->seq < oldest->seq)
            oldest = p;
    }
    partial *p = free_slot ? free_slot : oldest;
    if (p->used)
        partial_drop(u, p);
    /* Keep the bytes bounded: give up the oldest until this one fits. */
    while (u->part_bytes + f->msg_len > UDP_PARTIAL_BYTES_MAX) {
        partial *o = NULL;
        for (int i = 0; i < UDP_PARTIALS; i++)
            if (u->parts[i].used && (!o || u->parts[i].seq < o->seq))
                o = &u->parts[i];
        if (!o)
            break;
        partial_drop(u, o);
    }
    p->data = malloc(f->msg_len ? f->msg_len : 1);
    p->have = calloc((f->frag_count + 63) / 64, sizeof *p->have);
    if (!p->data || !p->have) {
        free(p->data);
        free(p->have);
        p->data = NULL;
        p->have = NULL;
        return NULL;
    }
    p->used = true;
    p->type = f->type;
    p->flags = f->flags;
    p->stream_id = f->stream_id;
    p->msg_len = f->msg_len;
    p->seq = f->seq;
    p->count = f->frag_count;
    p->got = 0;
    u->part_bytes += f->msg_len;
    return p;
}

/* Adds a fragment; returns true when its message is whole (then in p). */
static bool partial_add(vt_receiver *r, udp_receiver *u, partial *p, const vt__frame *f,
                        const uint8_t *payload)
{
    if (p->type != f->type || p->flags != f->flags || p->msg_len != f->msg_len ||
        p->count != f->frag_count) {
        r->stats.garbage++; /* fragments that disagree about their message */
        return false;
    }
    uint64_t bit = 1ull << (f->frag_index % 64);
    if (p->have[f->frag_index / 64] & bit)
        return false; /* the same fragment twice */
    p->have[f->frag_index / 64] |= bit;
    memcpy(p->data + f->frag_off, payload, f->frag_len);
    (void)u;
    return ++p->got == p->count;
}

static vt_status udp_next(vt_receiver *r, int timeout_ms, uint8_t *type, const uint8_t **msg,
                          size_t *len, bool *end)
{
    udp_receiver *u = r->impl;
    double deadline = vt__deadline(timeout_ms);
    (void)end;
    free(u->done);
    u->done = NULL;
    for (;;) {
        ssize_t n = recv(u->fd, u->dgram, sizeof u->dgram, MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
                return vt__error(VT_EIO, "%s: recv: %s", r->url, strerror(errno));
            int ms = vt__ms_left(deadline);
            if (ms == 0)
                return VT_OK;
            struct pollfd pfd = {.fd = u->fd, .events = POLLIN};
            if (poll(&pfd, 1, ms) < 0) {
                if (errno == EINTR)
                    return VT_OK; /* a signal: let the caller look at it */
                return vt__error(VT_EIO, "%s: poll: %s", r->url, strerror(errno));
            }
            continue;
        }
        vt__frame f;
        vt__frame_check c = vt__frame_read(u->dgram, (size_t)n, &f);
        if (c != VT__FRAME_OK) {
            r->stats.garbage++;
            r->stats.truncated += c == VT__FRAME_TRUNCATED;
            continue;
        }
        if (vt__receiver_seen(r, f.stream_id, f.seq)) {
            if (f.frag_index == 0)
                r->stats.duplicates++;
            continue;
        }
        const uint8_t *data = u->dgram + VT__FRAME_HEADER;
        if (f.frag_count > 1) {
            partial *p = partial_find(u, &f);
            if (!p)
                return vt__error(VT_ENOMEM, "%s: reassembly of %u bytes", r->url, f.msg_len);
            if (!partial_add(r, u, p, &f, data))
                continue;
            /* Whole: hand its buffer over (freed at the next call). */
            u->done = p->data;
            p->data = NULL;
            data = u->done;
            partial_drop(u, p);
        } else if (f.frag_len != f.msg_len) {
            r->stats.garbage++;
            continue;
        }
        if (!vt__receiver_accept(r, f.stream_id, f.seq))
            continue;
        *type = f.type;
        r->frame_flags = f.flags;
        *msg = data;
        *len = f.msg_len;
        return VT_OK;
    }
}

static void udp_receiver_free(vt_receiver *r)
{
    udp_receiver *u = r->impl;
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    for (int i = 0; i < UDP_PARTIALS; i++)
        if (u->parts[i].used)
            partial_drop(u, &u->parts[i]);
    free(u->done);
    free(u);
}

static int udp_receiver_port(const vt_receiver *r)
{
    return local_port(((const udp_receiver *)r->impl)->fd);
}

static const vt__receiver_ops udp_receiver_ops = {udp_next, udp_receiver_free, udp_receiver_port};

static vt_status udp_receiver_setup(vt__url *url, udp_receiver *u)
{
    struct sockaddr_in addr;
    struct in_addr iface;
    uint64_t rcvbuf;
    vt_status st;
    if ((st = parse_iface(url, &iface)) != VT_OK ||
        (st = vt__url_param_u64(url, "rcvbuf", 0, 1u << 30, UDP_DEFAULT_RCVBUF, &rcvbuf)) !=
            VT_OK ||
        (st = vt__url_check_params(url)) != VT_OK || (st = vt__url_resolve(url, &addr)) != VT_OK)
        return st;
    if ((u->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
        return vt__error(VT_EIO, "%s: socket: %s", url->text, strerror(errno));
    int one = 1, buf = (int)rcvbuf;
    setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (buf > 0)
        setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf); /* a wish: may be capped */
    if (bind(u->fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        return vt__error(VT_EIO, "%s: bind %s:%d: %s", url->text, url->host, url->port,
                         strerror(errno));
    if (is_multicast(&addr)) {
        struct ip_mreq m = {.imr_multiaddr = addr.sin_addr, .imr_interface = iface};
        if (setsockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
            return vt__error(VT_EIO, "%s: joining group %s: %s", url->text, url->host,
                             strerror(errno));
    }
    return VT_OK;
}

vt_status vt__udp_receiver_open(vt__url *url, vt_receiver *r)
{
    udp_receiver *u = calloc(1, sizeof *u);
    if (!u)
        return vt__error(VT_ENOMEM, "%s: out of memory", url->text);
    u->fd = -1;
    r->ops = &udp_receiver_ops;
    r->impl = u;
    vt_status st = udp_receiver_setup(url, u);
    if (st != VT_OK) {
        udp_receiver_free(r);
        r->impl = NULL;
    }
    return st;
}
