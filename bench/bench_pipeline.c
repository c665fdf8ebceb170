/*
 * bench/bench_pipeline.c - the tracker alone, frames already in memory: a
 * preset's frame sets are rendered first, then run through the pipeline
 * (motion, blobs, rays, voting, detection, tracking) on one thread and on
 * all threads. Prints frame sets/s, per-set latency (p50, p99), the mean
 * time of each stage, what each stage handled, the sparse grid's peak and
 * the memory bandwidth measured in the same run (a copy of one frame set).
 *
 * Then the loop as `voxtrack run` drives it (vt_pipeline_run, all threads),
 * its producer copying each frame set into the loop's slots as a frame
 * grabber would: with and without stage overlap, as fast as it goes
 * (frame sets/s of wall time, the CPU utilisation of the cores) and paced
 * at the scene's frame rate (the latency a live rig sees: from the set's
 * last frame handed over to its tracks).
 *
 *   bench_pipeline [PRESET [FRAME_SETS]] [--save-rays FILE]   (default: default 40)
 *
 * --save-rays writes each frame set's rays (of the 1-thread run) and the vote
 * options to FILE, for `bench_vote --rays FILE` (bench_rays.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <omp.h>

#include "bench_rays.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"
#include "voxtrack/voxtrack.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, vt_status s)
{
    fprintf(stderr, "bench_pipeline: %s: %s\n", what,
            vt_last_error()[0] ? vt_last_error() : vt_strerror(s));
    exit(1);
}

/* Renders sets x cameras frames into memory; present[] marks delivered frames. */
static vt_image *render_all(const vt_scenario *sc, int64_t sets, bool *present, size_t *bytes)
{
    const vt_rig *rig = vt_scenario_rig(sc);
    int cams = rig->count;
    vt_render_opts ro = vt_scenario_render_opts(sc);
    ro.threads = 1;
    vt_renderer *r = NULL;
    vt_status s = vt_renderer_new(&ro, rig, &r);
    if (s)
        die("renderer", s);
    size_t nt = vt_scenario_target_count(sc);
    vt_image *imgs = calloc((size_t)(sets * cams), sizeof *imgs);
    vt_render_target *tg = malloc((size_t)cams * (nt ? nt : 1) * sizeof *tg);
    if (!imgs || !tg)
        die("memory", VT_ENOMEM);
    *bytes = 0;
    for (int64_t n = 0; n < sets; n++) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int c = 0; c < cams; c++) {
            double t;
            present[n * cams + c] = vt_scenario_frame_time(sc, c, n, &t);
            if (!present[n * cams + c])
                continue;
            vt_scenario_targets(sc, t, tg + (size_t)c * nt, NULL);
            if (vt_renderer_draw(r, c, n, t, tg + (size_t)c * nt, nt, &imgs[n * cams + c]))
                present[n * cams + c] = false;
        }
        for (int c = 0; c < cams; c++)
            if (present[n * cams + c])
                *bytes += imgs[n * cams + c].stride * (size_t)imgs[n * cams + c].height;
    }
    free(tg);
    vt_renderer_free(r);
    return imgs;
}

/* Copy bandwidth over one frame set's bytes, GB/s (best of 5). */
static double copy_bandwidth(const vt_image *imgs, int cams)
{
    size_t total = 0;
    for (int c = 0; c < cams; c++)
        total += imgs[c].stride * (size_t)imgs[c].height;
    char *dst = malloc(total);
    if (!dst)
        return 0.0;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = vt__now();
        size_t at = 0;
        for (int c = 0; c < cams; c++) {
            size_t n = imgs[c].stride * (size_t)imgs[c].height;
            memcpy(dst + at, imgs[c].data, n);
            at += n;
        }
        double dt = vt__now() - t0;
        if (dt < best)
            best = dt;
    }
    free(dst);
    return (double)total / best / 1e9;
}

/* Adds the rays of the last frame set, joined in camera order as the vote stage joins them. */
static int record_rays(bench_ray_sets *record, const vt_pipeline *p, int cams, const vt_vote *vote)
{
    const vt_camera_rays *cr = vt__pipeline_camera_rays(p);
    size_t n = 0;
    for (int c = 0; c < cams; c++)
        n += cr[c].nrays;
    vt_ray *all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return 0;
    n = 0;
    for (int c = 0; c < cams; c++)
        for (size_t k = 0; k < cr[c].nrays; k++)
            all[n++] = cr[c].rays[k];
    record->opts = vt_vote_get_opts(vote);
    int ok = bench_rays_add(record, all, n);
    free(all);
    return ok;
}

