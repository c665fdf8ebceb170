/*
 * src/source/sync.c - frame sets from N cameras, grouped by capture time on
 * a grid of period 1 / fps (see voxtrack/sync.h and docs/SYNC.md).
 *
 * Every camera keeps a short queue of frames read ahead (one, plus
 * `reorder`), sorted by time, each in a buffer of its own. A frame set takes
 * the nearest-to-the-grid frame of every camera whose earliest queued frame
 * falls in the smallest set number any camera has pending, by swapping that
 * buffer with the caller's image: the pixels never move.
 *
 * Why a grid rather than sets that follow their members' mean time: a grid
 * does not shift when a camera drops a frame or when the camera that opened a
 * set was the early one, so a frame's set depends only on its own time. The
 * grid's phase is the median of the first frames' times, and afterwards it
 * moves by a small fraction (`follow`) of each set's median error, so that a
 * rig whose real frame rate differs a little from the nominal one (29.97
 * against 30) stays on the grid; a median, so that one camera with a wrong
 * clock does not drag the others.
 *
 * A frame is judged twice. On arrival against its own camera: the same time
 * as one it already gave (duplicate) or earlier than the last one taken
 * (backwards) is dropped. When it is next in its queue, against the grid: a
 * set number already delivered (late) or a distance from its set's time above
 * the tolerance (outside) drops it. Each kind is counted per camera and
 * reported by one warning per camera, not per frame.
 *
 * Reading is the costly part (decoding an 8K frame, rendering a simulated
 * one), and the cameras are independent, so when the sync needs frames it
 * reads them in rounds: every camera that needs a frame reads one into its
 * spare slot, in parallel (OpenMP, `read_threads`); then the frames are
 * judged and queued one camera after another in camera order. Only the reads
 * run in parallel, and each source is read by one thread at a time, so the
 * frame sets, the statistics and the warnings are the same for any thread
 * count. A failed read keeps its error message with the camera (the last
 * error is per thread) until its turn comes.
 *
 * Cameras that end early or fail are dropped with a warning and remembered
 * in their statistics, so that a run can say what it lost. A frame of the
 * wrong size is not a camera failing but a rig that does not describe its
 * cameras: that stops the run (docs/RUN.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "voxtrack/source.h"
#include "voxtrack/sync.h"

enum { LATE, DUPLICATE, BACKWARDS, OUTSIDE, KINDS };

static const char *const kind_text[KINDS] = {
    "is late (its frame set was delivered already)",
    "is a duplicate (the same time as its previous frame)",
    "goes backwards (earlier than its previous frame)",
    "is outside the tolerance of every frame set",
};

typedef struct pending {
    vt_image img;
    double t;
} pending;

/* The outcome of one read, kept until the camera's turn to be judged. */
typedef struct read_result {
    bool wanted; /* this round reads the camera */
    vt_status st;
    bool end;
    char error[256]; /* the reading thread's last error when st != 0 */
} read_result;

typedef struct cam {
    vt_source *src;
    read_result rd;
    char label[96]; /* "camera 3 ('t1')" */
    pending *q;     /* cap entries: q[0..nq) read ahead, sorted by time; the rest spare */
    int nq;
    bool ended, just_ended;
    bool strict_size; /* every frame's size is checked (an image sequence) */
    bool taken_any;   /* a frame went into a set: last_t is valid */
    double last_t;    /* time of the last frame taken */
    double err_sum;   /* |sync error| summed over taken frames */
    bool warned[KINDS];
    vt_sync_camera_stats stats;
} cam;

struct vt_sync {
    vt_sync_opts o;
    cam *cams;
    int count, cap;
    int threads; /* read_threads resolved */
    double period, tol;
    bool started;
    double phase;   /* set k is at phase + k * period */
    int64_t next_k; /* smallest set number not delivered yet */
    int64_t sets;   /* frame sets delivered */
    double *errs;   /* count entries: one set's sync errors, for the median */
};

vt_sync_opts vt_sync_opts_default(void)
{
    vt_sync_opts o;
    memset(&o, 0, sizeof o);
    o.follow = 0.05;
    return o;
}

