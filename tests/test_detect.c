/*
 * tests/test_detect.c - rays through pixels, the least-squares meeting point
 * of rays with its covariance, and detections from vote clusters with ray
 * ownership.
 *
 * The scenes are cameras on a ring looking at the middle of the volume and
 * targets inside it; rays go through the targets' projections, so the true
 * meeting points are known. Noise is seeded. The bucketed detection is
 * compared with a plain reference that tests every ray against every point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/detect.h"
#include "vt_test.h"

enum { MAX_CAMS = 24 };

/* ------------------------------------------------------------------------ */
/* Scenes                                                                    */

/* A 1000 x 800 camera at `pos` looking at `at`, image y towards world down. */
static vt_camera look_at(vt_vec3 pos, vt_vec3 at)
{
    vt_vec3 z = vt_v3_normalize(vt_v3_sub(at, pos));
    vt_vec3 x = vt_v3_normalize(vt_v3_cross(z, vt_v3(0, 0, 1)));
    vt_vec3 y = vt_v3_cross(z, x);
    vt_mat3 r = {{{x.x, y.x, z.x}, {x.y, y.y, z.y}, {x.z, y.z, z.z}}};
    vt_camera c = {.width = 1000, .height = 800, .fx = 800, .fy = 800, .cx = 499.5, .cy = 399.5};
    c.position = pos;
    c.q = vt_m3_to_q(r);
    assert_int_equal(vt_camera_init(&c), VT_OK);
    return c;
}

/* n cameras on a ring of radius `radius` at height 2 m, looking at (0, 0, 40). */
static void ring(vt_camera *cams, int n, double radius)
{
    for (int i = 0; i < n; i++) {
        double a = 2 * VT_PI * i / n;
        cams[i] = look_at(vt_v3(radius * cos(a), radius * sin(a), 2), vt_v3(0, 0, 40));
    }
}

/* The ray of camera c through target p, its pixel moved by Gaussian noise of noise_px. */
static vt_ray ray_to(const vt_camera *cams, int c, vt_vec3 p, double noise_px, uint32_t blob)
{
    double u, v;
    assert_true(vt_camera_world_to_pixel(&cams[c], p, &u, &v));
    u += noise_px * vt_test_gauss();
    v += noise_px * vt_test_gauss();
    vt_ray r;
    assert_true(vt_ray_from_pixel(&cams[c], u, v, 1.0, 10.0f, (uint16_t)c, 0, blob, &r));
    return r;
}

static vt_cluster cluster_at(vt_vec3 p, uint64_t weight, uint64_t cameras)
{
    vt_cluster c = {.centroid = p, .min = p, .max = p, .weight = weight, .cameras = cameras};
    c.ncameras = __builtin_popcountll(cameras);
    c.voxels = 1;
    c.voxel_size = 0.5;
    return c;
}

static double dist(vt_vec3 a, vt_vec3 b)
{
    return vt_v3_norm(vt_v3_sub(a, b));
}

/* v^T C v for a packed symmetric covariance. */
static double quad(const double c[6], vt_vec3 v)
{
    return c[0] * v.x * v.x + c[3] * v.y * v.y + c[5] * v.z * v.z +
           2 * (c[1] * v.x * v.y + c[2] * v.x * v.z + c[4] * v.y * v.z);
}

/* ------------------------------------------------------------------------ */
/* Rays                                                                      */

