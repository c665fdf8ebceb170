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
 * The image is encoded by FFmpeg's PNG encoder (RGB24), as vt_image_save_png
 * does for gray images.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>

#include "core/internal.h"
#include "eval/eval_internal.h"

enum { MARGIN = 48, DEFAULT_SIZE = 1000, MIN_SIZE = 128, MAX_SIZE = 8192, FONT_SCALE = 2 };

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

typedef struct canvas {
    int w, h;
    uint8_t *px; /* RGB24, rows of 3 * w bytes */
} canvas;

/* The world square shown and where it lands on the canvas. */
typedef struct view {
    double u0, v0, span; /* world lower-left corner and edge, metres */
    int size;            /* plot square edge, pixels */
} view;

static const rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0}, GRID = {232, 232, 232};
static const rgb TRUTH_DRONE = {128, 128, 128}, TRUTH_BIRD = {200, 200, 200};

/* ------------------------------------------------------------------------ */
/* Pixels                                                                    */

static void put(canvas *c, int x, int y, rgb col)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

/* Bresenham's line with a 2x2 brush. */
static void line(canvas *c, int x0, int y0, int x1, int y1, rgb col)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        put(c, x0, y0, col);
        put(c, x0 + 1, y0, col);
        put(c, x0, y0 + 1, col);
        put(c, x0 + 1, y0 + 1, col);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* 3x5 digits, '-' and '.', one row of three bits per byte (bit 2 = left). */
static const uint8_t GLYPHS[12][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
    {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
    {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 7, 0, 0}, {0, 0, 0, 0, 2},
};

static void text(canvas *c, int x, int y, const char *s, rgb col)
{
    for (; *s; s++, x += 4 * FONT_SCALE) {
        int g = *s >= '0' && *s <= '9' ? *s - '0' : *s == '-' ? 10 : *s == '.' ? 11 : -1;
        if (g < 0)
            continue;
        for (int r = 0; r < 5 * FONT_SCALE; r++)
            for (int k = 0; k < 3 * FONT_SCALE; k++)
                if (GLYPHS[g][r / FONT_SCALE] & (4 >> (k / FONT_SCALE)))
                    put(c, x + k, y + r, col);
    }
}

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
            put(c, px, y, GRID);
        snprintf(label, sizeof label, "%g", fabs(u) < step * 1e-9 ? 0.0 : u);
        text(c, px - 4 * FONT_SCALE, y1 + 6, label, BLACK);
    }
    for (double w = ceil(v->v0 / step) * step; w <= v->v0 + v->span; w += step) {
        int py = to_py(v, w);
        for (int x = x0; x <= x1; x++)
            put(c, x, py, GRID);
        snprintf(label, sizeof label, "%g", fabs(w) < step * 1e-9 ? 0.0 : w);
        text(c, 2, py - 5 * FONT_SCALE / 2, label, BLACK);
    }
    for (int x = x0; x <= x1; x++) {
        put(c, x, y0, BLACK);
        put(c, x, y1, BLACK);
    }
    for (int y = y0; y <= y1; y++) {
        put(c, x0, y, BLACK);
        put(c, x1, y, BLACK);
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
            line(c, to_px(v, pts[i - 1].pos.x), to_py(v, vertical(pts[i - 1].pos, side)), x, y,
                 col);
        else
            line(c, x, y, x, y, col);
    }
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */

static vt_status write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return vt__error(VT_EIO, "%s: cannot create: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, size, fp) == size;
    int err = errno;
    /* fclose flushes: a full disk may only show here. */
    if (fclose(fp) != 0 && ok) {
        ok = false;
        err = errno;
    }
    return ok ? VT_OK : vt__error(VT_EIO, "%s: cannot write: %s", path, strerror(err));
}

static vt_status save_rgb_png(const canvas *c, const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec)
        return vt__error(VT_EUNSUPPORTED, "%s: this FFmpeg has no PNG encoder", path);
    av_log_set_level(AV_LOG_QUIET);
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    vt_status s = VT_OK;
    int err = 0;
    if (!ctx || !f || !pkt) {
        s = vt__error(VT_ENOMEM, "%s: out of memory for the PNG encoder", path);
        goto done;
    }
    ctx->width = f->width = c->w;
    ctx->height = f->height = c->h;
    ctx->pix_fmt = AV_PIX_FMT_RGB24;
    f->format = AV_PIX_FMT_RGB24;
    ctx->time_base = (AVRational){1, 1}; /* encoders refuse to open without one */
    if ((err = avcodec_open2(ctx, codec, NULL)) < 0 || (err = av_frame_get_buffer(f, 0)) < 0)
        goto fail;
    for (int y = 0; y < c->h; y++)
        memcpy(f->data[0] + (size_t)y * (size_t)f->linesize[0],
               c->px + (size_t)y * (size_t)c->w * 3, (size_t)c->w * 3);
    if ((err = avcodec_send_frame(ctx, f)) < 0 || (err = avcodec_send_frame(ctx, NULL)) < 0 ||
        (err = avcodec_receive_packet(ctx, pkt)) < 0)
        goto fail;
    s = write_bytes(path, pkt->data, (size_t)pkt->size);
    goto done;
fail : {
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    s = vt__error(VT_EFORMAT, "%s: PNG encoding failed: %s", path, msg);
}
done:
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return s;
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
    vt_status s = save_rgb_png(&c, path);
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
