/*
 * src/calib/lm.c - the numerical core of calibration: Levenberg-Marquardt
 * on a few parameters, Cholesky and Jacobi for small symmetric matrices,
 * and rotations from directions.
 *
 * Why not a library: the problems here have 4 to 10 parameters and a few
 * thousand residuals, so the normal equations are a 10 x 10 matrix and the
 * whole solver is a page. Debian's candidates are Ceres (C++, a large
 * dependency for this) and GSL's multifit_nlinear (C, but it would bring a
 * second matrix type and its own error handler into a library that has
 * neither); cminpack is not packaged for C with a stable API. A plain solver
 * keeps the arithmetic visible and the tests in charge of it.
 *
 * Levenberg-Marquardt follows Madsen, Nielsen & Tingleff, "Methods for
 * non-linear least squares problems" (2004), section 3.2: the damping mu
 * starts at 1e-3 times the largest diagonal of J^T J, grows by nu (doubling)
 * after a rejected step, and shrinks by max(1/3, 1 - (2 rho - 1)^3) after an
 * accepted one, where rho compares the actual and predicted decrease. The
 * Jacobian is taken by central differences: the residual functions are
 * smooth (cubic Hermite track, pinhole with distortion), and exact
 * derivatives of the clock through the track would cost more code than they
 * save.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib_internal.h"
#include "core/internal.h"

/* ------------------------------------------------------------------------ */
/* Small symmetric matrices                                                  */

bool vt__cholesky_solve(int n, double *a, double *b)
{
    for (int j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0.0))
            return false;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double s = a[i * n + j];
            for (int k = 0; k < j; k++)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
    }
    for (int i = 0; i < n; i++) { /* L y = b */
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= a[i * n + k] * b[k];
        b[i] = s / a[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) { /* L^T x = y */
        double s = b[i];
        for (int k = i + 1; k < n; k++)
            s -= a[k * n + i] * b[k];
        b[i] = s / a[i * n + i];
    }
    return true;
}

bool vt__spd_inverse(int n, const double *a, double *inv)
{
    if (n <= 0 || n > VT__LM_MAX_PARAMS)
        return false;
    double l[VT__LM_MAX_PARAMS * VT__LM_MAX_PARAMS], col[VT__LM_MAX_PARAMS];
    for (int c = 0; c < n; c++) {
        memcpy(l, a, (size_t)(n * n) * sizeof *l);
        for (int i = 0; i < n; i++)
            col[i] = i == c ? 1.0 : 0.0;
        if (!vt__cholesky_solve(n, l, col))
            return false;
        for (int i = 0; i < n; i++)
            inv[i * n + c] = col[i];
    }
    return true;
}

