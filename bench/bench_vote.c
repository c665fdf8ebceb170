/*
 * bench/bench_vote.c - sparse coarse-to-fine voting on a default-like scene.
 *
 * 20 cameras stand on the edge of a 2 km x 2 km area, 10 m up; 250 targets
 * fly over it at 40-300 m. Every camera sees every target: one ray per
 * target per camera (5000 rays of up to ~3 km) with 1-pixel Gaussian
 * angular noise (0.6 mrad), plus 500 clutter rays in random directions. The
 * grid is the default box (2 km x 2 km x 500 m) at 16 m coarse / 0.25 m
 * fine, K = 3, level of detail at 2 pixels of 0.6 mrad.
 *
 * Runs with the consistency test (defaults) on 1 thread and on 2, without it
 * (consistency_sigma 0: the refinement before the test) and without the level
 * of detail. Prints: ms per cast (the first, cold one, and the
 * best of the warm ones, wall and process CPU time: the machine is shared), rays/s and
 * voxel-steps/s of the whole voting (all levels and the clusters), the time of each phase, the
 * levels, the cells with >= K cameras and those the consistency test turned down, blocks and
 * bytes, and the clusters - how many targets have one of the strongest 250 / 400 / all clusters
 * within 2 m of them.
 *
 * Usage: bench_vote [TARGETS] [CAMERAS]   (default 250 20)
 *        bench_vote --rays FILE [ROUNDS [THREADS]]   (default 5 rounds, 1 and 2 threads)
 *
 * With --rays, the rays are those of a real scene recorded by
 * `bench_pipeline PRESET SETS --save-rays FILE`, cast frame set after frame
 * set with the pipeline's vote options on 1 thread and on 2; the figures are
 * the best of ROUNDS passes over all the sets, with a checksum of the
 * clusters so that two builds can be checked to give the same result.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rays.h"
#include "core/internal.h"
#include "voxtrack/voxtrack.h"

#define PIXEL_ANGLE 0.6e-3
#define CLUTTER 500
#define WARM_RUNS 7

static uint64_t rng = 0x1234567ull;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU seconds of the whole process (all threads): steadier than wall time on a shared machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double uniform01(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double gauss(void)
{
    double u = uniform01(), w = uniform01();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * VT_PI * w);
}

/* Camera c of n spread along the edge of the 2 km square, 10 m up. */
static vt_vec3 camera_at(int c, int n)
{
    double s = 8000.0 * (c + 0.5) / n; /* distance along the perimeter */
    int side = (int)(s / 2000.0);
    double a = fmod(s, 2000.0) - 1000.0;
    switch (side) {
    case 0:
        return vt_v3(a, -1000.0, 10.0);
    case 1:
        return vt_v3(1000.0, a, 10.0);
    case 2:
        return vt_v3(-a, 1000.0, 10.0);
    default:
        return vt_v3(-1000.0, -a, 10.0);
    }
}

static vt_ray ray_to(vt_vec3 o, vt_vec3 dir, int cam, uint32_t blob)
{
    vt_ray r;
    memset(&r, 0, sizeof r);
    r.origin = o;
    r.dir = vt_v3_normalize(dir);
    r.weight = (float)(20.0 + 80.0 * uniform01());
    r.sigma = (float)PIXEL_ANGLE;
    r.camera = (uint16_t)cam;
    r.blob = blob;
    return r;
}

static vt_ray *make_scene(int ntarget, int ncam, vt_vec3 *targets, size_t *count)
{
    for (int t = 0; t < ntarget; t++)
        targets[t] = vt_v3(-900.0 + 1800.0 * uniform01(), -900.0 + 1800.0 * uniform01(),
                           40.0 + 260.0 * uniform01());
    size_t n = (size_t)ntarget * ncam + CLUTTER, i = 0;
    vt_ray *r = malloc(n * sizeof *r);
    for (int c = 0; c < ncam; c++) {
        vt_vec3 o = camera_at(c, ncam);
        for (int t = 0; t < ntarget; t++) {
            vt_vec3 d = vt_v3_normalize(vt_v3_sub(targets[t], o));
            d = vt_v3_add(
                d, vt_v3(PIXEL_ANGLE * gauss(), PIXEL_ANGLE * gauss(), PIXEL_ANGLE * gauss()));
            r[i] = ray_to(o, d, c, (uint32_t)t);
            i++;
        }
    }
    for (int k = 0; k < CLUTTER; k++) {
        int c = (int)(uniform01() * ncam);
        vt_vec3 aim = vt_v3(-1000.0 + 2000.0 * uniform01(), -1000.0 + 2000.0 * uniform01(),
                            20.0 + 480.0 * uniform01());
        r[i++] = ray_to(camera_at(c, ncam), vt_v3_sub(aim, camera_at(c, ncam)), c, 100000u + k);
    }
    *count = n;
    return r;
}

