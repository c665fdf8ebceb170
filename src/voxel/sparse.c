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
 * level over all rays: a second walk of the rays at level 0 lists, for each
 * refined coarse cell, the rays that cross it (a counting sort); then each
 * refined cell gets a node of 2x2x2 children, its rays are walked through
 * the children, and each child that refines in turn does the same with the
 * rays that crossed it. The walk through a node needs no DDA set-up: the ray
 * enters the node's box, and crosses at most the three middle planes, in the
 * order of their ray parameters - a DDA of one level restricted to the
 * parent's box, which visits the same children as a walk of the whole ray at
 * that level (up to rays that graze an edge within rounding), each once.
 * Nodes rather than 8^3 blocks below level 0: refined cells lie scattered
 * (ghost crossings), and blocks there held one used voxel in twenty
 * (docs/ARCHITECTURE.md, "Sparse coarse-to-fine voting").
 *
 * Threads take refined coarse cells in turn (the subtrees are independent);
 * each keeps its own ray lists and takes its nodes from a shared pool, one
 * chunk at a time. Votes are integer sums, so every voxel gets the same
 * value whatever the thread count or ray order; node numbering may differ.
 *
 * Clusters are 26-connected components of final voxels of one level: a
 * target seen near and far may give clusters of two sizes, which the
 * detection stage merges when it gathers rays. Each cluster's sums are taken
 * over its voxels in coordinate order and clusters are sorted on their
 * values, so clusters come out bit-identical whatever the thread count, the
 * order of the rays or the layout of the storage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"
#include "voxtrack/dda.h"
#include "voxtrack/grid.h"

#define MAX_CLUSTERS 16384
#define MAX_INDEX (1 << (VT__SB_KEY_BITS + VT__SB_LOG2))
#define MAX_WEIGHT 1e12
#define MAX_THREADS 64

/* A ray ready for the node walks: the reciprocal of its direction saves divisions. */
typedef struct rayx {
    double o[3], d[3], inv[3];
    uint64_t w, bit;
} rayx;

/* Per-thread state of the refinement. */
typedef struct worker {
    vt__snode *chunk; /* its current chunk of nodes */
    uint32_t chunk_first, chunk_used;
    uint32_t *lists[VT__SG_LEVELS]; /* rays per child, 8 lists per depth */
    size_t list_cap[VT__SG_LEVELS];
    vt__sref *finals;
    size_t nfinals, cap_finals;
    uint64_t steps;
    size_t cells[VT__SG_LEVELS];
    int levels;
    vt_status status;
} worker;