static void ray_from_pixel_passes_through_the_point(void **state)
{
    (void)state;
    vt_camera cams[4];
    ring(cams, 4, 100);
    vt_vec3 p = vt_v3(3, -2, 35);
    double u, v;
    assert_true(vt_camera_world_to_pixel(&cams[1], p, &u, &v));
    vt_ray r;
    assert_true(vt_ray_from_pixel(&cams[1], u, v, 2.0, 5.0f, 1, 7, 42, &r));
    vt_vec3 w = vt_v3_sub(p, r.origin);
    assert_near(vt_v3_norm(vt_v3_sub(w, vt_v3_scale(r.dir, vt_v3_dot(w, r.dir)))), 0.0, 1e-9);
    assert_near(vt_v3_norm(r.dir), 1.0, 1e-12);
    assert_near(r.sigma, 2.0 / 800.0, 1e-9);
    assert_near(r.weight, 5.0, 0);
    assert_int_equal(r.camera, 1);
    assert_int_equal(r.pair, 7);
    assert_int_equal(r.blob, 42);
    assert_false(vt_ray_from_pixel(NULL, u, v, 1.0, 1.0f, 0, 0, 0, &r));
    assert_false(vt_ray_from_pixel(&cams[1], u, v, 1.0, 1.0f, 0, 0, 0, NULL));
}

/* ------------------------------------------------------------------------ */
/* Meeting point                                                             */

static void four_rays_through_a_point_meet_there(void **state)
{
    (void)state;
    vt_camera cams[4];
    ring(cams, 4, 100);
    vt_vec3 p = vt_v3(5, 7, 45);
    vt_ray rays[4];
    for (int c = 0; c < 4; c++)
        rays[c] = ray_to(cams, c, p, 0, 0);
    vt_vec3 got;
    double cov[6], res;
    assert_int_equal(vt_rays_meet(rays, NULL, 4, &got, cov, &res), VT_OK);
    assert_near(dist(got, p), 0.0, 1e-9);
    assert_near(res, 0.0, 1e-9);
    /* Positive definite: the variance along any axis is > 0. */
    assert_true(cov[0] > 0 && cov[3] > 0 && cov[5] > 0);
    /* An index picks rays; cov and residual may be NULL. */
    uint32_t idx[3] = {3, 1, 0};
    assert_int_equal(vt_rays_meet(rays, idx, 3, &got, NULL, NULL), VT_OK);
    assert_near(dist(got, p), 0.0, 1e-9);
}

static double trace_of_meet(const vt_camera *cams, int n, vt_vec3 p, double sigma_scale)
{
    vt_ray rays[MAX_CAMS];
    for (int c = 0; c < n; c++) {
        rays[c] = ray_to(cams, c, p, 0, 0);
        rays[c].sigma *= (float)sigma_scale;
    }
    vt_vec3 got;
    double cov[6];
    assert_int_equal(vt_rays_meet(rays, NULL, (size_t)n, &got, cov, NULL), VT_OK);
    return cov[0] + cov[3] + cov[5];
}

static void covariance_shrinks_with_more_rays_and_less_noise(void **state)
{
    (void)state;
    vt_camera cams[8];
    ring(cams, 8, 100);
    vt_vec3 p = vt_v3(0, 0, 40);
    double t4 = trace_of_meet(cams, 4, p, 1.0), t8 = trace_of_meet(cams, 8, p, 1.0);
    double t8_half = trace_of_meet(cams, 8, p, 0.5);
    assert_true(t8 < t4);
    /* Covariance scales with sigma^2. */
    assert_near(t8_half / t8, 0.25, 1e-3);
    /* About (sigma * range)^2 per axis: sigma = 1/800 rad at about 107 m. */
    assert_true(t8 > 1e-3 && t8 < 0.1);
}

static void narrow_baseline_is_uncertain_along_the_view(void **state)
{
    (void)state;
    vt_camera cams[2] = {look_at(vt_v3(-1, 0, 0), vt_v3(0, 200, 0)),
                         look_at(vt_v3(1, 0, 0), vt_v3(0, 200, 0))};
    vt_vec3 p = vt_v3(0, 200, 0);
    vt_ray rays[2] = {ray_to(cams, 0, p, 0, 0), ray_to(cams, 1, p, 0, 0)};
    vt_vec3 got;
    double cov[6];
    assert_int_equal(vt_rays_meet(rays, NULL, 2, &got, cov, NULL), VT_OK);
    assert_near(dist(got, p), 0.0, 1e-6);
    double along = quad(cov, vt_v3(0, 1, 0)), across = quad(cov, vt_v3(1, 0, 0));
    double up = quad(cov, vt_v3(0, 0, 1));
    /* Depth from a 2 m baseline at 200 m: about (200 / 2)^2 times worse. */
    assert_true(along > 1000 * across);
    assert_true(along > 1000 * up);
}

