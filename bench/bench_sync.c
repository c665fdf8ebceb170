/*
 * bench/bench_sync.c - what grouping frames into frame sets by capture time
 * costs (vt_sync_next), per frame set, for 20 cameras.
 *
 * The cameras are fake sources (a backend behind vt__source_wrap) that
 * deliver tiny 4x4 frames at n / fps plus a per-camera clock offset and
 * seeded Gaussian jitter, some with random drops, so that the figure is the
 * sync's own bookkeeping and not decoding. For reference the program also
 * reads the same frames straight from the same sources, without sync; the
 * difference is the sync's overhead per frame set.
 *
 * Then the parallel reads: frame sets per second with read_threads 1
 * against the default (the cameras capped at the cores), on sources that
 * cost time: fake cameras that compute ~5 ms per frame, and the simulator's
 * sources of the `small` preset (6 cameras rendered in full).
 *
 * Usage: bench_sync [SETS]   (default 20000). Prints figures; never fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/simulate.h"
#include "voxtrack/sync.h"

enum { CAMS = 20 };
static const double FPS = 30.0;

typedef struct fake {
    int camera;
    int64_t next, count;
    double offset, jitter, drop;
    int64_t work; /* iterations of busy arithmetic per frame (a camera that costs time) */
} fake;

static volatile double sink;

/* Arithmetic that the compiler cannot drop: a decoder's stand-in. */
static void busy(int64_t iterations)
{
    double x = 1.0;
    for (int64_t i = 0; i < iterations; i++)
        x = x * 1.0000001 + 1e-9;
    sink = x;
}

static double unit(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (double)(x >> 11) * 0x1.0p-53;
}

static vt_status fake_read(void *state, vt_image *img, int64_t *frame, double *t, bool *end)
{
    fake *f = state;
    uint64_t key = (uint64_t)f->camera << 40;
    while (f->next < f->count && unit(key ^ (uint64_t)f->next ^ 0xD00Dull << 48) < f->drop)
        f->next++;
    if (f->next >= f->count) {
        *end = true;
        return VT_OK;
    }
    vt_status st = vt__image_reshape(img, 4, 4, 8);
    if (st)
        return st;
    double u1 = unit(key ^ (uint64_t)f->next), u2 = unit(key ^ (uint64_t)f->next ^ 1ull << 39);
    double g = sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
    if (f->work)
        busy(f->work);
    *frame = f->next;
    *t = (double)f->next / FPS + f->offset + f->jitter * fmax(-4.0, fmin(4.0, g));
    f->next++;
    return VT_OK;
}

static void fake_free(void *state)
{
    free(state);
}

static const vt__source_backend fake_backend = {
    .name = "fake", .read = fake_read, .free = fake_free};

static void open_fakes(vt_source **src, int64_t sets, double jitter, double drop, int64_t work)
{
    for (int c = 0; c < CAMS; c++) {
        fake *f = calloc(1, sizeof *f);
        if (!f) {
            fprintf(stderr, "bench_sync: out of memory\n");
            exit(1);
        }
        *f = (fake){.camera = c,
                    .count = sets,
                    .offset = 0.002 * (2.0 * unit((uint64_t)c * 77) - 1.0),
                    .jitter = jitter,
                    .drop = drop,
                    .work = work};
        if (vt__source_wrap(&fake_backend, f, "fake", &src[c])) {
            fprintf(stderr, "bench_sync: %s\n", vt_last_error());
            exit(1);
        }
    }
}

/* Seconds per frame set reading the sources straight, without sync. */
static double bench_reads(int64_t sets, double jitter, double drop)
{
    vt_source *src[CAMS];
    vt_image img[CAMS];
    memset(img, 0, sizeof img);
    open_fakes(src, sets, jitter, drop, 0);
    double start = vt__now();
    for (int64_t k = 0; k < sets; k++)
        for (int c = 0; c < CAMS; c++) {
            int64_t frame;
            double t;
            bool end = false;
            vt_source_read(src[c], &img[c], &frame, &t, &end);
        }
    double s = (vt__now() - start) / (double)sets;
    for (int c = 0; c < CAMS; c++) {
        vt_source_free(src[c]);
        vt_image_free(&img[c]);
    }
    return s;
}

static void bench_case(const char *name, int64_t sets, double jitter, double drop, int reorder,
                       int read_threads)
{
    vt_source *src[CAMS];
    vt_image img[CAMS];
    bool present[CAMS];
    double times[CAMS];
    memset(img, 0, sizeof img);
    open_fakes(src, sets, jitter, drop, 0);
    vt_sync_opts o = vt_sync_opts_default();
    o.reorder = reorder;
    o.read_threads = read_threads;
    vt_sync *s = NULL;
    if (vt_sync_new(&o, src, CAMS, FPS, &s)) {
        fprintf(stderr, "bench_sync: %s\n", vt_last_error());
        exit(1);
    }
    int64_t n = 0, frames = 0;
    double start = vt__now();
    for (;;) {
        int64_t k;
        double t;
        bool end = false;
        if (vt_sync_next(s, img, present, times, &k, &t, &end) || end)
            break;
        n++;
        for (int c = 0; c < CAMS; c++)
            frames += present[c];
    }
    double per_set = (vt__now() - start) / (double)(n ? n : 1);
    double reads = bench_reads(sets, jitter, drop);
    double err = 0.0;
    for (int c = 0; c < CAMS; c++)
        err = fmax(err, vt_sync_camera_stats_get(s, c).sync_error_max);
    printf("%-34s %8lld sets %6.1f%% frames  sync %6.2f us/set  reads alone %6.2f us/set  "
           "overhead %6.2f us/set (%.3f us/frame)  max error %.2f ms\n",
           name, (long long)n, 100.0 * (double)frames / (double)((n ? n : 1) * CAMS), per_set * 1e6,
           reads * 1e6, (per_set - reads) * 1e6, (per_set - reads) * 1e6 / CAMS, err * 1e3);
    vt_sync_free(s);
    for (int c = 0; c < CAMS; c++)
        vt_image_free(&img[c]);
}