void vt_sync_free(vt_sync *s)
{
    if (!s)
        return;
    for (int i = 0; s->cams && i < s->count; i++) {
        vt_source_free(s->cams[i].src);
        for (int j = 0; s->cams[i].q && j < s->cap; j++)
            vt_image_free(&s->cams[i].q[j].img);
        free(s->cams[i].q);
    }
    free(s->cams);
    free(s->errs);
    free(s);
}

static vt_status check_opts(const vt_sync_opts *o, double fps)
{
    if (!(fps > 0.0) || !isfinite(fps))
        return vt__error(VT_EINVAL, "sync: fps must be > 0 (got %g)", fps);
    if (!isfinite(o->tolerance_s) || o->tolerance_s > 0.5 / fps)
        return vt__error(VT_EINVAL,
                         "sync: tolerance_s %g s is more than half a frame period (%g s at %g fps)",
                         o->tolerance_s, 0.5 / fps, fps);
    if (!(o->follow >= 0.0 && o->follow <= 1.0))
        return vt__error(VT_EINVAL, "sync: follow must be in 0..1 (got %g)", o->follow);
    if (o->reorder < 0 || o->reorder > 64)
        return vt__error(VT_EINVAL, "sync: reorder must be in 0..64 (got %d)", o->reorder);
    if (o->read_threads > 1024)
        return vt__error(VT_EINVAL, "sync: read_threads must be <= 1024 (got %d)", o->read_threads);
    return VT_OK;
}

vt_status vt_sync_new(const vt_sync_opts *opts, vt_source **sources, int n, double fps,
                      vt_sync **out)
{
    vt_sync_opts o = opts ? *opts : vt_sync_opts_default();
    vt_status st = VT_OK;
    if (!out || !sources || n <= 0)
        st = vt__error(VT_EINVAL, "vt_sync_new: no sources (n = %d) or no output", n);
    for (int i = 0; !st && i < n; i++)
        if (!sources[i])
            st = vt__error(VT_EINVAL, "vt_sync_new: source %d is NULL", i);
    if (!st)
        st = check_opts(&o, fps);
    vt_sync *s = st ? NULL : calloc(1, sizeof *s);
    if (!st && s) {
        s->count = n;
        s->cap = 1 + o.reorder;
        s->cams = calloc((size_t)n, sizeof *s->cams);
        s->errs = calloc((size_t)n, sizeof *s->errs);
    }
    if (!st && (!s || !s->cams || !s->errs))
        st = vt__error(VT_ENOMEM, "sync: out of memory for %d cameras", n);
    for (int i = 0; !st && i < n; i++)
        if (!(s->cams[i].q = calloc((size_t)s->cap, sizeof *s->cams[i].q)))
            st = vt__error(VT_ENOMEM, "sync: out of memory for %d cameras", n);
    if (st) {
        vt_sync_free(s); /* holds no source yet */
        for (int i = 0; sources && i < n; i++)
            vt_source_free(sources[i]);
        if (out)
            *out = NULL;
        return st;
    }
    s->o = o;
    s->o.source = NULL; /* not needed past opening, and may not outlive the call */
    s->period = 1.0 / fps;
    s->tol = o.tolerance_s > 0.0 ? o.tolerance_s : 0.5 * s->period;
    s->threads = o.read_threads > 0 ? o.read_threads : omp_get_num_procs();
    if (s->threads > n)
        s->threads = n;
    if (s->threads < 1)
        s->threads = 1;
    for (int i = 0; i < n; i++) {
        cam *c = &s->cams[i];
        c->src = sources[i];
        snprintf(c->label, sizeof c->label, "camera %d", i);
        c->stats.first = c->stats.last = -1;
    }
    *out = s;
    return VT_OK;
}

