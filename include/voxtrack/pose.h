/*
 * voxtrack/pose.h - where a moving camera is: an error-state Kalman filter
 * on GPS + IMU (+ dual-antenna heading, + bearings to surveyed landmarks),
 * and pose tracks (timestamped poses, interpolated; the pose-log file).
 *
 * Frames: the world is local ENU (x east, y north, z up, metres). The body is
 * the IMU's frame; its pose is the position of the IMU in the world and the
 * unit quaternion world_from_body. A camera is mounted on the body: its
 * centre sits at a lever arm (body frame) and its orientation is
 * world_from_body * body_from_camera. Gravity is (0, 0, -g).
 *
 * The filter follows J. Sola, "Quaternion kinematics for the error-state
 * Kalman filter" (2017), with the orientation error a rotation vector in the
 * body frame (the "local" error, his section 7); docs/POSE.md gives the
 * equations used and how each measurement enters.
 *
 * Times are seconds (doubles), as everywhere in the pipeline.
 */
#ifndef VOXTRACK_POSE_H
#define VOXTRACK_POSE_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the error-state Kalman filter ----------------------------------------------- */

/* The size of the error state: position, velocity, orientation, accel bias, gyro bias. */
#define VT_ESKF_DIM 15

/* Offsets of the blocks of the error state (each three components). */
enum { VT_ESKF_P = 0, VT_ESKF_V = 3, VT_ESKF_THETA = 6, VT_ESKF_BA = 9, VT_ESKF_BG = 12 };

/* The nominal state of the filter. */
typedef struct vt_eskf_state {
    double t;           /* seconds */
    vt_vec3 p, v;       /* body position (m) and velocity (m/s), world */
    vt_quat q;          /* world_from_body, unit */
    vt_vec3 accel_bias; /* m/s^2, body frame: measured = true + bias */
    vt_vec3 gyro_bias;  /* rad/s, body frame */
} vt_eskf_state;

typedef struct vt_eskf_opts {
    /* IMU noise densities (white noise: the per-sample standard deviation of a sensor
       sampled at f Hz is density * sqrt(f)) and bias random walks. */
    double gyro_noise;        /* rad/s/sqrt(Hz) (default 3.2e-5: 0.001 rad/s per sample at 1 kHz) */
    double accel_noise;       /* m/s^2/sqrt(Hz) (default 6.3e-4: 0.02 m/s^2 per sample at 1 kHz) */
    double gyro_walk;         /* rad/s^2/sqrt(Hz) (default 1e-6) */
    double accel_walk;        /* m/s^3/sqrt(Hz) (default 1e-5) */
    double gravity;           /* m/s^2 (default 9.80665) */
    double max_imu_gap;       /* a larger step between IMU samples is refused, s (default 0.1) */
    double max_lag;           /* a measurement or pose query at most this far (s) from the filter's
                                 time is moved there along the motion; farther is refused
                                 (default 0.05) */
    vt_vec3 gps_lever_arm;    /* GPS antenna phase centre, body frame, m (default 0) */
    vt_vec3 heading_baseline; /* dual-antenna GNSS: primary to secondary antenna, body
                                 frame, m (default (1, 0, 0)); its direction matters */
    bool gate;                /* refuse an update whose normalised innovation squared exceeds the
                                 chi-square 99.99% quantile of its dimension (default true) */
} vt_eskf_opts;

VT_API vt_eskf_opts vt_eskf_opts_default(void);

/* What one measurement update did. */
typedef struct vt_eskf_innovation {
    int dof;       /* dimension of the measurement */
    double nis;    /* normalised innovation squared, y^T S^-1 y */
    bool accepted; /* false: refused by the gate (the state is unchanged) */
} vt_eskf_innovation;

typedef struct vt_eskf vt_eskf;

/* Checks the options (noise densities >= 0 and finite, gaps and lags > 0). */
VT_API vt_status vt_eskf_new(const vt_eskf_opts *opts, vt_eskf **out);
VT_API void vt_eskf_free(vt_eskf *f);

