/*
 * src/voxel/sparse.c - voting on a sparse grid, coarse to fine (see
 * voxtrack/sparse.h).
 *
 * Level 0 cuts the box into coarse cells; level l has cells of edge
 * coarse / 2^l, so each cell of level l is exactly 2x2x2 cells of level l+1
 * and level-(l+1) indices are twice the parent's plus 0 or 1.
 *
 * Pass 0 walks every ray through the whole level-0 grid with the exact DDA
 * of Amanatides & Woo (dda.h) and adds, in every cell it crosses, its
 * fixed-point weight and its camera's bit; level 0 is stored as hashed 8^3
 * blocks (sparse_hash.c). A cell then refines when its mask holds >= K
 * cameras and some ray crossed it closer to its camera than the
 * level-of-detail range edge / (lod_pixels * pixel_angle), the range at
 * which one cell spans lod_pixels pixels: past it the cameras cannot tell
 * finer cells apart. A cell with >= K cameras that does not refine (too far
 * away, or at the finest level) is final.
 *
 * What happens inside a refined cell depends only on the rays that cross
 * it, so the finer passes run cell by cell, depth first, instead of level by
 * level over all rays: pass 0 also lists every (coarse cell, ray) it visits
 * and every cell at the step that brings it to K cameras; those cells are
 * decided, and one pass over the visits gathers the rays of each refined
 * coarse cell (then a counting sort puts them in order of the cell, each
 * cell's rays in ray order); then each
 * refined cell gets a node of 2x2x2 children, its rays are walked through
 * the children, and each child that refines in turn does the same with the
 * rays that crossed it (sparse_refine.c). Nodes rather than 8^3 blocks below
 * level 0: refined cells lie scattered (ghost crossings), and blocks there
 * held one used voxel in twenty (docs/ARCHITECTURE.md, "Sparse
 * coarse-to-fine voting"). Votes are integer sums, so every voxel gets the
 * same value whatever the thread count or ray order; the clusters
 * (sparse_cluster.c) are bit-identical too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"
#include "voxtrack/dda.h"
#include "voxtrack/grid.h"

#define MAX_INDEX (1 << (VT__SB_KEY_BITS + VT__SB_LOG2))
#define MAX_WEIGHT 1e12

vt_vote_opts vt_vote_opts_default(void)
{
    vt_vote_opts o;
    memset(&o, 0, sizeof o);
    o.min = vt_v3(-1000.0, -1000.0, 0.0);
    o.max = vt_v3(1000.0, 1000.0, 500.0);
    o.coarse_voxel = 16.0;
    o.fine_voxel = 0.5;
    o.pixel_angle = 0.0;
    o.lod_pixels = 2.0;
    o.min_cameras = 3;
    o.threads = 0;
    o.consistency_sigma = 4.0;
    o.consistency_min = 1.0;
    return o;
}

static bool finite3(vt_vec3 a)
{
    return isfinite(a.x) && isfinite(a.y) && isfinite(a.z);
}

/* The number of levels, or 0 when coarse / fine asks for more than VT__SG_LEVELS. */
static int level_count(double coarse, double fine)
{
    for (int l = 0; l < VT__SG_LEVELS; l++)
        if (ldexp(coarse, -l) <= fine * (1.0 + 1e-9))
            return l + 1;
    return 0;
}

