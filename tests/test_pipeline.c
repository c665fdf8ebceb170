/*
 * tests/test_pipeline.c - the tracker end to end on the `small` scene
 * (rendered in memory, scored against its truth), its independence from
 * the thread count, a camera that drops out, bad frames, and the run
 * configuration file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_pipeline"
#include "vt_test_tmp.h"

enum { FRAMES = 48 };

/* The small scene rendered once for all tests: FRAMES x cameras frames. */
typedef struct scene {
    vt_scenario *sc;
    const vt_rig *rig;
    int cams;
    size_t ntargets;
    vt_image *frames; /* [frame * cams + camera] */
    bool *present;
} scene;

static scene g;

static int setup(void **state)
{
    if (vt_test_make_tmpdir(state) != 0)
        return -1;
    if (vt_scenario_preset("small", &g.sc) || vt_scenario_set_frames(g.sc, FRAMES))
        return -1;
    g.rig = vt_scenario_rig(g.sc);
    g.cams = g.rig->count;
    g.ntargets = vt_scenario_target_count(g.sc);
    vt_render_opts ro = vt_scenario_render_opts(g.sc);
    vt_renderer *r = NULL;
    if (vt_renderer_new(&ro, g.rig, &r))
        return -1;
    g.frames = calloc((size_t)(FRAMES * g.cams), sizeof *g.frames);
    g.present = calloc((size_t)(FRAMES * g.cams), sizeof *g.present);
    vt_render_target *tg = malloc(g.ntargets * sizeof *tg);
    for (int n = 0; n < FRAMES; n++)
        for (int c = 0; c < g.cams; c++) {
            double t;
            if (!vt_scenario_frame_time(g.sc, c, n, &t))
                continue;
            vt_scenario_targets(g.sc, t, tg, NULL);
            if (vt_renderer_draw(r, c, n, t, tg, g.ntargets, &g.frames[n * g.cams + c]))
                return -1;
            g.present[n * g.cams + c] = true;
        }
    free(tg);
    vt_renderer_free(r);
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < FRAMES * g.cams; i++)
        vt_image_free(&g.frames[i]);
    free(g.frames);
    free(g.present);
    vt_scenario_free(g.sc);
    return vt_test_remove_tmpdir(state);
}

static vt_pipeline *new_pipeline(int threads)
{
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(g.sc, &o.volume_min, &o.volume_max);
    o.threads = threads;
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    return p;
}

/* Frame set n; cameras listed in `drop` (bit c) deliver nothing. */
static vt_frame_set frame_set(int n, uint64_t drop, const vt_image **ptrs)
{
    for (int c = 0; c < g.cams; c++)
        ptrs[c] = g.present[n * g.cams + c] && !(drop >> c & 1) ? &g.frames[n * g.cams + c] : NULL;
    return (vt_frame_set){.frame = n, .t = n / vt_scenario_fps(g.sc), .images = ptrs};
}

static void eval_frame(vt_eval *e, const vt_pipeline_result *res)
{
    vt_target_truth truth[64];
    vt_eval_truth et[64];
    vt_eval_track ek[256];
    assert_true(g.ntargets <= 64 && res->ntracks <= 256);
    vt_scenario_targets(g.sc, res->t, NULL, truth);
    for (size_t i = 0; i < g.ntargets; i++)
        et[i] = (vt_eval_truth){.id = truth[i].id,
                                .kind = truth[i].kind == VT_TARGET_DRONE  ? VT_EVAL_DRONE
                                        : truth[i].kind == VT_TARGET_BIRD ? VT_EVAL_BIRD
                                                                          : VT_EVAL_GLINT,
                                .pos = truth[i].pos};
    for (size_t i = 0; i < res->ntracks; i++)
        ek[i] = (vt_eval_track){.id = res->tracks[i].id,
                                .status = (int)res->tracks[i].status,
                                .cls = (int)res->classes[i],
                                .pos = res->tracks[i].pos};
    assert_int_equal(vt_eval_frame(e, res->frame, et, g.ntargets, ek, res->ntracks), VT_OK);
}

