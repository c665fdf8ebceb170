/*
 * src/track/kalman.h - the constant-velocity Kalman filter of a track
 * (private to src/track/).
 *
 * State x = [px py pz vx vy vz], covariance P (6x6, kept symmetric), a 3D
 * position measurement z = H x + noise with H = [I 0] and noise covariance R.
 * Process noise: piecewise-continuous white acceleration of spectral density
 * q = process_accel^2 on each axis (Bar-Shalom, Li & Kirubarajan, Estimation
 * with Applications to Tracking and Navigation, 6.2.2).
 */
#ifndef VT_TRACK_KALMAN_H
#define VT_TRACK_KALMAN_H

#include <stdbool.h>

#include "voxtrack/math3d.h"

typedef struct vt__kf {
    double x[6];
    double P[6][6];
} vt__kf;

/* One measurement against one filter: what gating, scoring and the update share. */
typedef struct vt__innov {
    double y[3];    /* z - H x */
    double R[3][3]; /* measurement covariance (floored, symmetric) */
    double L[3][3]; /* lower Cholesky factor of S = H P H^T + R */
    double d2;      /* Mahalanobis distance squared, y^T S^-1 y */
    double logdet;  /* ln |S| */
} vt__innov;

/*
 * A detection's covariance (xx, xy, xz, yy, yz, zz) as a symmetric 3x3 with
 * every diagonal entry at least min_sigma^2. When the result is not positive
 * definite (a corrupt input) the off-diagonal terms are dropped. False when an
 * entry is not finite.
 */
bool vt__kf_meas_cov(const double cov[6], double min_sigma, double R[3][3]);

/* A new filter at position pos with covariance R, velocity 0 with sigma speed_sigma. */
void vt__kf_init(vt__kf *kf, vt_vec3 pos, double R[3][3], double speed_sigma);

/* x = F x, P = F P F^T + Q for a step of dt >= 0 seconds; q = accel sigma^2. */
void vt__kf_predict(vt__kf *kf, double dt, double q);

/*
 * The innovation of measurement z (covariance R) against the filter. False
 * when S is not positive definite (then *in is not usable).
 */
bool vt__kf_innovation(const vt__kf *kf, vt_vec3 z, double R[3][3], vt__innov *in);

/*
 * The update with an innovation computed on this very filter state, in Joseph
 * form. dv (may be NULL) receives the velocity correction K_v y.
 */
void vt__kf_update(vt__kf *kf, const vt__innov *in, double dv[3]);

/* Lower Cholesky factor of a symmetric 3x3; false when not positive definite. */
bool vt__chol3(double A[3][3], double L[3][3]);

/*
 * Solves L L^T x = b in place; L is the factor row-major (9 values), b has
 * `ncols` columns (row-major 3 x ncols).
 */
void vt__chol3_solve(const double *L, double *b, int ncols);

/* Position covariance of the filter in the (xx, xy, xz, yy, yz, zz) layout. */
void vt__kf_pos_cov(const vt__kf *kf, double cov[6]);

#endif
