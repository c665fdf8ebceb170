/*
 * src/sim/render.c - the synthetic camera: targets of their true size drawn
 * over the sky through the full camera model (see voxtrack/render.h; the
 * sky, noise and hot pixels are in render_sky.c).
 *
 * The image of an ellipsoid. A ray t d from the camera centre, d = (x, y, 1)
 * in normalised (undistorted) camera coordinates, meets the ellipsoid
 * (p - c)^T A (p - c) = 1 exactly when the discriminant of its quadratic in
 * t is >= 0: (d.b)^2 - k d^T A d >= 0 with b = A c and k = c^T A c - 1. That
 * is a conic d^T Q d >= 0, Q = b b^T - k A (the classic outline of a quadric,
 * Hartley and Zisserman, "Multiple View Geometry", 2nd ed., section 8.3).
 * For an ellipsoid wholly in front of the camera it is an ellipse, which we
 * keep centred and scaled, (p - p0)^T E (p - p0) <= 1: well conditioned even
 * for a target of a hundredth of a pixel, and its bounding box is exact.
 * Every ray test below is therefore an exact ray-ellipsoid test at a cost of
 * a few multiply-adds.
 *
 * Area coverage. A pixel is the quad between its four corners mapped to
 * normalised coordinates through the camera's undistortion (what
 * vt_camera_pixel_to_ray does), and the rays in between are the bilinear
 * blend of the corners' (accurate to ~1e-4 pixel for any real lens: the
 * distortion barely bends over one pixel). Each pixel row of the target's
 * box is cut into `rows` stratified sub-rows; along a sub-row (a straight
 * segment in normalised coordinates within each pixel) the stretch inside
 * the ellipse is found exactly from a quadratic, so coverage is exact along
 * x and a midpoint rule along y: the limit of supersample x infinity
 * sub-samples, for one square root per sub-row and pixel. Pixels whose four
 * corners are inside are covered wholly (the ellipse is convex) and pixels
 * off the ellipse's box are skipped. A small image gets more sub-rows (at
 * least 16 per projected radius, up to 64 per pixel), so that even a
 * sub-pixel target has its area right to a fraction of a per cent.
 *
 * Point spread. A pixel's response is its box convolved with the optics'
 * Gaussian (sigma 0.5 pixel by default, vt_renderer_set_blur), which is
 * separable: a sub-row's stretch [xa, xb] at height y gives pixel (u, v)
 * h * W(y - v) * (F(xb - u) - F(xa - u)), with W the box-blurred Gaussian and
 * F its integral, both closed forms in Phi (Gaussian CDF) and its integral
 * z Phi(z) + phi(z), read from tables. Without it, the pixel-centre centroid
 * of a target smaller than a pixel is the centre of the pixel it falls in;
 * with sigma 0.5 the bias is exp(-2 pi^2 sigma^2) / pi ~ 0.002 pixel (the
 * sampling theorem applied to the blurred box). The light a target spreads
 * still sums to its area.
 *
 * A frame. The sky pass writes sky + noise to every pixel; the targets'
 * pixels (a list of pixel, order, coverage entries, sorted by pixel then by
 * distance, far first) are then composited, value = value (1 - c) + target c,
 * noised with the same noise as the pixel would have had and stored; last,
 * the hot pixels that are on. Targets only partly in front of the camera
 * plane (within their own size of the lens) are not drawn.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sim/render_internal.h"

enum {
    MAX_ROWS = 64,         /* sub-rows per pixel, at most */
    ROWS_PER_RADIUS = 16,  /* sub-rows per projected radius, at least */
    BOX_EDGE_SAMPLES = 16, /* points per edge when mapping a box through the distortion */
    BORDER_STEP = 4        /* pixels between undistorted points of the image border */
};

/* Margin (pixels) around a target's distorted box: the box edges bend between samples. */
#define BOX_MARGIN 1.5
/* Point spread: the default and the largest sigma, pixels. */
#define DEFAULT_BLUR 0.5
#define MAX_BLUR 8.0

static void psf_tables(vt_renderer *r);

/* A target as one camera sees it. */
typedef struct target_geom {
    double px, py;        /* ellipse centre, normalised */
    double e00, e01, e11; /* inside: (p - p0)^T E (p - p0) <= 1 */
    double hx, hy;        /* half-widths of its bounding box, normalised */
    int rows;             /* sub-rows per pixel */
    double distance;      /* from the camera centre, for far-to-near order */
} target_geom;

