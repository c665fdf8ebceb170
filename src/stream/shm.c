/*
 * src/stream/shm.c - shm:// transport: a ring of variable-size records in
 * POSIX shared memory (shm_open + mmap), one producer, any number of readers,
 * no locks.
 *
 * The segment is a header page and a data area of `capacity` bytes (a power
 * of two). Positions are absolute byte counts that only grow; a record at
 * position p lies at data[p % capacity]. A record is a 16-byte header
 * (payload length, type, sequence number) and the payload, padded to 8
 * bytes; it never wraps: when it does not fit before the end of the data
 * area the producer writes a WRAP marker and starts it at the next multiple
 * of the capacity.
 *
 * The producer never waits for anyone. Per record it announces the end of
 * the bytes it is about to overwrite (`claim`), writes, then publishes the
 * new end (`write_pos`, release) and where the newest record starts
 * (`last_pos`). A reader keeps its own position r. It copies a record out,
 * then re-reads `claim` (a seqlock-style check, Boehm 2012): if claim - r >
 * capacity the producer may have overwritten what was copied, so the copy is
 * thrown away. Whenever the reader finds itself more than a ring behind it
 * counts an overrun and jumps to the newest record; the gap in the sequence
 * numbers tells how many messages it lost. Readers map the segment read-only.
 *
 * A reader attaches lazily (inside vt_receiver_next, within its timeout), so
 * it may start before the producer; when the producer goes away (the segment
 * is marked closed and unlinked) the reader detaches and waits for a new one.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/transport_internal.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shm ring needs lock-free 64-bit atomics");

#define SHM_MAGIC "VXTSHM1"
enum {
    SHM_VERSION = 1,
    SHM_HEADER_BYTES = 4096, /* the data area starts a page in */
    SHM_REC_HEADER = 16,
    SHM_STATE_INIT = 0,
    SHM_STATE_LIVE = 1,
    SHM_STATE_CLOSED = 2,
    SHM_TRIES = 64 /* reads without a message in one look before giving up (shm_next) */
};
#define SHM_WRAP 0xFFFFFFFFu
#define SHM_DEFAULT_BYTES ((uint64_t)16 << 20)
#define SHM_MIN_BYTES ((uint64_t)4096)
#define SHM_MAX_BYTES ((uint64_t)1 << 32)

/* The segment's header. Only the producer writes it. */
typedef struct shm_header {
    char magic[8];
    uint32_t version, header_bytes;
    uint64_t capacity;
    uint32_t stream_id;
    _Atomic uint32_t state;
    char pad0[64 - 32];
    /* The producer's positions, one cache line apart from the constants. */
    _Atomic uint64_t claim;     /* bytes below this may be being overwritten */
    _Atomic uint64_t write_pos; /* records below this are whole */
    _Atomic uint64_t last_pos;  /* where the newest whole record starts */
    _Atomic uint64_t messages;  /* records written */
} shm_header;

_Static_assert(sizeof(shm_header) <= SHM_HEADER_BYTES, "shm header fits its page");

static size_t rec_size(size_t len)
{
    return (SHM_REC_HEADER + len + 7) & ~(size_t)7;
}

static void shm_name(const vt__url *u, char *out, size_t n)
{
    snprintf(out, n, "/%.200s", u->path);
}

/* ---- producer ------------------------------------------------------------- */

typedef struct shm_sender {
    char name[256];
    shm_header *h;
    uint8_t *data;
    size_t map_bytes;
    uint64_t mask, pos;
} shm_sender;