vt_status vt_sync_open(const vt_rig *rig, const vt_sync_opts *opts, vt_sync **out)
{
    if (!rig || !out || rig->count <= 0)
        return vt__error(VT_EINVAL, "vt_sync_open: no rig or no cameras");
    *out = NULL;
    vt_source **src = calloc((size_t)rig->count, sizeof *src);
    if (!src)
        return vt__error(VT_ENOMEM, "sync: out of memory");
    vt_status st = VT_OK;
    for (int i = 0; !st && i < rig->count; i++)
        st = vt_source_open_opts(rig, i, opts ? opts->source : NULL, &src[i]);
    if (st) {
        for (int i = 0; i < rig->count; i++)
            vt_source_free(src[i]);
        free(src);
        return st;
    }
    st = vt_sync_new(opts, src, rig->count, rig->fps > 0 ? rig->fps : 30.0, out);
    free(src);
    if (st)
        return st;
    for (int i = 0; i < rig->count; i++) {
        cam *c = &(*out)->cams[i];
        snprintf(c->label, sizeof c->label, "camera %d ('%s')", i, rig->cameras[i].id);
        c->strict_size = rig->cameras[i].media == VT_MEDIA_FRAMES;
    }
    return VT_OK;
}

double vt_sync_tolerance(const vt_sync *s)
{
    return s ? s->tol : 0.0;
}

int vt_sync_read_threads(const vt_sync *s)
{
    return s ? s->threads : 1;
}