vt_render_opts vt_render_opts_default(void)
{
    vt_render_opts o;
    memset(&o, 0, sizeof o);
    /* A bright overcast sky: dark targets in mono, warm ones in thermal. */
    o.mono = (vt_render_sky){.level = 180.0f,
                             .gradient = 20.0f,
                             .noise = 2.0f,
                             .cloud = 10.0f,
                             .cloud_scale = 240.0f,
                             .cloud_speed = 2.0f,
                             .hot_fraction = 1e-5f,
                             .hot_value = 255.0f};
    o.thermal = (vt_render_sky){.level = 8000.0f,
                                .gradient = 400.0f,
                                .noise = 20.0f,
                                .cloud = 200.0f,
                                .cloud_scale = 160.0f,
                                .cloud_speed = 2.0f,
                                .hot_fraction = 1e-5f,
                                .hot_value = 60000.0f};
    o.seed = 1;
    o.supersample = 8;
    o.threads = 0;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

static vt_status check_sky(const char *name, const vt_render_sky *s)
{
    const float v[] = {s->level,       s->gradient,    s->noise,        s->cloud,
                       s->cloud_scale, s->cloud_speed, s->hot_fraction, s->hot_value};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!isfinite(v[i]))
            return vt__error(VT_EINVAL, "render: opts.%s: values must be finite", name);
    if (s->noise < 0 || s->cloud < 0)
        return vt__error(VT_EINVAL, "render: opts.%s: noise and cloud must be >= 0", name);
    if (s->cloud > 0 && !(s->cloud_scale > 0))
        return vt__error(VT_EINVAL, "render: opts.%s.cloud_scale must be > 0 (got %g)", name,
                         (double)s->cloud_scale);
    if (s->hot_fraction < 0 || s->hot_fraction > 1)
        return vt__error(VT_EINVAL, "render: opts.%s.hot_fraction must be in [0, 1] (got %g)", name,
                         (double)s->hot_fraction);
    return VT_OK;
}

/* The normalised bounding box of the image: undistorted points along its border. */
static void image_bounds(vt__render_cam *c)
{
    const vt_camera *k = &c->cam;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int nu = k->width / BORDER_STEP + 1, nv = k->height / BORDER_STEP + 1;
    for (int side = 0; side < 4; side++) {
        int n = side < 2 ? nu : nv;
        for (int i = 0; i <= n; i++) {
            double f = (double)i / n;
            double u = side < 2 ? -0.5 + f * k->width : (side == 2 ? -0.5 : k->width - 0.5);
            double v = side < 2 ? (side == 0 ? -0.5 : k->height - 0.5) : -0.5 + f * k->height;
            double x, y;
            vt_camera_undistort(k, (u - k->cx) / k->fx, (v - k->cy) / k->fy, &x, &y);
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    }
    /* Room for the border's bends between the points. */
    double mx = 0.01 * (x1 - x0) + 2.0 / k->fx, my = 0.01 * (y1 - y0) + 2.0 / k->fy;
    c->nx0 = x0 - mx;
    c->nx1 = x1 + mx;
    c->ny0 = y0 - my;
    c->ny1 = y1 + my;
}

static vt_status init_camera(const vt_renderer *r, const vt_rig_camera *rc, int index,
                             vt__render_cam *c)
{
    c->index = index;
    c->cam = rc->cam;
    vt_status s = vt_camera_init(&c->cam);
    if (s != VT_OK)
        return vt__error_prefix(s, "render: rig camera %d ('%s')", index, rc->id);
    c->modality = rc->modality;
    if (c->modality != VT_MODALITY_MONO && c->modality != VT_MODALITY_THERMAL)
        return vt__error(VT_EINVAL, "render: rig camera %d ('%s'): unknown modality %d", index,
                         rc->id, (int)rc->modality);
    c->bits = rc->bits ? rc->bits : (c->modality == VT_MODALITY_MONO ? 8 : 16);
    if (c->bits != 8 && c->bits != 16)
        return vt__error(VT_EINVAL, "render: rig camera %d ('%s'): bits must be 8 or 16 (got %d)",
                         index, rc->id, rc->bits);
    c->sky = c->modality == VT_MODALITY_MONO ? &r->opts.mono : &r->opts.thermal;
    image_bounds(c);
    return VT_OK;
}

vt_status vt_renderer_new(const vt_render_opts *opts, const vt_rig *rig, vt_renderer **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "render: out is NULL");
    *out = NULL;
    if (!rig)
        return vt__error(VT_EINVAL, "render: rig is NULL");
    if (rig->count < 0 || (rig->count > 0 && !rig->cameras))
        return vt__error(VT_EINVAL, "render: rig has %d cameras and cameras %p", rig->count,
                         (void *)rig->cameras);
    vt_render_opts o = opts ? *opts : vt_render_opts_default();
    if (o.supersample < 1 || o.supersample > MAX_ROWS)
        return vt__error(VT_EINVAL, "render: opts.supersample must be in [1, %d] (got %d)",
                         MAX_ROWS, o.supersample);
    vt_status s = check_sky("mono", &o.mono);
    if (s == VT_OK)
        s = check_sky("thermal", &o.thermal);
    if (s != VT_OK)
        return s;

    vt_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return vt__error(VT_ENOMEM, "render: out of memory");
    r->opts = o;
    r->cams = calloc(rig->count > 0 ? (size_t)rig->count : 1, sizeof *r->cams);
    if (!r->cams) {
        free(r);
        return vt__error(VT_ENOMEM, "render: out of memory for %d cameras", rig->count);
    }
    r->count = rig->count;
    for (int i = 0; i < rig->count && s == VT_OK; i++)
        s = init_camera(r, &rig->cameras[i], i, &r->cams[i]);
    if (s != VT_OK) {
        vt_renderer_free(r);
        return s;
    }
    vt__render_gauss_table(r->gauss);
    psf_tables(r);
    r->blur[VT_MODALITY_MONO] = r->blur[VT_MODALITY_THERMAL] = DEFAULT_BLUR;
    *out = r;
    return VT_OK;
}

