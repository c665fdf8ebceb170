/*
 * src/eval/eval_io.c - reads tracks.jsonl and truth.jsonl (docs/EVAL.md) and
 * feeds them to an evaluator frame by frame (see voxtrack/eval.h).
 *
 * Both files are JSON Lines sorted by frame, so they are merged as two
 * streams: each reader holds one parsed line ahead, the next frame is the
 * smaller of the two pending frame numbers, and each reader hands over its
 * lines of that frame. Memory is one frame's entries, whatever the length of
 * the run. A frame found in only one file is still a frame (all misses, or
 * all false tracks). truth_pixels.jsonl, when given, is a third stream of the
 * same kind: its lines of a frame (one per camera) give each truth of that
 * frame its SNRs. Each line is parsed on its own with jansson and read by
 * core/json_read.h against its file's table, so every message names the
 * file, the line and the field.
 *
 * Against a reference track (vt_eval_read_reference) the truth is the
 * reference interpolated at each frame set's time, and the frames are
 * walked one by one on the frame-set grid, the tracks file read alongside.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/json_read.h"
#include "eval/eval_internal.h"
#include "voxtrack/calib.h"
#include "voxtrack/track.h"

typedef enum file_kind { TRACKS_FILE, TRUTH_FILE, PIXELS_FILE } file_kind;

/* A target's SNR in one camera frame (truth_pixels.jsonl). */
typedef struct pixel_snr {
    int id;
    float snr;
} pixel_snr;

/* One file, one parsed line ahead. */
typedef struct reader {
    file_kind kind;
    const char *path;
    FILE *fp;
    char *buf;
    size_t buf_cap;
    size_t line;   /* line number of the pending entry (1-based) */
    bool has;      /* an entry is pending */
    int64_t frame; /* ... of this frame */
    double t;      /* ... at this time (a track's "t"; NAN when the line has none) */
    vt_eval_truth truth;
    vt_eval_track track;
    pixel_snr *pix; /* PIXELS_FILE: the line's targets with an SNR */
    size_t npix, cap_pix;
    bool any; /* some entry was read: last_frame is valid */
    int64_t last_frame;
} reader;

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */

/*
 * One line of each file, read by core/json_read.h against the tables below.
 * Other keys are allowed ("*"): tracks.jsonl carries velocity, covariance,
 * cameras and fusion figures that the evaluation does not need.
 */
typedef struct line_fields {
    int64_t frame;
    double t; /* tracks: NAN when absent */
    int64_t id;
    int status, cls, kind;
    double pos[3];
    double size;
} line_fields;

static const char *const STATUS_NAMES[] = {"tentative", "confirmed", "coasting", NULL};
static const char *const CLASS_NAMES[] = {"drone", "bird", NULL};
static const char *const KIND_NAMES[] = {"drone", "bird", "glint", NULL};

#define ANY_OTHER VT__JF_SKIP("*", "any other key: not read by the evaluation")

static const vt__jfield track_fields[] = {
    {"frame", VT__JT_INT64, offsetof(line_fields, frame), VT__JF_REQUIRED, -INFINITY, INFINITY, 0,
     NULL, NULL, NULL, 0, NULL, "frame number"},
    VT__JF_NUM("t", line_fields, t, -INFINITY, INFINITY, NAN, "time, seconds"),
    {"id", VT__JT_INT64, offsetof(line_fields, id), VT__JF_REQUIRED, 0, INFINITY, 0, NULL, NULL,
     NULL, 0, NULL, "track id"},
    {"status", VT__JT_ENUM, offsetof(line_fields, status), VT__JF_REQUIRED, 0, 0, 0, NULL,
     STATUS_NAMES, NULL, 0, NULL, "track status"},
    VT__JF_ENUM("class", line_fields, cls, CLASS_NAMES, NULL, 0, NULL, "track class"),
    VT__JF_NUMS("pos", line_fields, pos, 3, VT__JF_REQUIRED, "position, world metres"),
    ANY_OTHER,
    {0}};

