/*
 * tests/test_background.c - change detection against a background model:
 * polarity, selective learning (a hovering target stays visible), the
 * adaptive threshold following the noise, thread-count independence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/motion.h"
#include "vt_test.h"

enum { W = 96, H = 64, SKY = 150 };

static vt_image sky_frame(void)
{
    vt_image img = {0};
    assert_int_equal(vt_image_alloc(&img, W, H, 8), VT_OK);
    for (int y = 0; y < H; y++)
        memset(vt_image_row8(&img, y), SKY, W);
    return img;
}

/* A 3x3 square of value v centred on (x, y). */
static void square(vt_image *img, int x, int y, int v)
{
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            vt_image_row8(img, y + dy)[x + dx] = (uint8_t)v;
}

/* Gaussian noise of sigma s on every pixel (seeded generator). */
static void add_noise(vt_image *img, double s)
{
    for (int y = 0; y < H; y++) {
        uint8_t *row = vt_image_row8(img, y);
        for (int x = 0; x < W; x++) {
            double u1 = vt_test_uniform(1e-12, 1.0), u2 = vt_test_uniform01();
            double g = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
            double v = row[x] + s * g;
            row[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
        }
    }
}

static bool listed(const vt_change_list *l, int x, int y)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->index[i] == (uint32_t)(y * W + x))
            return true;
    return false;
}

static vt_background *model(vt_background_kind kind, int polarity, float threshold, int threads)
{
    vt_background_opts o = vt_background_opts_default();
    o.kind = kind;
    o.polarity = polarity;
    o.threshold = threshold;
    o.threads = threads;
    vt_background *bg = NULL;
    assert_int_equal(vt_background_new(&o, W, H, &bg), VT_OK);
    return bg;
}

static void first_frame_only_initialises(void **state)
{
    (void)state;
    vt_background *bg = model(VT_BACKGROUND_AVERAGE, 0, 10, 1);
    vt_image f = sky_frame();
    square(&f, 20, 20, 0);
    vt_change_list l = {0};
    assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
    assert_int_equal(l.count, 0);
    vt_change_list_free(&l);
    vt_image_free(&f);
    vt_background_free(bg);
}

static void polarity_keeps_the_expected_sign(void **state)
{
    (void)state;
    vt_background *bg = model(VT_BACKGROUND_PREVIOUS, -1, 10, 1);
    vt_image f = sky_frame();
    vt_change_list l = {0};
    assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
    square(&f, 20, 20, 40);  /* darker: kept */
    square(&f, 60, 30, 250); /* brighter: dropped */
    assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
    assert_int_equal(l.count, 9);
    assert_true(listed(&l, 20, 20));
    assert_false(listed(&l, 60, 30));
    assert_near(l.diff[0], SKY - 40, 0);
    vt_change_list_free(&l);
    vt_image_free(&f);
    vt_background_free(bg);
}

/* With the previous frame as model, the spot a target left shows the other sign. */
static void a_moving_target_leaves_no_hole(void **state)
{
    (void)state;
    vt_background *bg = model(VT_BACKGROUND_PREVIOUS, -1, 10, 1);
    vt_change_list l = {0};
    for (int x = 10; x < 40; x += 5) {
        vt_image f = sky_frame();
        square(&f, x, 30, 30);
        assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
        if (x > 10) {
            assert_int_equal(l.count, 9);
            assert_true(listed(&l, x, 30));
        }
        vt_image_free(&f);
    }
    vt_change_list_free(&l);
    vt_background_free(bg);
}

/* A running average that learns slowly where it sees a change keeps a hovering target. */
static void a_hovering_target_stays_visible(void **state)
{
    (void)state;
    vt_background *avg = model(VT_BACKGROUND_AVERAGE, -1, 10, 1);
    vt_background *prev = model(VT_BACKGROUND_PREVIOUS, -1, 10, 1);
    vt_change_list la = {0}, lp = {0};
    vt_image f = sky_frame();
    for (int i = 0; i < 30; i++) { /* learn the sky */
        assert_int_equal(vt_background_apply(avg, &f, &la), VT_OK);
        assert_int_equal(vt_background_apply(prev, &f, &lp), VT_OK);
    }
    square(&f, 40, 30, 60);
    for (int i = 0; i < 150; i++) { /* five seconds at 30 fps */
        assert_int_equal(vt_background_apply(avg, &f, &la), VT_OK);
        assert_int_equal(vt_background_apply(prev, &f, &lp), VT_OK);
        assert_int_equal(la.count, 9);
        assert_int_equal(lp.count, i == 0 ? 9 : 0);
    }
    vt_change_list_free(&la);
    vt_change_list_free(&lp);
    vt_image_free(&f);
    vt_background_free(avg);
    vt_background_free(prev);
}

