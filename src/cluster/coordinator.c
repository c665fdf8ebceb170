/*
 * src/cluster/coordinator.c - the coordinator (see voxtrack/cluster.h): the
 * assembler on a thread of its own, the tracker on the caller's.
 *
 * The assembler reads every camera's rays messages (a durable consumer of
 * the rays stream) and keeps, per frame set, which cameras are in and where
 * their messages lie in the stream. When all are in, it publishes the work
 * item (Nats-Msg-Id: the frame set, so a second assembly is dropped by the
 * server) and only then acks the rays messages: a coordinator that dies
 * before leaves them unacked, and the next one assembles the same item.
 * When every camera's end-of-input message is in, it publishes the end of
 * the run (the frame set count) to the detections stream, and only then acks
 * the ends (so the next leader learns of them too).
 *
 * The tracker reads the detections stream and tracks the frame sets in
 * strict order of their index: detections that come early wait in a
 * reorder buffer, a second copy of a frame set (a worker died after
 * publishing, before its ack) is counted and dropped.
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster_internal.h"
#include "core/buf.h"
#include "core/internal.h"

enum { FETCH_BATCH = 64 };

/* ---- the assembler --------------------------------------------------------- */

typedef struct pending {
    int64_t set, frame;
    double t;
    uint64_t mask; /* cameras in */
    uint64_t seq[VT__CL_MAX_CAMERAS];
    vt__cl_msg msgs[VT__CL_MAX_CAMERAS]; /* to ack once the item is out */
} pending;

typedef struct assembler {
    const vt_cluster_opts *o;
    vt__cl_conn *conn;
    int n;
    uint64_t all; /* the mask of every camera */
    vt__cl_pull *pull;
    pending **open;
    size_t nopen, open_cap;
    bool *done; /* per frame set index: its work item is out */
    size_t done_cap;
    uint64_t end_mask;
    int64_t nsets;
    bool end_sent;
    /* Each camera's end-of-input message, held unacked (like rays) until the run's end is
       out: a leader that dies before that leaves them to the next one, which would
       otherwise never learn that the run is over. */
    vt__cl_msg ends[VT__CL_MAX_CAMERAS];
    bool die_before_end; /* VT_CLUSTER_FAULT=die-before-end (tests) */
    int64_t last_set[VT__CL_MAX_CAMERAS]; /* per camera: its last frame set in (-1: none) */
    vt__cl_watch *watch;                  /* the capture nodes' membership, while leading */
    atomic_bool stop;                     /* set by the tracker: return */
    atomic_bool failed;                   /* set by the assembler after status and error */
    vt_status status;
    char error[256];
    vt_cluster_stats st;
    vt__cl_rays rays; /* decoding buffer */
} assembler;

static bool is_done(const assembler *a, int64_t set)
{
    return (size_t)set < a->done_cap && a->done[set];
}

static vt_status mark_done(assembler *a, int64_t set)
{
    if ((size_t)set >= a->done_cap) {
        size_t old = a->done_cap;
        vt_status s = vt__grow(&a->done, &a->done_cap, (size_t)set + 1, sizeof *a->done);
        if (s)
            return s;
        memset(a->done + old, 0, (a->done_cap - old) * sizeof *a->done);
    }
    a->done[set] = true;
    return VT_OK;
}

static pending *find_open(assembler *a, int64_t set, vt_status *s)
{
    for (size_t i = 0; i < a->nopen; i++)
        if (a->open[i]->set == set)
            return a->open[i];
    *s = vt__grow(&a->open, &a->open_cap, a->nopen + 1, sizeof *a->open);
    pending *p = *s ? NULL : calloc(1, sizeof *p);
    if (!*s && !p)
        *s = vt__error(VT_ENOMEM, "assembler: out of memory");
    if (p) {
        p->set = set;
        a->open[a->nopen++] = p;
    }
    return p;
}

