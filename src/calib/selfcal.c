/*
 * src/calib/selfcal.c - the target triangulated from the cameras whose
 * poses are known, as the reference track of the others (see
 * vt_calib_triangulate in voxtrack/calib.h).
 *
 * The idea is Albl et al.'s ("Multi-camera drone flight self-calibration",
 * and Albl, Kukelova, Pajdla et al., "On the two-view geometry of
 * unsynchronized cameras", CVPR 2017): with two or more calibrated cameras
 * the drone itself is the calibration target once their clocks agree.
 *
 * 1. Clocks. The first known camera is the reference. For each other known
 *    camera, candidate offsets on a grid are scored by how well its rays
 *    meet the reference camera's: at each reference detection's time its
 *    own detections are interpolated linearly between the frames around
 *    that time (the frame rates need not match), and the ray-to-ray miss,
 *    as an angle seen from that camera, is scored like MSAC. A wrong offset
 *    moves the interpolated point along the track, off the epipolar plane
 *    wherever the drone does not fly along it; the best candidate is refined
 *    by Levenberg-Marquardt on the signed misses of its inliers.
 * 2. Points. At each reference detection's time, every other known camera
 *    contributes its candidate ray that passes nearest; the rays that pass
 *    within the gate are met by least squares (vt_rays_meet). A point far
 *    from the line through its neighbours (a false detection that happened
 *    to meet another) is dropped.
 * 3. Geometry. The median of the largest angle between the rays of each
 *    point says how well range is determined: under a few degrees the
 *    points are stretched along the line of sight and the result is weak.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib_internal.h"
#include "core/internal.h"
#include "voxtrack/detect.h"

/* A triangulation whose rays meet at a median angle below this is weak, degrees. */
#define WEAK_ANGLE_DEG 3.0
/* Detections further apart in time than this are not interpolated between, s. */
#define MAX_BRIDGE 0.25
/* A target moves at most this many pixels a second in an image (for pairing detections). */
#define MAX_PIXEL_SPEED 3000.0
/* Pixels and points are smoothed over this many frames on each side ... */
#define SMOOTH_FRAMES 4
/* ... of the detections within this many pixels of the line through the candidate. */
#define SMOOTH_PX 4.0
/* Samples on each side of the centre in the clock's refinement. */
#define REFINE_SAMPLES 10

/* A known camera's detections on the rig's clock (its solved offset added). */
typedef struct cam_view {
    int index;
    const vt_rig_camera *rc;
    const vt_det2d_list *dets;
    vt_det2d_clock clock;
    double period; /* frame period, s */
    double delta;  /* solved change of its offset */
    double *t;     /* per detection: clock time + delta */
} cam_view;

static void view_times(cam_view *v)
{
    for (size_t i = 0; i < v->dets->count; i++)
        v->t[i] =
            v->clock.scale * vt_det2d_clock_input(&v->dets->items[i]) + v->clock.offset + v->delta;
}

