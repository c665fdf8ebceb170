/*
 * tests/test_tracker.c - the GNN multi-target tracker (vt_tracker).
 *
 * Scenes are built by hand from seeded random numbers: targets on straight,
 * crossing or weaving paths seen at 30 Hz with Gaussian position noise, plus
 * clutter. The tests assert the life cycle (M-of-N confirmation at the
 * expected update, coasting and recovery under the same id, deletion, ids
 * never reused), that crossing targets and a 200-target scene keep their ids,
 * that clutter confirms nothing, that the detections' order does not matter,
 * and that bad input fails cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/track.h"
#include "vt_test.h"
#define VT_TEST_DET_CAMERAS 4
#include "vt_test_track.h"

#define DT (1.0 / 30.0)

static const vt_track *only_track(vt_tracker *t)
{
    size_t n;
    const vt_track *tr = vt_tracker_tracks(t, &n);
    assert_int_equal(n, 1);
    return tr;
}

/* One target flying along +x at 15 m/s; update k is at time k * DT. */
static void feed_straight(vt_tracker *t, int k, bool seen)
{
    vt_vec3 p = vt_v3(15.0 * k * DT, 5.0, 40.0);
    vt_detection d = det_at(p, 0.2);
    assert_int_equal(vt_tracker_update(t, k * DT, &d, seen ? 1 : 0), VT_OK);
}

static void test_confirmation_after_m_of_n(void **state)
{
    (void)state;
    vt_test_seed(31);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    feed_straight(t, 0, true);
    assert_int_equal(only_track(t)->status, VT_TRACK_TENTATIVE);
    assert_int_equal(only_track(t)->id, 1);
    size_t na;
    const uint64_t *a = vt_tracker_assignments(t, &na);
    assert_int_equal(na, 1);
    assert_int_equal(a[0], 1); /* a detection that starts a track reports its id */
    feed_straight(t, 1, true);
    assert_int_equal(only_track(t)->status, VT_TRACK_TENTATIVE);
    feed_straight(t, 2, true); /* third hit of the first three updates: 3 of 4 */
    assert_int_equal(only_track(t)->status, VT_TRACK_CONFIRMED);
    assert_int_equal(only_track(t)->hits, 3);
    assert_int_equal(only_track(t)->age, 2);
    vt_tracker_free(t);

    /* hit, miss, hit, hit: the fourth update brings the third hit. */
    t = new_tracker(VT_TRACKER_GNN);
    feed_straight(t, 0, true);
    feed_straight(t, 1, false);
    feed_straight(t, 2, true);
    assert_int_equal(only_track(t)->status, VT_TRACK_TENTATIVE);
    feed_straight(t, 3, true);
    assert_int_equal(only_track(t)->status, VT_TRACK_CONFIRMED);
    vt_tracker_free(t);
}

static void test_coasting_and_recovery_keep_the_id(void **state)
{
    (void)state;
    vt_test_seed(32);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    int k = 0;
    for (; k < 15; k++)
        feed_straight(t, k, true);
    uint64_t id = only_track(t)->id;
    feed_straight(t, k++, false);
    feed_straight(t, k++, false);
    assert_int_equal(only_track(t)->status, VT_TRACK_COASTING);
    assert_int_equal(only_track(t)->misses, 2);
    /* Coasting on the velocity: the prediction is still near the target. */
    assert_near(only_track(t)->pos.x, 15.0 * (k - 1) * DT, 0.5);
    feed_straight(t, k++, true);
    assert_int_equal(only_track(t)->status, VT_TRACK_CONFIRMED);
    assert_int_equal(only_track(t)->id, id);
    assert_int_equal(only_track(t)->misses, 0);
    vt_tracker_free(t);
}

static void test_deletion_and_ids_never_reused(void **state)
{
    (void)state;
    vt_test_seed(33);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    int k = 0;
    for (; k < 10; k++)
        feed_straight(t, k, true);
    size_t n;
    for (int miss = 1; miss <= 4; miss++) {
        feed_straight(t, k++, false);
        assert_int_equal(only_track(t)->misses, miss);
    }
    feed_straight(t, k++, false); /* the fifth miss deletes it */
    vt_tracker_tracks(t, &n);
    assert_int_equal(n, 0);
    feed_straight(t, k++, true);
    assert_int_equal(only_track(t)->id, 2);

    /* A tentative track goes after two misses; the next one gets id 3. */
    feed_straight(t, k++, false);
    feed_straight(t, k++, false);
    vt_tracker_tracks(t, &n);
    assert_int_equal(n, 0);
    feed_straight(t, k++, true);
    assert_int_equal(only_track(t)->id, 3);
    vt_tracker_free(t);
}

