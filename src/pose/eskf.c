/*
 * src/pose/eskf.c - the error-state Kalman filter of a moving body on IMU,
 * GNSS position, dual-antenna heading and landmark bearings (voxtrack/pose.h).
 *
 * Following J. Sola, "Quaternion kinematics for the error-state Kalman filter"
 * (arXiv:1711.02508, 2017): the nominal state (p, v, q, accel bias, gyro bias)
 * is integrated from the IMU without noise; a 15-component error state
 * (dp, dv, dtheta, dba, dbg), with dtheta a rotation vector in the body frame
 * (q_true = q * exp(dtheta), his "local" error of section 7), carries the
 * uncertainty as a Gaussian. Each measurement estimates the error, which is
 * injected into the nominal state and reset to zero (his 7.3: the covariance
 * is transformed by G = diag(I, I, I - [dtheta/2]x, I, I)).
 *
 * Integration departs from his Euler step (5.4.1) where the difference is
 * measurable: between samples k and k+1 the rate and the specific force are
 * taken as linear in time, so the orientation turns by the mean rate plus the
 * coning term (w0 x w1) dt^2 / 12 (Savage, "Strapdown inertial navigation
 * integration algorithm design", JGCD 1998), the world acceleration A(t) is
 * linear between A0 = R0 f0 + g and A1 = R1 f1 + g, and v += (A0 + A1) dt / 2,
 * p += v dt + (A0 / 3 + A1 / 6) dt^2 are exact for it. On a smooth trajectory
 * sampled at 1 kHz this keeps the drift of noise-free integration below a
 * micrometre over seconds, where the Euler step drifts millimetres.
 *
 * The covariance step P <- F P F^T + Q uses the structure of F instead of
 * 15x15 products: F differs from the identity only in the blocks
 *   F[p][v] = I dt, F[v][theta] = -R0 [fm]x dt, F[v][ba] = -R0 dt,
 *   F[theta][theta] = exp(wm dt)^T, F[theta][bg] = -I dt
 * (Sola eq. 269), so F P and (F P) F^T are a few 3x3-block row and column
 * operations, about 900 multiply-adds. Updates use the Joseph form and are
 * symmetrised, as the track filter does (src/track/kalman.c).
 *
 * A measurement at time t near the filter's time (within max_lag) is compared
 * with the state moved to t along the last velocity, acceleration and rate:
 * a GNSS fix 1 ms away from the last IMU step of a vehicle at 10 m/s would
 * otherwise be off by a centimetre. The Jacobian gains tau I on dv.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/pose.h"

#define N VT_ESKF_DIM

struct vt_eskf {
    vt_eskf_opts o;
    vt_eskf_state x;
    double P[N][N];
    bool set;         /* a state was given */
    bool have_sample; /* gyro, accel hold the last sample */
    vt_vec3 gyro, accel;
    vt_vec3 w;       /* last bias-corrected rate, body frame */
    vt_vec3 a_world; /* last acceleration, world frame */
};

static void symmetrise(double P[N][N]);

vt_eskf_opts vt_eskf_opts_default(void)
{
    vt_eskf_opts o;
    memset(&o, 0, sizeof o);
    o.gyro_noise = 3.2e-5;
    o.accel_noise = 6.3e-4;
    o.gyro_walk = 1e-6;
    o.accel_walk = 1e-5;
    o.gravity = 9.80665;
    o.max_imu_gap = 0.1;
    o.max_lag = 0.05;
    o.heading_baseline = vt_v3(1.0, 0.0, 0.0);
    o.gate = true;
    return o;
}

static bool finite3(vt_vec3 v)
{
    return isfinite(v.x) && isfinite(v.y) && isfinite(v.z);
}

