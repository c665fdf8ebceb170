/*
 * src/stream/lz4frame_internal.h - one LZ4 frame in, one LZ4 frame out: the
 * compression that VoxelChunk payloads (lz4chunk.c) and whole transport
 * messages (transport.c, `?lz4=1`) share.
 */
#ifndef VOXTRACK_LZ4FRAME_INTERNAL_H
#define VOXTRACK_LZ4FRAME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/status.h"

/* A compressor or decompressor's state, kept between calls: start from {0}. */
typedef struct vt__lz4 {
    void *cctx;   /* LZ4F_cctx, made on first use */
    uint8_t *buf; /* the last output; grown, never shrunk */
    size_t cap;
    size_t len; /* bytes of the last output */
} vt__lz4;

/*
 * Compresses src[0..n) into one LZ4 frame (content size and content checksum
 * in it, 256 KiB blocks) in z->buf[0..z->len): a frame `lz4 -d` reads.
 * VT_ENOMEM or VT_EIO naming `what`.
 */
vt_status vt__lz4_compress(vt__lz4 *z, const uint8_t *src, size_t n, const char *what);

/*
 * Decompresses the LZ4 frame src[0..n) into dst[0..expected): exactly
 * `expected` bytes or VT_EPARSE naming `what` (truncated, corrupt, a wrong
 * checksum, too long or too short).
 */
vt_status vt__lz4_decompress_into(const uint8_t *src, size_t n, uint8_t *dst, size_t expected,
                                  const char *what);

/*
 * Decompresses the LZ4 frame src[0..n) into z->buf[0..z->len). The frame
 * must state its content size, at most `max` bytes. VT_EPARSE naming `what`
 * on a bad frame, VT_ENOMEM.
 */
vt_status vt__lz4_decompress(vt__lz4 *z, const uint8_t *src, size_t n, size_t max,
                             const char *what);

void vt__lz4_free(vt__lz4 *z);

#endif
