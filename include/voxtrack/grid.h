/*
 * voxtrack/grid.h - the dense voxel grid, stored in lazily allocated bricks.
 *
 * Logically an nx x ny x nz array of votes covering an axis-aligned box of
 * cubic voxels. Physically a directory of 8x8x8-voxel bricks, each allocated
 * the first time a ray touches it, so memory follows what rays touch rather
 * than the volume, and the voxels a ray visits in a row share a cache line
 * far more often than in a flat array.
 *
 * Votes are fixed-point integers: VT_VOTE_ONE units per 1.0 of weight. Integer
 * addition does not depend on order, so the grid is bit-identical whatever
 * the order in which rays arrive or the number of threads that cast them.
 *
 * A grid is not thread-safe: give each thread its own and add them with
 * vt_grid_add() (what vt_project_run() does).
 */
#ifndef VOXTRACK_GRID_H
#define VOXTRACK_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point units of one vote of weight 1.0. */
#define VT_VOTE_ONE 65536.0

/* Brick edge in voxels (a power of two). */
#define VT_GRID_BRICK_LOG2 3
#define VT_GRID_BRICK (1 << VT_GRID_BRICK_LOG2)

typedef struct vt_grid vt_grid;

typedef struct vt_grid_opts {
    int nx, ny, nz;    /* voxels per axis, > 0 */
    double voxel_size; /* metres, > 0 */
    vt_vec3 center;    /* centre of the box, world metres */
} vt_grid_opts;

/* The original projector's grid: 500^3 voxels of 6 m centred on (0, 0, 500). */
VT_API vt_grid_opts vt_grid_opts_default(void);

/* Creates an empty grid (no brick allocated). VT_EINVAL names a bad option. */
VT_API vt_status vt_grid_new(const vt_grid_opts *opts, vt_grid **out);

/* Frees the grid and all its bricks. Accepts NULL. */
VT_API void vt_grid_free(vt_grid *g);

/* The options the grid was created with, and its minimum corner. */
VT_API vt_grid_opts vt_grid_get_opts(const vt_grid *g);
VT_API vt_vec3 vt_grid_min(const vt_grid *g);

/* Sets every vote to zero, keeping the bricks for reuse. */
VT_API void vt_grid_clear(vt_grid *g);

/*
 * Casts the ray origin + t dir (t >= 0) and adds `weight` fixed-point units
 * to every voxel it passes through. *steps (may be NULL) receives the number
 * of voxels visited. VT_ENOMEM when a brick cannot be allocated; the votes
 * added before that stay.
 */
VT_API vt_status vt_grid_cast(vt_grid *g, vt_vec3 origin, vt_vec3 dir, uint64_t weight,
                              uint64_t *steps);

/* Adds a single voxel's votes (bounds-checked; VT_ERANGE outside). */
VT_API vt_status vt_grid_add_at(vt_grid *g, int ix, int iy, int iz, uint64_t weight);

/* The votes of one voxel; 0 outside the grid or in an untouched brick. */
VT_API uint64_t vt_grid_at(const vt_grid *g, int ix, int iy, int iz);

/* dst += src, voxel by voxel. VT_EMISMATCH when the grids differ in shape. */
VT_API vt_status vt_grid_add(vt_grid *dst, const vt_grid *src);

/*
 * Copies one row along z, votes divided by VT_VOTE_ONE, into out[0..nz).
 * Returns true when the row has any non-zero vote.
 */
VT_API bool vt_grid_row_f32(const vt_grid *g, int ix, int iy, float *out);

/* Allocated bricks, and the bytes the grid holds (directory + bricks). */
VT_API size_t vt_grid_brick_count(const vt_grid *g);
VT_API size_t vt_grid_bytes(const vt_grid *g);

/*
 * The voxel with the most votes (lowest index ix*ny*nz + iy*nz + iz wins a
 * tie). Returns false when every vote is zero.
 */
VT_API bool vt_grid_argmax(const vt_grid *g, int *ix, int *iy, int *iz, uint64_t *votes);

/* The world position of a voxel's centre. */
VT_API vt_vec3 vt_grid_voxel_center(const vt_grid *g, int ix, int iy, int iz);

/*
 * Writes the grid in the original projector's voxel_grid.bin format: int32 N,
 * float32 voxel_size, then N^3 float32 (votes / VT_VOTE_ONE) at index
 * ix*N*N + iy*N + iz, little-endian. Needs nx == ny == nz. Writes to
 * `path`.tmp and renames, so a failed run never leaves a partial file; runs
 * of zeros become holes in a sparse file where the file system allows it.
 */
VT_API vt_status vt_grid_save_bin(const vt_grid *g, const char *path);

/*
 * Writes maximum-intensity projections along x, y and z as 16-bit gray PNG
 * images PREFIX_x.png (rows y... see docs/FORMATS.md), PREFIX_y.png,
 * PREFIX_z.png, scaled so that the grid's maximum is 65535.
 */
VT_API vt_status vt_grid_save_mip(const vt_grid *g, const char *prefix);

#ifdef __cplusplus
}
#endif

#endif
