/*
 * tests/test_mht.c - the multiple hypothesis tracker (vt_tracker with
 * kind = VT_TRACKER_MHT).
 *
 * The MHT must do at least what the GNN does on easy scenes (life cycle,
 * a 200-target scene without id switches, no confirmed clutter, results
 * independent of the detections' order), keep the ids of crossing targets
 * whose detections go missing at the crossing, and over many seeded
 * near-parallel crossings switch ids no more often than the GNN.
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
#define VT_TEST_DET_CAMERAS 3
#include "vt_test_track.h"

#define DT (1.0 / 30.0)

/*
 * The id of the confirmed (or coasting) track nearest to p, within 2 m, else
 * 0. Identity is judged by position: the MHT's best hypothesis may change its
 * mind about the latest detections for a scan (where two targets meet), which
 * is its point, not an id switch.
 */
static uint64_t nearest_id(const vt_tracker *t, vt_vec3 p)
{
    size_t n;
    const vt_track *tr = vt_tracker_tracks(t, &n);
    double best = 2.0;
    uint64_t id = 0;
    for (size_t i = 0; i < n; i++) {
        double dist = vt_v3_norm(vt_v3_sub(tr[i].pos, p));
        if (tr[i].status != VT_TRACK_TENTATIVE && dist < best) {
            best = dist;
            id = tr[i].id;
        }
    }
    return id;
}

static int count_confirmed(const vt_tracker *t)
{
    size_t n;
    const vt_track *tr = vt_tracker_tracks(t, &n);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += tr[i].status != VT_TRACK_TENTATIVE;
    return c;
}

static void test_life_cycle(void **state)
{
    (void)state;
    vt_test_seed(41);
    vt_tracker *t = new_tracker(VT_TRACKER_MHT);
    size_t n;
    int k = 0;
    for (; k < 3; k++) {
        vt_detection d = det_at(vt_v3(15.0 * k * DT, 0, 30), 0.2);
        assert_int_equal(vt_tracker_update(t, k * DT, &d, 1), VT_OK);
        const vt_track *tr = vt_tracker_tracks(t, &n);
        assert_int_equal(n, 1);
        assert_int_equal(tr[0].id, 1);
        assert_int_equal(tr[0].status, k < 2 ? VT_TRACK_TENTATIVE : VT_TRACK_CONFIRMED);
        assert_int_equal(vt_tracker_assignments(t, NULL)[0], 1);
    }
    for (; k < 8; k++) /* five misses delete it */
        assert_int_equal(vt_tracker_update(t, k * DT, NULL, 0), VT_OK);
    vt_tracker_tracks(t, &n);
    assert_int_equal(n, 0);
    vt_detection d = det_at(vt_v3(0, 0, 30), 0.2);
    assert_int_equal(vt_tracker_update(t, k * DT, &d, 1), VT_OK);
    assert_int_equal(vt_tracker_tracks(t, &n)[0].id, 2);
    assert_int_equal(vt_tracker_update(t, (k - 1) * DT, &d, 1), VT_EINVAL);
    vt_tracker_free(t);
}

static vt_vec3 crossing(int i, double time, double angle)
{
    double s = i ? -1.0 : 1.0;
    return vt_v3(15.0 * cos(angle) * (time - 1.5), s * 15.0 * sin(angle) * (time - 1.5),
                 60.0 + 0.1 * s);
}

/*
 * Runs a crossing at t = 1.5 s in which both detections are missing for
 * `gap` updates around the crossing. Returns how many of the two targets are
 * not followed at the end by the track that followed them at update 20.
 */
static int crossing_lost(vt_tracker_kind kind, double angle, double sigma, int gap)
{
    vt_tracker *t = new_tracker(kind);
    uint64_t start[2] = {0, 0};
    for (int k = 0; k < 90; k++) {
        double time = k * DT;
        vt_detection d[2];
        int n = 0;
        bool missing = k >= 45 - gap / 2 && k < 45 - gap / 2 + gap;
        for (int i = 0; i < 2; i++) {
            vt_detection di = det_at(crossing(i, time, angle), sigma);
            if (!missing)
                d[n++] = di;
        }
        assert_int_equal(vt_tracker_update(t, time, d, (size_t)n), VT_OK);
        for (int i = 0; k == 20 && i < 2; i++)
            start[i] = nearest_id(t, crossing(i, time, angle));
    }
    int lost = 0;
    for (int i = 0; i < 2; i++)
        lost += !start[i] || nearest_id(t, crossing(i, 89 * DT, angle)) != start[i];
    assert_true(start[0] != start[1]);
    vt_tracker_free(t);
    return lost;
}

static void test_crossing_with_missed_detections_keeps_ids(void **state)
{
    (void)state;
    vt_test_seed(42);
    assert_int_equal(crossing_lost(VT_TRACKER_MHT, 0.35, 0.15, 0), 0);
    assert_int_equal(crossing_lost(VT_TRACKER_MHT, 0.35, 0.15, 3), 0);
    assert_int_equal(crossing_lost(VT_TRACKER_MHT, 0.25, 0.2, 2), 0);
}

static void test_fewer_switches_than_gnn_on_close_crossings(void **state)
{
    (void)state;
    int gnn = 0, mht = 0;
    for (int seed = 1; seed <= 30; seed++) {
        vt_test_seed(1000 + (uint64_t)seed);
        gnn += crossing_lost(VT_TRACKER_GNN, 0.10, 0.2, 2);
        vt_test_seed(1000 + (uint64_t)seed);
        mht += crossing_lost(VT_TRACKER_MHT, 0.10, 0.2, 2);
    }
    print_message("crossings at 0.1 rad, 0.2 m noise, 2 updates missed, 30 seeds: "
                  "targets lost GNN %d, MHT %d of 60\n",
                  gnn, mht);
    assert_true(mht < gnn);
}

