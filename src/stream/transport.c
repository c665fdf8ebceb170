/*
 * src/stream/transport.c - the transports' common part: URL parsing and
 * dispatch to the backends (udp.c, tcp.c, shm.c, filelog.c), the frame
 * header that UDP, TCP and the file log put before every message (or
 * fragment), CRC-32, length-prefixed records, and the sequence-number
 * bookkeeping that lets a receiver count lost, duplicate and reordered
 * messages.
 *
 * The idea: every sender numbers its messages 0, 1, 2, ... under a random
 * 32-bit stream id. A receiver remembers the newest number seen and which of
 * the VT__SEQ_WINDOW numbers below it arrived, so a gap counts as lost until
 * the missing message turns up late (then it counts as reordered instead),
 * and a number seen before is a duplicate. A new stream id (the sender
 * restarted) starts the count again. docs/TRANSPORTS.md has the byte layout.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/transport_internal.h"

/* ---- URLs --------------------------------------------------------------- */

static vt_status parse_params(const char *q, vt__url *u)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', n);
        if (!eq || eq == q)
            return vt__error(VT_EINVAL, "%s: parameter '%.*s' is not NAME=VALUE", u->text, (int)n,
                             q);
        size_t kn = (size_t)(eq - q), vn = n - kn - 1;
        if (u->nparams == VT__URL_MAX_PARAMS)
            return vt__error(VT_EINVAL, "%s: more than %d parameters", u->text, VT__URL_MAX_PARAMS);
        if (kn >= sizeof u->params[0].key || vn >= sizeof u->params[0].value)
            return vt__error(VT_EINVAL, "%s: parameter '%.*s' is too long", u->text, (int)n, q);
        memcpy(u->params[u->nparams].key, q, kn);
        u->params[u->nparams].key[kn] = '\0';
        memcpy(u->params[u->nparams].value, eq + 1, vn);
        u->params[u->nparams].value[vn] = '\0';
        u->params[u->nparams].used = false;
        u->nparams++;
        q += n + (amp ? 1 : 0);
    }
    return VT_OK;
}

/* "host:port" (host may be empty for udp/tcp: not allowed) */
static vt_status parse_host_port(const char *hp, size_t n, vt__url *u)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (hp[i] == ':')
            colon = hp + i;
    if (!colon)
        return vt__error(VT_EINVAL, "%s: expected %s://HOST:PORT (no port)", u->text, u->scheme);
    size_t hn = (size_t)(colon - hp);
    if (hn == 0 || hn >= sizeof u->host)
        return vt__error(VT_EINVAL, "%s: expected %s://HOST:PORT (%s host)", u->text, u->scheme,
                         hn ? "too long a" : "no");
    memcpy(u->host, hp, hn);
    u->host[hn] = '\0';
    const char *p = colon + 1, *end = hp + n;
    long port = 0;
    if (p == end)
        return vt__error(VT_EINVAL, "%s: empty port", u->text);
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return vt__error(VT_EINVAL, "%s: port '%.*s' is not a number in 0..65535", u->text,
                             (int)(end - colon - 1), colon + 1);
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return vt__error(VT_EINVAL, "%s: port %ld is not in 0..65535", u->text, port);
    u->port = (int)port;
    return VT_OK;
}

