/*
 * src/motion/background.c - change detection against a background model
 * (see voxtrack/motion.h).
 *
 * The model is one float per pixel. For each pixel d = frame - model; a
 * change is a d beyond the threshold with the expected sign; the model then
 * moves towards the frame by alpha (1 for "previous frame"), or by the much
 * smaller alpha_fg where a change was found, so that a target does not
 * bleed into the model while it is there (selective running average, as in
 * classic background subtraction, e.g. Wren et al., "Pfinder", 1997).
 *
 * The threshold may follow the noise: every frame, every 8th row gives a
 * robust sigma of d (mean |d| of the pixels within 4 sigma of the previous
 * estimate, times sqrt(pi / 2), the ratio for a Gaussian), and the next
 * frame's threshold is k_sigma times that. Targets are rare and strong, so
 * they hardly move the estimate.
 *
 * With the matched filter on (psf_sigma > 0, psf.c), d is first filtered
 * with the optics' point-spread function: a horizontal pass per row into a
 * ring of 2R + 1 rows, a vertical pass over the ring, and only then the
 * threshold (on the filtered value f, in units of f's own measured noise,
 * estimated as above on f), the model update (by d, as before) and the list.
 * Every model row is read before it is updated: row y is updated once the
 * rows down to y + R have been filtered. A band's filter also needs the R
 * rows on either side of it, which belong to its neighbours and whose model
 * those update concurrently; so before the bands start, each computes the
 * horizontal sums of the rows next to it from the model as it was (a halo),
 * and uses them instead. The listed diff is |f|, and raw is |d|.
 *
 * Bands of rows run in parallel; each band lists its changes in a buffer of
 * its own and the buffers are joined in band order, so the output does not
 * depend on the number of threads. The buffers only grow.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "motion/motion_internal.h"
#include "voxtrack/motion.h"

enum { MAX_BANDS = 64, NOISE_ROW_STEP = 8 };

/* Changes of the wrong sign enter the matched filter clipped at this many noise sigmas. */
#define CLIP_SIGMA 3.0f

typedef struct band_buf {
    uint32_t *index;
    float *diff, *raw;
    size_t count, cap;
    uint64_t noise_sum; /* sum of |d| * 256 (fixed point: the same for any band split) */
    size_t noise_n;
    uint64_t fnoise_sum; /* the same for |f|, the filtered difference */
    size_t fnoise_n;
    int failed;     /* an allocation failed */
    uint8_t *hit;   /* one row of flags */
    float *absdiff; /* one row of |d| */
    /* The matched filter's rows (psf radius R > 0): */
    float *pad;    /* one row of d with R zeros at each end */
    float *ring;   /* 2R + 1 rows of horizontal sums */
    float *halo;   /* 2R rows of horizontal sums: R above the band, R below */
    float *frow;   /* one row of f */
    float *absf;   /* one row of |f| */
} band_buf;

struct vt_background {
    vt_background_opts o;
    int width, height;
    float *model;
    bool ready;      /* the model holds a frame */
    int64_t frames;  /* frames learnt */
    float threshold; /* used by the last apply */
    float noise;     /* sigma estimate, pixel units; 0 until measured */
    float fnoise;    /* sigma of the filtered difference; 0 until measured */
    vt__psf psf;     /* the matched filter (radius 0: none) */
    float *zero;     /* a row of zeros: the filter's rows outside the frame */
    band_buf bands[MAX_BANDS];
};

vt_background_opts vt_background_opts_default(void)
{
    return (vt_background_opts){
        .kind = VT_BACKGROUND_AVERAGE,
        .alpha = 0.05,
        .alpha_fg = 0.002,
        .threshold = 0.0f,
        .k_sigma = 5.0f,
        .min_threshold = 2.0f,
        .polarity = 0,
        .threads = 0,
        .psf_sigma = 0.0f,
    };
}

