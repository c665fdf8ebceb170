/*
 * tests/test_blobs.c - blobs (8-connected components of changed pixels) on
 * small hand-made shapes, and on seeded random images against a plain flood
 * fill that labels the dense image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/detect.h"
#include "vt_test.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* The change list of a dense image: every pixel with a value > 0, in raster order. */
static vt_change_list list_of(int w, int h, const float *img)
{
    vt_change_list l = {.width = w, .height = h};
    size_t n = 0;
    for (int i = 0; i < w * h; i++)
        n += img[i] > 0.0f;
    l.capacity = n ? n : 1;
    l.index = malloc(l.capacity * sizeof *l.index);
    l.diff = malloc(l.capacity * sizeof *l.diff);
    assert_non_null(l.index);
    assert_non_null(l.diff);
    for (int i = 0; i < w * h; i++)
        if (img[i] > 0.0f) {
            l.index[l.count] = (uint32_t)i;
            l.diff[l.count++] = img[i];
        }
    return l;
}

/* Blobs of an image drawn as text: '.' unchanged, a digit d a change of d (or 1 for '#'). */
static vt_blob_list blobs_of_text(const char *const *rows, int h, int min_area, int max_area)
{
    int w = (int)strlen(rows[0]);
    float *img = calloc((size_t)(w * h), sizeof *img);
    assert_non_null(img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            char c = rows[y][x];
            img[y * w + x] = c == '#' ? 1.0f : c >= '1' && c <= '9' ? (float)(c - '0') : 0.0f;
        }
    vt_change_list l = list_of(w, h, img);
    vt_blob_list b = {0};
    assert_int_equal(vt_blobs_find(&l, min_area, max_area, &b), VT_OK);
    vt_change_list_free(&l);
    free(img);
    return b;
}

static void assert_box(const vt_blob *b, int x0, int y0, int x1, int y1)
{
    assert_int_equal(b->x0, x0);
    assert_int_equal(b->y0, y0);
    assert_int_equal(b->x1, x1);
    assert_int_equal(b->y1, y1);
}

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */

static void single_pixel_is_a_blob_at_its_centre(void **state)
{
    (void)state;
    const char *rows[] = {"....", "..7.", "...."};
    vt_blob_list b = blobs_of_text(rows, 3, 1, 0);
    assert_int_equal(b.count, 1);
    assert_near(b.blobs[0].u, 2.0, 0);
    assert_near(b.blobs[0].v, 1.0, 0);
    assert_int_equal(b.blobs[0].area, 1);
    assert_near(b.blobs[0].sum, 7.0, 0);
    assert_near(b.blobs[0].peak, 7.0, 0);
    assert_box(&b.blobs[0], 2, 1, 2, 1);
    vt_blob_list_free(&b);
}

static void square_has_its_centre_as_centroid(void **state)
{
    (void)state;
    const char *rows[] = {".....", ".111.", ".191.", ".111.", "....."};
    vt_blob_list b = blobs_of_text(rows, 5, 1, 0);
    assert_int_equal(b.count, 1);
    assert_near(b.blobs[0].u, 2.0, 1e-12);
    assert_near(b.blobs[0].v, 2.0, 1e-12);
    assert_int_equal(b.blobs[0].area, 9);
    assert_near(b.blobs[0].sum, 17.0, 0);
    assert_near(b.blobs[0].peak, 9.0, 0);
    assert_box(&b.blobs[0], 1, 1, 3, 3);
    vt_blob_list_free(&b);
}

static void diagonal_neighbours_are_one_blob(void **state)
{
    (void)state;
    const char *down_right[] = {"#...", ".#..", "...."};
    const char *down_left[] = {"..#.", ".#..", "...."};
    vt_blob_list a = blobs_of_text(down_right, 3, 1, 0);
    vt_blob_list b = blobs_of_text(down_left, 3, 1, 0);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 1);
    assert_int_equal(a.blobs[0].area, 2);
    assert_box(&b.blobs[0], 1, 0, 2, 1);
    vt_blob_list_free(&a);
    vt_blob_list_free(&b);
}

