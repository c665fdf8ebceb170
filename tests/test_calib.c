/*
 * tests/test_calib.c - calibration from a flight (voxtrack/calib.h): a rig
 * whose orientations are off by up to 5 degrees and clocks by up to 0.5 s is
 * recovered from noisy 2D detections (0.5 px, 10% missed, 5% outliers, one
 * camera at half the frame rate) against the reference track; then the
 * triangulated track is as good as with the true rig. Self-calibration
 * recovers a camera from two known ones; an unsurveyed camera gets its
 * position. The pieces (Levenberg-Marquardt, the rotations, the reference
 * track and its files) are checked on their own first.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calib/calib_internal.h"
#include "voxtrack/calib.h"
#include "voxtrack/geodetic.h"
#include "voxtrack/image.h"
#include "vt_test.h"
#include "vt_test_calib.h"
#define VT_TEST_NAME "test_calib"
#include "vt_test_tmp.h"

enum { CAMS = 4, FRAMES = 1200 };

/* The flight, its track and every camera's detections: made once for the whole file. */
static vt_scenario *flight;
static vt_reftrack *track;
static vt_det2d_list dets[CAMS];
static vt_rig truth_rig; /* the true cameras, detections media, true clocks */

static const vt_flight_noise NOISE = {0.5, 0.10, 0.05, 25.0, 3, 17};

static int setup(void **state)
{
    if (vt_test_make_tmpdir(state))
        return -1;
    flight = vt_flight_scenario(CAMS, FRAMES);
    if (!flight)
        return -1;
    track = vt_flight_track(flight);
    const vt_rig *r = vt_scenario_rig(flight);
    vt_rig_init(&truth_rig);
    truth_rig.fps = 30;
    for (int c = 0; c < CAMS; c++) {
        vt_rig_camera rc = r->cameras[c];
        rc.media = VT_MEDIA_DETECTIONS;
        rc.path = "dets.csv";
        rc.clock_offset = vt_flight_offsets[c];
        rc.clock_scale = c == NOISE.slow ? 1.0 / NOISE.slow_fps : 0.0;
        vt_rig_add(&truth_rig, &rc);
        vt_flight_detections(flight, c, &NOISE, &dets[c]);
        vt_det2d_apply_clock(&dets[c], vt_det2d_camera_clock(&truth_rig, &rc, false));
    }
    return track ? 0 : -1;
}

static int teardown(void **state)
{
    for (int c = 0; c < CAMS; c++)
        vt_det2d_list_free(&dets[c]);
    vt_rig_free(&truth_rig);
    vt_reftrack_free(track);
    vt_scenario_free(flight);
    return vt_test_remove_tmpdir(state);
}

/* The rig as the site believes it: orientations off by 2 to 5 degrees, clocks by up to 0.5 s. */
static void perturbed_rig(vt_rig *rig)
{
    uint64_t rng = 99;
    vt_rig_init(rig);
    rig->fps = 30;
    for (int c = 0; c < CAMS; c++) {
        vt_rig_camera rc = truth_rig.cameras[c];
        rc.cam.q = vt_q_mul(rc.cam.q, vt_flight_turn(&rng, 5.0 - c));
        vt_camera_init(&rc.cam);
        rc.clock_offset = 0.0; /* nobody knows the offsets */
        /* The slow camera's nominal rate: 25 fps, 0.1% off its true one. */
        rc.clock_scale = c == NOISE.slow ? 1.0 / (NOISE.slow_fps * 1.001) : 0.0;
        vt_rig_add(rig, &rc);
    }
}

/* ------------------------------------------------------------------------ */
/* The pieces                                                                */

static void quadratic(void *user, const double *p, double *r)
{
    const double *t = user;
    /* Residuals of y = a exp(b t) at 8 points, exact for a = 2, b = -0.5. */
    for (int i = 0; i < 8; i++)
        r[i] = p[0] * exp(p[1] * t[i]) - 2.0 * exp(-0.5 * t[i]);
}

static void test_levenberg_marquardt_finds_an_exact_fit(void **state)
{
    (void)state;
    double t[8], p[2] = {1.0, 0.0}, h[2] = {1e-7, 1e-7};
    for (int i = 0; i < 8; i++)
        t[i] = 0.5 * i;
    vt__lm_result res;
    assert_int_equal(vt__lm_solve(2, 8, quadratic, t, p, h, 100, &res), VT_OK);
    assert_true(res.converged);
    assert_near(p[0], 2.0, 1e-9);
    assert_near(p[1], -0.5, 1e-9);
    assert_true(res.cost < 1e-18);
    assert_int_equal(vt__lm_solve(3, 2, quadratic, t, p, h, 100, &res), VT_EINVAL);
}

