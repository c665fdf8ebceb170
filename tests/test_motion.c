/*
 * tests/test_motion.c - change detection against a plain scalar reference.
 *
 * Seeded random frame pairs of awkward sizes (one pixel, narrower than a
 * 64-pixel chunk, just under and over a chunk, wide and flat) whose rows are
 * padded with bytes that differ between the frames, so that reading padding
 * as pixels would show. 8-bit, 16-bit and float, integer and fractional
 * thresholds. Every list must equal the reference exactly, in raster order,
 * whatever the number of threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/motion.h"
#include "vt_test.h"

typedef struct size2 {
    int w, h;
} size2;

static const size2 SIZES[] = {{1, 1}, {7, 3}, {63, 65}, {64, 2}, {65, 3}, {1001, 17}};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])
static const int THREADS[] = {1, 2, 3};

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */

/* An image with `pad` bytes after each row, the padding set to `fill`. */
static vt_image padded_image(int w, int h, int bits, size_t pad, uint8_t fill)
{
    vt_image img = {.width = w, .height = h, .bits = bits};
    img.stride = (size_t)w * (size_t)(bits / 8) + pad;
    img.data = malloc(img.stride * (size_t)h);
    assert_non_null(img.data);
    memset(img.data, fill, img.stride * (size_t)h);
    return img;
}

/* Mostly small differences around the thresholds under test, some large ones. */
static int random_delta(int largest)
{
    double u = vt_test_uniform01();
    if (u < 0.5)
        return 0;
    if (u < 0.9)
        return (int)vt_test_uniform(-3.999, 4.0);
    return (int)vt_test_uniform(-largest, largest);
}

static int clamp(int v, int largest)
{
    return v < 0 ? 0 : v > largest ? largest : v;
}

static void random_pair(int w, int h, int bits, vt_image *prev, vt_image *cur)
{
    int largest = bits == 8 ? 255 : 65535;
    *prev = padded_image(w, h, bits, 14, 0xA5);
    *cur = padded_image(w, h, bits, 14, 0x5A);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int p = (int)vt_test_uniform(0, largest + 1);
            int c = clamp(p + random_delta(largest), largest);
            if (bits == 8) {
                vt_image_row8(prev, y)[x] = (uint8_t)p;
                vt_image_row8(cur, y)[x] = (uint8_t)c;
            } else {
                vt_image_row16(prev, y)[x] = (uint16_t)p;
                vt_image_row16(cur, y)[x] = (uint16_t)c;
            }
        }
}

static void free_pair(vt_image *prev, vt_image *cur)
{
    free(prev->data);
    free(cur->data);
}

static void random_floats(int n, float **prev, float **cur)
{
    *prev = malloc((size_t)n * sizeof **prev);
    *cur = malloc((size_t)n * sizeof **cur);
    assert_non_null(*prev);
    assert_non_null(*cur);
    for (int i = 0; i < n; i++) {
        (*prev)[i] = (float)vt_test_uniform(0, 100);
        (*cur)[i] = (*prev)[i] + (float)random_delta(100) * 0.75f;
    }
}

/* ------------------------------------------------------------------------ */
/* The reference: one pixel at a time, straight from the definition          */

static double pixel(const vt_image *img, int x, int y)
{
    return img->bits == 8 ? vt_image_row8(img, y)[x] : vt_image_row16(img, y)[x];
}

static void push(vt_change_list *l, uint32_t index, float diff)
{
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? 2 * l->capacity : 64;
        l->index = realloc(l->index, l->capacity * sizeof *l->index);
        l->diff = realloc(l->diff, l->capacity * sizeof *l->diff);
        assert_non_null(l->index);
        assert_non_null(l->diff);
    }
    l->index[l->count] = index;
    l->diff[l->count] = diff;
    l->count++;
}

static vt_change_list reference(const vt_image *prev, const vt_image *cur, float t)
{
    vt_change_list l = {.width = prev->width, .height = prev->height};
    for (int y = 0; y < prev->height; y++)
        for (int x = 0; x < prev->width; x++) {
            double d = fabs(pixel(cur, x, y) - pixel(prev, x, y));
            if (d > t)
                push(&l, (uint32_t)(y * prev->width + x), (float)d);
        }
    return l;
}

