/*
 * tests/test_alert.c - alert rules on synthetic frame sets: point in polygon
 * (concave shapes, edges, vertices), zones raised once per track and cleared
 * after the hysteresis (tracks entering, leaving, flickering at the edge,
 * vanishing), class and confirmation filters, reminders, cameras offline,
 * the frame-rate floor, the latency ceiling, the watchdog that raises the
 * alerts of a stall (a fake clock drives vt_alerts_tick), and rules files
 * that are refused with a message naming the origin, the rule and the field.
 *
 * No channel is configured here, so no thread and no network: see
 * test_notify.c for those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "monitor/alert_internal.h"
#include "voxtrack/alert.h"
#include "vt_test.h"

/* ---- a scene of tracks and cameras, one frame set at a time --------------- */

enum { MAX_TRACKS = 8, MAX_EVENTS = 64 };

typedef struct scene {
    vt_track tracks[MAX_TRACKS];
    vt_target_class classes[MAX_TRACKS];
    size_t n;
    vt_camera_result cams[3];
    double seconds; /* processing time of the next set */
    int64_t frame;
} scene;

static vt_alert_event events[MAX_EVENTS];
static int nevents;

static void collect(void *user, const vt_alert_event *e)
{
    (void)user;
    if (nevents < MAX_EVENTS)
        events[nevents++] = *e;
}

static void scene_init(scene *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 3; i++)
        s->cams[i].present = true;
    s->seconds = 0.01;
}

static vt_track *scene_track(scene *s, uint64_t id, double x, double y, double z)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->tracks[i].id == id) {
            s->tracks[i].pos = (vt_vec3){x, y, z};
            return &s->tracks[i];
        }
    vt_track *t = &s->tracks[s->n];
    memset(t, 0, sizeof *t);
    t->id = id;
    t->status = VT_TRACK_CONFIRMED;
    t->pos = (vt_vec3){x, y, z};
    s->classes[s->n++] = VT_CLASS_DRONE;
    return t;
}

static void scene_drop(scene *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->tracks[i].id == id) {
            s->tracks[i] = s->tracks[s->n - 1];
            s->classes[i] = s->classes[s->n - 1];
            s->n--;
            return;
        }
}

static void update(vt_alerts *a, scene *s, double t)
{
    vt_pipeline_result r;
    memset(&r, 0, sizeof r);
    r.frame = s->frame++;
    r.t = t;
    r.tracks = s->tracks;
    r.classes = s->classes;
    r.ntracks = s->n;
    r.cameras = s->cams;
    r.ncameras = 3;
    r.seconds = s->seconds;
    r.latency = s->seconds; /* latency rules judge the latency */
    assert_int_equal(vt_alerts_update(a, &r), VT_OK);
}

static vt_rig rig3;

static vt_alerts *make(const char *json)
{
    vt_alerts *a = NULL;
    vt_status s = vt_alerts_new(json, "test.json", &rig3, &a);
    if (s != VT_OK) {
        print_error("vt_alerts_new: %s\n", vt_last_error());
        fail();
    }
    vt_alerts_set_quiet(a, true);
    vt_alerts_on_event(a, collect, NULL);
    nevents = 0;
    return a;
}

static int rig_setup(void **state)
{
    (void)state;
    vt_rig_init(&rig3);
    const char *ids[] = {"m0", "t0", "m1"};
    for (int i = 0; i < 3; i++) {
        vt_rig_camera c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "%s", ids[i]);
        c.bits = 8;
        if (vt_rig_add(&rig3, &c) != VT_OK)
            return -1;
    }
    return 0;
}

static int rig_teardown(void **state)
{
    (void)state;
    vt_rig_free(&rig3);
    return 0;
}

/* A 100 m square zone from 0 to 100, altitude 0..200, no hysteresis on raise, 1 s to clear. */
static const char *square_zone =
    "{\"rules\": [{\"name\": \"sq\", \"kind\": \"zone\", "
    "\"polygon\": [[0, 0], [100, 0], [100, 100], [0, 100]], \"altitude\": [0, 200]}],"
    " \"hysteresis\": {\"raise_after\": 0, \"clear_after\": 1}}";

/* ---- point in polygon ---------------------------------------------------------- */

static void point_in_polygon_handles_a_concave_u_shape(void **state)
{
    (void)state;
    /* A U: two arms (x 0..10 and 20..30) joined at the bottom (y 0..10). */
    const double u[] = {0, 0, 30, 0, 30, 30, 20, 30, 20, 10, 10, 10, 10, 30, 0, 30};
    assert_true(vt__point_in_polygon(u, 8, 5, 25));   /* left arm */
    assert_true(vt__point_in_polygon(u, 8, 25, 25));  /* right arm */
    assert_true(vt__point_in_polygon(u, 8, 15, 5));   /* the base */
    assert_false(vt__point_in_polygon(u, 8, 15, 20)); /* the notch */
    assert_false(vt__point_in_polygon(u, 8, 35, 5));
    assert_false(vt__point_in_polygon(u, 8, -1, 10)); /* a ray through the vertices (10,10)... */
    assert_false(vt__point_in_polygon(u, 8, 15, 30)); /* ...and the open top of the notch */
}

