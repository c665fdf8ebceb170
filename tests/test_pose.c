/*
 * tests/test_pose.c - the pose module: the error-state Kalman filter on
 * analytic trajectories (noise-free reproduction, static bias convergence,
 * NEES/NIS consistency over seeded Monte Carlo runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/camera.h"
#include "voxtrack/image.h"
#include "voxtrack/pose.h"
#include "voxtrack/sim.h"
#define VT_TEST_NAME "test_pose"
#include "vt_test.h"
#include "vt_test_tmp.h"

#define G 9.80665

/* ---- an analytic trajectory ------------------------------------------------ */

/*
 * A body on a horizontal circle of radius r at angular rate w, bobbing up and
 * down, heading along its path and swaying in roll and pitch; or at rest with
 * a fixed tilt (r = 0, all rates 0). Every derivative is analytic, so the IMU
 * readings are exact.
 */
typedef struct traj {
    double r, w;      /* circle */
    double h, hz, wz; /* height, bob amplitude, bob rate */
    double a, wa, pa; /* roll-like sway about body x after the heading */
    double b, wb, pb; /* pitch-like sway about y */
    double yaw0;      /* heading offset */
} traj;

static vt_quat qaxis(int axis, double angle)
{
    vt_vec3 e = vt_v3(axis == 0, axis == 1, axis == 2);
    return vt_q_from_axis_angle(e, angle);
}

/* Pose, velocity, acceleration, body rate at t. */
static void traj_eval(const traj *T, double t, vt_vec3 *p, vt_vec3 *v, vt_vec3 *acc, vt_quat *q,
                      vt_vec3 *wb)
{
    double c = cos(T->w * t), s = sin(T->w * t);
    double cz = cos(T->wz * t), sz = sin(T->wz * t);
    *p = vt_v3(T->r * c, T->r * s, T->h + T->hz * sz);
    *v = vt_v3(-T->r * T->w * s, T->r * T->w * c, T->hz * T->wz * cz);
    *acc = vt_v3(-T->r * T->w * T->w * c, -T->r * T->w * T->w * s, -T->hz * T->wz * T->wz * sz);
    double psi = T->yaw0 + T->w * t, dpsi = T->w;
    double ra = T->a * sin(T->wa * t + T->pa), dra = T->a * T->wa * cos(T->wa * t + T->pa);
    double rb = T->b * sin(T->wb * t + T->pb), drb = T->b * T->wb * cos(T->wb * t + T->pb);
    vt_quat qz = qaxis(2, psi), qx = qaxis(0, ra), qy = qaxis(1, rb);
    *q = vt_q_mul(vt_q_mul(qz, qx), qy);
    /* omega_body = Ry^T Rx^T e_z dpsi + Ry^T e_x dra + e_y drb */
    vt_quat qxy = vt_q_mul(qx, qy);
    vt_vec3 ez = vt_q_rotate(vt_q_conj(qxy), vt_v3(0, 0, 1));
    vt_vec3 ex = vt_q_rotate(vt_q_conj(qy), vt_v3(1, 0, 0));
    *wb = vt_v3_add(vt_v3_add(vt_v3_scale(ez, dpsi), vt_v3_scale(ex, dra)), vt_v3(0, drb, 0));
}

/* Exact IMU readings (no bias, no noise). */
static void traj_imu(const traj *T, double t, vt_vec3 *gyro, vt_vec3 *accel)
{
    vt_vec3 p, v, a;
    vt_quat q;
    traj_eval(T, t, &p, &v, &a, &q, gyro);
    *accel = vt_q_rotate(vt_q_conj(q), vt_v3_add(a, vt_v3(0, 0, G)));
}

static const traj moving = {.r = 60,
                            .w = 0.1,
                            .h = 20,
                            .hz = 1.0,
                            .wz = 0.7,
                            .a = 0.04,
                            .wa = 2.1,
                            .b = 0.03,
                            .wb = 1.3,
                            .pb = 0.4,
                            .yaw0 = 0.3};

/* The rotation vector of q_est^-1 q_true: the filter's orientation error, body frame. */
static vt_vec3 rot_error(vt_quat est, vt_quat truth)
{
    vt_quat d = vt_q_mul(vt_q_conj(est), truth);
    if (d.w < 0) {
        d.w = -d.w;
        d.x = -d.x;
        d.y = -d.y;
        d.z = -d.z;
    }
    double n = sqrt(d.x * d.x + d.y * d.y + d.z * d.z);
    double k = n > 1e-15 ? 2.0 * atan2(n, d.w) / n : 2.0;
    return vt_v3(d.x * k, d.y * k, d.z * k);
}

static vt_eskf *new_filter(const vt_eskf_opts *o, const traj *T, double t0, const double sd[15])
{
    vt_eskf *f = NULL;
    assert_int_equal(vt_eskf_new(o, &f), VT_OK);
    vt_eskf_state x = {0};
    vt_vec3 a, w;
    traj_eval(T, t0, &x.p, &x.v, &a, &x.q, &w);
    x.t = t0;
    assert_int_equal(vt_eskf_set_state(f, &x, sd), VT_OK);
    return f;
}

/* ---- noise-free reproduction ------------------------------------------------- */

