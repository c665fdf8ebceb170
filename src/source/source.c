/*
 * src/source/source.c - frame sources: the frames of one rig camera read, in
 * capture order, from an image sequence, a raw file or a video (see
 * voxtrack/source.h; the layouts are in docs/FORMATS.md).
 *
 * The camera's timestamps file, when there is one, is the list of frames
 * the camera delivered: "FRAME SECONDS" per line. It is read whole at open,
 * and then says which file to load for a sequence (frame F is the pattern
 * printed with F) and which frame number and time the k-th frame of a raw
 * file or a video has. A video may skip damaged frames (video_read.c); after
 * a skip, its stamp is found again by presentation time: the first frame's
 * PTS is the first stamp's time, and the frame is the stamp nearest to
 * first stamp + (PTS - first PTS). Without a timestamps file, frame n is the
 * n-th frame and its time is n / fps, or for a video its presentation time
 * since the stream's start (the previous time + 1 / fps for a frame without
 * one).
 *
 * Reading reuses the caller's image when its size and depth fit, so a loop
 * over a raw file or a video allocates nothing per frame. PGM files with
 * maxval 255 or 65535 (Netpbm's pgm(5)) are parsed here straight into the
 * image, since they are the fast lossless sequence format; every other image
 * goes through vt_image_load (FFmpeg), and samples of another depth than the
 * camera's are MSB-aligned to it (an 8-bit PNG for a 16-bit camera is << 8).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/source.h"

/* ------------------------------------------------------------------------ */
/* Formats and shared helpers                                                */

static const char *const format_names[] = {"png", "pgm", "hevc", "raw"};

vt_status vt_frame_format_parse(const char *name, vt_frame_format *out)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (vt_frame_format)i;
            return VT_OK;
        }
    return vt__error(VT_EINVAL, "unknown frame format '%s' (png, pgm, hevc, raw)",
                     name ? name : "(null)");
}

const char *vt_frame_format_name(vt_frame_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "unknown";
}

void vt__store_gray_row(const uint8_t *src, int depth, bool big_endian, vt_image *img, int y)
{
    int w = img->width;
    if (depth <= 8) {
        if (img->bits == 8) {
            uint8_t *d = vt_image_row8(img, y);
            if (depth == 8) {
                memcpy(d, src, (size_t)w);
                return;
            }
            for (int x = 0; x < w; x++)
                d[x] = (uint8_t)(src[x] << (8 - depth));
            return;
        }
        uint16_t *d = vt_image_row16(img, y);
        for (int x = 0; x < w; x++)
            d[x] = (uint16_t)(src[x] << (16 - depth));
        return;
    }
    int hi = big_endian ? 0 : 1;
    if (img->bits == 8) {
        uint8_t *d = vt_image_row8(img, y);
        for (int x = 0; x < w; x++)
            d[x] = (uint8_t)((src[2 * x + hi] << 8 | src[2 * x + 1 - hi]) >> (depth - 8));
        return;
    }
    uint16_t *d = vt_image_row16(img, y);
    for (int x = 0; x < w; x++)
        d[x] = (uint16_t)((src[2 * x + hi] << 8 | src[2 * x + 1 - hi]) << (16 - depth));
}

vt_status vt__image_reshape(vt_image *img, int width, int height, int bits)
{
    if (img->data && img->width == width && img->height == height && img->bits == bits)
        return VT_OK;
    vt_image_free(img);
    return vt_image_alloc(img, width, height, bits);
}

/* ------------------------------------------------------------------------ */
/* Timestamps                                                                */

typedef struct stamps {
    int64_t *frame;
    double *t;
    size_t count, cap;
} stamps;

static vt_status stamps_push(stamps *s, int64_t frame, double t)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        int64_t *f = realloc(s->frame, cap * sizeof *f);
        if (f)
            s->frame = f;
        double *tt = f ? realloc(s->t, cap * sizeof *tt) : NULL;
        if (!tt)
            return vt__error(VT_ENOMEM, "out of memory for the timestamps");
        s->t = tt;
        s->cap = cap;
    }
    s->frame[s->count] = frame;
    s->t[s->count++] = t;
    return VT_OK;
}

