/*
 * tests/test_math.c - vectors, quaternions and matrices (voxtrack/math3d.h).
 *
 * Rotations are drawn uniformly from SO(3) with a fixed seed (Shoemake's
 * method), so every run checks the same few hundred cases; special angles
 * (half turns, which drive Shepperd's method into each of its branches) are
 * checked on purpose.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "voxtrack/math3d.h"
#include "vt_test.h"

#define N_RANDOM 500
#define TOL 1e-12

static vt_vec3 random_vec(void)
{
    return vt_v3(vt_test_uniform(-10, 10), vt_test_uniform(-10, 10), vt_test_uniform(-10, 10));
}

static void assert_vec_near(vt_vec3 a, vt_vec3 b, double tol)
{
    assert_near(a.x, b.x, tol);
    assert_near(a.y, b.y, tol);
    assert_near(a.z, b.z, tol);
}

static void assert_mat_near(vt_mat3 a, vt_mat3 b, double tol)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            assert_near(a.m[i][j], b.m[i][j], tol);
}

/* q and -q are the same rotation. */
static void assert_same_rotation(vt_quat a, vt_quat b, double tol)
{
    double sign = (a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z) < 0.0 ? -1.0 : 1.0;
    assert_near(a.w, sign * b.w, tol);
    assert_near(a.x, sign * b.x, tol);
    assert_near(a.y, sign * b.y, tol);
    assert_near(a.z, sign * b.z, tol);
}

static void cross_is_orthogonal_and_right_handed(void **state)
{
    (void)state;
    assert_vec_near(vt_v3_cross(vt_v3(1, 0, 0), vt_v3(0, 1, 0)), vt_v3(0, 0, 1), 0.0);
    for (int i = 0; i < N_RANDOM; i++) {
        vt_vec3 a = random_vec(), b = random_vec(), c = vt_v3_cross(a, b);
        assert_near(vt_v3_dot(a, c), 0.0, 1e-10);
        assert_near(vt_v3_dot(b, c), 0.0, 1e-10);
    }
}

static void normalize_gives_unit_or_zero(void **state)
{
    (void)state;
    assert_near(vt_v3_norm(vt_v3_normalize(vt_v3(3, 4, 12))), 1.0, TOL);
    assert_vec_near(vt_v3_normalize(vt_v3(3, 4, 12)), vt_v3(3.0 / 13, 4.0 / 13, 12.0 / 13), TOL);
    assert_vec_near(vt_v3_normalize(vt_v3(0, 0, 0)), vt_v3(0, 0, 0), 0.0);
}

static void rotation_matrices_are_orthonormal_with_det_one(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_mat3 r = vt_q_to_m3(vt_test_random_rotation());
        assert_near(vt_m3_det(r), 1.0, TOL);
        assert_mat_near(vt_m3_mul(r, vt_m3_transpose(r)), vt_m3_identity(), TOL);
    }
}

static void quat_to_matrix_to_quat_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_quat q = vt_test_random_rotation();
        vt_quat back = vt_m3_to_q(vt_q_to_m3(q));
        assert_true(back.w >= 0.0);
        assert_same_rotation(back, q, TOL);
    }
}

static void matrix_to_quat_to_matrix_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_mat3 r = vt_q_to_m3(vt_test_random_rotation());
        assert_mat_near(vt_q_to_m3(vt_m3_to_q(r)), r, TOL);
    }
}

static void half_turns_round_trip_in_every_branch(void **state)
{
    (void)state;
    /* Trace -1: Shepperd's method must pivot on x, y or z in turn. */
    vt_vec3 axes[] = {vt_v3(1, 0, 0), vt_v3(0, 1, 0), vt_v3(0, 0, 1),
                      vt_v3_normalize(vt_v3(1, 1, 0)), vt_v3_normalize(vt_v3(0.2, -0.3, 1))};
    for (size_t i = 0; i < sizeof axes / sizeof axes[0]; i++) {
        vt_quat q = vt_q_from_axis_angle(axes[i], VT_PI);
        vt_mat3 r = vt_q_to_m3(q);
        assert_same_rotation(vt_m3_to_q(r), q, TOL);
        assert_mat_near(vt_q_to_m3(vt_m3_to_q(r)), r, TOL);
    }
}