/*
 * With Gaussian pixel noise of the rays' sigma, the error's squared
 * Mahalanobis distance under the reported covariance is chi-square with 3
 * degrees of freedom: mean 3, standard deviation of the mean of 2000 trials
 * sqrt(6 / 2000) = 0.055.
 */
static void noise_is_consistent_with_the_covariance(void **state)
{
    (void)state;
    vt_camera cams[5];
    ring(cams, 5, 80);
    vt_test_seed(77);
    double sum = 0;
    const int trials = 2000;
    for (int k = 0; k < trials; k++) {
        vt_vec3 p =
            vt_v3(vt_test_uniform(-20, 20), vt_test_uniform(-20, 20), vt_test_uniform(20, 60));
        vt_ray rays[5];
        for (int c = 0; c < 5; c++)
            rays[c] = ray_to(cams, c, p, 1.0, 0); /* noise of 1 px = sigma */
        vt_vec3 got;
        double cov[6];
        assert_int_equal(vt_rays_meet(rays, NULL, 5, &got, cov, NULL), VT_OK);
        /* e^T C^-1 e: solve C x = e by Cramer's rule on the packed matrix. */
        vt_mat3 m = {
            {{cov[0], cov[1], cov[2]}, {cov[1], cov[3], cov[4]}, {cov[2], cov[4], cov[5]}}};
        vt_vec3 e = vt_v3_sub(got, p);
        double det = vt_m3_det(m);
        vt_vec3 x;
        double *xs[3] = {&x.x, &x.y, &x.z};
        for (int col = 0; col < 3; col++) {
            vt_mat3 mc = m;
            for (int row = 0; row < 3; row++)
                mc.m[row][col] = row == 0 ? e.x : row == 1 ? e.y : e.z;
            *xs[col] = vt_m3_det(mc) / det;
        }
        sum += vt_v3_dot(e, x);
    }
    assert_near(sum / trials, 3.0, 0.25);
}

static void parallel_rays_have_no_meeting_point(void **state)
{
    (void)state;
    vt_ray rays[3] = {
        {.origin = {0, 0, 0}, .dir = {0, 1, 0}, .weight = 1, .sigma = 1e-3f},
        {.origin = {5, 0, 0}, .dir = {0, 1, 0}, .weight = 1, .sigma = 1e-3f},
        {.origin = {0, 0, 3}, .dir = {0, 1, 0}, .weight = 1, .sigma = 1e-3f},
    };
    vt_vec3 p;
    assert_int_equal(vt_rays_meet(rays, NULL, 3, &p, NULL, NULL), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "parallel"));
    /* 1e-7 rad apart: still refused. */
    rays[1].dir = vt_v3_normalize(vt_v3(-1e-7, 1, 0));
    assert_int_equal(vt_rays_meet(rays, NULL, 2, &p, NULL, NULL), VT_ERANGE);
    /* 1e-3 rad apart: they meet 5 km away. */
    rays[1].dir = vt_v3_normalize(vt_v3(-1e-3, 1, 0));
    assert_int_equal(vt_rays_meet(rays, NULL, 2, &p, NULL, NULL), VT_OK);
    assert_near(p.y, 5000.0, 1e-3);
}

