/*
 * tests/test_cot.c - Cursor-on-Target events and their senders (voxtrack/cot.h).
 *
 * Events travel over real sockets on 127.0.0.1 (ports chosen by the kernel)
 * and are checked by tests/cli/cot_check.py: Python's xml.etree parses them
 * and PROJ's cs2cs and geod give the expected WGS84 positions and courses,
 * so the check shares no code with the library. Also: XML escaping, the
 * time format, the per-track rate limit, which tracks get events, bad URLs
 * and a rig without an origin, multicast on the loopback interface, and a TCP
 * server that goes away (publishing never blocks) and comes back (the sender
 * reconnects).
 */
#define _DEFAULT_SOURCE /* struct ip_mreq */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
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

#define VT_TEST_NAME "test_cot"
#include "voxtrack/cot.h"
#include "vt_test_tmp.h"

#define T0 1795694400.0 /* 2026-11-26T12:00:00Z */

static const double origin[3] = {51.4778, -0.0015, 45.0};

static vt_rig rig_with_origin(void)
{
    vt_rig r;
    memset(&r, 0, sizeof r);
    r.has_origin = true;
    r.lat_deg = origin[0];
    r.lon_deg = origin[1];
    r.height_m = origin[2];
    r.fps = 30;
    return r;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- a scene of four tracks ---- */

typedef struct scene {
    vt_track tracks[4];
    vt_target_class classes[4];
    float flicker[4];
    vt_pipeline_result r;
} scene;

static void make_scene(scene *s, double t)
{
    memset(s, 0, sizeof *s);
    const vt_track tr[4] = {
        {.id = 7,
         .status = VT_TRACK_CONFIRMED,
         .pos = {1200.5, -3400.25, 180.75},
         .vel = {12.0, 5.0, 1.5},
         .cov = {4.0, 1.0, 0, 2.25, 0, 9.0},
         .cams = 4,
         .thermal_hits = 3},
        {.id = 8, .status = VT_TRACK_TENTATIVE, .pos = {10, 10, 10}, .cov = {1, 0, 0, 1, 0, 1}},
        {.id = 9,
         .status = VT_TRACK_CONFIRMED,
         .pos = {-50, 60, 30},
         .vel = {1, 1, 0},
         .cov = {1, 0, 0, 1, 0, 1},
         .cams = 3},
        {.id = 10,
         .status = VT_TRACK_COASTING,
         .pos = {-8000, 6000, 950},
         .vel = {-3, -20, 0},
         .cov = {0.25, -0.1, 0, 0.5, 0, 0.04},
         .cams = 5},
    };
    memcpy(s->tracks, tr, sizeof tr);
    s->classes[2] = VT_CLASS_BIRD;
    s->r.t = t;
    s->r.tracks = s->tracks;
    s->r.classes = s->classes;
    s->r.flicker = s->flicker;
    s->r.ntracks = 4;
}

/* ---- sockets ---- */

static int udp_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/*
 * Receives datagrams, each into tmpdir/<name>-<i>.xml: waits up to 2 s for each of the
 * `expect` first ones, then 100 ms for any extra one (which the caller will count).
 */
static int receive_all(int fd, const char *name, int expect, char files[][600], int max)
{
    int n = 0;
    static char buf[65536];
    struct pollfd pf = {fd, POLLIN, 0};
    while (poll(&pf, 1, n < expect ? 2000 : 100) > 0) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0 || n >= max)
            break;
        snprintf(files[n], 600, "%s/%s-%d.xml", tmpdir, name, n);
        FILE *f = fopen(files[n], "wb");
        assert_non_null(f);
        fwrite(buf, 1, (size_t)r, f);
        fclose(f);
        n++;
    }
    return n;
}

static const char *uid_in(const char *file, char *uid, size_t size)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *u = strstr(buf, " uid=\"");
    assert_non_null(u);
    u += 6;
    size_t k = strcspn(u, "\"");
    snprintf(uid, size, "%.*s", (int)k, u);
    return uid;
}

/* ---- the Python checker ---- */