vt_status vt_eskf_new(const vt_eskf_opts *opts, vt_eskf **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_eskf_new: out is NULL");
    *out = NULL;
    vt_eskf_opts o = opts ? *opts : vt_eskf_opts_default();
    const double dens[] = {o.gyro_noise, o.accel_noise, o.gyro_walk, o.accel_walk};
    const char *names[] = {"gyro_noise", "accel_noise", "gyro_walk", "accel_walk"};
    for (int i = 0; i < 4; i++)
        if (!(dens[i] >= 0.0 && isfinite(dens[i])))
            return vt__error(VT_EINVAL, "eskf: %s must be finite and >= 0", names[i]);
    if (!(o.gravity >= 0.0 && isfinite(o.gravity)))
        return vt__error(VT_EINVAL, "eskf: gravity must be finite and >= 0");
    if (!(o.max_imu_gap > 0.0) || !(o.max_lag > 0.0))
        return vt__error(VT_EINVAL, "eskf: max_imu_gap and max_lag must be > 0");
    if (!finite3(o.gps_lever_arm) || !finite3(o.heading_baseline))
        return vt__error(VT_EINVAL, "eskf: gps_lever_arm and heading_baseline must be finite");
    if (vt_v3_norm(o.heading_baseline) < 1e-3)
        return vt__error(VT_EINVAL, "eskf: heading_baseline must be at least 1 mm long");
    vt_eskf *f = calloc(1, sizeof *f);
    if (!f)
        return vt__error(VT_ENOMEM, "eskf: out of memory");
    f->o = o;
    f->x.q = vt_q_identity();
    *out = f;
    return VT_OK;
}

void vt_eskf_free(vt_eskf *f)
{
    free(f);
}

vt_status vt_eskf_set_state(vt_eskf *f, const vt_eskf_state *x, const double sd[N])
{
    if (!f || !x || !sd)
        return vt__error(VT_EINVAL, "vt_eskf_set_state: NULL argument");
    if (!isfinite(x->t) || !finite3(x->p) || !finite3(x->v) || !finite3(x->accel_bias) ||
        !finite3(x->gyro_bias))
        return vt__error(VT_EINVAL, "eskf: the state must be finite");
    double n = vt_q_norm(x->q);
    if (!(fabs(n - 1.0) <= 1e-6))
        return vt__error(VT_EINVAL, "eskf: the orientation quaternion has norm %.9g, not 1", n);
    for (int i = 0; i < N; i++)
        if (!(sd[i] >= 0.0 && isfinite(sd[i])))
            return vt__error(VT_EINVAL, "eskf: standard deviation %d must be finite and >= 0", i);
    f->x = *x;
    f->x.q = vt_q_normalize(x->q);
    memset(f->P, 0, sizeof f->P);
    for (int i = 0; i < N; i++)
        f->P[i][i] = sd[i] * sd[i];
    f->set = true;
    f->have_sample = false;
    f->w = f->a_world = vt_v3(0, 0, 0);
    return VT_OK;
}

vt_status vt_eskf_set_cov(vt_eskf *f, const double *cov)
{
    if (!f || !cov)
        return vt__error(VT_EINVAL, "vt_eskf_set_cov: NULL argument");
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (!isfinite(cov[i * N + j]) || (i == j && cov[i * N + j] < 0.0))
                return vt__error(VT_EINVAL,
                                 "eskf: covariance entry (%d, %d) = %g: must be finite, "
                                 "the diagonal >= 0",
                                 i, j, cov[i * N + j]);
    memcpy(f->P, cov, sizeof f->P);
    symmetrise(f->P);
    return VT_OK;
}

void vt_eskf_set_gate(vt_eskf *f, bool on)
{
    if (f)
        f->o.gate = on;
}

void vt_eskf_get(const vt_eskf *f, vt_eskf_state *x, double *cov)
{
    if (!f)
        return;
    if (x)
        *x = f->x;
    if (cov)
        memcpy(cov, f->P, sizeof f->P);
}

/* ---- small linear algebra ------------------------------------------------ */

static vt_mat3 skew(vt_vec3 v)
{
    vt_mat3 m = {{{0, -v.z, v.y}, {v.z, 0, -v.x}, {-v.y, v.x, 0}}};
    return m;
}

static vt_mat3 m3_scale(vt_mat3 a, double s)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            a.m[i][j] *= s;
    return a;
}

/* rows [r, r+3) of P <- M * rows [s, s+3) of P, added (dst may not overlap src). */
static void rows_madd(double P[N][N], int r, const vt_mat3 *M, int s)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < N; j++)
            P[r + i][j] +=
                M->m[i][0] * P[s][j] + M->m[i][1] * P[s + 1][j] + M->m[i][2] * P[s + 2][j];
}