static void bad_rays_are_refused(void **state)
{
    (void)state;
    vt_ray rays[2] = {
        {.origin = {0, 0, 0}, .dir = {0, 1, 0}, .weight = 1, .sigma = 1e-3f},
        {.origin = {5, 0, 0}, .dir = {-0.6, 0.8, 0}, .weight = 1, .sigma = 1e-3f},
    };
    vt_vec3 p;
    assert_int_equal(vt_rays_meet(NULL, NULL, 2, &p, NULL, NULL), VT_EINVAL);
    assert_int_equal(vt_rays_meet(rays, NULL, 2, NULL, NULL, NULL), VT_EINVAL);
    assert_int_equal(vt_rays_meet(rays, NULL, 1, &p, NULL, NULL), VT_EINVAL);
    rays[1].sigma = 0;
    assert_int_equal(vt_rays_meet(rays, NULL, 2, &p, NULL, NULL), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "ray 1"));
    rays[1].sigma = 1e-3f;
    rays[1].dir = vt_v3(0, 2, 0);
    assert_int_equal(vt_rays_meet(rays, NULL, 2, &p, NULL, NULL), VT_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Detections                                                                */

/* Every ray supports at most one detection, and each detection's rays come from distinct cameras.
 */
static void check_ownership(const vt_detection_list *out, const vt_ray *rays, size_t nray)
{
    uint8_t *used = calloc(nray, 1);
    assert_non_null(used);
    for (size_t k = 0; k < out->count; k++) {
        const vt_detection *d = &out->items[k];
        uint64_t cams = 0;
        float weight = 0;
        assert_true((size_t)d->first_ray + (size_t)d->nrays <= out->nindex);
        for (int j = 0; j < d->nrays; j++) {
            uint32_t i = out->ray_index[d->first_ray + j];
            assert_true(i < nray);
            assert_false(used[i]);
            used[i] = 1;
            assert_false(cams >> rays[i].camera & 1);
            cams |= 1ull << rays[i].camera;
            weight += rays[i].weight;
        }
        assert_true(cams == d->cameras);
        assert_int_equal(d->ncameras, __builtin_popcountll(cams));
        assert_int_equal(d->nrays, d->ncameras);
        assert_near(d->weight, weight, 1e-3);
    }
    free(used);
}

/* The detection within tol of p, failing unless there is exactly one. */
static const vt_detection *detection_near(const vt_detection_list *out, vt_vec3 p, double tol)
{
    const vt_detection *found = NULL;
    for (size_t k = 0; k < out->count; k++)
        if (dist(out->items[k].pos, p) <= tol) {
            assert_null(found);
            found = &out->items[k];
        }
    assert_non_null(found);
    return found;
}

static uint64_t bits(const int *cams, int n)
{
    uint64_t m = 0;
    for (int k = 0; k < n; k++)
        m |= 1ull << cams[k];
    return m;
}

/* A ray of camera c through point g that is not a target (a false blob). */
static vt_ray clutter_through(const vt_camera *cams, int c, vt_vec3 g, uint32_t blob)
{
    vt_ray r = ray_to(cams, c, g, 0, blob);
    r.weight = 3.0f;
    return r;
}

/*
 * 8 cameras, 3 targets seen by 5 cameras each, random clutter rays, and
 * ghosts: a 2-camera crossing stronger than every target (a target's ray and
 * a clutter ray), a 3-camera crossing weaker than the targets (a target's
 * ray and two clutter rays), a weak cluster beside a target and a strong one
 * beside another.
 */
typedef struct ghost_scene {
    vt_camera cams[8];
    vt_vec3 targets[3];
    uint64_t seen[3];
    vt_ray rays[400];
    size_t nray;
    vt_cluster clusters[16];
    size_t ncluster;
} ghost_scene;

static void make_ghost_scene(ghost_scene *s)
{
    static const int seen[3][5] = {{0, 1, 2, 3, 4}, {2, 3, 4, 5, 6}, {4, 5, 6, 7, 0}};
    memset(s, 0, sizeof *s);
    ring(s->cams, 8, 100);
    vt_test_seed(4242);
    s->targets[0] = vt_v3(-8, 5, 38);
    s->targets[1] = vt_v3(9, 6, 44);
    s->targets[2] = vt_v3(2, -10, 33);
    for (int t = 0; t < 3; t++) {
        s->seen[t] = bits(seen[t], 5);
        for (int k = 0; k < 5; k++)
            s->rays[s->nray++] = ray_to(s->cams, seen[t][k], s->targets[t], 0.3, (uint32_t)t);
        s->clusters[s->ncluster++] =
            cluster_at(vt_v3_add(s->targets[t], vt_v3(0.2, -0.1, 0.15)), 100, s->seen[t]);
    }
    /* Clutter: rays through random points, so that every camera has a grid. */
    for (int c = 0; c < 8; c++)
        for (int k = 0; k < 30; k++) {
            vt_vec3 g =
                vt_v3(vt_test_uniform(-30, 30), vt_test_uniform(-30, 30), vt_test_uniform(10, 70));
            s->rays[s->nray++] = clutter_through(s->cams, c, g, 100 + (uint32_t)k);
        }
    /* A strong 2-camera ghost on camera 1's ray to target 0, with a clutter ray of camera 5. */
    vt_ray r01 = s->rays[1];
    vt_vec3 g2 = vt_v3_add(r01.origin, vt_v3_scale(r01.dir, 0.6 * dist(r01.origin, s->targets[0])));
    s->rays[s->nray++] = clutter_through(s->cams, 5, g2, 200);
    s->clusters[s->ncluster++] = cluster_at(g2, 1000, 0);
    /* A weaker 3-camera ghost on camera 3's ray to target 1, with clutter of cameras 0 and 7. */
    vt_ray r13 = s->rays[5 + 1];
    vt_vec3 g3 = vt_v3_add(r13.origin, vt_v3_scale(r13.dir, 0.5 * dist(r13.origin, s->targets[1])));
    s->rays[s->nray++] = clutter_through(s->cams, 0, g3, 201);
    s->rays[s->nray++] = clutter_through(s->cams, 7, g3, 202);
    s->clusters[s->ncluster++] = cluster_at(g3, 50, 0);
    /* Beside target 1 a weak cluster, beside target 2 a cluster stronger than its own. */
    s->clusters[s->ncluster++] = cluster_at(vt_v3_add(s->targets[1], vt_v3(0.3, 0, 0)), 5, 0);
    s->clusters[s->ncluster++] = cluster_at(vt_v3_add(s->targets[2], vt_v3(0, 0.3, 0)), 500, 0);
}

static void targets_are_found_and_ghosts_are_not(void **state)
{
    (void)state;
    ghost_scene *s = malloc(sizeof *s);
    assert_non_null(s);
    make_ghost_scene(s);
    vt_detect_opts o = vt_detect_opts_default();
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(s->clusters, s->ncluster, s->rays, s->nray, &o, &out), VT_OK);
    assert_int_equal(out.count, 3);
    for (int t = 0; t < 3; t++) {
        const vt_detection *d = detection_near(&out, s->targets[t], 0.15);
        assert_int_equal(d->ncameras, 5);
        assert_true(d->cameras == s->seen[t]);
        assert_true(d->residual < 0.1);
        assert_int_equal(d->nthermal, 0);
    }
    check_ownership(&out, s->rays, s->nray);

    /* With K = 2 the strong 2-camera ghost wins its rays first and target 0 loses a camera. */
    o.min_cameras = 2;
    assert_int_equal(vt_detect(s->clusters, s->ncluster, s->rays, s->nray, &o, &out), VT_OK);
    assert_true(out.count > 3);
    assert_int_equal(detection_near(&out, s->targets[0], 0.3)->ncameras, 4);
    check_ownership(&out, s->rays, s->nray);
    vt_detection_list_free(&out);
    free(s);
}