/* Publishes a complete frame set's work item, acks its rays and forgets it. */
static vt_status complete(assembler *a, size_t idx)
{
    pending *p = a->open[idx];
    vt__cl_work w = {.set = p->set, .frame = p->frame, .t = p->t, .ncams = a->n};
    memcpy(w.seq, p->seq, sizeof w.seq);
    uint8_t *buf = NULL;
    size_t len = 0;
    char id[48];
    snprintf(id, sizeof id, "w.%lld", (long long)p->set);
    vt_status s = vt__cl_work_encode(&w, &buf, &len);
    if (!s)
        s = vt__cl_publish(a->conn, VT__CL_SUBJ_WORK, buf, len, id, NULL);
    free(buf);
    if (s)
        return s; /* the server is away: the item stays open and goes out later */
    a->st.messages++;
    a->st.bytes += (int64_t)len;
    for (int i = 0; i < a->n; i++)
        if (p->msgs[i].nats)
            vt__cl_ack(&p->msgs[i], false);
    if ((s = mark_done(a, p->set)))
        return s;
    free(p);
    a->open[idx] = a->open[--a->nopen];
    a->st.sets++;
    return VT_OK;
}

static vt_status send_end(assembler *a)
{
    vt__cl_end e = {.nsets = a->nsets, .camera = -1};
    uint8_t *buf = NULL;
    size_t len = 0;
    vt_status s = vt__cl_end_encode(&e, &buf, &len);
    if (!s)
        s = vt__cl_publish(a->conn, VT__CL_SUBJ_DETS, buf, len, "d.end", NULL);
    free(buf);
    if (s)
        return s;
    a->end_sent = true;
    for (int c = 0; c < a->n; c++)
        if (a->ends[c].nats)
            vt__cl_ack(&a->ends[c], false);
    return VT_OK;
}

static void drop(assembler *a, vt__cl_msg *m, const char *why)
{
    vt__log(1, "assembler: dropped rays stream message %llu: %s", (unsigned long long)m->stream_seq,
            why);
    a->st.bad_messages++;
    vt__cl_term(m);
}

/* One message of the rays stream. */
static vt_status take(assembler *a, vt__cl_msg *m)
{
    int kind = 0;
    if (m->delivered > 1)
        a->st.redelivered++;
    if (vt__cl_kind(m->data, m->len, &kind)) {
        drop(a, m, vt_last_error());
        return VT_OK;
    }
    if (kind == VT__CL_END) {
        vt__cl_end e;
        if (vt__cl_end_decode(m->data, m->len, &e) || e.camera < 0 || e.camera >= a->n) {
            drop(a, m, "bad end-of-input message");
            return VT_OK;
        }
        vt__cl_msg *held = &a->ends[e.camera];
        if (a->end_mask >> e.camera & 1u) {
            if (held->nats && held->stream_seq == m->stream_seq) { /* ours, delivered again */
                vt__cl_msg_done(held);
                *held = *m;
            } else {
                vt__cl_ack(m, false); /* a second end of that camera, or one after d.end */
            }
            return VT_OK;
        }
        if (a->end_mask && e.nsets != a->nsets)
            vt__log(1, "assembler: camera %d ended after %lld frame sets, another after %lld",
                    e.camera, (long long)e.nsets, (long long)a->nsets);
        a->nsets = e.nsets > a->nsets ? e.nsets : a->nsets;
        a->end_mask |= 1ull << e.camera;
        if (a->end_sent)
            vt__cl_ack(m, false);
        else
            *held = *m;
        return VT_OK;
    }
    if (kind != VT__CL_RAYS || vt__cl_rays_decode(m->data, m->len, &a->rays)) {
        drop(a, m, kind != VT__CL_RAYS ? "not a rays message" : vt_last_error());
        return VT_OK;
    }
    const vt__cl_rays *r = &a->rays;
    if (r->ncams != a->n) {
        drop(a, m, "its camera count is not the rig's");
        return VT_OK;
    }
    if (is_done(a, r->set)) {
        a->st.duplicates++;
        vt__cl_ack(m, false);
        return VT_OK;
    }
    vt_status s = VT_OK;
    pending *p = find_open(a, r->set, &s);
    if (!p)
        return s;
    uint64_t bit = 1ull << r->camera;
    if (p->mask & bit) {
        if (p->seq[r->camera] == m->stream_seq) { /* the one we hold, delivered again */
            vt__cl_msg_done(&p->msgs[r->camera]);
            p->msgs[r->camera] = *m;
            return VT_OK;
        }
        a->st.duplicates++; /* a second message of that camera and frame set */
        vt__cl_ack(m, false);
        return VT_OK;
    }
    p->mask |= bit;
    if (r->set > a->last_set[r->camera])
        a->last_set[r->camera] = r->set;
    p->frame = r->frame;
    p->t = r->t;
    p->seq[r->camera] = m->stream_seq;
    p->msgs[r->camera] = *m;
    return VT_OK;
}