static vt_status check_opts(const vt_background_opts *o)
{
    if (o->kind != VT_BACKGROUND_PREVIOUS && o->kind != VT_BACKGROUND_AVERAGE)
        return vt__error(VT_EINVAL, "background: unknown kind %d", (int)o->kind);
    if (!(o->alpha > 0.0 && o->alpha <= 1.0))
        return vt__error(VT_EINVAL, "background: alpha must be in (0, 1], got %g", o->alpha);
    if (!(o->alpha_fg >= 0.0 && o->alpha_fg <= 1.0))
        return vt__error(VT_EINVAL, "background: alpha_fg must be in [0, 1], got %g", o->alpha_fg);
    if (!(o->threshold >= 0.0f) || !isfinite(o->threshold))
        return vt__error(VT_EINVAL, "background: threshold must be >= 0, got %g",
                         (double)o->threshold);
    if (o->threshold == 0.0f && !(o->k_sigma > 0.0f && isfinite(o->k_sigma)))
        return vt__error(VT_EINVAL, "background: k_sigma must be > 0, got %g", (double)o->k_sigma);
    if (!(o->min_threshold >= 0.0f) || !isfinite(o->min_threshold))
        return vt__error(VT_EINVAL, "background: min_threshold must be >= 0, got %g",
                         (double)o->min_threshold);
    if (o->polarity < -1 || o->polarity > 1)
        return vt__error(VT_EINVAL, "background: polarity must be -1, 0 or 1, got %d", o->polarity);
    if (!(o->psf_sigma >= 0.0f && o->psf_sigma <= 10.0f))
        return vt__error(VT_EINVAL, "background: psf_sigma must be in [0, 10] pixels, got %g",
                         (double)o->psf_sigma);
    return VT_OK;
}

vt_status vt_background_new(const vt_background_opts *opts, int width, int height,
                            vt_background **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_background_new: out is NULL");
    *out = NULL;
    vt_background_opts o = opts ? *opts : vt_background_opts_default();
    vt_status s = check_opts(&o);
    if (s)
        return s;
    if (width <= 0 || height <= 0 || (int64_t)width * height > UINT32_MAX)
        return vt__error(VT_EINVAL, "background: bad frame size %dx%d", width, height);
    vt_background *bg = calloc(1, sizeof *bg);
    if (!bg)
        return vt__error(VT_ENOMEM, "background: out of memory");
    bg->model = malloc((size_t)width * height * sizeof *bg->model);
    if (!bg->model) {
        free(bg);
        return vt__error(VT_ENOMEM, "background: out of memory for a %dx%d model", width, height);
    }
    bg->o = o;
    bg->width = width;
    bg->height = height;
    bg->psf = vt__psf_make(o.psf_sigma);
    if (bg->psf.radius > 0 && !(bg->zero = calloc((size_t)width, sizeof *bg->zero))) {
        vt_background_free(bg);
        return vt__error(VT_ENOMEM, "background: out of memory for a %dx%d model", width, height);
    }
    *out = bg;
    return VT_OK;
}

void vt_background_free(vt_background *bg)
{
    if (!bg)
        return;
    for (int b = 0; b < MAX_BANDS; b++) {
        free(bg->bands[b].index);
        free(bg->bands[b].diff);
        free(bg->bands[b].raw);
        free(bg->bands[b].hit);
        free(bg->bands[b].absdiff);
        free(bg->bands[b].pad);
        free(bg->bands[b].ring);
        free(bg->bands[b].halo);
        free(bg->bands[b].frow);
        free(bg->bands[b].absf);
    }
    free(bg->zero);
    free(bg->model);
    free(bg);
}

void vt_background_reset(vt_background *bg)
{
    if (bg) {
        bg->ready = false;
        bg->frames = 0;
        bg->noise = 0.0f;
        bg->fnoise = 0.0f;
    }
}

float vt_background_threshold(const vt_background *bg)
{
    return bg ? bg->threshold : 0.0f;
}

float vt_background_noise(const vt_background *bg)
{
    return bg ? bg->noise : 0.0f;
}

float vt_background_filter_noise(const vt_background *bg)
{
    return bg ? bg->fnoise : 0.0f;
}

static float sample(const vt_image *img, const uint8_t *row, int x)
{
    return img->bits == 8 ? (float)row[x] : (float)((const uint16_t *)(const void *)row)[x];
}

static void load_model(vt_background *bg, const vt_image *cur)
{
    for (int y = 0; y < bg->height; y++) {
        const uint8_t *row = vt_image_row8(cur, y);
        float *m = bg->model + (size_t)y * bg->width;
        for (int x = 0; x < bg->width; x++)
            m[x] = sample(cur, row, x);
    }
}

