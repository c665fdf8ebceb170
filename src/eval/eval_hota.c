/*
 * src/eval/eval_hota.c - HOTA, Higher Order Tracking Accuracy (Luiten et
 * al., "HOTA: A higher order metric for evaluating multi-object tracking",
 * IJCV 2021), as TrackEval computes it, with a Euclidean similarity
 * S = max(0, 1 - d / hota_zero) in place of the box IoU (docs/EVAL.md).
 *
 * It takes two passes over the frames. The first (as frames arrive) adds up,
 * for every (truth, track) pair, its soft IoU per frame S / (row sum + column
 * sum - S); at the end this gives each pair a global alignment score
 * A = summed / (frames of the truth + frames of the track - summed). The
 * second (in vt_eval_result_get, over the similarities kept from the first)
 * matches each frame by the assignment that maximises sum A * S, and for
 * each alpha = 0.05 ... 0.95 counts the matches with S >= alpha as true
 * positives: DetA = TP / (TP + FN + FP), AssA = the mean over the TPs of
 * the matched pair's association IoU, HOTA(alpha) = sqrt(DetA AssA), and
 * HOTA is the mean over alpha. Only pairs with S > 0 are kept: a pair of
 * zero similarity can never be a match at any alpha, and adds 0 to both the
 * soft IoU and the assignment's objective.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "eval/eval_internal.h"
#include "voxtrack/track.h"

void vt__eval_hota_free(vt__eval_hota *h)
{
    vt__eval_map_free(&h->ix);
    free(h->pair_truth);
    free(h->pair_track);
    free(h->potential);
    free(h->sims);
    free(h->frame_end);
    free(h->rowsum);
    free(h->colsum);
    memset(h, 0, sizeof *h);
}

/* The pair number of (truth state t, track state k), created when new; UINT32_MAX on ENOMEM. */
static uint32_t pair_of(vt__eval_hota *h, uint32_t t, uint32_t k)
{
    if (vt__grow(&h->pair_truth, &h->cap_pt, h->npairs + 1, sizeof *h->pair_truth) ||
        vt__grow(&h->pair_track, &h->cap_pk, h->npairs + 1, sizeof *h->pair_track) ||
        vt__grow(&h->potential, &h->cap_pp, h->npairs + 1, sizeof *h->potential))
        return UINT32_MAX;
    bool fresh;
    uint32_t *v = vt__eval_map_put(&h->ix, (uint64_t)t << 32 | k, &fresh);
    if (!v)
        return UINT32_MAX;
    if (fresh) {
        *v = (uint32_t)h->npairs;
        h->pair_truth[h->npairs] = t;
        h->pair_track[h->npairs] = k;
        h->potential[h->npairs++] = 0.0;
    }
    return *v;
}

vt_status vt__eval_hota_frame(vt_eval *e, size_t nd, size_t nk)
{
    vt__eval_hota *h = &e->hota;
    double zero = h->zero;
    if (vt__grow(&h->rowsum, &h->cap_rows, nd + 1, sizeof *h->rowsum) ||
        vt__grow(&h->colsum, &h->cap_cols, nk + 1, sizeof *h->colsum) ||
        vt__grow(&h->frame_end, &h->cap_frames, h->nframes + 1, sizeof *h->frame_end))
        return vt__error(VT_ENOMEM, "eval: out of memory for HOTA");
    memset(h->rowsum, 0, nd * sizeof *h->rowsum);
    memset(h->colsum, 0, nk * sizeof *h->colsum);
    for (size_t i = 0; i < nd; i++)
        for (size_t j = 0; j < nk; j++) {
            double s = 1.0 - e->dist[i * nk + j] / zero;
            if (s > 0.0) {
                h->rowsum[i] += s;
                h->colsum[j] += s;
            }
        }
    for (size_t i = 0; i < nd; i++)
        for (size_t j = 0; j < nk; j++) {
            double s = 1.0 - e->dist[i * nk + j] / zero;
            if (!(s > 0.0))
                continue;
            uint32_t p = pair_of(h, e->fds[i], e->fts[j]);
            if (p == UINT32_MAX || vt__grow(&h->sims, &h->cap_sims, h->nsims + 1, sizeof *h->sims))
                return vt__error(VT_ENOMEM, "eval: out of memory for HOTA");
            h->potential[p] += s / (h->rowsum[i] + h->colsum[j] - s);
            h->sims[h->nsims++] = (vt__eval_sim){p, s};
        }
    h->gt += (int64_t)nd;
    h->tracks += (int64_t)nk;
    h->frame_end[h->nframes++] = h->nsims;
    return VT_OK;
}

