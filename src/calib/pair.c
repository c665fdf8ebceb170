/*
 * src/calib/pair.c - the relative rotation of a mono/thermal pair from
 * matched detections of moving targets (vt_pair_calibrate in voxtrack/calib.h;
 * docs/FUSION.md, "Registration").
 *
 * The two cameras of a pair share a mount, so what drifts or is mounted
 * wrong is mostly the rotation between them; their baseline (centimetres)
 * matters only for near targets. A target that both cameras see at the same
 * instant gives a pair of unit bearings: b in the mono frame and w in the
 * thermal frame, w ~ R b for the thermal_from_mono rotation R (exactly, for
 * a target at infinity; at range r the thermal bearing is that of
 * R b + t / r, t the mono centre in the thermal frame, so w is first
 * corrected to w - t / r when the targets' range is given).
 *
 * Matching and solving alternate. Each mono detection is paired with the
 * thermal detection of the same instant (within max_dt) nearest to where
 * the current rotation predicts it, when that one is within the gate and no
 * second one is (an ambiguous pair is left out, not guessed). The rotation
 * is then the one taking the mono bearings nearest their thermal bearings in
 * the least-squares sense (Wahba's problem, solved in closed form by Horn's
 * quaternion method: vt__nearest_rotation), and the gate shrinks to a few
 * times the residual for the next round. The first round starts from the
 * rig's rotation and the wide gate; the last keeps the matches within
 * inlier_px of the solved prediction, solves once more and reports the
 * residual in thermal pixels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib_internal.h"
#include "core/internal.h"
#include "voxtrack/fusion.h"

vt_pair_calib_opts vt_pair_calib_opts_default(void)
{
    return (vt_pair_calib_opts){
        .max_dt = 0.002,
        .gate_px = 40.0,
        .inlier_px = 2.0,
        .range = INFINITY,
        .rounds = 6,
        .min_matches = 20,
    };
}

static vt_status check_opts(const vt_pair_calib_opts *o)
{
    if (!(o->max_dt >= 0.0 && o->max_dt <= 1.0))
        return vt__error(VT_EINVAL, "pair calibration: max_dt %g must be in [0, 1] s", o->max_dt);
    if (!(o->gate_px > 0.0 && o->gate_px <= 1e4))
        return vt__error(VT_EINVAL, "pair calibration: gate_px %g must be in (0, 10000]",
                         o->gate_px);
    if (!(o->inlier_px > 0.0 && o->inlier_px <= o->gate_px))
        return vt__error(VT_EINVAL, "pair calibration: inlier_px %g must be in (0, gate_px]",
                         o->inlier_px);
    if (!(o->range > 0.0)) /* INFINITY passes; NaN does not */
        return vt__error(VT_EINVAL, "pair calibration: range %g must be > 0 (or infinite)",
                         o->range);
    if (o->rounds < 1 || o->rounds > 100)
        return vt__error(VT_EINVAL, "pair calibration: rounds %d must be in [1, 100]", o->rounds);
    if (o->min_matches < 3)
        return vt__error(VT_EINVAL, "pair calibration: min_matches %d must be >= 3",
                         o->min_matches);
    return VT_OK;
}

/* One mono detection and what the matching made of it. */
typedef struct mono_obs {
    vt_vec3 b;      /* unit bearing, mono frame */
    double u, v;    /* its pixel */
    size_t first;   /* thermal detections of its instant: [first, last) */
    size_t last;
    long match;     /* index of its thermal detection, -1: none */
    double residual; /* px from the prediction of the current rotation */
} mono_obs;

typedef struct pair_problem {
    const vt_pair_calib_opts *o;
    vt_pair_map map; /* map.r is the current rotation */
    const vt_det2d_list *th;
    vt_vec3 *w; /* per thermal detection: its bearing, corrected for the parallax */
    mono_obs *m;
    size_t nm;
} pair_problem;