/*
 * Sets the state and its uncertainty: sd holds the standard deviation of each
 * of the 15 error-state components (VT_ESKF_P + 0..2, ...; orientation in
 * radians, body frame), giving a diagonal covariance. Forgets the last IMU
 * sample. Refuses a non-finite state or quaternion norm off 1 by > 1e-6.
 */
VT_API vt_status vt_eskf_set_state(vt_eskf *f, const vt_eskf_state *x,
                                   const double sd[VT_ESKF_DIM]);

/*
 * Replaces the covariance (15x15, row-major) after vt_eskf_set_state: for
 * correlated initial uncertainty (a heading uncertainty about the world's
 * vertical is not diagonal in the body frame). Symmetrised; VT_EINVAL when not
 * finite or a diagonal entry is negative.
 */
VT_API vt_status vt_eskf_set_cov(vt_eskf *f, const double *cov);

/*
 * One IMU sample at time t: angular rate (rad/s) and specific force (m/s^2),
 * body frame, as the sensor reads them (biases included). The filter moves
 * from its time to t, integrating the mean of this sample and the previous one
 * (the first sample after vt_eskf_set_state is held constant back to the
 * state's time, unless it is at the state's time: then it only starts the
 * integration), and propagates the covariance. t must be after the filter's
 * time by at most max_imu_gap (VT_ERANGE otherwise; the filter is unchanged).
 * Allocates nothing; about a microsecond.
 */
VT_API vt_status vt_eskf_imu(vt_eskf *f, double t, vt_vec3 gyro, vt_vec3 accel);

/*
 * A GNSS position fix of the antenna at time t (world ENU, m), with standard
 * deviations sd_h (east and north) and sd_v (up). t may differ from the
 * filter's time by up to max_lag: the fix is compared with the state moved
 * along its velocity and angular rate to t. innov may be NULL.
 */
VT_API vt_status vt_eskf_update_position(vt_eskf *f, double t, vt_vec3 z, double sd_h, double sd_v,
                                         vt_eskf_innovation *innov);

/*
 * A dual-antenna GNSS heading at time t: the direction of heading_baseline in
 * the world, radians clockwise from north (atan2(east, north)), standard
 * deviation sd. VT_ERANGE when the baseline points (nearly) straight up or down.
 */
VT_API vt_status vt_eskf_update_heading(vt_eskf *f, double t, double heading, double sd,
                                        vt_eskf_innovation *innov);

/* A camera on the body: its centre (body frame, m) and orientation body_from_camera. */
typedef struct vt_pose_mount {
    vt_vec3 lever_arm;
    vt_quat q;
} vt_pose_mount;

/* The identity mount: the camera at the body's origin with the body's axes. */
VT_API vt_pose_mount vt_pose_mount_identity(void);

/*
 * A bearing to a surveyed landmark seen at time t by a camera on the body:
 * the landmark's world position (known to sd_landmark metres per axis) and
 * its undistorted normalised image coordinates (x/z, y/z in the camera frame:
 * x right, y down, z forward) with standard deviation sd (radians, about
 * pixels / focal length). VT_ERANGE when the landmark is behind the camera.
 */
VT_API vt_status vt_eskf_update_bearing(vt_eskf *f, double t, const vt_pose_mount *mount,
                                        vt_vec3 landmark, double sd_landmark, double xn, double yn,
                                        double sd, vt_eskf_innovation *innov);

/* Turns the NIS gate (vt_eskf_opts.gate) on or off from now on. */
VT_API void vt_eskf_set_gate(vt_eskf *f, bool on);

/* The nominal state and the 15x15 covariance (row-major, may be NULL). */
VT_API void vt_eskf_get(const vt_eskf *f, vt_eskf_state *x, double *cov);

/*
 * The pose of a camera on the body at time t, within max_lag of the filter's
 * time (moved along the last velocity, acceleration and angular rate):
 * camera centre and world_from_camera. mount NULL: the body's own pose.
 */
VT_API vt_status vt_eskf_pose_at(const vt_eskf *f, double t, const vt_pose_mount *mount,
                                 vt_vec3 *position, vt_quat *q);

/* ---- pose tracks and pose logs ------------------------------------------------------ */

