/*
 * tests/test_eval_reference.c - scoring tracks against one target's
 * reference track (t,x,y,z) instead of a truth.jsonl: the reference is
 * interpolated at each frame set's time, frame sets without tracks are
 * misses (before the first track too), frames off the reference (before
 * it, after it, in a gap) are not scored, and bad input is named.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/voxtrack.h"

#define VT_TEST_NAME "test_eval_reference"
#include "vt_test_tmp.h"

/* Where the target is at time t: 10 m/s along x, 50 m up. */
static vt_vec3 target_at(double t)
{
    return vt_v3(10.0 * t, 5.0, 50.0);
}

/* A reference sampled every 0.1 s over [t0, t1], leaving out (gap0, gap1). */
static vt_reftrack *reference(double t0, double t1, double gap0, double gap1)
{
    double t[256];
    vt_vec3 p[256];
    size_t n = 0;
    for (int i = 0; t0 + 0.1 * i <= t1 + 1e-9 && n < 256; i++) {
        double ti = t0 + 0.1 * i;
        if (ti > gap0 + 1e-9 && ti < gap1 - 1e-9)
            continue;
        t[n] = ti;
        p[n++] = target_at(ti);
    }
    vt_reftrack *r = NULL;
    assert_int_equal(vt_reftrack_new(t, p, NULL, n, &r), VT_OK);
    return r;
}

/*
 * tracks.jsonl with one confirmed track on the target, offset by `off` m in
 * x, in frames k0..k1 at t = k / fps + phase.
 */
