/*
 * tests/test_sparse.c - voting on the sparse coarse-to-fine grid: votes equal
 * a plain dense DDA accumulation, cells seen by fewer than K cameras are not
 * refined, points seen by enough cameras give clusters where they are, the
 * level of detail stops refinement far from the cameras, results do not
 * depend on threads or ray order, memory follows the rays, bad input fails
 * clearly; the consistency test keeps points whose rays miss them by two
 * sigmas and turns down cells that random rays cross by chance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/dda.h"
#include "voxtrack/grid.h"
#include "voxtrack/sparse.h"
#include "vt_test.h"

static vt_vote *make_vote(const vt_vote_opts *o)
{
    vt_vote *v = NULL;
    assert_int_equal(vt_vote_new(o, &v), VT_OK);
    assert_non_null(v);
    return v;
}

static vt_ray make_ray(vt_vec3 origin, vt_vec3 target, double noise, int camera, float weight)
{
    vt_vec3 d = vt_v3_normalize(vt_v3_sub(target, origin));
    d = vt_v3_add(d, vt_v3(vt_test_uniform(-noise, noise), vt_test_uniform(-noise, noise),
                           vt_test_uniform(-noise, noise)));
    vt_ray r;
    memset(&r, 0, sizeof r);
    r.origin = origin;
    r.dir = vt_v3_normalize(d);
    r.weight = weight;
    r.sigma = 1e-3f;
    r.camera = (uint16_t)camera;
    return r;
}

/* A ray from origin that misses target by an angle of nsig * sigma, in a random direction. */
static vt_ray ray_off(vt_vec3 origin, vt_vec3 target, double nsig, double sigma, int camera)
{
    vt_vec3 d = vt_v3_normalize(vt_v3_sub(target, origin)), p;
    do {
        p = vt_v3(vt_test_uniform(-1, 1), vt_test_uniform(-1, 1), vt_test_uniform(-1, 1));
        p = vt_v3_sub(p, vt_v3_scale(d, vt_v3_dot(p, d)));
    } while (vt_v3_norm(p) < 0.1);
    p = vt_v3_normalize(p);
    vt_ray r;
    memset(&r, 0, sizeof r);
    r.origin = origin;
    r.dir = vt_v3_normalize(vt_v3_add(d, vt_v3_scale(p, tan(nsig * sigma))));
    r.weight = 1.0f;
    r.sigma = (float)sigma;
    r.camera = (uint16_t)camera;
    return r;
}

/* Camera c of n on a ring of radius `radius` at height h around (0, 0). */
static vt_vec3 ring_camera(int c, int n, double radius, double h)
{
    double a = 2.0 * VT_PI * c / n + 0.3;
    return vt_v3(radius * cos(a), radius * sin(a), h);
}

/* `per` noisy rays from each of `ncam` ring cameras to each target. */
static vt_ray *rays_at_targets(const vt_vec3 *targets, int ntarget, int ncam, int per, double noise,
                               size_t *count)
{
    size_t n = (size_t)ntarget * ncam * per, i = 0;
    vt_ray *r = malloc(n * sizeof *r);
    for (int c = 0; c < ncam; c++)
        for (int t = 0; t < ntarget; t++)
            for (int k = 0; k < per; k++)
                r[i++] = make_ray(ring_camera(c, ncam, 300.0, 10.0), targets[t], noise, c,
                                  (float)vt_test_uniform(0.5, 2.0));
    *count = n;
    return r;
}

static vt_vote_opts small_opts(void)
{
    vt_vote_opts o = vt_vote_opts_default();
    o.min = vt_v3(-128, -128, 0);
    o.max = vt_v3(128, 128, 128);
    o.coarse_voxel = 16.0;
    o.fine_voxel = 1.0;
    return o;
}