/* The rays of frame sets that wait (for a camera whose node died, say), and the
   cameras' ends until the run's end is out, are held unacked: every second they
   are told to the server as in progress, so that their AckWait does not send them
   again. */
static void hold(assembler *a, double *held_at)
{
    double now = vt__now();
    if (now - *held_at < 1.0)
        return;
    *held_at = now;
    for (size_t i = 0; i < a->nopen; i++)
        for (int c = 0; c < a->n; c++)
            if (a->open[i]->msgs[c].nats)
                vt__cl_in_progress(&a->open[i]->msgs[c]);
    for (int c = 0; c < a->n; c++)
        if (a->ends[c].nats)
            vt__cl_in_progress(&a->ends[c]);
}

static void *assembler_main(void *arg)
{
    assembler *a = arg;
    vt__cl_msg msgs[FETCH_BATCH];
    vt_status s = VT_OK;
    double held_at = vt__now();
    while (!s && !atomic_load(&a->stop)) {
        int got = 0;
        if ((s = vt__cl_fetch(a->pull, msgs, FETCH_BATCH, 0.1, &got)))
            break;
        for (int i = 0; !s && i < got; i++)
            s = take(a, &msgs[i]);
        for (size_t i = 0; !s && i < a->nopen;)
            if (a->open[i]->mask == a->all) {
                if (complete(a, i)) /* the server is away: later */
                    break;
            } else {
                i++;
            }
        if (!s && !a->end_sent && a->end_mask == a->all && a->nopen == 0) {
            if (a->die_before_end) {
                vt__log(1, "coordinator: VT_CLUSTER_FAULT: killing myself before the run's end");
                raise(SIGKILL);
            }
            send_end(a); /* on failure: again on the next round */
        }
        if (!s) {
            hold(a, &held_at);
            vt__cl_watch_tick(a->watch, a->end_mask, a->last_set, &a->st);
        }
    }
    a->status = s;
    if (s) {
        snprintf(a->error, sizeof a->error, "%s", vt_last_error());
        atomic_store(&a->failed, true);
    }
    return NULL;
}

static void assembler_free(assembler *a)
{
    for (size_t i = 0; i < a->nopen; i++) {
        for (int c = 0; c < a->n; c++)
            if (a->open[i]->msgs[c].nats)
                vt__cl_msg_done(&a->open[i]->msgs[c]);
        free(a->open[i]);
    }
    for (int c = 0; c < a->n; c++)
        if (a->ends[c].nats)
            vt__cl_msg_done(&a->ends[c]);
    free(a->open);
    free(a->done);
    vt__cl_rays_free(&a->rays);
    vt__cl_pull_close(a->pull);
    vt__cl_watch_free(a->watch);
}

/* ---- the tracker ----------------------------------------------------------- */

typedef struct tracker {
    const vt_rig *rig;
    int n;
    vt_track_stage *track;
    vt__cl_pull *pull;
    vt__cl_dets **ahead; /* ahead[k]: frame set next + k, or NULL */
    size_t nahead, ahead_cap;
    vt__cl_dets *spare; /* a decoding buffer */
    int64_t next;       /* the next frame set to track */
    int64_t nsets;      /* the run's frame sets, once the end is in (-1 before) */
    vt_camera_result *cams;
    vt_cluster_stats st;
} tracker;

