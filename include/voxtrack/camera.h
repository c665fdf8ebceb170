/*
 * voxtrack/camera.h - the pinhole camera model with Brown-Conrady distortion.
 *
 * Camera frame: x right, y down, z forward (OpenCV). Pixel coordinates put the
 * centre of pixel (u, v) at (u, v): column u, row v, origin at the top-left
 * pixel's centre. Distortion follows OpenCV's (k1, k2, p1, p2, k3) model on
 * normalised coordinates:
 *
 *   r2 = x^2 + y^2
 *   xd = x (1 + k1 r2 + k2 r2^2 + k3 r2^3) + 2 p1 x y + p2 (r2 + 2 x^2)
 *   yd = y (1 + k1 r2 + k2 r2^2 + k3 r2^3) + p1 (r2 + 2 y^2) + 2 p2 x y
 *   u  = fx xd + cx,   v = fy yd + cy
 *
 * The pose is the camera centre in world coordinates (ENU metres) and the
 * unit quaternion world_from_camera. A vt_camera is a plain value: copy it
 * freely; it owns nothing.
 */
#ifndef VOXTRACK_CAMERA_H
#define VOXTRACK_CAMERA_H

#include <stdbool.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_camera {
    int width, height;     /* pixels */
    double fx, fy, cx, cy; /* pixels */
    double dist[5];        /* k1, k2, p1, p2, k3 */
    vt_vec3 position;      /* camera centre, world metres */
    vt_quat q;             /* world_from_camera, unit */
    /* Derived by vt_camera_init(); do not set by hand. */
    vt_mat3 r;      /* world_from_camera as a matrix */
    bool distorted; /* any dist[i] != 0 */
} vt_camera;

/*
 * Checks the intrinsics (width, height, fx, fy > 0; finite values) and the
 * quaternion (finite, non-zero; normalised here if its norm is off by more
 * than 1e-9), then derives r and distorted. Returns VT_EINVAL with a message
 * naming the field on failure.
 */
VT_API vt_status vt_camera_init(vt_camera *cam);

/*
 * Builds a camera from the convention of the original Pixeltovoxelprojector:
 * the camera looks down its -Z axis with image y up, its rotation is
 * R = Rz(yaw) * Ry(roll) * Rx(pitch) (degrees), the focal length in pixels is
 * (width / 2) / tan(fov / 2) from the horizontal field of view, and pixel
 * (u, v) maps to the camera vector (u - W/2, -(v - H/2), -f) with no
 * half-pixel offset. The result is an ordinary voxtrack camera (x right,
 * y down, z forward) whose rays are the original's rays exactly.
 */
VT_API vt_status vt_camera_from_ypr(int width, int height, double fov_deg, double yaw_deg,
                                    double pitch_deg, double roll_deg, vt_vec3 position,
                                    vt_camera *out);

/*
 * The original's rotation matrix R = Rz(yaw) * Ry(roll) * Rx(pitch), in the
 * original's camera frame (looks down -Z, y up). Exposed for tests and tools.
 */
VT_API vt_mat3 vt_ypr_matrix(double yaw_deg, double pitch_deg, double roll_deg);

/* Applies the distortion model to normalised coordinates (x, y). */
VT_API void vt_camera_distort(const vt_camera *cam, double x, double y, double *xd, double *yd);

/*
 * Inverts the distortion model by fixed-point iteration (as OpenCV's
 * undistortPoints) followed by Newton refinement. Returns false if it did not
 * converge to 1e-12 (then *x, *y hold the best estimate).
 */
VT_API bool vt_camera_undistort(const vt_camera *cam, double xd, double yd, double *x, double *y);

/*
 * The world ray through pixel (u, v): origin is the camera centre, dir a unit
 * vector in world coordinates. Returns false if undistortion did not converge.
 */
VT_API bool vt_camera_pixel_to_ray(const vt_camera *cam, double u, double v, vt_vec3 *origin,
                                   vt_vec3 *dir);

/*
 * Projects a world point to pixel coordinates. Returns false (and leaves u, v
 * untouched) when the point is not in front of the camera (z <= 0 in the
 * camera frame). The result may lie outside the image: check with
 * vt_camera_in_image().
 */
VT_API bool vt_camera_world_to_pixel(const vt_camera *cam, vt_vec3 p, double *u, double *v);

/* True when (u, v) lies inside the image: -0.5 <= u < width - 0.5, likewise v. */
VT_API bool vt_camera_in_image(const vt_camera *cam, double u, double v);

/* World point to camera frame, and camera direction to world. */
VT_API vt_vec3 vt_camera_world_to_cam(const vt_camera *cam, vt_vec3 p);
VT_API vt_vec3 vt_camera_cam_to_world_dir(const vt_camera *cam, vt_vec3 d);

#ifdef __cplusplus
}
#endif

#endif
