/*
 * src/sim/render_sky.c - the renderer's background: sky, drifting clouds,
 * sensor noise and hot pixels (see voxtrack/render.h).
 *
 * Sky. A level plus a vertical gradient, plus clouds: fractal value noise
 * (Perlin, "An image synthesizer", SIGGRAPH 1985, with lattice values instead
 * of gradients), four octaves of a seeded hash lattice interpolated with
 * smoothstep, drifting at cloud_speed pixels per second along a wind
 * direction drawn from the seed. The drift is quantised to steps of
 * VT__SKY_DRIFT_STEP pixels and the float sky of each camera is redrawn only
 * when a frame falls on another step, so a frame's sky depends only on its
 * time, never on which frames were drawn before (out-of-order drawing gives
 * the same bytes). Without clouds the sky is one value per row and nothing
 * per pixel is kept. A row of one octave interpolates between two lattice
 * rows once per lattice column, then once per pixel along x with weights
 * that are the same for every row: a few multiply-adds per pixel and octave.
 *
 * Noise. Counter-based (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011): splitmix64's mix of key(seed, camera, frame) plus a
 * counter, one 64-bit hash per 4 pixels of a row, 16 bits per pixel of which
 * 12 index a 4096-entry table of the Gaussian's quantiles. The value of
 * entry i is the Gaussian's mean over the quantile bin [i, i+1) / 4096, so
 * the table's mean is 0 exactly, and the table is rescaled to variance 1;
 * its tails stop at about 3.6 sigma, which a sensor simulation does not
 * miss. One mix per 4 pixels and a table load per pixel are what makes the
 * noise cheap enough for 8K frames. A pixel's noise depends only on (seed,
 * camera, frame, x, y): any thread count and drawing order give the same
 * frame.
 *
 * Hot pixels. Pixel p is hot when hash(seed, camera, p) < hot_fraction *
 * 2^64, a fixed set found on a camera's first draw; a hot pixel is on in a
 * frame when one bit of hash(seed, camera, frame, p) is set (half the frames).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "sim/render_internal.h"

enum { OCTAVES = 4 };

/* ------------------------------------------------------------------------ */
/* The Gaussian table                                                        */

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static double normal_pdf(double x)
{
    return exp(-0.5 * x * x) / sqrt(2.0 * VT_PI);
}

/* Phi^-1(p) by Newton's method from `guess`, bracketed so that it cannot run away. */
static double normal_quantile(double p, double guess)
{
    double lo = -40.0, hi = 40.0, x = guess;
    for (int it = 0; it < 200; it++) {
        double f = normal_cdf(x) - p;
        if (f > 0)
            hi = x;
        else
            lo = x;
        double step = f / normal_pdf(x);
        double nx = x - step;
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) < 1e-14 * fmax(1.0, fabs(x)))
            return nx;
        x = nx;
    }
    return x;
}

void vt__render_gauss_table(float table[VT__GAUSS_SIZE])
{
    /* Conditional mean of bin i: N * (pdf(a_i) - pdf(a_i+1)), a_i = Phi^-1(i / N). */
    double edge_pdf_prev = 0.0, guess = -3.5, var = 0.0;
    double mean_bin[VT__GAUSS_SIZE];
    for (int i = 0; i < VT__GAUSS_SIZE; i++) {
        double edge_pdf = 0.0;
        if (i + 1 < VT__GAUSS_SIZE) {
            guess = normal_quantile((double)(i + 1) / VT__GAUSS_SIZE, guess);
            edge_pdf = normal_pdf(guess);
        }
        mean_bin[i] = VT__GAUSS_SIZE * (edge_pdf_prev - edge_pdf);
        edge_pdf_prev = edge_pdf;
        var += mean_bin[i] * mean_bin[i];
    }
    double scale = 1.0 / sqrt(var / VT__GAUSS_SIZE);
    for (int i = 0; i < VT__GAUSS_SIZE; i++)
        table[i] = (float)(mean_bin[i] * scale);
}

/* ------------------------------------------------------------------------ */
/* Sky and clouds                                                            */

/* A lattice value of octave o in [-1, 1]. */
static float lattice(uint64_t key, int o, int64_t i, int64_t j)
{
    uint64_t h =
        vt__render_mix(key + (uint64_t)i * 0x9e3779b97f4a7c15ull +
                       (uint64_t)j * 0xc2b2ae3d27d4eb4full + (uint64_t)o * 0x165667b19e3779f9ull);
    return (float)((double)(h >> 11) * 0x1.0p-52 - 1.0);
}

static double smooth(double f)
{
    return f * f * (3.0 - 2.0 * f);
}

