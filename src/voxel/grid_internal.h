/*
 * src/voxel/grid_internal.h - the layout of vt_grid, shared by grid.c and
 * grid_io.c only.
 */
#ifndef VOXTRACK_GRID_INTERNAL_H
#define VOXTRACK_GRID_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/grid.h"

#define VT__BRICK_VOXELS (VT_GRID_BRICK * VT_GRID_BRICK * VT_GRID_BRICK)
#define VT__BRICK_BYTES (VT__BRICK_VOXELS * sizeof(uint64_t))

struct vt_grid {
    vt_grid_opts o;
    vt_vec3 lo;       /* minimum corner */
    int bx, by, bz;   /* bricks per axis */
    uint64_t **dir;   /* bx*by*bz brick pointers, NULL = all zero */
    size_t bricks;    /* allocated bricks */
    uint64_t **slabs; /* the allocations bricks are cut from */
    size_t nslabs, slab_cap;
    int slab_used; /* bricks used in the last slab */
};

static inline size_t vt__grid_brick_index(const vt_grid *g, int ix, int iy, int iz)
{
    return ((size_t)(ix >> VT_GRID_BRICK_LOG2) * g->by + (size_t)(iy >> VT_GRID_BRICK_LOG2)) *
               g->bz +
           (size_t)(iz >> VT_GRID_BRICK_LOG2);
}

static inline int vt__grid_local_index(int ix, int iy, int iz)
{
    const int m = VT_GRID_BRICK - 1;
    return (((ix & m) << VT_GRID_BRICK_LOG2 | (iy & m)) << VT_GRID_BRICK_LOG2) | (iz & m);
}

/*
 * One step of the cast loops (vt_grid_cast, vt_grid_cast_original), with the brick and the offset
 * inside it carried along instead of recomputed from (ix, iy, iz) at every voxel. A step changes
 * brick only when it crosses a multiple of 8 on its axis, one step in eight or fewer, a branch the
 * processor predicts well.
 */
#define VT__STEP(i, s, n, tm, td, shift, edge)                                                     \
    do {                                                                                           \
        i += s;                                                                                    \
        if ((unsigned)i >= (unsigned)n)                                                            \
            goto out;                                                                              \
        tm += td;                                                                                  \
        if ((i & (VT_GRID_BRICK - 1)) == edge)                                                     \
            goto new_brick;                                                                        \
        local += s * (1 << (shift));                                                               \
    } while (0)

/* The brick holding voxel (ix, iy, iz), allocated if needed; NULL (error set) when out of memory.
 */
uint64_t *vt__grid_brick(vt_grid *g, int ix, int iy, int iz);

/* Allocates (zeroed) brick b and enters it in the directory. NULL when out of memory. */
uint64_t *vt__grid_alloc_brick(vt_grid *g, size_t b);

#endif
