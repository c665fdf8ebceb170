/*
 * tests/test_config.c - the run configuration's reader (src/pipeline/config.c)
 * on core/json_read.h: its rules (integers, bounds, unknown keys listing the
 * allowed ones), the tracker's bounds shared with vt_tracker_new(), and the
 * tables' defaults against the options' own defaults (docs/RUN.md's tables:
 * tests/test_doc_fields.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define VT_TEST_NAME "test_config"
#include "detect/fusion_opts.h"
#include "pipeline/config_fields.h"
#include "track/tracker_opts.h"
#include "voxtrack/fusion.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/track.h"
#include "vt_test_tmp.h"

#define VOLUME "\"volume\": {\"min\": [0, 0, 0], \"max\": [1, 1, 1]}"

/* Loads {"rig": "r.json", VOLUME, EXTRA} from a file named cfg.json. */
static vt_status load(const char *extra, vt_run_config *cfg)
{
    const char *path = vt_test_tmp_path("cfg.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"rig\": \"r.json\", " VOLUME "%s%s}", extra[0] ? ", " : "", extra);
    fclose(f);
    return vt_run_config_load(path, cfg);
}

/* The configuration with EXTRA is refused with a message that ends with `tail`. */
static void assert_refused(const char *extra, const char *tail)
{
    vt_run_config cfg;
    vt_status s = load(extra, &cfg);
    const char *m = vt_last_error();
    size_t n = strlen(m), k = strlen(tail);
    if (s != VT_EPARSE || n < k || strcmp(m + n - k, tail) != 0)
        fail_msg("%s:\n  got      %s (%s)\n  expected ...%s", extra, m, vt_status_name(s), tail);
    if (!strstr(m, "cfg.json: "))
        fail_msg("the message does not name the file: %s", m);
}

static void integers_may_be_written_with_a_zero_fraction(void **state)
{
    (void)state;
    vt_run_config cfg;
    assert_int_equal(load("\"frames\": 7.0, \"pipeline\": {\"tracker\": {\"mht_k\": 12.0}}", &cfg),
                     VT_OK);
    assert_int_equal(cfg.max_frames, 7);
    assert_int_equal(cfg.opts.tracker.mht_k, 12);
    vt_run_config_free(&cfg);
    assert_refused("\"pipeline\": {\"tracker\": {\"mht_k\": 12.5}}",
                   "field 'pipeline.tracker.mht_k' must be an integer (got 12.5)");
    assert_refused("\"frames\": -1", "field 'frames' must be >= 0 (got -1)");
}

static void values_outside_their_bounds_say_both(void **state)
{
    (void)state;
    assert_refused("\"pipeline\": {\"tracker\": {\"gate_prob\": 1}}",
                   "field 'pipeline.tracker.gate_prob' must be in [0.5, 0.999999] (got 1)");
    assert_refused("\"pipeline\": {\"background\": {\"thermal\": {\"polarity\": 2}}}",
                   "field 'pipeline.background.thermal.polarity' must be in [-1, 1] (got 2)");
    assert_refused("\"pipeline\": {\"tracker\": {\"confirm_m\": 5}}",
                   "field 'pipeline.tracker.confirm_m' must be <= confirm_n");
    assert_refused("\"pipeline\": {\"tracker\": {\"kind\": \"best\"}}",
                   "field 'pipeline.tracker.kind' must be \"gnn\" or \"mht\" (got \"best\")");
    assert_refused("\"pipeline\": {\"rays\": 1}",
                   "field 'pipeline.rays' must be \"blobs\" or \"pixels\"");
}

static void unknown_keys_list_the_allowed_ones(void **state)
{
    (void)state;
    assert_refused("\"pipeline\": {\"vote\": {\"coarse_voxl\": 3}}",
                   "unknown field 'pipeline.vote.coarse_voxl' (allowed: coarse_voxel, fine_voxel, "
                   "pixel_angle, lod_pixels, min_cameras)");
    assert_refused("\"pipeline\": {\"background\": {\"ir\": {}}}",
                   "unknown field 'pipeline.background.ir' (allowed: mono, thermal)");
}

