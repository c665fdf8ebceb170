/*
 * bench/bench_grid.c - ray casting into the dense 500^3 grid (the original
 * projector's grid: 6 m voxels centred on (0, 0, 500)).
 *
 * Rays come from four cameras on a 1.2 km ring aimed at the grid centre,
 * through seeded random pixels of a 1280x720, 60 degree image: the geometry
 * of `voxtrack project`. Prints rays/s and voxel-steps/s on one thread (cold:
 * bricks allocated as rays arrive; warm: bricks already there) and on all
 * threads (one private grid per thread, then added into one).
 *
 * Usage: bench_grid [RAYS]   (default 200000)
 */
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"
#include "voxtrack/voxtrack.h"

typedef struct ray {
    vt_vec3 o, d;
    int key[4]; /* camera, frame, v, u: the order `project` casts in */
} ray;

static int cmp_key(const void *a, const void *b)
{
    const int *x = ((const ray *)a)->key, *y = ((const ray *)b)->key;
    for (int i = 0; i < 4; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/*
 * Coherent rays: the changed pixels of a moving object, a disc of pixels
 * around the dot's projection in each camera and frame (what `project` casts).
 * Incoherent rays: uniformly random pixels of the whole image (worst case:
 * every ray lands in other bricks).
 */
static ray *make_rays(int n, bool coherent)
{
    ray *r = malloc((size_t)n * sizeof *r);
    vt_dotscene_opts so = vt_dotscene_opts_default();
    so.cameras = 4;
    vt_camera cams[4];
    for (int c = 0; c < 4; c++) {
        vt_vec3 pos;
        double yaw, pitch, roll;
        vt_dotscene_camera(&so, c, &pos, &yaw, &pitch, &roll);
        vt_camera_from_ypr(1280, 720, 60.0, yaw, pitch, roll, pos, &cams[c]);
    }
    uint64_t s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        /* Grouped as `project` casts them: camera by camera, frame by frame. */
        int c = coherent ? i / ((n + 3) / 4) : i % 4;
        double u = (double)((s >> 20) % 1280), v = (double)((s >> 40) % 720);
        if (coherent) {
            /* A disc of radius 12 px around the dot at one of 8 frames. */
            double cu, cv;
            int frame = (int)((long long)(i % ((n + 3) / 4)) * 8 / ((n + 3) / 4));
            vt_camera_world_to_pixel(&cams[c], vt_dotscene_position(&so, frame), &cu, &cv);
            r[i].key[1] = frame;
            double a = (double)((s >> 24) % 1000) * (2 * VT_PI / 1000),
                   rad = 12.0 * sqrt((double)((s >> 34) % 1000) / 1000.0);
            u = floor(cu + rad * cos(a));
            v = floor(cv + rad * sin(a));
        }
        r[i].key[0] = c;
        r[i].key[2] = (int)v;
        r[i].key[3] = (int)u;
        if (!coherent)
            r[i].key[1] = 0;
        vt_camera_pixel_to_ray(&cams[c], u, v, &r[i].o, &r[i].d);
    }
    /* Changed pixels reach the caster in raster order, frame by frame, camera by camera. */
    if (coherent)
        qsort(r, (size_t)n, sizeof *r, cmp_key);
    return r;
}

static uint64_t cast_all(vt_grid *g, const ray *r, int from, int to)
{
    uint64_t total = 0, steps;
    for (int i = from; i < to; i++) {
        vt_grid_cast(g, r[i].o, r[i].d, 65536, &steps);
        total += steps;
    }
    return total;
}

static void run(int n, bool coherent)
{
    ray *rays = make_rays(n, coherent);
    vt_grid_opts go = vt_grid_opts_default();
    vt_grid *g;
    if (vt_grid_new(&go, &g)) {
        fprintf(stderr, "bench_grid: %s\n", vt_last_error());
        exit(1);
    }
    printf("%s rays: %d rays into a %dx%dx%d grid of %.0f m voxels\n",
           coherent ? "coherent (moving-object pixels)" : "incoherent (random pixels)", n, go.nx,
           go.ny, go.nz, go.voxel_size);

    double t0 = vt__now();
    uint64_t steps = cast_all(g, rays, 0, n);
    double cold = vt__now() - t0;
    /* The machine is shared: take the best of five warm runs. */
    double warm = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        t0 = vt__now();
        cast_all(g, rays, 0, n);
        double t = vt__now() - t0;
        warm = t < warm ? t : warm;
    }
    printf("  steps per ray            %.1f\n", (double)steps / n);
    printf("  bricks touched           %zu (%.1f MiB)\n", vt_grid_brick_count(g),
           vt_grid_bytes(g) / 1048576.0);
    printf("  1 thread, cold grid      %10.3g rays/s  %10.3g voxel-steps/s\n", n / cold,
           steps / cold);
    printf("  1 thread, warm (best of 5) %10.3g rays/s  %10.3g voxel-steps/s\n", n / warm,
           steps / warm);

    int threads = omp_get_max_threads();
    vt_grid **priv = calloc((size_t)threads, sizeof *priv);
    for (int t = 0; t < threads; t++)
        vt_grid_new(&go, &priv[t]);
    vt_grid *sum;
    vt_grid_new(&go, &sum);
    t0 = vt__now();
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num();
        int from = (int)((long long)n * t / threads), to = (int)((long long)n * (t + 1) / threads);
        cast_all(priv[t], rays, from, to);
    }
    double par = vt__now() - t0;
    for (int t = 0; t < threads; t++)
        vt_grid_add(sum, priv[t]);
    double par_merged = vt__now() - t0;
    double par_warm = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        t0 = vt__now();
#pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num();
            int from = (int)((long long)n * t / threads),
                to = (int)((long long)n * (t + 1) / threads);
            cast_all(priv[t], rays, from, to);
        }
        double t = vt__now() - t0;
        par_warm = t < par_warm ? t : par_warm;
    }
    printf("  %d threads, cold grids   %10.3g rays/s  %10.3g voxel-steps/s\n", threads, n / par,
           steps / par);
    printf("  %d threads, warm (best of 5)%10.3g rays/s  %10.3g voxel-steps/s\n", threads,
           n / par_warm, steps / par_warm);
    printf("  %d threads, incl. merge  %10.3g rays/s  %10.3g voxel-steps/s\n", threads,
           n / par_merged, steps / par_merged);

    for (int t = 0; t < threads; t++)
        vt_grid_free(priv[t]);
    free(priv);
    vt_grid_free(sum);
    vt_grid_free(g);
    free(rays);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_grid [RAYS]\n");
        return 2;
    }
    run(n, true);
    run(n, false);
    printf(
        "reference: the original projector casts ~1.0e8 voxel-steps/s (issue #2, 2-core EPYC)\n");
    return 0;
}
