/*
 * tests/test_project.c - the original projector: metadata.json checking, and
 * `project` end to end on the built-in dot scene, whose answer is known.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "voxtrack/voxtrack.h"

static char dir[512];

static void write_file(const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static vt_status load_text(const char *text, vt_metadata *m)
{
    write_file("meta.json", text);
    char path[700];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    return vt_metadata_load(path, m);
}

#define ENTRY(cam, frame, extra)                                                                   \
    "{\"camera_index\": " #cam ", \"frame_index\": " #frame ", \"camera_position\": [1, 2, 3], "   \
    "\"yaw\": 10, \"pitch\": 80.5, \"roll\": -1, \"fov_degrees\": 60, \"image_file\": "            \
    "\"a.png\"" extra "}"

static void metadata_reads_every_field(void **state)
{
    (void)state;
    vt_metadata m;
    assert_int_equal(
        load_text("[" ENTRY(2, 7, ", \"object_name\": \"x\"") "," ENTRY(0, 1, "") "]", &m), VT_OK);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.frames[0].camera_index, 2);
    assert_int_equal(m.frames[0].frame_index, 7);
    assert_true(m.frames[0].position.z == 3.0);
    assert_true(m.frames[0].pitch == 80.5);
    assert_true(m.frames[0].roll == -1.0);
    assert_string_equal(m.frames[1].image_file, "a.png");
    assert_int_equal(m.frames[1].entry, 1);
    vt_metadata_free(&m);
}

static void expect_error(const char *text, vt_status code, const char *a, const char *b)
{
    vt_metadata m;
    assert_int_equal(load_text(text, &m), code);
    assert_int_equal(m.count, 0);
    if (!strstr(vt_last_error(), a) || (b && !strstr(vt_last_error(), b)))
        fail_msg("message '%s' lacks '%s' / '%s'", vt_last_error(), a, b ? b : "");
}

static void metadata_errors_name_entry_and_field(void **state)
{
    (void)state;
    expect_error(
        "[" ENTRY(
            0, 0,
            "") ", {\"camera_index\": 0, \"frame_index\": 1, "
                "\"camera_position\": [0,0,0], \"pitch\": 0, \"roll\": 0, \"fov_degrees\": 60, "
                "\"image_file\": \"b.png\"}]",
        VT_EPARSE, "entry 1", "'yaw'");
    expect_error("[{\"camera_index\": \"zero\"}]", VT_EPARSE, "entry 0",
                 "'camera_index' must be an integer");
    expect_error("[{\"camera_index\": 0, \"frame_index\": 0, \"camera_position\": [1, 2]}]",
                 VT_EPARSE, "'camera_position'", "3 numbers");
    expect_error("[" ENTRY(0, 0, ", \"fov_degrees\": 0") "]", VT_EPARSE, "duplicate", NULL);
    expect_error("[\n  {\"camera_index\": 0,,}\n]", VT_EPARSE, "line 2", "column");
    expect_error("{\"frames\": []}", VT_EPARSE, "array", NULL);
    expect_error("[]", VT_EPARSE, "no frame entries", NULL);
    expect_error("[" ENTRY(0, 0, "") ", 5]", VT_EPARSE, "entry 1", "object");
    vt_metadata m;
    assert_int_equal(vt_metadata_load("/nonexistent/meta.json", &m), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "/nonexistent/meta.json"));
}

static void metadata_rejects_bad_fov(void **state)
{
    (void)state;
    const char *bad =
        "[{\"camera_index\": 0, \"frame_index\": 0, \"camera_position\": [1, 2, 3], "
        "\"yaw\": 0, \"pitch\": 0, \"roll\": 0, \"fov_degrees\": 180, \"image_file\": \"a.png\"}]";
    expect_error(bad, VT_EPARSE, "'fov_degrees'", "(0, 180)");
}

/* One rule for integers in every JSON reader: 3 and 3.0 are 3, 3.5 is refused. */
static void metadata_integers_are_integral_numbers(void **state)
{
    (void)state;
    vt_metadata m;
    assert_int_equal(load_text("[" ENTRY(2.0, 7, ", \"object_location\": [1, 2, 3]") "]", &m),
                     VT_OK);
    assert_int_equal(m.frames[0].camera_index, 2);
    vt_metadata_free(&m);
    expect_error("[" ENTRY(2.5, 7, "") "]", VT_EPARSE, "entry 0: field 'camera_index'",
                 "must be an integer (got 2.5)");
}

