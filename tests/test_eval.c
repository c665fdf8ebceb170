/*
 * tests/test_eval.c - tracking evaluation on small hand-made cases whose
 * figures can be worked out on paper: perfect tracks, a constant offset, a
 * track out of reach, an ID swap between two targets that pass each other,
 * a gap, kept matches, GOSPA, birds and glints, empty inputs, refused
 * frames, the file reader (with the file and line in every error) and the
 * plots. Files go to $VT_TEST_TMP (or /tmp).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "voxtrack/eval.h"
#include "voxtrack/image.h"
#include "vt_test.h"

static char tmpdir[512];

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static vt_eval_truth drone(int id, double x, double y, double z)
{
    vt_eval_truth t = {.id = id, .kind = VT_EVAL_DRONE, .pos = {x, y, z}};
    return t;
}

static vt_eval_truth bird(int id, double x, double y, double z)
{
    vt_eval_truth t = {.id = id, .kind = VT_EVAL_BIRD, .pos = {x, y, z}};
    return t;
}

/* A confirmed drone-class track. */
static vt_eval_track track(uint64_t id, double x, double y, double z)
{
    vt_eval_track k = {id, 1, VT_EVAL_CLASS_DRONE, {x, y, z}};
    return k;
}

static vt_eval *evaluator(double match_dist)
{
    vt_eval_opts o = vt_eval_opts_default();
    o.match_dist = match_dist;
    vt_eval *e = NULL;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    assert_non_null(e);
    return e;
}

static void frame(vt_eval *e, int64_t f, const vt_eval_truth *t, size_t nt, const vt_eval_track *k,
                  size_t nk)
{
    vt_status s = vt_eval_frame(e, f, t, nt, k, nk);
    if (s != VT_OK)
        print_error("vt_eval_frame: %s\n", vt_last_error());
    assert_int_equal(s, VT_OK);
}

static vt_eval_result result(const vt_eval *e)
{
    vt_eval_result r;
    assert_int_equal(vt_eval_result_get(e, &r), VT_OK);
    return r;
}

/* ------------------------------------------------------------------------ */
/* CLEAR MOT, identity and error figures                                     */

static void perfect_tracks_score_one(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 10; f++) {
        vt_eval_truth t[] = {drone(1, f, 0, 50), drone(2, -f, 30, 60)};
        vt_eval_track k[] = {track(101, f, 0, 50), track(102, -f, 30, 60)};
        frame(e, f, t, 2, k, 2);
    }
    vt_eval_result r = result(e);
    assert_int_equal(r.frames, 10);
    assert_int_equal(r.gt, 20);
    assert_int_equal(r.tp, 20);
    assert_int_equal(r.fn + r.fp + r.idsw + r.frag, 0);
    assert_near(r.mota, 1.0, 0);
    assert_near(r.idf1, 1.0, 0);
    assert_near(r.rmse, 0.0, 0);
    assert_near(r.motp, 0.0, 0);
    assert_near(r.detection_rate, 1.0, 0);
    assert_near(r.false_rate, 0.0, 0);
    assert_near(r.gospa, 0.0, 0);
    assert_int_equal(r.truth_objects, 2);
    assert_int_equal(r.tracks_confirmed, 2);
    assert_int_equal(r.mostly_tracked, 2);
    assert_int_equal(r.mostly_lost, 0);
    vt_eval_free(e);
}

static void constant_offset_gives_rmse_and_motp(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 5; f++) {
        vt_eval_truth t[] = {drone(1, f, 0, 50)};
        vt_eval_track k[] = {track(7, f + 0.3, 0.4, 50)}; /* 0.5 m away */
        frame(e, f, t, 1, k, 1);
    }
    vt_eval_result r = result(e);
    assert_near(r.rmse, 0.5, 1e-12);
    assert_near(r.motp, 0.5, 1e-12);
    assert_near(r.mota, 1.0, 0);
    assert_near(r.gospa, 0.5, 1e-12);
    assert_near(r.gospa_loc, 0.5, 1e-12);
    vt_eval_free(e);
}

static void track_out_of_reach_is_a_miss_and_a_false_positive(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_truth t[] = {drone(1, 0, 0, 50)};
    vt_eval_track k[] = {track(7, 3, 0, 50)};
    frame(e, 0, t, 1, k, 1);
    vt_eval_result r = result(e);
    assert_int_equal(r.tp, 0);
    assert_int_equal(r.fn, 1);
    assert_int_equal(r.fp, 1);
    assert_near(r.mota, -1.0, 0);
    assert_true(isnan(r.motp));
    assert_near(r.false_rate, 1.0, 0);
    /* d = 3 >= c = 2: one missed (c/2) plus one false (c/2). */
    assert_near(r.gospa, 2.0, 1e-12);
    assert_near(r.gospa_missed, 1.0, 1e-12);
    assert_near(r.gospa_false, 1.0, 1e-12);
    vt_eval_free(e);
}

/*
 * Two targets pass each other 3 m apart; the tracker swaps their tracks
 * after 5 of 10 frames. Each truth switches once. Every truth-track pair
 * is within reach for 5 frames, so the best identity pairing keeps 10 of
 * the 20 truth frames and 10 of the 20 track frames: IDF1 = 20 / 40.
 */