/* columns [c, c+3) of P += columns [s, s+3) of P times M^T. */
static void cols_madd(double P[N][N], int c, const vt_mat3 *M, int s)
{
    for (int i = 0; i < N; i++) {
        double a = P[i][s], b = P[i][s + 1], d = P[i][s + 2];
        for (int j = 0; j < 3; j++)
            P[i][c + j] += M->m[j][0] * a + M->m[j][1] * b + M->m[j][2] * d;
    }
}

static void symmetrise(double P[N][N])
{
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            P[i][j] = P[j][i] = 0.5 * (P[i][j] + P[j][i]);
}

/*
 * P <- F P F^T for the F of one step (see the top of the file): M = -R0 [fm]x dt,
 * Nb = -R0 dt, E = exp(wm dt)^T.
 */
static void propagate_cov(double P[N][N], double dt, const vt_mat3 *M, const vt_mat3 *Nb,
                          const vt_mat3 *E)
{
    /* Rows, in an order where each block reads rows not yet changed. */
    for (int j = 0; j < N; j++)
        for (int i = 0; i < 3; i++)
            P[VT_ESKF_P + i][j] += dt * P[VT_ESKF_V + i][j];
    rows_madd(P, VT_ESKF_V, M, VT_ESKF_THETA);
    rows_madd(P, VT_ESKF_V, Nb, VT_ESKF_BA);
    double th[3][N];
    memcpy(th, P[VT_ESKF_THETA], sizeof th);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < N; j++)
            P[VT_ESKF_THETA + i][j] = E->m[i][0] * th[0][j] + E->m[i][1] * th[1][j] +
                                      E->m[i][2] * th[2][j] - dt * P[VT_ESKF_BG + i][j];
    /* Columns, likewise. */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 3; j++)
            P[i][VT_ESKF_P + j] += dt * P[i][VT_ESKF_V + j];
    cols_madd(P, VT_ESKF_V, M, VT_ESKF_THETA);
    cols_madd(P, VT_ESKF_V, Nb, VT_ESKF_BA);
    for (int i = 0; i < N; i++) {
        double a = P[i][VT_ESKF_THETA], b = P[i][VT_ESKF_THETA + 1], c = P[i][VT_ESKF_THETA + 2];
        for (int j = 0; j < 3; j++)
            P[i][VT_ESKF_THETA + j] =
                E->m[j][0] * a + E->m[j][1] * b + E->m[j][2] * c - dt * P[i][VT_ESKF_BG + j];
    }
}

/* ---- propagation ------------------------------------------------------------ */

