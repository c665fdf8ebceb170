/*
 * src/calib/calib_internal.h - what the calibration files share: a small
 * Levenberg-Marquardt solver, dense symmetric linear algebra, rotations
 * from direction pairs, and a seeded random generator. Never installed.
 */
#ifndef VOXTRACK_CALIB_INTERNAL_H
#define VOXTRACK_CALIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/calib.h"
#include "voxtrack/math3d.h"

/* ---- linear algebra (lm.c) ---- */

/*
 * Solves A x = b for a symmetric positive definite n x n matrix A (row
 * major, overwritten by its Cholesky factor) in place of b. False when A is
 * not positive definite.
 */
bool vt__cholesky_solve(int n, double *a, double *b);

/*
 * Inverts a symmetric positive definite n x n matrix (row major) into inv.
 * False when it is not positive definite. n <= VT__LM_MAX_PARAMS.
 */
bool vt__spd_inverse(int n, const double *a, double *inv);

/*
 * Eigen-decomposition of a symmetric n x n matrix (row major, destroyed) by
 * cyclic Jacobi rotations: eigenvalues in ascending order, eigenvector k in
 * column k of vecs (row major n x n). n <= 16.
 */
void vt__sym_eigen(int n, double *a, double *vals, double *vecs);

/*
 * The rotation closest to a 3x3 matrix m in the least-squares sense (the
 * R maximising trace(R^T m)), by Horn's quaternion method: for m the sum of
 * w_i b_i^T of direction pairs it is the rotation taking every b_i nearest
 * its w_i (Horn, "Closed-form solution of absolute orientation using unit
 * quaternions", JOSA A 4(4), 1987).
 */
vt_quat vt__nearest_rotation(const double m[9]);

/* The rotation taking b1 to w1 exactly and b2 as near w2 as can be (TRIAD). */
bool vt__rotation_from_pairs(vt_vec3 b1, vt_vec3 b2, vt_vec3 w1, vt_vec3 w2, vt_mat3 *r);

/* The angle of the rotation from a to b, radians, in [0, pi]. */
double vt__q_angle(vt_quat a, vt_quat b);

/*
 * Local quadratic regression: fits y = a + b (t - t0) + c (t - t0)^2 to n
 * samples (t[j], y[j * dim .. + dim)) by weighted least squares, per
 * component, with Tukey's biweight (1 - (dt / half)^2)^2 (zero from |dt| =
 * half on, so that a sample entering the window changes the fit
 * continuously), and writes the value a and the slope b at t0. With samples
 * on both sides of t0, a and b are nearly uncorrelated, so that noise in a
 * value does not also tilt its derivative (which would bias a clock solved
 * through it). False when the samples do not determine the fit. dim <= 3.
 */
bool vt__local_quadratic(const double *t, const double *y, size_t n, int dim, double t0,
                         double half, double *value, double *slope);

/* ---- Levenberg-Marquardt (lm.c) ---- */

enum { VT__LM_MAX_PARAMS = 16 };

/* Writes the nr residuals at parameters p. */
typedef void (*vt__lm_fn)(void *user, const double *p, double *r);

typedef struct vt__lm_result {
    double cost;    /* sum of squared residuals at the end */
    int iterations; /* steps taken */
    bool converged; /* stopped by a tolerance, not by the limit */
    double cov[VT__LM_MAX_PARAMS * VT__LM_MAX_PARAMS]; /* (J^T J)^-1 * cost / (nr - np) */
    bool has_cov;
} vt__lm_result;

/*
 * Minimises the sum of squares of f(p) from p (np <= VT__LM_MAX_PARAMS
 * parameters, nr residuals) by Levenberg-Marquardt with Nielsen's damping
 * updates; the Jacobian is taken by central differences with step h[k] for
 * parameter k. p is replaced by the solution. VT_ENOMEM, or VT_EINVAL for
 * bad sizes; a problem that does not converge within max_iter steps is not
 * an error (res->converged false).
 */
vt_status vt__lm_solve(int np, size_t nr, vt__lm_fn f, void *user, double *p, const double *h,
                       int max_iter, vt__lm_result *res);

/* ---- random numbers ---- */

/* splitmix64: a well-mixed 64-bit step; the state advances. */
static inline uint64_t vt__calib_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline size_t vt__calib_pick(uint64_t *state, size_t n)
{
    return (size_t)(vt__calib_rand(state) % (uint64_t)n);
}

/* ---- the camera's bearings (calib.c) ---- */

/* The unit bearing of pixel (u, v) in the camera frame; false when undistortion fails. */
bool vt__calib_bearing(const vt_camera *cam, double u, double v, vt_vec3 *b);

/* ---- camera pose from 2D-3D points, no prior (pnp.c) ---- */

/*
 * The pose of a calibrated camera from n >= 6 bearings b (camera frame) of
 * world points x, by the direct linear transform on normalised image
 * coordinates (Hartley & Zisserman, 2nd ed., 7.1) followed by the nearest
 * rotation. Writes world_from_camera q and the centre c. False when the
 * points are degenerate (coplanar or collinear) or lie behind the camera.
 */
bool vt__pnp_dlt(const vt_vec3 *b, const vt_vec3 *x, size_t n, vt_quat *q, vt_vec3 *c);

#endif
