/*
 * src/cluster/capture.c - the capture node (see voxtrack/cluster.h): frame
 * sets in, one rays message per camera it owns per frame set out.
 *
 * Each camera keeps its camera stage (its background model) for the whole
 * run, so frames never leave the node: only rays do, a few kilobytes per
 * camera per frame set. The cameras of a frame set run in parallel, one per
 * thread, as in vt_pipeline_process(); the messages go out in camera order.
 * Each carries a Nats-Msg-Id of camera and frame set, so a capture node that
 * publishes again (after a lost ack) does not double a message.
 *
 * Several capture nodes share a rig: each reads every frame set (so all
 * agree on the frame sets' indices) but runs the stages of its own cameras
 * only. Ownership is the KV bucket vt_cameras (membership.c). A camera handed
 * over from a dead node is read again from the input's start through a new
 * camera stage, publishing nothing until the frame set after the last one
 * its stream holds: the background model is then the dead node's, bit for
 * bit, and no frame set is lost or doubled.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

typedef struct capture {
    const vt_cluster_opts *o;
    const vt_pipeline_opts *po;
    const vt_rig *rig;
    const vt_cluster_input *in;
    int n;
    char me[80]; /* this node's name, as the KV keys hold it */
    vt__cl_conn *conn;
    vt__cl_kv *cameras; /* vt_cameras: who owns which camera */
    vt__cl_beat *beat;
    uint64_t owned; /* the cameras this node publishes */
    uint64_t ended; /* the cameras whose end of input is out (by anyone) */
    int64_t *next;  /* per camera: the frame sets below it are out (by us or a node before) */
    vt_camera_stage **cams; /* per owned camera (NULL for the others) */
    vt_camera_rays *rays;
    vt_status *status;
    char (*error)[256];
    vt_frame_slot slot, replay; /* the input's frame set; a taken camera's replayed one */
    vt_cluster_stats st;
    int64_t max_payload;
    double looked_at;
} capture;

/* Refuses what the distributed mode does not do yet, naming it. */
static vt_status check_rig(const vt_rig *rig)
{
    if (vt_rig_has_moving_cameras(rig))
        return vt__error(VT_EUNSUPPORTED,
                         "cluster: the rig has moving cameras; the distributed mode takes fixed "
                         "cameras only (for now)");
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].media == VT_MEDIA_DETECTIONS)
            return vt__error(VT_EUNSUPPORTED,
                             "cluster: camera %s takes 2D detections; the distributed mode takes "
                             "frames only (for now)",
                             rig->cameras[i].id);
    return VT_OK;
}

vt_status vt__cl_check_rig(const vt_rig *rig)
{
    if (!rig || rig->count <= 0 || rig->count > VT__CL_MAX_CAMERAS)
        return vt__error(VT_EINVAL, "cluster: the rig needs 1 to %d cameras", VT__CL_MAX_CAMERAS);
    return check_rig(rig);
}

static void slot_free(vt_frame_slot *sl, int n)
{
    for (int i = 0; sl->images && i < n; i++)
        vt_image_free(&sl->images[i]);
    free(sl->images);
    free(sl->present);
    free(sl->times);
}

static bool slot_alloc(vt_frame_slot *sl, int n)
{
    sl->images = calloc((size_t)n, sizeof *sl->images);
    sl->present = calloc((size_t)n, sizeof *sl->present);
    sl->times = calloc((size_t)n, sizeof *sl->times);
    return sl->images && sl->present && sl->times;
}

/* Reads the next frame set into sl (*end at the end of the input). */
static vt_status read_set(int n, vt_produce_fn produce, void *user, vt_frame_slot *sl, bool *end)
{
    *end = false;
    memset(sl->present, 0, (size_t)n * sizeof *sl->present);
    for (int i = 0; i < n; i++)
        sl->times[i] = NAN;
    return produce(user, sl, end);
}

static void free_capture(capture *c)
{
    vt__cl_beat_stop(c->beat);
    vt__cl_kv_close(c->cameras);
    for (int i = 0; c->cams && i < c->n; i++)
        vt_camera_stage_free(c->cams[i]);
    free(c->cams);
    free(c->rays);
    free(c->status);
    free(c->error);
    free(c->next);
    slot_free(&c->slot, c->n);
    slot_free(&c->replay, c->n);
    vt__cl_close(c->conn);
}

/* Camera i's stage, new (a taken camera starts from its first frame set). */
static vt_status new_stage(capture *c, int i)
{
    vt_camera_stage_free(c->cams[i]);
    c->cams[i] = NULL;
    return vt_camera_stage_new(c->po, c->rig, i, &c->cams[i]);
}

