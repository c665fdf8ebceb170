/*
 * src/source/writer.c - frame writers: the frames of one rig camera written
 * under a folder as an image sequence (PNG, PGM), a raw file or an HEVC
 * video, with the timestamps file that says which frames exist and when
 * they were captured (see voxtrack/source.h; layouts in docs/FORMATS.md).
 *
 * Layout under DIR for camera ID:
 *   png, pgm   ID/%06d.png, ID/%06d.pgm    one file per frame number
 *   raw        ID.raw                      frames concatenated, 16 bit LE
 *   hevc       ID.mkv                      HEVC in Matroska (video.c)
 *   always     ID/timestamps.txt           "FRAME SECONDS" per frame
 * The timestamps line of a frame is written after its pixels, so a file cut
 * short by a crash never lists a frame that is not there.
 *
 * PGM is written here (Netpbm's pgm(5): "P5", maxval 255, or 65535 with
 * two big-endian bytes per sample) in one fwrite per frame; PNG goes through
 * vt_image_save_png.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/source.h"

struct vt_frame_writer {
    vt_frame_format fmt;
    int width, height, bits;
    char id[32];
    char folder[4096]; /* DIR/ID */
    FILE *stamps;
    FILE *raw;
    vt__video_writer *video;
    uint8_t *buf; /* one PGM file, or one byte-swapped raw row */
    size_t buf_size;
    int64_t last; /* last frame number written, -1 before the first */
};

static vt_status io_error(const char *path, const char *what, int err)
{
    char msg[128];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return vt__error(err == ENOENT ? VT_ENOENT : VT_EIO, "%s: %s: %s", path, what, msg);
}

/* mkdir -p: every missing folder on the way. */
static vt_status make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, 0777) != 0 &&
            !(errno == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
            return io_error(buf, "cannot create the folder", errno == EEXIST ? ENOTDIR : errno);
        if (!c)
            return VT_OK;
        *p = c;
    }
}

static bool little_endian_host(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static vt_status check_open_args(const char *dir, const vt_rig_camera *cam, vt_frame_format fmt,
                                 double fps)
{
    if (!dir || !cam)
        return vt__error(VT_EINVAL, "frame writer: NULL argument");
    if (!memchr(cam->id, '\0', sizeof cam->id) || !cam->id[0] || strchr(cam->id, '/') ||
        strcmp(cam->id, ".") == 0 || strcmp(cam->id, "..") == 0)
        return vt__error(VT_EINVAL, "frame writer: camera id must be a plain file name");
    if ((unsigned)fmt > VT_FORMAT_RAW)
        return vt__error(VT_EINVAL, "camera '%s': unknown frame format %d", cam->id, (int)fmt);
    if (cam->bits != 8 && cam->bits != 16)
        return vt__error(VT_EINVAL, "camera '%s': bits must be 8 or 16 (got %d)", cam->id,
                         cam->bits);
    if (cam->cam.width <= 0 || cam->cam.height <= 0)
        return vt__error(VT_EINVAL, "camera '%s': frame size %dx%d", cam->id, cam->cam.width,
                         cam->cam.height);
    if (!(fps > 0) || !isfinite(fps))
        return vt__error(VT_EINVAL, "camera '%s': fps must be > 0 (got %g)", cam->id, fps);
    return VT_OK;
}

/* Opens the files of the format; the folder DIR/ID exists. */
static vt_status open_files(vt_frame_writer *w, const char *dir, double fps)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/timestamps.txt", w->folder);
    w->stamps = fopen(path, "w");
    if (!w->stamps)
        return io_error(path, "cannot create", errno);
    size_t row = (size_t)w->width * (size_t)(w->bits / 8);
    switch (w->fmt) {
    case VT_FORMAT_PGM:
        w->buf_size = 32 + row * (size_t)w->height;
        break;
    case VT_FORMAT_RAW:
        snprintf(path, sizeof path, "%s/%s.raw", dir, w->id);
        if (!(w->raw = fopen(path, "wb")))
            return io_error(path, "cannot create", errno);
        w->buf_size = row;
        break;
    case VT_FORMAT_HEVC:
        snprintf(path, sizeof path, "%s/%s.mkv", dir, w->id);
        return vt__video_writer_open(path, w->width, w->height, w->bits, fps, &w->video);
    default:
        return VT_OK;
    }
    w->buf = malloc(w->buf_size);
    return w->buf ? VT_OK : vt__error(VT_ENOMEM, "out of memory (%zu bytes)", w->buf_size);
}

/* Points the camera at what we write: "ID/%06d.png", "ID.mkv", "ID.raw". */
static vt_status describe(vt_rig_camera *cam, vt_frame_format fmt)
{
    static const char *const pattern[] = {"%s/%%06d.png", "%s/%%06d.pgm", "%s.mkv", "%s.raw"};
    static const vt_media media[] = {VT_MEDIA_FRAMES, VT_MEDIA_FRAMES, VT_MEDIA_VIDEO,
                                     VT_MEDIA_RAW};
    char path[64], stamps[64];
    snprintf(path, sizeof path, pattern[fmt], cam->id);
    snprintf(stamps, sizeof stamps, "%s/timestamps.txt", cam->id);
    char *p = strdup(path), *t = strdup(stamps);
    if (!p || !t) {
        free(p);
        free(t);
        return vt__error(VT_ENOMEM, "out of memory");
    }
    free(cam->path);
    free(cam->timestamps);
    cam->path = p;
    cam->timestamps = t;
    cam->media = media[fmt];
    return VT_OK;
}

static void free_writer(vt_frame_writer *w)
{
    if (w->stamps)
        fclose(w->stamps);
    if (w->raw)
        fclose(w->raw);
    vt__video_writer_close(w->video);
    free(w->buf);
    free(w);
}