void vt_renderer_free(vt_renderer *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->count; i++) {
        vt__render_cam *c = &r->cams[i];
        free(c->row_level);
        free(c->sky_px);
        free(c->hot);
        free(c->entries);
        for (int k = 0; k < c->work_count; k++) {
            free(c->work[k].scratch);
            free(c->work[k].entries);
        }
        free(c->work);
    }
    free(r->cams);
    free(r);
}

/* ------------------------------------------------------------------------ */
/* A target's ellipse                                                        */

/* False when the target is not wholly in front of the camera (or degenerate). */
static bool target_geom_init(const vt__render_cam *c, const vt_render_target *t, int supersample,
                             target_geom *g)
{
    const double(*rm)[3] = c->cam.r.m; /* world_from_camera */
    const double semi2[3] = {t->semi.x * t->semi.x, t->semi.y * t->semi.y, t->semi.z * t->semi.z};
    vt_vec3 cc = vt_camera_world_to_cam(&c->cam, t->pos);
    /* Its extent along the optical axis: the support function of the ellipsoid. */
    double reach2 = rm[0][2] * rm[0][2] * semi2[0] + rm[1][2] * rm[1][2] * semi2[1] +
                    rm[2][2] * rm[2][2] * semi2[2];
    if (!(cc.z > sqrt(reach2) * (1.0 + 1e-9)))
        return false;

    /* A in the camera frame: R^T diag(1 / semi^2) R. */
    double a[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            a[i][j] = rm[0][i] * rm[0][j] / semi2[0] + rm[1][i] * rm[1][j] / semi2[1] +
                      rm[2][i] * rm[2][j] / semi2[2];
    const double cv[3] = {cc.x, cc.y, cc.z};
    double b[3], k = -1.0;
    for (int i = 0; i < 3; i++) {
        b[i] = a[i][0] * cv[0] + a[i][1] * cv[1] + a[i][2] * cv[2];
        k += cv[i] * b[i];
    }
    double q[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            q[i][j] = b[i] * b[j] - k * a[i][j];

    double det = q[0][0] * q[1][1] - q[0][1] * q[0][1];
    if (!(det > 0.0) || !(q[0][0] < 0.0))
        return false;
    g->px = -(q[1][1] * q[0][2] - q[0][1] * q[1][2]) / det;
    g->py = -(q[0][0] * q[1][2] - q[0][1] * q[0][2]) / det;
    double q0 = q[2][2] + q[0][2] * g->px + q[1][2] * g->py;
    if (!(q0 > 0.0))
        return false;
    g->e00 = -q[0][0] / q0;
    g->e01 = -q[0][1] / q0;
    g->e11 = -q[1][1] / q0;
    double dete = g->e00 * g->e11 - g->e01 * g->e01;
    if (!(dete > 0.0))
        return false;
    g->hx = sqrt(g->e11 / dete);
    g->hy = sqrt(g->e00 / dete);

    /* Minor semi-axis of the image, pixels: 1 / sqrt(largest eigenvalue of E), times f. */
    double tr = g->e00 + g->e11, dif = g->e00 - g->e11;
    double lmax = 0.5 * (tr + sqrt(dif * dif + 4.0 * g->e01 * g->e01));
    double radius_px = fmin(c->cam.fx, c->cam.fy) / sqrt(lmax);
    double want = ceil(ROWS_PER_RADIUS / radius_px);
    g->rows = supersample;
    if (want > g->rows)
        g->rows = want < MAX_ROWS ? (int)want : MAX_ROWS;
    g->distance = vt_v3_norm(cc);
    return true;
}

/*
 * The pixels the target can touch: its ellipse's box clipped to the image's
 * normalised box, mapped through the distortion along its edges. False when
 * that is empty.
 */
static bool target_box(const vt__render_cam *c, const target_geom *g, int box[4])
{
    double x0 = fmax(g->px - g->hx, c->nx0), x1 = fmin(g->px + g->hx, c->nx1);
    double y0 = fmax(g->py - g->hy, c->ny0), y1 = fmin(g->py + g->hy, c->ny1);
    if (!(x0 <= x1 && y0 <= y1))
        return false;
    const vt_camera *k = &c->cam;
    double u0 = INFINITY, u1 = -INFINITY, v0 = INFINITY, v1 = -INFINITY;
    int n = k->distorted ? BOX_EDGE_SAMPLES : 1;
    for (int side = 0; side < 4; side++)
        for (int i = 0; i <= n; i++) {
            double f = (double)i / n;
            double x = side < 2 ? x0 + f * (x1 - x0) : (side == 2 ? x0 : x1);
            double y = side < 2 ? (side == 0 ? y0 : y1) : y0 + f * (y1 - y0);
            double xd = x, yd = y;
            if (k->distorted)
                vt_camera_distort(k, x, y, &xd, &yd);
            double u = k->fx * xd + k->cx, v = k->fy * yd + k->cy;
            u0 = fmin(u0, u);
            u1 = fmax(u1, u);
            v0 = fmin(v0, v);
            v1 = fmax(v1, v);
        }
    double m = k->distorted ? BOX_MARGIN : 0.5;
    u0 = fmax(floor(u0 + 0.5 - m), 0.0);
    v0 = fmax(floor(v0 + 0.5 - m), 0.0);
    u1 = fmin(ceil(u1 - 0.5 + m), k->width - 1.0);
    v1 = fmin(ceil(v1 - 0.5 + m), k->height - 1.0);
    if (!(u0 <= u1 && v0 <= v1))
        return false;
    box[0] = (int)u0;
    box[1] = (int)v0;
    box[2] = (int)u1;
    box[3] = (int)v1;
    return true;
}

/* The normalised coordinates of pixel corner (u, v) (a corner of pixel (x, y) is at x +- 0.5). */
static void corner(const vt_camera *k, double u, double v, double *x, double *y)
{
    double xd = (u - k->cx) / k->fx, yd = (v - k->cy) / k->fy;
    if (!k->distorted) {
        *x = xd;
        *y = yd;
        return;
    }
    /*
     * Newton's method on distort(x, y) = (xd, yd) from (xd, yd): three or
     * four steps reach vt_camera_undistort's root for any lens it handles,
     * at a tenth of its cost (it starts with a slow fixed-point iteration);
     * it takes over where Newton does not settle.
     */
    const double *d = k->dist;
    double px = xd, py = yd;
    for (int it = 0; it < 8; it++) {
        double r2 = px * px + py * py;
        double radial = 1.0 + r2 * (d[0] + r2 * (d[1] + r2 * d[4]));
        double dradial = d[0] + r2 * (2.0 * d[1] + 3.0 * r2 * d[4]); /* d radial / d r2 */
        double ex = px * radial + 2.0 * d[2] * px * py + d[3] * (r2 + 2.0 * px * px) - xd;
        double ey = py * radial + d[2] * (r2 + 2.0 * py * py) + 2.0 * d[3] * px * py - yd;
        double j00 = radial + 2.0 * px * px * dradial + 2.0 * d[2] * py + 6.0 * d[3] * px;
        double j01 = 2.0 * px * py * dradial + 2.0 * d[2] * px + 2.0 * d[3] * py;
        double j11 = radial + 2.0 * py * py * dradial + 6.0 * d[2] * py + 2.0 * d[3] * px;
        double det = j00 * j11 - j01 * j01;
        if (!(fabs(det) > 1e-12))
            break;
        double sx = (j11 * ex - j01 * ey) / det, sy = (j00 * ey - j01 * ex) / det;
        px -= sx;
        py -= sy;
        if (fabs(sx) + fabs(sy) < 1e-14 * (1.0 + fabs(px) + fabs(py))) {
            *x = px;
            *y = py;
            return;
        }
    }
    vt_camera_undistort(k, xd, yd, x, y);
}

static double ellipse_form(const target_geom *g, double x, double y)
{
    return g->e00 * x * x + 2.0 * g->e01 * x * y + g->e11 * y * y;
}

enum { PIXEL_OUT = 0, PIXEL_IN = 1, PIXEL_EDGE = 2 };

/*
 * A pixel's corners relative to the ellipse centre, from its corner rows:
 * l[0] top-left, l[1] top-right, l[2] bottom-left, l[3] bottom-right.
 */
static void pixel_corners(const target_geom *g, const double *top, const double *bottom, int i,
                          double l[4][2])
{
    const double *src[4] = {top + 2 * i, top + 2 * i + 2, bottom + 2 * i, bottom + 2 * i + 2};
    for (int k = 0; k < 4; k++) {
        l[k][0] = src[k][0] - g->px;
        l[k][1] = src[k][1] - g->py;
    }
}

/* Inside (all four corners in the convex ellipse), outside (off its box) or on its edge. */
static int classify(const target_geom *g, double l[4][2])
{
    int inside = 0;
    double bx0 = INFINITY, bx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        inside += ellipse_form(g, l[i][0], l[i][1]) <= 1.0;
        bx0 = fmin(bx0, l[i][0]);
        bx1 = fmax(bx1, l[i][0]);
        by0 = fmin(by0, l[i][1]);
        by1 = fmax(by1, l[i][1]);
    }
    if (inside == 4)
        return PIXEL_IN;
    if (bx1 < -g->hx || bx0 > g->hx || by1 < -g->hy || by0 > g->hy)
        return PIXEL_OUT;
    return PIXEL_EDGE;
}

/*
 * The stretch [s0, s1] of 0..1 of the pixel's sub-row at height t (0..1)
 * that lies inside the ellipse. The sub-row runs from L on the left edge to
 * L + D on the right: solve F(L + s D) = 1. False when it misses.
 */
static bool row_piece(const target_geom *g, double l[4][2], double t, double *s0, double *s1)
{
    double lx = l[0][0] + t * (l[2][0] - l[0][0]), ly = l[0][1] + t * (l[2][1] - l[0][1]);
    double dx = l[1][0] + t * (l[3][0] - l[1][0]) - lx;
    double dy = l[1][1] + t * (l[3][1] - l[1][1]) - ly;
    double qa = ellipse_form(g, dx, dy);
    double qb = g->e00 * lx * dx + g->e01 * (lx * dy + ly * dx) + g->e11 * ly * dy;
    double qc = ellipse_form(g, lx, ly) - 1.0;
    double disc = qb * qb - qa * qc;
    if (!(disc > 0.0) || !(qa > 0.0))
        return false;
    double sq = sqrt(disc);
    *s0 = fmax((-qb - sq) / qa, 0.0);
    *s1 = fmin((-qb + sq) / qa, 1.0);
    return *s1 > *s0;
}

/* ------------------------------------------------------------------------ */
/* The point spread                                                          */

/* A pixel's response: its box blurred by a Gaussian of sigma pixels, separable in x and y. */
typedef struct psf {
    double sigma; /* 0: the box alone */
    double reach; /* the Gaussian's support, pixels: VT__PSF_Z sigma */
    int pad;      /* pixels a target's light spreads beyond its box on each side */
    const double *phi, *integral;
} psf;

static psf camera_psf(const vt_renderer *r, const vt__render_cam *c)
{
    psf p = {.sigma = r->blur[c->modality], .phi = r->psf_phi, .integral = r->psf_int};
    p.reach = VT__PSF_Z * p.sigma;
    p.pad = p.sigma > 0 ? 1 + (int)ceil(p.reach) : 0;
    return p;
}

static void psf_tables(vt_renderer *r)
{
    for (int i = 0; i <= VT__PSF_N; i++) {
        double z = -VT__PSF_Z + 2.0 * VT__PSF_Z * i / VT__PSF_N;
        double cdf = 0.5 * erfc(-z / sqrt(2.0));
        r->psf_phi[i] = cdf;
        r->psf_int[i] = z * cdf + exp(-0.5 * z * z) / sqrt(2.0 * VT_PI);
    }
}

static double table_at(const double *t, double z)
{
    double f = (z + VT__PSF_Z) * (VT__PSF_N / (2.0 * VT__PSF_Z));
    int i = (int)f;
    if (i >= VT__PSF_N)
        i = VT__PSF_N - 1;
    return t[i] + (f - i) * (t[i + 1] - t[i]);
}

/* The Gaussian's cumulative Phi(z). */
static double psf_cdf(const psf *p, double z)
{
    return z <= -VT__PSF_Z ? 0.0 : z >= VT__PSF_Z ? 1.0 : table_at(p->phi, z);
}

/* Its integral, z Phi(z) + phi(z). */
static double psf_cdf_integral(const psf *p, double z)
{
    return z <= -VT__PSF_Z ? 0.0 : z >= VT__PSF_Z ? z : table_at(p->integral, z);
}

/* The response of a pixel row to a horizontal line s pixels from the row's centre. */
static double psf_line(const psf *p, double s)
{
    if (p->sigma == 0.0)
        return fabs(s) < 0.5 ? 1.0 : 0.0;
    return psf_cdf(p, (s + 0.5) / p->sigma) - psf_cdf(p, (s - 0.5) / p->sigma);
}

/* The response of a pixel column to the half-line x <= t (t from the column's centre). */
static double psf_cumulative(const psf *p, double t)
{
    if (t <= -0.5 - p->reach)
        return 0.0;
    if (t >= 0.5 + p->reach)
        return 1.0;
    if (p->sigma == 0.0)
        return t + 0.5;
    return p->sigma *
           (psf_cdf_integral(p, (t + 0.5) / p->sigma) - psf_cdf_integral(p, (t - 0.5) / p->sigma));
}

/* ------------------------------------------------------------------------ */
/* Rasterising a target                                                      */

/* Coverage below this is not drawn: the far tail of the blur. */
#define COVER_MIN 1e-6

/* A target's coverage over its box grown by the blur (pixels may lie outside the image). */
typedef struct cover_grid {
    int x0, y0, w, h;
    double *cells;
} cover_grid;

static vt_status grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return VT_OK;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *p = realloc(*buf, n * elem);
    if (!p)
        return vt__error(VT_ENOMEM, "render: out of memory for %zu entries", need);
    *buf = p;
    *cap = n;
    return VT_OK;
}

