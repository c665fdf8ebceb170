/*
 * src/stream/lz4chunk.c - VoxelChunk messages: sparse blocks of votes with
 * an LZ4-compressed payload (see voxtrack/wire.h).
 *
 * The payload is one LZ4 frame (the LZ4 Frame Format 1.6.x of lz4frame.h,
 * with the content size and a content checksum in it), not raw LZ4 blocks,
 * so that a payload written to a file reads with the `lz4` tool. Inside the
 * frame the votes are laid out one of three ways (PayloadEncoding of the
 * .proto; the decoder reads all three):
 *
 *   U32_LE        little-endian uint32, block after block, z fastest: what
 *                 chunks held before the field existed.
 *   U32_SHUFFLE4  the same values as four byte planes (Blosc/HDF5 shuffle).
 *   U32_SPARSE    a 64-byte occupancy mask per block, then only the nonzero
 *                 votes, little-endian. What the encoder writes.
 *
 * Why sparse and not shuffle: on real grids (the default preset through the
 * pipeline) the votes are multiples of 256, so their lowest byte is always
 * zero, but their second and third bytes are noise and 30-70% of the voxels
 * of a block are empty. Byte planes repeat the empty voxels' pattern in
 * every plane as one-byte gaps, too short for an LZ4 match (a match needs
 * 4 bytes), so shuffling made chunks 13-58% larger; LZ4 has no entropy
 * coder to make up for it. The mask says "empty" once, in one bit, and
 * leaves the nonzero votes side by side: 16-28% smaller than U32_LE on
 * the same grids (docs/PERFORMANCE.md, bench/bench_wire.c).
 *
 * Block coordinates are a packed repeated sint32 (zigzag), three per
 * block. The compression context and both buffers are kept in the encoder,
 * so a steady stream of chunks does not allocate.
 *
 * Decoding bounds everything by the message: a block needs three coordinate
 * bytes at least, and LZ4 cannot expand a payload by more than 255 times,
 * so a hostile message cannot ask for more memory than a few hundred times
 * its own size (and never more than VT__VOXEL_MAX_RAW). A sparse payload's
 * masks must mark exactly as many voxels as it carries votes.
 */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "core/internal.h"
#include "stream/lz4chunk_internal.h"
#include "stream/lz4frame_internal.h"
#include "stream/wire_internal.h"

enum { VT__VOXEL_BLOCK_BYTES = 512 * 4, VT__VOXEL_MASK_BYTES = 512 / 8 };
#define VT__VOXEL_MAX_RAW ((size_t)256 << 20)

enum {
    ENC_LE = VT__VOXEL_U32_LE,
    ENC_SHUFFLE4 = VT__VOXEL_U32_SHUFFLE4,
    ENC_SPARSE = VT__VOXEL_U32_SPARSE,
    ENC_DEFAULT = ENC_SPARSE
};
_Static_assert(ENC_LE == (int)voxtrack_v1_PayloadEncoding_PAYLOAD_ENCODING_U32_LE &&
                   ENC_SHUFFLE4 == (int)voxtrack_v1_PayloadEncoding_PAYLOAD_ENCODING_U32_SHUFFLE4 &&
                   ENC_SPARSE == (int)voxtrack_v1_PayloadEncoding_PAYLOAD_ENCODING_U32_SPARSE,
               "PayloadEncoding of the .proto");

/* The encoding's name as JSON shows it; NULL for an unknown one. */
static const char *encoding_name(int enc)
{
    static const char *names[] = {"u32_le", "u32_shuffle4", "u32_sparse"};
    return enc >= 0 && enc < 3 ? names[enc] : NULL;
}

void vt__wire_lz4_free(vt_wire_encoder *e)
{
    vt__lz4_free(&e->lz);
    free(e->vblocks);
    e->vblocks = NULL;
    e->vblocks_cap = 0;
}

vt_status vt__wire_lz4(vt_wire_encoder *e, size_t n)
{
    return vt__lz4_compress(&e->lz, e->raw, n, "VoxelChunk");
}

/* ---- encoding ---------------------------------------------------------- */

