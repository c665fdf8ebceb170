/*
 * tests/test_kalman.c - the constant-velocity Kalman filter of the tracker
 * (src/track/kalman.c) against closed-form results.
 *
 * A static target seen repeatedly (dt = 0) must give the information-form
 * identity P^-1 = P0^-1 + sum R^-1 and the information-weighted mean; with
 * equal noise that is R/n and the plain mean. Prediction must be exactly
 * x + v dt and F P F^T + Q, with Q = q [dt^3/3 dt^2/2; dt^2/2 dt]. The
 * Joseph-form update must equal the textbook P - K S K^T for the optimal gain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "track/kalman.h"
#include "vt_test.h"

static void inv3(double A[3][3], double out[3][3])
{
    double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                 A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                 A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            out[i][j] = (A[r0][c0] * A[r1][c1] - A[r0][c1] * A[r1][c0]) / det;
        }
}

/* A random symmetric positive definite 3x3 with eigenvalues roughly in [lo, hi]. */
static void random_spd(double lo, double hi, double A[3][3])
{
    double B[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            B[i][j] = vt_test_uniform(-1.0, 1.0) * sqrt(hi);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            A[i][j] = i == j ? lo : 0.0;
            for (int k = 0; k < 3; k++)
                A[i][j] += B[i][k] * B[j][k] / 3.0;
        }
}

static void test_static_target_information_form(void **state)
{
    (void)state;
    vt_test_seed(11);
    double R0[3][3], R[3][3], I0[3][3], IR[3][3];
    random_spd(0.05, 1.0, R0);
    random_spd(0.02, 0.5, R);
    inv3(R0, I0);
    inv3(R, IR);

    vt__kf kf;
    vt_vec3 z0 = vt_v3(1.0, -2.0, 3.0);
    vt__kf_init(&kf, z0, R0, 20.0);
    double info[3][3], vec[3];
    for (int i = 0; i < 3; i++) {
        vec[i] = 0.0;
        for (int j = 0; j < 3; j++) {
            info[i][j] = I0[i][j];
            vec[i] += I0[i][j] * (&z0.x)[j];
        }
    }
    for (int n = 1; n <= 25; n++) {
        vt_vec3 z = vt_v3(vt_test_uniform(0, 2), vt_test_uniform(-3, -1), vt_test_uniform(2, 4));
        vt__kf_predict(&kf, 0.0, 9.0); /* dt = 0: nothing moves, nothing grows */
        vt__innov in;
        assert_true(vt__kf_innovation(&kf, z, R, &in));
        vt__kf_update(&kf, &in, NULL);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                info[i][j] += IR[i][j];
                vec[i] += IR[i][j] * (&z.x)[j];
            }
    }
    double P[3][3];
    inv3(info, P);
    for (int i = 0; i < 3; i++) {
        double mean = P[i][0] * vec[0] + P[i][1] * vec[1] + P[i][2] * vec[2];
        assert_near(kf.x[i], mean, 1e-10);
        for (int j = 0; j < 3; j++)
            assert_near(kf.P[i][j], P[i][j], 1e-12);
    }
    /* Position and velocity never got correlated: the velocity prior is untouched. */
    assert_near(kf.P[3][3], 400.0, 1e-9);
    assert_near(kf.P[0][3], 0.0, 1e-12);
}

static void test_equal_noise_gives_r_over_n_and_the_mean(void **state)
{
    (void)state;
    vt_test_seed(12);
    double R[3][3] = {{0.09, 0, 0}, {0, 0.09, 0}, {0, 0, 0.09}};
    vt__kf kf;
    vt_vec3 sum = vt_v3(5.0, 6.0, 7.0);
    vt__kf_init(&kf, sum, R, 10.0);
    int n = 1;
    for (; n < 10; n++) {
        vt_vec3 z = vt_v3(5 + vt_test_uniform(-1, 1), 6 + vt_test_uniform(-1, 1), 7);
        vt__innov in;
        assert_true(vt__kf_innovation(&kf, z, R, &in));
        vt__kf_update(&kf, &in, NULL);
        sum = vt_v3_add(sum, z);
    }
    assert_near(kf.P[0][0], 0.09 / n, 1e-14);
    assert_near(kf.P[2][2], 0.09 / n, 1e-14);
    assert_near(kf.x[0], sum.x / n, 1e-12);
    assert_near(kf.x[1], sum.y / n, 1e-12);
    assert_near(kf.x[2], 7.0, 1e-12);
}

static void test_prediction_is_exact_constant_velocity(void **state)
{
    (void)state;
    vt_test_seed(13);
    vt__kf kf;
    double R[3][3];
    random_spd(0.1, 1.0, R);
    vt__kf_init(&kf, vt_v3(1, 2, 3), R, 5.0);
    kf.x[3] = 10.0, kf.x[4] = -4.0, kf.x[5] = 0.5;
    kf.P[0][4] = kf.P[4][0] = 0.3; /* some position-velocity correlation */
    double P0[6][6];
    memcpy(P0, kf.P, sizeof P0);
    double dt = 0.0337;
    vt__kf_predict(&kf, dt, 0.0);
    assert_near(kf.x[0], 1 + 10 * dt, 1e-15);
    assert_near(kf.x[1], 2 - 4 * dt, 1e-15);
    assert_near(kf.x[2], 3 + 0.5 * dt, 1e-15);
    assert_near(kf.x[3], 10.0, 0);
    /* F P F^T by plain matrix products. */
    double F[6][6] = {{0}}, FP[6][6] = {{0}};
    for (int i = 0; i < 6; i++)
        F[i][i] = 1.0;
    for (int i = 0; i < 3; i++)
        F[i][3 + i] = dt;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 6; k++)
                FP[i][j] += F[i][k] * P0[k][j];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double want = 0.0;
            for (int k = 0; k < 6; k++)
                want += FP[i][k] * F[j][k];
            assert_near(kf.P[i][j], want, 1e-14);
        }
}