/* Undistorted corners at height v of columns u0 - 0.5, u0 + 0.5, ... (n of them). */
static void corner_row(const vt_camera *k, int u0, int n, double v, double *row)
{
    for (int i = 0; i < n; i++)
        corner(k, u0 + i - 0.5, v, &row[2 * i], &row[2 * i + 1]);
}

/* Spreads the segment [xa, xb] of a sub-row (weight h, row weights wy) over the grid. */
static void deposit(const psf *p, cover_grid *grid, int first_row, const double *wy, double h,
                    double xa, double xb)
{
    int u0 = (int)ceil(xa - 0.5 - p->reach), u1 = (int)floor(xb + 0.5 + p->reach);
    if (u0 < grid->x0)
        u0 = grid->x0;
    if (u1 > grid->x0 + grid->w - 1)
        u1 = grid->x0 + grid->w - 1;
    for (int u = u0; u <= u1; u++) {
        double d = h * (psf_cumulative(p, xb - u) - psf_cumulative(p, xa - u));
        if (!(d > 0.0))
            continue;
        double *cell = grid->cells + (size_t)first_row * (size_t)grid->w + (size_t)(u - grid->x0);
        for (int k = 0; k <= 2 * p->pad; k++)
            cell[(size_t)k * (size_t)grid->w] += d * wy[k];
    }
}

