/*
 * tests/test_scenario.c - scenarios: parsing and validation (every refusal
 * names the JSON path), trajectories (limits, waypoints, exact velocity),
 * determinism by seed, the presets' camera coverage, frame timing and drops,
 * and the IMU of a platform at rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "voxtrack/sim.h"
#include "vt_test.h"

/* One pair, one drone with a hover, a turn and a climb, in a 200 m world. */
static const char *MINIMAL =
    "{\"seed\": 7,\n"
    " \"world\": {\"extent\": {\"min\": [-100, -100, 0], \"max\": [100, 100, 100]},\n"
    "           \"sky\": {\"mono\": {\"level\": 170, \"hot_fraction\": 0}}},\n"
    " \"cameras\": {\"fps\": 30, \"frames\": 10, \"pairs\": [\n"
    "   {\"position\": [0, -300, 2], \"look_at\": [0, 0, 50],\n"
    "    \"mono\": {\"width\": 320, \"height\": 240, \"hfov_deg\": 60, \"drop_prob\": 0},\n"
    "    \"thermal\": {\"width\": 160, \"height\": 128, \"fx\": 150}}]},\n"
    " \"targets\": {\"drones\": [{\"size\": 0.5, \"speed\": 12, \"accel\": 3,\n"
    "   \"waypoints\": [[0, 0, 50], [60, 0, 50], {\"hover\": 1.5}, [60, 40, 70],\n"
    "                 {\"turn_deg\": 90, \"radius\": 20}, {\"climb\": -10}, [-50, -50, 30]]}],\n"
    "   \"birds\": {\"count\": 2}, \"glints\": {\"count\": 1, \"interval\": 0.5}}}\n";

/* MINIMAL with the first occurrence of `from` replaced by `to` (static buffer). */
static const char *with(const char *from, const char *to)
{
    static char buf[4096];
    const char *at = strstr(MINIMAL, from);
    assert_non_null(at);
    size_t head = (size_t)(at - MINIMAL);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)head, MINIMAL, to, at + strlen(from));
    return buf;
}

static void expect_error(const char *json, const char *fragment)
{
    vt_scenario *s = (vt_scenario *)1;
    vt_status st = vt_scenario_parse(json, "test.json", &s);
    if (st == VT_OK || !strstr(vt_last_error(), fragment) || !strstr(vt_last_error(), "test.json"))
        print_error("status %d, message '%s', expected '%s'\n", st, vt_last_error(), fragment);
    assert_int_not_equal(st, VT_OK);
    assert_null(s);
    assert_non_null(strstr(vt_last_error(), fragment));
}

static vt_scenario *parse_ok(const char *json)
{
    vt_scenario *s = NULL;
    vt_status st = vt_scenario_parse(json, "test.json", &s);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    return s;
}

/* ---- parsing ------------------------------------------------------------ */

static void minimal_scenario_parses(void **state)
{
    (void)state;
    vt_scenario *s = parse_ok(MINIMAL);
    assert_int_equal(vt_scenario_frames(s), 10);
    assert_near(vt_scenario_fps(s), 30.0, 0);
    assert_int_equal(vt_scenario_seed(s), 7);
    assert_int_equal(vt_scenario_target_count(s), 4);
    const vt_rig *rig = vt_scenario_rig(s);
    assert_int_equal(rig->count, 2);
    assert_string_equal(rig->cameras[0].id, "m0");
    assert_string_equal(rig->cameras[1].id, "t0");
    assert_int_equal(rig->cameras[1].modality, VT_MODALITY_THERMAL);
    assert_int_equal(rig->cameras[1].bits, 16);
    assert_near(rig->cameras[1].cam.fx, 150, 0);
    assert_near(rig->cameras[0].cam.fx, 160.0 / tan(VT_PI / 6), 1e-9);
    /* look_at: the aim point projects to the image centre. */
    double u, v;
    assert_true(vt_camera_world_to_pixel(&rig->cameras[0].cam, vt_v3(0, 0, 50), &u, &v));
    assert_near(u, 159.5, 1e-6);
    assert_near(v, 119.5, 1e-6);
    assert_false(vt_scenario_has_platforms(s));
    vt_vec3 lo, hi;
    vt_scenario_volume(s, &lo, &hi);
    assert_near(lo.x, -100, 0);
    assert_near(hi.z, 100, 0);
    vt_render_opts ro = vt_scenario_render_opts(s);
    assert_near(ro.mono.level, 170, 0);
    assert_int_equal(ro.seed, 7);
    vt_scenario_free(s);
    vt_scenario_free(NULL);
}

