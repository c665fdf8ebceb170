/*
 * src/voxel/sparse.c - voting on a sparse grid, coarse to fine (see
 * voxtrack/sparse.h).
 *
 * Level 0 cuts the box into coarse cells; level l has cells of edge
 * coarse / 2^l, so each cell of level l is exactly 2x2x2 cells of level l+1
 * and level-(l+1) indices are twice the parent's plus 0 or 1. Every level is
 * its own hash map of 8^3-voxel blocks (sparse_hash.c).
 *
 * Pass 0 walks every ray through the whole level-0 grid with the exact DDA
 * of Amanatides & Woo (dda.h) and adds, in every cell it crosses, its
 * fixed-point weight and its camera's bit. A cell then refines when its mask
 * holds >= K cameras and some ray crossed it closer to its camera than the
 * level-of-detail range edge / (lod_pixels * pixel_angle) - the range at
 * which one cell is lod_pixels pixels wide, past which a finer cell cannot be
 * told apart by the cameras. A cell with >= K cameras that does not refine
 * (too far, or the finest level) is final.
 *
 * Pass l+1 does not walk the rays again from end to end: each (ray, level-l
 * cell) pair of pass l is walked again (the same DDA, so the same cells), and
 * every refined cell it meets becomes a work item (ray, cell). A work item is
 * cast with the DDA of level l+1 restricted to the cell's 2x2x2 children:
 * since cells partition space and the parent walk visits a cell once, a ray
 * still votes once per voxel, and over the refined cells it gets the same
 * voxels as a walk of the whole ray at level l+1 (up to rays that graze an
 * edge within rounding). The cost of pass l+1 is the refined part of the
 * rays only, a few voxels per item.
 *
 * Clusters are 26-connected components of final voxels of one level: a
 * target seen near and far may give clusters of two sizes, which the
 * detection stage merges when it gathers rays. Each cluster's sums are taken
 * over its voxels in coordinate order, so clusters come out bit-identical
 * whatever the order of the rays or the layout of the hash maps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"
#include "voxtrack/dda.h"
#include "voxtrack/grid.h"

#define MAX_LEVELS 8
#define MAX_CLUSTERS 16384
#define MAX_INDEX (1 << (VT__SB_KEY_BITS + VT__SB_LOG2))
#define MAX_WEIGHT 1e12

/* A ray to cast through the children of one refined cell (the parent). */
typedef struct work {
    uint32_t ray;
    int32_t x, y, z; /* the parent cell, at the level above the one cast */
} work;

/* A final voxel while its cluster is gathered. */
typedef struct cvox {
    int32_t x, y, z;
    uint32_t block;
    uint32_t local;
} cvox;

struct vt_vote {
    vt_vote_opts o;
    int levels;                  /* levels the options allow */
    int n[MAX_LEVELS][3];        /* cells per axis per level */
    double edge[MAX_LEVELS];     /* cell edge per level */
    double near_r[MAX_LEVELS];   /* level-of-detail range; INFINITY: always near */
    double near_pad[MAX_LEVELS]; /* half a cell diagonal */
    vt__spool pool;
    vt__smap map[MAX_LEVELS];
    size_t first[MAX_LEVELS + 1]; /* pool blocks of level l: [first[l], first[l+1]) */
    work *cur, *next;
    size_t ncur, nnext, cap_cur, cap_next;
    cvox *comp;
    size_t cap_comp;
    vt_cluster *clusters;
    size_t nclusters, cap_clusters;
    vt_vote_stats st;
};

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
    return o;
}

static bool finite3(vt_vec3 a)
{
    return isfinite(a.x) && isfinite(a.y) && isfinite(a.z);
}

/* The number of levels, or 0 when coarse / fine asks for more than MAX_LEVELS. */
static int level_count(double coarse, double fine)
{
    for (int l = 0; l < MAX_LEVELS; l++)
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
                         1 << (MAX_LEVELS - 1), o->fine_voxel, o->coarse_voxel);
    if (!(o->pixel_angle >= 0.0) || !isfinite(o->pixel_angle))
        return vt__error(VT_EINVAL, "vote: 'pixel_angle' must be a finite number >= 0 (got %g)",
                         o->pixel_angle);
    if (!(o->lod_pixels > 0.0) || !isfinite(o->lod_pixels))
        return vt__error(VT_EINVAL, "vote: 'lod_pixels' must be a finite number > 0 (got %g)",
                         o->lod_pixels);
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
            v->n[l][a] = n0[a] << l;
        v->near_r[l] = opts->pixel_angle > 0.0 ? v->edge[l] / (opts->lod_pixels * opts->pixel_angle)
                                               : INFINITY;
        v->near_pad[l] = 0.5 * sqrt(3.0) * v->edge[l];
    }
    v->st.peak_bytes = v->st.bytes = sizeof *v;
    *out = v;
    return VT_OK;
}