static void eskf_reproduces_a_noise_free_trajectory(void **state)
{
    (void)state;
    vt_eskf_opts o = vt_eskf_opts_default();
    o.gps_lever_arm = vt_v3(0.3, -0.2, 0.5);
    o.heading_baseline = vt_v3(1.2, 0.3, 0.0);
    const double sd[15] = {1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4,
                           1e-4, 1e-3, 1e-3, 1e-3, 1e-5, 1e-5, 1e-5};
    vt_eskf *f = new_filter(&o, &moving, 0.0, sd);
    vt_pose_mount cam = {vt_v3(0.1, 0.05, -0.2), vt_q_normalize((vt_quat){0.5, -0.5, 0.5, -0.5})};
    const vt_vec3 landmark = vt_v3(400, 300, 50);
    const double rate = 1000.0;
    int accepted = 0;
    for (int k = 0; k <= 8000; k++) {
        double t = k / rate;
        vt_vec3 g, a;
        traj_imu(&moving, t, &g, &a);
        assert_int_equal(vt_eskf_imu(f, t, g, a), VT_OK);
        if (k % 100 == 0) {
            /* Exact fixes of the antenna, a heading and a bearing, 0.4 ms after the step. */
            double tm = t + 0.0004;
            vt_vec3 p, v, acc, w;
            vt_quat q;
            traj_eval(&moving, tm, &p, &v, &acc, &q, &w);
            vt_vec3 ant = vt_v3_add(p, vt_q_rotate(q, o.gps_lever_arm));
            vt_eskf_innovation in;
            assert_int_equal(vt_eskf_update_position(f, tm, ant, 1e-3, 1e-3, &in), VT_OK);
            accepted += in.accepted;
            vt_vec3 u = vt_q_rotate(q, o.heading_baseline);
            assert_int_equal(vt_eskf_update_heading(f, tm, atan2(u.x, u.y), 1e-4, &in), VT_OK);
            accepted += in.accepted;
            vt_vec3 c = vt_v3_add(p, vt_q_rotate(q, cam.lever_arm));
            vt_vec3 xc = vt_q_rotate(vt_q_conj(vt_q_mul(q, cam.q)), vt_v3_sub(landmark, c));
            vt_status st = vt_eskf_update_bearing(f, tm, &cam, landmark, 0.0, xc.x / xc.z,
                                                  xc.y / xc.z, 1e-5, &in);
            if (xc.z > 0) {
                assert_int_equal(st, VT_OK);
                accepted += in.accepted;
            } else {
                assert_int_equal(st, VT_ERANGE);
            }
        }
    }
    assert_true(accepted > 200);
    vt_eskf_state x;
    vt_eskf_get(f, &x, NULL);
    vt_vec3 p, v, a, w;
    vt_quat q;
    traj_eval(&moving, x.t, &p, &v, &a, &q, &w);
    assert_near(vt_v3_norm(vt_v3_sub(x.p, p)), 0.0, 1e-6);
    assert_near(vt_v3_norm(vt_v3_sub(x.v, v)), 0.0, 1e-6);
    assert_near(vt_v3_norm(rot_error(x.q, q)), 0.0, 1e-6);
    assert_near(vt_v3_norm(x.gyro_bias), 0.0, 1e-6);
    assert_near(vt_v3_norm(x.accel_bias), 0.0, 1e-5);
    /* The camera pose between IMU steps. */
    double tq = x.t + 0.0005;
    vt_vec3 cp;
    vt_quat cq;
    assert_int_equal(vt_eskf_pose_at(f, tq, &cam, &cp, &cq), VT_OK);
    traj_eval(&moving, tq, &p, &v, &a, &q, &w);
    assert_near(vt_v3_norm(vt_v3_sub(cp, vt_v3_add(p, vt_q_rotate(q, cam.lever_arm)))), 0.0, 1e-6);
    assert_near(vt_v3_norm(rot_error(cq, vt_q_mul(q, cam.q))), 0.0, 1e-6);
    vt_eskf_free(f);
}

static void eskf_integrates_imu_alone_to_a_micrometre(void **state)
{
    (void)state;
    const double sd[15] = {0};
    vt_eskf *f = new_filter(NULL, &moving, 0.0, sd);
    for (int k = 0; k <= 5000; k++) {
        vt_vec3 g, a;
        traj_imu(&moving, k / 1000.0, &g, &a);
        assert_int_equal(vt_eskf_imu(f, k / 1000.0, g, a), VT_OK);
    }
    vt_eskf_state x;
    vt_eskf_get(f, &x, NULL);
    vt_vec3 p, v, a, w;
    vt_quat q;
    traj_eval(&moving, 5.0, &p, &v, &a, &q, &w);
    assert_near(vt_v3_norm(vt_v3_sub(x.p, p)), 0.0, 1e-6);
    assert_near(vt_v3_norm(vt_v3_sub(x.v, v)), 0.0, 1e-6);
    assert_near(vt_v3_norm(rot_error(x.q, q)), 0.0, 1e-6);
    vt_eskf_free(f);
}

/* ---- static with biases ------------------------------------------------------ */