static void malformed_json_reports_line_and_column(void **state)
{
    (void)state;
    expect_error("{\"world\": {\n  \"extent\": ,\n}", "line 2, column");
    expect_error(with("\"seed\": 7,", "\"seed\": 7, \"seed\": 8,"), "line 1");
}

static void unknown_fields_are_refused_with_their_path(void **state)
{
    (void)state;
    expect_error(with("\"seed\"", "\"sede\""), "sede: unknown field");
    expect_error(with("\"speed\": 12", "\"sped\": 12"), "targets.drones[0].sped: unknown field");
    expect_error(with("\"hfov_deg\": 60", "\"hfov\": 60"), "cameras.pairs[0].mono.hfov");
    expect_error(with("\"level\": 170", "\"levle\": 170"), "world.sky.mono.levle");
    expect_error(with("{\"count\": 2}", "{\"count\": 2, \"colour\": 1}"), "targets.birds.colour");
    char json[4096];
    const char *targets = strstr(MINIMAL, "\"targets\"");
    snprintf(json, sizeof json, "%.*s%s", (int)(targets - MINIMAL), MINIMAL,
             "\"targets\": {\"drones\": {\"count\": 3, \"random\": {\"sizes\": [0.2, 0.3]}}}}");
    expect_error(json, "targets.drones.random.sizes: unknown field");
}

static void impossible_values_are_refused_with_their_path(void **state)
{
    (void)state;
    expect_error(with("\"size\": 0.5", "\"size\": -0.5"), "targets.drones[0].size");
    expect_error(with("\"size\": 0.5", "\"size\": 1.5"), "targets.drones[0].size");
    expect_error(with("\"size\": 0.5", "\"size\": 0.1"), "targets.drones[0].size");
    expect_error(with("\"fx\": 150", "\"fx\": 0"), "cameras.pairs[0].thermal.fx");
    expect_error(with("\"hfov_deg\": 60", "\"hfov_deg\": 0"), "cameras.pairs[0].mono.hfov_deg");
    expect_error(with("\"hfov_deg\": 60", "\"hfov_deg\": 60, \"fx\": 100"),
                 "cameras.pairs[0].mono");
    expect_error(with("\"width\": 320", "\"width\": -320"), "cameras.pairs[0].mono.width");
    expect_error(with("\"fps\": 30", "\"fps\": 0"), "cameras.fps");
    expect_error(with("\"fps\": 30", "\"fps\": -5"), "cameras.fps");
    expect_error(with("\"frames\": 10", "\"frames\": 0"), "cameras.frames");
    expect_error(with("\"drop_prob\": 0", "\"drop_prob\": 1.5"), "cameras.pairs[0].mono.drop_prob");
    expect_error(with("\"drop_prob\": 0", "\"jitter\": 0.5"), "cameras.pairs[0].mono.jitter");
    expect_error(with("\"hot_fraction\": 0", "\"hot_fraction\": -0.1"),
                 "world.sky.mono.hot_fraction");
    expect_error(with("{\"count\": 2}", "{\"count\": -2}"), "targets.birds.count");
    expect_error(with("\"max\": [100, 100, 100]", "\"max\": [100, -200, 100]"), "world.extent");
    expect_error(with("\"look_at\": [0, 0, 50]", "\"look_at\": [0, -300, 50]"),
                 "cameras.pairs[0].look_at");
    expect_error(with("\"hover\": 1.5", "\"hover\": -1"), "targets.drones[0].waypoints[2].hover");
    expect_error(with("{\"hover\": 1.5}", "{\"hover\": 1, \"climb\": 2}"),
                 "targets.drones[0].waypoints[2]");
    expect_error(with("\"position\": [0, -300, 2], ", ""), "cameras.pairs[0]");
}

