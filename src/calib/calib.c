/*
 * src/calib/calib.c - one camera calibrated against a reference track (see
 * vt_calib_camera in voxtrack/calib.h).
 *
 * 1. Search. The clock offset is unknown by up to a second and the
 *    orientation by any amount, so neither can start a local solver. For
 *    each candidate offset on a grid (a third of a frame apart), every
 *    detection's time gives the track's position, and so a pair of
 *    directions: the detection's bearing in the camera and the track's
 *    direction from the camera centre. RANSAC over those pairs (two pairs
 *    determine a rotation: TRIAD) finds the orientation that most of them
 *    agree on, scored by MSAC's truncated squared error (Torr & Zisserman,
 *    2000) so that the better of two offsets with as many inliers wins. A
 *    camera whose position is to be solved gets the whole pose the same way
 *    from six pairs of bearings and track points (linear PnP, pnp.c).
 * 2. Refinement. From the best candidate, Levenberg-Marquardt minimises the
 *    reprojection error in pixels over the inliers: orientation (a rotation
 *    vector on the starting quaternion), the clock offset, and whatever else
 *    is asked for (clock scale, position, focal length, k1). The clock is
 *    parametrised by its value at the middle of the detections, where offset
 *    and scale are uncorrelated. After each round the inliers are gated
 *    again at gate_sigma robust sigmas (the median residual), until the set
 *    stops changing.
 * 3. Report. RMS and largest residual of the inliers, and the standard
 *    deviations of the solution from the inverse normal matrix scaled by the
 *    residual variance; when they exceed the weak_* limits, the geometry is
 *    called weak (a track that crosses little of the view, a straight
 *    flight at constant speed that cannot tell a clock offset from a turn).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib_internal.h"
#include "core/internal.h"

enum { MAX_ROUNDS = 8, LM_ITERS = 60 };

/* Detections this close to an end of the track, s, are not fitted (see gate_inliers). */
#define EDGE_MARGIN 0.1

vt_calib_opts vt_calib_opts_default(void)
{
    vt_calib_opts o;
    memset(&o, 0, sizeof o);
    o.solve = 0;
    o.max_offset = 1.0;
    o.offset_step = 0.0;
    o.search_px = 8.0;
    o.gate_sigma = 4.0;
    o.min_gate_px = 1.5;
    o.ransac_iters = 200;
    o.search_max = 1500;
    o.min_inliers = 20;
    o.min_fraction = 0.3;
    o.max_gap = 1.0;
    o.weak_deg = 0.05;
    o.weak_offset = 0.01;
    o.weak_m = 2.0;
    o.seed = 1;
    return o;
}

static vt_status check_opts(const vt_calib_opts *o)
{
    if (o->solve & ~(unsigned)(VT_CALIB_POSITION | VT_CALIB_FOCAL | VT_CALIB_K1 | VT_CALIB_SCALE))
        return vt__error(VT_EINVAL, "calibration: unknown bits in solve (0x%x)", o->solve);
    if (!(o->max_offset >= 0 && o->max_offset <= 3600))
        return vt__error(VT_EINVAL, "calibration: max_offset must be in [0, 3600] s");
    if (!(o->offset_step >= 0) || !(o->search_px > 0) || !(o->gate_sigma > 0) ||
        !(o->min_gate_px >= 0) || o->ransac_iters < 1 || o->search_max < 6 || o->min_inliers < 6 ||
        !(o->min_fraction >= 0 && o->min_fraction <= 1) || !(o->max_gap >= 0) ||
        !(o->weak_deg > 0) || !(o->weak_offset > 0) || !(o->weak_m > 0))
        return vt__error(VT_EINVAL,
                         "calibration: options out of range (offset_step >= 0, search_px, "
                         "gate_sigma, weak_* > 0, ransac_iters >= 1, search_max >= 6, "
                         "min_inliers >= 6)");
    return VT_OK;
}