/* --- end to end on the dot scene ---------------------------------------------------------- */

static vt_dotscene_opts scene(void)
{
    vt_dotscene_opts o = vt_dotscene_opts_default();
    o.cameras = 3;
    o.frames = 5;
    o.width = 320;
    o.height = 180;
    return o;
}

static vt_grid_opts small_grid(void)
{
    vt_grid_opts g = {96, 96, 96, 5.0, {0.0, 0.0, 500.0}};
    return g;
}

static vt_status project(const vt_project_opts *po, vt_grid **out, vt_project_stats *st)
{
    vt_metadata m;
    char path[700];
    snprintf(path, sizeof path, "%s/metadata.json", dir);
    vt_status s = vt_metadata_load(path, &m);
    if (s)
        return s;
    vt_grid_opts go = small_grid();
    assert_int_equal(vt_grid_new(&go, out), VT_OK);
    s = vt_project_run(po, &m, dir, *out, st);
    vt_metadata_free(&m);
    return s;
}

static int setup_scene(void **state)
{
    (void)state;
    vt_dotscene_opts o = scene();
    return vt_dotscene_write(&o, dir) == VT_OK ? 0 : -1;
}

static double distance_to_path(vt_vec3 p)
{
    vt_dotscene_opts o = scene();
    vt_vec3 a = vt_dotscene_position(&o, 0), b = vt_dotscene_position(&o, o.frames - 1);
    vt_vec3 ab = vt_v3_sub(b, a);
    double t = vt_v3_dot(vt_v3_sub(p, a), ab) / vt_v3_dot(ab, ab);
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    return vt_v3_norm(vt_v3_sub(p, vt_v3_add(a, vt_v3_scale(ab, t))));
}

static void brightest_voxel_holds_the_dot(void **state)
{
    (void)state;
    vt_project_opts po = vt_project_opts_default();
    vt_grid *g;
    vt_project_stats st;
    assert_int_equal(project(&po, &g, &st), VT_OK);
    assert_int_equal(st.cameras, 3);
    assert_int_equal(st.frames, 15);
    assert_int_equal(st.pairs, 12);
    assert_true(st.changed > 0);
    assert_true(st.rays_hit > 0);
    int x, y, z;
    assert_true(vt_grid_argmax(g, &x, &y, &z, NULL));
    double d = distance_to_path(vt_grid_voxel_center(g, x, y, z));
    if (d > 1.5 * small_grid().voxel_size)
        fail_msg("brightest voxel is %.1f m from the dot's path", d);
    vt_grid_free(g);
}

static void assert_grids_equal(const vt_grid *a, const vt_grid *b)
{
    vt_grid_opts o = vt_grid_get_opts(a);
    for (int x = 0; x < o.nx; x++)
        for (int y = 0; y < o.ny; y++)
            for (int z = 0; z < o.nz; z++)
                if (vt_grid_at(a, x, y, z) != vt_grid_at(b, x, y, z))
                    fail_msg("voxel (%d,%d,%d) differs", x, y, z);
}

static void exact_traversal_finds_the_dot_too(void **state)
{
    (void)state;
    vt_project_opts po = vt_project_opts_default();
    po.traversal = VT_TRAVERSAL_EXACT;
    vt_grid *g;
    assert_int_equal(project(&po, &g, NULL), VT_OK);
    int x, y, z;
    assert_true(vt_grid_argmax(g, &x, &y, &z, NULL));
    assert_true(distance_to_path(vt_grid_voxel_center(g, x, y, z)) < 1.5 * small_grid().voxel_size);
    vt_grid_free(g);
    po.traversal = (vt_traversal)7;
    assert_int_equal(project(&po, &g, NULL), VT_EINVAL);
    vt_grid_free(g);
}