static void waypoints_outside_the_world_are_refused(void **state)
{
    (void)state;
    expect_error(with("[60, 0, 50]", "[600, 0, 50]"), "targets.drones[0].waypoints[1]");
    expect_error(with("[[0, 0, 50]", "[[0, 0, -5]"), "targets.drones[0].waypoints[0]");
    /* The turn itself swings out of the world: the turn is named. */
    expect_error(with("\"radius\": 20", "\"radius\": 90"), "targets.drones[0].waypoints[4]");
    expect_error(with("{\"climb\": -10}", "{\"climb\": 100}"), "targets.drones[0].waypoints[5]");
}

static void bad_arguments_fail_cleanly(void **state)
{
    (void)state;
    vt_scenario *s = (vt_scenario *)1;
    assert_int_equal(vt_scenario_preset("nope", &s), VT_ENOENT);
    assert_null(s);
    assert_non_null(strstr(vt_last_error(), "nope"));
    assert_int_equal(vt_scenario_load("/nonexistent/scenario.json", &s), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "/nonexistent/scenario.json"));
    assert_int_not_equal(vt_scenario_parse(NULL, "x", &s), VT_OK);
    assert_int_not_equal(vt_scenario_parse("[]", "x", &s), VT_OK);
    s = parse_ok(MINIMAL);
    assert_int_not_equal(vt_scenario_set_frames(s, 0), VT_OK);
    vt_camera cam;
    assert_int_not_equal(vt_scenario_camera_at(s, 2, 0.0, &cam), VT_OK);
    assert_int_not_equal(vt_scenario_camera_at(s, -1, 0.0, &cam), VT_OK);
    double t;
    assert_false(vt_scenario_frame_time(s, 5, 0, &t));
    vt_scenario_free(s);
}

/* ---- trajectories ------------------------------------------------------- */

static void drone_respects_its_limits_and_visits_its_waypoints(void **state)
{
    (void)state;
    vt_scenario *s = parse_ok(MINIMAL);
    const vt_vec3 wp[] = {{0, 0, 50}, {60, 0, 50}, {60, 40, 70}, {-50, -50, 30}};
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    const double dt = 1e-3, vmax = 12, amax = 3;
    vt_target_truth first[4], prev, cur;
    vt_scenario_targets(s, 0.0, NULL, first);
    prev = first[0];
    for (int k = 1; k < 120000; k++) {
        vt_target_truth all[4];
        vt_scenario_targets(s, k * dt, NULL, all);
        cur = all[0];
        assert_true(vt_v3_norm(cur.vel) <= vmax + 1e-9);
        double acc = vt_v3_norm(vt_v3_sub(cur.vel, prev.vel)) / dt;
        if (acc > amax + 1e-6)
            print_error("t = %g: acceleration %g\n", k * dt, acc);
        assert_true(acc <= amax + 1e-6);
        assert_true(vt_v3_norm(vt_v3_sub(cur.pos, prev.pos)) <= vmax * dt + 1e-9);
        for (int w = 0; w < 4; w++)
            best[w] = fmin(best[w], vt_v3_norm(vt_v3_sub(cur.pos, wp[w])));
        prev = cur;
    }
    /* A waypoint is passed at rest: a sample lands within a_max dt^2 / 2 of it. */
    for (int w = 0; w < 4; w++)
        assert_near(best[w], 0.0, 0.5 * amax * dt * dt + 1e-9);
    /* At the end it rests at the last waypoint. */
    assert_near(vt_v3_norm(cur.vel), 0.0, 1e-12);
    vt_scenario_free(s);
}

