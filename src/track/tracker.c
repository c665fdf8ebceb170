/*
 * src/track/tracker.c - the multi-target tracker behind vt_tracker (see
 * voxtrack/track.h): the global nearest neighbour (GNN) tracker, and what it
 * shares with the MHT back end (mht.c): track life cycle, gating, options.
 *
 * Per update (Blackman & Popoli, Design and Analysis of Modern Tracking
 * Systems, 1999, chapters 6 and 9):
 *   1. every track's filter is predicted to the update's time;
 *   2. gating: a detection is a candidate for a track when its Mahalanobis
 *      distance d^2 = y^T S^-1 y is within the chi-square gate. Detections
 *      are sorted by x once, and a track looks only at the x-window its gate
 *      can reach (the largest eigenvalue of S is at most its trace), so the
 *      cost grows with the candidates, not with tracks x detections;
 *   3. the bipartite gating graph is cut into connected clusters with a
 *      union-find. In a cluster, confirmed tracks choose before tentative
 *      ones (see assign_cascade); a track alone takes its nearest
 *      candidate, several are solved as an assignment problem (Jonker-Volgenant,
 *      assign.c) with cost d^2 per gated pair and one "missed" column per
 *      track at the cost of the gate, so that a track gives a contested
 *      detection away rather than take one at the edge of its gate;
 *   4. assigned tracks are updated, the others coast; unassigned detections
 *      start tentative tracks, in order of position so that ids do not depend
 *      on the detections' order, unless they lie in the gate of a confirmed
 *      track (then they are most likely a split or a ghost of its target).
 * The cost leaves out the ln|S| of the likelihood: with a "missed" option on
 * every row it would make uncertain tracks (new or coasting) refuse
 * detections inside their own gate; the gate already scales with S.
 *
 * Life cycle: a track is confirmed once M of its last N updates had a
 * detection, coasts while it misses, and is deleted after delete_misses
 * misses in a row (delete_tentative for a tentative one, which is also
 * dropped when still unconfirmed 2N updates after its birth). Ids count from
 * 1 and are never reused.
 *
 * accel_rms: at every hit after the third, the filter's velocity correction
 * divided by dt is a sample of the acceleration the measurements demand; its
 * exponentially weighted mean square (time constant ACC_TAU seconds, with
 * the weights normalised so that the first samples are not biased towards
 * zero) gives the RMS. A smooth flyer stays near the noise floor set by
 * process_accel and the measurement noise; an erratic one (a bird) scores
 * several times higher.
 *
 * All scratch memory is kept in the tracker and only grows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/uf.h"
#include "track/track_internal.h"
#include "track/tracker_opts.h"

#define ACC_TAU 1.0     /* seconds: time constant of accel_rms */
#define ACC_LP_TAU 0.25 /* seconds: low pass of the acceleration samples */

typedef struct gnn_track {
    uint64_t id;
    vt__kf kf;
    vt__life life;
    size_t first, ncand; /* its candidates in the scratch list */
    int det;             /* detection assigned in this update, -1 none */
} gnn_track;

struct vt_tracker {
    vt_tracker_opts o;
    double gate, q;
    bool started;
    double time;
    uint64_t next_id;
    vt__dets dets;

    gnn_track *trk;
    size_t ntrk, cap_trk;
    vt_track *out;
    size_t nout, cap_out;
    uint64_t *assign;
    size_t nassign, cap_assign;

    /* GNN scratch */
    vt__cands cands;
    uint32_t *uf;   /* union-find over tracks then detections (core/uf.h) */
    int *det_track; /* detection -> track index, -1 */
    unsigned char *det_blocked, *det_taken;
    int *cl_of_root, *cl_first, *cl_count, *cl_members;
    size_t cap_uf;
    double *cost;
    int *row_to_col, *cl_dets;
    size_t cap_cost, cap_rows;
    vt__assign_ws as;

    vt__mht *mht;
};

