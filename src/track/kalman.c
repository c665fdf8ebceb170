/*
 * src/track/kalman.c - the constant-velocity Kalman filter of a track: predict
 * and update with 3D position measurements (see kalman.h).
 *
 * The model is the discretised continuous white-noise acceleration model
 * (Bar-Shalom, Li & Kirubarajan 2001, section 6.2.2): per axis
 *   F = [1 dt; 0 1],  Q = q [dt^3/3 dt^2/2; dt^2/2 dt],  q = sigma_a^2.
 * The three axes share F and Q, so the 6x6 products are done on 3x3 blocks
 * P = [A B; B^T C] (A: position, C: velocity).
 *
 * The innovation covariance S = A + R is factored by Cholesky once; the
 * factor gives the Mahalanobis distance, ln|S| and the gain. The covariance
 * update uses the Joseph form P = (I-KH) P (I-KH)^T + K R K^T, which stays
 * symmetric and positive semi-definite in floating point even when the gain
 * is not exactly optimal; the result is symmetrised to remove rounding drift.
 */
#include <math.h>
#include <string.h>

#include "track/kalman.h"

bool vt__chol3(double A[3][3], double L[3][3])
{
    memset(L, 0, sizeof(double[3][3]));
    for (int j = 0; j < 3; j++) {
        double d = A[j][j];
        for (int k = 0; k < j; k++)
            d -= L[j][k] * L[j][k];
        /* Also refuses NaN: the comparison is false for it. */
        if (!(d > 0.0))
            return false;
        L[j][j] = sqrt(d);
        for (int i = j + 1; i < 3; i++) {
            double s = A[i][j];
            for (int k = 0; k < j; k++)
                s -= L[i][k] * L[j][k];
            L[i][j] = s / L[j][j];
        }
    }
    return true;
}

void vt__chol3_solve(const double *L, double *b, int ncols)
{
    /* L is row-major: L[3 * r + c]. */
    for (int c = 0; c < ncols; c++) {
        double y0 = b[c] / L[0];
        double y1 = (b[ncols + c] - L[3] * y0) / L[4];
        double y2 = (b[2 * ncols + c] - L[6] * y0 - L[7] * y1) / L[8];
        double x2 = y2 / L[8];
        double x1 = (y1 - L[7] * x2) / L[4];
        double x0 = (y0 - L[3] * x1 - L[6] * x2) / L[0];
        b[c] = x0;
        b[ncols + c] = x1;
        b[2 * ncols + c] = x2;
    }
}

bool vt__kf_meas_cov(const double cov[6], double min_sigma, double R[3][3])
{
    for (int i = 0; i < 6; i++)
        if (!isfinite(cov[i]))
            return false;
    double floor2 = min_sigma * min_sigma;
    R[0][0] = fmax(cov[0], floor2);
    R[1][1] = fmax(cov[3], floor2);
    R[2][2] = fmax(cov[5], floor2);
    R[0][1] = R[1][0] = cov[1];
    R[0][2] = R[2][0] = cov[2];
    R[1][2] = R[2][1] = cov[4];
    double L[3][3];
    if (!vt__chol3(R, L)) {
        /* Raising the diagonal can leave an inconsistent correlation behind;
           the variances alone are still a usable (conservative) noise. */
        R[0][1] = R[1][0] = R[0][2] = R[2][0] = R[1][2] = R[2][1] = 0.0;
    }
    return true;
}

void vt__kf_init(vt__kf *kf, vt_vec3 pos, double R[3][3], double speed_sigma)
{
    memset(kf, 0, sizeof *kf);
    kf->x[0] = pos.x;
    kf->x[1] = pos.y;
    kf->x[2] = pos.z;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            kf->P[i][j] = R[i][j];
        kf->P[3 + i][3 + i] = speed_sigma * speed_sigma;
    }
}

