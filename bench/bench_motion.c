/*
 * bench/bench_motion.c - change detection on 8K frames, measured against what
 * the memory system allows on this machine.
 *
 * Change detection reads two frames and writes almost nothing, so its bound
 * is memory bandwidth. The program measures, in the same run and on the same
 * buffers' scale:
 *   - memcpy of a 256 MiB buffer (bytes counted: read + write = 2 x size),
 *     best of several runs, on one thread and on all threads (an OpenMP
 *     parallel memcpy of chunks);
 *   - the naive loop mask[i] = |a[i] - b[i]| > t over a frame (one byte of
 *     output per pixel), the usual first implementation, both as -O2 leaves
 *     it (scalar) and vectorised with `omp simd`;
 *   - vt_motion_detect on the same frames.
 * For the two detectors, bytes counted are the two frames read. The last
 * column puts each figure against the copy bandwidth with the same threads.
 *
 * The scene: a smooth, noise-free background, and a few moving blobs that
 * change a few thousand pixels - what a fixed camera sees most of the time.
 * The program prints figures; it never fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxtrack/motion.h"

enum {
    WIDTH = 7680,
    HEIGHT = 4320,
    BLOBS = 8,
    BLOB_SIZE = 24, /* BLOBS blobs of BLOB_SIZE^2 pixels change */
    RUNS = 5,
    FRAMES_PER_RUN = 20,
    COPY_RUNS = 6
};

#define COPY_BYTES ((size_t)256 << 20)
#define THRESHOLD 12.5f

typedef struct result {
    double frames_per_s; /* 0 for copies */
    double gb_per_s;
} result;

/* ------------------------------------------------------------------------ */
/* Scene                                                                     */

static void fill_background(vt_image *img)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = vt_image_row8(img, y);
        for (int x = 0; x < img->width; x++)
            row[x] = (uint8_t)(64 + ((x / 7 + y / 5) % 96) + ((x * y) >> 12) % 32);
    }
}

static void paint_blobs(vt_image *img)
{
    for (int k = 0; k < BLOBS; k++) {
        int x0 = 300 + k * 900, y0 = 200 + k * 480;
        for (int y = y0; y < y0 + BLOB_SIZE; y++)
            for (int x = x0; x < x0 + BLOB_SIZE; x++)
                vt_image_row8(img, y)[x] = (uint8_t)(vt_image_row8(img, y)[x] ^ 0x80);
    }
}

/* ------------------------------------------------------------------------ */
/* Measurements                                                              */

static void copy_parallel(uint8_t *dst, const uint8_t *src, size_t n, int threads)
{
    const size_t chunk = (size_t)4 << 20;
    long long chunks = (long long)((n + chunk - 1) / chunk);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long long c = 0; c < chunks; c++) {
        size_t off = (size_t)c * chunk;
        memcpy(dst + off, src + off, off + chunk <= n ? chunk : n - off);
    }
}

static result measure_copy(uint8_t *dst, const uint8_t *src, int threads)
{
    double best = 1e30;
    for (int r = 0; r < COPY_RUNS; r++) {
        double t0 = vt__now();
        if (threads == 1)
            memcpy(dst, src, COPY_BYTES);
        else
            copy_parallel(dst, src, COPY_BYTES, threads);
        double dt = vt__now() - t0;
        best = dt < best ? dt : best;
    }
    return (result){0, 2.0 * (double)COPY_BYTES / best / 1e9};
}

/*
 * The plain loop: one byte of output per pixel. As written, -O2 leaves it
 * scalar; with `simd` it gets `omp simd`, which is what -O3 would do.
 */
static void naive_mask(const vt_image *a, const vt_image *b, uint8_t *mask, int t, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int y = 0; y < a->height; y++) {
        const uint8_t *ra = vt_image_row8(a, y), *rb = vt_image_row8(b, y);
        uint8_t *m = mask + (size_t)y * (size_t)a->width;
        for (int x = 0; x < a->width; x++)
            m[x] = abs(ra[x] - rb[x]) > t;
    }
}

static void naive_mask_simd(const vt_image *a, const vt_image *b, uint8_t *mask, int t, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int y = 0; y < a->height; y++) {
        const uint8_t *ra = vt_image_row8(a, y), *rb = vt_image_row8(b, y);
        uint8_t *m = mask + (size_t)y * (size_t)a->width;
#pragma omp simd
        for (int x = 0; x < a->width; x++)
            m[x] = abs(ra[x] - rb[x]) > t;
    }
}

typedef void (*mask_fn)(const vt_image *, const vt_image *, uint8_t *, int, int);

static double frame_bytes(void)
{
    return 2.0 * WIDTH * HEIGHT;
}

static result rate(double best_run_seconds)
{
    double fps = FRAMES_PER_RUN / best_run_seconds;
    return (result){fps, fps * frame_bytes() / 1e9};
}

