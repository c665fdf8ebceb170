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

/* The number of poses, and pose i (0 <= i < count). */
VT_API size_t vt_pose_track_count(const vt_pose_track *tr);
VT_API const vt_pose_sample *vt_pose_track_sample(const vt_pose_track *tr, size_t i);

#ifdef __cplusplus
}
#endif

#endif
