/*
 * voxtrack/fusion.h - thermal confirmation of 3D detections (docs/FUSION.md).
 *
 * The cameras come in pairs: a high-resolution mono camera and a thermal
 * camera on one mount. A drone is warm; a glint of the sun on a roof, a
 * wet leaf or a flicker of the clouds is not. For each 3D detection the
 * fusion stage looks at its projection in every thermal camera that can see
 * it and measures the thermal evidence there: the matched-filter response to
 * the optics' point spread at the predicted pixel, against the local
 * background, in units of its noise. That is a targeted search, not a second
 * detector: the response counts even far below the thermal camera's own
 * detection threshold, and nothing is looked for anywhere else.
 *
 * Each detection gets a record: its thermal SNR, its mono SNR, their ratio,
 * and a verdict: confirmed (some thermal camera sees it), contradicted (a
 * thermal camera should have seen the smallest, coolest target of interest
 * there and saw nothing) or not observable (outside every thermal image,
 * or too far for the thermal camera's resolution). What the pipeline does
 * with it is a documented, configurable rule (vt_fusion_opts).
 *
 * The pair map is the registration of a pair: where a mono pixel falls in
 * the thermal image, for a target at a given range, from the rig's relative
 * pose and intrinsics (the infinite homography plus the parallax of the
 * baseline at that range).
 */
#ifndef VOXTRACK_FUSION_H
#define VOXTRACK_FUSION_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/camera.h"
#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- registration of a pair ---- */

/*
 * The mono -> thermal mapping of one pair. A mono pixel's ray direction d
 * (unit, mono camera frame) at range r is the point r d; in the thermal
 * camera's frame it is R r d + t = r (R d + t / r), so its thermal pixel is
 * the projection of R d + t / r: the infinite homography K_t R K_m^-1 (on
 * undistorted coordinates) plus a parallax t / r that fades with range.
 */
typedef struct vt_pair_map {
    vt_camera mono, thermal; /* copies, vt_camera_init() done */
    vt_mat3 r;               /* thermal_from_mono rotation */
    vt_vec3 t;               /* the mono camera's centre in the thermal frame, metres */
} vt_pair_map;

/*
 * The map from the two cameras' poses and intrinsics (both must have passed
 * vt_camera_init). VT_EINVAL for a NULL argument or an invalid camera.
 */
VT_API vt_status vt_pair_map_init(const vt_camera *mono, const vt_camera *thermal,
                                  vt_pair_map *out);

/*
 * Where mono pixel (u, v) of a target at range metres (distance from the
 * mono camera's centre; INFINITY for the infinite homography) falls in the
 * thermal image. False when the mono pixel has no ray or the point lies
 * behind the thermal camera. The result may lie outside the thermal image.
 */
VT_API bool vt_pair_map_apply(const vt_pair_map *m, double u, double v, double range, double *ut,
                              double *vt);

/* ---- thermal evidence at a predicted pixel ---- */

typedef enum vt_fusion_verdict {
    VT_FUSION_NOT_OBSERVABLE = 0, /* no thermal camera could have seen it (see the reason) */
    VT_FUSION_CONFIRMED = 1,      /* some thermal camera sees it */
    VT_FUSION_CONTRADICTED = 2    /* thermal should have seen it and did not */
} vt_fusion_verdict;

/* Why a look gave, or a detection has, no verdict (VT_FUSION_SEEN when it has one). */
typedef enum vt_fusion_reason {
    VT_FUSION_SEEN = 0,      /* observable: the verdict stands on a measurement */
    VT_FUSION_OUTSIDE = 1,   /* behind the thermal camera or outside its image */
    VT_FUSION_TOO_FAR = 2,   /* the smallest target of interest would be too faint there */
    VT_FUSION_NO_FRAME = 3,  /* the thermal camera delivered no frame (or has no pixels) */
    VT_FUSION_NO_THERMAL = 4 /* the rig has no thermal camera */
} vt_fusion_reason;

typedef struct vt_fusion_opts {
    double psf_sigma;    /* the thermal optics' point spread (Gaussian, with the pixel's own
                            integration), pixels (default 0.6) */
    double confirm_snr;  /* a thermal SNR at least this confirms (default 3) */
    double observe_snr;  /* a thermal camera should have seen a target when the smallest,
                            coolest target of interest would give it this SNR (default 6) */
    double min_size;     /* that target: its size, metres (default 0.3) ... */
    double min_contrast; /* ... and its contrast over the sky, thermal grey levels (default
                            4000; the simulator's drones stand 5000-7000 above its sky) */
    /* The decision rule (docs/FUSION.md, "Decision"): */
    bool drop_contradicted;  /* drop a contradicted detection that no thermal ray supports
                                (default true) */
    double min_confirm_rate; /* a track whose thermal confirmations are fewer than this share
                                of its observable detections is reported tentative ... */
    int min_observed;        /* ... once it has this many (default 0.5 and 5; 0: never) */
    double bird_ratio;       /* the classifier's thermal cue: a track whose mean thermal / mono SNR
                                ratio is below this, over at least bird_min_age / 2 detections, is a
                                bird (0: not used; the default, see docs/FUSION.md) */
} vt_fusion_opts;