static void eskf_static_imu_with_biases_converges(void **state)
{
    (void)state;
    vt_test_seed(16);
    const traj tilted = {
        .h = 3.0, .a = 0.3, .wa = 0.0, .pa = 1.0, .b = -0.2, .wb = 0.0, .pb = 1.0, .yaw0 = 1.1};
    const vt_vec3 bg = vt_v3(4e-4, -7e-4, 5e-4), ba = vt_v3(0.05, -0.03, 0.08);
    vt_eskf_opts o = vt_eskf_opts_default();
    const double rate = 200.0, gn = o.gyro_noise * sqrt(rate), an = o.accel_noise * sqrt(rate);
    const double sd[15] = {0.1,  0.1, 0.1, 0.05, 0.05, 0.05, 0.02, 0.02,
                           0.05, 0.1, 0.1, 0.1,  2e-3, 2e-3, 2e-3};
    vt_eskf *f = new_filter(&o, &tilted, 0.0, sd);
    vt_vec3 p0, v0, a0, w0;
    vt_quat q0;
    traj_eval(&tilted, 0.0, &p0, &v0, &a0, &q0, &w0);
    for (int k = 1; k <= 60 * (int)rate; k++) {
        double t = k / rate;
        vt_vec3 g, a;
        traj_imu(&tilted, t, &g, &a);
        g = vt_v3_add(vt_v3_add(g, bg),
                      vt_v3(gn * vt_test_gauss(), gn * vt_test_gauss(), gn * vt_test_gauss()));
        a = vt_v3_add(vt_v3_add(a, ba),
                      vt_v3(an * vt_test_gauss(), an * vt_test_gauss(), an * vt_test_gauss()));
        assert_int_equal(vt_eskf_imu(f, t, g, a), VT_OK);
        if (k % 20 == 0) {
            vt_vec3 z = vt_v3_add(
                p0, vt_v3(0.01 * vt_test_gauss(), 0.01 * vt_test_gauss(), 0.02 * vt_test_gauss()));
            assert_int_equal(vt_eskf_update_position(f, t, z, 0.01, 0.02, NULL), VT_OK);
            vt_vec3 u = vt_q_rotate(q0, o.heading_baseline);
            double hd = atan2(u.x, u.y) + 0.002 * vt_test_gauss();
            assert_int_equal(vt_eskf_update_heading(f, t, hd, 0.002, NULL), VT_OK);
        }
    }
    vt_eskf_state x;
    double P[15][15];
    vt_eskf_get(f, &x, &P[0][0]);
    /* Every gyro bias is observable at rest with a heading; so is the accelerometer's bias
       along gravity. Across gravity it trades with tilt: the filter must say so. */
    assert_near(x.gyro_bias.x, bg.x, 3e-5);
    assert_near(x.gyro_bias.y, bg.y, 3e-5);
    assert_near(x.gyro_bias.z, bg.z, 3e-5);
    vt_vec3 up_body = vt_q_rotate(vt_q_conj(q0), vt_v3(0, 0, 1));
    assert_near(vt_v3_dot(x.accel_bias, up_body), vt_v3_dot(ba, up_body), 3e-3);
    assert_near(vt_v3_norm(vt_v3_sub(x.p, p0)), 0.0, 0.01);
    assert_near(vt_v3_norm(x.v), 0.0, 0.005);
    for (int i = 0; i < 3; i++)
        assert_true(sqrt(P[12 + i][12 + i]) < 3e-5);
    /* The tilt error is what the horizontal accelerometer bias explains: |ba_h| / g. */
    vt_vec3 e = rot_error(x.q, q0);
    vt_vec3 ba_h = vt_v3_sub(ba, vt_v3_scale(up_body, vt_v3_dot(ba, up_body)));
    assert_true(vt_v3_norm(e) < vt_v3_norm(ba_h) / G + 1e-3);
    vt_eskf_free(f);
}

/* ---- consistency ------------------------------------------------------------- */

/* chi-square quantile by the Wilson-Hilferty approximation (good to <1% for dof >= 30). */
static double chi2_quantile(double dof, double z)
{
    double c = 2.0 / (9.0 * dof);
    double r = 1.0 - c + z * sqrt(c);
    return dof * r * r * r;
}

static void eskf_nees_and_nis_are_within_chi_square_bounds(void **state)
{
    (void)state;
    enum { RUNS = 64, CHECKS = 20 };
    const double rate = 200.0, gps_rate = 5.0, T = 10.0;
    vt_eskf_opts o = vt_eskf_opts_default();
    o.gate = false;
    o.gps_lever_arm = vt_v3(0.2, 0.0, 0.4);
    const double gn = o.gyro_noise * sqrt(rate), an = o.accel_noise * sqrt(rate);
    const double sd[15] = {0.5,  0.5,  0.5,  0.1,  0.1,  0.1,  0.01, 0.01,
                           0.03, 0.05, 0.05, 0.05, 1e-3, 1e-3, 1e-3};
    const double sd_h = 0.05, sd_v = 0.1, sd_hd = 0.005;
    double nees[CHECKS] = {0}, nis_sum = 0.0;
    int nis_dof = 0;
    vt_test_seed(1611);
    for (int run = 0; run < RUNS; run++) {
        /* The truth starts from the trajectory; the filter from a draw of its prior. */
        vt_eskf *f = NULL;
        assert_int_equal(vt_eskf_new(&o, &f), VT_OK);
        vt_eskf_state x0 = {0};
        vt_vec3 tp, tv, ta, tw;
        vt_quat tq;
        traj_eval(&moving, 0.0, &tp, &tv, &ta, &tq, &tw);
        double e[15];
        for (int i = 0; i < 15; i++)
            e[i] = sd[i] * vt_test_gauss();
        vt_vec3 ba =
            vt_v3(sd[9] * vt_test_gauss(), sd[10] * vt_test_gauss(), sd[11] * vt_test_gauss());
        vt_vec3 bg =
            vt_v3(sd[12] * vt_test_gauss(), sd[13] * vt_test_gauss(), sd[14] * vt_test_gauss());
        x0.p = vt_v3_sub(tp, vt_v3(e[0], e[1], e[2]));
        x0.v = vt_v3_sub(tv, vt_v3(e[3], e[4], e[5]));
        x0.q = vt_q_mul(tq, vt_q_from_rotvec(vt_v3(-e[6], -e[7], -e[8])));
        assert_int_equal(vt_eskf_set_state(f, &x0, sd), VT_OK);
        int check = 0;
        for (int k = 1; k <= (int)(T * rate); k++) {
            double t = k / rate;
            vt_vec3 g, a;
            traj_imu(&moving, t, &g, &a);
            g = vt_v3_add(vt_v3_add(g, bg),
                          vt_v3(gn * vt_test_gauss(), gn * vt_test_gauss(), gn * vt_test_gauss()));
            a = vt_v3_add(vt_v3_add(a, ba),
                          vt_v3(an * vt_test_gauss(), an * vt_test_gauss(), an * vt_test_gauss()));
            assert_int_equal(vt_eskf_imu(f, t, g, a), VT_OK);
            traj_eval(&moving, t, &tp, &tv, &ta, &tq, &tw);
            if (k % (int)(rate / gps_rate) == 0) {
                vt_vec3 ant = vt_v3_add(tp, vt_q_rotate(tq, o.gps_lever_arm));
                vt_vec3 z = vt_v3_add(ant, vt_v3(sd_h * vt_test_gauss(), sd_h * vt_test_gauss(),
                                                 sd_v * vt_test_gauss()));
                vt_eskf_innovation in;
                assert_int_equal(vt_eskf_update_position(f, t, z, sd_h, sd_v, &in), VT_OK);
                nis_sum += in.nis;
                nis_dof += in.dof;
                vt_vec3 u = vt_q_rotate(tq, o.heading_baseline);
                double hd = atan2(u.x, u.y) + sd_hd * vt_test_gauss();
                assert_int_equal(vt_eskf_update_heading(f, t, hd, sd_hd, &in), VT_OK);
                nis_sum += in.nis;
                nis_dof += in.dof;
            }
            if (k % (int)(T * rate / CHECKS) == 0 && check < CHECKS) {
                vt_eskf_state x;
                double P[15][15], Pi[15][15];
                vt_eskf_get(f, &x, &P[0][0]);
                vt_vec3 dth = rot_error(x.q, tq);
                double d[15] = {tp.x - x.p.x,
                                tp.y - x.p.y,
                                tp.z - x.p.z,
                                tv.x - x.v.x,
                                tv.y - x.v.y,
                                tv.z - x.v.z,
                                dth.x,
                                dth.y,
                                dth.z,
                                ba.x - x.accel_bias.x,
                                ba.y - x.accel_bias.y,
                                ba.z - x.accel_bias.z,
                                bg.x - x.gyro_bias.x,
                                bg.y - x.gyro_bias.y,
                                bg.z - x.gyro_bias.z};
                /* d^T P^-1 d by Gauss-Jordan on a copy. */
                memcpy(Pi, P, sizeof P);
                double rhs[15];
                memcpy(rhs, d, sizeof d);
                for (int c = 0; c < 15; c++) {
                    int piv = c;
                    for (int r = c + 1; r < 15; r++)
                        if (fabs(Pi[r][c]) > fabs(Pi[piv][c]))
                            piv = r;
                    for (int j = 0; j < 15; j++) {
                        double tmp = Pi[c][j];
                        Pi[c][j] = Pi[piv][j];
                        Pi[piv][j] = tmp;
                    }
                    double tmp = rhs[c];
                    rhs[c] = rhs[piv];
                    rhs[piv] = tmp;
                    for (int r = 0; r < 15; r++) {
                        if (r == c)
                            continue;
                        double m = Pi[r][c] / Pi[c][c];
                        for (int j = c; j < 15; j++)
                            Pi[r][j] -= m * Pi[c][j];
                        rhs[r] -= m * rhs[c];
                    }
                }
                double q2 = 0.0;
                for (int i = 0; i < 15; i++)
                    q2 += d[i] * rhs[i] / Pi[i][i];
                nees[check++] += q2;
            }
        }
        vt_eskf_free(f);
    }
    /* Average NEES over the runs: RUNS * ANEES ~ chi2(15 RUNS); 99% two-sided bounds. */
    double lo = chi2_quantile(15.0 * RUNS, -2.576) / RUNS,
           hi = chi2_quantile(15.0 * RUNS, 2.576) / RUNS;
    int outside = 0;
    for (int c = 0; c < CHECKS; c++) {
        double anees = nees[c] / RUNS;
        if (getenv("VT_TEST_VERBOSE"))
            print_message("check %d: ANEES %.2f [%.2f, %.2f]\n", c, anees, lo, hi);
        if (anees < lo || anees > hi) {
            print_message("check %d: ANEES %.2f outside [%.2f, %.2f]\n", c, anees, lo, hi);
            outside++;
        }
    }
    assert_true(outside <= 1);
    if (getenv("VT_TEST_VERBOSE"))
        print_message("NIS %.1f over %d dof\n", nis_sum, nis_dof);
    /* Pooled NIS: a sum of nis_dof squared standard normals when the filter is consistent. */
    assert_true(nis_sum > chi2_quantile(nis_dof, -2.576));
    assert_true(nis_sum < chi2_quantile(nis_dof, 2.576));
}

