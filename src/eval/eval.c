/*
 * src/eval/eval.c - tracking accuracy against ground truth, frame by frame
 * (see voxtrack/eval.h; every figure is defined in docs/EVAL.md).
 *
 * Per frame, CLEAR MOT matching (Bernardin & Stiefelhagen, "Evaluating
 * multiple object tracking performance: the CLEAR MOT metrics", 2008): a
 * drone truth that was matched to a track in the previous frame keeps that
 * track while the two are still within match_dist, so that a neighbour
 * drifting a little closer does not steal it; the truths and tracks left
 * over are paired by a minimum-cost assignment on their distances (pairs
 * beyond match_dist are forbidden), solved by vt_assign (Jonker-Volgenant).
 * An ID switch is a truth matched to another track than at its last match;
 * a fragmentation is a truth matched again after frames in which it was
 * present but unmatched.
 *
 * Identity figures (Ristani et al., "Performance measures and a data set for
 * multi-target, multi-camera tracking", 2016): every frame adds one to each
 * (truth, track) pair within match_dist. At the end, one global one-to-one
 * pairing of truth ids and track ids maximises the summed counts (IDTP),
 * again with vt_assign on the negated counts; IDF1 = 2 IDTP / (2 IDTP +
 * IDFP + IDFN).
 *
 * GOSPA (Rahmathullah, García-Fernández & Svensson, "Generalized optimal
 * sub-pattern assignment metric", 2017) with alpha = 2: the assignment
 * minimises the sum of min(d, c)^p over the pairs; a pair at c or more costs
 * as much as a missed truth plus a false track (c^p / 2 each), and is
 * counted as such.
 *
 * HOTA (eval_hota.c) and the detectability ceiling with its SNR and size
 * bins (eval_ceiling.c) take the same frames and the same counted tracks.
 *
 * Birds: tracks the pipeline classified as birds are kept out of all of this
 * (counted apart as bird_tracks). Drone-class tracks that no drone claimed
 * are paired greedily, nearest first, with bird truths within match_dist:
 * they stay false positives and are also counted as bird_as_drone.
 *
 * A frame is validated and indexed first, then matched, and only then
 * counted, so a refused frame leaves the figures as they were.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/uf.h"
#include "eval/eval_internal.h"
#include "voxtrack/track.h"

#define NO_SLOT UINT32_MAX

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

vt_eval_opts vt_eval_opts_default(void)
{
    vt_eval_opts o = {
        .match_dist = 2.0,
        .only_confirmed = true,
        .gospa_c = 0.0,
        .gospa_p = 1.0,
        .record_paths = false,
        .ceiling_cameras = 2,
        .ceiling_snr = 5.0,
        .ceiling_sum = 7.0,
        .hota_zero = 0.0,
    };
    return o;
}

vt_status vt_eval_new(const vt_eval_opts *opts, vt_eval **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "eval: NULL output handle");
    *out = NULL;
    vt_eval_opts o = opts ? *opts : vt_eval_opts_default();
    if (!(o.match_dist > 0.0) || !isfinite(o.match_dist))
        return vt__error(VT_EINVAL, "eval: match_dist %g must be a finite number > 0",
                         o.match_dist);
    if (!isfinite(o.gospa_c))
        return vt__error(VT_EINVAL, "eval: gospa_c must be finite");
    if (!(o.gospa_p >= 1.0) || !isfinite(o.gospa_p))
        return vt__error(VT_EINVAL, "eval: gospa_p %g must be a finite number >= 1", o.gospa_p);
    if (o.ceiling_cameras < 1 || !(o.ceiling_snr >= 0.0) || !isfinite(o.ceiling_snr) ||
        !(o.ceiling_sum >= 0.0) || !isfinite(o.ceiling_sum))
        return vt__error(VT_EINVAL,
                         "eval: ceiling_cameras %d must be >= 1, ceiling_snr %g and ceiling_sum %g "
                         "finite numbers >= 0",
                         o.ceiling_cameras, o.ceiling_snr, o.ceiling_sum);
    if (!isfinite(o.hota_zero))
        return vt__error(VT_EINVAL, "eval: hota_zero must be finite");
    vt_eval *e = calloc(1, sizeof *e);
    if (!e)
        return vt__error(VT_ENOMEM, "eval: out of memory");
    e->o = o;
    e->gospa_c = o.gospa_c > 0.0 ? o.gospa_c : o.match_dist;
    e->hota.zero = o.hota_zero > 0.0 ? o.hota_zero : o.match_dist;
    vt__eval_ceiling_init(&e->r);
    *out = e;
    return VT_OK;
}

void vt_eval_free(vt_eval *e)
{
    if (!e)
        return;
    vt__eval_map_free(&e->truth_ix);
    vt__eval_map_free(&e->track_ix);
    vt__eval_map_free(&e->pairs);
    free(e->truths);
    free(e->tracks);
    free(e->ft);
    free(e->fts);
    free(e->fd);
    free(e->fds);
    free(e->fb);
    free(e->match);
    free(e->taken);
    free(e->col_on);
    free(e->uf);
    free(e->dist);
    free(e->cost);
    free(e->rows);
    free(e->cols);
    free(e->row_to_col);
    free(e->bird_used);
    free(e->near);
    free(e->points);
    vt__eval_hota_free(&e->hota);
    free(e);
}

/* ------------------------------------------------------------------------ */
/* Scratch                                                                   */

