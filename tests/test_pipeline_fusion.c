/*
 * tests/test_pipeline_fusion.c - thermal fusion in the pipeline, end to end
 * on the `glint` preset (rendered in memory, scored against its truth): the
 * glints that the mono cameras see as 3D targets and that hold long enough
 * to become tracks are dropped by fusion; the drones are kept. The same
 * scene without fusion is the baseline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#include "vt_test_scene.h"

enum { FRAMES = 60, FROM = 8 };

static vt_test_scene g;

static int setup(void **state)
{
    (void)state;
    return vt_test_scene_render(&g, "glint", FRAMES);
}

static int teardown(void **state)
{
    (void)state;
    vt_test_scene_free(&g);
    return 0;
}

typedef struct run_result {
    vt_eval_result ev;
    size_t dropped, confirmed_looks, contradicted;
} run_result;

static void eval_frame(vt_eval *e, const vt_pipeline_result *res)
{
    size_t n = vt_scenario_target_count(g.sc);
    vt_target_truth truth[128];
    vt_eval_truth et[128];
    vt_eval_track ek[256];
    assert_true(n <= 128 && res->ntracks <= 256);
    vt_scenario_targets(g.sc, res->t, NULL, truth);
    for (size_t i = 0; i < n; i++)
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
    assert_int_equal(vt_eval_frame(e, res->frame, et, n, ek, res->ntracks), VT_OK);
}

static run_result run(bool fuse)
{
    vt_pipeline_opts o = vt_test_scene_opts(&g, 0);
    o.fuse = fuse;
    vt_pipeline *p = NULL;
    assert_int_equal(vt_pipeline_new(&o, g.rig, &p), VT_OK);
    vt_eval *e = NULL;
    vt_eval_opts eo = vt_eval_opts_default();
    assert_int_equal(vt_eval_new(&eo, &e), VT_OK);
    run_result r = {0};
    const vt_image *ptrs[64];
    for (int n = 0; n < FRAMES; n++) {
        for (int c = 0; c < g.cams; c++)
            ptrs[c] = vt_test_scene_image(&g, n, c);
        vt_frame_set fs = {.frame = n, .t = n / vt_scenario_fps(g.sc), .images = ptrs};
        vt_pipeline_result res;
        assert_int_equal(vt_pipeline_process(p, &fs, &res), VT_OK);
        assert_true(fuse == (res.fusion != NULL));
        for (size_t i = 0; res.fusion && i < res.ndetections; i++) {
            r.confirmed_looks += res.fusion[i].verdict == VT_FUSION_CONFIRMED;
            r.contradicted += res.fusion[i].verdict == VT_FUSION_CONTRADICTED;
        }
        r.dropped += res.dropped;
        if (n >= FROM)
            eval_frame(e, &res);
    }
    assert_int_equal(vt_eval_result_get(e, &r.ev), VT_OK);
    print_message("fusion %d: detection %.4f fp %lld false %.4f mota %.4f dropped %zu\n", fuse,
                  r.ev.detection_rate, (long long)r.ev.fp, r.ev.false_rate, r.ev.mota, r.dropped);
    vt_eval_free(e);
    vt_pipeline_free(p);
    return r;
}

/* Fusion takes the glints' tracks out and leaves the drones' as they were. */
static void fusion_drops_the_glints_and_keeps_the_drones(void **state)
{
    (void)state;
    run_result off = run(false), on = run(true);
    assert_true(off.ev.fp >= 100); /* the scene has glint tracks to remove */
    assert_true(on.ev.fp * 3 <= off.ev.fp);
    assert_true(on.dropped >= 100);
    assert_true(on.contradicted >= on.dropped);
    assert_true(on.ev.detection_rate >= off.ev.detection_rate - 0.02);
    assert_true(on.ev.detection_rate >= 0.85);
    assert_true(on.ev.mota >= 0.6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fusion_drops_the_glints_and_keeps_the_drones),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
