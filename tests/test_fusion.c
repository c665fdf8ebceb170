/*
 * tests/test_fusion.c - thermal confirmation (voxtrack/fusion.h): the pair
 * map against direct projection, the matched-filter evidence on frames the
 * renderer draws (a drone in both cameras, a glint in mono only, a drone
 * outside the thermal image, a point too far for the thermal camera), the
 * SNR's noise normalisation on pure sky, the decision rule and bad input.
 *
 * The pair: a 960x540 mono camera (60 degrees) and, 12 cm to its right and
 * turned by a fraction of a degree, a 640x512 thermal camera (40 degrees),
 * both looking north. Everything random is seeded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/fusion.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/render.h"
#include "voxtrack/rig.h"
#include "vt_test.h"

enum { MONO = 0, THERMAL = 1 };

/* A camera at pos looking north (world +y), turned by yaw radians about the vertical. */
static vt_camera north_camera(vt_vec3 pos, int w, int h, double hfov_deg, double yaw,
                              const double dist[5])
{
    vt_mat3 r = {{{1, 0, 0}, {0, 0, 1}, {0, -1, 0}}}; /* columns: camera x, y, z in the world */
    vt_mat3 turn = vt_q_to_m3(vt_q_from_axis_angle(vt_v3(0, 0, 1), yaw));
    vt_camera c = {.width = w, .height = h, .cx = 0.5 * (w - 1) + 1.7, .cy = 0.5 * (h - 1) - 2.3};
    c.fx = c.fy = 0.5 * w / tan(0.5 * vt_deg2rad(hfov_deg));
    if (dist)
        memcpy(c.dist, dist, sizeof c.dist);
    c.position = pos;
    c.q = vt_m3_to_q(vt_m3_mul(turn, r));
    assert_int_equal(vt_camera_init(&c), VT_OK);
    return c;
}

static const double LENS[5] = {-0.08, 0.02, 0.001, -0.0007, 0.0};

static void make_rig(vt_rig *rig)
{
    vt_rig_init(rig);
    vt_rig_camera m = {.id = "m0", .pair = 0, .modality = VT_MODALITY_MONO, .bits = 8};
    vt_rig_camera t = {.id = "t0", .pair = 0, .modality = VT_MODALITY_THERMAL, .bits = 16};
    m.cam = north_camera(vt_v3(0, 0, 2), 960, 540, 60.0, 0.0, NULL);
    t.cam = north_camera(vt_v3(0.12, 0, 2), 640, 512, 40.0, vt_deg2rad(0.4), LENS);
    assert_int_equal(vt_rig_add(rig, &m), VT_OK);
    assert_int_equal(vt_rig_add(rig, &t), VT_OK);
}

/* The scenario's skies (src/sim/scenario.c): clouds, gradient, noise 2 and 25. */
static vt_render_opts skies(bool hot_pixels)
{
    vt_render_opts o = vt_render_opts_default();
    o.seed = 16;
    o.mono = (vt_render_sky){170, 20, 2, 8, 300, 4, 0, 255};
    o.thermal = (vt_render_sky){8000, 300, 25, 150, 200, 2, hot_pixels ? 2e-4f : 0.0f, 30000};
    return o;
}

static vt_render_target drone(int id, vt_vec3 pos, double size, float thermal)
{
    double r = 0.5 * size;
    return (vt_render_target){.id = id,
                              .kind = VT_TARGET_DRONE,
                              .pos = pos,
                              .semi = vt_v3(r, r, r),
                              .mono = 40.0f,
                              .thermal = thermal};
}

static vt_render_target glint(int id, vt_vec3 pos)
{
    return (vt_render_target){.id = id,
                              .kind = VT_TARGET_GLINT,
                              .pos = pos,
                              .semi = vt_v3(0.3, 0.3, 0.3),
                              .mono = 250.0f,
                              .thermal = -1.0f};
}

/* Draws camera `camera`'s frame of these targets. */
static void draw(const vt_rig *rig, const vt_render_opts *o, int camera, int64_t frame,
                 const vt_render_target *t, size_t n, vt_image *img)
{
    vt_renderer *r = NULL;
    assert_int_equal(vt_renderer_new(o, rig, &r), VT_OK);
    assert_int_equal(vt_renderer_draw(r, camera, frame, frame / 30.0, t, n, img), VT_OK);
    vt_renderer_free(r);
}