/*
 * A pose track: timestamped poses (strictly increasing times), and the pose
 * at any time between them: position interpolated linearly, orientation by
 * slerp (the shorter arc). A query between two samples farther apart than
 * the track's max_gap, or outside [first, last], fails with VT_ERANGE and a
 * message saying where the time fell.
 *
 * The pose log is its file (docs/POSE.md): CSV text, the header line
 * "t,x,y,z,qw,qx,qy,qz", then one pose per line: seconds, the position
 * (world ENU, m) and the unit quaternion world_from_camera (or _body). Blank
 * lines and lines starting with '#' are skipped. A quaternion whose norm is
 * within 1e-3 of 1 is normalised (text keeps a few digits); another is
 * refused, as are unsorted or repeated times, non-finite numbers, lines with
 * other than 8 fields and logs without a pose. Every error names the file
 * and the line.
 */
typedef struct vt_pose_track vt_pose_track;

typedef struct vt_pose_sample {
    double t;
    vt_vec3 p;
    vt_quat q;
} vt_pose_sample;

/* The gap between two poses that a query may interpolate across, by default: 0.2 s. */
#define VT_POSE_MAX_GAP_DEFAULT 0.2

/* An empty track; max_gap > 0 (seconds). name is used in messages (copied; NULL: "poses"). */
VT_API vt_status vt_pose_track_new(const char *name, double max_gap, vt_pose_track **out);
VT_API void vt_pose_track_free(vt_pose_track *tr);

/*
 * Appends a pose after the last (t strictly greater; finite; quaternion norm
 * within 1e-6 of 1, normalised). VT_EINVAL otherwise.
 */
VT_API vt_status vt_pose_track_append(vt_pose_track *tr, double t, vt_vec3 p, vt_quat q);

/* Reads a pose log from memory (len bytes, need not be NUL-terminated); name for messages. */
VT_API vt_status vt_pose_track_parse(const char *text, size_t len, const char *name, double max_gap,
                                     vt_pose_track **out);

/* Reads a pose log file. */
VT_API vt_status vt_pose_track_load(const char *path, double max_gap, vt_pose_track **out);

/* Writes the track as a pose log (atomically: PATH.tmp renamed), 9 decimals. */
VT_API vt_status vt_pose_track_save(const vt_pose_track *tr, const char *path);

/* The pose at time t (see above). Thread-safe for concurrent readers. */
VT_API vt_status vt_pose_track_at(const vt_pose_track *tr, double t, vt_vec3 *p, vt_quat *q);

/* How far an estimated pose track is from the truth. */
typedef struct vt_pose_errors {
    size_t count;            /* poses compared */
    double position_rmse;    /* m, of the distance */
    double position_max;     /* m */
    double orientation_rmse; /* rad, of the rotation angle between them */
    double orientation_max;  /* rad */
} vt_pose_errors;

/*
 * Compares every pose of est from est's first time + skip seconds on with
 * truth at the same time (interpolated). Poses whose time truth cannot
 * answer (outside its span, in a gap) are VT_ERANGE with truth's message.
 */
VT_API vt_status vt_pose_compare(const vt_pose_track *est, const vt_pose_track *truth, double skip,
                                 vt_pose_errors *out);

/* The number of poses, and pose i (0 <= i < count). */
VT_API size_t vt_pose_track_count(const vt_pose_track *tr);
VT_API const vt_pose_sample *vt_pose_track_sample(const vt_pose_track *tr, size_t i);

/* ---- a platform: the filter over recorded IMU and GNSS logs ------------------------ */

/* GNSS fix noise, standard deviations (m): RTK fixed, and standalone (the default). */
#define VT_POSE_RTK_SD_H 0.01
#define VT_POSE_RTK_SD_V 0.02

/* The geodetic origin of the world ENU frame, for logs in latitude and longitude. */
typedef struct vt_pose_origin {
    bool set;
    double lat_deg, lon_deg, h_m;
} vt_pose_origin;