/* Tracks frame set `next` and hands its result on. */
static vt_status track_one(tracker *k, const vt__cl_dets *d, vt_consume_fn consume, void *user)
{
    double t0 = vt__now();
    vt_set_detections sd = {.detections = d->dets,
                            .ndetections = d->ndets,
                            .rays = d->rays,
                            .nrays = d->nrays,
                            .rays_cast = d->rays_cast,
                            .clusters = d->clusters};
    vt_track_output out;
    vt_status s = vt_track_stage_process(k->track, d->t, &sd, &out);
    if (s)
        return vt__error_prefix(s, "coordinator: frame set %lld (frame %lld)", (long long)d->set,
                                (long long)d->frame);
    if (d->deliveries > 1)
        k->st.redelivered += d->deliveries - 1;
    vt_pipeline_result r;
    memset(&r, 0, sizeof r);
    r.frame = d->frame;
    r.t = d->t;
    r.tracks = out.tracks;
    r.classes = out.classes;
    r.flicker = out.flicker;
    r.ntracks = out.ntracks;
    r.detections = d->dets;
    r.ndetections = d->ndets;
    r.rays = d->rays_cast;
    r.clusters = d->clusters;
    for (int i = 0; i < k->n; i++) {
        vt_camera_result *c = &k->cams[i];
        c->present = d->cams[i].present;
        c->sync_error = d->cams[i].sync_error;
        c->changes = d->cams[i].changes;
        c->blobs = d->cams[i].blobs;
        c->rays = d->cams[i].rays;
        c->position = k->rig->cameras[i].cam.position;
        c->q = k->rig->cameras[i].cam.q;
        c->moved = false;
        r.changes += c->changes;
        r.blobs += c->blobs;
        r.cameras_live += c->present;
    }
    r.cameras = k->cams;
    r.ncameras = k->n;
    r.stage_seconds[0] = d->seconds[0];
    r.stage_seconds[1] = d->seconds[1];
    r.stage_seconds[2] = d->seconds[2];
    r.stage_seconds[3] = vt__now() - t0;
    r.seconds = r.stage_seconds[0] + r.stage_seconds[1] + r.stage_seconds[2] + r.stage_seconds[3];
    r.latency = r.seconds; /* the nodes share no clock: the work of the set is what is known */
    k->st.sets++;
    return consume ? consume(user, &r) : VT_OK;
}

/* Files one decoded frame set (k->spare) in the reorder buffer, or drops it as a copy. */
static vt_status file_dets(tracker *k)
{
    vt__cl_dets *d = k->spare;
    if (d->ncams != k->n) {
        k->st.bad_messages++;
        vt__log(1, "coordinator: dropped frame set %lld: %d cameras, the rig has %d",
                (long long)d->set, d->ncams, k->n);
        return VT_OK;
    }
    if (d->set < k->next) {
        k->st.duplicates++;
        return VT_OK;
    }
    size_t at = (size_t)(d->set - k->next);
    if (at >= k->nahead) {
        vt_status s = vt__grow(&k->ahead, &k->ahead_cap, at + 1, sizeof *k->ahead);
        if (s)
            return s;
        memset(k->ahead + k->nahead, 0, (at + 1 - k->nahead) * sizeof *k->ahead);
        k->nahead = at + 1;
    }
    if (k->ahead[at]) {
        k->st.duplicates++;
        return VT_OK;
    }
    k->ahead[at] = d;
    k->spare = NULL;
    return VT_OK;
}