/* ---- errors ------------------------------------------------------------------ */

static void eskf_refuses_bad_input_with_a_message(void **state)
{
    (void)state;
    vt_eskf_opts o = vt_eskf_opts_default();
    vt_eskf *f = NULL;
    o.gyro_noise = -1;
    assert_int_equal(vt_eskf_new(&o, &f), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "gyro_noise"));
    assert_int_equal(vt_eskf_new(NULL, &f), VT_OK);
    assert_int_equal(vt_eskf_imu(f, 0.1, vt_v3(0, 0, 0), vt_v3(0, 0, G)), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "before the state was set"));
    vt_eskf_state x = {.t = 1.0, .q = {0.9, 0, 0, 0}};
    const double sd[15] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(vt_eskf_set_state(f, &x, sd), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "norm"));
    x.q = vt_q_identity();
    assert_int_equal(vt_eskf_set_state(f, &x, sd), VT_OK);
    assert_int_equal(vt_eskf_imu(f, 1.0, vt_v3(0, 0, 0), vt_v3(0, 0, G)), VT_OK);
    assert_int_equal(vt_eskf_imu(f, 1.0, vt_v3(0, 0, 0), vt_v3(0, 0, G)), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "not after"));
    assert_int_equal(vt_eskf_imu(f, 1.5, vt_v3(0, 0, 0), vt_v3(0, 0, G)), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "max_imu_gap"));
    assert_int_equal(vt_eskf_imu(f, 1.01, vt_v3(NAN, 0, 0), vt_v3(0, 0, G)), VT_EINVAL);
    assert_int_equal(vt_eskf_update_position(f, 2.0, vt_v3(0, 0, 0), 0.1, 0.1, NULL), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "max_lag"));
    assert_int_equal(vt_eskf_update_position(f, 1.0, vt_v3(0, 0, 0), 0.0, 0.1, NULL), VT_EINVAL);
    /* Behind the camera: the body looks along +z (camera z) by the identity mount. */
    assert_int_equal(vt_eskf_update_bearing(f, 1.0, NULL, vt_v3(0, 0, -10), 0.0, 0, 0, 1e-3, NULL),
                     VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "behind"));
    /* A baseline straight up has no heading. */
    vt_eskf_free(f);
    o = vt_eskf_opts_default();
    o.heading_baseline = vt_v3(0, 0, 1);
    assert_int_equal(vt_eskf_new(&o, &f), VT_OK);
    assert_int_equal(vt_eskf_set_state(f, &x, sd), VT_OK);
    assert_int_equal(vt_eskf_update_heading(f, 1.0, 0.0, 0.01, NULL), VT_ERANGE);
    vt_eskf_free(f);
}

