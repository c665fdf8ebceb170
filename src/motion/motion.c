/*
 * src/motion/motion.c - change detection: the pixels where |cur - prev| > t,
 * as a list in raster order (see voxtrack/motion.h).
 *
 * The frames are cut into bands of rows, one per thread (OpenMP, static
 * schedule). A band walks its rows in chunks of 64 pixels. One branch-free
 * loop, which the compiler vectorises, computes the chunk's differences and
 * their maximum; in a scene that mostly stands still the maximum is at most
 * the threshold and the chunk is done after one pass over its bytes.
 * Otherwise the differences are turned into a 64-bit mask and the changed
 * pixels are emitted with count-trailing-zeros. A row tail shorter than 64
 * is copied into a zeroed chunk, where the padding reads as "no change"
 * because a difference of 0 never exceeds a threshold >= 0.
 *
 * For integer frames d > t is the same test as d > floor(t), so the threshold
 * becomes an integer as wide as the pixels and the whole chunk stays in 8- or
 * 16-bit lanes. The loop is bound by memory bandwidth, so it asks for the
 * data a little ahead of where it reads (software prefetch).
 *
 * The function keeps no memory of its own: the list's arrays are cut into one
 * slice per band, each band writes its changes into its slice, and the slices
 * are then slid together in band (= row) order, so the output is the same for
 * any number of threads. A band whose slice is too small keeps counting
 * without writing; the list then grows to fit the busiest band and the frame
 * is scanned again. Capacity only grows, so once a list has seen a busy frame
 * no call allocates. The price is capacity for (bands x busiest band)
 * entries rather than for the total.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxtrack/motion.h"

enum {
    CHUNK = 64,          /* pixels per mask: one uint64_t */
    MAX_BANDS = 256,     /* more threads than this share bands */
    MIN_SLICE = 1024,    /* first capacity per band, in entries */
    MAX_PIXEL_BYTES = 4, /* float */
    CACHE_LINE = 64,
    PREFETCH_AHEAD = 2048 /* bytes: 32 lines ahead in each frame */
};

typedef enum pixel_kind { PIX_U8, PIX_U16, PIX_F32 } pixel_kind;

/* One call's frames and threshold, shared read-only by all bands. */
typedef struct frame_pair {
    pixel_kind kind;
    const uint8_t *prev, *cur;
    size_t prev_stride, cur_stride; /* bytes */
    int width, height;
    unsigned tint; /* floor(threshold), clamped to the largest pixel value */
    float tf;      /* the threshold itself, for float frames */
} frame_pair;

/* A band's slice of the output list. count > cap: it overflowed and only counted. */
typedef struct band {
    uint32_t *index;
    float *diff;
    size_t cap, count;
} band;

static size_t pixel_bytes(pixel_kind k)
{
    return k == PIX_U8 ? 1 : k == PIX_U16 ? 2 : 4;
}

/* ------------------------------------------------------------------------ */
/* Chunk kernels                                                             */

/*
 * The integer kernels compute the chunk's differences and, in the same
 * vectorised pass, their maximum. In a scene that stands still the maximum
 * is at most the threshold and the chunk is done; only otherwise is the mask
 * built. |a - b| is max - min: no widening, no branch (pmaxub/pminub/psubb).
 */
static uint64_t mask_over_u8(const uint8_t d[CHUNK], uint8_t t)
{
    uint64_t m = 0;
    for (int i = 0; i < CHUNK; i++)
        m |= (uint64_t)(d[i] > t) << i;
    return m;
}

static inline uint64_t mask_u8(const uint8_t *a, const uint8_t *b, uint8_t t)
{
    uint8_t d[CHUNK], most = 0;
    for (int i = 0; i < CHUNK; i++) {
        uint8_t hi = a[i] > b[i] ? a[i] : b[i], lo = a[i] > b[i] ? b[i] : a[i];
        d[i] = (uint8_t)(hi - lo);
        most = d[i] > most ? d[i] : most;
    }
    return most > t ? mask_over_u8(d, t) : 0;
}

static uint64_t mask_over_u16(const uint16_t d[CHUNK], uint16_t t)
{
    uint64_t m = 0;
    for (int i = 0; i < CHUNK; i++)
        m |= (uint64_t)(d[i] > t) << i;
    return m;
}

static inline uint64_t mask_u16(const uint16_t *a, const uint16_t *b, uint16_t t)
{
    uint16_t d[CHUNK], most = 0;
    for (int i = 0; i < CHUNK; i++) {
        uint16_t hi = a[i] > b[i] ? a[i] : b[i], lo = a[i] > b[i] ? b[i] : a[i];
        d[i] = (uint16_t)(hi - lo);
        most = d[i] > most ? d[i] : most;
    }
    return most > t ? mask_over_u16(d, t) : 0;
}

