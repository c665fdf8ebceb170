/*
 * bench/bench_cot.c - Cursor-on-Target throughput: the parts and the whole.
 *
 * Prints ns per ENU -> WGS84 conversion (PROJ, with the refinement step), ns
 * per event formatted as XML, and events/s of vt_cot_publish for frame sets
 * of 250 confirmed tracks sent over UDP and over TCP to a reader on
 * 127.0.0.1 that drains its socket on a thread of its own (so the figures
 * include the kernel's loopback path). Figures only; it never fails.
 *
 * Usage: bench_cot [frame sets (default 200)]
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "voxtrack/cot.h"
#include "voxtrack/geodetic.h"

#define NTRACKS 250

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct drain {
    int fd;
    volatile int stop;
    unsigned long long bytes;
} drain;

static void *drain_main(void *arg)
{
    drain *d = arg;
    static char buf[1 << 16];
    while (!d->stop) {
        ssize_t r = recv(d->fd, buf, sizeof buf, 0);
        if (r > 0)
            d->bytes += (unsigned long long)r;
        else if (r == 0)
            break;
    }
    return NULL;
}

static int bound_socket(int type, int *port)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void make_tracks(vt_track *t, vt_target_class *cls)
{
    srand(1);
    for (int i = 0; i < NTRACKS; i++) {
        t[i] =
            (vt_track){.id = (uint64_t)i + 1,
                       .status = VT_TRACK_CONFIRMED,
                       .pos = {rand() % 10000 - 5000.0, rand() % 10000 - 5000.0, 50 + rand() % 500},
                       .vel = {rand() % 40 - 20.0, rand() % 40 - 20.0, rand() % 4 - 2.0},
                       .cov = {4, 0.5, 0, 3, 0, 9},
                       .cams = 4,
                       .thermal_hits = 1};
        cls[i] = VT_CLASS_DRONE;
    }
}

static void bench_publish(const char *kind, vt_rig *rig, vt_track *t, vt_target_class *cls,
                          int sets)
{
    int port, type = strcmp(kind, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    int lfd = bound_socket(type, &port);
    char url[64];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d", kind, port);
    vt_cot_opts o = vt_cot_opts_default();
    o.min_interval_s = 0;
    o.utc_offset_s = 0;
    o.queue = 4096;
    drain d = {.fd = lfd};
    if (type == SOCK_STREAM)
        listen(lfd, 1);
    vt_cot_sender *c = NULL;
    if (vt_cot_sender_open(url, rig, &o, &c)) {
        printf("%s: %s\n", url, vt_last_error());
        return;
    }
    if (type == SOCK_STREAM) {
        d.fd = accept(lfd, NULL, NULL);
        struct timeval tv = {0, 100000};
        setsockopt(d.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    pthread_t th;
    pthread_create(&th, NULL, drain_main, &d);
    vt_pipeline_result r = {.tracks = t, .classes = cls, .ntracks = NTRACKS};
    double a = now_s();
    for (int k = 0; k < sets; k++) {
        r.t = k / 30.0;
        vt_cot_publish(c, &r);
    }
    double dt = now_s() - a;
    nanosleep(&(struct timespec){0, 300000000}, NULL);
    vt_cot_stats st;
    vt_cot_sender_stats(c, &st);
    printf("publish %s: %d frame sets x %d tracks in %.3f s: %.0f events/s made "
           "(%.2f us each); %llu sent, %llu dropped, %.1f MB received\n",
           kind, sets, NTRACKS, dt, sets * NTRACKS / dt, dt / (sets * NTRACKS) * 1e6,
           (unsigned long long)st.sent, (unsigned long long)st.dropped, d.bytes / 1e6);
    vt_cot_sender_free(c);
    d.stop = 1;
    pthread_join(th, NULL);
    if (d.fd != lfd)
        close(d.fd);
    close(lfd);
}

int main(int argc, char **argv)
{
    int sets = argc > 1 ? atoi(argv[1]) : 200;
    if (sets < 1)
        sets = 200;
    static vt_track t[NTRACKS];
    static vt_target_class cls[NTRACKS];
    make_tracks(t, cls);

    vt_geodetic *g = NULL;
    vt_geodetic_new(51.4778, -0.0015, 45, &g);
    int n = 200000;
    double sum = 0, a = now_s();
    for (int i = 0; i < n; i++) {
        double la, lo, h;
        vt_geodetic_from_enu(g, t[i % NTRACKS].pos, &la, &lo, &h);
        sum += la;
    }
    double dt = now_s() - a;
    printf("geodetic ENU -> WGS84 (PROJ, 3 transforms): %.0f ns per point (check %.3f)\n",
           dt / n * 1e9, sum / n);
    vt_geodetic_free(g);

    char buf[2048];
    vt_cot_event ev = {.uid = "voxtrack-1a2b3c4d-123",
                       .type = "a-u-A-M-H-Q",
                       .how = "m-f",
                       .time = 1795694400.0,
                       .start = 1795694400.0,
                       .stale = 1795694405.0,
                       .lat = 51.4778,
                       .lon = -0.0015,
                       .hae = 120,
                       .ce = 2,
                       .le = 3,
                       .course = 45,
                       .speed = 12,
                       .remarks = "voxtrack track 123 (drone): 4 cameras, thermal confirmed"};
    size_t len = 0, total = 0;
    a = now_s();
    for (int i = 0; i < n; i++) {
        ev.lat = 51.4778 + i * 1e-9;
        vt_cot_event_xml(&ev, buf, sizeof buf, &len);
        total += len;
    }
    dt = now_s() - a;
    printf("event XML: %.0f ns per event, %zu bytes each\n", dt / n * 1e9, total / n);

    vt_rig rig;
    memset(&rig, 0, sizeof rig);
    rig.has_origin = true;
    rig.lat_deg = 51.4778;
    rig.lon_deg = -0.0015;
    rig.height_m = 45;
    bench_publish("udp", &rig, t, cls, sets);
    bench_publish("tcp", &rig, t, cls, sets);
    return 0;
}