static const vt__jfield truth_fields[] = {
    {"frame", VT__JT_INT64, offsetof(line_fields, frame), VT__JF_REQUIRED, -INFINITY, INFINITY, 0,
     NULL, NULL, NULL, 0, NULL, "frame number"},
    {"id", VT__JT_INT64, offsetof(line_fields, id), VT__JF_REQUIRED, INT_MIN, INT_MAX, 0, NULL,
     NULL, NULL, 0, NULL, "object id"},
    VT__JF_ENUM("kind", line_fields, kind, KIND_NAMES, NULL, 0, NULL, "object kind"),
    VT__JF_NUM("size", line_fields, size, 0, INFINITY, 0, "largest extent, metres"),
    VT__JF_NUMS("pos", line_fields, pos, 3, VT__JF_REQUIRED, "position, world metres"),
    ANY_OTHER,
    {0}};

static vt_status read_targets(const vt__jctx *c, json_t *v, const char *path, void *out);

static const vt__jfield pixel_fields[] = {
    {"frame", VT__JT_INT64, offsetof(line_fields, frame), VT__JF_REQUIRED, -INFINITY, INFINITY, 0,
     NULL, NULL, NULL, 0, NULL, "frame number"},
    {"targets", VT__JT_CUSTOM, 0, VT__JF_REQUIRED, 0, 0, 0, NULL, NULL, NULL, 0, read_targets,
     "[id, u, v, inside, snr] per target"},
    ANY_OTHER,
    {0}};

/*
 * Reads a line into *f: the line's table by the file's kind. A required
 * field that is absent is named as this reader always named it ("missing
 * field 'pos'"; tests and scripts match that text).
 */