/* One line: "FRAME SECONDS", blank, or a '#' comment. *ok false when malformed. */
static bool parse_stamp(const char *line, int64_t *frame, double *t, bool *blank)
{
    while (isspace((unsigned char)*line))
        line++;
    *blank = *line == '\0' || *line == '#';
    if (*blank)
        return true;
    char *end;
    errno = 0;
    long long f = strtoll(line, &end, 10);
    if (end == line || errno || f < 0 || !isspace((unsigned char)*end))
        return false;
    line = end;
    *t = strtod(line, &end);
    if (end == line || !isfinite(*t))
        return false;
    while (isspace((unsigned char)*end))
        end++;
    *frame = f;
    return *end == '\0';
}

static vt_status read_stamps(const char *path, stamps *out)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", path,
                         errno == ENOENT ? "no such file" : "not readable");
    char line[256];
    vt_status s = VT_OK;
    for (long n = 1; !s && fgets(line, sizeof line, fp); n++) {
        int64_t frame;
        double t;
        bool blank;
        if (!strchr(line, '\n') && !feof(fp))
            s = vt__error(VT_EPARSE, "%s: line %ld is too long", path, n);
        else if (!parse_stamp(line, &frame, &t, &blank))
            s = vt__error(VT_EPARSE, "%s: line %ld: expected \"FRAME SECONDS\"", path, n);
        else if (blank)
            continue;
        else if (out->count && frame <= out->frame[out->count - 1])
            s = vt__error(VT_EPARSE, "%s: line %ld: frame %lld does not follow frame %lld", path, n,
                          (long long)frame, (long long)out->frame[out->count - 1]);
        else
            s = stamps_push(out, frame, t);
    }
    if (!s && ferror(fp))
        s = vt__error(VT_EIO, "%s: read error", path);
    fclose(fp);
    return s;
}

vt_status vt__stamps_read(const char *path, int64_t **frame, double **t, size_t *count)
{
    stamps st = {0};
    vt_status s = read_stamps(path, &st);
    if (s) {
        free(st.frame);
        free(st.t);
        st = (stamps){0};
    }
    *frame = st.frame;
    *t = st.t;
    *count = st.count;
    return s;
}

/* ------------------------------------------------------------------------ */
/* The source                                                                */

struct vt_source {
    char label[64];                    /* "camera 2 ('m2')" */
    const vt__source_backend *backend; /* NULL: the built-in file readers below */
    void *state;                       /* the backend's */
    int64_t delivered;
    vt_media media;
    int width, height, bits;
    double fps;
    char path[4096]; /* resolved */
    bool has_stamps;
    stamps st;
    int64_t next; /* frames delivered so far */
    /* Frames: the pattern split around its one %d. */
    char prefix[4096], suffix[256];
    int digits;
    bool zero_pad, pgm;
    uint8_t *file;
    size_t file_cap;
    /* Raw */
    FILE *raw;
    /* Video */
    vt_source_opts opts;
    vt__video_reader *video;
    int64_t corrupt_seen; /* the reader's skipped frames at the last delivery */
    double last_t;        /* time of the last frame delivered */
    double last_pts;      /* presentation time of the last video frame, */
    bool last_pts_ok;     /* when it had one */
    int64_t lost;         /* stamped frames a video does not have */
};

/*
 * Splits a frames pattern around its one %[0][width]d into prefix (still to
 * be resolved against the rig folder) and suffix, "%%" read as '%'. Splitting
 * before resolving keeps a '%' in the rig's folder name from counting.
 * False when the pattern is not exactly that (vt_rig_add does not check it).
 */
static bool split_pattern(const char *pattern, char *prefix, size_t size, vt_source *s)
{
    char *out = prefix;
    size_t cap = size, n = 0;
    int conversions = 0;
    for (const char *p = pattern; *p;) {
        if (n + 1 >= cap)
            return false;
        if (p[0] != '%' || p[1] == '%') {
            out[n++] = *p;
            p += p[0] == '%' ? 2 : 1;
            continue;
        }
        if (conversions++)
            return false;
        p++;
        s->zero_pad = *p == '0';
        p += s->zero_pad;
        for (int d = 0; d < 3 && *p >= '0' && *p <= '9'; d++, p++)
            s->digits = s->digits * 10 + (*p - '0');
        if (*p++ != 'd')
            return false;
        out[n] = '\0';
        out = s->suffix;
        cap = sizeof s->suffix;
        n = 0;
    }
    out[n] = '\0';
    size_t len = strlen(s->suffix);
    s->pgm = len >= 4 && strcasecmp(s->suffix + len - 4, ".pgm") == 0;
    return conversions == 1;
}