static void a_camera_gives_a_detection_its_closest_ray_only(void **state)
{
    (void)state;
    vt_camera cams[4];
    ring(cams, 4, 100);
    vt_vec3 p = vt_v3(1, 2, 40);
    vt_ray rays[5];
    /* Camera 0 sees two blobs near the target: 0.3 m off first, then on it. */
    rays[0] = ray_to(cams, 0, vt_v3_add(p, vt_v3(0, 0, 0.3)), 0, 0);
    for (int c = 0; c < 4; c++)
        rays[1 + c] = ray_to(cams, c, p, 0, 1);
    vt_cluster cl = cluster_at(p, 10, 0);
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(&cl, 1, rays, 5, NULL, &out), VT_OK);
    assert_int_equal(out.count, 1);
    assert_int_equal(out.items[0].nrays, 4);
    assert_int_equal(out.ray_index[out.items[0].first_ray], 1);
    assert_near(dist(out.items[0].pos, p), 0.0, 1e-6);
    check_ownership(&out, rays, 5);
    vt_detection_list_free(&out);
}

static void thermal_cameras_are_required_when_asked(void **state)
{
    (void)state;
    vt_camera cams[8];
    ring(cams, 8, 100);
    vt_vec3 cold = vt_v3(-5, 0, 40), warm = vt_v3(6, 3, 42);
    vt_ray rays[9];
    for (int c = 0; c < 5; c++)
        rays[c] = ray_to(cams, c, cold, 0, 0); /* cameras 0..4: visible only */
    for (int c = 4; c < 8; c++)
        rays[1 + c] = ray_to(cams, c, warm, 0, 1); /* cameras 4..7: 6 and 7 thermal */
    vt_cluster cl[2] = {cluster_at(cold, 20, 0), cluster_at(warm, 10, 0)};
    vt_detect_opts o = vt_detect_opts_default();
    o.thermal_mask = (1ull << 6) | (1ull << 7);
    o.min_thermal = 1;
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(cl, 2, rays, 9, &o, &out), VT_OK);
    assert_int_equal(out.count, 1);
    assert_near(dist(out.items[0].pos, warm), 0.0, 1e-6);
    assert_int_equal(out.items[0].nthermal, 2);
    o.min_thermal = 3;
    assert_int_equal(vt_detect(cl, 2, rays, 9, &o, &out), VT_OK);
    assert_int_equal(out.count, 0);
    /* A rig without thermal cameras ignores min_thermal. */
    o.thermal_mask = 0;
    assert_int_equal(vt_detect(cl, 2, rays, 9, &o, &out), VT_OK);
    assert_int_equal(out.count, 2);
    vt_detection_list_free(&out);
}