static void spec_event(FILE *f, bool first, const char *file, int index, const char *uid,
                       const char *type, const vt_track *t, double time, double stale_s)
{
    char t0[25], t1[25];
    fprintf(f,
            "%s{\"file\": \"%s\", \"index\": %d, \"uid\": \"%s\", \"type\": \"%s\", "
            "\"how\": \"m-f\", \"enu\": [%.17g, %.17g, %.17g], \"vel\": [%.17g, %.17g, %.17g], "
            "\"cov\": [%.17g, %.17g, %.17g, %.17g, %.17g, %.17g], \"time\": \"%s\", "
            "\"stale\": \"%s\"}\n",
            first ? "" : ",", file, index, uid, type, t->pos.x, t->pos.y, t->pos.z, t->vel.x,
            t->vel.y, t->vel.z, t->cov[0], t->cov[1], t->cov[2], t->cov[3], t->cov[4], t->cov[5],
            vt_cot_time(time, t0), vt_cot_time(time + stale_s, t1));
}

static FILE *spec_open(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"origin\": [%.17g, %.17g, %.17g], \"events\": [\n", origin[0], origin[1],
            origin[2]);
    return f;
}

/* Runs cot_check.py on the spec; fails the test with its message. */
static void spec_check(FILE *f, const char *path)
{
    fprintf(f, "]}\n");
    fclose(f);
    char script[600], cmd[1400];
    snprintf(script, sizeof script, "%s", VT_TEST_SOURCE_DIR "/test_cot.c");
    char *slash = strrchr(script, '/');
    assert_non_null(slash);
    snprintf(slash + 1, sizeof script - (size_t)(slash + 1 - script), "cli/cot_check.py");
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' 2>&1", script, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[2048] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    if (rc != 0)
        fail_msg("%s (exit %d): %s", cmd, rc, out);
    print_message("%s", out);
}

/* ---- tests ---- */

static void times_are_iso8601_utc_with_milliseconds(void **state)
{
    (void)state;
    char b[25];
    assert_string_equal(vt_cot_time(T0, b), "2026-11-26T12:00:00.000Z");
    assert_string_equal(vt_cot_time(T0 + 0.0125, b), "2026-11-26T12:00:00.013Z");
    assert_string_equal(vt_cot_time(T0 + 59.9996, b), "2026-11-26T12:01:00.000Z");
    assert_string_equal(vt_cot_time(0, b), "1970-01-01T00:00:00.000Z");
    assert_string_equal(vt_cot_time(NAN, b), "1970-01-01T00:00:00.000Z");
}

static void xml_special_characters_are_escaped(void **state)
{
    (void)state;
    vt_cot_event ev = {.uid = "a<b&c\"d'e>",
                       .type = "a-u-A",
                       .how = "m-f",
                       .time = T0,
                       .start = T0,
                       .stale = T0 + 5,
                       .lat = 1.5,
                       .lon = -2.25,
                       .hae = 10,
                       .ce = 1,
                       .le = 2,
                       .course = 90,
                       .speed = 3,
                       .remarks = "x < y && \"z\"\x01"};
    char buf[2048];
    size_t len;
    assert_int_equal(vt_cot_event_xml(&ev, buf, sizeof buf, &len), VT_OK);
    assert_int_equal(len, strlen(buf));
    assert_non_null(strstr(buf, "uid=\"a&lt;b&amp;c&quot;d&apos;e&gt;\""));
    assert_non_null(strstr(buf, "<remarks>x &lt; y &amp;&amp; &quot;z&quot; </remarks>"));
    assert_non_null(strstr(buf, "time=\"2026-11-26T12:00:00.000Z\""));
    assert_non_null(strstr(buf, "stale=\"2026-11-26T12:00:05.000Z\""));
    assert_non_null(strstr(buf, "<point lat=\"1.500000000\" lon=\"-2.250000000\""));
    assert_non_null(strstr(buf, "<track course=\"90.000\" speed=\"3.000\"/>"));
    /* Too small a buffer is an error, never a truncated document. */
    assert_int_equal(vt_cot_event_xml(&ev, buf, 100, &len), VT_ERANGE);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    /* Not a position. */
    ev.lat = NAN;
    assert_int_equal(vt_cot_event_xml(&ev, buf, sizeof buf, &len), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "lat"));
    ev.lat = 0;
    ev.uid = NULL;
    assert_int_equal(vt_cot_event_xml(&ev, buf, sizeof buf, &len), VT_EINVAL);
}