static void same_grid_for_any_thread_count(void **state)
{
    (void)state;
    vt_project_opts po = vt_project_opts_default();
    vt_grid *one, *two, *three;
    po.threads = 1;
    assert_int_equal(project(&po, &one, NULL), VT_OK);
    po.threads = 2;
    assert_int_equal(project(&po, &two, NULL), VT_OK);
    po.threads = 3;
    assert_int_equal(project(&po, &three, NULL), VT_OK);
    assert_grids_equal(one, two);
    assert_grids_equal(one, three);
    vt_grid_free(one);
    vt_grid_free(two);
    vt_grid_free(three);
}

/* The same votes as the plainest possible loop: diff every pair, cast every pixel. */
static void equals_a_plain_reference(void **state)
{
    (void)state;
    vt_dotscene_opts so = scene();
    vt_grid_opts go = small_grid();
    vt_grid *ref;
    assert_int_equal(vt_grid_new(&go, &ref), VT_OK);
    for (int c = 0; c < so.cameras; c++) {
        vt_vec3 pos;
        double yaw, pitch, roll;
        vt_dotscene_camera(&so, c, &pos, &yaw, &pitch, &roll);
        vt_camera cam;
        assert_int_equal(
            vt_camera_from_ypr(so.width, so.height, so.fov_deg, yaw, pitch, roll, pos, &cam),
            VT_OK);
        vt_image prev = {0}, cur = {0};
        for (int f = 0; f < so.frames; f++) {
            char path[700];
            snprintf(path, sizeof path, "%s/cam%d_frame%d.png", dir, c, f);
            assert_int_equal(vt_image_load(path, VT_IMAGE_LOAD_8BIT, &cur), VT_OK);
            if (f > 0)
                for (int v = 0; v < cur.height; v++)
                    for (int u = 0; u < cur.width; u++) {
                        int d = abs(vt_image_row8(&cur, v)[u] - vt_image_row8(&prev, v)[u]);
                        if (d <= 2)
                            continue;
                        vt_vec3 o, dirv;
                        vt_camera_pixel_to_ray(&cam, u, v, &o, &dirv);
                        vt_grid_cast(ref, o, dirv, (uint64_t)d * (uint64_t)VT_VOTE_ONE, NULL);
                    }
            vt_image_free(&prev);
            prev = cur;
            memset(&cur, 0, sizeof cur);
        }
        vt_image_free(&prev);
    }
    vt_project_opts po = vt_project_opts_default();
    po.traversal = VT_TRAVERSAL_EXACT; /* the reference casts with the exact DDA */
    vt_grid *g;
    assert_int_equal(project(&po, &g, NULL), VT_OK);
    assert_grids_equal(g, ref);
    vt_grid_free(g);
    vt_grid_free(ref);
}

static void noise_is_reproducible(void **state)
{
    (void)state;
    vt_project_opts po = vt_project_opts_default();
    po.noise = 1.0;
    po.seed = 5;
    vt_grid *a, *b, *c;
    vt_project_stats sa, sc;
    assert_int_equal(project(&po, &a, &sa), VT_OK);
    po.threads = 1;
    assert_int_equal(project(&po, &b, NULL), VT_OK);
    po.seed = 6;
    assert_int_equal(project(&po, &c, &sc), VT_OK);
    assert_grids_equal(a, b);
    /* Noise in [-1, 1] with threshold 2 rarely fires alone, but the dot's edges move. */
    bool differ = sa.changed != sc.changed;
    vt_grid_opts o = vt_grid_get_opts(a);
    for (int x = 0; x < o.nx && !differ; x++)
        for (int y = 0; y < o.ny && !differ; y++)
            for (int z = 0; z < o.nz && !differ; z++)
                differ = vt_grid_at(a, x, y, z) != vt_grid_at(c, x, y, z);
    assert_true(differ);
    vt_grid_free(a);
    vt_grid_free(b);
    vt_grid_free(c);
}

