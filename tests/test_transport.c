/*
 * tests/test_transport.c - the byte transports: URL errors, the frame header
 * and its CRC, UDP (unicast and multicast on loopback, a 100 kB message split
 * and reassembled, loss, duplicates and reordering from hand-made datagrams,
 * a missing fragment, garbage and truncated frames), TCP (delivery in order,
 * a stalled client that does not slow the producer, a receiver that
 * reconnects and resumes, a bad record skipped) and the binary file log
 * (replay, damaged and truncated records). Servers bind 127.0.0.1 port 0.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define VT_TEST_NAME "test_transport"
#include "core/internal.h"
#include "stream/transport_internal.h"
#include "vt_test.h"
#include "vt_test_tmp.h"

/* ---- helpers --------------------------------------------------------------- */

typedef struct got {
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    bool end;
} got;

static got next_msg(vt_receiver *r, int timeout_ms)
{
    got g;
    assert_int_equal(vt_receiver_next(r, timeout_ms, &g.type, &g.msg, &g.len, &g.end), VT_OK);
    return g;
}

static vt_receiver_stats stats_of(vt_receiver *r)
{
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    return st;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A UDP socket that sends raw datagrams to 127.0.0.1:port (the test's own frames). */
typedef struct raw_udp {
    int fd;
    struct sockaddr_in to;
} raw_udp;

static raw_udp raw_udp_open(int port)
{
    raw_udp u = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
    assert_true(u.fd >= 0);
    u.to.sin_family = AF_INET;
    u.to.sin_port = htons((uint16_t)port);
    u.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return u;
}

static void raw_send(raw_udp *u, const uint8_t *p, size_t n)
{
    assert_int_equal(sendto(u->fd, p, n, 0, (struct sockaddr *)&u->to, sizeof u->to), (ssize_t)n);
}

/* Sends one fragment of message `seq` (payload bytes = seq + offset). */
static void raw_fragment(raw_udp *u, uint32_t stream, uint64_t seq, uint32_t msg_len, uint32_t off,
                         uint32_t n, uint16_t index, uint16_t count)
{
    uint8_t buf[VT__FRAME_HEADER + 2048];
    for (uint32_t k = 0; k < n; k++)
        buf[VT__FRAME_HEADER + k] = (uint8_t)(seq + off + k);
    vt__frame f = {.type = VT_MSG_TRACK_BATCH,
                   .stream_id = stream,
                   .msg_len = msg_len,
                   .seq = seq,
                   .frag_off = off,
                   .frag_len = n,
                   .frag_index = index,
                   .frag_count = count};
    vt__frame_write(buf, &f, buf + VT__FRAME_HEADER);
    raw_send(u, buf, VT__FRAME_HEADER + n);
}

static void raw_message(raw_udp *u, uint32_t stream, uint64_t seq)
{
    raw_fragment(u, stream, seq, 16, 0, 16, 0, 1);
}

static vt_receiver *udp_receiver(int *port)
{
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open("udp://127.0.0.1:0", &r), VT_OK);
    *port = vt_receiver_port(r);
    assert_true(*port > 0);
    return r;
}

/* ---- URLs and frames --------------------------------------------------------- */

static void expect_open_error(const char *url, vt_status want, const char *words)
{
    vt_sender *s = (vt_sender *)1;
    vt_clear_error();
    assert_int_equal(vt_sender_open(url, &s), want);
    assert_null(s);
    if (!strstr(vt_last_error(), words)) {
        print_error("%s: message '%s' lacks '%s'\n", url, vt_last_error(), words);
        fail();
    }
}

static void transport_bad_urls_are_refused_with_what_is_wrong(void **state)
{
    (void)state;
    expect_open_error("nats://x:1", VT_EINVAL, "unknown scheme 'nats'");
    expect_open_error("127.0.0.1:9000", VT_EINVAL, "not a transport URL");
    expect_open_error("udp://127.0.0.1", VT_EINVAL, "no port");
    expect_open_error("udp://127.0.0.1:99999", VT_EINVAL, "99999");
    expect_open_error("udp://127.0.0.1:12x", VT_EINVAL, "'12x'");
    expect_open_error("udp://:5000", VT_EINVAL, "no host");
    expect_open_error("udp://127.0.0.1:5000?ttl=abc", VT_EINVAL, "ttl=abc");
    expect_open_error("udp://127.0.0.1:5000?ttl=300", VT_ERANGE, "ttl=300");
    expect_open_error("udp://127.0.0.1:5000?mtu=20", VT_ERANGE, "mtu=20");
    expect_open_error("udp://127.0.0.1:5000?colour=red", VT_EINVAL, "unknown parameter 'colour'");
    expect_open_error("udp://127.0.0.1:5000?ttl", VT_EINVAL, "NAME=VALUE");
    expect_open_error("udp://127.0.0.1:0", VT_EINVAL, "port other than 0");
    expect_open_error("udp://no.such.host.invalid:5000", VT_EINVAL, "no.such.host.invalid");
    expect_open_error("tcp://127.0.0.1:5000?queue=0", VT_ERANGE, "queue=0");
    expect_open_error("file://", VT_EINVAL, "no path");
    expect_open_error("file:///no/such/folder/log.bin", VT_ENOENT, "/no/such/folder/log.bin");
    vt_receiver *r = (vt_receiver *)1;
    assert_int_equal(vt_receiver_open("file:///no/such/log.bin", &r), VT_ENOENT);
    assert_null(r);
    assert_int_equal(vt_receiver_open("tcp://127.0.0.1:0", &r), VT_EINVAL);
}

static void transport_crc_is_zlibs_and_frames_round_trip(void **state)
{
    (void)state;
    assert_int_equal(vt__crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    uint8_t buf[VT__FRAME_HEADER + 5] = {0};
    memcpy(buf + VT__FRAME_HEADER, "hello", 5);
    vt__frame f = {.type = 3,
                   .stream_id = 0xDEADBEEF,
                   .msg_len = 10,
                   .seq = 0x0102030405060708ull,
                   .frag_off = 5,
                   .frag_len = 5,
                   .frag_index = 1,
                   .frag_count = 2},
              g;
    vt__frame_write(buf, &f, buf + VT__FRAME_HEADER);
    assert_memory_equal(buf, "VXT1", 4);
    assert_int_equal(vt__frame_read(buf, sizeof buf, &g), VT__FRAME_OK);
    assert_int_equal(g.seq, f.seq);
    assert_int_equal(g.stream_id, f.stream_id);
    assert_int_equal(g.frag_off, 5);
    assert_int_equal(g.frag_count, 2);
    assert_int_equal(vt__frame_read(buf, sizeof buf - 1, &g), VT__FRAME_TRUNCATED);
    buf[VT__FRAME_HEADER + 2] ^= 1;
    assert_int_equal(vt__frame_read(buf, sizeof buf, &g), VT__FRAME_GARBAGE);
}

/* ---- UDP ----------------------------------------------------------------------- */

static void udp_unicast_delivers_messages_in_order(void **state)
{
    (void)state;
    int port;
    vt_receiver *r = udp_receiver(&port);
    char url[64];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", port);
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    for (int i = 0; i < 3; i++) {
        uint8_t m[4] = {(uint8_t)i, 1, 2, 3};
        assert_int_equal(vt_sender_send(s, (vt_msg_type)(i + 1), m, sizeof m), VT_OK);
    }
    assert_int_equal(vt_sender_send(s, VT_MSG_HEALTH, NULL, 0), VT_OK); /* empty is fine */
    for (int i = 0; i < 3; i++) {
        got g = next_msg(r, 2000);
        assert_int_equal(g.type, i + 1);
        assert_int_equal(g.len, 4);
        assert_int_equal(g.msg[0], i);
        assert_int_equal(vt_receiver_seq(r), i);
    }
    got g = next_msg(r, 2000);
    assert_int_equal(g.type, VT_MSG_HEALTH);
    assert_int_equal(g.len, 0);
    g = next_msg(r, 20); /* nothing more: a timeout */
    assert_int_equal(g.type, 0);
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.received, 4);
    assert_int_equal(st.lost + st.garbage + st.duplicates, 0);
    assert_int_equal(vt_sender_send(s, (vt_msg_type)0, NULL, 0), VT_EINVAL);
    vt_sender_free(s);
    vt_receiver_free(r);
}

static void udp_multicast_on_loopback(void **state)
{
    (void)state;
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open("udp://239.255.77.1:0?iface=127.0.0.1", &r), VT_OK);
    int port = vt_receiver_port(r);
    char url[96];
    snprintf(url, sizeof url, "udp://239.255.77.1:%d?iface=127.0.0.1&ttl=0", port);
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    const uint8_t m[] = "group";
    assert_int_equal(vt_sender_send(s, VT_MSG_TRACK_BATCH, m, sizeof m), VT_OK);
    got g = next_msg(r, 2000);
    assert_int_equal(g.type, VT_MSG_TRACK_BATCH);
    assert_memory_equal(g.msg, m, sizeof m);
    vt_sender_free(s);
    vt_receiver_free(r);
}