static void finest_votes_equal_dense_dda(void **state)
{
    (void)state;
    vt_test_seed(11);
    vt_vote_opts o = vt_vote_opts_default();
    o.min = vt_v3(-10, 4, -3);
    o.max = vt_v3(22, 28, 13); /* 4 x 3 x 2 coarse cells of 8 m */
    o.coarse_voxel = 8.0;
    o.fine_voxel = 1.0;
    o.min_cameras = 1;
    o.consistency_sigma = 0.0; /* every cell refines: all voxels can be compared */
    vt_vote *v = make_vote(&o);
    const int nx = 32, ny = 24, nz = 16, nray = 400;
    uint64_t *w = calloc((size_t)nx * ny * nz, sizeof *w), *m = calloc((size_t)nx * ny * nz, 8);
    vt_ray rays[400];
    for (int i = 0; i < nray; i++) {
        int c = i % 7;
        vt_vec3 cam = vt_v3(-40.0 + 15 * c, c % 2 ? -30.0 : 60.0, 20.0 - 5 * c);
        vt_vec3 target =
            vt_v3(vt_test_uniform(-10, 22), vt_test_uniform(4, 28), vt_test_uniform(-3, 13));
        rays[i] = make_ray(cam, target, 0.0, c, (float)vt_test_uniform(0.1, 3.0));
        uint64_t fw = (uint64_t)llround((double)rays[i].weight * VT_VOTE_ONE);
        vt_dda d;
        if (vt_dda_init(&d, rays[i].origin, rays[i].dir, o.min, 1.0, nx, ny, nz))
            do {
                size_t k = ((size_t)d.ix * ny + d.iy) * nz + d.iz;
                w[k] += fw;
                m[k] |= 1ull << c;
            } while (vt_dda_next(&d));
    }
    assert_int_equal(vt_vote_cast(v, rays, nray), VT_OK);
    vt_vote_stats st = vt_vote_get_stats(v);
    assert_int_equal(st.levels, 4);
    assert_int_equal(st.rays, nray);
    assert_true(vt_vote_level_size(v, 3) == 1.0);
    for (int x = 0; x < nx; x++)
        for (int y = 0; y < ny; y++)
            for (int z = 0; z < nz; z++) {
                uint64_t gw, gm;
                vt_vote_voxel(v, 3, vt_v3(o.min.x + x + 0.5, o.min.y + y + 0.5, o.min.z + z + 0.5),
                              &gw, &gm);
                size_t k = ((size_t)x * ny + y) * nz + z;
                assert_int_equal(gw, w[k]);
                assert_int_equal(gm, m[k]);
            }
    /* Outside the box and beyond the levels: zeroes. */
    uint64_t gw = 1, gm = 1;
    vt_vote_voxel(v, 3, vt_v3(-11, 5, 0), &gw, &gm);
    assert_true(gw == 0 && gm == 0);
    vt_vote_voxel(v, 4, vt_v3(0, 5, 0), &gw, &gm);
    assert_true(gw == 0 && gm == 0);
    free(w);
    free(m);
    vt_vote_free(v);
}

static void cells_seen_by_fewer_than_k_cameras_are_not_refined(void **state)
{
    (void)state;
    vt_test_seed(12);
    vt_vote_opts o = small_opts();
    vt_vote *v = make_vote(&o);
    vt_vec3 a = vt_v3(-40.3, 20.2, 50.1), b = vt_v3(50.2, -30.1, 70.3);
    vt_ray rays[5];
    for (int c = 0; c < 3; c++) /* a: three cameras */
        rays[c] = make_ray(ring_camera(c, 5, 300, 10), a, 0.0, c, 1.0f);
    for (int c = 3; c < 5; c++) /* b: two */
        rays[c] = make_ray(ring_camera(c, 5, 300, 10), b, 0.0, c, 1.0f);
    assert_int_equal(vt_vote_cast(v, rays, 5), VT_OK);
    vt_vote_stats st = vt_vote_get_stats(v);
    assert_int_equal(st.levels, 5);
    for (int l = 0; l < st.levels; l++)
        assert_true(st.cells[l] >= 1);
    uint64_t w, m;
    vt_vote_voxel(v, 0, b, &w, &m);
    assert_true(w > 0 && m == 0x18); /* coarse: both of b's rays, nothing else */
    for (int l = 1; l < st.levels; l++) {
        vt_vote_voxel(v, l, b, &w, &m);
        assert_true(w == 0 && m == 0);
    }
    vt_vote_voxel(v, 4, a, &w, &m);
    assert_int_equal(m, 0x7);
    assert_int_equal(w, 3 * (uint64_t)VT_VOTE_ONE);
    size_t n;
    const vt_cluster *cl = vt_vote_clusters(v, &n);
    assert_true(n >= 1);
    assert_int_equal(cl[0].cameras, 0x7);
    assert_true(vt_v3_norm(vt_v3_sub(cl[0].centroid, a)) < 1.0);
    vt_vote_free(v);
}

