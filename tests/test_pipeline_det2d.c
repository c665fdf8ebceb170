/*
 * tests/test_pipeline_det2d.c - 2D detections as a camera's input to the
 * pipeline: a detection at a blob's centroid makes the blob's ray, and
 * voting on such rays finds the same 3D detections; a pipeline whose
 * cameras all take detections (the simulator's truth pixels, with noise)
 * tracks the drone; frame sets with and without per-camera times pick the
 * right frame's detections.
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

#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#include "vt_test_calib.h"
#include "vt_test_scene.h"

enum { FRAMES = 10 };

static void test_detections_at_blob_centroids_vote_like_the_blobs(void **state)
{
    (void)state;
    vt_test_scene g;
    assert_int_equal(vt_test_scene_render(&g, "small", FRAMES), 0);
    vt_pipeline_opts o = vt_test_scene_opts(&g, 1);
    vt_camera_stage **cs = calloc((size_t)g.cams, sizeof *cs);
    vt_camera_rays *blob = calloc((size_t)g.cams, sizeof *blob);
    vt_camera_rays *det = calloc((size_t)g.cams, sizeof *det);
    vt_ray **rays = calloc((size_t)g.cams, sizeof *rays);
    int32_t **area = calloc((size_t)g.cams, sizeof *area);
    vt_vote_stage *va, *vb;
    assert_int_equal(vt_vote_stage_new(&o, g.rig, &va), VT_OK);
    assert_int_equal(vt_vote_stage_new(&o, g.rig, &vb), VT_OK);
    for (int c = 0; c < g.cams; c++)
        assert_int_equal(vt_camera_stage_new(&o, g.rig, c, &cs[c]), VT_OK);
    size_t compared = 0;
    for (int n = 0; n < FRAMES; n++) {
        vt_det2d *d[64];
        for (int c = 0; c < g.cams; c++) {
            assert_int_equal(
                vt_camera_stage_process(cs[c], vt_test_scene_image(&g, n, c), &blob[c]), VT_OK);
            /* The 2D detector reports each blob's centroid, with full confidence. */
            size_t k = blob[c].nrays;
            d[c] = calloc(k ? k : 1, sizeof *d[c]);
            rays[c] = realloc(rays[c], (k ? k : 1) * sizeof *rays[c]);
            area[c] = realloc(area[c], (k ? k : 1) * sizeof *area[c]);
            for (size_t j = 0; j < k; j++) {
                vt_vec3 o2, dir;
                double u, v;
                /* Back from the ray to its pixel: the centroid the blob stage cast through. */
                o2 = blob[c].rays[j].origin;
                dir = blob[c].rays[j].dir;
                assert_true(
                    vt_camera_world_to_pixel(&g.rig->cameras[c].cam, vt_v3_add(o2, dir), &u, &v));
                d[c][j] = (vt_det2d){.frame = n, .u = u, .v = v, .score = 1.0f};
            }
            vt_det2d_ray_opts ro = {o.sigma_px, 0.1};
            vt_camera_rays_from_det2d(&g.rig->cameras[c], c, d[c], k, &ro, rays[c], area[c],
                                      &det[c]);
            assert_int_equal(det[c].nrays, k);
            for (size_t j = 0; j < k; j++) {
                const vt_ray *a = &blob[c].rays[j], *b = &det[c].rays[j];
                assert_true(vt_v3_norm(vt_v3_sub(a->dir, b->dir)) < 1e-12);
                assert_true(a->origin.x == b->origin.x && a->sigma == b->sigma);
                assert_int_equal(a->camera, b->camera);
                assert_int_equal(a->pair, b->pair);
                /* Same weights, so that voting ranks them alike. */
                rays[c][j].weight = a->weight;
            }
        }
        vt_set_detections sa, sb;
        assert_int_equal(vt_vote_stage_process(va, blob, &sa), VT_OK);
        assert_int_equal(vt_vote_stage_process(vb, det, &sb), VT_OK);
        assert_int_equal(sa.ndetections, sb.ndetections);
        for (size_t i = 0; i < sa.ndetections; i++) {
            assert_true(vt_v3_norm(vt_v3_sub(sa.detections[i].pos, sb.detections[i].pos)) < 1e-6);
            assert_int_equal(sa.detections[i].ncameras, sb.detections[i].ncameras);
            compared++;
        }
        for (int c = 0; c < g.cams; c++)
            free(d[c]);
    }
    assert_true(compared >= 3 * (FRAMES - 2)); /* several drones detected in most sets */
    for (int c = 0; c < g.cams; c++) {
        vt_camera_stage_free(cs[c]);
        free(rays[c]);
        free(area[c]);
    }
    free(cs), free(blob), free(det), free(rays), free(area);
    vt_vote_stage_free(va);
    vt_vote_stage_free(vb);
    vt_test_scene_free(&g);
}