static vt_status check_opts(const vt_vote_opts *o)
{
    if (!o)
        return vt__error(VT_EINVAL, "vote: options are NULL");
    if (!finite3(o->min))
        return vt__error(VT_EINVAL, "vote: 'min' must be finite");
    if (!finite3(o->max))
        return vt__error(VT_EINVAL, "vote: 'max' must be finite");
    if (!(o->max.x > o->min.x && o->max.y > o->min.y && o->max.z > o->min.z))
        return vt__error(VT_EINVAL, "vote: 'max' must be > 'min' on every axis");
    if (!(o->coarse_voxel > 0.0) || !isfinite(o->coarse_voxel))
        return vt__error(VT_EINVAL, "vote: 'coarse_voxel' must be a finite number > 0 (got %g)",
                         o->coarse_voxel);
    if (!(o->fine_voxel > 0.0) || !(o->fine_voxel <= o->coarse_voxel))
        return vt__error(VT_EINVAL, "vote: 'fine_voxel' must be > 0 and <= 'coarse_voxel' (got %g)",
                         o->fine_voxel);
    if (!level_count(o->coarse_voxel, o->fine_voxel))
        return vt__error(VT_EINVAL,
                         "vote: 'fine_voxel' must be >= 'coarse_voxel' / %d (got %g for %g)",
                         1 << (VT__SG_LEVELS - 1), o->fine_voxel, o->coarse_voxel);
    if (!(o->pixel_angle >= 0.0) || !isfinite(o->pixel_angle))
        return vt__error(VT_EINVAL, "vote: 'pixel_angle' must be a finite number >= 0 (got %g)",
                         o->pixel_angle);
    if (!(o->lod_pixels > 0.0) || !isfinite(o->lod_pixels))
        return vt__error(VT_EINVAL, "vote: 'lod_pixels' must be a finite number > 0 (got %g)",
                         o->lod_pixels);
    if (!(o->consistency_sigma >= 0.0) || !isfinite(o->consistency_sigma))
        return vt__error(VT_EINVAL,
                         "vote: 'consistency_sigma' must be a finite number >= 0 (got %g)",
                         o->consistency_sigma);
    if (!(o->consistency_min >= 0.0) || !isfinite(o->consistency_min))
        return vt__error(VT_EINVAL, "vote: 'consistency_min' must be a finite number >= 0 (got %g)",
                         o->consistency_min);
    if (o->min_cameras < 1 || o->min_cameras > 64)
        return vt__error(VT_EINVAL, "vote: 'min_cameras' must be in 1..64 (got %d)",
                         o->min_cameras);
    return VT_OK;
}

vt_status vt_vote_new(const vt_vote_opts *opts, vt_vote **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vote: output pointer is NULL");
    *out = NULL;
    vt_status s = check_opts(opts);
    if (s)
        return s;
    int levels = level_count(opts->coarse_voxel, opts->fine_voxel);
    double size[3] = {opts->max.x - opts->min.x, opts->max.y - opts->min.y,
                      opts->max.z - opts->min.z};
    int n0[3];
    for (int a = 0; a < 3; a++) {
        double cells = ceil(size[a] / opts->coarse_voxel);
        if (!(cells * ldexp(1.0, levels - 1) <= MAX_INDEX))
            return vt__error(VT_EINVAL,
                             "vote: 'max': the box is too large: %.0f finest voxels on axis %c "
                             "(at most %d)",
                             cells * ldexp(1.0, levels - 1), "xyz"[a], MAX_INDEX);
        n0[a] = (int)cells;
    }
    vt_vote *v = calloc(1, sizeof *v);
    if (!v)
        return vt__error(VT_ENOMEM, "vote: out of memory");
    v->o = *opts;
    v->levels = levels;
    for (int l = 0; l < levels; l++) {
        v->edge[l] = ldexp(opts->coarse_voxel, -l);
        for (int a = 0; a < 3; a++)
            v->g.n[l][a] = n0[a] << l;
        v->near_r[l] = opts->pixel_angle > 0.0 ? v->edge[l] / (opts->lod_pixels * opts->pixel_angle)
                                               : INFINITY;
    }
    v->st.peak_bytes = v->st.bytes = sizeof *v;
    *out = v;
    return VT_OK;
}

static void free_workers(vt_vote *v)
{
    for (int t = 0; t < v->nworkers; t++) {
        for (int l = 0; l < VT__SG_LEVELS; l++)
            free(v->workers[t].lists[l]);
        free(v->workers[t].finals);
    }
    free(v->workers);
}

void vt_vote_free(vt_vote *v)
{
    if (!v)
        return;
    vt__spool_free(&v->g.pool);
    vt__smap_free(&v->g.map);
    vt__snode_free(&v->g.nodes);
    free_workers(v);
    free(v->rx);
    free(v->refined);
    free(v->pairs);
    free(v->visits);
    free(v->cands);
    free(v->refbits);
    free(v->offs);
    free(v->rays_of);
    free(v->comp);
    free(v->fin);
    free(v->fin_seen);
    free(v->fin_table);
    free(v->clusters);
    free(v);
}

double vt_vote_level_size(const vt_vote *v, int level)
{
    return ldexp(v->o.coarse_voxel, -level);
}

