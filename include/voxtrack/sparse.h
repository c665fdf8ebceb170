/*
 * voxtrack/sparse.h - voting on a sparse grid, coarse to fine.
 *
 * All rays are cast through a coarse level first (exact 3D DDA). Only coarse
 * cells crossed by rays from at least K distinct cameras are refined: each
 * such cell is split in 2x2x2 children and the rays that crossed the parent
 * are cast through the children only; this repeats, level after level, down
 * to a voxel size matched to the pixel footprint at that range (never below
 * fine_voxel). With many rays, cells crossed by >= K cameras by chance are
 * common; a consistency test (the rays of >= K cameras must pass near one
 * point inside the cell) keeps those from refining. Each voxel holds a
 * 64-bit fixed-point weight and a 64-bit camera bitmask. Storage is hashed 8^3-voxel blocks (open
 * addressing) for the coarse level and a node of 2x2x2 children under each refined cell for the
 * finer ones, so memory grows with what the rays touch, not with the volume. The finest voxels that
 * keep >= K cameras are grouped into clusters (26-connected components), which the detection stage
 * turns into 3D detections. Results do not depend on the thread count.
 */
#ifndef VOXTRACK_SPARSE_H
#define VOXTRACK_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/ray.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_vote_opts {
    vt_vec3 min, max;    /* the world box that is voted on, metres */
    double coarse_voxel; /* edge of a coarse cell, metres (default 16) */
    double fine_voxel;   /* smallest voxel edge, metres (default 0.5) */
    double pixel_angle;  /* angle of one pixel, radians; the level of detail stops a cell's
                            refinement once its edge is <= lod_pixels * range * pixel_angle
                            (default 0: refine to fine_voxel everywhere) */
    double lod_pixels;   /* default 2 */
    int min_cameras;     /* K: distinct cameras a cell needs to be refined (default 3) */
    int threads;         /* <= 0: OpenMP default */
    /*
     * Added after the first release (appended, so older fields keep their places).
     * The consistency test: a cell with >= K cameras is refined (or, where refinement
     * stops, made final) only when its rays could come from one point in it: some pair
     * of its rays of two cameras passes within the tolerance of each other, at a
     * midpoint inside the cell (enlarged by half the tolerance), and the rays of at
     * least K distinct cameras in the cell pass within their tolerance of that
     * midpoint. The tolerance of a ray at range r from its origin is
     * max(consistency_min, consistency_sigma * ray.sigma * r). Cells that fail are
     * neither refined nor final: their >= K cameras met there by chance (ghost
     * crossings, which dominate when there are many rays). A cell whose rays form
     * more than 128 camera pairs is refined without the test. With the test on, the
     * level of detail also asks for K cameras: a cell refines only when rays of >= K
     * distinct cameras cross it within the level-of-detail range (one camera is enough
     * with the test off). Rays need a finite sigma >= 0 (VT_EINVAL otherwise).
     */
    double consistency_sigma; /* tolerance in ray sigmas (default 4); 0: no test, every cell
                                 with >= K cameras refines as before */
    double consistency_min;   /* smallest tolerance, metres (default 1) */
} vt_vote_opts;

VT_API vt_vote_opts vt_vote_opts_default(void);

/* A group of connected finest-level voxels seen by >= K cameras. */
typedef struct vt_cluster {
    vt_vec3 centroid;  /* weight-weighted centre of its voxels */
    vt_vec3 min, max;  /* bounding box of its voxels, metres */
    uint64_t weight;   /* sum of fixed-point votes (VT_VOTE_ONE = 1.0) */
    uint64_t cameras;  /* bit c set when camera c voted in it */
    int ncameras;      /* popcount(cameras) */
    int voxels;        /* number of voxels */
    double voxel_size; /* edge of its voxels, metres */
} vt_cluster;