static void test_rotations_from_directions_are_exact(void **state)
{
    (void)state;
    vt_test_seed(3);
    for (int k = 0; k < 20; k++) {
        vt_quat q = vt_q_normalize(vt_test_random_rotation());
        vt_mat3 r = vt_q_to_m3(q), got;
        vt_vec3 b[5], w[5];
        double m[9] = {0};
        for (int i = 0; i < 5; i++) {
            b[i] = vt_v3_normalize(vt_v3(vt_test_gauss(), vt_test_gauss(), vt_test_gauss()));
            w[i] = vt_m3_mul_v3(r, b[i]);
            const double wi[3] = {w[i].x, w[i].y, w[i].z}, bi[3] = {b[i].x, b[i].y, b[i].z};
            for (int x = 0; x < 3; x++)
                for (int y = 0; y < 3; y++)
                    m[x * 3 + y] += wi[x] * bi[y];
        }
        assert_true(vt__rotation_from_pairs(b[0], b[1], w[0], w[1], &got));
        assert_true(vt__q_angle(vt_m3_to_q(got), q) < 1e-9);
        double e = vt__q_angle(vt__nearest_rotation(m), q);
        if (!(e < 1e-9))
            print_error("k %d: %g\n", k, e);
        assert_true(e < 1e-9);
    }
}

static void test_linear_pnp_recovers_a_pose(void **state)
{
    (void)state;
    vt_test_seed(8);
    vt_quat q = vt_q_normalize(vt_test_random_rotation());
    vt_vec3 c = vt_v3(120, -40, 7);
    vt_mat3 rcw = vt_m3_transpose(vt_q_to_m3(q));
    vt_vec3 b[12], x[12];
    for (int i = 0; i < 12; i++) {
        /* Points 300 to 500 m in front of the camera, in a box. */
        vt_vec3 pc =
            vt_v3(vt_test_uniform(-100, 100), vt_test_uniform(-60, 60), vt_test_uniform(300, 500));
        x[i] = vt_v3_add(c, vt_m3_mul_v3(vt_q_to_m3(q), pc));
        b[i] = vt_v3_normalize(vt_m3_mul_v3(rcw, vt_v3_sub(x[i], c)));
    }
    vt_quat got_q;
    vt_vec3 got_c;
    assert_true(vt__pnp_dlt(b, x, 12, &got_q, &got_c));
    assert_true(vt__q_angle(got_q, q) < 1e-7);
    assert_true(vt_v3_norm(vt_v3_sub(got_c, c)) < 1e-4);
    /* Coplanar points do not determine the pose. */
    for (int i = 0; i < 12; i++)
        x[i].z = 50.0;
    assert_false(vt__pnp_dlt(b, x, 12, &got_q, &got_c));
}

static void test_the_reference_track_interpolates_between_samples(void **state)
{
    (void)state;
    /* A circle sampled at 10 Hz, velocities derived: positions within a centimetre. */
    double t[101];
    vt_vec3 p[101];
    for (int i = 0; i <= 100; i++) {
        t[i] = 0.1 * i;
        p[i] = vt_v3(50 * cos(0.3 * t[i]), 50 * sin(0.3 * t[i]), 2 * t[i]);
    }
    vt_reftrack *r;
    assert_int_equal(vt_reftrack_new(t, p, NULL, 101, &r), VT_OK);
    for (double s = 0.05; s < 9.9; s += 0.37) {
        vt_vec3 got, vel;
        assert_true(vt_reftrack_at(r, s, 0.5, &got, &vel));
        assert_near(got.x, 50 * cos(0.3 * s), 1e-2);
        assert_near(got.y, 50 * sin(0.3 * s), 1e-2);
        assert_near(vel.z, 2.0, 1e-9);
    }
    vt_vec3 got;
    assert_false(vt_reftrack_at(r, -0.01, 0, &got, NULL));
    assert_false(vt_reftrack_at(r, 10.01, 0, &got, NULL));
    assert_false(vt_reftrack_at(r, 5.05, 0.05, &got, NULL)); /* a gap longer than allowed */
    vt_reftrack_free(r);
    /* Samples at either edge of a gap are on the track, the last one too (found by fuzzing). */
    const char *text = "t,x,y,z\n0,1,2,3\n0.1,1.5,2,3\n2,2,2.1,3\n";
    assert_int_equal(vt_reftrack_parse(text, strlen(text), "gap.csv", NULL, NULL, &r), VT_OK);
    assert_true(vt_reftrack_at(r, 0.1, 1.0, &got, NULL) && got.x == 1.5);
    assert_true(vt_reftrack_at(r, 2.0, 1.0, &got, NULL) && got.x == 2.0 && got.y == 2.1);
    assert_false(vt_reftrack_at(r, 1.0, 1.0, &got, NULL));
    assert_true(vt_reftrack_at(r, 1.0, 0.0, &got, NULL)); /* no gap limit: bridged */
    vt_reftrack_free(r);
    t[7] = t[6];
    assert_int_equal(vt_reftrack_new(t, p, NULL, 101, &r), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "sample 7 at t = 0.6 s does not come after"));
}