static vt_change_list reference_f32(const float *prev, const float *cur, int w, int h, float t)
{
    vt_change_list l = {.width = w, .height = h};
    for (int i = 0; i < w * h; i++)
        if (fabsf(cur[i] - prev[i]) > t)
            push(&l, (uint32_t)i, fabsf(cur[i] - prev[i]));
    return l;
}

static void assert_same_list(const vt_change_list *got, const vt_change_list *want)
{
    assert_int_equal(got->width, want->width);
    assert_int_equal(got->height, want->height);
    assert_int_equal(got->count, want->count);
    for (size_t i = 0; i < want->count; i++) {
        assert_int_equal(got->index[i], want->index[i]);
        assert_true(got->diff[i] == want->diff[i]);
    }
}

static void check_images(int bits, const float *thresholds, size_t nt)
{
    for (size_t s = 0; s < NSIZES; s++) {
        vt_image prev, cur;
        random_pair(SIZES[s].w, SIZES[s].h, bits, &prev, &cur);
        for (size_t k = 0; k < nt; k++) {
            vt_change_list want = reference(&prev, &cur, thresholds[k]);
            for (size_t n = 0; n < sizeof THREADS / sizeof THREADS[0]; n++) {
                vt_change_list got = {0};
                assert_int_equal(vt_motion_detect(&prev, &cur, thresholds[k], THREADS[n], &got),
                                 VT_OK);
                assert_same_list(&got, &want);
                vt_change_list_free(&got);
            }
            vt_change_list_free(&want);
        }
        free_pair(&prev, &cur);
    }
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void test_8bit_matches_reference(void **state)
{
    (void)state;
    static const float t[] = {0.0f, 2.0f, 2.5f, 3.0f, 254.5f, 255.0f, 300.0f};
    vt_test_seed(8);
    check_images(8, t, sizeof t / sizeof t[0]);
}

static void test_16bit_matches_reference(void **state)
{
    (void)state;
    static const float t[] = {0.0f, 2.0f, 2.5f, 1000.0f, 65534.5f, 65535.0f, 1e9f};
    vt_test_seed(16);
    check_images(16, t, sizeof t / sizeof t[0]);
}

static void test_float_matches_reference(void **state)
{
    (void)state;
    static const float t[] = {0.0f, 0.5f, 2.0f, 2.5f, 1000.0f};
    vt_test_seed(32);
    for (size_t s = 0; s < NSIZES; s++) {
        int w = SIZES[s].w, h = SIZES[s].h;
        float *prev, *cur;
        random_floats(w * h, &prev, &cur);
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
            vt_change_list want = reference_f32(prev, cur, w, h, t[k]);
            for (size_t n = 0; n < sizeof THREADS / sizeof THREADS[0]; n++) {
                vt_change_list got = {0};
                assert_int_equal(vt_motion_detect_f32(prev, cur, w, h, t[k], THREADS[n], &got),
                                 VT_OK);
                assert_same_list(&got, &want);
                vt_change_list_free(&got);
            }
            vt_change_list_free(&want);
        }
        free(prev);
        free(cur);
    }
}

static void test_one_list_reused_across_sizes(void **state)
{
    (void)state;
    vt_test_seed(4);
    static const size2 order[] = {{1001, 17}, {7, 3}, {63, 65}, {1, 1}, {1001, 17}};
    vt_change_list l = {0};
    size_t capacity = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        vt_image prev, cur;
        random_pair(order[i].w, order[i].h, 8, &prev, &cur);
        vt_change_list want = reference(&prev, &cur, 2.0f);
        assert_int_equal(vt_motion_detect(&prev, &cur, 2.0f, (int)(i % 2) + 1, &l), VT_OK);
        assert_same_list(&l, &want);
        assert_true(l.capacity >= capacity);
        capacity = l.capacity;
        vt_change_list_free(&want);
        free_pair(&prev, &cur);
    }
    vt_change_list_free(&l);
    assert_null(l.index);
    assert_int_equal(l.capacity, 0);
}

