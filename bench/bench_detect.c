/*
 * bench/bench_detect.c - blobs on an 8K change list, and detections from 300
 * vote clusters and about 5,000 rays, each against the plain alternative.
 *
 * Blobs: an 8K frame (7680 x 4320) with about 5,000 small blobs (discs of
 * radius 1 to 3 pixels) at random places, given as the change list that
 * vt_motion_detect() would make. vt_blobs_find() is timed (best of several
 * runs, list reused) against one pass over a dense 8K byte mask, the least
 * that any labelling of the dense image must spend.
 *
 * Detections: 20 cameras (1920 x 1080, 60 degree field of view) on a ring of
 * 300 m radius, 250 targets seen by the cameras whose image holds them, rays
 * through their projections with 0.3 pixels of noise, false blobs at random
 * pixels up to 5,000 rays in all, 300 clusters (the
 * targets, 0.2 m off, and 50 weaker ghosts). vt_detect() is timed against the
 * same algorithm testing every ray for every gate (no direction grid).
 * Single-threaded, as the stage is. The program prints figures; it never
 * fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/detect.h"

enum {
    WIDTH = 7680,
    HEIGHT = 4320,
    NBLOB = 5000,
    NCAM = 20,
    NTARGET = 250,
    NGHOST = 50,
    NRAY = 5000,
    RUNS = 20
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(double lo, double hi)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return lo + (hi - lo) * (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double gauss(void)
{
    double u1 = uniform(0, 1), u2 = uniform(0, 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2 * VT_PI * u2);
}

/* ------------------------------------------------------------------------ */
/* Blobs                                                                     */