/* ------------------------------------------------------------------------ */
/* Calibration against the reference track                                   */

static void test_a_perturbed_rig_is_recovered(void **state)
{
    (void)state;
    vt_rig rig;
    perturbed_rig(&rig);
    for (int c = 0; c < CAMS; c++) {
        vt_calib_opts o = vt_calib_opts_default();
        if (c == NOISE.slow)
            o.solve |= VT_CALIB_SCALE;
        vt_calib_result res;
        vt_status s = vt_calib_camera(&o, &rig, c, &dets[c], track, &res);
        if (s)
            print_error("%s\n", vt_last_error());
        assert_int_equal(s, VT_OK);
        const vt_rig_camera *tc = &truth_rig.cameras[c];
        double dq = vt_rad2deg(vt__q_angle(res.cam.q, tc->cam.q));
        double true_scale = c == NOISE.slow ? 1.0 / NOISE.slow_fps : 1.0 / 30.0;
        /* The clock at the middle of the flight: offset and scale together. */
        double mid = FRAMES / 2.0 / 30.0 / true_scale;
        double dt =
            (res.clock_scale * mid + res.clock_offset) - (true_scale * mid + vt_flight_offsets[c]);
        /* ... and at every detection: the largest clock error over the flight. */
        double worst = 0.0;
        for (size_t i = 0; i < dets[c].count; i++) {
            double x = (double)dets[c].items[i].frame;
            worst = fmax(worst, fabs((res.clock_scale - true_scale) * x + res.clock_offset -
                                     vt_flight_offsets[c]));
        }
        print_message("camera %d: %.5f deg, %.3f ms (worst %.3f ms; offset %.6f, scale %.9f), "
                      "rms %.3f px, %zu in %zu out, sd %.4f deg %.3f ms (clock %.3f ms), "
                      "%d iterations%s%s\n",
                      c, dq, dt * 1e3, worst * 1e3, res.clock_offset, res.clock_scale, res.rms_px,
                      res.inliers, res.outliers, res.sd_rotation_deg, res.sd_offset_s * 1e3,
                      res.sd_clock_s * 1e3, res.iterations, res.weak ? ": " : "", res.message);
        assert_true(dq < 0.02);
        assert_true(fabs(dt) < 0.002);
        assert_true(worst < 0.002);
        assert_false(res.weak);
        vt_calib_result_free(&res);
    }
    vt_rig_free(&rig);
}

/* Calibrates every camera of the perturbed rig and writes the results into it. */
static void calibrate_all(vt_rig *rig)
{
    for (int c = 0; c < CAMS; c++) {
        vt_calib_opts o = vt_calib_opts_default();
        if (c == NOISE.slow)
            o.solve |= VT_CALIB_SCALE;
        vt_calib_result res;
        assert_int_equal(vt_calib_camera(&o, rig, c, &dets[c], track, &res), VT_OK);
        assert_int_equal(vt_calib_apply(&res, rig, c), VT_OK);
        vt_calib_result_free(&res);
    }
}

/* RMS distance of a triangulated track's points from the true track, m. */
static double rms_error(const vt_reftrack *tri)
{
    double sum = 0.0;
    size_t n = vt_reftrack_count(tri), used = 0;
    for (size_t i = 0; i < n; i++) {
        double t;
        vt_vec3 p, truth;
        vt_reftrack_sample(tri, i, &t, &p);
        if (!vt_reftrack_at(track, t, 0, &truth, NULL))
            continue;
        double e = vt_v3_norm(vt_v3_sub(p, truth));
        sum += e * e;
        used++;
    }
    assert_true(used > 500);
    return sqrt(sum / (double)used);
}

static double triangulated_error(const vt_rig *rig)
{
    const vt_det2d_list *lists[CAMS] = {&dets[0], &dets[1], &dets[2], &dets[3]};
    vt_calib_opts o = vt_calib_opts_default();
    o.max_offset = 0; /* the rig's clocks as they are */
    vt_reftrack *tri;
    vt_calib_triangulation st;
    assert_int_equal(vt_calib_triangulate(&o, rig, lists, 0xF, &tri, &st), VT_OK);
    assert_false(st.weak);
    double e = rms_error(tri);
    print_message("%zu points of %zu, median angle %.1f deg, rms miss %.3f m, error %.4f m\n",
                  st.points, st.candidates, st.median_angle_deg, st.rms_miss_m, e);
    vt_reftrack_free(tri);
    return e;
}

