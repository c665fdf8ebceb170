/*
 * src/track/mht.c - the multiple hypothesis tracker behind
 * vt_tracker_opts.kind = VT_TRACKER_MHT.
 *
 * Track-oriented MHT in the form of Cox & Hingorani, "An efficient
 * implementation of Reid's multiple hypothesis tracking algorithm" (IEEE
 * PAMI 1996), with N-scan pruning as in Blackman, "Multiple hypothesis
 * tracking for multiple target tracking" (IEEE AES Magazine 2004):
 *
 *   - Track trees. Every track hypothesis is a node: a Kalman filter, a life
 *     cycle and the detection it took at its scan (or a miss), with a link to
 *     its parent at the scan before. The nodes of one tree share a track id;
 *     a tree is born from a detection that no track took.
 *   - Global hypotheses per cluster. A cluster is a set of trees that compete
 *     for detections; it keeps up to mht_k hypotheses, each a cost and the
 *     leaf node of every tree it contains. Clusters are independent: their
 *     hypotheses are never multiplied out.
 *   - One scan. Every leaf is predicted and gated. Clusters linked through a
 *     detection merge (their hypotheses are combined, best mht_k kept). For
 *     each hypothesis of a cluster, the assignment of its leaves to the
 *     cluster's detections (or to a "missed" column of their own) is an
 *     assignment problem whose k best solutions Murty's algorithm gives
 *     (vt__murty, built on vt_assign). The cost of a pair is the negative log
 *     likelihood ratio of "this detection comes from this track" against
 *     "it is clutter": 0.5 (d^2 + ln|2 pi S|) - ln(Pd) + ln(clutter_density);
 *     a miss costs -ln(1 - Pd); a detection left over starts a new tree at
 *     cost 0 (new targets assumed as dense as clutter). All children of all
 *     hypotheses compete; the best mht_k within a ratio of PRUNE_RATIO of the
 *     best survive.
 *   - N-scan pruning. Decisions older than mht_scan scans are made final: a
 *     hypothesis survives only if, for every tree, it agrees with the best
 *     hypothesis on the tree's node at scan (now - N). The trees' history
 *     above that node is then cut off, so memory stays bounded. A cluster
 *     left with one hypothesis splits into one cluster per tree.
 *   - Output: the best hypothesis of every cluster.
 * Easy scenes (well separated targets) keep one hypothesis per cluster, and
 * the tracker then costs about as much as the GNN; where targets cross or
 * detections are missed, the alternatives are carried until later
 * detections tell them apart.
 *
 * Nodes live in a pool with a free list and are reference counted (by the
 * hypotheses and by their children); hypotheses live in two arenas that
 * swap every scan. Everything only grows, so a warm tracker does not
 * allocate.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/uf.h"
#include "track/track_internal.h"

/* Hypotheses less likely than this ratio of the best are dropped at once. */
#define PRUNE_RATIO 1e-4

typedef struct node {
    vt__kf kf;
    vt__life life;
    uint64_t id;
    int parent; /* node index, -1 for a root or a cut history */
    int refs;
    int scan;
    int det;  /* detection taken at its scan, -1 for a miss */
    int mark; /* scan at which slot was set (leaves only) */
    int slot;
} node;

typedef struct hyp {
    double cost;
    size_t first, count; /* leaf nodes: entries[first .. first + count) */
} hyp;

typedef struct cluster {
    size_t first, count; /* hypotheses, best first */
} cluster;

typedef struct arena {
    hyp *h;
    size_t nh, cap_h;
    int *e;
    size_t ne, cap_e;
    cluster *c;
    size_t nc, cap_c;
} arena;

/* A leaf of this scan: its prediction, its candidates and its children. */
typedef struct slot {
    int node;
    int cluster; /* old cluster */
    vt__kf kf;   /* predicted */
    size_t first, ncand;
    int miss_child; /* -1 not made, -2 the miss deletes the track */
} slot;

/* A child hypothesis before it is made: parent and assignment. */
typedef struct child {
    double cost;
    int parent;
    size_t sol; /* offset of its row -> column assignment */
} child;

struct vt__mht {
    vt_tracker_opts o;
    double gate, q, miss_cost, pair_const, prune;
    double dt; /* of the scan in progress */
    int scan;

    node *nodes;
    int nnodes, cap_nodes, free_head;
    arena cur, next, par, tmp;