static void point_in_polygon_counts_edges_and_vertices_as_inside(void **state)
{
    (void)state;
    const double sq[] = {0, 0, 10, 0, 10, 10, 0, 10};
    assert_true(vt__point_in_polygon(sq, 4, 0, 5));   /* left edge */
    assert_true(vt__point_in_polygon(sq, 4, 10, 5));  /* right edge */
    assert_true(vt__point_in_polygon(sq, 4, 5, 10));  /* top edge */
    assert_true(vt__point_in_polygon(sq, 4, 10, 10)); /* a vertex */
    assert_false(vt__point_in_polygon(sq, 4, 10.001, 5));
    /* A diamond: the horizontal ray from (−1, 0) passes through two vertices. */
    const double dia[] = {0, -5, 5, 0, 0, 5, -5, 0};
    assert_true(vt__point_in_polygon(dia, 4, 0, 0));
    assert_false(vt__point_in_polygon(dia, 4, -6, 0));
    assert_false(vt__point_in_polygon(dia, 4, 6, 0));
    assert_true(vt__point_in_polygon(dia, 4, 2.5, 2.5)); /* on the edge (5,0)-(0,5) */
}

static void point_in_polygon_agrees_with_a_triangle_fan_on_random_points(void **state)
{
    (void)state;
    /* A convex hexagon: inside iff on the left of every edge. */
    double hex[12];
    for (int i = 0; i < 6; i++) {
        hex[2 * i] = 10 * cos(i * VT_PI / 3);
        hex[2 * i + 1] = 10 * sin(i * VT_PI / 3);
    }
    vt_test_seed(7);
    for (int k = 0; k < 2000; k++) {
        double x = vt_test_uniform(-12, 12), y = vt_test_uniform(-12, 12);
        bool left = true;
        for (int i = 0; i < 6; i++) {
            int j = (i + 1) % 6;
            double c = (hex[2 * j] - hex[2 * i]) * (y - hex[2 * i + 1]) -
                       (hex[2 * j + 1] - hex[2 * i + 1]) * (x - hex[2 * i]);
            left = left && c >= 0;
        }
        assert_int_equal(vt__point_in_polygon(hex, 6, x, y), left);
    }
}

/* ---- zones ------------------------------------------------------------------------ */

static void zone_raises_once_with_the_track_and_clears_after_it_left(void **state)
{
    (void)state;
    vt_alerts *a = make(square_zone);
    scene s;
    scene_init(&s);
    scene_track(&s, 7, -50, 50, 100);
    scene_track(&s, 9, -80, 20, 100); /* stays outside */
    double t = 0;
    for (int i = 0; i < 10; i++, t += 0.1) { /* 7 walks in at x = 0 (i = 5) */
        scene_track(&s, 7, -50 + 10 * i, 50, 100);
        update(a, &s, t);
    }
    assert_int_equal(nevents, 1);
    assert_true(events[0].raised);
    assert_false(events[0].repeat);
    assert_int_equal(events[0].track, 7);
    assert_int_equal(events[0].kind, VT_ALERT_ZONE);
    assert_string_equal(events[0].rule, "sq");
    assert_near(events[0].pos.x, 0, 1e-9);
    assert_near(events[0].value, 100, 1e-9);
    assert_near(events[0].t, 0.5, 1e-9);
    assert_non_null(strstr(events[0].message, "track 7 entered zone 'sq'"));
    scene_track(&s, 7, 150, 50, 100); /* leaves */
    for (int i = 0; i < 9; i++, t += 0.1)
        update(a, &s, t);
    assert_int_equal(nevents, 1); /* 0.8 s out: not yet */
    for (int i = 0; i < 3; i++, t += 0.1)
        update(a, &s, t);
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    assert_int_equal(events[1].track, 7);
    assert_true(events[1].seq > events[0].seq);
    vt_alerts_stats st = vt_alerts_stats_get(a);
    assert_int_equal(st.raised, 1);
    assert_int_equal(st.cleared, 1);
    vt_alerts_free(a);
}

static void zone_flicker_at_the_edge_raises_once(void **state)
{
    (void)state;
    vt_alerts *a = make(square_zone);
    scene s;
    scene_init(&s);
    double t = 0;
    for (int i = 0; i < 40; i++, t += 0.1) { /* in, out, in, out ... across x = 100 */
        scene_track(&s, 3, i % 2 ? 100.5 : 99.5, 50, 50);
        update(a, &s, t);
    }
    assert_int_equal(nevents, 1);
    assert_true(events[0].raised);
    scene_track(&s, 3, 200, 50, 50);
    for (int i = 0; i < 20; i++, t += 0.1)
        update(a, &s, t);
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    vt_alerts_free(a);
}