void vt_vote_free(vt_vote *v)
{
    if (!v)
        return;
    vt__spool_free(&v->pool);
    for (int l = 0; l < MAX_LEVELS; l++)
        vt__smap_free(&v->map[l]);
    free(v->cur);
    free(v->next);
    free(v->comp);
    free(v->clusters);
    free(v);
}

double vt_vote_level_size(const vt_vote *v, int level)
{
    return ldexp(v->o.coarse_voxel, -level);
}

/* Grows an array to hold at least `need` elements; false when out of memory. */
static bool reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static uint64_t fixed_weight(const vt_ray *r)
{
    return (uint64_t)llround((double)r->weight * VT_VOTE_ONE);
}

/*
 * Adds the ray's vote to every voxel the DDA visits; (ox, oy, oz) turns the
 * DDA's indices into level indices. The level-of-detail flag needs the
 * distance from the camera to the voxel centre only while the ray is within
 * the range (plus half a diagonal) of its camera: past that, no voxel along it
 * can be near again, since t only grows.
 */
static vt_status vote_walk(vt_vote *v, int level, const vt_ray *r, vt_dda *d, int ox, int oy,
                           int oz)
{
    const uint64_t w = fixed_weight(r), bit = 1ull << r->camera;
    const double len = vt_v3_norm(r->dir), r2 = v->near_r[level] * v->near_r[level];
    const double until = v->near_r[level] + v->near_pad[level], e = v->edge[level];
    const bool always = isinf(v->near_r[level]);
    vt__smap *map = &v->map[level];
    vt__sblock *b = NULL;
    uint64_t steps = 0;
    do {
        int x = ox + d->ix, y = oy + d->iy, z = oz + d->iz;
        if (!b || (x >> VT__SB_LOG2) != b->bx || (y >> VT__SB_LOG2) != b->by ||
            (z >> VT__SB_LOG2) != b->bz) {
            b = vt__smap_get(map, &v->pool, level, x >> VT__SB_LOG2, y >> VT__SB_LOG2,
                             z >> VT__SB_LOG2);
            if (!b)
                return VT_ENOMEM;
        }
        int k = vt__sblock_local(x, y, z);
        b->w[k] += w;
        b->cams[k] |= bit;
        if (d->t * len < until) {
            vt_vec3 c = vt_v3(v->o.min.x + (x + 0.5) * e - r->origin.x,
                              v->o.min.y + (y + 0.5) * e - r->origin.y,
                              v->o.min.z + (z + 0.5) * e - r->origin.z);
            if (always || vt_v3_dot(c, c) < r2)
                b->flags[k] |= VT__SV_NEAR;
        }
        steps++;
    } while (vt_dda_next(d));
    v->st.steps += steps;
    return VT_OK;
}

/* Walks the DDA again and queues (ray, cell) for every refined cell it meets. */
static vt_status expand_walk(vt_vote *v, int level, uint32_t ray, vt_dda *d, int ox, int oy, int oz)
{
    const vt__smap *map = &v->map[level];
    const vt__sblock *b = NULL;
    do {
        int x = ox + d->ix, y = oy + d->iy, z = oz + d->iz;
        if (!b || (x >> VT__SB_LOG2) != b->bx || (y >> VT__SB_LOG2) != b->by ||
            (z >> VT__SB_LOG2) != b->bz) {
            uint32_t i = vt__smap_find(
                map, vt__sblock_key(x >> VT__SB_LOG2, y >> VT__SB_LOG2, z >> VT__SB_LOG2));
            if (i == VT__SB_NONE) /* cannot happen: the same walk voted here */
                continue;
            b = vt__spool_at(&v->pool, i);
        }
        if (!(b->flags[vt__sblock_local(x, y, z)] & VT__SV_REFINE))
            continue;
        if (v->nnext == v->cap_next &&
            !reserve((void **)&v->next, &v->cap_next, v->nnext + 1, sizeof *v->next))
            return vt__error(VT_ENOMEM, "vote: out of memory for the level %d work list",
                             level + 1);
        v->next[v->nnext++] = (work){ray, x, y, z};
    } while (vt_dda_next(d));
    return VT_OK;
}

