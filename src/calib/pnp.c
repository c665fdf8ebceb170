/*
 * src/calib/pnp.c - the pose of a calibrated camera from 2D-3D points with
 * no prior, for cameras whose position was never surveyed.
 *
 * The direct linear transform (Hartley & Zisserman, "Multiple View
 * Geometry", 2nd ed., 7.1) on normalised image coordinates x = b.x / b.z,
 * y = b.y / b.z: each point gives two rows of A p = 0 for the 12 entries of
 * P = lambda [R | t]; p is the eigenvector of A^T A with the smallest
 * eigenvalue. The world points are first centred and scaled to a mean
 * distance of sqrt(3) (Hartley's normalisation), without which A^T A of
 * points a kilometre away is too ill-conditioned for doubles. lambda is the
 * cube root of det of P's left 3x3 (so that the rest has determinant +1),
 * the rotation is the one nearest to it (Horn), and the points must then lie
 * in front of the camera. Six points determine P; coplanar or collinear
 * points do not, and are refused.
 */
#include <math.h>
#include <string.h>

#include "calib/calib_internal.h"

/* Refuses point sets whose spread is this flat (smallest / largest axis variance). */
#define FLAT_RATIO 1e-6

bool vt__pnp_dlt(const vt_vec3 *b, const vt_vec3 *x, size_t n, vt_quat *q, vt_vec3 *c)
{
    if (n < 6)
        return false;
    vt_vec3 mean = vt_v3(0, 0, 0);
    for (size_t i = 0; i < n; i++)
        mean = vt_v3_add(mean, x[i]);
    mean = vt_v3_scale(mean, 1.0 / (double)n);
    double scatter[9] = {0}, dist = 0.0;
    for (size_t i = 0; i < n; i++) {
        vt_vec3 d = vt_v3_sub(x[i], mean);
        const double e[3] = {d.x, d.y, d.z};
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < 3; k++)
                scatter[r * 3 + k] += e[r] * e[k];
        dist += vt_v3_norm(d);
    }
    double vals[3], vecs[9];
    vt__sym_eigen(3, scatter, vals, vecs);
    if (!(vals[0] > FLAT_RATIO * vals[2]) || !(dist > 0))
        return false;
    double s = dist / (double)n / sqrt(3.0);
    double ata[144] = {0};
    for (size_t i = 0; i < n; i++) {
        if (!(b[i].z > 0))
            return false;
        double u = b[i].x / b[i].z, v = b[i].y / b[i].z;
        vt_vec3 d = vt_v3_scale(vt_v3_sub(x[i], mean), 1.0 / s);
        const double X[4] = {d.x, d.y, d.z, 1.0};
        double r1[12] = {0}, r2[12] = {0};
        for (int k = 0; k < 4; k++) {
            r1[k] = X[k];
            r1[8 + k] = -u * X[k];
            r2[4 + k] = X[k];
            r2[8 + k] = -v * X[k];
        }
        for (int a = 0; a < 12; a++)
            for (int k = a; k < 12; k++)
                ata[a * 12 + k] += r1[a] * r1[k] + r2[a] * r2[k];
    }
    for (int a = 0; a < 12; a++)
        for (int k = 0; k < a; k++)
            ata[a * 12 + k] = ata[k * 12 + a];
    double ev[12], evec[144];
    vt__sym_eigen(12, ata, ev, evec);
    if (!(ev[1] > 0))
        return false;
    double pp[12];
    for (int k = 0; k < 12; k++)
        pp[k] = evec[k * 12 + 0];
    /* Undo the normalisation: P = P' [I/s, -mean/s; 0, 1]. */
    double m[9], p4[3];
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++)
            m[r * 3 + k] = pp[r * 4 + k] / s;
        p4[r] =
            pp[r * 4 + 3] - (m[r * 3 + 0] * mean.x + m[r * 3 + 1] * mean.y + m[r * 3 + 2] * mean.z);
    }
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                 m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (!(fabs(det) > 0))
        return false;
    double lambda = cbrt(det);
    for (int k = 0; k < 9; k++)
        m[k] /= lambda;
    vt_vec3 t = vt_v3(p4[0] / lambda, p4[1] / lambda, p4[2] / lambda);
    vt_quat qcw = vt__nearest_rotation(m);
    vt_mat3 rcw = vt_q_to_m3(qcw);
    /* Cheirality: the points must be in front of the camera. */
    size_t front = 0;
    for (size_t i = 0; i < n; i++)
        front += vt_v3_add(vt_m3_mul_v3(rcw, x[i]), t).z > 0;
    if (front * 2 < n)
        return false;
    *q = vt_q_conj(qcw); /* world_from_camera */
    *c = vt_v3_scale(vt_m3_mul_v3(vt_m3_transpose(rcw), t), -1.0);
    return true;
}