/* The record of one detection at p with one look through the thermal camera. */
static vt_fusion_record look_at(const vt_rig *rig, const vt_image *thermal, vt_vec3 p,
                                double mono_snr, vt_thermal_look *look)
{
    vt_fusion_opts o = vt_fusion_opts_default();
    assert_int_equal(vt_thermal_measure(&rig->cameras[THERMAL].cam, thermal, 25.0, p, &o, look),
                     VT_OK);
    vt_fusion_record rec = vt_fusion_record_empty();
    vt_fusion_record_add(&rec, look, &o);
    vt_fusion_record_finish(&rec, mono_snr, 0);
    return rec;
}

/* ------------------------------------------------------------------------ */

static void pair_map_is_the_projection_of_the_point_at_its_range(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    const vt_camera *m = &rig.cameras[MONO].cam, *t = &rig.cameras[THERMAL].cam;
    vt_pair_map map;
    assert_int_equal(vt_pair_map_init(m, t, &map), VT_OK);
    vt_test_seed(1601);
    for (int i = 0; i < 200; i++) {
        double range = exp(vt_test_uniform(log(20.0), log(5000.0)));
        vt_vec3 o, d;
        double u = vt_test_uniform(100, 860), v = vt_test_uniform(50, 490);
        assert_true(vt_camera_pixel_to_ray(m, u, v, &o, &d));
        vt_vec3 p = vt_v3_add(o, vt_v3_scale(d, range));
        double ue, ve, ut, vt;
        if (!vt_camera_world_to_pixel(t, p, &ue, &ve))
            continue;
        assert_true(vt_pair_map_apply(&map, u, v, range, &ut, &vt));
        assert_near(ut, ue, 1e-6);
        assert_near(vt, ve, 1e-6);
        /* At infinity: the direction alone (the infinite homography). */
        vt_vec3 far = vt_v3_add(t->position, vt_v3_scale(d, 1e12));
        assert_true(vt_camera_world_to_pixel(t, far, &ue, &ve));
        assert_true(vt_pair_map_apply(&map, u, v, INFINITY, &ut, &vt));
        assert_near(ut, ue, 1e-6);
        assert_near(vt, ve, 1e-6);
    }
    /* The parallax of a 12 cm baseline: the mono camera sits left of the thermal one, so a
       near point moves left, by ~fx * 0.12 / r pixels (1 px at ~100 m). */
    double u0, v0, u1, v1;
    assert_true(vt_pair_map_apply(&map, 480, 270, INFINITY, &u0, &v0));
    assert_true(vt_pair_map_apply(&map, 480, 270, 100.0, &u1, &v1));
    assert_near(u1 - u0, -t->fx * 0.12 / 100.0, 0.05);
    assert_false(vt_pair_map_apply(&map, 480, 270, -1.0, &u1, &v1));
    assert_false(vt_pair_map_apply(&map, 480, 270, NAN, &u1, &v1));
    vt_rig_free(&rig);
}

static void a_drone_seen_by_both_is_confirmed(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(true);
    vt_vec3 p = vt_v3(10, 400, 35);
    vt_render_target t[1] = {drone(0, p, 0.4, 13500.0f)};
    vt_image img = {0};
    draw(&rig, &o, THERMAL, 3, t, 1, &img);
    vt_thermal_look look;
    vt_fusion_record rec = look_at(&rig, &img, p, 12.0, &look);
    assert_int_equal(look.reason, VT_FUSION_SEEN);
    assert_true(look.snr > 10.0);
    assert_near(look.background, 8000.0, 200.0);
    assert_int_equal(rec.verdict, VT_FUSION_CONFIRMED);
    assert_int_equal(rec.observed, 1);
    assert_int_equal(rec.confirming, 1);
    assert_near(rec.ratio, rec.thermal_snr / 12.0, 1e-4);
    vt_fusion_opts fo = vt_fusion_opts_default();
    assert_false(vt_fusion_should_drop(&rec, &fo));
    vt_image_free(&img);
    vt_rig_free(&rig);
}

/*
 * A drone too faint for the thermal camera's own detector (its brightest
 * pixel stands less than 4 sigma above the sky) is still confirmed: the
 * matched filter sums its whole footprint.
 */
