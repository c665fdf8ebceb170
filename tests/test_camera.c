/*
 * tests/test_camera.c - the pinhole camera with distortion, and the original
 * Pixeltovoxelprojector's yaw/pitch/roll convention (voxtrack/camera.h).
 *
 * Cameras are drawn with a fixed seed: random pose, focal length, principal
 * point near the centre and realistic distortion (|k1| <= 0.3, small k2 and
 * tangential terms) inside a field of view where the model stays monotonic.
 * The ypr tests rebuild the original's ray from its formula, independently of
 * the library, and compare ray for ray.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/camera.h"
#include "vt_test.h"

#define N_CAMERAS 50
#define N_POINTS 200

/*
 * The radial model r (1 + k1 r^2 + k2 r^4 + k3 r^6) grows only up to a point
 * when k1 < 0; beyond that no undistorted point maps to a pixel. The largest
 * distorted radius reached before the model folds back.
 */
static double max_distorted_radius(const double *dist)
{
    double best = 0.0;
    for (double r = 0.0; r < 3.0; r += 1e-3) {
        double r2 = r * r, rd = r * (1 + r2 * (dist[0] + r2 * (dist[1] + r2 * dist[4])));
        if (rd < best)
            break;
        best = rd;
    }
    return best;
}

/* Normalised radius of the image corner farthest from the principal point. */
static double corner_radius(const vt_camera *cam)
{
    double du = fmax(cam->cx + 0.5, cam->width - 0.5 - cam->cx);
    double dv = fmax(cam->cy + 0.5, cam->height - 0.5 - cam->cy);
    return hypot(du / cam->fx, dv / cam->fy);
}

/* A camera like a real one: half field of view up to ~35 degrees, mild lens distortion. */
static vt_camera random_camera(bool distorted)
{
    vt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.width = (int)vt_test_uniform(320, 4000);
    cam.height = (int)(cam.width * vt_test_uniform(0.5, 0.8));
    cam.fx = 0.5 * cam.width / vt_test_uniform(0.3, 0.7);
    cam.fy = cam.fx * vt_test_uniform(0.98, 1.02);
    cam.cx = 0.5 * cam.width + vt_test_uniform(-20, 20);
    cam.cy = 0.5 * cam.height + vt_test_uniform(-20, 20);
    if (distorted) {
        cam.dist[0] = vt_test_uniform(-0.3, 0.3);
        cam.dist[1] = vt_test_uniform(-0.05, 0.05);
        cam.dist[2] = vt_test_uniform(-1e-3, 1e-3);
        cam.dist[3] = vt_test_uniform(-1e-3, 1e-3);
        cam.dist[4] = vt_test_uniform(-0.01, 0.01);
    }
    /* Calibrated lenses map the whole image: zoom in until the corners are well inside. */
    while (corner_radius(&cam) > 0.9 * max_distorted_radius(cam.dist)) {
        cam.fx *= 1.1;
        cam.fy *= 1.1;
    }
    cam.position =
        vt_v3(vt_test_uniform(-1000, 1000), vt_test_uniform(-1000, 1000), vt_test_uniform(0, 300));
    cam.q = vt_test_random_rotation();
    assert_int_equal(vt_camera_init(&cam), VT_OK);
    return cam;
}

/* A world point the camera sees: a random pixel, pushed out to a random depth. */
static vt_vec3 random_visible_point(const vt_camera *cam)
{
    double x = vt_test_uniform(-0.5, cam->width - 0.5),
           y = vt_test_uniform(-0.5, cam->height - 0.5);
    double xn = (x - cam->cx) / cam->fx, yn = (y - cam->cy) / cam->fy;
    double depth = vt_test_uniform(1.0, 5000.0);
    vt_vec3 c = vt_v3(xn * depth, yn * depth, depth);
    return vt_v3_add(cam->position, vt_m3_mul_v3(cam->r, c));
}

static double distance_to_ray(vt_vec3 p, vt_vec3 origin, vt_vec3 dir)
{
    return vt_v3_norm(vt_v3_cross(vt_v3_sub(p, origin), dir));
}

/* ---- projection and back-projection ----------------------------------- */