static bool encode_coords_cb(pb_ostream_t *s, const pb_field_t *field, void *const *arg)
{
    const vt_wire_encoder *e = *arg;
    if (e->nblocks == 0)
        return true;
    pb_ostream_t sz = PB_OSTREAM_SIZING;
    for (size_t i = 0; i < e->nblocks; i++) {
        const vt_wire_voxel_block *b = &e->blocks[i];
        pb_encode_svarint(&sz, b->bx);
        pb_encode_svarint(&sz, b->by);
        pb_encode_svarint(&sz, b->bz);
    }
    if (!pb_encode_tag(s, PB_WT_STRING, field->tag) || !pb_encode_varint(s, sz.bytes_written))
        return false;
    for (size_t i = 0; i < e->nblocks; i++) {
        const vt_wire_voxel_block *b = &e->blocks[i];
        if (!pb_encode_svarint(s, b->bx) || !pb_encode_svarint(s, b->by) ||
            !pb_encode_svarint(s, b->bz))
            return false;
    }
    return true;
}

static bool encode_payload_cb(pb_ostream_t *s, const pb_field_t *field, void *const *arg)
{
    const vt_wire_encoder *e = *arg;
    return pb_encode_tag_for_field(s, field) && pb_encode_string(s, e->lz.buf, e->lz.len);
}

/* The votes of `count` blocks laid out as `enc` says into raw (room for the
   worst case: 2112 bytes a block); returns the bytes written. */
static size_t lay_out(const vt_wire_voxel_block *blocks, size_t count, int enc, uint8_t *raw)
{
    size_t nv = count * 512;
    if (enc == ENC_SHUFFLE4) {
        for (size_t i = 0; i < count; i++)
            for (size_t k = 0; k < 512; k++) {
                uint32_t v = blocks[i].votes[k];
                size_t j = i * 512 + k;
                raw[j] = (uint8_t)v;
                raw[nv + j] = (uint8_t)(v >> 8);
                raw[2 * nv + j] = (uint8_t)(v >> 16);
                raw[3 * nv + j] = (uint8_t)(v >> 24);
            }
        return 4 * nv;
    }
    if (enc == ENC_SPARSE) {
        uint8_t *mask = raw, *p = raw + count * VT__VOXEL_MASK_BYTES;
        memset(mask, 0, count * VT__VOXEL_MASK_BYTES);
        for (size_t i = 0; i < count; i++, mask += VT__VOXEL_MASK_BYTES)
            for (int k = 0; k < 512; k++) {
                uint32_t v = blocks[i].votes[k];
                if (v) {
                    mask[k >> 3] |= (uint8_t)(1u << (k & 7));
                    vt__put_u32(p, v);
                    p += 4;
                }
            }
        return (size_t)(p - raw);
    }
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < 512; k++)
            vt__put_u32(raw + 4 * (i * 512 + (size_t)k), blocks[i].votes[k]);
    return 4 * nv;
}

vt_status vt_wire_encode_voxel_chunk(vt_wire_encoder *e, const vt_wire_voxel_info *info,
                                     const vt_wire_voxel_block *blocks, size_t count,
                                     const uint8_t **msg, size_t *len)
{
    return vt__wire_encode_voxel_chunk_as(e, info, blocks, count, ENC_DEFAULT, msg, len);
}

vt_status vt__wire_encode_voxel_chunk_as(vt_wire_encoder *e, const vt_wire_voxel_info *info,
                                         const vt_wire_voxel_block *blocks, size_t count,
                                         int encoding, const uint8_t **msg, size_t *len)
{
    if (!e || !info || !msg || !len || (count && !blocks))
        return vt__error(VT_EINVAL, "vt_wire_encode_voxel_chunk: NULL argument");
    if (!encoding_name(encoding))
        return vt__error(VT_EINVAL, "VoxelChunk: payload encoding %d is not one of 0..2", encoding);
    if (!(info->voxel_size > 0))
        return vt__error(VT_EINVAL, "VoxelChunk: voxel_size must be > 0 (got %g)",
                         info->voxel_size);
    if (count > VT__VOXEL_MAX_RAW / (VT__VOXEL_BLOCK_BYTES + VT__VOXEL_MASK_BYTES))
        return vt__error(VT_ERANGE, "VoxelChunk: %zu blocks, at most %zu per chunk", count,
                         VT__VOXEL_MAX_RAW / (VT__VOXEL_BLOCK_BYTES + VT__VOXEL_MASK_BYTES));
    size_t room = count * (VT__VOXEL_BLOCK_BYTES + VT__VOXEL_MASK_BYTES);
    if (vt__grow(&e->raw, &e->raw_cap, room ? room : 1, 1))
        return vt__error(VT_ENOMEM, "VoxelChunk: out of memory (%zu bytes)", room);
    size_t n = lay_out(blocks, count, encoding, e->raw);
    vt_status st = vt__wire_lz4(e, n);
    if (st != VT_OK)
        return st;
    voxtrack_v1_VoxelChunk m = voxtrack_v1_VoxelChunk_init_zero;
    m.frame = info->frame;
    m.time_ns = vt__wire_ns(info->t);
    m.voxel_size_m = info->voxel_size;
    m.has_origin = true;
    m.origin = (voxtrack_v1_Vec3){info->origin.x, info->origin.y, info->origin.z};
    m.block_edge = 8;
    m.vote_one = 65536;
    m.raw_bytes = (uint32_t)n;
    m.encoding = (voxtrack_v1_PayloadEncoding)encoding;
    e->blocks = blocks;
    e->nblocks = count;
    m.block_coords.funcs.encode = encode_coords_cb;
    m.block_coords.arg = e;
    m.payload.funcs.encode = encode_payload_cb;
    m.payload.arg = e;
    st = vt__wire_encode(e, voxtrack_v1_VoxelChunk_fields, &m, "VoxelChunk", msg, len);
    e->blocks = NULL;
    e->nblocks = 0;
    return st;
}