static void pixels_one_apart_are_two_blobs(void **state)
{
    (void)state;
    const char *rows[] = {"#.#..", ".....", "#...#"};
    vt_blob_list b = blobs_of_text(rows, 3, 1, 0);
    assert_int_equal(b.count, 4);
    /* Raster order of each blob's first pixel. */
    assert_near(b.blobs[0].u, 0.0, 0);
    assert_near(b.blobs[1].u, 2.0, 0);
    assert_near(b.blobs[2].v, 2.0, 0);
    assert_near(b.blobs[3].u, 4.0, 0);
    vt_blob_list_free(&b);
}

static void u_shape_merges_on_its_last_row(void **state)
{
    (void)state;
    /* Two arms, each its own run per row, joined only at the bottom; then a dot after. */
    const char *rows[] = {"#...#.#", "#...#..", "#####.."};
    vt_blob_list b = blobs_of_text(rows, 3, 1, 0);
    assert_int_equal(b.count, 2);
    assert_int_equal(b.blobs[0].area, 9);
    assert_box(&b.blobs[0], 0, 0, 4, 2);
    assert_near(b.blobs[0].u, 2.0, 1e-12);
    assert_near(b.blobs[0].v, (0 * 2 + 1 * 2 + 2 * 5) / 9.0, 1e-12);
    assert_int_equal(b.blobs[1].area, 1);
    assert_near(b.blobs[1].u, 6.0, 0);
    vt_blob_list_free(&b);
}

static void w_shape_with_three_arms_is_one_blob(void **state)
{
    (void)state;
    /* The middle arm starts first, the outer ones join through the bottom row. */
    const char *rows[] = {"..#..", "#.#.#", "#####"};
    vt_blob_list b = blobs_of_text(rows, 3, 1, 0);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.blobs[0].area, 9);
    assert_int_equal(b.blobs[0].y0, 0);
    vt_blob_list_free(&b);
}

static void row_end_does_not_join_next_row_start(void **state)
{
    (void)state;
    /* Pixels (4, 0) and (0, 1) have consecutive indices but are far apart. */
    const char *rows[] = {"....#", "#....", "....."};
    vt_blob_list b = blobs_of_text(rows, 3, 1, 0);
    assert_int_equal(b.count, 2);
    assert_box(&b.blobs[0], 4, 0, 4, 0);
    assert_box(&b.blobs[1], 0, 1, 0, 1);
    vt_blob_list_free(&b);
}

static void blobs_at_the_image_edges(void **state)
{
    (void)state;
    const char *rows[] = {"##..##", "#....#", "......", "#....#", "##..##"};
    vt_blob_list b = blobs_of_text(rows, 5, 1, 0);
    assert_int_equal(b.count, 4);
    assert_box(&b.blobs[0], 0, 0, 1, 1);
    assert_box(&b.blobs[1], 4, 0, 5, 1);
    assert_box(&b.blobs[2], 0, 3, 1, 4);
    assert_box(&b.blobs[3], 4, 3, 5, 4);
    vt_blob_list_free(&b);
}

static void centroid_is_weighted_by_difference(void **state)
{
    (void)state;
    const char *rows[] = {".13", ".4."};
    vt_blob_list b = blobs_of_text(rows, 2, 1, 0);
    assert_int_equal(b.count, 1);
    /* sum 8: u = (1 * 1 + 2 * 3 + 1 * 4) / 8, v = (0 * 4 + 1 * 4) / 8. */
    assert_near(b.blobs[0].u, 11.0 / 8.0, 1e-15);
    assert_near(b.blobs[0].v, 0.5, 1e-15);
    assert_near(b.blobs[0].peak, 4.0, 0);
    vt_blob_list_free(&b);
}