/*
 * Floats: without -ffast-math GCC will not vectorise a float max reduction,
 * so the test itself is computed and ORed (a NaN difference is no change).
 */
static uint64_t pack_hits(const uint8_t hit[CHUNK])
{
    uint64_t m = 0;
    for (int i = 0; i < CHUNK; i++)
        m |= (uint64_t)hit[i] << i;
    return m;
}

static inline uint64_t mask_f32(const float *a, const float *b, float t)
{
    uint8_t over[CHUNK], any = 0;
    for (int i = 0; i < CHUNK; i++) {
        over[i] = fabsf(a[i] - b[i]) > t;
        any |= over[i];
    }
    return any ? pack_hits(over) : 0;
}

static inline uint64_t chunk_mask(const frame_pair *p, const uint8_t *a, const uint8_t *b)
{
    switch (p->kind) {
    case PIX_U8:
        return mask_u8(a, b, (uint8_t)p->tint);
    case PIX_U16:
        return mask_u16((const uint16_t *)(const void *)a, (const uint16_t *)(const void *)b,
                        (uint16_t)p->tint);
    case PIX_F32:
        break;
    }
    return mask_f32((const float *)(const void *)a, (const float *)(const void *)b, p->tf);
}

/* |b - a| at pixel i of a chunk; only run for the few pixels that changed. */
static float pixel_diff(pixel_kind k, const uint8_t *a, const uint8_t *b, int i)
{
    switch (k) {
    case PIX_U8:
        return (float)abs((int)b[i] - (int)a[i]);
    case PIX_U16: {
        const uint16_t *a16 = (const uint16_t *)(const void *)a;
        const uint16_t *b16 = (const uint16_t *)(const void *)b;
        return (float)abs((int)b16[i] - (int)a16[i]);
    }
    case PIX_F32:
        break;
    }
    const float *af = (const float *)(const void *)a, *bf = (const float *)(const void *)b;
    return fabsf(af[i] - bf[i]);
}

/* ------------------------------------------------------------------------ */
/* Bands                                                                     */

static void emit(band *bd, const frame_pair *p, const uint8_t *a, const uint8_t *b, uint32_t first,
                 uint64_t m)
{
    while (m) {
        int i = __builtin_ctzll(m);
        m &= m - 1;
        if (bd->count < bd->cap) {
            bd->index[bd->count] = first + (uint32_t)i;
            bd->diff[bd->count] = pixel_diff(p->kind, a, b, i);
        }
        bd->count++;
    }
}

/*
 * Asks for the cache lines PREFETCH_AHEAD bytes past this chunk in both
 * frames. Two streams read once leave the hardware prefetcher short of the
 * memory's bandwidth: on a 2-core Xeon (Cascade Lake) VM this took 8K frames
 * from 150 to 198 per second on one thread and from 306 to 418 on two. A
 * prefetch never faults, so running past the end of a frame is harmless; the
 * address is formed as an integer because a pointer may not point past its
 * array.
 */
static inline void prefetch_ahead(const uint8_t *a, const uint8_t *b, size_t bytes)
{
#if defined(__GNUC__)
    for (size_t o = 0; o < bytes; o += CACHE_LINE) {
        __builtin_prefetch((const void *)((uintptr_t)a + o + PREFETCH_AHEAD));
        __builtin_prefetch((const void *)((uintptr_t)b + o + PREFETCH_AHEAD));
    }
#else
    (void)a, (void)b, (void)bytes;
#endif
}

/* The last width % 64 pixels, zero-padded to a whole chunk. */
static void scan_tail(band *bd, const frame_pair *p, const uint8_t *a, const uint8_t *b, int n,
                      uint32_t first)
{
    _Alignas(64) uint8_t ta[CHUNK * MAX_PIXEL_BYTES] = {0};
    _Alignas(64) uint8_t tb[CHUNK * MAX_PIXEL_BYTES] = {0};
    memcpy(ta, a, (size_t)n * pixel_bytes(p->kind));
    memcpy(tb, b, (size_t)n * pixel_bytes(p->kind));
    uint64_t m = chunk_mask(p, ta, tb);
    if (m)
        emit(bd, p, ta, tb, first, m);
}

/*
 * The row scan is compiled twice on x86-64, for the SSE2 baseline and for
 * AVX2, and the loader picks one. 8K frames come from memory and both run at
 * its bandwidth; frames that fit in the cache (1080p) go ~30% faster with
 * AVX2 (5300 against 3900 per second on one core of the machine above).
 */
