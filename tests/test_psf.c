/*
 * tests/test_psf.c - the matched filter of the background model: the
 * separable passes equal a plain 2D convolution on random images of odd
 * sizes; the background model lists exactly the filtered difference, band
 * halos included, for any thread count; on pure noise the threshold in units
 * of the filtered image's measured noise gives the Gaussian tail's rate of
 * false pixels; a sub-pixel target gains from the filter; the response at one
 * pixel (for thermal fusion) is the listed value over the noise; bad options
 * are refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "motion/motion_internal.h"
#include "voxtrack/motion.h"
#include "vt_test.h"

static double gauss(void)
{
    double u1 = vt_test_uniform(1e-12, 1.0), u2 = vt_test_uniform01();
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The 2D convolution with the outer product of the taps, in double, zeros outside. */
static double conv2d(const vt__psf *f, const float *img, int w, int h, int x, int y)
{
    double s = 0.0;
    for (int j = -f->radius; j <= f->radius; j++)
        for (int i = -f->radius; i <= f->radius; i++) {
            int xx = x + i, yy = y + j;
            if (xx >= 0 && yy >= 0 && xx < w && yy < h)
                s += (double)f->taps[j + f->radius] * f->taps[i + f->radius] *
                     img[(size_t)yy * w + xx];
        }
    return s;
}

static void taps_have_unit_norm(void **state)
{
    (void)state;
    const float sigmas[] = {0.3f, 0.65f, 1.0f, 2.0f, 9.0f};
    for (size_t k = 0; k < sizeof sigmas / sizeof *sigmas; k++) {
        vt__psf f = vt__psf_make(sigmas[k]);
        assert_true(f.radius >= 1 && f.radius <= VT__PSF_MAX_RADIUS);
        double n = 0.0;
        for (int i = 0; i < 2 * f.radius + 1; i++)
            n += (double)f.taps[i] * f.taps[i];
        assert_true(fabs(n - 1.0) < 1e-6);
        assert_true(f.taps[f.radius] > f.taps[0]); /* peaked in the middle */
    }
    vt__psf none = vt__psf_make(0.0f);
    assert_int_equal(none.radius, 0);
    assert_true(none.taps[0] == 1.0f);
    assert_int_equal(vt__psf_make(0.65f).radius, 1);
}

static void separable_passes_equal_a_2d_convolution(void **state)
{
    (void)state;
    vt_test_seed(5);
    const int sizes[][2] = {{1, 1}, {3, 5}, {17, 9}, {65, 33}, {129, 7}, {7, 131}};
    const float sigmas[] = {0.65f, 1.4f, 2.5f};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (size_t q = 0; q < sizeof sigmas / sizeof *sigmas; q++) {
            int w = sizes[k][0], h = sizes[k][1];
            vt__psf f = vt__psf_make(sigmas[q]);
            float *img = malloc((size_t)w * h * sizeof *img), *out = malloc((size_t)w * h * 4);
            assert_non_null(img);
            assert_non_null(out);
            for (int i = 0; i < w * h; i++)
                img[i] = (float)vt_test_uniform(-100.0, 100.0);
            assert_int_equal(vt__psf_filter_image(&f, img, w, h, out), VT_OK);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double want = conv2d(&f, img, w, h, x, y);
                    assert_true(fabs(out[(size_t)y * w + x] - want) <= 1e-4 * (1.0 + fabs(want)));
                    /* The one-pixel response is the same sum in the same order: equal bits. */
                    assert_true(vt__psf_at(&f, img, w, h, x, y) == out[(size_t)y * w + x]);
                }
            free(img);
            free(out);
        }
}

static vt_background *filtered_model(int w, int h, int threads, float threshold, int polarity)
{
    vt_background_opts o = vt_background_opts_default();
    o.kind = VT_BACKGROUND_PREVIOUS;
    o.threshold = threshold;
    o.polarity = polarity;
    o.threads = threads;
    o.psf_sigma = 0.65f;
    vt_background *bg = NULL;
    assert_int_equal(vt_background_new(&o, w, h, &bg), VT_OK);
    return bg;
}

/*
 * Model = a random frame, then a second random frame: every pixel whose
 * filtered difference exceeds the threshold is listed with diff = |f| and
 * raw = |d|, whatever the thread count (bands of 1 to 5 rows with halos).
 */