static bool band_push(band_buf *b, uint32_t index, float diff, float raw)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        uint32_t *i2 = realloc(b->index, cap * sizeof *i2);
        if (!i2)
            return false;
        b->index = i2;
        float *d2 = realloc(b->diff, cap * sizeof *d2);
        if (!d2)
            return false;
        b->diff = d2;
        float *r2 = realloc(b->raw, cap * sizeof *r2);
        if (!r2)
            return false;
        b->raw = r2;
        b->cap = cap;
    }
    b->index[b->count] = index;
    b->diff[b->count] = diff;
    b->raw[b->count] = raw;
    b->count++;
    return true;
}

/* Parameters of one apply, shared read-only by the bands. */
typedef struct apply_args {
    const vt_image *cur;
    float t;       /* threshold */
    float a, a_fg; /* learning rates */
    float cut;     /* |d| above this is not noise (for the estimate) */
    float fcut;    /* the same for |f| */
    float lo, hi;  /* what the filter sums of d is clipped to */
    int polarity;
} apply_args;

/*
 * One row: d = frame - model, the hit flags, and the model update, in one
 * branch-free loop the compiler vectorises. The sign test is
 * max(d * ps, d * ng) > t: (ps, ng) = (-1, -1) keeps darker pixels,
 * (1, 1) brighter ones, (1, -1) both.
 */
#define VT__ROW_LOOP(T)                                                                            \
    for (int x = 0; x < w; x++) {                                                                  \
        float d = (float)((const T *)src)[x] - m[x];                                               \
        float s1 = d * ps, s2 = d * ng;                                                            \
        int h = (s1 > s2 ? s1 : s2) > t;                                                           \
        m[x] += (h ? a_fg : a) * d;                                                                \
        hit[x] = (uint8_t)h;                                                                       \
        diff[x] = fabsf(d);                                                                        \
    }

#ifdef VT__HAVE_CLONES
#define VT__ROW_ATTR __attribute__((optimize("O3"), target_clones("avx2", "default")))
#else
#define VT__ROW_ATTR
#endif

VT__ROW_ATTR
static void scan_row(const apply_args *p, const void *restrict src, float *restrict m, int w,
                     uint8_t *restrict hit, float *restrict diff)
{
    const float t = p->t, a = p->a, a_fg = p->a_fg;
    const float ps = p->polarity < 0 ? -1.0f : 1.0f;
    const float ng = p->polarity > 0 ? 1.0f : -1.0f;
    if (p->cur->bits == 8)
        VT__ROW_LOOP(uint8_t)
    else
        VT__ROW_LOOP(uint16_t)
}

/*
 * Sum of |d| * 256 (fixed point, so that any band split gives the same sum) below the cut,
 * branch-free so that it vectorises. |d| <= 65535 here, so |d| * 256 fits an int32_t.
 */
VT__ROW_ATTR
static void sample_noise(const float *restrict diff, int w, float cut, uint64_t *sum_out,
                         size_t *n_out)
{
    uint64_t sum = 0;
    uint32_t n = 0;
    for (int x = 0; x < w; x++) {
        uint32_t in = diff[x] < cut;
        int32_t q = (int32_t)(diff[x] * 256.0f + 0.5f);
        sum += in ? (uint32_t)q : 0u;
        n += in;
    }
    *sum_out += sum;
    *n_out += n;
}

static void emit_row(band_buf *b, const uint8_t *hit, const float *diff, const float *raw, int w,
                     size_t base)
{
    int x = 0;
    for (; x + 8 <= w; x += 8) {
        uint64_t word;
        memcpy(&word, hit + x, 8);
        if (!word)
            continue;
        for (int k = x; k < x + 8; k++)
            if (hit[k] && !band_push(b, (uint32_t)(base + (size_t)k), diff[k], raw[k]))
                b->failed = 1;
    }
    for (; x < w; x++)
        if (hit[x] && !band_push(b, (uint32_t)(base + (size_t)x), diff[x], raw[x]))
            b->failed = 1;
}

static void scan_band(vt_background *bg, const apply_args *p, band_buf *b, int y0, int y1)
{
    const int w = bg->width;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = vt_image_row8(p->cur, y);
        float *m = bg->model + (size_t)y * w;
        scan_row(p, row, m, w, b->hit, b->absdiff);
        if ((y % NOISE_ROW_STEP) == 0)
            sample_noise(b->absdiff, w, p->cut, &b->noise_sum, &b->noise_n);
        emit_row(b, b->hit, b->absdiff, b->absdiff, w, (size_t)y * w);
    }
}