#ifdef VT__HAVE_CLONES
#define SCAN_ROW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCAN_ROW_CLONES
#endif

SCAN_ROW_CLONES static void scan_row(band *bd, const frame_pair *p, int y)
{
    size_t px = pixel_bytes(p->kind);
    const uint8_t *a = p->prev + (size_t)y * p->prev_stride;
    const uint8_t *b = p->cur + (size_t)y * p->cur_stride;
    uint32_t first = (uint32_t)y * (uint32_t)p->width;
    int x = 0;
    for (; x + CHUNK <= p->width; x += CHUNK) {
        prefetch_ahead(a + (size_t)x * px, b + (size_t)x * px, CHUNK * px);
        uint64_t m = chunk_mask(p, a + (size_t)x * px, b + (size_t)x * px);
        if (m)
            emit(bd, p, a + (size_t)x * px, b + (size_t)x * px, first + (uint32_t)x, m);
    }
    if (x < p->width)
        scan_tail(bd, p, a + (size_t)x * px, b + (size_t)x * px, p->width - x, first + (uint32_t)x);
}

static void scan_rows(band *bd, const frame_pair *p, int y0, int y1)
{
    for (int y = y0; y < y1; y++)
        scan_row(bd, p, y);
}

static int band_count(int threads, int height)
{
    int n = threads > 0 ? threads : omp_get_max_threads();
    if (n > MAX_BANDS)
        n = MAX_BANDS;
    return n < height ? n : height;
}

static int band_start(const frame_pair *p, int b, int nb)
{
    return (int)((long long)p->height * b / nb);
}

/* Every band scans its rows into its slice of the list's arrays. */
static void scan_bands(const frame_pair *p, band *bands, int nb, const vt_change_list *out)
{
    size_t slice = out->capacity / (size_t)nb;
#pragma omp parallel for num_threads(nb) schedule(static) if (nb > 1)
    for (int b = 0; b < nb; b++) {
        /* A local copy: neighbouring bands' counters share a cache line. */
        band bd = {out->index + (size_t)b * slice, out->diff + (size_t)b * slice, slice, 0};
        scan_rows(&bd, p, band_start(p, b, nb), band_start(p, b + 1, nb));
        bands[b] = bd;
    }
}

/* Slides the slices to the front, in row order. Each moves left, so memmove is safe. */
static size_t join_bands(const band *bands, int nb, vt_change_list *out)
{
    size_t n = 0;
    for (int b = 0; b < nb; b++) {
        if (bands[b].index != out->index + n) {
            memmove(out->index + n, bands[b].index, bands[b].count * sizeof *out->index);
            memmove(out->diff + n, bands[b].diff, bands[b].count * sizeof *out->diff);
        }
        n += bands[b].count;
    }
    return n;
}

/* Contents are about to be overwritten: free and allocate rather than copy. */
static vt_status grow_list(vt_change_list *l, size_t cap)
{
    if (cap <= l->capacity)
        return VT_OK;
    free(l->index);
    free(l->diff);
    l->index = malloc(cap * sizeof *l->index);
    l->diff = malloc(cap * sizeof *l->diff);
    if (!l->index || !l->diff) {
        vt_change_list_free(l);
        return vt__error(VT_ENOMEM, "motion: cannot allocate a list of %zu changes", cap);
    }
    l->capacity = cap;
    return VT_OK;
}

static size_t busiest_band(const band *bands, int nb)
{
    size_t most = 0;
    for (int b = 0; b < nb; b++)
        most = bands[b].count > most ? bands[b].count : most;
    return most;
}

/*
 * Room for the busiest band in every slice, with headroom so that a slowly
 * busier scene does not rescan often, but never more than a band has pixels.
 */
static size_t capacity_for(const frame_pair *p, int nb, size_t busiest, size_t old)
{
    size_t band_rows = (size_t)(p->height + nb - 1) / (size_t)nb;
    size_t most = band_rows * (size_t)p->width;
    size_t per_band = busiest + busiest / 2;
    if (per_band < 2 * (old / (size_t)nb))
        per_band = 2 * (old / (size_t)nb);
    return (per_band < most ? per_band : most) * (size_t)nb;
}