vt_status vt_eskf_imu(vt_eskf *f, double t, vt_vec3 gyro, vt_vec3 accel)
{
    if (!f)
        return vt__error(VT_EINVAL, "vt_eskf_imu: NULL filter");
    if (!f->set)
        return vt__error(VT_EINVAL, "eskf: IMU sample before the state was set");
    if (!isfinite(t) || !finite3(gyro) || !finite3(accel))
        return vt__error(VT_EINVAL, "eskf: IMU sample at t = %.9g s is not finite", t);
    double dt = t - f->x.t;
    if (dt == 0.0 && !f->have_sample) {
        /* A first sample at the state's time only starts the integration. */
        f->gyro = gyro;
        f->accel = accel;
        f->have_sample = true;
        f->w = vt_v3_sub(gyro, f->x.gyro_bias);
        f->a_world = vt_v3_add(vt_q_rotate(f->x.q, vt_v3_sub(accel, f->x.accel_bias)),
                               vt_v3(0.0, 0.0, -f->o.gravity));
        return VT_OK;
    }
    if (!(dt > 0.0))
        return vt__error(VT_EINVAL,
                         "eskf: IMU sample at t = %.9f s is not after the filter's time %.9f s", t,
                         f->x.t);
    if (dt > f->o.max_imu_gap)
        return vt__error(
            VT_ERANGE, "eskf: IMU sample at t = %.9f s is %.6g s after the last (max_imu_gap %g s)",
            t, dt, f->o.max_imu_gap);
    vt_eskf_state *x = &f->x;
    vt_vec3 g0 = f->have_sample ? f->gyro : gyro, a0 = f->have_sample ? f->accel : accel;
    vt_vec3 w0 = vt_v3_sub(g0, x->gyro_bias), w1 = vt_v3_sub(gyro, x->gyro_bias);
    vt_vec3 f0 = vt_v3_sub(a0, x->accel_bias), f1 = vt_v3_sub(accel, x->accel_bias);
    vt_vec3 wm = vt_v3_scale(vt_v3_add(w0, w1), 0.5);
    vt_vec3 phi = vt_v3_add(vt_v3_scale(wm, dt), vt_v3_scale(vt_v3_cross(w0, w1), dt * dt / 12.0));
    vt_quat dq = vt_q_from_rotvec(phi);
    vt_mat3 R0 = vt_q_to_m3(x->q);
    vt_quat q1 = vt_q_normalize(vt_q_mul(x->q, dq));
    vt_vec3 g = vt_v3(0.0, 0.0, -f->o.gravity);
    vt_vec3 A0 = vt_v3_add(vt_m3_mul_v3(R0, f0), g);
    vt_vec3 A1 = vt_v3_add(vt_q_rotate(q1, f1), g);
    x->p = vt_v3_add(
        vt_v3_add(x->p, vt_v3_scale(x->v, dt)),
        vt_v3_scale(vt_v3_add(vt_v3_scale(A0, 1.0 / 3.0), vt_v3_scale(A1, 1.0 / 6.0)), dt * dt));
    x->v = vt_v3_add(x->v, vt_v3_scale(vt_v3_add(A0, A1), 0.5 * dt));
    x->q = q1;
    x->t = t;

    vt_vec3 fm = vt_v3_scale(vt_v3_add(f0, f1), 0.5);
    vt_mat3 M = m3_scale(vt_m3_mul(R0, skew(fm)), -dt);
    vt_mat3 Nb = m3_scale(R0, -dt);
    vt_mat3 E = vt_m3_transpose(vt_q_to_m3(dq));
    propagate_cov(f->P, dt, &M, &Nb, &E);
    const double qd[4] = {f->o.accel_noise, f->o.gyro_noise, f->o.accel_walk, f->o.gyro_walk};
    const int at[4] = {VT_ESKF_V, VT_ESKF_THETA, VT_ESKF_BA, VT_ESKF_BG};
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 3; i++)
            f->P[at[b] + i][at[b] + i] += qd[b] * qd[b] * dt;
    symmetrise(f->P);

    f->gyro = gyro;
    f->accel = accel;
    f->have_sample = true;
    f->w = w1;
    f->a_world = A1;
    return VT_OK;
}

/* ---- measurements ------------------------------------------------------------ */

/* The state moved by tau seconds along the last motion. */
typedef struct moved {
    double tau;
    vt_vec3 p;
    vt_quat q;
    vt_mat3 R;
} moved;

static vt_status move_to(const vt_eskf *f, double t, const char *what, moved *m)
{
    if (!f->set)
        return vt__error(VT_EINVAL, "eskf: %s before the state was set", what);
    double tau = t - f->x.t;
    if (!(fabs(tau) <= f->o.max_lag))
        return vt__error(
            VT_ERANGE,
            "eskf: %s at t = %.9f s is %.6g s from the filter's time %.9f s (max_lag %g s)", what,
            t, tau, f->x.t, f->o.max_lag);
    m->tau = tau;
    m->p = vt_v3_add(vt_v3_add(f->x.p, vt_v3_scale(f->x.v, tau)),
                     vt_v3_scale(f->a_world, 0.5 * tau * tau));
    m->q = vt_q_normalize(vt_q_mul(f->x.q, vt_q_from_rotvec(vt_v3_scale(f->w, tau))));
    m->R = vt_q_to_m3(m->q);
    return VT_OK;
}

/* Cholesky of the m x m matrix S (m <= 3) and S^-1; false when S is not positive definite. */
static bool invert_spd(int m, double S[3][3], double Si[3][3])
{
    double L[3][3] = {{0}};
    for (int j = 0; j < m; j++) {
        double d = S[j][j];
        for (int k = 0; k < j; k++)
            d -= L[j][k] * L[j][k];
        if (!(d > 0.0))
            return false;
        L[j][j] = sqrt(d);
        for (int i = j + 1; i < m; i++) {
            double s = S[i][j];
            for (int k = 0; k < j; k++)
                s -= L[i][k] * L[j][k];
            L[i][j] = s / L[j][j];
        }
    }
    /* Columns of S^-1 by forward and back substitution. */
    for (int c = 0; c < m; c++) {
        double y[3];
        for (int i = 0; i < m; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (int k = 0; k < i; k++)
                s -= L[i][k] * y[k];
            y[i] = s / L[i][i];
        }
        for (int i = m - 1; i >= 0; i--) {
            double s = y[i];
            for (int k = i + 1; k < m; k++)
                s -= L[k][i] * Si[k][c];
            Si[i][c] = s / L[i][i];
        }
    }
    return true;
}