vt_tracker_opts vt_tracker_opts_default(void)
{
    vt_tracker_opts o = {
        .kind = VT_TRACKER_GNN,
        .process_accel = 3.0,
        .gate_prob = 0.999,
        .init_speed = 20.0,
        .confirm_m = 3,
        .confirm_n = 4,
        .delete_misses = 5,
        .delete_tentative = 2,
        .min_pos_sigma = 0.05,
        .mht_scan = 3,
        .mht_k = 10,
        .clutter_density = 1e-9,
        .detect_prob = 0.95,
    };
    return o;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static int popcount32(uint32_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

void vt__life_birth(vt__life *l, const vt_detection *d)
{
    memset(l, 0, sizeof *l);
    l->status = VT_TRACK_TENTATIVE;
    l->hits = 1;
    l->hist = 1;
    l->cams = d->ncameras;
    l->camera_mask = d->cameras;
    l->thermal = d->nthermal;
    l->thermal_hits = d->nthermal > 0;
}

void vt__life_hit(vt__life *l, const vt_tracker_opts *o, const vt_detection *d, double dt,
                  const double dv[3])
{
    l->age++;
    l->hits++;
    l->misses = 0;
    l->hist = (l->hist << 1) | 1u;
    l->cams = d->ncameras;
    l->camera_mask = d->cameras;
    l->thermal = d->nthermal;
    l->thermal_hits += d->nthermal > 0;
    uint32_t window = o->confirm_n >= 32 ? 0xffffffffu : (1u << o->confirm_n) - 1u;
    if (l->status == VT_TRACK_TENTATIVE) {
        if (popcount32(l->hist & window) >= o->confirm_m)
            l->status = VT_TRACK_CONFIRMED;
    } else {
        l->status = VT_TRACK_CONFIRMED;
    }
    /* The first two corrections mostly find the unknown initial velocity. */
    if (dt > 0.0 && l->hits > 3 && dv) {
        double lp = 1.0 - exp(-dt / ACC_LP_TAU), a2 = 0.0;
        for (int i = 0; i < 3; i++) {
            l->acc_lp[i] += lp * (dv[i] / dt - l->acc_lp[i]);
            a2 += l->acc_lp[i] * l->acc_lp[i];
        }
        double w = 1.0 - exp(-dt / ACC_TAU);
        l->acc_num = (1.0 - w) * l->acc_num + w * a2;
        l->acc_den = (1.0 - w) * l->acc_den + w;
    }
}

bool vt__life_miss(vt__life *l, const vt_tracker_opts *o)
{
    l->age++;
    l->misses++;
    l->hist <<= 1;
    if (l->status == VT_TRACK_TENTATIVE)
        return l->misses < o->delete_tentative && l->age < 2 * o->confirm_n;
    l->status = VT_TRACK_COASTING;
    return l->misses < o->delete_misses;
}

void vt__track_export(uint64_t id, const vt__kf *kf, const vt__life *l, vt_track *out)
{
    out->id = id;
    out->status = l->status;
    out->pos = vt_v3(kf->x[0], kf->x[1], kf->x[2]);
    out->vel = vt_v3(kf->x[3], kf->x[4], kf->x[5]);
    vt__kf_pos_cov(kf, out->cov);
    out->cams = l->cams;
    out->camera_mask = l->camera_mask;
    out->thermal = l->thermal;
    out->thermal_hits = l->thermal_hits;
    out->hits = l->hits;
    out->misses = l->misses;
    out->age = l->age;
    out->accel_rms = l->acc_den > 0.0 ? (float)sqrt(l->acc_num / l->acc_den) : 0.0f;
}

/* ------------------------------------------------------------------------ */
/* Detections and gating                                                     */

void vt__dets_free(vt__dets *d)
{
    free(d->R);
    free(d->trR);
    free(d->order);
    free(d->xs);
    free(d->rank);
    memset(d, 0, sizeof *d);
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    unsigned char t[64];
    while (size) {
        size_t n = size < sizeof t ? size : sizeof t;
        memcpy(t, a, n);
        memcpy(a, b, n);
        memcpy(b, t, n);
        a += n, b += n, size -= n;
    }
}

void vt__sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *a, const void *b, const void *ctx), const void *ctx)
{
    unsigned char *a = base;
    if (n < 2)
        return;
    /* Build a max-heap, then move its top to the end n - 1 times. */
    for (size_t end = n, start = n / 2; end > 1;) {
        size_t root;
        if (start > 0) {
            root = --start;
        } else {
            swap_bytes(a, a + (--end) * size, size);
            root = 0;
        }
        for (size_t child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && cmp(a + child * size, a + (child + 1) * size, ctx) < 0)
                child++;
            if (cmp(a + root * size, a + child * size, ctx) >= 0)
                break;
            swap_bytes(a + root * size, a + child * size, size);
        }
    }
}

static int cmp_det(const void *pa, const void *pb, const void *ctx)
{
    const vt_detection *dets = ctx;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const vt_vec3 *p = &dets[a].pos, *q = &dets[b].pos;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    if (p->z != q->z)
        return p->z < q->z ? -1 : 1;
    return a < b ? -1 : a > b;
}