static vt_status take_dets(tracker *k, vt__cl_msg *m)
{
    int kind = 0;
    vt_status s = vt__cl_kind(m->data, m->len, &kind);
    if (!s && kind == VT__CL_END) {
        vt__cl_end e;
        if (!(s = vt__cl_end_decode(m->data, m->len, &e)))
            k->nsets = e.nsets;
    } else if (!s && kind == VT__CL_DETS) {
        if (!k->spare && !(k->spare = calloc(1, sizeof *k->spare))) {
            vt__cl_msg_done(m);
            return vt__error(VT_ENOMEM, "coordinator: out of memory");
        }
        if (!(s = vt__cl_dets_decode(m->data, m->len, k->spare)))
            s = file_dets(k);
        if (s == VT_ENOMEM) {
            vt__cl_msg_done(m);
            return s;
        }
    } else if (!s) {
        s = vt__error(VT_EFORMAT, "a %d message on the detections stream", kind);
    }
    if (s) {
        vt__log(1, "coordinator: dropped detections stream message %llu: %s",
                (unsigned long long)m->stream_seq, vt_last_error());
        k->st.bad_messages++;
    }
    vt__cl_ack(m, false);
    return VT_OK;
}

/* Tracks every frame set that is next in line. */
static vt_status drain(tracker *k, vt_consume_fn consume, void *user)
{
    while (k->nahead > 0 && k->ahead[0]) {
        vt__cl_dets *d = k->ahead[0];
        vt_status s = track_one(k, d, consume, user);
        memmove(k->ahead, k->ahead + 1, (k->nahead - 1) * sizeof *k->ahead);
        k->nahead--;
        k->next++;
        if (k->spare) {
            vt__cl_dets_free(d);
            free(d);
        } else {
            k->spare = d;
        }
        if (s)
            return s;
    }
    return VT_OK;
}

static void tracker_free(tracker *k)
{
    for (size_t i = 0; i < k->nahead; i++)
        if (k->ahead[i]) {
            vt__cl_dets_free(k->ahead[i]);
            free(k->ahead[i]);
        }
    free(k->ahead);
    if (k->spare)
        vt__cl_dets_free(k->spare);
    free(k->spare);
    free(k->cams);
    vt__cl_pull_close(k->pull);
    vt_track_stage_free(k->track);
}

static void add_stats(vt_cluster_stats *to, const vt_cluster_stats *a)
{
    to->messages += a->messages;
    to->bytes += a->bytes;
    if (a->max_message > to->max_message)
        to->max_message = a->max_message;
    to->duplicates += a->duplicates;
    to->bad_messages += a->bad_messages;
    to->reassigned += a->reassigned;
    if (a->reassigned)
        to->reassign_seconds = a->reassign_seconds;
}

/* ---- the lease ------------------------------------------------------------ */

/*
 * Which coordinator leads: the one whose name holds the KV key. The leader
 * renews it every RENEW seconds by compare-and-swap on its revision; a
 * standby that has seen the same revision for TAKEOVER seconds (on its own
 * clock: nats-server 2.9 sends no event when a key expires) replaces it by
 * compare-and-swap, so of several standbys one wins. A leader whose swap
 * fails has been replaced: it steps down.
 */
static const double RENEW = 0.3, TAKEOVER = 1.5, LOOK = 0.1;

typedef struct lease {
    vt__cl_kv *kv;
    char me[64];
    bool leader;
    uint64_t rev;      /* the revision we wrote (leader) or last saw (standby) */
    double changed_at; /* standby: when we saw it change */
    double renewed_at; /* leader: our last renewal */
    double looked_at;
} lease;

/* One look at the lease; *became / *lost tell what changed. Errors of the server are
   not fatal here: the lease is looked at again soon. */