static void run(const vt_scenario *sc, const vt_image *imgs, const bool *present, int64_t sets,
                int threads, bench_ray_sets *record)
{
    const vt_rig *rig = vt_scenario_rig(sc);
    int cams = rig->count;
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(sc, &o.volume_min, &o.volume_max);
    o.threads = threads;
    omp_set_num_threads(threads);
    vt_pipeline *p = NULL;
    vt_status s = vt_pipeline_new(&o, rig, &p);
    if (s)
        die("pipeline", s);
    const vt_image **ptrs = calloc((size_t)cams, sizeof *ptrs);
    double *lat = calloc((size_t)sets, sizeof *lat);
    double stage[4] = {0}, total = 0;
    size_t changes = 0, blobs = 0, rays = 0, clusters = 0, dets = 0, tracks = 0;
    for (int64_t n = 0; n < sets; n++) {
        for (int c = 0; c < cams; c++)
            ptrs[c] = present[n * cams + c] ? &imgs[n * cams + c] : NULL;
        vt_frame_set fs = {.frame = n, .t = (double)n / vt_scenario_fps(sc), .images = ptrs};
        vt_pipeline_result res;
        s = vt_pipeline_process(p, &fs, &res);
        if (s)
            die("process", s);
        lat[n] = res.seconds;
        if (record && !record_rays(record, p, cams, res.vote))
            die("memory", VT_ENOMEM);
        if (n == 0)
            continue; /* the first set only initialises the background models */
        total += res.seconds;
        for (int k = 0; k < 4; k++)
            stage[k] += res.stage_seconds[k];
        changes += res.changes;
        blobs += res.blobs;
        rays += res.rays;
        clusters += res.clusters;
        dets += res.ndetections;
        tracks = res.ntracks;
    }
    int64_t m = sets - 1;
    qsort(lat + 1, (size_t)m, sizeof *lat, by_value);
    printf("threads %d: %.1f frame sets/s, latency p50 %.1f ms, p99 %.1f ms\n", threads,
           (double)m / total, 1e3 * lat[1 + m / 2],
           1e3 * lat[1 + (size_t)(0.99 * (double)(m - 1))]);
    printf("  stages (ms per set): motion+blobs+rays %.2f, voting %.2f, detection %.2f, "
           "tracking %.2f\n",
           1e3 * stage[0] / m, 1e3 * stage[1] / m, 1e3 * stage[2] / m, 1e3 * stage[3] / m);
    printf("  per set: %.0f changed pixels, %.0f blobs, %.0f rays, %.0f clusters, %.0f "
           "detections; %zu live tracks at the end; grid peak %.1f MiB\n",
           (double)changes / m, (double)blobs / m, (double)rays / m, (double)clusters / m,
           (double)dets / m, tracks, vt_pipeline_grid_peak_bytes(p) / 1048576.0);
    free(ptrs);
    free(lat);
    vt_pipeline_free(p);
}

/* The loop's producer and consumer: frames from memory, latencies kept. */
typedef struct loop {
    const vt_image *imgs;
    const bool *present;
    int cams;
    int64_t sets, next;
    double fps, start; /* paced: set n is handed over no earlier than start + n / fps */
    bool paced;
    double *lat;
    int64_t got;
} loop;

static void sleep_until(double t)
{
    double dt = t - vt__now();
    if (dt <= 0)
        return;
    struct timespec ts = {(time_t)dt, (long)((dt - (double)(time_t)dt) * 1e9)};
    nanosleep(&ts, NULL);
}

static vt_status loop_produce(void *user, vt_frame_slot *slot, bool *end)
{
    loop *l = user;
    if (l->next == l->sets) {
        *end = true;
        return VT_OK;
    }
    int64_t n = l->next++;
    if (l->paced)
        sleep_until(l->start + (double)n / l->fps);
    slot->frame = n;
    slot->t = (double)n / l->fps;
    for (int c = 0; c < l->cams; c++) {
        const vt_image *src = &l->imgs[n * l->cams + c];
        if (!l->present[n * l->cams + c])
            continue;
        vt_image *dst = &slot->images[c];
        if (!dst->data || dst->stride != src->stride || dst->height != src->height) {
            vt_image_free(dst);
            vt_status s = vt_image_alloc(dst, src->width, src->height, src->bits);
            if (s)
                return s;
        }
        memcpy(dst->data, src->data, src->stride * (size_t)src->height);
        slot->present[c] = true;
    }
    return VT_OK;
}