static void a_drone_below_the_thermal_threshold_is_still_confirmed(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(false);
    o.thermal.cloud = 0.0f;
    o.thermal.gradient = 0.0f; /* the sky is 8000 everywhere: the contrast is known */
    vt_vec3 p = vt_v3(-20, 500, 60);
    vt_render_target t[1] = {drone(0, p, 1.7, 8000.0f + 95.0f)}; /* ~3 px across */
    int confirmed = 0;
    for (int64_t f = 0; f < 20; f++) {
        vt_image img = {0}, sky = {0};
        draw(&rig, &o, THERMAL, f, t, 1, &img);
        draw(&rig, &o, THERMAL, f, t, 0, &sky);
        double u, v, peak = 0.0;
        assert_true(vt_camera_world_to_pixel(&rig.cameras[THERMAL].cam, p, &u, &v));
        for (int y = (int)v - 3; y <= (int)v + 3; y++)
            for (int x = (int)u - 3; x <= (int)u + 3; x++) {
                double d = (double)vt_image_row16(&img, y)[x] - vt_image_row16(&sky, y)[x];
                peak = d > peak ? d : peak;
            }
        /* The same noise in both frames: the difference is the drone's signal alone. */
        assert_true(peak < 4.0 * 25.0); /* under a 4-sigma detection threshold ... */
        vt_thermal_look look;
        vt_fusion_record rec = look_at(&rig, &img, p, 10.0, &look);
        confirmed += rec.verdict == VT_FUSION_CONFIRMED;
        vt_image_free(&img);
        vt_image_free(&sky);
    }
    assert_true(confirmed >= 18); /* ... and yet confirmed in nearly every frame */
    vt_rig_free(&rig);
}

static void a_glint_seen_by_mono_only_is_contradicted_and_dropped(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(true);
    vt_vec3 pg = vt_v3(-15, 300, 20);
    vt_render_target t[2] = {glint(0, pg), drone(1, vt_v3(15, 300, 22), 0.5, 14000.0f)};
    vt_image mono = {0}, thermal = {0};
    draw(&rig, &o, MONO, 5, t, 2, &mono);
    draw(&rig, &o, THERMAL, 5, t, 2, &thermal);
    /* The glint is plain in mono ... */
    double u, v;
    assert_true(vt_camera_world_to_pixel(&rig.cameras[MONO].cam, pg, &u, &v));
    assert_true(vt_image_row8(&mono, (int)(v + 0.5))[(int)(u + 0.5)] > 195); /* sky ~170 */
    /* ... absent in thermal, where the smallest drone of interest would be plain. */
    vt_thermal_look look;
    vt_fusion_record rec = look_at(&rig, &thermal, pg, 30.0, &look);
    assert_int_equal(look.reason, VT_FUSION_SEEN);
    assert_true(look.expected_snr > 6.0);
    assert_true(look.snr < 3.0);
    assert_int_equal(rec.verdict, VT_FUSION_CONTRADICTED);
    assert_true(rec.ratio < 0.1);
    vt_fusion_opts fo = vt_fusion_opts_default();
    assert_true(vt_fusion_should_drop(&rec, &fo));
    fo.drop_contradicted = false;
    assert_false(vt_fusion_should_drop(&rec, &fo));
    /* A thermal ray of its own confirms a detection whatever the look says. */
    vt_fusion_record_finish(&rec, 30.0, 1);
    assert_int_equal(rec.verdict, VT_FUSION_CONFIRMED);
    vt_image_free(&mono);
    vt_image_free(&thermal);
    vt_rig_free(&rig);
}