static void id_swap_between_passing_targets(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 10; f++) {
        vt_eval_truth t[] = {drone(1, -9 + 2 * f, 0, 50), drone(2, 9 - 2 * f, 3, 50)};
        vt_vec3 a = t[0].pos, b = t[1].pos;
        vt_eval_track k[] = {track(11, f < 5 ? a.x : b.x, f < 5 ? a.y : b.y, 50),
                             track(12, f < 5 ? b.x : a.x, f < 5 ? b.y : a.y, 50)};
        frame(e, f, t, 2, k, 2);
    }
    vt_eval_result r = result(e);
    assert_int_equal(r.idsw, 2);
    assert_int_equal(r.frag, 0);
    assert_near(r.mota, 1.0 - 2.0 / 20.0, 1e-12);
    assert_int_equal(r.idtp, 10);
    assert_int_equal(r.idfp, 10);
    assert_int_equal(r.idfn, 10);
    assert_near(r.idf1, 0.5, 1e-12);
    assert_near(r.idp, 0.5, 1e-12);
    assert_near(r.idr, 0.5, 1e-12);
    vt_eval_free(e);
}

/* The identity pairing maximises frames, not pairs: one long pairing beats two short ones. */
static void idf1_prefers_the_longest_pairing(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_truth a = drone(1, 0, 0, 50), b = drone(2, 50, 0, 50);
    vt_eval_track k1 = track(1, 0, 0, 50);
    for (int f = 0; f < 10; f++)
        frame(e, f, &a, 1, &k1, 1);
    vt_eval_truth t[] = {a, b};
    vt_eval_track k[] = {track(2, 0, 0, 50), track(1, 50, 0, 50)};
    frame(e, 10, t, 2, k, 2);
    vt_eval_result r = result(e);
    /* (1,1) 10 frames, (1,2) 1, (2,1) 1: IDTP 10 of 12 truth and 12 track frames. */
    assert_int_equal(r.idtp, 10);
    assert_near(r.idf1, 20.0 / 24.0, 1e-12);
    vt_eval_free(e);
}

static void gap_is_one_fragmentation(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 6; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k = track(5, f, 0, 50);
        frame(e, f, &t, 1, &k, f == 2 || f == 3 ? 0 : 1);
    }
    vt_eval_result r = result(e);
    assert_int_equal(r.frag, 1);
    assert_int_equal(r.idsw, 0);
    assert_int_equal(r.fn, 2);
    assert_near(r.mota, 1.0 - 2.0 / 6.0, 1e-12);
    assert_int_equal(r.partially_tracked, 1); /* 4 of 6 frames */
    vt_eval_free(e);
}

static void new_track_after_a_gap_is_a_switch_and_a_fragmentation(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 5; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k = track(f < 2 ? 5 : 6, f, 0, 50);
        frame(e, f, &t, 1, &k, f == 2 ? 0 : 1);
    }
    vt_eval_result r = result(e);
    assert_int_equal(r.frag, 1);
    assert_int_equal(r.idsw, 1);
    vt_eval_free(e);
}

/* Last frame's match stays while in reach, even when another track comes closer. */
static void matches_are_kept_while_in_reach(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_truth t = drone(1, 0, 0, 50);
    vt_eval_track k0 = track(5, 0.5, 0, 50);
    frame(e, 0, &t, 1, &k0, 1);
    vt_eval_track k1[] = {track(6, 0.1, 0, 50), track(5, 1.0, 0, 50)};
    frame(e, 1, &t, 1, k1, 2);
    vt_eval_track k2[] = {track(6, 0.1, 0, 50), track(5, 2.5, 0, 50)}; /* 5 out of reach */
    frame(e, 2, &t, 1, k2, 2);
    vt_eval_result r = result(e);
    assert_int_equal(r.tp, 3);
    assert_int_equal(r.fp, 2);
    assert_int_equal(r.idsw, 1); /* to track 6 in the last frame only */
    assert_near(r.motp, (0.5 + 1.0 + 0.1) / 3.0, 1e-12);
    vt_eval_free(e);
}