static void adaptive_threshold_follows_the_noise(void **state)
{
    (void)state;
    vt_test_seed(7);
    vt_background *bg = model(VT_BACKGROUND_AVERAGE, 0, 0, 1);
    vt_change_list l = {0};
    size_t false_changes = 0;
    for (int i = 0; i < 80; i++) {
        vt_image f = sky_frame();
        add_noise(&f, 4.0);
        assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
        if (i >= 40)
            false_changes += l.count;
        vt_image_free(&f);
    }
    /* (frame - model) has sigma ~ 4 * sqrt(1 + alpha / (2 - alpha)) ~ 4.1. */
    assert_near(vt_background_noise(bg), 4.1, 0.4);
    assert_near(vt_background_threshold(bg), 5 * vt_background_noise(bg), 0.5);
    /* 5 sigma: about 6e-7 of the pixels; 40 frames of 6144 pixels. */
    assert_true(false_changes <= 2);
    vt_change_list_free(&l);
    vt_background_free(bg);
}

/* An adaptive threshold needs a noise figure: the first difference only measures it. */
static void adaptive_threshold_waits_for_the_noise(void **state)
{
    (void)state;
    vt_test_seed(3);
    vt_background *bg = model(VT_BACKGROUND_AVERAGE, -1, 0, 1);
    vt_change_list l = {0};
    for (int i = 0; i < 3; i++) {
        vt_image f = sky_frame();
        add_noise(&f, 2.0);
        square(&f, 30, 30 + 5 * i, 60); /* a new place every frame */
        assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
        assert_true(i < 2 ? l.count == 0 : l.count == 9);
        vt_image_free(&f);
    }
    vt_change_list_free(&l);
    vt_background_free(bg);
}

static void thread_count_does_not_change_the_result(void **state)
{
    (void)state;
    vt_background *a = model(VT_BACKGROUND_AVERAGE, 0, 0, 1);
    vt_background *b = model(VT_BACKGROUND_AVERAGE, 0, 0, 3);
    vt_change_list la = {0}, lb = {0};
    vt_test_seed(11);
    for (int i = 0; i < 20; i++) {
        vt_image f = sky_frame();
        add_noise(&f, 3.0);
        square(&f, 10 + 3 * i, 5 + 2 * i, 20);
        assert_int_equal(vt_background_apply(a, &f, &la), VT_OK);
        assert_int_equal(vt_background_apply(b, &f, &lb), VT_OK);
        assert_int_equal(la.count, lb.count);
        if (la.count) {
            assert_memory_equal(la.index, lb.index, la.count * sizeof *la.index);
            assert_memory_equal(la.diff, lb.diff, la.count * sizeof *la.diff);
        }
        assert_true(vt_background_threshold(a) == vt_background_threshold(b));
        vt_image_free(&f);
    }
    vt_change_list_free(&la);
    vt_change_list_free(&lb);
    vt_background_free(a);
    vt_background_free(b);
}

static void sixteen_bit_frames(void **state)
{
    (void)state;
    vt_background *bg = model(VT_BACKGROUND_PREVIOUS, 1, 500, 1);
    vt_image f = {0};
    assert_int_equal(vt_image_alloc(&f, W, H, 16), VT_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            vt_image_row16(&f, y)[x] = 8000;
    vt_change_list l = {0};
    assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
    vt_image_row16(&f, 10)[10] = 12000; /* warm: kept */
    vt_image_row16(&f, 20)[20] = 2000;  /* cold: dropped */
    assert_int_equal(vt_background_apply(bg, &f, &l), VT_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.index[0], 10 * W + 10);
    assert_near(l.diff[0], 4000, 0);
    vt_change_list_free(&l);
    vt_image_free(&f);
    vt_background_free(bg);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    vt_background *bg = NULL;
    vt_background_opts o = vt_background_opts_default();
    o.alpha = 0;
    assert_int_equal(vt_background_new(&o, W, H, &bg), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "alpha"));
    o = vt_background_opts_default();
    o.polarity = 2;
    assert_int_equal(vt_background_new(&o, W, H, &bg), VT_EINVAL);
    assert_int_equal(vt_background_new(NULL, 0, H, &bg), VT_EINVAL);
    assert_null(bg);

    bg = model(VT_BACKGROUND_AVERAGE, 0, 0, 1);
    vt_image small = {0};
    assert_int_equal(vt_image_alloc(&small, W / 2, H, 8), VT_OK);
    vt_change_list l = {0};
    assert_int_equal(vt_background_apply(bg, &small, &l), VT_EMISMATCH);
    assert_int_equal(vt_background_apply(bg, NULL, &l), VT_EINVAL);
    vt_image_free(&small);
    vt_background_free(bg);
    vt_background_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_frame_only_initialises),
        cmocka_unit_test(polarity_keeps_the_expected_sign),
        cmocka_unit_test(a_moving_target_leaves_no_hole),
        cmocka_unit_test(a_hovering_target_stays_visible),
        cmocka_unit_test(adaptive_threshold_follows_the_noise),
        cmocka_unit_test(adaptive_threshold_waits_for_the_noise),
        cmocka_unit_test(thread_count_does_not_change_the_result),
        cmocka_unit_test(sixteen_bit_frames),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
