/*
 * src/voxel/sparse_hash.c - storage of the sparse voting grid: a pool of
 * 8^3-voxel blocks and, per level, a hash map from packed block coordinates
 * to blocks (VDB-style hashed blocks, without the tree: Museth, "VDB:
 * High-Resolution Sparse Volumes with Dynamic Topology", ACM ToG 2013).
 *
 * The map is open addressing with linear probing in a power-of-two table kept
 * at most half full; the hash is a multiplicative (Fibonacci) mix of the
 * 63-bit key, whose top bits pick the slot. A probe sequence is a few
 * adjacent 8-byte keys, one cache line most of the time. Keys are never
 * deleted one by one: the whole map is cleared between casts, which keeps the
 * probing simple (no tombstones).
 *
 * Blocks come from chunks of 64 blocks that the pool keeps until the grid is
 * freed: a cast takes blocks in order and the next cast takes the same ones
 * again, so once the grid has seen a busy frame set nothing is allocated.
 * A block is zeroed when it is handed out, so clearing costs the blocks used,
 * not the blocks owned.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"

#define FIRST_CAP_LOG2 10

uint32_t vt__spool_take(vt__spool *p)
{
    if (p->used == p->nchunks * VT__SPOOL_CHUNK) {
        if (p->used + VT__SPOOL_CHUNK > VT__SB_NONE)
            return VT__SB_NONE;
        if (p->nchunks == p->chunk_cap) {
            size_t cap = p->chunk_cap ? 2 * p->chunk_cap : 16;
            vt__sblock **c = realloc(p->chunks, cap * sizeof *c);
            if (!c)
                return VT__SB_NONE;
            p->chunks = c;
            p->chunk_cap = cap;
        }
        vt__sblock *chunk = malloc(VT__SPOOL_CHUNK * sizeof *chunk);
        if (!chunk)
            return VT__SB_NONE;
        p->chunks[p->nchunks++] = chunk;
    }
    uint32_t i = (uint32_t)p->used++;
    memset(vt__spool_at(p, i), 0, sizeof(vt__sblock));
    return i;
}

void vt__spool_reset(vt__spool *p)
{
    p->used = 0;
}

void vt__spool_free(vt__spool *p)
{
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    memset(p, 0, sizeof *p);
}

size_t vt__spool_bytes(const vt__spool *p)
{
    return p->chunk_cap * sizeof *p->chunks + p->nchunks * VT__SPOOL_CHUNK * sizeof(vt__sblock);
}

static size_t slot_of(const vt__smap *m, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> m->shift);
}

uint32_t vt__smap_find(const vt__smap *m, uint64_t key)
{
    if (!m->cap)
        return VT__SB_NONE;
    for (size_t i = slot_of(m, key), mask = m->cap - 1;; i = (i + 1) & mask) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == VT__SB_EMPTY)
            return VT__SB_NONE;
    }
}

/* Doubles the table (or makes the first one) and re-enters every key. */
static int grow(vt__smap *m)
{
    int log2 = m->cap ? 64 - m->shift + 1 : FIRST_CAP_LOG2;
    size_t cap = (size_t)1 << log2;
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    memset(keys, 0xFF, cap * sizeof *keys);
    vt__smap old = *m;
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    m->shift = 64 - log2;
    for (size_t j = 0; j < old.cap; j++) {
        if (old.keys[j] == VT__SB_EMPTY)
            continue;
        size_t i = slot_of(m, old.keys[j]);
        while (keys[i] != VT__SB_EMPTY)
            i = (i + 1) & (cap - 1);
        keys[i] = old.keys[j];
        vals[i] = old.vals[j];
    }
    free(old.keys);
    free(old.vals);
    return 0;
}

vt__sblock *vt__smap_get(vt__smap *m, vt__spool *p, int level, int bx, int by, int bz)
{
    if (2 * (m->count + 1) > m->cap && grow(m) != 0) {
        vt__error(VT_ENOMEM, "vote: out of memory for the block table of level %d", level);
        return NULL;
    }
    uint64_t key = vt__sblock_key(bx, by, bz);
    size_t i = slot_of(m, key), mask = m->cap - 1;
    for (; m->keys[i] != VT__SB_EMPTY; i = (i + 1) & mask)
        if (m->keys[i] == key)
            return vt__spool_at(p, m->vals[i]);
    uint32_t b = vt__spool_take(p);
    if (b == VT__SB_NONE) {
        vt__error(VT_ENOMEM, "vote: out of memory after %zu blocks", p->used);
        return NULL;
    }
    m->keys[i] = key;
    m->vals[i] = b;
    m->count++;
    vt__sblock *blk = vt__spool_at(p, b);
    blk->bx = bx;
    blk->by = by;
    blk->bz = bz;
    blk->level = level;
    return blk;
}

void vt__smap_clear(vt__smap *m)
{
    if (m->cap)
        memset(m->keys, 0xFF, m->cap * sizeof *m->keys);
    m->count = 0;
}

void vt__smap_free(vt__smap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

size_t vt__smap_bytes(const vt__smap *m)
{
    return m->cap * (sizeof *m->keys + sizeof *m->vals);
}
