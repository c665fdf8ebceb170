/*
 * tests/test_grid.c - the bricked voxel grid: votes equal a plain dense
 * reference, grids add up, the .bin file reads back, bad options and paths
 * fail clearly, memory follows what rays touch.
 */
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

#include "voxtrack/dda.h"
#include "voxtrack/grid.h"
#include "voxtrack/image.h"

static uint64_t rng = 42;

static double uniform(double a, double b)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return a + (b - a) * (double)(rng >> 11) / 9007199254740992.0;
}

static vt_grid *make_grid(int nx, int ny, int nz, double voxel)
{
    vt_grid_opts o = {nx, ny, nz, voxel, {1.0, -2.0, 3.0}};
    vt_grid *g = NULL;
    assert_int_equal(vt_grid_new(&o, &g), VT_OK);
    return g;
}

/* Casts random rays into the grid and into a flat reference array via the DDA directly. */
static void cast_random(vt_grid *g, uint64_t *ref, int rays)
{
    vt_grid_opts o = vt_grid_get_opts(g);
    for (int i = 0; i < rays; i++) {
        vt_vec3 origin = vt_v3(uniform(-80, 80), uniform(-80, 80), uniform(-80, 80));
        vt_vec3 target = vt_v3(o.center.x + uniform(-10, 10), o.center.y + uniform(-10, 10),
                               o.center.z + uniform(-10, 10));
        vt_vec3 d = vt_v3_normalize(vt_v3_sub(target, origin));
        uint64_t w = (uint64_t)uniform(1, 1000), steps = 0, expect = 0;
        assert_int_equal(vt_grid_cast(g, origin, d, w, &steps), VT_OK);
        vt_dda s;
        if (vt_dda_init(&s, origin, d, vt_grid_min(g), o.voxel_size, o.nx, o.ny, o.nz))
            do {
                if (ref)
                    ref[((size_t)s.ix * o.ny + s.iy) * o.nz + s.iz] += w;
                expect++;
            } while (vt_dda_next(&s));
        assert_int_equal(steps, expect);
    }
}

static void votes_equal_dense_reference(void **state)
{
    (void)state;
    int nx = 37, ny = 20, nz = 29; /* not multiples of the brick size */
    vt_grid *g = make_grid(nx, ny, nz, 0.75);
    uint64_t *ref = calloc((size_t)nx * ny * nz, sizeof *ref);
    cast_random(g, ref, 3000);
    for (int x = 0; x < nx; x++)
        for (int y = 0; y < ny; y++)
            for (int z = 0; z < nz; z++)
                assert_int_equal(vt_grid_at(g, x, y, z), ref[((size_t)x * ny + y) * nz + z]);
    assert_int_equal(vt_grid_at(g, -1, 0, 0), 0);
    assert_int_equal(vt_grid_at(g, nx, 0, 0), 0);
    free(ref);
    vt_grid_free(g);
}

static void grids_add_voxel_by_voxel(void **state)
{
    (void)state;
    vt_grid *a = make_grid(30, 30, 30, 1.0), *b = make_grid(30, 30, 30, 1.0),
            *both = make_grid(30, 30, 30, 1.0);
    rng = 7;
    cast_random(a, NULL, 500);
    rng = 7;
    cast_random(both, NULL, 500);
    rng = 8;
    cast_random(b, NULL, 500);
    rng = 8;
    cast_random(both, NULL, 500);
    assert_int_equal(vt_grid_add(a, b), VT_OK);
    for (int x = 0; x < 30; x++)
        for (int y = 0; y < 30; y++)
            for (int z = 0; z < 30; z++)
                assert_int_equal(vt_grid_at(a, x, y, z), vt_grid_at(both, x, y, z));
    vt_grid *other = make_grid(30, 30, 31, 1.0);
    assert_int_equal(vt_grid_add(a, other), VT_EMISMATCH);
    assert_non_null(strstr(vt_last_error(), "30x30x31"));
    vt_grid_clear(a);
    assert_false(vt_grid_argmax(a, &(int){0}, &(int){0}, &(int){0}, NULL));
    vt_grid_free(a);
    vt_grid_free(b);
    vt_grid_free(both);
    vt_grid_free(other);
}

static void argmax_prefers_lowest_index_on_ties(void **state)
{
    (void)state;
    vt_grid *g = make_grid(20, 20, 20, 1.0);
    assert_int_equal(vt_grid_add_at(g, 15, 2, 3, 5), VT_OK);
    assert_int_equal(vt_grid_add_at(g, 9, 19, 19, 5), VT_OK);
    assert_int_equal(vt_grid_add_at(g, 1, 1, 1, 4), VT_OK);
    assert_int_equal(vt_grid_add_at(g, 20, 0, 0, 1), VT_ERANGE);
    int x, y, z;
    uint64_t v;
    assert_true(vt_grid_argmax(g, &x, &y, &z, &v));
    assert_int_equal(v, 5);
    assert_int_equal(x, 9);
    assert_int_equal(y, 19);
    assert_int_equal(z, 19);
    vt_vec3 c = vt_grid_voxel_center(g, 0, 0, 0);
    assert_true(fabs(c.x - (1.0 - 10.0 + 0.5)) < 1e-12);
    assert_true(fabs(c.y - (-2.0 - 10.0 + 0.5)) < 1e-12);
    assert_true(fabs(c.z - (3.0 - 10.0 + 0.5)) < 1e-12);
    vt_grid_free(g);
}

static const char *tmp_dir(void)
{
    static char dir[512];
    const char *base = getenv("VT_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/grid", base ? base : "/tmp/vt_test");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return dir;
}

