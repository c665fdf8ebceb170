/*
 * tests/test_rig.c - the camera rig and rig.json: a saved rig loads back
 * equal field by field (and saves to the same bytes), defaults apply, and
 * every malformed file is refused with a message that names the place: line
 * and column for broken JSON, camera and field for bad values.
 *
 * Files go to a fresh folder under $VT_TEST_TMP (or /tmp).
 */
#include <errno.h>
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

#include "voxtrack/rig.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_rig"
#include "vt_test_tmp.h"

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strdup(buf);
}

/* Loads `json` from a file and expects failure with `status` and `message` in the error. */
static void assert_refused(const char *json, vt_status status, const char *message)
{
    const char *path = vt_test_tmp_path("bad.json");
    write_text(path, json);
    vt_rig rig;
    vt_status s = vt_rig_load(path, &rig);
    if (s != status || !strstr(vt_last_error(), message)) {
        print_error("status %s, message \"%s\"; expected %s and \"%s\"\n", vt_status_name(s),
                    vt_last_error(), vt_status_name(status), message);
        fail();
    }
    assert_int_equal(rig.count, 0);
    assert_null(rig.cameras);
}

/* One valid camera, with `extra` spliced in (a leading comma is added). */
static const char *one_camera(const char *extra)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"cameras\": [{\"id\": \"m0\", \"pair\": 0, \"modality\": \"mono\",\n"
             " \"width\": 64, \"height\": 48, \"fx\": 50, \"fy\": 50, \"cx\": 31.5, \"cy\": 23.5,\n"
             " \"position\": [0, 0, 0], \"quaternion\": [1, 0, 0, 0]%s%s}]}\n",
             extra[0] ? ", " : "", extra);
    return buf;
}

/* A second camera "m1" after m0, with its fx set to `fx`. */
static const char *two_cameras(const char *fx)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"cameras\": [{\"id\": \"m0\", \"pair\": 0, \"modality\": \"mono\",\n"
             " \"width\": 64, \"height\": 48, \"fx\": 50, \"fy\": 50, \"cx\": 31.5, \"cy\": 23.5,\n"
             " \"position\": [0, 0, 0], \"quaternion\": [1, 0, 0, 0]},\n"
             " {\"id\": \"m1\", \"pair\": 1, \"modality\": \"mono\",\n"
             " \"width\": 64, \"height\": 48, \"fx\": %s, \"fy\": 50, \"cx\": 31.5, \"cy\": 23.5,\n"
             " \"position\": [0, 0, 0], \"quaternion\": [1, 0, 0, 0]}]}\n",
             fx);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Rigs in memory                                                            */

static vt_rig_camera random_camera(const char *id, int pair, vt_modality m)
{
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    c.pair = pair;
    c.modality = m;
    c.bits = m == VT_MODALITY_THERMAL ? 16 : 8;
    c.cam.width = m == VT_MODALITY_THERMAL ? 640 : 1920;
    c.cam.height = m == VT_MODALITY_THERMAL ? 512 : 1080;
    c.cam.fx = vt_test_uniform(500, 3000);
    c.cam.fy = c.cam.fx * vt_test_uniform(0.99, 1.01);
    c.cam.cx = c.cam.width / 2.0 + vt_test_uniform(-5, 5);
    c.cam.cy = c.cam.height / 2.0 + vt_test_uniform(-5, 5);
    for (int i = 0; i < 5; i++)
        c.cam.dist[i] = vt_test_uniform(-0.1, 0.1);
    c.cam.position =
        vt_v3(vt_test_uniform(-1000, 1000), vt_test_uniform(-1000, 1000), vt_test_uniform(0, 100));
    c.cam.q = vt_test_random_rotation();
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    return c;
}

static void add_camera(vt_rig *rig, vt_rig_camera c, vt_media media, const char *path,
                       const char *ts)
{
    c.media = media;
    c.path = (char *)path;
    c.timestamps = (char *)ts;
    assert_int_equal(vt_rig_add(rig, &c), VT_OK);
}