/* The assignment finds the pairing that leaves no one out: greedy would pair 1 with 10. */
static void assignment_maximises_matches(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_truth t[] = {drone(1, 0, 0, 50), drone(2, 1.9, 0, 50)};
    vt_eval_track k[] = {track(10, 0.1, 0, 50), track(11, -1.5, 0, 50)};
    frame(e, 0, t, 2, k, 2);
    vt_eval_result r = result(e);
    assert_int_equal(r.tp, 2);
    assert_int_equal(r.fp, 0);
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* GOSPA                                                                     */

/*
 * Truths at 0 and 10 m, tracks at 0.5, 20 and 30 m. c = 2: one pair at
 * 0.5 m, one missed truth, two false tracks.
 * p = 1: 0.5 + 1 + 2 = 3.5. p = 2: sqrt(0.25 + 2 + 4) = 2.5.
 */
static void gospa_by_hand(void **state)
{
    (void)state;
    vt_eval_truth t[] = {drone(1, 0, 0, 0), drone(2, 10, 0, 0)};
    vt_eval_track k[] = {track(1, 0.5, 0, 0), track(2, 20, 0, 0), track(3, 30, 0, 0)};
    for (int p = 1; p <= 2; p++) {
        vt_eval_opts o = vt_eval_opts_default();
        o.gospa_p = p;
        vt_eval *e = NULL;
        assert_int_equal(vt_eval_new(&o, &e), VT_OK);
        frame(e, 0, t, 2, k, 3);
        vt_eval_result r = result(e);
        assert_near(r.gospa, p == 1 ? 3.5 : 2.5, 1e-12);
        assert_near(r.gospa_loc, p == 1 ? 0.5 : 0.25, 1e-12);
        assert_near(r.gospa_missed, p == 1 ? 1.0 : 2.0, 1e-12);
        assert_near(r.gospa_false, p == 1 ? 2.0 : 4.0, 1e-12);
        vt_eval_free(e);
    }
}

/* GOSPA's own assignment may differ from the matching: it pairs at any distance below c. */
static void gospa_cut_off_apart_from_match_distance(void **state)
{
    (void)state;
    vt_eval_opts o = vt_eval_opts_default();
    o.match_dist = 1.0;
    o.gospa_c = 4.0;
    vt_eval *e = NULL;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    vt_eval_truth t = drone(1, 0, 0, 0);
    vt_eval_track k = track(1, 3, 0, 0);
    frame(e, 0, &t, 1, &k, 1);
    vt_eval_result r = result(e);
    assert_int_equal(r.fn, 1); /* beyond 1 m */
    assert_near(r.gospa, 3.0, 1e-12);
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* Against brute force                                                       */

typedef struct brute {
    int nd, nk;
    double d[5][5];
    double c, p, md;
    /* best found */
    double gospa;     /* the GOSPA sum before the 1/p root */
    int match_pairs;  /* the most pairs within md ... */
    double match_sum; /* ... and their least summed distance */
} brute;

/* Every partial injection of truths into tracks, truth by truth. */
static void brute_walk(brute *b, int i, unsigned used, double g, int pairs)
{
    if (i == b->nd) {
        int free_tracks = b->nk - __builtin_popcount(used);
        double total = g + pow(b->c, b->p) / 2.0 * (b->nd - pairs + free_tracks);
        if (total < b->gospa)
            b->gospa = total;
        return;
    }
    brute_walk(b, i + 1, used, g, pairs);
    for (int j = 0; j < b->nk; j++) {
        if (used & (1u << j))
            continue;
        double d = b->d[i][j];
        if (d < b->c)
            brute_walk(b, i + 1, used | 1u << j, g + pow(d, b->p), pairs + 1);
    }
}

/* The most pairs within md, then the least distance, by enumeration. */
static void brute_match(brute *b, int i, unsigned used, int pairs, double sum)
{
    if (i == b->nd) {
        if (pairs > b->match_pairs || (pairs == b->match_pairs && sum < b->match_sum - 1e-12)) {
            b->match_pairs = pairs;
            b->match_sum = sum;
        }
        return;
    }
    brute_match(b, i + 1, used, pairs, sum);
    for (int j = 0; j < b->nk; j++)
        if (!(used & (1u << j)) && b->d[i][j] <= b->md)
            brute_match(b, i + 1, used | 1u << j, pairs + 1, sum + b->d[i][j]);
}

/* Crowded random frames (up to 5 x 5 in a 6 m box): matching and GOSPA equal enumeration. */
static void random_frames_agree_with_brute_force(void **state)
{
    (void)state;
    vt_test_seed(20240611);
    for (int trial = 0; trial < 300; trial++) {
        brute b = {.nd = (int)vt_test_uniform(0, 5.999),
                   .nk = (int)vt_test_uniform(0, 5.999),
                   .c = trial % 3 == 0 ? 3.0 : 2.0,
                   .p = trial % 2 ? 2.0 : 1.0,
                   .md = 2.0};
        vt_eval_truth t[5];
        vt_eval_track k[5];
        for (int i = 0; i < b.nd; i++)
            t[i] = drone(i, vt_test_uniform(0, 6), vt_test_uniform(0, 6), vt_test_uniform(0, 2));
        for (int j = 0; j < b.nk; j++)
            k[j] = track((uint64_t)j, vt_test_uniform(0, 6), vt_test_uniform(0, 6),
                         vt_test_uniform(0, 2));
        for (int i = 0; i < b.nd; i++)
            for (int j = 0; j < b.nk; j++)
                b.d[i][j] = vt_v3_norm(vt_v3_sub(t[i].pos, k[j].pos));
        b.gospa = INFINITY;
        b.match_pairs = -1;
        brute_walk(&b, 0, 0, 0.0, 0);
        brute_match(&b, 0, 0, 0, 0.0);

        vt_eval_opts o = vt_eval_opts_default();
        o.gospa_c = b.c;
        o.gospa_p = b.p;
        vt_eval *e = NULL;
        assert_int_equal(vt_eval_new(&o, &e), VT_OK);
        frame(e, 0, t, (size_t)b.nd, k, (size_t)b.nk);
        vt_eval_result r = result(e);
        assert_int_equal(r.tp, b.match_pairs);
        if (r.tp > 0)
            assert_near(r.motp * (double)r.tp, b.match_sum, 1e-9);
        assert_near(r.gospa, pow(b.gospa, 1.0 / b.p), 1e-9);
        vt_eval_free(e);
    }
}

/* ------------------------------------------------------------------------ */
/* Birds, glints, tentative tracks                                           */

static void birds_and_glints(void **state)
{
    (void)state;
    vt_eval_truth t[] = {drone(1, 0, 0, 50),
                         bird(2, 20, 0, 50),
                         bird(3, 40, 0, 50),
                         {.id = 4, .kind = VT_EVAL_GLINT, .pos = {60, 0, 50}}};
    vt_eval_track k[] = {
        track(11, 0.2, 0, 50),                      /* on the drone */
        track(12, 20.5, 0, 50),                     /* a bird reported as a drone */
        {13, 1, VT_EVAL_CLASS_BIRD, {40, 0, 50}},   /* a bird reported as a bird */
        {14, 2, VT_EVAL_CLASS_BIRD, {0, 0, 50}},    /* the drone taken for a bird */
        track(15, 60, 0, 50),                       /* on a glint */
        {16, 0, VT_EVAL_CLASS_DRONE, {100, 0, 50}}, /* tentative */
    };
    vt_eval *e = evaluator(2.0);
    frame(e, 0, t, 4, k, 6);
    vt_eval_result r = result(e);
    assert_int_equal(r.gt, 1);
    assert_int_equal(r.tp, 1);
    assert_int_equal(r.fp, 2);
    assert_int_equal(r.bird_as_drone, 1);
    assert_int_equal(r.bird_tracks, 2);
    assert_int_equal(r.tracks_confirmed, 3);
    vt_eval_free(e);

    vt_eval_opts o = vt_eval_opts_default();
    o.only_confirmed = false;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    frame(e, 0, t, 4, k, 6);
    r = result(e);
    assert_int_equal(r.fp, 3);
    assert_int_equal(r.tracks_confirmed, 4);
    vt_eval_free(e);
}

/* Two drone-class tracks on one bird: the nearer one counts as bird_as_drone, both as fp. */
static void one_bird_claims_one_track(void **state)
{
    (void)state;
    vt_eval_truth t = bird(2, 0, 0, 50);
    vt_eval_track k[] = {track(1, 1.5, 0, 50), track(2, 0.5, 0, 50)};
    vt_eval *e = evaluator(2.0);
    frame(e, 0, &t, 1, k, 2);
    vt_eval_result r = result(e);
    assert_int_equal(r.fp, 2);
    assert_int_equal(r.bird_as_drone, 1);
    assert_int_equal(r.gt, 0);
    assert_true(isnan(r.mota));
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* Empty and bad input                                                       */

static void empty_inputs(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_result r = result(e);
    assert_int_equal(r.frames, 0);
    assert_true(isnan(r.mota) && isnan(r.idf1) && isnan(r.gospa) && isnan(r.rmse));
    frame(e, 0, NULL, 0, NULL, 0);
    r = result(e);
    assert_int_equal(r.frames, 1);
    assert_near(r.gospa, 0.0, 0);
    assert_true(isnan(r.mota));
    vt_eval_track k = track(1, 0, 0, 0);
    frame(e, 1, NULL, 0, &k, 1);
    r = result(e);
    assert_int_equal(r.fp, 1);
    assert_near(r.false_rate, 1.0, 0);
    assert_near(r.idf1, 0.0, 0);
    vt_eval_free(e);
    vt_eval_free(NULL);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    vt_eval *e = (vt_eval *)&e;
    vt_eval_opts o = vt_eval_opts_default();
    o.match_dist = 0;
    assert_int_equal(vt_eval_new(&o, &e), VT_EINVAL);
    assert_null(e);
    assert_non_null(strstr(vt_last_error(), "match_dist"));
    o = vt_eval_opts_default();
    o.gospa_p = 0.5;
    assert_int_equal(vt_eval_new(&o, &e), VT_EINVAL);
    o.gospa_p = NAN;
    assert_int_equal(vt_eval_new(&o, &e), VT_EINVAL);
    assert_int_equal(vt_eval_new(NULL, NULL), VT_EINVAL);
}

static void refused_frames_change_nothing(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    vt_eval_truth t = drone(1, 0, 0, 0);
    vt_eval_track k = track(1, 0, 0, 0);
    frame(e, 5, &t, 1, &k, 1);

    assert_int_equal(vt_eval_frame(e, 5, &t, 1, &k, 1), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "frames must increase"));
    vt_eval_track twice[] = {track(9, 0, 0, 0), track(9, 1, 0, 0)};
    assert_int_equal(vt_eval_frame(e, 6, &t, 1, twice, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "track id 9 appears twice"));
    vt_eval_truth tt[] = {drone(3, 0, 0, 0), drone(3, 5, 0, 0)};
    assert_int_equal(vt_eval_frame(e, 6, tt, 2, &k, 1), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "truth id 3 appears twice"));
    vt_eval_truth nan_pos = drone(1, NAN, 0, 0);
    assert_int_equal(vt_eval_frame(e, 6, &nan_pos, 1, &k, 1), VT_EINVAL);
    vt_eval_track bad_status = {1, 7, 0, {0, 0, 0}};
    assert_int_equal(vt_eval_frame(e, 6, &t, 1, &bad_status, 1), VT_EINVAL);
    vt_eval_truth bad_kind = {.id = 1, .kind = 9, .pos = {0, 0, 0}};
    assert_int_equal(vt_eval_frame(e, 6, &bad_kind, 1, &k, 1), VT_EINVAL);
    assert_int_equal(vt_eval_frame(e, 6, NULL, 1, &k, 1), VT_EINVAL);
    assert_int_equal(vt_eval_frame(NULL, 6, &t, 1, &k, 1), VT_EINVAL);

    /* The refused frames left no trace: the same figures as one good frame, then a second. */
    vt_eval_result r = result(e);
    assert_int_equal(r.frames, 1);
    assert_int_equal(r.truth_objects, 1);
    assert_int_equal(r.tracks_confirmed, 1);
    frame(e, 6, &t, 1, &k, 1);
    r = result(e);
    assert_int_equal(r.frames, 2);
    assert_int_equal(r.tp, 2);
    assert_int_equal(r.idsw + r.frag + r.fp, 0);
    assert_int_equal(r.mostly_tracked, 1);
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("VT_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
    if (system(cmd) != 0)
        return -1;
    snprintf(tmpdir, sizeof tmpdir, "%s/test_eval-XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The path of `name` in the scratch folder; two are valid at a time. */
static const char *tmp_path(const char *name)
{
    static char path[2][1024];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", tmpdir, name);
    return path[which];
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static const char *TRUTH =
    "{\"t\": 0.0, \"frame\": 0, \"id\": 1, \"kind\": \"drone\", \"pos\": [0, 0, 50], "
    "\"vel\": [1, 0, 0], \"size\": 0.5}\n"
    "{\"t\": 0.0, \"frame\": 0, \"id\": 2, \"kind\": \"bird\", \"pos\": [20, 0, 50]}\n"
    "\n"
    "{\"t\": 0.1, \"frame\": 1, \"id\": 1, \"kind\": \"drone\", \"pos\": [1, 0, 50]}\n"
    "{\"t\": 0.2, \"frame\": 2, \"id\": 1, \"pos\": [2, 0, 50]}\n";

static const char *TRACKS =
    "{\"t\": 0.0, \"frame\": 0, \"id\": 7, \"status\": \"confirmed\", \"pos\": [0.3, 0.4, 50], "
    "\"vel\": [1, 0, 0], \"cov\": [1, 0, 0, 1, 0, 1], \"cams\": 4}\n"
    "{\"t\": 0.0, \"frame\": 0, \"id\": 8, \"status\": \"coasting\", \"pos\": [20, 0, 50], "
    "\"class\": \"bird\"}\n"
    "{\"t\": 0.1, \"frame\": 1, \"id\": 7, \"status\": \"coasting\", \"pos\": [1.3, 0.4, 50]}\n"
    "{\"t\": 0.1, \"frame\": 1, \"id\": 9, \"status\": \"tentative\", \"pos\": [9, 9, 9]}\n"
    "{\"t\": 0.3, \"frame\": 3, \"id\": 7, \"status\": \"confirmed\", \"pos\": [3, 0, 50]}\n";

static void files_give_the_same_figures_as_memory(void **state)
{
    (void)state;
    const char *tracks = tmp_path("tracks.jsonl"), *truth = tmp_path("truth.jsonl");
    write_text(tracks, TRACKS);
    write_text(truth, TRUTH);
    vt_eval *e = evaluator(2.0);
    vt_status s = vt_eval_read_files(e, tracks, truth);
    if (s != VT_OK)
        print_error("%s\n", vt_last_error());
    assert_int_equal(s, VT_OK);
    vt_eval_result r = result(e);
    /* Frames 0..3; frame 2 has only truth (a miss), frame 3 only a track (false). */
    assert_int_equal(r.frames, 4);
    assert_int_equal(r.gt, 3);
    assert_int_equal(r.tp, 2);
    assert_int_equal(r.fn, 1);
    assert_int_equal(r.fp, 1);
    assert_int_equal(r.bird_tracks, 1);
    assert_near(r.rmse, 0.5, 1e-12);
    vt_eval_free(e);
}

/* Reads `text` as the truth file (tracks empty) and checks the status and message. */
static void expect_truth_error(const char *text, vt_status want, const char *message)
{
    const char *tracks = tmp_path("empty.jsonl"), *truth = tmp_path("bad_truth.jsonl");
    write_text(tracks, "");
    write_text(truth, text);
    vt_eval *e = evaluator(2.0);
    vt_status s = vt_eval_read_files(e, tracks, truth);
    if (s != want || !strstr(vt_last_error(), message))
        print_error("got %d '%s', want %d '%s'\n", s, vt_last_error(), want, message);
    assert_int_equal(s, want);
    assert_non_null(strstr(vt_last_error(), message));
    vt_eval_free(e);
}

static void file_errors_name_file_and_line(void **state)
{
    (void)state;
    const char *ok = "{\"frame\": 0, \"id\": 1, \"pos\": [0, 0, 0]}\n";
    const char *ok1 = "{\"frame\": 1, \"id\": 1, \"pos\": [0, 0, 0]}\n";
    char text[512];
    snprintf(text, sizeof text, "%s%s{\"frame\": 2, \"id\": 1, \"pos\": [0, 0,\n", ok, ok1);
    expect_truth_error(text, VT_EPARSE, "bad_truth.jsonl:3: malformed JSON");
    snprintf(text, sizeof text, "%s{\"frame\": 1, \"id\": 1}\n", ok);
    expect_truth_error(text, VT_EPARSE, "bad_truth.jsonl:2: missing field 'pos'");
    snprintf(text, sizeof text, "%s{\"frame\": 1, \"id\": \"one\", \"pos\": [0, 0, 0]}\n", ok);
    expect_truth_error(text, VT_EPARSE, "bad_truth.jsonl:2: field 'id' must be an integer");
    expect_truth_error("{\"frame\": 1, \"id\": 1, \"pos\": [0, 0]}\n", VT_EPARSE,
                       ":1: field 'pos' must be an array of 3 numbers");
    expect_truth_error("{\"frame\": 1, \"id\": 1, \"kind\": \"cat\", \"pos\": [0, 0, 0]}\n",
                       VT_EPARSE, ":1: field 'kind' must be");
    expect_truth_error("[1, 2]\n", VT_EPARSE, ":1: not a JSON object");
    snprintf(text, sizeof text, "\n{\"frame\": 5, \"id\": 1, \"pos\": [0, 0, 0]}\n%s", ok);
    expect_truth_error(text, VT_EPARSE, ":3: frame 0 after frame 5");
    snprintf(text, sizeof text, "%s%s", ok, ok);
    expect_truth_error(text, VT_EINVAL, "truth id 1 appears twice");

    char truth[1024], tracks[1024];
    snprintf(truth, sizeof truth, "%s", tmp_path("truth.jsonl"));
    snprintf(tracks, sizeof tracks, "%s", tmp_path("bad_tracks.jsonl"));
    write_text(truth, "");
    write_text(tracks, "{\"frame\": 0, \"id\": 1, \"status\": \"lost\", \"pos\": [0, 0, 0]}\n");
    vt_eval *e = evaluator(2.0);
    assert_int_equal(vt_eval_read_files(e, tracks, truth), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "bad_tracks.jsonl:1: field 'status'"));
    assert_int_equal(vt_eval_read_files(e, tmp_path("missing.jsonl"), truth), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "missing.jsonl"));
    assert_int_equal(vt_eval_read_files(e, truth, tmp_path("missing2.jsonl")), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "missing2.jsonl"));
    vt_eval_free(e);
}

static void plots_are_written(void **state)
{
    (void)state;
    vt_eval_opts o = vt_eval_opts_default();
    vt_eval *e = NULL;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    vt_eval_truth t = drone(1, 0, 0, 50);
    frame(e, 0, &t, 1, NULL, 0);
    assert_int_equal(vt_eval_plot(e, tmp_path("none"), 0, NULL, NULL), VT_EINVAL);
    vt_eval_free(e);

    o.record_paths = true;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    for (int f = 0; f < 20; f++) {
        vt_eval_truth tt[] = {drone(1, f, 0.5 * f, 50 + 0.1 * f), bird(2, -f, 10, 40)};
        vt_eval_track k = track(3, f + 0.2, 0.5 * f, 50);
        frame(e, f, tt, 2, &k, 1);
    }
    vt_vec3 lo, hi;
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s", tmp_path("plot"));
    assert_int_equal(vt_eval_plot(e, prefix, 200, &lo, &hi), VT_OK);
    assert_true(lo.x <= -19 && hi.x >= 19.2 && lo.y <= 0 && hi.y >= 10);
    const char *names[] = {"plot_top.png", "plot_side.png"};
    for (int i = 0; i < 2; i++) {
        vt_image img = {0};
        assert_int_equal(vt_image_load(tmp_path(names[i]), VT_IMAGE_LOAD_8BIT, &img), VT_OK);
        assert_int_equal(img.width, 200 + 2 * 48);
        assert_int_equal(img.height, 200 + 2 * 48);
        size_t dark = 0;
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < img.width; x++)
                dark += vt_image_row8(&img, y)[x] < 200;
        assert_true(dark > 500); /* the box, labels and paths */
        vt_image_free(&img);
    }
    assert_int_equal(vt_eval_plot(e, prefix, 10, NULL, NULL), VT_EINVAL);
    assert_int_equal(vt_eval_plot(e, "/nonexistent-folder/plot", 200, NULL, NULL), VT_EIO);
    assert_non_null(strstr(vt_last_error(), "/nonexistent-folder/plot_top.png"));
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* HOTA, worked by hand (docs/EVAL.md; zero distance 2 m)                    */

static const double ALPHAS = VT_EVAL_HOTA_ALPHAS;

static void hota_of_perfect_tracks_is_one(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 6; f++) {
        vt_eval_truth t[] = {drone(1, f, 0, 50), drone(2, -f, 30, 60)};
        vt_eval_track k[] = {track(101, f, 0, 50), track(102, -f, 30, 60)};
        frame(e, f, t, 2, k, 2);
    }
    vt_eval_result r = result(e);
    assert_near(r.hota, 1.0, 1e-12);
    assert_near(r.deta, 1.0, 1e-12);
    assert_near(r.assa, 1.0, 1e-12);
    assert_near(r.loca, 1.0, 1e-12);
    vt_eval_free(e);
}

/* 0.55 m off: similarity 0.725, a match at the 14 alphas 0.05 ... 0.70 and none above. */
static void hota_counts_a_match_only_where_alpha_allows(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 4; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k = track(5, f + 0.55, 0, 50);
        frame(e, f, &t, 1, &k, 1);
    }
    vt_eval_result r = result(e);
    assert_near(r.hota, 14.0 / ALPHAS, 1e-6);
    assert_near(r.deta, 14.0 / ALPHAS, 1e-6);
    assert_near(r.assa, 14.0 / ALPHAS, 1e-6);
    /* LocA is 0.725 where there are matches, 1 (TrackEval's convention) where there are none. */
    assert_near(r.loca, (14.0 * 0.725 + 5.0) / ALPHAS, 1e-6);
    assert_near(r.hota_alpha[13], 1.0, 1e-12);
    assert_near(r.hota_alpha[14], 0.0, 1e-12);
    vt_eval_free(e);
}