bool vt__calib_bearing(const vt_camera *cam, double u, double v, vt_vec3 *b)
{
    double x = (u - cam->cx) / cam->fx, y = (v - cam->cy) / cam->fy;
    if (cam->distorted && !vt_camera_undistort(cam, x, y, &x, &y))
        return false;
    *b = vt_v3_normalize(vt_v3(x, y, 1.0));
    return true;
}

/* ------------------------------------------------------------------------ */
/* The problem                                                               */

/* A detection as the solver sees it. */
typedef struct obs {
    double x;     /* clock input, centred: x - xbar */
    double u, v;  /* pixel */
    vt_vec3 b;    /* bearing in the camera frame (starting intrinsics) */
    bool bearing; /* b is valid */
} obs;

typedef struct problem {
    const vt_calib_opts *o;
    const vt_reftrack *track;
    vt_camera base; /* intrinsics and starting pose */
    double s0;      /* nominal clock scale */
    double xbar;    /* middle of the clock inputs */
    obs *obs;
    size_t nobs;
    size_t *use; /* the residuals: indices into obs */
    size_t nuse;
    int np, i_scale, i_pos, i_focal, i_k1; /* parameter layout (-1: not solved) */
} problem;

static int layout(problem *pr, unsigned solve)
{
    int n = 4; /* rotation vector, clock at xbar */
    pr->i_scale = solve & VT_CALIB_SCALE ? n++ : -1;
    pr->i_pos = -1;
    if (solve & VT_CALIB_POSITION) {
        pr->i_pos = n;
        n += 3;
    }
    pr->i_focal = solve & VT_CALIB_FOCAL ? n++ : -1;
    pr->i_k1 = solve & VT_CALIB_K1 ? n++ : -1;
    pr->np = n;
    return n;
}

/* The camera and clock scale of parameters p. */
static void model(const problem *pr, const double *p, vt_camera *cam, double *scale)
{
    *cam = pr->base;
    cam->q = vt_q_normalize(vt_q_mul(pr->base.q, vt_q_from_rotvec(vt_v3(p[0], p[1], p[2]))));
    if (pr->i_pos >= 0)
        cam->position =
            vt_v3_add(pr->base.position, vt_v3(p[pr->i_pos], p[pr->i_pos + 1], p[pr->i_pos + 2]));
    if (pr->i_focal >= 0) {
        cam->fx *= 1.0 + p[pr->i_focal];
        cam->fy *= 1.0 + p[pr->i_focal];
    }
    if (pr->i_k1 >= 0)
        cam->dist[0] += p[pr->i_k1];
    cam->distorted = false;
    vt_camera_init(cam);
    *scale = pr->s0 * (pr->i_scale >= 0 ? 1.0 + p[pr->i_scale] : 1.0);
}

/* The track through the camera at the detection's time; false when off the track or behind. */
static bool predict(const problem *pr, const vt_camera *cam, double scale, double oc, const obs *ob,
                    double *pu, double *pv)
{
    vt_vec3 pos;
    if (!vt_reftrack_at(pr->track, oc + scale * ob->x, pr->o->max_gap, &pos, NULL))
        return false;
    return vt_camera_world_to_pixel(cam, pos, pu, pv);
}