static void lease_tick(lease *l, bool *became, bool *lost, vt_cluster_stats *st)
{
    *became = *lost = false;
    double now = vt__now();
    if (l->leader) {
        if (now - l->renewed_at < RENEW)
            return;
        uint64_t rev = 0;
        vt_status s = vt__cl_kv_update(l->kv, VT__CL_KEY_COORDINATOR, l->me, l->rev, &rev);
        if (!s) {
            l->rev = rev;
            l->renewed_at = now;
        } else if (s == VT_EMISMATCH) {
            vt__log(1, "coordinator %s: another coordinator took the lease; standing by", l->me);
            l->leader = false;
            l->changed_at = now;
            *lost = true;
        }
        return;
    }
    if (now - l->looked_at < LOOK)
        return;
    l->looked_at = now;
    char holder[64];
    uint64_t rev = 0;
    vt_status s = vt__cl_kv_get(l->kv, VT__CL_KEY_COORDINATOR, holder, sizeof holder, &rev);
    if (s == VT_ENOENT) {
        if (vt__cl_kv_create(l->kv, VT__CL_KEY_COORDINATOR, l->me, &rev) == VT_OK) {
            l->leader = *became = true;
            l->rev = rev;
            l->renewed_at = now;
            vt__log(2, "coordinator %s: leader", l->me);
        }
        return;
    }
    if (s)
        return;
    if (rev != l->rev) {
        l->rev = rev;
        l->changed_at = now;
        return;
    }
    if (now - l->changed_at < TAKEOVER)
        return;
    double silent = now - l->changed_at;
    if (vt__cl_kv_update(l->kv, VT__CL_KEY_COORDINATOR, l->me, rev, &rev) == VT_OK) {
        l->leader = *became = true;
        l->rev = rev;
        l->renewed_at = vt__now();
        st->takeovers++;
        st->takeover_seconds = silent;
        vt__log(1, "coordinator %s: took over from %s after %.3f s without renewal (at %.3f)",
                l->me, holder, silent, vt__cl_wall_clock());
    }
}

/* Fault injection (as the worker's): VT_CLUSTER_FAULT=die-after-track:N SIGKILLs the
   coordinator once it has tracked and handed on its N-th frame set;
   VT_CLUSTER_FAULT=die-before-end (read by assembler_start) once the leader's
   assembler has every camera's end, just before it publishes the run's end. */
static int64_t fault_after_track(void)
{
    const char *e = getenv("VT_CLUSTER_FAULT");
    long long n = 0;
    char tail;
    if (e && sscanf(e, "die-after-track:%lld%c", &n, &tail) == 1 && n > 0)
        return n;
    return 0;
}

static vt_status assembler_start(assembler *a, pthread_t *th)
{
    vt__cl_pull_opts ap = {.stream = VT__CL_STREAM_RAYS,
                           .consumer = VT__CL_CONSUMER_ASSEMBLER,
                           .filter = VT__CL_SUBJ_RAYS ".>",
                           .ack_wait = 2, /* what a leader that died held comes back soon */
                           .max_deliver = -1};
    atomic_store(&a->stop, false);
    const char *fault = getenv("VT_CLUSTER_FAULT");
    a->die_before_end = fault && strcmp(fault, "die-before-end") == 0;
    for (int i = 0; i < a->n; i++)
        a->last_set[i] = -1;
    vt_status s = vt__cl_watch_new(a->conn, a->n, &a->watch);
    if (!s)
        s = vt__cl_pull_open(a->conn, &ap, &a->pull);
    if (!s && pthread_create(th, NULL, assembler_main, a) != 0) {
        vt__cl_pull_close(a->pull);
        a->pull = NULL;
        s = vt__error(VT_ENOMEM, "coordinator: cannot start the assembler thread");
    }
    return s;
}

/* Stops the assembler thread and forgets its state (the next leader's starts anew). */
static void assembler_stop(assembler *a, pthread_t th)
{
    atomic_store(&a->stop, true);
    pthread_join(th, NULL);
    vt_cluster_stats keep = a->st;
    assembler_free(a);
    const vt_cluster_opts *o = a->o;
    vt__cl_conn *conn = a->conn;
    int n = a->n;
    uint64_t all = a->all;
    memset(a, 0, sizeof *a);
    a->o = o;
    a->conn = conn;
    a->n = n;
    a->all = all;
    a->st = keep;
}