/* One octave's x lookup, the same for every row: lattice column and smoothed weight per pixel. */
typedef struct octave {
    double cell; /* lattice spacing, pixels */
    float amp;   /* cloud amplitude share */
    int64_t i0;  /* first lattice column */
    int ncols;   /* lattice columns a row needs */
    int *col;    /* width entries: column - i0 */
    float *w;    /* width entries */
} octave;

typedef struct cloud_frame {
    uint64_t key;
    double ox, oy; /* this frame's pattern offset: camera offset minus drift */
    octave oct[OCTAVES];
} cloud_frame;

static void cloud_frame_free(cloud_frame *cf)
{
    for (int o = 0; o < OCTAVES; o++) {
        free(cf->oct[o].col);
        free(cf->oct[o].w);
    }
}

static vt_status cloud_frame_init(const vt__render_cam *c, double ox, double oy, uint64_t key,
                                  cloud_frame *cf)
{
    const vt_render_sky *s = c->sky;
    int w = c->cam.width;
    memset(cf, 0, sizeof *cf);
    cf->key = key;
    cf->ox = ox;
    cf->oy = oy;
    double amp = 1.0, norm = 0.0;
    for (int o = 0; o < OCTAVES; o++, amp *= 0.5)
        norm += amp;
    amp = 1.0;
    for (int o = 0; o < OCTAVES; o++, amp *= 0.5) {
        octave *oc = &cf->oct[o];
        oc->cell = s->cloud_scale / (double)(1 << o);
        oc->amp = (float)(s->cloud * amp / norm);
        oc->i0 = (int64_t)floor(ox / oc->cell);
        oc->ncols = (int)((int64_t)floor((w - 1 + ox) / oc->cell) - oc->i0 + 2);
        oc->col = malloc((size_t)w * sizeof *oc->col);
        oc->w = malloc((size_t)w * sizeof *oc->w);
        if (!oc->col || !oc->w) {
            cloud_frame_free(cf);
            return vt__error(VT_ENOMEM, "render: camera %d: out of memory for the clouds",
                             c->index);
        }
        for (int x = 0; x < w; x++) {
            double fx = (x + ox) / oc->cell;
            double fl = floor(fx);
            oc->col[x] = (int)((int64_t)fl - oc->i0);
            oc->w[x] = (float)smooth(fx - fl);
        }
    }
    return VT_OK;
}

/* Adds one octave of clouds to a row; g is scratch for ncols + 1 values. */
static void cloud_row(const cloud_frame *cf, int o, int y, int width, float *g, float *row)
{
    const octave *oc = &cf->oct[o];
    double fy = (y + cf->oy) / oc->cell;
    int64_t j = (int64_t)floor(fy);
    float wy = (float)smooth(fy - (double)j);
    for (int k = 0; k < oc->ncols; k++) {
        float a = lattice(cf->key, o, oc->i0 + k, j);
        float b = lattice(cf->key, o, oc->i0 + k, j + 1);
        g[k] = oc->amp * (a + wy * (b - a));
    }
    for (int x = 0; x < width; x++) {
        int k = oc->col[x];
        row[x] += g[k] + oc->w[x] * (g[k + 1] - g[k]);
    }
}

static vt_status draw_clouds(const vt_renderer *r, vt__render_cam *c, const cloud_frame *cf)
{
    int w = c->cam.width, h = c->cam.height, nt = vt__render_threads(r);
    int maxcols = 0;
    for (int o = 0; o < OCTAVES; o++)
        if (cf->oct[o].ncols > maxcols)
            maxcols = cf->oct[o].ncols;
    float *scratch = malloc((size_t)nt * (size_t)(maxcols + 1) * sizeof *scratch);
    if (!scratch)
        return vt__error(VT_ENOMEM, "render: camera %d: out of memory for the clouds", c->index);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int y = 0; y < h; y++) {
        float *g = scratch + (size_t)omp_get_thread_num() * (size_t)(maxcols + 1);
        float *row = c->sky_px + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            row[x] = c->row_level[y];
        for (int o = 0; o < OCTAVES; o++)
            cloud_row(cf, o, y, w, g, row);
    }
    free(scratch);
    return VT_OK;
}

static vt_status alloc_row_levels(vt__render_cam *c)
{
    int h = c->cam.height;
    c->row_level = malloc((size_t)h * sizeof *c->row_level);
    if (!c->row_level)
        return vt__error(VT_ENOMEM, "render: camera %d: out of memory for the sky", c->index);
    for (int y = 0; y < h; y++) {
        double f = h > 1 ? (double)y / (h - 1) - 0.5 : 0.0;
        c->row_level[y] = (float)(c->sky->level + c->sky->gradient * f);
    }
    return VT_OK;
}