static void paint_discs(uint8_t *mask)
{
    for (int k = 0; k < NBLOB; k++) {
        int cx = (int)uniform(4, WIDTH - 4), cy = (int)uniform(4, HEIGHT - 4);
        int r = (int)uniform(1, 4);
        for (int y = cy - r; y <= cy + r; y++)
            for (int x = cx - r; x <= cx + r; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                    mask[(size_t)y * WIDTH + x] =
                        (uint8_t)(20 + 10 * (r * r - (x - cx) * (x - cx)));
    }
}

static int to_changes(const uint8_t *mask, vt_change_list *l)
{
    size_t n = 0, npix = (size_t)WIDTH * HEIGHT;
    for (size_t i = 0; i < npix; i++)
        n += mask[i] != 0;
    l->index = malloc(n * sizeof *l->index);
    l->diff = malloc(n * sizeof *l->diff);
    if (!l->index || !l->diff)
        return -1;
    l->width = WIDTH;
    l->height = HEIGHT;
    l->capacity = n;
    for (size_t i = 0; i < npix; i++)
        if (mask[i]) {
            l->index[l->count] = (uint32_t)i;
            l->diff[l->count++] = mask[i];
        }
    return 0;
}

/*
 * The floor of a dense method: read every byte of the mask once, 8 bytes at
 * a time, and count the 64-byte blocks that hold a change (a loop the
 * compiler vectorises).
 */
static size_t scan_mask(const uint8_t *mask)
{
    size_t n = 0, nword = (size_t)WIDTH * HEIGHT / 8;
    for (size_t i = 0; i < nword; i += 8) {
        uint64_t w[8], any = 0;
        memcpy(w, mask + 8 * i, sizeof w);
        for (int k = 0; k < 8; k++)
            any |= w[k];
        n += any != 0;
    }
    return n;
}

static int bench_blobs(void)
{
    uint8_t *mask = calloc((size_t)WIDTH * HEIGHT, 1);
    vt_change_list l = {0};
    vt_blob_list b = {0};
    if (!mask || to_changes((paint_discs(mask), mask), &l))
        return -1;
    double best = INFINITY, best_scan = INFINITY;
    volatile size_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = vt__now();
        if (vt_blobs_find(&l, 1, 0, &b))
            return -1;
        double t1 = vt__now();
        sink += scan_mask(mask);
        double t2 = vt__now();
        best = fmin(best, t1 - t0);
        best_scan = fmin(best_scan, t2 - t1);
    }
    (void)sink;
    printf("blobs: %dx%d frame, %zu changed pixels, %zu blobs (%d discs, some touching)\n", WIDTH,
           HEIGHT, l.count, b.count, NBLOB);
    printf("  %-40s %10.1f us  (%.2f ns per changed pixel)\n", "vt_blobs_find", best * 1e6,
           best * 1e9 / (double)l.count);
    printf("  %-40s %10.1f us  (%.1fx vt_blobs_find)\n", "one pass over a dense 8K byte mask",
           best_scan * 1e6, best_scan / best);
    vt_blob_list_free(&b);
    vt_change_list_free(&l);
    free(mask);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Detections                                                                */

static vt_camera look_at(vt_vec3 pos, vt_vec3 at)
{
    vt_vec3 z = vt_v3_normalize(vt_v3_sub(at, pos));
    vt_vec3 x = vt_v3_normalize(vt_v3_cross(z, vt_v3(0, 0, 1)));
    vt_vec3 y = vt_v3_cross(z, x);
    vt_mat3 r = {{{x.x, y.x, z.x}, {x.y, y.y, z.y}, {x.z, y.z, z.z}}};
    double f = 960.0 / tan(vt_deg2rad(30.0));
    vt_camera c = {.width = 1920, .height = 1080, .fx = f, .fy = f, .cx = 959.5, .cy = 539.5};
    c.position = pos;
    c.q = vt_m3_to_q(r);
    vt_camera_init(&c);
    return c;
}

/* The same algorithm as vt_detect(), every ray tested for every gate. */
static int gather_all(const vt_ray *rays, size_t nray, const uint8_t *owned, uint64_t mask,
                      vt_vec3 p, const vt_detect_opts *o, uint32_t *set)
{
    uint32_t best[64];
    double best2[64];
    uint64_t found = 0;
    for (size_t i = 0; i < nray; i++) {
        const vt_ray *r = &rays[i];
        if (owned[i] || !(mask >> r->camera & 1))
            continue;
        vt_vec3 w = vt_v3_sub(p, r->origin);
        double t = vt_v3_dot(w, r->dir);
        double miss2 = vt_v3_dot(w, w) - t * t;
        double gate = fmax(o->gate_min, o->gate_sigma * r->sigma * t);
        if (t > 0 && miss2 <= gate * gate &&
            (!(found >> r->camera & 1) || miss2 < best2[r->camera])) {
            found |= 1ull << r->camera;
            best[r->camera] = (uint32_t)i;
            best2[r->camera] = miss2;
        }
    }
    int n = 0;
    for (int c = 0; c < 64; c++)
        if (found >> c & 1)
            set[n++] = best[c];
    return n;
}

static size_t detect_brute(const vt_cluster *cl, const size_t *order, size_t ncl,
                           const vt_ray *rays, size_t nray, const vt_detect_opts *o, uint8_t *owned)
{
    size_t count = 0;
    memset(owned, 0, nray);
    for (size_t k = 0; k < ncl; k++) {
        const vt_cluster *c = &cl[order[k]];
        vt_vec3 p = c->centroid;
        uint32_t set[64];
        int n = 0, ok = 1;
        double res = 0;
        for (int pass = 0; pass < 3 && ok; pass++) {
            n = gather_all(rays, nray, owned, c->cameras ? c->cameras : ~0ull, p, o, set);
            ok = n >= o->min_cameras && !vt_rays_meet(rays, set, (size_t)n, &p, NULL, &res);
        }
        if (!ok || res > o->max_residual)
            continue;
        for (int j = 0; j < n; j++)
            owned[set[j]] = 1;
        count++;
    }
    return count;
}

static int bench_detections(void)
{
    vt_camera cams[NCAM];
    for (int i = 0; i < NCAM; i++) {
        double a = 2 * VT_PI * i / NCAM;
        cams[i] = look_at(vt_v3(300 * cos(a), 300 * sin(a), 2), vt_v3(0, 0, 60));
    }
    vt_ray *rays = malloc((NCAM * NTARGET + NRAY) * sizeof *rays);
    vt_cluster *cl = calloc(NTARGET + NGHOST, sizeof *cl);
    vt_vec3 *truth = malloc(NTARGET * sizeof *truth);
    size_t *order = malloc((NTARGET + NGHOST) * sizeof *order);
    uint8_t *owned = malloc(NCAM * NTARGET + NRAY);
    if (!rays || !cl || !truth || !order || !owned)
        return -1;
    size_t nray = 0, ncl = 0;
    for (int t = 0; t < NTARGET; t++) {
        vt_vec3 p = vt_v3(uniform(-150, 150), uniform(-150, 150), uniform(20, 150));
        truth[t] = p;
        uint64_t seen = 0;
        for (int c = 0; c < NCAM; c++) {
            double u, v;
            if (!vt_camera_world_to_pixel(&cams[c], p, &u, &v) ||
                !vt_camera_in_image(&cams[c], u, v))
                continue;
            if (vt_ray_from_pixel(&cams[c], u + 0.3 * gauss(), v + 0.3 * gauss(), 1.0, 10.0f,
                                  (uint16_t)c, 0, (uint32_t)t, &rays[nray])) {
                nray++;
                seen |= 1ull << c;
            }
        }
        cl[ncl++] = (vt_cluster){.centroid = vt_v3_add(p, vt_v3(0.2, -0.1, 0.1)),
                                 .weight = (uint64_t)uniform(100, 1000),
                                 .cameras = seen,
                                 .ncameras = __builtin_popcountll(seen)};
    }
    /* False blobs (birds, glints) make up the rest of the rays. */
    for (int c = 0; nray < NRAY; c = (c + 1) % NCAM)
        if (vt_ray_from_pixel(&cams[c], uniform(0, 1919), uniform(0, 1079), 1.0, 3.0f, (uint16_t)c,
                              0, (uint32_t)nray, &rays[nray]))
            nray++;
    for (int g = 0; g < NGHOST; g++)
        cl[ncl++] = (vt_cluster){
            .centroid = vt_v3(uniform(-150, 150), uniform(-150, 150), uniform(20, 150)),
            .weight = (uint64_t)uniform(10, 100)};
    for (size_t k = 0; k < ncl; k++) { /* strongest first, as vt_detect() takes them */
        size_t j = k;
        for (; j > 0 && cl[order[j - 1]].weight < cl[k].weight; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
    vt_detect_opts o = vt_detect_opts_default();
    vt_detection_list out = {0};
    double best = INFINITY, best_brute = INFINITY;
    size_t nbrute = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = vt__now();
        if (vt_detect(cl, ncl, rays, nray, &o, &out))
            return -1;
        double t1 = vt__now();
        if (r < 3)
            nbrute = detect_brute(cl, order, ncl, rays, nray, &o, owned);
        double t2 = vt__now();
        best = fmin(best, t1 - t0);
        if (r < 3)
            best_brute = fmin(best_brute, t2 - t1);
    }
    double err2 = 0;
    size_t matched = 0;
    for (size_t k = 0; k < out.count; k++)
        for (int t = 0; t < NTARGET; t++) {
            double d = vt_v3_norm(vt_v3_sub(out.items[k].pos, truth[t]));
            if (d < 2.0) {
                err2 += d * d;
                matched++;
                break;
            }
        }
    printf("\ndetections: %d cameras, %zu clusters (%d ghosts), %zu rays\n", NCAM, ncl, NGHOST,
           nray);
    printf("  %-40s %10.3f ms  (%zu detections, %zu within 2 m of a target, RMS error %.3f m)\n",
           "vt_detect (direction grids)", best * 1e3, out.count, matched,
           matched ? sqrt(err2 / (double)matched) : 0.0);
    printf("  %-40s %10.3f ms  (%zu detections, %.1fx slower)\n",
           "the same, testing every ray per gate", best_brute * 1e3, nbrute, best_brute / best);
    printf("  target <= 2 ms per frame set: %s\n", best <= 2e-3 ? "met" : "not met");
    vt_detection_list_free(&out);
    free(rays);
    free(cl);
    free(truth);
    free(order);
    free(owned);
    return 0;
}

int main(void)
{
    if (bench_blobs() || bench_detections()) {
        fprintf(stderr, "bench_detect: %s\n", vt_last_error());
        return 1;
    }
    return 0;
}
