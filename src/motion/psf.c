/*
 * src/motion/psf.c - the matched filter applied to the background-subtracted
 * difference before it is thresholded (see motion_internal.h).
 *
 * A target far away is a point of light spread by the optics (a Gaussian of
 * ~0.5 pixel in the simulator) and by the pixel grid: its signal s_i falls on
 * a few pixels. Thresholding each pixel alone uses only the brightest; the
 * matched filter sum_i h_i d_i with h ~ s collects all of them and its output
 * over the noise reaches the matched-filter SNR sqrt(sum s_i^2) / sigma
 * (North, 1943; Turin, "An introduction to matched filters", 1960). The true
 * footprint depends on where the target falls inside its pixel, so the filter
 * is the footprint averaged over that phase: the optics' Gaussian widened by
 * the pixel box and by the phase, sigma ~ 0.65 pixel for an optics sigma of
 * 0.5. Sampled at three taps per axis it keeps 91% of the ideal SNR over
 * random phases, against 76% for the brightest pixel alone (a numerical
 * check over 2000 phases; wider filters lose again: 84% at sigma 1).
 *
 * The Gaussian is separable, so the filter is a horizontal pass over each row
 * and a vertical pass over 2R + 1 such rows: (2R + 1) * 2 multiply-adds per
 * pixel, in loops over a row that the compiler vectorises. Each output is the
 * same sum in the same order whichever code path or thread computes it.
 * The taps have unit L2 norm, so on white noise the output's sigma is the
 * input's: thresholds keep their pixel units.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "motion/motion_internal.h"

vt__psf vt__psf_make(float sigma)
{
    vt__psf f;
    memset(&f, 0, sizeof f);
    if (!(sigma > 0.0f) || !isfinite(sigma)) {
        f.taps[0] = 1.0f;
        return f;
    }
    int r = (int)ceil(1.5 * (double)sigma);
    f.radius = r < 1 ? 1 : r > VT__PSF_MAX_RADIUS ? VT__PSF_MAX_RADIUS : r;
    double t[VT__PSF_MAX_TAPS], norm = 0.0;
    for (int k = -f.radius; k <= f.radius; k++) {
        t[k + f.radius] = exp(-0.5 * k * k / ((double)sigma * sigma));
        norm += t[k + f.radius] * t[k + f.radius];
    }
    for (int k = 0; k < 2 * f.radius + 1; k++)
        f.taps[k] = (float)(t[k] / sqrt(norm));
    return f;
}

#ifdef VT__HAVE_CLONES
#define VT__PSF_ATTR __attribute__((optimize("O3"), target_clones("avx2", "default")))
#else
#define VT__PSF_ATTR
#endif

/*
 * The horizontal pass for a radius known at compile time: the taps' loop is
 * unrolled and the loop over the row vectorised. Every pixel's sum is formed
 * in the order of the taps, as vt__psf_at() forms it.
 */
#define VT__PSF_ROW_H(R)                                                                           \
    static void row_h##R(const float *restrict t, const float *restrict src, int w,               \
                         float *restrict dst)                                                      \
    {                                                                                              \
        for (int x = 0; x < w; x++) {                                                              \
            float a = t[0] * src[x - (R)];                                                         \
            for (int k = 1; k <= 2 * (R); k++)                                                     \
                a += t[k] * src[x - (R) + k];                                                      \
            dst[x] = a;                                                                            \
        }                                                                                          \
    }

VT__PSF_ATTR VT__PSF_ROW_H(1)
VT__PSF_ATTR VT__PSF_ROW_H(2)
VT__PSF_ATTR VT__PSF_ROW_H(3)
VT__PSF_ATTR VT__PSF_ROW_H(4)

void vt__psf_row_h(const vt__psf *f, const float *src, int w, float *dst)
{
    switch (f->radius) {
    case 0:
        for (int x = 0; x < w; x++)
            dst[x] = f->taps[0] * src[x];
        return;
    case 1:
        row_h1(f->taps, src, w, dst);
        return;
    case 2:
        row_h2(f->taps, src, w, dst);
        return;
    case 3:
        row_h3(f->taps, src, w, dst);
        return;
    default:
        row_h4(f->taps, src, w, dst);
        return;
    }
}

VT__PSF_ATTR
void vt__psf_rows_v(const vt__psf *f, const float *const *rows, int w, float *restrict dst)
{
    const int n = 2 * f->radius + 1;
    const float t0 = f->taps[0];
    const float *restrict r0 = rows[0];
    for (int x = 0; x < w; x++)
        dst[x] = t0 * r0[x];
    for (int k = 1; k < n; k++) {
        const float tk = f->taps[k];
        const float *restrict rk = rows[k];
        for (int x = 0; x < w; x++)
            dst[x] += tk * rk[x];
    }
}

vt_status vt__psf_filter_image(const vt__psf *f, const float *src, int w, int h, float *dst)
{
    if (!f || !src || !dst || w <= 0 || h <= 0 || f->radius < 0 || f->radius > VT__PSF_MAX_RADIUS)
        return vt__error(VT_EINVAL, "psf: bad arguments (image %dx%d)", w, h);
    const int r = f->radius, n = 2 * r + 1;
    size_t ws = (size_t)w;
    float *pad = calloc(ws + 2 * (size_t)r, sizeof *pad);
    float *hrows = malloc(ws * (size_t)h * sizeof *hrows);
    float *zero = calloc(ws, sizeof *zero);
    if (!pad || !hrows || !zero) {
        free(pad);
        free(hrows);
        free(zero);
        return vt__error(VT_ENOMEM, "psf: out of memory for a %dx%d image", w, h);
    }
    for (int y = 0; y < h; y++) {
        memcpy(pad + r, src + (size_t)y * ws, ws * sizeof *pad);
        vt__psf_row_h(f, pad + r, w, hrows + (size_t)y * ws);
    }
    const float *rows[VT__PSF_MAX_TAPS];
    for (int y = 0; y < h; y++) {
        for (int k = 0; k < n; k++) {
            int yy = y + k - r;
            rows[k] = yy < 0 || yy >= h ? zero : hrows + (size_t)yy * ws;
        }
        vt__psf_rows_v(f, rows, w, dst + (size_t)y * ws);
    }
    free(pad);
    free(hrows);
    free(zero);
    return VT_OK;
}

float vt__psf_at(const vt__psf *f, const float *img, int w, int h, int x, int y)
{
    const int r = f->radius;
    float out = 0.0f;
    /* The same order as the two passes: rows of horizontal sums, then down the column. */
    for (int j = -r; j <= r; j++) {
        float row = 0.0f;
        int yy = y + j;
        for (int i = -r; i <= r; i++) {
            int xx = x + i;
            float v = yy < 0 || yy >= h || xx < 0 || xx >= w ? 0.0f : img[(size_t)yy * w + xx];
            row = i == -r ? f->taps[0] * v : row + f->taps[i + r] * v;
        }
        out = j == -r ? f->taps[0] * row : out + f->taps[j + r] * row;
    }
    return out;
}