void vt__kf_predict(vt__kf *kf, double dt, double q)
{
    if (!(dt > 0.0))
        return;
    for (int i = 0; i < 3; i++)
        kf->x[i] += dt * kf->x[3 + i];

    /* Blocks: A' = A + dt (B + B^T) + dt^2 C + Qpp, B' = B + dt C + Qpv, C' = C + Qvv. */
    double A[3][3], B[3][3], C[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            A[i][j] = kf->P[i][j];
            B[i][j] = kf->P[i][3 + j];
            C[i][j] = kf->P[3 + i][3 + j];
        }
    double qpp = q * dt * dt * dt / 3.0, qpv = q * dt * dt / 2.0, qvv = q * dt;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double eye = i == j ? 1.0 : 0.0;
            double a = A[i][j] + dt * (B[i][j] + B[j][i]) + dt * dt * C[i][j] + eye * qpp;
            double b = B[i][j] + dt * C[i][j] + eye * qpv;
            double c = C[i][j] + eye * qvv;
            kf->P[i][j] = a;
            kf->P[i][3 + j] = b;
            kf->P[3 + j][i] = b;
            kf->P[3 + i][3 + j] = c;
        }
}

bool vt__kf_innovation(const vt__kf *kf, vt_vec3 z, double R[3][3], vt__innov *in)
{
    double S[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            in->R[i][j] = R[i][j];
            S[i][j] = kf->P[i][j] + R[i][j];
        }
    if (!vt__chol3(S, in->L))
        return false;
    in->y[0] = z.x - kf->x[0];
    in->y[1] = z.y - kf->x[1];
    in->y[2] = z.z - kf->x[2];
    /* d2 = |L^-1 y|^2: one forward substitution. */
    double(*L)[3] = in->L;
    double w0 = in->y[0] / L[0][0];
    double w1 = (in->y[1] - L[1][0] * w0) / L[1][1];
    double w2 = (in->y[2] - L[2][0] * w0 - L[2][1] * w1) / L[2][2];
    in->d2 = w0 * w0 + w1 * w1 + w2 * w2;
    in->logdet = 2.0 * (log(L[0][0]) + log(L[1][1]) + log(L[2][2]));
    return true;
}

void vt__kf_update(vt__kf *kf, const vt__innov *in, double dv[3])
{
    /* K^T = S^-1 (H P): H P is the first three rows of P. */
    double KT[3][6];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 6; j++)
            KT[i][j] = kf->P[i][j];
    vt__chol3_solve(&in->L[0][0], &KT[0][0], 6);

    for (int r = 0; r < 6; r++) {
        double c = KT[0][r] * in->y[0] + KT[1][r] * in->y[1] + KT[2][r] * in->y[2];
        kf->x[r] += c;
        if (dv && r >= 3)
            dv[r - 3] = c;
    }

    /*
     * Joseph form with M = I - K H. H = [I 0] makes M the identity minus K
     * in its first three columns, so M P = P - K (H P) and
     * (M P) M^T = M P - (M P)_{:,0:3} K^T; only the upper triangle is formed.
     */
    double MP[6][6], KR[6][3];
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 6; c++)
            MP[r][c] = kf->P[r][c] - KT[0][r] * kf->P[0][c] - KT[1][r] * kf->P[1][c] -
                       KT[2][r] * kf->P[2][c];
    for (int r = 0; r < 6; r++)
        for (int b = 0; b < 3; b++)
            KR[r][b] = KT[0][r] * in->R[0][b] + KT[1][r] * in->R[1][b] + KT[2][r] * in->R[2][b];
    for (int r = 0; r < 6; r++)
        for (int c = r; c < 6; c++) {
            double v = MP[r][c];
            for (int a = 0; a < 3; a++)
                v += (KR[r][a] - MP[r][a]) * KT[a][c];
            kf->P[r][c] = kf->P[c][r] = v;
        }
}

void vt__kf_pos_cov(const vt__kf *kf, double cov[6])
{
    cov[0] = kf->P[0][0];
    cov[1] = kf->P[0][1];
    cov[2] = kf->P[0][2];
    cov[3] = kf->P[1][1];
    cov[4] = kf->P[1][2];
    cov[5] = kf->P[2][2];
}
