/*
 * src/voxel/sparse_refine.c - the finer levels of the sparse voting grid
 * (see sparse.c for the whole pass): each refined cell gets a node of 2x2x2
 * children, its rays are walked through them, and each child that refines
 * does the same with its own rays, depth first.
 *
 * The walk through a node needs no DDA set-up: the ray enters the node's
 * box and crosses at most the three middle planes, in the order of their ray
 * parameters - a DDA of one level (Amanatides & Woo, "A Fast Voxel Traversal
 * Algorithm for Ray Tracing", Eurographics 1987) restricted to the parent's
 * box, which visits the same children as a walk of the whole ray at that
 * level (up to rays that graze an edge within rounding), each once.
 *
 * Threads take refined coarse cells in turn (the subtrees are independent);
 * each keeps its own ray lists and takes its nodes from a shared pool, one
 * chunk at a time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxel/sparse_internal.h"

/*
 * The children (index (x << 2) | (y << 1) | z) of the 2 x 2 x 2 box of edge 2h
 * around mid that the ray passes through, in order along it; returns how many
 * (0 to 4). On each axis the ray is inside the box's slab for ray parameters
 * within h |1/d| of where it crosses the middle plane; it enters the box at
 * t_in, starts on each axis in the half that holds the entry point and changes
 * half where it crosses the middle plane, if it does so before it leaves the
 * box. Ties go x before y before z, as in vt_dda_next().
 */
static inline int node_walk(const vt__srayx *r, const double mid[3], double h, int out[4])
{
    double tin = 0.0, tout = INFINITY, tm[3];
    int c[3];
    for (int a = 0; a < 3; a++) {
        if (r->d[a] == 0.0) {
            if (fabs(r->o[a] - mid[a]) > h)
                return 0;
            c[a] = r->o[a] >= mid[a];
            tm[a] = INFINITY;
            continue;
        }
        const double t = (mid[a] - r->o[a]) * r->inv[a], dt = h * fabs(r->inv[a]);
        tm[a] = t;
        tin = t - dt > tin ? t - dt : tin;
        tout = t + dt < tout ? t + dt : tout;
    }
    if (!(tin <= tout))
        return 0;
    for (int a = 0; a < 3; a++) {
        if (r->d[a] == 0.0)
            continue;
        const bool past = tm[a] <= tin; /* the entry point is beyond the middle plane */
        c[a] = (r->d[a] > 0.0) == past;
        if (past || tm[a] >= tout)
            tm[a] = INFINITY;
    }
    int n = 0;
    out[n++] = c[0] << 2 | c[1] << 1 | c[2];
    for (;;) {
        const int a = tm[0] <= tm[1] && tm[0] <= tm[2] ? 0 : (tm[1] <= tm[2] ? 1 : 2);
        if (tm[a] == INFINITY)
            return n;
        c[a] ^= 1;
        tm[a] = INFINITY;
        out[n++] = c[0] << 2 | c[1] << 1 | c[2];
    }
}

/* Camera pairs a cell may ask the consistency test to try; past that it refines untested. */
#define MAX_PAIRS 128

/* Below this sin^2 of their angle two rays are taken as parallel: they fix no point. */
#define MIN_SIN2 1e-8

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* The tolerance of a ray at range r from its origin. */
static double tolerance(const vt_vote *v, const vt__srayx *r, double range)
{
    double t = r->tol_per_m * range;
    return t > v->o.consistency_min ? t : v->o.consistency_min;
}

/*
 * Whether ray r passes within its tolerance of m, plus `slack` (half the gap
 * of the pair that gave m: m itself is that uncertain).
 */
static bool passes_near(const vt_vote *v, const vt__srayx *r, const double m[3], double slack)
{
    const double d[3] = {m[0] - r->o[0], m[1] - r->o[1], m[2] - r->o[2]};
    const double along = dot3(d, r->u);
    if (along <= 0.0)
        return false;
    const double off2 = dot3(d, d) - along * along, tol = tolerance(v, r, along) + slack;
    return off2 <= tol * tol;
}

/*
 * Where rays p and q come closest: false when they are (nearly) parallel,
 * meet behind a camera, miss each other by more than the larger of their
 * tolerances there, or meet outside the box [lo, lo + e] enlarged by half that
 * tolerance. Otherwise m is the midpoint of the closest points and *gap
 * their distance.
 */
