/*
 * tests/test_det2d.c - 2D detection files: the same detections written in
 * every form (JSON Lines with frames or times, CSV with a comma or a blank
 * header, the bare "frame u v" form) read back to the same list and the same
 * rays; bad files are refused with their line; the clock (fps and t0, scale
 * and offset, a timestamps file) puts detections on the rig's time.
 *
 * The detections are the simulator's truth: the true pixels of the `small`
 * preset's targets in camera m0, as truth_pixels.jsonl lists them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/det2d.h"
#include "voxtrack/detect.h"
#include "voxtrack/sim.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_det2d"
#include "vt_test_tmp.h"

/* ------------------------------------------------------------------------ */
/* The simulator's truth as detections                                        */

typedef struct truth_det {
    int64_t frame;
    double t, u, v;
} truth_det;

/* The in-image true pixels of every target in camera 0 over `frames` frames. */
static size_t small_truth(truth_det *out, size_t cap, int frames, vt_rig *rig)
{
    vt_scenario *sc;
    assert_int_equal(vt_scenario_preset("small", &sc), VT_OK);
    size_t nt = vt_scenario_target_count(sc), n = 0;
    vt_target_truth *tr = calloc(nt, sizeof *tr);
    assert_non_null(tr);
    for (int f = 0; f < frames; f++) {
        double t;
        vt_camera cam;
        if (!vt_scenario_frame_time(sc, 0, f, &t))
            continue;
        assert_int_equal(vt_scenario_camera_at(sc, 0, t, &cam), VT_OK);
        vt_scenario_targets(sc, t, NULL, tr);
        for (size_t i = 0; i < nt && n < cap; i++) {
            double u, v;
            if (tr[i].size > 0 && vt_camera_world_to_pixel(&cam, tr[i].pos, &u, &v) &&
                vt_camera_in_image(&cam, u, v))
                out[n++] = (truth_det){f, t, u, v};
        }
    }
    const vt_rig *r = vt_scenario_rig(sc);
    vt_rig_init(rig);
    rig->fps = r->fps;
    vt_rig_camera c = r->cameras[0];
    c.media = VT_MEDIA_DETECTIONS;
    c.path = "m0.dets";
    assert_int_equal(vt_rig_add(rig, &c), VT_OK);
    free(tr);
    vt_scenario_free(sc);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

enum { MAX_DETS = 4096, FRAMES = 24 };

/* Writes the detections in one form; %.17g keeps every bit. */
static void write_form(const char *path, const truth_det *d, size_t n, int form)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    if (form == 1)
        fprintf(fp, "frame,u,v,score,w,h\n");
    if (form == 2)
        fprintf(fp, "# made by a labelling tool\nframe u v\n");
    for (size_t i = 0; i < n; i++) {
        if (form == 0)
            fprintf(fp, "{\"frame\": %lld, \"u\": %.17g, \"v\": %.17g}\n", (long long)d[i].frame,
                    d[i].u, d[i].v);
        else if (form == 1)
            fprintf(fp, "%lld,%.17g,%.17g,,,\n", (long long)d[i].frame, d[i].u, d[i].v);
        else if (form == 2)
            fprintf(fp, "%lld  %.17g\t%.17g\n", (long long)d[i].frame, d[i].u, d[i].v);
        else
            fprintf(fp, "%lld %.17g %.17g\r\n", (long long)d[i].frame, d[i].u, d[i].v);
        if (i == n / 2 && form >= 2)
            fprintf(fp, "\n# a comment in the middle\n");
    }
    assert_int_equal(fclose(fp), 0);
}

/* ------------------------------------------------------------------------ */
/* Every form, the same rays                                                  */

