/*
 * tests/test_image.c - gray images: allocation, PNG round trips, the formats
 * FFmpeg reads, and the failures a user will meet (missing, garbage and
 * truncated files, unwritable paths).
 *
 * PGM/PPM files are written by hand here, so their pixels are known exactly;
 * JPEG and TIFF come from the `ffmpeg` tool's test pattern and are skipped
 * when the tool is not installed. Files go to a fresh folder under
 * $VT_TEST_TMP (or /tmp).
 */
#include <errno.h>
#include <pthread.h>
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

#include "voxtrack/image.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_image"
#include "vt_test_tmp.h"

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static size_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static int have_ffmpeg(void)
{
    return system("command -v ffmpeg >/dev/null 2>&1") == 0;
}

/* The ffmpeg tool's colour test pattern, 64x48, in the format the name says. */
static int ffmpeg_testsrc(const char *path)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=64x48 "
             "-frames:v 1 '%s'",
             path);
    return system(cmd);
}

/* ------------------------------------------------------------------------ */
/* Images                                                                    */

static vt_image random_image(int w, int h, int bits)
{
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, w, h, bits), VT_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (bits == 8)
                vt_image_row8(&img, y)[x] = (uint8_t)vt_test_uniform(0, 256);
            else
                vt_image_row16(&img, y)[x] = (uint16_t)vt_test_uniform(0, 65536);
        }
    return img;
}

static int pixel(const vt_image *img, int x, int y)
{
    return img->bits == 8 ? vt_image_row8(img, y)[x] : vt_image_row16(img, y)[x];
}

static void assert_same_pixels(const vt_image *a, const vt_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->bits, b->bits);
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++)
            assert_int_equal(pixel(a, x, y), pixel(b, x, y));
}

static void assert_zeroed(const vt_image *img)
{
    assert_null(img->data);
    assert_int_equal(img->width, 0);
    assert_int_equal(img->height, 0);
}

static double mean_abs_difference(const vt_image *a, const vt_image *b)
{
    double sum = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++)
            sum += abs(pixel(a, x, y) - pixel(b, x, y));
    return sum / (a->width * a->height);
}

/* ------------------------------------------------------------------------ */
/* Allocation                                                                */

static void test_alloc_pads_rows_aligns_and_zeroes(void **state)
{
    (void)state;
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, 33, 5, 16), VT_OK);
    assert_int_equal(img.stride, 128);
    assert_int_equal((uintptr_t)img.data % 64, 0);
    for (size_t i = 0; i < img.stride * 5; i++)
        assert_int_equal(((uint8_t *)img.data)[i], 0);
    vt_image_free(&img);
    assert_zeroed(&img);
    vt_image_free(&img); /* a second free is harmless */

    assert_int_equal(vt_image_alloc(&img, 64, 1, 8), VT_OK);
    assert_int_equal(img.stride, 64);
    vt_image_free(&img);
}

static void test_alloc_refuses_bad_sizes_and_depths(void **state)
{
    (void)state;
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, 0, 5, 8), VT_EINVAL);
    assert_zeroed(&img);
    assert_int_equal(vt_image_alloc(&img, 5, -1, 8), VT_EINVAL);
    assert_int_equal(vt_image_alloc(&img, 5, 5, 12), VT_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */

static void test_png_8bit_round_trip(void **state)
{
    (void)state;
    vt_test_seed(1);
    vt_image img = random_image(37, 23, 8), back;
    const char *path = vt_test_tmp_path("gray8.png");
    assert_int_equal(vt_image_save_png(&img, path), VT_OK);
    assert_int_equal(vt_image_load(path, 0, &back), VT_OK);
    assert_same_pixels(&back, &img);
    vt_image_free(&img);
    vt_image_free(&back);
}

static vt_image save_16bit_png(const char *path)
{
    vt_test_seed(2);
    vt_image img = random_image(41, 19, 16);
    /* Extremes, and a value whose two bytes differ, to catch a byte-order slip. */
    vt_image_row16(&img, 0)[0] = 0;
    vt_image_row16(&img, 0)[1] = 65535;
    vt_image_row16(&img, 0)[2] = 0x0102;
    assert_int_equal(vt_image_save_png(&img, path), VT_OK);
    return img;
}

static void test_png_16bit_round_trip_keeps_16_bits(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("gray16.png");
    vt_image img = save_16bit_png(path), back;
    assert_int_equal(vt_image_load(path, 0, &back), VT_OK);
    assert_int_equal(back.bits, 16);
    assert_same_pixels(&back, &img);
    vt_image_free(&img);
    vt_image_free(&back);
}

static void test_png_16bit_loads_as_8bit_on_request(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("gray16-as-8.png");
    vt_image img = save_16bit_png(path), back;
    assert_int_equal(vt_image_load(path, VT_IMAGE_LOAD_8BIT, &back), VT_OK);
    assert_int_equal(back.bits, 8);
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++)
            assert_near(pixel(&back, x, y), pixel(&img, x, y) / 257.0, 1.0);
    vt_image_free(&img);
    vt_image_free(&back);
}

