/*
 * src/detect/fusion.c - the registration of a mono/thermal pair and the
 * thermal evidence at a predicted pixel (voxtrack/fusion.h, docs/FUSION.md).
 *
 * Pair map. With R the thermal_from_mono rotation and t the mono centre in
 * the thermal frame, a point at range r along the mono ray d is r (R d +
 * t / r) in the thermal frame: the infinite homography (R alone, between
 * undistorted coordinates) plus a parallax t / r that vanishes with range
 * (Hartley and Zisserman, "Multiple View Geometry", 2nd ed., sec. 13.4).
 *
 * Evidence. A point target is the optics' point spread p scaled by its
 * total signal S; in white noise of sigma the optimal linear detector is the
 * matched filter sum_i p_i (f_i - b), whose mean over its standard deviation
 * is S sqrt(sum p^2) / sigma: the matched-filter SNR the renderer reports
 * for the truth (voxtrack/render.h). The point spread is a Gaussian centred
 * at the sub-pixel prediction, sampled at pixel centres; the background b
 * is the median of a two-pixel ring just outside the window, which follows
 * the sky's gradient and clouds (smooth over a few pixels) and shrugs off a
 * hot pixel or a neighbour in the ring. This is computed here from the
 * frame itself, so that the evidence does not depend on the state of the
 * camera's background model (which has already learnt the frame), and a
 * target that hovers is measured as well as one that moves.
 *
 * Observability. The smallest, coolest target of interest (min_size,
 * min_contrast) at the point's depth Z covers pi (size / 2)^2 fx fy / Z^2
 * pixels; its expected SNR is contrast * that area * sqrt(sum p^2) / sigma.
 * Below observe_snr the thermal camera could not have told, and a silent
 * look proves nothing: the look is "too far", not a contradiction.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "detect/fusion_opts.h"
#include "voxtrack/fusion.h"

enum { MAX_RADIUS = 8, RING = 2 };

vt_status vt_pair_map_init(const vt_camera *mono, const vt_camera *thermal, vt_pair_map *out)
{
    if (!mono || !thermal || !out)
        return vt__error(VT_EINVAL, "vt_pair_map_init: NULL argument");
    memset(out, 0, sizeof *out);
    out->mono = *mono;
    out->thermal = *thermal;
    vt_status s = vt_camera_init(&out->mono);
    if (!s)
        s = vt_camera_init(&out->thermal);
    if (s)
        return vt__error_prefix(s, "pair map");
    /* thermal_from_mono = thermal_from_world * world_from_mono */
    out->r = vt_m3_mul(vt_m3_transpose(out->thermal.r), out->mono.r);
    out->t = vt_camera_world_to_cam(&out->thermal, out->mono.position);
    return VT_OK;
}

bool vt_pair_map_apply(const vt_pair_map *m, double u, double v, double range, double *ut,
                       double *vt)
{
    if (!m || !ut || !vt || isnan(range) || !(range > 0.0))
        return false;
    double x, y;
    if (!vt_camera_undistort(&m->mono, (u - m->mono.cx) / m->mono.fx, (v - m->mono.cy) / m->mono.fy,
                             &x, &y))
        return false;
    vt_vec3 d = vt_v3_normalize(vt_v3(x, y, 1.0));
    vt_vec3 q = vt_m3_mul_v3(m->r, d);
    if (isfinite(range))
        q = vt_v3_add(q, vt_v3_scale(m->t, 1.0 / range));
    if (!(q.z > 0.0))
        return false;
    double xd, yd;
    vt_camera_distort(&m->thermal, q.x / q.z, q.y / q.z, &xd, &yd);
    *ut = m->thermal.fx * xd + m->thermal.cx;
    *vt = m->thermal.fy * yd + m->thermal.cy;
    return true;
}

vt_fusion_opts vt_fusion_opts_default(void)
{
    return (vt_fusion_opts){
        .psf_sigma = 0.6,
        .confirm_snr = 3.0,
        .observe_snr = 6.0,
        .min_size = 0.3,
        .min_contrast = 4000.0,
        .drop_contradicted = true,
        .min_confirm_rate = 0.5,
        .min_observed = 5,
    };
}