static void zone_raise_after_needs_the_track_inside_that_long(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"rules\": [{\"name\": \"z\", \"kind\": \"zone\", \"polygon\": "
                        "[[0, 0], [10, 0], [10, 10], [0, 10]], "
                        "\"hysteresis\": {\"raise_after\": 0.5, \"clear_after\": 0}}]}");
    scene s;
    scene_init(&s);
    double t = 0, dt = 0.125; /* exact in binary: no rounding at the thresholds */
    /* 0.375 s in, then out: nothing */
    for (int i = 0; i < 4; i++, t += dt) {
        scene_track(&s, 1, i < 3 ? 5 : 20, 5, 10);
        update(a, &s, t);
    }
    assert_int_equal(nevents, 0);
    scene_track(&s, 1, 5, 5, 10);
    for (int i = 0; i < 4; i++, t += dt)
        update(a, &s, t);
    assert_int_equal(nevents, 0); /* 0.375 s inside */
    update(a, &s, t);
    assert_int_equal(nevents, 1); /* 0.5 s */
    scene_track(&s, 1, 20, 5, 10);
    update(a, &s, t + 0.1); /* clear_after 0: the first set outside */
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    vt_alerts_free(a);
}

static void zone_ignores_tentative_tracks_birds_and_other_altitudes(void **state)
{
    (void)state;
    vt_alerts *a = make(square_zone);
    scene s;
    scene_init(&s);
    scene_track(&s, 1, 50, 50, 100)->status = VT_TRACK_TENTATIVE;
    scene_track(&s, 2, 50, 50, 100);
    s.classes[1] = VT_CLASS_BIRD;
    scene_track(&s, 3, 50, 50, 250); /* over the band */
    scene_track(&s, 4, 50, 50, -1);  /* under it */
    scene_track(&s, 5, 50, 50, 200)->status = VT_TRACK_COASTING;
    update(a, &s, 0);
    assert_int_equal(nevents, 1);
    assert_int_equal(events[0].track, 5); /* coasting counts as confirmed; 200 is in the band */
    vt_alerts_free(a);

    a = make("{\"rules\": [{\"name\": \"b\", \"kind\": \"zone\", \"classes\": [\"bird\"], "
             "\"confirmed_only\": false, \"polygon\": [[0, 0], [100, 0], [100, 100]]}]}");
    update(a, &s, 0);
    assert_int_equal(nevents, 1);
    assert_int_equal(events[0].track, 2);
    vt_alerts_free(a);
}

static void zone_alert_clears_when_the_track_vanishes(void **state)
{
    (void)state;
    vt_alerts *a = make(square_zone);
    scene s;
    scene_init(&s);
    scene_track(&s, 4, 10, 10, 10);
    scene_track(&s, 2, 20, 10, 10); /* ids out of order: sorted inside */
    update(a, &s, 0);
    assert_int_equal(nevents, 2);
    assert_int_equal(events[0].track, 2);
    assert_int_equal(events[1].track, 4);
    scene_drop(&s, 4);
    update(a, &s, 0.5);
    update(a, &s, 1.25);
    assert_int_equal(nevents, 2); /* gone 0.75 s */
    update(a, &s, 1.5);
    assert_int_equal(nevents, 3);
    assert_false(events[2].raised);
    assert_int_equal(events[2].track, 4);
    assert_near(events[2].pos.x, 10, 1e-9); /* where it was last seen */
    vt_alerts_free(a);
}

static void zone_repeat_s_sends_reminders_while_active(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"repeat_s\": 1, \"rules\": [{\"name\": \"z\", \"kind\": \"zone\", "
                        "\"polygon\": [[0, 0], [10, 0], [10, 10], [0, 10]]}]}");
    scene s;
    scene_init(&s);
    scene_track(&s, 1, 5, 5, 5);
    for (int i = 0; i <= 25; i++)
        update(a, &s, i * 0.1);
    assert_int_equal(nevents, 3); /* at 0, 1.0 and 2.0 s */
    assert_false(events[0].repeat);
    assert_true(events[1].repeat && events[1].raised);
    assert_true(events[2].repeat);
    assert_near(events[2].t, 2.0, 1e-9);
    assert_int_equal(vt_alerts_stats_get(a).repeated, 2);
    assert_int_equal(vt_alerts_stats_get(a).raised, 1);
    vt_alerts_free(a);
}

/* ---- cameras, frame rate, latency --------------------------------------------------- */