static void velocity_is_the_derivative_of_position(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_preset("small", &s), VT_OK);
    size_t n = vt_scenario_target_count(s);
    vt_target_truth *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b), *c = calloc(n, sizeof *c);
    const double h = 1e-5;
    vt_test_seed(11);
    for (int k = 0; k < 200; k++) {
        double t = vt_test_uniform(0.0, 2.1);
        vt_scenario_targets(s, t - h, NULL, a);
        vt_scenario_targets(s, t, NULL, b);
        vt_scenario_targets(s, t + h, NULL, c);
        for (size_t i = 0; i < n; i++) {
            if (b[i].kind == VT_TARGET_GLINT)
                continue;
            vt_vec3 d = vt_v3_scale(vt_v3_sub(c[i].pos, a[i].pos), 0.5 / h);
            assert_near(vt_v3_norm(vt_v3_sub(d, b[i].vel)), 0.0, 1e-3);
        }
    }
    free(a);
    free(b);
    free(c);
    vt_scenario_free(s);
}

static void birds_are_erratic_flapping_and_warm(void **state)
{
    (void)state;
    vt_scenario *s = parse_ok(MINIMAL);
    vt_render_target r[4];
    vt_target_truth tr[4];
    double lo = 1e9, hi = -1e9, mono_lo = 1e9, mono_hi = -1e9;
    for (int f = 0; f < 300; f++) {
        vt_scenario_targets(s, f / 30.0, r, tr);
        assert_int_equal(tr[1].kind, VT_TARGET_BIRD);
        assert_int_equal(tr[1].id, 1);
        double sp = vt_v3_norm(tr[1].vel);
        lo = fmin(lo, sp);
        hi = fmax(hi, sp);
        mono_lo = fmin(mono_lo, r[1].mono);
        mono_hi = fmax(mono_hi, r[1].mono);
        assert_true(r[1].mono < 170);      /* darker than the sky */
        assert_true(r[1].thermal > 10000); /* warmer than the thermal sky */
        assert_true(r[0].mono < 170 && r[0].thermal > 8000);
    }
    assert_true(lo > 6.0 && hi < 16.0 && hi - lo > 0.5);
    assert_true(mono_hi - mono_lo > 20.0);
    vt_scenario_free(s);
}

