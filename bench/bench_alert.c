/*
 * bench/bench_alert.c - microseconds per vt_alerts_update with 250 tracks
 * and N zone rules (1, 4, 16, 64), plus one camera_offline, one fps and one
 * latency rule, on one core.
 *
 * The scene: 250 confirmed tracks on random walks in a 2 x 2 km area at
 * 50-400 m altitude, 4 cameras (one drops out now and then), 30 frame sets
 * a second. Each zone is a concave 12-pointed star of 150-300 m radius at a
 * random place, with an altitude band, so that tracks keep entering and
 * leaving (and alerts keep raising and clearing). No channels: this is the
 * cost on the pipeline's thread (the notifier's work is on its own thread).
 * After WARMUP updates the next RUN updates are timed one by one with the
 * thread's CPU time (the machine is shared): median, mean, 99th percentile.
 * The program prints figures; it never fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "voxtrack/alert.h"

enum { NTRACKS = 250, NCAMS = 4, WARMUP = 300, RUN = 3000 };

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(double lo, double hi)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return lo + (hi - lo) * (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long events;

static void count_event(void *user, const vt_alert_event *e)
{
    (void)user;
    (void)e;
    events++;
}

/* The rules text: n stars, and the three other kinds. */
static char *rules_json(int n)
{
    size_t cap = 4096 + (size_t)n * 1024, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "{\"rules\": [");
    for (int z = 0; z < n; z++) {
        double cx = uniform(-800, 800), cy = uniform(-800, 800), r = uniform(150, 300);
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"name\": \"zone%d\", \"kind\": \"zone\", \"altitude\": [0, %d], "
                                "\"polygon\": [",
                                z, z % 2 ? 300 : 1000);
        for (int k = 0; k < 24; k++) {
            double a = k * VT_PI / 12, rr = k % 2 ? r * 0.45 : r;
            len += (size_t)snprintf(s + len, cap - len, "%s[%.2f, %.2f]", k ? ", " : "",
                                    cx + rr * cos(a), cy + rr * sin(a));
        }
        len += (size_t)snprintf(s + len, cap - len, "]}, ");
    }
    snprintf(s + len, cap - len,
             "{\"name\": \"down\", \"kind\": \"camera_offline\", \"after_s\": 0.5},"
             "{\"name\": \"slow\", \"kind\": \"fps\", \"min\": 20},"
             "{\"name\": \"lag\", \"kind\": \"latency\", \"max_ms\": 50}]}");
    return s;
}

static void run(int nzones)
{
    vt_rig rig;
    vt_rig_init(&rig);
    for (int i = 0; i < NCAMS; i++) {
        vt_rig_camera c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "c%d", i);
        c.bits = 8;
        vt_rig_add(&rig, &c);
    }
    char *json = rules_json(nzones);
    vt_alerts *a = NULL;
    if (vt_alerts_new(json, "bench", &rig, &a) != VT_OK) {
        fprintf(stderr, "bench_alert: %s\n", vt_last_error());
        exit(1);
    }
    vt_alerts_set_quiet(a, true);
    vt_alerts_on_event(a, count_event, NULL);
    vt_track tracks[NTRACKS];
    vt_target_class classes[NTRACKS];
    vt_vec3 vel[NTRACKS];
    for (int i = 0; i < NTRACKS; i++) {
        memset(&tracks[i], 0, sizeof tracks[i]);
        tracks[i].id = (uint64_t)i + 1;
        tracks[i].status = VT_TRACK_CONFIRMED;
        tracks[i].pos = (vt_vec3){uniform(-1000, 1000), uniform(-1000, 1000), uniform(50, 400)};
        vel[i] = (vt_vec3){uniform(-15, 15), uniform(-15, 15), uniform(-2, 2)};
        classes[i] = i % 5 ? VT_CLASS_DRONE : VT_CLASS_BIRD;
    }
    vt_camera_result cams[NCAMS];
    memset(cams, 0, sizeof cams);
    static double times[RUN];
    events = 0;
    for (int f = 0; f < WARMUP + RUN; f++) {
        double t = f / 30.0;
        for (int i = 0; i < NTRACKS; i++) {
            vel[i].x += uniform(-1, 1);
            vel[i].y += uniform(-1, 1);
            tracks[i].pos.x = fmax(-1000, fmin(1000, tracks[i].pos.x + vel[i].x / 30));
            tracks[i].pos.y = fmax(-1000, fmin(1000, tracks[i].pos.y + vel[i].y / 30));
            tracks[i].pos.z += vel[i].z / 30;
        }
        for (int c = 0; c < NCAMS; c++)
            cams[c].present = !(c == 3 && (f / 90) % 4 == 3);
        vt_pipeline_result r;
        memset(&r, 0, sizeof r);
        r.frame = f;
        r.t = t;
        r.tracks = tracks;
        r.classes = classes;
        r.ntracks = NTRACKS;
        r.cameras = cams;
        r.ncameras = NCAMS;
        r.seconds = 0.02 + (f % 97 == 0 ? 0.05 : 0);
        double t0 = cpu_seconds();
        vt_alerts_update(a, &r);
        if (f >= WARMUP)
            times[f - WARMUP] = cpu_seconds() - t0;
    }
    double sum = 0;
    for (int i = 0; i < RUN; i++)
        sum += times[i];
    qsort(times, RUN, sizeof times[0], cmp_double);
    printf("%3d zone rules + 3 others, %d tracks: median %6.1f us  mean %6.1f us  p99 %6.1f us"
           "  (%ld events in %d frame sets)\n",
           nzones, NTRACKS, times[RUN / 2] * 1e6, sum / RUN * 1e6, times[RUN * 99 / 100] * 1e6,
           events, WARMUP + RUN);
    vt_alerts_free(a);
    vt_rig_free(&rig);
    free(json);
}

int main(void)
{
    int n[] = {1, 4, 16, 64};
    for (int i = 0; i < 4; i++)
        run(n[i]);
    return 0;
}
