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
 * not the blocks owned. The 2x2x2 nodes of the finer levels live in a pool
 * of the same kind; a voxel of level l is found by descending from its
 * coarse cell through l nodes.
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

vt__sblock *vt__smap_get(vt__smap *m, vt__spool *p, int level, int bx, int by, int bz,
                         uint32_t *index)
{
    if (2 * (m->count + 1) > m->cap && grow(m) != 0) {
        vt__error(VT_ENOMEM, "vote: out of memory for the block table of level %d", level);
        return NULL;
    }
    uint64_t key = vt__sblock_key(bx, by, bz);
    size_t i = slot_of(m, key), mask = m->cap - 1;
    for (; m->keys[i] != VT__SB_EMPTY; i = (i + 1) & mask)
        if (m->keys[i] == key) {
            *index = m->vals[i];
            return vt__spool_at(p, m->vals[i]);
        }
    uint32_t b = vt__spool_take(p);
    if (b == VT__SB_NONE) {
        vt__error(VT_ENOMEM, "vote: out of memory after %zu blocks", p->used);
        return NULL;
    }
    m->keys[i] = key;
    m->vals[i] = b;
    m->count++;
    *index = b;
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

uint32_t vt__snode_chunk(vt__snode_pool *p)
{
    if ((p->used + 1) * VT__SNODE_CHUNK > VT__SNODE_MAX)
        return VT__SB_NONE;
    if (p->used == p->nchunks) {
        if (p->nchunks == p->chunk_cap) {
            size_t cap = p->chunk_cap ? 2 * p->chunk_cap : 16;
            vt__snode **c = realloc(p->chunks, cap * sizeof *c);
            if (!c)
                return VT__SB_NONE;
            p->chunks = c;
            p->chunk_cap = cap;
        }
        vt__snode *chunk = malloc(VT__SNODE_CHUNK * sizeof *chunk);
        if (!chunk)
            return VT__SB_NONE;
        p->chunks[p->nchunks++] = chunk;
    }
    return (uint32_t)(p->used++ * VT__SNODE_CHUNK);
}

void vt__snode_free(vt__snode_pool *p)
{
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    memset(p, 0, sizeof *p);
}

size_t vt__snode_bytes(const vt__snode_pool *p)
{
    return p->chunk_cap * sizeof *p->chunks + p->nchunks * VT__SNODE_CHUNK * sizeof(vt__snode);
}

uint32_t *vt__sgrid_meta(const vt__sgrid *g, const vt__sref *r)
{
    return r->level ? &vt__snode_at(&g->nodes, r->home)->meta[r->k]
                    : &vt__spool_at(&g->pool, r->home)->meta[r->k];
}

void vt__sgrid_value(const vt__sgrid *g, const vt__sref *r, uint64_t *w, uint64_t *cams)
{
    if (r->level) {
        const vt__snode *nd = vt__snode_at(&g->nodes, r->home);
        *w = nd->w[r->k];
        *cams = nd->cams[r->k];
    } else {
        const vt__sblock *b = vt__spool_at(&g->pool, r->home);
        *w = b->vox[r->k].w;
        *cams = b->vox[r->k].cams;
    }
}

/* Finds voxel (x, y, z) of a level by descending from its coarse cell; false when no ray made it.
 */
bool vt__sgrid_locate(const vt__sgrid *g, int level, int x, int y, int z, vt__sref *r)
{
    const int *n = g->n[level];
    if ((unsigned)x >= (unsigned)n[0] || (unsigned)y >= (unsigned)n[1] ||
        (unsigned)z >= (unsigned)n[2])
        return false;
    int x0 = x >> level, y0 = y >> level, z0 = z >> level;
    uint32_t bi = vt__smap_find(
        &g->map, vt__sblock_key(x0 >> VT__SB_LOG2, y0 >> VT__SB_LOG2, z0 >> VT__SB_LOG2));
    if (bi == VT__SB_NONE)
        return false;
    *r = (vt__sref){x, y, z, bi, (uint16_t)vt__sblock_local(x0, y0, z0), 0};
    for (int l = 1; l <= level; l++) {
        uint32_t child = *vt__sgrid_meta(g, r) >> VT__SV_CHILD_SHIFT;
        if (!child)
            return false;
        int s = level - l;
        r->home = child - 1;
        r->k = (uint16_t)(((x >> s) & 1) << 2 | ((y >> s) & 1) << 1 | ((z >> s) & 1));
        r->level = (uint16_t)l;
    }
    return true;
}
