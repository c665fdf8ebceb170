/*
 * src/eval/plot.c - top-down and side views of the tracks against the truth
 * as RGB PNG images (see vt_eval_plot in voxtrack/eval.h).
 *
 * The evaluator records every position it is given (opts.record_paths).
 * Here they are sorted by (what, id, frame) so that each object's path is a
 * run of points, and consecutive frames of a run are joined by lines
 * (Bresenham, two pixels wide). Both views use one scale for both axes, so
 * distances and angles look as they are; the square shown is the bounding
 * square of all points with a 5% margin. Truth is drawn first, in grey, and
 * the tracks over it in colours spread around the hue circle by the golden
 * ratio of their ids, so that neighbouring ids differ. Light grid lines at a
 * round step (1, 2 or 5 times a power of ten) carry labels in a 3x5 pixel
 * font, so a plot can be read without a legend.
 *
 * The detection rate by SNR (vt_eval_plot_snr) is a bar per SNR bin on the
 * same kind of canvas: bar heights are the rate (grid lines every 0.1), the
 * bin's lower edge is written under it, and a dark tick on each bar's top
 * edge marks how many drone-frames the bin holds, as a share of the fullest.
 *
 * Drawing and the PNG encoding are in canvas.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "eval/canvas.h"
#include "eval/eval_internal.h"

enum { MARGIN = 48, DEFAULT_SIZE = 1000, MIN_SIZE = 128, MAX_SIZE = 8192, FONT_SCALE = 2 };

typedef vt__rgb rgb;
typedef vt__canvas canvas;

/* The world square shown and where it lands on the canvas. */
typedef struct view {
    double u0, v0, span; /* world lower-left corner and edge, metres */
    int size;            /* plot square edge, pixels */
} view;

static const rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0}, GRID = {232, 232, 232};
static const rgb TRUTH_DRONE = {128, 128, 128}, TRUTH_BIRD = {200, 200, 200};

/* ------------------------------------------------------------------------ */
/* Axes                                                                      */

static int to_px(const view *v, double u)
{
    return MARGIN + (int)lround((u - v->u0) / v->span * (v->size - 1));
}

static int to_py(const view *v, double w)
{
    /* Up is up: the canvas rows run down. */
    return MARGIN + v->size - 1 - (int)lround((w - v->v0) / v->span * (v->size - 1));
}

/* A round step (1, 2 or 5 x 10^k) that cuts `span` into about 5 to 10 parts. */
static double grid_step(double span)
{
    double base = pow(10.0, floor(log10(span / 5.0)));
    double r = span / 5.0 / base;
    return base * (r < 2.0 ? 1.0 : r < 5.0 ? 2.0 : 5.0);
}

