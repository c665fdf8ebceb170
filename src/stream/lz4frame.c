/*
 * src/stream/lz4frame.c - LZ4 frames (the LZ4 Frame Format 1.6.x of
 * lz4frame.h) for VoxelChunk payloads and whole transport messages.
 *
 * Frames rather than raw LZ4 blocks, so that a payload written to a file
 * reads with the `lz4` tool; every frame carries its content size (so a
 * receiver knows the memory it needs before it starts, and refuses what is
 * over its limit) and a content checksum (so a corrupt payload is told from
 * a good one). The compression context and the output buffer are kept, so a
 * steady stream does not allocate. Decompression is bounded by the caller's
 * size: a hostile frame cannot make it write past it or loop.
 */
#include <lz4frame.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "stream/lz4frame_internal.h"

vt_status vt__lz4_compress(vt__lz4 *z, const uint8_t *src, size_t n, const char *what)
{
    if (!z->cctx) {
        LZ4F_cctx *c = NULL;
        if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)))
            return vt__error(VT_ENOMEM, "%s: cannot create an LZ4 context", what);
        z->cctx = c;
    }
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.contentSize = n;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    size_t bound = LZ4F_compressBound(n, &prefs) + LZ4F_HEADER_SIZE_MAX + 8;
    if (vt__grow(&z->buf, &z->cap, bound, 1))
        return vt__error(VT_ENOMEM, "%s: out of memory (%zu bytes)", what, bound);
    size_t pos = LZ4F_compressBegin(z->cctx, z->buf, z->cap, &prefs);
    if (LZ4F_isError(pos))
        return vt__error(VT_EIO, "%s: LZ4: %s", what, LZ4F_getErrorName(pos));
    size_t r = LZ4F_compressUpdate(z->cctx, z->buf + pos, z->cap - pos, src, n, NULL);
    if (LZ4F_isError(r))
        return vt__error(VT_EIO, "%s: LZ4: %s", what, LZ4F_getErrorName(r));
    pos += r;
    r = LZ4F_compressEnd(z->cctx, z->buf + pos, z->cap - pos, NULL);
    if (LZ4F_isError(r))
        return vt__error(VT_EIO, "%s: LZ4: %s", what, LZ4F_getErrorName(r));
    z->len = pos + r;
    return VT_OK;
}

/* Runs the frame through dc into dst[0..cap); *out_len: bytes written. */
static vt_status run(LZ4F_dctx *dc, const uint8_t *src, size_t n, size_t in_pos, uint8_t *dst,
                     size_t cap, size_t *out_len, const char *what)
{
    size_t out_pos = 0, hint = 1;
    while (hint != 0) {
        size_t s = n - in_pos, d = cap - out_pos;
        if (s == 0)
            return vt__error(VT_EPARSE, "%s: LZ4 frame truncated after %zu bytes", what, n);
        hint = LZ4F_decompress(dc, dst + out_pos, &d, src + in_pos, &s, NULL);
        if (LZ4F_isError(hint))
            return vt__error(VT_EPARSE, "%s: LZ4: %s", what, LZ4F_getErrorName(hint));
        in_pos += s;
        out_pos += d;
        if (s == 0 && d == 0 && hint != 0) /* no progress: the output is full */
            return vt__error(VT_EPARSE, "%s: LZ4 frame decompresses to more than %zu bytes", what,
                             cap);
    }
    *out_len = out_pos;
    return VT_OK;
}

vt_status vt__lz4_decompress_into(const uint8_t *src, size_t n, uint8_t *dst, size_t expected,
                                  const char *what)
{
    LZ4F_dctx *dc = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)))
        return vt__error(VT_ENOMEM, "%s: cannot create an LZ4 context", what);
    size_t got = 0;
    vt_status st = run(dc, src, n, 0, dst, expected, &got, what);
    LZ4F_freeDecompressionContext(dc);
    if (st == VT_OK && got != expected)
        st = vt__error(VT_EPARSE, "%s: LZ4 frame decompresses to %zu bytes, expected %zu", what,
                       got, expected);
    return st;
}

vt_status vt__lz4_decompress(vt__lz4 *z, const uint8_t *src, size_t n, size_t max, const char *what)
{
    LZ4F_dctx *dc = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)))
        return vt__error(VT_ENOMEM, "%s: cannot create an LZ4 context", what);
    LZ4F_frameInfo_t info;
    memset(&info, 0, sizeof info);
    size_t used = n;
    size_t r = LZ4F_getFrameInfo(dc, &info, src, &used);
    vt_status st = VT_OK;
    if (LZ4F_isError(r))
        st = vt__error(VT_EPARSE, "%s: LZ4 frame header: %s", what, LZ4F_getErrorName(r));
    else if (info.contentSize > max)
        st = vt__error(VT_EPARSE, "%s: LZ4 frame of %llu bytes, over the limit of %zu", what,
                       (unsigned long long)info.contentSize, max);
    /* Content size 0 is "unknown" too: our frames state theirs, and an empty message is
       never compressed, so such a frame only passes when it holds nothing. */
    size_t want = (size_t)info.contentSize;
    if (st == VT_OK && vt__grow(&z->buf, &z->cap, want ? want : 1, 1))
        st = vt__error(VT_ENOMEM, "%s: out of memory (%zu bytes)", what, want);
    size_t got = 0;
    if (st == VT_OK)
        st = run(dc, src, n, used, z->buf, want, &got, what);
    LZ4F_freeDecompressionContext(dc);
    if (st == VT_OK && got != want)
        st = vt__error(VT_EPARSE, "%s: LZ4 frame decompresses to %zu bytes, its header says %zu",
                       what, got, want);
    z->len = st == VT_OK ? got : 0;
    return st;
}

void vt__lz4_free(vt__lz4 *z)
{
    if (z->cctx)
        LZ4F_freeCompressionContext(z->cctx);
    free(z->buf);
    memset(z, 0, sizeof *z);
}