static void world_to_pixel_to_ray_passes_through_the_point(void **state)
{
    (void)state;
    for (int c = 0; c < N_CAMERAS; c++) {
        vt_camera cam = random_camera(true);
        for (int i = 0; i < N_POINTS; i++) {
            vt_vec3 p = random_visible_point(&cam), origin, dir;
            double u, v;
            assert_true(vt_camera_world_to_pixel(&cam, p, &u, &v));
            assert_true(vt_camera_pixel_to_ray(&cam, u, v, &origin, &dir));
            assert_near(vt_v3_norm(dir), 1.0, 1e-14);
            assert_true(vt_v3_dot(vt_v3_sub(p, origin), dir) > 0.0);
            assert_near(distance_to_ray(p, origin, dir), 0.0, 1e-6);
        }
    }
}

static void pixel_to_ray_to_pixel_returns_the_pixel(void **state)
{
    (void)state;
    for (int c = 0; c < N_CAMERAS; c++) {
        vt_camera cam = random_camera(true);
        for (int i = 0; i < N_POINTS; i++) {
            double u = vt_test_uniform(-0.5, cam.width - 0.5),
                   v = vt_test_uniform(-0.5, cam.height - 0.5), u2, v2;
            vt_vec3 origin, dir;
            assert_true(vt_camera_pixel_to_ray(&cam, u, v, &origin, &dir));
            vt_vec3 p = vt_v3_add(origin, vt_v3_scale(dir, vt_test_uniform(1.0, 5000.0)));
            assert_true(vt_camera_world_to_pixel(&cam, p, &u2, &v2));
            assert_near(u2, u, 1e-7);
            assert_near(v2, v, 1e-7);
        }
    }
}

static void undistort_inverts_distort(void **state)
{
    (void)state;
    for (int c = 0; c < N_CAMERAS; c++) {
        vt_camera cam = random_camera(true);
        double xmax = 0.5 * cam.width / cam.fx, ymax = 0.5 * cam.height / cam.fy;
        for (int i = 0; i < N_POINTS; i++) {
            double x = vt_test_uniform(-xmax, xmax), y = vt_test_uniform(-ymax, ymax), xd, yd, xu,
                   yu;
            vt_camera_distort(&cam, x, y, &xd, &yd);
            assert_true(vt_camera_undistort(&cam, xd, yd, &xu, &yu));
            assert_near(xu, x, 1e-11);
            assert_near(yu, y, 1e-11);
        }
    }
}

static void undistort_fails_beyond_the_lens_fold(void **state)
{
    (void)state;
    vt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.width = cam.height = 100;
    cam.fx = cam.fy = 100;
    cam.q = vt_q_identity();
    cam.dist[0] = -0.3;
    assert_int_equal(vt_camera_init(&cam), VT_OK);
    /* r (1 - 0.3 r^2) never exceeds 0.70: nothing distorts to radius 1. */
    double x, y;
    assert_false(vt_camera_undistort(&cam, 1.0, 0.0, &x, &y));
    assert_true(isfinite(x) && isfinite(y));
    assert_true(vt_camera_undistort(&cam, 0.6, 0.0, &x, &y));
}

static void distortion_follows_the_opencv_formula(void **state)
{
    (void)state;
    vt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.width = 100;
    cam.height = 100;
    cam.fx = cam.fy = 100;
    cam.q = vt_q_identity();
    double k1 = -0.2, k2 = 0.03, p1 = 4e-4, p2 = -7e-4, k3 = 0.005;
    double d[5] = {k1, k2, p1, p2, k3};
    memcpy(cam.dist, d, sizeof d);
    assert_int_equal(vt_camera_init(&cam), VT_OK);
    assert_true(cam.distorted);
    double x = 0.31, y = -0.27, r2 = x * x + y * y, xd, yd;
    double radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
    vt_camera_distort(&cam, x, y, &xd, &yd);
    assert_near(xd, x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), 1e-15);
    assert_near(yd, y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y, 1e-15);
}

static void undistorted_camera_is_a_plain_pinhole(void **state)
{
    (void)state;
    vt_camera cam = random_camera(false);
    assert_false(cam.distorted);
    double x, y;
    assert_true(vt_camera_undistort(&cam, 0.25, -0.125, &x, &y));
    assert_near(x, 0.25, 0.0);
    assert_near(y, -0.125, 0.0);
}

