/*
 * voxtrack/render.h - the synthetic camera: draws targets (spheres or
 * ellipsoids of their true size) over a sky, through the full camera model
 * (distortion included), with sub-pixel area coverage, sensor noise, a
 * slowly drifting cloud background and hot pixels.
 *
 * Mono frames are 8-bit, thermal frames 16-bit. A pixel is
 *   sky(u, v, t) * (1 - c) + target * c + noise
 * where c is the fraction of the pixel's area the target covers, blurred by
 * the optics' point spread (a Gaussian of 0.5 pixel by default, see
 * vt_renderer_set_blur; 0 leaves pure area coverage). Noise and
 * hot pixels come from a counter-based hash of (seed, camera, frame, pixel),
 * so a frame is the same whatever the thread count or the order in which
 * frames are drawn. The renderer keeps each camera's sky and redraws it only
 * when the clouds have moved by a visible amount.
 */
#ifndef VOXTRACK_RENDER_H
#define VOXTRACK_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/math3d.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_target_kind {
    VT_TARGET_DRONE = 0,
    VT_TARGET_BIRD = 1,
    VT_TARGET_GLINT = 2, /* clutter: bright in mono, absent in thermal */
    VT_TARGET_BEACON = 3 /* a fixed light at a surveyed place: bright in mono, always on */
} vt_target_kind;

/* One target at the instant being drawn. */
typedef struct vt_render_target {
    int id;
    vt_target_kind kind;
    vt_vec3 pos;   /* centre, world metres */
    vt_vec3 semi;  /* semi-axes along world x, y, z, metres (all equal: a sphere) */
    float mono;    /* its mono brightness, 0..255 */
    float thermal; /* its thermal value, 0..65535; < 0: invisible in thermal */
} vt_render_target;

/* What the sky and the sensors look like, per modality. */
typedef struct vt_render_sky {
    float level;        /* sky value at the image centre */
    float gradient;     /* added from the top row (-gradient/2) to the bottom (+gradient/2) */
    float noise;        /* standard deviation of per-pixel Gaussian sensor noise */
    float cloud;        /* amplitude of the cloud pattern (0: none) */
    float cloud_scale;  /* size of the cloud features, pixels */
    float cloud_speed;  /* drift, pixels per second */
    float hot_fraction; /* fraction of pixels that are hot */
    float hot_value;    /* value a hot pixel shows when on (it flickers: on in half the frames) */
} vt_render_sky;

typedef struct vt_render_opts {
    vt_render_sky mono, thermal;
    uint64_t seed;
    int supersample; /* sub-samples per pixel edge for coverage (default 8) */
    int threads;     /* <= 0: OpenMP default */
} vt_render_opts;

VT_API vt_render_opts vt_render_opts_default(void);

typedef struct vt_renderer vt_renderer;

/* Keeps a copy of the rig's cameras (pose, intrinsics, size, modality, bits). */
VT_API vt_status vt_renderer_new(const vt_render_opts *opts, const vt_rig *rig, vt_renderer **out);
VT_API void vt_renderer_free(vt_renderer *r);

/*
 * Sets the standard deviation (pixels) of the Gaussian point spread of the
 * cameras of one modality; 0.5 for both after vt_renderer_new, 0 for pure
 * area coverage. Without blur the pixel-centre centroid of a sub-pixel
 * target is pulled to the centre of the pixel it falls in (by up to half a
 * pixel); 0.5 keeps that bias under 0.01 pixel, as real optics do. Accepts
 * 0 <= sigma <= 8, else VT_EINVAL. Not safe while the renderer is drawing.
 */
VT_API vt_status vt_renderer_set_blur(vt_renderer *r, vt_modality modality, double sigma);

/*
 * Moves rig camera `camera` to a new pose (for cameras on moving platforms);
 * its intrinsics stay. Touches only that camera's state: it may be called
 * while other cameras are drawn, not while this one is. VT_EINVAL for a bad
 * index or a quaternion vt_camera_init refuses.
 */
VT_API vt_status vt_renderer_set_pose(vt_renderer *r, int camera, vt_vec3 position, vt_quat q);

/*
 * Draws frame `frame` of rig camera `camera` at time t (seconds) with these
 * targets into *out, which is (re)allocated to the camera's size and bits
 * when it does not match. Targets behind the camera or outside the image
 * draw nothing. Thread safety: different cameras may be drawn concurrently.
 */
VT_API vt_status vt_renderer_draw(vt_renderer *r, int camera, int64_t frame, double t,
                                  const vt_render_target *targets, size_t count, vt_image *out);

/*
 * The matched-filter signal-to-noise ratio of each target in the last frame
 * drawn of rig camera `camera`: entry i is for targets[i] of that draw,
 *
 *     snr = sqrt(sum over pixels of s^2) / sigma,
 *
 * where s is the change the target alone makes to the pixel before noise,
 * coverage * (brightness - sky) (the blurred footprint against the sky as
 * drawn), and sigma the modality's noise. It is the mean of the optimal
 * linear detector for that footprint in white Gaussian noise, in units of
 * its standard deviation: the best significance any detector can give the
 * target in this one frame. Rounding to the image's integers and overlap
 * with other targets are left out. 0 for a target not drawn (behind the
 * camera, outside the image, a glint in thermal); INFINITY for a drawn
 * target when sigma is 0. *count (may be NULL) is the number of targets
 * of that draw (0 before any). The array belongs to the renderer and
 * changes with the camera's next draw; NULL for a bad camera.
 */
VT_API const float *vt_renderer_snr(const vt_renderer *r, int camera, size_t *count);

/*
 * The fraction of pixel (x, y)'s area that target covers in this camera,
 * 0..1 (blurred by the modality's point spread), as the renderer computes
 * it. For tests. Returns -1 (and sets the last error) on bad arguments.
 */
VT_API double vt_render_coverage(const vt_renderer *r, int camera, const vt_render_target *target,
                                 int x, int y);

#ifdef __cplusplus
}
#endif

#endif
