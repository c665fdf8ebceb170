/*
 * bench/bench_render.c - the synthetic camera's speed: megapixels per second
 * for one camera, and the time to draw a whole frame set of a rig.
 *
 *   1. A 1920x1080 mono and a 640x512 thermal camera, ~200 small targets in
 *      view (0.2 to 20 pixels across), noise, drifting clouds and hot pixels
 *      on (the defaults): Mpx/s on one thread and on all threads, best of 3
 *      runs of 30 consecutive frames at 30 fps (so the cloud sky is redrawn
 *      every ~4 frames, as in a real sequence). Also the sky pass alone
 *      (no targets) and the first frame (sky cache and hot pixels built).
 *   2. A 20-camera default-like rig (10 mono 1920x1080 + 10 thermal 640x512)
 *      looking around the horizon: one frame set, first and steady.
 *   3. An 8K rig (10 mono 7680x4320 + 10 thermal 640x512): one frame set.
 *
 * Frames of one camera are drawn with OpenMP over rows; the cameras of a
 * frame set one after the other. The program prints figures; it never fails.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxtrack/render.h"

enum { TARGETS_PER_VIEW = 200, RUNS = 3, FRAMES = 30, PAIRS = 10 };
#define FPS 30.0

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return lo + (hi - lo) * (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* A camera at the origin looking at azimuth az (from north, clockwise) and elevation el. */
static vt_rig_camera make_camera(const char *id, vt_modality m, int w, int h, double hfov_deg,
                                 double az, double el)
{
    vt_rig_camera rc;
    memset(&rc, 0, sizeof rc);
    snprintf(rc.id, sizeof rc.id, "%s", id);
    rc.modality = m;
    rc.bits = m == VT_MODALITY_MONO ? 8 : 16;
    rc.cam.width = w;
    rc.cam.height = h;
    rc.cam.fx = rc.cam.fy = 0.5 * w / tan(0.5 * vt_deg2rad(hfov_deg));
    rc.cam.cx = 0.5 * w - 0.5;
    rc.cam.cy = 0.5 * h - 0.5;
    rc.cam.dist[0] = -0.05;
    rc.cam.dist[1] = 0.01;
    vt_vec3 f = vt_v3(cos(el) * sin(az), cos(el) * cos(az), sin(el));
    vt_vec3 right = vt_v3_normalize(vt_v3_cross(f, vt_v3(0, 0, 1)));
    vt_vec3 down = vt_v3_cross(f, right);
    vt_mat3 r = {{{right.x, down.x, f.x}, {right.y, down.y, f.y}, {right.z, down.z, f.z}}};
    rc.cam.q = vt_m3_to_q(r);
    if (vt_camera_init(&rc.cam) != VT_OK)
        fprintf(stderr, "bench_render: camera %s: %s\n", id, vt_last_error());
    return rc;
}

/* n targets in the view of a camera at azimuth az (radians), 150 to 1500 m away. */
static void add_targets(vt_render_target *t, int n, double az, double half_fov)
{
    for (int i = 0; i < n; i++) {
        double a = az + uniform(-half_fov, half_fov), e = uniform(0.02, 0.3);
        double d = uniform(150.0, 1500.0), size = uniform(0.15, 1.5);
        t[i] =
            (vt_render_target){.id = i,
                               .kind = i % 10 == 9 ? VT_TARGET_GLINT : VT_TARGET_DRONE,
                               .pos = vt_v3(d * cos(e) * sin(a), d * cos(e) * cos(a), d * sin(e)),
                               .semi = vt_v3(size, size, 0.4 * size),
                               .mono = (float)uniform(20.0, 120.0),
                               .thermal = i % 10 == 9 ? -1.0f : (float)uniform(9000.0, 14000.0)};
    }
}

/* Best seconds per frame over RUNS runs of FRAMES frames; *first: the very first frame. */
static double time_camera(const vt_rig *rig, int cam, int threads, const vt_render_target *t,
                          size_t n, double *first)
{
    vt_render_opts o = vt_render_opts_default();
    o.threads = threads;
    vt_renderer *r = NULL;
    if (vt_renderer_new(&o, rig, &r) != VT_OK) {
        fprintf(stderr, "bench_render: %s\n", vt_last_error());
        return 0;
    }
    vt_image img = {0};
    double t0 = vt__now();
    vt_renderer_draw(r, cam, 0, 0.0, t, n, &img);
    *first = vt__now() - t0;
    double best = 1e30;
    for (int run = 0; run < RUNS; run++) {
        t0 = vt__now();
        for (int f = 1; f <= FRAMES; f++) {
            int64_t frame = (int64_t)run * FRAMES + f;
            vt_renderer_draw(r, cam, frame, frame / FPS, t, n, &img);
        }
        double dt = (vt__now() - t0) / FRAMES;
        best = dt < best ? dt : best;
    }
    vt_image_free(&img);
    vt_renderer_free(r);
    return best;
}