static void test_the_calibrated_rig_triangulates_as_well_as_the_true_one(void **state)
{
    (void)state;
    vt_rig rig;
    perturbed_rig(&rig);
    double before = triangulated_error(&truth_rig);
    calibrate_all(&rig);
    double after = triangulated_error(&rig);
    assert_true(after <= 1.2 * before);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Self-calibration                                                          */

static void test_self_calibration_recovers_a_camera_from_two_known_ones(void **state)
{
    (void)state;
    vt_rig rig;
    perturbed_rig(&rig);
    /* Cameras 0 and 1 surveyed (their poses true, 1's clock unknown), camera 2 not. */
    for (int c = 0; c < 2; c++)
        rig.cameras[c].cam = truth_rig.cameras[c].cam;
    const vt_det2d_list *lists[CAMS] = {&dets[0], &dets[1], &dets[2], &dets[3]};
    vt_reftrack *tri;
    vt_calib_triangulation st;
    assert_int_equal(vt_calib_triangulate(NULL, &rig, lists, 0x3, &tri, &st), VT_OK);
    print_message("triangulated %zu points of %zu, median angle %.1f deg, camera 1's offset "
                  "%.5f s (true %.5f)\n",
                  st.points, st.candidates, st.median_angle_deg, st.clock_offset[1],
                  vt_flight_offsets[1]);
    assert_false(st.weak);
    assert_true(fabs(st.clock_offset[1] - vt_flight_offsets[1]) < 0.002);
    rig.cameras[1].clock_offset = st.clock_offset[1];
    vt_calib_result res;
    assert_int_equal(vt_calib_camera(NULL, &rig, 2, &dets[2], tri, &res), VT_OK);
    double dq = vt_rad2deg(vt__q_angle(res.cam.q, truth_rig.cameras[2].cam.q));
    double dt = res.clock_offset - vt_flight_offsets[2];
    print_message("camera 2: %.5f deg, %.3f ms, rms %.3f px, %zu inliers\n", dq, dt * 1e3,
                  res.rms_px, res.inliers);
    assert_true(dq < 0.02);
    assert_true(fabs(dt) < 0.002);
    vt_calib_result_free(&res);
    vt_reftrack_free(tri);
    vt_rig_free(&rig);
}

static void test_a_camera_beside_the_known_one_is_weak_geometry(void **state)
{
    (void)state;
    /* Camera 1 replaced by one 3 m beside camera 0, looking the same way. */
    vt_rig rig;
    perturbed_rig(&rig);
    rig.cameras[0].cam = truth_rig.cameras[0].cam;
    vt_camera twin = truth_rig.cameras[0].cam;
    twin.position = vt_v3_add(twin.position, vt_v3(3, 0, 0));
    rig.cameras[1].cam = twin;
    vt_det2d_list near = {0};
    vt_flight_noise nz = NOISE;
    nz.seed = 5;
    vt_flight_detections_of(flight, 1, &twin, &nz, &near);
    const vt_det2d_list *lists[CAMS] = {&dets[0], &near, &dets[2], &dets[3]};
    vt_reftrack *tri = NULL;
    vt_calib_triangulation st;
    vt_status s = vt_calib_triangulate(NULL, &rig, lists, 0x3, &tri, &st);
    print_message("status %s, %zu points, median angle %.2f deg: %s\n", vt_status_name(s),
                  st.points, st.median_angle_deg, s ? vt_last_error() : st.message);
    /* Either no clock and points at all, or flagged: never a silent, wrong track. */
    assert_true(s == VT_ERANGE || (s == VT_OK && st.weak));
    if (s == VT_OK)
        assert_non_null(strstr(st.message, "weak geometry"));
    vt_reftrack_free(tri);
    vt_det2d_list_free(&near);
    vt_rig_free(&rig);
}

static void test_a_short_straight_flight_is_weak_geometry(void **state)
{
    (void)state;
    vt_rig rig;
    perturbed_rig(&rig);
    /* Two seconds of camera 1's detections from the middle of the first leg. */
    vt_det2d_list part = {0};
    part.items = calloc(dets[1].count, sizeof *part.items);
    for (size_t i = 0; i < dets[1].count; i++)
        if (dets[1].items[i].frame >= 60 && dets[1].items[i].frame < 120)
            part.items[part.count++] = dets[1].items[i];
    vt_calib_result res;
    vt_status s = vt_calib_camera(NULL, &rig, 1, &part, track, &res);
    print_message("status %s, weak %d: %s\n", vt_status_name(s), res.weak, res.message);
    assert_true(s == VT_ERANGE || (s == VT_OK && res.weak));
    if (s == VT_OK)
        assert_non_null(strstr(res.message, "weak geometry"));
    vt_calib_result_free(&res);
    free(part.items);
    vt_rig_free(&rig);
}

static void test_an_unsurveyed_camera_gets_its_position(void **state)
{
    (void)state;
    vt_rig rig;
    perturbed_rig(&rig);
    /* Camera 2's position is a guess 40 m off. */
    rig.cameras[2].cam.position = vt_v3_add(truth_rig.cameras[2].cam.position, vt_v3(25, -30, 8));
    vt_camera_init(&rig.cameras[2].cam);
    vt_calib_opts o = vt_calib_opts_default();
    o.solve = VT_CALIB_POSITION;
    vt_calib_result res;
    vt_status s = vt_calib_camera(&o, &rig, 2, &dets[2], track, &res);
    if (s)
        print_error("%s\n", vt_last_error());
    assert_int_equal(s, VT_OK);
    double dp = vt_v3_norm(vt_v3_sub(res.cam.position, truth_rig.cameras[2].cam.position));
    double dq = vt_rad2deg(vt__q_angle(res.cam.q, truth_rig.cameras[2].cam.q));
    print_message(
        "position off %.3f m (sd %.3f), orientation %.4f deg, clock %.3f ms, rms %.3f px\n", dp,
        res.sd_position_m, dq, (res.clock_offset - vt_flight_offsets[2]) * 1e3, res.rms_px);
    assert_true(dp < 4 * res.sd_position_m + 0.05);
    assert_true(dp < 0.5);
    assert_true(dq < 0.05);
    assert_false(res.weak);
    vt_calib_result_free(&res);
    vt_rig_free(&rig);
}

static void test_a_track_out_of_view_is_refused(void **state)
{
    (void)state;
    /* The reference flown 5 km away: no orientation and offset make the detections meet it. */
    size_t n = vt_reftrack_count(track);
    double *t = malloc(n * sizeof *t);
    vt_vec3 *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        vt_reftrack_sample(track, i, &t[i], &p[i]);
        p[i].x += 5000.0;
    }
    vt_reftrack *far;
    assert_int_equal(vt_reftrack_new(t, p, NULL, n, &far), VT_OK);
    vt_calib_result res;
    vt_calib_opts o = vt_calib_opts_default();
    o.max_offset = 0.1;
    /* (Its hovers alone would fit: a cluster of detections on one point, but too few.) */
    assert_int_equal(vt_calib_camera(&o, &truth_rig, 0, &dets[0], far, &res), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "camera 0 ('m0'): only "));
    assert_non_null(strstr(res.message, "this is not a calibration"));
    vt_calib_result_free(&res);
    /* A detection list that never meets the track: nothing to start from. */
    vt_det2d_list few = dets[0];
    few.count = 10;
    assert_int_equal(vt_calib_camera(&o, &truth_rig, 0, &few, track, &res), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "no clock offset within 0.1 s"));
    vt_calib_result_free(&res);
    vt_reftrack_free(far);
    free(t);
    free(p);
}

