/*
 * tests/test_video.c - video files and network streams through FFmpeg, as a
 * user meets them: H.264 and HEVC made by the `ffmpeg` tool in MKV, MP4 and
 * MPEG-TS keep the luma plane exactly (lossless encoding, no colour
 * conversion); 1 and 2 decoding threads give the same frames; times come
 * from the presentation times, also across an MPEG-TS clock wrap; a file cut
 * at 60% and a file with garbage in the middle are read to their end with
 * the damage counted; a live MPEG-TS stream over TCP from `ffmpeg` is read
 * as it comes; a dead stream is a disconnect error naming the URL within
 * the timeout; a TCP stream whose server is killed and started again is
 * reconnected with frame numbers and times going on, and one whose server
 * never comes back fails after reconnect_max attempts; hwaccel auto decodes without a GPU and cuda
 * is an error (where a GPU is there, cuda must decode on it instead).
 *
 * Frames are 64x48 (a moving gradient with a bright square), 25 fps, so
 * that every encode and decode takes milliseconds. The `ffmpeg` tool is
 * required (scripts/install-deps installs it): without it the tests fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "voxtrack/source.h"
#include "vt_test.h"
#define VT_TEST_NAME "test_video"
#include "vt_test_tmp.h"

extern char **environ;

enum { W = 64, H = 48, FRAMES = 40, FPS = 25 };

/* libx265 leaks inside itself on every encoder (see tests/test_source.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */

