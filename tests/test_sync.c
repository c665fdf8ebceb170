/*
 * tests/test_sync.c - frame sets by capture time (voxtrack/sync.h): cameras
 * with jitter, clock offsets, random drops, duplicate, backwards, late and
 * reordered frames, cameras that end or fail, a clock slightly slower than
 * the nominal frame rate; and end to end, the simulator's own sources with
 * its clock jitter and 2% random drops, checked against the scenario's
 * ground truth (vt_scenario_frame_time).
 *
 * The fake cameras are a tiny backend behind vt__source_wrap that plays a
 * scripted list of capture times; pixel 0 of each 4x4 frame holds the
 * frame's index in its script, so a test can tell which frame landed where.
 * The cameras are read in parallel (read_threads): the same runs with 1 and
 * 4 read threads must give the same frame sets and statistics.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/simulate.h"
#include "voxtrack/sync.h"
#include "vt_test.h"

enum { MAXC = 8, MAXF = 700 };
static const double FPS = 30.0;

/* ---- a scripted camera ---------------------------------------------------- */

typedef struct fake {
    double t[MAXF];
    int n, next;
    int fail_at;  /* index whose read fails (-1: none) */
    int width;    /* frame width (4; another to test a size mismatch) */
    int sleep_ms; /* each read takes this long (a camera that costs time) */
    int meet_ms;  /* or: each read waits up to this long for another read at the same time */
} fake;

/* Reads in flight at once, over all fakes, and the most seen. */
static atomic_int in_flight, most_in_flight;

static void fake_busy(const fake *f)
{
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int most = atomic_load(&most_in_flight);
    while (now > most && !atomic_compare_exchange_weak(&most_in_flight, &most, now))
        ;
    if (f->meet_ms) /* until a second read overlaps this one, however loaded the cores are */
        for (int ms = 0; ms < f->meet_ms && atomic_load(&most_in_flight) < 2; ms++)
            nanosleep(&(struct timespec){0, 1000000L}, NULL);
    else
        nanosleep(&(struct timespec){0, f->sleep_ms * 1000000L}, NULL);
    atomic_fetch_sub(&in_flight, 1);
}

static vt_status fake_read(void *state, vt_image *img, int64_t *frame, double *t, bool *end)
{
    fake *f = state;
    if (f->sleep_ms || f->meet_ms)
        fake_busy(f);
    if (f->next == f->fail_at)
        return vt__error(VT_EIO, "fake camera: broken at frame %d", f->next);
    if (f->next >= f->n) {
        *end = true;
        return VT_OK;
    }
    vt_status st = vt__image_reshape(img, f->width, 4, 8);
    if (st)
        return st;
    if (f->width != 4)
        return vt__error(VT_EMISMATCH, "fake camera: frame is %dx4, the camera's are 4x4",
                         f->width);
    vt_image_row8(img, 0)[0] = (uint8_t)f->next;
    *frame = f->next;
    *t = f->t[f->next++];
    return VT_OK;
}

static void fake_free(void *state)
{
    free(state);
}

static const vt__source_backend fake_backend = {
    .name = "fake", .read = fake_read, .free = fake_free};

/* A script: n frames at (n + offset) / FPS; edit f->t afterwards for the odd ones. */
static fake *script(int n, double offset)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->n = n;
    f->fail_at = -1;
    f->width = 4;
    for (int i = 0; i < n; i++)
        f->t[i] = (i + offset) / FPS;
    return f;
}

/* A sync over these scripts (taken over); opts may be NULL. */
static vt_sync *sync_of(fake **scripts, int n, const vt_sync_opts *opts)
{
    vt_source *src[MAXC];
    for (int i = 0; i < n; i++)
        assert_int_equal(vt__source_wrap(&fake_backend, scripts[i], "fake", &src[i]), VT_OK);
    vt_sync *s = NULL;
    assert_int_equal(vt_sync_new(opts, src, n, FPS, &s), VT_OK);
    return s;
}

/* Every frame set of a run. */
typedef struct sets {
    int count;
    int64_t k[MAXF];
    bool present[MAXF][MAXC];
    double times[MAXF][MAXC];
    int index[MAXF][MAXC]; /* script index of the frame (-1: absent) */
} sets;

