/*
 * bench/bench_monitor.c - what monitoring costs the pipeline: the time of
 * vt_monitor_publish for one frame set (250 tracks, 20 cameras) with no
 * client, and with /events clients and a poller of /api/tracks connected;
 * and what the reading side costs: rendering /api/tracks and the SSE state.
 *
 *   bench_monitor [TRACKS] [CAMERAS] [SSE_CLIENTS]
 *
 * Prints figures; compare the publish time with a frame set's processing
 * time (the pipeline's p50 latency) to get the overhead.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "voxtrack/voxtrack.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static atomic_bool stop;
static int port;
static atomic_long bytes_read, polls;

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    bytes_read += (long)(s * n);
    return stop ? 0 : s * n;
}

static void *sse_client(void *arg)
{
    (void)arg;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/events", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static void *poller(void *arg)
{
    (void)arg;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/tracks", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    while (!stop) {
        curl_easy_perform(c);
        polls++;
        struct timespec ts = {0, 10 * 1000 * 1000}; /* ~100 requests a second */
        nanosleep(&ts, NULL);
    }
    curl_easy_cleanup(c);
    return NULL;
}

typedef struct scene {
    vt_track *tracks;
    vt_target_class *classes;
    float *flicker;
    vt_camera_result *cams;
    size_t ntracks;
    int ncams;
} scene;

static vt_pipeline_result make(scene *s, int n)
{
    for (size_t i = 0; i < s->ntracks; i++)
        s->tracks[i] = (vt_track){.id = i + 1,
                                  .status = VT_TRACK_CONFIRMED,
                                  .pos = vt_v3((double)i, n * 0.1, 100),
                                  .vel = vt_v3(3, 0, 0),
                                  .cams = 4,
                                  .thermal_hits = 1};
    for (int c = 0; c < s->ncams; c++)
        s->cams[c] = (vt_camera_result){.present = true, .changes = 100, .blobs = 10, .rays = 10};
    return (vt_pipeline_result){.frame = n,
                                .t = n / 30.0,
                                .tracks = s->tracks,
                                .classes = s->classes,
                                .flicker = s->flicker,
                                .ntracks = s->ntracks,
                                .cameras = s->cams,
                                .ncameras = s->ncams,
                                .cameras_live = s->ncams,
                                .seconds = 0.01,
                                .stage_seconds = {0.004, 0.004, 0.001, 0.001}};
}

/* Mean time of vt_monitor_publish over `sets` frame sets, paced at `hz`. */
static double time_publish(vt_monitor *m, scene *s, int sets, double hz)
{
    double total = 0;
    for (int n = 0; n < sets; n++) {
        vt_pipeline_result r = make(s, n);
        double t0 = now();
        vt_monitor_publish(m, &r);
        total += now() - t0;
        if (hz > 0) {
            struct timespec ts = {0, (long)(1e9 / hz)};
            nanosleep(&ts, NULL);
        }
    }
    return total / sets;
}

int main(int argc, char **argv)
{
    int ntracks = argc > 1 ? atoi(argv[1]) : 250;
    int ncams = argc > 2 ? atoi(argv[2]) : 20;
    int nsse = argc > 3 ? atoi(argv[3]) : 4;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    vt_rig rig;
    vt_rig_init(&rig);
    for (int i = 0; i < ncams; i++) {
        vt_rig_camera c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "m%d", i);
        c.bits = 8;
        c.cam = (vt_camera){.width = 1920,
                            .height = 1080,
                            .fx = 2000,
                            .fy = 2000,
                            .cx = 960,
                            .cy = 540,
                            .q = {1, 0, 0, 0}};
        vt_camera_init(&c.cam);
        vt_rig_add(&rig, &c);
    }
    scene s = {.ntracks = (size_t)ntracks, .ncams = ncams};
    s.tracks = calloc((size_t)ntracks, sizeof *s.tracks);
    s.classes = calloc((size_t)ntracks, sizeof *s.classes);
    s.flicker = calloc((size_t)ntracks, sizeof *s.flicker);
    s.cams = calloc((size_t)ncams, sizeof *s.cams);

    vt_monitor *m;
    vt_monitor_opts mo = vt_monitor_opts_default();
    if (vt_monitor_new(&mo, &rig, &m)) {
        fprintf(stderr, "bench_monitor: %s\n", vt_last_error());
        return 1;
    }
    printf("monitor: %d tracks, %d cameras per frame set\n", ntracks, ncams);
    time_publish(m, &s, 200, 0); /* warm up: buffers grown */
    printf("publish, no server            %8.2f us per frame set\n",
           1e6 * time_publish(m, &s, 5000, 0));

    double t0 = now();
    char *text;
    size_t len;
    int reps = 0;
    for (; now() - t0 < 1.0; reps++) {
        vt_pipeline_result r = make(&s, reps);
        vt_monitor_publish(m, &r); /* a new version: the cache is rebuilt */
        vt_monitor_render(m, "tracks", &text, &len);
        free(text);
    }
    printf("render /api/tracks            %8.2f us (%zu bytes)\n", 1e6 * (now() - t0) / reps, len);
    t0 = now();
    for (reps = 0; now() - t0 < 1.0; reps++) {
        vt_pipeline_result r = make(&s, reps);
        vt_monitor_publish(m, &r);
        vt_monitor_render(m, "state", &text, &len);
        free(text);
    }
    printf("render SSE state              %8.2f us (%zu bytes)\n", 1e6 * (now() - t0) / reps, len);

    vt_monitor_server *srv;
    vt_monitor_server_opts so = vt_monitor_server_opts_default();
    so.listen = "127.0.0.1:0";
    if (vt_monitor_server_start(m, &so, &srv)) {
        fprintf(stderr, "bench_monitor: %s\n", vt_last_error());
        return 1;
    }
    port = vt_monitor_server_port(srv);
    pthread_t th[17];
    int nth = nsse < 16 ? nsse : 16;
    for (int i = 0; i < nth; i++)
        pthread_create(&th[i], NULL, sse_client, NULL);
    pthread_create(&th[nth], NULL, poller, NULL);
    struct timespec settle = {0, 300 * 1000 * 1000};
    nanosleep(&settle, NULL);
    double pub = time_publish(m, &s, 600, 30); /* the pipeline's pace: 30 sets/s, 20 s */
    stop = true;
    vt_monitor_counts k = vt_monitor_counts_get(m);
    printf("publish, %d SSE clients + a poller at ~100 req/s, 30 sets/s\n"
           "                              %8.2f us per frame set (%ld polls, %.1f MB sent)\n",
           nth, 1e6 * pub, (long)polls, bytes_read / 1e6);
    vt_monitor_server_stop(srv);
    for (int i = 0; i <= nth; i++)
        pthread_join(th[i], NULL);
    printf("requests served               %lld\n", (long long)k.requests);
    vt_monitor_free(m);
    vt_rig_free(&rig);
    free(s.tracks);
    free(s.classes);
    free(s.flicker);
    free(s.cams);
    curl_global_cleanup();
    return 0;
}