static void every_documented_fusion_field_is_read(void **state)
{
    (void)state;
    vt_run_config cfg;
    assert_int_equal(
        load("\"pipeline\": {\"fusion\": {\"enabled\": false, \"bird_ratio\": 0.25}}", &cfg),
        VT_OK);
    assert_false(cfg.opts.fuse);
    assert_true(cfg.opts.fusion.bird_ratio == 0.25);
    vt_run_config_free(&cfg);
}

/* vt_tracker_new() refuses what the configuration refuses, by the same table. */
static void the_tracker_checks_the_same_bounds(void **state)
{
    (void)state;
    const vt__jfield *gate = vt__json_field(vt__tracker_fields, "gate_prob");
    const vt__jfield *accel = vt__json_field(vt__tracker_fields, "process_accel");
    assert_non_null(gate);
    assert_non_null(accel);
    vt_tracker *t = NULL;
    vt_tracker_opts o = vt_tracker_opts_default();
    o.gate_prob = gate->hi;
    assert_int_equal(vt_tracker_new(&o, &t), VT_OK);
    vt_tracker_free(t);
    o.gate_prob = gate->hi * 1.0000001;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "vt_tracker_new: field 'gate_prob' must be in"));
    o = vt_tracker_opts_default();
    o.process_accel = accel->lo / 2;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'process_accel'"));
    assert_null(t);
}

/* vt_fusion_opts_check() refuses what the configuration refuses, by the fusion's table. */
static void fusion_checks_the_same_bounds(void **state)
{
    (void)state;
    assert_refused("\"pipeline\": {\"fusion\": {\"observe_snr\": 0}}",
                   "field 'pipeline.fusion.observe_snr' must be in (0, 1e+06] (got 0)");
    vt_fusion_opts o = vt_fusion_opts_default();
    assert_int_equal(vt_fusion_opts_check(&o), VT_OK);
    o.observe_snr = 0;
    assert_int_equal(vt_fusion_opts_check(&o), VT_EINVAL);
    assert_string_equal(vt_last_error(),
                        "fusion: field 'observe_snr' must be in (0, 1e+06] (got 0)");
}

static void the_tables_defaults_are_the_options_defaults(void **state)
{
    (void)state;
    vt_pipeline_opts p = vt_pipeline_opts_default();
    vt_tracker_opts t = vt_tracker_opts_default();
    vt_run_config cfg = {0};
    const vt__jfield *f;
    assert_null(f = vt__json_check_defaults(vt__config_pipeline_fields, &p));
    assert_null(f = vt__json_check_defaults(vt__config_background_fields, &p.mono));
    assert_null(f = vt__json_check_defaults(vt__config_vote_fields, &p.vote));
    assert_null(f = vt__json_check_defaults(vt__config_detect_fields, &p.detect));
    assert_null(f = vt__json_check_defaults(vt__config_fusion_enabled_fields, &p));
    assert_null(f = vt__json_check_defaults(vt__fusion_fields, &p.fusion));
    assert_null(f = vt__json_check_defaults(vt__tracker_fields, &t));
    assert_null(f = vt__json_check_defaults(vt__config_fields, &cfg));
    /* The thermal defaults that differ are documented as "mono / thermal". */
    assert_true(p.thermal.min_threshold == 20.0f && p.thermal.polarity == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_may_be_written_with_a_zero_fraction),
        cmocka_unit_test(values_outside_their_bounds_say_both),
        cmocka_unit_test(unknown_keys_list_the_allowed_ones),
        cmocka_unit_test(every_documented_fusion_field_is_read),
        cmocka_unit_test(the_tracker_checks_the_same_bounds),
        cmocka_unit_test(fusion_checks_the_same_bounds),
        cmocka_unit_test(the_tables_defaults_are_the_options_defaults),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