static void eskf_gate_refuses_an_outlier(void **state)
{
    (void)state;
    vt_eskf *f = NULL;
    assert_int_equal(vt_eskf_new(NULL, &f), VT_OK);
    vt_eskf_state x = {.t = 0.0, .q = {1, 0, 0, 0}};
    const double sd[15] = {0.1,  0.1, 0.1, 0.1, 0.1,  0.1,  0.01, 0.01,
                           0.01, 0.1, 0.1, 0.1, 1e-3, 1e-3, 1e-3};
    assert_int_equal(vt_eskf_set_state(f, &x, sd), VT_OK);
    vt_eskf_innovation in;
    assert_int_equal(vt_eskf_update_position(f, 0.0, vt_v3(5, 0, 0), 0.1, 0.1, &in), VT_OK);
    assert_false(in.accepted);
    assert_true(in.nis > 1000);
    vt_eskf_state y;
    vt_eskf_get(f, &y, NULL);
    assert_near(y.p.x, 0.0, 0.0);
    assert_int_equal(vt_eskf_update_position(f, 0.0, vt_v3(0.1, 0, 0), 0.1, 0.1, &in), VT_OK);
    assert_true(in.accepted);
    vt_eskf_get(f, &y, NULL);
    assert_near(y.p.x, 0.05, 1e-9); /* equal weights: half way */
    vt_eskf_free(f);
}

/* ---- pose tracks ----------------------------------------------------------------- */

static vt_pose_track *parse_ok(const char *text, double max_gap)
{
    vt_pose_track *tr = NULL;
    vt_status st = vt_pose_track_parse(text, strlen(text), "poses.csv", max_gap, &tr);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    return tr;
}

/* Parsing fails with VT_EPARSE and a message holding `want`. */
static void parse_fails(const char *text, const char *want)
{
    vt_pose_track *tr = NULL;
    assert_int_equal(vt_pose_track_parse(text, strlen(text), "poses.csv", 0.5, &tr), VT_EPARSE);
    assert_null(tr);
    if (!strstr(vt_last_error(), want)) {
        print_error("message '%s' lacks '%s'\n", vt_last_error(), want);
        fail();
    }
}

static void pose_track_interpolates_by_hand_worked_cases(void **state)
{
    (void)state;
    /* 90 degrees about z over one second; the position moves linearly. */
    double s45 = sin(VT_PI / 4);
    char text[512];
    snprintf(text, sizeof text, "t,x,y,z,qw,qx,qy,qz\n0,0,0,0,1,0,0,0\n1,2,4,-6,%.17g,0,0,%.17g\n",
             s45, s45);
    vt_pose_track *tr = parse_ok(text, 5.0);
    vt_vec3 p;
    vt_quat q;
    assert_int_equal(vt_pose_track_at(tr, 0.25, &p, &q), VT_OK);
    assert_near(p.x, 0.5, 1e-12);
    assert_near(p.y, 1.0, 1e-12);
    assert_near(p.z, -1.5, 1e-12);
    /* A quarter of the way: 22.5 degrees about z. */
    assert_near(q.w, cos(VT_PI / 16), 1e-12);
    assert_near(q.z, sin(VT_PI / 16), 1e-12);
    assert_near(q.x, 0.0, 1e-15);
    assert_int_equal(vt_pose_track_at(tr, 0.5, &p, &q), VT_OK);
    assert_near(q.w, cos(VT_PI / 8), 1e-12);
    assert_near(q.z, sin(VT_PI / 8), 1e-12);
    /* The ends are the samples themselves. */
    assert_int_equal(vt_pose_track_at(tr, 1.0, &p, &q), VT_OK);
    assert_near(p.z, -6.0, 0.0);
    assert_near(q.z, s45, 1e-15);
    vt_pose_track_free(tr);

    /* -q is the same rotation: slerp takes the short way (22.5 degrees at 1/4, not 67.5). */
    snprintf(text, sizeof text,
             "t,x,y,z,qw,qx,qy,qz\n# comment\n\n10,0,0,0,1,0,0,0\r\n11,0,0,0,%.17g,0,0,%.17g", -s45,
             -s45);
    tr = parse_ok(text, 5.0);
    assert_int_equal(vt_pose_track_at(tr, 10.25, &p, &q), VT_OK);
    assert_near(fabs(q.w), cos(VT_PI / 16), 1e-12);
    assert_near(q.z * q.w, sin(VT_PI / 16) * cos(VT_PI / 16), 1e-12);
    assert_int_equal(vt_pose_track_count(tr), 2);
    vt_pose_track_free(tr);

    /* 120 degrees about (1, 1, 1) / sqrt(3), halfway: 60 degrees about the same axis. */
    double a = sin(VT_PI / 3) / sqrt(3.0);
    snprintf(text, sizeof text,
             "t,x,y,z,qw,qx,qy,qz\n0,0,0,0,1,0,0,0\n2,0,0,0,%.17g,%.17g,%.17g,%.17g\n",
             cos(VT_PI / 3), a, a, a);
    tr = parse_ok(text, 5.0);
    assert_int_equal(vt_pose_track_at(tr, 1.0, &p, &q), VT_OK);
    assert_near(q.w, cos(VT_PI / 6), 1e-12);
    assert_near(q.x, sin(VT_PI / 6) / sqrt(3.0), 1e-12);
    assert_near(q.y, q.x, 1e-15);
    vt_pose_track_free(tr);

    /* Nearly equal orientations (1e-9 rad apart) stay exact and unit. */
    snprintf(text, sizeof text, "t,x,y,z,qw,qx,qy,qz\n0,0,0,0,1,0,0,0\n1,0,0,0,%.17g,%.17g,0,0\n",
             cos(5e-10), sin(5e-10));
    tr = parse_ok(text, 5.0);
    assert_int_equal(vt_pose_track_at(tr, 0.5, &p, &q), VT_OK);
    assert_near(q.x, sin(2.5e-10), 1e-18);
    assert_near(vt_q_norm(q), 1.0, 1e-15);
    vt_pose_track_free(tr);
}