static void optical_axis_projects_to_the_principal_point(void **state)
{
    (void)state;
    vt_camera cam = random_camera(true);
    vt_vec3 ahead = vt_v3_add(cam.position, vt_camera_cam_to_world_dir(&cam, vt_v3(0, 0, 100)));
    double u, v;
    assert_true(vt_camera_world_to_pixel(&cam, ahead, &u, &v));
    assert_near(u, cam.cx, 1e-9);
    assert_near(v, cam.cy, 1e-9);
    vt_vec3 c = vt_camera_world_to_cam(&cam, ahead);
    assert_near(c.x, 0.0, 1e-9);
    assert_near(c.y, 0.0, 1e-9);
    assert_near(c.z, 100.0, 1e-9);
}

static void points_behind_the_camera_are_rejected(void **state)
{
    (void)state;
    vt_camera cam = random_camera(true);
    double u = 12345.0, v = 6789.0;
    vt_vec3 behind = vt_v3_add(cam.position, vt_camera_cam_to_world_dir(&cam, vt_v3(1, 2, -10)));
    vt_vec3 just_behind =
        vt_v3_add(cam.position, vt_camera_cam_to_world_dir(&cam, vt_v3(5, 0, -1e-6)));
    assert_false(vt_camera_world_to_pixel(&cam, behind, &u, &v));
    assert_false(vt_camera_world_to_pixel(&cam, just_behind, &u, &v));
    assert_false(vt_camera_world_to_pixel(&cam, cam.position, &u, &v));
    /* Rejection leaves the outputs alone. */
    assert_near(u, 12345.0, 0.0);
    assert_near(v, 6789.0, 0.0);
}

static void in_image_spans_the_pixel_edges(void **state)
{
    (void)state;
    vt_camera cam = random_camera(false);
    assert_true(vt_camera_in_image(&cam, -0.5, -0.5));
    assert_true(vt_camera_in_image(&cam, cam.width - 0.5001, cam.height - 0.5001));
    assert_false(vt_camera_in_image(&cam, cam.width - 0.5, 0));
    assert_false(vt_camera_in_image(&cam, 0, cam.height - 0.5));
    assert_false(vt_camera_in_image(&cam, -0.5001, 0));
    assert_false(vt_camera_in_image(&cam, 0, -0.5001));
}

/* ---- validation --------------------------------------------------------- */

static vt_camera valid_camera(void)
{
    vt_camera cam;
    memset(&cam, 0, sizeof cam);
    cam.width = 640;
    cam.height = 480;
    cam.fx = cam.fy = 500;
    cam.cx = 320;
    cam.cy = 240;
    cam.q = vt_q_identity();
    return cam;
}

static void assert_rejected(vt_camera cam, const char *field)
{
    vt_clear_error();
    assert_int_equal(vt_camera_init(&cam), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), field));
}

static void init_rejects_bad_fields_naming_them(void **state)
{
    (void)state;
    vt_camera cam = valid_camera();
    assert_int_equal(vt_camera_init(&cam), VT_OK);

    cam = valid_camera();
    cam.fx = 0;
    assert_rejected(cam, "'fx' must be > 0 (got 0)");
    cam = valid_camera();
    cam.fy = -3;
    assert_rejected(cam, "'fy'");
    cam = valid_camera();
    cam.width = -640;
    assert_rejected(cam, "'width' must be > 0 (got -640)");
    cam = valid_camera();
    cam.height = 0;
    assert_rejected(cam, "'height'");
    cam = valid_camera();
    cam.fx = NAN;
    assert_rejected(cam, "'fx' must be finite");
    cam = valid_camera();
    cam.cy = INFINITY;
    assert_rejected(cam, "'cy'");
    cam = valid_camera();
    cam.dist[0] = NAN;
    assert_rejected(cam, "'k1'");
    cam = valid_camera();
    cam.position.z = NAN;
    assert_rejected(cam, "position");
    cam = valid_camera();
    cam.q.x = NAN;
    assert_rejected(cam, "'q.x'");
    cam = valid_camera();
    cam.q.w = 0;
    assert_rejected(cam, "'q'");
}

