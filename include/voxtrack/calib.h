/*
 * voxtrack/calib.h - camera calibration from a flight: orientations, clocks
 * and optionally positions and intrinsics of rig cameras, solved from their
 * 2D detections (voxtrack/det2d.h) of one target.
 *
 * With a reference track (a drone with RTK GPS flown through the views), each
 * camera is solved on its own: for candidate clock offsets, RANSAC over the
 * detection/track correspondences finds the orientation (or, for a camera
 * without a surveyed position, the whole pose by a linear PnP); the best
 * candidate is then refined by Levenberg-Marquardt on the reprojection error,
 * with outliers gated by a robust estimate of the pixel noise.
 *
 * Without one (self-calibration, after Albl et al., "Multi-camera drone
 * flight self-calibration"), the target is triangulated from cameras whose
 * poses are known (their clocks solved against the first of them), and that
 * track is the reference of the others. Weak geometry (known cameras that see
 * the target from nearly the same direction, too few points) is reported.
 *
 * Time is the rig's clock in seconds; a camera's clock maps its detections
 * onto it (t = scale * x + offset, voxtrack/det2d.h). Thread safety: no
 * shared state; different results may be computed on different threads.
 */
#ifndef VOXTRACK_CALIB_H
#define VOXTRACK_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/camera.h"
#include "voxtrack/det2d.h"
#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the reference track: one target's positions over time ---- */

typedef struct vt_reftrack vt_reftrack;

/*
 * A track of n >= 2 samples at strictly increasing times t (seconds) with
 * positions pos (world ENU metres) and optionally velocities vel (NULL: from
 * the neighbouring samples). Copies the arrays.
 */
VT_API vt_status vt_reftrack_new(const double *t, const vt_vec3 *pos, const vt_vec3 *vel, size_t n,
                                 vt_reftrack **out);

/*
 * Reads a reference track: JSON Lines ({"t", "x", "y", "z"} or {"t", "pos":
 * [x, y, z]}, optional "vel", or {"t", "lat", "lon", "h"} in WGS84 degrees
 * and ellipsoidal metres) or CSV with a header (t,x,y,z or t,lat,lon,h;
 * optional id). truth.jsonl of the simulator reads as it is. WGS84 goes
 * through PROJ with the rig's origin (an error when it has none). A file
 * with several target ids needs `target` (their id, as text); NULL takes
 * the only one. Errors name the file and the line.
 */
VT_API vt_status vt_reftrack_load(const char *path, const vt_rig *rig, const char *target,
                                  vt_reftrack **out);

/* The same from len bytes of text; name stands for the file in messages ("log.csv:12: ..."). */
VT_API vt_status vt_reftrack_parse(const char *text, size_t len, const char *name,
                                   const vt_rig *rig, const char *target, vt_reftrack **out);

VT_API void vt_reftrack_free(vt_reftrack *r);

VT_API size_t vt_reftrack_count(const vt_reftrack *r);

/* Sample i's time and position. */
VT_API void vt_reftrack_sample(const vt_reftrack *r, size_t i, double *t, vt_vec3 *pos);

/* The first and last sample times. */
VT_API void vt_reftrack_span(const vt_reftrack *r, double *t0, double *t1);

/*
 * The position (and velocity, may be NULL) at time t by cubic Hermite
 * interpolation between the samples around it. False outside the span, or
 * strictly inside a gap between samples longer than max_gap seconds (<= 0:
 * any gap; a sample at the edge of a gap is on the track).
 */
VT_API bool vt_reftrack_at(const vt_reftrack *r, double t, double max_gap, vt_vec3 *pos,
                           vt_vec3 *vel);

/* ---- calibrating one camera against a reference track ---- */

/* What is solved besides the orientation and the clock offset (bits of vt_calib_opts.solve). */
enum {
    VT_CALIB_POSITION = 1, /* the camera centre (PnP first: no surveyed position needed) */
    VT_CALIB_FOCAL = 2,    /* fx and fy, by one factor */
    VT_CALIB_K1 = 4,       /* the first radial distortion coefficient */
    VT_CALIB_SCALE = 8     /* the clock's scale (a frame rate that is not exact) */
};

