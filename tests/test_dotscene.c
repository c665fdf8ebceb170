/*
 * tests/test_dotscene.c - the dot scene dataset (voxtrack/dotscene.h).
 *
 * The scene has a known answer, so the tests check it against the camera
 * model: every camera looks straight at look_at, and in every rendered frame
 * the dot's intensity-weighted centroid sits on the projection of its centre
 * (area coverage makes that true to a small fraction of a pixel). Frames are
 * rendered into a fresh folder under $VT_TEST_TMP (or /tmp) and read back
 * through vt_image_load, as a user of the dataset would.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "voxtrack/camera.h"
#include "voxtrack/dotscene.h"
#include "voxtrack/image.h"
#include "vt_test.h"

/* ---- scratch folders ------------------------------------------------------ */

static void make_temp_dir(char *buf, size_t size)
{
    const char *base = getenv("VT_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    /* ctest names the folder but does not create it. */
    if (mkdir(base, 0777) != 0)
        assert_int_equal(errno, EEXIST);
    assert_true((size_t)snprintf(buf, size, "%s/dotscene-XXXXXX", base) < size);
    assert_non_null(mkdtemp(buf));
}

static void scene_path(char *buf, size_t size, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(buf, size, "%s/%s", dir, name) < size);
}

static void frame_name(char *buf, size_t size, int cam, int frame)
{
    assert_true((size_t)snprintf(buf, size, "cam%d_frame%d.png", cam, frame) < size);
}

static void remove_scene(const vt_dotscene_opts *o, const char *dir)
{
    char name[64], path[1024];
    for (int c = 0; c < o->cameras; c++)
        for (int f = 0; f < o->frames; f++) {
            frame_name(name, sizeof name, c, f);
            scene_path(path, sizeof path, dir, name);
            unlink(path);
        }
    scene_path(path, sizeof path, dir, "metadata.json");
    unlink(path);
    rmdir(dir);
}

static vt_camera scene_camera(const vt_dotscene_opts *o, int c)
{
    vt_vec3 pos;
    double yaw, pitch, roll;
    vt_dotscene_camera(o, c, &pos, &yaw, &pitch, &roll);
    vt_camera cam;
    assert_int_equal(
        vt_camera_from_ypr(o->width, o->height, o->fov_deg, yaw, pitch, roll, pos, &cam), VT_OK);
    return cam;
}

/* ---- geometry -------------------------------------------------------------- */

static void defaults_are_the_documented_scene(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    assert_int_equal(o.cameras, 4);
    assert_int_equal(o.frames, 8);
    assert_int_equal(o.width, 640);
    assert_int_equal(o.height, 360);
    assert_near(o.fov_deg, 60, 0);
    assert_near(o.look_at.z, 500, 0);
    assert_int_equal(o.background, 40);
    assert_int_equal(o.dot_level, 230);
}

static void dot_moves_in_a_straight_line(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    vt_vec3 p = vt_dotscene_position(&o, 5);
    assert_near(p.x, o.start.x + 5 * o.velocity.x, 1e-12);
    assert_near(p.y, o.start.y + 5 * o.velocity.y, 1e-12);
    assert_near(p.z, o.start.z + 5 * o.velocity.z, 1e-12);
}

static void cameras_stand_evenly_on_the_ring(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    o.cameras = 6;
    for (int c = 0; c < o.cameras; c++) {
        vt_vec3 p;
        double yaw, pitch, roll;
        vt_dotscene_camera(&o, c, &p, &yaw, &pitch, &roll);
        double phi = 2 * VT_PI * c / o.cameras;
        assert_near(p.x, o.look_at.x + o.ring_radius * cos(phi), 1e-9);
        assert_near(p.y, o.look_at.y + o.ring_radius * sin(phi), 1e-9);
        assert_near(p.z, o.ring_height, 0);
        assert_near(roll, 0, 0);
    }
}