static void cluster_cameras_and_residual_limit_apply(void **state)
{
    (void)state;
    vt_camera cams[5];
    ring(cams, 5, 100);
    vt_vec3 p = vt_v3(0, 4, 40);
    vt_ray rays[5];
    vt_test_seed(9);
    for (int c = 0; c < 5; c++)
        rays[c] = ray_to(cams, c, p, 1.0, 0);
    vt_cluster cl = cluster_at(p, 10, 0x1D); /* cameras 0, 2, 3, 4 */
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(&cl, 1, rays, 5, NULL, &out), VT_OK);
    assert_int_equal(out.count, 1);
    assert_true(out.items[0].cameras == 0x1D);
    assert_true(out.items[0].residual > 0.0);
    vt_detect_opts o = vt_detect_opts_default();
    o.max_residual = out.items[0].residual * 0.5;
    assert_int_equal(vt_detect(&cl, 1, rays, 5, &o, &out), VT_OK);
    assert_int_equal(out.count, 0);
    vt_detection_list_free(&out);
}

static void bad_detect_input_is_refused(void **state)
{
    (void)state;
    vt_ray ray = {.origin = {0, 0, 0}, .dir = {0, 1, 0}, .weight = 1, .sigma = 1e-3f};
    vt_cluster cl = cluster_at(vt_v3(0, 10, 0), 1, 0);
    vt_detect_opts o = vt_detect_opts_default();
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(NULL, 1, &ray, 1, &o, &out), VT_EINVAL);
    assert_int_equal(vt_detect(&cl, 1, NULL, 1, &o, &out), VT_EINVAL);
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, NULL), VT_EINVAL);
    assert_int_equal(vt_detect(NULL, 0, NULL, 0, &o, &out), VT_OK);
    assert_int_equal(out.count, 0);
    o.min_cameras = 1;
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, &out), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "min_cameras"));
    o = vt_detect_opts_default();
    o.gate_sigma = NAN;
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, &out), VT_EINVAL);
    o = vt_detect_opts_default();
    ray.camera = 64;
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, &out), VT_ERANGE);
    ray.camera = 0;
    ray.sigma = -1;
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, &out), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "ray 0"));
    ray.sigma = 1e-3f;
    cl.centroid.x = NAN;
    assert_int_equal(vt_detect(&cl, 1, &ray, 1, &o, &out), VT_EINVAL);
    vt_detection_list_free(&out);
    vt_detection_list_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* The bucketed search against testing every ray                             */