    slot *slots;
    size_t nslots, cap_slots;
    vt__cands cands;
    int *cand_child;
    size_t cap_cand_child;

    uint32_t *uf; /* union-find over clusters then detections (core/uf.h) */
    int *comp_of_root, *comp_first_cl, *comp_ncl, *comp_first_det, *comp_ndet;
    int *comp_cl, *comp_det, *det_birth, *det_col, *det_used;
    size_t cap_comp;
    int stamp;

    child *kids;
    size_t nkids, cap_kids;
    int *sols;
    size_t nsols, cap_sols;
    double *mat, *totals;
    size_t cap_mat, cap_totals;
    int *msols;
    size_t cap_msols;
    vt__murty_ws mw;
    uint64_t *anc_id;
    int *anc_node;
    size_t cap_anc_id, cap_anc_node;
    int *out_nodes;
    size_t cap_out_nodes;
};

/* Grows *p to hold n elements of size sz (never shrinks). */
#define GROW(p, cap, n)                                                                            \
    do {                                                                                           \
        if (vt__grow(&(p), &(cap), (n), sizeof *(p)))                                              \
            return vt__error(VT_ENOMEM, "mht: out of memory");                                     \
    } while (0)

/* Orders node indices by their track id (ctx: the node pool). */
static int cmp_node_id(const void *pa, const void *pb, const void *ctx)
{
    const node *nodes = ctx;
    uint64_t a = nodes[*(const int *)pa].id, b = nodes[*(const int *)pb].id;
    return a < b ? -1 : a > b;
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */

static vt_status node_new(vt__mht *m, int *out)
{
    if (m->free_head < 0) {
        if (m->nnodes == m->cap_nodes) {
            int c = m->cap_nodes ? 2 * m->cap_nodes : 1024;
            node *p = realloc(m->nodes, (size_t)c * sizeof *p);
            if (!p)
                return vt__error(VT_ENOMEM, "mht: no memory for %d track hypotheses", c);
            m->nodes = p;
            m->cap_nodes = c;
        }
        m->nodes[m->nnodes].parent = m->free_head;
        m->free_head = m->nnodes++;
    }
    int n = m->free_head;
    m->free_head = m->nodes[n].parent;
    memset(&m->nodes[n], 0, sizeof m->nodes[n]);
    m->nodes[n].parent = -1;
    m->nodes[n].det = -1;
    m->nodes[n].mark = -1;
    m->nodes[n].scan = m->scan;
    *out = n;
    return VT_OK;
}

static void node_release(vt__mht *m, int n)
{
    while (n >= 0 && --m->nodes[n].refs == 0) {
        int parent = m->nodes[n].parent;
        m->nodes[n].parent = m->free_head;
        m->free_head = n;
        n = parent;
    }
}

/* The node of n's tree at scan s0 (the newest at or before it), -1 when born after s0. */
static int ancestor(const vt__mht *m, int n, int s0)
{
    while (n >= 0 && m->nodes[n].scan > s0)
        n = m->nodes[n].parent;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Arenas                                                                    */

static vt_status arena_hyp(arena *a, double cost, size_t count, size_t *out)
{
    GROW(a->h, a->cap_h, a->nh + 1);
    GROW(a->e, a->cap_e, a->ne + count);
    a->h[a->nh].cost = cost;
    a->h[a->nh].first = a->ne;
    a->h[a->nh].count = 0;
    *out = a->nh++;
    return VT_OK;
}

static void arena_free(arena *a)
{
    free(a->h);
    free(a->e);
    free(a->c);
}

/* ------------------------------------------------------------------------ */
/* Handle                                                                    */

vt_status vt__mht_new(const vt_tracker_opts *o, vt__mht **out)
{
    vt__mht *m = calloc(1, sizeof *m);
    if (!m)
        return vt__error(VT_ENOMEM, "vt_tracker_new: no memory");
    m->o = *o;
    m->gate = vt_chi2_3dof(o->gate_prob);
    m->q = o->process_accel * o->process_accel;
    m->miss_cost = -log(1.0 - o->detect_prob);
    m->pair_const = 1.5 * log(2.0 * VT_PI) - log(o->detect_prob) + log(o->clutter_density);
    m->prune = -log(PRUNE_RATIO);
    m->free_head = -1;
    *out = m;
    return VT_OK;
}

void vt__mht_free(vt__mht *m)
{
    if (!m)
        return;
    free(m->nodes);
    arena_free(&m->cur);
    arena_free(&m->next);
    arena_free(&m->par);
    arena_free(&m->tmp);
    free(m->slots);
    free(m->cands.c);
    free(m->cand_child);
    free(m->uf);
    int *arrays[] = {m->comp_of_root, m->comp_first_cl, m->comp_ncl, m->comp_first_det,
                     m->comp_ndet,    m->comp_cl,       m->comp_det, m->det_birth,
                     m->det_col,      m->det_used};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        free(arrays[k]);
    free(m->kids);
    free(m->sols);
    free(m->mat);
    free(m->totals);
    free(m->msols);
    vt__murty_ws_free(&m->mw);
    free(m->anc_id);
    free(m->anc_node);
    free(m->out_nodes);
    free(m);
}

/* ------------------------------------------------------------------------ */
/* One scan                                                                  */

/* The leaves of all hypotheses, predicted to this scan and gated. */
static vt_status collect_leaves(vt__mht *m, const vt__dets *d, double dt)
{
    m->nslots = 0;
    m->cands.n = 0;
    for (size_t c = 0; c < m->cur.nc; c++) {
        const cluster *cl = &m->cur.c[c];
        for (size_t h = cl->first; h < cl->first + cl->count; h++) {
            const hyp *hp = &m->cur.h[h];
            for (size_t e = hp->first; e < hp->first + hp->count; e++) {
                node *n = &m->nodes[m->cur.e[e]];
                if (n->mark == m->scan)
                    continue;
                GROW(m->slots, m->cap_slots, m->nslots + 1);
                n->mark = m->scan;
                n->slot = (int)m->nslots;
                slot *s = &m->slots[m->nslots++];
                s->node = m->cur.e[e];
                s->cluster = (int)c;
                s->kf = n->kf;
                s->miss_child = -1;
                vt__kf_predict(&s->kf, dt, m->q);
                s->first = m->cands.n;
                vt_status st = vt__gate(d, &s->kf, m->gate, &m->cands);
                if (st)
                    return st;
                s->ncand = m->cands.n - s->first;
            }
        }
    }
    GROW(m->cand_child, m->cap_cand_child, m->cands.n);
    for (size_t k = 0; k < m->cands.n; k++)
        m->cand_child[k] = -1;
    return VT_OK;
}

static vt_status reserve_comp(vt__mht *m, size_t n)
{
    if (n <= m->cap_comp)
        return VT_OK;
    void *const arrays[] = {&m->uf,       &m->comp_of_root,   &m->comp_first_cl,
                            &m->comp_ncl, &m->comp_first_det, &m->comp_ndet,
                            &m->comp_cl,  &m->comp_det,       &m->det_birth,
                            &m->det_col,  &m->det_used};
    const size_t elems[] = {
        sizeof *m->uf,       sizeof *m->comp_of_root,   sizeof *m->comp_first_cl,
        sizeof *m->comp_ncl, sizeof *m->comp_first_det, sizeof *m->comp_ndet,
        sizeof *m->comp_cl,  sizeof *m->comp_det,       sizeof *m->det_birth,
        sizeof *m->det_col,  sizeof *m->det_used};
    if (vt__grow_group(arrays, elems, 11, &m->cap_comp, n))
        return vt__error(VT_ENOMEM, "mht: no memory for %zu clusters", n);
    return VT_OK;
}

/*
 * Old clusters and detections linked by a gate form one component (a new
 * cluster). Components are listed old clusters first, then detections in
 * position order, so that the result does not depend on the input order.
 */
static vt_status make_components(vt__mht *m, const vt__dets *d, size_t *ncomp)
{
    size_t ncl = m->cur.nc, nd = d->n, nn = ncl + nd;
    vt_status s = reserve_comp(m, nn + 1);
    if (s)
        return s;
    for (size_t k = 0; k < nn; k++) {
        m->uf[k] = (uint32_t)k;
        m->comp_of_root[k] = -1;
    }
    for (size_t j = 0; j < nd; j++) {
        m->det_birth[j] = -1;
        m->det_used[j] = -1;
    }
    for (size_t i = 0; i < m->nslots; i++)
        for (size_t c = m->slots[i].first; c < m->slots[i].first + m->slots[i].ncand; c++) {
            vt__uf_union(m->uf, (uint32_t)m->slots[i].cluster,
                         (uint32_t)(ncl + (size_t)m->cands.c[c].det));
        }
    size_t n = 0;
    for (size_t k = 0; k < nn; k++) {
        size_t node_k = k < ncl ? k : ncl + d->order[k - ncl];
        uint32_t r = vt__uf_find(m->uf, (uint32_t)node_k);
        if (m->comp_of_root[r] < 0) {
            m->comp_of_root[r] = (int)n;
            m->comp_ncl[n] = m->comp_ndet[n] = 0;
            n++;
        }
        if (k < ncl)
            m->comp_ncl[m->comp_of_root[r]]++;
        else
            m->comp_ndet[m->comp_of_root[r]]++;
    }
    int fc = 0, fd = 0;
    for (size_t c = 0; c < n; c++) {
        m->comp_first_cl[c] = fc;
        m->comp_first_det[c] = fd;
        fc += m->comp_ncl[c];
        fd += m->comp_ndet[c];
        m->comp_ncl[c] = m->comp_ndet[c] = 0;
    }
    for (size_t k = 0; k < nn; k++) {
        size_t node_k = k < ncl ? k : ncl + d->order[k - ncl];
        int c = m->comp_of_root[vt__uf_find(m->uf, (uint32_t)node_k)];
        if (k < ncl)
            m->comp_cl[m->comp_first_cl[c] + m->comp_ncl[c]++] = (int)k;
        else
            m->comp_det[m->comp_first_det[c] + m->comp_ndet[c]++] = (int)(node_k - ncl);
    }
    *ncomp = n;
    return VT_OK;
}

static int cmp_child(const void *pa, const void *pb, const void *ctx)
{
    (void)ctx;
    const child *a = pa, *b = pb;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return a->sol < b->sol ? -1 : a->sol > b->sol;
}

static vt_status push_kid(vt__mht *m, double cost, int parent, size_t sol)
{
    GROW(m->kids, m->cap_kids, m->nkids + 1);
    m->kids[m->nkids].cost = cost;
    m->kids[m->nkids].parent = parent;
    m->kids[m->nkids].sol = sol;
    m->nkids++;
    return VT_OK;
}

/* How many of the sorted kids to keep: the best mht_k within the prune ratio. */
static size_t keep_best(const vt__mht *m)
{
    size_t n = 0;
    while (n < m->nkids && n < (size_t)m->o.mht_k && m->kids[n].cost <= m->kids[0].cost + m->prune)
        n++;
    return n;
}

/* The component's parent hypotheses: the product of its old clusters', best first. */
static vt_status combine_parents(vt__mht *m, const int *cls, int ncl)
{
    size_t h;
    m->par.nh = m->par.ne = 0;
    vt_status s = arena_hyp(&m->par, 0.0, 0, &h);
    if (s)
        return s;
    for (int c = 0; c < ncl; c++) {
        const cluster *cl = &m->cur.c[cls[c]];
        m->nkids = 0;
        for (size_t p = 0; p < m->par.nh; p++)
            for (size_t q = 0; q < cl->count; q++)
                if ((s = push_kid(m, m->par.h[p].cost + m->cur.h[cl->first + q].cost, (int)p,
                                  cl->first + q)))
                    return s;
        vt__sort(m->kids, m->nkids, sizeof *m->kids, cmp_child, NULL);
        size_t keep = keep_best(m);
        m->tmp.nh = m->tmp.ne = 0;
        for (size_t k = 0; k < keep; k++) {
            const hyp *a = &m->par.h[m->kids[k].parent], *b = &m->cur.h[m->kids[k].sol];
            if ((s = arena_hyp(&m->tmp, m->kids[k].cost, a->count + b->count, &h)))
                return s;
            if (a->count)
                memcpy(m->tmp.e + m->tmp.ne, m->par.e + a->first, a->count * sizeof(int));
            memcpy(m->tmp.e + m->tmp.ne + a->count, m->cur.e + b->first, b->count * sizeof(int));
            m->tmp.ne += a->count + b->count;
            m->tmp.h[h].count = a->count + b->count;
        }
        arena swap = m->par;
        m->par = m->tmp;
        m->tmp = swap;
    }
    return VT_OK;
}

static double pair_cost(const vt__mht *m, const vt__cand *c)
{
    return 0.5 * (c->in.d2 + c->in.logdet) + m->pair_const;
}

/*
 * The k best assignments of every parent hypothesis; the children of all
 * parents compete and are left sorted in m->kids.
 */
static vt_status expand(vt__mht *m, int ndet)
{
    m->nkids = 0;
    m->nsols = 0;
    int k = m->o.mht_k;
    for (size_t p = 0; p < m->par.nh; p++) {
        const hyp *ph = &m->par.h[p];
        int n = (int)ph->count, mc = ndet + n;
        vt_status s;
        if (n == 0) {
            if ((s = push_kid(m, ph->cost, (int)p, m->nsols)))
                return s;
            continue;
        }
        GROW(m->mat, m->cap_mat, (size_t)n * (size_t)mc);
        GROW(m->msols, m->cap_msols, (size_t)k * (size_t)n);
        GROW(m->totals, m->cap_totals, (size_t)k);
        for (int r = 0; r < n; r++) {
            double *row = m->mat + (size_t)r * (size_t)mc;
            for (int c = 0; c < mc; c++)
                row[c] = VT_ASSIGN_FORBIDDEN;
            row[ndet + r] = m->miss_cost;
            const slot *sl = &m->slots[m->nodes[m->par.e[ph->first + (size_t)r]].slot];
            for (size_t c = sl->first; c < sl->first + sl->ncand; c++)
                row[m->det_col[m->cands.c[c].det]] = pair_cost(m, &m->cands.c[c]);
        }
        int nsol;
        if ((s = vt__murty(&m->mw, m->mat, n, mc, k, m->prune, m->msols, m->totals, &nsol)))
            return s;
        GROW(m->sols, m->cap_sols, m->nsols + (size_t)nsol * (size_t)n);
        for (int q = 0; q < nsol; q++) {
            if ((s = push_kid(m, ph->cost + m->totals[q], (int)p, m->nsols)))
                return s;
            memcpy(m->sols + m->nsols, m->msols + (size_t)q * (size_t)n, (size_t)n * sizeof(int));
            m->nsols += (size_t)n;
        }
    }
    vt__sort(m->kids, m->nkids, sizeof *m->kids, cmp_child, NULL);
    return VT_OK;
}

/* The child of leaf `s` that takes candidate ci (made once per scan). */
static vt_status child_hit(vt__mht *m, const vt__dets *d, slot *s, size_t ci, int *out)
{
    if (m->cand_child[ci] < 0) {
        int n;
        vt_status st = node_new(m, &n);
        if (st)
            return st;
        node *leaf = &m->nodes[s->node], *c = &m->nodes[n];
        const vt__cand *cand = &m->cands.c[ci];
        double dv[3], dt = 0.0;
        c->kf = s->kf;
        vt__kf_update(&c->kf, &cand->in, dv);
        c->life = leaf->life;
        c->id = leaf->id;
        c->det = cand->det;
        c->parent = s->node;
        leaf->refs++;
        dt = m->dt;
        vt__life_hit(&c->life, &m->o, &d->d[cand->det], dt, dv);
        m->cand_child[ci] = n;
    }
    *out = m->cand_child[ci];
    return VT_OK;
}

/* The child of leaf `s` that misses; -1 when the miss deletes the track. */
static vt_status child_miss(vt__mht *m, slot *s, int *out)
{
    if (s->miss_child == -1) {
        node *leaf = &m->nodes[s->node];
        vt__life life = leaf->life;
        if (!vt__life_miss(&life, &m->o)) {
            s->miss_child = -2;
        } else {
            int n;
            vt_status st = node_new(m, &n);
            if (st)
                return st;
            node *c = &m->nodes[n];
            leaf = &m->nodes[s->node];
            c->kf = s->kf;
            c->life = life;
            c->id = leaf->id;
            c->parent = s->node;
            leaf->refs++;
            s->miss_child = n;
        }
    }
    *out = s->miss_child >= 0 ? s->miss_child : -1;
    return VT_OK;
}

static vt_status child_birth(vt__mht *m, const vt__dets *d, int j, uint64_t *next_id, int *out)
{
    if (m->det_birth[j] < 0) {
        int n;
        vt_status st = node_new(m, &n);
        if (st)
            return st;
        node *c = &m->nodes[n];
        vt__kf_init(&c->kf, d->d[j].pos, d->R[j], m->o.init_speed);
        vt__life_birth(&c->life, &d->d[j]);
        c->id = (*next_id)++;
        c->det = j;
        m->det_birth[j] = n;
    }
    *out = m->det_birth[j];
    return VT_OK;
}

/* Makes kid k a hypothesis of the next arena. */
static vt_status materialize(vt__mht *m, const vt__dets *d, const child *k, const int *dets,
                             int ndet, uint64_t *next_id)
{
    const hyp *ph = &m->par.h[k->parent];
    size_t n = ph->count, h;
    vt_status s = arena_hyp(&m->next, k->cost, n + (size_t)ndet, &h);
    if (s)
        return s;
    int stamp = ++m->stamp;
    for (size_t r = 0; r < n; r++) {
        slot *sl = &m->slots[m->nodes[m->par.e[ph->first + r]].slot];
        int col = m->sols[k->sol + r], c = -1;
        if (col < ndet) {
            size_t ci = sl->first;
            while (m->cands.c[ci].det != dets[col])
                ci++;
            s = child_hit(m, d, sl, ci, &c);
            m->det_used[dets[col]] = stamp;
        } else {
            s = child_miss(m, sl, &c);
        }
        if (s)
            return s;
        if (c >= 0) {
            m->nodes[c].refs++;
            m->next.e[m->next.ne++] = c;
        }
    }
    for (int q = 0; q < ndet; q++) {
        if (m->det_used[dets[q]] == stamp)
            continue;
        int c;
        if ((s = child_birth(m, d, dets[q], next_id, &c)))
            return s;
        m->nodes[c].refs++;
        m->next.e[m->next.ne++] = c;
    }
    m->next.h[h].count = m->next.ne - m->next.h[h].first;
    return VT_OK;
}

static void release_hyp(vt__mht *m, const arena *a, size_t h)
{
    for (size_t e = a->h[h].first; e < a->h[h].first + a->h[h].count; e++)
        node_release(m, a->e[e]);
}

/*
 * N-scan pruning of the hypotheses [h0, h0 + nh) of the next arena (best
 * first): those that disagree with the best on any tree's node at scan
 * now - N are dropped. Returns how many are left (moved to the front).
 */
static vt_status nscan_prune(vt__mht *m, size_t h0, size_t nh, size_t *kept)
{
    *kept = 0;
    if (nh == 0)
        return VT_OK;
    int s0 = m->scan - m->o.mht_scan;
    const hyp *best = &m->next.h[h0];
    GROW(m->anc_id, m->cap_anc_id, best->count);
    GROW(m->anc_node, m->cap_anc_node, best->count);
    size_t nb = 0;
    for (size_t e = best->first; e < best->first + best->count; e++) {
        int a = ancestor(m, m->next.e[e], s0);
        if (a >= 0) {
            m->anc_id[nb] = m->nodes[a].id;
            m->anc_node[nb++] = a;
        }
    }
    size_t keep = 1;
    for (size_t h = h0 + 1; h < h0 + nh; h++) {
        const hyp *hp = &m->next.h[h];
        size_t count = 0;
        bool ok = true;
        for (size_t e = hp->first; ok && e < hp->first + hp->count; e++) {
            int a = ancestor(m, m->next.e[e], s0);
            if (a < 0)
                continue;
            count++;
            size_t q = 0;
            while (q < nb && m->anc_id[q] != m->nodes[a].id)
                q++;
            ok = q < nb && m->anc_node[q] == a;
        }
        if (ok && count == nb)
            m->next.h[h0 + keep++] = *hp;
        else
            release_hyp(m, &m->next, h);
    }
    /* Everything above the agreed nodes is history no hypothesis can revise. */
    for (size_t h = h0; h < h0 + keep; h++)
        for (size_t e = m->next.h[h].first; e < m->next.h[h].first + m->next.h[h].count; e++) {
            int a = ancestor(m, m->next.e[e], s0);
            if (a >= 0 && m->nodes[a].parent >= 0) {
                int p = m->nodes[a].parent;
                m->nodes[a].parent = -1;
                node_release(m, p);
            }
        }
    *kept = keep;
    return VT_OK;
}

/* Adds the new cluster [h0, h0 + nh); one hypothesis splits into one cluster per tree. */
static vt_status add_cluster(vt__mht *m, size_t h0, size_t nh)
{
    arena *a = &m->next;
    if (nh > 1) {
        GROW(a->c, a->cap_c, a->nc + 1);
        double base = a->h[h0].cost;
        for (size_t h = h0; h < h0 + nh; h++)
            a->h[h].cost -= base;
        a->c[a->nc].first = h0;
        a->c[a->nc++].count = nh;
        return VT_OK;
    }
    /* The lone hypothesis' entries are handed over (with their references). */
    size_t first = a->h[h0].first, count = a->h[h0].count;
    for (size_t e = first; e < first + count; e++) {
        size_t h;
        vt_status s = arena_hyp(a, 0.0, 1, &h);
        if (s)
            return s;
        a->e[a->ne++] = a->e[e];
        a->h[h].count = 1;
        GROW(a->c, a->cap_c, a->nc + 1);
        a->c[a->nc].first = h;
        a->c[a->nc++].count = 1;
    }
    return VT_OK;
}

static vt_status process_component(vt__mht *m, const vt__dets *d, size_t c, uint64_t *next_id)
{
    const int *cls = m->comp_cl + m->comp_first_cl[c];
    const int *dets = m->comp_det + m->comp_first_det[c];
    int ndet = m->comp_ndet[c];
    for (int q = 0; q < ndet; q++)
        m->det_col[dets[q]] = q;
    vt_status s = combine_parents(m, cls, m->comp_ncl[c]);
    if (s || (s = expand(m, ndet)))
        return s;
    size_t keep = keep_best(m), h0 = m->next.nh, kept;
    for (size_t k = 0; k < keep; k++)
        if ((s = materialize(m, d, &m->kids[k], dets, ndet, next_id)))
            return s;
    if ((s = nscan_prune(m, h0, keep, &kept)))
        return s;
    return add_cluster(m, h0, kept);
}

static vt_status export_best(vt__mht *m, const vt__dets *d, vt_track **tracks, size_t *ntracks,
                             size_t *cap_tracks, uint64_t *assign)
{
    size_t n = 0;
    for (size_t c = 0; c < m->cur.nc; c++)
        n += m->cur.h[m->cur.c[c].first].count;
    if (vt__grow(tracks, cap_tracks, n, sizeof **tracks))
        return vt__error(VT_ENOMEM, "mht: no memory for %zu tracks", n);
    GROW(m->out_nodes, m->cap_out_nodes, n);
    for (size_t j = 0; j < d->n; j++)
        assign[j] = 0;
    n = 0;
    for (size_t c = 0; c < m->cur.nc; c++) {
        const hyp *h = &m->cur.h[m->cur.c[c].first];
        for (size_t e = h->first; e < h->first + h->count; e++) {
            const node *nd = &m->nodes[m->cur.e[e]];
            m->out_nodes[n++] = m->cur.e[e];
            if (nd->det >= 0 && nd->scan == m->scan)
                assign[nd->det] = nd->id;
        }
    }
    /* Sort the small indices, not the tracks. */
    vt__sort(m->out_nodes, n, sizeof *m->out_nodes, cmp_node_id, m->nodes);
    for (size_t i = 0; i < n; i++) {
        const node *nd = &m->nodes[m->out_nodes[i]];
        vt__track_export(nd->id, &nd->kf, &nd->life, &(*tracks)[i]);
    }
    *ntracks = n;
    return VT_OK;
}

vt_status vt__mht_update(vt__mht *m, double dt, const vt__dets *d, uint64_t *next_id,
                         vt_track **tracks, size_t *ntracks, size_t *cap_tracks, uint64_t *assign)
{
    m->scan++;
    m->dt = dt;
    size_t ncomp;
    vt_status s = collect_leaves(m, d, dt);
    if (s || (s = make_components(m, d, &ncomp)))
        return s;
    m->next.nh = m->next.ne = m->next.nc = 0;
    for (size_t c = 0; c < ncomp; c++)
        if ((s = process_component(m, d, c, next_id)))
            return s;
    for (size_t c = 0; c < m->cur.nc; c++)
        for (size_t h = m->cur.c[c].first; h < m->cur.c[c].first + m->cur.c[c].count; h++)
            release_hyp(m, &m->cur, h);
    arena swap = m->cur;
    m->cur = m->next;
    m->next = swap;
    return export_best(m, d, tracks, ntracks, cap_tracks, assign);
}