typedef struct vt_calib_opts {
    unsigned solve;      /* VT_CALIB_* bits (default 0: orientation and offset) */
    double max_offset;   /* clock offsets searched within +-this of the rig's, s (default 1) */
    double offset_step;  /* the search's step, s (0, the default: a third of a frame period) */
    double search_px;    /* inlier gate of the search, pixels (default 8) */
    double gate_sigma;   /* final inliers: residual within gate_sigma robust sigmas ... (4) */
    double min_gate_px;  /* ... and never a gate below this, pixels (default 1.5) */
    int ransac_iters;    /* samples per candidate offset (default 200) */
    int search_max;      /* detections the search looks at, at most (default 1500) */
    int min_inliers;     /* fewer is a failure (default 20) ... */
    double min_fraction; /* ... and so is a smaller fraction of the detections on the track
                            (default 0.3: a wrong track, a wrong position, or a detector that
                            mostly sees something else) */
    double max_gap;      /* reference samples further apart are not bridged, s (default 1) */
    double weak_deg;     /* orientation standard deviation above this is weak geometry
                            (default 0.05 degrees) */
    double weak_offset;  /* likewise for the clock offset, s (default 0.01) */
    double weak_m;       /* likewise for a solved position, m (default 2) */
    uint64_t seed;       /* RANSAC's (default 1); the same seed gives the same result */
} vt_calib_opts;

VT_API vt_calib_opts vt_calib_opts_default(void);

/* One detection in the result: where it was and where the solution puts the track. */
typedef struct vt_calib_point {
    double t;       /* its time on the solved clock, seconds */
    double u, v;    /* the detection, pixels */
    double pu, pv;  /* the track at t through the solved camera (valid when projected) */
    bool projected; /* t lies on the track and the point in front of the camera */
    bool inlier;    /* used by the final fit */
    int32_t line;   /* its line in the detection file */
} vt_calib_point;

typedef struct vt_calib_result {
    bool weak;         /* solved, but the geometry leaves it poorly constrained (message) */
    char message[256]; /* why it is weak; "" otherwise */
    vt_camera cam;     /* the solved camera (vt_camera_init done) */
    double clock_scale, clock_offset; /* the solved clock: t = scale * x + offset */
    double rms_px, max_px;            /* reprojection error of the inliers, pixels */
    size_t detections;                /* in the list */
    size_t on_track;                  /* whose time lies on the reference track */
    size_t inliers, outliers;         /* of those on the track */
    double rotation_deg;              /* orientation change from the rig's, degrees */
    double position_m;                /* position change from the rig's, metres */
    double sd_rotation_deg;           /* standard deviations from the fit: orientation (largest
                                         axis), degrees; */
    double sd_offset_s;               /* clock offset (at the middle of the detections), s; */
    double sd_position_m;             /* position (largest axis), m, 0 when not solved; */
    double sd_clock_s;                /* the largest clock error over the detections' span, s
                                         (offset and scale together) */
    int iterations;                   /* Levenberg-Marquardt steps, all rounds */
    vt_calib_point *points;           /* per detection, in list order; owned */
    size_t npoints;
} vt_calib_result;

/*
 * Calibrates rig camera `camera` from its detections (with their clock
 * input: vt_det2d_clock_input) against the track. The rig gives the
 * intrinsics, the position (a starting point only when solved), the clock's
 * nominal scale (vt_det2d_camera_clock) and the offset the search is centred
 * on; its orientation is not needed. VT_ERANGE with a message when too few
 * detections fit (no offset in the search range explains them, or the
 * track does not cross the view), VT_EINVAL for bad options. On success *out
 * holds the solution (free it with vt_calib_result_free, also after a
 * failure).
 */
VT_API vt_status vt_calib_camera(const vt_calib_opts *opts, const vt_rig *rig, int camera,
                                 const vt_det2d_list *dets, const vt_reftrack *track,
                                 vt_calib_result *out);

VT_API void vt_calib_result_free(vt_calib_result *r);

/* Writes a result into rig camera `camera`: its camera model and clock. */
VT_API vt_status vt_calib_apply(const vt_calib_result *r, vt_rig *rig, int camera);

/*
 * Draws the result as an RGB PNG of the camera's image (scaled to at most
 * 1600 pixels wide): the reference track through the solved camera as a grey
 * line, inliers as green dots, outliers as red crosses, and, for each
 * inlier, its residual magnified 10 times as a short blue line.
 */
VT_API vt_status vt_calib_plot(const vt_calib_result *r, const vt_reftrack *track,
                               const char *path);