static void test_the_plot_is_a_png_of_the_camera_image(void **state)
{
    (void)state;
    vt_calib_result res;
    assert_int_equal(vt_calib_camera(NULL, &truth_rig, 1, &dets[1], track, &res), VT_OK);
    const char *path = vt_test_tmp_path("m1.png");
    assert_int_equal(vt_calib_plot(&res, track, path), VT_OK);
    vt_image img = {0};
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.width, 1600); /* 3840 x 2160 scaled to 1600 wide */
    assert_int_equal(img.height, 900);
    vt_image_free(&img);
    assert_int_equal(vt_calib_plot(&res, track, vt_test_tmp_path("no/such/m1.png")), VT_EIO);
    vt_calib_result_free(&res);
}

/* ------------------------------------------------------------------------ */
/* Reference track files                                                     */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void assert_track_refused(const char *text, const vt_rig *rig, const char *target,
                                 vt_status status, const char *message)
{
    const char *path = vt_test_tmp_path("bad_track.txt");
    write_text(path, text);
    vt_reftrack *r = NULL;
    vt_status s = vt_reftrack_load(path, rig, target, &r);
    if (s != status || !strstr(vt_last_error(), message)) {
        print_error("status %s, message \"%s\"; expected %s and \"%s\"\n", vt_status_name(s),
                    vt_last_error(), vt_status_name(status), message);
        fail();
    }
    assert_null(r);
    /* The text in memory reads the same. */
    s = vt_reftrack_parse(text, strlen(text), "bad_track.txt", rig, target, &r);
    if (s != status || !strstr(vt_last_error(), message)) {
        print_error("parse: status %s, message \"%s\"; expected %s and \"%s\"\n", vt_status_name(s),
                    vt_last_error(), vt_status_name(status), message);
        fail();
    }
    assert_null(r);
}