static void pose_track_refuses_bad_logs_naming_the_line(void **state)
{
    (void)state;
    const char *h = "t,x,y,z,qw,qx,qy,qz\n";
    char text[1400];
    parse_fails("", "expected the header line");
    parse_fails("t,x,y,z\n0,0,0,0\n", "expected the header line 't,x,y,z,qw,qx,qy,qz'");
    parse_fails(h, "no records after the header");
    snprintf(text, sizeof text, "%s0,0,0,0,1,0,0,0\n2,0,0,0,1,0,0,0\n1,0,0,0,1,0,0,0\n", h);
    parse_fails(text, "line 4: time 1 s is not after the previous line's 2 s");
    snprintf(text, sizeof text, "%s0,0,0,0,1,0,0,0\n0,0,0,0,1,0,0,0\n", h);
    parse_fails(text, "line 3: time 0 s is not after");
    snprintf(text, sizeof text, "%s0,0,0,0,0.9,0,0,0\n", h);
    parse_fails(text, "line 2: quaternion (0.9, 0, 0, 0) has norm 0.9, not 1");
    snprintf(text, sizeof text, "%s0,0,0,0,0,0,0,0\n", h);
    parse_fails(text, "has norm 0");
    snprintf(text, sizeof text, "%s0,0,0,0,1,0,0\n", h);
    parse_fails(text, "line 2: 7 fields, expected 8");
    snprintf(text, sizeof text, "%s0,0,0,abc,1,0,0,0\n", h);
    parse_fails(text, "line 2: field 'z' is not a finite number: 'abc'");
    snprintf(text, sizeof text, "%s0,nan,0,0,1,0,0,0\n", h);
    parse_fails(text, "field 'x' is not a finite number");
    snprintf(text, sizeof text, "%s0,,0,0,1,0,0,0\n", h);
    parse_fails(text, "field 'x' is empty");
    memset(text, '1', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text, h, strlen(h));
    parse_fails(text, "line 2: longer than 1024 characters");
    vt_pose_track *tr = NULL;
    const char nul[] = "t,x,y,z,qw,qx,qy,qz\n0,0,0\0,0,1,0,0,0\n";
    assert_int_equal(vt_pose_track_parse(nul, sizeof nul - 1, "poses.csv", 0.5, &tr), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "line 2: holds a NUL byte"));
    /* A quaternion off by less than 1e-3 is rounding: normalised. */
    snprintf(text, sizeof text, "%s0,0,0,0,0.9995,0,0,0\n", h);
    tr = parse_ok(text, 5.0);
    assert_near(vt_q_norm(vt_pose_track_sample(tr, 0)->q), 1.0, 1e-15);
    vt_pose_track_free(tr);
    assert_int_equal(vt_pose_track_load("/nonexistent/poses.csv", 0.5, &tr), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "/nonexistent/poses.csv"));
}

static void pose_track_queries_outside_the_log_or_in_a_gap_fail(void **state)
{
    (void)state;
    vt_pose_track *tr = parse_ok("t,x,y,z,qw,qx,qy,qz\n0,0,0,0,1,0,0,0\n0.1,1,0,0,1,0,0,0\n"
                                 "1.0,2,0,0,1,0,0,0\n1.2,3,0,0,1,0,0,0\n",
                                 0.5);
    vt_vec3 p;
    vt_quat q;
    assert_int_equal(vt_pose_track_at(tr, -0.001, &p, &q), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "t = -0.001000 s is outside the poses' span "
                                            "[0.000000, 1.200000] s"));
    assert_int_equal(vt_pose_track_at(tr, 1.3, &p, &q), VT_ERANGE);
    assert_int_equal(vt_pose_track_at(tr, NAN, &p, &q), VT_ERANGE);
    /* 0.9 s between 0.1 and 1.0 is more than max_gap 0.5 s. */
    assert_int_equal(vt_pose_track_at(tr, 0.5, &p, &q), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "falls in a gap of 0.9 s between poses at "
                                            "0.100000 and 1.000000 s (max_gap 0.5 s)"));
    /* The samples at either end of the gap are still poses. */
    assert_int_equal(vt_pose_track_at(tr, 1.0, &p, &q), VT_OK);
    assert_near(p.x, 2.0, 0.0);
    assert_int_equal(vt_pose_track_at(tr, 0.05, &p, &q), VT_OK);
    assert_near(p.x, 0.5, 1e-12);
    vt_pose_track_free(tr);
}

static void pose_track_saves_what_it_loads(void **state)
{
    (void)state;
    vt_pose_track *tr = NULL;
    assert_int_equal(vt_pose_track_new("mem", 0.2, &tr), VT_OK);
    vt_test_seed(5);
    for (int i = 0; i < 50; i++)
        assert_int_equal(
            vt_pose_track_append(tr, 0.01 * i, vt_v3(i, -2.0 * i, 0.5), vt_test_random_rotation()),
            VT_OK);
    assert_int_equal(vt_pose_track_append(tr, 0.2, vt_v3(0, 0, 0), vt_q_identity()), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "not after the last"));
    assert_int_equal(vt_pose_track_append(tr, 9, vt_v3(0, 0, 0), (vt_quat){2, 0, 0, 0}), VT_EINVAL);
    const char *path = vt_test_tmp_path("poses.csv");
    assert_int_equal(vt_pose_track_save(tr, path), VT_OK);
    vt_pose_track *back = NULL;
    assert_int_equal(vt_pose_track_load(path, 0.2, &back), VT_OK);
    assert_int_equal(vt_pose_track_count(back), 50);
    for (size_t i = 0; i < 50; i++) {
        const vt_pose_sample *a = vt_pose_track_sample(tr, i), *b = vt_pose_track_sample(back, i);
        assert_near(a->t, b->t, 1e-9);
        assert_near(a->p.y, b->p.y, 1e-9);
        assert_near(fabs(a->q.w * b->q.w + a->q.x * b->q.x + a->q.y * b->q.y + a->q.z * b->q.z),
                    1.0, 1e-12);
    }
    vt_pose_track_free(back);
    vt_pose_track_free(tr);
}