/* ---- self-calibration: the target triangulated from cameras with known poses ---- */

typedef struct vt_calib_triangulation {
    size_t points;           /* triangulated instants */
    size_t candidates;       /* detections of the first known camera looked at */
    double median_angle_deg; /* median largest angle between the known cameras' rays */
    double rms_miss_m;       /* RMS distance of the rays from their meeting points */
    double clock_offset[64]; /* per rig camera: the known cameras' solved offsets (the first
                                known camera keeps its own); others their rig's */
    bool weak;               /* the geometry is too weak to trust (message) */
    char message[256];
} vt_calib_triangulation;

/*
 * Triangulates the target from the known cameras (bit i of `known` for rig
 * camera i, at least two; dets has rig->count entries, NULL where a camera
 * has none): the clock offsets of the known cameras after the first are
 * searched (within opts->max_offset) and refined so that their rays meet;
 * then at each detection time of the first known camera the others'
 * detections, interpolated to that time, are matched by how near their rays
 * pass, and met by least squares. The points become *out, the reference for
 * vt_calib_camera of the other cameras. VT_ERANGE naming the reason when
 * fewer than opts->min_inliers points are found; a weak geometry is not an
 * error (stats->weak, stats->message).
 */
VT_API vt_status vt_calib_triangulate(const vt_calib_opts *opts, const vt_rig *rig,
                                      const vt_det2d_list *const *dets, uint64_t known,
                                      vt_reftrack **out, vt_calib_triangulation *stats);

/* ---- the relative rotation of a mono/thermal pair (docs/FUSION.md, "Registration") ---- */

typedef struct vt_pair_calib_opts {
    double max_dt;    /* a mono and a thermal detection are of one instant within this, s on the
                         rig's clock (default 0.002) */
    double gate_px;   /* first round: a thermal detection within this of where the rig's rotation
                         puts the mono one, thermal pixels (default 40: about 2 degrees for a
                         640-pixel, 40-degree thermal camera) */
    double inlier_px; /* last round: within this of the solved prediction (default 2) */
    double range;     /* the targets' range for the parallax of the baseline, m (default
                         INFINITY: the infinite homography; fine beyond baseline / range of a
                         tenth of a pixel's angle) */
    int rounds;       /* rounds of matching and solving (default 6) */
    int min_matches;  /* fewer inliers than this is an error (default 20) */
} vt_pair_calib_opts;

VT_API vt_pair_calib_opts vt_pair_calib_opts_default(void);

typedef struct vt_pair_calib_result {
    vt_quat r;                 /* thermal_from_mono, solved */
    vt_quat thermal_q;         /* the thermal camera's world_from_camera with it (the mono pose kept) */
    double change_deg;         /* the angle between the rig's relative rotation and the solved one */
    size_t mono_detections;    /* detections read */
    size_t thermal_detections;
    size_t matches;            /* matched in the first round (the rig's rotation, gate_px) */
    size_t inliers;            /* matched in the last round (the solved rotation, inlier_px) */
    double rms_px, max_px;     /* the inliers' residual with the solved rotation, thermal px */
    double rig_rms_px;         /* the same inliers' residual with the rig's rotation, px */
} vt_pair_calib_result;

/*
 * Estimates the thermal_from_mono rotation of a pair from the 2D detections
 * of moving targets that both cameras recorded: each mono detection is
 * matched to the thermal detection of the same instant nearest to where the
 * current rotation predicts it (ambiguous ones left out), the rotation is
 * solved in closed form (Horn) over the matches, and the two alternate with
 * a shrinking gate from the rig's rotation on (see src/calib/pair.c). The
 * cameras' intrinsics and the mono pose are taken as right; the baseline
 * from their positions matters only with a finite opts->range.
 *
 * mono_dets and thermal_dets are in time order on the rig's clock (as
 * vt_det2d_load leaves them). opts NULL: defaults. VT_EINVAL naming the
 * problem for bad options, unclocked or unsorted detections, or fewer than
 * min_matches inliers (with the counts of each round in the message).
 */
VT_API vt_status vt_pair_calibrate(const vt_pair_calib_opts *opts, const vt_camera *mono,
                                   const vt_camera *thermal, const vt_det2d_list *mono_dets,
                                   const vt_det2d_list *thermal_dets, vt_pair_calib_result *out);

#ifdef __cplusplus
}
#endif

#endif