/*
 * One pixel row of the box: its sub-rows, each a few stretches inside the
 * ellipse, merged where they touch and spread over the grid.
 */
static void raster_row(const target_geom *g, const psf *p, int y, int u0, int n, const double *top,
                       const double *bottom, double *cls, const double *wytab, cover_grid *grid)
{
    double l[4][2];
    bool any = false;
    for (int i = 0; i + 1 < n; i++) {
        pixel_corners(g, top, bottom, i, l);
        cls[i] = classify(g, l);
        any |= cls[i] != PIXEL_OUT;
    }
    if (!any)
        return;
    double h = 1.0 / g->rows;
    for (int j = 0; j < g->rows; j++) {
        double t = (j + 0.5) * h;
        const double *wy = wytab + (size_t)j * (size_t)(2 * p->pad + 1);
        double ra = 0.0, rb = 0.0;
        bool open = false;
        for (int i = 0; i + 1 < n; i++) {
            double s0 = 0.0, s1 = 1.0;
            if (cls[i] == PIXEL_OUT)
                continue;
            if (cls[i] == PIXEL_EDGE) {
                pixel_corners(g, top, bottom, i, l);
                if (!row_piece(g, l, t, &s0, &s1))
                    continue;
            }
            double xa = u0 + i - 0.5 + s0, xb = u0 + i - 0.5 + s1;
            if (open && xa <= rb + 1e-9) {
                rb = xb;
                continue;
            }
            if (open)
                deposit(p, grid, y - grid->y0 - p->pad, wy, h, ra, rb);
            ra = xa;
            rb = xb;
            open = true;
        }
        if (open)
            deposit(p, grid, y - grid->y0 - p->pad, wy, h, ra, rb);
    }
}

