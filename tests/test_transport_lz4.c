/*
 * tests/test_transport_lz4.c - whole messages as LZ4 frames (`?lz4=1`): they
 * round-trip over UDP (split into fragments), TCP, shared memory and the
 * file log, a message LZ4 cannot shrink goes as it is, the compressed
 * payload in a log is a frame the `lz4` tool reads, and a compressed payload
 * that is not a good LZ4 frame is counted as garbage and skipped, never a
 * crash. Servers bind 127.0.0.1 port 0.
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
#include <unistd.h>

#include <cmocka.h>

#define VT_TEST_NAME "test_transport_lz4"
#include "stream/lz4frame_internal.h"
#include "stream/transport_internal.h"
#include "vt_test.h"
#include "vt_test_tmp.h"

enum { BIG = 100000, SMALL = 24 };

/* A message that compresses well (votes-like: mostly zeros, some runs) and one that does not. */
static uint8_t big[BIG], small[SMALL];

static void fill(void)
{
    vt_test_seed(6);
    memset(big, 0, sizeof big);
    for (size_t i = 0; i < BIG; i += 97)
        big[i] = (uint8_t)(vt_test_uniform(0, 255));
    for (size_t i = 0; i < SMALL; i++)
        small[i] = (uint8_t)(vt_test_uniform(0, 255));
}

static void expect(vt_receiver *r, int timeout_ms, const uint8_t *want, size_t n)
{
    vt_msg_type t = 0;
    const uint8_t *m = NULL;
    size_t len = 0;
    bool end = false;
    assert_int_equal(vt_receiver_next(r, timeout_ms, &t, &m, &len, &end), VT_OK);
    assert_int_equal(t, VT_MSG_VOXEL_CHUNK);
    assert_int_equal(len, n);
    assert_memory_equal(m, want, n);
}

static void send_both(vt_sender *s)
{
    assert_int_equal(vt_sender_send(s, VT_MSG_VOXEL_CHUNK, big, BIG), VT_OK);
    assert_int_equal(vt_sender_send(s, VT_MSG_VOXEL_CHUNK, small, SMALL), VT_OK);
}

static void expect_both(vt_receiver *r)
{
    expect(r, 2000, big, BIG);
    expect(r, 2000, small, SMALL);
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.garbage + st.lost, 0);
}

static void udp_round_trips_compressed_messages(void **state)
{
    (void)state;
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open("udp://127.0.0.1:0?lz4=1", &r), VT_OK);
    char url[96];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d?lz4=1&mtu=1400", vt_receiver_port(r));
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    send_both(s);
    expect_both(r);
    vt_sender_stats ss;
    vt_sender_get_stats(s, &ss);
    assert_int_equal(ss.bytes, BIG + SMALL); /* counted before compression */
    vt_sender_free(s);
    vt_receiver_free(r);
}

static void tcp_round_trips_compressed_messages(void **state)
{
    (void)state;
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open("tcp://127.0.0.1:0?lz4=1", &s), VT_OK);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", vt_sender_port(s));
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    vt_sender_stats st = {0};
    for (int i = 0; i < 500 && st.clients == 0; i++) {
        assert_int_equal(vt_receiver_next(r, 10, NULL, NULL, NULL, NULL), VT_OK);
        vt_sender_get_stats(s, &st);
    }
    assert_int_equal(st.clients, 1);
    send_both(s);
    expect_both(r);
    vt_receiver_free(r);
    vt_sender_free(s);
}

static void shm_round_trips_compressed_messages(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "shm://vt_test_lz4_%d?lz4=1&bytes=1048576", (int)getpid());
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    assert_int_equal(vt_receiver_next(r, 50, NULL, NULL, NULL, NULL), VT_OK); /* attaches */
    send_both(s);
    expect_both(r);
    vt_receiver_free(r);
    vt_sender_free(s);
}