static void udp_splits_a_100kb_message_and_reassembles_it(void **state)
{
    (void)state;
    int port;
    vt_receiver *r = udp_receiver(&port);
    enum { N = 100000 };
    uint8_t *big = malloc(N);
    assert_non_null(big);
    vt_test_seed(6);
    for (size_t i = 0; i < N; i++)
        big[i] = (uint8_t)(vt_test_uniform01() * 256);
    const char *mtus[] = {"", "?mtu=9000", "?mtu=100"};
    for (int k = 0; k < 3; k++) {
        char url[96];
        snprintf(url, sizeof url, "udp://127.0.0.1:%d%s", port, mtus[k]);
        vt_sender *s = NULL;
        assert_int_equal(vt_sender_open(url, &s), VT_OK);
        assert_int_equal(vt_sender_send(s, VT_MSG_VOXEL_CHUNK, big, N), VT_OK);
        got g = next_msg(r, 2000);
        assert_int_equal(g.type, VT_MSG_VOXEL_CHUNK);
        assert_int_equal(g.len, N);
        assert_memory_equal(g.msg, big, N);
        vt_sender_free(s);
    }
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.received, 3);
    assert_int_equal(st.lost + st.garbage, 0);
    assert_int_equal(st.restarts, 2); /* three senders, three stream ids */
    free(big);
    vt_receiver_free(r);
}