static void test_every_form_gives_the_same_rays(void **state)
{
    (void)state;
    static truth_det truth[MAX_DETS];
    vt_rig rig;
    size_t n = small_truth(truth, MAX_DETS, FRAMES, &rig);
    assert_true(n >= 2 * FRAMES); /* several targets in view in every frame */
    const vt_camera *cam = &rig.cameras[0].cam;
    const vt_det2d_form forms[4] = {VT_DET2D_JSONL, VT_DET2D_CSV, VT_DET2D_CSV, VT_DET2D_BARE};
    vt_ray *first = calloc(n, sizeof *first);
    assert_non_null(first);
    for (int f = 0; f < 4; f++) {
        char name[32];
        snprintf(name, sizeof name, "form%d.txt", f);
        const char *path = vt_test_tmp_path(name);
        write_form(path, truth, n, f);
        vt_det2d_list l = {0};
        assert_int_equal(vt_det2d_load(&rig, 0, path, &l), VT_OK);
        assert_int_equal(l.count, n);
        assert_int_equal(l.form, forms[f]);
        assert_false(l.timed);
        for (size_t i = 0; i < n; i++) {
            const vt_det2d *d = &l.items[i];
            assert_int_equal(d->frame, truth[i].frame);
            assert_true(d->u == truth[i].u && d->v == truth[i].v);
            assert_true(d->score == 1.0f && d->w == 0.0f && d->cls[0] == '\0');
            /* No timestamps: frame n is at n / fps. */
            assert_true(d->t == (double)truth[i].frame * (1.0 / rig.fps));
            vt_ray r;
            assert_true(vt_det2d_ray(cam, d, NULL, 0, 0, (uint32_t)i, &r));
            if (f == 0)
                first[i] = r;
            else
                assert_memory_equal(&r, &first[i], sizeof r);
        }
        vt_det2d_list_free(&l);
    }
    /* The rays are the blob rays of the same pixels, and they point at the targets. */
    vt_ray blob;
    assert_true(vt_ray_from_pixel(cam, truth[0].u, truth[0].v, 0.5, 1.0f, 0, 0, 0, &blob));
    assert_memory_equal(&blob, &first[0], sizeof blob);
    free(first);
    vt_rig_free(&rig);
}

static void test_times_in_the_file_equal_a_timestamps_file(void **state)
{
    (void)state;
    static truth_det truth[MAX_DETS];
    vt_rig rig;
    size_t n = small_truth(truth, MAX_DETS, FRAMES, &rig);
    /* Camera times in the file ... */
    FILE *fp = fopen(vt_test_tmp_path("timed.jsonl"), "w");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "{\"t\": %.17g, \"u\": %.17g, \"v\": %.17g, \"class\": \"drone\"}\n",
                truth[i].t, truth[i].u, truth[i].v);
    fclose(fp);
    vt_det2d_list a = {0}, b = {0};
    assert_int_equal(vt_det2d_load(&rig, 0, vt_test_tmp_path("timed.jsonl"), &a), VT_OK);
    assert_true(a.timed);
    /* ... and frame numbers with the camera's timestamps file. */
    write_form(vt_test_tmp_path("framed.csv"), truth, n, 1);
    fp = fopen(vt_test_tmp_path("stamps.txt"), "w");
    for (int f = 0; f < FRAMES; f++)
        for (size_t i = 0; i < n; i++)
            if (truth[i].frame == f) {
                fprintf(fp, "%d %.17g\n", f, truth[i].t);
                break;
            }
    fclose(fp);
    rig.cameras[0].timestamps = strdup(vt_test_tmp_path("stamps.txt"));
    assert_int_equal(vt_det2d_load(&rig, 0, vt_test_tmp_path("framed.csv"), &b), VT_OK);
    assert_true(b.timed);
    assert_int_equal(a.count, b.count);
    for (size_t i = 0; i < n; i++) {
        assert_true(a.items[i].t == truth[i].t);
        assert_true(b.items[i].t == truth[i].t);
        assert_string_equal(a.items[i].cls, "drone");
    }
    /* A file with times and a timestamps file: which clock? Refused. */
    assert_int_equal(vt_det2d_load(&rig, 0, vt_test_tmp_path("timed.jsonl"), &a), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "give one of them"));
    /* A frame the timestamps file does not list. */
    write_text(vt_test_tmp_path("late.txt"), "999 10 20\n");
    assert_int_equal(vt_det2d_load(&rig, 0, vt_test_tmp_path("late.txt"), &a), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "late.txt:1: frame 999 is not in the timestamps"));
    assert_int_equal(a.count, 0);
    vt_det2d_list_free(&a);
    vt_det2d_list_free(&b);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* The clock and the search                                                   */

static void test_the_camera_clock_maps_frames_and_times(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    rig.fps = 30;
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    vt_det2d_clock k = vt_det2d_camera_clock(&rig, &c, false);
    assert_true(k.scale == 1.0 / 30 && k.offset == 0);
    k = vt_det2d_camera_clock(&rig, &c, true);
    assert_true(k.scale == 1.0 && k.offset == 0);
    c.clock_scale = 1.0 / 25;
    c.clock_offset = -0.25;
    k = vt_det2d_camera_clock(&rig, &c, false);
    assert_true(k.scale == 1.0 / 25 && k.offset == -0.25);
    vt_det2d_list l = {0};
    const char *text = "0 1 1\n25 2 2\n25 3 3\n50 4 4\n";
    assert_int_equal(vt_det2d_parse(text, strlen(text), "c.txt", 0, 0, &l), VT_OK);
    vt_det2d_apply_clock(&l, k);
    assert_near(l.items[0].t, -0.25, 1e-15);
    assert_near(l.items[1].t, 0.75, 1e-15);
    assert_near(l.items[3].t, 1.75, 1e-15);
    assert_int_equal(vt_det2d_lower_bound(&l, -1.0), 0);
    assert_int_equal(vt_det2d_lower_bound(&l, 0.75), 1);
    assert_int_equal(vt_det2d_lower_bound(&l, 0.76), 3);
    assert_int_equal(vt_det2d_lower_bound(&l, 9.0), 4);
    vt_det2d_list_free(&l);
    vt_rig_free(&rig);
}

