/*
 * tests/test_source.c - frame writers and frame sources: every format writes
 * and reads back 8-bit mono and 16-bit thermal frames with their frame
 * numbers and times (a dropped frame included), PNG, PGM and raw exactly and
 * HEVC within a bound this file asserts; and the failures a user will meet
 * (truncated raw file, video of the wrong size, missing frame file, bad
 * timestamps) are errors that name the camera, the file and the frame.
 *
 * The scene is a sky gradient with mild noise and a few small targets (dark
 * for mono, warm for thermal), 64x48, a handful of frames, so that x265 stays
 * fast. Files go to a fresh folder under $VT_TEST_TMP (or /tmp).
 */
#include <errno.h>
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

#include "voxtrack/source.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_source"
#include "vt_test_tmp.h"

enum { W = 64, H = 48, FRAMES = 5 };

/* Frame numbers written: 2 and 5 were dropped by the camera. */
static const int64_t frame_numbers[FRAMES] = {0, 1, 3, 4, 6};

/*
 * Largest and mean difference HEVC (crf 12, ultrafast) may make, in grey
 * levels of the camera's depth. Measured: max 6 and mean 1.1 for mono, max
 * 1223 and mean 229 for thermal; the error follows the scene's +-2-level
 * noise, which the encoder smooths.
 */
#define HEVC_MAX_8BIT 8
#define HEVC_MEAN_8BIT 2.0
#define HEVC_MAX_16BIT (8 * 256)
#define HEVC_MEAN_16BIT (2.0 * 256)

/*
 * libx265 3.5 (Debian 12) leaks a little on every encoder it opens and
 * closes: the zone parameters (x265 issue #656) and, with SAO off as in the
 * ultrafast preset, the SAO buffers (issue #641). LeakSanitizer takes its
 * default suppressions from this hook; only leaks inside libx265 are
 * suppressed. Without the sanitizer the function is never called.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* A fresh folder for one test. */
static const char *test_dir(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    assert_int_equal(vt_test_make_dirs(path), 0);
    return path;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void assert_error(vt_status got, vt_status want, const char *a, const char *b)
{
    const char *msg = vt_last_error();
    if (got != want || !strstr(msg, a) || (b && !strstr(msg, b))) {
        print_error("status %s, message \"%s\"; expected %s with \"%s\" and \"%s\"\n",
                    vt_status_name(got), msg, vt_status_name(want), a, b ? b : "");
        fail();
    }
}

/* ------------------------------------------------------------------------ */
/* Scenes                                                                    */

static vt_rig_camera make_camera(const char *id, vt_modality m)
{
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    c.modality = m;
    c.bits = m == VT_MODALITY_THERMAL ? 16 : 8;
    c.cam = (vt_camera){
        .width = W, .height = H, .fx = 60, .fy = 60, .cx = 31.5, .cy = 23.5, .q = {1, 0, 0, 0}};
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    return c;
}

/* Sky with noise of a few levels, and three 3x3 targets that move with k. */
static vt_image scene(int bits, int k)
{
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, W, H, bits), VT_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = 150 + 40.0 * y / H + vt_test_uniform(-2, 2);
            for (int t = 0; t < 3; t++) {
                int tx = 10 + 20 * t + k, ty = 10 + 12 * t;
                if (abs(x - tx) <= 1 && abs(y - ty) <= 1)
                    v = bits == 8 ? 40 : 250;
            }
            if (bits == 8)
                vt_image_row8(&img, y)[x] = (uint8_t)v;
            else
                vt_image_row16(&img, y)[x] = (uint16_t)(v * 200 + vt_test_uniform(0, 50));
        }
    return img;
}

static int pixel(const vt_image *img, int x, int y)
{
    return img->bits == 8 ? vt_image_row8(img, y)[x] : vt_image_row16(img, y)[x];
}

/* The largest difference between two images, and the mean in *mean. */
static int max_abs_difference(const vt_image *a, const vt_image *b, double *mean)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->bits, b->bits);
    int worst = 0;
    double sum = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++) {
            int d = abs(pixel(a, x, y) - pixel(b, x, y));
            worst = d > worst ? d : worst;
            sum += d;
        }
    *mean = sum / ((double)a->width * a->height);
    return worst;
}

static double frame_time(int i)
{
    return 100.0 + frame_numbers[i] / 25.0 + 0.000123456 * i; /* jitter */
}