static void point_seen_by_four_cameras_gives_one_cluster(void **state)
{
    (void)state;
    vt_test_seed(13);
    vt_vote_opts o = small_opts();
    vt_vote *v = make_vote(&o);
    vt_vec3 p = vt_v3(12.3, -7.7, 55.5);
    size_t n;
    vt_ray *rays = rays_at_targets(&p, 1, 4, 20, 5e-4, &n);
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    assert_int_equal(nc, 1);
    assert_true(vt_v3_norm(vt_v3_sub(cl[0].centroid, p)) < 1.0);
    assert_int_equal(cl[0].ncameras, 4);
    assert_int_equal(cl[0].cameras, 0xF);
    assert_true(cl[0].voxel_size == 1.0);
    assert_true(cl[0].min.x <= p.x && p.x <= cl[0].max.x && cl[0].min.z <= p.z &&
                p.z <= cl[0].max.z);
    assert_true(cl[0].voxels >= 1 && cl[0].weight > 0);
    free(rays);
    vt_vote_free(v);
}

/* Every touched coarse block reads out with the votes and masks vt_vote_voxel gives. */
static void coarse_blocks_read_out_with_their_votes_and_cameras(void **state)
{
    (void)state;
    vt_test_seed(21);
    vt_vote_opts o = small_opts();
    vt_vote *v = make_vote(&o);
    assert_int_equal(vt_vote_block_count(v), 0); /* nothing cast yet */
    vt_vec3 p = vt_v3(12.3, -7.7, 55.5);
    size_t n;
    vt_ray *rays = rays_at_targets(&p, 1, 4, 20, 5e-4, &n);
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    size_t nb = vt_vote_block_count(v);
    assert_int_equal(nb, vt_vote_get_stats(v).blocks);
    assert_true(nb > 0);
    vt_vote_block *b = malloc(sizeof *b);
    double e = vt_vote_level_size(v, 0);
    int best = 0, touched = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < nb; i++) {
        assert_int_equal(vt_vote_block_get(v, i, b), VT_OK);
        uint64_t uni = 0;
        for (int k = 0; k < 512; k++) {
            vt_vec3 c = vt_v3(o.min.x + (8 * b->bx + (k >> 6) + 0.5) * e,
                              o.min.y + (8 * b->by + ((k >> 3) & 7) + 0.5) * e,
                              o.min.z + (8 * b->bz + (k & 7) + 0.5) * e);
            uint64_t w, cams;
            vt_vote_voxel(v, 0, c, &w, &cams);
            assert_true(w == b->weight[k]);
            assert_true(cams == b->cell_cameras[k]);
            uni |= cams;
            total += w;
            touched += w > 0;
        }
        assert_true(uni == b->cameras);
        best = b->max_cameras > best ? b->max_cameras : best;
    }
    assert_int_equal(best, 4); /* the block with the target */
    assert_true(touched > 0 && total > 0);
    assert_int_equal(vt_vote_block_get(v, nb, b), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "block"));
    assert_int_equal(vt_vote_block_get(NULL, 0, b), VT_EINVAL);
    assert_true(vt_vote_get_opts(v).coarse_voxel == o.coarse_voxel);
    free(b);
    free(rays);
    vt_vote_free(v);
}

static const vt_vec3 three_targets[3] = {
    {-50.2, 20.7, 60.1}, {40.6, -30.3, 100.4}, {10.1, 60.9, 40.2}};