static void test_time_going_back_is_refused(void **state)
{
    (void)state;
    vt_test_seed(34);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    feed_straight(t, 0, true);
    feed_straight(t, 1, true);
    vt_detection d = det_at(vt_v3(0, 5, 40), 0.2);
    assert_int_equal(vt_tracker_update(t, 0.5 * DT, &d, 1), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "time goes back"));
    assert_int_equal(only_track(t)->hits, 2); /* unchanged */
    /* The same time again is allowed (dt = 0). */
    assert_int_equal(vt_tracker_update(t, DT, &d, 0), VT_OK);
    vt_tracker_free(t);
}

/* Position of target i of a pair crossing in an X at t = 1.5 s. */
static vt_vec3 crossing(int i, double time, double angle)
{
    double s = i ? -1.0 : 1.0;
    double vx = 15.0 * cos(angle), vy = s * 15.0 * sin(angle);
    return vt_v3(vx * (time - 1.5), vy * (time - 1.5), 60.0 + 0.2 * s);
}

/*
 * The id of the track a detection updated when that track is confirmed, else
 * 0. A true detection outside its track's 99.9% gate (one update in a
 * thousand) starts a tentative track that soon dies: not an id switch.
 */
static uint64_t confirmed_id(const vt_tracker *t, size_t det)
{
    uint64_t id = vt_tracker_assignments(t, NULL)[det];
    size_t n;
    const vt_track *tr = vt_tracker_tracks(t, &n);
    for (size_t i = 0; i < n; i++)
        if (tr[i].id == id)
            return tr[i].status == VT_TRACK_TENTATIVE ? 0 : id;
    return 0;
}

/* Two targets crossing; each keeps one confirmed id throughout. */
static void run_crossing(vt_tracker_kind kind, double angle, double sigma, double pmiss)
{
    vt_tracker *t = new_tracker(kind);
    uint64_t first[2] = {0, 0};
    for (int k = 0; k < 90; k++) {
        double time = k * DT;
        vt_detection d[2];
        int idx[2], n = 0;
        for (int i = 0; i < 2; i++) {
            bool missed = k > 45 && k < 50 && vt_test_uniform01() < pmiss;
            vt_detection di = det_at(crossing(i, time, angle), sigma);
            if (!missed) {
                idx[i] = n;
                d[n++] = di;
            } else {
                idx[i] = -1;
            }
        }
        assert_int_equal(vt_tracker_update(t, time, d, (size_t)n), VT_OK);
        for (int i = 0; i < 2; i++) {
            uint64_t id = idx[i] < 0 ? 0 : confirmed_id(t, (size_t)idx[i]);
            if (!id)
                continue;
            if (!first[i])
                first[i] = id;
            assert_int_equal(id, first[i]);
        }
    }
    size_t nt;
    const vt_track *tr = vt_tracker_tracks(t, &nt);
    int confirmed = 0;
    for (size_t i = 0; i < nt; i++)
        confirmed += tr[i].status == VT_TRACK_CONFIRMED;
    assert_int_equal(confirmed, 2);
    assert_true(first[0] != first[1]);
    vt_tracker_free(t);
}

static void test_crossing_targets_keep_their_ids(void **state)
{
    (void)state;
    vt_test_seed(35);
    run_crossing(VT_TRACKER_GNN, 0.35, 0.15, 0.0);
    run_crossing(VT_TRACKER_GNN, 0.1, 0.1, 0.0);
}

static void test_clutter_confirms_nothing(void **state)
{
    (void)state;
    vt_test_seed(36);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    for (int k = 0; k < 300; k++) {
        vt_detection d[4];
        for (int j = 0; j < 4; j++)
            d[j] = det_at(vt_v3(vt_test_uniform(-500, 500), vt_test_uniform(-500, 500),
                                vt_test_uniform(0, 300)),
                          0.3);
        assert_int_equal(vt_tracker_update(t, k * DT, d, 4), VT_OK);
        size_t n;
        const vt_track *tr = vt_tracker_tracks(t, &n);
        assert_true(n <= 12);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(tr[i].status, VT_TRACK_TENTATIVE);
    }
    vt_tracker_free(t);
}

typedef struct walker {
    vt_vec3 p, v;
} walker;

/* Seeded random walkers: 10-20 m/s, velocity diffusing with 2 m/s^2. */
static void walkers_init(walker *w, int n)
{
    for (int i = 0; i < n; i++) {
        w[i].p =
            vt_v3(vt_test_uniform(-200, 200), vt_test_uniform(-200, 200), vt_test_uniform(20, 120));
        double speed = vt_test_uniform(10, 20), az = vt_test_uniform(0, 2 * VT_PI);
        w[i].v = vt_v3(speed * cos(az), speed * sin(az), vt_test_uniform(-1, 1));
    }
}