vt_status vt__url_parse(const char *text, vt__url *u)
{
    memset(u, 0, sizeof *u);
    u->text = text ? text : "(null)";
    if (!text)
        return vt__error(VT_EINVAL, "transport: no URL");
    const char *sep = strstr(text, "://");
    if (!sep || sep == text || (size_t)(sep - text) >= sizeof u->scheme)
        return vt__error(
            VT_EINVAL, "%s: not a transport URL (udp://, tcp://, shm://NAME or file://PATH)", text);
    memcpy(u->scheme, text, (size_t)(sep - text));
    const char *rest = sep + 3;
    if (strcmp(u->scheme, "file") == 0) {
        /* A path may hold '?' and ':': take it whole, but for a last "?lz4=N". */
        const char *fq = strrchr(rest, '?');
        size_t n = fq && strncmp(fq, "?lz4=", 5) == 0 && !strchr(fq, '&') && fq > rest
                       ? (size_t)(fq - rest)
                       : strlen(rest);
        if (!*rest || n >= sizeof u->path)
            return vt__error(VT_EINVAL, "%s: %s path", text, *rest ? "too long a" : "no");
        memcpy(u->path, rest, n);
        u->path[n] = '\0';
        return rest[n] ? parse_params(rest + n + 1, u) : VT_OK;
    }
    const char *q = strchr(rest, '?');
    size_t n = q ? (size_t)(q - rest) : strlen(rest);
    vt_status s;
    if (strcmp(u->scheme, "udp") == 0 || strcmp(u->scheme, "tcp") == 0) {
        if ((s = parse_host_port(rest, n, u)) != VT_OK)
            return s;
    } else if (strcmp(u->scheme, "shm") == 0) {
        if (n == 0 || n > 200)
            return vt__error(VT_EINVAL, "%s: %s shared memory name", text, n ? "too long a" : "no");
        for (size_t i = 0; i < n; i++) {
            char c = rest[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.'))
                return vt__error(VT_EINVAL,
                                 "%s: shared memory name '%.*s': only letters, digits, '_', "
                                 "'-' and '.'",
                                 text, (int)n, rest);
        }
        memcpy(u->path, rest, n);
    } else {
        return vt__error(VT_EINVAL, "%s: unknown scheme '%s' (udp, tcp, shm or file)", text,
                         u->scheme);
    }
    return q ? parse_params(q + 1, u) : VT_OK;
}

static int find_param(vt__url *u, const char *key)
{
    for (int i = 0; i < u->nparams; i++)
        if (strcmp(u->params[i].key, key) == 0) {
            u->params[i].used = true;
            return i;
        }
    return -1;
}

vt_status vt__url_param_u64(vt__url *u, const char *key, uint64_t lo, uint64_t hi, uint64_t def,
                            uint64_t *out)
{
    int i = find_param(u, key);
    *out = def;
    if (i < 0)
        return VT_OK;
    const char *v = u->params[i].value;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-')
        return vt__error(VT_EINVAL, "%s: %s=%s is not a whole number", u->text, key, v);
    if (x < lo || x > hi)
        return vt__error(VT_ERANGE, "%s: %s=%s is not in %llu..%llu", u->text, key, v,
                         (unsigned long long)lo, (unsigned long long)hi);
    *out = x;
    return VT_OK;
}

const char *vt__url_param_str(vt__url *u, const char *key)
{
    int i = find_param(u, key);
    return i < 0 ? NULL : u->params[i].value;
}

vt_status vt__url_check_params(const vt__url *u)
{
    for (int i = 0; i < u->nparams; i++)
        if (!u->params[i].used)
            return vt__error(VT_EINVAL, "%s: unknown parameter '%s' for %s://", u->text,
                             u->params[i].key, u->scheme);
    return VT_OK;
}

vt_status vt__url_resolve(const vt__url *u, void *addr)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int e = getaddrinfo(u->host, NULL, &hints, &res);
    if (e != 0 || !res)
        return vt__error(VT_EINVAL, "%s: host '%s': %s", u->text, u->host,
                         e ? gai_strerror(e) : "no IPv4 address");
    struct sockaddr_in *sa = addr;
    memcpy(sa, res->ai_addr, sizeof *sa);
    sa->sin_port = htons((uint16_t)u->port);
    freeaddrinfo(res);
    return VT_OK;
}

/* ---- the frame header (CRC-32: core/bytes.h) ----------------------------- */