/* Targets with one of the strongest `top` clusters within 2 m. */
static int targets_found(const vt_cluster *cl, size_t nc, size_t top, const vt_vec3 *targets,
                         int ntarget)
{
    int found = 0;
    for (int t = 0; t < ntarget; t++)
        for (size_t i = 0; i < nc && i < top; i++)
            if (vt_v3_norm(vt_v3_sub(cl[i].centroid, targets[t])) < 2.0) {
                found++;
                break;
            }
    return found;
}

static void run(const vt_ray *rays, size_t n, const vt_vec3 *targets, int ntarget, int threads,
                double pixel_angle, double consistency_sigma)
{
    vt_vote_opts o = vt_vote_opts_default();
    o.consistency_sigma = consistency_sigma;
    o.fine_voxel = 0.25;
    o.pixel_angle = pixel_angle;
    o.threads = threads;
    vt_vote *v;
    if (vt_vote_new(&o, &v)) {
        fprintf(stderr, "bench_vote: %s\n", vt_last_error());
        exit(1);
    }
    double t0 = vt__now();
    if (vt_vote_cast(v, rays, n)) {
        fprintf(stderr, "bench_vote: %s\n", vt_last_error());
        exit(1);
    }
    double cold = vt__now() - t0, warm = 1e30, cpu = 1e30;
    for (int k = 0; k < WARM_RUNS; k++) {
        t0 = vt__now();
        double c0 = cpu_now();
        vt_vote_cast(v, rays, n);
        double t = vt__now() - t0, c = cpu_now() - c0;
        warm = t < warm ? t : warm;
        cpu = c < cpu ? c : cpu;
    }
    vt_vote_stats st = vt_vote_get_stats(v);
    size_t nc;
    const vt_cluster *cl = vt_vote_clusters(v, &nc);
    printf("threads %d, pixel_angle %.2g rad (level of detail %s), consistency_sigma %g%s\n",
           threads, pixel_angle, pixel_angle > 0 ? "on" : "off: finest everywhere",
           consistency_sigma, consistency_sigma > 0 ? "" : " (test off: the old refinement)");
    printf("  ms per cast              %.2f wall, %.2f CPU (first, cold: %.2f wall)\n", warm * 1e3,
           cpu * 1e3, cold * 1e3);
    printf("  ms per phase (last cast) pass 0 %.2f, coarse choice + ray lists %.2f, finer levels "
           "%.2f, clusters %.2f\n",
           st.ms[0], st.ms[1], st.ms[2], st.ms[3]);
    printf("  rays/s                   %.3g\n", (double)n / warm);
    printf("  voxel-steps/s            %.3g (%.0f steps per ray, all levels)\n",
           (double)st.steps / warm, (double)st.steps / (double)n);
    printf("  levels used              %d\n", st.levels);
    printf("  cells with >= K cameras ");
    for (int l = 0; l < st.levels; l++)
        printf(" %zu", st.cells[l]);
    printf("\n  rejected by consistency ");
    for (int l = 0; l < st.levels; l++)
        printf(" %zu", st.rejected[l]);
    printf("\n  blocks                   %zu\n", st.blocks);
    printf("  MiB now / peak           %.1f / %.1f\n", st.bytes / 1048576.0,
           st.peak_bytes / 1048576.0);
    printf("  clusters                 %zu (%zu dropped)\n", st.clusters, st.clusters_dropped);
    printf("  targets within 2 m of one of the strongest 250 / 400 / all clusters: %d / %d / %d of "
           "%d\n",
           targets_found(cl, nc, 250, targets, ntarget),
           targets_found(cl, nc, 400, targets, ntarget),
           targets_found(cl, nc, nc, targets, ntarget), ntarget);
    vt_vote_free(v);
}

/* FNV-1a over the clusters' values: equal when two casts give the same clusters. */
static uint64_t cluster_hash(uint64_t h, const vt_cluster *cl, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double d[4] = {cl[i].centroid.x, cl[i].centroid.y, cl[i].centroid.z,
                             cl[i].voxel_size};
        const uint64_t u[4] = {cl[i].weight, cl[i].cameras, (uint64_t)cl[i].voxels, n};
        const unsigned char *b[2] = {(const unsigned char *)d, (const unsigned char *)u};
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < 32; j++)
                h = (h ^ b[k][j]) * 0x100000001b3ull;
    }
    return h;
}