/* The chi-square 99.99% quantiles for 1, 2 and 3 degrees of freedom. */
static const double gate_chi2[4] = {0.0, 15.137, 18.421, 21.108};

/* Adds the estimated error to the nominal state and resets it (Sola 7.2, 7.3). */
static void inject(vt_eskf *f, const double dx[N])
{
    vt_eskf_state *x = &f->x;
    x->p = vt_v3_add(x->p, vt_v3(dx[0], dx[1], dx[2]));
    x->v = vt_v3_add(x->v, vt_v3(dx[3], dx[4], dx[5]));
    vt_vec3 dth = vt_v3(dx[6], dx[7], dx[8]);
    x->q = vt_q_normalize(vt_q_mul(x->q, vt_q_from_rotvec(dth)));
    x->accel_bias = vt_v3_add(x->accel_bias, vt_v3(dx[9], dx[10], dx[11]));
    x->gyro_bias = vt_v3_add(x->gyro_bias, vt_v3(dx[12], dx[13], dx[14]));
    /* The rates held for extrapolation lose the bias change too. */
    f->w = vt_v3_sub(f->w, vt_v3(dx[12], dx[13], dx[14]));
    /* P <- G P G^T with G = I - [dth/2]x on the orientation block. */
    vt_mat3 G = vt_m3_identity();
    vt_mat3 S = skew(vt_v3_scale(dth, -0.5));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            G.m[i][j] += S.m[i][j];
    double th[3][N];
    memcpy(th, f->P[VT_ESKF_THETA], sizeof th);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < N; j++)
            f->P[VT_ESKF_THETA + i][j] =
                G.m[i][0] * th[0][j] + G.m[i][1] * th[1][j] + G.m[i][2] * th[2][j];
    for (int i = 0; i < N; i++) {
        double a = f->P[i][VT_ESKF_THETA], b = f->P[i][VT_ESKF_THETA + 1],
               c = f->P[i][VT_ESKF_THETA + 2];
        for (int j = 0; j < 3; j++)
            f->P[i][VT_ESKF_THETA + j] = G.m[j][0] * a + G.m[j][1] * b + G.m[j][2] * c;
    }
    symmetrise(f->P);
}

/*
 * The Kalman update for an m-dimensional measurement (m <= 3): residual y,
 * Jacobian H (m x 15), noise covariance Rm.
 */
static vt_status update(vt_eskf *f, int m, const double y[3], double H[3][N], double Rm[3][3],
                        const char *what, vt_eskf_innovation *innov)
{
    double PHt[N][3], S[3][3], Si[3][3];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < m; k++) {
            double s = 0.0;
            for (int j = 0; j < N; j++)
                s += f->P[i][j] * H[k][j];
            PHt[i][k] = s;
        }
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            double s = Rm[a][b];
            for (int j = 0; j < N; j++)
                s += H[a][j] * PHt[j][b];
            S[a][b] = s;
        }
    if (!invert_spd(m, S, Si))
        return vt__error(VT_ERANGE, "eskf: %s: innovation covariance is not positive definite",
                         what);
    double nis = 0.0;
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++)
            nis += y[a] * Si[a][b] * y[b];
    if (innov) {
        innov->dof = m;
        innov->nis = nis;
        innov->accepted = true;
    }
    if (!isfinite(nis))
        return vt__error(VT_ERANGE, "eskf: %s: the innovation is not finite", what);
    if (f->o.gate && nis > gate_chi2[m]) {
        if (innov)
            innov->accepted = false;
        return VT_OK;
    }
    double K[N][3], dx[N];
    for (int i = 0; i < N; i++) {
        dx[i] = 0.0;
        for (int b = 0; b < m; b++) {
            double s = 0.0;
            for (int a = 0; a < m; a++)
                s += PHt[i][a] * Si[a][b];
            K[i][b] = s;
        }
        for (int b = 0; b < m; b++)
            dx[i] += K[i][b] * y[b];
    }
    /* Joseph form: P = (I - K H) P (I - K H)^T + K R K^T. */
    double A[N][N], B[N][N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (int k = 0; k < m; k++)
                s -= K[i][k] * H[k][j];
            A[i][j] = s;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < N; k++)
                s += A[i][k] * f->P[k][j];
            B[i][j] = s;
        }
    for (int i = 0; i < N; i++)
        for (int j = i; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < N; k++)
                s += B[i][k] * A[j][k];
            double kr = 0.0;
            for (int a = 0; a < m; a++)
                for (int b = 0; b < m; b++)
                    kr += K[i][a] * Rm[a][b] * K[j][b];
            f->P[i][j] = f->P[j][i] = s + kr;
        }
    inject(f, dx);
    return VT_OK;
}

