/*
 * fuzz/fuzz_transport.c - libFuzzer target for every transport's receive
 * path (vt_receiver_open / vt_receiver_next, voxtrack/transport.h; the bytes
 * are in docs/TRANSPORTS.md): what arrives is the input, through the real
 * file, socket or shared-memory segment.
 *
 * The first byte picks the transport, the rest is what arrives:
 *   0  file://  the rest is the log file (length-prefixed records);
 *   1  udp://   the rest is datagrams, each a 2-byte little-endian length and
 *               its bytes, sent over loopback to a receiver on an ephemeral port;
 *   2  tcp://   the rest is the byte stream a server sends and then closes;
 *   3  shm://   a ring of 4096 bytes: the rest gives the producer's claim,
 *               write and last positions (3 x 2 bytes, relative to where the
 *               reader attached) and then the ring's bytes.
 * Every receiver must take it all without an error (garbage is counted, not
 * returned), within a bounded number of calls, and give messages no longer
 * than the transport's limit; the LZ4-flagged ones are decompressed on the
 * way. Anything else, a crash, a hang, a sanitizer report or a leak, is a
 * bug. Built and run by scripts/fuzz (loopback and /dev/shm needed).
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "voxtrack/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_CALLS = 100000, SHM_HEADER = 4096, SHM_CAP = 4096 };

/* Takes what the receiver has now: messages until one call returns none (or the end). */
static void drain(vt_receiver *r, bool until_end)
{
    for (int calls = 0; calls < MAX_CALLS; calls++) {
        vt_msg_type type;
        const uint8_t *msg;
        size_t len;
        bool end = false;
        vt_status s = vt_receiver_next(r, 0, &type, &msg, &len, &end);
        if (s != VT_OK) {
            fprintf(stderr, "fuzz_transport: %s: %s\n", vt_status_name(s), vt_last_error());
            abort();
        }
        if (len > VT_TRANSPORT_MAX_MESSAGE || (len && !msg))
            abort();
        if (end || (!until_end && type == 0 && len == 0))
            return;
    }
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    fprintf(stderr,
            "fuzz_transport: no end after %d calls (received %llu, lost %llu, duplicates %llu, "
            "garbage %llu, overruns %llu, reconnects %llu)\n",
            MAX_CALLS, (unsigned long long)st.received, (unsigned long long)st.lost,
            (unsigned long long)st.duplicates, (unsigned long long)st.garbage,
            (unsigned long long)st.overruns, (unsigned long long)st.reconnects);
    abort();
}

static vt_receiver *open_receiver(const char *url)
{
    vt_receiver *r;
    if (vt_receiver_open(url, &r) != VT_OK) {
        fprintf(stderr, "fuzz_transport: %s: %s\n", url, vt_last_error());
        abort();
    }
    return r;
}

static void by_file(const uint8_t *p, size_t n)
{
    char url[4300];
    snprintf(url, sizeof url, "file://%s", fuzz_file("log.vxt", p, n));
    vt_receiver *r = open_receiver(url);
    drain(r, true);
    vt_receiver_free(r);
}

static void by_udp(const uint8_t *p, size_t n)
{
    vt_receiver *r = open_receiver("udp://127.0.0.1:0");
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)vt_receiver_port(r))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        abort();
    while (n >= 2) {
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        n -= 2;
        len = len < n ? len : n;
        /* Loopback queues a datagram before sendto returns (or drops it when the buffer is full).
         */
        (void)sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof to);
        p += len;
        n -= len;
        drain(r, false);
    }
    close(fd);
    drain(r, false);
    vt_receiver_free(r);
}

static void by_tcp(const uint8_t *p, size_t n)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0)
        abort();
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    vt_receiver *r = open_receiver(url);
    drain(r, false); /* starts the connection */
    int cfd = accept(lfd, NULL, NULL);
    close(lfd); /* the receiver's reconnects are refused from now on */
    if (cfd < 0)
        abort();
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(cfd, p + done, n - done, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the receiver hung up (bad length): what it got is what counts */
        done += (size_t)w;
        drain(r, false);
    }
    close(cfd);
    drain(r, false);
    vt_receiver_free(r);
}

static uint64_t take16(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    if (*n >= 2) {
        v = (uint64_t)(*p)[0] | (uint64_t)(*p)[1] << 8;
        *p += 2;
        *n -= 2;
    }
    return v;
}

/* The producer's header (src/stream/shm.c, docs/TRANSPORTS.md) at its byte offsets. */
static void put32(uint8_t *h, size_t off, uint32_t v)
{
    memcpy(h + off, &v, 4);
}
static void put64(uint8_t *h, size_t off, uint64_t v)
{
    memcpy(h + off, &v, 8);
}

static void by_shm(const uint8_t *p, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "/vt-fuzz-%ld", (long)getpid());
    int fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, SHM_HEADER + SHM_CAP) != 0)
        abort();
    uint8_t *m = mmap(NULL, SHM_HEADER + SHM_CAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        abort();
    /* A live segment whose writer starts a little way in, so that positions can also lie
       behind the reader's. */
    const uint64_t base = 3 * SHM_CAP;
    memcpy(m, "VXTSHM1", 8);
    put32(m, 8, 1);           /* version */
    put32(m, 12, SHM_HEADER); /* header_bytes */
    put64(m, 16, SHM_CAP);    /* capacity */
    put32(m, 24, 0x5eed);     /* stream_id */
    put32(m, 28, 1);          /* state: live */
    put64(m, 64, base);       /* claim */
    put64(m, 72, base);       /* write_pos */
    put64(m, 80, base);       /* last_pos */
    char url[80];
    snprintf(url, sizeof url, "shm://%s", name + 1);
    vt_receiver *r = open_receiver(url);
    drain(r, false); /* attaches at write_pos */
    uint64_t claim = take16(&p, &n), w = take16(&p, &n), last = take16(&p, &n);
    memcpy(m + SHM_HEADER, p, n < SHM_CAP ? n : SHM_CAP);
    put64(m, 64, base - SHM_CAP + claim);
    put64(m, 80, base - SHM_CAP + last);
    put64(m, 72, base - SHM_CAP + w);
    drain(r, false);
    put32(m, 28, 2); /* closed: the reader lets go */
    drain(r, false);
    vt_receiver_free(r);
    munmap(m, SHM_HEADER + SHM_CAP);
    shm_unlink(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        by_file(data + 1, size - 1);
        break;
    case 1:
        by_udp(data + 1, size - 1);
        break;
    case 2:
        by_tcp(data + 1, size - 1);
        break;
    default:
        by_shm(data + 1, size - 1);
        break;
    }
    return 0;
}