/* Runs frames [0, FRAMES) and scores frames >= from. */
static vt_eval_result run_scene(int threads, uint64_t drop_after_half, int from)
{
    vt_pipeline *p = new_pipeline(threads);
    vt_eval *e = NULL;
    vt_eval_opts eo = vt_eval_opts_default();
    assert_int_equal(vt_eval_new(&eo, &e), VT_OK);
    const vt_image *ptrs[64];
    for (int n = 0; n < FRAMES; n++) {
        vt_frame_set fs = frame_set(n, n >= FRAMES / 2 ? drop_after_half : 0, ptrs);
        vt_pipeline_result res;
        assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
        if (n >= from)
            eval_frame(e, &res);
    }
    vt_eval_result r;
    assert_int_equal(vt_eval_result_get(e, &r), VT_OK);
    print_message("detection %.4f false %.4f mota %.4f idf1 %.4f rmse %.4f idsw %lld\n",
                  r.detection_rate, r.false_rate, r.mota, r.idf1, r.rmse, (long long)r.idsw);
    vt_eval_free(e);
    vt_pipeline_free(p);
    return r;
}

/* The scene has what makes ghosts: several targets, each seen by >= 4 cameras. */
static void the_scene_makes_ghosts_possible(void **state)
{
    (void)state;
    vt_target_truth truth[64];
    vt_scenario_targets(g.sc, 1.0, NULL, truth);
    int seen4 = 0;
    for (size_t i = 0; i < g.ntargets; i++) {
        if (truth[i].kind == VT_TARGET_GLINT)
            continue;
        int seen = 0;
        for (int c = 0; c < g.cams; c++) {
            double u, v;
            const vt_camera *cam = &g.rig->cameras[c].cam;
            seen += vt_camera_world_to_pixel(cam, truth[i].pos, &u, &v) &&
                    vt_camera_in_image(cam, u, v);
        }
        seen4 += seen >= 4;
    }
    assert_true(seen4 >= 5);
}

/* Accuracy on the small scene once the tracks have had 8 frame sets to start. */
static void tracks_the_small_scene(void **state)
{
    (void)state;
    vt_eval_result r = run_scene(0, 0, 8);
    /* Measured: detection 0.905, false 0.042, MOTA 0.865, IDF1 0.93, RMSE 0.06 m. */
    assert_true(r.detection_rate >= 0.85);
    assert_true(r.false_rate <= 0.08);
    assert_true(r.idsw == 0);
    assert_true(r.rmse <= 0.2);
    assert_true(r.mota >= 0.8);
    assert_true(r.idf1 >= 0.85);
}

static void same_tracks_with_one_and_two_threads(void **state)
{
    (void)state;
    vt_pipeline *a = new_pipeline(1), *b = new_pipeline(2);
    const vt_image *pa[64], *pb[64];
    for (int n = 0; n < FRAMES; n++) {
        vt_frame_set fa = frame_set(n, 0, pa), fb = frame_set(n, 0, pb);
        vt_pipeline_result ra, rb;
        assert_int_equal(vt_pipeline_process(a, &fa, &ra), VT_OK);
        assert_int_equal(vt_pipeline_process(b, &fb, &rb), VT_OK);
        assert_int_equal(ra.rays, rb.rays);
        assert_int_equal(ra.ndetections, rb.ndetections);
        assert_int_equal(ra.ntracks, rb.ntracks);
        for (size_t i = 0; i < ra.ntracks; i++) {
            assert_int_equal(ra.tracks[i].id, rb.tracks[i].id);
            assert_int_equal(ra.tracks[i].status, rb.tracks[i].status);
            assert_memory_equal(&ra.tracks[i].pos, &rb.tracks[i].pos, sizeof ra.tracks[i].pos);
        }
    }
    vt_pipeline_free(a);
    vt_pipeline_free(b);
}

/*
 * Two of six cameras stop halfway: the others go on tracking. (The faintest
 * drone is then seen by two cameras only and is lost: 4 of 5 remain.)
 */
static void goes_on_when_cameras_drop_out(void **state)
{
    (void)state;
    vt_eval_result r = run_scene(0, 1u << 0 | 1u << 3, FRAMES / 2);
    assert_true(r.detection_rate >= 0.75);
    assert_true(r.false_rate <= 0.05);
    assert_true(r.idsw <= 1);
}

static void refuses_bad_frame_sets(void **state)
{
    (void)state;
    vt_pipeline *p = new_pipeline(1);
    const vt_image *ptrs[64];
    vt_frame_set fs = frame_set(1, 0, ptrs);
    vt_image small = {0};
    assert_int_equal(vt_image_alloc(&small, 32, 16, 8), VT_OK);
    ptrs[1] = &small;
    vt_pipeline_result res;
    assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), g.rig->cameras[1].id));
    fs = frame_set(5, 0, ptrs);
    assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
    fs = frame_set(4, 0, ptrs);
    assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "back in time"));
    vt_image_free(&small);
    vt_pipeline_free(p);

    vt_pipeline_opts o = vt_pipeline_opts_default();
    o.volume_max.z = o.volume_min.z;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "volume"));
}

