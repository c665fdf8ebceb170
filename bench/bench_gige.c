/*
 * bench/bench_gige.c - capture throughput of the GigE Vision source from
 * Aravis' fake camera (arv-fake-gv-camera-0.8) on 127.0.0.1: frames/s and
 * MB/s through vt_source_read (GVCP + GVSP on loopback, one copy into the
 * image), against the same stream popped and pushed back by Aravis alone
 * (no copy), at 512x512 and at 2048x2048 (the fake camera's largest), Mono8
 * and Mono16. Prints figures; never passes or fails.
 *
 *     build/bench/bench_gige [SECONDS_PER_RUN]     (default 3)
 *
 * The fake camera makes its frames in software at the rate asked for, so on
 * loopback the figures measure the host (the fake camera's CPU, the kernel's
 * UDP path, Aravis' receive thread and our copy), not a network.
 */
#include <arv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/vt_test_gige.h"
#include "voxtrack/rig.h"
#include "voxtrack/source.h"

typedef struct run {
    int width, height, bits;
    double fps; /* asked of the camera */
} run;

/* Sets the fake camera's region and rate through Aravis (it keeps them between connections). */
static bool configure_camera(const run *r)
{
    GError *e = NULL;
    ArvCamera *cam = arv_camera_new(VT_GIGE_FAKE_ADDRESS, &e);
    if (!cam) {
        fprintf(stderr, "bench_gige: cannot open the fake camera: %s\n", e ? e->message : "?");
        g_clear_error(&e);
        return false;
    }
    arv_camera_set_region(cam, 0, 0, r->width, r->height, &e);
    if (!e)
        arv_camera_set_pixel_format_from_string(cam, r->bits == 16 ? "Mono16" : "Mono8", &e);
    if (!e)
        arv_camera_set_frame_rate(cam, r->fps, &e);
    bool ok = e == NULL;
    if (e)
        fprintf(stderr, "bench_gige: cannot configure the fake camera: %s\n", e->message);
    g_clear_error(&e);
    g_object_unref(cam);
    return ok;
}

/* Aravis alone: pop and push back, no copy. Frames per second. */
static double aravis_only(double seconds, double *mb_s)
{
    GError *e = NULL;
    ArvCamera *cam = arv_camera_new(VT_GIGE_FAKE_ADDRESS, &e);
    ArvStream *stream = cam ? arv_camera_create_stream(cam, NULL, NULL, &e) : NULL;
    if (!stream) {
        g_clear_error(&e);
        if (cam)
            g_object_unref(cam);
        return 0;
    }
    guint payload = arv_camera_get_payload(cam, NULL);
    for (int i = 0; i < 8; i++)
        arv_stream_push_buffer(stream, arv_buffer_new_allocate(payload));
    arv_camera_start_acquisition(cam, NULL);
    long frames = 0;
    double t0 = 0, end = vt_gige_now() + seconds + 0.5;
    while (vt_gige_now() < end) {
        ArvBuffer *b = arv_stream_timeout_pop_buffer(stream, 200000);
        if (!b)
            continue;
        if (arv_buffer_get_status(b) == ARV_BUFFER_STATUS_SUCCESS) {
            if (t0 == 0) /* the clock starts at the first frame, as below */
                t0 = vt_gige_now();
            else
                frames++;
        }
        arv_stream_push_buffer(stream, b);
    }
    double rate = t0 > 0 ? frames / (vt_gige_now() - t0) : 0;
    *mb_s = rate * payload / 1e6;
    arv_camera_stop_acquisition(cam, NULL);
    g_object_unref(stream);
    g_object_unref(cam);
    return rate;
}

/* Through vt_source_read. Frames per second; the source's counters in *st. */
static double voxtrack_source(const run *r, double seconds, vt_source_stats *st)
{
    vt_rig rig;
    vt_rig_init(&rig);
    rig.fps = r->fps;
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "g0");
    c.bits = r->bits;
    c.cam.width = r->width;
    c.cam.height = r->height;
    c.cam.fx = c.cam.fy = 1000;
    c.cam.q.w = 1;
    c.media = VT_MEDIA_GIGE;
    c.path = (char *)VT_GIGE_FAKE_ADDRESS;
    c.gige.gain_db = NAN;
    vt_source *s = NULL;
    double rate = 0;
    if (vt_camera_init(&c.cam) || vt_rig_add(&rig, &c) || vt_source_open(&rig, 0, &s)) {
        fprintf(stderr, "bench_gige: %s\n", vt_last_error());
        vt_rig_free(&rig);
        return 0;
    }
    vt_image img = {0};
    int64_t frame;
    double t, t0 = 0, end = vt_gige_now() + seconds + 0.5;
    long frames = 0;
    bool eos;
    while (vt_gige_now() < end && vt_source_read(s, &img, &frame, &t, &eos) == VT_OK) {
        if (t0 == 0)
            t0 = vt_gige_now();
        else
            frames++;
    }
    rate = t0 > 0 ? frames / (vt_gige_now() - t0) : 0;
    *st = vt_source_stats_get(s);
    vt_image_free(&img);
    vt_source_free(s);
    vt_rig_free(&rig);
    return rate;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    char tool[1024];
    if (!(seconds > 0) || !vt_gige_fake_path(tool, sizeof tool)) {
        fprintf(stderr, "bench_gige: usage: bench_gige [SECONDS]; needs %s (aravis-tools)\n",
                VT_GIGE_FAKE_TOOL);
        return 2;
    }
    if (!vt_gige_wait_port_free(30)) {
        fprintf(stderr, "bench_gige: UDP port 3956 on 127.0.0.1 is in use\n");
        return 1;
    }
    pid_t pid = vt_gige_fake_start(tool, 0);
    if (pid <= 0 || !vt_gige_fake_wait(pid, 10)) {
        fprintf(stderr, "bench_gige: the fake camera did not start\n");
        vt_gige_fake_stop(pid);
        return 1;
    }
    static const run runs[] = {
        {512, 512, 8, 200}, {512, 512, 16, 200}, {2048, 2048, 8, 100}, {2048, 2048, 16, 50}};
    printf("GigE Vision capture from %s on %s, %.1f s per run\n", VT_GIGE_FAKE_TOOL,
           VT_GIGE_FAKE_ADDRESS, seconds);
    printf("%-11s %4s %6s | %9s %8s | %9s %8s %6s %7s %6s\n", "size", "bits", "asked", "aravis/s",
           "MB/s", "vt/s", "MB/s", "lost", "corrupt", "resent");
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        const run *r = &runs[i];
        if (!configure_camera(r))
            break;
        double mb_a = 0, fa = aravis_only(seconds, &mb_a);
        vt_source_stats st = {0};
        double fv = voxtrack_source(r, seconds, &st);
        double frame_mb = (double)r->width * r->height * (r->bits / 8) / 1e6;
        printf("%4dx%-6d %4d %6.0f | %9.1f %8.1f | %9.1f %8.1f %6lld %7lld %6lld\n", r->width,
               r->height, r->bits, r->fps, fa, mb_a, fv, fv * frame_mb, (long long)st.lost,
               (long long)st.corrupt, (long long)st.resent);
        fflush(stdout);
    }
    vt_gige_fake_stop(pid);
    arv_shutdown();
    return 0;
}