static bool meet(const vt_vote *v, const vt__srayx *p, const vt__srayx *q, const double lo[3],
                 double e, double m[3], double *gap)
{
    const double w[3] = {p->o[0] - q->o[0], p->o[1] - q->o[1], p->o[2] - q->o[2]};
    const double b = dot3(p->u, q->u), dp = dot3(p->u, w), dq = dot3(q->u, w);
    const double den = 1.0 - b * b;
    if (den < MIN_SIN2)
        return false;
    const double inv = 1.0 / den, s = (b * dq - dp) * inv, t = (dq - b * dp) * inv;
    if (s <= 0.0 || t <= 0.0)
        return false;
    const double tp = tolerance(v, p, s), tq = tolerance(v, q, t), tol = tp > tq ? tp : tq;
    double g2 = 0.0;
    for (int a = 0; a < 3; a++) { /* the box first: most pairs of a coarse cell meet outside it */
        double pa = p->o[a] + s * p->u[a], qa = q->o[a] + t * q->u[a];
        m[a] = 0.5 * (pa + qa);
        if (m[a] < lo[a] - 0.5 * tol || m[a] > lo[a] + e + 0.5 * tol)
            return false;
        g2 += (pa - qa) * (pa - qa);
    }
    if (g2 > tol * tol)
        return false;
    *gap = sqrt(g2);
    return true;
}

/*
 * The consistency test of a cell (box [lo, lo + e]) with >= K cameras
 * (sparse.h, consistency_sigma): tries the pairs of rays of two cameras,
 * and for each that meets inside the cell counts the cameras with a ray
 * near the meeting point. Each pair is computed with the lower camera first
 * and the counts are unions of camera bits, so the answer does not depend on
 * the order of the rays; with more than MAX_PAIRS pairs the answer is yes
 * whether or not the pairs tried found a point, which keeps it so.
 */
static bool consistent(const vt_vote *v, const double lo[3], double e, const uint32_t *rays,
                       size_t n)
{
    const int k = v->o.min_cameras;
    if (k <= 1)
        return true;
    size_t tried = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const vt__srayx *a = &v->rx[rays[i]];
        for (size_t j = i + 1; j < n; j++) {
            const vt__srayx *b = &v->rx[rays[j]];
            if (a->bit == b->bit)
                continue;
            if (++tried > MAX_PAIRS)
                return true;
            const vt__srayx *p = a->bit < b->bit ? a : b, *q = a->bit < b->bit ? b : a;
            double m[3], gap;
            if (!meet(v, p, q, lo, e, m, &gap))
                continue;
            uint64_t mask = p->bit | q->bit;
            int cams = 2;
            for (size_t r = 0; r < n && cams < k; r++) {
                const vt__srayx *c = &v->rx[rays[r]];
                if (!(mask & c->bit) && passes_near(v, c, m, 0.5 * gap)) {
                    mask |= c->bit;
                    cams++;
                }
            }
            if (cams >= k)
                return true;
        }
    }
    return false;
}

/*
 * With the consistency test on, the level of detail asks for K cameras, not
 * one: a cell refines only when rays of >= K distinct cameras cross it within
 * the range at which its children span lod_pixels pixels. Finer cells that
 * only the nearest camera can resolve would split a target seen from afar
 * into fragments that each hold a few cameras.
 */
static bool near_k(const vt_vote *v, int level, int x, int y, int z, const uint32_t *rays, size_t n)
{
    const double rr = v->near_r[level], e = v->edge[level];
    if (v->near_all[level]) /* every ray is in range everywhere, and the cell has K cameras */
        return true;
    const double c[3] = {v->o.min.x + (x + 0.5) * e, v->o.min.y + (y + 0.5) * e,
                         v->o.min.z + (z + 0.5) * e};
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        const vt__srayx *r = &v->rx[rays[i]];
        if (mask & r->bit)
            continue;
        const double d[3] = {c[0] - r->o[0], c[1] - r->o[1], c[2] - r->o[2]};
        if (dot3(d, d) < rr * rr) {
            mask |= r->bit;
            if (vt__enough_cameras(mask, v->o.min_cameras))
                return true;
        }
    }
    return false;
}