static const char *path_in(const char *name)
{
    static char path[64][1024];
    static int k;
    k = (k + 1) % 64;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

/* The luma of frame k: a gradient that moves and a bright 6x6 square. */
static uint8_t luma(int k, int x, int y)
{
    if (x >= 5 + k % 50 && x < 11 + k % 50 && y >= 20 && y < 26)
        return 230;
    return (uint8_t)(30 + (x * 2 + y + k * 3) % 160);
}

/* FRAMES frames of raw yuv420p: the luma above, grey chroma. */
static const char *write_yuv(void)
{
    const char *path = path_in("in.yuv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int k = 0; k < FRAMES; k++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                fputc(luma(k, x, y), f);
        for (int i = 0; i < W * H / 2; i++)
            fputc(128, f);
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

static void ffmpeg(const char *args_fmt, ...)
{
    char args[1500], cmd[1700];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y %s", args);
    if (system(cmd) != 0) {
        print_error("failed: %s\n(the ffmpeg tool is required: scripts/install-deps)\n", cmd);
        fail();
    }
}

/* Encodes the frames losslessly with codec (libx264 or libx265) into name. */
static const char *encode(const char *name, const char *codec, const char *extra)
{
    const char *in = write_yuv(), *out = path_in(name);
    const char *lossless =
        strcmp(codec, "libx265") == 0 ? "-x265-params lossless=1:log-level=none" : "-qp 0";
    ffmpeg("-f rawvideo -pix_fmt yuv420p -s %dx%d -r %d -i '%s' -c:v %s %s %s '%s'", W, H, FPS, in,
           codec, lossless, extra, out);
    return out;
}

/* A one-camera rig whose camera reads `video` (a file or a URL). */
static vt_rig rig_for(const char *video, const char *timestamps)
{
    vt_rig rig;
    vt_rig_init(&rig);
    rig.fps = FPS;
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "m0");
    c.modality = VT_MODALITY_MONO;
    c.bits = 8;
    c.cam = (vt_camera){
        .width = W, .height = H, .fx = 60, .fy = 60, .cx = 31.5, .cy = 23.5, .q = {1, 0, 0, 0}};
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    c.media = VT_MEDIA_VIDEO;
    c.path = (char *)video;
    c.timestamps = (char *)timestamps;
    assert_int_equal(vt_rig_add(&rig, &c), VT_OK);
    return rig;
}

/* A timestamps file: frame k at 1000 + k / FPS s, with a little jitter. */
static const char *write_stamps(void)
{
    const char *path = path_in("stamps.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int k = 0; k < FRAMES; k++)
        fprintf(f, "%d %.6f\n", k, 1000.0 + (double)k / FPS + 0.0007 * (k % 3));
    assert_int_equal(fclose(f), 0);
    return path;
}

static double stamp_time(int64_t k)
{
    return 1000.0 + (double)k / FPS + 0.0007 * (double)(k % 3);
}

static bool frame_is_exact(const vt_image *img, int k)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (vt_image_row8(img, y)[x] != luma(k, x, y))
                return false;
    return true;
}

typedef struct readout {
    int count;
    int64_t frame[2 * FRAMES];
    double t[2 * FRAMES];
    bool exact[2 * FRAMES]; /* frame k's luma, k = its frame number */
    vt_source_stats stats;
    vt_status status;
} readout;

/* Reads a source to its end (or first error). */
static readout read_all(const vt_rig *rig, const vt_source_opts *opts)
{
    readout r = {0};
    vt_source *src = NULL;
    r.status = vt_source_open_opts(rig, 0, opts, &src);
    if (r.status)
        return r;
    vt_image img = {0};
    for (;;) {
        int64_t frame;
        double t;
        bool end;
        r.status = vt_source_read(src, &img, &frame, &t, &end);
        if (r.status || end || r.count == 2 * FRAMES)
            break;
        r.frame[r.count] = frame;
        r.t[r.count] = t;
        r.exact[r.count] = frame_is_exact(&img, (int)frame);
        r.count++;
    }
    r.stats = vt_source_stats_get(src);
    vt_source_free(src);
    vt_image_free(&img);
    return r;
}

static void assert_status(vt_status got, vt_status want, const char *a, const char *b)
{
    const char *msg = vt_last_error();
    if (got != want || !strstr(msg, a) || (b && !strstr(msg, b))) {
        print_error("status %s, message \"%s\"; expected %s with \"%s\" and \"%s\"\n",
                    vt_status_name(got), msg, vt_status_name(want), a, b ? b : "");
        fail();
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* Every frame, exactly, in order, at k / FPS s since the stream's start. */
static void assert_reads_exactly(const char *video)
{
    vt_rig rig = rig_for(video, NULL);
    vt_source_opts o = vt_source_opts_default();
    o.hwaccel = VT_HWACCEL_NONE;
    readout r = read_all(&rig, &o);
    assert_int_equal(r.status, VT_OK);
    assert_int_equal(r.count, FRAMES);
    for (int k = 0; k < FRAMES; k++) {
        assert_int_equal(r.frame[k], k);
        assert_near(r.t[k], (double)k / FPS, 1.5e-3);
        assert_true(r.exact[k]);
    }
    assert_int_equal(r.stats.frames, FRAMES);
    assert_int_equal(r.stats.corrupt, 0);
    assert_string_equal(r.stats.backend, "video");
    assert_false(r.stats.hw);
    vt_rig_free(&rig);
}

static void test_h264_in_mkv_mp4_and_ts_keeps_the_luma_exactly(void **state)
{
    (void)state;
    assert_reads_exactly(encode("h264.mkv", "libx264", ""));
    assert_reads_exactly(encode("h264.mp4", "libx264", ""));
    assert_reads_exactly(encode("h264.ts", "libx264", ""));
}

static void test_hevc_in_mkv_mp4_and_ts_keeps_the_luma_exactly(void **state)
{
    (void)state;
    assert_reads_exactly(encode("hevc.mkv", "libx265", ""));
    assert_reads_exactly(encode("hevc.mp4", "libx265", ""));
    assert_reads_exactly(encode("hevc.ts", "libx265", ""));
}

static void test_one_and_two_decoding_threads_give_the_same_frames(void **state)
{
    (void)state;
    const char *video = encode("threads.mkv", "libx265", "");
    vt_rig rig = rig_for(video, NULL);
    for (int threads = 1; threads <= 2; threads++) {
        vt_source_opts o = vt_source_opts_default();
        o.decode_threads = threads;
        readout r = read_all(&rig, &o);
        assert_int_equal(r.status, VT_OK);
        assert_int_equal(r.count, FRAMES);
        for (int k = 0; k < FRAMES; k++)
            assert_true(r.exact[k]);
    }
    vt_rig_free(&rig);
}

static void test_timestamps_file_gives_frames_and_times(void **state)
{
    (void)state;
    vt_rig rig = rig_for(encode("stamped.ts", "libx264", ""), write_stamps());
    readout r = read_all(&rig, NULL);
    assert_int_equal(r.status, VT_OK);
    assert_int_equal(r.count, FRAMES);
    for (int k = 0; k < FRAMES; k++) {
        assert_int_equal(r.frame[k], k);
        assert_near(r.t[k], stamp_time(k), 1e-9);
    }
    vt_rig_free(&rig);
}

/* The 33-bit MPEG-TS clock (90 kHz) wraps after 95443.7 s; times go on. */
static void test_mpegts_clock_wrap_keeps_times_increasing(void **state)
{
    (void)state;
    vt_rig rig = rig_for(encode("wrap.ts", "libx264", "-output_ts_offset 95443"), NULL);
    readout r = read_all(&rig, NULL);
    assert_int_equal(r.status, VT_OK);
    assert_int_equal(r.count, FRAMES);
    for (int k = 0; k < FRAMES; k++)
        assert_near(r.t[k], (double)k / FPS, 1.5e-3);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Damaged files                                                             */

static const char *copy_damaged(const char *src, const char *name, double cut, bool garbage)
{
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(size > 1000 && size < sizeof buf);
    if (garbage) {
        /* 3 KB of pseudo-random bytes in the middle (seeded: the same every run). */
        uint32_t x = 12345;
        for (size_t i = size / 2; i < size / 2 + 3000 && i < size; i++) {
            x = x * 1664525u + 1013904223u;
            buf[i] = (uint8_t)(x >> 24);
        }
    }
    size_t keep = (size_t)(cut * (double)size);
    const char *out = path_in(name);
    f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, keep, f), keep);
    assert_int_equal(fclose(f), 0);
    return out;
}

/* Frames come in order with their own stamps, most of them exact. */
static void assert_damage_survived(const char *video, const readout *r, int at_least)
{
    if (r->status)
        print_error("%s: %s\n", video, vt_last_error());
    assert_int_equal(r->status, VT_OK);
    if (r->count < at_least || r->stats.corrupt + r->stats.lost < 1) {
        print_error("%s: %d frames (expected >= %d), %lld corrupt, %lld lost (expected >= 1)\n",
                    video, r->count, at_least, (long long)r->stats.corrupt,
                    (long long)r->stats.lost);
        fail();
    }
    print_message("%s: %d of %d frames, %lld corrupt, %lld lost\n", strrchr(video, '/') + 1,
                  r->count, FRAMES, (long long)r->stats.corrupt, (long long)r->stats.lost);
    for (int i = 1; i < r->count; i++)
        assert_true(r->frame[i] > r->frame[i - 1]);
    for (int i = 0; i < r->count; i++)
        assert_near(r->t[i], stamp_time(r->frame[i]), 1e-9);
    int exact = 0;
    for (int i = 0; i < r->count; i++)
        exact += r->exact[i];
    assert_true(exact >= at_least / 2);
}

static void test_truncated_file_ends_cleanly_with_the_damage_counted(void **state)
{
    (void)state;
    const char *stamps = write_stamps();
    const char *names[] = {"h264.mkv", "h264.ts", "hevc.mkv"};
    for (int i = 0; i < 3; i++) {
        char cut[64];
        snprintf(cut, sizeof cut, "cut-%s", names[i]);
        const char *video = copy_damaged(path_in(names[i]), cut, 0.6, false);
        vt_rig rig = rig_for(video, stamps);
        readout r = read_all(&rig, NULL);
        assert_damage_survived(video, &r, FRAMES / 4);
        assert_true(r.count < FRAMES);
        vt_rig_free(&rig);
    }
}

static void test_garbage_in_the_middle_is_skipped_and_counted(void **state)
{
    (void)state;
    const char *stamps = write_stamps();
    /* A keyframe every 10 frames, as streams have, so that the decoder recovers. */
    const char *names[] = {"gop-h264.ts", "gop-hevc.ts", "gop-h264.mkv"};
    encode(names[0], "libx264", "-g 10");
    encode(names[1], "libx265", "-g 10");
    /*
     * Matroska resynchronises at the next cluster: small clusters here, as
     * a recording has several per GOP at 8K (the default is 5 s or 5 MB).
     */
    encode(names[2], "libx264", "-g 10 -cluster_time_limit 100 -cluster_size_limit 1500");
    for (int i = 0; i < 3; i++) {
        char bad[64];
        snprintf(bad, sizeof bad, "bad-%s", names[i]);
        const char *video = copy_damaged(path_in(names[i]), bad, 1.0, true);
        vt_rig rig = rig_for(video, stamps);
        readout r = read_all(&rig, NULL);
        assert_damage_survived(video, &r, FRAMES / 2);
        vt_rig_free(&rig);
    }
}

/* ------------------------------------------------------------------------ */
/* Live streams                                                              */

/* A port that was free a moment ago (the kernel's choice). */
static int free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t spawn_ffmpeg(const char *in, const char *out)
{
    char *argv[] = {"ffmpeg", "-nostdin", "-loglevel", "quiet",  "-re",       "-i", (char *)in,
                    "-c",     "copy",     "-f",        "mpegts", (char *)out, NULL};
    pid_t pid;
    assert_int_equal(posix_spawnp(&pid, "ffmpeg", NULL, NULL, argv, environ), 0);
    return pid;
}

/*
 * Waits until something listens on TCP 127.0.0.1:port (ffmpeg started with
 * ?listen=1), reading the kernel's socket table: a probe connection would be
 * the one client that ffmpeg serves. A loaded machine starts ffmpeg late;
 * the wait makes that a non-event. False after 60 s (a hang).
 */
static bool wait_listening(int port)
{
    char want[16];
    snprintf(want, sizeof want, ":%04X", port);
    for (int i = 0; i < 6000; i++) {
        FILE *fp = fopen("/proc/net/tcp", "r");
        char line[512];
        bool found = false;
        if (fp && fgets(line, sizeof line, fp)) /* the header */
            while (!found && fgets(line, sizeof line, fp)) {
                /* "  0: 0100007F:1F90 00000000:0000 0A ...": local address, remote, state. */
                char local[64], remote[64], st[8];
                found = sscanf(line, "%*s %63s %63s %7s", local, remote, st) == 3 &&
                        strlen(local) > 5 && strcmp(local + strlen(local) - 5, want) == 0 &&
                        strcmp(st, "0A") == 0;
            }
        if (fp)
            fclose(fp);
        if (found)
            return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return false;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_live_mpegts_over_tcp_is_read_as_it_comes(void **state)
{
    (void)state;
    const char *video = encode("live.ts", "libx264", "-g 10");
    char url[128];
    int port = free_port(SOCK_STREAM);
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d?listen=1", port);
    pid_t pid = spawn_ffmpeg(video, url);
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    vt_rig rig = rig_for(url, NULL);
    double start = (double)time(NULL);
    vt_source_opts o = vt_source_opts_default();
    o.reconnect_max = 0;            /* the sender closing the stream is its end */
    readout r = read_all(&rig, &o); /* connects as soon as ffmpeg listens */
    stop(pid);
    assert_int_equal(r.status, VT_OK);
    assert_int_equal(r.count, FRAMES);
    assert_int_equal(r.stats.reconnects, 0);
    for (int k = 0; k < FRAMES; k++) {
        assert_true(r.exact[k]);
        assert_near(r.t[k], (double)k / FPS, 1.5e-3);
    }
    /* -re paces the stream: 40 frames at 25 fps take more than a second. */
    assert_true((double)time(NULL) - start >= 1.0);
    vt_rig_free(&rig);
}

static void test_live_mpegts_over_udp_is_read_as_it_comes(void **state)
{
    (void)state;
    const char *video = encode("live-udp.ts", "libx264", "-g 5");
    char url[128];
    int port = free_port(SOCK_DGRAM);
    snprintf(url, sizeof url, "udp://127.0.0.1:%d", port);
    vt_rig rig = rig_for(url, NULL);
    vt_source_opts o = vt_source_opts_default();
    o.timeout_s = 30; /* however late a loaded machine starts ffmpeg */
    vt_source *src = NULL;
    pid_t pid = spawn_ffmpeg(video, url);
    vt_status s = vt_source_open_opts(&rig, 0, &o, &src);
    int got = 0;
    vt_image img = {0};
    while (!s && got < 10) {
        int64_t frame;
        double t;
        bool end;
        s = vt_source_read(src, &img, &frame, &t, &end);
        got += !s && !end;
        if (end)
            break;
    }
    stop(pid);
    /* UDP has no start: the first frames come from wherever the reader joined. */
    assert_int_equal(s, VT_OK);
    assert_int_equal(got, 10);
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Runs argv with its output thrown away. */
static pid_t spawn_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        fail_msg("cannot run %s (scripts/install-deps installs it)", argv[0]);
    return pid;
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether the image is one of the clip's frames, pixel for pixel. */
static bool is_a_clip_frame(const vt_image *img)
{
    for (int k = 0; k < FRAMES; k++)
        if (frame_is_exact(img, k))
            return true;
    return false;
}

/* A live reading: frame numbers, times, and when each frame came. */
typedef struct live_read {
    vt_source *src;
    vt_image img;
    int count, exact;
    int64_t frame[4 * FRAMES];
    double t[4 * FRAMES];
} live_read;

static vt_status read_live(live_read *l, bool *end)
{
    int64_t frame;
    double t;
    vt_status s = vt_source_read(l->src, &l->img, &frame, &t, end);
    if (s || *end)
        return s;
    assert_true(l->count < 4 * FRAMES);
    l->frame[l->count] = frame;
    l->t[l->count] = t;
    l->exact += is_a_clip_frame(&l->img);
    l->count++;
    return VT_OK;
}

/*
 * Starts ffmpeg serving `name` (made here) as a live MPEG-TS over TCP and
 * opens a source on it with these timeout and reconnection settings. The
 * rig, the URL and ffmpeg's listening URL are filled in for the test.
 */
static pid_t start_live_tcp(const char *name, double timeout_s, int reconnect_max, vt_rig *rig,
                            char *url, char *listen_url, live_read *l)
{
    const char *video = encode(name, "libx264", "-g 5");
    int port = free_port(SOCK_STREAM);
    snprintf(listen_url, 128, "tcp://127.0.0.1:%d?listen=1", port);
    snprintf(url, 128, "tcp://127.0.0.1:%d", port);
    pid_t pid = spawn_ffmpeg(video, listen_url);
    assert_true(wait_listening(port));
    *rig = rig_for(url, NULL);
    vt_source_opts o = vt_source_opts_default();
    o.timeout_s = timeout_s;
    o.reconnect_max = reconnect_max;
    assert_int_equal(vt_source_open_opts(rig, 0, &o, &l->src), VT_OK);
    return pid;
}

static void test_killed_tcp_server_started_again_is_reconnected(void **state)
{
    (void)state;
    char listen_url[128], url[128];
    vt_rig rig;
    live_read l = {0};
    /* 8 attempts: 0.1 + 0.2 + ... + 2 s, time for ffmpeg to start again */
    pid_t pid = start_live_tcp("live-again.ts", 5, 8, &rig, url, listen_url, &l);
    const char *video = path_in("live-again.ts");
    bool end = false;
    while (l.count < 10)
        assert_int_equal(read_live(&l, &end), VT_OK);
    kill(pid, SIGKILL); /* mid-stream: the clip lasts 1.6 s at -re */
    waitpid(pid, NULL, 0);
    pid = spawn_ffmpeg(video, listen_url);
    vt_status s = VT_OK;
    while (!s && !end && vt_source_stats_get(l.src).reconnects == 0)
        s = read_live(&l, &end);
    int before = l.count;
    while (!s && !end && l.count < before + 10)
        s = read_live(&l, &end);
    stop(pid);
    assert_int_equal(s, VT_OK);
    assert_false(end);
    vt_source_stats st = vt_source_stats_get(l.src);
    assert_true(st.disconnects >= 1);
    assert_true(st.reconnects >= 1);
    assert_int_equal(l.count, before + 10);
    for (int i = 1; i < l.count; i++) {
        assert_int_equal(l.frame[i], l.frame[i - 1] + 1); /* numbers go on */
        assert_true(l.t[i] > l.t[i - 1]);                 /* so do times */
    }
    assert_int_equal(l.exact, l.count);
    print_message("reconnected: %d frames before, 10 after; %lld disconnects, %lld reconnects\n",
                  before, (long long)st.disconnects, (long long)st.reconnects);
    vt_source_free(l.src);
    vt_image_free(&l.img);
    vt_rig_free(&rig);
}

static void test_tcp_server_that_never_comes_back_fails_after_the_attempts(void **state)
{
    (void)state;
    char listen_url[128], url[128];
    vt_rig rig;
    live_read l = {0};
    pid_t pid = start_live_tcp("live-gone.ts", 1, 3, &rig, url, listen_url, &l);
    bool end = false;
    while (l.count < 5)
        assert_int_equal(read_live(&l, &end), VT_OK);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    double killed = now_s();
    vt_status s = VT_OK;
    while (!s && !end)
        s = read_live(&l, &end);
    double waited = now_s() - killed;
    assert_false(end);
    assert_status(s, VT_EIO, url, "no reconnection in 3 attempts");
    /* Backoff 0.1 + 0.2 + 0.4 s, each attempt refused at once, and the timeout at most. */
    /* The upper bound catches a reader that never gives up, not a slow machine. */
    assert_true(waited >= 0.6 && waited < 60);
    vt_source_stats st = vt_source_stats_get(l.src);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.reconnects, 0);
    /* A source that has failed stays failed. */
    s = read_live(&l, &end);
    assert_status(s, VT_EIO, url, "gone");
    vt_source_free(l.src);
    vt_image_free(&l.img);
    vt_rig_free(&rig);
}

/*
 * A real RTSP server from Debian's packages (rtsp-server-perl): ffmpeg
 * publishes a 32 s clip (the 40 frames twenty times, no B-frames, as a live
 * camera sends) to its source port (ANNOUNCE/RECORD) at its frame rate;
 * voxtrack plays it from the client port. The server sends RTP over UDP only,
 * so this also covers rtsp://'s transport negotiation. (A clip published in a
 * loop would repeat timestamps where it starts again.)
 */
static void test_live_stream_from_an_rtsp_server(void **state)
{
    (void)state;
    const char *video = path_in("rtsp.ts");
    ffmpeg("-stream_loop 19 -f rawvideo -pix_fmt yuv420p -s %dx%d -r %d -i '%s' -c:v libx264 "
           "-qp 0 -bf 0 -g 5 '%s'",
           W, H, FPS, write_yuv(), video);
    int cport = free_port(SOCK_STREAM), sport = free_port(SOCK_STREAM);
    char c[16], s[16], pub[128], url[128];
    snprintf(c, sizeof c, "%d", cport);
    snprintf(s, sizeof s, "%d", sport);
    char *server_argv[] = {"rtsp-server-perl",
                           "-c",
                           c,
                           "-s",
                           s,
                           "--client_listen_address",
                           "127.0.0.1",
                           "--source_listen_address",
                           "127.0.0.1",
                           NULL};
    pid_t server = spawn_quiet(server_argv);
    double give_up = (double)time(NULL) + 20;
    while (!port_open(sport) && (double)time(NULL) < give_up)
        sleep_ms(50);
    assert_true(port_open(sport));
    snprintf(pub, sizeof pub, "rtsp://127.0.0.1:%d/cam0", sport);
    char *pub_argv[] = {"ffmpeg", "-nostdin", "-re",  "-i", (char *)video, "-c",
                        "copy",   "-f",       "rtsp", pub,  NULL};
    pid_t publisher = spawn_quiet(pub_argv);

    snprintf(url, sizeof url, "rtsp://127.0.0.1:%d/cam0", cport);
    vt_rig rig = rig_for(url, NULL);
    vt_source_opts o = vt_source_opts_default();
    o.timeout_s = 5;
    vt_source *src = NULL;
    vt_status st;
    /* Until the publisher has announced its stream the server answers 404. */
    while ((st = vt_source_open_opts(&rig, 0, &o, &src)) != VT_OK && (double)time(NULL) < give_up)
        sleep_ms(200);
    int got = 0, exact = 0;
    double last_t = -1;
    vt_image img = {0};
    while (!st && got < 10) {
        int64_t frame;
        double t;
        bool end;
        st = vt_source_read(src, &img, &frame, &t, &end);
        if (st || end)
            break;
        got++;
        assert_true(t > last_t);
        last_t = t;
        for (int k = 0; k < FRAMES; k++)
            if (frame_is_exact(&img, k)) {
                exact++;
                break;
            }
    }
    stop(publisher);
    stop(server);
    assert_int_equal(st, VT_OK);
    assert_int_equal(got, 10);
    /* Frames are the clip's, pixel for pixel (RTP over UDP may lose a packet on a loaded host). */
    assert_true(exact >= 8);
    vt_source_free(src);
    vt_image_free(&img);
    vt_rig_free(&rig);
}

/* Accepts one connection and says nothing. */
static int silent_server(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_dead_stream_is_a_disconnect_naming_the_url(void **state)
{
    (void)state;
    int port, fd = silent_server(&port);
    char url[128];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    vt_rig rig = rig_for(url, NULL);
    vt_source_opts o = vt_source_opts_default();
    o.timeout_s = 0.5;
    vt_source *src = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_status(vt_source_open_opts(&rig, 0, &o, &src), VT_EIO, url, "disconnected");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    assert_true(waited >= 0.4 && waited < 3.0);
    close(fd);
    /* Nobody listening at all: retried until the timeout, then the same error. */
    assert_status(vt_source_open_opts(&rig, 0, &o, &src), VT_EIO, url, "camera 0 ('m0')");
    assert_null(src);
    vt_rig_free(&rig);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

static void test_hwaccel_auto_decodes_without_a_gpu_and_cuda_needs_one(void **state)
{
    (void)state;
    vt_rig rig = rig_for(path_in("hevc.mkv"), NULL);
    vt_source_opts o = vt_source_opts_default();
    o.hwaccel = VT_HWACCEL_AUTO;
    readout r = read_all(&rig, &o);
    assert_int_equal(r.status, VT_OK);
    assert_int_equal(r.count, FRAMES);
    o.hwaccel = VT_HWACCEL_CUDA;
    vt_source *src = NULL;
    vt_status s = vt_source_open_opts(&rig, 0, &o, &src);
    if (s == VT_OK) {
        print_message("a CUDA device is here: cuda opened (the no-GPU error is not checked)\n");
        vt_source_free(src);
    } else {
        assert_status(s, VT_EUNSUPPORTED, "hwaccel cuda", "hevc.mkv");
    }
    vt_rig_free(&rig);
}

static void test_bad_options_are_refused(void **state)
{
    (void)state;
    vt_rig rig = rig_for(path_in("hevc.mkv"), NULL);
    vt_source *src = NULL;
    vt_source_opts o = vt_source_opts_default();
    o.decode_threads = -1;
    assert_status(vt_source_open_opts(&rig, 0, &o, &src), VT_EINVAL, "decode_threads", NULL);
    o = vt_source_opts_default();
    o.timeout_s = 0;
    assert_status(vt_source_open_opts(&rig, 0, &o, &src), VT_EINVAL, "timeout_s", NULL);
    o = vt_source_opts_default();
    o.hwaccel = (vt_hwaccel)7;
    assert_status(vt_source_open_opts(&rig, 0, &o, &src), VT_EINVAL, "hwaccel", NULL);
    vt_hwaccel h;
    assert_int_equal(vt_hwaccel_parse("cuda", &h), VT_OK);
    assert_int_equal(h, VT_HWACCEL_CUDA);
    assert_status(vt_hwaccel_parse("nvdec", &h), VT_EINVAL, "nvdec", NULL);
    /* Not a video at all: named. */
    free(rig.cameras[0].path);
    rig.cameras[0].path = strdup(path_in("stamps.txt"));
    readout r = read_all(&rig, NULL);
    assert_int_not_equal(r.status, VT_OK);
    assert_non_null(strstr(vt_last_error(), "stamps.txt"));
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h264_in_mkv_mp4_and_ts_keeps_the_luma_exactly),
        cmocka_unit_test(test_hevc_in_mkv_mp4_and_ts_keeps_the_luma_exactly),
        cmocka_unit_test(test_one_and_two_decoding_threads_give_the_same_frames),
        cmocka_unit_test(test_timestamps_file_gives_frames_and_times),
        cmocka_unit_test(test_mpegts_clock_wrap_keeps_times_increasing),
        cmocka_unit_test(test_truncated_file_ends_cleanly_with_the_damage_counted),
        cmocka_unit_test(test_garbage_in_the_middle_is_skipped_and_counted),
        cmocka_unit_test(test_live_mpegts_over_tcp_is_read_as_it_comes),
        cmocka_unit_test(test_live_mpegts_over_udp_is_read_as_it_comes),
        cmocka_unit_test(test_live_stream_from_an_rtsp_server),
        cmocka_unit_test(test_dead_stream_is_a_disconnect_naming_the_url),
        cmocka_unit_test(test_killed_tcp_server_started_again_is_reconnected),
        cmocka_unit_test(test_tcp_server_that_never_comes_back_fails_after_the_attempts),
        cmocka_unit_test(test_hwaccel_auto_decodes_without_a_gpu_and_cuda_needs_one),
        cmocka_unit_test(test_bad_options_are_refused),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