/* One truth, two tracks of five frames each: DetA 1, each pair's association IoU 1/2. */
static void hota_of_an_identity_switch(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 10; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k = track(f < 5 ? 1 : 2, f, 0, 50);
        frame(e, f, &t, 1, &k, 1);
    }
    vt_eval_result r = result(e);
    assert_near(r.deta, 1.0, 1e-12);
    assert_near(r.assa, 0.5, 1e-12);
    assert_near(r.hota, sqrt(0.5), 1e-12);
    vt_eval_free(e);
}

/* Half the frames found, a false track throughout: DetA 5 / (10 + 15 - 5), AssA 1/2. */
static void hota_of_misses_and_a_false_track(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 10; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k[] = {track(1, f, 0, 50), track(2, 500, 500, 50)};
        if (f < 5)
            frame(e, f, &t, 1, k, 2);
        else
            frame(e, f, &t, 1, k + 1, 1);
    }
    vt_eval_result r = result(e);
    assert_near(r.deta, 0.25, 1e-12);
    assert_near(r.assa, 0.5, 1e-12);
    assert_near(r.hota, sqrt(0.125), 1e-12);
    vt_eval_free(e);
}

/* Truths and no tracks at all: DetA, AssA and HOTA 0 (found by fuzz/fuzz_eval.c: the
   matching reached into an empty similarity list, undefined behaviour under UBSan). */