/* A zeroed node from the worker's chunk; takes a new chunk under a lock when it is used up. */
static vt__snode *take_node(vt_vote *v, vt__sworker *wk, uint32_t *index)
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

/*
 * Marks the children c that ray r visited (seq[0..n)) near when their centre
 * is within the level-of-detail range rr of its camera. The node's centre
 * decides for all of them unless it lies within a child's half-diagonal
 * (0.87 h > sqrt(3) h / 2) of the range's edge; only then is each child's
 * centre checked.
 */
static void mark_near(vt__snode *nd, const vt__srayx *r, const double mid[3], double h, double rr,
                      const int *seq, int n)
{
    const double dx = mid[0] - r->o[0], dy = mid[1] - r->o[1], dz = mid[2] - r->o[2];
    const double d2 = dx * dx + dy * dy + dz * dz, in = rr - 0.87 * h, out = rr + 0.87 * h;
    if (in > 0.0 && d2 < in * in) {
        for (int j = 0; j < n; j++)
            nd->meta[seq[j]] |= VT__SV_NEAR;
        return;
    }
    if (d2 > out * out)
        return;
    for (int j = 0; j < n; j++) {
        const int c = seq[j];
        if (nd->meta[c] & VT__SV_NEAR)
            continue;
        const double cx = mid[0] + ((c >> 2) - 0.5) * h - r->o[0],
                     cy = mid[1] + (((c >> 1) & 1) - 0.5) * h - r->o[1],
                     cz = mid[2] + ((c & 1) - 0.5) * h - r->o[2];
        if (cx * cx + cy * cy + cz * cz < rr * rr)
            nd->meta[c] |= VT__SV_NEAR;
    }
}

/* Adds the votes of `rays` to the children of a refined cell, listing each child's rays. */
static void vote_node(const vt_vote *v, vt__sworker *wk, int cl, const double lo[3], vt__snode *nd,
                      const uint32_t *rays, size_t nrays, uint32_t *lists, size_t cnt[8])
{
    const double h = v->edge[cl], rr = v->near_r[cl];
    const double mid[3] = {lo[0] + h, lo[1] + h, lo[2] + h};
    const bool always = v->near_all[cl];
    uint64_t steps = 0;
    for (size_t i = 0; i < nrays; i++) {
        const vt__srayx *r = &v->rx[rays[i]];
        int seq[4], n = node_walk(r, mid, h, seq);
        for (int j = 0; j < n; j++) {
            const int c = seq[j];
            nd->w[c] += r->w;
            nd->cams[c] |= r->bit;
            lists[(size_t)c * nrays + cnt[c]++] = rays[i];
        }
        if (!always)
            mark_near(nd, r, mid, h, rr, seq, n);
        steps += (uint64_t)n;
    }
    wk->steps += steps;
    if (always)
        for (int c = 0; c < 8; c++)
            nd->meta[c] |= VT__SV_NEAR;
}

/*
 * Refines cell (x, y, z) of `level`, whose meta word is *meta and whose rays
 * are `rays`: votes into its children, then refines or finalises each child
 * with >= K cameras. Depth first; failures are kept in wk->status.
 */