static void area_limits_drop_small_and_large_blobs(void **state)
{
    (void)state;
    const char *rows[] = {"#.##.###", "..##.###", "#....###"};
    vt_blob_list all = blobs_of_text(rows, 3, 0, 0);
    vt_blob_list mid = blobs_of_text(rows, 3, 2, 5);
    vt_blob_list big = blobs_of_text(rows, 3, 5, 0);
    assert_int_equal(all.count, 4);
    assert_int_equal(mid.count, 1);
    assert_int_equal(mid.blobs[0].area, 4);
    assert_int_equal(big.count, 1);
    assert_int_equal(big.blobs[0].area, 9);
    vt_blob_list_free(&all);
    vt_blob_list_free(&mid);
    vt_blob_list_free(&big);
}

/* ------------------------------------------------------------------------ */
/* Random images against a flood fill                                        */

typedef struct ref_blob {
    double sw, swx, swy;
    float peak;
    int area, x0, y0, x1, y1;
} ref_blob;

/* Labels 8-connected components by flood fill from each unlabelled pixel in raster order. */
static size_t flood_fill(int w, int h, const float *img, ref_blob *out, int *label, int *stack)
{
    size_t n = 0;
    for (int i = 0; i < w * h; i++)
        label[i] = -1;
    for (int s = 0; s < w * h; s++) {
        if (!(img[s] > 0.0f) || label[s] >= 0)
            continue;
        ref_blob *b = &out[n];
        *b = (ref_blob){.x0 = w, .y0 = h, .x1 = -1, .y1 = -1};
        int top = 0;
        stack[top++] = s;
        label[s] = (int)n;
        while (top) {
            int p = stack[--top], x = p % w, y = p / w;
            b->sw += img[p];
            b->swx += (double)img[p] * x;
            b->swy += (double)img[p] * y;
            b->peak = img[p] > b->peak ? img[p] : b->peak;
            b->area++;
            b->x0 = x < b->x0 ? x : b->x0;
            b->x1 = x > b->x1 ? x : b->x1;
            b->y0 = y < b->y0 ? y : b->y0;
            b->y1 = y > b->y1 ? y : b->y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                        continue;
                    int q = ny * w + nx;
                    if (img[q] > 0.0f && label[q] < 0) {
                        label[q] = (int)n;
                        stack[top++] = q;
                    }
                }
        }
        n++;
    }
    return n;
}

static void check_random_image(int w, int h, double density, vt_blob_list *b)
{
    size_t npix = (size_t)w * (size_t)h;
    float *img = calloc(npix, sizeof *img);
    ref_blob *ref = calloc(npix, sizeof *ref);
    int *label = calloc(npix, sizeof *label), *stack = calloc(npix, sizeof *stack);
    assert_true(img && ref && label && stack);
    for (size_t i = 0; i < npix; i++)
        if (vt_test_uniform01() < density)
            img[i] = (float)(int)vt_test_uniform(1, 256);
    size_t nref = flood_fill(w, h, img, ref, label, stack);
    vt_change_list l = list_of(w, h, img);
    assert_int_equal(vt_blobs_find(&l, 0, 0, b), VT_OK);
    assert_int_equal(b->count, nref);
    for (size_t k = 0; k < nref; k++) {
        const vt_blob *g = &b->blobs[k];
        assert_int_equal(g->area, ref[k].area);
        assert_box(g, ref[k].x0, ref[k].y0, ref[k].x1, ref[k].y1);
        assert_near(g->u, ref[k].swx / ref[k].sw, 1e-9);
        assert_near(g->v, ref[k].swy / ref[k].sw, 1e-9);
        assert_near(g->sum, ref[k].sw, 1e-6 * ref[k].sw);
        assert_near(g->peak, ref[k].peak, 0);
    }
    vt_change_list_free(&l);
    free(img);
    free(ref);
    free(label);
    free(stack);
}