uint32_t vt__stream_id(void)
{
    static atomic_uint counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                 ((uint64_t)atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
    /* splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    uint32_t id = (uint32_t)x;
    return id ? id : 1;
}

void vt__frame_write(uint8_t *out, const vt__frame *f, const uint8_t *payload)
{
    memcpy(out, VT__FRAME_MAGIC, 4);
    out[4] = (uint8_t)(VT__FRAME_VERSION | f->flags);
    out[5] = f->type;
    vt__put_u16(out + 6, VT__FRAME_HEADER);
    vt__put_u32(out + 8, f->stream_id);
    vt__put_u32(out + 12, f->msg_len);
    vt__put_u64(out + 16, f->seq);
    vt__put_u32(out + 24, f->frag_off);
    vt__put_u32(out + 28, f->frag_len);
    vt__put_u16(out + 32, f->frag_index);
    vt__put_u16(out + 34, f->frag_count);
    uint32_t crc = vt__crc32(0, out, 36);
    crc = vt__crc32(crc, payload, f->frag_len);
    vt__put_u32(out + 36, crc);
}

vt__frame_check vt__frame_read(const uint8_t *buf, size_t n, vt__frame *f)
{
    if (n < VT__FRAME_HEADER)
        return n >= 4 && memcmp(buf, VT__FRAME_MAGIC, 4) == 0 ? VT__FRAME_TRUNCATED
                                                              : VT__FRAME_GARBAGE;
    if (memcmp(buf, VT__FRAME_MAGIC, 4) != 0 ||
        (buf[4] & VT__FRAME_VERSION_MASK) != VT__FRAME_VERSION ||
        (buf[4] & ~VT__FRAME_VERSION_MASK & ~VT__FRAME_KNOWN_FLAGS) != 0 ||
        vt__get_u16(buf + 6) != VT__FRAME_HEADER)
        return VT__FRAME_GARBAGE;
    f->flags = buf[4] & ~VT__FRAME_VERSION_MASK & 0xFF;
    f->type = buf[5];
    f->stream_id = vt__get_u32(buf + 8);
    f->msg_len = vt__get_u32(buf + 12);
    f->seq = vt__get_u64(buf + 16);
    f->frag_off = vt__get_u32(buf + 24);
    f->frag_len = vt__get_u32(buf + 28);
    f->frag_index = vt__get_u16(buf + 32);
    f->frag_count = vt__get_u16(buf + 34);
    if (n - VT__FRAME_HEADER < f->frag_len)
        return VT__FRAME_TRUNCATED;
    if (n - VT__FRAME_HEADER > f->frag_len || f->type == 0 || f->frag_count == 0 ||
        f->frag_index >= f->frag_count || f->msg_len > VT_TRANSPORT_MAX_MESSAGE ||
        (uint64_t)f->frag_off + f->frag_len > f->msg_len)
        return VT__FRAME_GARBAGE;
    uint32_t crc = vt__crc32(0, buf, 36);
    crc = vt__crc32(crc, buf + VT__FRAME_HEADER, f->frag_len);
    return crc == vt__get_u32(buf + 36) ? VT__FRAME_OK : VT__FRAME_GARBAGE;
}

/* ---- length-prefixed records ------------------------------------------- */

void vt__record_header(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream_id, uint64_t seq,
                       const uint8_t *msg, size_t len)
{
    vt__frame f = {.type = type,
                   .flags = flags,
                   .stream_id = stream_id,
                   .msg_len = (uint32_t)len,
                   .seq = seq,
                   .frag_len = (uint32_t)len,
                   .frag_count = 1};
    vt__put_u32(out, (uint32_t)(VT__FRAME_HEADER + len));
    vt__frame_write(out + VT__RECORD_PREFIX, &f, msg);
}

vt__rec_result vt__recbuf_next(vt__recbuf *b, vt__frame *f, const uint8_t **payload)
{
    size_t avail = b->end - b->start;
    if (avail < VT__RECORD_PREFIX)
        return VT__REC_NEED;
    const uint8_t *p = b->data + b->start;
    uint32_t n = vt__get_u32(p);
    if (n < VT__FRAME_HEADER || n > VT__FRAME_HEADER + VT_TRANSPORT_MAX_MESSAGE)
        return VT__REC_BADLENGTH;
    /* A prefix that is not followed by the magic is out of step too: say so early
       rather than wait for megabytes that will never make sense. */
    if (avail >= VT__RECORD_PREFIX + 4 && memcmp(p + 4, VT__FRAME_MAGIC, 4) != 0)
        return VT__REC_BADLENGTH;
    if (avail < VT__RECORD_PREFIX + (size_t)n)
        return VT__REC_NEED;
    b->start += VT__RECORD_PREFIX + (size_t)n;
    if (vt__frame_read(p + 4, n, f) != VT__FRAME_OK || f->frag_count != 1)
        return VT__REC_GARBAGE;
    *payload = p + 4 + VT__FRAME_HEADER;
    return VT__REC_OK;
}

vt_status vt__recbuf_reserve(vt__recbuf *b, size_t want)
{
    if (b->start > 0 && (b->start == b->end || b->cap - b->end < want)) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    if (b->cap - b->end >= want)
        return VT_OK;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->end < want)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return vt__error(VT_ENOMEM, "transport: record buffer of %zu bytes", cap);
    b->data = d;
    b->cap = cap;
    return VT_OK;
}

void vt__recbuf_free(vt__recbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- time ---------------------------------------------------------------- */

double vt__deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1.0 : vt__now() + timeout_ms * 1e-3;
}

int vt__ms_left(double deadline)
{
    if (deadline < 0)
        return -1;
    double left = deadline - vt__now();
    return left <= 0 ? 0 : (int)(left * 1e3 + 0.999);
}

/* ---- sequence numbers ---------------------------------------------------- */

static bool seen_bit(const vt_receiver *r, uint64_t seq)
{
    uint64_t i = seq % VT__SEQ_WINDOW;
    return (r->seen[i / 64] >> (i % 64)) & 1;
}

static void set_seen(vt_receiver *r, uint64_t seq, bool on)
{
    uint64_t i = seq % VT__SEQ_WINDOW, bit = 1ull << (i % 64);
    r->seen[i / 64] = on ? r->seen[i / 64] | bit : r->seen[i / 64] & ~bit;
}

bool vt__receiver_seen(const vt_receiver *r, uint32_t stream_id, uint64_t seq)
{
    if (!r->started || stream_id != r->stream_id || seq >= r->next_seq)
        return false;
    return r->next_seq - seq <= VT__SEQ_WINDOW && seen_bit(r, seq);
}

bool vt__receiver_accept(vt_receiver *r, uint32_t stream_id, uint64_t seq)
{
    if (!r->started || stream_id != r->stream_id) {
        if (r->started)
            r->stats.restarts++;
        r->started = true;
        r->stream_id = stream_id;
        memset(r->seen, 0, sizeof r->seen);
        r->next_seq = seq + 1;
        set_seen(r, seq, true);
    } else if (seq >= r->next_seq) {
        r->stats.lost += seq - r->next_seq;
        uint64_t clear = seq - r->next_seq < VT__SEQ_WINDOW ? seq - r->next_seq : VT__SEQ_WINDOW;
        for (uint64_t k = 0; k < clear; k++)
            set_seen(r, r->next_seq + k, false);
        set_seen(r, seq, true);
        r->next_seq = seq + 1;
    } else if (r->next_seq - seq <= VT__SEQ_WINDOW) {
        if (seen_bit(r, seq)) {
            r->stats.duplicates++;
            return false;
        }
        set_seen(r, seq, true);
        r->stats.reordered++;
        if (r->stats.lost > 0)
            r->stats.lost--;
    } else {
        /* Older than the window: cannot tell a duplicate from a late one; deliver. */
        r->stats.reordered++;
    }
    r->last_seq = seq;
    return true;
}

/* ---- dispatch ------------------------------------------------------------ */

vt_status vt_sender_open(const char *url, vt_sender **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_sender_open: out is NULL");
    *out = NULL;
    vt__url *u = malloc(sizeof *u);
    vt_sender *s = calloc(1, sizeof *s);
    if (!u || !s || !url || !(s->url = strdup(url))) {
        free(u);
        free(s);
        return url ? vt__error(VT_ENOMEM, "%s: out of memory", url)
                   : vt__error(VT_EINVAL, "vt_sender_open: no URL");
    }
    s->stream_id = vt__stream_id();
    uint64_t lz4 = 0;
    vt_status st = vt__url_parse(url, u);
    if (st == VT_OK)
        st = vt__url_param_u64(u, "lz4", 0, 1, 0, &lz4);
    s->lz4 = lz4 != 0;
    if (st == VT_OK) {
        if (strcmp(u->scheme, "udp") == 0)
            st = vt__udp_sender_open(u, s);
        else if (strcmp(u->scheme, "tcp") == 0)
            st = vt__tcp_sender_open(u, s);
        else if (strcmp(u->scheme, "shm") == 0)
            st = vt__shm_sender_open(u, s);
        else
            st = vt__file_sender_open(u, s);
    }
    free(u);
    if (st != VT_OK) {
        free(s->url);
        free(s);
        return st;
    }
    *out = s;
    return VT_OK;
}

vt_status vt_sender_send(vt_sender *s, vt_msg_type type, const uint8_t *msg, size_t len)
{
    if (!s || (!msg && len > 0))
        return vt__error(VT_EINVAL, "vt_sender_send: %s is NULL", s ? "msg" : "sender");
    if ((int)type < 1 || (int)type > 255)
        return vt__error(VT_EINVAL, "%s: message type %d is not in 1..255", s->url, (int)type);
    if (len > VT_TRANSPORT_MAX_MESSAGE)
        return vt__error(VT_ERANGE, "%s: message of %zu bytes is over the limit of %zu", s->url,
                         len, VT_TRANSPORT_MAX_MESSAGE);
    /* Compressed only where it pays: the receiver cannot tell the difference. */
    const uint8_t *out = msg;
    size_t out_len = len;
    s->frame_flags = 0;
    if (s->lz4 && len > 0) {
        vt_status zs = vt__lz4_compress(&s->z, msg, len, s->url);
        if (zs != VT_OK)
            return zs;
        if (s->z.len < len) {
            out = s->z.buf;
            out_len = s->z.len;
            s->frame_flags = VT__FRAME_LZ4;
        }
    }
    vt_status st = s->ops->send(s, (uint8_t)type, s->seq, out, out_len);
    if (st == VT_OK) {
        s->seq++;
        atomic_fetch_add_explicit(&s->sent, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->bytes, len, memory_order_relaxed);
    }
    return st;
}

int vt_sender_port(const vt_sender *s)
{
    return s && s->ops->port ? s->ops->port(s) : 0;
}

void vt_sender_get_stats(const vt_sender *s, vt_sender_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->sent = atomic_load_explicit(&s->sent, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->clients = atomic_load_explicit(&s->clients, memory_order_relaxed);
    out->accepted = atomic_load_explicit(&s->accepted, memory_order_relaxed);
}

void vt_sender_free(vt_sender *s)
{
    if (!s)
        return;
    s->ops->free(s);
    vt__lz4_free(&s->z);
    free(s->url);
    free(s);
}

vt_status vt_receiver_open(const char *url, vt_receiver **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_receiver_open: out is NULL");
    *out = NULL;
    vt__url *u = malloc(sizeof *u);
    vt_receiver *r = calloc(1, sizeof *r);
    if (!u || !r || !url || !(r->url = strdup(url))) {
        free(u);
        free(r);
        return url ? vt__error(VT_ENOMEM, "%s: out of memory", url)
                   : vt__error(VT_EINVAL, "vt_receiver_open: no URL");
    }
    uint64_t lz4; /* the sender's to choose: accepted so that one URL serves both */
    vt_status st = vt__url_parse(url, u);
    if (st == VT_OK)
        st = vt__url_param_u64(u, "lz4", 0, 1, 0, &lz4);
    if (st == VT_OK) {
        if (strcmp(u->scheme, "udp") == 0)
            st = vt__udp_receiver_open(u, r);
        else if (strcmp(u->scheme, "tcp") == 0)
            st = vt__tcp_receiver_open(u, r);
        else if (strcmp(u->scheme, "shm") == 0)
            st = vt__shm_receiver_open(u, r);
        else
            st = vt__file_receiver_open(u, r);
    }
    free(u);
    if (st != VT_OK) {
        free(r->url);
        free(r);
        return st;
    }
    *out = r;
    return VT_OK;
}

vt_status vt_receiver_next(vt_receiver *r, int timeout_ms, vt_msg_type *type, const uint8_t **msg,
                           size_t *len, bool *end)
{
    uint8_t t = 0;
    const uint8_t *m = NULL;
    size_t n = 0;
    bool e = false;
    if (!r)
        return vt__error(VT_EINVAL, "vt_receiver_next: receiver is NULL");
    double deadline = vt__deadline(timeout_ms);
    vt_status st;
    for (;;) {
        r->frame_flags = 0;
        st = r->ops->next(r, timeout_ms, &t, &m, &n, &e);
        if (st != VT_OK || t == 0 || !(r->frame_flags & VT__FRAME_LZ4))
            break;
        if (vt__lz4_decompress(&r->z, m, n, VT_TRANSPORT_MAX_MESSAGE, r->url) == VT_OK) {
            m = r->z.buf;
            n = r->z.len;
            break;
        }
        /* A compressed message that does not decompress is garbage like a bad frame. */
        r->stats.garbage++;
        t = 0;
        timeout_ms = vt__ms_left(deadline);
    }
    if (st != VT_OK || t == 0) {
        t = 0;
        m = NULL;
        n = 0;
    } else {
        r->stats.received++;
        r->stats.bytes += n;
    }
    if (type)
        *type = (vt_msg_type)t;
    if (msg)
        *msg = m;
    if (len)
        *len = n;
    if (end)
        *end = e;
    return st;
}

uint64_t vt_receiver_seq(const vt_receiver *r)
{
    return r ? r->last_seq : 0;
}

int vt_receiver_port(const vt_receiver *r)
{
    return r && r->ops->port ? r->ops->port(r) : 0;
}

void vt_receiver_get_stats(const vt_receiver *r, vt_receiver_stats *out)
{
    if (r)
        *out = r->stats;
    else
        memset(out, 0, sizeof *out);
}

void vt_receiver_free(vt_receiver *r)
{
    if (!r)
        return;
    r->ops->free(r);
    vt__lz4_free(&r->z);
    free(r->url);
    free(r);
}