vt_status vt_cluster_coordinator_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                     const vt_rig *rig, vt_consume_fn consume, void *user,
                                     vt_cluster_stats *stats)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!o || !rig)
        return vt__error(VT_EINVAL, "vt_cluster_coordinator_run: NULL argument");
    vt_status s = vt__cl_check_rig(rig);
    if (s)
        return s;
    vt__cl_conn *conn = NULL;
    assembler a = {.o = o, .n = rig->count};
    a.all = rig->count == 64 ? ~0ull : (1ull << rig->count) - 1;
    tracker k = {.rig = rig, .n = rig->count, .nsets = -1};
    lease l = {0};
    char default_name[64], tracker_name[96];
    snprintf(default_name, sizeof default_name, "coordinator-%ld", (long)getpid());
    snprintf(l.me, sizeof l.me, "%s", o->name && *o->name ? o->name : default_name);
    vt__cl_safe_name(tracker_name, sizeof tracker_name, VT__CL_CONSUMER_TRACKER "-", l.me);
    int64_t die_after = fault_after_track();
    k.cams = calloc((size_t)k.n, sizeof *k.cams);
    if (!k.cams)
        s = vt__error(VT_ENOMEM, "coordinator: out of memory");
    if (!s)
        s = vt_track_stage_new(po, rig, &k.track);
    if (!s)
        s = vt__cl_connect(o, "coordinator", &conn);
    a.conn = conn;
    /* Every coordinator tracks every frame set from the stream's start on its own consumer
       (a hot standby): the one that takes over has the leader's tracker state already. */
    vt__cl_pull_opts tp = {.stream = VT__CL_STREAM_DETS,
                           .consumer = tracker_name,
                           .filter = VT__CL_SUBJ_DETS,
                           .ack_wait = 60,
                           .max_deliver = -1,
                           .fresh = true};
    if (!s)
        s = vt__cl_pull_open(conn, &tp, &k.pull);
    if (!s)
        s = vt__cl_kv_open(conn, VT__CL_KV_LEASE, &l.kv);
    vt__cl_beat *beat = NULL; /* in vt_members, for `cluster status` */
    if (!s)
        s = vt__cl_beat_start(conn, "coordinator", l.me, &beat);
    if (!s)
        l.changed_at = vt__now();
    pthread_t th;
    bool started = false;
    vt__cl_msg msgs[FETCH_BATCH];
    while (!s && (k.nsets < 0 || k.next < k.nsets)) {
        if (vt__cl_stopped(o)) {
            s = vt__error(VT_ECANCELED, "coordinator: stopped after %lld frame sets",
                          (long long)k.next);
            break;
        }
        bool became, lost;
        lease_tick(&l, &became, &lost, &k.st);
        if (became && !started)
            started = !(s = assembler_start(&a, &th));
        if (lost && started) {
            assembler_stop(&a, th);
            started = false;
        }
        if (s)
            break;
        if (started && atomic_load(&a.failed)) {
            s = vt__error(a.status, "%s", a.error);
            break;
        }
        int got = 0;
        if ((s = vt__cl_fetch(k.pull, msgs, FETCH_BATCH, 0.1, &got)))
            break;
        for (int i = 0; !s && i < got; i++)
            s = take_dets(&k, &msgs[i]);
        int64_t before = k.st.sets;
        if (!s)
            s = drain(&k, consume, user);
        if (k.st.sets != before)
            vt__cl_beat_info(beat, k.st.sets, k.st.redelivered);
        if (die_after && before < die_after && k.st.sets >= die_after) {
            vt__log(1, "coordinator %s: VT_CLUSTER_FAULT: killing myself after frame set %lld",
                    l.me, (long long)die_after);
            raise(SIGKILL);
        }
    }
    if (started) {
        atomic_store(&a.stop, true);
        pthread_join(th, NULL);
        if (!s && a.status)
            s = vt__error(a.status, "%s", a.error);
    }
    /* A leader that is done gives the lease up at once: nothing to take over. */
    if (l.leader && !s)
        vt__cl_kv_update(l.kv, VT__CL_KEY_COORDINATOR, "", l.rev, &l.rev);
    if (stats) {
        *stats = k.st;
        add_stats(stats, &a.st);
    }
    assembler_free(&a);
    tracker_free(&k);
    vt__cl_beat_stop(beat);
    vt__cl_kv_close(l.kv);
    vt__cl_close(conn);
    return s;
}