vt_sync_camera_stats vt_sync_camera_stats_get(const vt_sync *s, int camera)
{
    vt_sync_camera_stats none;
    memset(&none, 0, sizeof none);
    none.first = none.last = -1;
    if (!s || camera < 0 || camera >= s->count)
        return none;
    const cam *c = &s->cams[camera];
    vt_sync_camera_stats st = c->stats;
    st.sync_error_mean = st.frames ? c->err_sum / (double)st.frames : 0.0;
    st.source = vt_source_stats_get(c->src);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading ahead                                                             */

/* Counts a dropped frame; the first of its kind per camera is reported. */
static void drop(vt_sync *s, cam *c, int kind, double t)
{
    int64_t *counter[KINDS] = {&c->stats.late, &c->stats.duplicates, &c->stats.backwards,
                               &c->stats.outside};
    (*counter[kind])++;
    if (c->warned[kind])
        return;
    c->warned[kind] = true;
    char tol[64] = "";
    if (kind == OUTSIDE)
        snprintf(tol, sizeof tol, " (%.3f ms)", s->tol * 1e3);
    vt__log(1,
            "%s: frame at %.6f s %s%s; dropped (further such frames of this camera are "
            "counted, not reported)",
            c->label, t, kind_text[kind], tol);
}

/* A camera's source failed: remember why and go on without it. */
static void fail_camera(cam *c)
{
    c->ended = true;
    c->stats.failed = true;
    snprintf(c->stats.error, sizeof c->stats.error, "%s", vt_last_error());
    /* The source's messages name the camera already; name it only when not. */
    if (strncmp(c->stats.error, c->label, strlen(c->label)) == 0)
        vt__log(1, "%s; going on without it", c->stats.error);
    else
        vt__log(1, "%s: %s; going on without it", c->label, c->stats.error);
}

/* Is t the time of a frame this camera already gave (queued or taken)? */
static bool seen_time(const cam *c, double t)
{
    const double eps = 1e-9;
    if (c->taken_any && fabs(t - c->last_t) < eps)
        return true;
    for (int j = 0; j < c->nq; j++)
        if (fabs(t - c->q[j].t) < eps)
            return true;
    return false;
}

/*
 * Reads one frame of camera c into its first spare slot. Runs on any
 * thread: it touches only this camera's source, slot and read result.
 */
static void read_slot(cam *c)
{
    read_result *rd = &c->rd;
    pending *slot = &c->q[c->nq];
    int64_t number;
    rd->end = false;
    rd->st = vt_source_read(c->src, &slot->img, &number, &slot->t, &rd->end);
    if (rd->st)
        snprintf(rd->error, sizeof rd->error, "%s", vt_last_error());
}

/*
 * Judges camera c's frame just read: queues it in time order, or drops it
 * (duplicate, backwards), or ends/fails the camera. Fails only for a frame
 * of the wrong size where that means a wrong rig: an image sequence, or a
 * camera's first frame (for a raw file or a video, a mismatch later on is a
 * stream shorter than its timestamps: the camera ending early).
 */
static vt_status accept(vt_sync *s, cam *c)
{
    const read_result *rd = &c->rd;
    pending *slot = &c->q[c->nq];
    bool first = c->stats.frames == 0 && c->nq == 0 && !c->taken_any;
    if (rd->st) /* the message back into this thread's last error */
        vt__error(rd->st, "%s", rd->error);
    if (rd->st == VT_EMISMATCH && (c->strict_size || first))
        return rd->st;
    if (rd->st) {
        fail_camera(c);
        return VT_OK;
    }
    if (rd->end) {
        c->ended = true;
        c->just_ended = s->sets > 0;
        return VT_OK;
    }
    double t = slot->t;
    if (!isfinite(t)) {
        drop(s, c, OUTSIDE, t);
        return VT_OK;
    }
    if (seen_time(c, t)) {
        drop(s, c, DUPLICATE, t);
        return VT_OK;
    }
    if (c->taken_any && t < c->last_t) {
        drop(s, c, BACKWARDS, t);
        return VT_OK;
    }
    /* Insertion into time order: move the struct, not the pixels. */
    pending p = *slot;
    int j = c->nq;
    for (; j > 0 && c->q[j - 1].t > t; j--)
        c->q[j] = c->q[j - 1];
    c->q[j] = p;
    c->nq++;
    return VT_OK;
}

/* Reads a frame of every wanted camera: in parallel when more than one is wanted. */
static void read_round(vt_sync *s, int wanted)
{
    int nt = s->threads < wanted ? s->threads : wanted;
    if (nt <= 1) { /* on this thread, so that a source may spread one frame over the cores */
        for (int i = 0; i < s->count; i++)
            if (s->cams[i].rd.wanted)
                read_slot(&s->cams[i]);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int i = 0; i < s->count; i++)
        if (s->cams[i].rd.wanted)
            read_slot(&s->cams[i]);
}

/*
 * Tops up every live camera's queue, a round at a time: one frame of each
 * camera that needs one, read in parallel, then judged in camera order.
 */
static vt_status fill(vt_sync *s)
{
    for (;;) {
        int wanted = 0;
        for (int i = 0; i < s->count; i++) {
            cam *c = &s->cams[i];
            c->rd.wanted = !c->ended && c->nq < s->cap;
            wanted += c->rd.wanted;
        }
        if (!wanted)
            return VT_OK;
        read_round(s, wanted);
        for (int i = 0; i < s->count; i++) {
            cam *c = &s->cams[i];
            if (!c->rd.wanted)
                continue;
            c->rd.wanted = false;
            vt_status st = accept(s, c);
            if (st)
                return st;
        }
    }
}

/* Removes queue entry j of camera c, keeping its buffer as a spare. */
static void unqueue(const vt_sync *s, cam *c, int j)
{
    pending p = c->q[j];
    memmove(&c->q[j], &c->q[j + 1], (size_t)(s->cap - j - 1) * sizeof *c->q);
    c->q[s->cap - 1] = p;
    c->nq--;
}

static int64_t set_of(const vt_sync *s, double t)
{
    return (int64_t)llround((t - s->phase) / s->period);
}

static double set_time(const vt_sync *s, int64_t k)
{
    return s->phase + (double)k * s->period;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * The grid's phase from the first frames: the median time of the cameras'
 * first frames that lie within half a period of the earliest one (cameras
 * that dropped the first frame or started later do not count), reduced to
 * within half a period of 0 so that frames at n / fps land in set n.
 */
static bool start_grid(vt_sync *s)
{
    double earliest = INFINITY;
    for (int i = 0; i < s->count; i++)
        if (s->cams[i].nq && s->cams[i].q[0].t < earliest)
            earliest = s->cams[i].q[0].t;
    if (earliest == INFINITY)
        return false;
    int n = 0;
    for (int i = 0; i < s->count; i++)
        if (s->cams[i].nq && s->cams[i].q[0].t < earliest + 0.5 * s->period)
            s->errs[n++] = s->cams[i].q[0].t;
    double t0 = median(s->errs, n);
    s->phase = t0 - (double)llround(t0 / s->period) * s->period;
    s->next_k = INT64_MIN;
    s->started = true;
    return true;
}

/* Drops the heads of camera c's queue that cannot land (late, outside). */
static void prune(vt_sync *s, cam *c)
{
    while (c->nq) {
        double t = c->q[0].t;
        int64_t k = set_of(s, t);
        int kind = k < s->next_k ? LATE : fabs(t - set_time(s, k)) > s->tol ? OUTSIDE : -1;
        if (kind < 0)
            return;
        drop(s, c, kind, t);
        unqueue(s, c, 0);
    }
}

/* Fills and prunes until every live camera has a full queue of frames that can land. */
static vt_status settle(vt_sync *s)
{
    for (;;) {
        vt_status st = fill(s);
        if (st)
            return st;
        if (!s->started && !start_grid(s))
            return VT_OK; /* nothing left anywhere */
        bool short_ = false;
        for (int i = 0; i < s->count; i++) {
            cam *c = &s->cams[i];
            prune(s, c);
            short_ |= !c->ended && c->nq < s->cap;
        }
        if (!short_)
            return VT_OK;
    }
}

/* ------------------------------------------------------------------------ */
/* Frame sets                                                                */

/* Takes camera c's frame for set k (the nearest of its frames in k) into *img. */
static void take(vt_sync *s, cam *c, int64_t k, vt_image *img, double *t)
{
    double tk = set_time(s, k);
    int best = 0;
    for (int j = 1; j < c->nq && set_of(s, c->q[j].t) == k; j++)
        if (fabs(c->q[j].t - tk) < fabs(c->q[best].t - tk))
            best = j;
    *t = c->q[best].t;
    vt_image tmp = *img;
    *img = c->q[best].img;
    c->q[best].img = tmp;
    unqueue(s, c, best);
    double err = fabs(*t - tk);
    c->taken_any = true;
    c->last_t = *t;
    c->err_sum += err;
    if (err > c->stats.sync_error_max)
        c->stats.sync_error_max = err;
    c->stats.frames++;
    if (c->stats.first < 0)
        c->stats.first = k;
    c->stats.last = k;
}

/*
 * A camera that ran out is news only while others still have frames, and
 * only once its read-ahead frames are spent.
 */
static void report_ended(vt_sync *s, bool others_go_on)
{
    for (int i = 0; i < s->count; i++) {
        cam *c = &s->cams[i];
        if (!c->just_ended || (c->nq && others_go_on))
            continue;
        if (others_go_on)
            vt__log(2, "%s: no frames after frame %lld; going on with the others", c->label,
                    (long long)c->stats.last);
        c->just_ended = false;
    }
}

vt_status vt_sync_next(vt_sync *s, vt_image *images, bool *present, double *times, int64_t *frame,
                       double *t, bool *end)
{
    if (!s || !images || !present || !frame || !t || !end)
        return vt__error(VT_EINVAL, "vt_sync_next: NULL argument");
    *end = false;
    vt_status st = settle(s);
    if (st)
        return st;
    int64_t k = INT64_MAX;
    for (int i = 0; i < s->count; i++)
        if (s->cams[i].nq) {
            int64_t ki = set_of(s, s->cams[i].q[0].t);
            k = ki < k ? ki : k;
        }
    report_ended(s, k != INT64_MAX);
    if (k == INT64_MAX) {
        *end = true;
        return VT_OK;
    }
    double tk = set_time(s, k);
    int n = 0;
    for (int i = 0; i < s->count; i++) {
        cam *c = &s->cams[i];
        present[i] = c->nq && set_of(s, c->q[0].t) == k;
        double ti = tk;
        if (present[i]) {
            take(s, c, k, &images[i], &ti);
            s->errs[n++] = ti - tk;
        } else {
            c->stats.drops++;
        }
        if (times)
            times[i] = ti;
    }
    *frame = k;
    *t = tk;
    s->next_k = k + 1;
    s->sets++;
    if (s->o.follow > 0.0)
        s->phase += s->o.follow * median(s->errs, n);
    return VT_OK;
}