static void check_cameras_aim_at_look_at(const vt_dotscene_opts *o)
{
    for (int c = 0; c < o->cameras; c++) {
        vt_camera cam = scene_camera(o, c);
        vt_vec3 axis = vt_camera_cam_to_world_dir(&cam, vt_v3(0, 0, 1));
        vt_vec3 want = vt_v3_normalize(vt_v3_sub(o->look_at, cam.position));
        assert_near(axis.x, want.x, 1e-12);
        assert_near(axis.y, want.y, 1e-12);
        assert_near(axis.z, want.z, 1e-12);
        double u, v;
        assert_true(vt_camera_world_to_pixel(&cam, o->look_at, &u, &v));
        assert_near(u, 0.5 * o->width, 1e-9);
        assert_near(v, 0.5 * o->height, 1e-9);
        /* Roll 0: the image rows are level and the image's "down" points down. */
        assert_near(vt_camera_cam_to_world_dir(&cam, vt_v3(1, 0, 0)).z, 0, 1e-12);
        assert_true(vt_camera_cam_to_world_dir(&cam, vt_v3(0, 1, 0)).z < 0);
    }
}

static void every_optical_axis_hits_look_at(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    check_cameras_aim_at_look_at(&o);
    /* Looking down from above, off-centre, with an odd number of cameras. */
    o.cameras = 7;
    o.look_at = vt_v3(150, -80, 40);
    o.ring_height = 900;
    o.ring_radius = 300;
    check_cameras_aim_at_look_at(&o);
}

/* ---- validation ------------------------------------------------------------ */

static void assert_rejected(vt_dotscene_opts o, const char *field)
{
    vt_clear_error();
    /* Options are checked before anything is written, so no folder is needed. */
    assert_int_equal(vt_dotscene_write(&o, "/nonexistent-voxtrack-dir"), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), field));
}

/* The defaults with one field changed must be refused with a message that names the field. */
#define assert_option_rejected(change, field)                                                      \
    do {                                                                                           \
        vt_dotscene_opts o_ = vt_dotscene_opts_default();                                          \
        o_.change;                                                                                 \
        assert_rejected(o_, field);                                                                \
    } while (0)

static void bad_options_are_rejected_by_name(void **state)
{
    (void)state;
    assert_option_rejected(cameras = 0, "'cameras'");
    assert_option_rejected(frames = -1, "'frames'");
    assert_option_rejected(width = 0, "'width'");
    assert_option_rejected(height = -360, "'height'");
    assert_option_rejected(fov_deg = 0, "'fov_deg'");
    assert_option_rejected(fov_deg = 180, "'fov_deg'");
    assert_option_rejected(fov_deg = NAN, "'fov_deg'");
    assert_option_rejected(background = 256, "'background'");
    assert_option_rejected(dot_level = -1, "'dot_level'");
    assert_option_rejected(ring_radius = 0, "'ring_radius'");
    assert_option_rejected(dot_radius = -4, "'dot_radius'");
    assert_option_rejected(start.y = INFINITY, "'start'");
}

static void writing_into_a_missing_folder_fails(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    o.cameras = 1;
    o.frames = 1;
    vt_clear_error();
    assert_true(vt_dotscene_write(&o, "/nonexistent-voxtrack-dir/scene") < 0);
    assert_true(strlen(vt_last_error()) > 0);
}

/* ---- rendering ------------------------------------------------------------- */

/* Intensity-weighted centroid of the pixels above the background. Returns the peak level. */
static int dot_centroid(const vt_image *img, int background, double *u, double *v)
{
    double sw = 0, su = 0, sv = 0;
    int peak = 0;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *row = vt_image_row8(img, y);
        for (int x = 0; x < img->width; x++) {
            if (row[x] > peak)
                peak = row[x];
            if (row[x] <= background)
                continue;
            double w = row[x] - background;
            sw += w;
            su += w * x;
            sv += w * y;
        }
    }
    assert_true(sw > 0);
    *u = su / sw;
    *v = sv / sw;
    return peak;
}