static void missing_image_fails_before_casting(void **state)
{
    (void)state;
    char path[700], moved[720];
    snprintf(path, sizeof path, "%s/cam1_frame2.png", dir);
    snprintf(moved, sizeof moved, "%s.away", path);
    assert_int_equal(rename(path, moved), 0);
    vt_project_opts po = vt_project_opts_default();
    vt_grid *g;
    vt_project_stats st;
    assert_int_equal(project(&po, &g, &st), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "cam1_frame2.png"));
    assert_non_null(strstr(vt_last_error(), "entry"));
    assert_int_equal(st.pairs, 0);
    vt_grid_free(g);
    po.skip_bad_frames = true;
    assert_int_equal(project(&po, &g, &st), VT_OK);
    assert_int_equal(st.frames_skipped, 1);
    assert_int_equal(st.pairs, 11); /* camera 1 keeps 4 frames: 3 pairs */
    vt_grid_free(g);
    assert_int_equal(rename(moved, path), 0);
}

static void frames_of_different_sizes_are_refused(void **state)
{
    (void)state;
    char path[700], saved[720];
    snprintf(path, sizeof path, "%s/cam2_frame3.png", dir);
    snprintf(saved, sizeof saved, "%s.orig", path);
    assert_int_equal(rename(path, saved), 0);
    vt_image img = {0};
    assert_int_equal(vt_image_alloc(&img, 100, 50, 8), VT_OK);
    assert_int_equal(vt_image_save_png(&img, path), VT_OK);
    vt_image_free(&img);
    vt_project_opts po = vt_project_opts_default();
    vt_grid *g;
    assert_int_equal(project(&po, &g, NULL), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "cam2_frame3.png"));
    assert_non_null(strstr(vt_last_error(), "100x50"));
    vt_grid_free(g);
    assert_int_equal(rename(saved, path), 0);
}

static void garbage_image_is_reported_or_skipped(void **state)
{
    (void)state;
    char path[700], saved[720];
    snprintf(path, sizeof path, "%s/cam0_frame1.png", dir);
    snprintf(saved, sizeof saved, "%s.orig", path);
    assert_int_equal(rename(path, saved), 0);
    write_file("cam0_frame1.png", "this is not a png");
    vt_project_opts po = vt_project_opts_default();
    vt_grid *g;
    vt_project_stats st;
    assert_int_equal(project(&po, &g, &st), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "cam0_frame1.png"));
    vt_grid_free(g);
    po.skip_bad_frames = true;
    assert_int_equal(project(&po, &g, &st), VT_OK);
    assert_int_equal(st.frames_skipped, 1);
    vt_grid_free(g);
    assert_int_equal(rename(saved, path), 0);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    vt_project_opts po = vt_project_opts_default();
    po.threshold = -1;
    vt_grid *g;
    assert_int_equal(project(&po, &g, NULL), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "threshold"));
    vt_grid_free(g);
    po = vt_project_opts_default();
    po.noise = NAN;
    assert_int_equal(project(&po, &g, NULL), VT_EINVAL);
    vt_grid_free(g);
}

int main(void)
{
    const char *base = getenv("VT_TEST_TMP");
    char cmd[1200];
    snprintf(dir, sizeof dir, "%s/project", base ? base : "/tmp/vt_test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_reads_every_field),
        cmocka_unit_test(metadata_errors_name_entry_and_field),
        cmocka_unit_test(metadata_rejects_bad_fov),
        cmocka_unit_test(metadata_integers_are_integral_numbers),
        cmocka_unit_test_setup(brightest_voxel_holds_the_dot, setup_scene),
        cmocka_unit_test(exact_traversal_finds_the_dot_too),
        cmocka_unit_test(same_grid_for_any_thread_count),
        cmocka_unit_test(equals_a_plain_reference),
        cmocka_unit_test(noise_is_reproducible),
        cmocka_unit_test(missing_image_fails_before_casting),
        cmocka_unit_test(frames_of_different_sizes_are_refused),
        cmocka_unit_test(garbage_image_is_reported_or_skipped),
        cmocka_unit_test(bad_options_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