static void camera_offline_raises_after_s_and_clears_when_back(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"hysteresis\": {\"clear_after\": 0}, \"rules\": [{\"name\": \"down\","
                        " \"kind\": \"camera_offline\", \"cameras\": [\"t0\"], \"after_s\": 2}]}");
    scene s;
    scene_init(&s);
    s.cams[0].present = false; /* m0 is not watched */
    s.cams[1].present = false;
    double t = 0;
    for (int i = 0; i < 16; i++, t += 0.125)
        update(a, &s, t);
    assert_int_equal(nevents, 0); /* 1.875 s */
    update(a, &s, t);
    assert_int_equal(nevents, 1);
    assert_string_equal(events[0].camera, "t0");
    assert_int_equal(events[0].kind, VT_ALERT_CAMERA_OFFLINE);
    assert_near(events[0].value, 2.0, 1e-9);
    assert_int_equal(events[0].track, 0);
    s.cams[1].present = true;
    update(a, &s, t + 0.125);
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    assert_string_equal(events[1].camera, "t0");
    vt_alerts_free(a);
}

static void camera_offline_defaults_to_every_camera(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"rules\": [{\"name\": \"down\", \"kind\": \"camera_offline\"}]}");
    scene s;
    scene_init(&s);
    s.cams[2].present = false;
    for (int i = 0; i <= 30; i++)
        update(a, &s, i * 0.1);
    assert_int_equal(nevents, 1);
    assert_string_equal(events[0].camera, "m1");
    vt_alerts_free(a);
}

static void fps_floor_uses_pipeline_time_over_a_full_window(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"hysteresis\": {\"clear_after\": 0}, \"rules\": [{\"name\": \"slow\","
                        " \"kind\": \"fps\", \"min\": 20, \"window_s\": 2}]}");
    scene s;
    scene_init(&s);
    double t = 0;
    for (int i = 0; i < 120; i++, t += 1.0 / 30) /* 4 s at 30 fps */
        update(a, &s, t);
    assert_int_equal(nevents, 0);
    for (int i = 0; i < 30; i++, t += 0.1) /* 3 s at 10 fps */
        update(a, &s, t);
    assert_int_equal(nevents, 1);
    assert_true(events[0].raised);
    assert_int_equal(events[0].kind, VT_ALERT_FPS);
    assert_true(events[0].value < 20);
    for (int i = 0; i < 90; i++, t += 1.0 / 30)
        update(a, &s, t);
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    assert_true(events[1].value >= 20);
    vt_alerts_free(a);

    /* A slow start is not judged before the window is full. */
    a = make(
        "{\"rules\": [{\"name\": \"slow\", \"kind\": \"fps\", \"min\": 20, \"window_s\": 5}]}");
    for (int i = 0; i < 40; i++)
        update(a, &s, 10 + i * 0.1); /* 10 fps for 3.9 s */
    assert_int_equal(nevents, 0);
    for (int i = 40; i < 60; i++)
        update(a, &s, 10 + i * 0.1);
    assert_int_equal(nevents, 1);
    vt_alerts_free(a);
}

static void latency_ceiling_on_p99_and_on_mean(void **state)
{
    (void)state;
    vt_alerts *p99 = make("{\"hysteresis\": {\"clear_after\": 0}, \"rules\": [{\"name\": \"lag\","
                          " \"kind\": \"latency\", \"max_ms\": 100, \"window_s\": 10}]}");
    scene s;
    scene_init(&s);
    /* 200 sets of 10 ms and 2 of 500 ms (1 %): the p99 of 202 values is the 200th = 10 ms. */
    int i = 0;
    for (; i < 202; i++) {
        s.seconds = i >= 200 ? 0.5 : 0.01;
        update(p99, &s, i * 0.05);
    }
    assert_int_equal(nevents, 0);
    s.seconds = 0.5; /* a third slow one: now the 201st of 203 is 500 ms */
    update(p99, &s, i * 0.05);
    assert_int_equal(nevents, 1);
    assert_near(events[0].value, 500, 1e-9);
    assert_non_null(strstr(events[0].message, "p99"));
    vt_alerts_free(p99);

    vt_alerts *mean = make("{\"rules\": [{\"name\": \"lag\", \"kind\": \"latency\", "
                           "\"max_ms\": 100, \"stat\": \"mean\", \"window_s\": 1}]}");
    s.seconds = 0.05;
    update(mean, &s, 0);
    s.seconds = 0.2; /* mean (50 + 200) / 2 = 125 ms */
    update(mean, &s, 0.1);
    assert_int_equal(nevents, 1);
    assert_near(events[0].value, 125, 1e-9);
    vt_alerts_free(mean);
}

static void update_refuses_time_going_back(void **state)
{
    (void)state;
    vt_alerts *a = make(square_zone);
    scene s;
    scene_init(&s);
    update(a, &s, 1.0);
    vt_pipeline_result r;
    memset(&r, 0, sizeof r);
    r.t = 0.5;
    r.frame = 9;
    assert_int_equal(vt_alerts_update(a, &r), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "frame set 9"));
    vt_alerts_free(a);
}

