/*
 * src/voxel/grid.c - the dense voxel grid in lazily allocated bricks.
 *
 * The grid is cut into 8x8x8-voxel bricks of 64-bit fixed-point votes: 4 KiB,
 * one page each. A directory holds one pointer per brick, NULL until a ray
 * first touches it. Bricks come from slabs of SLAB_BRICKS pages obtained with
 * calloc; large callocs are fresh anonymous mappings, so a page costs memory
 * only once it is written - memory follows the touched voxels, not the
 * volume (the original projector's flat 500^3 float array needs ~490 MiB
 * however few voxels get votes).
 *
 * Inside a brick voxels are z-fastest, like the file layout, so a row along z
 * is 8 consecutive words per brick.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxel/grid_internal.h"
#include "voxtrack/dda.h"

#define SLAB_BRICKS 64
#define MAX_AXIS 4096

vt_grid_opts vt_grid_opts_default(void)
{
    vt_grid_opts o = {500, 500, 500, 6.0, {0.0, 0.0, 500.0}};
    return o;
}

static vt_status check_opts(const vt_grid_opts *o)
{
    if (!o)
        return vt__error(VT_EINVAL, "grid: options are NULL");
    const int n[3] = {o->nx, o->ny, o->nz};
    const char *name[3] = {"nx", "ny", "nz"};
    for (int i = 0; i < 3; i++)
        if (n[i] <= 0 || n[i] > MAX_AXIS)
            return vt__error(VT_EINVAL, "grid: size '%s' must be in 1..%d (got %d)", name[i],
                             MAX_AXIS, n[i]);
    if (!(o->voxel_size > 0.0) || !isfinite(o->voxel_size))
        return vt__error(VT_EINVAL, "grid: voxel size must be a finite number > 0 (got %g)",
                         o->voxel_size);
    if (!isfinite(o->center.x) || !isfinite(o->center.y) || !isfinite(o->center.z))
        return vt__error(VT_EINVAL, "grid: centre must be finite");
    return VT_OK;
}

vt_status vt_grid_new(const vt_grid_opts *opts, vt_grid **out)
{
    *out = NULL;
    vt_status s = check_opts(opts);
    if (s)
        return s;
    vt_grid *g = calloc(1, sizeof *g);
    if (!g)
        return vt__error(VT_ENOMEM, "grid: out of memory");
    g->o = *opts;
    g->lo = vt_v3(opts->center.x - 0.5 * opts->nx * opts->voxel_size,
                  opts->center.y - 0.5 * opts->ny * opts->voxel_size,
                  opts->center.z - 0.5 * opts->nz * opts->voxel_size);
    g->bx = (opts->nx + VT_GRID_BRICK - 1) >> VT_GRID_BRICK_LOG2;
    g->by = (opts->ny + VT_GRID_BRICK - 1) >> VT_GRID_BRICK_LOG2;
    g->bz = (opts->nz + VT_GRID_BRICK - 1) >> VT_GRID_BRICK_LOG2;
    g->dir = calloc((size_t)g->bx * g->by * g->bz, sizeof *g->dir);
    if (!g->dir) {
        free(g);
        return vt__error(VT_ENOMEM, "grid: out of memory for the brick directory");
    }
    *out = g;
    return VT_OK;
}

void vt_grid_free(vt_grid *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nslabs; i++)
        free(g->slabs[i]);
    free(g->slabs);
    free(g->dir);
    free(g);
}

vt_grid_opts vt_grid_get_opts(const vt_grid *g)
{
    return g->o;
}
vt_vec3 vt_grid_min(const vt_grid *g)
{
    return g->lo;
}

void vt_grid_clear(vt_grid *g)
{
    /* Keep the bricks where they are: a cleared grid refills the same cells. */
    for (size_t b = 0, n = (size_t)g->bx * g->by * g->bz; b < n; b++)
        if (g->dir[b])
            memset(g->dir[b], 0, VT__BRICK_BYTES);
}