typedef struct vt_vote_stats {
    size_t rays;             /* rays cast */
    uint64_t steps;          /* voxel visits, all levels */
    size_t cells[8];         /* cells (voxels) with >= K cameras per level, 0 = coarse */
    int levels;              /* levels used */
    size_t blocks;           /* hashed blocks allocated, all levels */
    size_t bytes;            /* memory held by the grid now */
    size_t peak_bytes;       /* the most it has held */
    size_t clusters;         /* clusters found (before the cap) */
    size_t clusters_dropped; /* the weakest ones left out above the cap of 16384 */
    /* Added after the first release (appended, so older fields keep their places): */
    size_t rejected[8]; /* cells with >= K cameras that the consistency test turned down, per
                           level (they are counted in cells[] too) */
    double ms[4]; /* wall time of the last cast's phases, milliseconds: pass 0 (all rays through
                     level 0), the choice of the coarse cells to refine with their ray lists,
                     the finer levels, the clusters. Not deterministic: for benchmarks. */
} vt_vote_stats;

typedef struct vt_vote vt_vote;

/* Validates the options (VT_EINVAL naming the field) and creates an empty grid. */
VT_API vt_status vt_vote_new(const vt_vote_opts *opts, vt_vote **out);
VT_API void vt_vote_free(vt_vote *v);

/*
 * Clears the grid (keeping its memory for reuse) and votes with these rays,
 * coarse to fine; then finds the clusters. Rays with camera >= 64 are
 * refused (VT_ERANGE). Each ray votes its weight into every voxel it
 * crosses (once per voxel).
 */
VT_API vt_status vt_vote_cast(vt_vote *v, const vt_ray *rays, size_t count);

/*
 * The clusters of the last vt_vote_cast(), strongest first: most distinct
 * cameras first, then the largest weight. Owned by v.
 */
VT_API const vt_cluster *vt_vote_clusters(const vt_vote *v, size_t *count);

VT_API vt_vote_stats vt_vote_get_stats(const vt_vote *v);

/*
 * Reads one voxel of the last cast at a level (0 = coarse): its weight and
 * camera mask; zeroes when no ray touched it. For tests and tools.
 */
VT_API void vt_vote_voxel(const vt_vote *v, int level, vt_vec3 p, uint64_t *weight,
                          uint64_t *cameras);

/* The voxel edge at a level: coarse_voxel / 2^level. */
VT_API double vt_vote_level_size(const vt_vote *v, int level);

/* The options the grid was made with (defaults for NULL). */
VT_API vt_vote_opts vt_vote_get_opts(const vt_vote *v);

/*
 * ---- reading the coarse level out, block by block ----
 *
 * Level 0 is stored as 8x8x8-cell blocks; these give the blocks that the
 * last vt_vote_cast() touched, with every cell's fixed-point votes and camera
 * mask, e.g. to stream them (VoxelChunk, wire.h) or to look at a cast in a
 * tool. Block (bx, by, bz) holds the coarse cells [8 * bx, 8 * bx + 8) x ...
 * counted from opts.min in cells of opts.coarse_voxel (vt_vote_get_opts);
 * cell (x, y, z) of the block is at index (x * 8 + y) * 8 + z. Finer levels
 * are not read out this way (they are scattered 2x2x2 nodes, not blocks):
 * vt_vote_voxel() reads their voxels one at a time.
 * Reading does not change the grid and costs vt_vote_cast() nothing.
 */
typedef struct vt_vote_block {
    int32_t bx, by, bz;         /* block coordinates */
    int max_cameras;            /* the most distinct cameras of any one cell */
    uint64_t cameras;           /* union of the cells' camera masks */
    uint64_t weight[512];       /* per cell: fixed-point votes (VT_VOTE_ONE = 1.0) */
    uint64_t cell_cameras[512]; /* per cell: bit c set when camera c voted in it */
} vt_vote_block;

/*
 * The number of level-0 blocks of the last cast (0 before the first cast or
 * after a failed one). Blocks are numbered 0..count-1 in the order pass 0
 * first touched them, which depends on the rays only (never on threads).
 */
VT_API size_t vt_vote_block_count(const vt_vote *v);

/*
 * Copies block i (0 <= i < vt_vote_block_count) into *out. VT_ERANGE for a
 * bad i, VT_EINVAL for NULL. Valid until the next cast; not while one runs.
 */
VT_API vt_status vt_vote_block_get(const vt_vote *v, size_t i, vt_vote_block *out);

#ifdef __cplusplus
}
#endif

#endif