/* The bits set in m, without a branch (SWAR; the build assumes no popcount instruction). */
static inline int bit_count(uint64_t m)
{
    m -= (m >> 1) & 0x5555555555555555ull;
    m = (m & 0x3333333333333333ull) + ((m >> 2) & 0x3333333333333333ull);
    m = (m + (m >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)((m * 0x0101010101010101ull) >> 56);
}

/*
 * Pass 0: adds each ray's vote to every coarse cell it crosses, and lists the
 * cell (block index * 512 + cell in block, ray) for the ray lists, so that
 * no second walk is needed; a cell is listed as a candidate too when the ray
 * brings its mask to K cameras. The level-of-detail flag needs the distance from
 * the camera to the cell centre only while the ray is within the range (plus
 * half a diagonal) of its camera: past that no cell along it can be near
 * again, since t only grows.
 */
static vt_status vote_coarse(vt_vote *v, const vt_ray *r, const vt__srayx *x, uint32_t ray)
{
    vt_dda d;
    if (!vt_dda_init(&d, r->origin, r->dir, v->o.min, v->edge[0], v->g.n[0][0], v->g.n[0][1],
                     v->g.n[0][2]))
        return VT_OK;
    /* A DDA step moves one cell along one axis: a ray crosses at most nx + ny + nz cells. */
    const size_t most = (size_t)v->g.n[0][0] + (size_t)v->g.n[0][1] + (size_t)v->g.n[0][2];
    if (vt__grow(&v->visits, &v->cap_visits, v->nvisits + most, sizeof *v->visits) ||
        vt__grow(&v->cands, &v->cap_cands, v->ncands + most, sizeof *v->cands))
        return VT_ENOMEM;
    const double e = v->edge[0], len = vt_v3_norm(r->dir), rr = v->near_r[0];
    /* A ray that cannot get out of range within the box is near everywhere: no distances. */
    const double until = rr + 0.5 * sqrt(3.0) * e;
    const bool always = d.t_exit * len + 0.5 * sqrt(3.0) * e < rr;
    const int kc = v->o.min_cameras;
    vt__sblock *b = NULL;
    uint32_t bi = 0;
    uint64_t *visit = v->visits + v->nvisits;
    uint32_t *cand = v->cands + v->ncands;
    do {
        if (!b || (d.ix >> VT__SB_LOG2) != b->bx || (d.iy >> VT__SB_LOG2) != b->by ||
            (d.iz >> VT__SB_LOG2) != b->bz) {
            b = vt__smap_get(&v->g.map, &v->g.pool, 0, d.ix >> VT__SB_LOG2, d.iy >> VT__SB_LOG2,
                             d.iz >> VT__SB_LOG2, &bi);
            if (!b)
                return VT_ENOMEM;
            if (bi >= UINT32_MAX / VT__SB_VOXELS) /* its cells would not fit in a visit */
                return vt__error(VT_ENOMEM, "vote: more than %u coarse blocks",
                                 UINT32_MAX / VT__SB_VOXELS);
        }
        int k = vt__sblock_local(d.ix, d.iy, d.iz);
        const uint32_t cell = bi * VT__SB_VOXELS + (uint32_t)k;
        const uint64_t had = b->vox[k].cams;
        b->vox[k].w += x->w;
        b->vox[k].cams = had | x->bit;
        /* Without a branch on `had`, which is often still on its way from memory. */
        *cand = cell;
        cand += (size_t)(!(had & x->bit) & (bit_count(had) == kc - 1)); /* it has just reached K */
        *visit++ = (uint64_t)cell << 32 | ray;
        if (always) {
            if (!v->all_near) /* else every cell is near: no need to touch the meta words */
                b->meta[k] |= VT__SV_NEAR;
        } else if (d.t * len < until && !(b->meta[k] & VT__SV_NEAR)) {
            double cx = v->o.min.x + (d.ix + 0.5) * e - x->o[0],
                   cy = v->o.min.y + (d.iy + 0.5) * e - x->o[1],
                   cz = v->o.min.z + (d.iz + 0.5) * e - x->o[2];
            if (cx * cx + cy * cy + cz * cz < rr * rr)
                b->meta[k] |= VT__SV_NEAR;
        }
    } while (vt_dda_next(&d));
    v->ncands = (size_t)(cand - v->cands);
    size_t steps = (size_t)(visit - (v->visits + v->nvisits));
    v->nvisits += steps;
    v->st.steps += steps;
    return VT_OK;
}

/*
 * Decides one coarse cell with >= K cameras: final ones are listed for the
 * clusters; refined ones are numbered (their number rides in the child bits
 * of their meta word until their node replaces it). With the consistency
 * test on, all cells with >= K cameras are numbered: the test needs their
 * rays, and vt__svote_refine_all() decides.
 */
static vt_status decide_cell(vt_vote *v, vt__sblock *b, uint32_t bi, int k)
{
    const bool last = v->levels == 1, test = v->o.consistency_sigma > 0.0;
    v->st.cells[0]++;
    vt__sref c = {(b->bx << VT__SB_LOG2) | (k >> (2 * VT__SB_LOG2)),
                  (b->by << VT__SB_LOG2) | ((k >> VT__SB_LOG2) & (VT__SB - 1)),
                  (b->bz << VT__SB_LOG2) | (k & (VT__SB - 1)),
                  bi,
                  (uint16_t)k,
                  0};
    if (v->all_near)
        b->meta[k] |= VT__SV_NEAR;
    if (!test && (last || !(b->meta[k] & VT__SV_NEAR))) {
        b->meta[k] |= VT__SV_FINAL;
        return vt__spush_final(&v->workers[0], c);
    }
    if (vt__grow(&v->refined, &v->cap_refined, v->nrefined + 1, sizeof *v->refined))
        return VT_ENOMEM;
    b->meta[k] |= VT__SV_REFINE | (uint32_t)(v->nrefined + 1) << VT__SV_CHILD_SHIFT;
    v->refined[v->nrefined++] = c;
    return VT_OK;
}

/*
 * Decides the cells that reached K cameras in pass 0, in the order they did
 * (refined cells are so numbered), and marks the refined ones in a bitmap of
 * 512 bits a block; then one pass over the visits gives a (refined cell,
 * ray) pair for each visit of a refined cell, for the ray lists. The bitmap
 * (64 bytes a block) stays in cache where the blocks' meta words would not:
 * only the visits of refined cells, a few in a hundred, read a meta word.
 */
static vt_status decide_coarse(vt_vote *v)
{
    const size_t words = v->g.pool.used * (VT__SB_VOXELS / 64);
    if (vt__grow(&v->pairs, &v->cap_pairs, v->nvisits, sizeof *v->pairs) ||
        vt__grow(&v->refbits, &v->cap_refbits, words ? words : 1, sizeof *v->refbits))
        return VT_ENOMEM;
    memset(v->refbits, 0, words * sizeof *v->refbits);
    for (size_t i = 0; i < v->ncands; i++) {
        const uint32_t cell = v->cands[i], bi = cell / VT__SB_VOXELS;
        const int k = (int)(cell % VT__SB_VOXELS);
        vt__sblock *b = vt__spool_at(&v->g.pool, bi);
        if (decide_cell(v, b, bi, k))
            return VT_ENOMEM;
        if (b->meta[k] & VT__SV_REFINE)
            v->refbits[cell >> 6] |= 1ull << (cell & 63);
    }
    for (size_t i = 0; i < v->nvisits; i++) {
        const uint32_t cell = (uint32_t)(v->visits[i] >> 32);
        if (!(v->refbits[cell >> 6] >> (cell & 63) & 1))
            continue;
        const uint32_t m =
            vt__spool_at(&v->g.pool, cell / VT__SB_VOXELS)->meta[cell % VT__SB_VOXELS];
        v->pairs[v->npairs++] =
            (uint64_t)((m >> VT__SV_CHILD_SHIFT) - 1) << 32 | (uint32_t)v->visits[i];
    }
    return VT_OK;
}

/* Counting sort of the pairs by refined cell: the rays of each, in ray order. */
static vt_status sort_pairs(vt_vote *v)
{
    if (vt__grow(&v->offs, &v->cap_offs, v->nrefined + 1, sizeof *v->offs) ||
        vt__grow(&v->rays_of, &v->cap_rays_of, v->npairs, sizeof *v->rays_of))
        return VT_ENOMEM;
    memset(v->offs, 0, (v->nrefined + 1) * sizeof *v->offs);
    for (size_t i = 0; i < v->npairs; i++)
        v->offs[(v->pairs[i] >> 32) + 1]++;
    for (size_t i = 0; i < v->nrefined; i++)
        v->offs[i + 1] += v->offs[i];
    for (size_t i = 0; i < v->npairs; i++) /* offs[c] moves to the end of c's list... */
        v->rays_of[v->offs[v->pairs[i] >> 32]++] = (uint32_t)v->pairs[i];
    for (size_t i = v->nrefined; i > 0; i--) /* ... and back to its start */
        v->offs[i] = v->offs[i - 1];
    v->offs[0] = 0;
    return VT_OK;
}

static void clear(vt_vote *v)
{
    vt__spool_reset(&v->g.pool);
    vt__smap_clear(&v->g.map);
    v->g.nodes.used = 0;
    v->nrefined = v->npairs = v->nvisits = v->ncands = 0;
    v->nclusters = 0;
    size_t peak = v->st.peak_bytes;
    memset(&v->st, 0, sizeof v->st);
    v->st.peak_bytes = peak;
}

static vt_status check_rays(const vt_vote *v, const vt_ray *rays, size_t count)
{
    const bool test = v->o.consistency_sigma > 0.0;
    if (count && !rays)
        return vt__error(VT_EINVAL, "vote: rays are NULL");
    if (count >= UINT32_MAX)
        return vt__error(VT_ERANGE, "vote: %zu rays (at most %u)", count, UINT32_MAX - 1);
    for (size_t i = 0; i < count; i++) {
        const vt_ray *r = &rays[i];
        if (r->camera >= 64)
            return vt__error(VT_ERANGE, "vote: ray %zu: camera %u is out of range (at most 63)", i,
                             (unsigned)r->camera);
        if (!finite3(r->origin))
            return vt__error(VT_EINVAL, "vote: ray %zu: 'origin' must be finite", i);
        if (!finite3(r->dir) || (r->dir.x == 0.0 && r->dir.y == 0.0 && r->dir.z == 0.0))
            return vt__error(VT_EINVAL, "vote: ray %zu: 'dir' must be finite and non-zero", i);
        if (!(r->weight >= 0.0f) || !(r->weight <= MAX_WEIGHT))
            return vt__error(VT_EINVAL, "vote: ray %zu: 'weight' must be in 0..%g (got %g)", i,
                             MAX_WEIGHT, (double)r->weight);
        if (test && !(r->sigma >= 0.0f && isfinite(r->sigma)))
            return vt__error(VT_EINVAL,
                             "vote: ray %zu: 'sigma' must be a finite number >= 0 for the "
                             "consistency test (got %g)",
                             i, (double)r->sigma);
    }
    return VT_OK;
}

static size_t bytes_held(const vt_vote *v)
{
    size_t b = sizeof *v + vt__spool_bytes(&v->g.pool) + vt__smap_bytes(&v->g.map) +
               vt__snode_bytes(&v->g.nodes) + v->cap_rx * sizeof *v->rx +
               v->cap_refined * sizeof *v->refined + v->cap_pairs * sizeof *v->pairs +
               v->cap_visits * sizeof *v->visits + v->cap_cands * sizeof *v->cands +
               v->cap_refbits * sizeof *v->refbits + v->cap_offs * sizeof *v->offs +
               v->cap_rays_of * sizeof *v->rays_of + v->cap_comp * sizeof *v->comp +
               v->cap_clusters * sizeof *v->clusters + v->cap_fin * sizeof *v->fin +
               v->cap_fin_seen + v->cap_fin_table * sizeof *v->fin_table;
    for (int t = 0; t < v->nworkers; t++) {
        b += sizeof(vt__sworker) + v->workers[t].cap_finals * sizeof(vt__sref);
        for (int l = 0; l < VT__SG_LEVELS; l++)
            b += v->workers[t].list_cap[l] * sizeof(uint32_t);
    }
    return b;
}

/*
 * Whether every ray is within the level-of-detail range of a level all the
 * way through the box (the farthest corner is in range): then no cell of
 * that level needs its distances checked (at level 0 that saves pass 0 a
 * cache line per step).
 */
static bool all_near(const vt_vote *v, int level, const vt_ray *rays, size_t count)
{
    if (isinf(v->near_r[level]))
        return true;
    const double rr = v->near_r[level] - 0.5 * sqrt(3.0) * v->edge[level];
    const vt_vec3 lo = v->o.min, hi = vt_v3(v->o.min.x + v->g.n[0][0] * v->edge[0],
                                            v->o.min.y + v->g.n[0][1] * v->edge[0],
                                            v->o.min.z + v->g.n[0][2] * v->edge[0]);
    for (size_t i = 0; i < count; i++) {
        const vt_vec3 o = rays[i].origin;
        double dx = fmax(fabs(o.x - lo.x), fabs(o.x - hi.x)),
               dy = fmax(fabs(o.y - lo.y), fabs(o.y - hi.y)),
               dz = fmax(fabs(o.z - lo.z), fabs(o.z - hi.z));
        if (!(dx * dx + dy * dy + dz * dz < rr * rr))
            return false;
    }
    return true;
}

static vt_status prepare_rays(vt_vote *v, const vt_ray *rays, size_t count)
{
    for (int l = 0; l < v->levels; l++)
        v->near_all[l] = all_near(v, l, rays, count);
    v->all_near = v->near_all[0];
    if (vt__grow(&v->rx, &v->cap_rx, count, sizeof *v->rx))
        return VT_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const vt_ray *r = &rays[i];
        vt__srayx *x = &v->rx[i];
        const double o[3] = {r->origin.x, r->origin.y, r->origin.z},
                     d[3] = {r->dir.x, r->dir.y, r->dir.z};
        for (int a = 0; a < 3; a++) {
            x->o[a] = o[a];
            x->d[a] = d[a];
            x->inv[a] = d[a] != 0.0 ? 1.0 / d[a] : INFINITY;
        }
        const double len = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        for (int a = 0; a < 3; a++)
            x->u[a] = d[a] / len;
        x->tol_per_m = v->o.consistency_sigma * (double)r->sigma;
        x->w = (uint64_t)llround((double)r->weight * VT_VOTE_ONE);
        x->bit = 1ull << r->camera;
    }
    return VT_OK;
}

