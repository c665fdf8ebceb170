/*
 * bench/bench_source.c - frame writers and frame sources in every format:
 * N frames of 1920x1080 8-bit mono and of 640x512 16-bit thermal written
 * with vt_frame_writer and read back with vt_source, as frames per second
 * and MB/s of pixels (width x height x bytes per sample, 1 MB = 10^6 bytes).
 *
 * The scene is a sky gradient with sensor noise and a few small targets
 * that move, the content voxtrack's cameras record; the noise matters for
 * PNG and HEVC, whose speed and size depend on it. For reference the
 * program also times a plain fwrite/fread of the same bytes (the raw
 * format's bound) and reports each format's size on disk per frame.
 *
 * Usage: bench_source [N] [folder]   (default 30 frames, $TMPDIR or /tmp)
 * Files are removed afterwards. The program prints figures; it never fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxtrack/source.h"

typedef struct camera_kind {
    const char *name;
    vt_modality modality;
    int width, height, bits;
} camera_kind;

static const camera_kind kinds[] = {
    {"mono 1920x1080 8-bit", VT_MODALITY_MONO, 1920, 1080, 8},
    {"thermal 640x512 16-bit", VT_MODALITY_THERMAL, 640, 512, 16},
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned noise(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 0x2545F4914F6CDD1Dull) >> 60); /* 0..15 */
}

static void fill_scene(vt_image *img, int k)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            unsigned v = 120 + (unsigned)(80 * y / img->height) + (noise() & 3);
            for (int t = 0; t < 4; t++) {
                int tx = 100 + 300 * t + 3 * k, ty = img->height / 5 * (t + 1) / 2;
                if (abs(x - tx) <= 2 && abs(y - ty) <= 2)
                    v = img->bits == 8 ? 30 : 250;
            }
            if (img->bits == 8)
                vt_image_row8(img, y)[x] = (uint8_t)v;
            else
                vt_image_row16(img, y)[x] = (uint16_t)(v * 200 + noise() * 8);
        }
}

static vt_rig_camera make_camera(const camera_kind *k)
{
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", k->modality == VT_MODALITY_MONO ? "m0" : "t0");
    c.modality = k->modality;
    c.bits = k->bits;
    c.cam = (vt_camera){.width = k->width,
                        .height = k->height,
                        .fx = 1000,
                        .fy = 1000,
                        .cx = k->width / 2.0,
                        .cy = k->height / 2.0,
                        .q = {1, 0, 0, 0}};
    vt_camera_init(&c.cam);
    return c;
}

static double disk_bytes(const char *dir, const vt_rig_camera *c)
{
    char cmd[3400];
    snprintf(cmd, sizeof cmd, "du -sb '%s/%s' '%s/%s.mkv' '%s/%s.raw' 2>/dev/null", dir, c->id, dir,
             c->id, dir, c->id);
    FILE *p = popen(cmd, "r");
    double total = 0, n;
    char name[1200];
    while (p && fscanf(p, "%lf %1199s", &n, name) == 2)
        total += n;
    if (p)
        pclose(p);
    return total;
}

static void remove_files(const char *dir, const vt_rig_camera *c)
{
    char cmd[3400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s' '%s/%s.mkv' '%s/%s.raw'", dir, c->id, dir, c->id, dir,
             c->id);
    if (system(cmd) != 0)
        printf("  could not remove the files of %s\n", c->id);
}

static void report(const char *what, int n, double seconds, double frame_bytes)
{
    printf("  %-6s %8.1f frames/s %9.1f MB/s\n", what, n / seconds,
           n * frame_bytes / seconds / 1e6);
}

static void bench_format(const char *dir, const camera_kind *k, vt_frame_format fmt, int n,
                         vt_image *frames)
{
    vt_rig_camera c = make_camera(k);
    double frame_bytes = (double)k->width * k->height * (k->bits / 8);
    vt_frame_writer *w;
    double t0 = vt__now();
    if (vt_frame_writer_open(dir, &c, fmt, 30.0, &w) != VT_OK) {
        printf("  %s: %s\n", vt_frame_format_name(fmt), vt_last_error());
        return;
    }
    for (int i = 0; i < n && vt_frame_writer_write(w, &frames[i % 8], i, i / 30.0) == VT_OK; i++)
        ;
    vt_status s = vt_frame_writer_close(w);
    double t1 = vt__now();
    printf(" %s: %.0f bytes per frame on disk (%.2f of the pixels)%s%s\n",
           vt_frame_format_name(fmt), disk_bytes(dir, &c) / n,
           disk_bytes(dir, &c) / n / frame_bytes, s ? "; error: " : "", s ? vt_last_error() : "");
    report("write", n, t1 - t0, frame_bytes);

    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_add(&rig, &c);
    free(rig.dir);
    rig.dir = strdup(dir);
    vt_source *src;
    vt_image img = {0};
    int got = 0;
    t0 = vt__now();
    if (vt_source_open(&rig, 0, &src) == VT_OK) {
        int64_t frame;
        double t;
        bool end = false;
        while (vt_source_read(src, &img, &frame, &t, &end) == VT_OK && !end)
            got++;
        vt_source_free(src);
    }
    t1 = vt__now();
    if (got != n)
        printf("  read %d of %d frames: %s\n", got, n, vt_last_error());
    report("read", got, t1 - t0, frame_bytes);
    vt_image_free(&img);
    vt_rig_free(&rig);
    remove_files(dir, &c);
    free(c.path);
    free(c.timestamps);
}

/* The bound for raw: the same bytes through stdio, page cache warm. */
static void bench_stdio(const char *dir, const camera_kind *k, int n, const vt_image *frame)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/stdio.bin", dir);
    size_t row = (size_t)k->width * (size_t)(k->bits / 8);
    double t0 = vt__now();
    FILE *fp = fopen(path, "wb");
    for (int i = 0; fp && i < n; i++)
        for (int y = 0; y < k->height; y++)
            fwrite(vt_image_row8(frame, y), 1, row, fp);
    if (fp)
        fclose(fp);
    double t1 = vt__now();
    printf(" fwrite/fread of the same bytes (reference):\n");
    report("write", n, t1 - t0, (double)row * k->height);
    vt_image img;
    vt_image_alloc(&img, k->width, k->height, k->bits);
    t0 = vt__now();
    fp = fopen(path, "rb");
    for (int i = 0; fp && i < n; i++)
        for (int y = 0; y < k->height; y++)
            if (fread(vt_image_row8(&img, y), 1, row, fp) != row)
                break;
    if (fp)
        fclose(fp);
    t1 = vt__now();
    report("read", n, t1 - t0, (double)row * k->height);
    vt_image_free(&img);
    remove(path);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 30;
    if (n < 1)
        n = 1;
    const char *base = argc > 2 ? argv[2] : getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bench_source-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        printf("cannot create a folder under %s\n", base ? base : "/tmp");
        return 0;
    }
    printf("bench_source: %d frames per format, files under %s\n", n, dir);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        printf("\n%s\n", kinds[k].name);
        vt_image frames[8];
        for (int i = 0; i < 8; i++) {
            vt_image_alloc(&frames[i], kinds[k].width, kinds[k].height, kinds[k].bits);
            fill_scene(&frames[i], i);
        }
        for (int f = 0; f < 4; f++)
            bench_format(dir, &kinds[k], (vt_frame_format)f, n, frames);
        bench_stdio(dir, &kinds[k], n, &frames[0]);
        for (int i = 0; i < 8; i++)
            vt_image_free(&frames[i]);
    }
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    return 0;
}