static vt_status reserve_frame(vt_eval *e, size_t nt, size_t nk)
{
    void *const tracks[] = {&e->ft, &e->fts, &e->taken, &e->cols, &e->col_on};
    const size_t track_elems[] = {sizeof *e->ft, sizeof *e->fts, sizeof *e->taken, sizeof *e->cols,
                                  sizeof *e->col_on};
    void *const truths[] = {&e->fd,         &e->fds, &e->match,    &e->rows,
                            &e->row_to_col, &e->fb,  &e->bird_used};
    const size_t truth_elems[] = {sizeof *e->fd,       sizeof *e->fds,        sizeof *e->match,
                                  sizeof *e->rows,     sizeof *e->row_to_col, sizeof *e->fb,
                                  sizeof *e->bird_used};
    void *const pair[] = {&e->dist, &e->cost};
    const size_t pair_elems[] = {sizeof *e->dist, sizeof *e->cost};
    if (nk > 0 && nt > SIZE_MAX / sizeof(double) / nk)
        return vt__error(VT_ENOMEM, "eval: %zu truths x %zu tracks is too many", nt, nk);
    if (vt__grow_group(tracks, track_elems, 5, &e->cap_k, nk + 1) ||
        vt__grow(&e->uf, &e->cap_uf, 5 * (nt + nk) + 1, sizeof *e->uf) ||
        vt__grow_group(truths, truth_elems, 7, &e->cap_t, nt + 1) ||
        vt__grow_group(pair, pair_elems, 2, &e->cap_dist, nt * nk + 1))
        return vt__error(VT_ENOMEM, "eval: out of memory for a frame of %zu truths, %zu tracks", nt,
                         nk);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* One frame: validation and indexing                                        */

static bool finite3(vt_vec3 p)
{
    return isfinite(p.x) && isfinite(p.y) && isfinite(p.z);
}

static vt_status check_entries(int64_t frame, const vt_eval_truth *truth, size_t nt,
                               const vt_eval_track *tracks, size_t nk)
{
    for (size_t i = 0; i < nt; i++) {
        if (truth[i].kind < VT_EVAL_DRONE || truth[i].kind > VT_EVAL_GLINT)
            return vt__error(VT_EINVAL, "eval: frame %lld: truth %d: unknown kind %d",
                             (long long)frame, truth[i].id, truth[i].kind);
        if (!finite3(truth[i].pos))
            return vt__error(VT_EINVAL, "eval: frame %lld: truth %d: position is not finite",
                             (long long)frame, truth[i].id);
        if (truth[i].snr ? truth[i].nsnr < 0 : truth[i].nsnr != 0)
            return vt__error(VT_EINVAL, "eval: frame %lld: truth %d: %d SNRs at %p",
                             (long long)frame, truth[i].id, truth[i].nsnr,
                             (const void *)truth[i].snr);
        for (int c = 0; c < truth[i].nsnr; c++)
            if (!(truth[i].snr[c] >= 0.0f))
                return vt__error(VT_EINVAL, "eval: frame %lld: truth %d: SNR %g must be >= 0",
                                 (long long)frame, truth[i].id, (double)truth[i].snr[c]);
    }
    for (size_t j = 0; j < nk; j++) {
        const vt_eval_track *k = &tracks[j];
        if (k->status < 0 || k->status > 2)
            return vt__error(VT_EINVAL, "eval: frame %lld: track %llu: unknown status %d",
                             (long long)frame, (unsigned long long)k->id, k->status);
        if (k->cls != VT_EVAL_CLASS_DRONE && k->cls != VT_EVAL_CLASS_BIRD)
            return vt__error(VT_EINVAL, "eval: frame %lld: track %llu: unknown class %d",
                             (long long)frame, (unsigned long long)k->id, k->cls);
        if (!finite3(k->pos))
            return vt__error(VT_EINVAL, "eval: frame %lld: track %llu: position is not finite",
                             (long long)frame, (unsigned long long)k->id);
    }
    return VT_OK;
}

/* The state index of a drone truth id, created (with zero counts) when new. */
static vt_status truth_state(vt_eval *e, int id, uint32_t *index)
{
    /* Room for a new state first: a map entry must never point past the array. */
    if (vt__grow(&e->truths, &e->truths_cap, e->ntruths + 1, sizeof *e->truths))
        return vt__error(VT_ENOMEM, "eval: out of memory for truth %d", id);
    bool fresh;
    uint32_t *v = vt__eval_map_put(&e->truth_ix, (uint64_t)(int64_t)id, &fresh);
    if (!v)
        return vt__error(VT_ENOMEM, "eval: out of memory for truth %d", id);
    if (fresh) {
        *v = (uint32_t)e->ntruths;
        memset(&e->truths[e->ntruths++], 0, sizeof *e->truths);
    }
    *index = *v;
    return VT_OK;
}

static vt_status track_state(vt_eval *e, uint64_t id, uint32_t *index)
{
    if (vt__grow(&e->tracks, &e->tracks_cap, e->ntracks + 1, sizeof *e->tracks))
        return vt__error(VT_ENOMEM, "eval: out of memory for track %llu", (unsigned long long)id);
    bool fresh;
    uint32_t *v = vt__eval_map_put(&e->track_ix, id, &fresh);
    if (!v)
        return vt__error(VT_ENOMEM, "eval: out of memory for track %llu", (unsigned long long)id);
    if (fresh) {
        *v = (uint32_t)e->ntracks;
        vt__eval_track_state *s = &e->tracks[e->ntracks++];
        memset(s, 0, sizeof *s);
        s->id = id;
    }
    *index = *v;
    return VT_OK;
}

/* Per-frame counts that index_frame finds and commit_frame adds. */
typedef struct frame_sets {
    size_t nd, nk, nb; /* drone truths, counted drone-class tracks, bird truths */
    int64_t bird_tracks;
} frame_sets;

/* Sorts the frame's entries into drones, birds and counted drone tracks; finds repeated ids. */
static vt_status index_frame(vt_eval *e, int64_t frame, const vt_eval_truth *truth, size_t nt,
                             const vt_eval_track *tracks, size_t nk, frame_sets *fs)
{
    memset(fs, 0, sizeof *fs);
    vt_status s;
    for (size_t i = 0; i < nt; i++) {
        if (truth[i].kind == VT_EVAL_BIRD)
            e->fb[fs->nb++] = (uint32_t)i;
        if (truth[i].kind != VT_EVAL_DRONE)
            continue;
        uint32_t ix = 0;
        if ((s = truth_state(e, truth[i].id, &ix)) != VT_OK)
            return s;
        if (e->truths[ix].stamp == e->calls)
            return vt__error(VT_EINVAL, "eval: frame %lld: truth id %d appears twice",
                             (long long)frame, truth[i].id);
        e->truths[ix].stamp = e->calls;
        e->fd[fs->nd] = (uint32_t)i;
        e->fds[fs->nd++] = ix;
    }
    for (size_t j = 0; j < nk; j++) {
        uint32_t ix = 0;
        if ((s = track_state(e, tracks[j].id, &ix)) != VT_OK)
            return s;
        vt__eval_track_state *ts = &e->tracks[ix];
        if (ts->stamp == e->calls)
            return vt__error(VT_EINVAL, "eval: frame %lld: track id %llu appears twice",
                             (long long)frame, (unsigned long long)tracks[j].id);
        ts->stamp = e->calls;
        ts->slot = NO_SLOT;
        if (e->o.only_confirmed && tracks[j].status == VT_TRACK_TENTATIVE)
            continue;
        if (tracks[j].cls == VT_EVAL_CLASS_BIRD) {
            fs->bird_tracks++;
            continue;
        }
        ts->slot = (uint32_t)fs->nk;
        e->ft[fs->nk] = (uint32_t)j;
        e->fts[fs->nk++] = ix;
    }
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* One frame: matching                                                       */

static void distances(vt_eval *e, const frame_sets *fs, const vt_eval_truth *truth,
                      const vt_eval_track *tracks)
{
    for (size_t i = 0; i < fs->nd; i++)
        for (size_t j = 0; j < fs->nk; j++)
            e->dist[i * fs->nk + j] =
                vt_v3_norm(vt_v3_sub(truth[e->fd[i]].pos, tracks[e->ft[j]].pos));
}

/* The slot of the track a truth was matched to in the previous frame, if still in reach. */
static int kept_slot(const vt_eval *e, const frame_sets *fs, size_t i)
{
    const vt__eval_truth_state *t = &e->truths[e->fds[i]];
    if (t->matched_seq == 0 || t->matched_seq != e->seq)
        return -1;
    const uint32_t *ix = vt__eval_map_find(&e->track_ix, t->last_track);
    if (!ix)
        return -1;
    const vt__eval_track_state *k = &e->tracks[*ix];
    if (k->stamp != e->calls || k->slot == NO_SLOT || e->taken[k->slot])
        return -1;
    return e->dist[i * fs->nk + k->slot] <= e->o.match_dist ? (int)k->slot : -1;
}

/*
 * Both assignments of a frame, the CLEAR MOT matching and GOSPA's, split
 * into independent problems: the connected components of the graph whose
 * edges are the pairs within reach. No pair across two components can be
 * in an optimum (it is forbidden, or costs as much as leaving both out), so
 * solving each component alone gives the same result as the whole matrix,
 * and a scene of well-separated targets costs a few 1 x 1 problems instead
 * of one dense n x m one.
 */
typedef enum pair_mode { PAIR_MATCH, PAIR_GOSPA } pair_mode;

static bool linked(const vt_eval *e, pair_mode mode, double d)
{
    return mode == PAIR_MATCH ? d <= e->o.match_dist : d < e->gospa_c;
}

static double pair_cost(const vt_eval *e, pair_mode mode, double d)
{
    if (mode == PAIR_MATCH)
        return d <= e->o.match_dist ? d : VT_ASSIGN_FORBIDDEN;
    double x = fmin(d, e->gospa_c);
    return e->o.gospa_p == 1.0 ? x : pow(x, e->o.gospa_p);
}

/* Solves one component: rows e->rows[0..n), columns e->cols[0..m); pairs into out[row]. */
static vt_status solve_component(vt_eval *e, const frame_sets *fs, pair_mode mode, int n, int m,
                                 int *out)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; c < m; c++)
            e->cost[(size_t)r * (size_t)m + (size_t)c] =
                pair_cost(e, mode, e->dist[(size_t)e->rows[r] * fs->nk + (size_t)e->cols[c]]);
    vt_status s = vt_assign(e->cost, n, m, e->row_to_col, NULL);
    if (s != VT_OK)
        return s;
    for (int r = 0; r < n; r++) {
        int c = e->row_to_col[r];
        if (c >= 0 && e->cost[(size_t)r * (size_t)m + (size_t)c] < VT_ASSIGN_FORBIDDEN)
            out[e->rows[r]] = e->cols[c];
    }
    return VT_OK;
}