/* Pixel distance between where the map puts mono pixel (u, v) and thermal detection j. */
static double predicted_distance(const pair_problem *p, double u, double v, size_t j)
{
    double ut, vt;
    if (!vt_pair_map_apply(&p->map, u, v, p->o->range, &ut, &vt))
        return INFINITY;
    const vt_det2d *d = &p->th->items[j];
    return hypot(ut - d->u, vt - d->v);
}

/* Pairs every mono detection within `gate` (see the top); returns the matches made. */
static size_t match(pair_problem *p, double gate)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nm; i++) {
        mono_obs *mo = &p->m[i];
        double d1 = INFINITY, d2 = INFINITY;
        long best = -1;
        for (size_t j = mo->first; j < mo->last; j++) {
            double d = predicted_distance(p, mo->u, mo->v, j);
            if (d < d1) {
                d2 = d1;
                d1 = d;
                best = (long)j;
            } else if (d < d2) {
                d2 = d;
            }
        }
        bool ok = d1 <= gate && !(d2 <= gate);
        mo->match = ok ? best : -1;
        mo->residual = ok ? d1 : INFINITY;
        n += ok;
    }
    return n;
}

/* Horn over the current matches: the new map.r. */
static void solve(pair_problem *p)
{
    double m[9] = {0};
    for (size_t i = 0; i < p->nm; i++) {
        const mono_obs *mo = &p->m[i];
        if (mo->match < 0)
            continue;
        vt_vec3 w = p->w[mo->match];
        const double wk[3] = {w.x, w.y, w.z}, bk[3] = {mo->b.x, mo->b.y, mo->b.z};
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++)
                m[x * 3 + y] += wk[x] * bk[y];
    }
    p->map.r = vt_q_to_m3(vt__nearest_rotation(m));
}

/* Residuals of the matches under map.r: RMS and maximum, px. */
static void residuals(pair_problem *p, double *rms, double *max)
{
    double ss = 0, mx = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->nm; i++) {
        mono_obs *mo = &p->m[i];
        if (mo->match < 0)
            continue;
        mo->residual = predicted_distance(p, mo->u, mo->v, (size_t)mo->match);
        ss += mo->residual * mo->residual;
        mx = mo->residual > mx ? mo->residual : mx;
        n++;
    }
    *rms = n ? sqrt(ss / (double)n) : NAN;
    *max = n ? mx : NAN;
}

/* Bearings of both lists and each mono detection's simultaneous thermal ones. */
static vt_status prepare(pair_problem *p, const vt_det2d_list *mono)
{
    const vt_pair_map *mp = &p->map;
    p->w = malloc((p->th->count ? p->th->count : 1) * sizeof *p->w);
    p->m = malloc((mono->count ? mono->count : 1) * sizeof *p->m);
    if (!p->w || !p->m)
        return vt__error(VT_ENOMEM, "pair calibration: out of memory");
    for (size_t j = 0; j < p->th->count; j++) {
        const vt_det2d *d = &p->th->items[j];
        vt_vec3 w = vt_v3(NAN, NAN, NAN);
        if (vt__calib_bearing(&mp->thermal, d->u, d->v, &w) && isfinite(p->o->range))
            w = vt_v3_normalize(vt_v3_sub(w, vt_v3_scale(mp->t, 1.0 / p->o->range)));
        p->w[j] = w;
    }
    p->nm = 0;
    for (size_t i = 0; i < mono->count; i++) {
        const vt_det2d *d = &mono->items[i];
        mono_obs *mo = &p->m[p->nm];
        if (!isfinite(d->t) || !vt__calib_bearing(&mp->mono, d->u, d->v, &mo->b))
            continue;
        mo->u = d->u;
        mo->v = d->v;
        mo->first = vt_det2d_lower_bound(p->th, d->t - p->o->max_dt);
        mo->last = mo->first;
        while (mo->last < p->th->count && p->th->items[mo->last].t <= d->t + p->o->max_dt)
            mo->last++;
        /* A thermal detection without a bearing is never matched. */
        while (mo->first < mo->last && !isfinite(p->w[mo->first].x))
            mo->first++;
        mo->match = -1;
        p->nm += mo->first < mo->last;
    }
    return VT_OK;
}