static void restart_clears_zone_alerts_and_carries_camera_timers_over(void **state)
{
    (void)state;
    vt_alerts *a =
        make("{\"hysteresis\": {\"clear_after\": 0}, \"rules\": [{\"name\": \"sq\","
             " \"kind\": \"zone\", \"polygon\": [[0, 0], [100, 0], [100, 100], [0, 100]],"
             " \"altitude\": [0, 200]}, {\"name\": \"down\", \"kind\": "
             "\"camera_offline\", \"cameras\": [\"t0\"], \"after_s\": 2}]}");
    scene s;
    scene_init(&s);
    s.cams[1].present = false;
    scene_track(&s, 7, 50, 50, 100);
    double t = 10.0;
    for (int i = 0; i < 8; i++, t += 0.125) /* t0 offline for 0.875 s */
        update(a, &s, t);
    assert_int_equal(nevents, 1); /* track 7 in the zone */
    assert_true(events[0].raised);
    vt_alerts_restart(a, 0.0); /* a new run: time and track ids start again */
    assert_int_equal(nevents, 2);
    assert_false(events[1].raised);
    assert_int_equal(events[1].track, 7);
    scene_drop(&s, 7);
    scene_track(&s, 7, 500, 500, 100); /* the new run's track 7 is elsewhere */
    t = 0.0;
    for (int i = 0; i < 8; i++, t += 0.125) /* 0.875 + 0.875 s: not yet 2 s */
        update(a, &s, t);
    assert_int_equal(nevents, 2);
    for (int i = 0; i < 3; i++, t += 0.125)
        update(a, &s, t);
    assert_int_equal(nevents, 3); /* 2 s of t0 offline, across the restart */
    assert_int_equal(events[2].kind, VT_ALERT_CAMERA_OFFLINE);
    assert_near(events[2].value, 2.0, 1e-9);
    vt_alerts_free(a);
}

/* ---- the watchdog: frame sets that stop ------------------------------------------------ */

/* Frame sets at `fps` from t0 for n sets; the fake clock is pipeline time, ticked after each. */
static double flow(vt_alerts *a, scene *s, double t0, int n, double fps)
{
    double t = t0;
    for (int i = 0; i < n; i++, t = t0 + i / fps) {
        update(a, s, t);
        assert_int_equal(vt_alerts_tick(a, t), VT_OK);
    }
    return t;
}

/* Ticks at 4 Hz from `from` (exclusive) to `to` (inclusive). */
static void ticks(vt_alerts *a, double from, double to)
{
    for (double now = from + 0.25; now <= to + 1e-9; now += 0.25)
        assert_int_equal(vt_alerts_tick(a, now), VT_OK);
}

static const char *stall_rules =
    "{\"hysteresis\": {\"clear_after\": 0.5}, \"rules\": ["
    "{\"name\": \"down\", \"kind\": \"camera_offline\", \"after_s\": 2},"
    "{\"name\": \"slow\", \"kind\": \"fps\", \"min\": 20, \"window_s\": 2}]}";

static void watchdog_raises_camera_offline_and_fps_when_frame_sets_stop(void **state)
{
    (void)state;
    vt_alerts *a = make(stall_rules);
    scene s;
    scene_init(&s);
    double last = flow(a, &s, 0, 90, 30) - 1.0 / 30; /* 3 s at 30 fps */
    assert_int_equal(nevents, 0);
    ticks(a, last, last + 0.75); /* under stall_s (1 s): silent */
    assert_int_equal(nevents, 0);
    ticks(a, last + 0.75, last + 1.0); /* 1 s: the window's rate fell under 20/s at 0.7 s */
    assert_int_equal(nevents, 1);
    assert_int_equal(events[0].kind, VT_ALERT_FPS);
    assert_true(events[0].raised);
    assert_near(events[0].stalled, 1.0, 1e-9);
    assert_near(events[0].t, last + 1.0, 1e-9);
    assert_true(events[0].value < 20);
    assert_non_null(strstr(events[0].message, "no frame set for 1.0 s"));
    ticks(a, last + 1.0, last + 1.75);
    assert_int_equal(nevents, 1);
    ticks(a, last + 1.75, last + 2.0); /* after_s: every camera is offline */
    assert_int_equal(nevents, 4);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(events[i].kind, VT_ALERT_CAMERA_OFFLINE);
        assert_true(events[i].raised);
        assert_near(events[i].value, 2.0, 1e-9);
        assert_near(events[i].stalled, 2.0, 1e-9);
    }
    assert_string_equal(events[3].camera, "m1");
    ticks(a, last + 2.0, last + 30); /* no double raise */
    assert_int_equal(nevents, 4);

    /* Frame sets again (pipeline time went on with the clock): cleared after 0.5 s. */
    double t = last + 30.25;
    t = flow(a, &s, t, 15, 30);
    assert_int_equal(nevents, 4);
    t = flow(a, &s, t, 15, 30);
    assert_int_equal(nevents, 7);
    for (int i = 4; i < 7; i++) {
        assert_int_equal(events[i].kind, VT_ALERT_CAMERA_OFFLINE);
        assert_false(events[i].raised);
        assert_near(events[i].stalled, 0, 0);
    }
    flow(a, &s, t, 60, 30); /* the fps window fills again: 40 sets in 2 s, then 0.5 s */
    assert_int_equal(nevents, 8);
    assert_int_equal(events[7].kind, VT_ALERT_FPS);
    assert_false(events[7].raised);
    vt_alerts_free(a);
}