/* Every pixel changes: the bands outgrow their slices and the list must grow. */
static void test_every_pixel_changed(void **state)
{
    (void)state;
    vt_image prev, cur;
    assert_int_equal(vt_image_alloc(&prev, 333, 401, 8), VT_OK);
    assert_int_equal(vt_image_alloc(&cur, 333, 401, 8), VT_OK);
    memset(cur.data, 9, cur.stride * (size_t)cur.height);
    vt_change_list l = {0};
    for (int threads = 1; threads <= 2; threads++) {
        assert_int_equal(vt_motion_detect(&prev, &cur, 8.5f, threads, &l), VT_OK);
        assert_int_equal(l.count, 333 * 401);
        for (size_t i = 0; i < l.count; i++) {
            assert_int_equal(l.index[i], i);
            assert_true(l.diff[i] == 9.0f);
        }
    }
    assert_int_equal(vt_motion_detect(&prev, &cur, 9.0f, 2, &l), VT_OK);
    assert_int_equal(l.count, 0);
    vt_change_list_free(&l);
    vt_image_free(&prev);
    vt_image_free(&cur);
}

static void test_size_mismatch_names_both_sizes(void **state)
{
    (void)state;
    vt_image a, b;
    assert_int_equal(vt_image_alloc(&a, 64, 48, 8), VT_OK);
    assert_int_equal(vt_image_alloc(&b, 32, 48, 8), VT_OK);
    vt_change_list l = {0};
    assert_int_equal(vt_motion_detect(&a, &b, 1.0f, 1, &l), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "64x48"));
    assert_non_null(strstr(vt_last_error(), "32x48"));
    assert_int_equal(l.count, 0);
    vt_image_free(&a);
    vt_image_free(&b);
}

static void test_depth_mismatch(void **state)
{
    (void)state;
    vt_image a, b;
    assert_int_equal(vt_image_alloc(&a, 16, 16, 8), VT_OK);
    assert_int_equal(vt_image_alloc(&b, 16, 16, 16), VT_OK);
    vt_change_list l = {0};
    assert_int_equal(vt_motion_detect(&a, &b, 1.0f, 1, &l), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "8-bit"));
    assert_non_null(strstr(vt_last_error(), "16-bit"));
    vt_image_free(&a);
    vt_image_free(&b);
}

static void test_threshold_must_be_finite_and_not_negative(void **state)
{
    (void)state;
    static const float bad[] = {NAN, -1.0f, -0.25f, INFINITY, -INFINITY};
    vt_image a;
    assert_int_equal(vt_image_alloc(&a, 8, 8, 8), VT_OK);
    float f[64] = {0};
    vt_change_list l = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(vt_motion_detect(&a, &a, bad[i], 1, &l), VT_EINVAL);
        assert_non_null(strstr(vt_last_error(), "threshold"));
        assert_int_equal(vt_motion_detect_f32(f, f, 8, 8, bad[i], 1, &l), VT_EINVAL);
    }
    vt_change_list_free(&l);
    vt_image_free(&a);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    vt_image a, empty = {0};
    assert_int_equal(vt_image_alloc(&a, 8, 8, 8), VT_OK);
    float f[64] = {0};
    vt_change_list l = {0};
    assert_int_equal(vt_motion_detect(&a, &a, 1.0f, 1, NULL), VT_EINVAL);
    assert_int_equal(vt_motion_detect(&a, &empty, 1.0f, 1, &l), VT_EINVAL);
    assert_int_equal(vt_motion_detect(NULL, &a, 1.0f, 1, &l), VT_EINVAL);
    assert_int_equal(vt_motion_detect_f32(f, NULL, 8, 8, 1.0f, 1, &l), VT_EINVAL);
    assert_int_equal(vt_motion_detect_f32(f, f, 0, 8, 1.0f, 1, &l), VT_EINVAL);
    assert_int_equal(vt_motion_detect_f32(f, f, 8, -1, 1.0f, 1, &l), VT_EINVAL);
    vt_change_list_free(&l);
    vt_image_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_8bit_matches_reference),
        cmocka_unit_test(test_16bit_matches_reference),
        cmocka_unit_test(test_float_matches_reference),
        cmocka_unit_test(test_one_list_reused_across_sizes),
        cmocka_unit_test(test_every_pixel_changed),
        cmocka_unit_test(test_size_mismatch_names_both_sizes),
        cmocka_unit_test(test_depth_mismatch),
        cmocka_unit_test(test_threshold_must_be_finite_and_not_negative),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