static void residuals(void *user, const double *p, double *r)
{
    const problem *pr = user;
    vt_camera cam;
    double scale;
    model(pr, p, &cam, &scale);
    for (size_t k = 0; k < pr->nuse; k++) {
        const obs *ob = &pr->obs[pr->use[k]];
        double pu, pv;
        if (predict(pr, &cam, scale, p[3], ob, &pu, &pv)) {
            r[2 * k] = pu - ob->u;
            r[2 * k + 1] = pv - ob->v;
        } else {
            /* Off the track (a gap) or behind: no information either way. */
            r[2 * k] = r[2 * k + 1] = 0.0;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The search                                                                */

/* One candidate of the search. */
typedef struct candidate {
    double offset; /* clock at xbar */
    double score;  /* MSAC: sum of min(e^2, thr^2), lower is better */
    size_t inliers;
    vt_quat q; /* world_from_camera */
    vt_vec3 c; /* centre (a PnP candidate's own; else the rig's) */
} candidate;

/* The subset the search looks at: at most search_max detections with bearings, evenly spread. */
static size_t search_subset(const problem *pr, size_t *sub)
{
    size_t with = 0;
    for (size_t i = 0; i < pr->nobs; i++)
        with += pr->obs[i].bearing;
    size_t want = with < (size_t)pr->o->search_max ? with : (size_t)pr->o->search_max, n = 0,
           seen = 0;
    for (size_t i = 0; i < pr->nobs && n < want; i++) {
        if (!pr->obs[i].bearing)
            continue;
        /* Take detection `seen` when it crosses the next multiple of with / want. */
        if ((seen * want) / with != ((seen + 1) * want) / with)
            sub[n++] = i;
        seen++;
    }
    return n;
}

/* Scores rotation r (camera to world) on the pairs: MSAC score and inlier count. */
static double score_rotation(const vt_mat3 *r, const vt_vec3 *b, const vt_vec3 *w, size_t n,
                             double thr2, size_t *inliers)
{
    double s = 0.0;
    size_t in = 0;
    for (size_t k = 0; k < n; k++) {
        vt_vec3 d = vt_v3_sub(vt_m3_mul_v3(*r, b[k]), w[k]);
        double e2 = vt_v3_dot(d, d); /* chord^2, about angle^2 */
        if (e2 < thr2) {
            s += e2;
            in++;
        } else {
            s += thr2;
        }
    }
    *inliers = in;
    return s;
}

/* Adaptive RANSAC's sample count for inlier fraction f and sample size m (99.99%). */
static int samples_needed(double f, int m, int cap)
{
    double pm = pow(f, m);
    if (pm >= 1.0 - 1e-12)
        return 1;
    if (pm <= 1e-12)
        return cap;
    double k = ceil(log(1e-4) / log(1.0 - pm));
    return k < cap ? (int)k : cap;
}

/* Orientation at a surveyed centre: TRIAD samples, then Horn over the inliers of the best. */
static void search_rotation(const problem *pr, const vt_vec3 *b, const vt_vec3 *w, size_t n,
                            double thr, uint64_t *rng, candidate *best)
{
    double thr2 = thr * thr, min_sep = fmax(4.0 * thr, vt_deg2rad(0.5));
    double cos_sep = cos(min_sep);
    int iters = pr->o->ransac_iters;
    for (int it = 0; it < iters; it++) {
        size_t i = vt__calib_pick(rng, n), j = vt__calib_pick(rng, n);
        if (i == j || vt_v3_dot(b[i], b[j]) > cos_sep || vt_v3_dot(w[i], w[j]) > cos_sep)
            continue;
        vt_mat3 r;
        if (!vt__rotation_from_pairs(b[i], b[j], w[i], w[j], &r))
            continue;
        size_t in;
        double s = score_rotation(&r, b, w, n, thr2, &in);
        if (s < best->score) {
            best->score = s;
            best->inliers = in;
            best->q = vt_m3_to_q(r);
            int need = samples_needed((double)in / (double)n, 2, pr->o->ransac_iters);
            iters = need < iters ? (need > 16 ? need : 16) : iters;
        }
    }
    if (!isfinite(best->score))
        return;
    /* Horn over the inliers, then rescored. */
    vt_mat3 r = vt_q_to_m3(best->q);
    double m[9] = {0};
    for (size_t k = 0; k < n; k++) {
        vt_vec3 d = vt_v3_sub(vt_m3_mul_v3(r, b[k]), w[k]);
        if (vt_v3_dot(d, d) >= thr2)
            continue;
        const double wk[3] = {w[k].x, w[k].y, w[k].z}, bk[3] = {b[k].x, b[k].y, b[k].z};
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++)
                m[x * 3 + y] += wk[x] * bk[y];
    }
    vt_quat q = vt__nearest_rotation(m);
    vt_mat3 rh = vt_q_to_m3(q);
    size_t in;
    double s = score_rotation(&rh, b, w, n, thr2, &in);
    if (s < best->score) {
        best->score = s;
        best->inliers = in;
        best->q = q;
    }
}

/* Scores a pose on bearings b of world points x. */
static double score_pose(vt_quat q, vt_vec3 c, const vt_vec3 *b, const vt_vec3 *x, size_t n,
                         double thr2, size_t *inliers)
{
    vt_mat3 rcw = vt_m3_transpose(vt_q_to_m3(q));
    double s = 0.0;
    size_t in = 0;
    for (size_t k = 0; k < n; k++) {
        vt_vec3 d = vt_m3_mul_v3(rcw, vt_v3_sub(x[k], c));
        double e2 = INFINITY;
        if (d.z > 0) {
            vt_vec3 e = vt_v3_sub(vt_v3_normalize(d), b[k]);
            e2 = vt_v3_dot(e, e);
        }
        if (e2 < thr2) {
            s += e2;
            in++;
        } else {
            s += thr2;
        }
    }
    *inliers = in;
    return s;
}

/* The whole pose: DLT on six samples, then DLT again on the inliers of the best. */
static void search_pose(const problem *pr, const vt_vec3 *b, const vt_vec3 *x, size_t n, double thr,
                        uint64_t *rng, vt_vec3 *sb, vt_vec3 *sx, candidate *best)
{
    double thr2 = thr * thr;
    int iters = pr->o->ransac_iters;
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < 6; k++) {
            size_t i = vt__calib_pick(rng, n);
            sb[k] = b[i];
            sx[k] = x[i];
        }
        vt_quat q;
        vt_vec3 c;
        if (!vt__pnp_dlt(sb, sx, 6, &q, &c))
            continue;
        size_t in;
        double s = score_pose(q, c, b, x, n, thr2, &in);
        if (s < best->score) {
            *best = (candidate){best->offset, s, in, q, c};
            int need = samples_needed((double)in / (double)n, 6, pr->o->ransac_iters);
            iters = need < iters ? (need > 16 ? need : 16) : iters;
        }
    }
    if (!isfinite(best->score))
        return;
    vt_mat3 rcw = vt_m3_transpose(vt_q_to_m3(best->q));
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        vt_vec3 d = vt_m3_mul_v3(rcw, vt_v3_sub(x[k], best->c));
        vt_vec3 e = vt_v3_sub(vt_v3_normalize(d), b[k]);
        if (d.z > 0 && vt_v3_dot(e, e) < thr2) {
            sb[m] = b[k];
            sx[m++] = x[k];
        }
    }
    vt_quat q;
    vt_vec3 c;
    size_t in;
    if (m >= 6 && vt__pnp_dlt(sb, sx, m, &q, &c)) {
        double s = score_pose(q, c, b, x, n, thr2, &in);
        if (s < best->score)
            *best = (candidate){best->offset, s, in, q, c};
    }
}