vt_status vt_frame_writer_open(const char *dir, vt_rig_camera *cam, vt_frame_format fmt, double fps,
                               vt_frame_writer **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "frame writer: NULL output");
    *out = NULL;
    vt_status s = check_open_args(dir, cam, fmt, fps);
    if (s)
        return s;
    vt_frame_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vt__error(VT_ENOMEM, "camera '%s': out of memory", cam->id);
    *w = (vt_frame_writer){.fmt = fmt,
                           .width = cam->cam.width,
                           .height = cam->cam.height,
                           .bits = cam->bits,
                           .last = -1};
    memcpy(w->id, cam->id, sizeof w->id);
    int n = snprintf(w->folder, sizeof w->folder, "%s/%s", dir, cam->id);
    if (n < 0 || (size_t)n >= sizeof w->folder)
        s = vt__error(VT_ERANGE, "%s: folder name too long", dir);
    if (!s)
        s = make_dirs(w->folder);
    if (!s)
        s = open_files(w, dir, fps);
    if (!s)
        s = describe(cam, fmt);
    if (s) {
        vt__error_prefix(s, "camera '%s'", cam->id);
        free_writer(w);
        return s;
    }
    *out = w;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Writing frames                                                            */

static vt_status write_pgm(vt_frame_writer *w, const vt_image *img, const char *path)
{
    int n = snprintf((char *)w->buf, 32, "P5\n%d %d\n%d\n", img->width, img->height,
                     img->bits == 8 ? 255 : 65535);
    uint8_t *d = w->buf + n;
    for (int y = 0; y < img->height; y++) {
        if (img->bits == 8) {
            memcpy(d, vt_image_row8(img, y), (size_t)img->width);
            d += img->width;
            continue;
        }
        const uint16_t *s = vt_image_row16(img, y);
        for (int x = 0; x < img->width; x++) {
            *d++ = (uint8_t)(s[x] >> 8);
            *d++ = (uint8_t)(s[x] & 0xff);
        }
    }
    size_t size = (size_t)(d - w->buf);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return io_error(path, "cannot create", errno);
    bool ok = fwrite(w->buf, 1, size, fp) == size;
    int err = errno;
    /* fclose flushes: a full disk may only show here. */
    if (fclose(fp) != 0 && ok)
        ok = false, err = errno;
    return ok ? VT_OK : io_error(path, "cannot write", err);
}

static vt_status write_raw(vt_frame_writer *w, const vt_image *img)
{
    size_t row = (size_t)img->width * (size_t)(img->bits / 8);
    bool swap = img->bits == 16 && !little_endian_host();
    for (int y = 0; y < img->height; y++) {
        const uint8_t *src = vt_image_row8(img, y);
        if (swap) {
            const uint16_t *s = vt_image_row16(img, y);
            for (int x = 0; x < img->width; x++) {
                w->buf[2 * x] = (uint8_t)(s[x] & 0xff);
                w->buf[2 * x + 1] = (uint8_t)(s[x] >> 8);
            }
            src = w->buf;
        }
        if (fwrite(src, 1, row, w->raw) != row) {
            char path[4200];
            snprintf(path, sizeof path, "%s.raw", w->folder);
            return io_error(path, "cannot write", errno);
        }
    }
    return VT_OK;
}

static vt_status write_pixels(vt_frame_writer *w, const vt_image *img, int64_t frame)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%06lld.%s", w->folder, (long long)frame,
             w->fmt == VT_FORMAT_PNG ? "png" : "pgm");
    switch (w->fmt) {
    case VT_FORMAT_PNG:
        return vt_image_save_png(img, path);
    case VT_FORMAT_PGM:
        return write_pgm(w, img, path);
    case VT_FORMAT_RAW:
        return write_raw(w, img);
    default:
        return vt__video_writer_write(w->video, img, frame);
    }
}

vt_status vt_frame_writer_write(vt_frame_writer *w, const vt_image *img, int64_t frame, double t)
{
    if (!w || !img || !img->data)
        return vt__error(VT_EINVAL, "frame writer: NULL argument");
    if (img->width != w->width || img->height != w->height || img->bits != w->bits)
        return vt__error(VT_EMISMATCH,
                         "camera '%s': frame %lld is %dx%d %d-bit, the camera's are %dx%d %d-bit",
                         w->id, (long long)frame, img->width, img->height, img->bits, w->width,
                         w->height, w->bits);
    if (frame <= w->last)
        return vt__error(VT_EINVAL, "camera '%s': frame %lld does not follow frame %lld", w->id,
                         (long long)frame, (long long)w->last);
    if (!isfinite(t))
        return vt__error(VT_EINVAL, "camera '%s': frame %lld: time is not finite", w->id,
                         (long long)frame);
    vt_status s = write_pixels(w, img, frame);
    if (s)
        return vt__error_prefix(s, "camera '%s': frame %lld", w->id, (long long)frame);
    if (fprintf(w->stamps, "%lld %.9f\n", (long long)frame, t) < 0)
        return io_error(w->folder, "cannot write timestamps.txt", errno);
    w->last = frame;
    return VT_OK;
}

vt_status vt_frame_writer_close(vt_frame_writer *w)
{
    if (!w)
        return VT_OK;
    vt_status s = vt__video_writer_close(w->video);
    w->video = NULL;
    if (s)
        vt__error_prefix(s, "camera '%s'", w->id);
    if (w->raw) {
        int bad = fclose(w->raw);
        w->raw = NULL;
        if (bad && !s)
            s = io_error(w->folder, "cannot write the raw file", errno);
    }
    int bad = fclose(w->stamps);
    w->stamps = NULL;
    if (bad && !s)
        s = io_error(w->folder, "cannot write timestamps.txt", errno);
    free_writer(w);
    return s;
}
