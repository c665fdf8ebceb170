/*
 * voxtrack/motion.h - change detection: |current - background| > threshold,
 * compacted into a list of changed pixels with their differences.
 *
 * The hot loop reads both frames once, in 64-pixel chunks, and forms a bit
 * mask per chunk with branch-free code that the compiler vectorises; chunks
 * without a change cost nothing more. Bands of rows run in parallel (OpenMP);
 * each band fills its own part of the list and the parts are joined in row
 * order, so the output does not depend on the number of threads.
 */
#ifndef VOXTRACK_MOTION_H
#define VOXTRACK_MOTION_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The changed pixels of one frame, in raster order. index[i] = y * width + x;
 * diff[i] = |current - background| at that pixel (> threshold). The list owns
 * its arrays and reuses them from call to call; capacity only grows.
 */
typedef struct vt_change_list {
    size_t count;
    size_t capacity;
    int width, height;
    uint32_t *index;
    float *diff;
    /* Appended: raw[i] = |current - background| at that pixel before any filter
       (vt_background_apply fills it; with its matched filter on, diff is the
       filtered value). NULL where the producer has none (vt_motion_detect). */
    float *raw;
} vt_change_list;

/* Frees the arrays and zeroes the list. */
VT_API void vt_change_list_free(vt_change_list *l);

/*
 * Appends to nothing: replaces the contents of *out with the pixels where
 * |cur - prev| > threshold. Both images must have the same size and depth
 * (VT_EMISMATCH otherwise). threshold may be any finite value >= 0.
 * threads <= 0 uses OpenMP's default.
 */
VT_API vt_status vt_motion_detect(const vt_image *prev, const vt_image *cur, float threshold,
                                  int threads, vt_change_list *out);

/*
 * The same on float images (width * height values, contiguous), for inputs
 * that carry noise or a running-average background.
 */
VT_API vt_status vt_motion_detect_f32(const float *prev, const float *cur, int width, int height,
                                      float threshold, int threads, vt_change_list *out);

/*
 * A background model per camera: each frame is compared with it, the pixels
 * that differ by more than a threshold (with the expected sign) are listed,
 * and the model then learns the frame.
 *
 * VT_BACKGROUND_PREVIOUS: the model is the previous frame (the original's
 * way). VT_BACKGROUND_AVERAGE: a running average that learns slowly where it
 * just found a change (selective update), so a target that hovers stays
 * visible and a moving one leaves no trail of the expected sign.
 *
 * Polarity: a drone against the sky is darker in a visible-light camera and
 * warmer in a thermal one. Keeping only the changes of that sign drops the
 * "hole" a target leaves behind it (the opposite sign) and glints of the
 * wrong sign. The threshold is fixed, or adaptive: k_sigma times the noise
 * of (frame - model), estimated on a sample of rows every frame.
 */
typedef enum vt_background_kind {
    VT_BACKGROUND_PREVIOUS = 0,
    VT_BACKGROUND_AVERAGE = 1
} vt_background_kind;

typedef struct vt_background_opts {
    vt_background_kind kind;
    double alpha;        /* AVERAGE: learning rate per frame (default 0.05) */
    double alpha_fg;     /* AVERAGE: learning rate where a change was found (default 0.002) */
    float threshold;     /* > 0: fixed threshold, pixel units; 0: adaptive (default) */
    float k_sigma;       /* adaptive threshold = k_sigma * noise sigma (default 5) */
    float min_threshold; /* floor of the adaptive threshold, pixel units (default 2) */
    int polarity;        /* -1: darker than the model, +1: brighter, 0: either (default 0) */
    int threads;         /* <= 0: OpenMP default */
    /* Appended. The matched filter: > 0, the difference (frame - model) is
       filtered with a separable Gaussian of this sigma, pixels (taps of unit
       norm, radius ceil(1.5 sigma) <= 4) before it is thresholded; threshold,
       min_threshold and the listed diff are then in units of the filtered
       image, and the adaptive threshold follows the filtered image's own
       measured noise. A sub-pixel target spread over a few pixels then counts
       once at (nearly) its full matched-filter SNR. 0: no filter (default). */
    float psf_sigma;
} vt_background_opts;

VT_API vt_background_opts vt_background_opts_default(void);

typedef struct vt_background vt_background;

/* A model for frames of width x height (any depth). The first frame only initialises it. */
VT_API vt_status vt_background_new(const vt_background_opts *opts, int width, int height,
                                   vt_background **out);
VT_API void vt_background_free(vt_background *bg);

/*
 * Lists the changes of frame `cur` against the model into *out (raster
 * order, diff = |cur - model|), then updates the model. Deterministic for
 * any thread count. VT_EMISMATCH when the frame's size differs.
 */
VT_API vt_status vt_background_apply(vt_background *bg, const vt_image *cur, vt_change_list *out);

/*
 * The threshold the last vt_background_apply() used (in the filtered image's
 * units when the matched filter is on), and the noise sigma estimate of the
 * unfiltered difference (pixel units).
 */
VT_API float vt_background_threshold(const vt_background *bg);
VT_API float vt_background_noise(const vt_background *bg);

/*
 * The noise sigma of the filtered difference, measured like
 * vt_background_noise() on the filtered image (the two are equal without the
 * matched filter): the unit of a change's significance, diff / this.
 * 0 until measured. Appended.
 */
VT_API float vt_background_filter_noise(const vt_background *bg);

/* Forgets the model: the next frame initialises it again. */
VT_API void vt_background_reset(vt_background *bg);

#ifdef __cplusplus
}
#endif

#endif