vt_status vt__dets_prepare(vt__dets *d, const vt_detection *dets, size_t n, double min_sigma)
{
    void *const arrays[] = {&d->R, &d->trR, &d->order, &d->xs, &d->rank};
    const size_t elems[] = {sizeof *d->R, sizeof *d->trR, sizeof *d->order, sizeof *d->xs,
                            sizeof *d->rank};
    if (vt__grow_group(arrays, elems, 5, &d->cap, n))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu detections", n);
    d->n = n;
    d->d = dets;
    d->max_trR = 0.0;
    for (size_t i = 0; i < n; i++) {
        const vt_vec3 *p = &dets[i].pos;
        if (!isfinite(p->x) || !isfinite(p->y) || !isfinite(p->z))
            return vt__error(VT_EINVAL, "tracker: detection %zu: position is not finite", i);
        if (!vt__kf_meas_cov(dets[i].cov, min_sigma, d->R[i]))
            return vt__error(VT_EINVAL, "tracker: detection %zu: covariance is not finite", i);
        d->trR[i] = d->R[i][0][0] + d->R[i][1][1] + d->R[i][2][2];
        d->max_trR = fmax(d->max_trR, d->trR[i]);
        d->order[i] = (uint32_t)i;
    }
    vt__sort(d->order, n, sizeof *d->order, cmp_det, dets);
    for (size_t k = 0; k < n; k++) {
        d->xs[k] = dets[d->order[k]].pos.x;
        d->rank[d->order[k]] = (uint32_t)k;
    }
    return VT_OK;
}

static vt_status cands_push(vt__cands *c, int det, const vt__innov *in)
{
    if (vt__grow(&c->c, &c->cap, c->n + 1, sizeof *c->c))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu gate candidates", c->n + 1);
    c->c[c->n].det = det;
    c->c[c->n].in = *in;
    c->n++;
    return VT_OK;
}

vt_status vt__gate(const vt__dets *d, const vt__kf *kf, double gate, vt__cands *out)
{
    if (d->n == 0)
        return VT_OK;
    double trP = kf->P[0][0] + kf->P[1][1] + kf->P[2][2];
    /* d^2 >= |y|^2 / lambda_max(S) >= |y|^2 / tr(S): outside this, no candidate. */
    double reach = sqrt(gate * (trP + d->max_trR));
    double x0 = kf->x[0] - reach, x1 = kf->x[0] + reach;
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->xs[mid] < x0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < d->n && d->xs[k] <= x1; k++) {
        uint32_t j = d->order[k];
        const vt_vec3 *p = &d->d[j].pos;
        double dx = p->x - kf->x[0], dy = p->y - kf->x[1], dz = p->z - kf->x[2];
        if (dx * dx + dy * dy + dz * dz > gate * (trP + d->trR[j]))
            continue;
        vt__innov in;
        if (!vt__kf_innovation(kf, *p, d->R[j], &in) || in.d2 > gate)
            continue;
        vt_status s = cands_push(out, (int)j, &in);
        if (s)
            return s;
    }
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Handle                                                                    */

vt_status vt_tracker_new(const vt_tracker_opts *opts, vt_tracker **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_tracker_new: out is NULL");
    *out = NULL;
    vt_tracker_opts o = opts ? *opts : vt_tracker_opts_default();
    vt_status s = vt__tracker_opts_check("vt_tracker_new", &o);
    if (s)
        return s;
    vt_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return vt__error(VT_ENOMEM, "vt_tracker_new: no memory");
    t->o = o;
    t->gate = vt_chi2_3dof(o.gate_prob);
    t->q = o.process_accel * o.process_accel;
    t->next_id = 1;
    if (o.kind == VT_TRACKER_MHT && (s = vt__mht_new(&t->o, &t->mht))) {
        free(t);
        return s;
    }
    *out = t;
    return VT_OK;
}

void vt_tracker_free(vt_tracker *t)
{
    if (!t)
        return;
    vt__mht_free(t->mht);
    vt__dets_free(&t->dets);
    free(t->trk);
    free(t->out);
    free(t->assign);
    free(t->cands.c);
    free(t->uf);
    free(t->det_track);
    free(t->det_blocked);
    free(t->det_taken);
    free(t->cl_of_root);
    free(t->cl_first);
    free(t->cl_count);
    free(t->cl_members);
    free(t->cost);
    free(t->row_to_col);
    free(t->cl_dets);
    vt__assign_ws_free(&t->as);
    free(t);
}