/*
 * The target's coverage grid, computed in *scratch (grown as needed). An
 * empty grid (w = h = 0) when the target misses the image.
 */
static vt_status rasterise(const vt__render_cam *c, const target_geom *g, const psf *p,
                           double **scratch, size_t *cap, cover_grid *grid)
{
    int box[4];
    memset(grid, 0, sizeof *grid);
    if (!target_box(c, g, box))
        return VT_OK;
    int n = box[2] - box[0] + 2; /* corners per row */
    grid->x0 = box[0] - p->pad;
    grid->y0 = box[1] - p->pad;
    grid->w = box[2] - box[0] + 1 + 2 * p->pad;
    grid->h = box[3] - box[1] + 1 + 2 * p->pad;
    size_t cells = (size_t)grid->w * (size_t)grid->h;
    size_t span = 2 * (size_t)p->pad + 1, nwy = (size_t)g->rows * span;
    vt_status s = grow((void **)scratch, cap, 5 * (size_t)n + nwy + cells, sizeof(double));
    if (s != VT_OK)
        return s;
    double *top = *scratch, *bottom = top + 2 * (size_t)n, *cls = bottom + 2 * (size_t)n;
    /* Sub-row j's weight on pixel rows y - pad ... y + pad is the same for every pixel row y. */
    double *wy = cls + n;
    for (int j = 0; j < g->rows; j++)
        for (int k = 0; k <= 2 * p->pad; k++)
            wy[(size_t)j * span + (size_t)k] = psf_line(p, (j + 0.5) / g->rows - 0.5 + p->pad - k);
    grid->cells = wy + nwy;
    memset(grid->cells, 0, cells * sizeof *grid->cells);
    corner_row(&c->cam, box[0], n, box[1] - 0.5, top);
    for (int y = box[1]; y <= box[3]; y++) {
        corner_row(&c->cam, box[0], n, y + 0.5, bottom);
        raster_row(g, p, y, box[0], n, top, bottom, cls, wy, grid);
        double *swap = top;
        top = bottom;
        bottom = swap;
    }
    return VT_OK;
}

/* The coverage of grid cell (x, y) as drawn: 0 outside the grid and in the blur's far tail. */
static double grid_cover(const cover_grid *grid, int x, int y)
{
    if (x < grid->x0 || y < grid->y0 || x >= grid->x0 + grid->w || y >= grid->y0 + grid->h)
        return 0.0;
    double v = grid->cells[(size_t)(y - grid->y0) * (size_t)grid->w + (size_t)(x - grid->x0)];
    return v > COVER_MIN ? fmin(v, 1.0) : 0.0;
}

