/*
 * src/camera/camera.c - the pinhole camera with Brown-Conrady distortion
 * (see voxtrack/camera.h), and the conversion from the original
 * Pixeltovoxelprojector's yaw/pitch/roll/fov convention.
 *
 * Projection: world point -> camera frame (R^T (p - c)) -> normalised
 * coordinates (x/z, y/z) -> OpenCV's distortion (k1, k2, p1, p2, k3) -> pixels.
 *
 * Back-projection inverts the distortion, which has no closed form. We start
 * with OpenCV's fixed-point iteration (undistortPoints: divide out the radial
 * factor after subtracting the tangential term), which is cheap and converges
 * for the mild distortion of most lenses, then polish with Newton's method on
 * the 2x2 system distort(x) = xd, which converges quadratically near the root
 * and also rescues the cases where the fixed-point map is not contracting.
 *
 * The original's cameras look down their -Z axis with image y up; ours look
 * down +Z with image y down. The two frames differ by diag(1, -1, -1), so the
 * original's rotation R turns into world_from_camera = R diag(1, -1, -1) and
 * every ray is the same ray.
 */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/camera.h"

/* Convergence target of the undistortion, in normalised image units. */
#define VT__UNDIST_TOL 1e-12
#define VT__UNDIST_FIXED_ITERS 20
#define VT__UNDIST_NEWTON_ITERS 20

static vt_status check_positive_int(const char *field, int value)
{
    if (value <= 0)
        return vt__error(VT_EINVAL, "camera: field '%s' must be > 0 (got %d)", field, value);
    return VT_OK;
}

static vt_status check_finite(const char *field, double value)
{
    if (!isfinite(value))
        return vt__error(VT_EINVAL, "camera: field '%s' must be finite (got %g)", field, value);
    return VT_OK;
}

static vt_status check_positive(const char *field, double value)
{
    vt_status s = check_finite(field, value);
    if (s != VT_OK)
        return s;
    if (value <= 0.0)
        return vt__error(VT_EINVAL, "camera: field '%s' must be > 0 (got %g)", field, value);
    return VT_OK;
}

static vt_status check_intrinsics(const vt_camera *cam)
{
    static const char *dist_names[5] = {"k1", "k2", "p1", "p2", "k3"};
    vt_status s;
    if ((s = check_positive_int("width", cam->width)) != VT_OK ||
        (s = check_positive_int("height", cam->height)) != VT_OK ||
        (s = check_positive("fx", cam->fx)) != VT_OK ||
        (s = check_positive("fy", cam->fy)) != VT_OK ||
        (s = check_finite("cx", cam->cx)) != VT_OK || (s = check_finite("cy", cam->cy)) != VT_OK)
        return s;
    for (int i = 0; i < 5; i++)
        if ((s = check_finite(dist_names[i], cam->dist[i])) != VT_OK)
            return s;
    return VT_OK;
}

static vt_status check_pose(const vt_camera *cam)
{
    vt_status s;
    if ((s = check_finite("position.x", cam->position.x)) != VT_OK ||
        (s = check_finite("position.y", cam->position.y)) != VT_OK ||
        (s = check_finite("position.z", cam->position.z)) != VT_OK ||
        (s = check_finite("q.w", cam->q.w)) != VT_OK ||
        (s = check_finite("q.x", cam->q.x)) != VT_OK ||
        (s = check_finite("q.y", cam->q.y)) != VT_OK ||
        (s = check_finite("q.z", cam->q.z)) != VT_OK)
        return s;
    double n = vt_q_norm(cam->q);
    /* A quaternion this short has no reliable direction: normalising it would amplify noise. */
    if (!(n > 1e-12))
        return vt__error(VT_EINVAL, "camera: field 'q' must be a non-zero quaternion (norm %g)", n);
    return VT_OK;
}

vt_status vt_camera_init(vt_camera *cam)
{
    if (!cam)
        return vt__error(VT_EINVAL, "camera: NULL camera");
    vt_status s = check_intrinsics(cam);
    if (s == VT_OK)
        s = check_pose(cam);
    if (s != VT_OK)
        return s;
    if (fabs(vt_q_norm(cam->q) - 1.0) > 1e-9)
        cam->q = vt_q_normalize(cam->q);
    cam->r = vt_q_to_m3(cam->q);
    cam->distorted = false;
    for (int i = 0; i < 5; i++)
        if (cam->dist[i] != 0.0)
            cam->distorted = true;
    return VT_OK;
}