static vt_rig sample_rig(void)
{
    vt_test_seed(42);
    vt_rig rig;
    vt_rig_init(&rig);
    rig.has_origin = true;
    rig.lat_deg = 47.376887;
    rig.lon_deg = 8.541694;
    rig.height_m = 408.25;
    rig.fps = 29.97;
    add_camera(&rig, random_camera("m0", 0, VT_MODALITY_MONO), VT_MEDIA_FRAMES, "m0/%06d.png",
               "m0/timestamps.txt");
    add_camera(&rig, random_camera("t0", 0, VT_MODALITY_THERMAL), VT_MEDIA_VIDEO, "t0.mkv",
               "t0/timestamps.txt");
    add_camera(&rig, random_camera("m1", 1, VT_MODALITY_MONO), VT_MEDIA_RAW, "m1.raw", NULL);
    add_camera(&rig, random_camera("sim \"q\"", 1, VT_MODALITY_THERMAL), VT_MEDIA_NONE, NULL, NULL);
    return rig;
}

static void assert_same_string(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same_camera(const vt_rig_camera *a, const vt_rig_camera *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->pair, b->pair);
    assert_int_equal(a->modality, b->modality);
    assert_int_equal(a->bits, b->bits);
    assert_int_equal(a->media, b->media);
    assert_same_string(a->path, b->path);
    assert_same_string(a->timestamps, b->timestamps);
    const vt_camera *p = &a->cam, *q = &b->cam;
    assert_int_equal(p->width, q->width);
    assert_int_equal(p->height, q->height);
    /* Exact: the file must hold every bit of every double. */
    assert_true(p->fx == q->fx && p->fy == q->fy && p->cx == q->cx && p->cy == q->cy);
    for (int i = 0; i < 5; i++)
        assert_true(p->dist[i] == q->dist[i]);
    assert_true(p->position.x == q->position.x && p->position.y == q->position.y &&
                p->position.z == q->position.z);
    assert_true(p->q.w == q->q.w && p->q.x == q->q.x && p->q.y == q->q.y && p->q.z == q->q.z);
    assert_int_equal(p->distorted, q->distorted);
    assert_true(memcmp(&p->r, &q->r, sizeof p->r) == 0);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */

static void test_save_then_load_gives_the_same_rig(void **state)
{
    (void)state;
    vt_rig want = sample_rig(), got;
    const char *path = vt_test_tmp_path("rig.json");
    assert_int_equal(vt_rig_save(&want, path), VT_OK);
    assert_int_equal(vt_rig_load(path, &got), VT_OK);
    assert_true(got.has_origin);
    assert_true(got.lat_deg == want.lat_deg && got.lon_deg == want.lon_deg &&
                got.height_m == want.height_m && got.fps == want.fps);
    assert_int_equal(got.count, want.count);
    for (int i = 0; i < want.count; i++)
        assert_same_camera(&got.cameras[i], &want.cameras[i]);
    assert_string_equal(got.dir, tmpdir);
    vt_rig_free(&want);
    vt_rig_free(&got);
}

static void test_save_is_stable_and_leaves_no_tmp_file(void **state)
{
    (void)state;
    vt_rig rig = sample_rig(), again;
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", vt_test_tmp_path("a.json"));
    snprintf(b, sizeof b, "%s", vt_test_tmp_path("b.json"));
    assert_int_equal(vt_rig_save(&rig, a), VT_OK);
    assert_int_equal(vt_rig_load(a, &again), VT_OK);
    assert_int_equal(vt_rig_save(&again, b), VT_OK);
    char *ta = read_text(a), *tb = read_text(b);
    assert_string_equal(ta, tb);
    /* Short numbers stay short: no 0.10000000000000001 for 0.1. */
    assert_non_null(strstr(ta, "\"fps\": 29.97,"));
    assert_non_null(strstr(ta, "\"width\": 1920,"));
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", a);
    assert_int_equal(access(tmp, F_OK), -1);
    free(ta);
    free(tb);
    vt_rig_free(&rig);
    vt_rig_free(&again);
}

static void test_defaults_apply_to_optional_fields(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("defaults.json");
    write_text(path, "{\"cameras\": [{\"id\": \"t0\", \"pair\": 3, \"modality\": \"thermal\",\n"
                     " \"width\": 640, \"height\": 512, \"fx\": 800, \"fy\": 800, \"cx\": 320,\n"
                     " \"cy\": 256, \"position\": [1, 2, 3], \"quaternion\": [1, 0, 0, 0]}]}");
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    assert_false(rig.has_origin);
    assert_true(rig.fps == 30.0);
    assert_int_equal(rig.count, 1);
    vt_rig_camera *c = &rig.cameras[0];
    assert_int_equal(c->bits, 16);
    assert_int_equal(c->pair, 3);
    assert_int_equal(c->media, VT_MEDIA_NONE);
    assert_null(c->path);
    assert_null(c->timestamps);
    for (int i = 0; i < 5; i++)
        assert_true(c->cam.dist[i] == 0.0);
    assert_false(c->cam.distorted);
    vt_rig_free(&rig);
}

static void test_a_loaded_mono_camera_defaults_to_8_bits(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("mono.json");
    write_text(path, one_camera("\"frames\": \"m0/%06d.pgm\", \"timestamps\": \"m0/t.txt\""));
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    assert_int_equal(rig.cameras[0].bits, 8);
    assert_int_equal(rig.cameras[0].media, VT_MEDIA_FRAMES);
    assert_string_equal(rig.cameras[0].path, "m0/%06d.pgm");
    assert_string_equal(rig.cameras[0].timestamps, "m0/t.txt");
    vt_rig_free(&rig);
}

static void test_non_unit_quaternion_is_normalised(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("quat.json");
    char json[2048];
    snprintf(json, sizeof json, "%s", one_camera(""));
    char *q = strstr(json, "[1, 0, 0, 0]");
    memcpy(q, "[0, 0, 2, 0]", 12);
    write_text(path, json);
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    vt_quat got = rig.cameras[0].cam.q;
    assert_near(got.w, 0, 1e-15);
    assert_near(got.y, 1, 1e-15);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                  */

static void test_malformed_json_names_line_and_column(void **state)
{
    (void)state;
    assert_refused("{\"fps\": 30,\n \"cameras\": [\n   {\"id\": \"m0\",, }]}", VT_EPARSE,
                   "line 3, column");
}

static void test_missing_file_is_enoent(void **state)
{
    (void)state;
    vt_rig rig;
    assert_int_equal(vt_rig_load(vt_test_tmp_path("nowhere.json"), &rig), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), "nowhere.json"));
    assert_int_equal(rig.count, 0);
}