/* Frame sets per second through a sync of these sources with `threads` read threads. */
static double sets_per_second(vt_source **src, int n, int threads, int *used)
{
    vt_sync_opts o = vt_sync_opts_default();
    o.read_threads = threads;
    vt_sync *s = NULL;
    if (vt_sync_new(&o, src, n, FPS, &s)) {
        fprintf(stderr, "bench_sync: %s\n", vt_last_error());
        exit(1);
    }
    *used = vt_sync_read_threads(s);
    vt_image *img = calloc((size_t)n, sizeof *img);
    bool *present = calloc((size_t)n, sizeof *present);
    if (!img || !present) {
        fprintf(stderr, "bench_sync: out of memory\n");
        exit(1);
    }
    int64_t sets = 0;
    double start = vt__now();
    for (;;) {
        int64_t k;
        double t;
        bool end = false;
        if (vt_sync_next(s, img, present, NULL, &k, &t, &end) || end)
            break;
        sets++;
    }
    double rate = (double)sets / (vt__now() - start);
    vt_sync_free(s);
    for (int c = 0; c < n; c++)
        vt_image_free(&img[c]);
    free(img);
    free(present);
    return rate;
}

/* Iterations of busy() that take about `seconds` on one core. */
static int64_t calibrate(double seconds)
{
    int64_t n = 100000;
    for (;;) {
        double start = vt__now();
        busy(n);
        double took = vt__now() - start;
        if (took > 0.02)
            return (int64_t)((double)n * seconds / took);
        n *= 2;
    }
}

static void bench_parallel_fakes(int64_t sets)
{
    int64_t work = calibrate(0.005);
    double rate[2];
    int used[2];
    for (int i = 0; i < 2; i++) {
        vt_source *src[CAMS];
        open_fakes(src, sets, 0.0005, 0.02, work);
        rate[i] = sets_per_second(src, CAMS, i == 0 ? 1 : 0, &used[i]);
    }
    printf("%-34s %8lld sets  read_threads %d: %7.2f sets/s  read_threads %d: %7.2f sets/s  "
           "(x%.2f)\n",
           "fakes computing ~5 ms per frame", (long long)sets, used[0], rate[0], used[1], rate[1],
           rate[1] / rate[0]);
}

static void bench_parallel_sim(void)
{
    double rate[2];
    int used[2], n = 0;
    int64_t sets = 0;
    for (int i = 0; i < 2; i++) {
        vt_scenario *sc = NULL;
        if (vt_scenario_preset("small", &sc)) {
            fprintf(stderr, "bench_sync: %s\n", vt_last_error());
            exit(1);
        }
        n = vt_scenario_rig(sc)->count;
        sets = vt_scenario_frames(sc);
        vt_source **src = calloc((size_t)n, sizeof *src);
        for (int c = 0; src && c < n; c++)
            if (vt_source_open_sim(sc, c, &src[c])) {
                fprintf(stderr, "bench_sync: %s\n", vt_last_error());
                exit(1);
            }
        if (!src)
            exit(1);
        rate[i] = sets_per_second(src, n, i == 0 ? 1 : 0, &used[i]);
        free(src);
        vt_scenario_free(sc);
    }
    printf("%-34s %8lld sets  read_threads %d: %7.2f sets/s  read_threads %d: %7.2f sets/s  "
           "(x%.2f)\n",
           "sim sources, preset small", (long long)sets, used[0], rate[0], used[1], rate[1],
           rate[1] / rate[0]);
}

int main(int argc, char **argv)
{
    int64_t sets = argc > 1 ? atoll(argv[1]) : 20000;
    if (sets <= 0)
        sets = 20000;
    printf("bench_sync: %d cameras, 4x4 frames, %.0f fps, clock offsets within +-2 ms\n", CAMS,
           FPS);
    bench_case("no jitter, no drops", sets, 0.0, 0.0, 0, 0);
    bench_case("jitter 0.5 ms, 2% drops", sets, 0.0005, 0.02, 0, 0);
    bench_case("jitter 2 ms, 2% drops, reorder 2", sets, 0.002, 0.02, 2, 0);
    bench_case("no jitter, no drops, 1 read thread", sets, 0.0, 0.0, 0, 1);
    printf("parallel reads (%d cores):\n", omp_get_num_procs());
    bench_parallel_fakes(40);
    bench_parallel_sim();
    return 0;
}