/* One grid block as a wire block: votes clamped to 32 bits. */
static void to_wire(const vt_vote_block *b, vt_wire_voxel_block *w)
{
    w->bx = b->bx;
    w->by = b->by;
    w->bz = b->bz;
    for (int k = 0; k < 512; k++)
        w->votes[k] = b->weight[k] > UINT32_MAX ? UINT32_MAX : (uint32_t)b->weight[k];
}

vt_status vt_wire_encode_vote_chunk(vt_wire_encoder *e, const vt_vote *v, int min_cameras,
                                    size_t max_blocks, int64_t frame, double t, const uint8_t **msg,
                                    size_t *len, size_t *left_out)
{
    if (!e || !v || !msg || !len)
        return vt__error(VT_EINVAL, "vt_wire_encode_vote_chunk: NULL argument");
    size_t n = vt_vote_block_count(v), kept = 0, left = 0;
    vt_vote_block *b = malloc(sizeof *b); /* 8 KiB: not on the stack */
    if (!b)
        return vt__error(VT_ENOMEM, "VoxelChunk: out of memory");
    vt_status st = VT_OK;
    for (size_t i = 0; i < n && st == VT_OK; i++) {
        if ((st = vt_vote_block_get(v, i, b)) != VT_OK || b->max_cameras < min_cameras)
            continue;
        if (max_blocks && kept == max_blocks) {
            left++;
            continue;
        }
        if (kept == e->vblocks_cap) {
            size_t c = e->vblocks_cap ? 2 * e->vblocks_cap : 64;
            vt_wire_voxel_block *q = realloc(e->vblocks, c * sizeof *q);
            if (!q) {
                st = vt__error(VT_ENOMEM, "VoxelChunk: out of memory (%zu blocks)", c);
                break;
            }
            e->vblocks = q;
            e->vblocks_cap = c;
        }
        to_wire(b, &e->vblocks[kept++]);
    }
    free(b);
    if (left_out)
        *left_out = left;
    if (st != VT_OK)
        return st;
    vt_vote_opts o = vt_vote_get_opts(v);
    vt_wire_voxel_info info = {
        .frame = frame, .t = t, .voxel_size = o.coarse_voxel, .origin = o.min};
    return vt_wire_encode_voxel_chunk(e, &info, e->vblocks, kept, msg, len);
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct chunk_dec {
    int32_t *coords;
    size_t ncoords, cap;
    const uint8_t *payload; /* points into the message */
    size_t payload_len;
    bool payload_seen, nomem;
} chunk_dec;

static bool decode_coord_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    chunk_dec *d = *arg;
    int64_t v;
    if (!pb_decode_svarint(s, &v))
        return false;
    if (v < INT32_MIN || v > INT32_MAX)
        PB_RETURN_ERROR(s, "block coordinate out of range");
    if (d->ncoords == d->cap) {
        size_t c = d->cap ? 2 * d->cap : 48;
        int32_t *q = realloc(d->coords, c * sizeof *q);
        if (!q) {
            d->nomem = true;
            PB_RETURN_ERROR(s, "out of memory");
        }
        d->coords = q;
        d->cap = c;
    }
    d->coords[d->ncoords++] = (int32_t)v;
    return true;
}