static const char *write_tracks(const char *name, int k0, int k1, double fps, double phase,
                                double off)
{
    const char *path = vt_test_tmp_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int k = k0; k <= k1; k++) {
        double t = k / fps + phase;
        vt_vec3 p = target_at(t);
        fprintf(f,
                "{\"t\": %.9f, \"frame\": %d, \"id\": 7, \"status\": \"confirmed\", "
                "\"class\": \"drone\", \"pos\": [%.9f, %.9f, %.9f]}\n",
                t, k, p.x + off, p.y, p.z);
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

static vt_eval_result score(const char *tracks, const vt_reftrack *ref, const vt_eval_ref_opts *o)
{
    vt_eval *e;
    assert_int_equal(vt_eval_new(NULL, &e), VT_OK);
    vt_status s = vt_eval_read_reference(e, tracks, ref, o);
    if (s)
        print_error("%s\n", vt_last_error());
    assert_int_equal(s, VT_OK);
    vt_eval_result r;
    assert_int_equal(vt_eval_result_get(e, &r), VT_OK);
    vt_eval_free(e);
    return r;
}

static void test_every_frame_set_on_the_reference_is_scored(void **state)
{
    (void)state;
    vt_reftrack *ref = reference(0.0, 10.0, 1e9, 1e9);
    vt_eval_ref_opts o = vt_eval_ref_opts_default();
    o.fps = 10.0;
    /*
     * Frame sets at k / 10 + 0.004 s: frames 0..100 are scored (100 is 4 ms
     * past the reference's end, less than half a period: extrapolated); the
     * track is there in 5..94, 0.3 m off.
     */
    const char *tracks = write_tracks("tracks.jsonl", 5, 94, 10.0, 0.004, 0.3);
    vt_eval_result r = score(tracks, ref, &o);
    assert_int_equal(r.frames, 101);
    assert_int_equal(r.gt, 101);
    assert_int_equal(r.tp, 90);
    assert_int_equal(r.fn, 11);
    assert_int_equal(r.fp, 0);
    assert_int_equal(r.idsw, 0);
    assert_true(fabs(r.rmse - 0.3) < 1e-6);
    /*
     * At k / 10 + 0.06 s frame 100 is 60 ms past the end, more than half a
     * period: not scored; frame -1 is 40 ms before the start: scored.
     */
    r = score(write_tracks("late.jsonl", 5, 94, 10.0, 0.06, 0.3), ref, &o);
    assert_int_equal(r.frames, 101);
    assert_int_equal(r.fn, 11);
    o.first = 0;
    r = score(write_tracks("late.jsonl", 5, 94, 10.0, 0.06, 0.3), ref, &o);
    assert_int_equal(r.frames, 100); /* 0..99 */
    o.first = INT64_MIN;
    assert_int_equal(r.tp, 90);
    assert_true(fabs(r.rmse - 0.3) < 1e-6);
    /* Only some frames. */
    o.first = 20;
    o.last = 29;
    r = score(tracks, ref, &o);
    assert_int_equal(r.frames, 10);
    assert_int_equal(r.tp, 10);
    /* No track at all: every frame set a miss, at k / fps. */
    const char *none = write_tracks("none.jsonl", 1, 0, 10.0, 0.0, 0.0);
    o = vt_eval_ref_opts_default();
    o.fps = 10.0;
    r = score(none, ref, &o);
    assert_int_equal(r.frames, 101);
    assert_int_equal(r.fn, 101);
    vt_reftrack_free(ref);
}

static void test_frames_off_the_reference_are_not_scored(void **state)
{
    (void)state;
    /* The reference covers 1..4 s and 6..9 s; the track is on the target from 0 to 10 s. */
    vt_reftrack *ref = reference(1.0, 9.0, 4.0, 6.0);
    const char *tracks = write_tracks("tracks.jsonl", 0, 300, 30.0, 0.0, 0.0);
    vt_eval_ref_opts o = vt_eval_ref_opts_default();
    o.fps = 30.0;
    vt_eval_result r = score(tracks, ref, &o);
    /* Frames 30..120 and 180..270: the 2 s gap is longer than max_gap (1 s). */
    assert_int_equal(r.frames, 91 + 91);
    assert_int_equal(r.tp, r.frames);
    assert_int_equal(r.fp, 0);
    assert_true(r.rmse < 1e-6);
    /* Bridged: the straight flight interpolates across the gap. */
    o.max_gap = 0.0;
    r = score(tracks, ref, &o);
    assert_int_equal(r.frames, 241);
    assert_int_equal(r.tp, 241);
    assert_true(r.rmse < 1e-6);
    vt_reftrack_free(ref);
}

static void test_bad_input_is_named(void **state)
{
    (void)state;
    vt_reftrack *ref = reference(0.0, 2.0, 1e9, 1e9);
    vt_eval *e;
    assert_int_equal(vt_eval_new(NULL, &e), VT_OK);
    const char *path = vt_test_tmp_path("no_t.jsonl");
    FILE *f = fopen(path, "w");
    fputs("{\"t\": 0.5, \"frame\": 15, \"id\": 1, \"status\": \"confirmed\", \"pos\": [5, 5, 50]}\n"
          "{\"frame\": 16, \"id\": 1, \"status\": \"confirmed\", \"pos\": [5, 5, 50]}\n",
          f);
    fclose(f);
    assert_int_equal(vt_eval_read_reference(e, path, ref, NULL), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "no_t.jsonl:2: missing field 't'"));
    f = fopen(path, "w");
    fputs(
        "{\"t\": \"x\", \"frame\": 15, \"id\": 1, \"status\": \"confirmed\", \"pos\": [1, 1, 1]}\n",
        f);
    fclose(f);
    vt_eval_free(e);
    assert_int_equal(vt_eval_new(NULL, &e), VT_OK);
    assert_int_equal(vt_eval_read_reference(e, path, ref, NULL), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "no_t.jsonl:1: field 't' must be a number"));
    assert_int_equal(vt_eval_read_reference(e, vt_test_tmp_path("nowhere.jsonl"), ref, NULL),
                     VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "nowhere.jsonl: cannot open"));
    vt_eval_ref_opts o = vt_eval_ref_opts_default();
    o.fps = 0.0;
    assert_int_equal(vt_eval_read_reference(e, path, ref, &o), VT_EINVAL);
    assert_int_equal(vt_eval_read_reference(e, path, NULL, NULL), VT_EINVAL);
    assert_int_equal(vt_eval_read_reference(NULL, path, ref, NULL), VT_EINVAL);
    vt_eval_free(e);
    vt_reftrack_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_frame_set_on_the_reference_is_scored),
        cmocka_unit_test(test_frames_off_the_reference_are_not_scored),
        cmocka_unit_test(test_bad_input_is_named),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