vt_mat3 vt_ypr_matrix(double yaw_deg, double pitch_deg, double roll_deg)
{
    double y = vt_deg2rad(yaw_deg), p = vt_deg2rad(pitch_deg), r = vt_deg2rad(roll_deg);
    double cy = cos(y), sy = sin(y), cp = cos(p), sp = sin(p), cr = cos(r), sr = sin(r);
    vt_mat3 rz = {{{cy, -sy, 0.0}, {sy, cy, 0.0}, {0.0, 0.0, 1.0}}};
    vt_mat3 ry = {{{cr, 0.0, sr}, {0.0, 1.0, 0.0}, {-sr, 0.0, cr}}};
    vt_mat3 rx = {{{1.0, 0.0, 0.0}, {0.0, cp, -sp}, {0.0, sp, cp}}};
    /* Same order of products as the original: (Rz Ry) Rx. */
    return vt_m3_mul(vt_m3_mul(rz, ry), rx);
}

vt_status vt_camera_from_ypr(int width, int height, double fov_deg, double yaw_deg,
                             double pitch_deg, double roll_deg, vt_vec3 position, vt_camera *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "camera: NULL output camera");
    vt_status s;
    if ((s = check_positive_int("width", width)) != VT_OK ||
        (s = check_positive_int("height", height)) != VT_OK ||
        (s = check_finite("yaw", yaw_deg)) != VT_OK ||
        (s = check_finite("pitch", pitch_deg)) != VT_OK ||
        (s = check_finite("roll", roll_deg)) != VT_OK)
        return s;
    if (!(fov_deg > 0.0 && fov_deg < 180.0))
        return vt__error(VT_EINVAL, "camera: field 'fov_degrees' must be in (0, 180) (got %g)",
                         fov_deg);

    vt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.width = width;
    cam.height = height;
    cam.fx = cam.fy = (0.5 * width) / tan(0.5 * vt_deg2rad(fov_deg));
    /* The original maps pixel u to u - W/2 with no half-pixel offset: keep it so the rays match. */
    cam.cx = 0.5 * width;
    cam.cy = 0.5 * height;
    cam.position = position;

    /* Our camera vector (u - cx, v - cy, f) is diag(1, -1, -1) times the original's: flip columns.
     */
    vt_mat3 r = vt_ypr_matrix(yaw_deg, pitch_deg, roll_deg);
    for (int i = 0; i < 3; i++) {
        r.m[i][1] = -r.m[i][1];
        r.m[i][2] = -r.m[i][2];
    }
    cam.q = vt_m3_to_q(r);
    s = vt_camera_init(&cam);
    if (s != VT_OK)
        return vt__error_prefix(s, "camera from yaw/pitch/roll");
    *out = cam;
    return VT_OK;
}

void vt_camera_distort(const vt_camera *cam, double x, double y, double *xd, double *yd)
{
    const double *d = cam->dist;
    double r2 = x * x + y * y;
    double radial = 1.0 + r2 * (d[0] + r2 * (d[1] + r2 * d[4]));
    *xd = x * radial + 2.0 * d[2] * x * y + d[3] * (r2 + 2.0 * x * x);
    *yd = y * radial + d[2] * (r2 + 2.0 * y * y) + 2.0 * d[3] * x * y;
}

/* Residual distort(x, y) - (xd, yd) and its size. */
static double undistort_residual(const vt_camera *cam, double x, double y, double xd, double yd,
                                 double *ex, double *ey)
{
    double px, py;
    vt_camera_distort(cam, x, y, &px, &py);
    *ex = px - xd;
    *ey = py - yd;
    return hypot(*ex, *ey);
}

/* The 2x2 Jacobian of vt_camera_distort at (x, y): j[0] = dxd/dx, j[1] = dxd/dy, ... */
static void distort_jacobian(const vt_camera *cam, double x, double y, double j[4])
{
    const double *d = cam->dist;
    double k1 = d[0], k2 = d[1], p1 = d[2], p2 = d[3], k3 = d[4];
    double r2 = x * x + y * y;
    double radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3));
    double dradial_dr2 = k1 + r2 * (2.0 * k2 + 3.0 * r2 * k3);
    /* d(radial)/dx = dradial_dr2 * 2x, likewise for y. */
    j[0] = radial + x * dradial_dr2 * 2.0 * x + 2.0 * p1 * y + 6.0 * p2 * x;
    j[1] = x * dradial_dr2 * 2.0 * y + 2.0 * p1 * x + 2.0 * p2 * y;
    j[2] = y * dradial_dr2 * 2.0 * x + 2.0 * p1 * x + 2.0 * p2 * y;
    j[3] = radial + y * dradial_dr2 * 2.0 * y + 6.0 * p1 * y + 2.0 * p2 * x;
}

