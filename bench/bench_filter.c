/*
 * bench/bench_filter.c - the background model with and without its matched
 * filter (psf_sigma 0.65, 3x3 separable taps), per 1080p and 8K frame, on one
 * thread, against the memory bandwidth measured in the same run.
 *
 * Frames are 8-bit sky with Gaussian noise (sigma 2) and a few faint targets;
 * the model learns 5 frames, then FRAMES frames are timed, best of RUNS.
 * Bytes counted per frame: the frame read once and the float model read and
 * written once (1 + 8 bytes per pixel) - what the unfiltered pass must move;
 * the filter adds no traffic beyond the cache. The copy bandwidth is memcpy
 * of a 256 MiB buffer (read + write), best of several, one thread.
 * Prints figures; never fails. Usage: bench_filter [1080p|8k|all]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/motion.h"

enum { RUNS = 3, WARM = 5 };

static uint64_t rng = 88172645463325252ull;

static double uniform01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void noisy_frame(vt_image *img, int k)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = vt_image_row8(img, y);
        for (int x = 0; x < img->width; x++) {
            double g = sqrt(-2.0 * log(uniform01() + 1e-12)) * cos(6.283185307179586 * uniform01());
            row[x] = (uint8_t)lround(150.0 + 2.0 * g);
        }
    }
    for (int t = 0; t < 16; t++) { /* faint targets, 6 grey levels darker, moving */
        int x = (t * 977 + k * 3) % (img->width - 2), y = (t * 613) % (img->height - 2);
        vt_image_row8(img, y)[x] -= 6;
    }
}

static double copy_gbs(void)
{
    size_t n = (size_t)256 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a);
        free(b);
        return 0.0;
    }
    memset(a, 1, n);
    memset(b, 2, n);
    double best = 0.0;
    for (int r = 0; r < 5; r++) {
        double t0 = vt__now();
        memcpy(b, a, n);
        double gbs = 2.0 * (double)n / (vt__now() - t0) / 1e9;
        best = gbs > best ? gbs : best;
        a[r] = b[n - 1 - (size_t)r]; /* keep the copies alive */
    }
    free(a);
    free(b);
    return best;
}

static void run(const char *name, int w, int h, int frames, double copy)
{
    vt_image img[4];
    for (int k = 0; k < 4; k++) {
        if (vt_image_alloc(&img[k], w, h, 8)) {
            fprintf(stderr, "bench_filter: cannot allocate %dx%d frames\n", w, h);
            return;
        }
        noisy_frame(&img[k], k);
    }
    for (int f = 0; f < 2; f++) {
        vt_background_opts o = vt_background_opts_default();
        o.threads = 1;
        o.polarity = -1;
        o.k_sigma = 3.0f;
        o.psf_sigma = f ? 0.65f : 0.0f;
        vt_background *bg = NULL;
        vt_change_list l = {0};
        if (vt_background_new(&o, w, h, &bg))
            return;
        for (int k = 0; k < WARM; k++)
            vt_background_apply(bg, &img[k % 4], &l);
        double best = INFINITY;
        for (int r = 0; r < RUNS; r++) {
            double t0 = vt__now();
            for (int k = 0; k < frames; k++)
                vt_background_apply(bg, &img[k % 4], &l);
            double ms = (vt__now() - t0) * 1e3 / frames;
            best = ms < best ? ms : best;
        }
        double gbs = 9.0 * (double)w * h / (best * 1e-3) / 1e9;
        printf("%-6s %-10s %8.2f ms/frame %7.1f frames/s %6.1f GB/s  %5.1f%% of copy (%.1f GB/s)"
               "  changes %zu\n",
               name, f ? "filtered" : "unfiltered", best, 1e3 / best, gbs, 100.0 * gbs / copy, copy,
               l.count);
        vt_change_list_free(&l);
        vt_background_free(bg);
    }
    for (int k = 0; k < 4; k++)
        vt_image_free(&img[k]);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    double copy = copy_gbs();
    if (!strcmp(what, "1080p") || !strcmp(what, "all"))
        run("1080p", 1920, 1080, 40, copy);
    if (!strcmp(what, "8k") || !strcmp(what, "all"))
        run("8K", 7680, 4320, 4, copy);
    return 0;
}
