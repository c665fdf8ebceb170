/*
 * bench/bench_transport.c - messages per second through the transports on
 * one machine: the shared-memory ring (producer alone, and producer and
 * consumer in two processes), UDP and TCP on loopback (sender and receiver
 * threads of one process). 64-byte messages, like a small TrackBatch.
 *
 *   bench_transport [MESSAGES]     (default 2,000,000 for shm; UDP and TCP a tenth)
 *
 * It prints figures and never fails. The reference is the predecessor's
 * claim of 125,000 messages/s over shared memory; the target is
 * 1,000,000. Senders never wait, so for UDP and TCP the figures show what
 * got through as well as how fast the sender went.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxtrack/transport.h"

enum { MSG = 64 };

static void die(const char *what, vt_status s)
{
    fprintf(stderr, "bench_transport: %s: %s\n", what,
            *vt_last_error() ? vt_last_error() : vt_strerror(s));
    exit(1);
}

static double send_n(vt_sender *s, long n)
{
    uint8_t m[MSG];
    memset(m, 7, sizeof m);
    double t0 = vt__now();
    for (long i = 0; i < n; i++) {
        memcpy(m, &i, sizeof i);
        vt_status st = vt_sender_send(s, VT_MSG_TRACK_BATCH, m, sizeof m);
        if (st != VT_OK)
            die("send", st);
    }
    return vt__now() - t0;
}

/* ---- shared memory ---------------------------------------------------------- */

static void bench_shm(long n)
{
    char url[128];
    snprintf(url, sizeof url, "shm://vt_bench_%d?bytes=%ld", (int)getpid(), 256l << 20);
    vt_sender *s = NULL;
    vt_status st = vt_sender_open(url, &s);
    if (st != VT_OK)
        die(url, st);
    double alone = send_n(s, n);
    printf("shm   producer alone      %10.0f messages/s  (%ld x %d B, %.3f s)\n", n / alone, n, MSG,
           alone);
    vt_sender_free(s);

    /* Two processes; the ring (256 MiB) holds every record, so nothing is overrun. */
    if ((st = vt_sender_open(url, &s)) != VT_OK)
        die(url, st);
    int ready[2], result[2];
    if (pipe(ready) || pipe(result))
        exit(1);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        vt_receiver *r = NULL;
        vt_msg_type type;
        const uint8_t *msg;
        size_t len;
        bool end;
        if (vt_receiver_open(url, &r) != VT_OK || vt_receiver_next(r, 0, &type, &msg, &len, &end))
            _exit(1);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        double t0 = 0;
        long got = 0;
        while (got < n) {
            if (vt_receiver_next(r, 5000, &type, &msg, &len, &end) != VT_OK || type == 0)
                break;
            if (got++ == 0)
                t0 = vt__now();
        }
        vt_receiver_stats rs;
        vt_receiver_get_stats(r, &rs);
        double out[4] = {vt__now() - t0, (double)got, (double)rs.lost, (double)rs.overruns};
        if (write(result[1], out, sizeof out) != sizeof out)
            _exit(1);
        vt_receiver_free(r);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        exit(1);
    double produce = send_n(s, n);
    double out[4] = {0};
    if (read(result[0], out, sizeof out) != sizeof out)
        fprintf(stderr, "bench_transport: the shm consumer failed\n");
    waitpid(pid, NULL, 0);
    vt_sender_free(s);
    printf("shm   producer, 2 procs   %10.0f messages/s\n", n / produce);
    printf("shm   consumer, 2 procs   %10.0f messages/s  (%.0f received, %.0f lost, %.0f "
           "overruns)\n",
           out[1] / (out[0] > 0 ? out[0] : 1), out[1], out[2], out[3]);
}

/* ---- UDP and TCP: a receiver thread ---------------------------------------------- */

typedef struct rx {
    vt_receiver *r;
    long want;
    atomic_long got;
    double first, last;
    vt_receiver_stats st;
} rx;

static void *rx_thread(void *arg)
{
    rx *x = arg;
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    bool end;
    while (atomic_load(&x->got) < x->want) {
        /* 300 ms of silence: the sender is done and the rest was dropped. */
        if (vt_receiver_next(x->r, 300, &type, &msg, &len, &end) != VT_OK)
            break;
        if (type == 0) {
            if (atomic_load(&x->got) > 0)
                break;
            continue;
        }
        if (atomic_fetch_add(&x->got, 1) == 0)
            x->first = vt__now();
        x->last = vt__now();
    }
    vt_receiver_get_stats(x->r, &x->st);
    return NULL;
}

static void report(const char *name, long n, double dt, rx *x, const vt_sender_stats *ss)
{
    long got = atomic_load(&x->got);
    double span = x->last - x->first;
    printf("%-5s sender              %10.0f messages/s  (%ld x %d B, %.3f s, %llu dropped)\n", name,
           n / dt, n, MSG, dt, (unsigned long long)ss->dropped);
    printf("%-5s receiver            %10.0f messages/s  (%ld received = %.1f%%, %llu lost)\n", name,
           span > 0 ? got / span : 0.0, got, 100.0 * got / n, (unsigned long long)x->st.lost);
}

static void bench_udp(long n)
{
    vt_receiver *r = NULL;
    vt_status st = vt_receiver_open("udp://127.0.0.1:0", &r);
    if (st != VT_OK)
        die("udp receiver", st);
    char url[64];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", vt_receiver_port(r));
    vt_sender *s = NULL;
    if ((st = vt_sender_open(url, &s)) != VT_OK)
        die(url, st);
    rx x = {.r = r, .want = n};
    pthread_t t;
    pthread_create(&t, NULL, rx_thread, &x);
    double dt = send_n(s, n);
    pthread_join(t, NULL);
    vt_sender_stats ss;
    vt_sender_get_stats(s, &ss);
    report("udp", n, dt, &x, &ss);
    vt_sender_free(s);
    vt_receiver_free(r);
}

static void bench_tcp(long n, const char *params)
{
    char url[128];
    snprintf(url, sizeof url, "tcp://127.0.0.1:0%s", params);
    vt_sender *s = NULL;
    vt_status st = vt_sender_open(url, &s);
    if (st != VT_OK)
        die(url, st);
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", vt_sender_port(s));
    vt_receiver *r = NULL;
    if ((st = vt_receiver_open(url, &r)) != VT_OK)
        die(url, st);
    vt_sender_stats ss;
    for (int i = 0; i < 200; i++) { /* connect before sending */
        vt_msg_type type;
        const uint8_t *msg;
        size_t len;
        bool end;
        vt_receiver_next(r, 10, &type, &msg, &len, &end);
        vt_sender_get_stats(s, &ss);
        if (ss.clients == 1)
            break;
    }
    rx x = {.r = r, .want = n};
    pthread_t t;
    pthread_create(&t, NULL, rx_thread, &x);
    double dt = send_n(s, n);
    pthread_join(t, NULL);
    vt_sender_get_stats(s, &ss);
    char name[16];
    snprintf(name, sizeof name, "tcp");
    printf("tcp   (queue %s)\n", *params ? params + 1 : "default: 1024 messages");
    report(name, n, dt, &x, &ss);
    vt_receiver_free(r);
    vt_sender_free(s);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n < 10)
        n = 10;
    bench_shm(n);
    bench_udp(n / 10);
    bench_tcp(n / 10, "");
    bench_tcp(n / 10, "?queue=1048576&queue_bytes=1073741824");
    return 0;
}
