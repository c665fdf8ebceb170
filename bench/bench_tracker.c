/*
 * bench/bench_tracker.c - microseconds per vt_tracker_update against the
 * number of targets (10, 100, 250, 1000), GNN and MHT, on one core.
 *
 * The scene: targets at 10-20 m/s whose velocity diffuses with 2 m/s^2 (a
 * random walk), in a 400 x 400 x 100 m box (denser for more targets),
 * detected with probability 0.97 and 0.3 m noise per axis at 30 Hz, plus 5
 * clutter detections per update. The detections of all updates are made
 * before timing. After WARMUP updates (so that tracks are confirmed) the
 * next RUN updates are timed one by one: median, mean and 99th percentile
 * of the thread's CPU time (not wall time: the machine is shared).
 * The figures also give the confirmed tracks at the end and the id switches
 * (a target's confirmed track changing) as a sanity check.
 *
 * For scale, the same updates' assignment is also solved the obvious way:
 * one vt_assign over all tracks x (detections + a "missed" column per track)
 * with Euclidean-gated entries, no clusters - what a GNN without the cluster
 * decomposition would pay for the assignment alone.
 * The program prints figures; it never fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "voxtrack/track.h"

enum { WARMUP = 60, RUN = 300, NCLUTTER = 5 };
#define DT (1.0 / 30.0)
#define SIGMA 0.3

static uint64_t rng = 0x9E3779B97F4A7C15ull;

/*
 * CPU time of this thread, seconds: the machine is shared, and wall time
 * would count the time other jobs hold the core.
 */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double uniform01(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * uniform01();
}

static double gauss(void)
{
    double u = uniform01(), v = uniform01();
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * VT_PI * v);
}

typedef struct scene {
    int ntarget, nframes;
    vt_detection *dets; /* nframes x (ntarget + NCLUTTER) */
    int *count;         /* detections per frame */
    int *truth;         /* per detection: target index or -1 */
} scene;

static vt_detection noisy(vt_vec3 p)
{
    vt_detection d;
    memset(&d, 0, sizeof d);
    d.pos = vt_v3(p.x + SIGMA * gauss(), p.y + SIGMA * gauss(), p.z + SIGMA * gauss());
    d.cov[0] = d.cov[3] = d.cov[5] = SIGMA * SIGMA;
    d.ncameras = 4;
    return d;
}