/* This node's cameras at its start: created in vt_cameras with its name. */
static vt_status claim(capture *c)
{
    uint64_t want = c->o->cameras;
    for (int i = 0; i < c->n; i++) {
        if (want && !(want >> i & 1u))
            continue;
        char key[32], owner[80];
        uint64_t rev = 0;
        vt__cl_camera_key(key, sizeof key, i);
        vt_status s = vt__cl_kv_create(c->cameras, key, c->me, &rev);
        if (s == VT_EMISMATCH) {
            if (vt__cl_kv_get(c->cameras, key, owner, sizeof owner, &rev) == VT_OK &&
                strcmp(owner, c->me) && want)
                vt__log(1, "capture %s: camera %s belongs to %s: not taken", c->me,
                        c->rig->cameras[i].id, owner);
            continue; /* ours (a name used again) is taken over when looked at */
        }
        if (s)
            return s;
        if ((s = new_stage(c, i)))
            return s;
        c->owned |= 1ull << i;
    }
    return VT_OK;
}

static vt_status setup(capture *c)
{
    size_t n = (size_t)c->n;
    c->cams = calloc(n, sizeof *c->cams);
    c->rays = calloc(n, sizeof *c->rays);
    c->status = calloc(n, sizeof *c->status);
    c->error = calloc(n, sizeof *c->error);
    c->next = calloc(n, sizeof *c->next);
    if (!c->cams || !c->rays || !c->status || !c->error || !c->next ||
        !slot_alloc(&c->slot, c->n) || !slot_alloc(&c->replay, c->n))
        return vt__error(VT_ENOMEM, "capture: out of memory");
    char host[64] = "", raw[96];
    gethostname(host, sizeof host - 1);
    snprintf(raw, sizeof raw, "capture-%s-%ld", host, (long)getpid());
    vt__cl_safe_name(c->me, sizeof c->me, "", c->o->name && *c->o->name ? c->o->name : raw);
    vt_status s = vt__cl_connect(c->o, "capture", &c->conn);
    if (!s) {
        c->max_payload = vt__cl_max_payload(c->conn);
        s = vt__cl_kv_open(c->conn, VT__CL_KV_CAMERAS, &c->cameras);
    }
    if (!s)
        s = vt__cl_beat_start(c->conn, "capture", c->me, &c->beat);
    if (!s)
        s = claim(c);
    return s;
}

/* Publishes camera i's rays (in c->rays[i]) of frame set `set`, read into sl. */
static vt_status publish_camera(capture *c, const vt_frame_slot *sl, int64_t set, int i,
                                double seconds)
{
    vt__cl_rays m = {.set = set,
                     .frame = sl->frame,
                     .t = sl->t,
                     .camera = i,
                     .ncams = c->n,
                     .seconds = seconds,
                     .cam = c->rays[i]};
    m.sync_error = c->rays[i].present && isfinite(sl->times[i]) ? sl->times[i] - sl->t : 0.0;
    uint8_t *buf = NULL;
    size_t len = 0;
    vt_status s = vt__cl_rays_encode(&m, &buf, &len);
    if (s)
        return s;
    if (c->max_payload > 0 && (int64_t)len > c->max_payload) {
        free(buf);
        return vt__error(VT_ERANGE,
                         "capture: camera %s, frame %lld: %zu rays make a %zu-byte message, over "
                         "the server's largest (%lld bytes); lower max_rays",
                         c->rig->cameras[i].id, (long long)sl->frame, m.cam.nrays, len,
                         (long long)c->max_payload);
    }
    char subject[48], id[64];
    snprintf(subject, sizeof subject, VT__CL_SUBJ_RAYS ".%d", i);
    snprintf(id, sizeof id, "r.%d.%lld", i, (long long)set);
    s = vt__cl_publish(c->conn, subject, buf, len, id, NULL);
    free(buf);
    if (!s) {
        c->st.messages++;
        c->st.bytes += (int64_t)len;
        if ((int64_t)len > c->st.max_message)
            c->st.max_message = (int64_t)len;
        c->next[i] = set + 1;
    }
    return s;
}

/* One frame set read into sl: the stages of the cameras in `mask` (in parallel), then
   their messages in camera order, for those whose frame set is not out yet. */
static vt_status process_set(capture *c, const vt_frame_slot *sl, int64_t set, uint64_t mask)
{
    double t0 = vt__now();
    int threads = c->po->threads > 0 ? c->po->threads : omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int i = 0; i < c->n; i++) {
        if (!(mask >> i & 1u))
            continue;
        const vt_image *img = sl->present[i] ? &sl->images[i] : NULL;
        c->status[i] = vt_camera_stage_process(c->cams[i], img, &c->rays[i]);
        if (c->status[i])
            snprintf(c->error[i], sizeof c->error[i], "%s", vt_last_error());
    }
    double seconds = vt__now() - t0;
    for (int i = 0; i < c->n; i++)
        if (mask >> i & 1u && c->status[i])
            return vt__error(c->status[i], "capture: frame %lld: %s", (long long)sl->frame,
                             c->error[i]);
    vt_status s = VT_OK;
    for (int i = 0; !s && i < c->n; i++)
        if (mask >> i & 1u && set >= c->next[i])
            s = publish_camera(c, sl, set, i, seconds);
    return s;
}