static void hota_of_truths_without_tracks_is_zero(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 3; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        frame(e, f, &t, 1, NULL, 0);
    }
    vt_eval_result r = result(e);
    assert_near(r.deta, 0.0, 0);
    assert_near(r.hota, 0.0, 0);
    assert_int_equal(r.fn, 3);
    vt_eval_free(e);
}

/*
 * A new track lands on the truth in its last frame (similarity 1), the old
 * one is 0.45 m off (similarity 0.775). HOTA matches by alignment score
 * times similarity, so the old track keeps it: at the 15 alphas <= 0.75
 * TP 10 of 10 truths and 11 tracks (DetA 10/11, AssA 1); at the 4 above,
 * TP 9 (DetA 9/12, AssA 9/11). Matching by similarity alone would differ.
 */
static void hota_matches_by_global_alignment(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    for (int f = 0; f < 10; f++) {
        vt_eval_truth t = drone(1, f, 0, 50);
        vt_eval_track k[] = {track(1, f + (f == 9 ? 0.45 : 0.0), 0, 50), track(2, f, 0, 50)};
        frame(e, f, &t, 1, k, f == 9 ? 2 : 1);
    }
    vt_eval_result r = result(e);
    double low = sqrt(10.0 / 11.0), high = sqrt(0.75 * 9.0 / 11.0);
    assert_near(r.hota_alpha[14], low, 1e-6);
    assert_near(r.hota_alpha[15], high, 1e-6);
    assert_near(r.hota, (15.0 * low + 4.0 * high) / ALPHAS, 1e-6);
    vt_eval_free(e);
}