static void check_frame(const vt_dotscene_opts *o, const char *dir, int c, int f)
{
    char name[64], path[1024];
    frame_name(name, sizeof name, c, f);
    scene_path(path, sizeof path, dir, name);
    vt_image img;
    memset(&img, 0, sizeof img);
    assert_int_equal(vt_image_load(path, VT_IMAGE_LOAD_8BIT, &img), VT_OK);
    assert_int_equal(img.width, o->width);
    assert_int_equal(img.height, o->height);
    assert_int_equal(img.bits, 8);
    assert_int_equal(vt_image_row8(&img, 0)[0], o->background);

    vt_camera cam = scene_camera(o, c);
    double u, v, cu, cv;
    assert_true(vt_camera_world_to_pixel(&cam, vt_dotscene_position(o, f), &u, &v));
    assert_true(vt_camera_in_image(&cam, u, v));
    int peak = dot_centroid(&img, o->background, &cu, &cv);
    assert_near(cu, u, 0.2);
    assert_near(cv, v, 0.2);
    /* The dot is a few pixels across, so its middle pixel is fully covered. */
    assert_int_equal(peak, o->dot_level);
    vt_image_free(&img);
}

static void check_metadata(const vt_dotscene_opts *o, const char *dir)
{
    char path[1024];
    scene_path(path, sizeof path, dir, "metadata.json");
    json_error_t err;
    json_t *meta = json_load_file(path, 0, &err);
    assert_non_null(meta);
    assert_true(json_is_array(meta));
    assert_int_equal(json_array_size(meta), (size_t)(o->cameras * o->frames));
    size_t i;
    json_t *e;
    json_array_foreach(meta, i, e)
    {
        int c = (int)json_integer_value(json_object_get(e, "camera_index"));
        int f = (int)json_integer_value(json_object_get(e, "frame_index"));
        vt_vec3 p;
        double yaw, pitch, roll;
        vt_dotscene_camera(o, c, &p, &yaw, &pitch, &roll);
        json_t *pos = json_object_get(e, "camera_position");
        assert_int_equal(json_array_size(pos), 3);
        /* 17 significant digits: the numbers come back bit for bit. */
        assert_near(json_number_value(json_array_get(pos, 0)), p.x, 0);
        assert_near(json_number_value(json_array_get(pos, 2)), p.z, 0);
        assert_near(json_number_value(json_object_get(e, "yaw")), yaw, 0);
        assert_near(json_number_value(json_object_get(e, "pitch")), pitch, 0);
        assert_near(json_number_value(json_object_get(e, "roll")), 0, 0);
        assert_near(json_number_value(json_object_get(e, "fov_degrees")), o->fov_deg, 0);
        char name[64];
        frame_name(name, sizeof name, c, f);
        assert_string_equal(json_string_value(json_object_get(e, "image_file")), name);
    }
    json_decref(meta);
}

static void rendered_dot_sits_on_its_projection(void **state)
{
    (void)state;
    vt_dotscene_opts o = vt_dotscene_opts_default();
    o.cameras = 3;
    o.frames = 4;
    char dir[1024];
    make_temp_dir(dir, sizeof dir);
    assert_int_equal(vt_dotscene_write(&o, dir), VT_OK);
    check_metadata(&o, dir);
    for (int c = 0; c < o.cameras; c++)
        for (int f = 0; f < o.frames; f++)
            check_frame(&o, dir, c, f);
    remove_scene(&o, dir);
}

static void sub_pixel_steps_move_the_centroid(void **state)
{
    (void)state;
    /* A dot a third of a pixel per frame: coverage must carry the motion, not rounding. */
    vt_dotscene_opts o = vt_dotscene_opts_default();
    o.cameras = 1;
    o.frames = 3;
    o.velocity = vt_v3(0, 0.7, 0.5);
    char dir[1024];
    make_temp_dir(dir, sizeof dir);
    assert_int_equal(vt_dotscene_write(&o, dir), VT_OK);
    for (int f = 0; f < o.frames; f++)
        check_frame(&o, dir, 0, f);
    remove_scene(&o, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_scene),
        cmocka_unit_test(dot_moves_in_a_straight_line),
        cmocka_unit_test(cameras_stand_evenly_on_the_ring),
        cmocka_unit_test(every_optical_axis_hits_look_at),
        cmocka_unit_test(bad_options_are_rejected_by_name),
        cmocka_unit_test(writing_into_a_missing_folder_fails),
        cmocka_unit_test(rendered_dot_sits_on_its_projection),
        cmocka_unit_test(sub_pixel_steps_move_the_centroid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