static void rotating_by_quat_equals_rotating_by_matrix(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_quat q = vt_test_random_rotation();
        vt_vec3 v = random_vec();
        assert_vec_near(vt_q_rotate(q, v), vt_m3_mul_v3(vt_q_to_m3(q), v), 1e-11);
        assert_near(vt_v3_norm(vt_q_rotate(q, v)), vt_v3_norm(v), 1e-11);
    }
}

static void hamilton_product_composes_like_matrices(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_quat a = vt_test_random_rotation(), b = vt_test_random_rotation();
        vt_vec3 v = random_vec();
        assert_mat_near(vt_q_to_m3(vt_q_mul(a, b)), vt_m3_mul(vt_q_to_m3(a), vt_q_to_m3(b)), TOL);
        /* "Rotate by b first, then by a." */
        assert_vec_near(vt_q_rotate(vt_q_mul(a, b), v), vt_q_rotate(a, vt_q_rotate(b, v)), 1e-11);
    }
}

static void conjugate_undoes_the_rotation(void **state)
{
    (void)state;
    for (int i = 0; i < N_RANDOM; i++) {
        vt_quat q = vt_test_random_rotation();
        assert_same_rotation(vt_q_mul(q, vt_q_conj(q)), vt_q_identity(), TOL);
        assert_mat_near(vt_q_to_m3(vt_q_conj(q)), vt_m3_transpose(vt_q_to_m3(q)), TOL);
    }
}

static void axis_angle_turns_counterclockwise_about_the_axis(void **state)
{
    (void)state;
    vt_quat z90 = vt_q_from_axis_angle(vt_v3(0, 0, 1), 0.5 * VT_PI);
    assert_vec_near(vt_q_rotate(z90, vt_v3(1, 0, 0)), vt_v3(0, 1, 0), TOL);
    vt_quat x90 = vt_q_from_axis_angle(vt_v3(1, 0, 0), 0.5 * VT_PI);
    assert_vec_near(vt_q_rotate(x90, vt_v3(0, 1, 0)), vt_v3(0, 0, 1), TOL);
    for (int i = 0; i < N_RANDOM; i++) {
        vt_vec3 axis = vt_v3_normalize(random_vec());
        double angle = vt_test_uniform(-VT_PI, VT_PI);
        vt_quat q = vt_q_from_axis_angle(axis, angle);
        assert_near(vt_q_norm(q), 1.0, TOL);
        assert_vec_near(vt_q_rotate(q, axis), axis, TOL);
        /* A vector across the axis turns by exactly `angle`, in the right-handed sense. */
        vt_vec3 across = vt_v3_normalize(vt_v3_cross(axis, random_vec()));
        vt_vec3 turned = vt_q_rotate(q, across);
        assert_near(vt_v3_dot(across, turned), cos(angle), 1e-11);
        assert_near(vt_v3_dot(vt_v3_cross(across, turned), axis), sin(angle), 1e-11);
    }
}

static void degrees_and_radians_convert(void **state)
{
    (void)state;
    assert_near(vt_deg2rad(180.0), VT_PI, 0.0);
    assert_near(vt_rad2deg(vt_deg2rad(37.25)), 37.25, 1e-13);
}

int main(void)
{
    vt_test_seed(0x9E3779B97F4A7C15ull);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_is_orthogonal_and_right_handed),
        cmocka_unit_test(normalize_gives_unit_or_zero),
        cmocka_unit_test(rotation_matrices_are_orthonormal_with_det_one),
        cmocka_unit_test(quat_to_matrix_to_quat_round_trips),
        cmocka_unit_test(matrix_to_quat_to_matrix_round_trips),
        cmocka_unit_test(half_turns_round_trip_in_every_branch),
        cmocka_unit_test(rotating_by_quat_equals_rotating_by_matrix),
        cmocka_unit_test(hamilton_product_composes_like_matrices),
        cmocka_unit_test(conjugate_undoes_the_rotation),
        cmocka_unit_test(axis_angle_turns_counterclockwise_about_the_axis),
        cmocka_unit_test(degrees_and_radians_convert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