static void watchdog_counts_a_camera_missing_before_the_stall(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"repeat_s\": 5, \"rules\": [{\"name\": \"down\", \"kind\": "
                        "\"camera_offline\", \"cameras\": [\"t0\"], \"after_s\": 2}]}");
    scene s;
    scene_init(&s);
    double t = flow(a, &s, 0, 10, 10);
    s.cams[1].present = false; /* t0 missing for 1.5 s of frame sets, then nothing comes */
    double last = flow(a, &s, t, 16, 10) - 0.1;
    ticks(a, last, last + 0.75);
    assert_int_equal(nevents, 0);
    ticks(a, last + 0.75, last + 1.0); /* stall_s; missing 2.5 s by now */
    assert_int_equal(nevents, 1);
    assert_string_equal(events[0].camera, "t0");
    assert_near(events[0].value, 2.5, 1e-9);
    ticks(a, last + 1.0, last + 5.75); /* a reminder 5 s after the raise */
    assert_int_equal(nevents, 1);
    ticks(a, last + 5.75, last + 6.0);
    assert_int_equal(nevents, 2);
    assert_true(events[1].repeat);
    /* Frame sets come back without t0: still the same alert, not a new one. */
    flow(a, &s, last + 6.25, 20, 10);
    assert_int_equal(nevents, 2);
    vt_alerts_free(a);
}

static void watchdog_is_silent_between_frame_sets_and_before_the_first(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"rules\": [{\"name\": \"down\", \"kind\": \"camera_offline\", "
                        "\"after_s\": 0.4}, {\"name\": \"slow\", \"kind\": \"fps\", \"min\": 1,"
                        " \"window_s\": 2}], \"stall_s\": 0.8}");
    ticks(a, 0, 10); /* nothing ever came: no stall */
    assert_int_equal(nevents, 0);
    scene s;
    scene_init(&s);
    for (double t = 10; t < 20; t += 0.5) { /* 2 sets a second, 4 ticks between them */
        update(a, &s, t);
        ticks(a, t - 0.25, t + 0.25);
    }
    assert_int_equal(nevents, 0);
    ticks(a, 19.75, 20.5); /* 1 s since the last set: over stall_s */
    assert_int_equal(nevents, 3);
    ticks(a, 20.5, 20.75); /* the sets of 19 and 19.5 s in the window: 1/s */
    assert_int_equal(nevents, 3);
    ticks(a, 20.75, 21.0); /* 19 s left it */
    assert_int_equal(nevents, 4);
    assert_int_equal(events[3].kind, VT_ALERT_FPS);
    assert_int_equal(vt_alerts_tick(a, 20.9), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "clock went back"));
    vt_alerts_free(a);
}