static vt_status read_line(reader *r, json_t *obj, line_fields *f)
{
    const vt__jfield *fields = r->kind == TRACKS_FILE  ? track_fields
                               : r->kind == TRUTH_FILE ? truth_fields
                                                       : pixel_fields;
    for (const vt__jfield *x = fields; x->name; x++)
        if ((x->flags & VT__JF_REQUIRED) && !json_object_get(obj, x->name))
            return vt__error(VT_EPARSE, "%s:%zu: missing field '%s'", r->path, r->line, x->name);
    char where[4200];
    snprintf(where, sizeof where, "%s:%zu", r->path, r->line);
    vt__jctx c = {.where = where, .user = r};
    *f = (line_fields){.t = NAN, .cls = VT_EVAL_CLASS_DRONE, .kind = VT_EVAL_DRONE};
    return vt__json_read(&c, obj, "", fields, f);
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

static bool push(void *arr, size_t *n, size_t *cap, size_t elem, const void *x);

/*
 * A truth_pixels.jsonl line's "targets": a list of [id, u, v, inside, snr];
 * entries of four (files of older simulators) carry no SNR and are skipped.
 */
static vt_status read_targets(const vt__jctx *c, json_t *list, const char *path, void *out)
{
    (void)out;
    reader *r = c->user;
    r->npix = 0;
    if (!json_is_array(list))
        return vt__json_error(c, path, "must be an array");
    size_t k;
    json_t *e;
    json_array_foreach(list, k, e)
    {
        size_t n = json_is_array(e) ? json_array_size(e) : 0;
        json_t *id = json_array_get(e, 0), *snr = json_array_get(e, 4);
        if (n == 4 && json_is_integer(id))
            continue;
        if (n != 5 || !json_is_integer(id) || !json_is_number(snr) ||
            !(json_number_value(snr) >= 0.0) || json_integer_value(id) < INT_MIN ||
            json_integer_value(id) > INT_MAX)
            return vt__error(VT_EPARSE,
                             "%s:%zu: field 'targets': entry %zu must be [id, u, v, inside, snr] "
                             "with an integer id and an snr >= 0",
                             r->path, r->line, k);
        pixel_snr p = {(int)json_integer_value(id), (float)json_number_value(snr)};
        if (!push(&r->pix, &r->npix, &r->cap_pix, sizeof p, &p))
            return vt__error(VT_ENOMEM, "%s:%zu: out of memory", r->path, r->line);
    }
    return VT_OK;
}

static vt_status parse_entry(reader *r, json_t *obj)
{
    line_fields f;
    vt_status s = read_line(r, obj, &f);
    if (s != VT_OK)
        return s;
    r->frame = f.frame;
    if (r->kind == PIXELS_FILE)
        return VT_OK;
    vt_vec3 pos = vt_v3(f.pos[0], f.pos[1], f.pos[2]);
    if (r->kind == TRACKS_FILE) {
        r->t = f.t;
        r->track = (vt_eval_track){(uint64_t)f.id, f.status, f.cls, pos};
        return VT_OK;
    }
    vt_eval_truth *t = &r->truth;
    memset(t, 0, sizeof *t);
    t->id = (int)f.id;
    t->kind = f.kind;
    t->size = f.size;
    t->pos = pos;
    return VT_OK;
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

/* Reads the next entry (blank lines skipped); r->has is false at the end of the file. */
static vt_status reader_next(reader *r)
{
    r->has = false;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&r->buf, &r->buf_cap, r->fp);
        if (n < 0) {
            if (ferror(r->fp))
                return vt__error(VT_EIO, "%s:%zu: read error: %s", r->path, r->line + 1,
                                 strerror(errno ? errno : EIO));
            return VT_OK;
        }
        r->line++;
        if ((size_t)n != strlen(r->buf))
            return vt__error(VT_EPARSE, "%s:%zu: NUL byte in line", r->path, r->line);
        if (!is_blank(r->buf))
            break;
    }
    json_error_t err;
    json_t *obj = json_loads(r->buf, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return vt__error(VT_EPARSE, "%s:%zu: malformed JSON: %s (column %d)", r->path, r->line,
                         err.text, err.column);
    vt_status s = json_is_object(obj)
                      ? parse_entry(r, obj)
                      : vt__error(VT_EPARSE, "%s:%zu: not a JSON object", r->path, r->line);
    json_decref(obj);
    if (s != VT_OK)
        return s;
    if (r->any && r->frame < r->last_frame)
        return vt__error(VT_EPARSE,
                         "%s:%zu: frame %lld after frame %lld: the file must be sorted "
                         "by frame",
                         r->path, r->line, (long long)r->frame, (long long)r->last_frame);
    r->any = true;
    r->last_frame = r->frame;
    r->has = true;
    return VT_OK;
}

static vt_status reader_open(reader *r, file_kind kind, const char *path)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->path = path;
    if (!path)
        return vt__error(VT_EINVAL, "eval: NULL %s path",
                         kind == TRACKS_FILE  ? "tracks"
                         : kind == TRUTH_FILE ? "truth"
                                              : "pixels");
    r->fp = fopen(path, "r");
    if (!r->fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    return reader_next(r);
}

static void reader_close(reader *r)
{
    if (r->fp)
        fclose(r->fp);
    free(r->buf);
    free(r->pix);
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */

/* One frame's entries, reused from frame to frame. */
typedef struct frame_buf {
    vt_eval_truth *truth;
    vt_eval_track *tracks;
    size_t nt, nk, cap_t, cap_k;
    pixel_snr *pix; /* every camera's targets with an SNR */
    float *snr;     /* their SNRs, sorted by id */
    size_t npix, cap_pix, cap_snr;
    bool has_pixels; /* some camera frame of this frame was listed */
} frame_buf;

static bool push(void *arr, size_t *n, size_t *cap, size_t elem, const void *x)
{
    if (vt__grow(arr, cap, *n + 1, elem))
        return false;
    memcpy((char *)*(void **)arr + *n * elem, x, elem);
    (*n)++;
    return true;
}

/* Moves r's entries of `frame` into the buffer. */
static vt_status take_frame(reader *r, int64_t frame, frame_buf *fb)
{
    while (r->has && r->frame == frame) {
        bool ok = true;
        if (r->kind == PIXELS_FILE) {
            fb->has_pixels = true;
            for (size_t i = 0; i < r->npix && ok; i++)
                ok = push(&fb->pix, &fb->npix, &fb->cap_pix, sizeof *fb->pix, &r->pix[i]);
        } else {
            ok = r->kind == TRACKS_FILE
                     ? push(&fb->tracks, &fb->nk, &fb->cap_k, sizeof *fb->tracks, &r->track)
                     : push(&fb->truth, &fb->nt, &fb->cap_t, sizeof *fb->truth, &r->truth);
        }
        if (!ok)
            return vt__error(VT_ENOMEM, "%s:%zu: out of memory", r->path, r->line);
        vt_status s = reader_next(r);
        if (s != VT_OK)
            return s;
    }
    return VT_OK;
}

static int by_id(const void *a, const void *b)
{
    const pixel_snr *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->snr < y->snr ? -1 : x->snr > y->snr;
}

/* Points each truth of the frame at its SNRs (when the frame had pixel lines). */
static vt_status attach_snr(frame_buf *fb)
{
    if (!fb->has_pixels)
        return VT_OK;
    vt_status s = vt__grow(&fb->snr, &fb->cap_snr, fb->npix, sizeof *fb->snr);
    if (s)
        return s;
    qsort(fb->pix, fb->npix, sizeof *fb->pix, by_id);
    for (size_t i = 0; i < fb->npix; i++)
        fb->snr[i] = fb->pix[i].snr;
    static const float none = 0.0f;
    for (size_t i = 0; i < fb->nt; i++) {
        size_t lo = 0, hi = fb->npix;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (fb->pix[mid].id < fb->truth[i].id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < fb->npix && fb->pix[end].id == fb->truth[i].id)
            end++;
        fb->truth[i].snr = end > lo ? fb->snr + lo : &none;
        fb->truth[i].nsnr = (int)(end - lo);
    }
    return VT_OK;
}

static vt_status feed(vt_eval *e, reader *tracks, reader *truth, reader *pixels)
{
    frame_buf fb = {0};
    vt_status s = VT_OK;
    while (s == VT_OK && (tracks->has || truth->has)) {
        int64_t frame = !tracks->has                   ? truth->frame
                        : !truth->has                  ? tracks->frame
                        : tracks->frame < truth->frame ? tracks->frame
                                                       : truth->frame;
        size_t line_k = tracks->line, line_t = truth->line;
        fb.nt = fb.nk = fb.npix = 0;
        fb.has_pixels = false;
        /* Pixel lines of frames that neither file has are passed over. */
        while (s == VT_OK && pixels->has && pixels->frame < frame)
            s = reader_next(pixels);
        if (s != VT_OK || (s = take_frame(tracks, frame, &fb)) != VT_OK ||
            (s = take_frame(truth, frame, &fb)) != VT_OK ||
            (s = take_frame(pixels, frame, &fb)) != VT_OK || (s = attach_snr(&fb)) != VT_OK)
            break;
        s = vt_eval_frame(e, frame, fb.truth, fb.nt, fb.tracks, fb.nk);
        if (s != VT_OK)
            s = vt__error_prefix(s, "%s:%zu, %s:%zu", tracks->path, line_k, truth->path, line_t);
    }
    free(fb.truth);
    free(fb.tracks);
    free(fb.pix);
    free(fb.snr);
    return s;
}

vt_status vt_eval_read_files_snr(vt_eval *e, const char *tracks_path, const char *truth_path,
                                 const char *pixels_path)
{
    if (!e)
        return vt__error(VT_EINVAL, "eval: NULL evaluator");
    reader tracks, truth, pixels;
    memset(&truth, 0, sizeof truth);
    memset(&pixels, 0, sizeof pixels);
    vt_status s = reader_open(&tracks, TRACKS_FILE, tracks_path);
    if (s == VT_OK)
        s = reader_open(&truth, TRUTH_FILE, truth_path);
    if (s == VT_OK && pixels_path)
        s = reader_open(&pixels, PIXELS_FILE, pixels_path);
    if (s == VT_OK)
        s = feed(e, &tracks, &truth, &pixels);
    reader_close(&tracks);
    reader_close(&truth);
    reader_close(&pixels);
    return s;
}

vt_status vt_eval_read_files(vt_eval *e, const char *tracks_path, const char *truth_path)
{
    return vt_eval_read_files_snr(e, tracks_path, truth_path, NULL);
}

/* ------------------------------------------------------------------------ */
/* Against a reference track                                                 */

vt_eval_ref_opts vt_eval_ref_opts_default(void)
{
    return (vt_eval_ref_opts){.fps = 30.0, .max_gap = 1.0, .first = INT64_MIN, .last = INT64_MAX};
}

/* Frames walked at most: a day at 1000 frame sets per second. */
#define MAX_REF_FRAMES 86400000.0

/*
 * The reference at t: interpolated, or extrapolated from an end when t lies
 * within `reach` seconds beyond it (frame sets are not exactly on the
 * reference's sample times).
 */
static bool reference_at(const vt_reftrack *ref, double r0, double r1, double reach, double t,
                         double max_gap, vt_vec3 *pos)
{
    if (t >= r0 && t <= r1)
        return vt_reftrack_at(ref, t, max_gap, pos, NULL);
    double end = t < r0 ? r0 : r1;
    vt_vec3 vel;
    if (fabs(t - end) > reach || !vt_reftrack_at(ref, end, max_gap, pos, &vel))
        return false;
    *pos = vt_v3_add(*pos, vt_v3_scale(vel, t - end));
    return true;
}

static vt_status missing_t(const reader *r)
{
    return vt__error(VT_EPARSE,
                     "%s:%zu: missing field 't' (tracks are matched to a reference "
                     "track by time)",
                     r->path, r->line);
}

vt_status vt_eval_read_reference(vt_eval *e, const char *tracks_path, const vt_reftrack *ref,
                                 const vt_eval_ref_opts *opts)
{
    vt_eval_ref_opts o = opts ? *opts : vt_eval_ref_opts_default();
    if (!e || !ref)
        return vt__error(VT_EINVAL, "eval: NULL %s", e ? "reference track" : "evaluator");
    if (!(o.fps > 0.0 && isfinite(o.fps)))
        return vt__error(VT_EINVAL, "eval: fps must be > 0 (got %g)", o.fps);
    if (isnan(o.max_gap))
        return vt__error(VT_EINVAL, "eval: max_gap is not a number");
    double r0, r1;
    vt_reftrack_span(ref, &r0, &r1);
    if (!((r1 - r0) * o.fps < MAX_REF_FRAMES))
        return vt__error(VT_ERANGE,
                         "eval: the reference track (%g to %g s) is too long at %g "
                         "frame sets per second",
                         r0, r1, o.fps);
    reader tracks;
    vt_status s = reader_open(&tracks, TRACKS_FILE, tracks_path);
    /* The anchor of the frame-set grid: the last frame with track lines, and its time. */
    int64_t ka = 0;
    double ta = 0.0;
    if (!s && tracks.has) {
        if (isnan(tracks.t))
            s = missing_t(&tracks);
        ka = tracks.frame;
        ta = tracks.t;
    }
    /* The first frame set at or after the reference's start (less `reach`), or `first`. */
    double reach = 0.5 / o.fps;
    double start = ceil((r0 - reach - ta) * o.fps - 1e-6) + (double)ka;
    if (!s && !(fabs(start) < 9e18))
        s = vt__error(VT_ERANGE, "eval: the reference track starts at %g s, frame %g", r0, start);
    int64_t k = s ? 0 : (int64_t)start;
    if (k < o.first)
        k = o.first;
    if (o.last > INT64_MAX - 1)
        o.last = INT64_MAX - 1; /* k + 1 stays defined */
    frame_buf fb = {0};
    for (double walked = 0; !s && k <= o.last; k++, walked++) {
        /* Times that do not advance with the frames would walk on for ever. */
        if (walked > 2.0 * MAX_REF_FRAMES) {
            s = vt__error(VT_ERANGE,
                          "%s: frame %lld: more than %g frame sets walked: are its "
                          "times those of the reference?",
                          tracks.path, (long long)k, 2.0 * MAX_REF_FRAMES);
            break;
        }
        /* Lines of frames before k (before the first frame scored) are left out. */
        while (!s && tracks.has && tracks.frame < k) {
            fb.nk = 0;
            s = take_frame(&tracks, tracks.frame, &fb);
        }
        if (s)
            break;
        bool here = tracks.has && tracks.frame == k;
        if (here && isnan(tracks.t)) {
            s = missing_t(&tracks);
            break;
        }
        double t = here ? tracks.t : ta + (double)(k - ka) / o.fps;
        if (here)
            ka = k, ta = t;
        if (t > r1 + reach)
            break;
        size_t line_k = tracks.line;
        fb.nt = fb.nk = 0;
        if ((s = take_frame(&tracks, k, &fb)))
            break;
        vt_eval_truth truth = {.id = 0, .kind = VT_EVAL_DRONE};
        /* A frame off the reference (before it, in a gap) is not scored, nor its tracks. */
        if (!reference_at(ref, r0, r1, reach, t, o.max_gap, &truth.pos))
            continue;
        s = vt_eval_frame(e, k, &truth, 1, fb.tracks, fb.nk);
        if (s)
            s = vt__error_prefix(s, "%s:%zu", tracks.path, line_k);
    }
    free(fb.truth);
    free(fb.tracks);
    reader_close(&tracks);
    return s;
}