static vt_status publish_end(capture *c, int i, int64_t nsets)
{
    vt__cl_end e = {.nsets = nsets, .camera = i};
    uint8_t *buf = NULL;
    size_t len = 0;
    char subject[48], id[64];
    snprintf(subject, sizeof subject, VT__CL_SUBJ_RAYS ".%d", i);
    snprintf(id, sizeof id, "r.%d.end", i);
    vt_status s = vt__cl_end_encode(&e, &buf, &len);
    if (!s)
        s = vt__cl_publish(c->conn, subject, buf, len, id, NULL);
    free(buf);
    if (!s)
        c->ended |= 1ull << i;
    return s;
}

/*
 * What camera i's stream holds last: *ended when its end of input is out,
 * else *next = the frame set after the last one out (0: none).
 */
static vt_status camera_progress(capture *c, int i, int64_t *next, bool *ended)
{
    char subject[48];
    snprintf(subject, sizeof subject, VT__CL_SUBJ_RAYS ".%d", i);
    uint8_t *buf = NULL;
    size_t len = 0;
    *next = 0;
    *ended = false;
    vt_status s = vt__cl_last(c->conn, VT__CL_STREAM_RAYS, subject, &buf, &len);
    if (s == VT_ENOENT)
        return VT_OK;
    int kind = 0;
    if (!s && !(s = vt__cl_kind(buf, len, &kind))) {
        if (kind == VT__CL_END) {
            *ended = true;
        } else {
            vt__cl_rays r = {0};
            if (!(s = vt__cl_rays_decode(buf, len, &r)))
                *next = r.set + 1;
            vt__cl_rays_free(&r);
        }
    }
    free(buf);
    return s;
}

/*
 * Takes camera i over at frame set `pos` of this node's input (the sets below
 * it are read): its frames from the input's start go through a new camera
 * stage, so its background model is the one its last owner had, and the sets
 * its last owner did not publish are published. `done`: this node's input has
 * ended after pos sets, so the camera's end goes out too.
 */
static vt_status take_over(capture *c, int i, int64_t pos, bool done)
{
    const char *id = c->rig->cameras[i].id;
    if (!c->in->reopen) {
        vt__log(1, "capture %s: camera %s was handed to me, but my input cannot be read again",
                c->me, id);
        return VT_OK;
    }
    int64_t from = 0;
    bool ended = false;
    vt_status s = camera_progress(c, i, &from, &ended);
    if (s)
        return s;
    uint64_t bit = 1ull << i;
    c->owned |= bit;
    c->st.reassigned++;
    if (ended) {
        c->ended |= bit;
        vt__log(1, "capture %s: took camera %s over; its input had ended", c->me, id);
        return VT_OK;
    }
    if ((s = new_stage(c, i)))
        return s;
    c->next[i] = from;
    void *again = NULL;
    int64_t r = 0;
    if (pos > 0 && !(s = c->in->reopen(c->in->user, &again))) {
        for (; !s && r < pos; r++) {
            bool end = false;
            if ((s = read_set(c->n, c->in->produce, again, &c->replay, &end)))
                break;
            if (end) {
                s = vt__error(VT_EINVAL,
                              "capture: camera %s: the input read again ended after %lld frame "
                              "sets, before %lld",
                              id, (long long)r, (long long)pos);
                break;
            }
            s = process_set(c, &c->replay, r, bit);
        }
        c->in->close(again);
    }
    if (!s && done)
        s = publish_end(c, i, pos);
    if (!s)
        vt__log(1,
                "capture %s: took camera %s over: its stream had frame sets 0 to %lld; %lld read "
                "again, %lld published",
                c->me, id, (long long)from - 1, (long long)r, (long long)(r > from ? r - from : 0));
    return s;
}

/* Every 0.2 s: the cameras handed to this node are taken over, those handed away dropped. */
static vt_status look_owners(capture *c, int64_t pos, bool done)
{
    double now = vt__now();
    if (now - c->looked_at < 0.2)
        return VT_OK;
    c->looked_at = now;
    vt_status s = VT_OK;
    for (int i = 0; !s && i < c->n; i++) {
        char key[32], owner[80];
        uint64_t rev = 0, bit = 1ull << i;
        vt__cl_camera_key(key, sizeof key, i);
        if (vt__cl_kv_get(c->cameras, key, owner, sizeof owner, &rev))
            continue; /* the server away, or nobody's: looked at again soon */
        bool mine = !strcmp(owner, c->me);
        if (mine && !(c->owned & bit))
            s = take_over(c, i, pos, done);
        else if (!mine && (c->owned & bit)) {
            vt__log(1, "capture %s: camera %s was handed to %s; I stop publishing it", c->me,
                    c->rig->cameras[i].id, owner);
            c->owned &= ~bit;
        }
    }
    return s;
}