static void udp_counts_lost_duplicate_and_reordered_messages(void **state)
{
    (void)state;
    int port;
    vt_receiver *r = udp_receiver(&port);
    raw_udp u = raw_udp_open(port);
    const uint64_t order[] = {0, 1, 2, 5, 6, 3, 5, 7};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        raw_message(&u, 42, order[i]);
    const uint64_t want[] = {0, 1, 2, 5, 6, 3, 7}; /* the second 5 is a duplicate */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        got g = next_msg(r, 2000);
        assert_int_equal(g.len, 16);
        assert_int_equal(vt_receiver_seq(r), want[i]);
        assert_int_equal(g.msg[0], (uint8_t)want[i]);
    }
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.received, 7);
    assert_int_equal(st.lost, 1); /* 4 never came; 3 came late */
    assert_int_equal(st.reordered, 1);
    assert_int_equal(st.duplicates, 1);
    close(u.fd);
    vt_receiver_free(r);
}

static void udp_missing_fragment_drops_that_message_as_lost(void **state)
{
    (void)state;
    int port;
    vt_receiver *r = udp_receiver(&port);
    raw_udp u = raw_udp_open(port);
    raw_message(&u, 7, 0);
    /* message 1: three fragments, the middle one never sent */
    raw_fragment(&u, 7, 1, 300, 0, 100, 0, 3);
    raw_fragment(&u, 7, 1, 300, 200, 100, 2, 3);
    /* message 2: three fragments out of order, one twice */
    raw_fragment(&u, 7, 2, 250, 200, 50, 2, 3);
    raw_fragment(&u, 7, 2, 250, 0, 100, 0, 3);
    raw_fragment(&u, 7, 2, 250, 0, 100, 0, 3);
    raw_fragment(&u, 7, 2, 250, 100, 100, 1, 3);
    got g = next_msg(r, 2000);
    assert_int_equal(vt_receiver_seq(r), 0);
    g = next_msg(r, 2000);
    assert_int_equal(vt_receiver_seq(r), 2);
    assert_int_equal(g.len, 250);
    for (size_t k = 0; k < 250; k++)
        assert_int_equal(g.msg[k], (uint8_t)(2 + k));
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.received, 2);
    assert_int_equal(st.lost, 1);
    close(u.fd);
    vt_receiver_free(r);
}

