/*
 * voxtrack/math3d.h - vectors, unit quaternions and 3x3 matrices in double.
 *
 * Plain value types and static inline functions: they are cheap enough to
 * inline everywhere and are shared with the CUDA build (VT_HD). Quaternions
 * are (w, x, y, z), Hamilton convention, and rotate vectors as q v q*.
 * Matrices are row-major: m[r][c].
 */
#ifndef VOXTRACK_MATH3D_H
#define VOXTRACK_MATH3D_H

#include <math.h>

#include "voxtrack/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VT_PI 3.14159265358979323846

typedef struct vt_vec3 {
    double x, y, z;
} vt_vec3;

typedef struct vt_quat {
    double w, x, y, z;
} vt_quat;

typedef struct vt_mat3 {
    double m[3][3];
} vt_mat3;

VT_HD static inline vt_vec3 vt_v3(double x, double y, double z)
{
    vt_vec3 v = {x, y, z};
    return v;
}

VT_HD static inline vt_vec3 vt_v3_add(vt_vec3 a, vt_vec3 b)
{
    return vt_v3(a.x + b.x, a.y + b.y, a.z + b.z);
}
VT_HD static inline vt_vec3 vt_v3_sub(vt_vec3 a, vt_vec3 b)
{
    return vt_v3(a.x - b.x, a.y - b.y, a.z - b.z);
}
VT_HD static inline vt_vec3 vt_v3_scale(vt_vec3 a, double s)
{
    return vt_v3(a.x * s, a.y * s, a.z * s);
}
VT_HD static inline double vt_v3_dot(vt_vec3 a, vt_vec3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
VT_HD static inline double vt_v3_norm(vt_vec3 a)
{
    return sqrt(vt_v3_dot(a, a));
}

VT_HD static inline vt_vec3 vt_v3_cross(vt_vec3 a, vt_vec3 b)
{
    return vt_v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}

/* a / |a|, or the zero vector when |a| is zero. */
VT_HD static inline vt_vec3 vt_v3_normalize(vt_vec3 a)
{
    double n = vt_v3_norm(a);
    return n > 0.0 ? vt_v3_scale(a, 1.0 / n) : vt_v3(0.0, 0.0, 0.0);
}

VT_HD static inline double vt_deg2rad(double deg)
{
    return deg * (VT_PI / 180.0);
}
VT_HD static inline double vt_rad2deg(double rad)
{
    return rad * (180.0 / VT_PI);
}

VT_HD static inline vt_mat3 vt_m3_identity(void)
{
    vt_mat3 r = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    return r;
}

VT_HD static inline vt_mat3 vt_m3_mul(vt_mat3 a, vt_mat3 b)
{
    vt_mat3 r;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r.m[i][j] = a.m[i][0] * b.m[0][j] + a.m[i][1] * b.m[1][j] + a.m[i][2] * b.m[2][j];
    return r;
}

VT_HD static inline vt_mat3 vt_m3_transpose(vt_mat3 a)
{
    vt_mat3 r;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r.m[i][j] = a.m[j][i];
    return r;
}

VT_HD static inline vt_vec3 vt_m3_mul_v3(vt_mat3 a, vt_vec3 v)
{
    return vt_v3(a.m[0][0] * v.x + a.m[0][1] * v.y + a.m[0][2] * v.z,
                 a.m[1][0] * v.x + a.m[1][1] * v.y + a.m[1][2] * v.z,
                 a.m[2][0] * v.x + a.m[2][1] * v.y + a.m[2][2] * v.z);
}

VT_HD static inline double vt_m3_det(vt_mat3 a)
{
    return a.m[0][0] * (a.m[1][1] * a.m[2][2] - a.m[1][2] * a.m[2][1]) -
           a.m[0][1] * (a.m[1][0] * a.m[2][2] - a.m[1][2] * a.m[2][0]) +
           a.m[0][2] * (a.m[1][0] * a.m[2][1] - a.m[1][1] * a.m[2][0]);
}

VT_HD static inline vt_quat vt_q_identity(void)
{
    vt_quat q = {1.0, 0.0, 0.0, 0.0};
    return q;
}

VT_HD static inline double vt_q_norm(vt_quat q)
{
    return sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
}

VT_HD static inline vt_quat vt_q_normalize(vt_quat q)
{
    double n = vt_q_norm(q);
    vt_quat r = {q.w / n, q.x / n, q.y / n, q.z / n};
    return r;
}

VT_HD static inline vt_quat vt_q_conj(vt_quat q)
{
    vt_quat r = {q.w, -q.x, -q.y, -q.z};
    return r;
}

/* Hamilton product a * b: rotate by b first, then by a. */
VT_HD static inline vt_quat vt_q_mul(vt_quat a, vt_quat b)
{
    vt_quat r = {a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
                 a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
                 a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
                 a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
    return r;
}

/* Rotation of angle (radians) about a unit axis. */
VT_HD static inline vt_quat vt_q_from_axis_angle(vt_vec3 axis, double angle)
{
    double s = sin(0.5 * angle);
    vt_quat q = {cos(0.5 * angle), axis.x * s, axis.y * s, axis.z * s};
    return q;
}

/* The rotation matrix of a unit quaternion. */
VT_HD static inline vt_mat3 vt_q_to_m3(vt_quat q)
{
    double w = q.w, x = q.x, y = q.y, z = q.z;
    vt_mat3 r = {{{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
                  {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
                  {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}}};
    return r;
}

/* q v q* for a unit quaternion q. */
VT_HD static inline vt_vec3 vt_q_rotate(vt_quat q, vt_vec3 v)
{
    /* v + 2 w (u x v) + 2 u x (u x v), with u the vector part: fewer products than the matrix. */
    vt_vec3 u = vt_v3(q.x, q.y, q.z);
    vt_vec3 t = vt_v3_scale(vt_v3_cross(u, v), 2.0);
    return vt_v3_add(vt_v3_add(v, vt_v3_scale(t, q.w)), vt_v3_cross(u, t));
}

/*
 * The unit quaternion of a rotation matrix (Shepperd's method: pivot on the
 * largest diagonal term for stability), with w >= 0.
 */
VT_HD static inline vt_quat vt_m3_to_q(vt_mat3 r)
{
    vt_quat q;
    double tr = r.m[0][0] + r.m[1][1] + r.m[2][2];
    if (tr > 0.0) {
        double s = sqrt(tr + 1.0) * 2.0;
        q.w = 0.25 * s;
        q.x = (r.m[2][1] - r.m[1][2]) / s;
        q.y = (r.m[0][2] - r.m[2][0]) / s;
        q.z = (r.m[1][0] - r.m[0][1]) / s;
    } else if (r.m[0][0] > r.m[1][1] && r.m[0][0] > r.m[2][2]) {
        double s = sqrt(1.0 + r.m[0][0] - r.m[1][1] - r.m[2][2]) * 2.0;
        q.w = (r.m[2][1] - r.m[1][2]) / s;
        q.x = 0.25 * s;
        q.y = (r.m[0][1] + r.m[1][0]) / s;
        q.z = (r.m[0][2] + r.m[2][0]) / s;
    } else if (r.m[1][1] > r.m[2][2]) {
        double s = sqrt(1.0 + r.m[1][1] - r.m[0][0] - r.m[2][2]) * 2.0;
        q.w = (r.m[0][2] - r.m[2][0]) / s;
        q.x = (r.m[0][1] + r.m[1][0]) / s;
        q.y = 0.25 * s;
        q.z = (r.m[1][2] + r.m[2][1]) / s;
    } else {
        double s = sqrt(1.0 + r.m[2][2] - r.m[0][0] - r.m[1][1]) * 2.0;
        q.w = (r.m[1][0] - r.m[0][1]) / s;
        q.x = (r.m[0][2] + r.m[2][0]) / s;
        q.y = (r.m[1][2] + r.m[2][1]) / s;
        q.z = 0.25 * s;
    }
    if (q.w < 0.0) {
        q.w = -q.w;
        q.x = -q.x;
        q.y = -q.y;
        q.z = -q.z;
    }
    return vt_q_normalize(q);
}

/*
 * The unit quaternion of a rotation vector (axis times angle, radians): the
 * exponential map. Exact for every angle; below 1e-5 rad the series of
 * sin(x/2)/x keeps full precision where the division would not.
 */
VT_HD static inline vt_quat vt_q_from_rotvec(vt_vec3 r)
{
    double a2 = vt_v3_dot(r, r), a = sqrt(a2);
    double c, s; /* cos(a/2), sin(a/2)/a */
    if (a < 1e-5) {
        c = 1.0 - a2 / 8.0;
        s = 0.5 - a2 / 48.0;
    } else {
        c = cos(0.5 * a);
        s = sin(0.5 * a) / a;
    }
    vt_quat q = {c, r.x * s, r.y * s, r.z * s};
    return q;
}

/*
 * Spherical linear interpolation from unit quaternion a (u = 0) to b (u = 1)
 * along the shorter arc (q and -q are the same rotation), at constant angular
 * rate. Close quaternions (angle below 1e-6 rad) are interpolated linearly
 * and normalised, which is exact to rounding there.
 */
VT_HD static inline vt_quat vt_q_slerp(vt_quat a, vt_quat b, double u)
{
    double d = a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z;
    if (d < 0.0) {
        d = -d;
        b.w = -b.w;
        b.x = -b.x;
        b.y = -b.y;
        b.z = -b.z;
    }
    /* The angle from the chord, |a - b| = 2 sin(th / 2): acos(d) loses digits near d = 1. */
    double cx = a.w - b.w, cy = a.x - b.x, cz = a.y - b.y, cw = a.z - b.z;
    double half = 0.5 * sqrt(cx * cx + cy * cy + cz * cz + cw * cw);
    double ka = 1.0 - u, kb = u;
    if (half > 5e-7) {
        double th = 2.0 * asin(half < 1.0 ? half : 1.0), s = sin(th);
        ka = sin((1.0 - u) * th) / s;
        kb = sin(u * th) / s;
    }
    vt_quat q = {ka * a.w + kb * b.w, ka * a.x + kb * b.x, ka * a.y + kb * b.y,
                 ka * a.z + kb * b.z};
    return vt_q_normalize(q);
}

#ifdef __cplusplus
}
#endif

#endif