/*
 * Every candidate offset within max_offset of the rig's clock; the best one
 * in *best. VT_ERANGE when no candidate has enough inliers.
 */
static vt_status search(const problem *pr, double oc0, double step, bool pose, uint64_t seed,
                        candidate *best)
{
    size_t *sub = malloc(pr->nobs * sizeof *sub);
    vt_vec3 *b = malloc(pr->nobs * sizeof *b), *w = malloc(pr->nobs * sizeof *w);
    vt_vec3 *sb = malloc(pr->nobs * sizeof *sb), *sx = malloc(pr->nobs * sizeof *sx);
    if (!sub || !b || !w || !sb || !sx) {
        free(sub), free(b), free(w), free(sb), free(sx);
        return vt__error(VT_ENOMEM, "calibration: out of memory");
    }
    size_t nsub = search_subset(pr, sub);
    /* The gate: search_px on the image, as an angle (chord). */
    double thr = pr->o->search_px / fmax(pr->base.fx, pr->base.fy);
    int steps = (int)ceil(pr->o->max_offset / step - 1e-9);
    uint64_t rng = seed;
    best->score = INFINITY;
    best->inliers = 0;
    for (int k = -steps; k <= steps; k++) {
        double oc = oc0 + k * step;
        size_t n = 0;
        for (size_t s = 0; s < nsub; s++) {
            const obs *ob = &pr->obs[sub[s]];
            vt_vec3 pos;
            if (!vt_reftrack_at(pr->track, oc + pr->s0 * ob->x, pr->o->max_gap, &pos, NULL))
                continue;
            vt_vec3 d = vt_v3_sub(pos, pr->base.position);
            if (!(vt_v3_norm(d) > 0))
                continue;
            b[n] = ob->b;
            w[n] = pose ? pos : vt_v3_normalize(d);
            n++;
        }
        if (n < (size_t)pr->o->min_inliers)
            continue;
        candidate c = {oc, INFINITY, 0, pr->base.q, pr->base.position};
        /* Each candidate's own generator: a candidate's result does not depend on the others'. */
        rng = seed ^ (uint64_t)(k + steps) * 0x9E3779B97F4A7C15ull;
        if (pose)
            search_pose(pr, b, w, n, thr, &rng, sb, sx, &c);
        else
            search_rotation(pr, b, w, n, thr, &rng, &c);
        /* Off-track detections count as outliers, so offsets that keep more on the track win. */
        c.score += (double)(nsub - n) * thr * thr;
        if (c.inliers >= (size_t)pr->o->min_inliers && c.score < best->score)
            *best = c;
    }
    free(sub), free(b), free(w), free(sb), free(sx);
    if (!isfinite(best->score))
        return vt__error(VT_ERANGE,
                         "no clock offset within %g s of the rig's makes %d detections meet the "
                         "track within %g px (is the track in this camera's view, the camera "
                         "position right?)",
                         pr->o->max_offset, pr->o->min_inliers, pr->o->search_px);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Refinement                                                                */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * Residual norms of every observation at p (NAN where it does not project)
 * and the new inlier set: within `gate` pixels.
 */
static size_t gate_inliers(problem *pr, const double *p, double gate, double *norm)
{
    vt_camera cam;
    double scale;
    model(pr, p, &cam, &scale);
    size_t n = 0;
    for (size_t i = 0; i < pr->nobs; i++) {
        double pu, pv, t = p[3] + scale * pr->obs[i].x;
        vt_vec3 pos;
        norm[i] = predict(pr, &cam, scale, p[3], &pr->obs[i], &pu, &pv)
                      ? hypot(pu - pr->obs[i].u, pv - pr->obs[i].v)
                      : NAN;
        /*
         * A detection whose time lies near an end of the track (or of a gap)
         * would fall off it as the clock moves, and its residual jump to 0:
         * such jumps break the derivatives. They are left out of the fit.
         */
        if (norm[i] <= gate &&
            vt_reftrack_at(pr->track, t - EDGE_MARGIN, pr->o->max_gap, &pos, NULL) &&
            vt_reftrack_at(pr->track, t + EDGE_MARGIN, pr->o->max_gap, &pos, NULL))
            pr->use[n++] = i;
    }
    pr->nuse = n;
    return n;
}

/* The robust sigma (per axis) of the inliers' residual norms: median / sqrt(2 ln 2). */
static double robust_sigma(const problem *pr, const double *norm, double *scratch)
{
    for (size_t k = 0; k < pr->nuse; k++)
        scratch[k] = norm[pr->use[k]];
    qsort(scratch, pr->nuse, sizeof *scratch, cmp_double);
    double med = pr->nuse % 2 ? scratch[pr->nuse / 2]
                              : 0.5 * (scratch[pr->nuse / 2 - 1] + scratch[pr->nuse / 2]);
    return med / 1.1774100225154747;
}

static bool same_set(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na * sizeof *a) == 0;
}