/* ------------------------------------------------------------------------ */
/* With the matched filter                                                   */

/*
 * d = frame - model of one row, the model untouched, clipped to [lo, hi]:
 * what the filter sums. A change of the wrong sign (a glint on a dark drone,
 * the edge of a cloud) would cancel the target's own signal in the sum; with
 * a polarity it is clipped at CLIP_SIGMA noise sigmas, which leaves noise
 * alone (the clipped tail is 0.1% of it).
 */
#define VT__DIFF_LOOP(T)                                                                           \
    for (int x = 0; x < w; x++) {                                                                  \
        float v = (float)((const T *)src)[x] - m[x];                                               \
        v = v < lo ? lo : v;                                                                       \
        d[x] = v > hi ? hi : v;                                                                    \
    }

VT__ROW_ATTR
static void diff_row(const vt_image *cur, const void *restrict src, const float *restrict m, int w,
                     float lo, float hi, float *restrict d)
{
    if (cur->bits == 8)
        VT__DIFF_LOOP(uint8_t)
    else
        VT__DIFF_LOOP(uint16_t)
}

/* The horizontal sums of row y's difference against the model as it is now. */
static void hsum_row(const vt_background *bg, const apply_args *p, band_buf *b, int y, float *dst)
{
    const int w = bg->width, r = bg->psf.radius;
    diff_row(p->cur, vt_image_row8(p->cur, y), bg->model + (size_t)y * w, w, p->lo, p->hi,
             b->pad + r);
    vt__psf_row_h(&bg->psf, b->pad + r, w, dst);
}

/*
 * Before any band updates the model: the horizontal sums of the R rows above
 * the band and the R rows below it (zeros outside the frame).
 */
static void fill_halo(const vt_background *bg, const apply_args *p, band_buf *b, int y0, int y1)
{
    const int w = bg->width, r = bg->psf.radius;
    for (int j = 0; j < 2 * r; j++) {
        int y = j < r ? y0 - r + j : y1 + j - r;
        float *dst = b->halo + (size_t)j * w;
        if (y < 0 || y >= bg->height)
            memset(dst, 0, (size_t)w * sizeof *dst);
        else
            hsum_row(bg, p, b, y, dst);
    }
}

/*
 * One filtered row: the sign test on f, the model update by d, the flags,
 * |f| and |d|, in one branch-free loop (see VT__ROW_LOOP).
 */
#define VT__FILTERED_LOOP(T)                                                                       \
    for (int x = 0; x < w; x++) {                                                                  \
        float d = (float)((const T *)src)[x] - m[x];                                               \
        float fx = f[x], s1 = fx * ps, s2 = fx * ng;                                               \
        int h = (s1 > s2 ? s1 : s2) > t;                                                           \
        m[x] += (h ? a_fg : a) * d;                                                                \
        hit[x] = (uint8_t)h;                                                                       \
        absf[x] = fabsf(fx);                                                                       \
        absd[x] = fabsf(d);                                                                        \
    }

VT__ROW_ATTR
static void finish_row(const apply_args *p, const void *restrict src, float *restrict m,
                       const float *restrict f, int w, uint8_t *restrict hit,
                       float *restrict absf, float *restrict absd)
{
    const float t = p->t, a = p->a, a_fg = p->a_fg;
    const float ps = p->polarity < 0 ? -1.0f : 1.0f;
    const float ng = p->polarity > 0 ? 1.0f : -1.0f;
    if (p->cur->bits == 8)
        VT__FILTERED_LOOP(uint8_t)
    else
        VT__FILTERED_LOOP(uint16_t)
}

/*
 * The same with the vertical pass of a 3-tap filter folded in (the default
 * filter's radius): f is formed in the loop from the three rows of
 * horizontal sums, in the order vt__psf_rows_v() forms it, and never stored.
 */
#define VT__FILTERED3_LOOP(T)                                                                      \
    for (int x = 0; x < w; x++) {                                                                  \
        float d = (float)((const T *)src)[x] - m[x];                                               \
        float fx = t0 * r0[x];                                                                     \
        fx += t1 * r1[x];                                                                          \
        fx += t2 * r2[x];                                                                          \
        float s1 = fx * ps, s2 = fx * ng;                                                          \
        int h = (s1 > s2 ? s1 : s2) > t;                                                           \
        m[x] += (h ? a_fg : a) * d;                                                                \
        hit[x] = (uint8_t)h;                                                                       \
        absf[x] = fabsf(fx);                                                                       \
        absd[x] = fabsf(d);                                                                        \
    }