static void file_log_round_trips_and_its_payload_reads_with_lz4(void **state)
{
    (void)state;
    char path[1024], url[1100], cmd[2600];
    snprintf(path, sizeof path, "%s", vt_test_tmp_path("lz4.log"));
    snprintf(url, sizeof url, "file://%s?lz4=1", path);
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    send_both(s);
    vt_sender_free(s);

    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    expect_both(r);
    vt_receiver_free(r);

    /* The first record's payload is a standard LZ4 frame: `lz4 -d` gives the message. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t head[VT__RECORD_PREFIX + VT__FRAME_HEADER];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    assert_int_equal(head[VT__RECORD_PREFIX + 4], VT__FRAME_VERSION | VT__FRAME_LZ4);
    size_t n = vt__get_u32(head + VT__RECORD_PREFIX + 12);
    assert_true(n < BIG / 4);
    uint8_t *payload = malloc(n);
    assert_int_equal(fread(payload, 1, n, f), n);
    fclose(f);
    char lz[1100], raw[1100];
    snprintf(lz, sizeof lz, "%s", vt_test_tmp_path("msg.lz4"));
    snprintf(raw, sizeof raw, "%s", vt_test_tmp_path("msg.raw"));
    f = fopen(lz, "wb");
    assert_int_equal(fwrite(payload, 1, n, f), n);
    fclose(f);
    free(payload);
    snprintf(cmd, sizeof cmd, "lz4 -d -f -q '%s' '%s'", lz, raw);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' failed (status %d): is lz4 installed? (scripts/install-deps)", cmd, rc);
    f = fopen(raw, "rb");
    assert_non_null(f);
    uint8_t *back = malloc(BIG + 1);
    assert_int_equal(fread(back, 1, BIG + 1, f), BIG);
    fclose(f);
    assert_memory_equal(back, big, BIG);
    free(back);
}

/* Writes records by hand: a flagged one whose payload is `bad`, then a good plain one. */
static void write_bad_log(const char *path, const uint8_t *bad, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t head[VT__RECORD_PREFIX + VT__FRAME_HEADER];
    vt__record_header(head, VT_MSG_VOXEL_CHUNK, VT__FRAME_LZ4, 7, 0, bad, n);
    assert_int_equal(fwrite(head, 1, sizeof head, f), sizeof head);
    assert_int_equal(fwrite(bad, 1, n, f), n);
    vt__record_header(head, VT_MSG_VOXEL_CHUNK, 0, 7, 1, small, SMALL);
    assert_int_equal(fwrite(head, 1, sizeof head, f), sizeof head);
    assert_int_equal(fwrite(small, 1, SMALL, f), SMALL);
    fclose(f);
}

static void expect_garbage_then_good(const char *path)
{
    char url[1100];
    snprintf(url, sizeof url, "file://%s", path);
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    expect(r, 0, small, SMALL);
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.garbage, 1);
    assert_int_equal(st.received, 1);
    vt_receiver_free(r);
}

static void corrupt_compressed_payloads_are_garbage(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s", vt_test_tmp_path("bad.log"));
    /* Not an LZ4 frame at all. */
    const char *junk = "this is not an LZ4 frame";
    write_bad_log(path, (const uint8_t *)junk, strlen(junk));
    expect_garbage_then_good(path);

    /* A real frame with a byte changed (its content checksum catches it), one cut short,
       and one whose header claims more than the transport's limit. */
    vt__lz4 z = {0};
    assert_int_equal(vt__lz4_compress(&z, big, BIG, "test"), VT_OK);
    z.buf[z.len / 2] ^= 0x5A;
    write_bad_log(path, z.buf, z.len);
    expect_garbage_then_good(path);
    z.buf[z.len / 2] ^= 0x5A;
    write_bad_log(path, z.buf, z.len / 3);
    expect_garbage_then_good(path);
    for (size_t cut = 0; cut < 12; cut++) { /* every short header */
        write_bad_log(path, z.buf, cut);
        expect_garbage_then_good(path);
    }
    vt__lz4_free(&z);

    /* The same over UDP, from a hand-made datagram with a good CRC. */
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open("udp://127.0.0.1:0", &r), VT_OK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)vt_receiver_port(r)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t d[VT__FRAME_HEADER + 64];
    size_t n = strlen(junk);
    memcpy(d + VT__FRAME_HEADER, junk, n);
    vt__frame f = {.type = VT_MSG_VOXEL_CHUNK,
                   .flags = VT__FRAME_LZ4,
                   .stream_id = 9,
                   .msg_len = (uint32_t)n,
                   .frag_len = (uint32_t)n,
                   .frag_count = 1};
    vt__frame_write(d, &f, d + VT__FRAME_HEADER);
    assert_int_equal(sendto(fd, d, VT__FRAME_HEADER + n, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)(VT__FRAME_HEADER + n));
    d[4] = VT__FRAME_VERSION | 0x40; /* an unknown flag: not a frame this build reads */
    assert_int_equal(sendto(fd, d, VT__FRAME_HEADER + n, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)(VT__FRAME_HEADER + n));
    close(fd);
    vt_msg_type t = 0;
    vt_receiver_stats st = {0};
    for (int i = 0; i < 100 && st.garbage < 2; i++) {
        assert_int_equal(vt_receiver_next(r, 10, &t, NULL, NULL, NULL), VT_OK);
        assert_int_equal(t, 0);
        vt_receiver_get_stats(r, &st);
    }
    assert_int_equal(st.garbage, 2);
    assert_int_equal(st.received, 0);
    vt_receiver_free(r);
}

static void lz4_parameter_is_checked(void **state)
{
    (void)state;
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open("udp://127.0.0.1:9?lz4=2", &s), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "lz4=2"));
    assert_int_equal(vt_sender_open("udp://127.0.0.1:9?lz4=yes", &s), VT_EINVAL);
    assert_null(s);
}

int main(void)
{
    fill();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_round_trips_compressed_messages),
        cmocka_unit_test(tcp_round_trips_compressed_messages),
        cmocka_unit_test(shm_round_trips_compressed_messages),
        cmocka_unit_test(file_log_round_trips_and_its_payload_reads_with_lz4),
        cmocka_unit_test(corrupt_compressed_payloads_are_garbage),
        cmocka_unit_test(lz4_parameter_is_checked),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