static vt_status refine(problem *pr, double *p, vt__lm_result *lm, int *iterations)
{
    size_t n = pr->nobs;
    double *norm = malloc(n * sizeof *norm), *scratch = malloc(n * sizeof *scratch);
    size_t *prev = malloc(n * sizeof *prev);
    vt_status s = norm && scratch && prev ? VT_OK : vt__error(VT_ENOMEM, "out of memory");
    static const double steps[] = {1e-7, 1e-7, 1e-7, 1e-5};
    double h[VT__LM_MAX_PARAMS];
    for (int k = 0; k < pr->np; k++)
        h[k] = k < 4 ? steps[k] : 1e-7;
    if (pr->i_pos >= 0)
        h[pr->i_pos] = h[pr->i_pos + 1] = h[pr->i_pos + 2] = 1e-4;
    if (pr->i_k1 >= 0)
        h[pr->i_k1] = 1e-6;
    double gate = pr->o->search_px;
    size_t nprev = 0;
    *iterations = 0;
    for (int round = 0; !s && round < MAX_ROUNDS; round++) {
        if (gate_inliers(pr, p, gate, norm) < (size_t)pr->o->min_inliers ||
            pr->nuse * 2 < (size_t)pr->np) {
            s = vt__error(VT_ERANGE, "%zu detections within %.3g px of the track; %d needed",
                          pr->nuse, gate, pr->o->min_inliers);
            break;
        }
        if (round > 0 && same_set(pr->use, pr->nuse, prev, nprev))
            break;
        memcpy(prev, pr->use, pr->nuse * sizeof *prev);
        nprev = pr->nuse;
        s = vt__lm_solve(pr->np, 2 * pr->nuse, residuals, pr, p, h, LM_ITERS, lm);
        *iterations += lm->iterations;
        if (s)
            break;
        gate_inliers(pr, p, INFINITY, norm);
        /* Sigma from the inliers just fitted, not from everything. */
        size_t keep = pr->nuse;
        pr->nuse = 0;
        for (size_t i = 0; i < keep; i++)
            if (norm[pr->use[i]] <= gate)
                pr->use[pr->nuse++] = pr->use[i];
        gate = fmax(pr->o->min_gate_px, pr->o->gate_sigma * robust_sigma(pr, norm, scratch));
    }
    if (!s) {
        /* The final set, as fitted. */
        memcpy(pr->use, prev, nprev * sizeof *prev);
        pr->nuse = nprev;
    }
    free(norm);
    free(scratch);
    free(prev);
    return s;
}