static void glints_flash_briefly_in_mono_only(void **state)
{
    (void)state;
    vt_scenario *s = parse_ok(MINIMAL);
    assert_int_equal(vt_scenario_set_frames(s, 600), VT_OK); /* flashes are drawn for 20 s */
    vt_render_target r[4];
    vt_target_truth tr[4];
    int on = 0, run = 0, longest = 0;
    for (int f = 0; f < 600; f++) {
        vt_scenario_targets(s, f / 30.0, r, tr);
        assert_int_equal(r[3].kind, VT_TARGET_GLINT);
        assert_true(r[3].thermal < 0.0f);
        bool lit = tr[3].size > 0.0;
        assert_true(r[3].semi.x > 0.0); /* always drawable, a speck when off */
        assert_true(lit == (r[3].semi.x > 1e-3));
        if (lit)
            assert_true(r[3].mono > 200);
        on += lit;
        run = lit ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    assert_true(on > 10);
    assert_true(longest <= 5);
    vt_scenario_free(s);
}

/* ---- determinism -------------------------------------------------------- */

static void same_seed_same_scenario_other_seed_other(void **state)
{
    (void)state;
    vt_scenario *a = NULL, *b = NULL;
    assert_int_equal(vt_scenario_preset("small", &a), VT_OK);
    assert_int_equal(vt_scenario_preset("small", &b), VT_OK);
    size_t n = vt_scenario_target_count(a);
    assert_int_equal(n, 5 + 2 + 2);
    vt_render_target ra[16], rb[16];
    double ta, tb;
    vt_scenario_targets(a, 1.234, ra, NULL);
    vt_scenario_targets(b, 1.234, rb, NULL);
    assert_memory_equal(ra, rb, n * sizeof *ra);
    for (int c = 0; c < 6; c++)
        for (int f = 0; f < 64; f++) {
            assert_true(vt_scenario_frame_time(a, c, f, &ta) ==
                        vt_scenario_frame_time(b, c, f, &tb));
            assert_true(ta == tb);
        }
    assert_int_equal(vt_scenario_set_seed(b, 99), VT_OK);
    assert_int_equal(vt_scenario_seed(b), 99);
    vt_scenario_targets(b, 1.234, rb, NULL);
    for (size_t i = 0; i < 5; i++)
        assert_true(vt_v3_norm(vt_v3_sub(ra[i].pos, rb[i].pos)) > 1e-3);
    vt_scenario_frame_time(a, 1, 3, &ta);
    vt_scenario_frame_time(b, 1, 3, &tb);
    assert_true(ta != tb);
    /* More frames only append: the first seconds stay as they were. */
    assert_int_equal(vt_scenario_set_seed(b, vt_scenario_seed(a)), VT_OK);
    assert_int_equal(vt_scenario_set_frames(b, 2000), VT_OK);
    vt_scenario_targets(b, 1.234, rb, NULL);
    assert_memory_equal(ra, rb, n * sizeof *ra);
    vt_scenario_free(a);
    vt_scenario_free(b);
}

/* ---- presets ------------------------------------------------------------ */

/* The fraction of drone-frames inside at least `need` cameras' images. */
static double coverage(const vt_scenario *s, int need, int64_t frames)
{
    const vt_rig *rig = vt_scenario_rig(s);
    size_t n = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(n, sizeof *tr);
    assert_non_null(tr);
    size_t seen = 0, total = 0;
    for (int64_t f = 0; f < frames; f++) {
        vt_scenario_targets(s, (double)f / vt_scenario_fps(s), NULL, tr);
        for (size_t i = 0; i < n; i++) {
            if (tr[i].kind != VT_TARGET_DRONE)
                continue;
            int count = 0;
            for (int c = 0; c < rig->count; c++) {
                double u, v;
                const vt_camera *cam = &rig->cameras[c].cam;
                count += vt_camera_world_to_pixel(cam, tr[i].pos, &u, &v) &&
                         vt_camera_in_image(cam, u, v);
            }
            seen += count >= need;
            total++;
        }
    }
    free(tr);
    return (double)seen / (double)total;
}

static void default_preset_sees_every_drone_from_three_cameras(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_preset("default", &s), VT_OK);
    const vt_rig *rig = vt_scenario_rig(s);
    assert_int_equal(rig->count, 20);
    assert_int_equal(rig->cameras[0].cam.width, 1920);
    assert_int_equal(rig->cameras[1].cam.width, 640);
    assert_int_equal(vt_scenario_frames(s), 300);
    assert_near(vt_scenario_fps(s), 30, 0);
    assert_true(vt_scenario_target_count(s) >= 220);
    double c3 = coverage(s, 3, 300);
    if (c3 < 0.95)
        print_error("default: %.4f of drone-frames in >= 3 cameras\n", c3);
    assert_true(c3 >= 0.95);
    vt_scenario_free(s);
}

static void small_preset_sees_every_drone_from_four_cameras(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_preset("small", &s), VT_OK);
    assert_int_equal(vt_scenario_rig(s)->count, 6);
    assert_int_equal(vt_scenario_frames(s), 64);
    double c4 = coverage(s, 4, 64);
    if (c4 < 0.95)
        print_error("small: %.4f of drone-frames in >= 4 cameras\n", c4);
    assert_true(c4 >= 0.95);
    vt_scenario_free(s);
}

/* "glint": small's geometry with 640x512 thermal cameras and 30 glints drawn darker than the sky. */
static void the_glint_preset_adds_dark_mono_only_glints(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_preset("glint", &s), VT_OK);
    const vt_rig *rig = vt_scenario_rig(s);
    assert_int_equal(rig->count, 6);
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].modality == VT_MODALITY_THERMAL)
            assert_int_equal(rig->cameras[i].cam.width, 640);
    size_t n = vt_scenario_target_count(s), glints = 0;
    vt_render_target *t = calloc(n, sizeof *t);
    assert_non_null(t);
    vt_scenario_targets(s, 1.0, t, NULL);
    for (size_t i = 0; i < n; i++)
        if (t[i].kind == VT_TARGET_GLINT) {
            glints++;
            assert_true(t[i].mono < 100.0f && t[i].thermal < 0.0f);
        }
    assert_int_equal(glints, 30);
    free(t);
    vt_scenario_free(s);
}

