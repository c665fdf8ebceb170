/*
 * src/motion/motion_internal.h - the matched filter of the background model
 * (psf.c), for background.c, the tests and stages that want the filter's
 * response at one pixel (thermal fusion).
 *
 * The filter is a separable sampled Gaussian, normalised to unit L2 norm:
 * on white noise of sigma s its output has sigma s too, so thresholds and
 * floors keep their pixel units, and a point target's response divided by
 * the noise is its matched-filter SNR (up to the filter's mismatch with the
 * true footprint, see psf.c).
 */
#ifndef VT_MOTION_INTERNAL_H
#define VT_MOTION_INTERNAL_H

#include <stdint.h>

#include "voxtrack/image.h"
#include "voxtrack/motion.h"

enum { VT__PSF_MAX_RADIUS = 4, VT__PSF_MAX_TAPS = 2 * VT__PSF_MAX_RADIUS + 1 };

/* The taps of one filter: taps[k + radius] for offsets -radius..radius. */
typedef struct vt__psf {
    int radius; /* 0: no filter (the one tap is 1) */
    float taps[VT__PSF_MAX_TAPS];
} vt__psf;

/*
 * The filter for a Gaussian of sigma pixels (finite, >= 0; 0 gives the
 * identity): radius ceil(1.5 sigma), at most VT__PSF_MAX_RADIUS, taps of unit
 * L2 norm in 2D (each axis' taps have norm 1).
 */
vt__psf vt__psf_make(float sigma);

/*
 * dst[x] = sum_k taps[k + R] * src[x + k] for x in [0, w): src points at the
 * row's first pixel and must be readable from src[-R] to src[w - 1 + R]
 * (the caller pads with zeros).
 */
void vt__psf_row_h(const vt__psf *f, const float *src, int w, float *dst);

/* dst[x] = sum_k taps[k + R] * rows[k + R][x], for x in [0, w). */
void vt__psf_rows_v(const vt__psf *f, const float *const *rows, int w, float *dst);

/*
 * The whole image through both passes (zeros outside it), with the row
 * functions above: what background.c computes band by band.
 * VT_EINVAL for bad sizes, VT_ENOMEM.
 */
vt_status vt__psf_filter_image(const vt__psf *f, const float *src, int w, int h, float *dst);

/* The filter's output at one pixel (zeros outside the image), computed directly. */
float vt__psf_at(const vt__psf *f, const float *img, int w, int h, int x, int y);

/*
 * The matched-filter response of frame `cur` against the model at pixel
 * (x, y), in units of the filtered image's measured noise, with the model's
 * polarity applied (positive = a change of the expected sign; with
 * polarity 0 the signed response). What thermal fusion asks at a predicted
 * pixel. Before vt_background_apply() of that frame the model is the one the
 * frame is tested against; after it, it has learnt the frame a little.
 * VT_EMISMATCH for a frame of another size, VT_ERANGE for a pixel outside
 * it, VT_EINVAL while the model or its noise is not measured yet.
 */
vt_status vt__background_response(const vt_background *bg, const vt_image *cur, int x, int y,
                                  float *snr);

#endif