typedef struct ref_result {
    size_t count;
    vt_vec3 pos[512];
    int nrays[512];
    uint32_t rays[512][64];
} ref_result;

static int ref_gather(const vt_ray *rays, size_t nray, const uint8_t *owned, uint64_t mask,
                      vt_vec3 p, const vt_detect_opts *o, uint32_t *set)
{
    uint32_t best[64];
    double best2[64];
    uint64_t found = 0;
    for (size_t i = 0; i < nray; i++) {
        const vt_ray *r = &rays[i];
        if (owned[i] || !(mask >> r->camera & 1))
            continue;
        vt_vec3 w = vt_v3_sub(p, r->origin);
        double t = vt_v3_dot(w, r->dir);
        double miss2 = vt_v3_dot(w, w) - t * t,
               gate = fmax(o->gate_min, o->gate_sigma * r->sigma * t);
        if (!(t > 0) || miss2 > gate * gate)
            continue;
        if (!(found >> r->camera & 1) || miss2 < best2[r->camera]) {
            found |= 1ull << r->camera;
            best[r->camera] = (uint32_t)i;
            best2[r->camera] = miss2;
        }
    }
    int n = 0;
    for (int c = 0; c < 64; c++)
        if (found >> c & 1)
            set[n++] = best[c];
    return n;
}