/* Appends the in-image pixels of one target (drawing order seq) to the camera's entries. */
static vt_status add_entries(const vt__render_cam *c, vt__render_work *w, const cover_grid *grid,
                             uint32_t seq, float value)
{
    int x0 = grid->x0 < 0 ? 0 : grid->x0, y0 = grid->y0 < 0 ? 0 : grid->y0;
    int x1 = grid->x0 + grid->w, y1 = grid->y0 + grid->h;
    x1 = x1 > c->cam.width ? c->cam.width : x1;
    y1 = y1 > c->cam.height ? c->cam.height : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double cover = grid_cover(grid, x, y);
            if (cover == 0.0)
                continue;
            vt_status s = grow((void **)&w->entries, &w->cap, w->count + 1, sizeof *w->entries);
            if (s != VT_OK)
                return s;
            w->entries[w->count++] =
                (vt__render_entry){.pixel = (uint64_t)y * (uint64_t)c->cam.width + (uint64_t)x,
                                   .seq = seq,
                                   .cover = (float)cover,
                                   .value = value};
        }
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Drawing                                                                   */

static vt_status check_target(const vt_render_target *t, size_t i)
{
    if (!isfinite(t->pos.x) || !isfinite(t->pos.y) || !isfinite(t->pos.z))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): position must be finite", i,
                         t->id);
    if (!(t->semi.x > 0 && t->semi.y > 0 && t->semi.z > 0) || !isfinite(t->semi.x) ||
        !isfinite(t->semi.y) || !isfinite(t->semi.z))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): semi-axes must be finite and > 0",
                         i, t->id);
    if (!isfinite(t->mono) || !isfinite(t->thermal))
        return vt__error(VT_EINVAL, "render: target %zu (id %d): brightness must be finite", i,
                         t->id);
    return VT_OK;
}

typedef struct ordered_target {
    target_geom g;
    float value;
    size_t index;
} ordered_target;

static int farther_first(const void *pa, const void *pb)
{
    const ordered_target *a = pa, *b = pb;
    if (a->g.distance != b->g.distance)
        return a->g.distance > b->g.distance ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_pixel_then_order(const void *pa, const void *pb)
{
    const vt__render_entry *a = pa, *b = pb;
    if (a->pixel != b->pixel)
        return a->pixel < b->pixel ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static vt_status ensure_work(vt__render_cam *c, int nt)
{
    if (c->work_count >= nt)
        return VT_OK;
    vt__render_work *w = realloc(c->work, (size_t)nt * sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "render: camera %d: out of memory", c->index);
    memset(w + c->work_count, 0, (size_t)(nt - c->work_count) * sizeof *w);
    c->work = w;
    c->work_count = nt;
    return VT_OK;
}

/*
 * Rasterises the targets (in far-to-near order) on all threads, each into
 * its own work area, then gathers the entries. Which thread drew a target
 * does not matter: the entries are sorted by (pixel, order) afterwards.
 */
static vt_status rasterise_all(const vt_renderer *r, vt__render_cam *c, const ordered_target *ot,
                               size_t n)
{
    int nt = vt__render_threads(r);
    vt_status s = ensure_work(c, nt);
    if (s != VT_OK)
        return s;
    for (int k = 0; k < nt; k++) {
        c->work[k].count = 0;
        c->work[k].status = VT_OK;
    }
    psf p = camera_psf(r, c);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1 && n > 8)
    for (size_t i = 0; i < n; i++) {
        vt__render_work *w = &c->work[omp_get_thread_num()];
        if (w->status != VT_OK)
            continue;
        cover_grid grid;
        w->status = rasterise(c, &ot[i].g, &p, &w->scratch, &w->scratch_cap, &grid);
        if (w->status == VT_OK)
            w->status = add_entries(c, w, &grid, (uint32_t)i, ot[i].value);
    }
    size_t total = 0;
    for (int k = 0; k < nt; k++) {
        if (c->work[k].status != VT_OK)
            return vt__error(c->work[k].status, "render: camera %d: out of memory for targets",
                             c->index);
        total += c->work[k].count;
    }
    if ((s = grow((void **)&c->entries, &c->entry_cap, total, sizeof *c->entries)) != VT_OK)
        return s;
    c->entry_count = 0;
    for (int k = 0; k < nt; k++) {
        memcpy(c->entries + c->entry_count, c->work[k].entries,
               c->work[k].count * sizeof *c->entries);
        c->entry_count += c->work[k].count;
    }
    return VT_OK;
}

/* The camera's entries for these targets, sorted by pixel, far targets first within a pixel. */
static vt_status collect_entries(const vt_renderer *r, vt__render_cam *c,
                                 const vt_render_target *targets, size_t count)
{
    c->entry_count = 0;
    if (count == 0)
        return VT_OK;
    ordered_target *ot = malloc(count * sizeof *ot);
    if (!ot)
        return vt__error(VT_ENOMEM, "render: out of memory for %zu targets", count);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const vt_render_target *t = &targets[i];
        float value = c->modality == VT_MODALITY_MONO ? t->mono : t->thermal;
        if (c->modality == VT_MODALITY_THERMAL && t->thermal < 0)
            continue; /* glints: not seen in thermal */
        if (target_geom_init(c, t, r->opts.supersample, &ot[n].g)) {
            ot[n].value = value;
            ot[n].index = i;
            n++;
        }
    }
    qsort(ot, n, sizeof *ot, farther_first);
    vt_status s = rasterise_all(r, c, ot, n);
    free(ot);
    if (s != VT_OK)
        return s;
    qsort(c->entries, c->entry_count, sizeof *c->entries, by_pixel_then_order);
    return VT_OK;
}