static void a_drone_outside_the_thermal_image_is_not_observable(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(true);
    /* 25 degrees east of north: inside the mono camera's 30, outside the thermal's 20. */
    vt_vec3 p = vt_v3(400 * sin(vt_deg2rad(25)), 400 * cos(vt_deg2rad(25)), 30);
    vt_render_target t[1] = {drone(0, p, 0.5, 14000.0f)};
    vt_image mono = {0}, thermal = {0};
    draw(&rig, &o, MONO, 1, t, 1, &mono);
    draw(&rig, &o, THERMAL, 1, t, 1, &thermal);
    double u, v;
    assert_true(vt_camera_world_to_pixel(&rig.cameras[MONO].cam, p, &u, &v));
    assert_true(vt_camera_in_image(&rig.cameras[MONO].cam, u, v));
    vt_thermal_look look;
    vt_fusion_record rec = look_at(&rig, &thermal, p, 20.0, &look);
    assert_int_equal(look.reason, VT_FUSION_OUTSIDE);
    assert_true(isnan(look.snr));
    assert_int_equal(rec.verdict, VT_FUSION_NOT_OBSERVABLE);
    assert_int_equal(rec.reason, VT_FUSION_OUTSIDE);
    assert_true(isnan(rec.ratio));
    vt_fusion_opts fo = vt_fusion_opts_default();
    assert_false(vt_fusion_should_drop(&rec, &fo));
    assert_string_equal(vt_fusion_verdict_name(rec.verdict), "not_observable");
    assert_string_equal(vt_fusion_reason_name(rec.reason), "outside");
    /* Behind the camera: outside too. */
    rec = look_at(&rig, &thermal, vt_v3(0, -300, 10), 20.0, &look);
    assert_int_equal(look.reason, VT_FUSION_OUTSIDE);
    assert_int_equal(rec.verdict, VT_FUSION_NOT_OBSERVABLE);
    vt_image_free(&mono);
    vt_image_free(&thermal);
    vt_rig_free(&rig);
}

static void an_empty_look_too_far_away_is_not_a_contradiction(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(true);
    vt_image thermal = {0};
    draw(&rig, &o, THERMAL, 2, NULL, 0, &thermal);
    vt_thermal_look look;
    vt_fusion_record rec = look_at(&rig, &thermal, vt_v3(30, 3000, 200), 8.0, &look);
    assert_int_equal(look.reason, VT_FUSION_TOO_FAR);
    assert_true(look.expected_snr < 6.0);
    assert_int_equal(rec.verdict, VT_FUSION_NOT_OBSERVABLE);
    assert_int_equal(rec.reason, VT_FUSION_TOO_FAR);
    /* ... while a big hot target that far is seen: the look confirms it. */
    vt_render_target t[1] = {drone(0, vt_v3(30, 3000, 200), 2.0, 20000.0f)};
    draw(&rig, &o, THERMAL, 2, t, 1, &thermal);
    rec = look_at(&rig, &thermal, t[0].pos, 8.0, &look);
    assert_int_equal(look.reason, VT_FUSION_TOO_FAR);
    assert_int_equal(rec.verdict, VT_FUSION_CONFIRMED);
    vt_image_free(&thermal);
    vt_rig_free(&rig);
}

/* On pure sky the SNR is standard normal: the matched filter's noise is what it says. */
static void the_snr_of_pure_sky_is_standard_normal(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(false);
    const vt_camera *cam = &rig.cameras[THERMAL].cam;
    vt_fusion_opts fo = vt_fusion_opts_default();
    vt_test_seed(1602);
    for (int pass = 0; pass < 2; pass++) { /* the camera's noise given; measured from the ring */
        double sum = 0.0, sum2 = 0.0;
        int n = 0;
        for (int64_t f = 0; f < 6; f++) {
            vt_image img = {0};
            draw(&rig, &o, THERMAL, f, NULL, 0, &img);
            for (int i = 0; i < 300; i++) {
                vt_vec3 d, c;
                double u = vt_test_uniform(10, 630), v = vt_test_uniform(10, 502);
                assert_true(vt_camera_pixel_to_ray(cam, u, v, &c, &d));
                vt_thermal_look look;
                assert_int_equal(vt_thermal_measure(cam, &img, pass ? 0.0 : 25.0,
                                                    vt_v3_add(c, vt_v3_scale(d, 500.0)), &fo,
                                                    &look),
                                 VT_OK);
                assert_int_equal(look.reason, VT_FUSION_SEEN);
                sum += look.snr;
                sum2 += look.snr * look.snr;
                n++;
            }
            vt_image_free(&img);
        }
        double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
        assert_near(mean, 0.0, 0.12);
        assert_near(sd, 1.0, pass ? 0.2 : 0.12);
    }
    vt_rig_free(&rig);
}