VT__ROW_ATTR
static void finish_row3(const apply_args *p, const float *taps, const void *restrict src,
                        float *restrict m, const float *restrict r0, const float *restrict r1,
                        const float *restrict r2, int w, uint8_t *restrict hit,
                        float *restrict absf, float *restrict absd)
{
    const float t = p->t, a = p->a, a_fg = p->a_fg;
    const float t0 = taps[0], t1 = taps[1], t2 = taps[2];
    const float ps = p->polarity < 0 ? -1.0f : 1.0f;
    const float ng = p->polarity > 0 ? 1.0f : -1.0f;
    if (p->cur->bits == 8)
        VT__FILTERED3_LOOP(uint8_t)
    else
        VT__FILTERED3_LOOP(uint16_t)
}

/*
 * The band's rows r = y0 - R .. y1 + R - 1 in order: the horizontal sums of
 * row r (from the halo outside the band), then row y = r - R filtered down
 * the ring of the last 2R + 1 rows, thresholded, learnt and listed.
 */
static void scan_band_filtered(vt_background *bg, const apply_args *p, band_buf *b, int y0, int y1)
{
    const int w = bg->width, r = bg->psf.radius, n = 2 * r + 1;
    const float *hrow[VT__PSF_MAX_TAPS], *rows[VT__PSF_MAX_TAPS];
    for (int q = 0, yr = y0 - r; yr < y1 + r; q++, yr++) {
        float *slot = b->ring + (size_t)(q % n) * w;
        if (yr < 0 || yr >= bg->height)
            hrow[q % n] = bg->zero;
        else if (yr < y0)
            hrow[q % n] = b->halo + (size_t)(yr - (y0 - r)) * w;
        else if (yr >= y1)
            hrow[q % n] = b->halo + (size_t)(r + yr - y1) * w;
        else {
            hsum_row(bg, p, b, yr, slot);
            hrow[q % n] = slot;
        }
        int y = yr - r;
        if (y < y0)
            continue;
        for (int k = 0; k < n; k++)
            rows[k] = hrow[(y - y0 + k) % n];
        const void *src = vt_image_row8(p->cur, y);
        float *m = bg->model + (size_t)y * w;
        if (r == 1)
            finish_row3(p, bg->psf.taps, src, m, rows[0], rows[1], rows[2], w, b->hit, b->absf,
                        b->absdiff);
        else {
            vt__psf_rows_v(&bg->psf, rows, w, b->frow);
            finish_row(p, src, m, b->frow, w, b->hit, b->absf, b->absdiff);
        }
        if ((y % NOISE_ROW_STEP) == 0) {
            sample_noise(b->absdiff, w, p->cut, &b->noise_sum, &b->noise_n);
            sample_noise(b->absf, w, p->fcut, &b->fnoise_sum, &b->fnoise_n);
        }
        emit_row(b, b->hit, b->absf, b->absdiff, w, (size_t)y * w);
    }
}

static vt_status band_rows(vt_background *bg, band_buf *bb)
{
    const size_t w = (size_t)bg->width, r = (size_t)bg->psf.radius;
    if (!bb->hit) {
        bb->hit = malloc(w);
        bb->absdiff = malloc(w * sizeof *bb->absdiff);
        if (!bb->hit || !bb->absdiff)
            return vt__error(VT_ENOMEM, "background: out of memory");
    }
    if (r > 0 && !bb->pad) {
        bb->pad = calloc(w + 2 * r, sizeof *bb->pad);
        bb->ring = malloc((2 * r + 1) * w * sizeof *bb->ring);
        bb->halo = malloc(2 * r * w * sizeof *bb->halo);
        bb->frow = malloc(w * sizeof *bb->frow);
        bb->absf = malloc(w * sizeof *bb->absf);
        if (!bb->pad || !bb->ring || !bb->halo || !bb->frow || !bb->absf)
            return vt__error(VT_ENOMEM, "background: out of memory for the filter's rows");
    }
    return VT_OK;
}