static vt_status shm_send(vt_sender *s, uint8_t type, uint64_t seq, const uint8_t *msg, size_t len)
{
    shm_sender *p = s->impl;
    uint64_t cap = p->mask + 1;
    if (len > cap / 4)
        return vt__error(VT_ERANGE,
                         "%s: message of %zu bytes is over a quarter of the ring (%llu bytes); "
                         "raise bytes=",
                         s->url, len, (unsigned long long)cap);
    size_t sz = rec_size(len);
    uint64_t pos = p->pos, off = pos & p->mask, start = pos;
    if (off + sz > cap)
        start = pos + (cap - off); /* WRAP marker at off; the record at the next lap */
    uint64_t end = start + sz;
    /* Announce what is about to be overwritten before touching it. */
    atomic_store_explicit(&p->h->claim, end, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    if (start != pos) {
        uint32_t wrap = SHM_WRAP;
        memcpy(p->data + off, &wrap, 4);
    }
    uint8_t *rec = p->data + (start & p->mask);
    uint32_t len32 = (uint32_t)len;
    uint8_t hdr[SHM_REC_HEADER] = {0};
    memcpy(hdr, &len32, 4);
    hdr[4] = type;
    hdr[5] = s->frame_flags;
    memcpy(hdr + 8, &seq, 8);
    memcpy(rec, hdr, SHM_REC_HEADER);
    if (len)
        memcpy(rec + SHM_REC_HEADER, msg, len);
    atomic_store_explicit(&p->h->last_pos, start, memory_order_relaxed);
    atomic_store_explicit(&p->h->write_pos, end, memory_order_release);
    atomic_store_explicit(&p->h->messages, seq + 1, memory_order_relaxed);
    p->pos = end;
    return VT_OK;
}

static void shm_sender_free(vt_sender *s)
{
    shm_sender *p = s->impl;
    if (!p)
        return;
    if (p->h) {
        atomic_store_explicit(&p->h->state, SHM_STATE_CLOSED, memory_order_release);
        munmap(p->h, p->map_bytes);
        shm_unlink(p->name);
    }
    free(p);
}

static const vt__sender_ops shm_sender_ops = {shm_send, shm_sender_free, NULL};

static vt_status shm_sender_setup(vt__url *u, vt_sender *s, shm_sender *p)
{
    uint64_t bytes;
    vt_status st;
    if ((st = vt__url_param_u64(u, "bytes", SHM_MIN_BYTES, SHM_MAX_BYTES, SHM_DEFAULT_BYTES,
                                &bytes)) != VT_OK ||
        (st = vt__url_check_params(u)) != VT_OK)
        return st;
    uint64_t cap = SHM_MIN_BYTES;
    while (cap < bytes)
        cap *= 2;
    shm_name(u, p->name, sizeof p->name);
    /* One producer per name: a segment left by a producer that died is replaced. */
    int fd = shm_open(p->name, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0 && errno == EEXIST) {
        shm_unlink(p->name);
        fd = shm_open(p->name, O_RDWR | O_CREAT | O_EXCL, 0644);
    }
    if (fd < 0)
        return vt__error(VT_EIO, "%s: shm_open %s: %s", u->text, p->name, strerror(errno));
    p->map_bytes = SHM_HEADER_BYTES + cap;
    void *m = MAP_FAILED;
    if (ftruncate(fd, (off_t)p->map_bytes) == 0)
        m = mmap(NULL, p->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        shm_unlink(p->name);
        return vt__error(VT_EIO, "%s: %llu bytes of shared memory: %s", u->text,
                         (unsigned long long)p->map_bytes, strerror(e));
    }
    p->h = m;
    p->data = (uint8_t *)m + SHM_HEADER_BYTES;
    p->mask = cap - 1;
    shm_header *h = p->h;
    memcpy(h->magic, SHM_MAGIC, 8);
    h->version = SHM_VERSION;
    h->header_bytes = SHM_HEADER_BYTES;
    h->capacity = cap;
    h->stream_id = s->stream_id;
    atomic_store_explicit(&h->state, SHM_STATE_LIVE, memory_order_release);
    return VT_OK;
}

vt_status vt__shm_sender_open(vt__url *u, vt_sender *s)
{
    shm_sender *p = calloc(1, sizeof *p);
    if (!p)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    s->ops = &shm_sender_ops;
    s->impl = p;
    vt_status st = shm_sender_setup(u, s, p);
    if (st != VT_OK) {
        shm_sender_free(s);
        s->impl = NULL;
    }
    return st;
}

/* ---- reader --------------------------------------------------------------- */

typedef struct shm_reader {
    char name[256];
    const shm_header *h; /* NULL while detached */
    const uint8_t *data;
    size_t map_bytes;
    uint64_t mask, pos;
    bool was_attached;
    uint8_t *buf; /* the record copied out */
    size_t buf_cap;
} shm_reader;

static void detach(shm_reader *q)
{
    if (q->h)
        munmap((void *)q->h, q->map_bytes);
    q->h = NULL;
}

/* Maps the producer's segment when it is there and live; false when not (yet). */
static bool try_attach(vt_receiver *r, shm_reader *q)
{
    int fd = shm_open(q->name, O_RDONLY, 0);
    if (fd < 0)
        return false;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > SHM_HEADER_BYTES)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return false;
    const shm_header *h = m;
    uint64_t cap = h->capacity;
    if (atomic_load_explicit(&((shm_header *)m)->state, memory_order_acquire) != SHM_STATE_LIVE ||
        memcmp(h->magic, SHM_MAGIC, 8) != 0 || h->version != SHM_VERSION ||
        h->header_bytes != SHM_HEADER_BYTES || cap < SHM_MIN_BYTES || (cap & (cap - 1)) ||
        (uint64_t)st.st_size < SHM_HEADER_BYTES + cap) {
        munmap(m, (size_t)st.st_size);
        return false; /* not ready, closed, or not ours: try again later */
    }
    q->h = h;
    q->data = (const uint8_t *)m + SHM_HEADER_BYTES;
    q->map_bytes = (size_t)st.st_size;
    q->mask = cap - 1;
    /* Start at the newest data, like tail -f. */
    q->pos = atomic_load_explicit(&((shm_header *)m)->write_pos, memory_order_acquire);
    if (q->was_attached)
        r->stats.reconnects++;
    q->was_attached = true;
    return true;
}

