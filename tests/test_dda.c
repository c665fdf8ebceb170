/*
 * tests/test_dda.c - the 3D DDA against brute force.
 *
 * For each ray, every voxel of a small grid is tested on its own with a
 * ray/box slab test. The DDA must visit every voxel whose interior the ray
 * crosses over a non-negligible length, visit only voxels the ray at least
 * touches, never visit one twice, move between face neighbours only, and go
 * in order along the ray.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/dda.h"

#define NX 7
#define NY 5
#define NZ 6
#define EPS_PROPER 1e-7 /* a crossing shorter than this may be missed */
#define EPS_TOUCH 1e-9  /* a visited voxel must be this close to the ray */

static const vt_vec3 LO = {-3.25, 1.5, -2.0};
static const double VOXEL = 1.25;

static uint64_t rng_state = 0x1234567887654321ULL;

static double uniform(double a, double b)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return a + (b - a) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/*
 * The interval of t >= 0 over which the ray is in the box [lo, hi] (closed
 * when `open` is false, the open interior when it is true). Returns its length
 * (negative when empty) and the entry t in *t_in.
 */
static double box_interval(vt_vec3 o, vt_vec3 d, vt_vec3 lo, vt_vec3 hi, bool open, double *t_in)
{
    double t0 = 0.0, t1 = INFINITY;
    const double ov[3] = {o.x, o.y, o.z}, dv[3] = {d.x, d.y, d.z};
    const double lv[3] = {lo.x, lo.y, lo.z}, hv[3] = {hi.x, hi.y, hi.z};
    for (int a = 0; a < 3; a++) {
        if (dv[a] == 0.0) {
            bool inside =
                open ? (ov[a] > lv[a] && ov[a] < hv[a]) : (ov[a] >= lv[a] && ov[a] <= hv[a]);
            if (!inside)
                return -1.0;
            continue;
        }
        double ta = (lv[a] - ov[a]) / dv[a], tb = (hv[a] - ov[a]) / dv[a];
        double tn = ta < tb ? ta : tb, tf = ta < tb ? tb : ta;
        t0 = tn > t0 ? tn : t0;
        t1 = tf < t1 ? tf : t1;
    }
    *t_in = t0;
    return t1 - t0;
}

static void voxel_box(int ix, int iy, int iz, vt_vec3 *lo, vt_vec3 *hi)
{
    *lo = vt_v3(LO.x + ix * VOXEL, LO.y + iy * VOXEL, LO.z + iz * VOXEL);
    *hi = vt_v3(lo->x + VOXEL, lo->y + VOXEL, lo->z + VOXEL);
}

/* Checks one ray; returns the number of voxels visited. */
static int check_ray(vt_vec3 o, vt_vec3 d)
{
    int visits[NX][NY][NZ];
    memset(visits, 0, sizeof visits);
    double dn = vt_v3_norm(d);
    vt_dda s;
    int count = 0;
    if (vt_dda_init(&s, o, d, LO, VOXEL, NX, NY, NZ)) {
        int px = -1, py = -1, pz = -1;
        double prev_t = -INFINITY;
        do {
            assert_in_range(s.ix, 0, NX - 1);
            assert_in_range(s.iy, 0, NY - 1);
            assert_in_range(s.iz, 0, NZ - 1);
            assert_int_equal(visits[s.ix][s.iy][s.iz], 0); /* never twice */
            visits[s.ix][s.iy][s.iz] = 1;
            vt_vec3 lo, hi;
            voxel_box(s.ix, s.iy, s.iz, &lo, &hi);
            double t_in;
            double len = box_interval(o, d, lo, hi, false, &t_in);
            assert_true(len * dn >= -EPS_TOUCH);                /* only voxels the ray touches */
            assert_true(t_in * dn >= prev_t * dn - EPS_PROPER); /* in order along the ray */
            prev_t = t_in;
            if (px >= 0) /* face neighbours only */
                assert_int_equal(abs(s.ix - px) + abs(s.iy - py) + abs(s.iz - pz), 1);
            px = s.ix;
            py = s.iy;
            pz = s.iz;
            count++;
        } while (vt_dda_next(&s));
    }
    for (int ix = 0; ix < NX; ix++)
        for (int iy = 0; iy < NY; iy++)
            for (int iz = 0; iz < NZ; iz++) {
                vt_vec3 lo, hi;
                voxel_box(ix, iy, iz, &lo, &hi);
                double t_in;
                if (box_interval(o, d, lo, hi, true, &t_in) * dn > EPS_PROPER &&
                    !visits[ix][iy][iz]) {
                    print_error("missed voxel (%d,%d,%d) for ray o=(%.17g,%.17g,%.17g) "
                                "d=(%.17g,%.17g,%.17g)\n",
                                ix, iy, iz, o.x, o.y, o.z, d.x, d.y, d.z);
                    fail();
                }
            }
    return count;
}