static void init_normalises_the_quaternion(void **state)
{
    (void)state;
    vt_camera cam = valid_camera();
    vt_quat q = {2.0, 0.4, -1.0, 0.6};
    cam.q = q;
    assert_int_equal(vt_camera_init(&cam), VT_OK);
    assert_near(vt_q_norm(cam.q), 1.0, 1e-15);
    double n = vt_q_norm(q);
    assert_near(cam.q.w, q.w / n, 1e-15);
    assert_near(cam.q.y, q.y / n, 1e-15);
    assert_near(vt_m3_det(cam.r), 1.0, 1e-14);
    assert_false(cam.distorted);
}

/* ---- the original's yaw/pitch/roll convention --------------------------- */

/* The original's R = Rz(yaw) Ry(roll) Rx(pitch), written out here from its source. */
static vt_mat3 original_rotation(double yaw_deg, double pitch_deg, double roll_deg)
{
    double y = yaw_deg * VT_PI / 180, p = pitch_deg * VT_PI / 180, r = roll_deg * VT_PI / 180;
    vt_mat3 rz = {{{cos(y), -sin(y), 0}, {sin(y), cos(y), 0}, {0, 0, 1}}};
    vt_mat3 ry = {{{cos(r), 0, sin(r)}, {0, 1, 0}, {-sin(r), 0, cos(r)}}};
    vt_mat3 rx = {{{1, 0, 0}, {0, cos(p), -sin(p)}, {0, sin(p), cos(p)}}};
    return vt_m3_mul(vt_m3_mul(rz, ry), rx);
}

/* A random camera of the original's kind, with the original's rotation beside it. */
typedef struct ypr_case {
    int w, h;
    double fov;
    vt_mat3 r;
    vt_camera cam;
} ypr_case;

static ypr_case random_ypr_case(double fov_lo, double fov_hi)
{
    ypr_case k;
    k.w = (int)vt_test_uniform(64, 4000);
    k.h = (int)vt_test_uniform(64, 3000);
    k.fov = vt_test_uniform(fov_lo, fov_hi);
    double yaw = vt_test_uniform(-180, 180), pitch = vt_test_uniform(-180, 180);
    double roll = vt_test_uniform(-180, 180);
    vt_vec3 pos =
        vt_v3(vt_test_uniform(-500, 500), vt_test_uniform(-500, 500), vt_test_uniform(0, 100));
    assert_int_equal(vt_camera_from_ypr(k.w, k.h, k.fov, yaw, pitch, roll, pos, &k.cam), VT_OK);
    k.r = original_rotation(yaw, pitch, roll);
    return k;
}

/* The original's ray: normalize(R * normalize(u - W/2, -(v - H/2), -f)). */
static vt_vec3 original_ray(const ypr_case *k, double u, double v)
{
    double f = (k->w * 0.5) / tan(k->fov * VT_PI / 180 * 0.5);
    vt_vec3 cam = vt_v3_normalize(vt_v3(u - 0.5 * k->w, -(v - 0.5 * k->h), -f));
    return vt_v3_normalize(vt_m3_mul_v3(k->r, cam));
}

static void ypr_matrix_is_the_originals(void **state)
{
    (void)state;
    for (int i = 0; i < N_POINTS; i++) {
        double yaw = vt_test_uniform(-360, 360), pitch = vt_test_uniform(-180, 180),
               roll = vt_test_uniform(-180, 180);
        vt_mat3 a = vt_ypr_matrix(yaw, pitch, roll), b = original_rotation(yaw, pitch, roll);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                assert_near(a.m[r][c], b.m[r][c], 1e-14);
    }
}

static void from_ypr_casts_the_originals_rays(void **state)
{
    (void)state;
    for (int c = 0; c < N_CAMERAS; c++) {
        ypr_case k = random_ypr_case(1, 170);
        for (int i = 0; i < N_POINTS; i++) {
            /* Whole pixels, as the original casts them, and fractional ones. */
            double u = i % 2 ? floor(vt_test_uniform(0, k.w)) : vt_test_uniform(-0.5, k.w - 0.5);
            double v = i % 2 ? floor(vt_test_uniform(0, k.h)) : vt_test_uniform(-0.5, k.h - 0.5);
            vt_vec3 origin, dir, want = original_ray(&k, u, v);
            assert_true(vt_camera_pixel_to_ray(&k.cam, u, v, &origin, &dir));
            assert_near(origin.x, k.cam.position.x, 0.0);
            assert_near(origin.y, k.cam.position.y, 0.0);
            assert_near(origin.z, k.cam.position.z, 0.0);
            assert_near(dir.x, want.x, 1e-12);
            assert_near(dir.y, want.y, 1e-12);
            assert_near(dir.z, want.z, 1e-12);
        }
    }
}