static void udp_garbage_and_truncated_frames_are_counted_and_skipped(void **state)
{
    (void)state;
    int port;
    vt_receiver *r = udp_receiver(&port);
    raw_udp u = raw_udp_open(port);
    raw_send(&u, (const uint8_t *)"hello, world", 12); /* not a frame */
    uint8_t buf[VT__FRAME_HEADER + 100] = {0};
    vt__frame f = {.type = 1, .stream_id = 9, .msg_len = 100, .frag_len = 100, .frag_count = 1};
    vt__frame_write(buf, &f, buf + VT__FRAME_HEADER);
    raw_send(&u, buf, VT__FRAME_HEADER + 60); /* truncated */
    raw_send(&u, buf, 20);                    /* a header cut short */
    buf[VT__FRAME_HEADER + 5] = 1;            /* CRC no longer matches */
    raw_send(&u, buf, sizeof buf);
    raw_message(&u, 9, 1);
    got g = next_msg(r, 2000);
    assert_int_equal(g.len, 16);
    assert_int_equal(vt_receiver_seq(r), 1);
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.garbage, 4);
    assert_int_equal(st.truncated, 2);
    assert_int_equal(st.received, 1);
    close(u.fd);
    vt_receiver_free(r);
}

/* ---- TCP ------------------------------------------------------------------------ */

static vt_sender *tcp_sender(const char *params, int *port)
{
    char url[128];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d%s", *port, params);
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    *port = vt_sender_port(s);
    assert_true(*port > 0);
    return s;
}

static vt_receiver *tcp_receiver(int port)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    return r;
}

/* Waits until the sender has `n` clients. */
static void wait_clients(vt_sender *s, vt_receiver *r, uint64_t n)
{
    for (int i = 0; i < 500; i++) {
        vt_sender_stats st;
        vt_sender_get_stats(s, &st);
        if (st.clients == n)
            return;
        if (r)
            (void)next_msg(r, 10); /* lets the receiver connect */
        else
            sleep_ms(10);
    }
    fail_msg("the sender never had %d clients", (int)n);
}

static void tcp_delivers_in_order_to_every_client(void **state)
{
    (void)state;
    int port = 0;
    vt_sender *s = tcp_sender("", &port);
    vt_receiver *a = tcp_receiver(port), *b = tcp_receiver(port);
    (void)next_msg(a, 10);
    wait_clients(s, b, 2);
    for (uint32_t i = 0; i < 100; i++) {
        uint8_t m[64];
        memset(m, (int)i, sizeof m);
        assert_int_equal(vt_sender_send(s, VT_MSG_DETECTION_BATCH, m, 1 + i % 64), VT_OK);
    }
    for (int k = 0; k < 2; k++) {
        vt_receiver *r = k ? b : a;
        for (uint32_t i = 0; i < 100; i++) {
            got g = next_msg(r, 2000);
            assert_int_equal(g.type, VT_MSG_DETECTION_BATCH);
            assert_int_equal(g.len, 1 + i % 64);
            assert_int_equal(g.msg[0], (uint8_t)i);
            assert_int_equal(vt_receiver_seq(r), i);
        }
        assert_int_equal(stats_of(r).lost, 0);
    }
    vt_receiver_free(a);
    vt_receiver_free(b);
    vt_sender_free(s);
}

/* Seconds for n sends of 1 kB; *worst: the longest single send. */
static double time_sends(vt_sender *s, int n, double *worst)
{
    uint8_t m[1024] = {1};
    double t0 = vt__now(), prev = t0;
    *worst = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(vt_sender_send(s, VT_MSG_TRACK_BATCH, m, sizeof m), VT_OK);
        double now = vt__now();
        *worst = now - prev > *worst ? now - prev : *worst;
        prev = now;
    }
    return vt__now() - t0;
}