static void test_every_track_file_form_reads_the_same(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    rig.has_origin = true;
    rig.lat_deg = 47.3769;
    rig.lon_deg = 8.5417;
    rig.height_m = 408;
    vt_geodetic *g;
    assert_int_equal(vt_geodetic_new(rig.lat_deg, rig.lon_deg, rig.height_m, &g), VT_OK);
    FILE *a = fopen(vt_test_tmp_path("a.jsonl"), "w"), *b = fopen(vt_test_tmp_path("b.csv"), "w"),
         *c = fopen(vt_test_tmp_path("c.csv"), "w"), *d = fopen(vt_test_tmp_path("d.jsonl"), "w");
    fprintf(b, "t,x,y,z\n");
    fprintf(c, "# a GPS log\nt lat lon h\n");
    for (int i = 0; i < 20; i++) {
        double t = 0.1 * i, x = 10 * t, y = -3 + t * t, z = 50 + i;
        double lat, lon, h;
        assert_int_equal(vt_geodetic_from_enu(g, vt_v3(x, y, z), &lat, &lon, &h), VT_OK);
        fprintf(a, "{\"t\": %.17g, \"x\": %.17g, \"y\": %.17g, \"z\": %.17g}\n", t, x, y, z);
        fprintf(b, "%.17g,%.17g,%.17g,%.17g\n", t, x, y, z);
        fprintf(c, "%.17g %.17g %.17g %.17g\n", t, lat, lon, h);
        /* truth.jsonl's form, with a second target to choose from */
        fprintf(d,
                "{\"t\": %.17g, \"frame\": %d, \"id\": 0, \"kind\": \"drone\", \"pos\": "
                "[%.17g, %.17g, %.17g], \"vel\": [10, %.17g, 10], \"size\": 0.5}\n",
                t, i, x, y, z, 2 * t);
        fprintf(d, "{\"t\": %.17g, \"id\": 7, \"pos\": [0, 0, 0]}\n", t);
    }
    fclose(a), fclose(b), fclose(c), fclose(d);
    vt_reftrack *ra, *rb, *rc, *rd;
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("a.jsonl"), NULL, NULL, &ra), VT_OK);
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("b.csv"), NULL, NULL, &rb), VT_OK);
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("c.csv"), &rig, NULL, &rc), VT_OK);
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("d.jsonl"), NULL, "0", &rd), VT_OK);
    assert_int_equal(vt_reftrack_count(ra), 20);
    assert_int_equal(vt_reftrack_count(rd), 20);
    for (double t = 0.0; t <= 1.9; t += 0.137) {
        vt_vec3 pa, pb, pc, pd;
        assert_true(vt_reftrack_at(ra, t, 0, &pa, NULL) && vt_reftrack_at(rb, t, 0, &pb, NULL) &&
                    vt_reftrack_at(rc, t, 0, &pc, NULL) && vt_reftrack_at(rd, t, 0, &pd, NULL));
        assert_true(pa.x == pb.x && pa.y == pb.y && pa.z == pb.z);
        assert_true(vt_v3_norm(vt_v3_sub(pa, pc)) < 1e-6); /* through PROJ and back */
        /* The given velocities are exact: the interpolation is exact for the quadratic. */
        assert_near(pd.y, -3 + t * t, 1e-12);
    }
    vt_reftrack_free(ra), vt_reftrack_free(rb), vt_reftrack_free(rc), vt_reftrack_free(rd);
    assert_track_refused("", NULL, NULL, VT_EPARSE, "bad_track.txt: 0 samples");
    vt_reftrack *r;
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("d.jsonl"), NULL, NULL, &r), VT_EINVAL);
    assert_non_null(
        strstr(vt_last_error(), "holds several targets ('0' at line 1, '7' at line 2)"));
    vt_geodetic_free(g);
    vt_rig_free(&rig);
}

static void test_bad_track_files_name_the_line(void **state)
{
    (void)state;
    assert_track_refused(
        "t,x,y\n", NULL, NULL, VT_EPARSE,
        "bad_track.txt:1: the header must name t and either x, y, z or lat, lon, h");
    assert_track_refused("t,x,y,z\n0,1,2,3\n1,2,abc,4\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:3: column 'y': \"abc\" is not a number");
    assert_track_refused("t,x,y,z\n0,1,2,3\n1,2,3\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:3: fewer values where the header names 4");
    assert_track_refused("t,x,y,z\n0,1,2,3\n1,2,3,4\n1,2,3,4\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:4: t = 1 s does not come after t = 1 s (line 3)");
    assert_track_refused("{\"t\": 0, \"x\": 1, \"y\": 2}\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:1: missing field 'z'");
    assert_track_refused("{\"t\": 0, \"pos\": [1, 2]}\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:1: field 'pos' must be an array of 3 numbers");
    assert_track_refused("{\"t\": 0, \"xyz\": 1}\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:1: unknown field 'xyz'");
    assert_track_refused("t,lat,lon,h\n0,47,8,400\n", NULL, NULL, VT_EPARSE,
                         "bad_track.txt:2: a WGS84 position (lat, lon, h) needs the rig's");
    assert_track_refused("{\"t\": 0, \"x\": 1, \"y\": 2, \"z\": 3, \"id\": 1}\n", NULL, "2",
                         VT_EINVAL, "target '2' has 0 samples");
    vt_reftrack *r;
    assert_int_equal(vt_reftrack_load(vt_test_tmp_path("nowhere.csv"), NULL, NULL, &r), VT_ENOENT);
}