/* The DDA of a whole ray at level 0. */
static bool dda_level0(const vt_vote *v, const vt_ray *r, vt_dda *d)
{
    return vt_dda_init(d, r->origin, r->dir, v->o.min, v->edge[0], v->n[0][0], v->n[0][1],
                       v->n[0][2]);
}

/* The DDA of a work item: its ray through the 2x2x2 children (at `level`) of its parent. */
static bool dda_item(const vt_vote *v, int level, const vt_ray *r, const work *it, vt_dda *d)
{
    double pe = v->edge[level - 1];
    vt_vec3 lo = vt_v3(v->o.min.x + it->x * pe, v->o.min.y + it->y * pe, v->o.min.z + it->z * pe);
    return vt_dda_init(d, r->origin, r->dir, lo, v->edge[level], 2, 2, 2);
}

/* Casts every item of a level: the whole rays at level 0, the work items below. */
static vt_status vote_level(vt_vote *v, int level, const vt_ray *rays, size_t count)
{
    vt_dda d;
    vt_status s = VT_OK;
    if (level == 0) {
        for (size_t i = 0; i < count && !s; i++)
            if (dda_level0(v, &rays[i], &d))
                s = vote_walk(v, 0, &rays[i], &d, 0, 0, 0);
        return s;
    }
    for (size_t i = 0; i < v->ncur && !s; i++) {
        const work *it = &v->cur[i];
        if (dda_item(v, level, &rays[it->ray], it, &d))
            s = vote_walk(v, level, &rays[it->ray], &d, 2 * it->x, 2 * it->y, 2 * it->z);
    }
    return s;
}

/* The work items of level + 1: the refined cells met by the items of `level`. */
static vt_status expand_level(vt_vote *v, int level, const vt_ray *rays, size_t count)
{
    vt_dda d;
    vt_status s = VT_OK;
    v->nnext = 0;
    if (level == 0) {
        for (size_t i = 0; i < count && !s; i++)
            if (dda_level0(v, &rays[i], &d))
                s = expand_walk(v, 0, (uint32_t)i, &d, 0, 0, 0);
    } else {
        for (size_t i = 0; i < v->ncur && !s; i++) {
            const work *it = &v->cur[i];
            if (dda_item(v, level, &rays[it->ray], it, &d))
                s = expand_walk(v, level, it->ray, &d, 2 * it->x, 2 * it->y, 2 * it->z);
        }
    }
    work *t = v->cur;
    v->cur = v->next;
    v->next = t;
    size_t c = v->cap_cur;
    v->cap_cur = v->cap_next;
    v->cap_next = c;
    v->ncur = v->nnext;
    v->nnext = 0;
    return s;
}

static int popcount64(uint64_t x)
{
#if defined(__GNUC__)
    return __builtin_popcountll(x);
#else
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
#endif
}

/* Marks the cells of a level as refined or final; returns how many refine. */
static size_t decide_level(vt_vote *v, int level)
{
    const bool last = level == v->levels - 1;
    size_t refined = 0, cells = 0;
    for (size_t bi = v->first[level]; bi < v->first[level + 1]; bi++) {
        vt__sblock *b = vt__spool_at(&v->pool, (uint32_t)bi);
        for (int k = 0; k < VT__SB_VOXELS; k++) {
            if (popcount64(b->cams[k]) < v->o.min_cameras)
                continue;
            cells++;
            if (!last && (b->flags[k] & VT__SV_NEAR)) {
                b->flags[k] |= VT__SV_REFINE;
                refined++;
            } else {
                b->flags[k] |= VT__SV_FINAL;
            }
        }
    }
    v->st.cells[level] = cells;
    return refined;
}

/* The block holding voxel (x, y, z) of a level, or NULL when untouched. */
static vt__sblock *find_block(const vt_vote *v, int level, int x, int y, int z, uint32_t *index)
{
    uint32_t i = vt__smap_find(
        &v->map[level], vt__sblock_key(x >> VT__SB_LOG2, y >> VT__SB_LOG2, z >> VT__SB_LOG2));
    if (index)
        *index = i;
    return i == VT__SB_NONE ? NULL : vt__spool_at(&v->pool, i);
}

