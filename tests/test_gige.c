/*
 * tests/test_gige.c - the GigE Vision source against Aravis' fake camera on
 * 127.0.0.1, through the real GVCP/GVSP protocol: frames of the right size
 * with increasing numbers and times, a killed camera reported as a
 * disconnect and, started again, a reconnect; a camera that stays away, a
 * wrong frame size and an unknown id give clear errors in bounded time.
 *
 * The fake camera owns UDP port 3956 on 127.0.0.1, so only one such test can
 * run at a time on a host: the setup waits up to 30 s for the port and then
 * fails saying who holds it (ctest: give test_gige RESOURCE_LOCK gvcp if
 * another test ever starts a fake camera too). A missing aravis-tools fails
 * loudly: scripts/install-deps installs it.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arv.h>
#include <cmocka.h>

#include "source/gige_internal.h"
#include "voxtrack/rig.h"
#include "voxtrack/source.h"
#include "vt_test_gige.h"
#define VT_TEST_NAME "test_gige"
#include "vt_test_tmp.h"

static char tool[1024];
static pid_t camera_pid = -1;

/* ------------------------------------------------------------------------ */
/* The fake camera                                                            */

static bool start_camera(void)
{
    camera_pid = vt_gige_fake_start(tool, 0);
    return camera_pid > 0 && vt_gige_fake_wait(camera_pid, 10);
}

static void stop_camera(void)
{
    vt_gige_fake_stop(camera_pid);
    camera_pid = -1;
}

static int setup(void **state)
{
    if (vt_test_make_tmpdir(state) != 0)
        return -1;
    if (!vt_gige_fake_path(tool, sizeof tool)) {
        fprintf(stderr,
                "test_gige: %s is not installed (Debian package aravis-tools; "
                "scripts/install-deps installs it)\n",
                VT_GIGE_FAKE_TOOL);
        return -1;
    }
    if (!vt_gige_wait_port_free(30)) {
        fprintf(stderr,
                "test_gige: UDP port %d on %s stays in use (another fake GigE camera?); "
                "the GigE tests need it alone\n",
                VT_GIGE_GVCP_PORT, VT_GIGE_FAKE_ADDRESS);
        return -1;
    }
    if (!start_camera()) {
        fprintf(stderr, "test_gige: %s did not start on %s\n", tool, VT_GIGE_FAKE_ADDRESS);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    stop_camera();
    arv_shutdown(); /* frees Aravis' interface list, so that LeakSanitizer sees no leak */
    return vt_test_remove_tmpdir(state);
}

/* Restarts the camera unless it runs (a failed test may have left it stopped). */
static void ensure_camera(void)
{
    if (camera_pid > 0 && waitpid(camera_pid, NULL, WNOHANG) == 0)
        return;
    camera_pid = -1;
    assert_true(vt_gige_wait_port_free(15));
    assert_true(start_camera());
}

/* ------------------------------------------------------------------------ */
/* Rigs and reading                                                          */

static void gige_rig(vt_rig *rig, const char *id, int width, int height, int bits)
{
    vt_rig_init(rig);
    rig->fps = 50;
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "g0");
    c.modality = bits == 16 ? VT_MODALITY_THERMAL : VT_MODALITY_MONO;
    c.bits = bits;
    c.cam.width = width;
    c.cam.height = height;
    c.cam.fx = c.cam.fy = 500;
    c.cam.cx = width / 2.0;
    c.cam.cy = height / 2.0;
    c.cam.q.w = 1;
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    c.media = VT_MEDIA_GIGE;
    c.path = (char *)id;
    c.gige = vt_rig_gige_default();
    assert_int_equal(vt_rig_add(rig, &c), VT_OK);
}

static vt_source_opts quick_opts(double timeout_s, int reconnect_max)
{
    vt_source_opts o = vt_source_opts_default();
    o.timeout_s = timeout_s;
    o.reconnect_max = reconnect_max;
    return o;
}