static void three_targets_five_cameras_give_three_strongest_clusters(void **state)
{
    (void)state;
    vt_test_seed(14);
    vt_vote_opts o = small_opts();
    vt_vote *v = make_vote(&o);
    size_t n;
    vt_ray *rays = rays_at_targets(three_targets, 3, 5, 10, 5e-4, &n);
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    assert_true(nc >= 3);
    bool found[3] = {false, false, false};
    for (int i = 0; i < 3; i++) {
        assert_true(i == 0 || cl[i].weight <= cl[i - 1].weight);
        for (int t = 0; t < 3; t++)
            if (vt_v3_norm(vt_v3_sub(cl[i].centroid, three_targets[t])) < 1.5)
                found[t] = true;
        assert_int_equal(cl[i].ncameras, 5);
    }
    assert_true(found[0] && found[1] && found[2]);
    free(rays);
    vt_vote_free(v);
}

static void level_of_detail_stops_refinement_far_from_the_cameras(void **state)
{
    (void)state;
    vt_test_seed(15);
    vt_vote_opts o = small_opts();
    o.fine_voxel = 0.25;
    o.pixel_angle = 1e-3; /* 2 pixels: 0.5 m at 250 m, 1 m at 500 m */
    vt_vote *v = make_vote(&o);
    vt_vec3 p = vt_v3(12.3, -7.7, 55.5); /* about 300 m from every camera */
    size_t n;
    vt_ray *rays = rays_at_targets(&p, 1, 4, 20, 2e-4, &n);
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    vt_vote_stats st = vt_vote_get_stats(v);
    assert_int_equal(st.levels, 6); /* 16, 8, 4, 2, 1, 0.5: never 0.25 */
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    assert_true(nc >= 1);
    assert_true(cl[0].voxel_size == 0.5);
    assert_true(vt_v3_norm(vt_v3_sub(cl[0].centroid, p)) < 1.0);
    free(rays);
    vt_vote_free(v);
}

/* Whether the last cast has a cluster of `cams` cameras within `dist` of p. */
static bool has_cluster_near(const vt_vote *v, vt_vec3 p, int cams, double dist)
{
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    for (size_t i = 0; i < nc; i++)
        if (cl[i].ncameras >= cams && vt_v3_norm(vt_v3_sub(cl[i].centroid, p)) < dist)
            return true;
    return false;
}

/*
 * K cameras whose rays miss a point by two sigmas (half the default
 * tolerance of four) still make a cluster there, wherever the plain
 * refinement (consistency_sigma 0) makes one: the test loses nothing.
 */
static void points_whose_rays_miss_by_two_sigmas_are_kept(void **state)
{
    (void)state;
    vt_test_seed(18);
    const double sigma = 2.5e-4;   /* 2 sigmas: 0.15 m at 300 m, in the 1 m finest voxels */
    vt_vote_opts o = small_opts(); /* K = 3, consistency_sigma 4 */
    o.consistency_min = 0.05;      /* so that the sigmas set the tolerance (0.3 m) */
    vt_vote *on = make_vote(&o);
    o.consistency_sigma = 0.0;
    vt_vote *off = make_vote(&o);
    int found = 0;
    for (int trial = 0; trial < 40; trial++) {
        /* Some on coarse cell corners, where the meeting point may fall in a neighbour. */
        vt_vec3 p = trial < 8 ? vt_v3(-48.0 + 16 * (trial % 4), 32.0 - 16 * (trial / 4), 64.0)
                              : vt_v3(vt_test_uniform(-100, 100), vt_test_uniform(-100, 100),
                                      vt_test_uniform(20, 110));
        vt_ray rays[3];
        for (int c = 0; c < 3; c++)
            rays[c] = ray_off(ring_camera(c, 3, 300, 10), p, 2.0, sigma, c);
        assert_int_equal(vt_vote_cast(on, rays, 3), VT_OK);
        assert_int_equal(vt_vote_cast(off, rays, 3), VT_OK);
        bool with = has_cluster_near(on, p, 3, 1.0), without = has_cluster_near(off, p, 3, 1.0);
        if (without && !with)
            fail_msg("trial %d: the test lost the point (%g, %g, %g)", trial, p.x, p.y, p.z);
        found += with;
    }
    /* The others fall where the grid splits the rays: no voxel holds all three (both ways). */
    if (found < 32)
        fail_msg("only %d of 40 points found", found);
    vt_vote_free(on);
    vt_vote_free(off);
}