static void test_a_rig_of_detection_cameras_tracks_the_drone(void **state)
{
    (void)state;
    enum { CAMS = 4, N = 300 };
    vt_scenario *s = vt_flight_scenario(CAMS, N);
    assert_non_null(s);
    vt_reftrack *truth = vt_flight_track(s);
    vt_rig rig;
    vt_rig_init(&rig);
    vt_det2d_list dets[CAMS];
    vt_flight_noise nz = {0.5, 0.1, 0.05, 0.0, -1, 3};
    for (int c = 0; c < CAMS; c++) {
        vt_rig_camera rc = vt_scenario_rig(s)->cameras[c];
        rc.media = VT_MEDIA_DETECTIONS;
        rc.path = "dets.csv";
        rc.clock_offset = vt_flight_offsets[c];
        assert_int_equal(vt_rig_add(&rig, &rc), VT_OK);
        vt_flight_detections(s, c, &nz, &dets[c]);
        vt_det2d_apply_clock(&dets[c], vt_det2d_camera_clock(&rig, &rig.cameras[c], false));
    }
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(s, &o.volume_min, &o.volume_max);
    o.threads = 1;
    o.confirm_cameras = 3;
    vt_pipeline *p;
    assert_int_equal(vt_pipeline_new(&o, &rig, &p), VT_OK);
    for (int c = 0; c < CAMS; c++)
        assert_int_equal(vt_pipeline_set_detections(p, c, &dets[c]), VT_OK);
    assert_int_equal(vt_pipeline_set_detections(p, CAMS, &dets[0]), VT_EINVAL);
    const vt_image *none[CAMS] = {NULL};
    double sum2 = 0;
    int matched = 0;
    for (int n = 0; n < N; n++) {
        /* No per-camera times: each camera's frame nearest the set's time. */
        vt_frame_set fs = {.frame = n, .t = n / 30.0, .images = none, .times = NULL};
        vt_pipeline_result res;
        assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
        vt_vec3 want;
        if (!vt_reftrack_at(truth, fs.t, 0, &want, NULL))
            continue;
        for (size_t k = 0; k < res.ntracks; k++) {
            if (res.tracks[k].status != VT_TRACK_CONFIRMED)
                continue;
            double e = vt_v3_norm(vt_v3_sub(res.tracks[k].pos, want));
            if (e < 2.0) {
                sum2 += e * e;
                matched++;
            }
        }
    }
    print_message("confirmed track on the drone in %d of %d frame sets, RMS %.3f m\n", matched, N,
                  sqrt(sum2 / (matched ? matched : 1)));
    assert_true(matched > N * 8 / 10);
    assert_true(sqrt(sum2 / matched) < 0.5);
    vt_pipeline_free(p);
    for (int c = 0; c < CAMS; c++)
        vt_det2d_list_free(&dets[c]);
    vt_rig_free(&rig);
    vt_reftrack_free(truth);
    vt_scenario_free(s);
}

static void test_frame_times_choose_the_frame(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera rc;
    memset(&rc, 0, sizeof rc);
    snprintf(rc.id, sizeof rc.id, "d0");
    rc.cam = (vt_camera){.width = 640,
                         .height = 480,
                         .fx = 500,
                         .fy = 500,
                         .cx = 319.5,
                         .cy = 239.5,
                         .q = vt_q_identity()};
    assert_int_equal(vt_camera_init(&rc.cam), VT_OK);
    rc.media = VT_MEDIA_DETECTIONS;
    rc.path = "x";
    rc.bits = 8;
    assert_int_equal(vt_rig_add(&rig, &rc), VT_OK);
    const char *text = "frame u v\n0 10 10\n0 20 20\n1 30 30\n3 40 40\n";
    vt_det2d_list l = {0};
    assert_int_equal(vt_det2d_parse(text, strlen(text), "d0.txt", 640, 480, &l), VT_OK);
    vt_pipeline *p;
    assert_int_equal(vt_pipeline_new(NULL, &rig, &p), VT_OK);
    /* Not yet on the rig's clock: refused, by name. */
    assert_int_equal(vt_pipeline_set_detections(p, 0, &l), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "not on the rig's clock"));
    vt_det2d_apply_clock(&l, vt_det2d_camera_clock(&rig, &rig.cameras[0], false));
    assert_int_equal(vt_pipeline_set_detections(p, 0, &l), VT_OK);
    vt_image dummy = {0};
    const vt_image *img[1] = {&dummy}, *none[1] = {NULL};
    /* With times: exactly the frame at that time, and nothing for an absent camera. */
    double at[1] = {1.0 / 30};
    struct {
        double t;
        const vt_image *const *images;
        const double *times;
        size_t rays;
    } cases[] = {/* in time order, as frame sets come */
                 {0.0, img, NULL, 2},      {0.4 / 30, none, NULL, 2}, {0.6 / 30, none, NULL, 1},
                 {1.0 / 30, img, at, 1},   {1.0 / 30, none, at, 0},   {2.0 / 30, none, NULL, 0},
                 {2.6 / 30, none, NULL, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        vt_frame_set fs = {.frame = (int64_t)k,
                           .t = cases[k].t,
                           .images = cases[k].images,
                           .times = cases[k].times};
        vt_pipeline_result res;
        assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
        if (res.cameras[0].rays != cases[k].rays)
            print_error("case %zu: %zu rays, expected %zu\n", k, res.cameras[0].rays,
                        cases[k].rays);
        assert_int_equal(res.cameras[0].rays, cases[k].rays);
        assert_int_equal(res.cameras[0].present, cases[k].rays > 0);
    }
    vt_pipeline_free(p);
    vt_det2d_list_free(&l);
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detections_at_blob_centroids_vote_like_the_blobs),
        cmocka_unit_test(test_a_rig_of_detection_cameras_tracks_the_drone),
        cmocka_unit_test(test_frame_times_choose_the_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