static uint64_t load_acq(const _Atomic uint64_t *a)
{
    return atomic_load_explicit((_Atomic uint64_t *)a, memory_order_acquire);
}

/* Fell more than a ring behind: count it and jump to the newest whole record. */
static bool resync(vt_receiver *r, shm_reader *q)
{
    shm_header *h = (shm_header *)q->h;
    uint64_t w = load_acq(&h->write_pos);
    uint64_t last = atomic_load_explicit(&h->last_pos, memory_order_relaxed);
    /* last_pos may already name a record not yet published (>= w): then wait for new data. */
    uint64_t to = last < w && w - last <= q->mask + 1 ? last : w;
    /* A real overrun always moves the reader forward (the producer is a ring ahead). A
       jump back could only come from a damaged segment, and would deliver old records
       again (found by fuzz/fuzz_transport.c): the reader stays where it is. */
    if (to <= q->pos) {
        r->stats.garbage++;
        return false;
    }
    r->stats.overruns++;
    q->pos = to;
    return true;
}

typedef enum { READ_NONE, READ_OK, READ_AGAIN } read_result;

/* Reads the record at q->pos when there is one. */
static read_result read_record(vt_receiver *r, shm_reader *q, uint8_t *type, uint64_t *seq,
                               size_t *len)
{
    shm_header *h = (shm_header *)q->h;
    uint64_t cap = q->mask + 1, w = load_acq(&h->write_pos);
    if (q->pos == w)
        return READ_NONE;
    if (w - q->pos > cap)
        return resync(r, q) ? READ_AGAIN : READ_NONE;
    uint64_t off = q->pos & q->mask;
    if (off & 7) { /* records start on 8 bytes: a position that does not is damaged */
        r->stats.garbage++;
        q->pos = w;
        return READ_AGAIN;
    }
    uint8_t hdr[SHM_REC_HEADER];
    uint32_t n;
    memcpy(&n, q->data + off, 4);
    /* A whole record (or wrap marker) lies below write_pos: one that reaches past it is not
       whole (yet), and must not take the reader past the producer (found by
       fuzz/fuzz_transport.c: the reader then resynced back onto old records for ever). */
    if ((n == SHM_WRAP ? cap - off : n <= cap ? rec_size(n) : 0) > w - q->pos)
        return READ_NONE;
    bool wrap = n == SHM_WRAP, fits = !wrap && off + rec_size(n) <= cap && n <= cap / 4;
    if (fits) {
        memcpy(hdr, q->data + off, SHM_REC_HEADER);
        if (n > q->buf_cap) {
            uint8_t *b = realloc(q->buf, n);
            if (!b)
                return READ_NONE;
            q->buf = b;
            q->buf_cap = n;
        }
        if (n)
            memcpy(q->buf, q->data + off + SHM_REC_HEADER, n);
    }
    /* Was any of it overwritten while we copied? */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&h->claim, memory_order_relaxed) - q->pos > cap)
        return resync(r, q) ? READ_AGAIN : READ_NONE;
    if (wrap) {
        q->pos += cap - off;
        return READ_AGAIN;
    }
    if (!fits) { /* cannot happen with a sound producer */
        r->stats.garbage++;
        q->pos = w;
        return READ_AGAIN;
    }
    *type = hdr[4];
    r->frame_flags = hdr[5];
    memcpy(seq, hdr + 8, 8);
    *len = n;
    q->pos += rec_size(n);
    return READ_OK;
}