static sets *run_all(vt_sync *s, int ncam)
{
    sets *out = calloc(1, sizeof *out);
    vt_image img[MAXC];
    memset(img, 0, sizeof img);
    assert_non_null(out);
    for (;;) {
        bool end = false;
        int64_t k;
        double t;
        assert_int_equal(
            vt_sync_next(s, img, out->present[out->count], out->times[out->count], &k, &t, &end),
            VT_OK);
        if (end)
            break;
        assert_true(out->count < MAXF);
        out->k[out->count] = k;
        for (int c = 0; c < ncam; c++)
            out->index[out->count][c] =
                out->present[out->count][c] ? vt_image_row8(&img[c], 0)[0] : -1;
        out->count++;
    }
    for (int c = 0; c < ncam; c++)
        vt_image_free(&img[c]);
    return out;
}

/* ---- the rules ------------------------------------------------------------ */

static void jittered_frames_land_in_their_sets(void **state)
{
    (void)state;
    vt_test_seed(11);
    fake *f[4];
    for (int c = 0; c < 4; c++) {
        f[c] = script(60, (c - 1.5) * 0.05); /* clock offsets of -2.5..2.5 ms */
        for (int i = 0; i < 60; i++)
            f[c]->t[i] += 0.001 * vt_test_gauss(); /* 1 ms jitter: up to ~4 ms */
    }
    vt_sync *s = sync_of(f, 4, NULL);
    sets *r = run_all(s, 4);
    assert_int_equal(r->count, 60);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(r->k[i], i);
        for (int c = 0; c < 4; c++) {
            assert_true(r->present[i][c]);
            assert_int_equal(r->index[i][c], i);
        }
    }
    for (int c = 0; c < 4; c++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(s, c);
        assert_int_equal(st.frames, 60);
        assert_int_equal(st.drops + st.late + st.duplicates + st.backwards + st.outside, 0);
        assert_true(st.sync_error_max < 0.008 && st.sync_error_mean < 0.004);
        assert_string_equal(st.source.backend, "fake");
    }
    free(r);
    vt_sync_free(s);
}

static void random_drops_leave_sets_incomplete_without_shifting_them(void **state)
{
    (void)state;
    vt_test_seed(5);
    enum { C = 5, N = 300 };
    bool dropped[C][N];
    fake *f[C];
    for (int c = 0; c < C; c++) {
        f[c] = script(0, 0);
        for (int i = 0; i < N; i++) {
            dropped[c][i] = vt_test_uniform01() < 0.02;
            if (!dropped[c][i])
                f[c]->t[f[c]->n++] = i / FPS + 0.0005 * vt_test_gauss();
        }
    }
    vt_sync *s = sync_of(f, C, NULL);
    sets *r = run_all(s, C);
    assert_int_equal(r->count, N);
    int64_t absent[C] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(r->k[i], i);
        for (int c = 0; c < C; c++) {
            assert_int_equal(r->present[i][c], !dropped[c][i]);
            absent[c] += dropped[c][i];
        }
    }
    for (int c = 0; c < C; c++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(s, c);
        assert_int_equal(st.drops, absent[c]);
        assert_int_equal(st.frames, N - absent[c]);
        assert_int_equal(st.late + st.outside, 0);
    }
    free(r);
    vt_sync_free(s);
}

static void a_duplicate_time_is_dropped_and_counted(void **state)
{
    (void)state;
    fake *f[2] = {script(5, 0), script(6, 0)};
    double t[6] = {0, 1, 1, 2, 3, 4}; /* frame 1 twice */
    for (int i = 0; i < 6; i++)
        f[1]->t[i] = t[i] / FPS;
    vt_sync *s = sync_of(f, 2, NULL);
    sets *r = run_all(s, 2);
    assert_int_equal(r->count, 5);
    assert_int_equal(r->index[2][1], 3); /* set 2 has the frame after the duplicate */
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.frames, 5);
    assert_int_equal(st.drops, 0);
    free(r);
    vt_sync_free(s);
}

static void a_backwards_time_is_dropped_and_counted(void **state)
{
    (void)state;
    fake *f[2] = {script(5, 0), script(6, 0)};
    double t[6] = {0, 1, 2, 0.5, 3, 4}; /* the clock jumps back */
    for (int i = 0; i < 6; i++)
        f[1]->t[i] = t[i] / FPS;
    vt_sync *s = sync_of(f, 2, NULL);
    sets *r = run_all(s, 2);
    assert_int_equal(r->count, 5);
    for (int i = 0; i < 5; i++)
        assert_true(r->present[i][1]);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
    assert_int_equal(st.backwards, 1);
    assert_int_equal(st.frames, 5);
    free(r);
    vt_sync_free(s);
}