static vt_status detect(const frame_pair *p, int threads, vt_change_list *out)
{
    /* No unfiltered values here: a list that came from a background model drops its own. */
    free(out->raw);
    out->raw = NULL;
    int nb = band_count(threads, p->height);
    band bands[MAX_BANDS];
    vt_status s = grow_list(out, (size_t)nb * MIN_SLICE);
    if (s != VT_OK)
        return s;
    scan_bands(p, bands, nb, out);
    size_t busiest = busiest_band(bands, nb);
    if (busiest > out->capacity / (size_t)nb) {
        s = grow_list(out, capacity_for(p, nb, busiest, out->capacity));
        if (s != VT_OK)
            return s;
        scan_bands(p, bands, nb, out);
    }
    out->count = join_bands(bands, nb, out);
    out->width = p->width;
    out->height = p->height;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Checks and entry points                                                   */

static vt_status check_threshold(float t)
{
    if (!isfinite(t) || t < 0)
        return vt__error(VT_EINVAL, "motion: threshold must be finite and >= 0, not %g", (double)t);
    return VT_OK;
}

static vt_status check_size(int width, int height)
{
    if (width <= 0 || height <= 0)
        return vt__error(VT_EINVAL, "motion: frame size %dx%d is not positive", width, height);
    /* Indices are uint32_t: y * width + x must fit. */
    if ((uint64_t)width * (uint64_t)height > UINT32_MAX)
        return vt__error(VT_ERANGE, "motion: frame %dx%d has more than 2^32 pixels", width, height);
    return VT_OK;
}

static vt_status check_image(const vt_image *img, const char *which)
{
    if (!img || !img->data)
        return vt__error(VT_EINVAL, "motion: %s frame has no pixels", which);
    if (img->bits != 8 && img->bits != 16)
        return vt__error(VT_EINVAL, "motion: %s frame has %d bits, not 8 or 16", which, img->bits);
    size_t px = (size_t)img->bits / 8;
    if (img->width > 0 && img->stride < (size_t)img->width * px)
        return vt__error(VT_EINVAL, "motion: %s frame stride %zu is shorter than a row", which,
                         img->stride);
    if (px == 2 && (img->stride % 2 || (uintptr_t)img->data % 2))
        return vt__error(VT_EINVAL, "motion: %s 16-bit frame is not 2-byte aligned", which);
    return check_size(img->width, img->height);
}

static vt_status check_pair(const vt_image *prev, const vt_image *cur)
{
    vt_status s = check_image(prev, "previous");
    if (s == VT_OK)
        s = check_image(cur, "current");
    if (s == VT_OK &&
        (prev->width != cur->width || prev->height != cur->height || prev->bits != cur->bits))
        s = vt__error(VT_EMISMATCH,
                      "motion: previous frame is %dx%d %d-bit, current frame is %dx%d %d-bit",
                      prev->width, prev->height, prev->bits, cur->width, cur->height, cur->bits);
    return s;
}

static unsigned integer_threshold(float t, unsigned largest)
{
    /* t >= 0: truncation is floor. Above the largest pixel value no difference can exceed it. */
    return t >= (float)largest ? largest : (unsigned)t;
}

void vt_change_list_free(vt_change_list *l)
{
    if (!l)
        return;
    free(l->index);
    free(l->diff);
    free(l->raw);
    memset(l, 0, sizeof *l);
}

vt_status vt_motion_detect(const vt_image *prev, const vt_image *cur, float threshold, int threads,
                           vt_change_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "motion: NULL change list");
    out->count = 0;
    vt_status s = check_pair(prev, cur);
    if (s == VT_OK)
        s = check_threshold(threshold);
    if (s != VT_OK)
        return s;
    int sixteen = prev->bits == 16;
    frame_pair p = {
        .kind = sixteen ? PIX_U16 : PIX_U8,
        .prev = prev->data,
        .cur = cur->data,
        .prev_stride = prev->stride,
        .cur_stride = cur->stride,
        .width = prev->width,
        .height = prev->height,
        .tint = integer_threshold(threshold, sixteen ? UINT16_MAX : UINT8_MAX),
        .tf = threshold,
    };
    return detect(&p, threads, out);
}

vt_status vt_motion_detect_f32(const float *prev, const float *cur, int width, int height,
                               float threshold, int threads, vt_change_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "motion: NULL change list");
    out->count = 0;
    if (!prev || !cur)
        return vt__error(VT_EINVAL, "motion: NULL frame");
    vt_status s = check_size(width, height);
    if (s == VT_OK)
        s = check_threshold(threshold);
    if (s != VT_OK)
        return s;
    frame_pair p = {
        .kind = PIX_F32,
        .prev = (const uint8_t *)prev,
        .cur = (const uint8_t *)cur,
        .prev_stride = (size_t)width * sizeof(float),
        .cur_stride = (size_t)width * sizeof(float),
        .width = width,
        .height = height,
        .tf = threshold,
    };
    return detect(&p, threads, out);
}