/* Casts every recorded set on `threads` threads, best of `rounds` passes. */
static void run_recorded(const bench_ray_sets *b, int threads, int rounds)
{
    vt_vote_opts o = b->opts;
    o.threads = threads;
    vt_vote *v;
    if (vt_vote_new(&o, &v)) {
        fprintf(stderr, "bench_vote: %s\n", vt_last_error());
        exit(1);
    }
    double best = 1e30, best_cpu = 1e30, ms[4] = {0}, *lat = calloc((size_t)b->nsets, sizeof *lat);
    size_t rays = 0, clusters = 0, cells[8] = {0}, rejected[8] = {0};
    uint64_t steps = 0, hash = 0;
    int levels = 0;
    for (int round = 0; round < rounds; round++) {
        double total = 0.0, c0 = cpu_now(), phase[4] = {0};
        size_t nr = 0, ncl = 0;
        uint64_t ns = 0, h = 0xcbf29ce484222325ull;
        for (int64_t i = 0; i < b->nsets; i++) {
            double t0 = vt__now();
            if (vt_vote_cast(v, b->rays[i], b->counts[i])) {
                fprintf(stderr, "bench_vote: set %lld: %s\n", (long long)i, vt_last_error());
                exit(1);
            }
            double t = vt__now() - t0;
            total += t;
            if (round == 0 || t < lat[i])
                lat[i] = t;
            vt_vote_stats st = vt_vote_get_stats(v);
            for (int k = 0; k < 4; k++)
                phase[k] += st.ms[k];
            size_t nc;
            const vt_cluster *cl = vt_vote_clusters(v, &nc);
            h = cluster_hash(h, cl, nc);
            nr += b->counts[i];
            ncl += nc;
            ns += st.steps;
            if (round == 0) {
                for (int l = 0; l < st.levels; l++) {
                    cells[l] += st.cells[l];
                    rejected[l] += st.rejected[l];
                }
                levels = st.levels > levels ? st.levels : levels;
            }
        }
        double cpu = cpu_now() - c0;
        if (round > 0 && hash != h) {
            fprintf(stderr, "bench_vote: round %d gave other clusters\n", round);
            exit(1);
        }
        hash = h;
        rays = nr;
        clusters = ncl;
        steps = ns;
        if (total < best) {
            best = total;
            memcpy(ms, phase, sizeof ms);
        }
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
    }
    qsort(lat, (size_t)b->nsets, sizeof *lat, by_value);
    double m = (double)b->nsets;
    printf("threads %d: %.2f ms per set (%.2f CPU), p50 %.2f, p99 %.2f ms; %.3g rays/s\n", threads,
           1e3 * best / m, 1e3 * best_cpu / m, 1e3 * lat[b->nsets / 2],
           1e3 * lat[(size_t)(0.99 * (m - 1))], (double)rays / best);
    printf(
        "  ms per set and phase: pass 0 %.2f, coarse choice + ray lists %.2f, finer levels %.2f, "
        "clusters %.2f\n",
        ms[0] / m, ms[1] / m, ms[2] / m, ms[3] / m);
    printf("  per set: %.0f rays, %.0f steps per ray, %.0f clusters; cluster checksum %016llx\n",
           (double)rays / m, rays ? (double)steps / (double)rays : 0.0, (double)clusters / m,
           (unsigned long long)hash);
    printf("  per set and level: cells with >= K cameras");
    for (int l = 0; l < levels; l++)
        printf(" %.0f", (double)cells[l] / m);
    printf("; rejected by consistency");
    for (int l = 0; l < levels; l++)
        printf(" %.0f", (double)rejected[l] / m);
    printf("\n");
    free(lat);
    vt_vote_free(v);
}

static int main_recorded(const char *path, int rounds, int threads)
{
    bench_ray_sets b;
    if (!bench_rays_load(&b, path))
        return 1;
    size_t total = 0;
    for (int64_t i = 0; i < b.nsets; i++)
        total += b.counts[i];
    printf("bench_vote: %lld recorded frame sets from %s, %.0f rays per set; %.3g m coarse / "
           "%.3g m fine, K = %d, pixel angle %.3g rad\n",
           (long long)b.nsets, path, (double)total / (double)(b.nsets ? b.nsets : 1),
           b.opts.coarse_voxel, b.opts.fine_voxel, b.opts.min_cameras, b.opts.pixel_angle);
    if (threads > 0) {
        run_recorded(&b, threads, rounds);
    } else {
        run_recorded(&b, 1, rounds);
        run_recorded(&b, 2, rounds);
    }
    bench_rays_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--rays") == 0)
        return main_recorded(argv[2], argc > 3 ? atoi(argv[3]) : 5, argc > 4 ? atoi(argv[4]) : 0);
    int ntarget = argc > 1 ? atoi(argv[1]) : 250, ncam = argc > 2 ? atoi(argv[2]) : 20;
    if (ntarget < 1 || ncam < 1 || ncam > 64) {
        fprintf(stderr, "usage: bench_vote [TARGETS] [CAMERAS (1..64)]\n");
        return 2;
    }
    vt_vec3 *targets = malloc((size_t)ntarget * sizeof *targets);
    size_t n;
    vt_ray *rays = make_scene(ntarget, ncam, targets, &n);
    printf("bench_vote: %d cameras, %d targets, %zu rays (%d clutter) in a 2 km x 2 km x 500 m "
           "box, 16 m coarse / 0.25 m fine, K = 3\n",
           ncam, ntarget, n, CLUTTER);
    const double cs = vt_vote_opts_default().consistency_sigma;
    run(rays, n, targets, ntarget, 1, PIXEL_ANGLE, cs);
    run(rays, n, targets, ntarget, 2, PIXEL_ANGLE, cs);
    run(rays, n, targets, ntarget, 1, PIXEL_ANGLE, 0.0);
    run(rays, n, targets, ntarget, 1, 0.0, cs);
    free(rays);
    free(targets);
    return 0;
}