/* ------------------------------------------------------------------------ */
/* The result                                                                */

static double sd_max(const vt__lm_result *lm, int np, int first, int count)
{
    double m = 0.0;
    for (int k = first; k < first + count; k++)
        m = fmax(m, sqrt(fmax(lm->cov[k * np + k], 0.0)));
    return m;
}

static vt_status fill_result(problem *pr, const double *p, const vt__lm_result *lm,
                             const vt_rig_camera *rc, const vt_det2d_list *dets,
                             vt_calib_result *out)
{
    double scale;
    model(pr, p, &out->cam, &scale);
    out->clock_scale = scale;
    out->clock_offset = p[3] - scale * pr->xbar;
    out->points = calloc(pr->nobs ? pr->nobs : 1, sizeof *out->points);
    if (!out->points)
        return vt__error(VT_ENOMEM, "out of memory");
    out->npoints = pr->nobs;
    bool *in = calloc(pr->nobs ? pr->nobs : 1, sizeof *in);
    if (!in)
        return vt__error(VT_ENOMEM, "out of memory");
    for (size_t k = 0; k < pr->nuse; k++)
        in[pr->use[k]] = true;
    double sum2 = 0.0;
    for (size_t i = 0; i < pr->nobs; i++) {
        vt_calib_point *pt = &out->points[i];
        const obs *ob = &pr->obs[i];
        pt->t = p[3] + scale * ob->x;
        pt->u = ob->u;
        pt->v = ob->v;
        pt->line = dets->items[i].line;
        pt->projected = predict(pr, &out->cam, scale, p[3], ob, &pt->pu, &pt->pv);
        pt->inlier = in[i] && pt->projected;
        vt_vec3 pos;
        if (vt_reftrack_at(pr->track, pt->t, pr->o->max_gap, &pos, NULL))
            out->on_track++;
        if (pt->inlier) {
            double e = hypot(pt->pu - pt->u, pt->pv - pt->v);
            sum2 += e * e;
            out->max_px = fmax(out->max_px, e);
            out->inliers++;
        }
    }
    free(in);
    out->outliers = out->on_track > out->inliers ? out->on_track - out->inliers : 0;
    out->rms_px = out->inliers ? sqrt(sum2 / (double)out->inliers) : 0.0;
    out->rotation_deg = vt_rad2deg(vt__q_angle(rc->cam.q, out->cam.q));
    out->position_m = vt_v3_norm(vt_v3_sub(out->cam.position, rc->cam.position));
    if (lm->has_cov) {
        out->sd_rotation_deg = vt_rad2deg(sd_max(lm, pr->np, 0, 3));
        out->sd_offset_s = sd_max(lm, pr->np, 3, 1);
        out->sd_position_m = pr->i_pos >= 0 ? sd_max(lm, pr->np, pr->i_pos, 3) : 0.0;
        /* The clock at the ends of the span, t = oc + s0 (1 + e) x: var = var(oc) + (s0 x)^2
           var(e) + 2 s0 x cov(oc, e). */
        double var = lm->cov[3 * pr->np + 3];
        if (pr->i_scale >= 0) {
            double half = 0.0;
            for (size_t i = 0; i < pr->nobs; i++)
                half = fmax(half, fabs(pr->obs[i].x));
            double a = pr->s0 * half, ve = lm->cov[pr->i_scale * pr->np + pr->i_scale],
                   c = lm->cov[3 * pr->np + pr->i_scale];
            var += a * a * ve + 2.0 * a * fabs(c);
        }
        out->sd_clock_s = sqrt(fmax(var, 0.0));
    }
    const char *why = !lm->has_cov                             ? "the fit is singular"
                      : out->sd_rotation_deg > pr->o->weak_deg ? "orientation"
                      : out->sd_clock_s > pr->o->weak_offset   ? "clock"
                      : out->sd_position_m > pr->o->weak_m     ? "position"
                                                               : NULL;
    if (why) {
        out->weak = true;
        snprintf(out->message, sizeof out->message,
                 "weak geometry: %s poorly determined (standard deviations %.3g deg, %.3g s, "
                 "%.3g m); fly across more of the view, with turns and changes of speed",
                 why, out->sd_rotation_deg, out->sd_offset_s, out->sd_position_m);
    }
    return VT_OK;
}