static int band_count(int threads, int height)
{
    int nb = threads > 0 ? threads : omp_get_max_threads();
    if (nb > MAX_BANDS)
        nb = MAX_BANDS;
    if (nb > height)
        nb = height;
    return nb < 1 ? 1 : nb;
}

static vt_status join_bands(vt_background *bg, int nb, vt_change_list *out)
{
    size_t total = 0;
    for (int b = 0; b < nb; b++)
        total += bg->bands[b].count;
    if (total > out->capacity) {
        /* Doubling: a list that grows a little every few frames would otherwise
           reallocate in the steady state (tests/test_pipeline_alloc.c). */
        size_t cap = out->capacity > total / 2 ? 2 * out->capacity : total;
        uint32_t *i2 = realloc(out->index, cap * sizeof *i2);
        if (!i2)
            return vt__error(VT_ENOMEM, "background: out of memory for %zu changes", total);
        out->index = i2;
        float *d2 = realloc(out->diff, cap * sizeof *d2);
        if (!d2)
            return vt__error(VT_ENOMEM, "background: out of memory for %zu changes", total);
        out->diff = d2;
        out->capacity = cap;
        free(out->raw); /* regrown below */
        out->raw = NULL;
    }
    /* A list that came from vt_motion_detect() has no raw array yet. */
    if (!out->raw && out->capacity > 0 &&
        !(out->raw = malloc(out->capacity * sizeof *out->raw)))
        return vt__error(VT_ENOMEM, "background: out of memory for %zu changes", out->capacity);
    size_t at = 0;
    for (int b = 0; b < nb; b++) {
        const band_buf *bb = &bg->bands[b];
        if (bb->count) {
            memcpy(out->index + at, bb->index, bb->count * sizeof *bb->index);
            memcpy(out->diff + at, bb->diff, bb->count * sizeof *bb->diff);
            memcpy(out->raw + at, bb->raw, bb->count * sizeof *bb->raw);
        }
        at += bb->count;
    }
    out->count = total;
    return VT_OK;
}

/* The learning rate: a plain running mean while the model is young, so that it settles fast. */
static float learning_rate(const vt_background *bg)
{
    if (bg->o.kind == VT_BACKGROUND_PREVIOUS)
        return 1.0f;
    double young = 1.0 / (double)(bg->frames + 1);
    return (float)(young > bg->o.alpha ? young : bg->o.alpha);
}

static float threshold_now(const vt_background *bg)
{
    if (bg->o.threshold > 0.0f)
        return bg->o.threshold;
    float noise = bg->psf.radius > 0 ? bg->fnoise : bg->noise;
    if (noise <= 0.0f)
        return INFINITY; /* the noise is not measured yet: this frame only teaches */
    float t = bg->o.k_sigma * noise;
    return t > bg->o.min_threshold ? t : bg->o.min_threshold;
}