/* Scene of three targets seen by 8 cameras among 600 random rays. */
static vt_ray *targets_among_random_rays(size_t *count)
{
    const int ncam = 8, nrand = 600;
    size_t n = 3 * ncam + nrand, i = 0;
    vt_ray *r = malloc(n * sizeof *r);
    for (int c = 0; c < ncam; c++)
        for (int t = 0; t < 3; t++)
            r[i++] = ray_off(ring_camera(c, ncam, 300, 10), three_targets[t],
                             vt_test_uniform(0.0, 1.5), 1e-3, c);
    for (int k = 0; k < nrand; k++) {
        int c = k % ncam;
        vt_vec3 aim =
            vt_v3(vt_test_uniform(-128, 128), vt_test_uniform(-128, 128), vt_test_uniform(0, 128));
        r[i++] = ray_off(ring_camera(c, ncam, 300, 10), aim, 0.0, 1e-3, c);
    }
    *count = n;
    return r;
}

static size_t fine_cells(const vt_vote_stats *st)
{
    size_t n = 0;
    for (int l = 1; l < 8; l++)
        n += st->cells[l];
    return n;
}

static void consistency_test_removes_ghost_refinement_and_keeps_targets(void **state)
{
    (void)state;
    vt_test_seed(19);
    size_t n;
    vt_ray *rays = targets_among_random_rays(&n);
    vt_vote_opts o = small_opts();
    o.consistency_sigma = 0.0;
    vt_vote *off = make_vote(&o);
    o = small_opts();
    vt_vote *on = make_vote(&o);
    assert_int_equal(vt_vote_cast(off, rays, n), VT_OK);
    assert_int_equal(vt_vote_cast(on, rays, n), VT_OK);
    vt_vote_stats so = vt_vote_get_stats(off), sn = vt_vote_get_stats(on);
    /* Same level-0 votes; without the test nothing is turned down. */
    assert_int_equal(so.cells[0], sn.cells[0]);
    for (int l = 0; l < 8; l++)
        assert_int_equal(so.rejected[l], 0);
    assert_true(sn.rejected[0] > sn.cells[0] / 2);
    if (!(fine_cells(&sn) * 4 < fine_cells(&so)))
        fail_msg("cells at levels 1+: %zu with the test, %zu without", fine_cells(&sn),
                 fine_cells(&so));
    assert_true(sn.steps < so.steps);
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(on, &nc);
    assert_true(nc >= 3);
    for (int t = 0; t < 3; t++) {
        /* Still there, among the three strongest, with most of their cameras. */
        assert_true(has_cluster_near(off, three_targets[t], 6, 1.5));
        bool found = false;
        for (size_t i = 0; i < 3; i++)
            found = found || (vt_v3_norm(vt_v3_sub(cl[i].centroid, three_targets[t])) < 1.5 &&
                              cl[i].ncameras >= 6);
        if (!found)
            fail_msg("target %d is not among the three strongest clusters", t);
    }
    free(rays);
    vt_vote_free(off);
    vt_vote_free(on);
}

static void shuffle(vt_ray *r, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(vt_test_uniform01() * (double)(i + 1));
        vt_ray t = r[i];
        r[i] = r[j];
        r[j] = t;
    }
}

/* Casts with a thread count and returns a copy of the clusters. */
static vt_cluster *clusters_of(const vt_ray *rays, size_t n, int threads, size_t *nc,
                               vt_vote_stats *st)
{
    vt_vote_opts o = small_opts();
    o.threads = threads;
    vt_vote *v = make_vote(&o);
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    const vt_cluster *cl = vt_vote_clusters(v, nc);
    vt_cluster *copy = malloc((*nc + 1) * sizeof *copy);
    memcpy(copy, cl, *nc * sizeof *copy);
    *st = vt_vote_get_stats(v);
    vt_vote_free(v);
    return copy;
}