static void the_8k_preset_is_the_default_scene_at_8k(void **state)
{
    (void)state;
    vt_scenario *s = NULL;
    const char *const *names = vt_scenario_preset_names();
    assert_string_equal(names[0], "default");
    assert_string_equal(names[3], "moving");
    assert_string_equal(names[4], "glint");
    assert_null(names[5]);
    assert_int_equal(vt_scenario_preset("8k", &s), VT_OK);
    assert_int_equal(vt_scenario_rig(s)->cameras[0].cam.width, 7680);
    assert_int_equal(vt_scenario_rig(s)->cameras[0].cam.height, 4320);
    assert_int_equal(vt_scenario_frames(s), 3);
    vt_scenario_free(s);
}

/* ---- timing ------------------------------------------------------------- */

static void frames_drop_at_the_configured_rate(void **state)
{
    (void)state;
    vt_scenario *s = parse_ok(with("\"drop_prob\": 0", "\"drop_prob\": 0.1, \"jitter\": 0.001, "
                                                       "\"clock_offset\": 0.004"));
    int dropped = 0, n = 20000;
    double last = -1.0;
    for (int f = 0; f < n; f++) {
        double t;
        dropped += !vt_scenario_frame_time(s, 0, f, &t);
        assert_true(fabs(t - f / 30.0 - 0.004) <= 0.004 + 1e-12); /* jitter clamped to 4 sigma */
        assert_true(t > last);
        last = t;
    }
    /* Binomial(20000, 0.1): sigma = 42. */
    assert_true(abs(dropped - 2000) < 200);
    /* The thermal camera drops nothing and runs on the nominal clock. */
    for (int f = 0; f < 100; f++) {
        double t;
        assert_true(vt_scenario_frame_time(s, 1, f, &t));
        assert_near(t, f / 30.0, 1e-12);
    }
    vt_scenario_free(s);
}

/* ---- platforms ---------------------------------------------------------- */

static const char *PLATFORM =
    "\"platform\": {\"waypoints\": [[0, -300, 2]], \"sway_deg\": 0,"
    " \"imu\": {\"gyro_noise\": 0, \"gyro_bias\": 0, \"accel_noise\": 0, \"accel_bias\": 0}}, ";

static char *tmp_dir(char *buf, size_t size, const char *name)
{
    const char *base = getenv("VT_TEST_TMP");
    if (!base)
        base = "/tmp";
    mkdir(base, 0777);
    snprintf(buf, size, "%s/%s", base, name);
    mkdir(buf, 0777);
    return buf;
}