static void bench_single(void)
{
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera m = make_camera("m0", VT_MODALITY_MONO, 1920, 1080, 70.0, 0.0, 0.15);
    vt_rig_camera t = make_camera("t0", VT_MODALITY_THERMAL, 640, 512, 50.0, 0.0, 0.15);
    vt_rig_add(&rig, &m);
    vt_rig_add(&rig, &t);
    vt_render_target targets[TARGETS_PER_VIEW];
    add_targets(targets, TARGETS_PER_VIEW, 0.0, vt_deg2rad(22.0));
    int all = omp_get_max_threads();
    printf("One camera, %d targets in view, noise + drifting clouds + hot pixels, best of %d x %d "
           "frames\n",
           TARGETS_PER_VIEW, RUNS, FRAMES);
    printf("%-22s %7s %11s %11s %11s %12s\n", "camera", "threads", "ms/frame", "Mpx/s", "sky only",
           "first frame");
    for (int cam = 0; cam < 2; cam++) {
        const vt_camera *k = &rig.cameras[cam].cam;
        double mpx = k->width * (double)k->height * 1e-6;
        int ths[2] = {1, all};
        for (int i = 0; i < (all > 1 ? 2 : 1); i++) {
            double first, first_sky;
            double dt = time_camera(&rig, cam, ths[i], targets, TARGETS_PER_VIEW, &first);
            double sky = time_camera(&rig, cam, ths[i], NULL, 0, &first_sky);
            printf("%-5s %4dx%-4d %-6s %7d %11.2f %11.1f %8.1f Mpx/s %9.1f ms\n",
                   cam ? "therm" : "mono", k->width, k->height, cam ? "16-bit" : "8-bit", ths[i],
                   dt * 1e3, mpx / dt, mpx / sky, first * 1e3);
        }
    }
    vt_rig_free(&rig);
}

/* One frame set (every camera once) of a rig: first and, for small rigs, steady (best of 3). */
static void bench_rig(const char *name, int mono_w, int mono_h, bool steady)
{
    vt_rig rig;
    vt_rig_init(&rig);
    for (int p = 0; p < PAIRS; p++) {
        char id[32];
        double az = 2.0 * VT_PI * p / PAIRS;
        snprintf(id, sizeof id, "m%d", p);
        vt_rig_camera m = make_camera(id, VT_MODALITY_MONO, mono_w, mono_h, 70.0, az, 0.15);
        snprintf(id, sizeof id, "t%d", p);
        vt_rig_camera t = make_camera(id, VT_MODALITY_THERMAL, 640, 512, 50.0, az, 0.15);
        vt_rig_add(&rig, &m);
        vt_rig_add(&rig, &t);
    }
    size_t n = (size_t)PAIRS * TARGETS_PER_VIEW;
    vt_render_target *targets = malloc(n * sizeof *targets);
    vt_image *img = calloc((size_t)rig.count, sizeof *img);
    vt_renderer *r = NULL;
    vt_render_opts o = vt_render_opts_default();
    if (!targets || !img || vt_renderer_new(&o, &rig, &r) != VT_OK) {
        fprintf(stderr, "bench_render: %s: setup failed\n", name);
        goto done;
    }
    for (int p = 0; p < PAIRS; p++)
        add_targets(targets + (size_t)p * TARGETS_PER_VIEW, TARGETS_PER_VIEW,
                    2.0 * VT_PI * p / PAIRS, vt_deg2rad(18.0));
    double best = 1e30, first = 0;
    for (int f = 0; f < (steady ? 1 + 3 * 4 : 1); f++) {
        double t0 = vt__now();
        for (int c = 0; c < rig.count; c++)
            if (vt_renderer_draw(r, c, f, f / FPS, targets, n, &img[c]) != VT_OK)
                fprintf(stderr, "bench_render: %s\n", vt_last_error());
        double dt = vt__now() - t0;
        if (f == 0)
            first = dt;
        else if (dt < best)
            best = dt;
    }
    double mpx = PAIRS * (mono_w * (double)mono_h + 640.0 * 512.0) * 1e-6;
    printf("%-44s %6.0f Mpx  first %8.1f ms", name, mpx, first * 1e3);
    if (steady)
        printf("  steady %7.1f ms  (%5.0f Mpx/s)", best * 1e3, mpx / best);
    printf("\n");
done:
    for (int c = 0; img && c < rig.count; c++)
        vt_image_free(&img[c]);
    free(img);
    free(targets);
    vt_renderer_free(r);
    vt_rig_free(&rig);
}

int main(void)
{
    bench_single();
    printf("\nFrame sets (%d threads, %d targets in each pair's view, cameras one after the "
           "other; 'first' builds the sky caches and hot pixel lists)\n",
           omp_get_max_threads(), TARGETS_PER_VIEW);
    bench_rig("20 cameras: 10 x 1920x1080 + 10 x 640x512", 1920, 1080, true);
    bench_rig("8K: 10 x 7680x4320 + 10 x 640x512", 7680, 4320, false);
    return 0;
}