static void results_do_not_depend_on_threads_or_ray_order(void **state)
{
    (void)state;
    vt_test_seed(16);
    size_t n;
    vt_ray *rays = rays_at_targets(three_targets, 3, 6, 30, 1e-3, &n);
    size_t n1, n2, n3;
    vt_vote_stats s1, s2, s3;
    vt_cluster *c1 = clusters_of(rays, n, 1, &n1, &s1);
    vt_cluster *c2 = clusters_of(rays, n, 2, &n2, &s2);
    shuffle(rays, n);
    vt_cluster *c3 = clusters_of(rays, n, 2, &n3, &s3);
    assert_true(n1 >= 3);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    assert_memory_equal(c1, c2, n1 * sizeof *c1);
    assert_memory_equal(c1, c3, n1 * sizeof *c1);
    assert_int_equal(s1.steps, s2.steps);
    assert_int_equal(s1.steps, s3.steps);
    assert_memory_equal(s1.cells, s3.cells, sizeof s1.cells);
    assert_memory_equal(s1.rejected, s2.rejected, sizeof s1.rejected);
    assert_memory_equal(s1.rejected, s3.rejected, sizeof s1.rejected);
    free(c1);
    free(c2);
    free(c3);
    free(rays);
}

static void memory_follows_the_rays_not_the_volume(void **state)
{
    (void)state;
    vt_test_seed(17);
    vt_vote_opts o = vt_vote_opts_default(); /* 2 km x 2 km x 500 m */
    o.fine_voxel = 0.25;
    o.threads = 1; /* with more, which thread's lists grow may differ from cast to cast */
    vt_vote *v = make_vote(&o);
    vt_vote_stats st = vt_vote_get_stats(v);
    assert_true(st.bytes < 4096 && st.blocks == 0);
    vt_ray rays[10];
    for (int c = 0; c < 10; c++)
        rays[c] = make_ray(ring_camera(c, 10, 1400, 5), vt_v3(100.1, 200.2, 150.3), 0.0, c, 1.0f);
    assert_int_equal(vt_vote_cast(v, rays, 10), VT_OK);
    st = vt_vote_get_stats(v);
    assert_int_equal(st.levels, 7);
    /* Dense, the finest level alone would be 8000 x 8000 x 2000 voxels. */
    assert_true(st.blocks > 0 && st.blocks < 400);
    assert_true(st.bytes < (8u << 20));
    assert_true(st.peak_bytes >= st.bytes);
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    assert_int_equal(nc, 1);
    assert_int_equal(cl[0].ncameras, 10);
    assert_true(vt_v3_norm(vt_v3_sub(cl[0].centroid, vt_v3(100.1, 200.2, 150.3))) < 0.5);
    /* A second cast reuses the blocks: nothing grows. */
    assert_int_equal(vt_vote_cast(v, rays, 10), VT_OK);
    vt_vote_stats again = vt_vote_get_stats(v);
    assert_int_equal(again.bytes, st.bytes);
    assert_int_equal(again.blocks, st.blocks);
    /* No rays: an empty result. */
    assert_int_equal(vt_vote_cast(v, NULL, 0), VT_OK);
    vt_vote_clusters(v, &nc);
    assert_int_equal(nc, 0);
    vt_vote_free(v);
}

static void expect_bad_opts(vt_vote_opts o, const char *field)
{
    vt_vote *v = (vt_vote *)&o; /* must be reset to NULL */
    assert_int_equal(vt_vote_new(&o, &v), VT_EINVAL);
    assert_null(v);
    if (!strstr(vt_last_error(), field))
        fail_msg("'%s' does not name %s", vt_last_error(), field);
}