/* ---- run configuration ---- */

static const char *write_file(const char *name, const char *text)
{
    const char *path = vt_test_tmp_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void reads_a_run_configuration(void **state)
{
    (void)state;
    const char *path =
        write_file("cfg_ok.json", "{\"rig\": \"rig.json\", \"volume\": {\"min\": [-10, -20, 0], "
                                  "\"max\": [10, 20, 30]}, \"frames\": 7,\n"
                                  " \"pipeline\": {\"rays\": \"pixels\", \"tracker\": {\"kind\": "
                                  "\"mht\", \"confirm_m\": 2}, \"background\": {\"mono\": "
                                  "{\"kind\": \"previous\", \"k_sigma\": 6}}, "
                                  "\"overlap\": false}}");
    vt_run_config cfg;
    assert_int_equal(vt_run_config_load(path, &cfg), VT_OK);
    assert_non_null(strstr(cfg.rig, "/rig.json"));
    assert_non_null(strstr(cfg.tracks, "/tracks.jsonl"));
    assert_null(cfg.truth);
    assert_int_equal(cfg.max_frames, 7);
    assert_near(cfg.opts.volume_max.y, 20, 0);
    assert_int_equal(cfg.opts.rays, VT_RAYS_PIXELS);
    assert_int_equal(cfg.opts.tracker.kind, VT_TRACKER_MHT);
    assert_int_equal(cfg.opts.tracker.confirm_m, 2);
    assert_int_equal(cfg.opts.mono.kind, VT_BACKGROUND_PREVIOUS);
    assert_near(cfg.opts.mono.k_sigma, 6, 0);
    assert_false(cfg.opts.overlap);
    vt_run_config_free(&cfg);
}

static void expect_refused(const char *name, const char *text, const char *needle)
{
    vt_run_config cfg;
    vt_status s = vt_run_config_load(write_file(name, text), &cfg);
    assert_int_not_equal(s, VT_OK);
    if (!strstr(vt_last_error(), needle)) {
        print_error("'%s' not in '%s'\n", needle, vt_last_error());
        fail();
    }
}

static void refuses_bad_run_configurations(void **state)
{
    (void)state;
    expect_refused("cfg_a.json", "{\"rig\": \"r.json\",\n \"volume\": {\"min\": [0,0,0]", ":2:");
    expect_refused("cfg_b.json", "{\"rig\": \"r.json\"}", "'volume' is missing");
    expect_refused("cfg_c.json",
                   "{\"rig\": \"r.json\", \"volume\": {\"min\": [0,0,0], \"max\": [1,1,1]}, "
                   "\"pipeline\": {\"vote\": {\"coarse_voxl\": 3}}}",
                   "pipeline.vote.coarse_voxl");
    expect_refused("cfg_d.json",
                   "{\"rig\": \"r.json\", \"volume\": {\"min\": [0,0,0], \"max\": [1,1,-1]}}",
                   "volume");
    expect_refused("cfg_e.json",
                   "{\"rig\": \"r.json\", \"volume\": {\"min\": [0,0,0], \"max\": [1,1,1]}, "
                   "\"pipeline\": {\"tracker\": {\"kind\": \"best\"}}}",
                   "pipeline.tracker.kind");
    expect_refused("cfg_f.json", "{\"rig\": 3, \"volume\": {\"min\": [0,0,0], \"max\": [1,1,1]}}",
                   "'rig'");
    expect_refused("cfg_g.json",
                   "{\"rig\": \"r.json\", \"volume\": {\"min\": [0,0,0], \"max\": [1,1,1]}, "
                   "\"pipeline\": {\"overlap\": 1}}",
                   "'pipeline.overlap' must be true or false");
    vt_run_config cfg;
    assert_int_equal(vt_run_config_load("/no/such/config.json", &cfg), VT_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_scene_makes_ghosts_possible),
        cmocka_unit_test(tracks_the_small_scene),
        cmocka_unit_test(same_tracks_with_one_and_two_threads),
        cmocka_unit_test(goes_on_when_cameras_drop_out),
        cmocka_unit_test(refuses_bad_frame_sets),
        cmocka_unit_test(reads_a_run_configuration),
        cmocka_unit_test(refuses_bad_run_configurations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