/* The second pass's working memory. */
typedef struct pass2 {
    double *align;        /* per pair: the global alignment score A */
    int64_t *mc;          /* per alpha and pair: frames matched at that alpha */
    int *row_of, *col_of; /* per truth / track state: its node in this frame, or -1 */
    uint32_t *node_state; /* per node: its truth (rows) or track (columns) state */
    uint8_t *is_row;      /* per node: a row (truth) */
    int *parent, *local;  /* per node: union-find parent; index within its component */
    int *start;           /* per node + 1: where its component's similarities start in order */
    int *nrow, *ncol, *fill;
    int *order; /* the frame's similarities grouped by component */
    double *cost, *sim;
    uint32_t *pairs;
    int *r2c;
    size_t cap_cost, cap_sim, cap_pairs, cap_r2c;
    int64_t tp[VT_EVAL_HOTA_ALPHAS];
    double loc[VT_EVAL_HOTA_ALPHAS];
} pass2;

static int uf_root(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

static void count_match(size_t npairs, pass2 *w, uint32_t pair, double s)
{
    for (int a = 0; a < VT_EVAL_HOTA_ALPHAS; a++)
        if (s >= 0.05 * (a + 1) - DBL_EPSILON) {
            w->tp[a]++;
            w->loc[a] += s;
            w->mc[(size_t)a * npairs + pair]++;
        }
}

/*
 * One component: its similarities are sims[order[b .. e)], its n rows and k
 * columns numbered by w->local. The assignment maximises sum A * S (cost
 * -A S; pairs without a similarity cost 0 and are never matches).
 */
static vt_status match_component(const vt__eval_hota *h, pass2 *w, const vt__eval_sim *sims, int b,
                                 int e, int n, int k)
{
    size_t cells = (size_t)n * (size_t)k;
    if (vt__grow(&w->cost, &w->cap_cost, cells, sizeof *w->cost) ||
        vt__grow(&w->sim, &w->cap_sim, cells, sizeof *w->sim) ||
        vt__grow(&w->pairs, &w->cap_pairs, cells, sizeof *w->pairs) ||
        vt__grow(&w->r2c, &w->cap_r2c, (size_t)n, sizeof *w->r2c))
        return vt__error(VT_ENOMEM, "eval: out of memory for HOTA");
    memset(w->cost, 0, cells * sizeof *w->cost);
    for (int x = b; x < e; x++) {
        const vt__eval_sim *q = &sims[w->order[x]];
        int r = w->local[w->row_of[h->pair_truth[q->pair]]];
        int c = w->local[w->col_of[h->pair_track[q->pair]]];
        size_t cell = (size_t)r * (size_t)k + (size_t)c;
        w->cost[cell] = -w->align[q->pair] * q->sim;
        w->sim[cell] = q->sim;
        w->pairs[cell] = q->pair;
    }
    vt_status s = vt_assign(w->cost, n, k, w->r2c, NULL);
    if (s != VT_OK)
        return vt__error_prefix(s, "eval: HOTA matching");
    for (int r = 0; r < n; r++) {
        int c = w->r2c[r];
        size_t cell = (size_t)r * (size_t)k + (size_t)c;
        if (c >= 0 && w->cost[cell] < 0.0)
            count_match(h->npairs, w, w->pairs[cell], w->sim[cell]);
    }
    return VT_OK;
}

static int root_of_sim(const vt__eval_hota *h, pass2 *w, const vt__eval_sim *q)
{
    return uf_root(w->parent, w->row_of[h->pair_truth[q->pair]]);
}

/* Matches one frame's similarities sims[0..m), component by component. */
static vt_status match_frame(const vt__eval_hota *h, pass2 *w, const vt__eval_sim *sims, int m)
{
    /* Rows and columns are numbered in one sequence; is_row tells them apart. */
    int nodes = 0;
    for (int x = 0; x < m; x++) {
        uint32_t t = h->pair_truth[sims[x].pair], k = h->pair_track[sims[x].pair];
        if (w->row_of[t] < 0) {
            w->node_state[nodes] = t;
            w->is_row[nodes] = 1;
            w->row_of[t] = nodes++;
        }
        if (w->col_of[k] < 0) {
            w->node_state[nodes] = k;
            w->is_row[nodes] = 0;
            w->col_of[k] = nodes++;
        }
    }
    for (int x = 0; x < nodes; x++)
        w->parent[x] = x;
    for (int x = 0; x < m; x++) {
        int a = uf_root(w->parent, w->row_of[h->pair_truth[sims[x].pair]]);
        int c = uf_root(w->parent, w->col_of[h->pair_track[sims[x].pair]]);
        if (a != c)
            w->parent[a > c ? a : c] = a < c ? a : c;
    }
    /* The similarities grouped by root (a counting sort); rows and columns numbered per root. */
    memset(w->start, 0, (size_t)(nodes + 1) * sizeof *w->start);
    memset(w->nrow, 0, (size_t)nodes * sizeof *w->nrow);
    memset(w->ncol, 0, (size_t)nodes * sizeof *w->ncol);
    for (int x = 0; x < m; x++)
        w->start[root_of_sim(h, w, &sims[x]) + 1]++;
    for (int x = 0; x < nodes; x++)
        w->start[x + 1] += w->start[x];
    memcpy(w->fill, w->start, (size_t)nodes * sizeof *w->fill);
    for (int x = 0; x < m; x++)
        w->order[w->fill[root_of_sim(h, w, &sims[x])]++] = x;
    for (int x = 0; x < nodes; x++) {
        int r = uf_root(w->parent, x);
        w->local[x] = w->is_row[x] ? w->nrow[r]++ : w->ncol[r]++;
    }
    vt_status s = VT_OK;
    for (int r = 0; r < nodes && s == VT_OK; r++)
        if (w->start[r + 1] > w->start[r])
            s = match_component(h, w, sims, w->start[r], w->start[r + 1], w->nrow[r], w->ncol[r]);
    for (int x = 0; x < m; x++) {
        w->row_of[h->pair_truth[sims[x].pair]] = -1;
        w->col_of[h->pair_track[sims[x].pair]] = -1;
    }
    return s;
}

static void pass2_free(pass2 *w)
{
    free(w->align);
    free(w->mc);
    free(w->row_of);
    free(w->col_of);
    free(w->node_state);
    free(w->is_row);
    free(w->parent);
    free(w->local);
    free(w->start);
    free(w->nrow);
    free(w->ncol);
    free(w->fill);
    free(w->order);
    free(w->cost);
    free(w->sim);
    free(w->pairs);
    free(w->r2c);
}

/* The largest number of similarities in one frame. */
static size_t widest_frame(const vt__eval_hota *h)
{
    size_t most = 0, from = 0;
    for (size_t f = 0; f < h->nframes; f++) {
        size_t m = h->frame_end[f] - from;
        most = m > most ? m : most;
        from = h->frame_end[f];
    }
    return most;
}

static bool pass2_alloc(const vt_eval *e, pass2 *w)
{
    const vt__eval_hota *h = &e->hota;
    size_t np = h->npairs ? h->npairs : 1, m = widest_frame(h) + 1, nodes = 2 * m;
    w->align = malloc(np * sizeof *w->align);
    w->mc = calloc(np * VT_EVAL_HOTA_ALPHAS, sizeof *w->mc);
    w->row_of = malloc((e->ntruths + 1) * sizeof *w->row_of);
    w->col_of = malloc((e->ntracks + 1) * sizeof *w->col_of);
    w->node_state = malloc(nodes * sizeof *w->node_state);
    w->is_row = malloc(nodes);
    w->parent = malloc(nodes * sizeof *w->parent);
    w->local = malloc(nodes * sizeof *w->local);
    w->start = malloc((nodes + 1) * sizeof *w->start);
    w->nrow = malloc(nodes * sizeof *w->nrow);
    w->ncol = malloc(nodes * sizeof *w->ncol);
    w->fill = malloc(nodes * sizeof *w->fill);
    w->order = malloc(m * sizeof *w->order);
    if (!w->align || !w->mc || !w->row_of || !w->col_of || !w->node_state || !w->is_row ||
        !w->parent || !w->local || !w->start || !w->nrow || !w->ncol || !w->fill || !w->order)
        return false;
    memset(w->row_of, -1, (e->ntruths + 1) * sizeof *w->row_of);
    memset(w->col_of, -1, (e->ntracks + 1) * sizeof *w->col_of);
    for (size_t p = 0; p < h->npairs; p++) {
        double pot = h->potential[p];
        double frames =
            (double)e->truths[h->pair_truth[p]].frames + (double)e->tracks[h->pair_track[p]].frames;
        w->align[p] = pot / (frames - pot);
    }
    return true;
}

/* Sum over the pairs of mc * (association IoU), for alpha a. */
static double association(const vt_eval *e, const pass2 *w, int a)
{
    const vt__eval_hota *h = &e->hota;
    double sum = 0.0;
    for (size_t p = 0; p < h->npairs; p++) {
        double c = (double)w->mc[(size_t)a * h->npairs + p];
        if (c > 0.0)
            sum += c * c /
                   ((double)e->truths[h->pair_truth[p]].frames +
                    (double)e->tracks[h->pair_track[p]].frames - c);
    }
    return sum;
}

vt_status vt__eval_hota_result(const vt_eval *e, vt_eval_result *r)
{
    const vt__eval_hota *h = &e->hota;
    r->hota = r->deta = r->assa = r->loca = NAN;
    for (int a = 0; a < VT_EVAL_HOTA_ALPHAS; a++)
        r->hota_alpha[a] = NAN;
    if (h->gt + h->tracks == 0)
        return VT_OK;
    pass2 w = {0};
    vt_status s = pass2_alloc(e, &w) ? VT_OK : vt__error(VT_ENOMEM, "eval: out of memory for HOTA");
    size_t from = 0;
    for (size_t f = 0; f < h->nframes && s == VT_OK; f++) {
        /* A frame without similarities (no tracks, or none near a truth) matches nothing;
           h->sims is NULL when no frame has any (found by fuzz/fuzz_eval.c: NULL + 0 is
           undefined behaviour). */
        if (h->frame_end[f] > from)
            s = match_frame(h, &w, h->sims + from, (int)(h->frame_end[f] - from));
        from = h->frame_end[f];
    }
    if (s == VT_OK) {
        double sh = 0.0, sd = 0.0, sa = 0.0, sl = 0.0;
        for (int a = 0; a < VT_EVAL_HOTA_ALPHAS; a++) {
            double tp = (double)w.tp[a];
            double deta = tp / ((double)h->gt + (double)h->tracks - tp);
            double assa = association(e, &w, a) / fmax(1.0, tp);
            /* TrackEval's LocA of no match is 1 (eps / eps). */
            double loca = tp > 0.0 ? w.loc[a] / tp : 1.0;
            r->hota_alpha[a] = sqrt(deta * assa);
            sh += r->hota_alpha[a];
            sd += deta;
            sa += assa;
            sl += loca;
        }
        r->hota = sh / VT_EVAL_HOTA_ALPHAS;
        r->deta = sd / VT_EVAL_HOTA_ALPHAS;
        r->assa = sa / VT_EVAL_HOTA_ALPHAS;
        r->loca = sl / VT_EVAL_HOTA_ALPHAS;
    }
    pass2_free(&w);
    return s;
}