/* A '%' in a name is not a frame-number pattern. */
static void test_path_is_taken_literally(void **state)
{
    (void)state;
    vt_test_seed(3);
    vt_image img = random_image(9, 4, 8), back;
    const char *path = vt_test_tmp_path("frame%03d.png");
    assert_int_equal(vt_image_save_png(&img, path), VT_OK);
    assert_int_equal(vt_image_load(path, 0, &back), VT_OK);
    assert_same_pixels(&back, &img);
    vt_image_free(&img);
    vt_image_free(&back);
}

/* ------------------------------------------------------------------------ */
/* Other formats                                                             */

static void test_pgm_8bit_written_by_hand(void **state)
{
    (void)state;
    static const uint8_t file[] = "P5\n5 3\n255\n"
                                  "\x00\x01\x02\x03\x04"
                                  "\x10\x20\x30\x40\x50"
                                  "\xff\xfe\x80\x7f\x00";
    const char *path = vt_test_tmp_path("hand.pgm");
    write_bytes(path, file, sizeof file - 1);
    vt_image img;
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 3);
    assert_int_equal(img.bits, 8);
    for (int i = 0; i < 15; i++)
        assert_int_equal(pixel(&img, i % 5, i / 5), file[11 + i]);
    vt_image_free(&img);
}

/* PGM with maxval 65535: big-endian samples in the file, native ones in memory. */
static void test_pgm_16bit_written_by_hand(void **state)
{
    (void)state;
    static const uint8_t file[] = "P5\n2 2\n65535\n"
                                  "\x01\x02\xff\xfe"
                                  "\x00\x00\x80\x01";
    const char *path = vt_test_tmp_path("hand16.pgm");
    write_bytes(path, file, sizeof file - 1);
    vt_image img;
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.bits, 16);
    assert_int_equal(pixel(&img, 0, 0), 0x0102);
    assert_int_equal(pixel(&img, 1, 0), 0xfffe);
    assert_int_equal(pixel(&img, 0, 1), 0);
    assert_int_equal(pixel(&img, 1, 1), 0x8001);
    vt_image_free(&img);
}

/* Colour becomes BT.601 luma at full range: white 255, red ~76, green ~150. */
static void test_ppm_colour_becomes_gray(void **state)
{
    (void)state;
    static const uint8_t file[] = "P6\n2 2\n255\n"
                                  "\xff\xff\xff\x00\x00\x00"
                                  "\xff\x00\x00\x00\xff\x00";
    const char *path = vt_test_tmp_path("colour.ppm");
    write_bytes(path, file, sizeof file - 1);
    vt_image img;
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.bits, 8);
    assert_near(pixel(&img, 0, 0), 255, 1);
    assert_near(pixel(&img, 1, 0), 0, 1);
    assert_near(pixel(&img, 0, 1), 0.299 * 255, 2);
    assert_near(pixel(&img, 1, 1), 0.587 * 255, 2);
    vt_image_free(&img);
}

/*
 * The same test pattern as lossless PNG and as `name`: same size, 8 bits,
 * pixels within `tolerance` on average of the PNG's.
 */
static void check_ffmpeg_format(const char *name, double tolerance)
{
    if (!have_ffmpeg()) {
        print_message("ffmpeg is not installed: skipping the %s test\n", name);
        skip();
    }
    const char *png = "pattern.png";
    assert_int_equal(ffmpeg_testsrc(vt_test_tmp_path(png)), 0);
    assert_int_equal(ffmpeg_testsrc(vt_test_tmp_path(name)), 0);
    vt_image want, got;
    assert_int_equal(vt_image_load(vt_test_tmp_path(png), 0, &want), VT_OK);
    assert_int_equal(vt_image_load(vt_test_tmp_path(name), 0, &got), VT_OK);
    assert_int_equal(got.width, 64);
    assert_int_equal(got.height, 48);
    assert_int_equal(got.bits, 8);
    assert_true(mean_abs_difference(&got, &want) <= tolerance);
    vt_image_free(&want);
    vt_image_free(&got);
}