/* Waits a little longer each time: spin, yield, then sleep up to 1 ms. */
static void backoff(unsigned *round, int ms_left)
{
    unsigned k = (*round)++;
    if (k < 64)
        return;
    if (k < 128) {
        sched_yield();
        return;
    }
    long ns = k < 256 ? 20000 : k < 512 ? 200000 : 1000000;
    if (ms_left >= 0 && ns > ms_left * 1000000L)
        ns = ms_left * 1000000L;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static vt_status shm_next(vt_receiver *r, int timeout_ms, uint8_t *type, const uint8_t **msg,
                          size_t *len, bool *end)
{
    shm_reader *q = r->impl;
    double deadline = vt__deadline(timeout_ms);
    unsigned round = 0;
    /* A sound producer lets a reader settle within a few reads; positions that never do
       (claim behind the reader or always a ring ahead of the newest record, records that
       resync onto ones already delivered) come from a damaged or foreign segment: after
       SHM_TRIES reads without a message this look is counted as garbage and given up, and
       the reader waits (within the caller's timeout) before it looks again, instead of
       spinning here. */
    int tries = 0;
    (void)end;
    for (;;) {
        if (q->h || try_attach(r, q)) {
            uint64_t seq;
            read_result rr = READ_AGAIN;
            while (tries < SHM_TRIES && (rr = read_record(r, q, type, &seq, len)) == READ_AGAIN)
                tries++;
            if (rr == READ_AGAIN) {
                r->stats.garbage++;
                rr = READ_NONE;
            }
            if (rr == READ_OK) {
                if (!vt__receiver_accept(r, q->h->stream_id, seq)) {
                    tries++;
                    continue;
                }
                *msg = q->buf;
                return VT_OK;
            }
            /* Nothing new: is the producer gone? */
            if (atomic_load_explicit(&((shm_header *)q->h)->state, memory_order_acquire) ==
                SHM_STATE_CLOSED)
                detach(q);
        }
        int ms = vt__ms_left(deadline);
        if (ms == 0) {
            *type = 0;
            return VT_OK;
        }
        if (q->h) {
            backoff(&round, ms);
        } else { /* no producer yet: look again every 10 ms */
            struct timespec ts = {0, (ms < 0 || ms > 10 ? 10 : ms) * 1000000L};
            nanosleep(&ts, NULL);
        }
        tries = 0;
    }
}

static void shm_reader_free(vt_receiver *r)
{
    shm_reader *q = r->impl;
    if (!q)
        return;
    detach(q);
    free(q->buf);
    free(q);
}

static const vt__receiver_ops shm_receiver_ops = {shm_next, shm_reader_free, NULL};

vt_status vt__shm_receiver_open(vt__url *u, vt_receiver *r)
{
    uint64_t bytes; /* the producer's to choose: accepted so that one URL serves both */
    vt_status st = vt__url_param_u64(u, "bytes", 0, UINT64_MAX, 0, &bytes);
    if (st == VT_OK)
        st = vt__url_check_params(u);
    if (st != VT_OK)
        return st;
    shm_reader *q = calloc(1, sizeof *q);
    if (!q)
        return vt__error(VT_ENOMEM, "%s: out of memory", u->text);
    shm_name(u, q->name, sizeof q->name);
    r->ops = &shm_receiver_ops;
    r->impl = q;
    return VT_OK;
}