/* Reads n frames and checks size, depth and strictly increasing numbers and times. */
static void read_frames(vt_source *s, int n, int bits, int64_t *frame, double *t)
{
    vt_image img = {0};
    for (int i = 0; i < n; i++) {
        int64_t f;
        double ft;
        bool end = true;
        vt_status st = vt_source_read(s, &img, &f, &ft, &end);
        if (st)
            print_error("read: %s\n", vt_last_error());
        assert_int_equal(st, VT_OK);
        assert_false(end);
        assert_int_equal(img.width, 512);
        assert_int_equal(img.height, 512);
        assert_int_equal(img.bits, bits);
        if (*frame >= 0) {
            assert_true(f > *frame);
            assert_true(ft > *t);
            assert_true(ft - *t < 10.0);
        }
        *frame = f;
        *t = ft;
    }
    vt_image_free(&img);
}

/*
 * The fake camera (started if need be) as rig camera 0 of `bits`, opened with
 * these options; n frames read and checked, the last one's number and time
 * in *frame and *t.
 */
static vt_source *open_fake(vt_rig *rig, int bits, double timeout_s, int reconnect_max, int n,
                            int64_t *frame, double *t)
{
    ensure_camera();
    gige_rig(rig, VT_GIGE_FAKE_ADDRESS, 512, 512, bits);
    vt_source_opts o = quick_opts(timeout_s, reconnect_max);
    vt_source *s = NULL;
    vt_status st = vt_source_open_opts(rig, 0, &o, &s);
    if (st)
        print_error("open: %s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    *frame = -1;
    *t = 0;
    read_frames(s, n, bits, frame, t);
    return s;
}

/* Opens the rig's camera with opts and expects failure with `status`, naming `words`. */
static void assert_open_fails(const vt_rig *rig, const vt_source_opts *o, vt_status status,
                              const char *const *words)
{
    vt_source *s = NULL;
    vt_status st = vt_source_open_opts(rig, 0, o, &s);
    assert_null(s);
    if (st != status)
        print_error("status %s (%s), expected %s\n", vt_status_name(st), vt_last_error(),
                    vt_status_name(status));
    assert_int_equal(st, status);
    for (; *words; words++)
        if (!strstr(vt_last_error(), *words)) {
            print_error("message \"%s\" does not name \"%s\"\n", vt_last_error(), *words);
            fail();
        }
}

/* stderr into a file while a call runs, to check what it reported. */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void gige_captures_frames_with_increasing_numbers_and_times(void **state)
{
    (void)state;
    vt_rig rig;
    int64_t frame;
    double t;
    vt_source *s = open_fake(&rig, 8, 5, 0, 10, &frame, &t);
    vt_source_stats stats = vt_source_stats_get(s);
    assert_string_equal(stats.backend, "gige");
    assert_int_equal(stats.frames, 10);
    assert_int_equal(stats.disconnects, 0);
    assert_true(frame >= 9);
    vt_source_free(s);
    vt_rig_free(&rig);
}

static void gige_16_bit_camera_gets_mono16_frames(void **state)
{
    (void)state;
    vt_rig rig;
    int64_t frame;
    double t;
    vt_source *s = open_fake(&rig, 16, 5, 0, 3, &frame, &t);
    vt_source_free(s);
    vt_rig_free(&rig);
}

static void gige_killed_camera_is_a_disconnect_and_its_return_a_reconnect(void **state)
{
    (void)state;
    vt_rig rig;
    int64_t frame;
    double t;
    vt_source *s = open_fake(&rig, 8, 0.5, 20, 3, &frame, &t);

    stop_camera();
    camera_pid = vt_gige_fake_start(tool, 1.0); /* back in a second */
    const char *log = vt_test_tmp_path("stderr.txt");
    int saved = stderr_to(log);
    double t0 = vt_gige_now();
    /* Frames that arrived before the kill are still queued: read through them. */
    int queued = 0;
    while (vt_source_stats_get(s).disconnects == 0 && queued < 40) {
        read_frames(s, 1, 8, &frame, &t);
        queued++;
    }
    read_frames(s, 3, 8, &frame, &t);
    double took = vt_gige_now() - t0;
    stderr_back(saved);

    vt_source_stats stats = vt_source_stats_get(s);
    assert_true(stats.disconnects >= 1);
    assert_true(stats.reconnects >= 1);
    assert_int_equal(stats.frames, 3 + queued + 3);
    print_message("disconnect to 3 frames after the reconnect: %.1f s\n", took);
    const char *text = slurp(log);
    if (!strstr(text, "camera 0 ('g0')") || !strstr(text, "disconnected") ||
        !strstr(text, "reconnected")) {
        print_error("stderr was: %s\n", text);
        fail();
    }
    vt_source_free(s);
    vt_rig_free(&rig);
}

static void gige_camera_that_stays_away_fails_after_reconnect_max(void **state)
{
    (void)state;
    vt_rig rig;
    int64_t frame;
    double t;
    vt_source *s = open_fake(&rig, 8, 0.3, 1, 2, &frame, &t);
    stop_camera();

    vt_image img = {0};
    int64_t f;
    double ft;
    bool end;
    int saved = stderr_to(vt_test_tmp_path("stderr.txt"));
    double t0 = vt_gige_now();
    vt_status st = VT_OK;
    for (int i = 0; i < 40 && st == VT_OK; i++) /* through the frames queued before the kill */
        st = vt_source_read(s, &img, &f, &ft, &end);
    double took = vt_gige_now() - t0;
    stderr_back(saved);
    assert_int_equal(st, VT_EIO);
    assert_non_null(strstr(vt_last_error(), "camera 0 ('g0')"));
    assert_non_null(strstr(vt_last_error(), "1 attempts"));
    print_message("kill to the failure: %.1f s\n", took);
    /* It stays failed, with the same message. */
    assert_int_equal(vt_source_read(s, &img, &f, &ft, &end), VT_EIO);
    assert_non_null(strstr(vt_last_error(), "is gone"));
    assert_int_equal(vt_source_stats_get(s).disconnects, 1);
    assert_int_equal(vt_source_stats_get(s).reconnects, 0);
    ensure_camera(); /* lets the dead connection's release finish quickly */
    vt_source_free(s);
    vt_image_free(&img);
    vt_rig_free(&rig);
}

static void gige_settings_apply_and_a_camera_without_ptp_warns(void **state)
{
    (void)state;
    ensure_camera();
    vt_rig rig;
    gige_rig(&rig, VT_GIGE_FAKE_ADDRESS, 512, 512, 8);
    vt_rig_gige *g = &rig.cameras[0].gige;
    g->exposure_us = 2000;
    g->gain_db = 2;
    g->fps = 40;
    g->ptp = true;
    g->packet_size = 1400;
    vt_source_opts o = quick_opts(5, 0);
    vt_source *s = NULL;
    const char *log = vt_test_tmp_path("ptp.txt");
    int saved = stderr_to(log);
    vt_status st = vt_source_open_opts(&rig, 0, &o, &s);
    stderr_back(saved);
    if (st)
        print_error("open: %s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    const char *text = slurp(log);
    if (!strstr(text, "camera 0 ('g0')") || !strstr(text, "has no PTP")) {
        print_error("stderr was: %s\n", text);
        fail();
    }
    int64_t frame = -1;
    double t = 0;
    read_frames(s, 2, 8, &frame, &t);
    vt_source_free(s);
    vt_rig_free(&rig);
}

static void gige_refused_settings_are_named(void **state)
{
    (void)state;
    ensure_camera();
    vt_rig rig;
    gige_rig(&rig, VT_GIGE_FAKE_ADDRESS, 512, 512, 8);
    snprintf(rig.cameras[0].gige.pixel_format, sizeof rig.cameras[0].gige.pixel_format,
             "Mono12"); /* the fake camera has Mono8 and Mono16 only */
    vt_source_opts o = quick_opts(2, 0);
    const char *format[] = {"camera 0 ('g0')", "pixel format Mono12", NULL};
    assert_open_fails(&rig, &o, VT_EUNSUPPORTED, format);
    rig.cameras[0].gige.pixel_format[0] = '\0';
    snprintf(rig.cameras[0].gige.trigger_source, sizeof rig.cameras[0].gige.trigger_source,
             "Line7");
    const char *trigger[] = {"camera 0 ('g0')", "gige.trigger_source", NULL};
    assert_open_fails(&rig, &o, VT_EUNSUPPORTED, trigger);
    vt_rig_free(&rig);
}

static void gige_wrong_frame_size_names_camera_and_both_sizes(void **state)
{
    (void)state;
    ensure_camera();
    vt_rig rig;
    gige_rig(&rig, VT_GIGE_FAKE_ADDRESS, 640, 480, 8);
    vt_source_opts o = quick_opts(2, 0);
    const char *words[] = {"camera 0 ('g0')", "512x512", "640x480", NULL};
    assert_open_fails(&rig, &o, VT_EMISMATCH, words);
    vt_rig_free(&rig);
}

static void gige_unknown_id_fails_in_bounded_time(void **state)
{
    (void)state;
    vt_rig rig;
    gige_rig(&rig, "VT-NO-SUCH-CAMERA", 512, 512, 8);
    vt_source_opts o = quick_opts(2, 0);
    const char *words[] = {"camera 0 ('g0')", "VT-NO-SUCH-CAMERA", NULL};
    double t0 = vt_gige_now();
    assert_open_fails(&rig, &o, VT_ENOENT, words);
    /* Bounded by Aravis' GVCP timeouts (a few seconds); the bound catches a hang. */
    assert_true(vt_gige_now() - t0 < 60);
    vt_rig_free(&rig);
}

static void gige_bad_options_and_empty_id_are_refused(void **state)
{
    (void)state;
    vt_rig rig;
    gige_rig(&rig, VT_GIGE_FAKE_ADDRESS, 512, 512, 8);
    vt_source_opts o = quick_opts(0, 0);
    const char *timeout[] = {"timeout_s", NULL};
    assert_open_fails(&rig, &o, VT_EINVAL, timeout);
    o = quick_opts(1, 0);
    free(rig.cameras[0].path);
    rig.cameras[0].path = NULL;
    const char *id[] = {"camera 0 ('g0')", "no camera id", NULL};
    assert_open_fails(&rig, &o, VT_EINVAL, id);
    vt_rig_free(&rig);
}

static void gige_block_ids_count_lost_frames_across_the_16_bit_wrap(void **state)
{
    (void)state;
    assert_int_equal(vt__gige_id_step(10, 11), 1);
    assert_int_equal(vt__gige_id_step(10, 13), 3);       /* two lost */
    assert_int_equal(vt__gige_id_step(65535, 1), 1);     /* 0 is never sent */
    assert_int_equal(vt__gige_id_step(65534, 2), 3);     /* 65535 and 1 lost */
    assert_int_equal(vt__gige_id_step(65535, 0), 1);     /* a camera that sends 0 anyway */
    assert_int_equal(vt__gige_id_step(5000, 1), 1);      /* restarted its count */
    assert_int_equal(vt__gige_id_step(5, 60000), 1);     /* restarted, not 59994 lost */
    assert_int_equal(vt__gige_id_step(7, 7), 1);         /* a repeat */
    assert_int_equal(vt__gige_id_step(70000, 70004), 4); /* 64-bit ids do not wrap */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gige_captures_frames_with_increasing_numbers_and_times),
        cmocka_unit_test(gige_16_bit_camera_gets_mono16_frames),
        cmocka_unit_test(gige_killed_camera_is_a_disconnect_and_its_return_a_reconnect),
        cmocka_unit_test(gige_camera_that_stays_away_fails_after_reconnect_max),
        cmocka_unit_test(gige_settings_apply_and_a_camera_without_ptp_warns),
        cmocka_unit_test(gige_refused_settings_are_named),
        cmocka_unit_test(gige_wrong_frame_size_names_camera_and_both_sizes),
        cmocka_unit_test(gige_unknown_id_fails_in_bounded_time),
        cmocka_unit_test(gige_bad_options_and_empty_id_are_refused),
        cmocka_unit_test(gige_block_ids_count_lost_frames_across_the_16_bit_wrap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
