/*
 * tests/test_original.c - the original projector's float arithmetic. Its
 * bit-for-bit agreement with the original program is measured by
 * bench/bench_project against a build of ray_voxel.cpp (docs/PERFORMANCE.md);
 * here: its camera equals the double-precision model to float precision, its
 * traversal walks face-neighbours and agrees with the exact DDA but for the
 * rare voxels where float drift crosses an edge, and rays entering through a
 * + face are traversed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/voxtrack.h"

static void camera_matches_the_double_model(void **state)
{
    (void)state;
    const double pos[3] = {100.0, -1200.0, 50.0};
    vt_original_camera oc;
    vt_original_camera_init(&oc, 1280, 720, 60.0, 30.0, 85.0, 5.0, pos);
    vt_mat3 r = vt_ypr_matrix(30.0, 85.0, 5.0);
    for (int i = 0; i < 9; i++)
        assert_true(fabs(oc.r[i] - r.m[i / 3][i % 3]) < 1e-6);
    vt_camera cam;
    assert_int_equal(
        vt_camera_from_ypr(1280, 720, 60.0, 30.0, 85.0, 5.0, vt_v3(pos[0], pos[1], pos[2]), &cam),
        VT_OK);
    for (int v = 0; v < 720; v += 71)
        for (int u = 0; u < 1280; u += 97) {
            float d[3];
            vt_original_pixel_dir(&oc, u, v, d);
            vt_vec3 o, e;
            vt_camera_pixel_to_ray(&cam, u, v, &o, &e);
            assert_true(fabs(d[0] - e.x) < 1e-6 && fabs(d[1] - e.y) < 1e-6 &&
                        fabs(d[2] - e.z) < 1e-6);
        }
}

static void traversal_agrees_with_exact_dda_but_for_float_drift(void **state)
{
    (void)state;
    vt_grid_opts go = vt_grid_opts_default();
    go.nx = go.ny = go.nz = 200;
    go.voxel_size = 6.0;
    vt_grid *a, *b;
    assert_int_equal(vt_grid_new(&go, &a), VT_OK);
    assert_int_equal(vt_grid_new(&go, &b), VT_OK);
    vt_dotscene_opts so = vt_dotscene_opts_default();
    uint64_t total = 0, total_exact = 0, rng = 3;
    for (int c = 0; c < so.cameras; c++) {
        vt_vec3 p;
        double yaw, pitch, roll;
        vt_dotscene_camera(&so, c, &p, &yaw, &pitch, &roll);
        const double pos[3] = {p.x, p.y, p.z};
        vt_original_camera oc;
        vt_original_camera_init(&oc, 640, 360, 60.0, yaw, pitch, roll, pos);
        for (int i = 0; i < 500; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int u = (int)((rng >> 20) % 640), v = (int)((rng >> 40) % 360);
            float d[3];
            vt_original_pixel_dir(&oc, u, v, d);
            uint64_t n1, n2;
            assert_int_equal(vt_grid_cast_original(a, oc.position, d, 1, &n1), VT_OK);
            vt_vec3 o = vt_v3(oc.position[0], oc.position[1], oc.position[2]);
            assert_int_equal(vt_grid_cast(b, o, vt_v3(d[0], d[1], d[2]), 1, &n2), VT_OK);
            total += n1;
            total_exact += n2;
            /* Same path length to within a few corner cuts. */
            assert_true(llabs((long long)n1 - (long long)n2) <= 8);
        }
    }
    uint64_t differ = 0;
    for (int x = 0; x < 200; x++)
        for (int y = 0; y < 200; y++)
            for (int z = 0; z < 200; z++)
                differ += vt_grid_at(a, x, y, z) != vt_grid_at(b, x, y, z);
    assert_true(total > 100000);
    assert_true(differ * 50 < total); /* under 2% of the steps */
    vt_grid_free(a);
    vt_grid_free(b);
    (void)total_exact;
}

/* The original drops a ray entering through a + face (start index N); voxtrack walks it. */
static void plus_face_entries_are_traversed(void **state)
{
    (void)state;
    vt_grid_opts go = {10, 10, 10, 1.0, {0.0, 0.0, 0.0}};
    vt_grid *g;
    assert_int_equal(vt_grid_new(&go, &g), VT_OK);
    const float o[3] = {20.0f, 0.5f, 0.5f}, d[3] = {-1.0f, 0.0f, 0.0f};
    uint64_t n;
    assert_int_equal(vt_grid_cast_original(g, o, d, 1, &n), VT_OK);
    assert_int_equal(n, 10);
    assert_int_equal(vt_grid_at(g, 9, 5, 5), 1);
    assert_int_equal(vt_grid_at(g, 0, 5, 5), 1);
    const float o2[3] = {-20.0f, 0.5f, 0.5f}, d2[3] = {1.0f, 0.0f, 0.0f};
    assert_int_equal(vt_grid_cast_original(g, o2, d2, 1, &n), VT_OK);
    assert_int_equal(n, 10);
    const float o3[3] = {20.0f, 20.0f, 0.5f};
    assert_int_equal(vt_grid_cast_original(g, o3, d, 1, &n), VT_OK); /* misses */
    assert_int_equal(n, 0);
    vt_grid_free(g);
    vt_grid_opts nc = {10, 10, 11, 1.0, {0.0, 0.0, 0.0}};
    assert_int_equal(vt_grid_new(&nc, &g), VT_OK);
    assert_int_equal(vt_grid_cast_original(g, o, d, 1, &n), VT_EUNSUPPORTED);
    vt_grid_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(camera_matches_the_double_model),
        cmocka_unit_test(traversal_agrees_with_exact_dda_but_for_float_drift),
        cmocka_unit_test(plus_face_entries_are_traversed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