/* ---- platforms over simulated logs ---------------------------------------------- */

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(vt_test_tmp_path(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A vehicle at rest for a second that then drives and turns; a mast that sways. */
static const char *const platform_scene =
    "{\"name\": \"platforms\", \"seed\": 5, \"world\": {\"extent\": {\"min\": [-500, -500, 0], "
    "\"max\": [500, 500, 300]}}, \"cameras\": {\"fps\": 30, \"frames\": 240, \"pairs\": ["
    "{\"look_at\": [0, 300, 50], \"mono\": {\"width\": 64, \"height\": 48, \"hfov_deg\": 60},"
    " \"platform\": {\"waypoints\": [[-100, -200, 2], {\"hover\": 1}, [60, -200, 2], "
    "{\"turn_deg\": 90, \"radius\": 30}], \"speed\": 8, \"accel\": 1.5,"
    " \"gps\": {\"lever_arm\": [0.3, -1.0, -0.5]}}},"
    "{\"look_at\": [0, 300, 50], \"mono\": {\"width\": 64, \"height\": 48, \"hfov_deg\": 60},"
    " \"platform\": {\"waypoints\": [[200, -200, 15], {\"hover\": 100}], \"sway_deg\": 1.5,"
    " \"gps\": {\"heading_noise_deg\": 0.1, \"baseline\": [1.5, 0, 0]}}}]}}";

/* Position and orientation RMSE of platform `pair` over the scene, after 1 s. */
static void platform_errors(vt_scenario *s, int pair, bool heading, bool bearings, double *pos,
                            double *att)
{
    vt_pose_platform_opts o = vt_pose_platform_opts_default();
    o.filter.gyro_noise = 1e-3 / sqrt(1000.0);
    o.filter.accel_noise = 2e-2 / sqrt(1000.0);
    o.gps_sd_h = VT_POSE_RTK_SD_H;
    o.gps_sd_v = VT_POSE_RTK_SD_V;
    o.init_gyro_bias_sd = 5e-4;
    o.init_accel_bias_sd = 5e-2;
    o.heading_sd = vt_deg2rad(0.1);
    if (pair == 0)
        o.filter.gps_lever_arm = vt_v3(0.3, -1.0, -0.5);
    else
        o.filter.heading_baseline = vt_v3(1.5, 0, 0);
    char imu[1100], gps[1100], hd[1100];
    snprintf(imu, sizeof imu, "%s", vt_test_tmp_path(pair ? "imu_1.csv" : "imu_0.csv"));
    snprintf(gps, sizeof gps, "%s", vt_test_tmp_path(pair ? "gps_1.csv" : "gps_0.csv"));
    snprintf(hd, sizeof hd, "%s", vt_test_tmp_path("heading_1.csv"));
    vt_camera c0;
    assert_int_equal(vt_scenario_camera_at(s, pair, 0.0, &c0), VT_OK);
    /* The installed heading is off by 1.5 degrees. */
    vt_quat nominal = vt_q_mul(vt_q_from_axis_angle(vt_v3(0, 0, 1), vt_deg2rad(1.5)), c0.q);
    vt_pose_platform *pp = NULL;
    vt_status st = vt_pose_platform_new(&o, "p", imu, gps, heading ? hd : NULL, NULL, nominal, &pp);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    vt_test_seed(77);
    const vt_vec3 landmarks[3] = {vt_v3(-150, 300, 40), vt_v3(150, 300, 90), vt_v3(0, 250, 10)};
    double se = 0.0, ae = 0.0;
    int n = 0;
    for (int f = 0; f < 240; f++) {
        double t = f / 30.0 + 0.0003;
        vt_camera truth;
        assert_int_equal(vt_scenario_camera_at(s, pair, t, &truth), VT_OK);
        for (int k = 0; bearings && k < 3; k++) {
            vt_vec3 xc = vt_camera_world_to_cam(&truth, landmarks[k]);
            double sd = 2e-4; /* 0.3 px of a 1500 px focal length */
            vt_status b = vt_pose_platform_bearing(pp, t, NULL, landmarks[k], 0.02,
                                                   xc.x / xc.z + sd * vt_test_gauss(),
                                                   xc.y / xc.z + sd * vt_test_gauss(), sd, NULL);
            assert_int_equal(b, VT_OK);
        }
        vt_vec3 p;
        vt_quat q;
        assert_int_equal(vt_pose_platform_pose(pp, t, NULL, &p, &q), VT_OK);
        if (t < 1.0)
            continue;
        vt_vec3 d = vt_v3_sub(p, truth.position);
        vt_vec3 e = rot_error(q, truth.q);
        se += vt_v3_dot(d, d);
        ae += vt_v3_dot(e, e);
        n++;
    }
    *pos = sqrt(se / n);
    *att = vt_rad2deg(sqrt(ae / n));
    vt_pose_platform_free(pp);
}

static void platform_tracks_simulated_vehicle_and_mast(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_parse(platform_scene, "platforms", &s), VT_OK);
    assert_int_equal(vt_scenario_write_platform_logs(s, tmpdir), VT_OK);
    double pos, att;
    /* The vehicle: RTK fixes make position; its driving and turning make heading observable. */
    platform_errors(s, 0, false, false, &pos, &att);
    print_message("vehicle, GPS + IMU: %.4f m, %.4f deg\n", pos, att);
    assert_true(pos <= 0.02);
    assert_true(att <= 1.0);
    platform_errors(s, 0, false, true, &pos, &att);
    print_message("vehicle, GPS + IMU + bearings: %.4f m, %.4f deg\n", pos, att);
    assert_true(pos <= 0.02);
    assert_true(att <= 0.05);
    /* The mast never moves: the installed heading's error stays without a heading source. */
    platform_errors(s, 1, false, false, &pos, &att);
    print_message("mast, GPS + IMU: %.4f m, %.4f deg\n", pos, att);
    assert_true(pos <= 0.02);
    assert_true(att >= 1.0);
    platform_errors(s, 1, true, false, &pos, &att);
    print_message("mast, GPS + IMU + heading: %.4f m, %.4f deg\n", pos, att);
    assert_true(att <= 0.5);
    platform_errors(s, 1, true, true, &pos, &att);
    print_message("mast, GPS + IMU + heading + bearings: %.4f m, %.4f deg\n", pos, att);
    assert_true(att <= 0.05);
    vt_scenario_free(s);
}

static void platform_refuses_bad_logs_naming_the_file(void **state)
{
    (void)state;
    char imu[1100], gps[1100];
    snprintf(imu, sizeof imu, "%s", vt_test_tmp_path("bad_imu.csv"));
    snprintf(gps, sizeof gps, "%s", vt_test_tmp_path("ok_gps.csv"));
    write_file("ok_gps.csv", "t,lat,lon,h,x,y,z\n0,,,,1,2,3\n0.1,,,,1,2,3\n");
    vt_pose_platform *pp = NULL;
    const struct {
        const char *text, *want;
    } cases[] = {
        {"t,gx,gy,gz,ax,ay\n", "expected the header line 't,gx,gy,gz,ax,ay,az'"},
        {"t,gx,gy,gz,ax,ay,az\n0,0,0,0,0,0,9.8\n0,0,0,0,0,0,9.8\n",
         "line 3: time 0 s is not after"},
        {"t,gx,gy,gz,ax,ay,az\n0,0,0,0,0,0,inf\n", "line 2: field 'az' is not a finite number"},
        {"t,gx,gy,gz,ax,ay,az\n", "no records after the header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file("bad_imu.csv", cases[i].text);
        assert_int_equal(
            vt_pose_platform_new(NULL, "p7", imu, gps, NULL, NULL, vt_q_identity(), &pp),
            VT_EPARSE);
        assert_null(pp);
        assert_non_null(strstr(vt_last_error(), "platform 'p7': imu log"));
        if (!strstr(vt_last_error(), cases[i].want)) {
            print_error("'%s' lacks '%s'\n", vt_last_error(), cases[i].want);
            fail();
        }
    }
    /* A fix in latitude and longitude only needs the origin. */
    write_file("bad_imu.csv", "t,gx,gy,gz,ax,ay,az\n0,0,0,0,0,0,9.8\n0.01,0,0,0,0,0,9.8\n");
    write_file("ok_gps.csv", "t,lat,lon,h,x,y,z\n0,47.1,8.2,400,,,\n");
    assert_int_equal(vt_pose_platform_new(NULL, "p7", imu, gps, NULL, NULL, vt_q_identity(), &pp),
                     VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "need the rig's 'origin'"));
    vt_pose_origin origin = {true, 47.1, 8.2, 400};
    assert_int_equal(
        vt_pose_platform_new(NULL, "p7", imu, gps, NULL, &origin, vt_q_identity(), &pp), VT_OK);
    /* At the origin, at rest: the pose is there, levelled (z up in this body). */
    vt_vec3 p;
    vt_quat q;
    assert_int_equal(vt_pose_platform_pose(pp, 0.01, NULL, &p, &q), VT_OK);
    assert_near(vt_v3_norm(p), 0.0, 1e-3);
    assert_near(vt_q_rotate(q, vt_v3(0, 0, 1)).z, 1.0, 1e-9);
    assert_int_equal(vt_pose_platform_pose(pp, 5.0, NULL, &p, &q), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "outside the IMU log's span"));
    vt_pose_platform_free(pp);
}