static void the_model_lists_the_filtered_difference(void **state)
{
    (void)state;
    vt_test_seed(9);
    const int w = 37, h = 23;
    vt_image a = {0}, b = {0};
    assert_int_equal(vt_image_alloc(&a, w, h, 16), VT_OK);
    assert_int_equal(vt_image_alloc(&b, w, h, 16), VT_OK);
    float *d = malloc((size_t)w * h * sizeof *d), *f = malloc((size_t)w * h * sizeof *f);
    assert_non_null(d);
    assert_non_null(f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint16_t va = (uint16_t)vt_test_uniform(900, 1100), vb = (uint16_t)vt_test_uniform(900, 1100);
            ((uint16_t *)(void *)vt_image_row8(&a, y))[x] = va;
            ((uint16_t *)(void *)vt_image_row8(&b, y))[x] = vb;
            d[y * w + x] = (float)vb - (float)va;
        }
    vt__psf psf = vt__psf_make(0.65f);
    assert_int_equal(vt__psf_filter_image(&psf, d, w, h, f), VT_OK);
    const float t = 120.0f; /* about 1.5 sigma of f */
    for (int threads = 1; threads <= 16; threads += 3) {
        vt_background *bg = filtered_model(w, h, threads, t, 0);
        vt_change_list l = {0};
        assert_int_equal(vt_background_apply(bg, &a, &l), VT_OK);
        assert_int_equal(vt_background_apply(bg, &b, &l), VT_OK);
        size_t k = 0;
        for (int i = 0; i < w * h; i++) {
            if (!(fabsf(f[i]) > t))
                continue;
            assert_true(k < l.count);
            assert_int_equal(l.index[k], i);
            assert_true(l.diff[k] == fabsf(f[i])); /* the same sums: equal bits */
            assert_true(l.raw[k] == fabsf(d[i]));
            k++;
        }
        assert_int_equal(k, l.count);
        assert_true(l.count > 20 && l.count < (size_t)(w * h) / 2);
        vt_change_list_free(&l);
        vt_background_free(bg);
    }
    free(d);
    free(f);
    vt_image_free(&a);
    vt_image_free(&b);
}

/* Gaussian noise of sigma s around `mean`, 16-bit. */
static void noise_frame(vt_image *img, double mean, double s)
{
    for (int y = 0; y < img->height; y++) {
        uint16_t *row = (uint16_t *)(void *)vt_image_row8(img, y);
        for (int x = 0; x < img->width; x++)
            row[x] = (uint16_t)lround(mean + s * gauss());
    }
}

/*
 * Pure noise through the running-average model at k = 3 sigmas, one-sided:
 * the filtered image's noise is measured on itself, so the rate of false
 * pixels is the Gaussian tail Q(3) = 0.00135 within 20%, and the filtered
 * noise estimate is the raw one (unit-norm taps on white noise).
 */
static void threshold_in_filtered_noise_gives_the_gaussian_tail(void **state)
{
    (void)state;
    vt_test_seed(21);
    const int w = 320, h = 240, warm = 30, frames = 20;
    vt_background_opts o = vt_background_opts_default();
    o.k_sigma = 3.0f;
    o.min_threshold = 0.0f;
    o.polarity = 1;
    o.threads = 2;
    o.psf_sigma = 0.65f;
    vt_background *bg = NULL;
    assert_int_equal(vt_background_new(&o, w, h, &bg), VT_OK);
    vt_image img = {0};
    assert_int_equal(vt_image_alloc(&img, w, h, 16), VT_OK);
    vt_change_list l = {0};
    size_t hits = 0;
    for (int n = 0; n < warm + frames; n++) {
        noise_frame(&img, 1000.0, 10.0);
        assert_int_equal(vt_background_apply(bg, &img, &l), VT_OK);
        if (n >= warm)
            hits += l.count;
    }
    double rate = (double)hits / ((double)frames * w * h), tail = 0.0013499;
    print_message("false-pixel rate %.5f (Gaussian tail %.5f), noise %.3f, filtered %.3f\n", rate,
                  tail, (double)vt_background_noise(bg), (double)vt_background_filter_noise(bg));
    assert_true(rate > 0.8 * tail && rate < 1.2 * tail);
    assert_true(fabsf(vt_background_filter_noise(bg) / vt_background_noise(bg) - 1.0f) < 0.05f);
    vt_change_list_free(&l);
    vt_image_free(&img);
    vt_background_free(bg);
}

/*
 * A target that sits on a pixel corner, its signal split over 2x2 pixels of
 * 2.5 sigma each (matched-filter SNR sqrt(4) * 2.5 = 5), somewhere new in
 * every frame. Alone, a pixel passes 4 sigma one time in fifteen (one of the
 * four in a quarter of the frames; measured 17%); filtered (the 3-tap filter
 * keeps 71% of the SNR at a corner: 3.5 sigma against 4 sigma's threshold,
 * passed 68% of the time by each of the pixels beside the corner), in most
 * frames (measured 70%).
 */
static double split_target_found(float psf_sigma)
{
    const int w = 64, h = 48, frames = 120;
    vt_image img = {0};
    assert_int_equal(vt_image_alloc(&img, w, h, 16), VT_OK);
    vt_background_opts o = vt_background_opts_default();
    o.k_sigma = 4.0f;
    o.min_threshold = 0.0f;
    o.polarity = -1;
    o.threads = 1;
    o.psf_sigma = psf_sigma;
    vt_background *bg = NULL;
    assert_int_equal(vt_background_new(&o, w, h, &bg), VT_OK);
    vt_change_list l = {0};
    int found = 0, shown = 0;
    for (int n = 0; n < frames; n++) {
        noise_frame(&img, 1000.0, 2.0);
        bool on = n >= 20;
        /* A new place each frame, where the model has never seen it. */
        int tx = 4 + 5 * (n % 11), ty = 4 + 5 * (n / 11 % 8);
        for (int j = 0; on && j < 2; j++)
            for (int i = 0; i < 2; i++)
                ((uint16_t *)(void *)vt_image_row8(&img, ty + j))[tx + i] -= 5;
        assert_int_equal(vt_background_apply(bg, &img, &l), VT_OK);
        bool hit = false;
        for (size_t k = 0; k < l.count; k++) {
            int x = (int)(l.index[k] % w), y = (int)(l.index[k] / w);
            hit |= x >= tx - 1 && x <= tx + 2 && y >= ty - 1 && y <= ty + 2;
        }
        shown += on;
        found += on && hit;
    }
    vt_change_list_free(&l);
    vt_background_free(bg);
    vt_image_free(&img);
    return (double)found / shown;
}