static void frame_path(const vt_source *s, int64_t frame, char *buf, size_t size)
{
    snprintf(buf, size, s->zero_pad ? "%s%0*lld%s" : "%s%*lld%s", s->prefix, s->digits,
             (long long)frame, s->suffix);
}

static vt_status open_media(vt_source *s)
{
    switch (s->media) {
    case VT_MEDIA_FRAMES:
        return VT_OK; /* files are opened frame by frame */
    case VT_MEDIA_RAW:
        s->raw = fopen(s->path, "rb");
        if (!s->raw)
            return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", s->path,
                             errno == ENOENT ? "no such file" : "not readable");
        return VT_OK;
    case VT_MEDIA_VIDEO:
        return vt__video_reader_open(s->path, &s->opts, &s->video);
    default:
        return vt__error(VT_EINVAL, "no frames on disk (media none)");
    }
}

static vt_status open_source(const vt_rig *rig, const vt_rig_camera *c, vt_source *s)
{
    s->media = c->media;
    s->width = c->cam.width;
    s->height = c->cam.height;
    s->bits = c->bits;
    s->fps = rig->fps > 0 ? rig->fps : 30.0;
    if (c->bits != 8 && c->bits != 16)
        return vt__error(VT_EINVAL, "bits must be 8 or 16 (got %d)", c->bits);
    if (c->media == VT_MEDIA_NONE || !c->path)
        return vt__error(VT_EINVAL, "no frames on disk (media none)");
    vt_status st = vt_rig_resolve(rig, c->path, s->path, sizeof s->path);
    if (!st && c->media == VT_MEDIA_FRAMES) {
        char prefix[4096];
        if (!split_pattern(c->path, prefix, sizeof prefix, s))
            return vt__error(VT_EINVAL,
                             "frames pattern '%s' must hold exactly one %%d "
                             "(such as %%06d)",
                             c->path);
        st = vt_rig_resolve(rig, prefix, s->prefix, sizeof s->prefix);
    }
    if (!st && c->timestamps) {
        char ts[4096];
        if (!(st = vt_rig_resolve(rig, c->timestamps, ts, sizeof ts)))
            st = read_stamps(ts, &s->st);
        s->has_stamps = true;
    }
    return st ? st : open_media(s);
}

vt_status vt_hwaccel_parse(const char *name, vt_hwaccel *out)
{
    static const char *const names[] = {"auto", "none", "cuda"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (vt_hwaccel)i;
            return VT_OK;
        }
    return vt__error(VT_EINVAL, "hwaccel '%s': expected auto, none or cuda", name ? name : "");
}

vt_source_opts vt_source_opts_default(void)
{
    vt_source_opts o = {0};
    o.hwaccel = VT_HWACCEL_AUTO;
    o.timeout_s = 5.0;
    o.reconnect_max = 10;
    return o;
}

vt_status vt__source_wrap(const vt__source_backend *backend, void *state, const char *label,
                          vt_source **out)
{
    *out = NULL;
    vt_source *s = calloc(1, sizeof *s);
    if (!s) {
        backend->free(state);
        return vt__error(VT_ENOMEM, "source: out of memory");
    }
    s->backend = backend;
    s->state = state;
    snprintf(s->label, sizeof s->label, "%s", label);
    *out = s;
    return VT_OK;
}

vt_source_stats vt_source_stats_get(const vt_source *s)
{
    vt_source_stats st = {0};
    if (!s)
        return st;
    if (s->backend && s->backend->stats)
        s->backend->stats(s->state, &st);
    if (s->video)
        vt__video_reader_stats(s->video, &st);
    st.lost += s->lost;
    st.frames = s->delivered;
    if (s->backend)
        snprintf(st.backend, sizeof st.backend, "%s", s->backend->name);
    else
        snprintf(st.backend, sizeof st.backend, "%s",
                 s->media == VT_MEDIA_FRAMES ? "frames"
                 : s->media == VT_MEDIA_RAW  ? "raw"
                                             : "video");
    return st;
}