/*
 * Pairs the rows (truths) with row_on[i] and the columns (tracks) with
 * col_on[j], component by component; out[i] = slot of row i's track or left
 * as it was when unpaired.
 */
static vt_status assign_by_component(vt_eval *e, const frame_sets *fs, pair_mode mode,
                                     const int *row_on, const uint8_t *col_on, int *out)
{
    int nd = (int)fs->nd, nk = (int)fs->nk, nodes = nd + nk;
    /* parent: union-find (core/uf.h) in the ints of e->uf (unsigned may alias int). */
    uint32_t *parent = (uint32_t *)e->uf;
    int *next = e->uf + nodes, *head = e->uf + 2 * nodes;
    vt__uf_init(parent, (size_t)nodes);
    for (int x = 0; x < nodes; x++)
        head[x] = -1;
    for (int i = 0; i < nd; i++)
        for (int j = 0; j < nk && row_on[i]; j++)
            if (col_on[j] && linked(e, mode, e->dist[(size_t)i * fs->nk + (size_t)j]))
                vt__uf_union(parent, (uint32_t)i, (uint32_t)(nd + j));
    /* Members listed per root, in ascending order: the result never depends on hashing. */
    for (int x = nodes - 1; x >= 0; x--) {
        int r = (int)vt__uf_find(parent, (uint32_t)x);
        next[x] = head[r];
        head[r] = x;
    }
    for (int r = 0; r < nodes; r++) {
        int n = 0, m = 0;
        for (int x = head[r]; x >= 0; x = next[x]) {
            if (x < nd && row_on[x])
                e->rows[n++] = x;
            else if (x >= nd && col_on[x - nd])
                e->cols[m++] = x - nd;
        }
        if (n == 0 || m == 0)
            continue;
        vt_status s = solve_component(e, fs, mode, n, m, out);
        if (s != VT_OK)
            return s;
    }
    return VT_OK;
}