static vt_vec3 random_point_in_grid(void)
{
    return vt_v3(uniform(LO.x, LO.x + NX * VOXEL), uniform(LO.y, LO.y + NY * VOXEL),
                 uniform(LO.z, LO.z + NZ * VOXEL));
}

static vt_vec3 random_dir(void)
{
    vt_vec3 d;
    do
        d = vt_v3(uniform(-1, 1), uniform(-1, 1), uniform(-1, 1));
    while (vt_v3_norm(d) < 0.1 || vt_v3_norm(d) > 1.0);
    return d;
}

static void random_rays_from_outside(void **state)
{
    (void)state;
    int hits = 0;
    for (int i = 0; i < 4000; i++) {
        /* From a point on a sphere around the grid towards a point inside it. */
        vt_vec3 c = vt_v3(LO.x + NX * VOXEL / 2, LO.y + NY * VOXEL / 2, LO.z + NZ * VOXEL / 2);
        vt_vec3 o = vt_v3_add(c, vt_v3_scale(vt_v3_normalize(random_dir()), 20.0));
        vt_vec3 d = vt_v3_sub(random_point_in_grid(), o);
        hits += check_ray(o, d) > 0;
    }
    assert_int_equal(hits, 4000);
}

static void random_rays_from_inside(void **state)
{
    (void)state;
    for (int i = 0; i < 4000; i++)
        assert_true(check_ray(random_point_in_grid(), random_dir()) >= 1);
}

static void random_rays_that_may_miss(void **state)
{
    (void)state;
    int misses = 0;
    for (int i = 0; i < 4000; i++) {
        vt_vec3 o = vt_v3(uniform(-30, 30), uniform(-30, 30), uniform(-30, 30));
        misses += check_ray(o, random_dir()) == 0;
    }
    assert_true(misses > 0);
}

/* Rays along the axes, through voxel centres, faces, edges and corners. */
static void rays_along_axes_and_through_edges(void **state)
{
    (void)state;
    const double offsets[] = {0.0, 0.5, 0.25, 1.0}; /* in voxels: on a boundary, centre, ... */
    int n = 0;
    for (int a = 0; a < 3; a++)
        for (int sign = -1; sign <= 1; sign += 2)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    vt_vec3 o =
                        vt_v3(LO.x + (2 + offsets[i]) * VOXEL, LO.y + (1 + offsets[j]) * VOXEL,
                              LO.z + (3 + offsets[i]) * VOXEL);
                    double dv[3] = {0, 0, 0}, ov[3] = {o.x, o.y, o.z};
                    dv[a] = sign;
                    ov[a] = sign > 0 ? -100.0 : 100.0;
                    int k = check_ray(vt_v3(ov[0], ov[1], ov[2]), vt_v3(dv[0], dv[1], dv[2]));
                    int len = a == 0 ? NX : (a == 1 ? NY : NZ);
                    assert_int_equal(k, len); /* the whole line of voxels, no more */
                    n++;
                }
    /* Diagonals through grid corners and voxel edges. */
    for (int i = 0; i < 200; i++) {
        vt_vec3 corner =
            vt_v3(LO.x + (int)uniform(0, NX + 1) * VOXEL, LO.y + (int)uniform(0, NY + 1) * VOXEL,
                  LO.z + (int)uniform(0, NZ + 1) * VOXEL);
        vt_vec3 d = vt_v3((int)uniform(-2, 3), (int)uniform(-2, 3), (int)uniform(-2, 3));
        if (d.x == 0 && d.y == 0 && d.z == 0)
            continue;
        check_ray(vt_v3_sub(corner, vt_v3_scale(d, 50.0)), d);
        check_ray(corner, d);
        n++;
    }
    assert_true(n > 96);
}

