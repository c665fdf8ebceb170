/*
 * tests/test_shm.c - the shared-memory ring (shm://): a producer process and
 * a consumer process pass a million messages, none lost, duplicated or out
 * of order; a reader that stalls detects the overrun, reports how many
 * messages it lost and goes on with the newest; a reader may start before
 * its producer and follows a producer that restarts; bad URLs and messages
 * too large for the ring are refused; a ring whose positions are damaged
 * (found by fuzz/fuzz_transport.c: the reader spun for ever) is counted as
 * garbage and given up for the call, and read again once they are sound.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/internal.h"
#include "voxtrack/transport.h"

enum { MILLION = 1000000, AHEAD = 60000 /* messages the producer may run ahead */ };

static void ring_url(char *buf, size_t n, const char *what, const char *params)
{
    snprintf(buf, n, "shm://vt_test_shm_%s_%d%s", what, (int)getpid(), params);
}

/* Message i: 8 to 120 bytes, its number first, then bytes that depend on it. */
static size_t fill_message(uint64_t i, uint8_t *buf)
{
    size_t len = 8 + (size_t)((i * 2654435761u) % 113);
    memcpy(buf, &i, 8);
    for (size_t k = 8; k < len; k++)
        buf[k] = (uint8_t)(i * 31 + k);
    return len;
}

static bool message_ok(uint64_t i, const uint8_t *msg, size_t len)
{
    uint8_t want[128];
    size_t n = fill_message(i, want);
    return n == len && memcmp(want, msg, n) == 0;
}

/* The consumer process: reads MILLION messages, checks each, acks progress. */
static int consume(const char *url, int ready_fd, int ack_fd)
{
    vt_receiver *r = NULL;
    if (vt_receiver_open(url, &r) != VT_OK)
        return 10;
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    bool end;
    /* Attach (the ring exists already) before telling the producer to start. */
    if (vt_receiver_next(r, 0, &type, &msg, &len, &end) != VT_OK || type != 0)
        return 11;
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1)
        return 12;
    for (uint64_t i = 0; i < MILLION; i++) {
        if (vt_receiver_next(r, 10000, &type, &msg, &len, &end) != VT_OK)
            return 13;
        if (type == 0) {
            fprintf(stderr, "consumer: timed out waiting for message %llu\n",
                    (unsigned long long)i);
            return 14;
        }
        if ((int)type != VT_MSG_TRACK_BATCH + (int)(i % 3) || vt_receiver_seq(r) != i ||
            !message_ok(i, msg, len)) {
            fprintf(stderr, "consumer: message %llu is wrong (seq %llu, type %d, %zu bytes)\n",
                    (unsigned long long)i, (unsigned long long)vt_receiver_seq(r), (int)type, len);
            return 15;
        }
        if (i % 10000 == 9999 && write(ack_fd, &i, sizeof i) != sizeof i)
            return 16;
    }
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    vt_receiver_free(r);
    if (st.received != MILLION || st.lost || st.duplicates || st.reordered || st.overruns ||
        st.garbage) {
        fprintf(stderr, "consumer: received %llu lost %llu dup %llu reordered %llu overruns %llu\n",
                (unsigned long long)st.received, (unsigned long long)st.lost,
                (unsigned long long)st.duplicates, (unsigned long long)st.reordered,
                (unsigned long long)st.overruns);
        return 17;
    }
    return 0;
}