static void watchdog_thread_raises_on_the_monotonic_clock(void **state)
{
    (void)state;
    vt_alerts *a = make("{\"stall_s\": 0.1, \"rules\": [{\"name\": \"down\", \"kind\": "
                        "\"camera_offline\", \"cameras\": [\"m0\"], \"after_s\": 0.2}]}");
    assert_int_equal(vt_alerts_watchdog(a, -1), VT_EINVAL);
    assert_int_equal(vt_alerts_watchdog(a, 0.02), VT_OK);
    scene s;
    scene_init(&s);
    update(a, &s, 100);
    for (int i = 0; i < 6000 && vt_alerts_stats_get(a).raised == 0; i++) { /* a hang: 60 s */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(vt_alerts_watchdog(a, 0), VT_OK); /* joined: events are ours to read */
    assert_int_equal(vt_alerts_stats_get(a).raised, 1);
    assert_string_equal(events[0].camera, "m0");
    assert_true(events[0].stalled >= 0.2);
    assert_int_equal(vt_alerts_watchdog(a, 0.5), VT_OK); /* vt_alerts_free stops it */
    vt_alerts_free(a);
}

/* ---- bad rules ------------------------------------------------------------------------ */

static void assert_refused(const char *json, const char *message)
{
    vt_alerts *a = NULL;
    vt_status s = vt_alerts_new(json, "alerts.json", &rig3, &a);
    if (s == VT_OK || a || !strstr(vt_last_error(), message)) {
        print_error("status %s, message \"%s\"; expected \"%s\"\n", vt_status_name(s),
                    vt_last_error(), message);
        fail();
    }
}

#define ZONE "\"name\": \"z\", \"kind\": \"zone\", \"polygon\": [[0, 0], [1, 0], [1, 1]]"

static void bad_rules_are_refused_with_origin_rule_and_field(void **state)
{
    (void)state;
    assert_refused("{\"rules\": [", "alerts.json: line 1, column");
    assert_refused("[]", "alerts.json: must be an object");
    assert_refused("{\"rulez\": []}", "alerts.json: unknown field 'rulez'");
    assert_refused("{\"rules\": {}}", "field 'rules' must be an array");
    assert_refused("{\"rules\": [{\"kind\": \"zone\"}]}", "rules[0]: field 'name' is required");
    assert_refused("{\"rules\": [{" ZONE ", \"polgon\": 1}]}",
                   "alerts.json: rules[0] 'z': unknown field 'polgon'");
    assert_refused("{\"rules\": [{\"name\": \"a\", \"kind\": \"zone\"}]}",
                   "rules[0] 'a': field 'polygon' is required");
    assert_refused(
        "{\"rules\": [{\"name\": \"a\", \"kind\": \"zone\", \"polygon\": [[0,0],[1,1]]}]}",
        "field 'polygon' must be an array of at least 3 points");
    assert_refused(
        "{\"rules\": [{\"name\": \"a\", \"kind\": \"zone\", \"polygon\": [[0,0],[1,1],[2]]}]}",
        "field 'polygon[2]' must be a point [x, y]");
    assert_refused(
        "{\"rules\": [{\"name\": \"a\", \"kind\": \"zone\", \"polygon\": [[0,0],[1,1],[2,2]]}]}",
        "has no area");
    assert_refused("{\"rules\": [{" ZONE ", \"altitude\": [10, 0]}]}",
                   "field 'altitude' must be [min, max]");
    assert_refused("{\"rules\": [{" ZONE ", \"classes\": [\"plane\"]}]}", "field 'classes'");
    assert_refused("{\"rules\": [{" ZONE "}, {" ZONE "}]}", "rules[1] 'z': field 'name' is used");
    assert_refused("{\"rules\": [{\"name\": \"a\", \"kind\": \"zoo\"}]}",
                   "rules[0] 'a': field 'kind' must be");
    assert_refused("{\"rules\": [{\"name\": \"c\", \"kind\": \"camera_offline\", "
                   "\"cameras\": [\"m9\"]}]}",
                   "rules[0] 'c': field 'cameras' names camera 'm9', which is not in the rig");
    assert_refused("{\"rules\": [{\"name\": \"f\", \"kind\": \"fps\"}]}",
                   "rules[0] 'f': field 'min' is required");
    assert_refused("{\"rules\": [{\"name\": \"f\", \"kind\": \"fps\", \"min\": -1}]}",
                   "field 'min' must be a number in");
    assert_refused("{\"rules\": [{\"name\": \"l\", \"kind\": \"latency\", \"max_ms\": 5, "
                   "\"stat\": \"p50\"}]}",
                   "field 'stat' must be");
    assert_refused("{\"rules\": [{" ZONE ", \"hysteresis\": {\"raise\": 1}}]}",
                   "rules[0] 'z': hysteresis: unknown field 'raise'");
    assert_refused("{\"rules\": [{\"name\": \"a\\nb\", \"kind\": \"fps\", \"min\": 1}]}",
                   "control characters");
    assert_refused("{\"channels\": [{\"kind\": \"webhook\", \"url\": \"ftp://x\"}]}",
                   "channels[0] (webhook): field 'url' must start with http:// or https://");
    assert_refused("{\"channels\": [{\"kind\": \"webhook\"}]}",
                   "channels[0] (webhook): field 'url' is required");
    assert_refused("{\"channels\": [{\"kind\": \"email\", \"url\": \"smtp://h\", "
                   "\"from\": \"a@b\"}]}",
                   "channels[0] (email): field 'to' is required");
    assert_refused("{\"channels\": [{\"kind\": \"email\", \"url\": \"smtp://h\", "
                   "\"from\": \"a@b\", \"to\": [\"x@y>\\r\\nRCPT\"]}]}",
                   "field 'to' must hold non-empty strings");
    assert_refused("{\"channels\": [{\"kind\": \"sms\", \"url\": \"http://h\", \"to\": [\"1\"], "
                   "\"format\": \"xml\"}]}",
                   "channels[0] (sms): field 'format'");
    assert_refused("{\"channels\": [{\"kind\": \"pager\"}]}", "channels[0] (pager): field 'kind'");
    assert_refused("{\"channels\": [{\"kind\": \"email\", \"url\": \"smtp://h\", "
                   "\"from\": \"a@b\", \"to\": [\"c@d\"], \"starttls\": \"yes\"}]}",
                   "channels[0] (email): field 'starttls' must be");
    assert_refused("{\"channels\": [{\"kind\": \"webhook\", \"url\": \"http://h\", "
                   "\"retries\": 1.5}]}",
                   "field 'retries' must be a whole number");
    assert_refused("{\"channels\": [{\"kind\": \"webhook\", \"url\": \"http://h\", "
                   "\"headers\": {\"X-A\": \"1\\r\\nX-B: 2\"}}]}",
                   "field 'headers'");
    assert_refused("{\"stall_s\": 0}", "alerts.json: field 'stall_s' must be a number in");
}

static void zone_polygon_wgs84_is_converted_with_the_rigs_origin(void **state)
{
    (void)state;
    const char *json = "{\"rules\": [{\"name\": \"geo\", \"kind\": \"zone\", \"polygon_wgs84\": "
                       "[[51.499, -0.001], [51.499, 0.001], [51.501, 0.001], [51.501, -0.001]]}]}";
    vt_alerts *a = NULL;
    assert_int_equal(vt_alerts_new(json, "geo.json", &rig3, &a), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "needs a rig with a geodetic origin"));
    rig3.has_origin = true;
    rig3.lat_deg = 51.5;
    rig3.lon_deg = 0;
    rig3.height_m = 30;
    a = make(json);
    rig3.has_origin = false;
    scene s;
    scene_init(&s);
    scene_track(&s, 1, 60, 100, 50); /* 0.001 deg of longitude is 69.4 m here... */
    scene_track(&s, 2, 75, 100, 50); /* ...so this one is out */
    scene_track(&s, 3, 0, 105, 50);  /* 0.001 deg of latitude is 111.3 m */
    scene_track(&s, 4, 0, -115, 50);
    update(a, &s, 0);
    assert_int_equal(nevents, 2);
    assert_int_equal(events[0].track, 1);
    assert_int_equal(events[1].track, 3);
    vt_alerts_free(a);
}