static void bad_options_are_refused_naming_the_field(void **state)
{
    (void)state;
    vt_vote_opts o = vt_vote_opts_default();
    o.max.x = o.min.x;
    expect_bad_opts(o, "'max'");
    o = vt_vote_opts_default();
    o.fine_voxel = 20.0;
    expect_bad_opts(o, "'fine_voxel'");
    o = vt_vote_opts_default();
    o.fine_voxel = 0.01; /* 16 / 0.01 needs more than 8 levels */
    expect_bad_opts(o, "'fine_voxel'");
    o = vt_vote_opts_default();
    o.min_cameras = 0;
    expect_bad_opts(o, "'min_cameras'");
    o = vt_vote_opts_default();
    o.coarse_voxel = NAN;
    expect_bad_opts(o, "'coarse_voxel'");
    o = vt_vote_opts_default();
    o.min.y = NAN;
    expect_bad_opts(o, "'min'");
    o = vt_vote_opts_default();
    o.pixel_angle = -1.0;
    expect_bad_opts(o, "'pixel_angle'");
    o = vt_vote_opts_default();
    o.lod_pixels = 0.0;
    expect_bad_opts(o, "'lod_pixels'");
    o = vt_vote_opts_default();
    o.consistency_sigma = -1.0;
    expect_bad_opts(o, "'consistency_sigma'");
    o = vt_vote_opts_default();
    o.consistency_sigma = INFINITY;
    expect_bad_opts(o, "'consistency_sigma'");
    o = vt_vote_opts_default();
    o.consistency_min = NAN;
    expect_bad_opts(o, "'consistency_min'");
    o = vt_vote_opts_default();
    o.max = vt_v3(1e7, 1e7, 1e7); /* more finest voxels per axis than keys hold */
    o.fine_voxel = 0.125;
    expect_bad_opts(o, "'max'");
    assert_int_equal(vt_vote_new(NULL, &(vt_vote *){NULL}), VT_EINVAL);
    vt_vote_free(NULL);
}

static void bad_rays_are_refused(void **state)
{
    (void)state;
    vt_vote_opts o = small_opts();
    vt_vote *v = make_vote(&o);
    vt_ray r[2] = {make_ray(vt_v3(0, -300, 10), vt_v3(0, 0, 50), 0.0, 1, 1.0f),
                   make_ray(vt_v3(300, 0, 10), vt_v3(0, 0, 50), 0.0, 64, 1.0f)};
    assert_int_equal(vt_vote_cast(v, r, 2), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "ray 1"));
    size_t nc = 1;
    vt_vote_clusters(v, &nc);
    assert_int_equal(nc, 0);
    r[1].camera = 63;
    r[1].dir = vt_v3(0, 0, 0);
    assert_int_equal(vt_vote_cast(v, r, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'dir'"));
    r[1].dir = vt_v3(-1, 0, 0);
    r[1].origin.x = NAN;
    assert_int_equal(vt_vote_cast(v, r, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'origin'"));
    r[1].origin.x = 300;
    r[1].weight = -1.0f;
    assert_int_equal(vt_vote_cast(v, r, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'weight'"));
    r[1].weight = 1.0f;
    r[1].sigma = NAN; /* the consistency test needs it */
    assert_int_equal(vt_vote_cast(v, r, 2), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'sigma'"));
    r[1].sigma = 1e-3f;
    assert_int_equal(vt_vote_cast(v, r, 2), VT_OK);
    assert_int_equal(vt_vote_cast(v, NULL, 3), VT_EINVAL);
    vt_vote_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finest_votes_equal_dense_dda),
        cmocka_unit_test(cells_seen_by_fewer_than_k_cameras_are_not_refined),
        cmocka_unit_test(point_seen_by_four_cameras_gives_one_cluster),
        cmocka_unit_test(coarse_blocks_read_out_with_their_votes_and_cameras),
        cmocka_unit_test(three_targets_five_cameras_give_three_strongest_clusters),
        cmocka_unit_test(level_of_detail_stops_refinement_far_from_the_cameras),
        cmocka_unit_test(points_whose_rays_miss_by_two_sigmas_are_kept),
        cmocka_unit_test(consistency_test_removes_ghost_refinement_and_keeps_targets),
        cmocka_unit_test(results_do_not_depend_on_threads_or_ray_order),
        cmocka_unit_test(memory_follows_the_rays_not_the_volume),
        cmocka_unit_test(bad_options_are_refused_naming_the_field),
        cmocka_unit_test(bad_rays_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