static vt_status check_list(const vt_det2d_list *l, const char *which)
{
    if (!l || (l->count && !l->items))
        return vt__error(VT_EINVAL, "pair calibration: no %s detections list", which);
    for (size_t i = 0; i < l->count; i++) {
        double t = l->items[i].t;
        if (!isfinite(t))
            return vt__error(VT_EINVAL,
                             "pair calibration: %s detection %zu (line %d) has no time on the "
                             "rig's clock (vt_det2d_apply_clock)",
                             which, i, (int)l->items[i].line);
        if (i && t < l->items[i - 1].t)
            return vt__error(VT_EINVAL,
                             "pair calibration: %s detections are not in time order at %zu "
                             "(line %d)",
                             which, i, (int)l->items[i].line);
    }
    return VT_OK;
}

vt_status vt_pair_calibrate(const vt_pair_calib_opts *opts, const vt_camera *mono,
                            const vt_camera *thermal, const vt_det2d_list *mono_dets,
                            const vt_det2d_list *thermal_dets, vt_pair_calib_result *out)
{
    if (!mono || !thermal || !out)
        return vt__error(VT_EINVAL, "vt_pair_calibrate: NULL argument");
    memset(out, 0, sizeof *out);
    vt_pair_calib_opts o = opts ? *opts : vt_pair_calib_opts_default();
    vt_status s = check_opts(&o);
    if (!s)
        s = check_list(mono_dets, "mono");
    if (!s)
        s = check_list(thermal_dets, "thermal");
    pair_problem p = {.o = &o, .th = thermal_dets};
    if (!s)
        s = vt_pair_map_init(mono, thermal, &p.map);
    if (!s)
        s = prepare(&p, mono_dets);
    if (s)
        goto done;
    out->mono_detections = mono_dets->count;
    out->thermal_detections = thermal_dets->count;
    const vt_mat3 r_rig = p.map.r;

    /* Rounds of matching and solving, the gate shrinking to the residual's scale. */
    double gate = o.gate_px, rms = NAN, max = NAN;
    for (int k = 0; k < o.rounds; k++) {
        size_t n = match(&p, gate);
        if (k == 0)
            out->matches = n;
        if (n < (size_t)o.min_matches)
            break;
        solve(&p);
        residuals(&p, &rms, &max);
        double next = 4.0 * rms;
        gate = next < o.inlier_px ? o.inlier_px : next < gate ? next : gate;
    }
    /* The last: the matches within inlier_px of the solved prediction. */
    size_t inliers = match(&p, o.inlier_px);
    if (inliers < (size_t)o.min_matches) {
        s = vt__error(VT_EINVAL,
                      "pair calibration: %zu matched detections within %g px (of %zu mono, %zu "
                      "thermal; %zu matched in the first round within %g px of the rig's "
                      "rotation), %d needed: do both cameras see the targets at the same "
                      "times (max_dt %g s), is the rig's rotation within the gate?",
                      inliers, o.inlier_px, mono_dets->count, thermal_dets->count, out->matches,
                      o.gate_px, o.min_matches, o.max_dt);
        goto done;
    }
    solve(&p);
    residuals(&p, &rms, &max);
    out->inliers = inliers;
    out->rms_px = rms;
    out->max_px = max;
    out->r = vt_m3_to_q(p.map.r);
    /* thermal world_from_camera = world_from_mono * mono_from_thermal */
    out->thermal_q = vt_q_normalize(vt_q_mul(mono->q, vt_q_conj(out->r)));
    out->change_deg = vt__q_angle(vt_m3_to_q(r_rig), out->r) * 180.0 / VT_PI;
    /* The rig's rotation on the same matches, for comparison. */
    p.map.r = r_rig;
    residuals(&p, &out->rig_rms_px, &max);

done:
    free(p.w);
    free(p.m);
    return s;
}