struct vt_vote {
    vt_vote_opts o;
    int levels;                   /* levels the options allow */
    double edge[VT__SG_LEVELS];   /* cell edge per level */
    double near_r[VT__SG_LEVELS]; /* level-of-detail range; INFINITY: always near */
    vt__sgrid g;                  /* the voxels of all levels */
    rayx *rx;
    size_t cap_rx;
    vt__sref *refined; /* the refined coarse cells */
    size_t nrefined, cap_refined;
    uint64_t *pairs; /* refined cell id << 32 | ray, from the second level-0 walk */
    size_t npairs, cap_pairs;
    uint32_t *offs, *rays_of; /* the rays of refined cell i: rays_of[offs[i] .. offs[i + 1]) */
    size_t cap_offs, cap_rays_of;
    worker *workers;
    int nworkers;
    vt__sref *comp;
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
    free(v->offs);
    free(v->rays_of);
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
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* popcount(m) >= k without a popcount instruction: clear the lowest bit k - 1 times. */
static bool enough_cameras(uint64_t m, int k)
{
    for (int i = 1; i < k && m; i++)
        m &= m - 1;
    return m != 0;
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/*
 * Pass 0: adds each ray's vote to every coarse cell it crosses. The
 * level-of-detail flag needs the distance from the camera to the cell centre
 * only while the ray is within the range (plus half a diagonal) of its
 * camera: past that no cell along it can be near again, since t only grows.
 */
static vt_status vote_coarse(vt_vote *v, const vt_ray *r, const rayx *x)
{
    vt_dda d;
    if (!vt_dda_init(&d, r->origin, r->dir, v->o.min, v->edge[0], v->g.n[0][0], v->g.n[0][1],
                     v->g.n[0][2]))
        return VT_OK;
    const double e = v->edge[0], len = vt_v3_norm(r->dir), rr = v->near_r[0];
    /* A ray that cannot get out of range within the box is near everywhere: no distances. */
    const double until = rr + 0.5 * sqrt(3.0) * e;
    const bool always = d.t_exit * len + 0.5 * sqrt(3.0) * e < rr;
    vt__sblock *b = NULL;
    uint64_t steps = 0;
    do {
        if (!b || (d.ix >> VT__SB_LOG2) != b->bx || (d.iy >> VT__SB_LOG2) != b->by ||
            (d.iz >> VT__SB_LOG2) != b->bz) {
            b = vt__smap_get(&v->g.map, &v->g.pool, 0, d.ix >> VT__SB_LOG2, d.iy >> VT__SB_LOG2,
                             d.iz >> VT__SB_LOG2);
            if (!b)
                return VT_ENOMEM;
        }
        int k = vt__sblock_local(d.ix, d.iy, d.iz);
        b->vox[k].w += x->w;
        b->vox[k].cams |= x->bit;
        if (always)
            b->meta[k] |= VT__SV_NEAR;
        else if (d.t * len < until && !(b->meta[k] & VT__SV_NEAR)) {
            double cx = v->o.min.x + (d.ix + 0.5) * e - x->o[0],
                   cy = v->o.min.y + (d.iy + 0.5) * e - x->o[1],
                   cz = v->o.min.z + (d.iz + 0.5) * e - x->o[2];
            if (cx * cx + cy * cy + cz * cz < rr * rr)
                b->meta[k] |= VT__SV_NEAR;
        }
        steps++;
    } while (vt_dda_next(&d));
    v->st.steps += steps;
    return VT_OK;
}

static vt_status push_final(worker *wk, vt__sref f)
{
    if (!reserve((void **)&wk->finals, &wk->cap_finals, wk->nfinals + 1, sizeof *wk->finals))
        return VT_ENOMEM;
    wk->finals[wk->nfinals++] = f;
    return VT_OK;
}

/*
 * Marks the coarse cells: final ones are listed for the clusters; refined
 * ones are numbered (their number rides in the child bits of their meta word
 * until their node replaces it).
 */
static vt_status decide_coarse(vt_vote *v)
{
    const bool last = v->levels == 1;
    size_t cells = 0;
    for (size_t bi = 0; bi < v->g.pool.used; bi++) {
        vt__sblock *b = vt__spool_at(&v->g.pool, (uint32_t)bi);
        for (int k = 0; k < VT__SB_VOXELS; k++) {
            if (!enough_cameras(b->vox[k].cams, v->o.min_cameras))
                continue;
            cells++;
            vt__sref c = {(b->bx << VT__SB_LOG2) | (k >> (2 * VT__SB_LOG2)),
                          (b->by << VT__SB_LOG2) | ((k >> VT__SB_LOG2) & (VT__SB - 1)),
                          (b->bz << VT__SB_LOG2) | (k & (VT__SB - 1)),
                          (uint32_t)bi,
                          (uint16_t)k,
                          0};
            if (last || !(b->meta[k] & VT__SV_NEAR)) {
                b->meta[k] |= VT__SV_FINAL;
                if (push_final(&v->workers[0], c))
                    return VT_ENOMEM;
                continue;
            }
            if (!reserve((void **)&v->refined, &v->cap_refined, v->nrefined + 1,
                         sizeof *v->refined))
                return VT_ENOMEM;
            b->meta[k] |= VT__SV_REFINE | (uint32_t)(v->nrefined + 1) << VT__SV_CHILD_SHIFT;
            v->refined[v->nrefined++] = c;
        }
    }
    v->st.cells[0] = cells;
    return VT_OK;
}

/* Walks a ray at level 0 again and lists (refined cell, ray) for each refined cell it crosses. */
static vt_status list_pairs(vt_vote *v, const vt_ray *r, uint32_t ray)
{
    vt_dda d;
    if (!vt_dda_init(&d, r->origin, r->dir, v->o.min, v->edge[0], v->g.n[0][0], v->g.n[0][1],
                     v->g.n[0][2]))
        return VT_OK;
    const vt__sblock *b = NULL;
    do {
        if (!b || (d.ix >> VT__SB_LOG2) != b->bx || (d.iy >> VT__SB_LOG2) != b->by ||
            (d.iz >> VT__SB_LOG2) != b->bz) {
            uint32_t i =
                vt__smap_find(&v->g.map, vt__sblock_key(d.ix >> VT__SB_LOG2, d.iy >> VT__SB_LOG2,
                                                        d.iz >> VT__SB_LOG2));
            b = i == VT__SB_NONE ? NULL : vt__spool_at(&v->g.pool, i);
            if (!b) /* cannot happen: pass 0 walked the same cells */
                continue;
        }
        uint32_t m = b->meta[vt__sblock_local(d.ix, d.iy, d.iz)];
        if (!(m & VT__SV_REFINE))
            continue;
        if (!reserve((void **)&v->pairs, &v->cap_pairs, v->npairs + 1, sizeof *v->pairs))
            return VT_ENOMEM;
        v->pairs[v->npairs++] = (uint64_t)((m >> VT__SV_CHILD_SHIFT) - 1) << 32 | ray;
    } while (vt_dda_next(&d));
    return VT_OK;
}

/* Counting sort of the pairs by refined cell: the rays of each, in ray order. */
static vt_status sort_pairs(vt_vote *v)
{
    if (!reserve((void **)&v->offs, &v->cap_offs, v->nrefined + 1, sizeof *v->offs) ||
        !reserve((void **)&v->rays_of, &v->cap_rays_of, v->npairs, sizeof *v->rays_of))
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

/*
 * The children (index (x << 2) | (y << 1) | z) of the 2 x 2 x 2 box of edge 2h
 * at lo that the ray passes through, in order along it; returns how many
 * (0 to 4). The ray enters the box at t_in; on each axis it starts in the half
 * that holds the entry point and changes half where it crosses the middle
 * plane, if it does so before it leaves the box. Ties go x before y before z,
 * as in vt_dda_next().
 */
static int node_walk(const rayx *r, const double lo[3], double h, int out[4])
{
    double tin = 0.0, tout = INFINITY, tm[3];
    int c[3];
    for (int a = 0; a < 3; a++) {
        double mid = lo[a] + h;
        if (r->d[a] == 0.0) {
            if (r->o[a] < lo[a] || r->o[a] > lo[a] + 2.0 * h)
                return 0;
            c[a] = r->o[a] >= mid;
            tm[a] = INFINITY;
            continue;
        }
        double t0 = (lo[a] - r->o[a]) * r->inv[a], t1 = (lo[a] + 2.0 * h - r->o[a]) * r->inv[a];
        double tn = t0 < t1 ? t0 : t1, tf = t0 < t1 ? t1 : t0;
        tin = tn > tin ? tn : tin;
        tout = tf < tout ? tf : tout;
        tm[a] = (mid - r->o[a]) * r->inv[a];
    }
    if (!(tin <= tout))
        return 0;
    for (int a = 0; a < 3; a++) {
        if (r->d[a] == 0.0)
            continue;
        bool past = tm[a] <= tin; /* the entry point is beyond the middle plane */
        c[a] = (r->d[a] > 0.0) == past;
        if (past || tm[a] >= tout)
            tm[a] = INFINITY;
    }
    int n = 0;
    out[n++] = c[0] << 2 | c[1] << 1 | c[2];
    for (;;) {
        int a = tm[0] <= tm[1] && tm[0] <= tm[2] ? 0 : (tm[1] <= tm[2] ? 1 : 2);
        if (tm[a] == INFINITY)
            return n;
        c[a] ^= 1;
        tm[a] = INFINITY;
        out[n++] = c[0] << 2 | c[1] << 1 | c[2];
    }
}

/* A zeroed node from the worker's chunk; takes a new chunk under a lock when it is used up. */
static vt__snode *take_node(vt_vote *v, worker *wk, uint32_t *index)
{
    if (!wk->chunk || wk->chunk_used == VT__SNODE_CHUNK) {
        vt__snode *base = NULL;
        uint32_t first;
#pragma omp critical(vt_vote_nodes)
        {
            first = vt__snode_chunk(&v->g.nodes);
            if (first != VT__SB_NONE)
                base = v->g.nodes.chunks[first >> VT__SNODE_CHUNK_LOG2];
        }
        if (!base)
            return NULL;
        wk->chunk = base;
        wk->chunk_first = first;
        wk->chunk_used = 0;
    }
    *index = wk->chunk_first + wk->chunk_used;
    vt__snode *nd = wk->chunk + wk->chunk_used++;
    memset(nd, 0, sizeof *nd);
    return nd;
}

/* Adds the votes of `rays` to the children of a refined cell, listing each child's rays. */
static void vote_node(const vt_vote *v, worker *wk, int cl, const double lo[3], vt__snode *nd,
                      const uint32_t *rays, size_t nrays, uint32_t *lists, size_t cnt[8])
{
    const double h = v->edge[cl], rr = v->near_r[cl];
    const bool always = isinf(rr);
    for (size_t i = 0; i < nrays; i++) {
        const rayx *r = &v->rx[rays[i]];
        int seq[4], n = node_walk(r, lo, h, seq);
        for (int j = 0; j < n; j++) {
            int c = seq[j];
            nd->w[c] += r->w;
            nd->cams[c] |= r->bit;
            lists[(size_t)c * nrays + cnt[c]++] = rays[i];
            if (!always && !(nd->meta[c] & VT__SV_NEAR)) {
                double dx = lo[0] + ((c >> 2) + 0.5) * h - r->o[0],
                       dy = lo[1] + (((c >> 1) & 1) + 0.5) * h - r->o[1],
                       dz = lo[2] + ((c & 1) + 0.5) * h - r->o[2];
                if (dx * dx + dy * dy + dz * dz < rr * rr)
                    nd->meta[c] |= VT__SV_NEAR;
            }
        }
        wk->steps += (uint64_t)n;
    }
    if (always)
        for (int c = 0; c < 8; c++)
            nd->meta[c] |= VT__SV_NEAR;
}

/*
 * Refines cell (x, y, z) of `level`, whose meta word is *meta and whose rays
 * are `rays`: votes into its children, then refines or finalises each child
 * with >= K cameras. Depth first; failures are kept in wk->status.
 */
static void refine(vt_vote *v, worker *wk, int level, int x, int y, int z, uint32_t *meta,
                   const uint32_t *rays, size_t nrays)
{
    const int cl = level + 1;
    uint32_t ni;
    vt__snode *nd = take_node(v, wk, &ni);
    if (!nd || !reserve((void **)&wk->lists[cl], &wk->list_cap[cl], 8 * nrays, sizeof(uint32_t))) {
        wk->status = VT_ENOMEM;
        return;
    }
    *meta = (*meta & VT__SV_FLAGS) | (ni + 1) << VT__SV_CHILD_SHIFT;
    if (wk->levels < cl + 1)
        wk->levels = cl + 1;
    const double h = v->edge[cl];
    const double lo[3] = {v->o.min.x + 2.0 * x * h, v->o.min.y + 2.0 * y * h,
                          v->o.min.z + 2.0 * z * h};
    uint32_t *lists = wk->lists[cl];
    size_t cnt[8] = {0};
    vote_node(v, wk, cl, lo, nd, rays, nrays, lists, cnt);
    const bool last = cl == v->levels - 1;
    for (int c = 0; c < 8 && !wk->status; c++) {
        if (!enough_cameras(nd->cams[c], v->o.min_cameras))
            continue;
        wk->cells[cl]++;
        int cx = 2 * x + (c >> 2), cy = 2 * y + ((c >> 1) & 1), cz = 2 * z + (c & 1);
        if (!last && (nd->meta[c] & VT__SV_NEAR)) {
            nd->meta[c] |= VT__SV_REFINE;
            refine(v, wk, cl, cx, cy, cz, &nd->meta[c], lists + (size_t)c * nrays, cnt[c]);
        } else {
            nd->meta[c] |= VT__SV_FINAL;
            if (push_final(wk, (vt__sref){cx, cy, cz, ni, (uint16_t)c, (uint16_t)cl}))
                wk->status = VT_ENOMEM;
        }
    }
}

static int thread_count(const vt_vote *v)
{
    int t = v->o.threads > 0 ? v->o.threads : omp_get_max_threads();
    return t < 1 ? 1 : (t > MAX_THREADS ? MAX_THREADS : t);
}

/* Gives every thread a worker, emptied for this cast (their memory is kept). */
static vt_status reset_workers(vt_vote *v, int threads)
{
    if (threads > v->nworkers) {
        worker *w = realloc(v->workers, (size_t)threads * sizeof *w);
        if (!w)
            return VT_ENOMEM;
        memset(w + v->nworkers, 0, (size_t)(threads - v->nworkers) * sizeof *w);
        v->workers = w;
        v->nworkers = threads;
    }
    for (int t = 0; t < v->nworkers; t++) {
        worker *wk = &v->workers[t];
        wk->chunk = NULL;
        wk->nfinals = 0;
        wk->steps = 0;
        memset(wk->cells, 0, sizeof wk->cells);
        wk->levels = 0;
        wk->status = VT_OK;
    }
    return VT_OK;
}

/* Refines the refined coarse cells, shared among the threads. */
static vt_status refine_all(vt_vote *v, int threads)
{
    const long n = (long)v->nrefined;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (long i = 0; i < n; i++) {
        worker *wk = &v->workers[omp_get_thread_num()];
        if (wk->status)
            continue;
        const vt__sref *c = &v->refined[i];
        vt__sblock *b = vt__spool_at(&v->g.pool, c->home);
        refine(v, wk, 0, c->x, c->y, c->z, &b->meta[c->k], v->rays_of + v->offs[i],
               v->offs[i + 1] - v->offs[i]);
    }
    vt_status s = VT_OK;
    for (int t = 0; t < v->nworkers; t++) {
        const worker *wk = &v->workers[t];
        s = s ? s : wk->status;
        v->st.steps += wk->steps;
        for (int l = 1; l < VT__SG_LEVELS; l++)
            v->st.cells[l] += wk->cells[l];
        if (wk->levels > v->st.levels)
            v->st.levels = wk->levels;
    }
    return s;
}

/* Collects the 26-connected final voxels around a seed into v->comp (breadth first). */
static vt_status gather(vt_vote *v, vt__sref seed, size_t *count)
{
    size_t len = 1;
    v->comp[0] = seed;
    *vt__sgrid_meta(&v->g, &seed) |= VT__SV_SEEN;
    for (size_t head = 0; head < len; head++) {
        const vt__sref c = v->comp[head];
        for (int dx = -1; dx <= 1; dx++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dz = -1; dz <= 1; dz++) {
                    vt__sref r;
                    if (!vt__sgrid_locate(&v->g, c.level, c.x + dx, c.y + dy, c.z + dz, &r))
                        continue;
                    uint32_t *m = vt__sgrid_meta(&v->g, &r);
                    if ((*m & (VT__SV_FINAL | VT__SV_SEEN)) != VT__SV_FINAL)
                        continue;
                    *m |= VT__SV_SEEN;
                    if (!reserve((void **)&v->comp, &v->cap_comp, len + 1, sizeof *v->comp))
                        return VT_ENOMEM;
                    v->comp[len++] = r;
                }
    }
    *count = len;
    return VT_OK;
}

static int cmp_vt__sref(const void *pa, const void *pb)
{
    const vt__sref *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return (a->z > b->z) - (a->z < b->z);
}

/* The cluster of v->comp[0..count): sums in coordinate order, so they do not depend on layout. */
static vt_cluster summarise(const vt_vote *v, size_t count)
{
    qsort(v->comp, count, sizeof *v->comp, cmp_vt__sref);
    const double e = v->edge[v->comp[0].level];
    vt_cluster c;
    memset(&c, 0, sizeof c);
    double sw = 0.0, sx = 0.0, sy = 0.0, sz = 0.0, ux = 0.0, uy = 0.0, uz = 0.0;
    int lo[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, hi[3] = {-1, -1, -1};
    for (size_t i = 0; i < count; i++) {
        const vt__sref *p = &v->comp[i];
        uint64_t w, cams;
        vt__sgrid_value(&v->g, p, &w, &cams);
        double cx = (p->x + 0.5) * e, cy = (p->y + 0.5) * e, cz = (p->z + 0.5) * e;
        c.weight += w;
        c.cameras |= cams;
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
        return VT_ENOMEM;
    for (int t = 0; t < v->nworkers; t++)
        for (size_t i = 0; i < v->workers[t].nfinals; i++) {
            vt__sref seed = v->workers[t].finals[i];
            if (*vt__sgrid_meta(&v->g, &seed) & VT__SV_SEEN)
                continue;
            size_t count = 0;
            if (gather(v, seed, &count) || !reserve((void **)&v->clusters, &v->cap_clusters,
                                                    v->nclusters + 1, sizeof *v->clusters))
                return VT_ENOMEM;
            v->clusters[v->nclusters++] = summarise(v, count);
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
    vt__spool_reset(&v->g.pool);
    vt__smap_clear(&v->g.map);
    v->g.nodes.used = 0;
    v->nrefined = v->npairs = 0;
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
    size_t b = sizeof *v + vt__spool_bytes(&v->g.pool) + vt__smap_bytes(&v->g.map) +
               vt__snode_bytes(&v->g.nodes) + v->cap_rx * sizeof *v->rx +
               v->cap_refined * sizeof *v->refined + v->cap_pairs * sizeof *v->pairs +
               v->cap_offs * sizeof *v->offs + v->cap_rays_of * sizeof *v->rays_of +
               v->cap_comp * sizeof *v->comp + v->cap_clusters * sizeof *v->clusters;
    for (int t = 0; t < v->nworkers; t++) {
        b += sizeof(worker) + v->workers[t].cap_finals * sizeof(vt__sref);
        for (int l = 0; l < VT__SG_LEVELS; l++)
            b += v->workers[t].list_cap[l] * sizeof(uint32_t);
    }
    return b;
}

static vt_status prepare_rays(vt_vote *v, const vt_ray *rays, size_t count)
{
    if (!reserve((void **)&v->rx, &v->cap_rx, count, sizeof *v->rx))
        return VT_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const vt_ray *r = &rays[i];
        rayx *x = &v->rx[i];
        const double o[3] = {r->origin.x, r->origin.y, r->origin.z},
                     d[3] = {r->dir.x, r->dir.y, r->dir.z};
        for (int a = 0; a < 3; a++) {
            x->o[a] = o[a];
            x->d[a] = d[a];
            x->inv[a] = d[a] != 0.0 ? 1.0 / d[a] : INFINITY;
        }
        x->w = (uint64_t)llround((double)r->weight * VT_VOTE_ONE);
        x->bit = 1ull << r->camera;
    }
    return VT_OK;
}

/* All levels: pass 0 over every ray, then the refined coarse cells depth first. */
static vt_status cast_levels(vt_vote *v, const vt_ray *rays, size_t count)
{
    int threads = thread_count(v);
    if (prepare_rays(v, rays, count) || reset_workers(v, threads))
        return VT_ENOMEM;
    for (size_t i = 0; i < count; i++)
        if (vote_coarse(v, &rays[i], &v->rx[i]))
            return VT_ENOMEM;
    if (decide_coarse(v))
        return VT_ENOMEM;
    v->st.levels = 1;
    if (!v->nrefined)
        return VT_OK;
    for (size_t i = 0; i < count; i++)
        if (list_pairs(v, &rays[i], (uint32_t)i))
            return VT_ENOMEM;
    if (sort_pairs(v))
        return VT_ENOMEM;
    return refine_all(v, threads);
}

vt_status vt_vote_cast(vt_vote *v, const vt_ray *rays, size_t count)
{
    if (!v)
        return vt__error(VT_EINVAL, "vote: grid is NULL");
    clear(v);
    vt_status s = check_rays(rays, count);
    if (!s) {
        v->st.rays = count;
        if ((s = cast_levels(v, rays, count)) || (s = find_clusters(v)))
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