static void a_second_frame_for_a_delivered_set_is_late(void **state)
{
    (void)state;
    /* Camera 1's clock slips by 0.4 period: its frame at 2.4 belongs to set 2, taken already. */
    fake *f[2] = {script(5, 0), script(5, 0)};
    double t[5] = {0, 1, 2, 2.4, 4};
    for (int i = 0; i < 5; i++)
        f[1]->t[i] = t[i] / FPS;
    vt_sync *s = sync_of(f, 2, NULL);
    sets *r = run_all(s, 2);
    assert_int_equal(r->count, 5);
    assert_false(r->present[3][1]);
    assert_true(r->present[4][1]);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.drops, 1);
    assert_int_equal(st.frames, 4);
    free(r);
    vt_sync_free(s);
}

static void a_camera_lagging_beyond_the_tolerance_lands_nowhere(void **state)
{
    (void)state;
    vt_sync_opts o = vt_sync_opts_default();
    o.tolerance_s = 0.2 / FPS;
    o.follow = 0.0;
    fake *f[3] = {script(10, 0), script(10, 0), script(10, 0.3)}; /* 10 ms behind */
    vt_sync *s = sync_of(f, 3, &o);
    assert_near(vt_sync_tolerance(s), 0.2 / FPS, 1e-15);
    sets *r = run_all(s, 3);
    assert_int_equal(r->count, 10);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 2);
    assert_int_equal(st.outside, 10);
    assert_int_equal(st.frames, 0);
    assert_int_equal(st.drops, 10);
    assert_int_equal(vt_sync_camera_stats_get(s, 0).frames, 10);
    free(r);
    vt_sync_free(s);
}

static void reordered_frames_are_put_back_in_order_within_the_window(void **state)
{
    (void)state;
    double t[6] = {0, 1, 3, 2, 4, 5}; /* frames 2 and 3 swapped */
    for (int reorder = 0; reorder <= 1; reorder++) {
        fake *f[2] = {script(6, 0), script(6, 0)};
        for (int i = 0; i < 6; i++)
            f[1]->t[i] = t[i] / FPS;
        vt_sync_opts o = vt_sync_opts_default();
        o.reorder = reorder;
        vt_sync *s = sync_of(f, 2, &o);
        sets *r = run_all(s, 2);
        assert_int_equal(r->count, 6);
        vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
        if (reorder) { /* every frame in its set */
            for (int i = 0; i < 6; i++)
                assert_near(r->times[i][1], i / FPS, 1e-12);
            assert_int_equal(st.frames, 6);
        } else { /* frame 2 comes after frame 3 was taken: backwards, set 2 without it */
            assert_false(r->present[2][1]);
            assert_int_equal(st.backwards, 1);
            assert_int_equal(st.frames, 5);
        }
        free(r);
        vt_sync_free(s);
    }
}

static void a_camera_that_ends_early_leaves_the_others_going(void **state)
{
    (void)state;
    fake *f[3] = {script(10, 0), script(4, 0), script(10, 0)};
    vt_sync *s = sync_of(f, 3, NULL);
    sets *r = run_all(s, 3);
    assert_int_equal(r->count, 10);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
    assert_int_equal(st.frames, 4);
    assert_int_equal(st.first, 0);
    assert_int_equal(st.last, 3);
    assert_int_equal(st.drops, 6);
    assert_false(st.failed);
    free(r);
    vt_sync_free(s);
}

static void a_camera_that_fails_is_dropped_with_its_error(void **state)
{
    (void)state;
    fake *f[2] = {script(8, 0), script(8, 0)};
    f[1]->fail_at = 3;
    vt_sync *s = sync_of(f, 2, NULL);
    sets *r = run_all(s, 2);
    assert_int_equal(r->count, 8);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 1);
    assert_true(st.failed);
    assert_non_null(strstr(st.error, "broken at frame 3"));
    assert_int_equal(st.frames, 3);
    free(r);
    vt_sync_free(s);
}

static void a_first_frame_of_the_wrong_size_stops_the_run(void **state)
{
    (void)state;
    fake *f[2] = {script(3, 0), script(3, 0)};
    f[1]->width = 6;
    vt_sync *s = sync_of(f, 2, NULL);
    vt_image img[2] = {{0}};
    bool present[2], end = false;
    int64_t k;
    double t;
    assert_int_equal(vt_sync_next(s, img, present, NULL, &k, &t, &end), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "6x4"));
    vt_sync_free(s);
}