static void walkers_step(walker *w, int n)
{
    for (int i = 0; i < n; i++) {
        w[i].p = vt_v3_add(w[i].p, vt_v3_scale(w[i].v, DT));
        double s = 2.0 * sqrt(DT);
        w[i].v =
            vt_v3_add(w[i].v, vt_v3(s * vt_test_gauss(), s * vt_test_gauss(), s * vt_test_gauss()));
    }
}

static void run_scene(vt_tracker_kind kind, int ntarget, int nframes)
{
    walker *w = malloc((size_t)ntarget * sizeof *w);
    vt_detection *d = malloc((size_t)(ntarget + 5) * sizeof *d);
    uint64_t *id = calloc((size_t)ntarget, sizeof *id);
    int *slot = malloc((size_t)ntarget * sizeof *slot);
    assert_non_null(w);
    assert_non_null(d);
    assert_non_null(id);
    assert_non_null(slot);
    walkers_init(w, ntarget);
    vt_tracker *t = new_tracker(kind);
    int switches = 0;
    for (int k = 0; k < nframes; k++) {
        size_t n = 0;
        for (int i = 0; i < ntarget; i++) {
            slot[i] = vt_test_uniform01() < 0.97 ? (int)n : -1;
            if (slot[i] >= 0)
                d[n++] = det_at(w[i].p, 0.3);
        }
        for (int c = 0; c < 3; c++)
            d[n++] = det_at(vt_v3(vt_test_uniform(-250, 250), vt_test_uniform(-250, 250),
                                  vt_test_uniform(0, 150)),
                            0.3);
        assert_int_equal(vt_tracker_update(t, k * DT, d, n), VT_OK);
        for (int i = 0; i < ntarget; i++) {
            uint64_t c = slot[i] < 0 ? 0 : confirmed_id(t, (size_t)slot[i]);
            if (!c)
                continue;
            if (id[i] && c != id[i])
                switches++;
            id[i] = c;
        }
        walkers_step(w, ntarget);
    }
    assert_int_equal(switches, 0);
    size_t nt;
    const vt_track *tr = vt_tracker_tracks(t, &nt);
    int confirmed = 0;
    for (size_t i = 0; i < nt; i++)
        confirmed += tr[i].status != VT_TRACK_TENTATIVE;
    assert_int_equal(confirmed, ntarget);
    vt_tracker_free(t);
    free(w);
    free(d);
    free(id);
    free(slot);
}

static void test_200_random_walkers_no_id_switch(void **state)
{
    (void)state;
    vt_test_seed(37);
    run_scene(VT_TRACKER_GNN, 200, 60);
}

static void test_detection_order_does_not_matter(void **state)
{
    (void)state;
    enum { NT = 40, NF = 40, ND = NT + 3 };
    vt_test_seed(38);
    walker w[NT];
    walkers_init(w, NT);
    vt_tracker *a = new_tracker(VT_TRACKER_GNN), *b = new_tracker(VT_TRACKER_GNN);
    for (int k = 0; k < NF; k++) {
        vt_detection d[ND], e[ND];
        int perm[ND];
        for (int i = 0; i < NT; i++)
            d[i] = det_at(w[i].p, 0.3);
        for (int c = NT; c < ND; c++)
            d[c] = det_at(vt_v3(vt_test_uniform(-250, 250), vt_test_uniform(-250, 250), 50), 0.3);
        for (int j = 0; j < ND; j++)
            perm[j] = j;
        for (int j = ND - 1; j > 0; j--) {
            int r = (int)vt_test_uniform(0, j + 1), tmp = perm[j];
            perm[j] = perm[r];
            perm[r] = tmp;
        }
        for (int j = 0; j < ND; j++)
            e[perm[j]] = d[j];
        assert_int_equal(vt_tracker_update(a, k * DT, d, ND), VT_OK);
        assert_int_equal(vt_tracker_update(b, k * DT, e, ND), VT_OK);
        const uint64_t *aa = vt_tracker_assignments(a, NULL), *ab = vt_tracker_assignments(b, NULL);
        for (int j = 0; j < ND; j++)
            assert_int_equal(aa[j], ab[perm[j]]);
        size_t na, nb;
        const vt_track *ta = vt_tracker_tracks(a, &na), *tb = vt_tracker_tracks(b, &nb);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_int_equal(ta[i].id, tb[i].id);
            assert_int_equal(ta[i].status, tb[i].status);
            assert_near(ta[i].pos.x, tb[i].pos.x, 0);
            assert_near(ta[i].vel.z, tb[i].vel.z, 0);
        }
        walkers_step(w, NT);
    }
    vt_tracker_free(a);
    vt_tracker_free(b);
}

