/*
 * bench/bench_decode.c - decoding 8K (7680x4320) video through vt_source:
 * frames per second and megapixels per second of HEVC (gray, as
 * vt_frame_writer and a mono camera make it) and H.264 (YUV 4:2:0, as most
 * cameras send it, luma kept), with 1 and 2 software decoding threads and,
 * where a CUDA device opens, on the GPU (hwaccel cuda).
 *
 * The clip is made by the ffmpeg tool: a grey sky with sensor noise of a
 * few levels (the noise is what costs bits and decoding time), CRF 12 on the
 * ultrafast preset like the frame writer. For reference the program times a
 * memcpy of the luma plane per frame, the floor of "keep only the luma".
 *
 * Usage: bench_decode [N] [folder]   (default 12 frames, $TMPDIR or /tmp)
 * The clips are removed afterwards. The program prints figures; it never
 * fails (a step that cannot run says why).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxtrack/source.h"

enum { W = 7680, H = 4320 };

typedef struct clip {
    const char *name, *file, *codec;
} clip;

static const clip clips[] = {
    {"HEVC gray, MKV", "bench_decode_hevc.mkv",
     "-vf format=gray,noise=alls=2:allf=t -c:v libx265 -preset ultrafast -crf 12 "
     "-x265-params log-level=none"},
    {"H.264 yuv420p, MPEG-TS", "bench_decode_h264.ts",
     "-vf format=yuv420p,noise=alls=2:allf=t -c:v libx264 -preset ultrafast -crf 12"},
};

static bool make_clip(const char *path, const clip *c, int frames)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0x909090:s=%dx%d:r=30 "
             "-frames:v %d %s '%s'",
             W, H, frames, c->codec, path);
    double t0 = vt__now();
    bool ok = system(cmd) == 0;
    printf("  made %s: %d frames in %.1f s%s\n", path, frames, vt__now() - t0,
           ok ? "" : " (ffmpeg failed)");
    return ok;
}

/* Decodes the whole clip; frames/s, or a negative number when it failed. */
static double decode(const char *path, vt_hwaccel hw, int threads, int *frames, bool *on_gpu)
{
    vt_rig rig;
    vt_rig_init(&rig);
    rig.fps = 30;
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "m0");
    c.modality = VT_MODALITY_MONO;
    c.bits = 8;
    c.cam = (vt_camera){.width = W,
                        .height = H,
                        .fx = 5000,
                        .fy = 5000,
                        .cx = W / 2.0,
                        .cy = H / 2.0,
                        .q = {1, 0, 0, 0}};
    vt_camera_init(&c.cam);
    c.media = VT_MEDIA_VIDEO;
    c.path = (char *)path;
    vt_rig_add(&rig, &c);
    vt_source_opts o = vt_source_opts_default();
    o.hwaccel = hw;
    o.decode_threads = threads;
    vt_source *src = NULL;
    double fps = -1;
    *frames = 0;
    if (vt_source_open_opts(&rig, 0, &o, &src) == VT_OK) {
        vt_image img = {0};
        double t0 = vt__now();
        for (;;) {
            int64_t f;
            double t;
            bool end;
            if (vt_source_read(src, &img, &f, &t, &end) != VT_OK || end)
                break;
            ++*frames;
        }
        double dt = vt__now() - t0;
        fps = *frames / dt;
        *on_gpu = vt_source_stats_get(src).hw;
        vt_image_free(&img);
    } else {
        printf("    (%s)\n", vt_last_error());
    }
    vt_source_free(src);
    vt_rig_free(&rig);
    return fps;
}

static void memcpy_floor(int frames)
{
    size_t n = (size_t)W * H;
    unsigned char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a);
        free(b);
        return;
    }
    memset(a, 1, n);
    double t0 = vt__now();
    for (int i = 0; i < frames; i++) {
        a[i] = (unsigned char)i;
        memcpy(b, a, n);
    }
    double dt = vt__now() - t0;
    printf("  memcpy of the 8K luma plane: %.0f frames/s (%.1f GB/s)   [b%d]\n", frames / dt,
           frames * (double)n / dt / 1e9, b[frames % 7]);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 12;
    const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (n < 1)
        n = 12;
    printf("bench_decode: %dx%d, %d frames per clip, folder %s, %ld cores online\n", W, H, n, dir,
           sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t k = 0; k < sizeof clips / sizeof clips[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, clips[k].file);
        printf("%s\n", clips[k].name);
        if (!make_clip(path, &clips[k], n))
            continue;
        const struct {
            const char *what;
            vt_hwaccel hw;
            int threads;
        } runs[] = {{"software, 1 thread ", VT_HWACCEL_NONE, 1},
                    {"software, 2 threads", VT_HWACCEL_NONE, 2},
                    {"hwaccel cuda       ", VT_HWACCEL_CUDA, 0}};
        for (size_t r = 0; r < 3; r++) {
            int frames;
            bool gpu = false;
            double fps = decode(path, runs[r].hw, runs[r].threads, &frames, &gpu);
            if (fps < 0)
                printf("  %s: not measured\n", runs[r].what);
            else
                printf("  %s: %6.2f frames/s  %7.1f Mpixel/s  (%d frames%s)\n", runs[r].what, fps,
                       fps * W * H / 1e6, frames, gpu ? ", on the GPU" : "");
        }
        unlink(path);
    }
    memcpy_floor(50);
    return 0;
}