static vt_status check_opts(const vt_source_opts *o)
{
    if (!o)
        return VT_OK;
    if ((unsigned)o->hwaccel > VT_HWACCEL_CUDA)
        return vt__error(VT_EINVAL, "source options: hwaccel %d is not auto, none or cuda",
                         (int)o->hwaccel);
    if (o->decode_threads < 0 || o->decode_threads > 1024)
        return vt__error(VT_EINVAL, "source options: decode_threads %d is not in 0..1024",
                         o->decode_threads);
    if (!(o->timeout_s > 0) || !isfinite(o->timeout_s))
        return vt__error(VT_EINVAL, "source options: timeout_s must be > 0 (got %g)", o->timeout_s);
    return VT_OK;
}

vt_status vt_source_open(const vt_rig *rig, int camera, vt_source **out)
{
    return vt_source_open_opts(rig, camera, NULL, out);
}

vt_status vt_source_open_opts(const vt_rig *rig, int camera, const vt_source_opts *opts,
                              vt_source **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "source: NULL output");
    *out = NULL;
    if (!rig || camera < 0 || camera >= rig->count)
        return vt__error(VT_EINVAL, "source: no camera %d in the rig", camera);
    vt_status st = check_opts(opts);
    if (st)
        return st;
    if (rig->cameras[camera].media == VT_MEDIA_GIGE)
        return vt__gige_open(rig, camera, opts, out);
    if (rig->cameras[camera].media == VT_MEDIA_DETECTIONS)
        return vt__det2d_source_open(rig, camera, out);
    vt_source *s = calloc(1, sizeof *s);
    if (!s)
        return vt__error(VT_ENOMEM, "source: out of memory");
    s->opts = opts ? *opts : vt_source_opts_default();
    const vt_rig_camera *c = &rig->cameras[camera];
    snprintf(s->label, sizeof s->label, "camera %d ('%s')", camera, c->id);
    st = open_source(rig, c, s);
    if (st) {
        vt__error_prefix(st, "%s", s->label);
        vt_source_free(s);
        return st;
    }
    *out = s;
    return VT_OK;
}

void vt_source_free(vt_source *s)
{
    if (!s)
        return;
    if (s->backend)
        s->backend->free(s->state);
    free(s->st.frame);
    free(s->st.t);
    free(s->file);
    if (s->raw)
        fclose(s->raw);
    vt__video_reader_free(s->video);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Image sequences                                                           */

static vt_status slurp(vt_source *s, const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: %s", path,
                         errno == ENOENT ? "no such file" : "cannot open");
    vt_status st = VT_OK;
    if (fseek(fp, 0, SEEK_END) != 0 || ftell(fp) < 0) {
        st = vt__error(VT_EIO, "%s: cannot read", path);
        goto done;
    }
    *size = (size_t)ftell(fp);
    rewind(fp);
    if (*size > s->file_cap) {
        uint8_t *b = realloc(s->file, *size);
        if (!b) {
            st = vt__error(VT_ENOMEM, "%s: out of memory (%zu bytes)", path, *size);
            goto done;
        }
        s->file = b;
        s->file_cap = *size;
    }
    if (fread(s->file, 1, *size, fp) != *size)
        st = vt__error(VT_EIO, "%s: cannot read", path);
done:
    fclose(fp);
    return st;
}

/* A header field of pgm(5): whitespace and '#' comments skipped, then a decimal. */
static long pgm_number(const uint8_t *b, size_t size, size_t *pos)
{
    while (*pos < size && (isspace(b[*pos]) || b[*pos] == '#')) {
        if (b[*pos] == '#')
            while (*pos < size && b[*pos] != '\n')
                (*pos)++;
        else
            (*pos)++;
    }
    long v = 0;
    size_t start = *pos;
    while (*pos < size && isdigit(b[*pos]) && v < 1000000)
        v = v * 10 + (b[(*pos)++] - '0');
    return *pos == start ? -1 : v;
}

/*
 * Parses a binary PGM of maxval 255 or 65535 straight into img. Returns
 * false, leaving img alone, when the file is anything else.
 */