vt_status vt_fusion_opts_check(const vt_fusion_opts *o)
{
    if (!o)
        return vt__error(VT_EINVAL, "fusion: options are NULL");
    vt__jctx c = {.where = "fusion"};
    return vt__json_check_values(&c, "", vt__fusion_fields, o, VT_EINVAL);
}

static double sample_at(const vt_image *img, int x, int y)
{
    const uint8_t *row = vt_image_row8(img, y);
    return img->bits == 16 ? (double)((const uint16_t *)(const void *)row)[x] : (double)row[x];
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), n >= 1, sorting v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

vt_status vt_thermal_measure(const vt_camera *cam, const vt_image *img, double noise, vt_vec3 p,
                             const vt_fusion_opts *o, vt_thermal_look *out)
{
    if (!cam || !img || !o || !out)
        return vt__error(VT_EINVAL, "vt_thermal_measure: NULL argument");
    memset(out, 0, sizeof *out);
    out->snr = out->expected_snr = NAN;
    out->reason = VT_FUSION_OUTSIDE;
    vt_status s = vt_fusion_opts_check(o);
    if (s)
        return s;
    if (!img->data || (img->bits != 8 && img->bits != 16) || img->width != cam->width ||
        img->height != cam->height)
        return vt__error(VT_EINVAL,
                         "thermal evidence: the frame is %dx%d %d-bit, the camera %dx%d (8 or 16 "
                         "bit)",
                         img->width, img->height, img->bits, cam->width, cam->height);
    if (!isfinite(p.x) || !isfinite(p.y) || !isfinite(p.z))
        return vt__error(VT_EINVAL, "thermal evidence: the point is not finite");
    vt_vec3 pc = vt_camera_world_to_cam(cam, p);
    out->range = pc.z;
    if (!vt_camera_world_to_pixel(cam, p, &out->u, &out->v))
        return VT_OK;
    const int r = (int)ceil(3.0 * o->psf_sigma), rr = r + RING;
    if (!(out->u > -1e9 && out->u < 1e9 && out->v > -1e9 && out->v < 1e9))
        return VT_OK;
    int cx = (int)floor(out->u + 0.5), cy = (int)floor(out->v + 0.5);
    if (cx - rr < 0 || cy - rr < 0 || cx + rr >= img->width || cy + rr >= img->height)
        return VT_OK;
    /* The background: the ring of pixels at Chebyshev distance r+1 .. r+RING. */
    double ring[(2 * (MAX_RADIUS + RING) + 1) * (2 * (MAX_RADIUS + RING) + 1)];
    int n = 0;
    for (int y = cy - rr; y <= cy + rr; y++)
        for (int x = cx - rr; x <= cx + rr; x++)
            if (abs(x - cx) > r || abs(y - cy) > r)
                ring[n++] = sample_at(img, x, y);
    double b = median(ring, n);
    double sigma = noise;
    if (!(sigma > 0.0)) { /* the ring's robust spread: 1.4826 median |f - b| */
        for (int i = 0; i < n; i++)
            ring[i] = fabs(ring[i] - b);
        sigma = 1.4826 * median(ring, n);
    }
    if (!(sigma > 0.0))
        sigma = 0.5; /* a perfectly flat ring: the quantisation's own noise, ~1/sqrt(12) */
    const double k = -0.5 / (o->psf_sigma * o->psf_sigma);
    double sw = 0.0, sw2 = 0.0, resp = 0.0;
    for (int y = cy - r; y <= cy + r; y++)
        for (int x = cx - r; x <= cx + r; x++) {
            double dx = x - out->u, dy = y - out->v;
            double w = exp(k * (dx * dx + dy * dy));
            sw += w;
            sw2 += w * w;
            resp += w * (sample_at(img, x, y) - b);
        }
    double sd = sigma * sqrt(sw2 + 0.5 * VT_PI * sw * sw / n);
    out->reason = VT_FUSION_SEEN;
    out->background = b;
    out->noise = sigma;
    out->snr = resp / sd;
    /* The smallest, coolest target of interest: its signal spread by the point spread. */
    double area = VT_PI * 0.25 * o->min_size * o->min_size * cam->fx * cam->fy / (pc.z * pc.z);
    out->expected_snr = o->min_contrast * area * sqrt(sw2) / sw / sigma;
    if (out->expected_snr < o->observe_snr)
        out->reason = VT_FUSION_TOO_FAR;
    return VT_OK;
}