static void a_rig_without_origin_is_refused_at_open(void **state)
{
    (void)state;
    vt_rig rig = rig_with_origin();
    rig.has_origin = false;
    vt_cot_sender *c = (vt_cot_sender *)1;
    assert_int_equal(vt_cot_sender_open("udp://127.0.0.1:6969", &rig, NULL, &c), VT_EINVAL);
    assert_null(c);
    assert_non_null(strstr(vt_last_error(), "origin"));
}

static void bad_urls_and_options_are_errors_that_say_what(void **state)
{
    (void)state;
    vt_rig rig = rig_with_origin();
    const char *bad[][2] = {{"http://127.0.0.1:80", "udp://"},
                            {"udp://127.0.0.1:0", "port"},
                            {"udp://127.0.0.1:99999", "port"},
                            {"udp://127.0.0.1:x", "port"},
                            {"udp://127.0.0.1:", "port"},
                            {"udp://239.2.3.1:6969?ttl=300", "ttl"},
                            {"udp://239.2.3.1:6969?ttl", "ttl"},
                            {"udp://239.2.3.1:6969?iface=eth0", "iface"},
                            {"udp://239.2.3.1:6969?color=red", "color"},
                            {"tcp://:8087", "host"},
                            {"tcp://127.0.0.1:8087?ttl=2", "UDP"},
                            {"udp://no.such.host.invalid:6969", "no.such.host.invalid"},
                            {"udp://[::1", "]"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_cot_sender *c = NULL;
        vt_status s = vt_cot_sender_open(bad[i][0], &rig, NULL, &c);
        if (s != VT_EINVAL || c || !strstr(vt_last_error(), bad[i][1]))
            fail_msg("%s: status %d, message '%s' (want EINVAL naming '%s')", bad[i][0], s,
                     vt_last_error(), bad[i][1]);
    }
    vt_cot_opts o = vt_cot_opts_default();
    o.stale_s = 0;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open("udp://127.0.0.1:6969", &rig, &o, &c), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "stale_s"));
    o = vt_cot_opts_default();
    o.type = NULL;
    assert_int_equal(vt_cot_sender_open("udp://127.0.0.1:6969", &rig, &o, &c), VT_EINVAL);
    /* The defaults and the cot+ form open. */
    assert_int_equal(vt_cot_sender_open("cot+udp://", &rig, NULL, &c), VT_OK);
    vt_cot_sender_free(c);
    vt_cot_sender_free(NULL);
}

/* Confirmed and coasting drones get events; tentative tracks and birds do not. */
static void udp_events_carry_uid_type_and_the_wgs84_of_cs2cs(void **state)
{
    (void)state;
    int port, fd = udp_listener(&port);
    char url[64];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", port);
    vt_rig rig = rig_with_origin();
    vt_cot_opts o = vt_cot_opts_default();
    o.utc_offset_s = T0;
    o.uid_prefix = "test-";
    o.uid_origin = false;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    scene s;
    make_scene(&s, 12.25);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    char files[8][600];
    int n = receive_all(fd, "udp", 2, files, 8);
    assert_int_equal(n, 2);
    char spec[600], uid[64];
    snprintf(spec, sizeof spec, "%s/udp.json", tmpdir);
    FILE *f = spec_open(spec);
    for (int i = 0; i < n; i++) {
        uid_in(files[i], uid, sizeof uid);
        const vt_track *t = strcmp(uid, "test-7") == 0    ? &s.tracks[0]
                            : strcmp(uid, "test-10") == 0 ? &s.tracks[3]
                                                          : NULL;
        if (!t)
            fail_msg("unexpected uid %s", uid);
        spec_event(f, i == 0, files[i], 0, uid, "a-u-A-M-H-Q", t, T0 + 12.25, 5);
    }
    spec_check(f, spec);
    vt_cot_stats st;
    vt_cot_sender_stats(c, &st);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.dropped, 0);
    vt_cot_sender_free(c);
    close(fd);
}