static void from_ypr_projects_the_originals_rays_back_to_their_pixels(void **state)
{
    (void)state;
    for (int c = 0; c < N_CAMERAS; c++) {
        ypr_case k = random_ypr_case(10, 120);
        for (int i = 0; i < N_POINTS; i++) {
            double u = vt_test_uniform(0, k.w), v = vt_test_uniform(0, k.h), u2, v2;
            vt_vec3 p = vt_v3_add(k.cam.position, vt_v3_scale(original_ray(&k, u, v), 1000.0));
            assert_true(vt_camera_world_to_pixel(&k.cam, p, &u2, &v2));
            assert_near(u2, u, 1e-8);
            assert_near(v2, v, 1e-8);
        }
    }
}

static void from_ypr_zero_angles_looks_down_with_north_up(void **state)
{
    (void)state;
    vt_camera cam;
    assert_int_equal(vt_camera_from_ypr(640, 480, 90, 0, 0, 0, vt_v3(0, 0, 0), &cam), VT_OK);
    assert_near(cam.fx, 320.0, 1e-12);
    assert_near(cam.fy, 320.0, 1e-12);
    assert_near(cam.cx, 320.0, 0.0);
    assert_near(cam.cy, 240.0, 0.0);
    assert_false(cam.distorted);
    vt_vec3 o, d;
    /* The centre looks down -Z; the top edge of the image is towards +Y; the right edge +X. */
    vt_camera_pixel_to_ray(&cam, 320, 240, &o, &d);
    assert_near(d.z, -1.0, 1e-15);
    vt_camera_pixel_to_ray(&cam, 320, 0, &o, &d);
    assert_true(d.y > 0.5);
    vt_camera_pixel_to_ray(&cam, 639, 240, &o, &d);
    assert_true(d.x > 0.5);
}

static void from_ypr_rejects_bad_arguments(void **state)
{
    (void)state;
    vt_camera cam;
    assert_int_equal(vt_camera_from_ypr(0, 480, 60, 0, 0, 0, vt_v3(0, 0, 0), &cam), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "width"));
    assert_int_equal(vt_camera_from_ypr(640, 480, 180, 0, 0, 0, vt_v3(0, 0, 0), &cam), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "fov"));
    assert_int_equal(vt_camera_from_ypr(640, 480, 0, 0, 0, 0, vt_v3(0, 0, 0), &cam), VT_EINVAL);
    assert_int_equal(vt_camera_from_ypr(640, 480, 60, NAN, 0, 0, vt_v3(0, 0, 0), &cam), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "yaw"));
    assert_int_equal(vt_camera_from_ypr(640, 480, 60, 0, 0, 0, vt_v3(0, NAN, 0), &cam), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "position"));
}

int main(void)
{
    vt_test_seed(0x2545F4914F6CDD1Dull);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(world_to_pixel_to_ray_passes_through_the_point),
        cmocka_unit_test(pixel_to_ray_to_pixel_returns_the_pixel),
        cmocka_unit_test(undistort_inverts_distort),
        cmocka_unit_test(undistort_fails_beyond_the_lens_fold),
        cmocka_unit_test(distortion_follows_the_opencv_formula),
        cmocka_unit_test(undistorted_camera_is_a_plain_pinhole),
        cmocka_unit_test(optical_axis_projects_to_the_principal_point),
        cmocka_unit_test(points_behind_the_camera_are_rejected),
        cmocka_unit_test(in_image_spans_the_pixel_edges),
        cmocka_unit_test(init_rejects_bad_fields_naming_them),
        cmocka_unit_test(init_normalises_the_quaternion),
        cmocka_unit_test(ypr_matrix_is_the_originals),
        cmocka_unit_test(from_ypr_casts_the_originals_rays),
        cmocka_unit_test(from_ypr_projects_the_originals_rays_back_to_their_pixels),
        cmocka_unit_test(from_ypr_zero_angles_looks_down_with_north_up),
        cmocka_unit_test(from_ypr_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