/* Collects the 26-connected final voxels around a seed into v->comp (breadth first). */
static vt_status gather(vt_vote *v, int level, cvox seed, size_t *count)
{
    const int *n = v->n[level];
    size_t len = 1;
    v->comp[0] = seed;
    vt__spool_at(&v->pool, seed.block)->flags[seed.local] |= VT__SV_SEEN;
    for (size_t head = 0; head < len; head++) {
        const cvox c = v->comp[head];
        const vt__sblock *cb = vt__spool_at(&v->pool, c.block);
        for (int dx = -1; dx <= 1; dx++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dz = -1; dz <= 1; dz++) {
                    int x = c.x + dx, y = c.y + dy, z = c.z + dz;
                    if ((unsigned)x >= (unsigned)n[0] || (unsigned)y >= (unsigned)n[1] ||
                        (unsigned)z >= (unsigned)n[2])
                        continue;
                    uint32_t bi = c.block;
                    vt__sblock *b = (vt__sblock *)cb;
                    if ((x >> VT__SB_LOG2) != cb->bx || (y >> VT__SB_LOG2) != cb->by ||
                        (z >> VT__SB_LOG2) != cb->bz)
                        b = find_block(v, level, x, y, z, &bi);
                    int k = vt__sblock_local(x, y, z);
                    if (!b || (b->flags[k] & (VT__SV_FINAL | VT__SV_SEEN)) != VT__SV_FINAL)
                        continue;
                    b->flags[k] |= VT__SV_SEEN;
                    if (!reserve((void **)&v->comp, &v->cap_comp, len + 1, sizeof *v->comp))
                        return vt__error(VT_ENOMEM, "vote: out of memory for a cluster");
                    v->comp[len++] = (cvox){x, y, z, bi, (uint32_t)k};
                }
    }
    *count = len;
    return VT_OK;
}

static int cmp_cvox(const void *pa, const void *pb)
{
    const cvox *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return (a->z > b->z) - (a->z < b->z);
}

/* The cluster of v->comp[0..count): sums in coordinate order, so they do not depend on layout. */
static vt_cluster summarise(const vt_vote *v, int level, size_t count)
{
    qsort(v->comp, count, sizeof *v->comp, cmp_cvox);
    const double e = v->edge[level];
    vt_cluster c;
    memset(&c, 0, sizeof c);
    double sw = 0.0, sx = 0.0, sy = 0.0, sz = 0.0, ux = 0.0, uy = 0.0, uz = 0.0;
    int lo[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, hi[3] = {-1, -1, -1};
    for (size_t i = 0; i < count; i++) {
        const cvox *p = &v->comp[i];
        const vt__sblock *b = vt__spool_at(&v->pool, p->block);
        uint64_t w = b->w[p->local];
        double cx = (p->x + 0.5) * e, cy = (p->y + 0.5) * e, cz = (p->z + 0.5) * e;
        c.weight += w;
        c.cameras |= b->cams[p->local];
        sw += (double)w;
        sx += (double)w * cx;
        sy += (double)w * cy;
        sz += (double)w * cz;
        ux += cx;
        uy += cy;
        uz += cz;
        const int q[3] = {p->x, p->y, p->z};
        for (int a = 0; a < 3; a++) {
            lo[a] = q[a] < lo[a] ? q[a] : lo[a];
            hi[a] = q[a] > hi[a] ? q[a] : hi[a];
        }
    }
    /* Rays of weight 0 still vote their cameras; their clusters get the plain mean. */
    if (sw > 0.0)
        c.centroid = vt_v3(sx / sw, sy / sw, sz / sw);
    else
        c.centroid = vt_v3(ux / (double)count, uy / (double)count, uz / (double)count);
    c.centroid = vt_v3_add(c.centroid, v->o.min);
    c.min = vt_v3(v->o.min.x + lo[0] * e, v->o.min.y + lo[1] * e, v->o.min.z + lo[2] * e);
    c.max = vt_v3(v->o.min.x + (hi[0] + 1) * e, v->o.min.y + (hi[1] + 1) * e,
                  v->o.min.z + (hi[2] + 1) * e);
    c.ncameras = popcount64(c.cameras);
    c.voxels = (int)count;
    c.voxel_size = e;
    return c;
}

static int cmp_double(double a, double b)
{
    return (a > b) - (a < b);
}

/* Strongest first; ties broken by position, then size, so the order is total. */
static int cmp_cluster(const void *pa, const void *pb)
{
    const vt_cluster *a = pa, *b = pb;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    int c = cmp_double(a->centroid.x, b->centroid.x);
    if (!c)
        c = cmp_double(a->centroid.y, b->centroid.y);
    if (!c)
        c = cmp_double(a->centroid.z, b->centroid.z);
    if (!c)
        c = cmp_double(a->voxel_size, b->voxel_size);
    if (!c)
        c = (a->voxels > b->voxels) - (a->voxels < b->voxels);
    return c;
}

static vt_status find_clusters(vt_vote *v)
{
    v->nclusters = 0;
    if (!reserve((void **)&v->comp, &v->cap_comp, 1, sizeof *v->comp))
        return vt__error(VT_ENOMEM, "vote: out of memory for a cluster");
    for (int l = 0; l < v->st.levels; l++)
        for (size_t bi = v->first[l]; bi < v->first[l + 1]; bi++) {
            vt__sblock *b = vt__spool_at(&v->pool, (uint32_t)bi);
            for (int k = 0; k < VT__SB_VOXELS; k++) {
                if ((b->flags[k] & (VT__SV_FINAL | VT__SV_SEEN)) != VT__SV_FINAL)
                    continue;
                cvox seed = {(b->bx << VT__SB_LOG2) | (k >> (2 * VT__SB_LOG2)),
                             (b->by << VT__SB_LOG2) | ((k >> VT__SB_LOG2) & (VT__SB - 1)),
                             (b->bz << VT__SB_LOG2) | (k & (VT__SB - 1)), (uint32_t)bi,
                             (uint32_t)k};
                size_t count = 0;
                vt_status s = gather(v, l, seed, &count);
                if (s)
                    return s;
                if (!reserve((void **)&v->clusters, &v->cap_clusters, v->nclusters + 1,
                             sizeof *v->clusters))
                    return vt__error(VT_ENOMEM, "vote: out of memory for the clusters");
                v->clusters[v->nclusters++] = summarise(v, l, count);
            }
        }
    if (v->nclusters)
        qsort(v->clusters, v->nclusters, sizeof *v->clusters, cmp_cluster);
    v->st.clusters = v->nclusters;
    if (v->nclusters > MAX_CLUSTERS) {
        v->st.clusters_dropped = v->nclusters - MAX_CLUSTERS;
        v->nclusters = MAX_CLUSTERS;
    }
    return VT_OK;
}

static void clear(vt_vote *v)
{
    vt__spool_reset(&v->pool);
    for (int l = 0; l < MAX_LEVELS; l++)
        vt__smap_clear(&v->map[l]);
    memset(v->first, 0, sizeof v->first);
    v->ncur = v->nnext = 0;
    v->nclusters = 0;
    size_t peak = v->st.peak_bytes;
    memset(&v->st, 0, sizeof v->st);
    v->st.peak_bytes = peak;
}

static vt_status check_rays(const vt_ray *rays, size_t count)
{
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
    }
    return VT_OK;
}

