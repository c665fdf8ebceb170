/*
 * tests/test_geodetic.c - ENU <-> WGS84 through PROJ (vt_geodetic).
 *
 * Round trips ENU -> WGS84 -> ENU hold to 1e-6 m at the origin, nearby and
 * 10 km out; the origin maps to itself; known geometry (a point straight up
 * keeps its latitude and longitude and gains height, a point 1 km north has a
 * larger latitude by about 1/111 of a degree) comes out right; bad input is
 * an error that says what and where, never a crash.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/geodetic.h"

static const double origins[][3] = {
    {51.5, -0.1, 50}, {-33.86, 151.21, 20}, {0, 0, 0}, {78.2, 15.6, 400}, {-89.5, 179.9, 2800}};

static void round_trip(double lat, double lon, double h, vt_vec3 p)
{
    vt_geodetic *g = NULL;
    assert_int_equal(vt_geodetic_new(lat, lon, h, &g), VT_OK);
    double la, lo, hh;
    assert_int_equal(vt_geodetic_from_enu(g, p, &la, &lo, &hh), VT_OK);
    vt_vec3 q;
    assert_int_equal(vt_geodetic_to_enu(g, la, lo, hh, &q), VT_OK);
    double err =
        sqrt((q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y) + (q.z - p.z) * (q.z - p.z));
    if (err > 1e-6)
        fail_msg("origin %g %g %g, point (%g %g %g): round trip off by %g m", lat, lon, h, p.x, p.y,
                 p.z, err);
    vt_geodetic_free(g);
}

static void enu_round_trips_to_a_micrometre_near_the_origin_and_at_10_km(void **state)
{
    (void)state;
    const vt_vec3 pts[] = {{0, 0, 0},          {1, 2, 3},           {-0.5, 0.25, -1},
                           {10000, 0, 0},      {0, 10000, 0},       {0, 0, 10000},
                           {-7071, 7071, 300}, {6000, -8000, 1500}, {-10000, -10000, -500}};
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++)
        for (size_t j = 0; j < sizeof pts / sizeof pts[0]; j++)
            round_trip(origins[i][0], origins[i][1], origins[i][2], pts[j]);
}

static void the_origin_maps_to_itself(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        vt_geodetic *g = NULL;
        assert_int_equal(vt_geodetic_new(origins[i][0], origins[i][1], origins[i][2], &g), VT_OK);
        double la, lo, h;
        assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){0, 0, 0}, &la, &lo, &h), VT_OK);
        assert_true(fabs(la - origins[i][0]) < 1e-11);
        assert_true(fabs(lo - origins[i][1]) < 1e-11);
        assert_true(fabs(h - origins[i][2]) < 1e-6);
        vt_vec3 e;
        assert_int_equal(vt_geodetic_to_enu(g, origins[i][0], origins[i][1], origins[i][2], &e),
                         VT_OK);
        assert_true(fabs(e.x) < 1e-6 && fabs(e.y) < 1e-6 && fabs(e.z) < 1e-6);
        vt_geodetic_free(g);
    }
}

static void up_is_height_and_north_is_latitude(void **state)
{
    (void)state;
    vt_geodetic *g = NULL;
    assert_int_equal(vt_geodetic_new(45, 7, 100, &g), VT_OK);
    double la, lo, h;
    assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){0, 0, 500}, &la, &lo, &h), VT_OK);
    assert_true(fabs(la - 45) < 1e-10 && fabs(lo - 7) < 1e-10 && fabs(h - 600) < 1e-6);
    /* 1 km north at 45 degrees: the meridian arc is 111.132 km per degree there. */
    assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){0, 1000, 0}, &la, &lo, &h), VT_OK);
    assert_true(fabs((la - 45) * 111132.0 - 1000) < 1.0);
    assert_true(fabs(lo - 7) < 1e-10);
    /* The earth curves away below a horizontal line: h grows by d^2 / 2R = 0.0785 m. */
    assert_true(fabs(h - 100 - 0.0785) < 0.002);
    /* 1 km east: longitude grows by 1000 / (N cos 45) degrees, latitude barely moves. */
    assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){1000, 0, 0}, &la, &lo, &h), VT_OK);
    assert_true(fabs((lo - 7) * 78846.8 - 1000) < 1.0);
    assert_true(fabs(la - 45) < 1e-4);
    vt_geodetic_free(g);
}

static void bad_origins_are_errors_that_name_the_field(void **state)
{
    (void)state;
    vt_geodetic *g = (vt_geodetic *)1;
    assert_int_equal(vt_geodetic_new(91, 0, 0, &g), VT_EINVAL);
    assert_null(g);
    assert_non_null(strstr(vt_last_error(), "latitude"));
    assert_int_equal(vt_geodetic_new(0, 200, 0, &g), VT_EINVAL);
    assert_int_equal(vt_geodetic_new(NAN, 0, 0, &g), VT_EINVAL);
    assert_int_equal(vt_geodetic_new(0, 0, INFINITY, &g), VT_EINVAL);
    assert_int_equal(vt_geodetic_new(0, 0, 0, NULL), VT_EINVAL);
    vt_geodetic_free(NULL);
}

static void bad_points_are_errors_not_crashes(void **state)
{
    (void)state;
    vt_geodetic *g = NULL;
    assert_int_equal(vt_geodetic_new(10, 20, 0, &g), VT_OK);
    double la, lo, h;
    assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){NAN, 0, 0}, &la, &lo, &h), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "ENU"));
    vt_vec3 e;
    assert_int_equal(vt_geodetic_to_enu(g, 95, 0, 0, &e), VT_EINVAL);
    assert_int_equal(vt_geodetic_to_enu(g, 0, 0, NAN, &e), VT_EINVAL);
    assert_int_equal(vt_geodetic_from_enu(NULL, (vt_vec3){0, 0, 0}, &la, &lo, &h), VT_EINVAL);
    /* Far outside any sensible volume still converts (or fails cleanly): no crash. */
    vt_status s = vt_geodetic_from_enu(g, (vt_vec3){1e12, -1e12, 1e12}, &la, &lo, &h);
    assert_true(s == VT_OK || s == VT_ERANGE);
    if (s == VT_ERANGE)
        assert_non_null(strstr(vt_last_error(), "PROJ"));
    /* The object still works after a failure. */
    assert_int_equal(vt_geodetic_from_enu(g, (vt_vec3){1, 1, 1}, &la, &lo, &h), VT_OK);
    vt_geodetic_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enu_round_trips_to_a_micrometre_near_the_origin_and_at_10_km),
        cmocka_unit_test(the_origin_maps_to_itself),
        cmocka_unit_test(up_is_height_and_north_is_latitude),
        cmocka_unit_test(bad_origins_are_errors_that_name_the_field),
        cmocka_unit_test(bad_points_are_errors_not_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
