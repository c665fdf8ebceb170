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
#include "voxtrack/motion.h"

enum { MAX_BANDS = 64, NOISE_ROW_STEP = 8 };

typedef struct band_buf {
    uint32_t *index;
    float *diff;
    size_t count, cap;
    uint64_t noise_sum; /* sum of |d| * 256 (fixed point: the same for any band split) */
    size_t noise_n;
    int failed;     /* an allocation failed */
    uint8_t *hit;   /* one row of flags */
    float *absdiff; /* one row of |d| */
} band_buf;

struct vt_background {
    vt_background_opts o;
    int width, height;
    float *model;
    bool ready;      /* the model holds a frame */
    int64_t frames;  /* frames learnt */
    float threshold; /* used by the last apply */
    float noise;     /* sigma estimate, pixel units; 0 until measured */
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
        free(bg->bands[b].hit);
        free(bg->bands[b].absdiff);
    }
    free(bg->model);
    free(bg);
}

void vt_background_reset(vt_background *bg)
{
    if (bg) {
        bg->ready = false;
        bg->frames = 0;
        bg->noise = 0.0f;
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

static bool band_push(band_buf *b, uint32_t index, float diff)
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
        b->cap = cap;
    }
    b->index[b->count] = index;
    b->diff[b->count] = diff;
    b->count++;
    return true;
}

/* Parameters of one apply, shared read-only by the bands. */
typedef struct apply_args {
    const vt_image *cur;
    float t;       /* threshold */
    float a, a_fg; /* learning rates */
    float cut;     /* |d| above this is not noise (for the estimate) */
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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
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

/* Sum of |d| * 256 (fixed point, so that any band split gives the same sum) below the cut. */
static void sample_noise(const float *diff, int w, float cut, band_buf *b)
{
    uint64_t sum = 0;
    size_t n = 0;
    for (int x = 0; x < w; x++)
        if (diff[x] < cut) {
            sum += (uint64_t)(diff[x] * 256.0f + 0.5f);
            n++;
        }
    b->noise_sum += sum;
    b->noise_n += n;
}

static void emit_row(band_buf *b, const uint8_t *hit, const float *diff, int w, size_t base)
{
    int x = 0;
    for (; x + 8 <= w; x += 8) {
        uint64_t word;
        memcpy(&word, hit + x, 8);
        if (!word)
            continue;
        for (int k = x; k < x + 8; k++)
            if (hit[k] && !band_push(b, (uint32_t)(base + (size_t)k), diff[k]))
                b->failed = 1;
    }
    for (; x < w; x++)
        if (hit[x] && !band_push(b, (uint32_t)(base + (size_t)x), diff[x]))
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
            sample_noise(b->absdiff, w, p->cut, b);
        emit_row(b, b->hit, b->absdiff, w, (size_t)y * w);
    }
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
    }
    size_t at = 0;
    for (int b = 0; b < nb; b++) {
        const band_buf *bb = &bg->bands[b];
        if (bb->count) {
            memcpy(out->index + at, bb->index, bb->count * sizeof *bb->index);
            memcpy(out->diff + at, bb->diff, bb->count * sizeof *bb->diff);
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
    if (bg->noise <= 0.0f)
        return INFINITY; /* the noise is not measured yet: this frame only teaches */
    float t = bg->o.k_sigma * bg->noise;
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
        .polarity = bg->o.polarity,
    };
    int nb = band_count(bg->o.threads, bg->height);
    for (int b = 0; b < nb; b++) {
        band_buf *bb = &bg->bands[b];
        if (!bb->hit) {
            bb->hit = malloc((size_t)bg->width);
            bb->absdiff = malloc((size_t)bg->width * sizeof *bb->absdiff);
            if (!bb->hit || !bb->absdiff)
                return vt__error(VT_ENOMEM, "background: out of memory");
        }
        bg->bands[b].count = 0;
        bg->bands[b].noise_sum = 0;
        bg->bands[b].noise_n = 0;
        bg->bands[b].failed = 0;
    }
    /* One band: no parallel region, which would allocate its team each time (libgomp). */
    if (nb == 1) {
        scan_band(bg, &p, &bg->bands[0], 0, bg->height);
    } else {
#pragma omp parallel for num_threads(nb) schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int y0 = (int)((int64_t)bg->height * b / nb);
            int y1 = (int)((int64_t)bg->height * (b + 1) / nb);
            scan_band(bg, &p, &bg->bands[b], y0, y1);
        }
    }
    uint64_t sum = 0;
    size_t n = 0;
    for (int b = 0; b < nb; b++) {
        if (bg->bands[b].failed)
            return vt__error(VT_ENOMEM, "background: out of memory for the change list");
        sum += bg->bands[b].noise_sum;
        n += bg->bands[b].noise_n;
    }
    /* mean |d| of a zero-mean Gaussian is sigma * sqrt(2 / pi). */
    if (n > 0)
        bg->noise = (float)((double)sum / 256.0 / (double)n * 1.2533141373155003);
    bg->threshold = p.t;
    bg->frames++;
    return join_bands(bg, nb, out);
}