/* CLEAR MOT: keep last frame's matches in reach, assign the rest. Fills match[] and taken[]. */
static vt_status match_frame(vt_eval *e, int64_t frame, const frame_sets *fs)
{
    memset(e->taken, 0, fs->nk);
    for (size_t i = 0; i < fs->nd; i++) {
        e->match[i] = kept_slot(e, fs, i);
        if (e->match[i] >= 0)
            e->taken[e->match[i]] = 1;
    }
    /* row_on: the truths still unmatched (a copy: match[] is being written). */
    int *row_on = e->uf + 3 * (fs->nd + fs->nk);
    for (size_t i = 0; i < fs->nd; i++)
        row_on[i] = e->match[i] < 0;
    for (size_t j = 0; j < fs->nk; j++)
        e->col_on[j] = !e->taken[j];
    vt_status s = assign_by_component(e, fs, PAIR_MATCH, row_on, e->col_on, e->match);
    if (s != VT_OK)
        return vt__error_prefix(s, "eval: frame %lld: matching", (long long)frame);
    for (size_t i = 0; i < fs->nd; i++)
        if (row_on[i] && e->match[i] >= 0)
            e->taken[e->match[i]] = 1;
    return VT_OK;
}

typedef struct gospa_parts {
    double loc, missed, false_;
} gospa_parts;

