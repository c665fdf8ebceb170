/*
 * src/voxel/sparse_internal.h - the storage of the sparse voting grid: the
 * hashed 8^3-voxel blocks of the coarse level, the 2x2x2 nodes of the finer
 * levels, and their pools; and the voting handle itself. Shared by the
 * src/voxel/sparse*.c files only.
 */
#ifndef VOXTRACK_SPARSE_INTERNAL_H
#define VOXTRACK_SPARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
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
    VT__SV_FINAL = 4   /* >= K cameras and not refined: clusters are made of these */
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
 * new, and its index in the pool. NULL when out of memory (error set).
 */
vt__sblock *vt__smap_get(vt__smap *m, vt__spool *p, int level, int bx, int by, int bz,
                         uint32_t *index);

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

/* ---- The voting handle: shared by sparse.c, sparse_refine.c and sparse_cluster.c ---- */

#define VT__VOTE_MAX_CLUSTERS 16384
#define VT__VOTE_MAX_THREADS 64

/*
 * A ray ready for the node walks (the reciprocal of its direction saves
 * divisions) and for the consistency test (unit direction; its tolerance per
 * metre of range, consistency_sigma * sigma).
 */
typedef struct vt__srayx {
    double o[3], d[3], inv[3];
    double u[3], tol_per_m;
    uint64_t w, bit;
} vt__srayx;

/* Per-thread state of the refinement. */
typedef struct vt__sworker {
    vt__snode *chunk; /* its current chunk of nodes */
    uint32_t chunk_first, chunk_used;
    uint32_t *lists[VT__SG_LEVELS]; /* rays per child, 8 lists per depth */
    size_t list_cap[VT__SG_LEVELS];
    vt__sref *finals;
    size_t nfinals, cap_finals;
    uint64_t steps;
    size_t cells[VT__SG_LEVELS];
    size_t rejected[VT__SG_LEVELS];
    int levels;
    vt_status status;
} vt__sworker;

struct vt_vote {
    vt_vote_opts o;
    int levels;                   /* levels the options allow */
    double edge[VT__SG_LEVELS];   /* cell edge per level */
    double near_r[VT__SG_LEVELS]; /* level-of-detail range; INFINITY: always near */
    vt__sgrid g;                  /* the voxels of all levels */
    bool all_near; /* every ray is within the level-of-detail range of the whole box */
    bool near_all[VT__SG_LEVELS]; /* the same per level (all_near is near_all[0]) */
    vt__srayx *rx;
    size_t cap_rx;
    vt__sref *refined; /* the refined coarse cells (with the test on: those with >= K cameras) */
    size_t nrefined, cap_refined;
    uint64_t *visits; /* pass 0: coarse cell (block * 512 + cell) << 32 | ray, every step */
    size_t nvisits, cap_visits;
    uint32_t *cands; /* pass 0: the coarse cells (as in a visit) in the order they reach K cameras */
    size_t ncands, cap_cands;
    uint64_t *refbits; /* per block, 512 bits: which of its cells refine (8 words a block) */
    size_t cap_refbits;
    uint64_t *pairs; /* refined cell id << 32 | ray, from the visits */
    size_t npairs, cap_pairs;
    uint32_t *offs, *rays_of; /* the rays of refined cell i: rays_of[offs[i] .. offs[i + 1]) */
    size_t cap_offs, cap_rays_of;
    vt__sworker *workers;
    int nworkers;
    vt__sref *comp;
    size_t cap_comp;
    vt__sref *fin; /* the final voxels of all workers, and a hash table of them (index + 1) */
    size_t nfin, cap_fin;
    uint8_t *fin_seen; /* per final voxel: already in a cluster */
    size_t cap_fin_seen;
    uint32_t *fin_table;
    size_t cap_fin_table, fin_mask;
    int fin_shift;
    vt_cluster *clusters;
    size_t nclusters, cap_clusters;
    vt_vote_stats st;
};

/* popcount(m) >= k without a popcount instruction: clear the lowest bit k - 1 times. */
static inline bool vt__enough_cameras(uint64_t m, int k)
{
    for (int i = 1; i < k && m; i++)
        m &= m - 1;
    return m != 0;
}

static inline int vt__popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Lists a final voxel (a seed of the clusters) with a worker. */
static inline vt_status vt__spush_final(vt__sworker *wk, vt__sref f)
{
    if (vt__grow(&wk->finals, &wk->cap_finals, wk->nfinals + 1, sizeof *wk->finals))
        return VT_ENOMEM;
    wk->finals[wk->nfinals++] = f;
    return VT_OK;
}

/* sparse_refine.c: the threads a cast uses, their workers, and the finer levels. */
int vt__svote_threads(const vt_vote *v);
vt_status vt__svote_reset_workers(vt_vote *v, int threads);
vt_status vt__svote_refine_all(vt_vote *v, int threads);

/* sparse_cluster.c: the clusters of the final voxels, strongest first. */
vt_status vt__svote_find_clusters(vt_vote *v);

#endif