static bool read_pgm_fast(const uint8_t *b, size_t size, vt_image *img, vt_status *st,
                          const char *path)
{
    size_t pos = 2;
    if (size < 2 || b[0] != 'P' || b[1] != '5')
        return false;
    long w = pgm_number(b, size, &pos), h = pgm_number(b, size, &pos);
    long max = pgm_number(b, size, &pos);
    if ((max != 255 && max != 65535) || pos >= size || !isspace(b[pos]) || w <= 0 || h <= 0)
        return false;
    pos++;
    int depth = max == 255 ? 8 : 16;
    if (w != img->width || h != img->height) {
        *st = vt__error(VT_EMISMATCH, "%s: image is %ldx%ld, the camera's frames are %dx%d", path,
                        w, h, img->width, img->height);
        return true;
    }
    size_t row = (size_t)w * (size_t)(depth / 8);
    if (size - pos < row * (size_t)h) {
        *st = vt__error(VT_EFORMAT, "%s: truncated (%zu of %zu pixel bytes)", path, size - pos,
                        row * (size_t)h);
        return true;
    }
    for (int y = 0; y < img->height; y++)
        vt__store_gray_row(b + pos + (size_t)y * row, depth, true, img, y);
    *st = VT_OK;
    return true;
}

/* Any image FFmpeg reads, brought to the camera's size and depth. */
static vt_status read_any_image(const vt_source *s, const char *path, vt_image *img)
{
    vt_image got;
    vt_status st = vt_image_load(path, s->bits == 8 ? VT_IMAGE_LOAD_8BIT : 0, &got);
    if (st)
        return st;
    if (got.width != s->width || got.height != s->height)
        st = vt__error(VT_EMISMATCH, "%s: image is %dx%d, the camera's frames are %dx%d", path,
                       got.width, got.height, s->width, s->height);
    else if (got.bits == s->bits) {
        vt_image_free(img);
        *img = got; /* take its pixels rather than copy them */
        return VT_OK;
    } else {
        for (int y = 0; y < got.height; y++)
            vt__store_gray_row(vt_image_row8(&got, y), 8, false, img, y);
    }
    vt_image_free(&got);
    return st;
}

static vt_status read_frame_file(vt_source *s, int64_t frame, vt_image *img, bool *missing)
{
    char path[4400];
    frame_path(s, frame, path, sizeof path);
    *missing = false;
    if (s->pgm) {
        size_t size = 0;
        vt_status st = slurp(s, path, &size);
        if (st == VT_ENOENT)
            *missing = true;
        if (st)
            return st;
        if (read_pgm_fast(s->file, size, img, &st, path))
            return st;
    }
    vt_status st = read_any_image(s, path, img);
    *missing = st == VT_ENOENT;
    return st;
}