/* ------------------------------------------------------------------------ */
/* The detectability ceiling and the bins                                    */

static vt_eval_truth seen(int id, double x, double size, const float *snr, int nsnr)
{
    vt_eval_truth t = drone(id, x, 0, 50);
    t.size = size;
    t.snr = snr;
    t.nsnr = nsnr;
    return t;
}

static void ceiling_and_bins_by_hand(void **state)
{
    (void)state;
    vt_eval *e = evaluator(2.0);
    const float a[] = {6.0f, 5.5f, 1.0f}; /* two cameras at >= 5: detectable; sum 8.2 */
    const float b[] = {4, 4, 4, 4};       /* none at 5, sum 8: by fused evidence only */
    const float c[] = {3};                /* sum 3: neither */
    vt_eval_truth t[] = {seen(1, 0, 0.32, a, 3), seen(2, 100, 0.55, b, 4), seen(3, 200, 1.2, c, 1),
                         seen(4, 300, 0.35, NULL, 0)};
    vt_eval_track k[] = {track(1, 0, 0, 50), track(3, 200, 0, 50)};
    frame(e, 0, t, 4, k, 2);
    vt_eval_result r = result(e);
    assert_int_equal(r.snr_frames, 3);
    assert_int_equal(r.detectable, 1);
    assert_int_equal(r.detectable_tp, 1);
    assert_int_equal(r.detectable_sum, 2);
    assert_int_equal(r.detectable_sum_tp, 1);
    assert_near(r.ceiling, 1.0 / 3.0, 1e-12);
    assert_near(r.ceiling_sum, 2.0 / 3.0, 1e-12);
    assert_near(r.detection_detectable, 1.0, 0);
    assert_near(r.detection_detectable_sum, 0.5, 0);
    /* SNR bins: [3, 4) holds drone 3, [7, 10) drones 1 and 2; drone 4 has no SNR. */
    assert_near(r.snr_bins[3].lo, 3.0, 0);
    assert_int_equal(r.snr_bins[3].gt, 1);
    assert_int_equal(r.snr_bins[3].tp, 1);
    assert_near(r.snr_bins[6].lo, 7.0, 0);
    assert_int_equal(r.snr_bins[6].gt, 2);
    assert_int_equal(r.snr_bins[6].tp, 1);
    assert_near(r.snr_bins[6].rate, 0.5, 0);
    assert_true(isnan(r.snr_bins[0].rate));
    assert_true(isinf(r.snr_bins[VT_EVAL_SNR_BINS - 1].hi));
    /* Size bins of 0.1 m: [0.3, 0.4) drones 1 and 4, [0.5, 0.6) drone 2, >= 1 m drone 3. */
    assert_int_equal(r.size_bins[3].gt, 2);
    assert_int_equal(r.size_bins[3].tp, 1);
    assert_int_equal(r.size_bins[5].gt, 1);
    assert_int_equal(r.size_bins[5].tp, 0);
    assert_int_equal(r.size_bins[10].gt, 1);
    assert_int_equal(r.size_bins[10].tp, 1);
    vt_eval_free(e);
}