static void test_jpeg_from_ffmpeg(void **state)
{
    (void)state;
    check_ffmpeg_format("pattern.jpg", 8.0);
}

static void test_tiff_from_ffmpeg(void **state)
{
    (void)state;
    check_ffmpeg_format("pattern.tiff", 0.0);
}

/* ------------------------------------------------------------------------ */
/* Failures                                                                  */

static void test_missing_file_is_enoent_naming_the_path(void **state)
{
    (void)state;
    const char *path = vt_test_tmp_path("no-such-image.png");
    vt_image img;
    assert_int_equal(vt_image_load(path, 0, &img), VT_ENOENT);
    assert_non_null(strstr(vt_last_error(), path));
    assert_zeroed(&img);
}

static void assert_unreadable(const char *path)
{
    vt_image img;
    assert_int_equal(vt_image_load(path, 0, &img), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), path));
    assert_zeroed(&img);
}

static void test_garbage_png_is_eformat(void **state)
{
    (void)state;
    static const char junk[] = "this is not a PNG file, only some text that says so.\n";
    const char *path = vt_test_tmp_path("garbage.png");
    write_bytes(path, junk, sizeof junk - 1);
    assert_unreadable(path);
    write_bytes(path, "", 0);
    assert_unreadable(path);
}

static void test_truncated_png_is_eformat(void **state)
{
    (void)state;
    vt_test_seed(5);
    vt_image img = random_image(64, 64, 8);
    const char *path = vt_test_tmp_path("truncated.png");
    assert_int_equal(vt_image_save_png(&img, path), VT_OK);
    assert_int_equal(truncate(path, (off_t)(file_size(path) / 2)), 0);
    assert_unreadable(path);
    vt_image_free(&img);
}

static void test_save_to_missing_folder_is_eio_naming_the_path(void **state)
{
    (void)state;
    vt_image img;
    assert_int_equal(vt_image_alloc(&img, 4, 4, 8), VT_OK);
    const char *path = vt_test_tmp_path("no-such-folder/out.png");
    assert_int_equal(vt_image_save_png(&img, path), VT_EIO);
    assert_non_null(strstr(vt_last_error(), path));
    vt_image_free(&img);
}

static void test_save_refuses_an_empty_image(void **state)
{
    (void)state;
    vt_image img = {0};
    assert_int_equal(vt_image_save_png(&img, vt_test_tmp_path("empty.png")), VT_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */

typedef struct loader {
    const char *path;
    const vt_image *want;
    int failures;
} loader;

static void *load_many(void *arg)
{
    loader *l = arg;
    for (int i = 0; i < 16; i++) {
        vt_image img;
        if (vt_image_load(l->path, 0, &img) != VT_OK ||
            memcmp(img.data, l->want->data, img.stride * (size_t)img.height) != 0)
            l->failures++;
        vt_image_free(&img);
    }
    return NULL;
}

static void test_threads_load_at_once(void **state)
{
    (void)state;
    vt_test_seed(6);
    vt_image want = random_image(200, 100, 16);
    char path[1024];
    snprintf(path, sizeof path, "%s", vt_test_tmp_path("shared.png"));
    assert_int_equal(vt_image_save_png(&want, path), VT_OK);
    pthread_t threads[4];
    loader jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (loader){path, &want, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, load_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    vt_image_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_pads_rows_aligns_and_zeroes),
        cmocka_unit_test(test_alloc_refuses_bad_sizes_and_depths),
        cmocka_unit_test(test_png_8bit_round_trip),
        cmocka_unit_test(test_png_16bit_round_trip_keeps_16_bits),
        cmocka_unit_test(test_png_16bit_loads_as_8bit_on_request),
        cmocka_unit_test(test_path_is_taken_literally),
        cmocka_unit_test(test_pgm_8bit_written_by_hand),
        cmocka_unit_test(test_pgm_16bit_written_by_hand),
        cmocka_unit_test(test_ppm_colour_becomes_gray),
        cmocka_unit_test(test_jpeg_from_ffmpeg),
        cmocka_unit_test(test_tiff_from_ffmpeg),
        cmocka_unit_test(test_missing_file_is_enoent_naming_the_path),
        cmocka_unit_test(test_garbage_png_is_eformat),
        cmocka_unit_test(test_truncated_png_is_eformat),
        cmocka_unit_test(test_save_to_missing_folder_is_eio_naming_the_path),
        cmocka_unit_test(test_save_refuses_an_empty_image),
        cmocka_unit_test(test_threads_load_at_once),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
