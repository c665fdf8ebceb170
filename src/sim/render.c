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
 * distortion barely bends over one pixel). The quad is cut into `rows`
 * stratified sub-rows; along each sub-row (a straight segment in normalised
 * coordinates) the stretch inside the ellipse is found exactly from a
 * quadratic, so the coverage is exact along x and a midpoint rule along y.
 * That is the limit of supersample x infinity sub-samples, for the price of
 * one square root per sub-row. Pixels whose four corners are inside are
 * covered fully (the ellipse is convex); pixels whose quad misses the
 * ellipse's box are empty. A target of a small image gets more sub-rows
 * (at least 16 per projected radius, up to 64 per pixel), so that even a
 * sub-pixel target has its area and centroid right to a fraction of a per
 * cent of a pixel.
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
        return vt__error(VT_EINVAL, "render: opts.%s.hot_fraction must be in [0, 1] (got %g)",
                         name, (double)s->hot_fraction);
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
        free(c->lattice);
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
    vt_camera_undistort(k, (u - k->cx) / k->fx, (v - k->cy) / k->fy, x, y);
}

static double ellipse_form(const target_geom *g, double x, double y)
{
    return g->e00 * x * x + 2.0 * g->e01 * x * y + g->e11 * y * y;
}

/*
 * The covered fraction of the pixel whose corners (normalised) are p[0]
 * top-left, p[1] top-right, p[2] bottom-left, p[3] bottom-right.
 */
static double pixel_coverage(const target_geom *g, double p[4][2])
{
    double l[4][2];
    int inside = 0;
    double bx0 = INFINITY, bx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        l[i][0] = p[i][0] - g->px;
        l[i][1] = p[i][1] - g->py;
        inside += ellipse_form(g, l[i][0], l[i][1]) <= 1.0;
        bx0 = fmin(bx0, l[i][0]);
        bx1 = fmax(bx1, l[i][0]);
        by0 = fmin(by0, l[i][1]);
        by1 = fmax(by1, l[i][1]);
    }
    if (inside == 4)
        return 1.0;
    if (bx1 < -g->hx || bx0 > g->hx || by1 < -g->hy || by0 > g->hy)
        return 0.0;
    double sum = 0.0;
    for (int r = 0; r < g->rows; r++) {
        double t = (r + 0.5) / g->rows;
        /* The sub-row runs from L (left edge) to L + D (right edge): solve F(L + s D) = 1. */
        double lx = l[0][0] + t * (l[2][0] - l[0][0]), ly = l[0][1] + t * (l[2][1] - l[0][1]);
        double dx = l[1][0] + t * (l[3][0] - l[1][0]) - lx;
        double dy = l[1][1] + t * (l[3][1] - l[1][1]) - ly;
        double qa = ellipse_form(g, dx, dy);
        double qb = g->e00 * lx * dx + g->e01 * (lx * dy + ly * dx) + g->e11 * ly * dy;
        double qc = ellipse_form(g, lx, ly) - 1.0;
        double disc = qb * qb - qa * qc;
        if (!(disc > 0.0) || !(qa > 0.0))
            continue;
        double sq = sqrt(disc);
        double s0 = fmax((-qb - sq) / qa, 0.0), s1 = fmin((-qb + sq) / qa, 1.0);
        if (s1 > s0)
            sum += s1 - s0;
    }
    return sum / g->rows;
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

/* Undistorted corners of pixel row `v` (top corners at v - 0.5) for columns u0 - 0.5 ... */
static void corner_row(const vt_camera *k, int u0, int n, double v, double *row)
{
    for (int i = 0; i < n; i++)
        corner(k, u0 + i - 0.5, v, &row[2 * i], &row[2 * i + 1]);
}

/* Appends the pixels of one target (drawing order seq) to the camera's entries. */
static vt_status rasterise(vt__render_cam *c, const target_geom *g, uint32_t seq, float value)
{
    int box[4];
    if (!target_box(c, g, box))
        return VT_OK;
    int n = box[2] - box[0] + 2; /* corners per row */
    vt_status s = grow((void **)&c->lattice, &c->lattice_cap, 4 * (size_t)n, sizeof(double));
    if (s != VT_OK)
        return s;
    double *top = c->lattice, *bottom = c->lattice + 2 * (size_t)n;
    corner_row(&c->cam, box[0], n, box[1] - 0.5, top);
    for (int y = box[1]; y <= box[3]; y++) {
        corner_row(&c->cam, box[0], n, y + 0.5, bottom);
        for (int i = 0; i + 1 < n; i++) {
            double p[4][2] = {{top[2 * i], top[2 * i + 1]},
                                    {top[2 * i + 2], top[2 * i + 3]},
                                    {bottom[2 * i], bottom[2 * i + 1]},
                                    {bottom[2 * i + 2], bottom[2 * i + 3]}};
            double cover = pixel_coverage(g, p);
            if (!(cover > 0.0))
                continue;
            s = grow((void **)&c->entries, &c->entry_cap, c->entry_count + 1, sizeof *c->entries);
            if (s != VT_OK)
                return s;
            c->entries[c->entry_count++] = (vt__render_entry){
                .pixel = (uint64_t)y * (uint64_t)c->cam.width + (uint64_t)(box[0] + i),
                .seq = seq,
                .cover = (float)cover,
                .value = value};
        }
        double *swap = top;
        top = bottom;
        bottom = swap;
    }
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
    vt_status s = VT_OK;
    for (size_t i = 0; i < n && s == VT_OK; i++)
        s = rasterise(c, &ot[i].g, (uint32_t)i, ot[i].value);
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
    int box[4];
    if (!target_box(c, &g, box) || x < box[0] || x > box[2] || y < box[1] || y > box[3])
        return 0.0;
    double p[4][2];
    for (int i = 0; i < 4; i++)
        corner(&c->cam, x + (i & 1) - 0.5, y + (i >> 1) - 0.5, &p[i][0], &p[i][1]);
    return pixel_coverage(&g, p);
}