typedef struct vt_pose_platform_opts {
    vt_eskf_opts filter;       /* noise densities, GNSS lever arm, antenna baseline, gate */
    double gps_sd_h, gps_sd_v; /* fix noise, m (default 1.5, 3.0; RTK: VT_POSE_RTK_SD_*) */
    double heading_sd;         /* dual-antenna heading noise, rad (default 0.2 degrees) */
    double init_heading_sd;    /* uncertainty of the nominal heading, rad (default 2 deg) */
    double init_tilt_sd;       /* of the levelled roll and pitch, rad (default 1 deg) */
    double init_velocity_sd;   /* m/s (default 0.05: the body starts at rest) */
    double init_accel_bias_sd; /* m/s^2 (default 0.1) */
    double init_gyro_bias_sd;  /* rad/s (default 1e-3) */
    double level_seconds;      /* the start at rest that levels the body, s (default 0.2) */
} vt_pose_platform_opts;

VT_API vt_pose_platform_opts vt_pose_platform_opts_default(void);

/* How many measurements a platform's filter took and refused (by its gate). */
typedef struct vt_pose_platform_stats {
    size_t imu, gps, gps_refused, heading, heading_refused, bearings, bearings_refused;
} vt_pose_platform_stats;

/*
 * A moving body and its recorded logs (docs/POSE.md): IMU (imu_path, required),
 * GNSS fixes (gps_path, required), dual-antenna headings (heading_path, NULL
 * when there is none). The logs are read whole here; errors name the platform,
 * the file and the line. origin converts fixes given only as latitude,
 * longitude and height (may be NULL when the logs carry ENU x, y, z).
 * nominal is the body's orientation as installed (world_from_body): it gives
 * the starting heading, with init_heading_sd, unless a heading is logged.
 * The filter starts at the IMU log's first sample, levelled by gravity over
 * the first level_seconds, at the first GNSS fix within a second of it.
 */
typedef struct vt_pose_platform vt_pose_platform;

VT_API vt_status vt_pose_platform_new(const vt_pose_platform_opts *opts, const char *name,
                                      const char *imu_path, const char *gps_path,
                                      const char *heading_path, const vt_pose_origin *origin,
                                      vt_quat nominal, vt_pose_platform **out);
VT_API void vt_pose_platform_free(vt_pose_platform *pp);

/*
 * Runs the filter over every logged record up to time t (in time order).
 * Times only move forward; an earlier t does nothing. VT_ERANGE when t is
 * outside the IMU log's span (by more than max_lag).
 */
VT_API vt_status vt_pose_platform_advance(vt_pose_platform *pp, double t);

/* Advances to t, then the pose of a camera on the body (mount NULL: the body's). */
VT_API vt_status vt_pose_platform_pose(vt_pose_platform *pp, double t, const vt_pose_mount *mount,
                                       vt_vec3 *position, vt_quat *q);

/* Advances to t, then a landmark bearing as vt_eskf_update_bearing (innov may be NULL). */
VT_API vt_status vt_pose_platform_bearing(vt_pose_platform *pp, double t,
                                          const vt_pose_mount *mount, vt_vec3 landmark,
                                          double sd_landmark, double xn, double yn, double sd,
                                          vt_eskf_innovation *innov);

/* The platform's filter (its state and covariance: vt_eskf_get). */
VT_API const vt_eskf *vt_pose_platform_filter(const vt_pose_platform *pp);
VT_API vt_pose_platform_stats vt_pose_platform_get_stats(const vt_pose_platform *pp);

/* ---- beacons in images ----------------------------------------------------------------- */

/* A beacon found in a frame. */
typedef struct vt_pose_beacon {
    bool found;
    double u, v;       /* its centroid, pixels (pixel centres at integers) */
    double contrast;   /* its peak over the background, grey levels */
    double background; /* the window's background level */
} vt_pose_beacon;

/*
 * Looks for a beacon (a light brighter than the sky) within `radius` pixels
 * (2..256) of the predicted pixel (u0, v0) of an 8- or 16-bit frame: the
 * brightest pixel of the window if it stands at least min_contrast above the
 * median of the window's border, located by the centroid of the excess over
 * that background in the 5x5 pixels around it. out->found false when there is
 * none (or the window lies outside the image); VT_EINVAL for bad arguments.
 */
VT_API vt_status vt_pose_find_beacon(const vt_image *img, double u0, double v0, int radius,
                                     double min_contrast, vt_pose_beacon *out);

#ifdef __cplusplus
}
#endif

#endif