static void shm_million_messages_between_processes_none_lost(void **state)
{
    (void)state;
    char url[128];
    ring_url(url, sizeof url, "million", "?bytes=16777216");
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    int ready[2], ack[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(ack), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(ack[0]);
        _exit(consume(url, ready[1], ack[1]));
    }
    close(ready[1]);
    close(ack[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    /* The producer never waits for the ring; this test paces itself on the consumer's
       acknowledgements so that the ring (16 MiB, ~120k records) never overflows. */
    uint64_t acked = 0;
    uint8_t buf[128];
    double t0 = vt__now();
    for (uint64_t i = 0; i < MILLION; i++) {
        while (i >= acked + AHEAD) {
            uint64_t a;
            assert_int_equal(read(ack[0], &a, sizeof a), (ssize_t)sizeof a);
            acked = a + 1;
        }
        size_t len = fill_message(i, buf);
        assert_int_equal(
            vt_sender_send(s, (vt_msg_type)(VT_MSG_TRACK_BATCH + (int)(i % 3)), buf, len), VT_OK);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    double dt = vt__now() - t0;
    printf("shm: %d messages of 8-120 bytes between processes in %.2f s (%.0f messages/s)\n",
           MILLION, dt, MILLION / dt);
    close(ready[0]);
    close(ack[0]);
    vt_sender_free(s);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void next_ok(vt_receiver *r, int timeout_ms, vt_msg_type *type, const uint8_t **msg,
                    size_t *len)
{
    bool end;
    assert_int_equal(vt_receiver_next(r, timeout_ms, type, msg, len, &end), VT_OK);
}

static void shm_stalled_reader_detects_the_overrun_and_resyncs_to_the_newest(void **state)
{
    (void)state;
    char url[128];
    ring_url(url, sizeof url, "overrun", "?bytes=4096");
    vt_sender *s = NULL;
    vt_receiver *r = NULL;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    next_ok(r, 0, &type, &msg, &len); /* attaches */
    assert_int_equal(type, 0);
    uint8_t buf[128];
    len = fill_message(0, buf);
    assert_int_equal(vt_sender_send(s, VT_MSG_HEALTH, buf, len), VT_OK);
    next_ok(r, 1000, &type, &msg, &len);
    assert_int_equal(type, VT_MSG_HEALTH);
    assert_int_equal(vt_receiver_seq(r), 0);
    /* The reader stalls while 999 more go through a ring that holds a few dozen. */
    for (uint64_t i = 1; i < 1000; i++) {
        len = fill_message(i, buf);
        assert_int_equal(vt_sender_send(s, VT_MSG_HEALTH, buf, len), VT_OK);
    }
    next_ok(r, 1000, &type, &msg, &len);
    assert_int_equal(type, VT_MSG_HEALTH);
    assert_int_equal(vt_receiver_seq(r), 999); /* the newest */
    assert_true(message_ok(999, msg, len));
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.overruns, 1);
    assert_int_equal(st.lost, 998);
    /* And it goes on without loss. */
    for (uint64_t i = 1000; i < 1100; i++) {
        len = fill_message(i, buf);
        assert_int_equal(vt_sender_send(s, VT_MSG_HEALTH, buf, len), VT_OK);
        next_ok(r, 1000, &type, &msg, &len);
        assert_int_equal(vt_receiver_seq(r), i);
        assert_true(message_ok(i, msg, len));
    }
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.received + st.lost, 1100);
    assert_int_equal(st.overruns, 1);
    vt_receiver_free(r);
    vt_sender_free(s);
}

static void shm_reader_waits_for_its_producer_and_follows_a_restart(void **state)
{
    (void)state;
    char url[128];
    ring_url(url, sizeof url, "late", "");
    vt_receiver *r = NULL;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    double t0 = vt__now();
    next_ok(r, 100, &type, &msg, &len); /* no producer: a timeout, not an error */
    assert_int_equal(type, 0);
    assert_true(vt__now() - t0 >= 0.09);
    for (int round = 0; round < 2; round++) {
        vt_sender *s = NULL;
        assert_int_equal(vt_sender_open(url, &s), VT_OK);
        next_ok(r, 0, &type, &msg, &len); /* attaches, nothing yet */
        assert_int_equal(type, 0);
        const uint8_t hello[] = "hello";
        assert_int_equal(vt_sender_send(s, VT_MSG_TRACK_BATCH, hello, sizeof hello), VT_OK);
        next_ok(r, 1000, &type, &msg, &len);
        assert_int_equal(type, VT_MSG_TRACK_BATCH);
        assert_int_equal(len, sizeof hello);
        assert_memory_equal(msg, hello, sizeof hello);
        vt_sender_free(s); /* the reader sees it closed and waits for the next */
        next_ok(r, 50, &type, &msg, &len);
        assert_int_equal(type, 0);
    }
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.received, 2);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.restarts, 1);
    assert_int_equal(st.lost, 0);
    vt_receiver_free(r);
}