/* Every face: +x, -x, +y, -y, +z, -z. The original dropped rays entering through + faces. */
static void rays_enter_through_every_face(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++)
        for (int sign = -1; sign <= 1; sign += 2)
            for (int i = 0; i < 300; i++) {
                vt_vec3 p = random_point_in_grid();
                double pv[3] = {p.x, p.y, p.z}, dv[3];
                double lo[3] = {LO.x, LO.y, LO.z}, n[3] = {NX, NY, NZ};
                vt_vec3 d = random_dir();
                dv[0] = d.x;
                dv[1] = d.y;
                dv[2] = d.z;
                /* Start just outside the face, moving inwards. */
                pv[a] =
                    sign > 0 ? lo[a] + n[a] * VOXEL + uniform(0.0, 2.0) : lo[a] - uniform(0.0, 2.0);
                dv[a] = -sign * (fabs(dv[a]) + 0.2);
                vt_vec3 o = vt_v3(pv[0], pv[1], pv[2]);
                vt_dda s;
                check_ray(o, vt_v3(dv[0], dv[1], dv[2]));
                if (vt_dda_init(&s, o, vt_v3(dv[0], dv[1], dv[2]), LO, VOXEL, NX, NY, NZ)) {
                    int first[3] = {s.ix, s.iy, s.iz};
                    /* If it entered through this face, it starts in the face's layer. */
                    double t_face = ((sign > 0 ? lo[a] + n[a] * VOXEL : lo[a]) - pv[a]) / dv[a];
                    if (fabs(t_face - s.t) < 1e-12)
                        assert_int_equal(first[a], sign > 0 ? (int)n[a] - 1 : 0);
                }
            }
}

/* A ray starting exactly on the +x face, moving in, starts in the last layer. */
static void plus_face_entry_starts_in_last_layer(void **state)
{
    (void)state;
    vt_dda s;
    vt_vec3 o = vt_v3(LO.x + NX * VOXEL, LO.y + 0.5 * VOXEL, LO.z + 0.5 * VOXEL);
    assert_true(vt_dda_init(&s, o, vt_v3(-1, 0, 0), LO, VOXEL, NX, NY, NZ));
    assert_int_equal(s.ix, NX - 1);
    int n = 1;
    while (vt_dda_next(&s))
        n++;
    assert_int_equal(n, NX);
    assert_int_equal(s.ix, 0);
}

static void degenerate_inputs(void **state)
{
    (void)state;
    vt_dda s;
    assert_false(vt_dda_init(&s, vt_v3(0, 0, 0), vt_v3(0, 0, 0), LO, VOXEL, NX, NY, NZ));
    assert_false(vt_dda_init(&s, vt_v3(0, 0, 0), vt_v3(NAN, 1, 0), LO, VOXEL, NX, NY, NZ));
    assert_false(vt_dda_init(&s, vt_v3(0, 0, 0), vt_v3(1, 0, 0), LO, 0.0, NX, NY, NZ));
    assert_false(vt_dda_init(&s, vt_v3(0, 0, 0), vt_v3(1, 0, 0), LO, VOXEL, 0, NY, NZ));
    /* Pointing away from the grid. */
    assert_false(vt_dda_init(&s, vt_v3(LO.x - 1, 2, 0), vt_v3(-1, 0, 0), LO, VOXEL, NX, NY, NZ));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_rays_from_outside),
        cmocka_unit_test(random_rays_from_inside),
        cmocka_unit_test(random_rays_that_may_miss),
        cmocka_unit_test(rays_along_axes_and_through_edges),
        cmocka_unit_test(rays_enter_through_every_face),
        cmocka_unit_test(plus_face_entry_starts_in_last_layer),
        cmocka_unit_test(degenerate_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