static vt_status loop_consume(void *user, const vt_pipeline_result *r)
{
    loop *l = user;
    l->lat[l->got++] = r->latency;
    return VT_OK;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void run_loop(const vt_scenario *sc, const vt_image *imgs, const bool *present, int64_t sets,
                     int threads, bool overlap, bool paced)
{
    const vt_rig *rig = vt_scenario_rig(sc);
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(sc, &o.volume_min, &o.volume_max);
    o.threads = threads;
    o.overlap = overlap;
    omp_set_num_threads(threads);
    vt_pipeline *p = NULL;
    vt_status s = vt_pipeline_new(&o, rig, &p);
    if (s)
        die("pipeline", s);
    loop l = {.imgs = imgs,
              .present = present,
              .cams = rig->count,
              .sets = sets,
              .fps = vt_scenario_fps(sc),
              .paced = paced,
              .lat = calloc((size_t)sets, sizeof(double))};
    if (!l.lat)
        die("memory", VT_ENOMEM);
    double c0 = cpu_seconds(), t0 = vt__now();
    l.start = t0;
    s = vt_pipeline_run(p, 2, loop_produce, &l, loop_consume, &l);
    double wall = vt__now() - t0, cpu = cpu_seconds() - c0;
    if (s)
        die("run", s);
    int64_t m = l.got - 1; /* the first set only initialises the background models */
    qsort(l.lat + 1, (size_t)m, sizeof *l.lat, by_value);
    printf("loop, threads %d, overlap %s, %s: %.1f frame sets/s of wall time, latency p50 %.1f "
           "ms, p99 %.1f ms, CPU %.0f%% of %d cores\n",
           threads, overlap ? "on " : "off", paced ? "paced at the scene's fps" : "unpaced",
           (double)l.got / wall, 1e3 * l.lat[1 + m / 2],
           1e3 * l.lat[1 + (size_t)(0.99 * (double)(m - 1))],
           100.0 * cpu / wall / omp_get_num_procs(), omp_get_num_procs());
    free(l.lat);
    vt_pipeline_free(p);
}

int main(int argc, char **argv)
{
    const char *save = NULL;
    if (argc > 2 && strcmp(argv[argc - 2], "--save-rays") == 0) {
        save = argv[argc - 1];
        argc -= 2;
    }
    const char *preset = argc > 1 ? argv[1] : "default";
    int64_t sets = argc > 2 ? atoll(argv[2]) : 40;
    if (sets < 2) {
        fprintf(stderr, "bench_pipeline: at least 2 frame sets\n");
        return 1;
    }
    vt_scenario *sc = NULL;
    vt_status s = vt_scenario_preset(preset, &sc);
    if (!s)
        s = vt_scenario_set_frames(sc, sets);
    if (s)
        die(preset, s);
    const vt_rig *rig = vt_scenario_rig(sc);
    bool *present = calloc((size_t)(sets * rig->count), sizeof *present);
    size_t bytes = 0;
    double t0 = vt__now();
    vt_image *imgs = render_all(sc, sets, present, &bytes);
    printf("preset %s: %d cameras, %zu targets, %lld frame sets rendered in %.1f s (%.0f MiB)\n",
           preset, rig->count, vt_scenario_target_count(sc), (long long)sets, vt__now() - t0,
           bytes / 1048576.0);
    printf("copy bandwidth over one frame set: %.1f GB/s\n", copy_bandwidth(imgs, rig->count));
    int all = omp_get_num_procs();
    bench_ray_sets record = {0};
    run(sc, imgs, present, sets, 1, save ? &record : NULL);
    if (save) {
        if (!bench_rays_save(&record, save))
            die(save, VT_EIO);
        printf("rays of %lld frame sets written to %s\n", (long long)record.nsets, save);
        bench_rays_free(&record);
    }
    if (all > 1)
        run(sc, imgs, present, sets, all, NULL);
    for (int paced = 0; paced < 2; paced++)
        for (int overlap = 0; overlap < 2; overlap++)
            run_loop(sc, imgs, present, sets, all, overlap, paced);
    for (int64_t i = 0; i < sets * rig->count; i++)
        vt_image_free(&imgs[i]);
    free(imgs);
    free(present);
    vt_scenario_free(sc);
    return 0;
}
