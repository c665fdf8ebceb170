/*
 * tests/test_simulate.c - `vt_simulate_run` on the "small" preset with a few
 * frames: the rig it writes loads, every frame read back through the frame
 * sources equals the frame rendered in memory, the truth files have a line
 * per target and frame (per camera frame for pixels) and truth_pixels.jsonl
 * carries the SNR the renderer measured in each frame, and the same seed
 * writes the same bytes.
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
#include <jansson.h>

#include "voxtrack/simulate.h"
#include "vt_test.h"

enum { FRAMES = 2 }; /* a few frames: the test runs under ASan in seconds */

static void out_dir(char *buf, size_t size, const char *name)
{
    const char *base = getenv("VT_TEST_TMP");
    if (!base)
        base = "/tmp";
    mkdir(base, 0777);
    snprintf(buf, size, "%s/%s", base, name);
}

static vt_scenario *small(void)
{
    vt_scenario *s = NULL;
    assert_int_equal(vt_scenario_preset("small", &s), VT_OK);
    assert_int_equal(vt_scenario_set_frames(s, FRAMES), VT_OK);
    return s;
}

static void simulate(const vt_scenario *s, const char *dir, vt_frame_format fmt,
                     vt_simulate_stats *stats)
{
    vt_simulate_opts o = vt_simulate_opts_default();
    o.out_dir = dir;
    o.format = fmt;
    vt_status st = vt_simulate_run(s, &o, stats);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
}