static void test_white_acceleration_process_noise(void **state)
{
    (void)state;
    vt__kf kf;
    memset(&kf, 0, sizeof kf);
    double q = 9.0, dt = 0.5;
    vt__kf_predict(&kf, dt, q);
    for (int a = 0; a < 3; a++) {
        assert_near(kf.P[a][a], q * dt * dt * dt / 3, 1e-15);
        assert_near(kf.P[a][3 + a], q * dt * dt / 2, 1e-15);
        assert_near(kf.P[3 + a][a], q * dt * dt / 2, 1e-15);
        assert_near(kf.P[3 + a][3 + a], q * dt, 1e-15);
    }
    assert_near(kf.P[0][1], 0.0, 0);
    assert_near(kf.P[0][4], 0.0, 0);
    /* Two half steps give the same as one whole step (the model is exact). */
    vt__kf two;
    memset(&two, 0, sizeof two);
    vt__kf_predict(&two, dt / 2, q);
    vt__kf_predict(&two, dt / 2, q);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            assert_near(two.P[i][j], kf.P[i][j], 1e-15);
}

static void test_innovation_distance_and_determinant(void **state)
{
    (void)state;
    vt__kf kf;
    double R[3][3] = {{0.5, 0, 0}, {0, 1.0, 0}, {0, 0, 1.5}};
    vt__kf_init(&kf, vt_v3(0, 0, 0), R, 1.0);
    vt__innov in;
    assert_true(vt__kf_innovation(&kf, vt_v3(1, 2, 3), R, &in));
    /* S = 2 R = diag(1, 2, 3). */
    assert_near(in.d2, 1.0 / 1 + 4.0 / 2 + 9.0 / 3, 1e-14);
    assert_near(in.logdet, log(6.0), 1e-14);
    assert_near(in.y[2], 3.0, 0);
}

static void test_joseph_equals_textbook_update(void **state)
{
    (void)state;
    vt_test_seed(14);
    for (int trial = 0; trial < 20; trial++) {
        vt__kf kf;
        double R[3][3], A[3][3];
        random_spd(0.01, 1.0, R);
        random_spd(0.05, 2.0, A);
        vt__kf_init(&kf, vt_v3(0, 0, 0), A, 3.0);
        vt__kf_predict(&kf, 0.1, 4.0);
        vt__kf ref = kf;
        vt__innov in;
        assert_true(vt__kf_innovation(&kf, vt_v3(0.3, -0.2, 0.1), R, &in));
        vt__kf_update(&kf, &in, NULL);
        /* P - K S K^T = P - PH^T S^-1 H P. */
        double S[3][3], Si[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                S[i][j] = ref.P[i][j] + R[i][j];
        inv3(S, Si);
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 6; c++) {
                double corr = 0.0;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++)
                        corr += ref.P[r][a] * Si[a][b] * ref.P[b][c];
                assert_near(kf.P[r][c], ref.P[r][c] - corr, 1e-12);
                assert_near(kf.P[r][c], kf.P[c][r], 0);
            }
    }
}

static void test_measurement_covariance_floor_and_repair(void **state)
{
    (void)state;
    double R[3][3];
    double tiny[6] = {1e-6, 0, 0, 0.04, 0.001, 1.0};
    assert_true(vt__kf_meas_cov(tiny, 0.05, R));
    assert_near(R[0][0], 0.0025, 1e-18);
    assert_near(R[1][1], 0.04, 0);
    assert_near(R[2][1], 0.001, 0);
    /* Inconsistent correlation (|xy| > sqrt(xx yy)): variances only. */
    double bad[6] = {1.0, 5.0, 0, 1.0, 0, 1.0};
    assert_true(vt__kf_meas_cov(bad, 0.05, R));
    assert_near(R[0][1], 0.0, 0);
    assert_near(R[0][0], 1.0, 0);
    double nan_cov[6] = {1.0, NAN, 0, 1.0, 0, 1.0};
    assert_false(vt__kf_meas_cov(nan_cov, 0.05, R));
    double L[3][3], notpd[3][3] = {{1, 0, 0}, {0, -1, 0}, {0, 0, 1}};
    assert_false(vt__chol3(notpd, L));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_target_information_form),
        cmocka_unit_test(test_equal_noise_gives_r_over_n_and_the_mean),
        cmocka_unit_test(test_prediction_is_exact_constant_velocity),
        cmocka_unit_test(test_white_acceleration_process_noise),
        cmocka_unit_test(test_innovation_distance_and_determinant),
        cmocka_unit_test(test_joseph_equals_textbook_update),
        cmocka_unit_test(test_measurement_covariance_floor_and_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