static void test_unknown_fields_are_named(void **state)
{
    (void)state;
    assert_refused(one_camera("\"timestamp\": \"x.txt\", \"fov\": 3"), VT_EPARSE,
                   "camera 0 ('m0'): unknown fields 'timestamp', 'fov'");
    assert_refused("{\"fps\": 30, \"cams\": []}", VT_EPARSE, "unknown field 'cams'");
}

static void test_zero_focal_length_names_camera_and_field(void **state)
{
    (void)state;
    assert_refused(two_cameras("0"), VT_EPARSE, "camera 1 ('m1'): field 'fx' must be > 0");
    assert_refused(two_cameras("\"50\""), VT_EPARSE,
                   "camera 1 ('m1'): field 'fx' must be a number");
}

static void test_tiny_quaternion_is_refused(void **state)
{
    (void)state;
    char json[2048];
    snprintf(json, sizeof json, "%s", one_camera(""));
    char *q = strstr(json, "[1, 0, 0, 0]");
    memcpy(q, "[0, 0, 0, 0]", 12);
    assert_refused(json, VT_EPARSE, "field 'quaternion' has norm 0");
}

static void test_duplicate_ids_and_keys_are_refused(void **state)
{
    (void)state;
    char json[2048];
    snprintf(json, sizeof json, "%s", two_cameras("50"));
    char *m1 = strstr(json, "\"m1\"");
    m1[2] = '0';
    assert_refused(json, VT_EPARSE, "field 'id' 'm0' is already used by camera 0");
    assert_refused("{\"fps\": 30, \"fps\": 25, \"cameras\": []}", VT_EPARSE, "duplicate");
}