void vt__sym_eigen(int n, double *a, double *vals, double *vecs)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            vecs[i * n + j] = i == j ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 64; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < n; i++) {
            diag += a[i * n + i] * a[i * n + i];
            for (int j = i + 1; j < n; j++)
                off += a[i * n + j] * a[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0.0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0.0)
                    continue;
                /* The rotation that zeroes a[p][q] (Golub & Van Loan, 8.5.2). */
                double tau = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                for (int k = 0; k < n; k++) {
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = vecs[k * n + p], vkq = vecs[k * n + q];
                    vecs[k * n + p] = c * vkp - s * vkq;
                    vecs[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    /* Ascending order, vectors along (selection sort: n is small). */
    for (int i = 0; i < n; i++)
        vals[i] = a[i * n + i];
    for (int i = 0; i < n; i++) {
        int m = i;
        for (int j = i + 1; j < n; j++)
            if (vals[j] < vals[m])
                m = j;
        if (m == i)
            continue;
        double t = vals[i];
        vals[i] = vals[m];
        vals[m] = t;
        for (int k = 0; k < n; k++) {
            t = vecs[k * n + i];
            vecs[k * n + i] = vecs[k * n + m];
            vecs[k * n + m] = t;
        }
    }
}

bool vt__local_quadratic(const double *t, const double *y, size_t n, int dim, double t0,
                         double half, double *value, double *slope)
{
    if (n < 3 || dim < 1 || dim > 3 || !(half > 0))
        return false;
    /* Normal equations of the basis 1, x, x^2 with x = (t - t0) / half, biweights. */
    double m[9] = {0}, rhs[3][3] = {{0}};
    for (size_t j = 0; j < n; j++) {
        double x = (t[j] - t0) / half, q = 1.0 - x * x;
        if (!(q > 0))
            continue;
        double wt = q * q, b[3] = {1.0, x, x * x};
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++)
                m[r * 3 + c] += wt * b[r] * b[c];
            for (int k = 0; k < dim; k++)
                rhs[k][r] += wt * b[r] * y[j * (size_t)dim + (size_t)k];
        }
    }
    for (int k = 0; k < dim; k++) {
        double a[9], sol[3] = {rhs[k][0], rhs[k][1], rhs[k][2]};
        memcpy(a, m, sizeof a);
        if (!vt__cholesky_solve(3, a, sol))
            return false;
        value[k] = sol[0];
        slope[k] = sol[1] / half;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Rotations                                                                 */

vt_quat vt__nearest_rotation(const double m[9])
{
    /*
     * Horn's S_ab is the sum of b_a w_b, so m = S^T: the names below are
     * those of m's entries, and N is written for them (its antisymmetric
     * terms change sign with the transpose). The top eigenvector of N is the
     * quaternion (w, x, y, z).
     */
    double sxx = m[0], sxy = m[1], sxz = m[2], syx = m[3], syy = m[4], syz = m[5], szx = m[6],
           szy = m[7], szz = m[8];
    double n4[16] = {sxx + syy + szz, szy - syz,       sxz - szx,        syx - sxy,
                     szy - syz,       sxx - syy - szz, sxy + syx,        szx + sxz,
                     sxz - szx,       sxy + syx,       -sxx + syy - szz, syz + szy,
                     syx - sxy,       szx + sxz,       syz + szy,        -sxx - syy + szz};
    double vals[4], vecs[16];
    vt__sym_eigen(4, n4, vals, vecs);
    vt_quat q = {vecs[3], vecs[7], vecs[11], vecs[15]};
    return vt_q_normalize(q);
}

bool vt__rotation_from_pairs(vt_vec3 b1, vt_vec3 b2, vt_vec3 w1, vt_vec3 w2, vt_mat3 *r)
{
    vt_vec3 bn = vt_v3_cross(b1, b2), wn = vt_v3_cross(w1, w2);
    double lb = vt_v3_norm(bn), lw = vt_v3_norm(wn);
    if (!(lb > 1e-9) || !(lw > 1e-9))
        return false;
    bn = vt_v3_scale(bn, 1.0 / lb);
    wn = vt_v3_scale(wn, 1.0 / lw);
    vt_vec3 b3 = vt_v3_cross(b1, bn), w3 = vt_v3_cross(w1, wn);
    /* r = [w1 wn w3] [b1 bn b3]^T */
    const vt_vec3 bs[3] = {b1, bn, b3}, ws[3] = {w1, wn, w3};
    double a[9] = {0};
    for (int k = 0; k < 3; k++) {
        const double wk[3] = {ws[k].x, ws[k].y, ws[k].z}, bk[3] = {bs[k].x, bs[k].y, bs[k].z};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                a[i * 3 + j] += wk[i] * bk[j];
    }
    memcpy(r->m, a, sizeof a);
    return true;
}

double vt__q_angle(vt_quat a, vt_quat b)
{
    /* atan2 of the vector part of a* b over its scalar part: exact near 0, unlike acos. */
    vt_quat d = vt_q_mul(vt_q_conj(vt_q_normalize(a)), vt_q_normalize(b));
    double v = sqrt(d.x * d.x + d.y * d.y + d.z * d.z);
    return 2.0 * atan2(v, fabs(d.w));
}

/* ------------------------------------------------------------------------ */
/* Levenberg-Marquardt                                                       */

static double sum_squares(const double *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += r[i] * r[i];
    return s;
}

/* J^T J and J^T r with J by central differences; r holds f(p). */
static void normal_equations(int np, size_t nr, vt__lm_fn f, void *user, const double *p,
                             const double *h, const double *r, double *jac, double *work,
                             double *jtj, double *jtr)
{
    double q[VT__LM_MAX_PARAMS];
    memcpy(q, p, (size_t)np * sizeof *q);
    for (int k = 0; k < np; k++) {
        double *col = jac + (size_t)k * nr;
        q[k] = p[k] + h[k];
        f(user, q, col);
        q[k] = p[k] - h[k];
        f(user, q, work);
        q[k] = p[k];
        for (size_t i = 0; i < nr; i++)
            col[i] = (col[i] - work[i]) / (2.0 * h[k]);
    }
    for (int a = 0; a < np; a++) {
        const double *ca = jac + (size_t)a * nr;
        double s = 0.0;
        for (size_t i = 0; i < nr; i++)
            s += ca[i] * r[i];
        jtr[a] = s;
        for (int b = a; b < np; b++) {
            const double *cb = jac + (size_t)b * nr;
            double t = 0.0;
            for (size_t i = 0; i < nr; i++)
                t += ca[i] * cb[i];
            jtj[a * np + b] = jtj[b * np + a] = t;
        }
    }
}

vt_status vt__lm_solve(int np, size_t nr, vt__lm_fn f, void *user, double *p, const double *h,
                       int max_iter, vt__lm_result *res)
{
    memset(res, 0, sizeof *res);
    if (np <= 0 || np > VT__LM_MAX_PARAMS || nr < (size_t)np)
        return vt__error(VT_EINVAL, "calibration: %zu residuals for %d parameters", nr, np);
    if (nr > SIZE_MAX / sizeof(double) / (size_t)(np + 3))
        return vt__error(VT_ENOMEM, "calibration: too many residuals (%zu)", nr);
    double *mem = malloc(nr * (size_t)(np + 3) * sizeof *mem);
    if (!mem)
        return vt__error(VT_ENOMEM, "calibration: out of memory for %zu residuals", nr);
    double *r = mem, *work = r + nr, *trial = work + nr, *jac = trial + nr;
    double jtj[VT__LM_MAX_PARAMS * VT__LM_MAX_PARAMS], jtr[VT__LM_MAX_PARAMS];
    double a[VT__LM_MAX_PARAMS * VT__LM_MAX_PARAMS], step[VT__LM_MAX_PARAMS], pn[VT__LM_MAX_PARAMS];
    f(user, p, r);
    double cost = sum_squares(r, nr);
    normal_equations(np, nr, f, user, p, h, r, jac, work, jtj, jtr);
    double mu = 0.0, nu = 2.0;
    for (int k = 0; k < np; k++)
        mu = fmax(mu, jtj[k * np + k]);
    mu = 1e-3 * (mu > 0 ? mu : 1.0);
    int it = 0;
    bool converged = false;
    while (it < max_iter && !converged) {
        double gmax = 0.0;
        for (int k = 0; k < np; k++)
            gmax = fmax(gmax, fabs(jtr[k]));
        if (gmax <= 1e-14 * (cost + 1e-300) || cost == 0.0) {
            converged = true;
            break;
        }
        memcpy(a, jtj, (size_t)(np * np) * sizeof *a);
        for (int k = 0; k < np; k++) {
            a[k * np + k] += mu;
            step[k] = -jtr[k];
        }
        it++;
        if (!vt__cholesky_solve(np, a, step)) {
            mu *= nu;
            nu *= 2.0;
            continue;
        }
        double snorm = 0.0, pnorm = 0.0;
        for (int k = 0; k < np; k++) {
            pn[k] = p[k] + step[k];
            snorm += step[k] * step[k];
            pnorm += p[k] * p[k];
        }
        if (sqrt(snorm) <= 1e-13 * (sqrt(pnorm) + 1e-13)) {
            converged = true;
            break;
        }
        f(user, pn, trial);
        double cn = sum_squares(trial, nr);
        /* Predicted decrease: step^T (mu step - J^T r). */
        double pred = 0.0;
        for (int k = 0; k < np; k++)
            pred += step[k] * (mu * step[k] - jtr[k]);
        double rho = pred > 0 ? (cost - cn) / pred : -1.0;
        if (rho > 0 && isfinite(cn)) {
            bool small = cost - cn <= 1e-12 * cost;
            memcpy(p, pn, (size_t)np * sizeof *p);
            memcpy(r, trial, nr * sizeof *r);
            cost = cn;
            normal_equations(np, nr, f, user, p, h, r, jac, work, jtj, jtr);
            double t = 2.0 * rho - 1.0;
            mu *= fmax(1.0 / 3.0, 1.0 - t * t * t);
            nu = 2.0;
            converged = small;
        } else {
            mu *= nu;
            nu *= 2.0;
            if (!(mu < 1e30))
                converged = true; /* no step decreases the cost: a minimum */
        }
    }
    res->cost = cost;
    res->iterations = it;
    res->converged = converged;
    if (nr > (size_t)np && vt__spd_inverse(np, jtj, res->cov)) {
        double s2 = cost / (double)(nr - (size_t)np);
        for (int k = 0; k < np * np; k++)
            res->cov[k] *= s2;
        res->has_cov = true;
    }
    free(mem);
    return VT_OK;
}