static void random_images_match_a_flood_fill(void **state)
{
    (void)state;
    static const struct {
        int w, h;
        double density;
    } cases[] = {{1, 1, 0.9},    {1, 50, 0.5},   {50, 1, 0.5},   {17, 13, 0.3},
                 {64, 48, 0.45}, {64, 48, 0.55}, {200, 90, 0.1}, {123, 77, 0.6}};
    vt_test_seed(20240604);
    /* One list for all images: it must be reusable whatever came before. */
    vt_blob_list b = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int rep = 0; rep < 6; rep++)
            check_random_image(cases[c].w, cases[c].h, cases[c].density, &b);
    vt_blob_list_free(&b);
}

static void reused_list_does_not_reallocate(void **state)
{
    (void)state;
    const char *rows[] = {"#.#.#.#", ".......", "#.#.#.#"};
    int w = 7, h = 3;
    float img[21];
    for (int i = 0; i < w * h; i++)
        img[i] = rows[i / w][i % w] == '#' ? 2.0f : 0.0f;
    vt_change_list l = list_of(w, h, img);
    vt_blob_list b = {0};
    assert_int_equal(vt_blobs_find(&l, 1, 0, &b), VT_OK);
    vt_blob *blobs = b.blobs;
    struct vt__blob_work *work = b.work;
    assert_int_equal(vt_blobs_find(&l, 1, 0, &b), VT_OK);
    assert_int_equal(b.count, 8);
    assert_ptr_equal(b.blobs, blobs);
    assert_ptr_equal(b.work, work);
    vt_change_list_free(&l);
    vt_blob_list_free(&b);
    vt_blob_list_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */

static void bad_input_is_refused(void **state)
{
    (void)state;
    uint32_t idx[3] = {1, 5, 3};
    float diff[3] = {1, 1, 1};
    vt_change_list l = {.count = 3, .width = 4, .height = 2, .index = idx, .diff = diff};
    vt_blob_list b = {0};
    assert_int_equal(vt_blobs_find(NULL, 0, 0, &b), VT_EINVAL);
    assert_int_equal(vt_blobs_find(&l, 0, 0, NULL), VT_EINVAL);
    assert_int_equal(vt_blobs_find(&l, -1, 0, &b), VT_EINVAL);
    /* Not raster order. */
    assert_int_equal(vt_blobs_find(&l, 0, 0, &b), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "raster order"));
    assert_int_equal(b.count, 0);
    /* Outside the frame. */
    idx[2] = 8;
    assert_int_equal(vt_blobs_find(&l, 0, 0, &b), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "outside"));
    /* No arrays, no size. */
    vt_change_list empty_arrays = {.count = 2, .width = 4, .height = 2};
    assert_int_equal(vt_blobs_find(&empty_arrays, 0, 0, &b), VT_EINVAL);
    idx[2] = 7;
    l.width = 0;
    assert_int_equal(vt_blobs_find(&l, 0, 0, &b), VT_EINVAL);
    /* Nothing changed: no blobs, no error. */
    vt_change_list none = {0};
    assert_int_equal(vt_blobs_find(&none, 0, 0, &b), VT_OK);
    assert_int_equal(b.count, 0);
    vt_blob_list_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_pixel_is_a_blob_at_its_centre),
        cmocka_unit_test(square_has_its_centre_as_centroid),
        cmocka_unit_test(diagonal_neighbours_are_one_blob),
        cmocka_unit_test(pixels_one_apart_are_two_blobs),
        cmocka_unit_test(u_shape_merges_on_its_last_row),
        cmocka_unit_test(w_shape_with_three_arms_is_one_blob),
        cmocka_unit_test(row_end_does_not_join_next_row_start),
        cmocka_unit_test(blobs_at_the_image_edges),
        cmocka_unit_test(centroid_is_weighted_by_difference),
        cmocka_unit_test(area_limits_drop_small_and_large_blobs),
        cmocka_unit_test(random_images_match_a_flood_fill),
        cmocka_unit_test(reused_list_does_not_reallocate),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