static bool decode_payload_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    chunk_dec *d = *arg;
    /* A buffer stream: the payload is the bytes left, read in place. */
    d->payload = (const uint8_t *)s->state;
    d->payload_len = s->bytes_left;
    d->payload_seen = true;
    return pb_read(s, NULL, s->bytes_left);
}

static vt_status decode_chunk(const uint8_t *msg, size_t len, voxtrack_v1_VoxelChunk *m,
                              chunk_dec *d)
{
    if (!msg && len)
        return vt__error(VT_EINVAL, "VoxelChunk: NULL message");
    memset(d, 0, sizeof *d);
    *m = (voxtrack_v1_VoxelChunk)voxtrack_v1_VoxelChunk_init_zero;
    m->block_coords.funcs.decode = decode_coord_cb;
    m->block_coords.arg = d;
    m->payload.funcs.decode = decode_payload_cb;
    m->payload.arg = d;
    pb_istream_t s = pb_istream_from_buffer(msg ? msg : (const uint8_t *)"", len);
    if (!pb_decode(&s, voxtrack_v1_VoxelChunk_fields, m)) {
        free(d->coords);
        d->coords = NULL;
        if (d->nomem)
            return vt__error(VT_ENOMEM, "VoxelChunk: out of memory decoding block coordinates");
        return vt__error(VT_EPARSE, "VoxelChunk: %s (at byte %zu of %zu)", PB_GET_ERROR(&s),
                         len - s.bytes_left, len);
    }
    if (d->ncoords % 3 != 0) {
        free(d->coords);
        d->coords = NULL;
        return vt__error(VT_EPARSE, "VoxelChunk: %zu block coordinates, not a multiple of 3",
                         d->ncoords);
    }
    return VT_OK;
}

vt_status vt__wire_voxel_json(const uint8_t *msg, size_t len, vt__buf *b)
{
    voxtrack_v1_VoxelChunk m;
    chunk_dec d;
    vt_status st = decode_chunk(msg, len, &m, &d);
    if (st != VT_OK)
        return st;
    vt__buf_addf(b, ",\"frame\":%lld,\"time_ns\":%lld,\"voxel_size_m\":", (long long)m.frame,
                 (long long)m.time_ns);
    vt__buf_json_num(b, m.voxel_size_m, 12);
    vt__buf_adds(b, ",\"origin\":{\"x\":");
    vt__buf_json_num(b, m.origin.x, 12);
    vt__buf_adds(b, ",\"y\":");
    vt__buf_json_num(b, m.origin.y, 12);
    vt__buf_adds(b, ",\"z\":");
    vt__buf_json_num(b, m.origin.z, 12);
    vt__buf_addf(b,
                 "},\"block_edge\":%u,\"vote_one\":%u,\"blocks\":%zu,\"payload_bytes\":%zu,"
                 "\"raw_bytes\":%u",
                 (unsigned)m.block_edge, (unsigned)m.vote_one, d.ncoords / 3, d.payload_len,
                 (unsigned)m.raw_bytes);
    const char *enc = encoding_name((int)m.encoding);
    if (enc)
        vt__buf_addf(b, ",\"encoding\":\"%s\"", enc);
    else
        vt__buf_addf(b, ",\"encoding\":%d", (int)m.encoding);
    free(d.coords);
    return VT_OK;
}

/* The payload's decompressed size that `enc` allows for nb blocks: exactly
 *lo for the dense layouts, *lo..*hi in steps of 4 for the sparse one. */
static void payload_size_range(int enc, size_t nb, size_t *lo, size_t *hi)
{
    if (enc == ENC_SPARSE) {
        *lo = nb * VT__VOXEL_MASK_BYTES;
        *hi = *lo + nb * VT__VOXEL_BLOCK_BYTES;
    } else {
        *lo = *hi = nb * VT__VOXEL_BLOCK_BYTES;
    }
}