static void test_a_box_widens_the_ray(void **state)
{
    (void)state;
    vt_camera cam = {.width = 640, .height = 480, .fx = 500, .fy = 500, .cx = 319.5, .cy = 239.5};
    cam.q = vt_q_identity();
    assert_int_equal(vt_camera_init(&cam), VT_OK);
    vt_det2d_list l = {0};
    const char *text = "frame,u,v,score,w,h\n0,100,100,0.5,20,10\n0,200,200,,,\n";
    assert_int_equal(vt_det2d_parse(text, strlen(text), "b.csv", 640, 480, &l), VT_OK);
    vt_ray a, b;
    assert_true(vt_det2d_ray(&cam, &l.items[0], NULL, 3, 1, 7, &a));
    assert_true(vt_det2d_ray(&cam, &l.items[1], NULL, 3, 1, 8, &b));
    assert_near(a.sigma, hypot(0.5, 0.1 * 20) / 500, 1e-9);
    assert_near(b.sigma, 0.5 / 500, 1e-9);
    assert_true(a.weight == 0.5f && b.weight == 1.0f);
    assert_int_equal(a.camera, 3);
    assert_int_equal(a.pair, 1);
    assert_int_equal(a.blob, 7);
    vt_det2d_list_free(&l);
}

/* ------------------------------------------------------------------------ */
/* Bad files                                                                  */

static void assert_refused(const char *text, const char *message)
{
    vt_det2d_list l = {0};
    vt_status s = vt_det2d_parse(text, strlen(text), "bad.csv", 960, 540, &l);
    if (s != VT_EPARSE || !strstr(vt_last_error(), message)) {
        print_error("status %s, message \"%s\"; expected EPARSE and \"%s\"\n", vt_status_name(s),
                    vt_last_error(), message);
        fail();
    }
    assert_int_equal(l.count, 0);
    assert_null(l.items);
}

static void test_a_missing_column_is_named(void **state)
{
    (void)state;
    assert_refused("frame,u\n1,2\n", "bad.csv:1: the header has no column 'v'");
    assert_refused("u,v\n1,2\n", "bad.csv:1: the header has neither 'frame' nor 't'");
    assert_refused("frame,u,v\n1,2\n", "bad.csv:2: fewer values where the header names 3");
    assert_refused("frame,u,v\n1,2,3,4\n", "bad.csv:2: more values where the header names 3");
    assert_refused("frame,u,v\n1,,3\n", "bad.csv:2: column 'u' is empty");
    assert_refused("{\"frame\": 1, \"u\": 2}\n", "bad.csv:1: missing 'v'");
    assert_refused("{\"u\": 1, \"v\": 2}\n", "bad.csv:1: missing 'frame' or 't'");
    assert_refused("0 1 2\n3 4\n", "bad.csv:2: 2 values; the bare form is \"frame u v\"");
}

static void test_a_value_that_is_not_a_number_names_its_line(void **state)
{
    (void)state;
    assert_refused("frame,u,v\n0,1,2\n1,2,3\n2,abc,4\n", "bad.csv:4: column 'u': \"abc\" is not");
    assert_refused("frame u v\n0 1 2\n\n1 2 3x\n", "bad.csv:4: column 'v': \"3x\" is not a number");
    assert_refused("0 1 2\n1 nan 2\n", "bad.csv:2: column 'u': \"nan\" is not a number");
    assert_refused("0 1 2\n1.5 1 2\n", "bad.csv:2: 'frame' must be an integer >= 0");
    assert_refused("{\"frame\": 0, \"u\": \"1\", \"v\": 2}\n", "bad.csv:1: 'u' must be a number");
    assert_refused("{\"frame\": 0, \"u\": 1, \"v\": 2}\n{\"frame\": 1, \"u\": 1,, }\n",
                   "bad.csv:2: column");
    assert_refused("{\"frame\": 0, \"u\": 1, \"v\": 2, \"x1\": 0}\n",
                   "bad.csv:1: unknown field 'x1'");
    assert_refused("frame,u,v,x1\n", "bad.csv:1: unknown column 'x1' in the header");
    assert_refused("frame,u,v,score\n0,1,2,1.5\n", "bad.csv:2: 'score' must be in [0, 1]");
    assert_refused("frame,u,v,w\n0,1,2,3\n", "bad.csv:2: 'w' without 'h'");
    assert_refused("frame,u,v,class\n0,1,2,a-very-long-class-name\n",
                   "bad.csv:2: 'class' must be shorter than 16 bytes");
}