static size_t bytes_held(const vt_vote *v)
{
    size_t b = sizeof *v + vt__spool_bytes(&v->pool);
    for (int l = 0; l < MAX_LEVELS; l++)
        b += vt__smap_bytes(&v->map[l]);
    return b + (v->cap_cur + v->cap_next) * sizeof(work) + v->cap_comp * sizeof(cvox) +
           v->cap_clusters * sizeof(vt_cluster);
}

static vt_status cast_levels(vt_vote *v, const vt_ray *rays, size_t count)
{
    vt_status s = vote_level(v, 0, rays, count);
    v->first[1] = v->pool.used;
    size_t refined = s ? 0 : decide_level(v, 0);
    v->st.levels = 1;
    for (int l = 1; l < v->levels && refined && !s; l++) {
        if ((s = expand_level(v, l - 1, rays, count)) || (s = vote_level(v, l, rays, count)))
            break;
        v->first[l + 1] = v->pool.used;
        refined = decide_level(v, l);
        v->st.levels = l + 1;
    }
    return s;
}

vt_status vt_vote_cast(vt_vote *v, const vt_ray *rays, size_t count)
{
    if (!v)
        return vt__error(VT_EINVAL, "vote: grid is NULL");
    clear(v);
    vt_status s = check_rays(rays, count);
    if (!s) {
        v->st.rays = count;
        s = cast_levels(v, rays, count);
    }
    if (!s)
        s = find_clusters(v);
    if (s) /* leave an empty result rather than half of one */
        v->nclusters = 0;
    v->st.blocks = v->pool.used;
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
        const int *n = v->n[level];
        if (fx >= 0 && fy >= 0 && fz >= 0 && fx < n[0] && fy < n[1] && fz < n[2]) {
            int x = (int)fx, y = (int)fy, z = (int)fz;
            const vt__sblock *b = find_block(v, level, x, y, z, NULL);
            if (b) {
                w = b->w[vt__sblock_local(x, y, z)];
                c = b->cams[vt__sblock_local(x, y, z)];
            }
        }
    }
    if (weight)
        *weight = w;
    if (cameras)
        *cameras = c;
}