static void test_bad_values_are_refused(void **state)
{
    (void)state;
    assert_refused(one_camera("\"bits\": 12"), VT_EPARSE, "field 'bits' must be 8 or 16");
    assert_refused(one_camera("\"frames\": \"a/%06d.png\", \"raw\": \"a.raw\""), VT_EPARSE,
                   "field 'raw' cannot be given together with 'frames'");
    assert_refused(one_camera("\"frames\": \"a/%s.png\""), VT_EPARSE, "field 'frames' must hold");
    assert_refused(one_camera("\"frames\": \"a/%d_%d.png\""), VT_EPARSE, "field 'frames'");
    assert_refused(one_camera("\"dist\": [0, 0, 0]"), VT_EPARSE, "field 'dist' must be an array");
    assert_refused(one_camera("\"video\": \"\""), VT_EPARSE, "field 'video' must be a non-empty");
    char json[2048];
    snprintf(json, sizeof json, "%s", one_camera(""));
    memcpy(strstr(json, "\"mono\""), "\"gray\"", 6);
    assert_refused(json, VT_EPARSE, "field 'modality' must be \"mono\" or \"thermal\"");
    snprintf(json, sizeof json, "%s", one_camera(""));
    memcpy(strstr(json, "\"width\": 64"), "\"width\": -1", 11);
    assert_refused(json, VT_EPARSE, "field 'width' must be > 0");
    snprintf(json, sizeof json, "%s", one_camera(""));
    memcpy(strstr(json, "\"pair\": 0"), "\"pack\": 0", 9);
    assert_refused(json, VT_EPARSE, "unknown field 'pack'");
}

static void test_bad_top_level_is_refused(void **state)
{
    (void)state;
    assert_refused("[]", VT_EPARSE, "top level must be an object");
    assert_refused("{\"fps\": 0, \"cameras\": []}", VT_EPARSE, "field 'fps' must be > 0");
    assert_refused("{\"fps\": 30}", VT_EPARSE, "field 'cameras' is missing");
    assert_refused("{\"cameras\": []}", VT_EPARSE, "field 'cameras' must be a non-empty array");
    assert_refused("{\"origin\": {\"lat\": 91, \"lon\": 0}, \"cameras\": [1]}", VT_EPARSE,
                   "field 'origin.lat' must be in [-90, 90]");
    assert_refused("{\"origin\": {\"lat\": 0, \"lon\": 0, \"alt\": 4}, \"cameras\": [1]}",
                   VT_EPARSE, "origin: unknown field 'alt'");
    assert_refused("{\"cameras\": [1]}", VT_EPARSE, "camera 0: must be an object");
}

/* The rules of core/json_read.h, as every JSON reader of the library has them. */
static void test_rig_fields_follow_the_json_reader_rules(void **state)
{
    (void)state;
    assert_refused("{\"origin\": {\"lat\": 0, \"lon\": 0, \"alt\": 4}, \"cameras\": [1]}",
                   VT_EPARSE, "bad.json: origin: unknown field 'alt' (allowed: lat, lon, h)");
    assert_refused(one_camera("\"bits\": 8.5"), VT_EPARSE,
                   "camera 0 ('m0'): field 'bits' must be an integer (got 8.5)");
    assert_refused(
        one_camera("\"bits\": 1e10"), VT_EPARSE,
        "field 'bits' must be an integer in [-2147483648, 2147483647] (got 10000000000)");
}

/* ------------------------------------------------------------------------ */
/* Cameras with 2D detections                                                 */

static void test_detections_cameras_save_and_load_back_with_their_clock(void **state)
{
    (void)state;
    vt_rig want = sample_rig(), got;
    vt_rig_camera c = random_camera("d0", 2, VT_MODALITY_MONO);
    c.clock_scale = 1.0 / 25.003;
    c.clock_offset = -0.1234;
    add_camera(&want, c, VT_MEDIA_DETECTIONS, "dets/d0.csv", NULL);
    vt_rig_camera d = random_camera("d1", 3, VT_MODALITY_MONO);
    add_camera(&want, d, VT_MEDIA_DETECTIONS, "d1.jsonl", "d1/timestamps.txt");
    const char *path = vt_test_tmp_path("dets_rig.json");
    assert_int_equal(vt_rig_save(&want, path), VT_OK);
    assert_int_equal(vt_rig_load(path, &got), VT_OK);
    assert_int_equal(got.count, want.count);
    for (int i = 0; i < want.count; i++) {
        assert_same_camera(&got.cameras[i], &want.cameras[i]);
        assert_true(got.cameras[i].clock_scale == want.cameras[i].clock_scale);
        assert_true(got.cameras[i].clock_offset == want.cameras[i].clock_offset);
    }
    char *text = read_text(path);
    assert_non_null(strstr(text, "\"detections\": \"dets/d0.csv\""));
    /* d1's default clock is not written: one "clock" in the file, d0's. */
    const char *clock = strstr(text, "\"clock\": {\"scale\": ");
    assert_non_null(clock);
    assert_null(strstr(clock + 1, "\"clock\""));
    free(text);
    vt_rig_free(&want);
    vt_rig_free(&got);
}