static void bin_file_reads_back(void **state)
{
    (void)state;
    int n = 40;
    vt_grid *g = make_grid(n, n, n, 0.5);
    rng = 99;
    cast_random(g, NULL, 50);
    /* A vote far from the rest so that the file has a long hole before it. */
    assert_int_equal(vt_grid_add_at(g, n - 1, n - 1, n - 1, (uint64_t)(2.5 * VT_VOTE_ONE)), VT_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/grid.bin", tmp_dir());
    assert_int_equal(vt_grid_save_bin(g, path), VT_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8 + 4 * (off_t)n * n * n);
    FILE *f = fopen(path, "rb");
    int32_t hn;
    float hv;
    assert_int_equal(fread(&hn, 4, 1, f), 1);
    assert_int_equal(fread(&hv, 4, 1, f), 1);
    assert_int_equal(hn, n);
    assert_true(hv == 0.5f);
    float *vox = malloc((size_t)n * n * n * sizeof *vox);
    assert_int_equal(fread(vox, 4, (size_t)n * n * n, f), (size_t)n * n * n);
    fclose(f);
    for (int x = 0; x < n; x++)
        for (int y = 0; y < n; y++)
            for (int z = 0; z < n; z++) {
                float expect = (float)((double)vt_grid_at(g, x, y, z) / VT_VOTE_ONE);
                assert_true(vox[((size_t)x * n + y) * n + z] == expect);
            }
    assert_true(vox[(size_t)n * n * n - 1] == 2.5f);
    free(vox);
    char tmp[620];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place */
    vt_grid_free(g);
}

static void bin_file_errors_are_clear(void **state)
{
    (void)state;
    vt_grid *g = make_grid(10, 10, 12, 1.0);
    assert_int_equal(vt_grid_save_bin(g, "/tmp/x.bin"), VT_EUNSUPPORTED);
    assert_non_null(strstr(vt_last_error(), "cubic"));
    vt_grid_free(g);
    g = make_grid(10, 10, 10, 1.0);
    assert_int_equal(vt_grid_save_bin(g, "/nonexistent-dir/x.bin"), VT_EIO);
    assert_non_null(strstr(vt_last_error(), "/nonexistent-dir/x.bin"));
    vt_grid_free(g);
}

static void mip_images_are_written(void **state)
{
    (void)state;
    vt_grid *g = make_grid(16, 24, 32, 1.0);
    assert_int_equal(vt_grid_add_at(g, 3, 5, 7, 100), VT_OK);
    assert_int_equal(vt_grid_add_at(g, 3, 6, 7, 50), VT_OK);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/mip", tmp_dir());
    assert_int_equal(vt_grid_save_mip(g, prefix), VT_OK);
    char path[620];
    vt_image img = {0};
    snprintf(path, sizeof path, "%s_z.png", prefix);
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.width, 16);
    assert_int_equal(img.height, 24);
    assert_int_equal(img.bits, 16);
    /* Top-down view: column ix, row from the top = ny - 1 - iy. */
    assert_int_equal(vt_image_row16(&img, 24 - 1 - 5)[3], 65535);
    assert_int_equal(vt_image_row16(&img, 24 - 1 - 6)[3], 32768);
    assert_int_equal(vt_image_row16(&img, 0)[0], 0);
    vt_image_free(&img);
    snprintf(path, sizeof path, "%s_x.png", prefix);
    assert_int_equal(vt_image_load(path, 0, &img), VT_OK);
    assert_int_equal(img.width, 24);
    assert_int_equal(img.height, 32);
    assert_int_equal(vt_image_row16(&img, 32 - 1 - 7)[5], 65535);
    vt_image_free(&img);
    vt_grid_free(g);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    vt_grid *g = NULL;
    vt_grid_opts o = vt_grid_opts_default();
    o.voxel_size = 0.0;
    assert_int_equal(vt_grid_new(&o, &g), VT_EINVAL);
    assert_null(g);
    assert_non_null(strstr(vt_last_error(), "voxel size"));
    o = vt_grid_opts_default();
    o.ny = 0;
    assert_int_equal(vt_grid_new(&o, &g), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'ny'"));
    o = vt_grid_opts_default();
    o.center.x = NAN;
    assert_int_equal(vt_grid_new(&o, &g), VT_EINVAL);
}

static void memory_follows_touched_voxels(void **state)
{
    (void)state;
    vt_grid_opts o = vt_grid_opts_default(); /* 500^3: 1 GB if it were dense 64-bit */
    vt_grid *g = NULL;
    assert_int_equal(vt_grid_new(&o, &g), VT_OK);
    assert_int_equal(vt_grid_brick_count(g), 0);
    uint64_t steps;
    assert_int_equal(vt_grid_cast(g, vt_v3(0, 0, -2000), vt_v3(0, 0, 1), 1, &steps), VT_OK);
    assert_int_equal(steps, 500);
    /* One column of bricks along z, plus the directory. */
    assert_int_equal(vt_grid_brick_count(g), (500 + 7) / 8);
    assert_true(vt_grid_bytes(g) < 4u << 20);
    vt_grid_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(votes_equal_dense_reference),
        cmocka_unit_test(grids_add_voxel_by_voxel),
        cmocka_unit_test(argmax_prefers_lowest_index_on_ties),
        cmocka_unit_test(bin_file_reads_back),
        cmocka_unit_test(bin_file_errors_are_clear),
        cmocka_unit_test(mip_images_are_written),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(memory_follows_touched_voxels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