static void shm_bad_urls_and_oversized_messages_are_refused(void **state)
{
    (void)state;
    vt_sender *s = NULL;
    assert_int_equal(vt_sender_open("shm://bad/name", &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "shm://bad/name"));
    assert_null(s);
    assert_int_equal(vt_sender_open("shm://", &s), VT_EINVAL);
    assert_int_equal(vt_sender_open("shm://ok?bytes=100", &s), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "bytes=100"));
    assert_int_equal(vt_sender_open("shm://ok?size=4096", &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "size"));
    char url[128];
    ring_url(url, sizeof url, "big", "?bytes=4096");
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    uint8_t big[2048] = {0};
    assert_int_equal(vt_sender_send(s, VT_MSG_VOXEL_CHUNK, big, sizeof big), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "quarter of the ring"));
    assert_int_equal(vt_sender_send(s, VT_MSG_VOXEL_CHUNK, big, 1024), VT_OK);
    vt_sender_free(s);
}

static void shm_damaged_positions_are_garbage_not_a_hang(void **state)
{
    (void)state;
    char url[128], name[128];
    ring_url(url, sizeof url, "damaged", "?bytes=4096");
    snprintf(name, sizeof name, "/%s", url + strlen("shm://"));
    strchr(name, '?')[0] = '\0';
    vt_sender *s;
    vt_receiver *r;
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vt_sender_open(url, &s), VT_OK);
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    next_ok(r, 0, &type, &msg, &len); /* attaches */
    assert_int_equal(type, 0);
    uint8_t m[16] = "damaged claim";
    assert_int_equal(vt_sender_send(s, VT_MSG_HEALTH, m, sizeof m), VT_OK);
    /* The header as docs/TRANSPORTS.md gives it: claim (offset 64) more than a ring ahead
       of every record, so that every copy looks overwritten. */
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    uint8_t *h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(h != MAP_FAILED);
    uint64_t claim, far;
    memcpy(&claim, h + 64, 8);
    far = claim + 3 * 4096;
    memcpy(h + 64, &far, 8);
    next_ok(r, 0, &type, &msg, &len);
    assert_int_equal(type, 0);
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_true(st.garbage >= 1);
    memcpy(h + 64, &claim, 8);
    /* write_pos (offset 72) inside the record: not whole yet, so not read (nor passed). */
    uint64_t wpos, inside;
    memcpy(&wpos, h + 72, 8);
    inside = wpos - 8;
    memcpy(h + 72, &inside, 8);
    next_ok(r, 0, &type, &msg, &len);
    assert_int_equal(type, 0);
    memcpy(h + 72, &wpos, 8); /* sound again: the message is there */
    next_ok(r, 0, &type, &msg, &len);
    assert_int_equal(type, VT_MSG_HEALTH);
    assert_int_equal(len, sizeof m);
    assert_memory_equal(msg, m, sizeof m);
    munmap(h, 4096);
    vt_receiver_free(r);
    vt_sender_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shm_million_messages_between_processes_none_lost),
        cmocka_unit_test(shm_stalled_reader_detects_the_overrun_and_resyncs_to_the_newest),
        cmocka_unit_test(shm_reader_waits_for_its_producer_and_follows_a_restart),
        cmocka_unit_test(shm_bad_urls_and_oversized_messages_are_refused),
        cmocka_unit_test(shm_damaged_positions_are_garbage_not_a_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
