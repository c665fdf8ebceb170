/*
 * src/voxel/sparse_internal.h - the blocks, block pool and block hash map of
 * the sparse voting grid, shared by sparse.c and sparse_hash.c only.
 */
#ifndef VOXTRACK_SPARSE_INTERNAL_H
#define VOXTRACK_SPARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/sparse.h"

/* A block is 8^3 voxels of one level. */
#define VT__SB_LOG2 3
#define VT__SB (1 << VT__SB_LOG2)
#define VT__SB_VOXELS (VT__SB * VT__SB * VT__SB)

/* Block coordinates are packed in 21 bits per axis, so voxel indices stay below 2^24. */
#define VT__SB_KEY_BITS 21
#define VT__SB_EMPTY UINT64_MAX
#define VT__SB_NONE UINT32_MAX

/* Per-voxel flags. */
enum {
    VT__SV_NEAR = 1,   /* a ray crossed it closer to its camera than the level-of-detail range */
    VT__SV_REFINE = 2, /* >= K cameras and near: its rays are cast through its children */
    VT__SV_FINAL = 4,  /* >= K cameras and not refined: clusters are made of these */
    VT__SV_SEEN = 8    /* already put into a cluster */
};

/* Voxels z-fastest inside the block, like the dense grid's bricks. */
typedef struct vt__sblock {
    uint64_t w[VT__SB_VOXELS];    /* fixed-point votes */
    uint64_t cams[VT__SB_VOXELS]; /* camera bitmask */
    uint8_t flags[VT__SB_VOXELS];
    int32_t bx, by, bz; /* block coordinates at its level */
    int32_t level;
} vt__sblock;

/*
 * Blocks are handed out in order from chunks that are never freed before the
 * grid is; vt__spool_reset() takes them all back without freeing, so a grid
 * that has seen a busy frame set allocates nothing afterwards.
 */
typedef struct vt__spool {
    vt__sblock **chunks;
    size_t nchunks, chunk_cap;
    size_t used; /* blocks handed out since the last reset */
} vt__spool;

/* Open addressing with linear probing; capacity a power of two, at most half full. */
typedef struct vt__smap {
    uint64_t *keys; /* VT__SB_EMPTY where free */
    uint32_t *vals; /* block index in the pool */
    size_t cap, count;
    int shift; /* 64 - log2(cap): the hash keeps the top bits of a multiplicative mix */
} vt__smap;

#define VT__SPOOL_CHUNK_LOG2 6
#define VT__SPOOL_CHUNK (1 << VT__SPOOL_CHUNK_LOG2)

static inline vt__sblock *vt__spool_at(const vt__spool *p, uint32_t i)
{
    return p->chunks[i >> VT__SPOOL_CHUNK_LOG2] + (i & (VT__SPOOL_CHUNK - 1));
}

static inline uint64_t vt__sblock_key(int bx, int by, int bz)
{
    return (uint64_t)(uint32_t)bx << (2 * VT__SB_KEY_BITS) |
           (uint64_t)(uint32_t)by << VT__SB_KEY_BITS | (uint64_t)(uint32_t)bz;
}

static inline int vt__sblock_local(int x, int y, int z)
{
    const int m = VT__SB - 1;
    return (((x & m) << VT__SB_LOG2 | (y & m)) << VT__SB_LOG2) | (z & m);
}

/* Hands out a zeroed block; VT__SB_NONE when out of memory. */
uint32_t vt__spool_take(vt__spool *p);
void vt__spool_reset(vt__spool *p);
void vt__spool_free(vt__spool *p);
size_t vt__spool_bytes(const vt__spool *p);

/* The block index stored under key, or VT__SB_NONE. */
uint32_t vt__smap_find(const vt__smap *m, uint64_t key);

/*
 * The block of (bx, by, bz) at a level, taken from the pool and entered when
 * new. NULL when out of memory (error set).
 */
vt__sblock *vt__smap_get(vt__smap *m, vt__spool *p, int level, int bx, int by, int bz);

void vt__smap_clear(vt__smap *m);
void vt__smap_free(vt__smap *m);
size_t vt__smap_bytes(const vt__smap *m);

#endif
