/*
 * src/cluster/capture.c - the capture node (see voxtrack/cluster.h): frame
 * sets in, one rays message per camera per frame set out.
 *
 * Each camera keeps its camera stage (its background model) for the whole
 * run, so frames never leave the node: only rays do, a few kilobytes per
 * camera per frame set. The cameras of a frame set run in parallel, one per
 * thread, as in vt_pipeline_process(); the messages go out in camera order.
 * Each carries a Nats-Msg-Id of camera and frame set, so a capture node that
 * publishes again (after a lost ack) does not double a message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

typedef struct capture {
    const vt_cluster_opts *o;
    const vt_pipeline_opts *po;
    const vt_rig *rig;
    int n;
    vt__cl_conn *conn;
    vt_camera_stage **cams;
    vt_camera_rays *rays;
    vt_status *status;
    char (*error)[256];
    vt_frame_slot slot;
    vt_cluster_stats st;
    int64_t max_payload;
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
        return vt__error(VT_EINVAL, "cluster: the rig needs 1 to %d cameras",
                         VT__CL_MAX_CAMERAS);
    return check_rig(rig);
}

static void free_capture(capture *c)
{
    for (int i = 0; c->cams && i < c->n; i++)
        vt_camera_stage_free(c->cams[i]);
    free(c->cams);
    free(c->rays);
    free(c->status);
    free(c->error);
    for (int i = 0; c->slot.images && i < c->n; i++)
        vt_image_free(&c->slot.images[i]);
    free(c->slot.images);
    free(c->slot.present);
    free(c->slot.times);
    vt__cl_close(c->conn);
}

static vt_status setup(capture *c)
{
    size_t n = (size_t)c->n;
    c->cams = calloc(n, sizeof *c->cams);
    c->rays = calloc(n, sizeof *c->rays);
    c->status = calloc(n, sizeof *c->status);
    c->error = calloc(n, sizeof *c->error);
    c->slot.images = calloc(n, sizeof *c->slot.images);
    c->slot.present = calloc(n, sizeof *c->slot.present);
    c->slot.times = calloc(n, sizeof *c->slot.times);
    if (!c->cams || !c->rays || !c->status || !c->error || !c->slot.images || !c->slot.present ||
        !c->slot.times)
        return vt__error(VT_ENOMEM, "capture: out of memory");
    vt_status s = VT_OK;
    for (int i = 0; !s && i < c->n; i++)
        s = vt_camera_stage_new(c->po, c->rig, i, &c->cams[i]);
    if (!s && !(s = vt__cl_connect(c->o, "capture", &c->conn)))
        c->max_payload = vt__cl_max_payload(c->conn);
    return s;
}

/* Publishes camera i's rays of frame set `set`. */
static vt_status publish_camera(capture *c, int64_t set, int i, double seconds)
{
    const vt_frame_slot *sl = &c->slot;
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
    }
    return s;
}

/* One frame set: every camera's stage (in parallel), then the messages in camera order. */
static vt_status process_set(capture *c, int64_t set)
{
    double t0 = vt__now();
    int threads = c->po->threads > 0 ? c->po->threads : omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int i = 0; i < c->n; i++) {
        const vt_image *img = c->slot.present[i] ? &c->slot.images[i] : NULL;
        c->status[i] = vt_camera_stage_process(c->cams[i], img, &c->rays[i]);
        if (c->status[i])
            snprintf(c->error[i], sizeof c->error[i], "%s", vt_last_error());
    }
    double seconds = vt__now() - t0;
    for (int i = 0; i < c->n; i++)
        if (c->status[i])
            return vt__error(c->status[i], "capture: frame %lld: %s", (long long)c->slot.frame,
                             c->error[i]);
    vt_status s = VT_OK;
    for (int i = 0; !s && i < c->n; i++)
        s = publish_camera(c, set, i, seconds);
    return s;
}

static vt_status publish_end(capture *c, int64_t nsets)
{
    vt_status s = VT_OK;
    for (int i = 0; !s && i < c->n; i++) {
        vt__cl_end e = {.nsets = nsets, .camera = i};
        uint8_t *buf = NULL;
        size_t len = 0;
        char subject[48], id[64];
        snprintf(subject, sizeof subject, VT__CL_SUBJ_RAYS ".%d", i);
        snprintf(id, sizeof id, "r.%d.end", i);
        if (!(s = vt__cl_end_encode(&e, &buf, &len)))
            s = vt__cl_publish(c->conn, subject, buf, len, id, NULL);
        free(buf);
    }
    return s;
}

vt_status vt_cluster_capture_run(const vt_cluster_opts *o, const vt_pipeline_opts *po,
                                 const vt_rig *rig, vt_produce_fn produce, void *user,
                                 vt_cluster_stats *stats)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!o || !rig || !produce)
        return vt__error(VT_EINVAL, "vt_cluster_capture_run: NULL argument");
    vt_pipeline_opts popts = po ? *po : vt_pipeline_opts_default();
    vt_status s = vt__cl_check_rig(rig);
    if (s)
        return s;
    capture c = {.o = o, .po = &popts, .rig = rig, .n = rig->count};
    s = setup(&c);
    int64_t set = 0;
    double last_t = -INFINITY;
    while (!s) {
        if (vt__cl_stopped(o)) {
            s = vt__error(VT_ECANCELED, "capture: stopped after %lld frame sets", (long long)set);
            break;
        }
        bool end = false;
        memset(c.slot.present, 0, (size_t)c.n * sizeof *c.slot.present);
        for (int i = 0; i < c.n; i++)
            c.slot.times[i] = NAN;
        if ((s = produce(user, &c.slot, &end)) || end)
            break;
        if (!isfinite(c.slot.t) || c.slot.t < last_t) {
            s = vt__error(VT_EINVAL, "capture: frame set %lld at t = %g s goes back in time",
                          (long long)c.slot.frame, c.slot.t);
            break;
        }
        last_t = c.slot.t;
        if (!(s = process_set(&c, set)))
            set++;
    }
    if (!s)
        s = publish_end(&c, set);
    c.st.sets = set;
    if (stats)
        *stats = c.st;
    free_capture(&c);
    return s;
}