uint64_t *vt__grid_alloc_brick(vt_grid *g, size_t b)
{
    if (g->slab_used == SLAB_BRICKS || g->nslabs == 0) {
        if (g->nslabs == g->slab_cap) {
            size_t cap = g->slab_cap ? 2 * g->slab_cap : 16;
            uint64_t **s = realloc(g->slabs, cap * sizeof *s);
            if (!s)
                return NULL;
            g->slabs = s;
            g->slab_cap = cap;
        }
        uint64_t *slab = calloc(SLAB_BRICKS, VT__BRICK_BYTES);
        if (!slab)
            return NULL;
        g->slabs[g->nslabs++] = slab;
        g->slab_used = 0;
    }
    uint64_t *brick = g->slabs[g->nslabs - 1] + (size_t)g->slab_used * VT__BRICK_VOXELS;
    g->slab_used++;
    g->bricks++;
    g->dir[b] = brick;
    return brick;
}

vt_status vt_grid_cast(vt_grid *g, vt_vec3 origin, vt_vec3 dir, uint64_t weight, uint64_t *steps)
{
    uint64_t n = 0;
    vt_dda d;
    vt_status status = VT_OK;
    if (!vt_dda_init(&d, origin, dir, g->lo, g->o.voxel_size, g->o.nx, g->o.ny, g->o.nz))
        goto out;
    int ix = d.ix, iy = d.iy, iz = d.iz, sx = d.sx, sy = d.sy, sz = d.sz;
    double tmx = d.tmx, tmy = d.tmy, tmz = d.tmz, tdx = d.tdx, tdy = d.tdy, tdz = d.tdz;
    /* The low 3 bits of an index at which a step in direction s enters a new brick. */
    const int ex = sx > 0 ? 0 : VT_GRID_BRICK - 1, ey = sy > 0 ? 0 : VT_GRID_BRICK - 1,
              ez = sz > 0 ? 0 : VT_GRID_BRICK - 1;
    uint64_t *brick;
    int local;
new_brick:
    if (!(brick = vt__grid_brick(g, ix, iy, iz))) {
        status = VT_ENOMEM;
        goto out;
    }
    local = vt__grid_local_index(ix, iy, iz);
    for (;;) {
        brick[local] += weight;
        n++;
        if (tmx <= tmy && tmx <= tmz)
            VT__STEP(ix, sx, g->o.nx, tmx, tdx, 2 * VT_GRID_BRICK_LOG2, ex);
        else if (tmy <= tmz)
            VT__STEP(iy, sy, g->o.ny, tmy, tdy, VT_GRID_BRICK_LOG2, ey);
        else
            VT__STEP(iz, sz, g->o.nz, tmz, tdz, 0, ez);
    }
out:
    if (steps)
        *steps = n;
    return status;
}

static bool in_grid(const vt_grid *g, int ix, int iy, int iz)
{
    return ix >= 0 && iy >= 0 && iz >= 0 && ix < g->o.nx && iy < g->o.ny && iz < g->o.nz;
}

uint64_t *vt__grid_brick(vt_grid *g, int ix, int iy, int iz)
{
    size_t b = vt__grid_brick_index(g, ix, iy, iz);
    uint64_t *brick = g->dir[b];
    if (!brick && !(brick = vt__grid_alloc_brick(g, b)))
        vt__error(VT_ENOMEM, "grid: out of memory after %zu bricks", g->bricks);
    return brick;
}

vt_status vt_grid_add_at(vt_grid *g, int ix, int iy, int iz, uint64_t weight)
{
    if (!in_grid(g, ix, iy, iz))
        return vt__error(VT_ERANGE, "grid: voxel (%d, %d, %d) is outside the %dx%dx%d grid", ix, iy,
                         iz, g->o.nx, g->o.ny, g->o.nz);
    uint64_t *brick = vt__grid_brick(g, ix, iy, iz);
    if (!brick)
        return VT_ENOMEM;
    brick[vt__grid_local_index(ix, iy, iz)] += weight;
    return VT_OK;
}

uint64_t vt_grid_at(const vt_grid *g, int ix, int iy, int iz)
{
    if (!in_grid(g, ix, iy, iz))
        return 0;
    const uint64_t *brick = g->dir[vt__grid_brick_index(g, ix, iy, iz)];
    return brick ? brick[vt__grid_local_index(ix, iy, iz)] : 0;
}

