/*
 * bench/bench_sapient.c - the SAPIENT sensor node's cost on the pipeline's
 * thread and its throughput to a fusion node, beside CoT over TCP (the other
 * per-track output, bench_cot) on the same frame sets.
 *
 * A fusion node on 127.0.0.1 (a thread of this program) accepts the node,
 * answers its Registration and then only drains its socket. The node
 * publishes frame sets of 250 confirmed tracks; the figures are the time
 * vt_sapient_publish takes (conversion to WGS84, building and encoding each
 * DetectionReport, queueing: what the pipeline pays), the time until every
 * report was written to the socket, and the bytes per report. Figures only;
 * it never fails.
 *
 * Usage: bench_sapient [frame sets (default 200)]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "voxtrack/cot.h"
#include "voxtrack/sapient.h"

#define NTRACKS 250

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct peer {
    int lfd, fd;
    bool sapient; /* answer the first message (the Registration) with a RegistrationAck */
    atomic_bool stop;
    atomic_ullong bytes;
} peer;

/* A RegistrationAck that accepts: SapientMessage{registration_ack(5){acceptance(1): true}}. */
static const unsigned char ack[] = {4, 0, 0, 0, 0x2a, 0x02, 0x08, 0x01};

static void *peer_main(void *arg)
{
    peer *p = arg;
    p->fd = accept(p->lfd, NULL, NULL);
    struct timeval tv = {0, 100000};
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static char buf[1 << 16];
    bool acked = !p->sapient;
    while (!atomic_load(&p->stop)) {
        ssize_t r = recv(p->fd, buf, sizeof buf, 0);
        if (r > 0) {
            atomic_fetch_add(&p->bytes, (unsigned long long)r);
            if (!acked) {
                send(p->fd, ack, sizeof ack, MSG_NOSIGNAL);
                acked = true;
            }
        } else if (r == 0) {
            break;
        }
    }
    return NULL;
}

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    listen(fd, 1);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
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
                       .hits = 20,
                       .age = 24,
                       .accel_rms = 0.8f};
        cls[i] = VT_CLASS_DRONE;
    }
}

static void bench(const char *kind, const vt_rig *rig, vt_pipeline_result *r, int sets)
{
    int port;
    peer p = {.lfd = listener(&port), .sapient = kind[0] == 's'};
    pthread_t th;
    pthread_create(&th, NULL, peer_main, &p);
    char url[128];
    vt_sapient *s = NULL;
    vt_cot_sender *c = NULL;
    vt_status st;
    if (p.sapient) {
        snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d?wait=10&queue=65536&linger=60", port);
        st = vt_sapient_open(url, rig, NULL, &s);
    } else {
        snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
        vt_cot_opts o = vt_cot_opts_default();
        o.min_interval_s = 0;
        o.utc_offset_s = 0;
        o.queue = 65536;
        st = vt_cot_sender_open(url, rig, &o, &c);
    }
    if (st) {
        printf("%s: %s\n", url, vt_last_error());
        return;
    }
    double a = now_s();
    for (int k = 0; k < sets; k++) {
        r->t = k / 30.0;
        if (s)
            vt_sapient_publish(s, r);
        else
            vt_cot_publish(c, r);
    }
    double made = now_s() - a;
    unsigned long long sent = 0, dropped = 0, want = (unsigned long long)sets * NTRACKS;
    for (;;) { /* until every report is on the socket (or 30 s) */
        if (s) {
            vt_sapient_stats ss;
            vt_sapient_get_stats(s, &ss);
            sent = ss.sent > ss.statuses + 1 ? ss.sent - ss.statuses - 1 : 0; /* reports */
            dropped = ss.dropped;
            if (ss.sent >= ss.detections + ss.statuses + 1 || now_s() - a > 30)
                break;
        } else {
            vt_cot_stats cs;
            vt_cot_sender_stats(c, &cs);
            sent = cs.sent;
            dropped = cs.dropped;
            if (cs.sent + cs.dropped >= want || now_s() - a > 30)
                break;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    double all = now_s() - a;
    unsigned long long bytes = atomic_load(&p.bytes);
    printf("%-8s %d frame sets x %d tracks: publish %.2f us per track (%.1f ms per frame set), "
           "all written in %.3f s (%.0f reports/s), %.0f bytes per report, %llu sent, "
           "%llu dropped\n",
           kind, sets, NTRACKS, made / want * 1e6, made / sets * 1e3, all, want / all,
           (double)bytes / (double)want, sent, dropped);
    vt_sapient_free(s);
    vt_cot_sender_free(c);
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    close(p.fd);
    close(p.lfd);
}

int main(int argc, char **argv)
{
    int sets = argc > 1 ? atoi(argv[1]) : 200;
    if (sets < 1)
        sets = 200;
    static vt_track t[NTRACKS];
    static vt_target_class cls[NTRACKS];
    static vt_camera_result cams[4] = {
        {.present = true}, {.present = true}, {.present = true}, {.present = true}};
    make_tracks(t, cls);
    vt_rig rig;
    memset(&rig, 0, sizeof rig);
    rig.has_origin = true;
    rig.lat_deg = 51.4778;
    rig.lon_deg = -0.0015;
    rig.height_m = 45;
    vt_pipeline_result r = {.tracks = t,
                            .classes = cls,
                            .ntracks = NTRACKS,
                            .cameras = cams,
                            .ncameras = 0,
                            .cameras_live = 0};
    bench("sapient", &rig, &r, sets);
    bench("cot+tcp", &rig, &r, sets);
    return 0;
}
