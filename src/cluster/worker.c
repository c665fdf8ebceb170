/*
 * src/cluster/worker.c - a voting worker (see voxtrack/cluster.h).
 *
 * All workers share one durable pull consumer of the work queue, so the
 * server hands each frame set to one of them and the load balances itself:
 * a worker asks for the next item only when it is free (least loaded by
 * construction; a faster machine simply asks more often). Items are fetched
 * one at a time, so none waits in a client's buffer while its AckWait runs.
 *
 * For an item: read each camera's rays message from the rays stream (by its
 * sequence), check it (CRC, camera, frame set), vote and detect, publish the
 * detections with the frame set as Nats-Msg-Id, and only then ack the item
 * (AckSync: the server has it). A worker killed at any point leaves the item
 * unacked; the server delivers it again after AckWait, up to MaxDeliver
 * times, and the coordinator drops a second copy of the detections.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

/*
 * Fault injection for the tests (and for anyone who wants to see a failure
 * handled): VT_CLUSTER_FAULT=die-after-fetch:N or die-after-publish:N makes
 * the worker SIGKILL itself at its N-th work item, after fetching it (the
 * item is unacked, nothing published) or after publishing its detections
 * (published, not acked). A real SIGKILL at a chosen point makes the tests
 * exact instead of racing a kill against the worker's speed.
 */
typedef enum fault_point { FAULT_NONE, FAULT_AFTER_FETCH, FAULT_AFTER_PUBLISH } fault_point;

typedef struct fault {
    fault_point at;
    int64_t item;
} fault;

static fault fault_from_env(void)
{
    fault f = {FAULT_NONE, 0};
    const char *e = getenv("VT_CLUSTER_FAULT");
    long long n = 0;
    char tail;
    if (!e || !*e)
        return f;
    if (sscanf(e, "die-after-fetch:%lld%c", &n, &tail) == 1 && n > 0)
        f.at = FAULT_AFTER_FETCH;
    else if (sscanf(e, "die-after-publish:%lld%c", &n, &tail) == 1 && n > 0)
        f.at = FAULT_AFTER_PUBLISH;
    else
        vt__log(1,
                "worker: VT_CLUSTER_FAULT='%s' is not die-after-fetch:N or "
                "die-after-publish:N; ignored",
                e);
    f.item = n;
    return f;
}

static void fault_hit(const fault *f, fault_point at, int64_t item)
{
    if (f->at == at && f->item == item) {
        vt__log(1, "worker: VT_CLUSTER_FAULT: killing myself at item %lld", (long long)item);
        raise(SIGKILL);
    }
}

typedef struct worker {
    const vt_cluster_opts *o;
    const vt_rig *rig;
    int n;
    vt__cl_conn *conn;
    vt__cl_pull *pull;
    vt__cl_beat *beat; /* in vt_members, for `cluster status` */
    vt_vote_stage *vote;
    vt__cl_rays *rays;    /* per camera: its decoded message */
    vt_camera_rays *cams; /* per camera: what the vote stage takes */
    vt__cl_dets out;      /* borrowed arrays */
    vt_cluster_stats st;
    fault fault;
    int64_t items; /* fetched */
} worker;