void vt_calib_result_free(vt_calib_result *r)
{
    if (!r)
        return;
    free(r->points);
    r->points = NULL;
    r->npoints = 0;
}

static vt_status build_problem(problem *pr, const vt_rig *rig, const vt_rig_camera *rc,
                               const vt_det2d_list *dets)
{
    vt_det2d_clock clock = vt_det2d_camera_clock(rig, rc, dets->timed);
    pr->s0 = clock.scale;
    pr->base = rc->cam;
    pr->nobs = dets->count;
    pr->obs = malloc((pr->nobs ? pr->nobs : 1) * sizeof *pr->obs);
    pr->use = malloc((pr->nobs ? pr->nobs : 1) * sizeof *pr->use);
    if (!pr->obs || !pr->use)
        return vt__error(VT_ENOMEM, "out of memory for %zu detections", pr->nobs);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < pr->nobs; i++) {
        double x = vt_det2d_clock_input(&dets->items[i]);
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    pr->xbar = pr->nobs ? 0.5 * (lo + hi) : 0.0;
    for (size_t i = 0; i < pr->nobs; i++) {
        const vt_det2d *d = &dets->items[i];
        obs *ob = &pr->obs[i];
        ob->x = vt_det2d_clock_input(d) - pr->xbar;
        ob->u = d->u;
        ob->v = d->v;
        ob->bearing = vt__calib_bearing(&pr->base, d->u, d->v, &ob->b);
    }
    return VT_OK;
}