static void camera_rules_need_a_rig_to_default_to_all(void **state)
{
    (void)state;
    vt_alerts *a = NULL;
    assert_int_equal(vt_alerts_new("{\"rules\": [{\"name\": \"c\", \"kind\": \"camera_offline\"}]}",
                                   "x.json", NULL, &a),
                     VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "no rig"));
    assert_int_equal(vt_alerts_new("{\"rules\": []}", "x.json", NULL, &a), VT_OK);
    vt_alerts_free(a);
    vt_alerts_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(point_in_polygon_handles_a_concave_u_shape),
        cmocka_unit_test(point_in_polygon_counts_edges_and_vertices_as_inside),
        cmocka_unit_test(point_in_polygon_agrees_with_a_triangle_fan_on_random_points),
        cmocka_unit_test(zone_raises_once_with_the_track_and_clears_after_it_left),
        cmocka_unit_test(zone_flicker_at_the_edge_raises_once),
        cmocka_unit_test(zone_raise_after_needs_the_track_inside_that_long),
        cmocka_unit_test(zone_ignores_tentative_tracks_birds_and_other_altitudes),
        cmocka_unit_test(zone_alert_clears_when_the_track_vanishes),
        cmocka_unit_test(zone_repeat_s_sends_reminders_while_active),
        cmocka_unit_test(camera_offline_raises_after_s_and_clears_when_back),
        cmocka_unit_test(camera_offline_defaults_to_every_camera),
        cmocka_unit_test(fps_floor_uses_pipeline_time_over_a_full_window),
        cmocka_unit_test(latency_ceiling_on_p99_and_on_mean),
        cmocka_unit_test(update_refuses_time_going_back),
        cmocka_unit_test(restart_clears_zone_alerts_and_carries_camera_timers_over),
        cmocka_unit_test(watchdog_raises_camera_offline_and_fps_when_frame_sets_stop),
        cmocka_unit_test(watchdog_counts_a_camera_missing_before_the_stall),
        cmocka_unit_test(watchdog_is_silent_between_frame_sets_and_before_the_first),
        cmocka_unit_test(watchdog_thread_raises_on_the_monotonic_clock),
        cmocka_unit_test(bad_rules_are_refused_with_origin_rule_and_field),
        cmocka_unit_test(zone_polygon_wgs84_is_converted_with_the_rigs_origin),
        cmocka_unit_test(camera_rules_need_a_rig_to_default_to_all),
    };
    return cmocka_run_group_tests(tests, rig_setup, rig_teardown);
}