vt_status vt__render_sky_update(const vt_renderer *r, vt__render_cam *c, double t)
{
    const vt_render_sky *s = c->sky;
    if (!c->row_level) {
        vt_status st = alloc_row_levels(c);
        if (st != VT_OK)
            return st;
    }
    if (s->cloud == 0.0f)
        return VT_OK;
    double steps = s->cloud_speed * t / VT__SKY_DRIFT_STEP;
    int64_t key = (int64_t)llround(fmax(fmin(steps, 4e15), -4e15));
    if (c->sky_valid && key == c->sky_key)
        return VT_OK;
    if (!c->sky_px) {
        c->sky_px = malloc((size_t)c->cam.width * (size_t)c->cam.height * sizeof *c->sky_px);
        if (!c->sky_px)
            return vt__error(VT_ENOMEM, "render: camera %d: out of memory for the %dx%d sky",
                             c->index, c->cam.width, c->cam.height);
    }
    /* One wind for all cameras; each camera sees its own part of the pattern. */
    uint64_t wind = vt__render_key(r->opts.seed, VT__SALT_CLOUD, -1, 0);
    double dir = 2.0 * VT_PI * (double)(wind >> 11) * 0x1.0p-53;
    uint64_t ck = vt__render_key(r->opts.seed, VT__SALT_CLOUD, c->index, 0);
    double cam_ox = (double)(vt__render_mix(ck + 1) >> 11) * 0x1.0p-53 * 1e4;
    double cam_oy = (double)(vt__render_mix(ck + 2) >> 11) * 0x1.0p-53 * 1e4;
    double drift = (double)key * VT__SKY_DRIFT_STEP;
    cloud_frame cf;
    vt_status st =
        cloud_frame_init(c, cam_ox - drift * cos(dir), cam_oy - drift * sin(dir), ck, &cf);
    if (st != VT_OK)
        return st;
    st = draw_clouds(r, c, &cf);
    cloud_frame_free(&cf);
    if (st != VT_OK)
        return st;
    c->sky_key = key;
    c->sky_valid = true;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Noise pass                                                                */

static inline uint8_t to8(float v)
{
    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    return (uint8_t)(v + 0.5f);
}

static inline uint16_t to16(float v)
{
    v = v < 0.0f ? 0.0f : v > 65535.0f ? 65535.0f : v;
    return (uint16_t)(v + 0.5f);
}

void vt__render_store(vt_image *out, int x, int y, float value)
{
    if (out->bits == 8)
        vt_image_row8(out, y)[x] = to8(value);
    else
        vt_image_row16(out, y)[x] = to16(value);
}

static uint64_t groups_per_row(const vt__render_cam *c)
{
    return ((uint64_t)c->cam.width + 3) / 4;
}

uint64_t vt__render_noise_key(const vt_renderer *r, const vt__render_cam *c, int64_t frame)
{
    return vt__render_key(r->opts.seed, VT__SALT_NOISE, c->index, frame);
}

float vt__render_noise_at(const vt_renderer *r, const vt__render_cam *c, uint64_t key, int x, int y)
{
    uint64_t h = vt__render_hash(key, (uint64_t)y * groups_per_row(c) + (uint64_t)(x >> 2));
    return r->gauss[(h >> (16 * (x & 3) + 4)) & (VT__GAUSS_SIZE - 1)];
}

/* One row's sky values: the cached floats, or the row's level repeated. */
static const float *sky_row(const vt__render_cam *c, int y, float *scratch)
{
    if (c->sky_px)
        return c->sky_px + (size_t)y * (size_t)c->cam.width;
    for (int x = 0; x < c->cam.width; x++)
        scratch[x] = c->row_level[y];
    return scratch;
}

/* sky + sigma * noise for one row into `vals`: one hash per 4 pixels. */
static void noise_row(const vt_renderer *r, uint64_t key, uint64_t first, const float *sky,
                      float sigma, int width, float *vals)
{
    int x = 0;
    for (uint64_t g = first; x < width; g++) {
        uint64_t h = vt__render_hash(key, g);
        int n = width - x < 4 ? width - x : 4;
        for (int l = 0; l < n; l++, x++)
            vals[x] = sky[x] + sigma * r->gauss[(h >> (16 * l + 4)) & (VT__GAUSS_SIZE - 1)];
    }
}

void vt__render_sky_pass(const vt_renderer *r, const vt__render_cam *c, int64_t frame,
                         vt_image *out)
{
    int w = c->cam.width, h = c->cam.height, nt = vt__render_threads(r);
    float sigma = c->sky->noise;
    uint64_t key = vt__render_noise_key(r, c, frame);
    uint64_t gpr = groups_per_row(c);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* Two rows of scratch per thread: the sky of a cloudless row and the noised values. */
        float *buf = malloc(2 * (size_t)w * sizeof *buf);
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++) {
            float stack[256 * 2];
            float *scratch = buf ? buf : (w <= 256 ? stack : NULL);
            if (!scratch) {
                /* No memory for a row: fall back to pixel by pixel. */
                for (int x = 0; x < w; x++)
                    vt__render_store(
                        out, x, y,
                        vt__render_sky_at(c, x, y) +
                            (sigma > 0 ? sigma * vt__render_noise_at(r, c, key, x, y) : 0.0f));
                continue;
            }
            const float *sky = sky_row(c, y, scratch);
            const float *vals = sky;
            if (sigma > 0.0f) {
                noise_row(r, key, (uint64_t)y * gpr, sky, sigma, w, scratch + w);
                vals = scratch + w;
            }
            if (out->bits == 8) {
                uint8_t *o = vt_image_row8(out, y);
                for (int x = 0; x < w; x++)
                    o[x] = to8(vals[x]);
            } else {
                uint16_t *o = vt_image_row16(out, y);
                for (int x = 0; x < w; x++)
                    o[x] = to16(vals[x]);
            }
        }
        free(buf);
    }
}