static void records_keep_the_nearest_miss_and_the_best_snr(void **state)
{
    (void)state;
    vt_fusion_opts o = vt_fusion_opts_default();
    vt_fusion_record r = vt_fusion_record_empty();
    vt_fusion_record_finish(&r, 5.0, 0);
    assert_int_equal(r.verdict, VT_FUSION_NOT_OBSERVABLE);
    assert_int_equal(r.reason, VT_FUSION_NO_THERMAL);
    vt_thermal_look out = {.reason = VT_FUSION_OUTSIDE, .snr = NAN};
    vt_thermal_look far = {.reason = VT_FUSION_TOO_FAR, .snr = 1.0};
    vt_thermal_look dim = {.reason = VT_FUSION_SEEN, .snr = 1.5};
    vt_thermal_look bright = {.reason = VT_FUSION_SEEN, .snr = 7.0};
    r = vt_fusion_record_empty();
    vt_fusion_record_add(&r, &out, &o);
    vt_fusion_record_add(&r, &far, &o);
    vt_fusion_record_add(&r, &out, &o);
    vt_fusion_record_finish(&r, 5.0, 0);
    assert_int_equal(r.verdict, VT_FUSION_NOT_OBSERVABLE);
    assert_int_equal(r.reason, VT_FUSION_TOO_FAR);
    vt_fusion_record_add(&r, &dim, &o);
    vt_fusion_record_finish(&r, 5.0, 0);
    assert_int_equal(r.verdict, VT_FUSION_CONTRADICTED);
    assert_int_equal(r.reason, VT_FUSION_SEEN);
    vt_fusion_record_add(&r, &bright, &o);
    vt_fusion_record_finish(&r, 5.0, 0);
    assert_int_equal(r.verdict, VT_FUSION_CONFIRMED);
    assert_int_equal(r.observed, 2);
    assert_int_equal(r.confirming, 1);
    assert_near(r.thermal_snr, 7.0, 1e-6);
    assert_near(r.ratio, 7.0 / 5.0, 1e-6);
}

static void bad_input_is_refused_with_a_message(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    const vt_camera *cam = &rig.cameras[THERMAL].cam;
    vt_fusion_opts o = vt_fusion_opts_default();
    vt_image img = {0}, small = {0};
    assert_int_equal(vt_image_alloc(&img, 640, 512, 16), VT_OK);
    assert_int_equal(vt_image_alloc(&small, 320, 256, 16), VT_OK);
    vt_thermal_look look;
    vt_vec3 p = vt_v3(0, 300, 20);
    assert_int_equal(vt_thermal_measure(NULL, &img, 25, p, &o, &look), VT_EINVAL);
    assert_int_equal(vt_thermal_measure(cam, &small, 25, p, &o, &look), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "320x256"));
    assert_int_equal(vt_thermal_measure(cam, &img, 25, vt_v3(NAN, 0, 0), &o, &look), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "not finite"));
    o.psf_sigma = 0.0;
    assert_int_equal(vt_thermal_measure(cam, &img, 25, p, &o, &look), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "psf_sigma"));
    o = vt_fusion_opts_default();
    o.min_confirm_rate = 1.5;
    assert_int_equal(vt_fusion_opts_check(&o), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "min_confirm_rate"));
    o = vt_fusion_opts_default();
    o.min_size = -1;
    assert_int_equal(vt_fusion_opts_check(&o), VT_EINVAL);
    vt_pair_map map;
    assert_int_equal(vt_pair_map_init(cam, NULL, &map), VT_EINVAL);
    vt_camera broken = *cam;
    broken.fx = 0;
    assert_int_equal(vt_pair_map_init(cam, &broken, &map), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "pair map"));
    vt_image_free(&img);
    vt_image_free(&small);
    vt_rig_free(&rig);
}

/*
 * The stage between detection and tracking: of a glint and a drone that
 * both look like 3D detections to the mono cameras, the glint is dropped and
 * the drone kept, its rays and record carried along.
 */