static void test_frames_out_of_order_are_refused(void **state)
{
    (void)state;
    assert_refused("frame,u,v\n0,1,2\n5,1,2\n5,3,4\n4,1,2\n",
                   "bad.csv:5: frame 4 comes after frame 5 (line 4): frames must not go back");
    assert_refused("t,u,v\n0.5,1,2\n0.25,1,2\n", "bad.csv:3: t = 0.25 s comes after t = 0.5 s");
    assert_refused("frame,t,u,v\n0,0.5,1,2\n1,,1,2\n", "bad.csv:3: column 't' is empty");
    assert_refused("{\"t\": 0, \"u\": 1, \"v\": 2}\n{\"frame\": 1, \"u\": 1, \"v\": 2}\n",
                   "bad.csv:2: has no 't' while the first detection (line 1) has one");
}

static void test_a_detection_outside_the_image_is_refused(void **state)
{
    (void)state;
    assert_refused("frame,u,v\n0,1,2\n1,959.5,2\n",
                   "bad.csv:3: (u, v) = (959.5, 2) lies outside the 960x540 image");
    assert_refused("0 -0.6 2\n", "bad.csv:1: (u, v) = (-0.6, 2) lies outside");
    assert_refused("{\"frame\": 0, \"u\": 1, \"v\": 540}\n", "bad.csv:1: (u, v) = (1, 540)");
    /* The edges of the image are inside. */
    vt_det2d_list l = {0};
    const char *edges = "0 -0.5 -0.5\n0 959.49 539.49\n";
    assert_int_equal(vt_det2d_parse(edges, strlen(edges), "ok", 960, 540, &l), VT_OK);
    assert_int_equal(l.count, 2);
    vt_det2d_list_free(&l);
}

static void test_an_empty_file_is_refused_but_a_bare_header_is_no_detections(void **state)
{
    (void)state;
    assert_refused("", "bad.csv: the file is empty");
    assert_refused("\n  \n\r\n", "bad.csv: the file is empty");
    assert_refused("# only a comment\n", "bad.csv: the file is empty");
    vt_det2d_list l = {0};
    assert_int_equal(vt_det2d_parse("0 1 2\n0 1\0 2\n", 13, "nul.csv", 0, 0, &l), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "nul.csv:2: contains a NUL byte"));
    assert_int_equal(vt_det2d_parse("frame,u,v\n", 10, "none.csv", 960, 540, &l), VT_OK);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.form, VT_DET2D_CSV);
    /* A file that is not there. */
    assert_int_equal(vt_det2d_read(vt_test_tmp_path("nowhere.csv"), 0, 0, &l), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "nowhere.csv: cannot open"));
    vt_det2d_list_free(&l);
}

static void test_a_camera_without_a_detection_file_is_named(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "m7");
    c.cam = (vt_camera){.width = 64, .height = 48, .fx = 50, .fy = 50, .q = vt_q_identity()};
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    assert_int_equal(vt_rig_add(&rig, &c), VT_OK);
    vt_det2d_list l = {0};
    assert_int_equal(vt_det2d_load(&rig, 0, NULL, &l), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "camera 0 ('m7'): has no 'detections' file"));
    write_text(vt_test_tmp_path("m7.csv"), "frame,u,v\n0,70,1\n");
    assert_int_equal(vt_det2d_load(&rig, 0, vt_test_tmp_path("m7.csv"), &l), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "camera 0 ('m7'): "));
    assert_non_null(strstr(vt_last_error(), "m7.csv:2: (u, v) = (70, 1) lies outside the 64x48"));
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_form_gives_the_same_rays),
        cmocka_unit_test(test_times_in_the_file_equal_a_timestamps_file),
        cmocka_unit_test(test_the_camera_clock_maps_frames_and_times),
        cmocka_unit_test(test_a_box_widens_the_ray),
        cmocka_unit_test(test_a_missing_column_is_named),
        cmocka_unit_test(test_a_value_that_is_not_a_number_names_its_line),
        cmocka_unit_test(test_frames_out_of_order_are_refused),
        cmocka_unit_test(test_a_detection_outside_the_image_is_refused),
        cmocka_unit_test(test_an_empty_file_is_refused_but_a_bare_header_is_no_detections),
        cmocka_unit_test(test_a_camera_without_a_detection_file_is_named),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