static void the_grid_follows_a_slightly_slow_clock(void **state)
{
    (void)state;
    /* 29.97 fps against a nominal 30: a fixed grid slips half a period by frame 500. */
    fake *f[3];
    for (int c = 0; c < 3; c++) {
        f[c] = script(650, 0);
        for (int i = 0; i < 650; i++)
            f[c]->t[i] = i / 29.97;
    }
    vt_sync *s = sync_of(f, 3, NULL);
    sets *r = run_all(s, 3);
    assert_int_equal(r->count, 650);
    for (int i = 0; i < 650; i++)
        assert_int_equal(r->k[i], i);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(s, 0);
    assert_int_equal(st.frames, 650);
    assert_true(st.sync_error_max < 0.25 / FPS);
    free(r);
    vt_sync_free(s);
}

static void bad_arguments_are_refused_with_a_message(void **state)
{
    (void)state;
    vt_sync *s = NULL;
    vt_source *none[1] = {NULL};
    assert_int_equal(vt_sync_new(NULL, none, 0, FPS, &s), VT_EINVAL);
    assert_int_equal(vt_sync_new(NULL, none, 1, FPS, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "source 0"));
    vt_source *src[1];
    assert_int_equal(vt__source_wrap(&fake_backend, script(1, 0), "fake", &src[0]), VT_OK);
    vt_sync_opts o = vt_sync_opts_default();
    o.tolerance_s = 0.02;                                          /* more than half of 33 ms */
    assert_int_equal(vt_sync_new(&o, src, 1, FPS, &s), VT_EINVAL); /* frees the source */
    assert_non_null(strstr(vt_last_error(), "tolerance_s"));
    assert_null(s);
    vt_sync_camera_stats st = vt_sync_camera_stats_get(NULL, 0);
    assert_int_equal(st.first, -1);
}

/* ---- parallel reads ------------------------------------------------------- */

/*
 * Five cameras with every fault at once: jitter, 2% drops, a duplicate, a
 * clock going back, a slipped frame (late), frames out of order, one camera
 * ending early and one failing.
 */
static void messy_scripts(fake **f)
{
    vt_test_seed(77);
    for (int c = 0; c < 5; c++) {
        f[c] = script(0, 0);
        for (int i = 0; i < 120; i++)
            if (vt_test_uniform01() >= 0.02)
                f[c]->t[f[c]->n++] = (i + 0.03 * c) / FPS + 0.0007 * vt_test_gauss();
    }
    f[1]->t[10] = f[1]->t[9];              /* duplicate */
    f[2]->t[20] = f[2]->t[16];             /* backwards */
    f[2]->t[30] = f[2]->t[29] + 0.4 / FPS; /* late */
    double swap = f[3]->t[40];             /* out of order */
    f[3]->t[40] = f[3]->t[41];
    f[3]->t[41] = swap;
    f[3]->n = 90;       /* ends early */
    f[4]->fail_at = 60; /* fails */
}

static sets *run_messy(int read_threads, vt_sync_camera_stats *stats)
{
    fake *f[5];
    messy_scripts(f);
    vt_sync_opts o = vt_sync_opts_default();
    o.reorder = 1;
    o.read_threads = read_threads;
    vt_sync *s = sync_of(f, 5, &o);
    assert_int_equal(vt_sync_read_threads(s), read_threads);
    sets *r = run_all(s, 5);
    for (int c = 0; c < 5; c++)
        stats[c] = vt_sync_camera_stats_get(s, c);
    vt_sync_free(s);
    return r;
}

static void assert_same_stats(const vt_sync_camera_stats *a, const vt_sync_camera_stats *b)
{
    assert_int_equal(a->frames, b->frames);
    assert_int_equal(a->first, b->first);
    assert_int_equal(a->last, b->last);
    assert_int_equal(a->drops, b->drops);
    assert_int_equal(a->late, b->late);
    assert_int_equal(a->duplicates, b->duplicates);
    assert_int_equal(a->backwards, b->backwards);
    assert_int_equal(a->outside, b->outside);
    assert_true(a->sync_error_mean == b->sync_error_mean);
    assert_true(a->sync_error_max == b->sync_error_max);
    assert_int_equal(a->failed, b->failed);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->source.frames, b->source.frames);
    assert_int_equal(a->source.lost, b->source.lost);
}