static void ceiling_thresholds_are_options(void **state)
{
    (void)state;
    vt_eval_opts o = vt_eval_opts_default();
    o.ceiling_cameras = 3;
    o.ceiling_snr = 1.0;
    o.ceiling_sum = 10.0;
    vt_eval *e = NULL;
    assert_int_equal(vt_eval_new(&o, &e), VT_OK);
    const float a[] = {6.0f, 5.5f, 1.0f};
    vt_eval_truth t = seen(1, 0, 0.5, a, 3);
    frame(e, 0, &t, 1, NULL, 0);
    vt_eval_result r = result(e);
    assert_int_equal(r.detectable, 1);     /* three cameras at >= 1 */
    assert_int_equal(r.detectable_sum, 0); /* 8.2 < 10 */
    assert_near(r.detection_detectable, 0.0, 0);
    vt_eval_free(e);
    o.ceiling_cameras = 0;
    assert_int_equal(vt_eval_new(&o, &e), VT_EINVAL);
    o = vt_eval_opts_default();
    o.ceiling_snr = NAN;
    assert_int_equal(vt_eval_new(&o, &e), VT_EINVAL);
    /* A frame with a negative SNR, or SNRs without an array, is refused. */
    assert_int_equal(vt_eval_new(NULL, &e), VT_OK);
    const float bad[] = {-1.0f};
    t = seen(1, 0, 0.5, bad, 1);
    assert_int_equal(vt_eval_frame(e, 0, &t, 1, NULL, 0), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "SNR"));
    t = seen(1, 0, 0.5, NULL, 2);
    assert_int_equal(vt_eval_frame(e, 0, &t, 1, NULL, 0), VT_EINVAL);
    vt_eval_free(e);
}