static void axes(canvas *c, const view *v)
{
    double step = grid_step(v->span);
    int x0 = MARGIN, x1 = MARGIN + v->size - 1, y0 = MARGIN, y1 = MARGIN + v->size - 1;
    char label[32];
    for (double u = ceil(v->u0 / step) * step; u <= v->u0 + v->span; u += step) {
        int px = to_px(v, u);
        for (int y = y0; y <= y1; y++)
            vt__canvas_put(c, px, y, GRID);
        snprintf(label, sizeof label, "%g", fabs(u) < step * 1e-9 ? 0.0 : u);
        vt__canvas_text(c, px - 4 * FONT_SCALE, y1 + 6, label, BLACK, FONT_SCALE);
    }
    for (double w = ceil(v->v0 / step) * step; w <= v->v0 + v->span; w += step) {
        int py = to_py(v, w);
        for (int x = x0; x <= x1; x++)
            vt__canvas_put(c, x, py, GRID);
        snprintf(label, sizeof label, "%g", fabs(w) < step * 1e-9 ? 0.0 : w);
        vt__canvas_text(c, 2, py - 5 * FONT_SCALE / 2, label, BLACK, FONT_SCALE);
    }
    for (int x = x0; x <= x1; x++) {
        vt__canvas_put(c, x, y0, BLACK);
        vt__canvas_put(c, x, y1, BLACK);
    }
    for (int y = y0; y <= y1; y++) {
        vt__canvas_put(c, x0, y, BLACK);
        vt__canvas_put(c, x1, y, BLACK);
    }
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

static int cmp_point(const void *a, const void *b)
{
    const vt__eval_point *p = a, *q = b;
    if (p->what != q->what)
        return p->what < q->what ? -1 : 1;
    if (p->id != q->id)
        return p->id < q->id ? -1 : 1;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* A saturated colour for a track id: hues spread by the golden ratio. */
static rgb track_colour(uint64_t id)
{
    double h = fmod((double)(id % 100003) * 0.6180339887498949, 1.0) * 6.0;
    double s = 0.9, val = 0.85, f = h - floor(h);
    double p = val * (1 - s), q = val * (1 - s * f), t = val * (1 - s * (1 - f));
    double r, g, b;
    switch ((int)h % 6) {
    case 0:
        r = val, g = t, b = p;
        break;
    case 1:
        r = q, g = val, b = p;
        break;
    case 2:
        r = p, g = val, b = t;
        break;
    case 3:
        r = p, g = q, b = val;
        break;
    case 4:
        r = t, g = p, b = val;
        break;
    default:
        r = val, g = p, b = q;
        break;
    }
    rgb c = {(uint8_t)(r * 255), (uint8_t)(g * 255), (uint8_t)(b * 255)};
    return c;
}

static double vertical(vt_vec3 p, bool side)
{
    return side ? p.z : p.y;
}

static void paths(canvas *c, const view *v, const vt__eval_point *pts, size_t n, bool side)
{
    for (size_t i = 0; i < n; i++) {
        const vt__eval_point *p = &pts[i];
        rgb col = p->what == VT__PT_TRUTH_DRONE  ? TRUTH_DRONE
                  : p->what == VT__PT_TRUTH_BIRD ? TRUTH_BIRD
                                                 : track_colour(p->id);
        int x = to_px(v, p->pos.x), y = to_py(v, vertical(p->pos, side));
        /* Joined to the previous point when that is the same object one frame earlier. */
        if (i > 0 && pts[i - 1].what == p->what && pts[i - 1].id == p->id &&
            pts[i - 1].seq + 1 == p->seq)
            vt__canvas_line(c, to_px(v, pts[i - 1].pos.x), to_py(v, vertical(pts[i - 1].pos, side)),
                            x, y, col);
        else
            vt__canvas_line(c, x, y, x, y, col);
    }
}

/* ------------------------------------------------------------------------ */
/* The views                                                                 */

static view fit(const vt__eval_point *pts, size_t n, bool side, int size)
{
    double ulo = INFINITY, uhi = -INFINITY, vlo = INFINITY, vhi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double u = pts[i].pos.x, w = vertical(pts[i].pos, side);
        ulo = fmin(ulo, u), uhi = fmax(uhi, u), vlo = fmin(vlo, w), vhi = fmax(vhi, w);
    }
    /* A square, 5% larger than the larger extent, never under a metre. */
    double span = fmax(fmax(uhi - ulo, vhi - vlo) * 1.05, 1.0);
    view v = {(ulo + uhi - span) / 2.0, (vlo + vhi - span) / 2.0, span, size};
    return v;
}

static vt_status draw_view(const vt__eval_point *pts, size_t n, bool side, int size,
                           const char *prefix, view *shown)
{
    size_t len = strlen(prefix) + 16;
    char *path = malloc(len);
    canvas c = {size + 2 * MARGIN, size + 2 * MARGIN, NULL};
    c.px = malloc((size_t)c.w * (size_t)c.h * 3);
    if (!path || !c.px) {
        free(path);
        free(c.px);
        return vt__error(VT_ENOMEM, "eval: out of memory for a %d-pixel plot", size);
    }
    snprintf(path, len, "%s_%s.png", prefix, side ? "side" : "top");
    for (size_t i = 0; i < (size_t)c.w * (size_t)c.h; i++)
        memcpy(c.px + 3 * i, &WHITE, 3);
    *shown = fit(pts, n, side, size);
    axes(&c, shown);
    paths(&c, shown, pts, n, side);
    vt_status s = vt__canvas_save_png(&c, path);
    free(path);
    free(c.px);
    return s;
}

vt_status vt_eval_plot(const vt_eval *e, const char *prefix, int size, vt_vec3 *lo, vt_vec3 *hi)
{
    if (!e || !prefix || !*prefix)
        return vt__error(VT_EINVAL, "eval: plot: NULL evaluator or empty prefix");
    if (size == 0)
        size = DEFAULT_SIZE;
    if (size < MIN_SIZE || size > MAX_SIZE)
        return vt__error(VT_EINVAL, "eval: plot: size %d is out of range (%d..%d)", size, MIN_SIZE,
                         MAX_SIZE);
    if (e->npoints == 0)
        return vt__error(VT_EINVAL, "eval: plot: no positions recorded%s",
                         e->o.record_paths ? "" : " (opts.record_paths is off)");
    vt__eval_point *pts = malloc(e->npoints * sizeof *pts);
    if (!pts)
        return vt__error(VT_ENOMEM, "eval: plot: out of memory");
    memcpy(pts, e->points, e->npoints * sizeof *pts);
    qsort(pts, e->npoints, sizeof *pts, cmp_point);
    view top, side;
    vt_status s = draw_view(pts, e->npoints, false, size, prefix, &top);
    if (s == VT_OK)
        s = draw_view(pts, e->npoints, true, size, prefix, &side);
    free(pts);
    if (s != VT_OK)
        return s;
    if (lo)
        *lo = vt_v3(top.u0, top.v0, side.v0);
    if (hi)
        *hi = vt_v3(top.u0 + top.span, top.v0 + top.span, side.v0 + side.span);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Detection rate by SNR                                                     */

static void fill(canvas *c, int x0, int y0, int x1, int y1, rgb col)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            vt__canvas_put(c, x, y, col);
}

vt_status vt_eval_plot_snr(const vt_eval *e, const char *path, int size)
{
    if (!e || !path || !*path)
        return vt__error(VT_EINVAL, "eval: SNR plot: NULL evaluator or empty path");
    if (size == 0)
        size = DEFAULT_SIZE;
    if (size < MIN_SIZE || size > MAX_SIZE)
        return vt__error(VT_EINVAL, "eval: SNR plot: size %d is out of range (%d..%d)", size,
                         MIN_SIZE, MAX_SIZE);
    if (e->r.snr_frames == 0)
        return vt__error(VT_EINVAL, "eval: SNR plot: no drone-frame came with SNRs");
    canvas c;
    vt_status s = vt__canvas_new(&c, size + 2 * MARGIN, size / 2 + 2 * MARGIN, WHITE);
    if (s)
        return s;
    int x0 = MARGIN, x1 = MARGIN + size - 1, y0 = MARGIN, y1 = MARGIN + size / 2 - 1;
    char label[32];
    for (int k = 0; k <= 10; k++) {
        int y = y1 - (int)lround(k / 10.0 * (y1 - y0));
        fill(&c, x0, y, x1, y, k % 5 ? GRID : TRUTH_BIRD);
        snprintf(label, sizeof label, "%.1f", k / 10.0);
        vt__canvas_text(&c, 2, y - 5 * FONT_SCALE / 2, label, BLACK, FONT_SCALE);
    }
    int64_t most = 1;
    for (int b = 0; b < VT_EVAL_SNR_BINS; b++)
        most = e->r.snr_bins[b].gt > most ? e->r.snr_bins[b].gt : most;
    const rgb bar = {70, 130, 200};
    int slot = size / VT_EVAL_SNR_BINS;
    for (int b = 0; b < VT_EVAL_SNR_BINS; b++) {
        const vt_eval_bin *bin = &e->r.snr_bins[b];
        int bx0 = x0 + b * slot + slot / 8, bx1 = x0 + (b + 1) * slot - slot / 8;
        snprintf(label, sizeof label, "%g", bin->lo);
        vt__canvas_text(&c, bx0, y1 + 6, label, BLACK, FONT_SCALE);
        if (bin->gt == 0)
            continue;
        double rate = (double)bin->tp / (double)bin->gt;
        int top = y1 - (int)lround(rate * (y1 - y0));
        fill(&c, bx0, top, bx1, y1, bar);
        int tick = bx0 + (int)lround((double)bin->gt / (double)most * (bx1 - bx0));
        fill(&c, bx0, top - 3, tick, top - 1, BLACK);
    }
    fill(&c, x0, y0, x1, y0, BLACK);
    fill(&c, x0, y1, x1, y1, BLACK);
    fill(&c, x0, y0, x0, y1, BLACK);
    fill(&c, x1, y0, x1, y1, BLACK);
    s = vt__canvas_save_png(&c, path);
    vt__canvas_free(&c);
    return s;
}
