/*
 * src/voxel/sparse_blocks.c - reading the coarse level of the sparse voting
 * grid out block by block (see voxtrack/sparse.h), for streams (VoxelChunk
 * messages), tools and tests.
 *
 * The coarse level is stored as hashed 8^3-cell blocks handed out in order
 * from a pool (sparse_hash.c), so the blocks of the last cast are simply the
 * pool's first `used` entries: block i is the i-th block pass 0 touched.
 * Pass 0 walks the rays one after the other on one thread, so that order
 * depends on the rays only, never on the thread count. Reading copies one
 * block (votes and camera masks) and adds the union of its masks and the
 * largest camera count of any cell, which is what a reader filters on; the
 * cast itself is not touched, so reading costs vt_vote_cast nothing.
 */
#include <string.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"

size_t vt_vote_block_count(const vt_vote *v)
{
    return v && v->st.levels > 0 ? v->g.pool.used : 0;
}

vt_status vt_vote_block_get(const vt_vote *v, size_t i, vt_vote_block *out)
{
    if (!v || !out)
        return vt__error(VT_EINVAL, "vt_vote_block_get: %s is NULL", v ? "out" : "grid");
    size_t n = vt_vote_block_count(v);
    if (i >= n)
        return vt__error(VT_ERANGE, "vt_vote_block_get: block %zu of %zu", i, n);
    const vt__sblock *b = vt__spool_at(&v->g.pool, (uint32_t)i);
    out->bx = b->bx;
    out->by = b->by;
    out->bz = b->bz;
    out->cameras = 0;
    out->max_cameras = 0;
    for (int k = 0; k < VT__SB_VOXELS; k++) {
        uint64_t c = b->vox[k].cams;
        out->weight[k] = b->vox[k].w;
        out->cell_cameras[k] = c;
        out->cameras |= c;
        int nc = __builtin_popcountll(c);
        if (nc > out->max_cameras)
            out->max_cameras = nc;
    }
    return VT_OK;
}

vt_vote_opts vt_vote_get_opts(const vt_vote *v)
{
    return v ? v->o : vt_vote_opts_default();
}