static void make_scene(scene *s, int ntarget, int nframes)
{
    s->ntarget = ntarget;
    s->nframes = nframes;
    size_t per = (size_t)ntarget + NCLUTTER;
    s->dets = malloc((size_t)nframes * per * sizeof *s->dets);
    s->truth = malloc((size_t)nframes * per * sizeof *s->truth);
    s->count = malloc((size_t)nframes * sizeof *s->count);
    vt_vec3 *p = malloc((size_t)ntarget * sizeof *p), *v = malloc((size_t)ntarget * sizeof *v);
    if (!s->dets || !s->truth || !s->count || !p || !v) {
        fprintf(stderr, "bench_tracker: out of memory\n");
        exit(1);
    }
    double half = 200.0 * fmax(1.0, cbrt(ntarget / 250.0));
    for (int i = 0; i < ntarget; i++) {
        p[i] = vt_v3(uniform(-half, half), uniform(-half, half), uniform(20, 120));
        double speed = uniform(10, 20), az = uniform(0, 2 * VT_PI);
        v[i] = vt_v3(speed * cos(az), speed * sin(az), uniform(-1, 1));
    }
    for (int k = 0; k < nframes; k++) {
        vt_detection *d = s->dets + (size_t)k * per;
        int *tr = s->truth + (size_t)k * per, n = 0;
        for (int i = 0; i < ntarget; i++) {
            if (uniform01() < 0.97) {
                tr[n] = i;
                d[n++] = noisy(p[i]);
            }
            p[i] = vt_v3_add(p[i], vt_v3_scale(v[i], DT));
            double a = 2.0 * sqrt(DT);
            v[i] = vt_v3_add(v[i], vt_v3(a * gauss(), a * gauss(), a * gauss()));
        }
        for (int c = 0; c < NCLUTTER; c++) {
            tr[n] = -1;
            d[n++] = noisy(vt_v3(uniform(-half, half), uniform(-half, half), uniform(0, 150)));
        }
        s->count[k] = n;
    }
    free(p);
    free(v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const scene *s, vt_tracker_kind kind)
{
    vt_tracker_opts o = vt_tracker_opts_default();
    o.kind = kind;
    vt_tracker *t;
    if (vt_tracker_new(&o, &t)) {
        printf("%-5s %5d  (not available: %s)\n", kind ? "MHT" : "GNN", s->ntarget,
               vt_last_error());
        return;
    }
    size_t per = (size_t)s->ntarget + NCLUTTER;
    double us[RUN];
    uint64_t *last = calloc((size_t)s->ntarget, sizeof *last);
    int switches = 0;
    for (int k = 0; k < s->nframes; k++) {
        const vt_detection *d = s->dets + (size_t)k * per;
        double t0 = cpu_now();
        if (vt_tracker_update(t, k * DT, d, (size_t)s->count[k])) {
            printf("update failed: %s\n", vt_last_error());
            break;
        }
        double el = cpu_now() - t0;
        if (k >= WARMUP)
            us[k - WARMUP] = el * 1e6;
        /* Id switches of confirmed tracks (outside the timing). */
        size_t nt;
        const vt_track *tr = vt_tracker_tracks(t, &nt);
        const uint64_t *a = vt_tracker_assignments(t, NULL);
        for (int j = 0; j < s->count[k]; j++) {
            int target = s->truth[(size_t)k * per + (size_t)j];
            if (target < 0 || !a[j])
                continue;
            for (size_t q = 0; q < nt; q++)
                if (tr[q].id == a[j] && tr[q].status != VT_TRACK_TENTATIVE) {
                    if (last[target] && last[target] != a[j])
                        switches++;
                    last[target] = a[j];
                }
        }
    }
    size_t nt;
    const vt_track *tr = vt_tracker_tracks(t, &nt);
    int confirmed = 0;
    for (size_t q = 0; q < nt; q++)
        confirmed += tr[q].status != VT_TRACK_TENTATIVE;
    double mean = 0.0;
    for (int k = 0; k < RUN; k++)
        mean += us[k] / RUN;
    qsort(us, RUN, sizeof us[0], cmp_double);
    printf("%-5s %5d  %9.1f %9.1f %9.1f   %6d/%-6d %6d\n", kind ? "MHT" : "GNN", s->ntarget,
           us[RUN / 2], mean, us[(int)(0.99 * RUN)], confirmed, s->ntarget, switches);
    free(last);
    vt_tracker_free(t);
}

/* One dense vt_assign per update over everything within 5 m, no clusters. */
static void run_dense(const scene *s)
{
    int n = s->ntarget;
    size_t per = (size_t)n + NCLUTTER;
    int mcols = (int)per + n;
    double *cost = malloc((size_t)n * (size_t)mcols * sizeof *cost);
    int *r2c = malloc((size_t)n * sizeof *r2c);
    double total = 0.0, t0;
    int frames = 0;
    for (int k = WARMUP; k < WARMUP + 20 && k < s->nframes; k++, frames++) {
        const vt_detection *d = s->dets + (size_t)k * per;
        const vt_detection *prev = s->dets + (size_t)(k - 1) * per;
        int m = s->count[k];
        /* Rows: the previous update's detections stand in for the tracks. */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < mcols; j++) {
                double c = VT_ASSIGN_FORBIDDEN;
                if (j < m && i < s->count[k - 1]) {
                    vt_vec3 e = vt_v3_sub(d[j].pos, prev[i].pos);
                    double d2 = vt_v3_dot(e, e);
                    c = d2 < 25.0 ? d2 : VT_ASSIGN_FORBIDDEN;
                } else if (j >= m) {
                    c = 25.0;
                }
                cost[(size_t)i * (size_t)mcols + (size_t)j] = c;
            }
        t0 = cpu_now();
        vt_assign(cost, n, mcols, r2c, NULL);
        total += cpu_now() - t0;
    }
    printf("dense %5d  %9.1f   (one %d x %d vt_assign per update, assignment only)\n", n,
           total / frames * 1e6, n, mcols);
    free(cost);
    free(r2c);
}

int main(void)
{
    static const int sizes[] = {10, 100, 250, 1000};
    printf("tracker update, one core, %d updates after %d warm-up; 30 Hz, 0.3 m noise, "
           "Pd 0.97, %d clutter/update\n",
           RUN, WARMUP, NCLUTTER);
    printf("kind  targets median_us   mean_us    p99_us   confirmed  id_switches\n");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        scene s;
        make_scene(&s, sizes[i], WARMUP + RUN);
        run(&s, VT_TRACKER_GNN);
        run(&s, VT_TRACKER_MHT);
        run_dense(&s);
        free(s.dets);
        free(s.truth);
        free(s.count);
    }
    return 0;
}