static void tcp_stalled_client_loses_its_oldest_and_never_slows_the_producer(void **state)
{
    (void)state;
    enum { N = 20000 };
    int port = 0;
    vt_sender *s = tcp_sender("?queue=64", &port);
    double worst_alone, worst;
    double alone = time_sends(s, N, &worst_alone);
    /* A client that connects and never reads. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    wait_clients(s, NULL, 1);
    double stalled = time_sends(s, N, &worst);
    sleep_ms(50);
    vt_sender_stats st;
    vt_sender_get_stats(s, &st);
    printf("tcp: %d sends of 1 kB: %.1f ms with no client, %.1f ms with a stalled client "
           "(%llu dropped for it; slowest send %.2f ms)\n",
           N, alone * 1e3, stalled * 1e3, (unsigned long long)st.dropped, worst * 1e3);
    assert_true(st.dropped > N / 2);
    assert_true(st.dropped < N);
    assert_int_equal(st.sent, 2 * N);
    /* A send that waited for the client would wait for ever: it never reads. The drops
       above say that no send waited; the bound only catches a hang, not speed. */
    assert_true(stalled < 60);
    close(fd);
    vt_sender_free(s);
}

static void tcp_receiver_reconnects_to_a_restarted_server_and_resumes(void **state)
{
    (void)state;
    int port = 0;
    vt_sender *s = tcp_sender("", &port);
    vt_receiver *r = tcp_receiver(port);
    wait_clients(s, r, 1);
    const uint8_t m[] = "before";
    assert_int_equal(vt_sender_send(s, VT_MSG_TRACK_BATCH, m, sizeof m), VT_OK);
    got g = next_msg(r, 2000);
    assert_int_equal(g.len, sizeof m);
    vt_sender_free(s); /* the server goes away */
    g = next_msg(r, 100);
    assert_int_equal(g.type, 0);
    s = tcp_sender("", &port); /* and comes back on the same port */
    bool resumed = false;
    for (int i = 0; i < 300 && !resumed; i++) {
        const uint8_t m2[] = "after";
        assert_int_equal(vt_sender_send(s, VT_MSG_TRACK_BATCH, m2, sizeof m2), VT_OK);
        g = next_msg(r, 20);
        resumed =
            g.type == VT_MSG_TRACK_BATCH && g.len == sizeof m2 && memcmp(g.msg, m2, sizeof m2) == 0;
    }
    assert_true(resumed);
    vt_receiver_stats st = stats_of(r);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.restarts, 1);
    assert_int_equal(st.received, 2);
    vt_receiver_free(r);
    vt_sender_free(s);
}

static void tcp_bad_record_is_skipped_and_a_bad_length_reconnects(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    vt_receiver *r = tcp_receiver(ntohs(a.sin_port));
    (void)next_msg(r, 50); /* connects */
    int c = accept(lfd, NULL, NULL);
    assert_true(c >= 0);
    uint8_t rec[3][VT__RECORD_PREFIX + VT__FRAME_HEADER + 3];
    for (int i = 0; i < 3; i++) {
        vt__record_header(rec[i], VT_MSG_HEALTH, 0, 5, (uint64_t)i, (const uint8_t *)"abc", 3);
        memcpy(rec[i] + VT__RECORD_PREFIX + VT__FRAME_HEADER, "abc", 3);
    }
    rec[1][sizeof rec[1] - 1] = 'X'; /* bad CRC: skipped, framing kept */
    assert_int_equal(write(c, rec, sizeof rec), (ssize_t)sizeof rec);
    got g = next_msg(r, 2000);
    assert_int_equal(vt_receiver_seq(r), 0);
    g = next_msg(r, 2000);
    assert_int_equal(vt_receiver_seq(r), 2);
    assert_int_equal(g.len, 3);
    assert_int_equal(stats_of(r).garbage, 1);
    /* A length that cannot be: the receiver drops the connection and comes back. */
    assert_int_equal(write(c, "\xff\xff\xff\xffjunk", 8), 8);
    g = next_msg(r, 300);
    assert_int_equal(g.type, 0);
    int c2 = accept(lfd, NULL, NULL);
    assert_true(c2 >= 0);
    g = next_msg(r, 100);
    assert_int_equal(stats_of(r).garbage, 2);
    assert_int_equal(stats_of(r).reconnects, 1);
    close(c);
    close(c2);
    close(lfd);
    vt_receiver_free(r);
}