vt_fusion_record vt_fusion_record_empty(void)
{
    return (vt_fusion_record){.verdict = VT_FUSION_NOT_OBSERVABLE,
                              .reason = VT_FUSION_NO_THERMAL,
                              .thermal_snr = NAN,
                              .mono_snr = NAN,
                              .ratio = NAN};
}

/* How near a miss each reason is: the record keeps the nearest. */
static int miss_rank(vt_fusion_reason r)
{
    switch (r) {
    case VT_FUSION_TOO_FAR:
        return 3;
    case VT_FUSION_NO_FRAME:
        return 2;
    case VT_FUSION_OUTSIDE:
        return 1;
    default:
        return 0;
    }
}

void vt_fusion_record_add(vt_fusion_record *r, const vt_thermal_look *look, const vt_fusion_opts *o)
{
    if (!r || !look || !o)
        return;
    /* Too far for the smallest target, yet this one is plainly there: a bigger or hotter one. */
    bool seen = look->reason == VT_FUSION_SEEN ||
                (look->reason == VT_FUSION_TOO_FAR && look->snr >= o->confirm_snr);
    if (!seen) {
        if (r->observed == 0 && miss_rank(look->reason) > miss_rank(r->reason))
            r->reason = look->reason;
        return;
    }
    r->observed++;
    r->reason = VT_FUSION_SEEN;
    if (look->snr >= o->confirm_snr)
        r->confirming++;
    if (isnan(r->thermal_snr) || look->snr > r->thermal_snr)
        r->thermal_snr = (float)look->snr;
}

void vt_fusion_record_finish(vt_fusion_record *r, double mono_snr, int thermal_rays)
{
    if (!r)
        return;
    r->mono_snr = (float)mono_snr;
    r->thermal_rays = thermal_rays;
    r->ratio =
        isfinite(r->thermal_snr) && mono_snr > 0.0 ? (float)(r->thermal_snr / mono_snr) : NAN;
    if (thermal_rays > 0 || r->confirming > 0)
        r->verdict = VT_FUSION_CONFIRMED;
    else if (r->observed > 0)
        r->verdict = VT_FUSION_CONTRADICTED;
    else
        r->verdict = VT_FUSION_NOT_OBSERVABLE;
    if (r->verdict == VT_FUSION_CONFIRMED && r->observed == 0 && r->reason != VT_FUSION_SEEN)
        r->reason = VT_FUSION_SEEN; /* its thermal ray is the observation */
}

bool vt_fusion_should_drop(const vt_fusion_record *r, const vt_fusion_opts *o)
{
    return r && o && o->drop_contradicted && r->verdict == VT_FUSION_CONTRADICTED &&
           r->thermal_rays == 0;
}

const char *vt_fusion_verdict_name(vt_fusion_verdict v)
{
    switch (v) {
    case VT_FUSION_CONFIRMED:
        return "confirmed";
    case VT_FUSION_CONTRADICTED:
        return "contradicted";
    case VT_FUSION_NOT_OBSERVABLE:
        return "not_observable";
    }
    return "unknown";
}

const char *vt_fusion_reason_name(vt_fusion_reason r)
{
    switch (r) {
    case VT_FUSION_SEEN:
        return "seen";
    case VT_FUSION_OUTSIDE:
        return "outside";
    case VT_FUSION_TOO_FAR:
        return "too_far";
    case VT_FUSION_NO_FRAME:
        return "no_frame";
    case VT_FUSION_NO_THERMAL:
        return "no_thermal";
    }
    return "unknown";
}