static vt_status read_frames(vt_source *s, vt_image *img, int64_t *frame, double *t, bool *end)
{
    int64_t f = s->has_stamps ? s->st.frame[s->next] : s->next;
    bool missing;
    vt_status st = read_frame_file(s, f, img, &missing);
    /* Without a timestamps file the sequence ends at the first missing number. */
    if (missing && !s->has_stamps && s->next > 0) {
        *end = true;
        return VT_OK;
    }
    if (st)
        return vt__error_prefix(st, "%s: frame %lld", s->label, (long long)f);
    *frame = f;
    *t = s->has_stamps ? s->st.t[s->next] : (double)f / s->fps;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Raw files and videos                                                      */

static bool little_endian_host(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static vt_status read_raw(vt_source *s, vt_image *img, int64_t frame, bool *end)
{
    size_t row = (size_t)s->width * (size_t)(s->bits / 8);
    for (int y = 0; y < s->height; y++) {
        uint8_t *d = vt_image_row8(img, y);
        size_t got = fread(d, 1, row, s->raw);
        if (got == row)
            continue;
        if (ferror(s->raw))
            return vt__error(VT_EIO, "%s: %s: frame %lld: read error", s->label, s->path,
                             (long long)frame);
        if (y == 0 && got == 0) {
            *end = true;
            return VT_OK;
        }
        return vt__error(VT_EFORMAT, "%s: %s: frame %lld is truncated (%zu of %zu bytes)", s->label,
                         s->path, (long long)frame, (size_t)y * row + got, row * (size_t)s->height);
    }
    if (s->bits == 16 && !little_endian_host())
        for (int y = 0; y < s->height; y++)
            vt__store_gray_row(vt_image_row8(img, y), 16, false, img, y);
    return VT_OK;
}

/*
 * Moves s->next to the stamp of a video frame at presentation time pts
 * (seconds since the stream's first PTS): the next stamp, unless frames were
 * skipped since the last (counted, or a gap in the PTS wider than the gap in
 * the stamps), when it is the stamp nearest to the first stamp's time + pts.
 */
static void video_stamp(vt_source *s, double pts, bool has_pts)
{
    int64_t corrupt = vt__video_reader_corrupt(s->video);
    bool skipped = corrupt != s->corrupt_seen;
    s->corrupt_seen = corrupt;
    if (has_pts && s->next > 0 && s->last_pts_ok) {
        double gap = s->st.t[s->next] - s->st.t[s->next - 1];
        skipped |= pts - s->last_pts > 1.5 * gap + 1e-3;
    }
    s->last_pts = pts;
    s->last_pts_ok = has_pts;
    if (!skipped || !has_pts)
        return;
    double want = s->st.t[0] + pts;
    size_t k = (size_t)s->next;
    while (k + 1 < s->st.count && fabs(s->st.t[k + 1] - want) <= fabs(s->st.t[k] - want))
        k++;
    s->lost += (int64_t)k - s->next; /* stamped frames the video does not have */
    s->next = (int64_t)k;
}

/*
 * The time of an unstamped video frame (see the top of the file). Two frames
 * are never shown at once: a frame without a presentation time, or whose
 * time does not advance (an RTP stream joined mid-way gives its first frames
 * no time, or the same one), takes one frame period after the last.
 */
static double video_time(vt_source *s, double pts, bool has_pts)
{
    double next = s->delivered == 0 ? 0.0 : s->last_t + 1.0 / s->fps;
    if (!has_pts || (s->delivered > 0 && pts <= s->last_t))
        return next;
    return pts;
}

static vt_status read_stream(vt_source *s, vt_image *img, int64_t *frame, double *t, bool *end)
{
    vt_status st;
    double pts = 0;
    bool has_pts = false;
    int64_t f = s->has_stamps ? s->st.frame[s->next] : s->next;
    if (s->raw)
        st = read_raw(s, img, f, end);
    else if ((st = vt__video_reader_read(s->video, img, &pts, &has_pts, end)))
        return vt__error_prefix(st, "%s", s->label);
    if (st)
        return st;
    if (!*end && s->video && s->has_stamps)
        video_stamp(s, pts, has_pts);
    if (*end && s->has_stamps && (size_t)s->next < s->st.count && s->raw)
        return vt__error(VT_EMISMATCH, "%s: %s ends after %lld frames, the timestamps list %zu",
                         s->label, s->path, (long long)s->next, s->st.count);
    /* A video cut short (a crash while recording, a damaged copy) is read to its end. */
    if (*end && s->has_stamps && (size_t)s->next < s->st.count) {
        int64_t rest = (int64_t)s->st.count - s->next;
        s->lost += rest;
        s->next = (int64_t)s->st.count; /* said once: the next read ends at once */
        vt__log(1, "%s: %s ends after %lld frames, the timestamps list %zu (%lld counted as lost)",
                s->label, s->path, (long long)s->delivered, s->st.count, (long long)rest);
    }
    if (*end)
        return VT_OK;
    if (s->has_stamps) {
        *frame = s->st.frame[s->next];
        *t = s->st.t[s->next];
    } else {
        *frame = f;
        *t = s->video ? video_time(s, pts, has_pts) : (double)s->next / s->fps;
    }
    s->last_t = *t;
    return VT_OK;
}

vt_status vt_source_read(vt_source *s, vt_image *img, int64_t *frame, double *t, bool *end)
{
    if (!s || !img || !frame || !t || !end)
        return vt__error(VT_EINVAL, "source: NULL argument to vt_source_read");
    *end = false;
    if (s->backend) {
        vt_status bs = s->backend->read(s->state, img, frame, t, end);
        if (!bs && !*end)
            s->delivered++;
        return bs;
    }
    if (s->has_stamps && (size_t)s->next >= s->st.count) {
        *end = true;
        return VT_OK;
    }
    vt_status st = vt__image_reshape(img, s->width, s->height, s->bits);
    if (st)
        return vt__error_prefix(st, "%s", s->label);
    if (s->media == VT_MEDIA_FRAMES)
        st = read_frames(s, img, frame, t, end);
    else
        st = read_stream(s, img, frame, t, end);
    if (!st && !*end) {
        s->next++;
        s->delivered++;
    }
    return st;
}