vt_status vt_calib_camera(const vt_calib_opts *opts, const vt_rig *rig, int camera,
                          const vt_det2d_list *dets, const vt_reftrack *track, vt_calib_result *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_calib_camera: out is NULL");
    memset(out, 0, sizeof *out);
    if (!rig || camera < 0 || camera >= rig->count || !dets || !track)
        return vt__error(VT_EINVAL, "vt_calib_camera: NULL argument or no camera %d", camera);
    vt_calib_opts o = opts ? *opts : vt_calib_opts_default();
    const vt_rig_camera *rc = &rig->cameras[camera];
    vt_status s = check_opts(&o);
    if (s)
        return s;
    out->detections = dets->count;
    out->cam = rc->cam;
    problem pr;
    memset(&pr, 0, sizeof pr);
    pr.o = &o;
    pr.track = track;
    layout(&pr, o.solve);
    if (!(s = build_problem(&pr, rig, rc, dets))) {
        vt_det2d_clock clock = vt_det2d_camera_clock(rig, rc, dets->timed);
        double period = dets->timed ? 1.0 / (rig->fps > 0 ? rig->fps : 30.0) : pr.s0;
        double step = o.offset_step > 0 ? o.offset_step : period / 3.0;
        double oc0 = clock.offset + pr.s0 * pr.xbar;
        candidate best = {oc0, INFINITY, 0, pr.base.q, pr.base.position};
        s = search(&pr, oc0, step, (o.solve & VT_CALIB_POSITION) != 0,
                   o.seed ^ (uint64_t)camera * 0xD1B54A32D192ED03ull, &best);
        if (!s) {
            pr.base.q = best.q;
            pr.base.position = best.c;
            vt_camera_init(&pr.base);
            double p[VT__LM_MAX_PARAMS] = {0};
            p[3] = best.offset;
            vt__lm_result lm;
            s = refine(&pr, p, &lm, &out->iterations);
            if (!s)
                s = fill_result(&pr, p, &lm, rc, dets, out);
            if (!s && (double)out->inliers < o.min_fraction * (double)out->on_track)
                s = vt__error(VT_ERANGE,
                              "only %zu of the %zu detections on the track fit it (rms %.3g px): "
                              "under %.0f%%, this is not a calibration (a wrong track, camera "
                              "position or clock range?)",
                              out->inliers, out->on_track, out->rms_px, 100 * o.min_fraction);
        }
    }
    free(pr.obs);
    free(pr.use);
    if (s) {
        vt__error_prefix(s, "camera %d ('%s')", camera, rc->id);
        snprintf(out->message, sizeof out->message, "%s", vt_last_error());
    }
    return s;
}

vt_status vt_calib_apply(const vt_calib_result *r, vt_rig *rig, int camera)
{
    if (!r || !rig || camera < 0 || camera >= rig->count)
        return vt__error(VT_EINVAL, "vt_calib_apply: NULL argument or no camera %d", camera);
    vt_rig_camera *c = &rig->cameras[camera];
    vt_camera cam = r->cam;
    vt_status s = vt_camera_init(&cam);
    if (s)
        return vt__error_prefix(s, "camera %d ('%s')", camera, c->id);
    c->cam = cam;
    c->clock_scale = r->clock_scale;
    c->clock_offset = r->clock_offset;
    return VT_OK;
}