typedef struct walker {
    vt_vec3 p, v;
} walker;

static void test_200_targets_and_clutter(void **state)
{
    (void)state;
    enum { NT = 200, NF = 60, NC = 3 };
    vt_test_seed(43);
    walker *w = malloc(NT * sizeof *w);
    vt_detection *d = malloc((NT + NC) * sizeof *d);
    uint64_t *id = calloc(NT, sizeof *id);
    assert_true(w && d && id);
    for (int i = 0; i < NT; i++) {
        w[i].p =
            vt_v3(vt_test_uniform(-200, 200), vt_test_uniform(-200, 200), vt_test_uniform(20, 120));
        double speed = vt_test_uniform(10, 20), az = vt_test_uniform(0, 2 * VT_PI);
        w[i].v = vt_v3(speed * cos(az), speed * sin(az), 0);
    }
    vt_tracker *t = new_tracker(VT_TRACKER_MHT);
    for (int k = 0; k < NF; k++) {
        size_t n = 0;
        for (int i = 0; i < NT; i++) {
            if (k > 0) {
                w[i].p = vt_v3_add(w[i].p, vt_v3_scale(w[i].v, DT));
                double a = 2.0 * sqrt(DT);
                w[i].v = vt_v3_add(
                    w[i].v, vt_v3(a * vt_test_gauss(), a * vt_test_gauss(), a * vt_test_gauss()));
            }
            if (vt_test_uniform01() < 0.97)
                d[n++] = det_at(w[i].p, 0.3);
        }
        for (int c = 0; c < NC; c++)
            d[n++] = det_at(vt_v3(vt_test_uniform(-250, 250), vt_test_uniform(-250, 250),
                                  vt_test_uniform(0, 150)),
                            0.3);
        assert_int_equal(vt_tracker_update(t, k * DT, d, n), VT_OK);
        for (int i = 0; k == 10 && i < NT; i++)
            id[i] = nearest_id(t, w[i].p);
    }
    int lost = 0;
    for (int i = 0; i < NT; i++)
        lost += !id[i] || nearest_id(t, w[i].p) != id[i];
    assert_int_equal(lost, 0);
    assert_int_equal(count_confirmed(t), NT);
    vt_tracker_free(t);
    free(w);
    free(d);
    free(id);
}

static void test_detection_order_does_not_matter(void **state)
{
    (void)state;
    enum { NT = 12, ND = NT + 2, NF = 40 };
    vt_test_seed(44);
    vt_vec3 p[NT], v[NT];
    for (int i = 0; i < NT; i++) {
        /* Pairs of targets close together, so that clusters have several hypotheses. */
        p[i] = vt_v3(30.0 * (i / 2), 0.8 * (i % 2), 50);
        v[i] = vt_v3(vt_test_uniform(-3, 3), 12, vt_test_uniform(-1, 1));
    }
    vt_tracker *a = new_tracker(VT_TRACKER_MHT), *b = new_tracker(VT_TRACKER_MHT);
    for (int k = 0; k < NF; k++) {
        vt_detection d[ND], e[ND];
        for (int i = 0; i < NT; i++)
            d[i] = det_at(vt_v3_add(p[i], vt_v3_scale(v[i], k * DT)), 0.25);
        for (int c = NT; c < ND; c++)
            d[c] = det_at(vt_v3(vt_test_uniform(0, 150), vt_test_uniform(0, 20), 50), 0.25);
        for (int j = 0; j < ND; j++)
            e[ND - 1 - j] = d[j];
        assert_int_equal(vt_tracker_update(a, k * DT, d, ND), VT_OK);
        assert_int_equal(vt_tracker_update(b, k * DT, e, ND), VT_OK);
        const uint64_t *aa = vt_tracker_assignments(a, NULL), *ab = vt_tracker_assignments(b, NULL);
        for (int j = 0; j < ND; j++)
            assert_int_equal(aa[j], ab[ND - 1 - j]);
        size_t na, nb;
        const vt_track *ta = vt_tracker_tracks(a, &na), *tb = vt_tracker_tracks(b, &nb);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_int_equal(ta[i].id, tb[i].id);
            assert_near(ta[i].pos.y, tb[i].pos.y, 0);
        }
    }
    assert_int_equal(count_confirmed(a), NT);
    vt_tracker_free(a);
    vt_tracker_free(b);
}

static void test_bad_options(void **state)
{
    (void)state;
    vt_tracker_opts o = vt_tracker_opts_default();
    o.kind = VT_TRACKER_MHT;
    vt_tracker *t = NULL;
    o.mht_k = 0;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "mht_k"));
    o.mht_k = 10;
    o.detect_prob = 1.0;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    o.detect_prob = 0.9;
    o.clutter_density = 0.0;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    o.kind = (vt_tracker_kind)7;
    assert_int_equal(vt_tracker_new(&o, &t), VT_EINVAL);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_cycle),
        cmocka_unit_test(test_crossing_with_missed_detections_keeps_ids),
        cmocka_unit_test(test_fewer_switches_than_gnn_on_close_crossings),
        cmocka_unit_test(test_200_targets_and_clutter),
        cmocka_unit_test(test_detection_order_does_not_matter),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