const vt_track *vt_tracker_tracks(const vt_tracker *t, size_t *count)
{
    if (count)
        *count = t ? t->nout : 0;
    return t ? t->out : NULL;
}

const uint64_t *vt_tracker_assignments(const vt_tracker *t, size_t *count)
{
    if (count)
        *count = t ? t->nassign : 0;
    return t ? t->assign : NULL;
}

/* ------------------------------------------------------------------------ */
/* GNN                                                                       */

static vt_status reserve_gnn(vt_tracker *t, size_t ntrk, size_t ndet)
{
    size_t nodes = ntrk + ndet;
    void *const arrays[] = {&t->uf,       &t->det_track,   &t->cl_of_root,
                            &t->cl_first, &t->cl_count,    &t->cl_members,
                            &t->cl_dets,  &t->det_blocked, &t->det_taken};
    const size_t elems[] = {sizeof *t->uf,       sizeof *t->det_track,   sizeof *t->cl_of_root,
                            sizeof *t->cl_first, sizeof *t->cl_count,    sizeof *t->cl_members,
                            sizeof *t->cl_dets,  sizeof *t->det_blocked, sizeof *t->det_taken};
    if (vt__grow_group(arrays, elems, 9, &t->cap_uf, nodes))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu tracks", nodes);
    if (vt__grow(&t->trk, &t->cap_trk, ntrk + ndet, sizeof *t->trk))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu tracks", ntrk + ndet);
    return VT_OK;
}

/* Gates every predicted track and links tracks and detections that gate. */
static vt_status gate_all(vt_tracker *t)
{
    size_t nt = t->ntrk, nd = t->dets.n;
    t->cands.n = 0;
    vt__uf_init(t->uf, nt + nd);
    for (size_t j = 0; j < nd; j++) {
        t->det_track[j] = -1;
        t->det_blocked[j] = 0;
        t->det_taken[j] = 0;
    }
    for (size_t i = 0; i < nt; i++) {
        gnn_track *k = &t->trk[i];
        k->first = t->cands.n;
        vt_status s = vt__gate(&t->dets, &k->kf, t->gate, &t->cands);
        if (s)
            return s;
        k->ncand = t->cands.n - k->first;
        k->det = -1;
        for (size_t c = k->first; c < k->first + k->ncand; c++) {
            int j = t->cands.c[c].det;
            vt__uf_union(t->uf, (uint32_t)i, (uint32_t)(nt + (size_t)j));
            if (k->life.status != VT_TRACK_TENTATIVE)
                t->det_blocked[j] = 1;
        }
    }
    return VT_OK;
}

/* Groups the tracks that have candidates by cluster (counting sort on the root). */
static size_t make_clusters(vt_tracker *t)
{
    size_t nt = t->ntrk, nd = t->dets.n, ncl = 0;
    for (size_t k = 0; k < nt + nd; k++)
        t->cl_of_root[k] = -1;
    for (size_t i = 0; i < nt; i++) {
        if (!t->trk[i].ncand)
            continue;
        uint32_t r = vt__uf_find(t->uf, (uint32_t)i);
        if (t->cl_of_root[r] < 0) {
            t->cl_of_root[r] = (int)ncl;
            t->cl_count[ncl++] = 0;
        }
        t->cl_count[t->cl_of_root[r]]++;
    }
    int sum = 0;
    for (size_t c = 0; c < ncl; c++) {
        t->cl_first[c] = sum;
        sum += t->cl_count[c];
        t->cl_count[c] = 0;
    }
    for (size_t i = 0; i < nt; i++) {
        if (!t->trk[i].ncand)
            continue;
        int c = t->cl_of_root[vt__uf_find(t->uf, (uint32_t)i)];
        t->cl_members[t->cl_first[c] + t->cl_count[c]++] = (int)i;
    }
    return ncl;
}

/* The nearest free candidate of a track that competes with no other. */
static void assign_single(vt_tracker *t, gnn_track *k)
{
    size_t best = 0;
    double d2 = INFINITY;
    for (size_t c = k->first; c < k->first + k->ncand; c++)
        if (!t->det_taken[t->cands.c[c].det] && t->cands.c[c].in.d2 < d2) {
            best = c;
            d2 = t->cands.c[c].in.d2;
        }
    if (d2 < INFINITY) {
        k->det = (int)best; /* index of the chosen candidate */
        t->det_taken[t->cands.c[best].det] = 1;
    }
}