static void a_target_split_over_pixels_counts_once(void **state)
{
    (void)state;
    vt_test_seed(3);
    double raw = split_target_found(0.0f), filtered = split_target_found(0.65f);
    print_message("split target found in %.0f%% of its frames unfiltered, %.0f%% filtered\n",
                  100 * raw, 100 * filtered);
    assert_true(raw < 0.3);
    assert_true(filtered > 0.55);
}

static void the_response_at_a_pixel_is_the_listed_value(void **state)
{
    (void)state;
    vt_test_seed(4);
    const int w = 40, h = 30;
    vt_background *bg = filtered_model(w, h, 1, 0.0f, -1);
    vt_image a = {0}, b = {0};
    assert_int_equal(vt_image_alloc(&a, w, h, 8), VT_OK);
    assert_int_equal(vt_image_alloc(&b, w, h, 8), VT_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            vt_image_row8(&a, y)[x] = (uint8_t)vt_test_uniform(90, 110);
            vt_image_row8(&b, y)[x] = (uint8_t)vt_test_uniform(90, 110);
        }
    vt_image_row8(&b, 12)[17] = 20; /* a dark target */
    vt_change_list l = {0};
    float snr = 0.0f;
    assert_int_equal(vt_background_apply(bg, &a, &l), VT_OK);
    assert_int_equal(vt__background_response(bg, &b, 17, 12, &snr), VT_EINVAL); /* no noise yet */
    assert_int_equal(vt_background_apply(bg, &b, &l), VT_OK);
    assert_true(vt_background_filter_noise(bg) > 0.0f);
    /* The previous-frame model has learnt b: against a, the response is b's change. */
    vt_background *bg2 = filtered_model(w, h, 1, 0.0f, -1);
    assert_int_equal(vt_background_apply(bg2, &a, &l), VT_OK);
    assert_int_equal(vt_background_apply(bg2, &b, &l), VT_OK);
    assert_int_equal(vt_background_apply(bg2, &a, &l), VT_OK); /* the model is a again */
    assert_int_equal(vt__background_response(bg2, &b, 17, 12, &snr), VT_OK);
    float d[9];
    for (int j = -1; j <= 1; j++)
        for (int i = -1; i <= 1; i++)
            d[(j + 1) * 3 + i + 1] =
                (float)vt_image_row8(&b, 12 + j)[17 + i] - (float)vt_image_row8(&a, 12 + j)[17 + i];
    vt__psf psf = vt__psf_make(0.65f);
    float want = -vt__psf_at(&psf, d, 3, 3, 1, 1) / vt_background_filter_noise(bg2);
    assert_true(snr == want);
    assert_true(snr > 5.0f);
    assert_int_equal(vt__background_response(bg2, &b, 40, 0, &snr), VT_ERANGE);
    vt_image small = {0};
    assert_int_equal(vt_image_alloc(&small, 8, 8, 8), VT_OK);
    assert_int_equal(vt__background_response(bg2, &small, 1, 1, &snr), VT_EMISMATCH);
    vt_image_free(&small);
    vt_change_list_free(&l);
    vt_image_free(&a);
    vt_image_free(&b);
    vt_background_free(bg);
    vt_background_free(bg2);
}

static void bad_psf_sigma_is_refused(void **state)
{
    (void)state;
    vt_background_opts o = vt_background_opts_default();
    vt_background *bg = NULL;
    o.psf_sigma = -1.0f;
    assert_int_equal(vt_background_new(&o, 8, 8, &bg), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "psf_sigma"));
    o.psf_sigma = NAN;
    assert_int_equal(vt_background_new(&o, 8, 8, &bg), VT_EINVAL);
    o.psf_sigma = 11.0f;
    assert_int_equal(vt_background_new(&o, 8, 8, &bg), VT_EINVAL);
    assert_null(bg);
    float out[1];
    vt__psf f = vt__psf_make(1.0f);
    assert_int_equal(vt__psf_filter_image(&f, out, 0, 1, out), VT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(taps_have_unit_norm),
        cmocka_unit_test(separable_passes_equal_a_2d_convolution),
        cmocka_unit_test(the_model_lists_the_filtered_difference),
        cmocka_unit_test(threshold_in_filtered_noise_gives_the_gaussian_tail),
        cmocka_unit_test(a_target_split_over_pixels_counts_once),
        cmocka_unit_test(the_response_at_a_pixel_is_the_listed_value),
        cmocka_unit_test(bad_psf_sigma_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