static void birds_get_their_own_type_when_asked_and_uids_carry_the_origin(void **state)
{
    (void)state;
    int port, fd = udp_listener(&port);
    char url[64], uid[64];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", port);
    vt_rig rig = rig_with_origin();
    vt_cot_opts o = vt_cot_opts_default();
    o.bird_type = "a-u-A-B&";
    o.coasting = false;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    scene s;
    make_scene(&s, 0);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    char files[8][600];
    assert_int_equal(receive_all(fd, "bird", 2, files, 8), 2); /* 7 and the bird 9 */
    char want7[64], want9[64];
    uid_in(files[0], uid, sizeof uid);
    /* voxtrack-XXXXXXXX-ID: the same origin hash for both tracks. */
    assert_int_equal(strncmp(uid, "voxtrack-", 9), 0);
    assert_int_equal(strlen(uid), 9 + 8 + 1 + 1);
    snprintf(want7, sizeof want7, "%.18s7", uid);
    snprintf(want9, sizeof want9, "%.18s9", uid);
    char spec[600];
    snprintf(spec, sizeof spec, "%s/bird.json", tmpdir);
    FILE *f = spec_open(spec);
    /* Wall-clock times: only their format is checked (no "time" in the spec). */
    uid_in(files[0], uid, sizeof uid);
    bool first7 = strcmp(uid, want7) == 0;
    fprintf(f,
            "{\"file\": \"%s\", \"uid\": \"%s\", \"type\": \"a-u-A-M-H-Q\", \"enu\": [%.17g, "
            "%.17g, %.17g], \"vel\": [%.17g, %.17g, %.17g], \"cov\": [4, 1, 0, 2.25, 0, 9], "
            "\"time\": null},\n",
            files[first7 ? 0 : 1], want7, s.tracks[0].pos.x, s.tracks[0].pos.y, s.tracks[0].pos.z,
            s.tracks[0].vel.x, s.tracks[0].vel.y, s.tracks[0].vel.z);
    fprintf(f,
            "{\"file\": \"%s\", \"uid\": \"%s\", \"type\": \"a-u-A-B&\", \"enu\": [-50, 60, 30], "
            "\"vel\": [1, 1, 0], \"cov\": [1, 0, 0, 1, 0, 1], \"time\": null}\n",
            files[first7 ? 1 : 0], want9);
    spec_check(f, spec);
    vt_cot_sender_free(c);
    close(fd);
}

static void two_publishes_within_min_interval_give_one_event_per_track(void **state)
{
    (void)state;
    int port, fd = udp_listener(&port);
    char url[64];
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", port);
    vt_rig rig = rig_with_origin();
    vt_cot_opts o = vt_cot_opts_default();
    o.utc_offset_s = T0;
    o.min_interval_s = 1.0;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    scene s;
    char files[16][600];
    const double times[] = {100.0, 100.5, 100.999, 101.0, 101.2};
    const int want[] = {2, 0, 0, 2, 0};
    for (int k = 0; k < 5; k++) {
        make_scene(&s, times[k]);
        assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
        int n = receive_all(fd, "rate", want[k], files, 16);
        if (n != want[k])
            fail_msg("publish at t=%g: %d events, want %d", times[k], n, want[k]);
    }
    /* A track that appears later is not held back by the others' limit. */
    make_scene(&s, 101.3);
    s.tracks[1].status = VT_TRACK_CONFIRMED;
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    assert_int_equal(receive_all(fd, "rate", 1, files, 16), 1);
    /* Time that goes back (a new run) starts afresh. */
    make_scene(&s, 0);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    assert_int_equal(receive_all(fd, "rate", 2, files, 16), 2);
    vt_cot_stats st;
    vt_cot_sender_stats(c, &st);
    assert_int_equal(st.events, 7);
    assert_int_equal(st.limited, 2 + 2 + 2 + 2);
    vt_cot_sender_free(c);

    /* Wall-clock mode: two publishes in a row, one event per track. */
    o.utc_offset_s = NAN;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    make_scene(&s, 0);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    make_scene(&s, 0.033);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    assert_int_equal(receive_all(fd, "wall", 2, files, 16), 2);
    vt_cot_sender_free(c);
    close(fd);
}

static void multicast_on_the_loopback_interface(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    struct ip_mreq m;
    inet_pton(AF_INET, "239.2.3.1", &m.imr_multiaddr);
    inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
        fail_msg("cannot join 239.2.3.1 on the loopback interface (no multicast on lo?)");
    char url[96];
    snprintf(url, sizeof url, "cot+udp://239.2.3.1:%d?ttl=0&iface=127.0.0.1", port);
    vt_rig rig = rig_with_origin();
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, NULL, &c), VT_OK);
    scene s;
    make_scene(&s, 0);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    char files[8][600], uid[64];
    assert_int_equal(receive_all(fd, "mcast", 2, files, 8), 2);
    assert_non_null(strstr(uid_in(files[0], uid, sizeof uid), "voxtrack-"));
    vt_cot_sender_free(c);
    close(fd);
}