static void test_a_camera_fps_and_t0_give_its_clock(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("fps.json");
    write_text(path, one_camera("\"detections\": \"m0.txt\", \"fps\": 25, \"t0\": 0.5"));
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    assert_int_equal(rig.cameras[0].media, VT_MEDIA_DETECTIONS);
    assert_string_equal(rig.cameras[0].path, "m0.txt");
    assert_true(rig.cameras[0].clock_scale == 1.0 / 25.0);
    assert_true(rig.cameras[0].clock_offset == 0.5);
    vt_rig_free(&rig);
    write_text(path, one_camera("\"detections\": \"m0.txt\", \"clock\": {\"offset\": 2}"));
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    assert_true(rig.cameras[0].clock_scale == 0.0); /* the default */
    assert_true(rig.cameras[0].clock_offset == 2.0);
    vt_rig_free(&rig);
}

static void test_bad_clocks_are_refused(void **state)
{
    (void)state;
    assert_refused(one_camera("\"frames\": \"a/%06d.png\", \"clock\": {\"offset\": 1}"), VT_EPARSE,
                   "field 'clock' applies to cameras with 'detections' only");
    assert_refused(one_camera("\"t0\": 1"), VT_EPARSE, "field 't0' applies to cameras");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"fps\": 25, \"clock\": {}"), VT_EPARSE,
                   "field 'fps' cannot be given together with 'clock'");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"fps\": -2"), VT_EPARSE,
                   "field 'fps' must be > 0");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"clock\": {\"scale\": 0}"), VT_EPARSE,
                   "field 'clock.scale' must be > 0");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"clock\": {\"drift\": 0}"), VT_EPARSE,
                   "unknown field 'clock.drift'");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"clock\": 3"), VT_EPARSE,
                   "field 'clock' must be an object");
    assert_refused(one_camera("\"detections\": \"d.csv\", \"raw\": \"a.raw\""), VT_EPARSE,
                   "cannot be given together with 'raw'");
}

/* ------------------------------------------------------------------------ */
/* Helpers of the rig                                                         */

