/*
 * src/core/bytes.h - little-endian numbers in byte buffers, and two cursors
 * over them: a writer that grows its buffer and a reader that never reads
 * past its end. Binary formats of the library (stream frames, tracker
 * checkpoints, cluster messages) are written and read with them, so every
 * number crosses a file or a network as the same bytes on every machine, and
 * a double crosses as its exact bits.
 *
 * Both cursors keep an error flag instead of returning one per call, so a
 * record is written or read as a straight sequence of calls and checked
 * once at the end (as nats.c's buffers and curl's dynbuf do).
 */
#ifndef VOXTRACK_CORE_BYTES_H
#define VOXTRACK_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static inline void vt__put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void vt__put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vt__put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t vt__get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t vt__get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t vt__get_u64(const uint8_t *p)
{
    return (uint64_t)vt__get_u32(p) | ((uint64_t)vt__get_u32(p + 4) << 32);
}

/* CRC-32 (IEEE 802.3, as zlib's crc32), continued from `crc` (0 to start); core/crc32.c. */
uint32_t vt__crc32(uint32_t crc, const uint8_t *p, size_t n);

/* ---- writer ---------------------------------------------------------------- */

/* Start from {0}; data is malloc'ed and owned by the caller once written. */
typedef struct vt__wbuf {
    uint8_t *data;
    size_t len, cap;
    bool failed; /* out of memory (or a size overflow) at some call; nothing more is written */
} vt__wbuf;

/* Room for n more bytes; a pointer to them, or NULL (and failed) when out of memory. */
static inline uint8_t *vt__wbuf_room(vt__wbuf *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (n > SIZE_MAX / 2 - w->len || vt__grow(&w->data, &w->cap, w->len + n, 1)) {
        w->failed = true;
        return NULL;
    }
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

static inline void vt__wbuf_bytes(vt__wbuf *w, const void *src, size_t n)
{
    uint8_t *p = vt__wbuf_room(w, n);
    if (p && n)
        memcpy(p, src, n);
}
static inline void vt__wbuf_u8(vt__wbuf *w, uint8_t v)
{
    uint8_t *p = vt__wbuf_room(w, 1);
    if (p)
        *p = v;
}
static inline void vt__wbuf_u16(vt__wbuf *w, uint16_t v)
{
    uint8_t *p = vt__wbuf_room(w, 2);
    if (p)
        vt__put_u16(p, v);
}
static inline void vt__wbuf_u32(vt__wbuf *w, uint32_t v)
{
    uint8_t *p = vt__wbuf_room(w, 4);
    if (p)
        vt__put_u32(p, v);
}
static inline void vt__wbuf_u64(vt__wbuf *w, uint64_t v)
{
    uint8_t *p = vt__wbuf_room(w, 8);
    if (p)
        vt__put_u64(p, v);
}
static inline void vt__wbuf_i32(vt__wbuf *w, int32_t v)
{
    vt__wbuf_u32(w, (uint32_t)v);
}
static inline void vt__wbuf_i64(vt__wbuf *w, int64_t v)
{
    vt__wbuf_u64(w, (uint64_t)v);
}
/* A float or a double as its bits: what is read back is the same number, NaNs included. */
static inline void vt__wbuf_f32(vt__wbuf *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    vt__wbuf_u32(w, u);
}
static inline void vt__wbuf_f64(vt__wbuf *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    vt__wbuf_u64(w, u);
}

static inline void vt__wbuf_free(vt__wbuf *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

/* ---- reader ---------------------------------------------------------------- */

typedef struct vt__rbuf {
    const uint8_t *p;
    size_t left;
    bool failed; /* a read went past the end; every later read gives 0 */
} vt__rbuf;

static inline vt__rbuf vt__rbuf_of(const void *data, size_t len)
{
    vt__rbuf r = {(const uint8_t *)data, data ? len : 0, false};
    return r;
}

/* The next n bytes, or NULL (and failed) when fewer are left. */
static inline const uint8_t *vt__rbuf_take(vt__rbuf *r, size_t n)
{
    if (r->failed || n > r->left) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static inline uint8_t vt__rbuf_u8(vt__rbuf *r)
{
    const uint8_t *p = vt__rbuf_take(r, 1);
    return p ? *p : 0;
}
static inline uint16_t vt__rbuf_u16(vt__rbuf *r)
{
    const uint8_t *p = vt__rbuf_take(r, 2);
    return p ? vt__get_u16(p) : 0;
}
static inline uint32_t vt__rbuf_u32(vt__rbuf *r)
{
    const uint8_t *p = vt__rbuf_take(r, 4);
    return p ? vt__get_u32(p) : 0;
}
static inline uint64_t vt__rbuf_u64(vt__rbuf *r)
{
    const uint8_t *p = vt__rbuf_take(r, 8);
    return p ? vt__get_u64(p) : 0;
}
static inline int32_t vt__rbuf_i32(vt__rbuf *r)
{
    return (int32_t)vt__rbuf_u32(r);
}
static inline int64_t vt__rbuf_i64(vt__rbuf *r)
{
    return (int64_t)vt__rbuf_u64(r);
}
static inline float vt__rbuf_f32(vt__rbuf *r)
{
    uint32_t u = vt__rbuf_u32(r);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static inline double vt__rbuf_f64(vt__rbuf *r)
{
    uint64_t u = vt__rbuf_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/*
 * A count of items of `size` bytes each that must all still be in the
 * buffer: guards the allocation a count read from the input would
 * otherwise size. 0 (and failed) when they cannot be there.
 */
static inline size_t vt__rbuf_count(vt__rbuf *r, uint64_t n, size_t size)
{
    if (r->failed || (size && n > r->left / size)) {
        r->failed = true;
        return 0;
    }
    return (size_t)n;
}

#endif