/* ---- the file log ---------------------------------------------------------------- */

static void write_log(const char *path, int n)
{
    char url[1100];
    snprintf(url, sizeof url, "file://%s", path);
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    for (int i = 0; i < n; i++) {
        uint8_t m[32];
        memset(m, 'a' + i, sizeof m);
        assert_int_equal(vt_sender_send(s, VT_MSG_FRAME_SET_STATS, m, 10 + (size_t)i), VT_OK);
    }
    vt_sender_free(s);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Replays the log; returns the messages read before the end. */
static int replay(const char *path, vt_receiver_stats *st)
{
    char url[1100];
    snprintf(url, sizeof url, "file://%s", path);
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    int n = 0;
    for (;;) {
        got g = next_msg(r, 0);
        if (g.end)
            break;
        assert_int_equal(g.type, VT_MSG_FRAME_SET_STATS);
        assert_int_equal(g.len, 10 + vt_receiver_seq(r));
        assert_int_equal(g.msg[0], 'a' + (int)vt_receiver_seq(r));
        n++;
    }
    got g = next_msg(r, 0); /* stays at the end */
    assert_true(g.end);
    *st = stats_of(r);
    vt_receiver_free(r);
    return n;
}

static void file_log_replays_and_skips_damaged_records(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s", vt_test_tmp_path("log.bin"));
    write_log(path, 5);
    long rec0 = VT__RECORD_PREFIX + VT__FRAME_HEADER + 10;
    assert_int_equal(file_size(path), 5 * rec0 + (0 + 1 + 2 + 3 + 4));
    vt_receiver_stats st;
    assert_int_equal(replay(path, &st), 5);
    assert_int_equal(st.garbage + st.lost, 0);

    /* A damaged byte in the second record's payload: that record is skipped. */
    FILE *f = fopen(path, "r+b");
    fseek(f, rec0 + VT__RECORD_PREFIX + VT__FRAME_HEADER + 2, SEEK_SET);
    fputc('!', f);
    fclose(f);
    assert_int_equal(replay(path, &st), 4);
    assert_int_equal(st.garbage, 1);
    assert_int_equal(st.lost, 1);

    /* Damage in a length prefix: the reader scans forward to the next record. */
    write_log(path, 5);
    f = fopen(path, "r+b");
    fseek(f, rec0 + 3, SEEK_SET);
    fputc(0x7f, f);
    fclose(f);
    assert_int_equal(replay(path, &st), 4);
    assert_int_equal(st.garbage, 1);

    /* Cut in the middle of the last record. */
    write_log(path, 5);
    assert_int_equal(truncate(path, file_size(path) - 5), 0);
    assert_int_equal(replay(path, &st), 4);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.garbage, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transport_bad_urls_are_refused_with_what_is_wrong),
        cmocka_unit_test(transport_crc_is_zlibs_and_frames_round_trip),
        cmocka_unit_test(udp_unicast_delivers_messages_in_order),
        cmocka_unit_test(udp_multicast_on_loopback),
        cmocka_unit_test(udp_splits_a_100kb_message_and_reassembles_it),
        cmocka_unit_test(udp_counts_lost_duplicate_and_reordered_messages),
        cmocka_unit_test(udp_missing_fragment_drops_that_message_as_lost),
        cmocka_unit_test(udp_garbage_and_truncated_frames_are_counted_and_skipped),
        cmocka_unit_test(tcp_delivers_in_order_to_every_client),
        cmocka_unit_test(tcp_stalled_client_loses_its_oldest_and_never_slows_the_producer),
        cmocka_unit_test(tcp_receiver_reconnects_to_a_restarted_server_and_resumes),
        cmocka_unit_test(tcp_bad_record_is_skipped_and_a_bad_length_reconnects),
        cmocka_unit_test(file_log_replays_and_skips_damaged_records),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