/* The raw payload raw[0..n) of nb blocks, laid out as `enc` says, into out's votes. */
static vt_status read_votes(int enc, const uint8_t *raw, size_t n, size_t nb,
                            vt_wire_voxel_block *out)
{
    size_t nv = nb * 512;
    if (enc == ENC_SPARSE) {
        const uint8_t *mask = raw;
        size_t marked = 0, carried = (n - nb * VT__VOXEL_MASK_BYTES) / 4;
        for (size_t j = 0; j < nb * VT__VOXEL_MASK_BYTES; j++)
            for (unsigned x = mask[j]; x; x &= x - 1)
                marked++;
        if (marked != carried)
            return vt__error(VT_EPARSE,
                             "VoxelChunk: sparse payload: the masks mark %zu voxels but it "
                             "carries %zu votes",
                             marked, carried);
        const uint8_t *p = raw + nb * VT__VOXEL_MASK_BYTES;
        for (size_t i = 0; i < nb; i++, mask += VT__VOXEL_MASK_BYTES)
            for (int k = 0; k < 512; k++) {
                bool set = mask[k >> 3] >> (k & 7) & 1;
                out[i].votes[k] = set ? vt__get_u32(p) : 0;
                p += set ? 4 : 0;
            }
    } else if (enc == ENC_SHUFFLE4) {
        for (size_t i = 0; i < nb; i++)
            for (size_t k = 0; k < 512; k++) {
                size_t j = i * 512 + k;
                out[i].votes[k] = (uint32_t)raw[j] | (uint32_t)raw[nv + j] << 8 |
                                  (uint32_t)raw[2 * nv + j] << 16 | (uint32_t)raw[3 * nv + j] << 24;
            }
    } else {
        for (size_t i = 0; i < nb; i++)
            for (int k = 0; k < 512; k++)
                out[i].votes[k] = vt__get_u32(raw + 4 * (i * 512 + (size_t)k));
    }
    return VT_OK;
}

vt_status vt_wire_decode_voxel_chunk(const uint8_t *msg, size_t len, vt_wire_voxel_info *info,
                                     vt_wire_voxel_block **blocks, size_t *count)
{
    if (!info || !blocks || !count)
        return vt__error(VT_EINVAL, "vt_wire_decode_voxel_chunk: NULL argument");
    *blocks = NULL;
    *count = 0;
    voxtrack_v1_VoxelChunk m;
    chunk_dec d;
    vt_status st = decode_chunk(msg, len, &m, &d);
    if (st != VT_OK)
        return st;
    int enc = (int)m.encoding;
    size_t nb = d.ncoords / 3, n = m.raw_bytes, lo = 0, hi = 0;
    if (encoding_name(enc))
        payload_size_range(enc, nb, &lo, &hi);
    if (!encoding_name(enc))
        st = vt__error(VT_EPARSE,
                       "VoxelChunk: payload encoding %d is unknown (this reader knows 0 u32_le, "
                       "1 u32_shuffle4, 2 u32_sparse)",
                       enc);
    else if (m.block_edge != 8 && !(nb == 0 && m.block_edge == 0))
        st = vt__error(VT_EPARSE, "VoxelChunk: block_edge %u, only 8 is supported",
                       (unsigned)m.block_edge);
    else if (n < lo || n > hi || (n - lo) % 4 != 0)
        st = vt__error(VT_EPARSE,
                       "VoxelChunk: raw_bytes %zu does not fit %zu blocks of encoding %s "
                       "(%zu to %zu bytes)",
                       n, nb, encoding_name(enc), lo, hi);
    else if (n > VT__VOXEL_MAX_RAW || n / 255 > d.payload_len + 64)
        st = vt__error(VT_EPARSE, "VoxelChunk: %zu blocks cannot come from a %zu-byte payload", nb,
                       d.payload_len);
    uint8_t *raw = NULL;
    vt_wire_voxel_block *out = NULL;
    if (st == VT_OK && nb > 0) {
        raw = malloc(n ? n : 1);
        out = malloc(nb * sizeof *out);
        if (!raw || !out)
            st = vt__error(VT_ENOMEM, "VoxelChunk: out of memory (%zu blocks)", nb);
    }
    if (st == VT_OK && nb > 0)
        st = vt__lz4_decompress_into(d.payload, d.payload_len, raw, n, "VoxelChunk: payload");
    if (st == VT_OK && nb > 0)
        st = read_votes(enc, raw, n, nb, out);
    if (st == VT_OK) {
        for (size_t i = 0; i < nb; i++) {
            out[i].bx = d.coords[3 * i];
            out[i].by = d.coords[3 * i + 1];
            out[i].bz = d.coords[3 * i + 2];
        }
        info->frame = m.frame;
        info->t = (double)m.time_ns * 1e-9;
        info->voxel_size = m.voxel_size_m;
        info->origin = (vt_vec3){m.origin.x, m.origin.y, m.origin.z};
        *blocks = out;
        *count = nb;
        out = NULL;
    }
    free(raw);
    free(out);
    free(d.coords);
    return st;
}