/* All levels: pass 0 over every ray, then the refined coarse cells depth first. */
static vt_status cast_levels(vt_vote *v, const vt_ray *rays, size_t count)
{
    int threads = vt__svote_threads(v);
    if (prepare_rays(v, rays, count) || vt__svote_reset_workers(v, threads))
        return VT_ENOMEM;
    double t0 = vt__now();
    for (size_t i = 0; i < count; i++)
        if (vote_coarse(v, &rays[i], &v->rx[i], (uint32_t)i))
            return VT_ENOMEM;
    double t1 = vt__now();
    v->st.ms[0] = 1e3 * (t1 - t0);
    if (decide_coarse(v))
        return VT_ENOMEM;
    v->st.levels = 1;
    if (!v->nrefined)
        return VT_OK;
    if (sort_pairs(v))
        return VT_ENOMEM;
    double t2 = vt__now();
    v->st.ms[1] = 1e3 * (t2 - t1);
    vt_status s = vt__svote_refine_all(v, threads);
    v->st.ms[2] = 1e3 * (vt__now() - t2);
    return s;
}

vt_status vt_vote_cast(vt_vote *v, const vt_ray *rays, size_t count)
{
    if (!v)
        return vt__error(VT_EINVAL, "vote: grid is NULL");
    clear(v);
    vt_status s = check_rays(v, rays, count);
    if (!s) {
        v->st.rays = count;
        s = cast_levels(v, rays, count);
        double t0 = vt__now();
        if (!s)
            s = vt__svote_find_clusters(v);
        v->st.ms[3] = 1e3 * (vt__now() - t0);
        if (s)
            s = vt__error(s, "vote: out of memory after %zu blocks and %zu nodes (%zu rays)",
                          v->g.pool.used, v->g.nodes.used * VT__SNODE_CHUNK, count);
    }
    if (s) { /* leave an empty result rather than half of one */
        v->nclusters = 0;
        v->st.levels = 0;
    }
    v->st.blocks = v->g.pool.used;
    v->st.bytes = bytes_held(v);
    if (v->st.bytes > v->st.peak_bytes)
        v->st.peak_bytes = v->st.bytes;
    return s;
}

const vt_cluster *vt_vote_clusters(const vt_vote *v, size_t *count)
{
    if (count)
        *count = v ? v->nclusters : 0;
    return v ? v->clusters : NULL;
}

vt_vote_stats vt_vote_get_stats(const vt_vote *v)
{
    return v->st;
}

void vt_vote_voxel(const vt_vote *v, int level, vt_vec3 p, uint64_t *weight, uint64_t *cameras)
{
    uint64_t w = 0, c = 0;
    if (v && level >= 0 && level < v->st.levels && finite3(p)) {
        double e = v->edge[level];
        double fx = floor((p.x - v->o.min.x) / e), fy = floor((p.y - v->o.min.y) / e),
               fz = floor((p.z - v->o.min.z) / e);
        const int *n = v->g.n[level];
        vt__sref r;
        if (fx >= 0 && fy >= 0 && fz >= 0 && fx < n[0] && fy < n[1] && fz < n[2] &&
            vt__sgrid_locate(&v->g, level, (int)fx, (int)fy, (int)fz, &r))
            vt__sgrid_value(&v->g, &r, &w, &c);
    }
    if (weight)
        *weight = w;
    if (cameras)
        *cameras = c;
}
