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
 * at lo that the ray passes through, in order along it; returns how many
 * (0 to 4). The ray enters the box at t_in; on each axis it starts in the half
 * that holds the entry point and changes half where it crosses the middle
 * plane, if it does so before it leaves the box. Ties go x before y before z,
 * as in vt_dda_next().
 */
static int node_walk(const vt__srayx *r, const double lo[3], double h, int out[4])
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

/* A zeroed node from the vt__sworker's chunk; takes a new chunk under a lock when it is used up. */
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

/* Adds the votes of `rays` to the children of a refined cell, listing each child's rays. */
static void vote_node(const vt_vote *v, vt__sworker *wk, int cl, const double lo[3], vt__snode *nd,
                      const uint32_t *rays, size_t nrays, uint32_t *lists, size_t cnt[8])
{
    const double h = v->edge[cl], rr = v->near_r[cl];
    const bool always = isinf(rr);
    for (size_t i = 0; i < nrays; i++) {
        const vt__srayx *r = &v->rx[rays[i]];
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
static void refine(vt_vote *v, vt__sworker *wk, int level, int x, int y, int z, uint32_t *meta,
                   const uint32_t *rays, size_t nrays)
{
    const int cl = level + 1;
    uint32_t ni;
    vt__snode *nd = take_node(v, wk, &ni);
    if (!nd ||
        !vt__sreserve((void **)&wk->lists[cl], &wk->list_cap[cl], 8 * nrays, sizeof(uint32_t))) {
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
        if (!vt__enough_cameras(nd->cams[c], v->o.min_cameras))
            continue;
        wk->cells[cl]++;
        int cx = 2 * x + (c >> 2), cy = 2 * y + ((c >> 1) & 1), cz = 2 * z + (c & 1);
        if (!last && (nd->meta[c] & VT__SV_NEAR)) {
            nd->meta[c] |= VT__SV_REFINE;
            refine(v, wk, cl, cx, cy, cz, &nd->meta[c], lists + (size_t)c * nrays, cnt[c]);
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

/* Gives every thread a vt__sworker, emptied for this cast (their memory is kept). */
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
        wk->levels = 0;
        wk->status = VT_OK;
    }
    return VT_OK;
}

/* Refines the refined coarse cells, shared among the threads. */
vt_status vt__svote_refine_all(vt_vote *v, int threads)
{
    const long n = (long)v->nrefined;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (long i = 0; i < n; i++) {
        vt__sworker *wk = &v->workers[omp_get_thread_num()];
        if (wk->status)
            continue;
        const vt__sref *c = &v->refined[i];
        vt__sblock *b = vt__spool_at(&v->g.pool, c->home);
        refine(v, wk, 0, c->x, c->y, c->z, &b->meta[c->k], v->rays_of + v->offs[i],
               v->offs[i + 1] - v->offs[i]);
    }
    vt_status s = VT_OK;
    for (int t = 0; t < v->nworkers; t++) {
        const vt__sworker *wk = &v->workers[t];
        s = s ? s : wk->status;
        v->st.steps += wk->steps;
        for (int l = 1; l < VT__SG_LEVELS; l++)
            v->st.cells[l] += wk->cells[l];
        if (wk->levels > v->st.levels)
            v->st.levels = wk->levels;
    }
    return s;
}