static void reference_detect(const vt_cluster *cl, size_t ncl, const vt_ray *rays, size_t nray,
                             const vt_detect_opts *o, ref_result *res)
{
    uint8_t *owned = calloc(nray, 1);
    size_t *order = malloc(ncl * sizeof *order);
    assert_true(owned && order);
    uint64_t present = 0;
    for (size_t i = 0; i < nray; i++)
        present |= 1ull << rays[i].camera;
    for (size_t k = 0; k < ncl; k++) { /* insertion sort: strongest first, then lower index */
        size_t j = k;
        for (; j > 0 && cl[order[j - 1]].weight < cl[k].weight; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
    res->count = 0;
    for (size_t k = 0; k < ncl; k++) {
        const vt_cluster *c = &cl[order[k]];
        uint64_t mask = c->cameras ? c->cameras & present : present;
        vt_vec3 p = c->centroid;
        uint32_t set[64], used[64];
        int nused = 0, ok = 1;
        double residual = 0;
        for (int pass = 0; pass < 3 && ok; pass++) {
            int n = ref_gather(rays, nray, owned, mask, p, o, set);
            if (n < o->min_cameras) {
                ok = 0;
                break;
            }
            if (n == nused && memcmp(set, used, (size_t)n * 4) == 0)
                break;
            ok = vt_rays_meet(rays, set, (size_t)n, &p, NULL, &residual) == VT_OK;
            memcpy(used, set, (size_t)n * 4);
            nused = n;
        }
        if (!ok || residual > o->max_residual)
            continue;
        assert_true(res->count < 512);
        res->pos[res->count] = p;
        res->nrays[res->count] = nused;
        memcpy(res->rays[res->count++], used, (size_t)nused * 4);
        for (int j = 0; j < nused; j++)
            owned[used[j]] = 1;
    }
    free(owned);
    free(order);
}

static void bucketed_search_equals_testing_every_ray(void **state)
{
    (void)state;
    enum { NCAM = 20, NTARGET = 150, NGHOST = 120, CLUTTER = 20 };
    vt_camera cams[NCAM];
    ring(cams, NCAM, 150);
    vt_test_seed(31337);
    size_t cap = NCAM * (NTARGET + CLUTTER), nray = 0, ncl = 0;
    vt_ray *rays = malloc(cap * sizeof *rays);
    vt_cluster *cl = malloc((NTARGET + NGHOST) * sizeof *cl);
    ref_result *ref = malloc(sizeof *ref);
    assert_true(rays && cl && ref);
    for (int t = 0; t < NTARGET; t++) {
        vt_vec3 p =
            vt_v3(vt_test_uniform(-60, 60), vt_test_uniform(-60, 60), vt_test_uniform(10, 80));
        uint64_t seen = 0;
        for (int c = 0; c < NCAM; c++) {
            double u, v;
            if (vt_test_uniform01() < 0.2 || !vt_camera_world_to_pixel(&cams[c], p, &u, &v) ||
                !vt_camera_in_image(&cams[c], u, v))
                continue;
            rays[nray++] = ray_to(cams, c, p, 0.5, (uint32_t)t);
            seen |= 1ull << c;
        }
        vt_vec3 off =
            vt_v3(vt_test_uniform(-.3, .3), vt_test_uniform(-.3, .3), vt_test_uniform(-.3, .3));
        cl[ncl++] = cluster_at(vt_v3_add(p, off), (uint64_t)vt_test_uniform(50, 1000),
                               vt_test_uniform01() < 0.5 ? seen : 0);
    }
    for (int c = 0; c < NCAM; c++)
        for (int k = 0; k < CLUTTER; k++) {
            vt_vec3 g =
                vt_v3(vt_test_uniform(-60, 60), vt_test_uniform(-60, 60), vt_test_uniform(10, 80));
            rays[nray++] = clutter_through(cams, c, g, (uint32_t)k);
        }
    for (int k = 0; k < NGHOST; k++) {
        vt_vec3 g =
            vt_v3(vt_test_uniform(-60, 60), vt_test_uniform(-60, 60), vt_test_uniform(10, 80));
        cl[ncl++] = cluster_at(g, (uint64_t)vt_test_uniform(1, 1200), 0);
    }
    vt_detect_opts o = vt_detect_opts_default();
    o.gate_min = 2.0; /* a wide gate makes more ghosts take rays: more to agree on */
    vt_detection_list out = {0};
    assert_int_equal(vt_detect(cl, ncl, rays, nray, &o, &out), VT_OK);
    reference_detect(cl, ncl, rays, nray, &o, ref);
    assert_int_equal(out.count, ref->count);
    assert_true(out.count > NTARGET / 2);
    for (size_t k = 0; k < out.count; k++) {
        assert_int_equal(out.items[k].nrays, ref->nrays[k]);
        assert_memory_equal(&out.ray_index[out.items[k].first_ray], ref->rays[k],
                            (size_t)ref->nrays[k] * 4);
        assert_near(dist(out.items[k].pos, ref->pos[k]), 0.0, 1e-9);
    }
    check_ownership(&out, rays, nray);
    vt_detection_list_free(&out);
    free(rays);
    free(cl);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ray_from_pixel_passes_through_the_point),
        cmocka_unit_test(four_rays_through_a_point_meet_there),
        cmocka_unit_test(covariance_shrinks_with_more_rays_and_less_noise),
        cmocka_unit_test(narrow_baseline_is_uncertain_along_the_view),
        cmocka_unit_test(noise_is_consistent_with_the_covariance),
        cmocka_unit_test(parallel_rays_have_no_meeting_point),
        cmocka_unit_test(bad_rays_are_refused),
        cmocka_unit_test(targets_are_found_and_ghosts_are_not),
        cmocka_unit_test(a_camera_gives_a_detection_its_closest_ray_only),
        cmocka_unit_test(thermal_cameras_are_required_when_asked),
        cmocka_unit_test(cluster_cameras_and_residual_limit_apply),
        cmocka_unit_test(bad_detect_input_is_refused),
        cmocka_unit_test(bucketed_search_equals_testing_every_ray),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
