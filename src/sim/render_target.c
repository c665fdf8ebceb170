/*
 * src/sim/render_target.c - the renderer's targets: which pixels a target
 * covers and by how much, through the full camera model (see
 * voxtrack/render.h; render.c composites the result over the sky).
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
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "sim/render_internal.h"

enum {
    ROWS_PER_RADIUS = 16, /* sub-rows per projected radius, at least */
    BOX_EDGE_SAMPLES = 16 /* points per edge when mapping a box through the distortion */
};

/* Margin (pixels) around a target's distorted box: the box edges bend between samples. */
#define BOX_MARGIN 1.5

/* Coverage below this is not drawn: the far tail of the blur. */
#define COVER_MIN 1e-6

/* ------------------------------------------------------------------------ */
/* A target's ellipse                                                        */

/* False when the target is not wholly in front of the camera (or degenerate). */
bool vt__render_geom_init(const vt__render_cam *c, const vt_render_target *t, int supersample,
                          vt__render_geom *g)
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
        g->rows = want < VT__RENDER_MAX_ROWS ? (int)want : VT__RENDER_MAX_ROWS;
    g->distance = vt_v3_norm(cc);
    return true;
}

/*
 * The pixels the target can touch: its ellipse's box clipped to the image's
 * normalised box, mapped through the distortion along its edges. False when
 * that is empty.
 */
static bool target_box(const vt__render_cam *c, const vt__render_geom *g, int box[4])
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

static double ellipse_form(const vt__render_geom *g, double x, double y)
{
    return g->e00 * x * x + 2.0 * g->e01 * x * y + g->e11 * y * y;
}

enum { PIXEL_OUT = 0, PIXEL_IN = 1, PIXEL_EDGE = 2 };

/*
 * A pixel's corners relative to the ellipse centre, from its corner rows:
 * l[0] top-left, l[1] top-right, l[2] bottom-left, l[3] bottom-right.
 */
static void pixel_corners(const vt__render_geom *g, const double *top, const double *bottom, int i,
                          double l[4][2])
{
    const double *src[4] = {top + 2 * i, top + 2 * i + 2, bottom + 2 * i, bottom + 2 * i + 2};
    for (int k = 0; k < 4; k++) {
        l[k][0] = src[k][0] - g->px;
        l[k][1] = src[k][1] - g->py;
    }
}

/* Inside (all four corners in the convex ellipse), outside (off its box) or on its edge. */
static int classify(const vt__render_geom *g, double l[4][2])
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
static bool row_piece(const vt__render_geom *g, double l[4][2], double t, double *s0, double *s1)
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

vt__render_psf vt__render_camera_psf(const vt_renderer *r, const vt__render_cam *c)
{
    vt__render_psf p = {.sigma = r->blur[c->modality], .phi = r->psf_phi, .integral = r->psf_int};
    p.reach = VT__PSF_Z * p.sigma;
    p.pad = p.sigma > 0 ? 1 + (int)ceil(p.reach) : 0;
    return p;
}

void vt__render_psf_tables(vt_renderer *r)
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
static double psf_cdf(const vt__render_psf *p, double z)
{
    return z <= -VT__PSF_Z ? 0.0 : z >= VT__PSF_Z ? 1.0 : table_at(p->phi, z);
}

/* Its integral, z Phi(z) + phi(z). */
static double psf_cdf_integral(const vt__render_psf *p, double z)
{
    return z <= -VT__PSF_Z ? 0.0 : z >= VT__PSF_Z ? z : table_at(p->integral, z);
}

/* The response of a pixel row to a horizontal line s pixels from the row's centre. */
static double psf_line(const vt__render_psf *p, double s)
{
    if (p->sigma == 0.0)
        return fabs(s) < 0.5 ? 1.0 : 0.0;
    return psf_cdf(p, (s + 0.5) / p->sigma) - psf_cdf(p, (s - 0.5) / p->sigma);
}

/* The response of a pixel column to the half-line x <= t (t from the column's centre). */
static double psf_cumulative(const vt__render_psf *p, double t)
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

/* Undistorted corners at height v of columns u0 - 0.5, u0 + 0.5, ... (n of them). */
static void corner_row(const vt_camera *k, int u0, int n, double v, double *row)
{
    for (int i = 0; i < n; i++)
        corner(k, u0 + i - 0.5, v, &row[2 * i], &row[2 * i + 1]);
}

/* Spreads the segment [xa, xb] of a sub-row (weight h, row weights wy) over the grid. */
static void deposit(const vt__render_psf *p, vt__render_grid *grid, int first_row, const double *wy,
                    double h, double xa, double xb)
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
static void raster_row(const vt__render_geom *g, const vt__render_psf *p, int y, int u0, int n,
                       const double *top, const double *bottom, double *cls, const double *wytab,
                       vt__render_grid *grid)
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
vt_status vt__render_rasterise(const vt__render_cam *c, const vt__render_geom *g,
                               const vt__render_psf *p, double **scratch, size_t *cap,
                               vt__render_grid *grid)
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
    vt_status s = vt__grow(scratch, cap, 5 * (size_t)n + nwy + cells, sizeof(double));
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
double vt__render_grid_cover(const vt__render_grid *grid, int x, int y)
{
    if (x < grid->x0 || y < grid->y0 || x >= grid->x0 + grid->w || y >= grid->y0 + grid->h)
        return 0.0;
    double v = grid->cells[(size_t)(y - grid->y0) * (size_t)grid->w + (size_t)(x - grid->x0)];
    return v > COVER_MIN ? fmin(v, 1.0) : 0.0;
}