/* GOSPA (alpha = 2) of the frame's drone truths against its counted drone tracks. */
static vt_status gospa_frame(vt_eval *e, int64_t frame, const frame_sets *fs, gospa_parts *g)
{
    double c = e->gospa_c, p = e->o.gospa_p, half = pow(c, p) / 2.0;
    size_t nd = fs->nd, nk = fs->nk, pairs = 0;
    int *row_on = e->uf + 3 * (nd + nk), *pair = row_on + nd;
    uint8_t *col_on = e->col_on;
    for (size_t i = 0; i < nd; i++)
        row_on[i] = 1, pair[i] = -1;
    memset(col_on, 1, nk);
    vt_status s = assign_by_component(e, fs, PAIR_GOSPA, row_on, col_on, pair);
    if (s != VT_OK)
        return vt__error_prefix(s, "eval: frame %lld: GOSPA", (long long)frame);
    g->loc = 0.0;
    for (size_t i = 0; i < nd; i++) {
        int j = pair[i];
        /* A pair at c or more is a missed truth plus a false track, at the same cost. */
        if (j >= 0 && e->dist[i * nk + (size_t)j] < c) {
            g->loc += pair_cost(e, PAIR_GOSPA, e->dist[i * nk + (size_t)j]);
            pairs++;
        }
    }
    g->missed = half * (double)(nd - pairs);
    g->false_ = half * (double)(nk - pairs);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* One frame: counting                                                       */

static int cmp_near(const void *a, const void *b)
{
    const vt__eval_near *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    return x->bird < y->bird ? -1 : x->bird > y->bird;
}

/* Unclaimed drone-class tracks on birds, nearest pairs first, each bird at most once. */
static vt_status count_birds_as_drones(vt_eval *e, const frame_sets *fs, const vt_eval_truth *truth,
                                       const vt_eval_track *tracks)
{
    size_t n = 0;
    for (size_t j = 0; j < fs->nk; j++) {
        if (e->taken[j])
            continue;
        for (size_t b = 0; b < fs->nb; b++) {
            double d = vt_v3_norm(vt_v3_sub(truth[e->fb[b]].pos, tracks[e->ft[j]].pos));
            if (d > e->o.match_dist)
                continue;
            if (vt__grow(&e->near, &e->cap_near, n + 1, sizeof *e->near))
                return vt__error(VT_ENOMEM, "eval: out of memory pairing tracks with birds");
            e->near[n++] = (vt__eval_near){d, (uint32_t)j, (uint32_t)b};
        }
    }
    if (n == 0)
        return VT_OK;
    qsort(e->near, n, sizeof *e->near, cmp_near);
    memset(e->bird_used, 0, fs->nb);
    for (size_t x = 0; x < n; x++) {
        const vt__eval_near *p = &e->near[x];
        if (e->taken[p->track] || e->bird_used[p->bird])
            continue;
        e->taken[p->track] = 2;
        e->bird_used[p->bird] = 1;
        e->r.bird_as_drone++;
    }
    return VT_OK;
}

/* IDF1's evidence: one more frame for every truth-track pair within reach. */
static vt_status count_pairs(vt_eval *e, const frame_sets *fs)
{
    for (size_t i = 0; i < fs->nd; i++)
        for (size_t j = 0; j < fs->nk; j++) {
            if (e->dist[i * fs->nk + j] > e->o.match_dist)
                continue;
            bool fresh;
            uint32_t *v =
                vt__eval_map_put(&e->pairs, (uint64_t)e->fds[i] << 32 | e->fts[j], &fresh);
            if (!v)
                return vt__error(VT_ENOMEM, "eval: out of memory for the identity pairs");
            (*v)++;
        }
    return VT_OK;
}

static void count_matches(vt_eval *e, const frame_sets *fs, const vt_eval_truth *truth,
                          const vt_eval_track *tracks)
{
    int64_t seq = e->seq;
    for (size_t i = 0; i < fs->nd; i++) {
        vt__eval_truth_state *t = &e->truths[e->fds[i]];
        if (t->frames++ == 0)
            e->r.truth_objects++;
        e->r.gt++;
        int j = e->match[i];
        vt__eval_ceiling_add(e, &truth[e->fd[i]], j >= 0);
        if (j < 0) {
            e->r.fn++;
            t->tracked_last = false;
            continue;
        }
        double d = e->dist[i * fs->nk + (size_t)j];
        uint64_t id = tracks[e->ft[j]].id;
        e->r.tp++;
        e->sum_d += d;
        e->sum_d2 += d * d;
        if (t->matched_seq > 0 && t->last_track != id)
            e->r.idsw++;
        if (t->matched_seq > 0 && !t->tracked_last)
            e->r.frag++;
        t->tracked++;
        t->matched_seq = seq;
        t->last_track = id;
        t->tracked_last = true;
    }
    for (size_t j = 0; j < fs->nk; j++) {
        vt__eval_track_state *k = &e->tracks[e->fts[j]];
        if (!k->counted) {
            k->counted = true;
            e->r.tracks_confirmed++;
        }
        k->frames++;
        if (!e->taken[j])
            e->r.fp++;
    }
    e->track_frames += (int64_t)fs->nk;
}

static vt_status record(vt_eval *e, uint64_t id, vt_vec3 pos, int what)
{
    if (vt__grow(&e->points, &e->points_cap, e->npoints + 1, sizeof *e->points))
        return vt__error(VT_ENOMEM, "eval: out of memory recording paths");
    e->points[e->npoints++] = (vt__eval_point){id, e->seq, pos, what};
    return VT_OK;
}

static vt_status record_frame(vt_eval *e, const vt_eval_truth *truth, size_t nt,
                              const vt_eval_track *tracks, size_t nk)
{
    vt_status s = VT_OK;
    for (size_t i = 0; i < nt && s == VT_OK; i++)
        if (truth[i].kind != VT_EVAL_GLINT)
            s = record(e, (uint64_t)(int64_t)truth[i].id, truth[i].pos,
                       truth[i].kind == VT_EVAL_DRONE ? VT__PT_TRUTH_DRONE : VT__PT_TRUTH_BIRD);
    for (size_t j = 0; j < nk && s == VT_OK; j++)
        if (!(e->o.only_confirmed && tracks[j].status == VT_TRACK_TENTATIVE))
            s = record(e, tracks[j].id, tracks[j].pos, VT__PT_TRACK);
    return s;
}

vt_status vt_eval_frame(vt_eval *e, int64_t frame, const vt_eval_truth *truth, size_t nt,
                        const vt_eval_track *tracks, size_t nk)
{
    if (!e)
        return vt__error(VT_EINVAL, "eval: NULL evaluator");
    if ((nt > 0 && !truth) || (nk > 0 && !tracks))
        return vt__error(VT_EINVAL, "eval: frame %lld: NULL array with a non-zero count",
                         (long long)frame);
    if (e->seq > 0 && frame <= e->last_frame)
        return vt__error(VT_EINVAL, "eval: frame %lld after frame %lld: frames must increase",
                         (long long)frame, (long long)e->last_frame);
    if (nt >= INT32_MAX || nk >= INT32_MAX)
        return vt__error(VT_EINVAL, "eval: frame %lld: too many entries", (long long)frame);
    e->calls++;
    vt_status s = check_entries(frame, truth, nt, tracks, nk);
    frame_sets fs = {0};
    gospa_parts g = {0};
    if (s == VT_OK)
        s = reserve_frame(e, nt, nk);
    if (s == VT_OK)
        s = index_frame(e, frame, truth, nt, tracks, nk, &fs);
    if (s != VT_OK)
        return s;
    distances(e, &fs, truth, tracks);
    if ((s = match_frame(e, frame, &fs)) != VT_OK || (s = gospa_frame(e, frame, &fs, &g)) != VT_OK)
        return s;

    /* Committed from here on. */
    e->seq++;
    e->last_frame = frame;
    e->r.frames++;
    e->r.bird_tracks += fs.bird_tracks;
    count_matches(e, &fs, truth, tracks);
    e->gospa_loc += g.loc;
    e->gospa_missed += g.missed;
    e->gospa_false += g.false_;
    e->gospa_sum += pow(g.loc + g.missed + g.false_, 1.0 / e->o.gospa_p);
    if ((s = count_birds_as_drones(e, &fs, truth, tracks)) != VT_OK ||
        (s = count_pairs(e, &fs)) != VT_OK || (s = vt__eval_hota_frame(e, fs.nd, fs.nk)) != VT_OK)
        return s;
    return e->o.record_paths ? record_frame(e, truth, nt, tracks, nk) : VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

static double ratio(double num, double den)
{
    return den > 0.0 ? num / den : NAN;
}

/* IDTP: the global one-to-one pairing of truth and track ids with the most frames in reach. */
static vt_status identity_tp(const vt_eval *e, int64_t *idtp)
{
    *idtp = 0;
    if (e->pairs.count == 0)
        return VT_OK;
    /* Only ids that ever came within reach take part: rows and columns are numbered densely. */
    int *row_of = malloc(e->ntruths * sizeof *row_of);
    int *col_of = malloc(e->ntracks * sizeof *col_of);
    double *cost = NULL;
    int *r2c = NULL, n = 0, m = 0;
    vt_status s = VT_OK;
    if (!row_of || !col_of)
        goto nomem;
    memset(row_of, -1, e->ntruths * sizeof *row_of);
    memset(col_of, -1, e->ntracks * sizeof *col_of);
    for (size_t x = 0; x < e->pairs.cap; x++) {
        if (!e->pairs.used[x])
            continue;
        uint32_t t = (uint32_t)(e->pairs.keys[x] >> 32), k = (uint32_t)e->pairs.keys[x];
        if (row_of[t] < 0)
            row_of[t] = n++;
        if (col_of[k] < 0)
            col_of[k] = m++;
    }
    /*
     * Pairs never in reach cost 0 rather than being forbidden: vt_assign puts
     * the number of allowed pairs before their cost, and the most pairs is not
     * the most frames (one long pairing can beat two short ones).
     */
    cost = calloc((size_t)n * (size_t)m, sizeof *cost);
    r2c = malloc((size_t)n * sizeof *r2c);
    if (!cost || !r2c)
        goto nomem;
    for (size_t x = 0; x < e->pairs.cap; x++)
        if (e->pairs.used[x])
            cost[(size_t)row_of[e->pairs.keys[x] >> 32] * (size_t)m +
                 (size_t)col_of[(uint32_t)e->pairs.keys[x]]] = -(double)e->pairs.vals[x];
    if ((s = vt_assign(cost, n, m, r2c, NULL)) != VT_OK) {
        s = vt__error_prefix(s, "eval: identity pairing");
        goto done;
    }
    for (int r = 0; r < n; r++)
        if (r2c[r] >= 0 && cost[(size_t)r * (size_t)m + (size_t)r2c[r]] < 0.0)
            *idtp += (int64_t)-cost[(size_t)r * (size_t)m + (size_t)r2c[r]];
    goto done;
nomem:
    s = vt__error(VT_ENOMEM, "eval: out of memory for the identity pairing");
done:
    free(row_of);
    free(col_of);
    free(cost);
    free(r2c);
    return s;
}

vt_status vt_eval_result_get(const vt_eval *e, vt_eval_result *out)
{
    if (!e || !out)
        return vt__error(VT_EINVAL, "eval: NULL argument");
    vt_eval_result r = e->r;
    vt_status s = identity_tp(e, &r.idtp);
    if (s == VT_OK)
        s = vt__eval_hota_result(e, &r);
    if (s != VT_OK)
        return s;
    vt__eval_ceiling_finish(&r);
    r.idfn = r.gt - r.idtp;
    r.idfp = e->track_frames - r.idtp;
    r.mota = 1.0 - ratio((double)(r.fn + r.fp + r.idsw), (double)r.gt);
    r.motp = ratio(e->sum_d, (double)r.tp);
    r.rmse = sqrt(ratio(e->sum_d2, (double)r.tp));
    r.detection_rate = ratio((double)r.tp, (double)r.gt);
    r.false_rate = ratio((double)r.fp, (double)(r.tp + r.fp));
    r.idf1 = ratio(2.0 * (double)r.idtp, (double)(2 * r.idtp + r.idfp + r.idfn));
    r.idp = ratio((double)r.idtp, (double)(r.idtp + r.idfp));
    r.idr = ratio((double)r.idtp, (double)(r.idtp + r.idfn));
    double frames = (double)r.frames;
    r.gospa = ratio(e->gospa_sum, frames);
    r.gospa_loc = ratio(e->gospa_loc, frames);
    r.gospa_missed = ratio(e->gospa_missed, frames);
    r.gospa_false = ratio(e->gospa_false, frames);
    r.mostly_tracked = r.partially_tracked = r.mostly_lost = 0;
    for (size_t i = 0; i < e->ntruths; i++) {
        const vt__eval_truth_state *t = &e->truths[i];
        if (t->frames == 0)
            continue; /* created by a refused frame */
        if (t->tracked * 5 >= t->frames * 4)
            r.mostly_tracked++;
        else if (t->tracked * 5 < t->frames)
            r.mostly_lost++;
        else
            r.partially_tracked++;
    }
    *out = r;
    return VT_OK;
}