static size_t count_lines(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static bool images_equal(const vt_image *a, const vt_image *b)
{
    if (a->width != b->width || a->height != b->height || a->bits != b->bits)
        return false;
    size_t row = (size_t)a->width * (size_t)(a->bits / 8);
    for (int y = 0; y < a->height; y++)
        if (memcmp(vt_image_row8(a, y), vt_image_row8(b, y), row) != 0)
            return false;
    return true;
}

/* Every frame of every camera, read back through the rig, equals the frame drawn in memory. */
static void frames_read_back_as_rendered(const vt_scenario *s, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rig.json", dir);
    vt_rig rig;
    vt_status st = vt_rig_load(path, &rig);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    assert_int_equal(rig.count, vt_scenario_rig(s)->count);
    vt_render_opts ro = vt_scenario_render_opts(s);
    vt_renderer *r = NULL;
    assert_int_equal(vt_renderer_new(&ro, vt_scenario_rig(s), &r), VT_OK);
    size_t n = vt_scenario_target_count(s);
    vt_render_target *targets = calloc(n, sizeof *targets);
    vt_image got = {0}, want = {0};
    for (int c = 0; c < rig.count; c++) {
        assert_string_equal(rig.cameras[c].id, vt_scenario_rig(s)->cameras[c].id);
        vt_source *src = NULL;
        st = vt_source_open(&rig, c, &src);
        if (st)
            print_error("%s\n", vt_last_error());
        assert_int_equal(st, VT_OK);
        for (int64_t f = 0; f < FRAMES; f++) {
            double t, tr;
            if (!vt_scenario_frame_time(s, c, f, &t))
                continue;
            int64_t frame;
            bool end;
            assert_int_equal(vt_source_read(src, &got, &frame, &tr, &end), VT_OK);
            assert_false(end);
            assert_int_equal(frame, f);
            assert_near(tr, t, 1e-9);
            vt_scenario_targets(s, t, targets, NULL);
            assert_int_equal(vt_renderer_draw(r, c, f, t, targets, n, &want), VT_OK);
            assert_true(images_equal(&got, &want));
        }
        vt_source_free(src);
    }
    vt_image_free(&got);
    vt_image_free(&want);
    free(targets);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

/*
 * truth_pixels.jsonl gives, per camera frame and target, the SNR that the
 * renderer reports for that target drawn at that capture time (to its
 * printed 4 digits); the renderer's SNR is checked against the frames
 * themselves in test_render.c.
 */
static void pixels_carry_the_renderers_snr(const vt_scenario *s, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/truth_pixels.jsonl", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    const vt_rig *rig = vt_scenario_rig(s);
    vt_render_opts ro = vt_scenario_render_opts(s);
    vt_renderer *r = NULL;
    assert_int_equal(vt_renderer_new(&ro, rig, &r), VT_OK);
    size_t n = vt_scenario_target_count(s), checked = 0;
    vt_render_target *targets = calloc(n, sizeof *targets);
    vt_image img = {0};
    char line[16384];
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        int64_t fr = json_integer_value(json_object_get(j, "frame"));
        const char *id = json_string_value(json_object_get(j, "camera"));
        int c = 0;
        while (c < rig->count && strcmp(rig->cameras[c].id, id) != 0)
            c++;
        assert_true(c < rig->count);
        double t = json_real_value(json_object_get(j, "t"));
        vt_scenario_targets(s, t, targets, NULL);
        assert_int_equal(vt_renderer_draw(r, c, fr, t, targets, n, &img), VT_OK);
        const float *snr = vt_renderer_snr(r, c, NULL);
        json_t *list = json_object_get(j, "targets"), *e;
        size_t k;
        json_array_foreach(list, k, e)
        {
            int tid = (int)json_integer_value(json_array_get(e, 0));
            double got = json_number_value(json_array_get(e, 4));
            size_t i = 0;
            while (i < n && targets[i].id != tid)
                i++;
            assert_true(i < n);
            assert_near(got, snr[i], 1e-3 * snr[i] + 1e-6);
            checked += got > 1.0;
        }
        json_decref(j);
    }
    fclose(f);
    assert_true(checked > 10);
    vt_image_free(&img);
    free(targets);
    vt_renderer_free(r);
}

static void png_output_reads_back_and_has_its_truth(void **state)
{
    (void)state;
    vt_scenario *s = small();
    char dir[1024];
    out_dir(dir, sizeof dir, "simulate_png");
    vt_simulate_stats st;
    simulate(s, dir, VT_FORMAT_PNG, &st);
    assert_int_equal(st.frames, FRAMES);
    assert_int_equal(st.cameras, 6);
    assert_int_equal(st.images + st.dropped, 6 * FRAMES);
    assert_true(st.bytes_written > 0);
    frames_read_back_as_rendered(s, dir);
    pixels_carry_the_renderers_snr(s, dir);
    /* Drones and birds at every frame; glints are clutter, not truth. */
    assert_int_equal(count_lines(dir, "truth.jsonl"), (5 + 2) * FRAMES);
    assert_int_equal(count_lines(dir, "truth_pixels.jsonl"), (size_t)st.images);
    assert_int_equal(count_lines(dir, "config.json"), 5);
    vt_scenario_free(s);
}

static void raw_output_reads_back(void **state)
{
    (void)state;
    vt_scenario *s = small();
    char dir[1024];
    out_dir(dir, sizeof dir, "simulate_raw");
    simulate(s, dir, VT_FORMAT_RAW, NULL);
    frames_read_back_as_rendered(s, dir);
    vt_scenario_free(s);
}

static bool files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static bool same_file(const char *d1, const char *d2, const char *name)
{
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/%s", d1, name);
    snprintf(b, sizeof b, "%s/%s", d2, name);
    return files_equal(a, b);
}

/* One frame of `s` in PGM into dir, with an optional other seed. */
static void simulate_one(const vt_scenario *s, const char *dir, bool other_seed)
{
    vt_simulate_opts o = vt_simulate_opts_default();
    o.out_dir = dir;
    o.format = VT_FORMAT_PGM;
    o.frames = 1;
    o.override_seed = other_seed;
    o.seed = 12345;
    vt_simulate_stats st;
    assert_int_equal(vt_simulate_run(s, &o, &st), VT_OK);
    assert_int_equal(st.frames, 1);
}

static void same_seed_same_bytes_other_seed_other_frames(void **state)
{
    (void)state;
    vt_scenario *s = small();
    char d1[1024], d2[1024], d3[1024];
    out_dir(d1, sizeof d1, "simulate_seed_a");
    out_dir(d2, sizeof d2, "simulate_seed_b");
    out_dir(d3, sizeof d3, "simulate_seed_c");
    simulate_one(s, d1, false);
    simulate_one(s, d2, false);
    simulate_one(s, d3, true);
    const char *names[] = {"rig.json",      "truth.jsonl",       "truth_pixels.jsonl",
                           "config.json",   "m0/000000.pgm",     "t0/000000.pgm",
                           "m2/000000.pgm", "m1/timestamps.txt", "t2/timestamps.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_true(same_file(d1, d2, names[i]));
    assert_false(same_file(d1, d3, "m0/000000.pgm"));
    assert_false(same_file(d1, d3, "truth.jsonl"));
    assert_int_equal(count_lines(d3, "truth.jsonl"), 7);
    vt_scenario_free(s);
}

typedef struct progress_log {
    int64_t calls, last_done, total;
    bool in_order;
} progress_log;

static void on_progress(void *user, int64_t done, int64_t total)
{
    progress_log *p = user;
    p->in_order = p->in_order && done == p->last_done + 1;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void progress_counts_every_camera_frame(void **state)
{
    (void)state;
    vt_scenario *s = small();
    char dir[1024];
    out_dir(dir, sizeof dir, "simulate_progress");
    progress_log log = {.in_order = true};
    vt_simulate_opts o = vt_simulate_opts_default();
    o.out_dir = dir;
    o.format = VT_FORMAT_RAW;
    o.threads = 2;
    o.frames = 1;
    o.progress = on_progress;
    o.progress_user = &log;
    assert_int_equal(vt_simulate_run(s, &o, NULL), VT_OK);
    assert_int_equal(log.calls, 6);
    assert_int_equal(log.last_done, 6);
    assert_int_equal(log.total, 6);
    assert_true(log.in_order);
    vt_scenario_free(s);
}

static void bad_output_folders_are_named(void **state)
{
    (void)state;
    vt_scenario *s = small();
    vt_simulate_opts o = vt_simulate_opts_default();
    assert_int_equal(vt_simulate_run(s, &o, NULL), VT_EINVAL);
    o.out_dir = "/nonexistent/deeper/out";
    assert_int_not_equal(vt_simulate_run(s, &o, NULL), VT_OK);
    assert_non_null(strstr(vt_last_error(), "/nonexistent/deeper/out"));
    char file[1024];
    out_dir(file, sizeof file, "simulate_not_a_folder");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    o.out_dir = file;
    assert_int_not_equal(vt_simulate_run(s, &o, NULL), VT_OK);
    assert_non_null(strstr(vt_last_error(), "simulate_not_a_folder"));
    assert_int_not_equal(vt_simulate_run(NULL, &o, NULL), VT_OK);
    vt_scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(png_output_reads_back_and_has_its_truth),
        cmocka_unit_test(raw_output_reads_back),
        cmocka_unit_test(same_seed_same_bytes_other_seed_other_frames),
        cmocka_unit_test(progress_counts_every_camera_frame),
        cmocka_unit_test(bad_output_folders_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