/* truth_pixels.jsonl gives each drone its SNRs, camera by camera; size comes from truth.jsonl. */
static void pixels_file_gives_the_ceiling(void **state)
{
    (void)state;
    char tracks[1024], truth[1024], pixels[1024];
    snprintf(tracks, sizeof tracks, "%s", tmp_path("tracks.jsonl"));
    snprintf(truth, sizeof truth, "%s", tmp_path("truth.jsonl"));
    snprintf(pixels, sizeof pixels, "%s", tmp_path("truth_pixels.jsonl"));
    write_text(tracks, TRACKS);
    write_text(truth, TRUTH);
    write_text(pixels,
               "{\"frame\": 0, \"camera\": \"m0\", \"t\": 0, \"targets\": [[1, 10, 10, 1, 6.0], "
               "[2, 30, 10, 1, 2.5]]}\n"
               "{\"frame\": 0, \"camera\": \"m1\", \"t\": 0, \"targets\": [[1, 12, 10, 1, 5.0]]}\n"
               "{\"frame\": 1, \"camera\": \"m0\", \"t\": 0.1, \"targets\": [[1, 11, 10, 1, 3.0], "
               "[2, 31, 10, 1]]}\n"
               "{\"frame\": 7, \"camera\": \"m0\", \"t\": 0.7, \"targets\": []}\n");
    vt_eval *e = evaluator(2.0);
    vt_status s = vt_eval_read_files_snr(e, tracks, truth, pixels);
    if (s != VT_OK)
        print_error("%s\n", vt_last_error());
    assert_int_equal(s, VT_OK);
    vt_eval_result r = result(e);
    /* Frames 0 and 1 have pixel lines (drone 1: SNRs {6, 5}, then {3}); frame 2 has none. */
    assert_int_equal(r.snr_frames, 2);
    assert_int_equal(r.detectable, 1);
    assert_int_equal(r.detectable_tp, 1);
    assert_int_equal(r.detectable_sum, 1); /* sqrt(61) >= 7 */
    assert_int_equal(r.snr_bins[3].gt, 1); /* frame 1: 3 */
    assert_int_equal(r.snr_bins[3].tp, 1);
    assert_int_equal(r.size_bins[5].gt, 1); /* only frame 0 gives the size, 0.5 m */
    vt_eval_free(e);

    write_text(pixels, "{\"frame\": 0, \"camera\": \"m0\", \"targets\": [[1, 10, 10, 1, -2]]}\n");
    e = evaluator(2.0);
    assert_int_equal(vt_eval_read_files_snr(e, tracks, truth, pixels), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "truth_pixels.jsonl:1: field 'targets': entry 0"));
    write_text(pixels, "{\"frame\": 0, \"camera\": \"m0\"}\n");
    assert_int_equal(vt_eval_read_files_snr(e, tracks, truth, pixels), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "truth_pixels.jsonl:1: missing field 'targets'"));
    assert_int_equal(vt_eval_read_files_snr(e, tracks, truth, tmp_path("nope.jsonl")), VT_ENOENT);
    vt_eval_free(e);
    expect_truth_error("{\"frame\": 1, \"id\": 1, \"pos\": [0, 0, 0], \"size\": \"big\"}\n",
                       VT_EPARSE, ":1: field 'size' must be a number >= 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perfect_tracks_score_one),
        cmocka_unit_test(constant_offset_gives_rmse_and_motp),
        cmocka_unit_test(track_out_of_reach_is_a_miss_and_a_false_positive),
        cmocka_unit_test(id_swap_between_passing_targets),
        cmocka_unit_test(idf1_prefers_the_longest_pairing),
        cmocka_unit_test(gap_is_one_fragmentation),
        cmocka_unit_test(new_track_after_a_gap_is_a_switch_and_a_fragmentation),
        cmocka_unit_test(matches_are_kept_while_in_reach),
        cmocka_unit_test(assignment_maximises_matches),
        cmocka_unit_test(gospa_by_hand),
        cmocka_unit_test(gospa_cut_off_apart_from_match_distance),
        cmocka_unit_test(random_frames_agree_with_brute_force),
        cmocka_unit_test(birds_and_glints),
        cmocka_unit_test(one_bird_claims_one_track),
        cmocka_unit_test(empty_inputs),
        cmocka_unit_test(hota_of_truths_without_tracks_is_zero),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(refused_frames_change_nothing),
        cmocka_unit_test(files_give_the_same_figures_as_memory),
        cmocka_unit_test(file_errors_name_file_and_line),
        cmocka_unit_test(plots_are_written),
        cmocka_unit_test(hota_of_perfect_tracks_is_one),
        cmocka_unit_test(hota_counts_a_match_only_where_alpha_allows),
        cmocka_unit_test(hota_of_an_identity_switch),
        cmocka_unit_test(hota_of_misses_and_a_false_track),
        cmocka_unit_test(hota_matches_by_global_alignment),
        cmocka_unit_test(ceiling_and_bins_by_hand),
        cmocka_unit_test(ceiling_thresholds_are_options),
        cmocka_unit_test(pixels_file_gives_the_ceiling),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