VT_API vt_fusion_opts vt_fusion_opts_default(void);

/* Checks the options; VT_EINVAL naming the field. */
VT_API vt_status vt_fusion_opts_check(const vt_fusion_opts *o);

/* One thermal camera's look at one 3D point. */
typedef struct vt_thermal_look {
    vt_fusion_reason reason; /* VT_FUSION_SEEN when measured */
    double u, v;             /* the predicted pixel (when in front of the camera) */
    double range;            /* depth of the point in the camera frame, metres */
    double expected_snr;     /* what the smallest, coolest target of interest would give */
    double snr;              /* the measured matched-filter SNR (NAN when not measured) */
    double background;       /* the local background, grey levels */
    double noise;            /* the noise sigma used, grey levels */
} vt_thermal_look;

/*
 * The thermal evidence for world point p in camera cam's frame img: p is
 * projected to (u, v); the response is sum_i w_i (f_i - b) over the pixels
 * within 3 psf_sigma of (u, v), with w_i the point spread centred there and
 * b the median of the ring of pixels just outside; snr is the response over
 * its standard deviation, sigma sqrt(sum w^2 + (pi / 2) (sum w)^2 / n_ring)
 * (the median of n values of white noise has variance ~ (pi / 2) sigma^2 /
 * n). sigma is `noise` when > 0 (the camera's background model measures it),
 * else the ring's robust spread. A warm target gives a positive SNR. The
 * whole window must lie inside the image (else VT_FUSION_OUTSIDE).
 * VT_EINVAL for NULL arguments, a non-finite p, a frame of another size
 * than the camera's, or bad options.
 */
VT_API vt_status vt_thermal_measure(const vt_camera *cam, const vt_image *img, double noise,
                                    vt_vec3 p, const vt_fusion_opts *o, vt_thermal_look *out);

/* What fusion concluded about one 3D detection (over all thermal cameras). */
typedef struct vt_fusion_record {
    vt_fusion_verdict verdict;
    vt_fusion_reason reason; /* for NOT_OBSERVABLE: the reason of its nearest miss */
    float thermal_snr;       /* the best SNR among the observable looks (NAN: none) */
    float mono_snr;          /* the best SNR among its mono rays (NAN: none) */
    float ratio;             /* thermal_snr / mono_snr (NAN when either is missing) */
    int observed;            /* thermal cameras that could have seen it */
    int confirming;          /* of them, those whose SNR reached confirm_snr */
    int thermal_rays;        /* thermal cameras among its rays (detected there already) */
    bool dropped;            /* the decision rule took it out */
} vt_fusion_record;

/*
 * A record is built in three steps: vt_fusion_record_empty(), one
 * vt_fusion_record_add() per thermal camera's look, then
 * vt_fusion_record_finish() with the detection's mono SNR (NAN: none) and
 * the number of thermal cameras among its rays. A detection supported by a
 * thermal ray is confirmed whatever the looks say; otherwise it is
 * confirmed when some look reached confirm_snr (a look too far for the
 * smallest target counts when it reached it: a bigger or hotter target),
 * contradicted when some look
 * was observable and none did, and not observable else, with the reason of
 * its nearest miss (too far, before no frame, before outside).
 */
VT_API vt_fusion_record vt_fusion_record_empty(void);
VT_API void vt_fusion_record_add(vt_fusion_record *r, const vt_thermal_look *look,
                                 const vt_fusion_opts *o);
VT_API void vt_fusion_record_finish(vt_fusion_record *r, double mono_snr, int thermal_rays);

/*
 * The decision rule for one detection: true when drop_contradicted is set
 * and the record is contradicted (which a thermal ray never is).
 */
VT_API bool vt_fusion_should_drop(const vt_fusion_record *r, const vt_fusion_opts *o);

/* The names of verdicts and reasons as tracks.jsonl and FUSION.md write them. */
VT_API const char *vt_fusion_verdict_name(vt_fusion_verdict v);
VT_API const char *vt_fusion_reason_name(vt_fusion_reason r);

#ifdef __cplusplus
}
#endif

#endif