/* ---- TCP ---- */

static int tcp_listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static int tcp_port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static int accept_within(int lfd, int ms)
{
    struct pollfd pf = {lfd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* Reads until `events` whole events arrived (or ms passed); writes them to path. */
static int read_events(int fd, int events, int ms, const char *path)
{
    static char buf[1 << 16];
    size_t len = 0;
    int n = 0;
    double end = now_s() + ms / 1000.0;
    while (n < events && now_s() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        n = 0;
        for (const char *p = buf; (p = strstr(p, "</event>")); p += 8)
            n++;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    return n;
}

static void tcp_server_gone_does_not_block_and_a_restart_reconnects(void **state)
{
    (void)state;
    int lfd = tcp_listen_on(0), port = tcp_port_of(lfd);
    char url[64], path[600];
    snprintf(url, sizeof url, "cot+tcp://127.0.0.1:%d", port);
    vt_rig rig = rig_with_origin();
    vt_cot_opts o = vt_cot_opts_default();
    o.utc_offset_s = T0;
    o.min_interval_s = 0;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    int cfd = accept_within(lfd, 3000);
    assert_true(cfd >= 0);
    scene s;
    make_scene(&s, 1);
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    snprintf(path, sizeof path, "%s/tcp-1.xml", tmpdir);
    assert_int_equal(read_events(cfd, 2, 3000, path), 2);
    /* Both events, back to back on one stream, parse and carry the right positions. */
    char spec[600];
    snprintf(spec, sizeof spec, "%s/tcp.json", tmpdir);
    FILE *f = spec_open(spec);
    char uid[64];
    uid_in(path, uid, sizeof uid); /* the first one */
    bool first7 = uid[strlen(uid) - 1] == '7';
    snprintf(uid + strlen(uid) - (first7 ? 1 : 2), 8, "7");
    spec_event(f, true, path, first7 ? 0 : 1, uid, "a-u-A-M-H-Q", &s.tracks[0], T0 + 1, 5);
    snprintf(uid + strlen(uid) - 1, 8, "10");
    spec_event(f, false, path, first7 ? 1 : 0, uid, "a-u-A-M-H-Q", &s.tracks[3], T0 + 1, 5);
    spec_check(f, spec);

    /* The server goes away: publishing does not wait for the reconnection. A publish that
       waited for the sender's backoff (0.1 s doubling to 5 s) would spend more than 200 s
       in these 50; the bound is that scale, not this machine's speed. */
    close(cfd);
    close(lfd);
    double t0 = now_s(), worst = 0, publishing = 0;
    for (int k = 0; k < 50; k++) {
        make_scene(&s, 2 + k * 0.1);
        double a = now_s();
        assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
        worst = fmax(worst, now_s() - a);
        publishing += now_s() - a;
        usleep(10000);
    }
    vt_cot_stats st;
    vt_cot_sender_stats(c, &st);
    assert_false(st.connected);
    assert_true(publishing < 30);
    print_message("server gone: 50 publishes, the slowest %.3f ms; %.2f s in all\n", worst * 1e3,
                  now_s() - t0);

    /* It comes back on the same port: the sender reconnects and events flow again. */
    lfd = tcp_listen_on(port);
    cfd = accept_within(lfd, 8000);
    assert_true(cfd >= 0);
    make_scene(&s, 20);
    s.tracks[3].status = VT_TRACK_TENTATIVE;
    assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
    snprintf(path, sizeof path, "%s/tcp-2.xml", tmpdir);
    /* Queued events from the outage may arrive first; the new one must be among them. */
    assert_true(read_events(cfd, 1, 3000, path) >= 1);
    double wait_end = now_s() + 3;
    char tail[32];
    vt_cot_time(T0 + 20, tail);
    for (;;) {
        FILE *g = fopen(path, "rb");
        static char all[1 << 16];
        size_t n = fread(all, 1, sizeof all - 1, g);
        fclose(g);
        all[n] = '\0';
        if (strstr(all, tail))
            break;
        if (now_s() > wait_end)
            fail_msg("the event of t=20 never arrived after the reconnect");
        read_events(cfd, 1000, 300, path); /* rewrites path with what comes now */
    }
    vt_cot_sender_stats(c, &st);
    assert_true(st.connected);
    assert_int_equal(st.reconnects, 1);
    vt_cot_sender_free(c);
    close(cfd);
    close(lfd);
}

static void a_server_that_never_reads_costs_queued_events_not_time(void **state)
{
    (void)state;
    int lfd = tcp_listen_on(0), port = tcp_port_of(lfd);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    vt_rig rig = rig_with_origin();
    vt_cot_opts o = vt_cot_opts_default();
    o.min_interval_s = 0;
    o.queue = 8;
    vt_cot_sender *c = NULL;
    assert_int_equal(vt_cot_sender_open(url, &rig, &o, &c), VT_OK);
    int cfd = accept_within(lfd, 3000);
    assert_true(cfd >= 0);
    scene s;
    double worst = 0, t0 = now_s();
    for (int k = 0; k < 20000; k++) {
        make_scene(&s, k * 0.001);
        double a = now_s();
        assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
        worst = fmax(worst, now_s() - a);
    }
    vt_cot_stats st;
    vt_cot_sender_stats(c, &st);
    print_message("stalled server: 40000 events in %.2f s, the slowest publish %.3f ms, "
                  "%llu sent, %llu dropped\n",
                  now_s() - t0, worst * 1e3, (unsigned long long)st.sent,
                  (unsigned long long)st.dropped);
    /* Publishing never waited for the server: the queue overflowed (a publish that waited
       for room would wait for ever, the server never reads). */
    assert_int_equal(st.events, 40000);
    assert_true(st.dropped > 0);
    /* Freeing while the thread is stuck writing to the stalled server returns: a free that
       waited for the write would wait for ever; the bound is that, not speed. */
    double a = now_s();
    vt_cot_sender_free(c);
    assert_true(now_s() - a < 30);
    close(cfd);
    close(lfd);
}

static void freeing_a_sender_whose_server_never_answers_is_prompt(void **state)
{
    (void)state;
    vt_rig rig = rig_with_origin();
    /* A port nobody listens on (connect refused, backoff), then an address that does not
     * answer (connect pending): free returns within a fraction of a second either way.
     * The sender's thread checks its stop flag every 0.1 s; a free that waited for the
     * connect (2 s) or the backoff would take longer than the bound, which leaves a loaded
     * machine ten slices. */
    int lfd = tcp_listen_on(0), port = tcp_port_of(lfd);
    close(lfd);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    const char *urls[] = {url, "tcp://192.0.2.1:8087"};
    for (int i = 0; i < 2; i++) {
        vt_cot_sender *c = NULL;
        assert_int_equal(vt_cot_sender_open(urls[i], &rig, NULL, &c), VT_OK);
        scene s;
        make_scene(&s, 0);
        assert_int_equal(vt_cot_publish(c, &s.r), VT_OK);
        usleep(300000);
        vt_cot_stats st;
        vt_cot_sender_stats(c, &st);
        assert_false(st.connected);
        double a = now_s();
        vt_cot_sender_free(c);
        if (now_s() - a > 1.0)
            fail_msg("%s: free took %.2f s", urls[i], now_s() - a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_are_iso8601_utc_with_milliseconds),
        cmocka_unit_test(xml_special_characters_are_escaped),
        cmocka_unit_test(a_rig_without_origin_is_refused_at_open),
        cmocka_unit_test(bad_urls_and_options_are_errors_that_say_what),
        cmocka_unit_test(udp_events_carry_uid_type_and_the_wgs84_of_cs2cs),
        cmocka_unit_test(birds_get_their_own_type_when_asked_and_uids_carry_the_origin),
        cmocka_unit_test(two_publishes_within_min_interval_give_one_event_per_track),
        cmocka_unit_test(multicast_on_the_loopback_interface),
        cmocka_unit_test(tcp_server_gone_does_not_block_and_a_restart_reconnects),
        cmocka_unit_test(a_server_that_never_reads_costs_queued_events_not_time),
        cmocka_unit_test(freeing_a_sender_whose_server_never_answers_is_prompt),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