/* After its input: until every camera has ended, the node stays to take cameras over. */
static vt_status stay(capture *c, int64_t nsets)
{
    uint64_t all = c->n == 64 ? ~0ull : (1ull << c->n) - 1;
    vt_status s = VT_OK;
    while (!s && c->ended != all) {
        if (vt__cl_stopped(c->o))
            return vt__error(VT_ECANCELED, "capture: stopped while cameras had not ended");
        if ((s = look_owners(c, nsets, true)))
            break;
        for (int i = 0; !s && i < c->n; i++) {
            int64_t next = 0;
            bool ended = false;
            if (!(c->ended >> i & 1u) && !camera_progress(c, i, &next, &ended) && ended)
                c->ended |= 1ull << i;
        }
        if (c->ended != all)
            vt__cl_sleep(0.1);
    }
    return s;
}

/*
 * Fault injection for the tests (as the worker's), at an exact point of the run:
 * VT_CLUSTER_FAULT=die-after-set:N SIGKILLs the capture node once it has published its
 * N-th frame set; wait-after-set:N:FILE makes it write FILE.reached there and wait until
 * FILE exists (a test restarts the server meanwhile).
 */
typedef struct fault {
    int64_t after;
    bool die;
    char file[512];
} fault;

static fault read_fault(void)
{
    fault f = {0};
    const char *e = getenv("VT_CLUSTER_FAULT");
    long long n = 0;
    char tail;
    int at = 0;
    if (!e)
        return f;
    if (sscanf(e, "die-after-set:%lld%c", &n, &tail) == 1 && n > 0) {
        f.after = n;
        f.die = true;
    } else if (sscanf(e, "wait-after-set:%lld:%n", &n, &at) == 1 && at > 0 && n > 0 && e[at]) {
        f.after = n;
        snprintf(f.file, sizeof f.file, "%s", e + at);
    }
    return f;
}

static void fault_hit(const fault *f, const char *me)
{
    if (f->die) {
        vt__log(1, "capture %s: VT_CLUSTER_FAULT: killing myself after frame set %lld", me,
                (long long)f->after);
        raise(SIGKILL);
    }
    char reached[600];
    snprintf(reached, sizeof reached, "%s.reached", f->file);
    FILE *fp = fopen(reached, "w");
    if (fp)
        fclose(fp);
    vt__log(1, "capture %s: VT_CLUSTER_FAULT: waiting for %s after frame set %lld", me, f->file,
            (long long)f->after);
    for (;;) {
        fp = fopen(f->file, "r");
        if (fp) {
            fclose(fp);
            return;
        }
        vt__cl_sleep(0.05);
    }
}

vt_status vt_cluster_capture_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                 const vt_rig *rig, const vt_cluster_input *in,
                                 vt_cluster_stats *stats)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!o || !rig || !in || !in->produce || (in->reopen && !in->close))
        return vt__error(VT_EINVAL, "vt_cluster_capture_run: NULL argument");
    vt_pipeline_opts popts = po ? *po : vt_pipeline_opts_default();
    vt_status s = vt__cl_check_rig(rig);
    if (s)
        return s;
    capture c = {.o = o, .po = &popts, .rig = rig, .in = in, .n = rig->count};
    s = setup(&c);
    int64_t set = 0;
    fault f = read_fault();
    double last_t = -INFINITY;
    while (!s) {
        if (vt__cl_stopped(o)) {
            s = vt__error(VT_ECANCELED, "capture: stopped after %lld frame sets", (long long)set);
            break;
        }
        if ((s = look_owners(&c, set, false)))
            break;
        bool end = false;
        if ((s = read_set(c.n, in->produce, in->user, &c.slot, &end)) || end)
            break;
        if (!isfinite(c.slot.t) || c.slot.t < last_t) {
            s = vt__error(VT_EINVAL, "capture: frame set %lld at t = %g s goes back in time",
                          (long long)c.slot.frame, c.slot.t);
            break;
        }
        last_t = c.slot.t;
        if (!(s = process_set(&c, &c.slot, set, c.owned)))
            set++;
        vt__cl_beat_info(c.beat, set, 0);
        if (f.after && set == f.after)
            fault_hit(&f, c.me);
    }
    for (int i = 0; !s && i < c.n; i++)
        if (c.owned >> i & 1u)
            s = publish_end(&c, i, set);
    if (!s)
        s = stay(&c, set);
    c.st.sets = set;
    if (stats)
        *stats = c.st;
    free_capture(&c);
    return s;
}