static void test_add_refuses_a_used_id_and_find_finds(void **state)
{
    (void)state;
    vt_rig rig = sample_rig();
    vt_rig_camera c = rig.cameras[0];
    assert_int_equal(vt_rig_add(&rig, &c), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'m0' is already used"));
    c.id[0] = '\0';
    assert_int_equal(vt_rig_add(&rig, &c), VT_EINVAL);
    assert_int_equal(vt_rig_find(&rig, "m1"), 2);
    assert_int_equal(vt_rig_find(&rig, "x"), -1);
    vt_rig_free(&rig);
    vt_rig_free(&rig); /* a freed rig is zeroed: freeing again is harmless */
}

static void test_resolve_joins_relative_paths_only(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    char buf[64];
    assert_int_equal(vt_rig_resolve(&rig, "m0.raw", buf, sizeof buf), VT_OK);
    assert_string_equal(buf, "m0.raw");
    free(rig.dir);
    rig.dir = strdup("/data/run1");
    assert_int_equal(vt_rig_resolve(&rig, "m0/%06d.png", buf, sizeof buf), VT_OK);
    assert_string_equal(buf, "/data/run1/m0/%06d.png");
    assert_int_equal(vt_rig_resolve(&rig, "/abs/m0.mkv", buf, sizeof buf), VT_OK);
    assert_string_equal(buf, "/abs/m0.mkv");
    assert_int_equal(vt_rig_resolve(&rig, "rtsp://cam1/stream", buf, sizeof buf), VT_OK);
    assert_string_equal(buf, "rtsp://cam1/stream");
    assert_int_equal(vt_rig_resolve(&rig, "m0.raw", buf, 8), VT_ERANGE);
    vt_rig_free(&rig);
}

static void test_save_refuses_unwritable_places_and_nan(void **state)
{
    (void)state;
    vt_rig rig = sample_rig();
    assert_int_equal(vt_rig_save(&rig, vt_test_tmp_path("no/such/folder/rig.json")), VT_EIO);
    assert_non_null(strstr(vt_last_error(), "no/such/folder/rig.json.tmp"));
    rig.cameras[1].cam.fx = NAN;
    assert_int_equal(vt_rig_save(&rig, vt_test_tmp_path("nan.json")), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "camera 1 ('t0')"));
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* GigE Vision cameras                                                       */

static void assert_same_gige(const vt_rig_gige *a, const vt_rig_gige *b)
{
    assert_string_equal(a->pixel_format, b->pixel_format);
    assert_true(a->exposure_us == b->exposure_us && a->fps == b->fps);
    assert_true(a->gain_db == b->gain_db || (isnan(a->gain_db) && isnan(b->gain_db)));
    assert_string_equal(a->trigger_source, b->trigger_source);
    assert_int_equal(a->ptp, b->ptp);
    assert_int_equal(a->packet_size, b->packet_size);
}

static void test_gige_settings_save_and_load_back(void **state)
{
    (void)state;
    vt_rig want = sample_rig(), got;
    vt_rig_camera g = random_camera("g0", 2, VT_MODALITY_MONO);
    snprintf(g.gige.pixel_format, sizeof g.gige.pixel_format, "Mono12");
    g.gige.exposure_us = 1234.5;
    g.gige.gain_db = 0.0; /* a real setting, unlike NAN */
    g.gige.fps = 29.97;
    snprintf(g.gige.trigger_source, sizeof g.gige.trigger_source, "Line0");
    g.gige.ptp = true;
    g.gige.packet_size = 8192;
    add_camera(&want, g, VT_MEDIA_GIGE, "192.168.1.20", NULL);
    vt_rig_camera plain = random_camera("g1", 2, VT_MODALITY_THERMAL);
    plain.gige.gain_db = NAN;
    add_camera(&want, plain, VT_MEDIA_GIGE, "FLIR-A70-0042", NULL);
    const char *path = vt_test_tmp_path("gige.json");
    assert_int_equal(vt_rig_save(&want, path), VT_OK);
    char *text = read_text(path);
    assert_non_null(strstr(text, "\"gige\": {\"id\": \"FLIR-A70-0042\"}"));
    free(text);
    assert_int_equal(vt_rig_load(path, &got), VT_OK);
    assert_int_equal(got.count, want.count);
    for (int i = 0; i < want.count; i++) {
        assert_same_camera(&got.cameras[i], &want.cameras[i]);
        assert_same_gige(&got.cameras[i].gige, &want.cameras[i].gige);
    }
    assert_true(got.cameras[4].gige.gain_db == 0.0);
    assert_true(isnan(got.cameras[5].gige.gain_db));
    vt_rig_free(&want);
    vt_rig_free(&got);
}

static void test_gige_defaults_leave_the_camera_alone(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("gige-defaults.json");
    write_text(path, one_camera("\"gige\": {\"id\": \"127.0.0.1\"}"));
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    const vt_rig_camera *c = &rig.cameras[0];
    assert_int_equal(c->media, VT_MEDIA_GIGE);
    assert_string_equal(c->path, "127.0.0.1");
    assert_null(c->timestamps);
    assert_string_equal(c->gige.pixel_format, "");
    assert_true(c->gige.exposure_us == 0 && c->gige.fps == 0 && isnan(c->gige.gain_db));
    assert_string_equal(c->gige.trigger_source, "");
    assert_false(c->gige.ptp);
    assert_int_equal(c->gige.packet_size, 0);
    vt_rig_free(&rig);
}

static void test_cameras_without_gige_have_no_gain_setting(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("no-gige.json");
    write_text(path, one_camera("\"raw\": \"m0.raw\""));
    vt_rig rig;
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    assert_true(isnan(rig.cameras[0].gige.gain_db));
    /* A camera built in memory with zeroed settings gets the same meaning. */
    vt_rig_camera c = random_camera("m9", 0, VT_MODALITY_MONO);
    add_camera(&rig, c, VT_MEDIA_FRAMES, "m9/%06d.png", NULL);
    assert_true(isnan(rig.cameras[1].gige.gain_db));
    vt_rig_free(&rig);
}

static void test_bad_gige_settings_are_refused_with_their_path(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *message;
    } cases[] = {
        {"\"gige\": \"127.0.0.1\"", "camera 0 ('m0'): field 'gige' must be an object"},
        {"\"gige\": {\"id\": \"a\", \"exposure\": 5}", "unknown field 'gige.exposure'"},
        {"\"gige\": {\"pixel_format\": \"Mono8\"}", "field 'gige.id' is missing"},
        {"\"gige\": {\"id\": \"\"}", "field 'gige.id' must be a non-empty string"},
        {"\"gige\": {\"id\": \"a\", \"pixel_format\": \"RGB8\"}",
         "field 'gige.pixel_format' must be Mono8, Mono10"},
        {"\"gige\": {\"id\": \"a\", \"exposure_us\": 0}", "field 'gige.exposure_us' must be > 0"},
        {"\"gige\": {\"id\": \"a\", \"gain_db\": \"3\"}", "field 'gige.gain_db' must be a number"},
        {"\"gige\": {\"id\": \"a\", \"fps\": -1}", "field 'gige.fps' must be > 0"},
        {"\"gige\": {\"id\": \"a\", \"packet_size\": 100}",
         "field 'gige.packet_size' must be in [576, 65535]"},
        {"\"gige\": {\"id\": \"a\", \"packet_size\": 1500.5}",
         "field 'gige.packet_size' must be an integer"},
        {"\"gige\": {\"id\": \"a\", \"ptp\": 1}", "field 'gige.ptp' must be true or false"},
        {"\"gige\": {\"id\": \"a\", \"trigger_source\": \"Line0123456789012345678901234567\"}",
         "field 'gige.trigger_source' must be shorter than 32"},
        {"\"raw\": \"a.raw\", \"gige\": {\"id\": \"a\"}",
         "field 'gige' cannot be given together with 'raw'"},
        {"\"gige\": {\"id\": \"a\"}, \"timestamps\": \"t.txt\"",
         "field 'timestamps' cannot be given with 'gige'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_refused(one_camera(cases[i].extra), VT_EPARSE, cases[i].message);
}

static void test_save_refuses_infinite_gige_settings(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera g = random_camera("g0", 0, VT_MODALITY_MONO);
    g.gige.gain_db = INFINITY;
    add_camera(&rig, g, VT_MEDIA_GIGE, "127.0.0.1", NULL);
    assert_int_equal(vt_rig_save(&rig, vt_test_tmp_path("inf.json")), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "camera 0 ('g0'): gige settings"));
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_then_load_gives_the_same_rig),
        cmocka_unit_test(test_save_is_stable_and_leaves_no_tmp_file),
        cmocka_unit_test(test_defaults_apply_to_optional_fields),
        cmocka_unit_test(test_a_loaded_mono_camera_defaults_to_8_bits),
        cmocka_unit_test(test_non_unit_quaternion_is_normalised),
        cmocka_unit_test(test_malformed_json_names_line_and_column),
        cmocka_unit_test(test_missing_file_is_enoent),
        cmocka_unit_test(test_unknown_fields_are_named),
        cmocka_unit_test(test_zero_focal_length_names_camera_and_field),
        cmocka_unit_test(test_tiny_quaternion_is_refused),
        cmocka_unit_test(test_duplicate_ids_and_keys_are_refused),
        cmocka_unit_test(test_bad_values_are_refused),
        cmocka_unit_test(test_bad_top_level_is_refused),
        cmocka_unit_test(test_detections_cameras_save_and_load_back_with_their_clock),
        cmocka_unit_test(test_a_camera_fps_and_t0_give_its_clock),
        cmocka_unit_test(test_bad_clocks_are_refused),
        cmocka_unit_test(test_add_refuses_a_used_id_and_find_finds),
        cmocka_unit_test(test_resolve_joins_relative_paths_only),
        cmocka_unit_test(test_save_refuses_unwritable_places_and_nan),
        cmocka_unit_test(test_gige_settings_save_and_load_back),
        cmocka_unit_test(test_gige_defaults_leave_the_camera_alone),
        cmocka_unit_test(test_cameras_without_gige_have_no_gain_setting),
        cmocka_unit_test(test_bad_gige_settings_are_refused_with_their_path),
        cmocka_unit_test(test_save_refuses_infinite_gige_settings),
        cmocka_unit_test(test_rig_fields_follow_the_json_reader_rules),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