static void parallel_reads_give_the_same_sets_and_stats(void **state)
{
    (void)state;
    vt_sync_camera_stats one[5], four[5];
    sets *a = run_messy(1, one), *b = run_messy(4, four);
    assert_int_equal(a->count, b->count);
    assert_true(a->count >= 119);
    assert_memory_equal(a->k, b->k, sizeof a->k);
    assert_memory_equal(a->present, b->present, sizeof a->present);
    assert_memory_equal(a->times, b->times, sizeof a->times);
    assert_memory_equal(a->index, b->index, sizeof a->index);
    for (int c = 0; c < 5; c++)
        assert_same_stats(&one[c], &four[c]);
    /* The faults did happen, so the comparison covers them. */
    assert_int_equal(one[1].duplicates, 1);
    assert_true(one[2].backwards >= 1 && one[2].late >= 1);
    assert_int_equal(one[3].frames, 90);
    assert_true(one[4].failed);
    assert_non_null(strstr(one[4].error, "broken at frame 60"));
    free(a);
    free(b);
}

static void cameras_are_read_at_the_same_time(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads += 3) {
        fake *f[4];
        for (int c = 0; c < 4; c++) {
            f[c] = script(3, 0);
            if (threads == 1)
                f[c]->sleep_ms = 20;
            else
                f[c]->meet_ms = 30000; /* reads one after another would take minutes */
        }
        vt_sync_opts o = vt_sync_opts_default();
        o.read_threads = threads;
        vt_sync *s = sync_of(f, 4, &o);
        atomic_store(&most_in_flight, 0);
        sets *r = run_all(s, 4);
        assert_int_equal(r->count, 3);
        /* One thread: never two reads at once. More: reads that wait for each other meet. */
        if (threads == 1)
            assert_int_equal(atomic_load(&most_in_flight), 1);
        else
            assert_true(atomic_load(&most_in_flight) >= 2);
        free(r);
        vt_sync_free(s);
    }
}

static void read_threads_default_to_the_cameras_capped_at_the_cores(void **state)
{
    (void)state;
    fake *f[2] = {script(1, 0), script(1, 0)};
    vt_sync *s = sync_of(f, 2, NULL);
    assert_true(vt_sync_read_threads(s) >= 1 && vt_sync_read_threads(s) <= 2);
    vt_sync_free(s);
    vt_source *src[1];
    assert_int_equal(vt__source_wrap(&fake_backend, script(1, 0), "fake", &src[0]), VT_OK);
    vt_sync_opts o = vt_sync_opts_default();
    o.read_threads = 100000;
    assert_int_equal(vt_sync_new(&o, src, 1, FPS, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "read_threads"));
}

/* ---- end to end: the simulator's sources ------------------------------------ */

static const char *const SCENE =
    "{\"name\": \"sync\", \"seed\": 3,"
    " \"world\": {\"extent\": {\"min\": [-100, -100, 0], \"max\": [100, 100, 100]}},"
    " \"cameras\": {\"fps\": 30, \"frames\": 150, \"clock_offset_max\": 0.003,"
    "  \"jitter\": 0.002, \"drop_prob\": 0.02, \"pairs\": ["
    "   {\"position\": [0, -300, 2], \"look_at\": [0, 0, 50],"
    "    \"mono\": {\"width\": 32, \"height\": 24, \"hfov_deg\": 60},"
    "    \"thermal\": {\"width\": 16, \"height\": 12, \"hfov_deg\": 60}},"
    "   {\"position\": [300, 0, 2], \"look_at\": [0, 0, 50],"
    "    \"mono\": {\"width\": 32, \"height\": 24, \"hfov_deg\": 60},"
    "    \"thermal\": {\"width\": 16, \"height\": 12, \"hfov_deg\": 60}},"
    "   {\"position\": [0, 300, 2], \"look_at\": [0, 0, 50],"
    "    \"mono\": {\"width\": 32, \"height\": 24, \"hfov_deg\": 60},"
    "    \"thermal\": {\"width\": 16, \"height\": 12, \"hfov_deg\": 60}}]},"
    " \"targets\": {\"drones\": [{\"size\": 0.5, \"speed\": 10,"
    "   \"waypoints\": [[0, 0, 50], [50, 0, 60]]}]}}";

/* A checksum of an image's pixels (FNV-1a), to compare runs without keeping every frame. */
static uint64_t pixels_hash(const vt_image *img)
{
    uint64_t h = 1469598103934665603ull;
    size_t row = (size_t)img->width * (img->bits == 16 ? 2 : 1);
    for (int y = 0; y < img->height; y++) {
        const uint8_t *p = (const uint8_t *)img->data + (size_t)y * img->stride;
        for (size_t x = 0; x < row; x++)
            h = (h ^ p[x]) * 1099511628211ull;
    }
    return h;
}