static void refine(vt_vote *v, vt__sworker *wk, int level, int x, int y, int z, uint32_t *meta,
                   const uint32_t *rays, size_t nrays)
{
    const int cl = level + 1;
    uint32_t ni;
    vt__snode *nd = take_node(v, wk, &ni);
    if (!nd || vt__grow(&wk->lists[cl], &wk->list_cap[cl], 8 * nrays, sizeof(uint32_t))) {
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
    const bool last = cl == v->levels - 1, test = v->o.consistency_sigma > 0.0;
    for (int c = 0; c < 8 && !wk->status; c++) {
        if (!vt__enough_cameras(nd->cams[c], v->o.min_cameras))
            continue;
        wk->cells[cl]++;
        const uint32_t *crays = lists + (size_t)c * nrays;
        if (test) {
            const double clo[3] = {lo[0] + (c >> 2) * h, lo[1] + ((c >> 1) & 1) * h,
                                   lo[2] + (c & 1) * h};
            if (!consistent(v, clo, h, crays, cnt[c])) {
                wk->rejected[cl]++;
                continue;
            }
        }
        int cx = 2 * x + (c >> 2), cy = 2 * y + ((c >> 1) & 1), cz = 2 * z + (c & 1);
        if (!last && (nd->meta[c] & VT__SV_NEAR) &&
            (!test || near_k(v, cl, cx, cy, cz, crays, cnt[c]))) {
            nd->meta[c] |= VT__SV_REFINE;
            refine(v, wk, cl, cx, cy, cz, &nd->meta[c], crays, cnt[c]);
        } else {
            nd->meta[c] |= VT__SV_FINAL;
            if (vt__spush_final(wk, (vt__sref){cx, cy, cz, ni, (uint16_t)c, (uint16_t)cl}))
                wk->status = VT_ENOMEM;
        }
    }
}

int vt__svote_threads(const vt_vote *v)
{
    int t = v->o.threads > 0 ? v->o.threads : omp_get_max_threads();
    return t < 1 ? 1 : (t > VT__VOTE_MAX_THREADS ? VT__VOTE_MAX_THREADS : t);
}

/* Gives every thread a worker, emptied for this cast (their memory is kept). */
vt_status vt__svote_reset_workers(vt_vote *v, int threads)
{
    if (threads > v->nworkers) {
        vt__sworker *w = realloc(v->workers, (size_t)threads * sizeof *w);
        if (!w)
            return VT_ENOMEM;
        memset(w + v->nworkers, 0, (size_t)(threads - v->nworkers) * sizeof *w);
        v->workers = w;
        v->nworkers = threads;
    }
    for (int t = 0; t < v->nworkers; t++) {
        vt__sworker *wk = &v->workers[t];
        wk->chunk = NULL;
        wk->nfinals = 0;
        wk->steps = 0;
        memset(wk->cells, 0, sizeof wk->cells);
        memset(wk->rejected, 0, sizeof wk->rejected);
        wk->levels = 0;
        wk->status = VT_OK;
    }
    return VT_OK;
}

/* Refines refined coarse cell i on worker wk. */
static void refine_coarse(vt_vote *v, vt__sworker *wk, long i, bool test, bool last)
{
    if (wk->status)
        return;
    const vt__sref *c = &v->refined[i];
    uint32_t *meta = &vt__spool_at(&v->g.pool, c->home)->meta[c->k];
    const uint32_t *rays = v->rays_of + v->offs[i];
    const size_t nrays = v->offs[i + 1] - v->offs[i];
    if (test) { /* decide_coarse() left the choice to here */
        const double e = v->edge[0];
        const double lo[3] = {v->o.min.x + c->x * e, v->o.min.y + c->y * e, v->o.min.z + c->z * e};
        *meta &= VT__SV_FLAGS & ~(uint32_t)VT__SV_REFINE;
        if (!consistent(v, lo, e, rays, nrays)) {
            wk->rejected[0]++;
            return;
        }
        if (last || !(*meta & VT__SV_NEAR) || !near_k(v, 0, c->x, c->y, c->z, rays, nrays)) {
            *meta |= VT__SV_FINAL;
            if (vt__spush_final(wk, *c))
                wk->status = VT_ENOMEM;
            return;
        }
        *meta |= VT__SV_REFINE;
    }
    refine(v, wk, 0, c->x, c->y, c->z, meta, rays, nrays);
}

/* Refines the refined coarse cells, shared among the threads. */
vt_status vt__svote_refine_all(vt_vote *v, int threads)
{
    const long n = (long)v->nrefined;
    const bool test = v->o.consistency_sigma > 0.0, last = v->levels == 1;
    if (threads == 1) { /* no parallel region: libgomp allocates a team of one each time */
        for (long i = 0; i < n; i++)
            refine_coarse(v, &v->workers[0], i, test, last);
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
        for (long i = 0; i < n; i++)
            refine_coarse(v, &v->workers[omp_get_thread_num()], i, test, last);
    }
    vt_status s = VT_OK;
    for (int t = 0; t < v->nworkers; t++) {
        const vt__sworker *wk = &v->workers[t];
        s = s ? s : wk->status;
        v->st.steps += wk->steps;
        for (int l = 0; l < VT__SG_LEVELS; l++) {
            if (l)
                v->st.cells[l] += wk->cells[l];
            v->st.rejected[l] += wk->rejected[l];
        }
        if (wk->levels > v->st.levels)
            v->st.levels = wk->levels;
    }
    return s;
}