/* ------------------------------------------------------------------------ */
/* Hot pixels                                                                */

static uint64_t hot_threshold(double fraction)
{
    return fraction >= 1.0 ? UINT64_MAX : (uint64_t)(fraction * 18446744073709551616.0);
}

/* Hot pixels of rows [y0, y1): counted when list is NULL, else written. */
static size_t hot_rows(uint64_t key, uint64_t thr, int width, int y0, int y1, uint64_t *list)
{
    size_t n = 0;
    for (uint64_t p = (uint64_t)y0 * (uint64_t)width; p < (uint64_t)y1 * (uint64_t)width; p++)
        if (vt__render_hash(key, p) < thr) {
            if (list)
                list[n] = p;
            n++;
        }
    return n;
}

vt_status vt__render_hot_update(const vt_renderer *r, vt__render_cam *c)
{
    if (c->hot_valid)
        return VT_OK;
    double frac = c->sky->hot_fraction;
    if (frac <= 0.0) {
        c->hot_valid = true;
        return VT_OK;
    }
    uint64_t key = vt__render_key(r->opts.seed, VT__SALT_HOT, c->index, 0);
    uint64_t thr = hot_threshold(frac);
    int w = c->cam.width, h = c->cam.height, nt = vt__render_threads(r);
    enum { BANDS = 64 };
    size_t count[BANDS + 1] = {0};
    /* Count per band of rows, then fill each band's slice: the list is in raster order. */
#pragma omp parallel for num_threads(nt) schedule(dynamic) if (nt > 1)
    for (int b = 0; b < BANDS; b++)
        count[b + 1] = hot_rows(key, thr, w, (int)((int64_t)h * b / BANDS),
                                (int)((int64_t)h * (b + 1) / BANDS), NULL);
    for (int b = 0; b < BANDS; b++)
        count[b + 1] += count[b];
    c->hot = malloc((count[BANDS] ? count[BANDS] : 1) * sizeof *c->hot);
    if (!c->hot)
        return vt__error(VT_ENOMEM, "render: camera %d: out of memory for %zu hot pixels", c->index,
                         count[BANDS]);
#pragma omp parallel for num_threads(nt) schedule(dynamic) if (nt > 1)
    for (int b = 0; b < BANDS; b++)
        hot_rows(key, thr, w, (int)((int64_t)h * b / BANDS), (int)((int64_t)h * (b + 1) / BANDS),
                 c->hot + count[b]);
    c->hot_count = count[BANDS];
    c->hot_valid = true;
    return VT_OK;
}

void vt__render_hot_pass(const vt_renderer *r, const vt__render_cam *c, int64_t frame,
                         vt_image *out)
{
    uint64_t key = vt__render_key(r->opts.seed, VT__SALT_FLICKER, c->index, frame);
    int w = c->cam.width;
    for (size_t i = 0; i < c->hot_count; i++) {
        uint64_t p = c->hot[i];
        if (vt__render_hash(key, p) >> 63)
            vt__render_store(out, (int)(p % (uint64_t)w), (int)(p / (uint64_t)w),
                             c->sky->hot_value);
    }
}