/*
 * The scene through its sim sources with `threads` read threads, checked
 * against the truth; returns a hash of every set's frames, times and stats.
 */
static uint64_t run_simulated(int threads)
{
    vt_scenario *sc = NULL;
    assert_int_equal(vt_scenario_parse(SCENE, "sync scene", &sc), VT_OK);
    int n = vt_scenario_rig(sc)->count;
    int64_t frames = vt_scenario_frames(sc);
    assert_true(n == 6 && n <= MAXC);
    vt_source *src[MAXC];
    for (int c = 0; c < n; c++)
        assert_int_equal(vt_source_open_sim(sc, c, &src[c]), VT_OK);
    vt_sync_opts o = vt_sync_opts_default();
    o.read_threads = threads;
    vt_sync *s = NULL;
    assert_int_equal(vt_sync_new(&o, src, n, vt_scenario_fps(sc), &s), VT_OK);
    vt_image img[MAXC];
    memset(img, 0, sizeof img);
    bool present[MAXC], end = false;
    double times[MAXC], t;
    int64_t k, landed[MAXC] = {0}, expected[MAXC] = {0}, dropped = 0, sets_seen = 0;
    uint64_t h = 0;
    while (!vt_sync_next(s, img, present, times, &k, &t, &end) && !end) {
        sets_seen++;
        for (int c = 0; c < n; c++) {
            double truth;
            bool delivered = vt_scenario_frame_time(sc, c, k, &truth);
            /* Within tolerance of its nominal time, so it must be here, and be that frame. */
            assert_int_equal(present[c], delivered);
            if (present[c]) {
                assert_near(times[c], truth, 1e-12);
                h = h * 31 + pixels_hash(&img[c]) + (uint64_t)llround(times[c] * 1e9);
            }
            landed[c] += present[c];
        }
    }
    assert_true(end);
    for (int c = 0; c < n; c++) {
        for (int64_t f = 0; f < frames; f++) {
            bool ok = vt_scenario_frame_time(sc, c, f, NULL);
            expected[c] += ok;
            dropped += !ok;
        }
        vt_sync_camera_stats st = vt_sync_camera_stats_get(s, c);
        assert_int_equal(landed[c], expected[c]);
        assert_int_equal(st.frames, expected[c]);
        assert_int_equal(st.source.lost, frames - expected[c]);
        assert_string_equal(st.source.backend, "sim");
        assert_int_equal(st.late + st.duplicates + st.backwards + st.outside, 0);
        h = h * 31 + (uint64_t)st.drops + (uint64_t)llround(st.sync_error_max * 1e12);
        vt_image_free(&img[c]);
    }
    assert_int_equal(sets_seen, frames);
    assert_true(dropped > 0); /* the 2% did drop frames */
    vt_sync_free(s);
    vt_scenario_free(sc);
    return h;
}

static void simulated_frames_within_tolerance_land_in_their_true_sets(void **state)
{
    (void)state;
    uint64_t one = run_simulated(1), four = run_simulated(4);
    assert_true(one == four); /* the same pixels, times and stats read in parallel */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jittered_frames_land_in_their_sets),
        cmocka_unit_test(random_drops_leave_sets_incomplete_without_shifting_them),
        cmocka_unit_test(a_duplicate_time_is_dropped_and_counted),
        cmocka_unit_test(a_backwards_time_is_dropped_and_counted),
        cmocka_unit_test(a_second_frame_for_a_delivered_set_is_late),
        cmocka_unit_test(a_camera_lagging_beyond_the_tolerance_lands_nowhere),
        cmocka_unit_test(reordered_frames_are_put_back_in_order_within_the_window),
        cmocka_unit_test(a_camera_that_ends_early_leaves_the_others_going),
        cmocka_unit_test(a_camera_that_fails_is_dropped_with_its_error),
        cmocka_unit_test(a_first_frame_of_the_wrong_size_stops_the_run),
        cmocka_unit_test(the_grid_follows_a_slightly_slow_clock),
        cmocka_unit_test(bad_arguments_are_refused_with_a_message),
        cmocka_unit_test(parallel_reads_give_the_same_sets_and_stats),
        cmocka_unit_test(cameras_are_read_at_the_same_time),
        cmocka_unit_test(read_threads_default_to_the_cameras_capped_at_the_cores),
        cmocka_unit_test(simulated_frames_within_tolerance_land_in_their_true_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