/* OpenCV's iteration: x = (xd - tangential(x)) / radial(x). Keeps the best point seen. */
static void undistort_fixed_point(const vt_camera *cam, double xd, double yd, double *x, double *y)
{
    const double *d = cam->dist;
    double bx = xd, by = yd, ex, ey;
    double best = undistort_residual(cam, bx, by, xd, yd, &ex, &ey);
    double cx = xd, cy = yd;
    for (int it = 0; it < VT__UNDIST_FIXED_ITERS && best > VT__UNDIST_TOL; it++) {
        double r2 = cx * cx + cy * cy;
        double radial = 1.0 + r2 * (d[0] + r2 * (d[1] + r2 * d[4]));
        double tx = 2.0 * d[2] * cx * cy + d[3] * (r2 + 2.0 * cx * cx);
        double ty = d[2] * (r2 + 2.0 * cy * cy) + 2.0 * d[3] * cx * cy;
        if (!(fabs(radial) > 1e-12))
            break;
        cx = (xd - tx) / radial;
        cy = (yd - ty) / radial;
        double e = undistort_residual(cam, cx, cy, xd, yd, &ex, &ey);
        if (!isfinite(e))
            break;
        if (e < best) {
            best = e;
            bx = cx;
            by = cy;
        }
    }
    *x = bx;
    *y = by;
}

/* Newton steps on distort(x, y) = (xd, yd) from (*x, *y). Returns the final residual. */
static double undistort_newton(const vt_camera *cam, double xd, double yd, double *x, double *y)
{
    double ex, ey;
    double e = undistort_residual(cam, *x, *y, xd, yd, &ex, &ey);
    for (int it = 0; it < VT__UNDIST_NEWTON_ITERS && e > VT__UNDIST_TOL; it++) {
        double j[4];
        distort_jacobian(cam, *x, *y, j);
        double det = j[0] * j[3] - j[1] * j[2];
        if (!(fabs(det) > 1e-300))
            break;
        double nx = *x - (j[3] * ex - j[1] * ey) / det;
        double ny = *y - (-j[2] * ex + j[0] * ey) / det;
        double nex, ney;
        double ne = undistort_residual(cam, nx, ny, xd, yd, &nex, &ney);
        /* Only accept steps that help: near a fold of the model Newton can jump away. */
        if (!(ne < e))
            break;
        *x = nx;
        *y = ny;
        ex = nex;
        ey = ney;
        e = ne;
    }
    return e;
}

bool vt_camera_undistort(const vt_camera *cam, double xd, double yd, double *x, double *y)
{
    if (!cam->distorted) {
        *x = xd;
        *y = yd;
        return true;
    }
    undistort_fixed_point(cam, xd, yd, x, y);
    double e = undistort_newton(cam, xd, yd, x, y);
    /* Relative to the size of the coordinates, as double precision cannot do better far out. */
    return e <= VT__UNDIST_TOL * fmax(1.0, hypot(xd, yd));
}

bool vt_camera_pixel_to_ray(const vt_camera *cam, double u, double v, vt_vec3 *origin, vt_vec3 *dir)
{
    double x, y;
    bool ok = vt_camera_undistort(cam, (u - cam->cx) / cam->fx, (v - cam->cy) / cam->fy, &x, &y);
    *origin = cam->position;
    *dir = vt_v3_normalize(vt_camera_cam_to_world_dir(cam, vt_v3(x, y, 1.0)));
    return ok;
}

bool vt_camera_world_to_pixel(const vt_camera *cam, vt_vec3 p, double *u, double *v)
{
    vt_vec3 c = vt_camera_world_to_cam(cam, p);
    if (!(c.z > 0.0))
        return false;
    double xd, yd;
    vt_camera_distort(cam, c.x / c.z, c.y / c.z, &xd, &yd);
    *u = cam->fx * xd + cam->cx;
    *v = cam->fy * yd + cam->cy;
    return true;
}

bool vt_camera_in_image(const vt_camera *cam, double u, double v)
{
    return u >= -0.5 && u < cam->width - 0.5 && v >= -0.5 && v < cam->height - 0.5;
}

vt_vec3 vt_camera_world_to_cam(const vt_camera *cam, vt_vec3 p)
{
    /* R is orthonormal, so camera_from_world is its transpose. */
    vt_vec3 d = vt_v3_sub(p, cam->position);
    const double(*m)[3] = cam->r.m;
    return vt_v3(m[0][0] * d.x + m[1][0] * d.y + m[2][0] * d.z,
                 m[0][1] * d.x + m[1][1] * d.y + m[2][1] * d.z,
                 m[0][2] * d.x + m[1][2] * d.y + m[2][2] * d.z);
}

vt_vec3 vt_camera_cam_to_world_dir(const vt_camera *cam, vt_vec3 d)
{
    return vt_m3_mul_v3(cam->r, d);
}
