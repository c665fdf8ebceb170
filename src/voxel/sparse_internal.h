/*
 * src/voxel/sparse_internal.h - the storage of the sparse voting grid: the
 * hashed 8^3-voxel blocks of the coarse level, the 2x2x2 nodes of the finer
 * levels, and their pools; shared by sparse.c and sparse_hash.c only.
 */
#ifndef VOXTRACK_SPARSE_INTERNAL_H
#define VOXTRACK_SPARSE_INTERNAL_H

#include <stdbool.h>
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

/*
 * Per-voxel meta word: the low 4 bits are flags; the high 28 bits hold the
 * index + 1 of the node of its 2x2x2 children when it is refined (0: none).
 */
#define VT__SV_FLAGS 15u
#define VT__SV_CHILD_SHIFT 4
enum {
    VT__SV_NEAR = 1,   /* a ray crossed it closer to its camera than the level-of-detail range */
    VT__SV_REFINE = 2, /* >= K cameras and near: its rays are cast through its children */
    VT__SV_FINAL = 4,  /* >= K cameras and not refined: clusters are made of these */
    VT__SV_SEEN = 8    /* already put into a cluster */
};

/* A coarse block. Voxels z-fastest inside the block, like the dense grid's bricks. */
typedef struct vt__svox {
    uint64_t w;    /* fixed-point votes */
    uint64_t cams; /* camera bitmask */
} vt__svox;

/* Votes and mask side by side: a step of pass 0 touches one cache line for both. */
typedef struct vt__sblock {
    vt__svox vox[VT__SB_VOXELS];
    uint32_t meta[VT__SB_VOXELS];
    int32_t bx, by, bz; /* block coordinates */
    int32_t level;
} vt__sblock;

/* The 2x2x2 children of one refined voxel, index (x << 2) | (y << 1) | z. */
typedef struct vt__snode {
    uint64_t w[8];
    uint64_t cams[8];
    uint32_t meta[8];
} vt__snode;

/* Nodes in chunks that stay put (pointers remain valid), reused from cast to cast. */
#define VT__SNODE_CHUNK_LOG2 10
#define VT__SNODE_CHUNK (1 << VT__SNODE_CHUNK_LOG2)
#define VT__SNODE_MAX (1u << (32 - VT__SV_CHILD_SHIFT))
typedef struct vt__snode_pool {
    vt__snode **chunks;
    size_t nchunks, chunk_cap;
    size_t used; /* chunks handed out since the last reset */
} vt__snode_pool;

static inline vt__snode *vt__snode_at(const vt__snode_pool *p, uint32_t i)
{
    return p->chunks[i >> VT__SNODE_CHUNK_LOG2] + (i & (VT__SNODE_CHUNK - 1));
}

/*
 * Hands out a chunk of VT__SNODE_CHUNK nodes (not zeroed): its first node
 * index, or VT__SB_NONE when out of memory or indices. Threads take chunks
 * one at a time under a lock and hand out their nodes without one; nodes
 * never move, so a thread may keep pointers to its nodes while another takes
 * a chunk (vt__snode_at must not run meanwhile: the chunk table may move).
 */
uint32_t vt__snode_chunk(vt__snode_pool *p);
void vt__snode_free(vt__snode_pool *p);
size_t vt__snode_bytes(const vt__snode_pool *p);

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

/* All the voxels: level 0 in hashed blocks, the finer levels in nodes below their parents. */
#define VT__SG_LEVELS 8
typedef struct vt__sgrid {
    int n[VT__SG_LEVELS][3]; /* cells per axis per level */
    vt__spool pool;          /* level 0 */
    vt__smap map;
    vt__snode_pool nodes; /* levels 1 and finer */
} vt__sgrid;

/* A voxel by place: indices at its level and where it is stored. */
typedef struct vt__sref {
    int32_t x, y, z;
    uint32_t home; /* block (level 0) or node index */
    uint16_t k;    /* the voxel in its block or node */
    uint16_t level;
} vt__sref;

uint32_t *vt__sgrid_meta(const vt__sgrid *g, const vt__sref *r);
void vt__sgrid_value(const vt__sgrid *g, const vt__sref *r, uint64_t *w, uint64_t *cams);

/* Finds voxel (x, y, z) of a level by descending from its coarse cell; false when no ray made it.
 */
bool vt__sgrid_locate(const vt__sgrid *g, int level, int x, int y, int z, vt__sref *r);

#endif