/* Rows: the cluster's tracks; columns: its detections, then one "missed" per track. */
static vt_status assign_cluster(vt_tracker *t, const int *members, int ntr)
{
    const vt__dets *d = &t->dets;
    int ndet = 0;
    for (int r = 0; r < ntr; r++) {
        const gnn_track *k = &t->trk[members[r]];
        for (size_t c = k->first; c < k->first + k->ncand; c++) {
            int j = t->cands.c[c].det;
            if (t->det_track[j] == -1 && !t->det_taken[j]) {
                t->det_track[j] = -2; /* seen */
                t->cl_dets[ndet++] = j;
            }
        }
    }
    /* Columns in position order: the solution does not depend on the input order. */
    for (int a = 1; a < ndet; a++) {
        int v = t->cl_dets[a], b = a;
        for (; b > 0 && d->rank[t->cl_dets[b - 1]] > d->rank[v]; b--)
            t->cl_dets[b] = t->cl_dets[b - 1];
        t->cl_dets[b] = v;
    }
    for (int c = 0; c < ndet; c++)
        t->det_track[t->cl_dets[c]] = -3 - c; /* column c */

    int m = ndet + ntr;
    size_t cells = (size_t)ntr * (size_t)m;
    if (vt__grow(&t->cost, &t->cap_cost, cells, sizeof *t->cost) ||
        vt__grow(&t->row_to_col, &t->cap_rows, (size_t)ntr, sizeof *t->row_to_col))
        return vt__error(VT_ENOMEM, "tracker: no memory for a %d x %d assignment", ntr, m);
    for (int r = 0; r < ntr; r++) {
        double *row = t->cost + (size_t)r * (size_t)m;
        for (int c = 0; c < ndet; c++)
            row[c] = VT_ASSIGN_FORBIDDEN;
        for (int c = ndet; c < m; c++)
            row[c] = t->gate;
        const gnn_track *k = &t->trk[members[r]];
        for (size_t c = k->first; c < k->first + k->ncand; c++)
            if (!t->det_taken[t->cands.c[c].det])
                row[-3 - t->det_track[t->cands.c[c].det]] = t->cands.c[c].in.d2;
    }
    if (ndet == 0)
        return VT_OK;
    vt_status s = vt__assign_solve(&t->as, t->cost, ntr, m, t->row_to_col, NULL);
    if (s)
        return s;
    for (int r = 0; r < ntr; r++) {
        gnn_track *k = &t->trk[members[r]];
        int col = t->row_to_col[r];
        if (col < 0 || col >= ndet)
            continue;
        for (size_t c = k->first; c < k->first + k->ncand; c++)
            if (t->cands.c[c].det == t->cl_dets[col])
                k->det = (int)c;
        t->det_taken[t->cl_dets[col]] = 1;
    }
    for (int c = 0; c < ndet; c++)
        t->det_track[t->cl_dets[c]] = -1;
    return VT_OK;
}

/* Solves one group of rows over the detections not taken yet. */
static vt_status assign_rows(vt_tracker *t, const int *rows, int n)
{
    if (n == 1) {
        assign_single(t, &t->trk[rows[0]]);
        return VT_OK;
    }
    return n > 1 ? assign_cluster(t, rows, n) : VT_OK;
}

/*
 * Confirmed (and coasting) tracks choose first; tentative tracks share what
 * is left. A new track's wide gate would otherwise let it take the detection
 * of a confirmed track that is a little off its prediction, and then replace
 * it (the matching cascade of Wojke et al., "Simple online and realtime
 * tracking with a deep association metric", 2017, by track status).
 */
static vt_status assign_cascade(vt_tracker *t, int *members, int n)
{
    /* Stable partition, confirmed first. cl_dets is free until assign_cluster runs. */
    int *tentative = t->cl_dets, nconf = 0;
    for (int r = 0; r < n; r++) {
        if (t->trk[members[r]].life.status != VT_TRACK_TENTATIVE)
            members[nconf++] = members[r];
        else
            tentative[r - nconf] = members[r];
    }
    memcpy(members + nconf, tentative, (size_t)(n - nconf) * sizeof *members);
    vt_status s = assign_rows(t, members, nconf);
    if (s)
        return s;
    return assign_rows(t, members + nconf, n - nconf);
}