vt_status vt_grid_add(vt_grid *dst, const vt_grid *src)
{
    if (dst->o.nx != src->o.nx || dst->o.ny != src->o.ny || dst->o.nz != src->o.nz)
        return vt__error(VT_EMISMATCH, "grid: cannot add a %dx%dx%d grid to a %dx%dx%d grid",
                         src->o.nx, src->o.ny, src->o.nz, dst->o.nx, dst->o.ny, dst->o.nz);
    for (size_t b = 0, n = (size_t)dst->bx * dst->by * dst->bz; b < n; b++) {
        const uint64_t *s = src->dir[b];
        if (!s)
            continue;
        uint64_t *d = dst->dir[b];
        if (!d && !(d = vt__grid_alloc_brick(dst, b)))
            return vt__error(VT_ENOMEM, "grid: out of memory after %zu bricks", dst->bricks);
        for (int i = 0; i < VT__BRICK_VOXELS; i++)
            d[i] += s[i];
    }
    return VT_OK;
}

bool vt_grid_row_f32(const vt_grid *g, int ix, int iy, float *out)
{
    bool any = false;
    int lx = ix & (VT_GRID_BRICK - 1), ly = iy & (VT_GRID_BRICK - 1);
    size_t col = ((size_t)(ix >> VT_GRID_BRICK_LOG2) * g->by + (iy >> VT_GRID_BRICK_LOG2)) * g->bz;
    for (int bz = 0; bz < g->bz; bz++) {
        int z0 = bz << VT_GRID_BRICK_LOG2;
        int nz = g->o.nz - z0 < VT_GRID_BRICK ? g->o.nz - z0 : VT_GRID_BRICK;
        const uint64_t *brick = g->dir[col + bz];
        if (!brick) {
            memset(out + z0, 0, (size_t)nz * sizeof *out);
            continue;
        }
        const uint64_t *row = brick + vt__grid_local_index(lx, ly, 0);
        for (int z = 0; z < nz; z++) {
            out[z0 + z] = (float)((double)row[z] / VT_VOTE_ONE);
            any |= row[z] != 0;
        }
    }
    return any;
}

size_t vt_grid_brick_count(const vt_grid *g)
{
    return g->bricks;
}

size_t vt_grid_bytes(const vt_grid *g)
{
    return sizeof *g + (size_t)g->bx * g->by * g->bz * sizeof *g->dir +
           g->slab_cap * sizeof *g->slabs + g->bricks * VT__BRICK_BYTES;
}

bool vt_grid_argmax(const vt_grid *g, int *ix, int *iy, int *iz, uint64_t *votes)
{
    uint64_t best = 0;
    size_t best_index = SIZE_MAX;
    int bx = 0, by = 0, bz = 0;
    for (bx = 0; bx < g->bx; bx++)
        for (by = 0; by < g->by; by++)
            for (bz = 0; bz < g->bz; bz++) {
                const uint64_t *brick = g->dir[((size_t)bx * g->by + by) * g->bz + bz];
                if (!brick)
                    continue;
                for (int i = 0; i < VT__BRICK_VOXELS; i++) {
                    if (brick[i] == 0 || brick[i] < best)
                        continue;
                    int x = (bx << VT_GRID_BRICK_LOG2) + (i >> (2 * VT_GRID_BRICK_LOG2));
                    int y = (by << VT_GRID_BRICK_LOG2) +
                            ((i >> VT_GRID_BRICK_LOG2) & (VT_GRID_BRICK - 1));
                    int z = (bz << VT_GRID_BRICK_LOG2) + (i & (VT_GRID_BRICK - 1));
                    size_t index = ((size_t)x * g->o.ny + y) * g->o.nz + z;
                    if (brick[i] > best || index < best_index) {
                        best = brick[i];
                        best_index = index;
                        *ix = x;
                        *iy = y;
                        *iz = z;
                    }
                }
            }
    if (votes)
        *votes = best;
    return best > 0;
}

vt_vec3 vt_grid_voxel_center(const vt_grid *g, int ix, int iy, int iz)
{
    double s = g->o.voxel_size;
    return vt_v3(g->lo.x + (ix + 0.5) * s, g->lo.y + (iy + 0.5) * s, g->lo.z + (iz + 0.5) * s);
}