/* ---- the relative rotation of a mono/thermal pair ---- */

/* A pair on one mount looking north-east and a little up: 1280x720 mono, 640x512 thermal,
   10 cm apart; the thermal camera's true orientation differs from the mono's by 0.3 deg. */
static void make_pair(vt_camera *mono, vt_camera *thermal)
{
    memset(mono, 0, sizeof *mono);
    mono->width = 1280;
    mono->height = 720;
    mono->fx = mono->fy = 640.0 / tan(25.0 * VT_PI / 180.0);
    mono->cx = 639.5;
    mono->cy = 359.5;
    /* camera z (forward) to the north-east, 5 degrees up; x right, y down */
    vt_vec3 f = vt_v3_normalize(vt_v3(0.7, 0.7, 0.09)), x = vt_v3_normalize(vt_v3(0.7, -0.7, 0));
    vt_vec3 y = vt_v3_cross(f, x);
    vt_mat3 r = {{{x.x, y.x, f.x}, {x.y, y.y, f.y}, {x.z, y.z, f.z}}};
    mono->q = vt_m3_to_q(r);
    mono->position = vt_v3(0, 0, 3);
    assert_int_equal(vt_camera_init(mono), VT_OK);
    memset(thermal, 0, sizeof *thermal);
    thermal->width = 640;
    thermal->height = 512;
    thermal->fx = thermal->fy = 320.0 / tan(20.0 * VT_PI / 180.0);
    thermal->cx = 319.5;
    thermal->cy = 255.5;
    thermal->q = vt_q_mul(mono->q, vt_q_from_axis_angle(vt_v3_normalize(vt_v3(0.3, 1, -0.2)), 0.3 * VT_PI / 180));
    thermal->position = vt_v3_add(mono->position, vt_m3_mul_v3(mono->r, vt_v3(0.1, 0, 0)));
    assert_int_equal(vt_camera_init(thermal), VT_OK);
}

static void det_add(vt_det2d_list *l, double t, double u, double v)
{
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? 2 * l->capacity : 256;
        l->items = realloc(l->items, l->capacity * sizeof *l->items);
        assert_non_null(l->items);
    }
    int32_t line = (int32_t)l->count + 1;
    l->items[l->count++] =
        (vt_det2d){.frame = -1, .stamp = t, .t = t, .u = u, .v = v, .score = 1, .line = line};
}

/* Six drones crossing the view 2.5-5 km out for 10 s at 30 fps (far enough for the 10 cm
   baseline's parallax to stay under 0.04 mrad), seen by both cameras with 0.3 px of noise,
   10% missed, and a false detection in 5% of the frames of each. */
static void pair_flight(const vt_camera *mono, const vt_camera *thermal, vt_det2d_list *dm,
                        vt_det2d_list *dt)
{
    vt_test_seed(16);
    memset(dm, 0, sizeof *dm);
    memset(dt, 0, sizeof *dt);
    const vt_vec3 start[6] = {{2400, 700, 150}, {1100, 2600, 500}, {3300, 2900, 250},
                              {2000, 2000, 600}, {3000, 1900, 80},   {1700, 2700, 350}};
    const vt_vec3 vel[6] = {{-40, 45, 2}, {60, -50, 6}, {-70, 55, -3},
                            {50, -50, -8}, {-45, 40, 9}, {55, -45, 1}};
    for (int f = 0; f < 300; f++) {
        double t = f / 30.0;
        for (int k = 0; k < 2; k++) {
            const vt_camera *c = k ? thermal : mono;
            vt_det2d_list *l = k ? dt : dm;
            for (int i = 0; i < 6; i++) {
                vt_vec3 p = vt_v3_add(start[i], vt_v3_scale(vel[i], t));
                double u, v;
                if (vt_test_uniform01() < 0.1 || !vt_camera_world_to_pixel(c, p, &u, &v))
                    continue;
                u += 0.3 * vt_test_gauss();
                v += 0.3 * vt_test_gauss();
                if (vt_camera_in_image(c, u, v))
                    det_add(l, t, u, v);
            }
            if (vt_test_uniform01() < 0.05)
                det_add(l, t, vt_test_uniform(0, c->width - 1), vt_test_uniform(0, c->height - 1));
        }
    }
}