static void test_accel_rms_tells_weaving_from_straight(void **state)
{
    (void)state;
    vt_test_seed(39);
    vt_tracker *t = new_tracker(VT_TRACKER_GNN);
    for (int k = 0; k < 150; k++) {
        double time = k * DT;
        /* A drone on a straight line, and a bird weaving +-0.5 m at 1.2 Hz (28 m/s^2 peak). */
        vt_vec3 drone = vt_v3(12.0 * time, 0, 50);
        double wv = 2 * VT_PI * 1.2;
        vt_vec3 bird = vt_v3(10.0 * time, 100 + 0.5 * sin(wv * time), 50 + 0.3 * cos(wv * time));
        vt_detection d[2] = {det_at(drone, 0.2), det_at(bird, 0.2)};
        assert_int_equal(vt_tracker_update(t, time, d, 2), VT_OK);
    }
    size_t n;
    const vt_track *tr = vt_tracker_tracks(t, &n);
    assert_int_equal(n, 2);
    const vt_track *drone = tr[0].pos.y < 50 ? &tr[0] : &tr[1];
    const vt_track *bird = tr[0].pos.y < 50 ? &tr[1] : &tr[0];
    assert_true(drone->accel_rms > 0.0f);
    assert_true(bird->accel_rms > 2.0f * drone->accel_rms);
    vt_tracker_free(t);
}

static void test_bad_input(void **state)
{
    (void)state;
    vt_tracker *t = NULL;
    vt_tracker_opts o = vt_tracker_opts_default();
    o.confirm_m = 5;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "confirm_m"));
    assert_null(t);
    o = vt_tracker_opts_default();
    o.gate_prob = 1.0;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_int_equal(vt_tracker_new(&o, NULL), VT_EINVAL);
    assert_int_equal(vt_tracker_new(NULL, &t), VT_OK); /* NULL: the defaults */

    vt_detection d[2] = {det_at(vt_v3(0, 0, 0), 0.1), det_at(vt_v3(1, 0, 0), 0.1)};
    d[1].pos.y = NAN;
    assert_int_equal(vt_tracker_update(t, 0.0, d, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "detection 1"));
    d[1].pos.y = 0;
    d[1].cov[4] = INFINITY;
    assert_int_equal(vt_tracker_update(t, 0.0, d, 2), VT_EINVAL);
    assert_int_equal(vt_tracker_update(t, 0.0, NULL, 2), VT_EINVAL);
    assert_int_equal(vt_tracker_update(t, NAN, d, 1), VT_EINVAL);
    assert_int_equal(vt_tracker_update(NULL, 0.0, d, 1), VT_EINVAL);
    size_t n = 7;
    assert_null(vt_tracker_tracks(NULL, &n));
    assert_int_equal(n, 0);
    vt_tracker_tracks(t, &n);
    assert_int_equal(n, 0);
    /* A covariance that is not positive definite is repaired, not fatal. */
    d[1].cov[4] = 0;
    d[0].cov[1] = 10.0;
    assert_int_equal(vt_tracker_update(t, 0.0, d, 2), VT_OK);
    vt_tracker_tracks(t, &n);
    assert_int_equal(n, 2);
    vt_tracker_free(t);
    vt_tracker_free(NULL);
}

static void test_kind_names_parse_both_ways(void **state)
{
    (void)state;
    vt_tracker_kind k = VT_TRACKER_GNN;
    assert_int_equal(vt_tracker_kind_parse("mht", &k), VT_OK);
    assert_int_equal(k, VT_TRACKER_MHT);
    assert_int_equal(vt_tracker_kind_parse("gnn", &k), VT_OK);
    assert_int_equal(k, VT_TRACKER_GNN);
    assert_int_equal(vt_tracker_kind_parse("best", &k), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'best'"));
    assert_int_equal(vt_tracker_kind_parse(NULL, &k), VT_EINVAL);
    assert_int_equal(k, VT_TRACKER_GNN);
    assert_string_equal(vt_tracker_kind_name(VT_TRACKER_MHT), "mht");
    assert_string_equal(vt_tracker_kind_name(VT_TRACKER_GNN), "gnn");
    assert_string_equal(vt_tracker_kind_name((vt_tracker_kind)7), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names_parse_both_ways),
        cmocka_unit_test(test_confirmation_after_m_of_n),
        cmocka_unit_test(test_coasting_and_recovery_keep_the_id),
        cmocka_unit_test(test_deletion_and_ids_never_reused),
        cmocka_unit_test(test_time_going_back_is_refused),
        cmocka_unit_test(test_crossing_targets_keep_their_ids),
        cmocka_unit_test(test_clutter_confirms_nothing),
        cmocka_unit_test(test_200_random_walkers_no_id_switch),
        cmocka_unit_test(test_detection_order_does_not_matter),
        cmocka_unit_test(test_accel_rms_tells_weaving_from_straight),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