/* Updates, coasts and deletes tracks; returns how many are left (compacted, in id order). */
static size_t apply_gnn(vt_tracker *t, double dt)
{
    size_t kept = 0;
    for (size_t i = 0; i < t->ntrk; i++) {
        gnn_track *k = &t->trk[i];
        if (k->det >= 0) {
            const vt__cand *c = &t->cands.c[k->det];
            double dv[3];
            vt__kf_update(&k->kf, &c->in, dv);
            vt__life_hit(&k->life, &t->o, &t->dets.d[c->det], dt, dv);
            t->assign[c->det] = k->id;
            t->det_track[c->det] = (int)i;
        } else if (!vt__life_miss(&k->life, &t->o)) {
            continue;
        }
        t->trk[kept++] = *k;
    }
    return kept;
}

static void birth(vt_tracker *t, gnn_track *k, size_t j)
{
    const vt_detection *det = &t->dets.d[j];
    memset(k, 0, sizeof *k);
    k->id = t->next_id++;
    vt__kf_init(&k->kf, det->pos, t->dets.R[j], t->o.init_speed);
    vt__life_birth(&k->life, det);
    k->det = -1;
    t->assign[j] = k->id;
}

static vt_status gnn_update(vt_tracker *t, double dt)
{
    size_t nd = t->dets.n;
    vt_status s = reserve_gnn(t, t->ntrk, nd);
    if (s)
        return s;
    for (size_t i = 0; i < t->ntrk; i++)
        vt__kf_predict(&t->trk[i].kf, dt, t->q);
    if ((s = gate_all(t)))
        return s;
    size_t ncl = make_clusters(t);
    for (size_t c = 0; c < ncl; c++)
        if ((s = assign_cascade(t, t->cl_members + t->cl_first[c], t->cl_count[c])))
            return s;
    for (size_t j = 0; j < nd; j++)
        t->assign[j] = 0;
    t->ntrk = apply_gnn(t, dt);
    for (size_t r = 0; r < nd; r++) {
        uint32_t j = t->dets.order[r];
        if (t->det_track[j] < 0 && !t->det_blocked[j])
            birth(t, &t->trk[t->ntrk++], j);
    }
    if (vt__grow(&t->out, &t->cap_out, t->ntrk, sizeof *t->out))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu tracks", t->ntrk);
    for (size_t i = 0; i < t->ntrk; i++)
        vt__track_export(t->trk[i].id, &t->trk[i].kf, &t->trk[i].life, &t->out[i]);
    t->nout = t->ntrk;
    return VT_OK;
}

vt_status vt_tracker_update(vt_tracker *t, double time, const vt_detection *dets, size_t count)
{
    if (!t || (count && !dets))
        return vt__error(VT_EINVAL, "vt_tracker_update: %s is NULL", t ? "dets" : "tracker");
    if (!isfinite(time))
        return vt__error(VT_EINVAL, "vt_tracker_update: time %g is not finite", time);
    if (t->started && time < t->time)
        return vt__error(VT_EINVAL, "vt_tracker_update: time goes back from %.9f s to %.9f s",
                         t->time, time);
    if (count > (size_t)1 << 30)
        return vt__error(VT_EINVAL, "vt_tracker_update: %zu detections is too many", count);
    vt_status s = vt__dets_prepare(&t->dets, dets, count, t->o.min_pos_sigma);
    if (s)
        return s;
    if (vt__grow(&t->assign, &t->cap_assign, count, sizeof *t->assign))
        return vt__error(VT_ENOMEM, "tracker: no memory for %zu detections", count);
    double dt = t->started ? time - t->time : 0.0;
    if (t->mht)
        s = vt__mht_update(t->mht, dt, &t->dets, &t->next_id, &t->out, &t->nout, &t->cap_out,
                           t->assign);
    else
        s = gnn_update(t, dt);
    if (s)
        return s;
    t->time = time;
    t->started = true;
    t->nassign = count;
    return VT_OK;
}

/* ---- the kinds' names ---- */

static const char *const kind_names[] = {"gnn", "mht"};

vt_status vt_tracker_kind_parse(const char *text, vt_tracker_kind *out)
{
    for (int k = 0; k < 2; k++)
        if (text && strcmp(text, kind_names[k]) == 0) {
            if (out)
                *out = (vt_tracker_kind)k;
            return VT_OK;
        }
    return vt__error(VT_EINVAL, "tracker '%s': expected gnn or mht", text ? text : "");
}

const char *vt_tracker_kind_name(vt_tracker_kind kind)
{
    return (unsigned)kind < 2 ? kind_names[kind] : "?";
}