/* Composites the sorted entries over the sky and stores them noised. */
static void composite(const vt_renderer *r, const vt__render_cam *c, int64_t frame, vt_image *out)
{
    uint64_t key = vt__render_noise_key(r, c, frame);
    float sigma = c->sky->noise;
    uint64_t w = (uint64_t)c->cam.width;
    for (size_t i = 0; i < c->entry_count;) {
        uint64_t p = c->entries[i].pixel;
        int x = (int)(p % w), y = (int)(p / w);
        float v = vt__render_sky_at(c, x, y);
        for (; i < c->entry_count && c->entries[i].pixel == p; i++)
            v += c->entries[i].cover * (c->entries[i].value - v);
        if (sigma > 0.0f)
            v += sigma * vt__render_noise_at(r, c, key, x, y);
        vt__render_store(out, x, y, v);
    }
}

static vt_status ensure_image(const vt__render_cam *c, vt_image *out)
{
    if (out->data && out->width == c->cam.width && out->height == c->cam.height &&
        out->bits == c->bits)
        return VT_OK;
    vt_image_free(out);
    vt_status s = vt_image_alloc(out, c->cam.width, c->cam.height, c->bits);
    if (s != VT_OK)
        return vt__error_prefix(s, "render: camera %d", c->index);
    return VT_OK;
}

static vt_status check_draw(const vt_renderer *r, int camera, const vt_render_target *targets,
                            size_t count)
{
    if (!r)
        return vt__error(VT_EINVAL, "render: renderer is NULL");
    if (camera < 0 || camera >= r->count)
        return vt__error(VT_EINVAL, "render: camera %d out of range (the rig has %d)", camera,
                         r->count);
    if (count > 0 && !targets)
        return vt__error(VT_EINVAL, "render: targets is NULL but count is %zu", count);
    return VT_OK;
}

vt_status vt_renderer_draw(vt_renderer *r, int camera, int64_t frame, double t,
                           const vt_render_target *targets, size_t count, vt_image *out)
{
    vt_status s = check_draw(r, camera, targets, count);
    if (s != VT_OK)
        return s;
    if (!out)
        return vt__error(VT_EINVAL, "render: camera %d: out image is NULL", camera);
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "render: camera %d: time %g is not finite", camera, t);
    for (size_t i = 0; i < count; i++)
        if ((s = check_target(&targets[i], i)) != VT_OK)
            return s;
    vt__render_cam *c = &r->cams[camera];
    if ((s = ensure_image(c, out)) != VT_OK || (s = vt__render_sky_update(r, c, t)) != VT_OK ||
        (s = vt__render_hot_update(r, c)) != VT_OK ||
        (s = collect_entries(r, c, targets, count)) != VT_OK)
        return s;
    vt__render_sky_pass(r, c, frame, out);
    composite(r, c, frame, out);
    vt__render_hot_pass(r, c, frame, out);
    return VT_OK;
}

double vt_render_coverage(const vt_renderer *r, int camera, const vt_render_target *target, int x,
                          int y)
{
    if (check_draw(r, camera, target, 1) != VT_OK || check_target(target, 0) != VT_OK)
        return -1.0;
    const vt__render_cam *c = &r->cams[camera];
    if (x < 0 || y < 0 || x >= c->cam.width || y >= c->cam.height)
        return 0.0;
    target_geom g;
    if (!target_geom_init(c, target, r->opts.supersample, &g))
        return 0.0;
    psf p = camera_psf(r, c);
    cover_grid grid;
    double *scratch = NULL;
    size_t cap = 0;
    if (rasterise(c, &g, &p, &scratch, &cap, &grid) != VT_OK)
        return -1.0;
    double cover = grid_cover(&grid, x, y);
    free(scratch);
    return cover;
}

vt_status vt_renderer_set_blur(vt_renderer *r, vt_modality modality, double sigma)
{
    if (!r)
        return vt__error(VT_EINVAL, "render: renderer is NULL");
    if (modality != VT_MODALITY_MONO && modality != VT_MODALITY_THERMAL)
        return vt__error(VT_EINVAL, "render: blur: unknown modality %d", (int)modality);
    if (!(sigma >= 0.0 && sigma <= MAX_BLUR))
        return vt__error(VT_EINVAL, "render: blur must be in [0, %g] pixels (got %g)", MAX_BLUR,
                         sigma);
    r->blur[modality] = sigma;
    return VT_OK;
}

vt_status vt_renderer_set_pose(vt_renderer *r, int camera, vt_vec3 position, vt_quat q)
{
    vt_status s = check_draw(r, camera, NULL, 0);
    if (s != VT_OK)
        return s;
    vt_camera cam = r->cams[camera].cam;
    cam.position = position;
    cam.q = q;
    if ((s = vt_camera_init(&cam)) != VT_OK)
        return vt__error_prefix(s, "render: camera %d: set_pose", camera);
    r->cams[camera].cam = cam;
    return VT_OK;
}