static result measure_naive(mask_fn fn, const vt_image *a, const vt_image *b, uint8_t *mask,
                            int threads)
{
    double best = 1e30;
    fn(a, b, mask, (int)THRESHOLD, threads); /* first touch of the mask */
    for (int r = 0; r < RUNS; r++) {
        double t0 = vt__now();
        for (int f = 0; f < FRAMES_PER_RUN; f++)
            fn(f % 2 ? a : b, f % 2 ? b : a, mask, (int)THRESHOLD, threads);
        double dt = vt__now() - t0;
        best = dt < best ? dt : best;
    }
    return rate(best);
}

static result measure_motion(const vt_image *a, const vt_image *b, vt_change_list *l, int threads)
{
    double best = 1e30;
    vt_motion_detect(a, b, THRESHOLD, threads, l); /* the list grows once, here */
    for (int r = 0; r < RUNS; r++) {
        double t0 = vt__now();
        for (int f = 0; f < FRAMES_PER_RUN; f++)
            vt_motion_detect(f % 2 ? a : b, f % 2 ? b : a, THRESHOLD, threads, l);
        double dt = vt__now() - t0;
        best = dt < best ? dt : best;
    }
    return rate(best);
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */

static void print_row(const char *what, int threads, result r, double copy_gbs)
{
    char fps[32] = "-";
    if (r.frames_per_s > 0)
        snprintf(fps, sizeof fps, "%.0f", r.frames_per_s);
    printf("%-34s %7d %10s %8.1f %9.0f%%\n", what, threads, fps, r.gb_per_s,
           100.0 * r.gb_per_s / copy_gbs);
}

static void run_all(int all, const vt_image *a, const vt_image *b, uint8_t *mask, uint8_t *copy_src,
                    uint8_t *copy_dst)
{
    int counts[2] = {1, all};
    result copy[2], naive[2], simd[2], motion[2];
    vt_change_list l = {0};
    for (int i = 0; i < 2; i++) {
        omp_set_num_threads(counts[i]);
        copy[i] = measure_copy(copy_dst, copy_src, counts[i]);
        naive[i] = measure_naive(naive_mask, a, b, mask, counts[i]);
        simd[i] = measure_naive(naive_mask_simd, a, b, mask, counts[i]);
        motion[i] = measure_motion(a, b, &l, counts[i]);
    }
    printf("%-34s %7s %10s %8s %10s\n", "", "threads", "frames/s", "GB/s", "of copy");
    for (int i = 0; i < 2; i++)
        print_row("memcpy 256 MiB (read + write)", counts[i], copy[i], copy[i].gb_per_s);
    for (int i = 0; i < 2; i++)
        print_row("naive mask, as -O2 compiles it", counts[i], naive[i], copy[i].gb_per_s);
    for (int i = 0; i < 2; i++)
        print_row("naive mask, omp simd", counts[i], simd[i], copy[i].gb_per_s);
    for (int i = 0; i < 2; i++)
        print_row("vt_motion_detect", counts[i], motion[i], copy[i].gb_per_s);
    printf("\nchanged pixels found: %zu (expected %d)\n", l.count, BLOBS * BLOB_SIZE * BLOB_SIZE);
    for (int i = 0; i < 2; i++)
        printf("target >= 70%% of copy bandwidth on %d thread%s: %s\n", counts[i],
               counts[i] > 1 ? "s" : "",
               motion[i].gb_per_s >= 0.7 * copy[i].gb_per_s ? "met" : "NOT met");
    vt_change_list_free(&l);
}

int main(void)
{
    vt_image a = {0}, b = {0};
    uint8_t *mask = malloc((size_t)WIDTH * HEIGHT);
    uint8_t *copy_src = malloc(COPY_BYTES), *copy_dst = malloc(COPY_BYTES);
    if (vt_image_alloc(&a, WIDTH, HEIGHT, 8) || vt_image_alloc(&b, WIDTH, HEIGHT, 8) || !mask ||
        !copy_src || !copy_dst) {
        fprintf(stderr, "bench_motion: out of memory: %s\n", vt_last_error());
        return 0;
    }
    fill_background(&a);
    memcpy(b.data, a.data, a.stride * (size_t)a.height);
    paint_blobs(&b);
    /* Touch every page before timing anything. */
    memset(copy_src, 1, COPY_BYTES);
    memset(copy_dst, 2, COPY_BYTES);
    memset(mask, 0, (size_t)WIDTH * HEIGHT);

    int all = omp_get_max_threads();
    printf("bench_motion: %dx%d 8-bit frames, threshold %.1f, %d thread%s available\n"
           "frames/s and GB/s are best-of-%d runs of %d frames; detectors count 2 frames "
           "read (%.1f MB)\n\n",
           WIDTH, HEIGHT, (double)THRESHOLD, all, all > 1 ? "s" : "", RUNS, FRAMES_PER_RUN,
           frame_bytes() / 1e6);
    run_all(all, &a, &b, mask, copy_src, copy_dst);

    vt_image_free(&a);
    vt_image_free(&b);
    free(mask);
    free(copy_src);
    free(copy_dst);
    return 0;
}