vt_status vt_background_apply(vt_background *bg, const vt_image *cur, vt_change_list *out)
{
    if (!bg || !cur || !out)
        return vt__error(VT_EINVAL, "vt_background_apply: NULL argument");
    if (!cur->data || (cur->bits != 8 && cur->bits != 16))
        return vt__error(VT_EINVAL, "background: frame has no pixels or %d bits", cur->bits);
    if (cur->width != bg->width || cur->height != bg->height)
        return vt__error(VT_EMISMATCH, "background: frame is %dx%d, the model %dx%d", cur->width,
                         cur->height, bg->width, bg->height);
    out->width = bg->width;
    out->height = bg->height;
    out->count = 0;
    if (!bg->ready) {
        load_model(bg, cur);
        bg->ready = true;
        bg->frames = 1;
        bg->threshold = threshold_now(bg);
        return VT_OK;
    }
    apply_args p = {
        .cur = cur,
        .t = threshold_now(bg),
        .a = learning_rate(bg),
        .a_fg = bg->o.kind == VT_BACKGROUND_PREVIOUS ? 1.0f : (float)bg->o.alpha_fg,
        .cut = bg->noise > 0.0f ? 4.0f * bg->noise : INFINITY,
        .fcut = bg->fnoise > 0.0f ? 4.0f * bg->fnoise : INFINITY,
        .lo = -INFINITY,
        .hi = INFINITY,
        .polarity = bg->o.polarity,
    };
    if (bg->noise > 0.0f && bg->o.polarity > 0)
        p.lo = -CLIP_SIGMA * bg->noise;
    if (bg->noise > 0.0f && bg->o.polarity < 0)
        p.hi = CLIP_SIGMA * bg->noise;
    int nb = band_count(bg->o.threads, bg->height);
    for (int b = 0; b < nb; b++) {
        band_buf *bb = &bg->bands[b];
        vt_status s = band_rows(bg, bb);
        if (s)
            return s;
        bb->count = 0;
        bb->noise_sum = bb->fnoise_sum = 0;
        bb->noise_n = bb->fnoise_n = 0;
        bb->failed = 0;
    }
    const bool filtered = bg->psf.radius > 0;
    if (filtered && nb > 1) {
#pragma omp parallel for num_threads(nb) schedule(static, 1)
        for (int b = 0; b < nb; b++)
            fill_halo(bg, &p, &bg->bands[b], (int)((int64_t)bg->height * b / nb),
                      (int)((int64_t)bg->height * (b + 1) / nb));
    }
    /* One band: no parallel region, which would allocate its team each time (libgomp). */
    if (nb == 1) {
        if (filtered) /* one band has no halo: the rows around it lie outside the frame */
            scan_band_filtered(bg, &p, &bg->bands[0], 0, bg->height);
        else
            scan_band(bg, &p, &bg->bands[0], 0, bg->height);
    } else {
#pragma omp parallel for num_threads(nb) schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int y0 = (int)((int64_t)bg->height * b / nb);
            int y1 = (int)((int64_t)bg->height * (b + 1) / nb);
            if (filtered)
                scan_band_filtered(bg, &p, &bg->bands[b], y0, y1);
            else
                scan_band(bg, &p, &bg->bands[b], y0, y1);
        }
    }
    uint64_t sum = 0, fsum = 0;
    size_t n = 0, fn = 0;
    for (int b = 0; b < nb; b++) {
        if (bg->bands[b].failed)
            return vt__error(VT_ENOMEM, "background: out of memory for the change list");
        sum += bg->bands[b].noise_sum;
        n += bg->bands[b].noise_n;
        fsum += bg->bands[b].fnoise_sum;
        fn += bg->bands[b].fnoise_n;
    }
    /* mean |d| of a zero-mean Gaussian is sigma * sqrt(2 / pi). */
    if (n > 0)
        bg->noise = (float)((double)sum / 256.0 / (double)n * 1.2533141373155003);
    if (!filtered)
        bg->fnoise = bg->noise;
    else if (fn > 0)
        bg->fnoise = (float)((double)fsum / 256.0 / (double)fn * 1.2533141373155003);
    bg->threshold = p.t;
    bg->frames++;
    return join_bands(bg, nb, out);
}

vt_status vt__background_response(const vt_background *bg, const vt_image *cur, int x, int y,
                                  float *snr)
{
    if (!bg || !cur || !cur->data || !snr || (cur->bits != 8 && cur->bits != 16))
        return vt__error(VT_EINVAL, "background response: NULL argument or a frame of %d bits",
                         cur ? cur->bits : 0);
    if (cur->width != bg->width || cur->height != bg->height)
        return vt__error(VT_EMISMATCH, "background response: frame is %dx%d, the model %dx%d",
                         cur->width, cur->height, bg->width, bg->height);
    if (x < 0 || y < 0 || x >= bg->width || y >= bg->height)
        return vt__error(VT_ERANGE, "background response: pixel (%d, %d) outside the %dx%d frame",
                         x, y, bg->width, bg->height);
    if (!bg->ready || !(bg->fnoise > 0.0f))
        return vt__error(VT_EINVAL, "background response: the model has not measured its noise yet");
    const int r = bg->psf.radius, n = 2 * r + 1;
    float d[VT__PSF_MAX_TAPS * VT__PSF_MAX_TAPS];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            int xx = x + i - r, yy = y + j - r;
            float v = 0.0f;
            if (xx >= 0 && yy >= 0 && xx < bg->width && yy < bg->height)
                v = sample(cur, vt_image_row8(cur, yy), xx) -
                    bg->model[(size_t)yy * bg->width + xx];
            d[j * n + i] = v;
        }
    float f = vt__psf_at(&bg->psf, d, n, n, r, r);
    *snr = (bg->o.polarity < 0 ? -f : f) / bg->fnoise;
    return VT_OK;
}