/* Writes FRAMES scenes of camera c under dir; c gets its media and paths. */
static void write_frames(const char *dir, vt_rig_camera *c, vt_frame_format fmt, vt_image *written)
{
    vt_frame_writer *w;
    assert_int_equal(vt_frame_writer_open(dir, c, fmt, 25.0, &w), VT_OK);
    for (int i = 0; i < FRAMES; i++) {
        written[i] = scene(c->bits, i);
        assert_int_equal(vt_frame_writer_write(w, &written[i], frame_numbers[i], frame_time(i)),
                         VT_OK);
    }
    assert_int_equal(vt_frame_writer_close(w), VT_OK);
}

/* A rig in dir holding camera c, saved and loaded back as a user would. */
static vt_rig rig_of(const char *dir, const vt_rig_camera *c)
{
    vt_rig rig;
    vt_rig_init(&rig);
    rig.fps = 25.0;
    assert_int_equal(vt_rig_add(&rig, c), VT_OK);
    char path[1100];
    snprintf(path, sizeof path, "%s/rig.json", dir);
    assert_int_equal(vt_rig_save(&rig, path), VT_OK);
    vt_rig_free(&rig);
    assert_int_equal(vt_rig_load(path, &rig), VT_OK);
    return rig;
}

static void free_camera_strings(vt_rig_camera *c)
{
    free(c->path);
    free(c->timestamps);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */

static void round_trip(vt_frame_format fmt, vt_modality m, int tolerance, double mean_tolerance)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%d", vt_frame_format_name(fmt), (int)m);
    const char *dir = test_dir(name);
    vt_test_seed(7 + (uint64_t)fmt);
    vt_rig_camera c = make_camera(m == VT_MODALITY_MONO ? "m0" : "t0", m);
    vt_image written[FRAMES];
    write_frames(dir, &c, fmt, written);
    vt_rig rig = rig_of(dir, &c);
    vt_source *src;
    assert_int_equal(vt_source_open(&rig, 0, &src), VT_OK);
    vt_image img = {0};
    void *pixels = NULL;
    for (int i = 0; i < FRAMES; i++) {
        int64_t frame;
        double t;
        bool end;
        assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
        assert_false(end);
        assert_int_equal(frame, frame_numbers[i]);
        assert_near(t, frame_time(i), 1e-9);
        double mean;
        int diff = max_abs_difference(&img, &written[i], &mean);
        if (diff > tolerance || mean > mean_tolerance) {
            print_error("%s frame %d: difference max %d (bound %d), mean %.2f (bound %.2f)\n", name,
                        i, diff, tolerance, mean, mean_tolerance);
            fail();
        }
        /* The targets survive: the centre of one is far from the sky. */
        int sky = pixel(&written[i], 5, 40), target = pixel(&img, 10 + i, 10);
        assert_true(abs(target - sky) > (m == VT_MODALITY_MONO ? 80 : 8000));
        /* Streams refill the caller's image; they do not allocate per frame. */
        if (fmt == VT_FORMAT_RAW || fmt == VT_FORMAT_HEVC || fmt == VT_FORMAT_PGM) {
            if (i > 0)
                assert_ptr_equal(img.data, pixels);
            pixels = img.data;
        }
        vt_image_free(&written[i]);
    }
    int64_t frame;
    double t;
    bool end;
    assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
    assert_true(end);
    assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
    assert_true(end);
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static void test_png_round_trip_is_exact(void **state)
{
    (void)state;
    round_trip(VT_FORMAT_PNG, VT_MODALITY_MONO, 0, 0.0);
    round_trip(VT_FORMAT_PNG, VT_MODALITY_THERMAL, 0, 0.0);
}

static void test_pgm_round_trip_is_exact(void **state)
{
    (void)state;
    round_trip(VT_FORMAT_PGM, VT_MODALITY_MONO, 0, 0.0);
    round_trip(VT_FORMAT_PGM, VT_MODALITY_THERMAL, 0, 0.0);
}

static void test_raw_round_trip_is_exact(void **state)
{
    (void)state;
    round_trip(VT_FORMAT_RAW, VT_MODALITY_MONO, 0, 0.0);
    round_trip(VT_FORMAT_RAW, VT_MODALITY_THERMAL, 0, 0.0);
}

static void test_hevc_round_trip_is_close(void **state)
{
    (void)state;
    round_trip(VT_FORMAT_HEVC, VT_MODALITY_MONO, HEVC_MAX_8BIT, HEVC_MEAN_8BIT);
    round_trip(VT_FORMAT_HEVC, VT_MODALITY_THERMAL, HEVC_MAX_16BIT, HEVC_MEAN_16BIT);
}

/* ------------------------------------------------------------------------ */
/* Layout and defaults                                                        */

static void test_writer_points_the_camera_at_its_files(void **state)
{
    (void)state;
    const char *dir = test_dir("layout");
    static const char *const paths[] = {"m0/%06d.png", "m0/%06d.pgm", "m0.mkv", "m0.raw"};
    static const vt_media media[] = {VT_MEDIA_FRAMES, VT_MEDIA_FRAMES, VT_MEDIA_VIDEO,
                                     VT_MEDIA_RAW};
    for (int f = 0; f < 4; f++) {
        vt_rig_camera c = make_camera("m0", VT_MODALITY_MONO);
        vt_frame_writer *w;
        assert_int_equal(vt_frame_writer_open(dir, &c, (vt_frame_format)f, 25, &w), VT_OK);
        assert_int_equal(vt_frame_writer_close(w), VT_OK);
        assert_int_equal(c.media, media[f]);
        assert_string_equal(c.path, paths[f]);
        assert_string_equal(c.timestamps, "m0/timestamps.txt");
        free_camera_strings(&c);
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/m0/timestamps.txt", dir);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_format_names_parse_both_ways(void **state)
{
    (void)state;
    for (int f = 0; f < 4; f++) {
        vt_frame_format got;
        assert_int_equal(vt_frame_format_parse(vt_frame_format_name((vt_frame_format)f), &got),
                         VT_OK);
        assert_int_equal(got, f);
    }
    vt_frame_format got;
    assert_error(vt_frame_format_parse("jpeg", &got), VT_EINVAL, "'jpeg'", "png, pgm");
}

static void test_without_timestamps_frames_count_from_zero(void **state)
{
    (void)state;
    const char *dir = test_dir("nostamps");
    vt_test_seed(3);
    vt_rig_camera c = make_camera("m0", VT_MODALITY_MONO);
    vt_image written[FRAMES];
    write_frames(dir, &c, VT_FORMAT_PGM, written);
    free(c.timestamps);
    c.timestamps = NULL;
    vt_rig rig = rig_of(dir, &c);
    vt_source *src;
    assert_int_equal(vt_source_open(&rig, 0, &src), VT_OK);
    vt_image img = {0};
    int64_t frame;
    double t;
    bool end;
    /* Files 0 and 1 exist, 2 was dropped: the sequence ends there. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
        assert_false(end);
        assert_int_equal(frame, i);
        assert_near(t, i / 25.0, 1e-12);
    }
    assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
    assert_true(end);
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
    for (int i = 0; i < FRAMES; i++)
        vt_image_free(&written[i]);
    free_camera_strings(&c);
}

static void test_video_without_timestamps_takes_the_stream_times(void **state)
{
    (void)state;
    const char *dir = test_dir("pts");
    vt_test_seed(4);
    vt_rig_camera c = make_camera("t0", VT_MODALITY_THERMAL);
    vt_image written[FRAMES];
    write_frames(dir, &c, VT_FORMAT_HEVC, written);
    free(c.timestamps);
    c.timestamps = NULL;
    vt_rig rig = rig_of(dir, &c);
    vt_source *src;
    assert_int_equal(vt_source_open(&rig, 0, &src), VT_OK);
    vt_image img = {0};
    for (int i = 0; i < FRAMES; i++) {
        int64_t frame;
        double t;
        bool end;
        assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
        assert_false(end);
        assert_int_equal(frame, i);
        assert_int_equal(img.bits, 16);
        /* Matroska keeps milliseconds. */
        assert_near(t, frame_numbers[i] / 25.0, 1e-3);
        vt_image_free(&written[i]);
    }
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

/* ------------------------------------------------------------------------ */
/* Failures                                                                  */

static void write_camera_files(const char *name, vt_modality m, vt_frame_format fmt,
                               vt_rig_camera *c, char *dir)
{
    snprintf(dir, 1024, "%s", test_dir(name));
    *c = make_camera(m == VT_MODALITY_MONO ? "m0" : "t0", m);
    vt_image written[FRAMES];
    write_frames(dir, c, fmt, written);
    for (int i = 0; i < FRAMES; i++)
        vt_image_free(&written[i]);
}

/* Reads until an error or the end; returns the status of the last read. */
static vt_status read_all(const vt_rig *rig, int *frames)
{
    vt_source *src;
    vt_status s = vt_source_open(rig, 0, &src);
    if (s)
        return s;
    vt_image img = {0};
    bool end = false;
    *frames = 0;
    while (!s && !end) {
        int64_t frame;
        double t;
        s = vt_source_read(src, &img, &frame, &t, &end);
        *frames += !s && !end;
    }
    vt_source_free(src);
    vt_image_free(&img);
    return s;
}

static void test_truncated_raw_file_names_file_and_frame(void **state)
{
    (void)state;
    char dir[1024], path[1100];
    vt_rig_camera c;
    write_camera_files("truncated", VT_MODALITY_THERMAL, VT_FORMAT_RAW, &c, dir);
    snprintf(path, sizeof path, "%s/t0.raw", dir);
    assert_int_equal(truncate(path, (off_t)W * H * 2 * 4 + 100), 0);
    vt_rig rig = rig_of(dir, &c);
    int frames;
    assert_error(read_all(&rig, &frames), VT_EFORMAT, "camera 0 ('t0')",
                 "t0.raw: frame 6 is truncated (100 of 6144 bytes)");
    assert_int_equal(frames, 4);
    /* Cut at a frame boundary, the file has fewer frames than the timestamps list. */
    assert_int_equal(truncate(path, (off_t)W * H * 2 * 3), 0);
    assert_error(read_all(&rig, &frames), VT_EMISMATCH, "ends after 3 frames", "timestamps list 5");
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static void test_video_of_the_wrong_size_is_refused(void **state)
{
    (void)state;
    char dir[1024];
    vt_rig_camera c;
    write_camera_files("wrongsize", VT_MODALITY_MONO, VT_FORMAT_HEVC, &c, dir);
    c.cam.width = 32;
    vt_rig rig = rig_of(dir, &c);
    int frames;
    assert_error(read_all(&rig, &frames), VT_EMISMATCH, "camera 0 ('m0')",
                 "m0.mkv: frame 0 is 64x48, the camera's frames are 32x48");
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static void test_missing_frame_file_is_named(void **state)
{
    (void)state;
    char dir[1024], path[1100];
    vt_rig_camera c;
    write_camera_files("missing", VT_MODALITY_MONO, VT_FORMAT_PNG, &c, dir);
    snprintf(path, sizeof path, "%s/m0/000003.png", dir);
    assert_int_equal(unlink(path), 0);
    vt_rig rig = rig_of(dir, &c);
    int frames;
    assert_error(read_all(&rig, &frames), VT_ENOENT, "camera 0 ('m0'): frame 3",
                 "m0/000003.png: no such file");
    assert_int_equal(frames, 2);
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static void test_bad_timestamps_name_the_line(void **state)
{
    (void)state;
    char dir[1024], path[1100];
    vt_rig_camera c;
    write_camera_files("badstamps", VT_MODALITY_MONO, VT_FORMAT_RAW, &c, dir);
    vt_rig rig = rig_of(dir, &c);
    snprintf(path, sizeof path, "%s/m0/timestamps.txt", dir);
    write_text(path, "# frame seconds\n0 1.0\n\n1 1.04\n1 1.08\n");
    int frames;
    assert_error(read_all(&rig, &frames), VT_EPARSE, "timestamps.txt: line 5",
                 "frame 1 does not follow frame 1");
    write_text(path, "0 1.0\n1 one\n");
    assert_error(read_all(&rig, &frames), VT_EPARSE, "timestamps.txt: line 2",
                 "expected \"FRAME SECONDS\"");
    unlink(path);
    assert_error(read_all(&rig, &frames), VT_ENOENT, "camera 0 ('m0')", "no such file");
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static void test_writer_refuses_wrong_frames(void **state)
{
    (void)state;
    const char *dir = test_dir("refuse");
    vt_rig_camera c = make_camera("m0", VT_MODALITY_MONO);
    vt_frame_writer *w;
    assert_int_equal(vt_frame_writer_open(dir, &c, VT_FORMAT_RAW, 25, &w), VT_OK);
    vt_image img = scene(16, 0);
    assert_error(vt_frame_writer_write(w, &img, 0, 0.0), VT_EMISMATCH, "camera 'm0': frame 0",
                 "64x48 16-bit, the camera's are 64x48 8-bit");
    vt_image_free(&img);
    img = scene(8, 0);
    assert_int_equal(vt_frame_writer_write(w, &img, 5, 0.2), VT_OK);
    assert_error(vt_frame_writer_write(w, &img, 5, 0.2), VT_EINVAL, "frame 5 does not follow",
                 NULL);
    assert_int_equal(vt_frame_writer_close(w), VT_OK);
    assert_int_equal(vt_frame_writer_close(NULL), VT_OK);
    vt_image_free(&img);
    assert_error(vt_frame_writer_open(dir, &c, (vt_frame_format)9, 25, &w), VT_EINVAL,
                 "unknown frame format", NULL);
    snprintf(c.id, sizeof c.id, "../m0");
    assert_error(vt_frame_writer_open(dir, &c, VT_FORMAT_PNG, 25, &w), VT_EINVAL, "plain file name",
                 NULL);
    free_camera_strings(&c);
}

static void test_source_refuses_a_camera_without_frames(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera c = make_camera("sim0", VT_MODALITY_MONO);
    assert_int_equal(vt_rig_add(&rig, &c), VT_OK);
    vt_source *src = (vt_source *)&rig;
    assert_error(vt_source_open(&rig, 0, &src), VT_EINVAL, "camera 0 ('sim0')", "media none");
    assert_null(src);
    assert_error(vt_source_open(&rig, 1, &src), VT_EINVAL, "no camera 1", NULL);
    vt_rig_free(&rig);
}

static void test_frames_pattern_is_checked_and_folder_may_hold_percent(void **state)
{
    (void)state;
    char dir[1024];
    vt_rig_camera c;
    write_camera_files("100%d", VT_MODALITY_MONO, VT_FORMAT_PGM, &c, dir);
    vt_rig rig = rig_of(dir, &c);
    int frames;
    assert_int_equal(read_all(&rig, &frames), VT_OK);
    assert_int_equal(frames, FRAMES);
    /* vt_rig_add takes any path: the source checks the pattern itself. */
    static const char *const bad[] = {"m0/frame.pgm", "m0/%d_%d.pgm", "m0/%s.pgm", "m0/%06d%"};
    for (int i = 0; i < 4; i++) {
        free(rig.cameras[0].path);
        rig.cameras[0].path = strdup(bad[i]);
        assert_error(read_all(&rig, &frames), VT_EINVAL, "camera 0 ('m0'): frames pattern", bad[i]);
    }
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

static int have_ffmpeg(void)
{
    return system("command -v ffmpeg >/dev/null 2>&1") == 0;
}

/* A video from elsewhere (FFV1, 16-bit gray, 10 fps) reads with its own times. */
static void test_reads_a_video_made_by_ffmpeg(void **state)
{
    (void)state;
    if (!have_ffmpeg())
        skip();
    const char *dir = test_dir("ffv1");
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=64x48:rate=10 "
             "-frames:v 4 -pix_fmt gray16le -c:v ffv1 '%s/cam.mkv'",
             dir);
    assert_int_equal(system(cmd), 0);
    vt_rig_camera c = make_camera("t0", VT_MODALITY_THERMAL);
    c.media = VT_MEDIA_VIDEO;
    c.path = strdup("cam.mkv");
    vt_rig rig = rig_of(dir, &c);
    vt_source *src;
    assert_int_equal(vt_source_open(&rig, 0, &src), VT_OK);
    vt_image img = {0};
    int64_t frame;
    double t;
    bool end;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
        assert_false(end);
        assert_int_equal(frame, i);
        assert_near(t, i / 10.0, 1e-3);
    }
    assert_int_equal(vt_source_read(src, &img, &frame, &t, &end), VT_OK);
    assert_true(end);
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
    free_camera_strings(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_round_trip_is_exact),
        cmocka_unit_test(test_pgm_round_trip_is_exact),
        cmocka_unit_test(test_raw_round_trip_is_exact),
        cmocka_unit_test(test_hevc_round_trip_is_close),
        cmocka_unit_test(test_writer_points_the_camera_at_its_files),
        cmocka_unit_test(test_format_names_parse_both_ways),
        cmocka_unit_test(test_without_timestamps_frames_count_from_zero),
        cmocka_unit_test(test_video_without_timestamps_takes_the_stream_times),
        cmocka_unit_test(test_truncated_raw_file_names_file_and_frame),
        cmocka_unit_test(test_video_of_the_wrong_size_is_refused),
        cmocka_unit_test(test_missing_frame_file_is_named),
        cmocka_unit_test(test_bad_timestamps_name_the_line),
        cmocka_unit_test(test_writer_refuses_wrong_frames),
        cmocka_unit_test(test_source_refuses_a_camera_without_frames),
        cmocka_unit_test(test_frames_pattern_is_checked_and_folder_may_hold_percent),
        cmocka_unit_test(test_reads_a_video_made_by_ffmpeg),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