/* The first detection at time >= t. */
static size_t lower(const cam_view *v, double t)
{
    size_t lo = 0, hi = v->dets->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* How a candidate ray meets the reference ray. */
typedef struct meet {
    double miss;  /* signed distance along the common normal, m */
    double range; /* distance along the candidate's ray to the closest point, m */
    double angle; /* angle between the rays, radians */
    vt_vec3 o, d; /* the candidate ray */
} meet;

static bool meet_rays(vt_vec3 o1, vt_vec3 d1, vt_vec3 o2, vt_vec3 d2, meet *m)
{
    vt_vec3 n = vt_v3_cross(d1, d2);
    double nn = vt_v3_norm(n);
    if (!(nn > 1e-9))
        return false;
    vt_vec3 w = vt_v3_sub(o2, o1);
    double b = vt_v3_dot(d1, d2), e = vt_v3_dot(d1, w), f = vt_v3_dot(d2, w);
    double den = 1.0 - b * b;
    double s1 = (e - b * f) / den, s2 = (b * e - f) / den;
    if (!(s1 > 0 && s2 > 0))
        return false;
    m->miss = vt_v3_dot(w, n) / nn;
    m->range = s2;
    m->angle = asin(fmin(nn, 1.0));
    m->o = o2;
    m->d = d2;
    return true;
}

/*
 * The detections of camera v within SMOOTH_FRAMES frames of t that lie on
 * the line (u, w) + (t_j - t) (du, dw) within SMOOTH_PX, fitted by a local
 * quadratic: the smoothed pixel at t. The interpolation between the two
 * frames around t alone would tie the pixel's noise to its velocity's, and
 * bias the clock solved through it (see the top of the file); the fit over
 * frames on both sides does not. Keeps (u, w) when too few detections fit.
 */
static void smooth_pixel(const cam_view *v, double t, double *u, double *w, double du, double dw)
{
    double half = SMOOTH_FRAMES * v->period;
    size_t n = v->dets->count, j = lower(v, t - half), m = 0, before = 0, after = 0;
    double tt[4 * SMOOTH_FRAMES + 4], yy[2 * (4 * SMOOTH_FRAMES + 4)];
    for (; j < n && v->t[j] <= t + half && m < 4 * SMOOTH_FRAMES + 4; j++) {
        const vt_det2d *d = &v->dets->items[j];
        double dt = v->t[j] - t;
        if (hypot(d->u - (*u + dt * du), d->v - (*w + dt * dw)) > SMOOTH_PX)
            continue;
        tt[m] = v->t[j];
        yy[2 * m] = d->u;
        yy[2 * m + 1] = d->v;
        before += dt < 0;
        after += dt > 0;
        m++;
    }
    double val[2], slope[2];
    if (before >= 2 && after >= 2 && vt__local_quadratic(tt, yy, m, 2, t, half, val, slope)) {
        *u = val[0];
        *w = val[1];
    }
}

/*
 * Camera v's candidate rays at time t (its detections interpolated between
 * the frames around t), the one nearest the reference ray (o1, d1) in *best,
 * then smoothed over the frames around it. False when none meets it.
 */
static bool nearest_candidate(const cam_view *v, double t, vt_vec3 o1, vt_vec3 d1, meet *best)
{
    size_t n = v->dets->count, j = lower(v, t);
    /* The frame at or after t: [j, j1); the frame before: [j0, j). */
    size_t j1 = j;
    while (j1 < n && v->t[j1] == v->t[j])
        j1++;
    size_t j0 = j;
    while (j0 > 0 && j > 0 && v->t[j0 - 1] == v->t[j - 1])
        j0--;
    double bestq = INFINITY, bu = 0, bw = 0, bdu = 0, bdw = 0;
    for (size_t b = j; b < j1; b++) {
        for (size_t a = j0; a < j; a++) {
            const vt_det2d *da = &v->dets->items[a], *db = &v->dets->items[b];
            double ta = v->t[a], tb = v->t[b], gap = tb - ta;
            if (!(gap > 0 && gap <= MAX_BRIDGE) ||
                hypot(db->u - da->u, db->v - da->v) > MAX_PIXEL_SPEED * gap)
                continue;
            double s = (t - ta) / gap, du = (db->u - da->u) / gap, dw = (db->v - da->v) / gap;
            double u = da->u + s * (db->u - da->u), w = da->v + s * (db->v - da->v);
            vt_vec3 o, d;
            meet m;
            if (!vt_camera_pixel_to_ray(&v->rc->cam, u, w, &o, &d) || !meet_rays(o1, d1, o, d, &m))
                continue;
            double q = fabs(m.miss) / m.range;
            if (q < bestq) {
                bestq = q, bu = u, bw = w, bdu = du, bdw = dw;
            }
        }
    }
    if (!isfinite(bestq))
        return false;
    smooth_pixel(v, t, &bu, &bw, bdu, bdw);
    vt_vec3 o, d;
    return vt_camera_pixel_to_ray(&v->rc->cam, bu, bw, &o, &d) && meet_rays(o1, d1, o, d, best);
}

/* ------------------------------------------------------------------------ */
/* Clocks of the known cameras                                               */

typedef struct clock_problem {
    const cam_view *ref;
    cam_view *v;
    const size_t *use; /* reference detections */
    size_t nuse;
} clock_problem;

/* Signed misses over the range (angles at the other camera) at offset change p[0]. */
static void clock_residuals(void *user, const double *p, double *r)
{
    clock_problem *cp = user;
    double keep = cp->v->delta;
    cp->v->delta = p[0];
    view_times(cp->v);
    for (size_t k = 0; k < cp->nuse; k++) {
        size_t i = cp->use[k];
        const vt_det2d *d = &cp->ref->dets->items[i];
        vt_vec3 o, dir;
        meet m;
        r[k] = 0.0;
        if (vt_camera_pixel_to_ray(&cp->ref->rc->cam, d->u, d->v, &o, &dir) &&
            nearest_candidate(cp->v, cp->ref->t[i], o, dir, &m))
            r[k] = m.miss / m.range;
    }
    cp->v->delta = keep;
    view_times(cp->v);
}

/* MSAC score of offset change delta over the reference detections in sub; inliers listed. */
static double clock_score(const cam_view *ref, cam_view *v, double delta, const size_t *sub,
                          size_t nsub, double thr, size_t *in, size_t *nin)
{
    v->delta = delta;
    view_times(v);
    double score = 0.0;
    *nin = 0;
    for (size_t k = 0; k < nsub; k++) {
        const vt_det2d *d = &ref->dets->items[sub[k]];
        vt_vec3 o, dir;
        meet m;
        double e = INFINITY;
        if (vt_camera_pixel_to_ray(&ref->rc->cam, d->u, d->v, &o, &dir) &&
            nearest_candidate(v, ref->t[sub[k]], o, dir, &m))
            e = fabs(m.miss) / m.range;
        if (e < thr) {
            score += e * e;
            if (in)
                in[(*nin)] = sub[k];
            (*nin)++;
        } else {
            score += thr * thr;
        }
    }
    return score;
}

static vt_status solve_clock(const vt_calib_opts *o, const cam_view *ref, cam_view *v,
                             size_t *scratch, size_t *in)
{
    size_t n = ref->dets->count, want = n < (size_t)o->search_max ? n : (size_t)o->search_max;
    size_t nsub = 0;
    for (size_t i = 0; i < n && nsub < want; i++)
        if ((i * want) / n != ((i + 1) * want) / n)
            scratch[nsub++] = i;
    double thr = o->search_px / fmax(v->rc->cam.fx, v->rc->cam.fy);
    double step = o->offset_step > 0 ? o->offset_step : v->period / 3.0;
    int steps = (int)ceil(o->max_offset / step - 1e-9);
    double best = INFINITY, best_delta = 0.0;
    size_t nin = 0;
    for (int k = -steps; k <= steps; k++) {
        double s = clock_score(ref, v, k * step, scratch, nsub, thr, NULL, &nin);
        if (nin >= (size_t)o->min_inliers && s < best) {
            best = s;
            best_delta = k * step;
        }
    }
    if (!isfinite(best))
        return vt__error(VT_ERANGE,
                         "camera %d ('%s'): no clock offset within %g s makes %d of its rays meet "
                         "those of camera %d ('%s')",
                         v->index, v->rc->id, o->max_offset, o->min_inliers, ref->index,
                         ref->rc->id);
    clock_score(ref, v, best_delta, scratch, nsub, thr, in, &nin);
    /*
     * Refinement: the squared misses of these inliers as a function of the
     * offset are smooth but for small steps (a candidate detection that
     * appears or leaves at a frame boundary), which would stall a
     * derivative-based solver. So the cost is sampled across the grid cell
     * and a parabola fitted by least squares; its minimum is followed while
     * it lies at the edge of the samples, then the window narrows, twice.
     */
    clock_problem cp = {ref, v, in, nin};
    double centre = best_delta, width = step;
    double *r = malloc((nin ? nin : 1) * sizeof *r);
    if (!r)
        return vt__error(VT_ENOMEM, "out of memory");
    for (int pass = 0, narrowed = 0; pass < 12 && narrowed < 2; pass++) {
        double m[9] = {0}, rhs[3] = {0};
        for (int k = -REFINE_SAMPLES; k <= REFINE_SAMPLES; k++) {
            double x = (double)k / REFINE_SAMPLES, p[1] = {centre + x * width}, cost = 0.0;
            clock_residuals(&cp, p, r);
            for (size_t i = 0; i < nin; i++)
                cost += r[i] * r[i];
            const double b[3] = {1.0, x, x * x};
            for (int a = 0; a < 3; a++) {
                rhs[a] += b[a] * cost;
                for (int c = 0; c < 3; c++)
                    m[a * 3 + c] += b[a] * b[c];
            }
        }
        /* cost = c0 + c1 x + c2 x^2: the minimum at -c1 / 2 c2, kept inside the samples. */
        if (!vt__cholesky_solve(3, m, rhs) || !(rhs[2] > 0))
            break;
        double x = fmax(-1.0, fmin(1.0, -rhs[1] / (2.0 * rhs[2])));
        centre += x * width;
        /* A minimum at the edge: the grid's cell was not the best; follow it before narrowing. */
        if (fabs(x) < 0.99 || fabs(centre - best_delta) > o->max_offset) {
            width *= 0.25;
            narrowed++;
        }
    }
    free(r);
    v->delta = centre;
    view_times(v);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Points                                                                    */

typedef struct tpoint {
    double t;
    vt_vec3 p;
    double quality; /* summed miss angles: the lower, the better (same-time duplicates) */
} tpoint;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * Drops points far off the line through their two neighbours (more than 6
 * times the median of that deviation, and more than a metre): chance
 * meetings of false detections. Returns the count kept.
 */
static size_t drop_strays(tpoint *pts, size_t n, double *dev, double *scratch)
{
    if (n < 5)
        return n;
    for (size_t i = 0; i < n; i++) {
        size_t a = i == 0 ? 1 : i == n - 1 ? n - 3 : i - 1;
        size_t b = i == 0 ? 2 : i == n - 1 ? n - 2 : i + 1;
        double s = (pts[i].t - pts[a].t) / (pts[b].t - pts[a].t);
        vt_vec3 pred = vt_v3_add(pts[a].p, vt_v3_scale(vt_v3_sub(pts[b].p, pts[a].p), s));
        dev[i] = vt_v3_norm(vt_v3_sub(pts[i].p, pred));
    }
    memcpy(scratch, dev, n * sizeof *scratch);
    double limit = fmax(1.0, 6.0 * median(scratch, n));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (dev[i] <= limit)
            pts[m++] = pts[i];
    return m;
}

/*
 * Each point replaced by a local quadratic fit of its neighbours within
 * +-half seconds (position and velocity): the reference of the other cameras
 * then carries less of the triangulation noise, and its velocity none of its
 * own point's noise (see smooth_pixel). Points without neighbours on both
 * sides are dropped. Writes times, positions and velocities; returns their
 * count.
 */
static size_t smooth_points(const tpoint *pts, size_t n, double half, double *tt, vt_vec3 *pp,
                            vt_vec3 *vv, double *scratch)
{
    size_t m = 0, lo = 0;
    for (size_t i = 0; i < n; i++) {
        while (pts[lo].t < pts[i].t - half)
            lo++;
        size_t k = 0, before = 0, after = 0;
        for (size_t j = lo; j < n && pts[j].t <= pts[i].t + half && k < 64; j++, k++) {
            scratch[k] = pts[j].t;
            scratch[64 + 3 * k] = pts[j].p.x;
            scratch[64 + 3 * k + 1] = pts[j].p.y;
            scratch[64 + 3 * k + 2] = pts[j].p.z;
            before += pts[j].t < pts[i].t;
            after += pts[j].t > pts[i].t;
        }
        double val[3], slope[3];
        if (before < 2 || after < 2 ||
            !vt__local_quadratic(scratch, scratch + 64, k, 3, pts[i].t, half, val, slope))
            continue;
        tt[m] = pts[i].t;
        pp[m] = vt_v3(val[0], val[1], val[2]);
        vv[m] = vt_v3(slope[0], slope[1], slope[2]);
        m++;
    }
    return m;
}

/* The point at reference detection i, when at least one other camera's ray meets its ray. */
static bool triangulate_one(const cam_view *views, int nviews, size_t i, double gate, tpoint *pt,
                            double *angle, double *miss2, int *nmiss)
{
    const cam_view *ref = &views[0];
    const vt_det2d *d = &ref->dets->items[i];
    vt_ray rays[64];
    vt_vec3 o, dir;
    if (!vt_camera_pixel_to_ray(&ref->rc->cam, d->u, d->v, &o, &dir))
        return false;
    rays[0] = (vt_ray){o, dir, 1.0f, (float)(0.5 / ref->rc->cam.fx), (uint16_t)ref->index, 0, 0};
    int n = 1;
    double quality = 0.0;
    for (int k = 1; k < nviews; k++) {
        meet m;
        if (!nearest_candidate(&views[k], ref->t[i], o, dir, &m) || fabs(m.miss) / m.range > gate)
            continue;
        quality += fabs(m.miss) / m.range;
        rays[n++] = (vt_ray){
            m.o, m.d, 1.0f, (float)(0.5 / views[k].rc->cam.fx), (uint16_t)views[k].index, 0, 0};
    }
    if (n < 2)
        return false;
    vt_vec3 pos;
    double residual;
    if (vt_rays_meet(rays, NULL, (size_t)n, &pos, NULL, &residual))
        return false;
    double widest = 0.0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            widest = fmax(widest, acos(fmin(1.0, fabs(vt_v3_dot(rays[a].dir, rays[b].dir)))));
    *angle = widest;
    *miss2 += residual * residual;
    (*nmiss)++;
    *pt = (tpoint){ref->t[i], pos, quality};
    return true;
}

static vt_status make_views(const vt_rig *rig, const vt_det2d_list *const *dets, uint64_t known,
                            cam_view *views, int *nviews)
{
    int n = 0;
    for (int c = 0; c < rig->count && c < 64; c++) {
        if (!(known >> c & 1))
            continue;
        if (!dets[c] || dets[c]->count == 0)
            return vt__error(VT_EINVAL, "camera %d ('%s') is known but has no detections", c,
                             rig->cameras[c].id);
        cam_view *v = &views[n++];
        v->index = c;
        v->rc = &rig->cameras[c];
        v->dets = dets[c];
        v->clock = vt_det2d_camera_clock(rig, v->rc, dets[c]->timed);
        v->period = dets[c]->timed ? 1.0 / (rig->fps > 0 ? rig->fps : 30.0) : v->clock.scale;
        v->delta = 0.0;
        v->t = malloc(dets[c]->count * sizeof *v->t);
        if (!v->t)
            return vt__error(VT_ENOMEM, "out of memory");
        view_times(v);
    }
    *nviews = n;
    if (n < 2)
        return vt__error(
            VT_EINVAL, "self-calibration needs at least two cameras with known poses (got %d)", n);
    return VT_OK;
}

static vt_status triangulate_all(const vt_calib_opts *o, const cam_view *views, int nviews,
                                 vt_reftrack **out, vt_calib_triangulation *st)
{
    const cam_view *ref = &views[0];
    size_t n = ref->dets->count;
    tpoint *pts = malloc((n ? n : 1) * sizeof *pts);
    double *angles = malloc((n ? n : 1) * sizeof *angles);
    double *scratch = malloc((2 * n + 256) * sizeof *scratch);
    double *tt = malloc((n ? n : 1) * sizeof *tt);
    vt_vec3 *pp = malloc((n ? n : 1) * sizeof *pp), *vv = malloc((n ? n : 1) * sizeof *vv);
    vt_status s =
        pts && angles && scratch && tt && pp && vv ? VT_OK : vt__error(VT_ENOMEM, "out of memory");
    double gate = o->search_px / ref->rc->cam.fx, miss2 = 0.0;
    int nmiss = 0;
    size_t m = 0, na = 0;
    for (size_t i = 0; !s && i < n; i++) {
        tpoint pt;
        double angle;
        if (!triangulate_one(views, nviews, i, gate, &pt, &angle, &miss2, &nmiss))
            continue;
        angles[na++] = angle;
        /* Two detections in one frame: the better meeting stays. */
        if (m && pts[m - 1].t == pt.t) {
            if (pt.quality < pts[m - 1].quality)
                pts[m - 1] = pt;
            continue;
        }
        pts[m++] = pt;
    }
    if (!s) {
        st->candidates = n;
        m = drop_strays(pts, m, scratch, scratch + n);
        st->points = m;
        st->rms_miss_m = nmiss ? sqrt(miss2 / nmiss) : 0.0;
        st->median_angle_deg = na ? vt_rad2deg(median(angles, na)) : 0.0;
        if (m < (size_t)o->min_inliers)
            s = vt__error(VT_ERANGE,
                          "%zu points triangulated from %zu detections of camera %d ('%s'); %d "
                          "needed (do the known cameras see the target at the same time?)",
                          m, n, ref->index, ref->rc->id, o->min_inliers);
    }
    if (!s && st->median_angle_deg < WEAK_ANGLE_DEG) {
        st->weak = true;
        snprintf(st->message, sizeof st->message,
                 "weak geometry: the known cameras' rays meet at a median %.2f degrees (under "
                 "%.0f): range along their lines of sight is poorly determined",
                 st->median_angle_deg, WEAK_ANGLE_DEG);
    }
    if (!s) {
        m = smooth_points(pts, m, SMOOTH_FRAMES * ref->period, tt, pp, vv, scratch);
        st->points = m;
    }
    if (!s && m < 2)
        s = vt__error(VT_ERANGE, "too few triangulated points survive smoothing (%zu)", m);
    if (!s)
        s = vt_reftrack_new(tt, pp, vv, m, out);
    free(pts), free(angles), free(scratch), free(tt), free(pp), free(vv);
    return s;
}

vt_status vt_calib_triangulate(const vt_calib_opts *opts, const vt_rig *rig,
                               const vt_det2d_list *const *dets, uint64_t known, vt_reftrack **out,
                               vt_calib_triangulation *stats)
{
    vt_calib_triangulation dummy;
    vt_calib_triangulation *st = stats ? stats : &dummy;
    memset(st, 0, sizeof *st);
    if (!out || !rig || !dets)
        return vt__error(VT_EINVAL, "vt_calib_triangulate: NULL argument");
    *out = NULL;
    vt_calib_opts o = opts ? *opts : vt_calib_opts_default();
    if (!(o.max_offset >= 0) || !(o.search_px > 0) || o.min_inliers < 2 || o.search_max < 1)
        return vt__error(VT_EINVAL, "calibration: options out of range");
    cam_view views[64];
    memset(views, 0, sizeof views);
    int nviews = 0;
    vt_status s = make_views(rig, dets, known, views, &nviews);
    size_t n = nviews ? views[0].dets->count : 0;
    size_t *scratch = s ? NULL : malloc((n ? n : 1) * sizeof *scratch);
    size_t *in = s ? NULL : malloc((n ? n : 1) * sizeof *in);
    if (!s && (!scratch || !in))
        s = vt__error(VT_ENOMEM, "out of memory");
    /* max_offset 0: the known cameras' clocks are trusted as the rig gives them. */
    for (int k = 1; !s && k < nviews && o.max_offset > 0; k++)
        s = solve_clock(&o, &views[0], &views[k], scratch, in);
    for (int c = 0; c < rig->count && c < 64; c++)
        st->clock_offset[c] = rig->cameras[c].clock_offset;
    for (int k = 0; !s && k < nviews; k++)
        st->clock_offset[views[k].index] = views[k].clock.offset + views[k].delta;
    if (!s)
        s = triangulate_all(&o, views, nviews, out, st);
    for (int k = 0; k < nviews; k++)
        free(views[k].t);
    free(scratch);
    free(in);
    return s;
}