static void test_a_pair_rotation_is_recovered_from_moving_targets(void **state)
{
    (void)state;
    vt_camera mono, thermal;
    make_pair(&mono, &thermal);
    vt_det2d_list dm, dt;
    pair_flight(&mono, &thermal, &dm, &dt);
    /* The rig believes the thermal camera sits 1.2 degrees off its true orientation. */
    vt_camera rig_thermal = thermal;
    rig_thermal.q = vt_q_mul(thermal.q, vt_q_from_axis_angle(vt_v3_normalize(vt_v3(1, -0.4, 0.6)), 1.2 * VT_PI / 180));
    assert_int_equal(vt_camera_init(&rig_thermal), VT_OK);
    vt_pair_calib_result r;
    assert_int_equal(vt_pair_calibrate(NULL, &mono, &rig_thermal, &dm, &dt, &r), VT_OK);
    double err_deg = vt__q_angle(r.thermal_q, thermal.q) * 180 / VT_PI;
    print_message("pair: %zu/%zu mono/thermal detections, %zu matched, %zu inliers, rms %.3f px "
                  "(rig %.2f px), changed %.3f deg, off the truth by %.4f deg\n",
                  r.mono_detections, r.thermal_detections, r.matches, r.inliers, r.rms_px,
                  r.rig_rms_px, r.change_deg, err_deg);
    assert_true(err_deg < 0.005); /* a thermal pixel is 0.045 deg */
    assert_true(fabs(r.change_deg - 1.2) < 0.01);
    assert_true(r.rms_px > 0.3 && r.rms_px < 0.6); /* the noise of both: 0.3 * sqrt(2) */
    assert_true(r.rig_rms_px > 10.0);
    assert_true(r.inliers > 1000 && r.inliers <= r.mono_detections);
    vt_det2d_list_free(&dm);
    vt_det2d_list_free(&dt);
}

static void test_a_pair_calibration_without_matches_says_why(void **state)
{
    (void)state;
    vt_camera mono, thermal;
    make_pair(&mono, &thermal);
    vt_det2d_list dm, dt;
    pair_flight(&mono, &thermal, &dm, &dt);
    vt_pair_calib_result r;
    /* A thermal clock 100 s off: nothing is simultaneous. */
    for (size_t i = 0; i < dt.count; i++)
        dt.items[i].t += 100.0;
    assert_int_equal(vt_pair_calibrate(NULL, &mono, &thermal, &dm, &dt, &r), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "matched detections"));
    /* Unsorted times are named with the line. */
    dt.items[5].t = -3;
    assert_int_equal(vt_pair_calibrate(NULL, &mono, &thermal, &dm, &dt, &r), VT_EINVAL);
    if (!strstr(vt_last_error(), "thermal detections are not in time order at 5 (line 6)"))
        fail_msg("%s", vt_last_error());
    vt_pair_calib_opts o = vt_pair_calib_opts_default();
    o.inlier_px = 0;
    assert_int_equal(vt_pair_calibrate(&o, &mono, &thermal, &dm, &dt, &r), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "inlier_px"));
    vt_det2d_list_free(&dm);
    vt_det2d_list_free(&dt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levenberg_marquardt_finds_an_exact_fit),
        cmocka_unit_test(test_rotations_from_directions_are_exact),
        cmocka_unit_test(test_linear_pnp_recovers_a_pose),
        cmocka_unit_test(test_the_reference_track_interpolates_between_samples),
        cmocka_unit_test(test_a_perturbed_rig_is_recovered),
        cmocka_unit_test(test_the_calibrated_rig_triangulates_as_well_as_the_true_one),
        cmocka_unit_test(test_self_calibration_recovers_a_camera_from_two_known_ones),
        cmocka_unit_test(test_a_camera_beside_the_known_one_is_weak_geometry),
        cmocka_unit_test(test_a_short_straight_flight_is_weak_geometry),
        cmocka_unit_test(test_an_unsurveyed_camera_gets_its_position),
        cmocka_unit_test(test_a_track_out_of_view_is_refused),
        cmocka_unit_test(test_the_plot_is_a_png_of_the_camera_image),
        cmocka_unit_test(test_every_track_file_form_reads_the_same),
        cmocka_unit_test(test_bad_track_files_name_the_line),
        cmocka_unit_test(test_a_pair_rotation_is_recovered_from_moving_targets),
        cmocka_unit_test(test_a_pair_calibration_without_matches_says_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