/* ---- beacons in images ---------------------------------------------------------- */

static void beacon_is_found_to_a_small_fraction_of_a_pixel(void **state)
{
    (void)state;
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, 64, 48, 8), VT_OK);
    vt_test_seed(3);
    const double bu = 30.3, bv = 20.7;
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            double d2 = (x - bu) * (x - bu) + (y - bv) * (y - bv);
            double val = 120.0 + 2.0 * vt_test_gauss() + 100.0 * exp(-d2 / (2 * 0.8 * 0.8));
            ((uint8_t *)img.data)[y * img.stride + x] = (uint8_t)fmin(255.0, fmax(0.0, val + 0.5));
        }
    vt_pose_beacon b;
    assert_int_equal(vt_pose_find_beacon(&img, 33.0, 18.0, 8, 30.0, &b), VT_OK);
    assert_true(b.found);
    assert_near(b.u, bu, 0.1);
    assert_near(b.v, bv, 0.1);
    assert_near(b.background, 120.0, 3.0);
    /* Too faint for the contrast asked; out of the window; the window off the image. */
    assert_int_equal(vt_pose_find_beacon(&img, 33.0, 18.0, 8, 150.0, &b), VT_OK);
    assert_false(b.found);
    assert_int_equal(vt_pose_find_beacon(&img, 10.0, 10.0, 5, 30.0, &b), VT_OK);
    assert_false(b.found);
    assert_int_equal(vt_pose_find_beacon(&img, -50.0, 10.0, 5, 30.0, &b), VT_OK);
    assert_false(b.found);
    assert_int_equal(vt_pose_find_beacon(&img, NAN, 10.0, 5, 30.0, &b), VT_EINVAL);
    vt_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eskf_integrates_imu_alone_to_a_micrometre),
        cmocka_unit_test(eskf_reproduces_a_noise_free_trajectory),
        cmocka_unit_test(eskf_static_imu_with_biases_converges),
        cmocka_unit_test(eskf_nees_and_nis_are_within_chi_square_bounds),
        cmocka_unit_test(eskf_refuses_bad_input_with_a_message),
        cmocka_unit_test(eskf_gate_refuses_an_outlier),
        cmocka_unit_test(pose_track_interpolates_by_hand_worked_cases),
        cmocka_unit_test(pose_track_refuses_bad_logs_naming_the_line),
        cmocka_unit_test(pose_track_queries_outside_the_log_or_in_a_gap_fail),
        cmocka_unit_test(pose_track_saves_what_it_loads),
        cmocka_unit_test(platform_tracks_simulated_vehicle_and_mast),
        cmocka_unit_test(platform_refuses_bad_logs_naming_the_file),
        cmocka_unit_test(beacon_is_found_to_a_small_fraction_of_a_pixel),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