/* Reads and checks camera i's rays of work item w. */
static vt_status read_camera(worker *k, const vt__cl_work *w, int i)
{
    vt__cl_rays *r = &k->rays[i];
    memset(&k->cams[i], 0, sizeof k->cams[i]);
    if (w->seq[i] == 0) { /* the assembler had nothing of this camera */
        r->sync_error = 0;
        r->seconds = 0;
        return VT_OK;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    vt_status s = vt__cl_get(k->conn, VT__CL_STREAM_RAYS, w->seq[i], &data, &len);
    if (!s)
        s = vt__cl_rays_decode(data, len, r);
    free(data);
    if (!s && (r->camera != i || r->set != w->set || r->ncams != k->n))
        s = vt__error(VT_EFORMAT, "rays message %llu is camera %d, set %lld of %d cameras",
                      (unsigned long long)w->seq[i], r->camera, (long long)r->set, r->ncams);
    if (s)
        return vt__error_prefix(s, "worker: frame set %lld, camera %s", (long long)w->set,
                                k->rig->cameras[i].id);
    k->cams[i] = r->cam;
    return VT_OK;
}

/* Votes one work item and publishes its detections. */
static vt_status vote_item(worker *k, const vt__cl_work *w, uint64_t deliveries)
{
    vt_status s = VT_OK;
    double capture_seconds = 0;
    for (int i = 0; !s && i < k->n; i++)
        if (!(s = read_camera(k, w, i)) && k->rays[i].seconds > capture_seconds)
            capture_seconds = k->rays[i].seconds;
    vt_set_detections d;
    if (!s && (s = vt_vote_stage_process(k->vote, k->cams, &d)))
        s = vt__error_prefix(s, "worker: frame set %lld", (long long)w->set);
    if (s)
        return s;
    vt__cl_dets *m = &k->out;
    m->set = w->set;
    m->frame = w->frame;
    m->t = w->t;
    m->rays_cast = d.rays_cast;
    m->clusters = d.clusters;
    m->seconds[0] = capture_seconds;
    m->seconds[1] = d.seconds[0];
    m->seconds[2] = d.seconds[1];
    m->deliveries = deliveries > UINT32_MAX ? UINT32_MAX : (uint32_t)deliveries;
    m->ncams = k->n;
    for (int i = 0; i < k->n; i++) {
        m->cams[i].present = k->cams[i].present;
        m->cams[i].sync_error = k->cams[i].present ? k->rays[i].sync_error : 0.0;
        m->cams[i].changes = k->cams[i].changes;
        m->cams[i].blobs = k->cams[i].blobs;
        m->cams[i].rays = k->cams[i].nrays;
    }
    m->dets = (vt_detection *)d.detections;
    m->ndets = d.ndetections;
    m->rays = (vt_detection_ray *)d.rays;
    m->nrays = d.nrays;
    uint8_t *buf = NULL;
    size_t len = 0;
    char id[48];
    snprintf(id, sizeof id, "d.%lld", (long long)w->set);
    if (!(s = vt__cl_dets_encode(m, &buf, &len)))
        s = vt__cl_publish(k->conn, VT__CL_SUBJ_DETS, buf, len, id, NULL);
    free(buf);
    if (!s) {
        k->st.messages++;
        k->st.bytes += (int64_t)len;
        if ((int64_t)len > k->st.max_message)
            k->st.max_message = (int64_t)len;
    }
    return s;
}

/* One fetched item: vote it and ack, or drop it when it is not a work item. */
static vt_status handle(worker *k, vt__cl_msg *msg)
{
    vt__cl_work w;
    fault_hit(&k->fault, FAULT_AFTER_FETCH, ++k->items);
    if (msg->delivered > 1)
        k->st.redelivered++;
    if (vt__cl_work_decode(msg->data, msg->len, &w) || w.ncams != k->n) {
        vt__log(1, "worker: dropped a bad work item (stream message %llu): %s",
                (unsigned long long)msg->stream_seq,
                w.ncams != k->n ? "camera count differs from the rig's" : vt_last_error());
        k->st.bad_messages++;
        vt__cl_term(msg);
        return VT_OK;
    }
    vt_status s = vote_item(k, &w, msg->delivered ? msg->delivered : 1);
    if (!s)
        fault_hit(&k->fault, FAULT_AFTER_PUBLISH, k->items);
    if (s) {
        /* Its rays are unreadable or the server is away: leave it to be delivered again
           (MaxDeliver bounds the retries) and say so. */
        vt__log(1, "%s", vt_last_error());
        vt__cl_msg_done(msg);
        return s == VT_ENOMEM ? s : VT_OK;
    }
    if (vt__cl_ack(msg, true))
        vt__log(1, "worker: frame set %lld: %s (it will come again)", (long long)w.set,
                vt_last_error());
    k->st.sets++;
    vt__cl_beat_info(k->beat, k->st.sets, k->st.redelivered);
    return VT_OK;
}

vt_status vt_cluster_worker_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                const vt_rig *rig, vt_cluster_stats *stats)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!o || !rig)
        return vt__error(VT_EINVAL, "vt_cluster_worker_run: NULL argument");
    vt_status s = vt__cl_check_rig(rig);
    if (s)
        return s;
    if (!(o->ack_wait > 0) || o->max_deliver < 1)
        return vt__error(VT_EINVAL, "worker: ack_wait must be > 0 s and max_deliver >= 1");
    worker k = {.o = o, .rig = rig, .n = rig->count, .fault = fault_from_env()};
    k.rays = calloc((size_t)k.n, sizeof *k.rays);
    k.cams = calloc((size_t)k.n, sizeof *k.cams);
    if (!k.rays || !k.cams)
        s = vt__error(VT_ENOMEM, "worker: out of memory");
    if (!s)
        s = vt_vote_stage_new(po, rig, &k.vote);
    if (!s)
        s = vt__cl_connect(o, "worker", &k.conn);
    if (!s) {
        char host[64] = "", raw[96], me[96];
        gethostname(host, sizeof host - 1);
        snprintf(raw, sizeof raw, "worker-%s-%ld", host, (long)getpid());
        vt__cl_safe_name(me, sizeof me, "", o->name && *o->name ? o->name : raw);
        s = vt__cl_beat_start(k.conn, "worker", me, &k.beat);
    }
    vt__cl_pull_opts pull = {.stream = VT__CL_STREAM_WORK,
                             .consumer = VT__CL_CONSUMER_WORKERS,
                             .filter = VT__CL_SUBJ_WORK,
                             .ack_wait = o->ack_wait,
                             .max_deliver = o->max_deliver};
    if (!s)
        s = vt__cl_pull_open(k.conn, &pull, &k.pull);
    while (!s) {
        if (vt__cl_stopped(o)) {
            s = VT_ECANCELED;
            vt__error(s, "worker: stopped after %lld frame sets", (long long)k.st.sets);
            break;
        }
        vt__cl_msg msg;
        int got = 0;
        if ((s = vt__cl_fetch(k.pull, &msg, 1, 0.25, &got)) || !got)
            continue;
        s = handle(&k, &msg);
    }
    if (stats)
        *stats = k.st;
    vt__cl_pull_close(k.pull);
    vt__cl_beat_stop(k.beat);
    vt__cl_close(k.conn);
    vt_vote_stage_free(k.vote);
    for (int i = 0; k.rays && i < k.n; i++)
        vt__cl_rays_free(&k.rays[i]);
    free(k.rays);
    free(k.cams);
    return s;
}