/* Writes the 3x3 block M into H's rows [r, r+3), columns [c, c+3). */
static void put3(double H[3][N], int r, int c, const vt_mat3 *M, int rows)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < 3; j++)
            H[r + i][c + j] = M->m[i][j];
}

vt_status vt_eskf_update_position(vt_eskf *f, double t, vt_vec3 z, double sd_h, double sd_v,
                                  vt_eskf_innovation *innov)
{
    if (!f)
        return vt__error(VT_EINVAL, "vt_eskf_update_position: NULL filter");
    if (!isfinite(t) || !finite3(z) || !(sd_h > 0.0 && isfinite(sd_h)) ||
        !(sd_v > 0.0 && isfinite(sd_v)))
        return vt__error(VT_EINVAL,
                         "eskf: position fix at t = %.9g s: values must be finite, "
                         "standard deviations > 0",
                         t);
    moved m;
    vt_status s = move_to(f, t, "position fix", &m);
    if (s)
        return s;
    vt_vec3 l = f->o.gps_lever_arm;
    vt_vec3 h = vt_v3_add(m.p, vt_m3_mul_v3(m.R, l));
    double y[3] = {z.x - h.x, z.y - h.y, z.z - h.z};
    double H[3][N] = {{0}};
    vt_mat3 I = vt_m3_identity(), Iv = m3_scale(I, m.tau);
    vt_mat3 Ht = m3_scale(vt_m3_mul(m.R, skew(l)), -1.0);
    put3(H, 0, VT_ESKF_P, &I, 3);
    put3(H, 0, VT_ESKF_V, &Iv, 3);
    put3(H, 0, VT_ESKF_THETA, &Ht, 3);
    double Rm[3][3] = {{sd_h * sd_h, 0, 0}, {0, sd_h * sd_h, 0}, {0, 0, sd_v * sd_v}};
    return update(f, 3, y, H, Rm, "position fix", innov);
}

static double wrap_pi(double a)
{
    a = fmod(a + VT_PI, 2.0 * VT_PI);
    if (a < 0.0)
        a += 2.0 * VT_PI;
    return a - VT_PI;
}

vt_status vt_eskf_update_heading(vt_eskf *f, double t, double heading, double sd,
                                 vt_eskf_innovation *innov)
{
    if (!f)
        return vt__error(VT_EINVAL, "vt_eskf_update_heading: NULL filter");
    if (!isfinite(t) || !isfinite(heading) || !(sd > 0.0 && isfinite(sd)))
        return vt__error(VT_EINVAL, "eskf: heading at t = %.9g s: values must be finite, sd > 0",
                         t);
    moved m;
    vt_status s = move_to(f, t, "heading", &m);
    if (s)
        return s;
    vt_vec3 b = f->o.heading_baseline;
    vt_vec3 u = vt_m3_mul_v3(m.R, b);
    double n2 = u.x * u.x + u.y * u.y;
    if (n2 < 1e-4 * vt_v3_dot(b, b))
        return vt__error(VT_ERANGE,
                         "eskf: heading at t = %.9g s: the antenna baseline points "
                         "(nearly) straight up or down",
                         t);
    double y[3] = {wrap_pi(heading - atan2(u.x, u.y))};
    /* d(heading)/du = (u_y, -u_x, 0) / n2; du/dtheta = -R [b]x. */
    vt_mat3 J = m3_scale(vt_m3_mul(m.R, skew(b)), -1.0);
    double H[3][N] = {{0}};
    for (int j = 0; j < 3; j++)
        H[0][VT_ESKF_THETA + j] = (u.y * J.m[0][j] - u.x * J.m[1][j]) / n2;
    double Rm[3][3] = {{sd * sd}};
    return update(f, 1, y, H, Rm, "heading", innov);
}