static void the_fusion_stage_keeps_the_drone_and_drops_the_glint(void **state)
{
    (void)state;
    vt_rig rig;
    make_rig(&rig);
    vt_render_opts o = skies(true);
    vt_vec3 pg = vt_v3(-15, 300, 20), pd = vt_v3(15, 300, 22);
    vt_render_target t[2] = {glint(0, pg), drone(1, pd, 0.5, 14000.0f)};
    vt_image thermal = {0};
    draw(&rig, &o, THERMAL, 5, t, 2, &thermal);
    vt_detection dets[2] = {{.pos = pg, .ncameras = 3, .nrays = 2, .first_ray = 0},
                            {.pos = pd, .ncameras = 3, .nrays = 1, .first_ray = 2}};
    vt_detection_ray rays[3] = {{.camera = MONO, .weight = 400, .noise = 2, .area = 4},
                                {.camera = MONO, .weight = 90, .noise = 2, .area = 9},
                                {.camera = MONO, .weight = 300, .noise = 2, .area = 4}};
    vt_set_detections in = {.detections = dets, .ndetections = 2, .rays = rays, .nrays = 3};
    const vt_image *images[2] = {NULL, &thermal};
    const float noise[2] = {2.0f, 25.0f};
    vt_pipeline_opts po = vt_pipeline_opts_default();
    vt_fusion_stage *f = NULL;
    assert_int_equal(vt_fusion_stage_new(&po, &rig, &f), VT_OK);
    vt_fusion_output out;
    assert_int_equal(vt_fusion_stage_process(f, &in, images, noise, &out), VT_OK);
    assert_int_equal(out.nrecords, 2);
    assert_int_equal(out.records[0].verdict, VT_FUSION_CONTRADICTED);
    assert_true(out.records[0].dropped);
    assert_near(out.records[0].mono_snr, 400.0 / (2.0 * 2.0), 1e-4); /* S / (sigma sqrt(A)) */
    assert_int_equal(out.records[1].verdict, VT_FUSION_CONFIRMED);
    assert_int_equal(out.dropped, 1);
    assert_int_equal(out.kept.ndetections, 1);
    assert_near(out.kept.detections[0].pos.x, 15.0, 0.0);
    assert_int_equal(out.kept.detections[0].first_ray, 0);
    assert_int_equal(out.kept.nrays, 1);
    assert_near(out.kept.rays[0].weight, 300.0, 0.0);
    assert_int_equal(out.kept.fusion[0].verdict, VT_FUSION_CONFIRMED);
    /* Without the thermal frame nothing can be said, and nothing is dropped. */
    images[1] = NULL;
    assert_int_equal(vt_fusion_stage_process(f, &in, images, noise, &out), VT_OK);
    assert_int_equal(out.records[0].verdict, VT_FUSION_NOT_OBSERVABLE);
    assert_int_equal(out.records[0].reason, VT_FUSION_NO_FRAME);
    assert_int_equal(out.kept.ndetections, 2);
    /* A frame of the wrong size, a ray of a camera not in the rig: errors naming them. */
    vt_image small = {0};
    assert_int_equal(vt_image_alloc(&small, 320, 256, 16), VT_OK);
    images[1] = &small;
    assert_int_equal(vt_fusion_stage_process(f, &in, images, noise, &out), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "camera 1"));
    images[1] = &thermal;
    rays[2].camera = 7;
    assert_int_equal(vt_fusion_stage_process(f, &in, images, noise, &out), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "camera 7 not in the rig"));
    po.fusion.observe_snr = 0.0;
    vt_fusion_stage *bad = NULL;
    assert_int_equal(vt_fusion_stage_new(&po, &rig, &bad), VT_EINVAL);
    assert_null(bad);
    vt_fusion_stage_free(f);
    vt_image_free(&small);
    vt_image_free(&thermal);
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pair_map_is_the_projection_of_the_point_at_its_range),
        cmocka_unit_test(a_drone_seen_by_both_is_confirmed),
        cmocka_unit_test(a_drone_below_the_thermal_threshold_is_still_confirmed),
        cmocka_unit_test(a_glint_seen_by_mono_only_is_contradicted_and_dropped),
        cmocka_unit_test(a_drone_outside_the_thermal_image_is_not_observable),
        cmocka_unit_test(an_empty_look_too_far_away_is_not_a_contradiction),
        cmocka_unit_test(the_snr_of_pure_sky_is_standard_normal),
        cmocka_unit_test(records_keep_the_nearest_miss_and_the_best_snr),
        cmocka_unit_test(bad_input_is_refused_with_a_message),
        cmocka_unit_test(the_fusion_stage_keeps_the_drone_and_drops_the_glint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