static void platform_imu_at_rest_measures_gravity(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof json, "%s", with("\"position\": [0, -300, 2], ", PLATFORM));
    vt_scenario *s = parse_ok(json);
    assert_true(vt_scenario_has_platforms(s));
    char dir[1024], path[1100];
    tmp_dir(dir, sizeof dir, "scenario_imu");
    assert_int_equal(vt_scenario_write_platform_logs(s, dir), VT_OK);
    snprintf(path, sizeof path, "%s/imu_0.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "t,gx,gy,gz,ax,ay,az\n");
    /* The camera's up (its -y axis) in the body frame is what the accelerometer feels. */
    const vt_camera *cam = &vt_scenario_rig(s)->cameras[0].cam;
    vt_vec3 up_body = vt_m3_mul_v3(vt_m3_transpose(cam->r), vt_v3(0, 0, 9.80665));
    int rows = 0;
    double t, g[3], a[3];
    while (fscanf(f, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &t, &g[0], &g[1], &g[2], &a[0], &a[1], &a[2]) ==
           7) {
        assert_near(g[0] * g[0] + g[1] * g[1] + g[2] * g[2], 0.0, 1e-12);
        assert_near(a[0], up_body.x, 1e-6);
        assert_near(a[1], up_body.y, 1e-6);
        assert_near(a[2], up_body.z, 1e-6);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 10 * 1000 / 30 + 1); /* 1 kHz over 10 frames at 30 fps */
    snprintf(path, sizeof path, "%s/gps_0.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "t,lat,lon,h,x,y,z\n");
    fclose(f);
    vt_scenario_free(s);
}

static void platform_with_noise_still_measures_about_gravity(void **state)
{
    (void)state;
    const char *p = "\"platform\": {\"waypoints\": [[0, -300, 2], [0, -280, 2]], \"speed\": 2}, ";
    char json[4096];
    snprintf(json, sizeof json, "%s", with("\"position\": [0, -300, 2], ", p));
    char *origin = strstr(json, "\"sky\"");
    assert_non_null(origin);
    const char *o = "\"origin\": {\"lat\": 47, \"lon\": 8, \"h\": 400}, ";
    memmove(origin + strlen(o), origin, strlen(origin) + 1);
    memcpy(origin, o, strlen(o));
    vt_scenario *s = parse_ok(json);
    vt_camera c0, c1;
    assert_int_equal(vt_scenario_camera_at(s, 0, 0.0, &c0), VT_OK);
    assert_int_equal(vt_scenario_camera_at(s, 0, 3.0, &c1), VT_OK);
    assert_true(c1.position.y > c0.position.y + 1.0); /* it moves north */
    vt_camera t1;
    assert_int_equal(vt_scenario_camera_at(s, 1, 3.0, &t1), VT_OK);
    assert_near(vt_v3_norm(vt_v3_sub(t1.position, c1.position)), 0.0, 1e-12); /* no baseline */
    char dir[1024], path[1100];
    tmp_dir(dir, sizeof dir, "scenario_imu_noise");
    assert_int_equal(vt_scenario_write_platform_logs(s, dir), VT_OK);
    snprintf(path, sizeof path, "%s/imu_0.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    double t, g[3], a[3], sum = 0;
    int rows = 0;
    while (fscanf(f, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &t, &g[0], &g[1], &g[2], &a[0], &a[1], &a[2]) ==
           7) {
        sum += sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
        rows++;
    }
    fclose(f);
    assert_near(sum / rows, 9.80665, 0.5);
    snprintf(path, sizeof path, "%s/gps_0.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    double lat, lon, h, x, y, z;
    assert_int_equal(fscanf(f, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &t, &lat, &lon, &h, &x, &y, &z), 7);
    fclose(f);
    /* 300 m south of the origin: 0.0027 degrees of latitude. */
    assert_near(lat, 47.0 - 300.0 / 111150.0, 2e-5);
    assert_near(lon, 8.0, 1e-6);
    assert_near(h, 402.0, 0.2);
    vt_scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_scenario_parses),
        cmocka_unit_test(malformed_json_reports_line_and_column),
        cmocka_unit_test(unknown_fields_are_refused_with_their_path),
        cmocka_unit_test(impossible_values_are_refused_with_their_path),
        cmocka_unit_test(waypoints_outside_the_world_are_refused),
        cmocka_unit_test(bad_arguments_fail_cleanly),
        cmocka_unit_test(drone_respects_its_limits_and_visits_its_waypoints),
        cmocka_unit_test(velocity_is_the_derivative_of_position),
        cmocka_unit_test(birds_are_erratic_flapping_and_warm),
        cmocka_unit_test(glints_flash_briefly_in_mono_only),
        cmocka_unit_test(same_seed_same_scenario_other_seed_other),
        cmocka_unit_test(default_preset_sees_every_drone_from_three_cameras),
        cmocka_unit_test(small_preset_sees_every_drone_from_four_cameras),
        cmocka_unit_test(the_8k_preset_is_the_default_scene_at_8k),
        cmocka_unit_test(the_glint_preset_adds_dark_mono_only_glints),
        cmocka_unit_test(frames_drop_at_the_configured_rate),
        cmocka_unit_test(platform_imu_at_rest_measures_gravity),
        cmocka_unit_test(platform_with_noise_still_measures_about_gravity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