vt_pose_mount vt_pose_mount_identity(void)
{
    vt_pose_mount m = {vt_v3(0, 0, 0), vt_q_identity()};
    return m;
}

vt_status vt_eskf_update_bearing(vt_eskf *f, double t, const vt_pose_mount *mount, vt_vec3 landmark,
                                 double sd_landmark, double xn, double yn, double sd,
                                 vt_eskf_innovation *innov)
{
    if (!f)
        return vt__error(VT_EINVAL, "vt_eskf_update_bearing: NULL filter");
    vt_pose_mount mt = mount ? *mount : vt_pose_mount_identity();
    if (!isfinite(t) || !finite3(landmark) || !isfinite(xn) || !isfinite(yn) ||
        !(sd > 0.0 && isfinite(sd)) || !(sd_landmark >= 0.0 && isfinite(sd_landmark)) ||
        !finite3(mt.lever_arm) || !(fabs(vt_q_norm(mt.q) - 1.0) <= 1e-6))
        return vt__error(VT_EINVAL,
                         "eskf: bearing at t = %.9g s: values must be finite, sd > 0, the "
                         "mount's quaternion unit",
                         t);
    moved m;
    vt_status s = move_to(f, t, "bearing", &m);
    if (s)
        return s;
    vt_mat3 Rbc = vt_q_to_m3(mt.q), Rcb = vt_m3_transpose(Rbc);
    /* sv: body-frame vector from the body origin to the landmark. */
    vt_vec3 sv = vt_m3_mul_v3(vt_m3_transpose(m.R), vt_v3_sub(landmark, m.p));
    vt_vec3 xc = vt_m3_mul_v3(Rcb, vt_v3_sub(sv, mt.lever_arm));
    if (!(xc.z > 1e-6 * vt_v3_norm(xc)))
        return vt__error(VT_ERANGE,
                         "eskf: bearing at t = %.9g s: the landmark (%.3f, %.3f, %.3f) is "
                         "behind the camera",
                         t, landmark.x, landmark.y, landmark.z);
    double iz = 1.0 / xc.z;
    double J[2][3] = {{iz, 0, -xc.x * iz * iz}, {0, iz, -xc.y * iz * iz}};
    double y[3] = {xn - xc.x * iz, yn - xc.y * iz};
    vt_mat3 Dp = m3_scale(vt_m3_mul(Rcb, vt_m3_transpose(m.R)), -1.0);
    vt_mat3 Dv = m3_scale(Dp, m.tau);
    vt_mat3 Dt = vt_m3_mul(Rcb, skew(sv));
    const vt_mat3 *blocks[3] = {&Dp, &Dv, &Dt};
    const int at[3] = {VT_ESKF_P, VT_ESKF_V, VT_ESKF_THETA};
    double H[3][N] = {{0}};
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
                H[r][at[b] + c] = J[r][0] * blocks[b]->m[0][c] + J[r][1] * blocks[b]->m[1][c] +
                                  J[r][2] * blocks[b]->m[2][c];
    /* The landmark's own uncertainty enters through J (the rotation keeps it isotropic). */
    double sl2 = sd_landmark * sd_landmark, Rm[3][3] = {{0}};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            Rm[a][b] = (a == b ? sd * sd : 0.0) +
                       sl2 * (J[a][0] * J[b][0] + J[a][1] * J[b][1] + J[a][2] * J[b][2]);
    return update(f, 2, y, H, Rm, "bearing", innov);
}

vt_status vt_eskf_pose_at(const vt_eskf *f, double t, const vt_pose_mount *mount, vt_vec3 *position,
                          vt_quat *q)
{
    if (!f || !position || !q)
        return vt__error(VT_EINVAL, "vt_eskf_pose_at: NULL argument");
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "eskf: pose at a non-finite time");
    moved m;
    vt_status s = move_to(f, t, "pose", &m);
    if (s)
        return s;
    vt_pose_mount mt = mount ? *mount : vt_pose_mount_identity();
    *position = vt_v3_add(m.p, vt_m3_mul_v3(m.R, mt.lever_arm));
    *q = vt_q_normalize(vt_q_mul(m.q, mt.q));
    return VT_OK;
}
