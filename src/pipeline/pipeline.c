/*
 * src/pipeline/pipeline.c - the frame-set loop of the tracker (see
 * voxtrack/pipeline.h).
 *
 * The three stages in a row: the camera stages (motion, blobs, rays) in
 * parallel, one camera per thread (stage_camera.c); the vote stage on the
 * rays joined in camera order, so what follows sees the same input whatever
 * the thread count (stage_vote.c); thermal fusion, when the rig has thermal
 * cameras (stage_fusion.c); the track stage (stage_track.c). This
 * file holds the options, their checks and the loop's bookkeeping.
 *
 * A frame set goes through two halves: the front (poses, camera stages) and
 * the back (voting, detection, tracking), with a vt__set between them. The
 * halves share no state, so vt_pipeline_run (runner.c) can run the front of
 * set n+1 while the back of set n runs: the set then keeps copies of the
 * rays, since the camera stages reuse their arrays, and of the thermal
 * frames that fusion looks at (the frame slots go back to the producer).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

struct vt_pipeline {
    vt_pipeline_opts o;
    int ncams;
    vt_camera_stage **cams;
    vt_camera_rays *cam_rays; /* per camera, of this set */
    vt_status *cam_status;    /* per camera, of this set */
    char (*cam_error)[256];   /* its message (the last error is per thread) */
    vt_vote_stage *vote;
    vt_track_stage *track;
    vt_fusion_stage *fusion; /* NULL when fusion is off or the rig has no thermal camera */
    uint64_t thermal;        /* bit i: camera i is thermal */
    vt__set direct;          /* vt_pipeline_process's set (the camera stages' rays, not copied) */
    vt__poses *poses;        /* moving cameras' poses; NULL when none moves */
    vt_vec3 *pose_p;         /* per camera: this set's pose */
    vt_quat *pose_q;
    bool *moved;
    vt__det2d_rays *det; /* per camera: its 2D detections, if any (stage_det2d.c) */
    double fps;          /* the rig's */
    double last_t;
    bool started;
};

vt_pipeline_opts vt_pipeline_opts_default(void)
{
    vt_pipeline_opts o;
    memset(&o, 0, sizeof o);
    o.volume_min = (vt_vec3){-1000, -1000, 0};
    o.volume_max = (vt_vec3){1000, 1000, 400};
    o.mono = vt_background_opts_default();
    o.mono.polarity = -1;
    o.mono.k_sigma = 4.0f;
    o.mono.psf_sigma = 0.0f; /* the matched filter: off until the bird test is tuned to it */
    o.thermal = vt_background_opts_default();
    o.thermal.polarity = 1;
    o.thermal.min_threshold = 20.0f;
    o.thermal.k_sigma = 4.0f;
    o.thermal.psf_sigma = 0.0f;
    o.min_area = 1;
    o.max_area = 400;
    o.sigma_px = 0.5;
    o.rays = VT_RAYS_BLOBS;
    o.max_rays = 4000;
    o.vote = vt_vote_opts_default();
    o.vote.pixel_angle = -1.0; /* from the rig: its finest pixel */
    o.detect = vt_detect_opts_default();
    o.tracker = vt_tracker_opts_default();
    o.bird_accel = 15.0;
    o.bird_min_age = 10;
    o.confirm_cameras = 4;
    o.confirm_hits = 15;
    o.bird_flicker = 2.2;
    o.threads = 0;
    o.device = VT_DEVICE_AUTO;
    o.overlap = true;
    o.fuse = true;
    o.fusion = vt_fusion_opts_default();
    return o;
}

vt_status vt__pipeline_check_opts(const vt_pipeline_opts *o, const vt_rig *rig)
{
    if (!rig || rig->count <= 0)
        return vt__error(VT_EINVAL, "pipeline: the rig has no cameras");
    if (rig->count > 64)
        return vt__error(VT_ERANGE, "pipeline: %d cameras; at most 64 are supported", rig->count);
    if (!(o->volume_min.x < o->volume_max.x && o->volume_min.y < o->volume_max.y &&
          o->volume_min.z < o->volume_max.z))
        return vt__error(VT_EINVAL, "pipeline: volume min must be below max on every axis");
    if (o->min_area < 1 || (o->max_area != 0 && o->max_area < o->min_area))
        return vt__error(VT_EINVAL, "pipeline: blob areas need 1 <= min_area <= max_area");
    if (!(o->sigma_px > 0.0))
        return vt__error(VT_EINVAL, "pipeline: sigma_px must be > 0");
    if (o->rays != VT_RAYS_BLOBS && o->rays != VT_RAYS_PIXELS)
        return vt__error(VT_EINVAL, "pipeline: unknown ray mode %d", (int)o->rays);
    if (o->max_rays < 1)
        return vt__error(VT_EINVAL, "pipeline: max_rays must be >= 1");
    if (o->confirm_hits < 0)
        return vt__error(VT_EINVAL, "pipeline: confirm_hits must be >= 0");
    if (o->confirm_cameras < 0 || o->confirm_cameras > 64)
        return vt__error(VT_EINVAL, "pipeline: confirm_cameras must be in [0, 64]");
    if (!(o->bird_accel >= 0.0))
        return vt__error(VT_EINVAL, "pipeline: bird_accel must be >= 0");
    if (o->fuse && vt_fusion_opts_check(&o->fusion))
        return vt__error_prefix(VT_EINVAL, "pipeline");
    if ((unsigned)o->device > VT_DEVICE_CUDA)
        return vt__error(VT_EINVAL, "pipeline: device %d is not auto, cpu or cuda", (int)o->device);
    return VT_OK;
}

vt_status vt_pipeline_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_pipeline **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_pipeline_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = vt__pipeline_check_opts(&o, rig);
    if (s)
        return s;
    vt_device_info dev;
    if ((s = vt_device_open(o.device, &dev)))
        return vt__error_prefix(s, "pipeline");
    o.device = dev.kind; /* what AUTO resolved to: the stages see CPU or CUDA */
    vt_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    p->o = o;
    p->ncams = rig->count;
    size_t n = (size_t)rig->count;
    p->cams = calloc(n, sizeof *p->cams);
    p->cam_rays = calloc(n, sizeof *p->cam_rays);
    p->cam_status = calloc(n, sizeof *p->cam_status);
    p->cam_error = calloc(n, sizeof *p->cam_error);
    p->det = calloc(n, sizeof *p->det);
    p->fps = rig->fps > 0 ? rig->fps : 30.0;
    if (!p->cams || !p->cam_rays || !p->cam_status || !p->cam_error || !p->det)
        s = vt__error(VT_ENOMEM, "pipeline: out of memory");
    for (int i = 0; !s && i < rig->count; i++) {
        p->det[i].cam.cam = rig->cameras[i].cam;
        p->det[i].cam.pair = rig->cameras[i].pair;
    }
    for (int i = 0; !s && i < rig->count; i++)
        s = vt_camera_stage_new(&o, rig, i, &p->cams[i]);
    p->pose_p = calloc(n, sizeof *p->pose_p);
    p->pose_q = calloc(n, sizeof *p->pose_q);
    p->moved = calloc(n, sizeof *p->moved);
    if (!s && (!p->pose_p || !p->pose_q || !p->moved))
        s = vt__error(VT_ENOMEM, "pipeline: out of memory");
    for (int i = 0; !s && i < rig->count; i++) {
        p->pose_p[i] = rig->cameras[i].cam.position;
        p->pose_q[i] = rig->cameras[i].cam.q;
    }
    if (!s)
        s = vt__set_init(&p->direct, rig->count, false);
    if (!s)
        s = vt__poses_new(rig, &p->poses);
    if (!s)
        s = vt_vote_stage_new(&o, rig, &p->vote);
    if (!s)
        s = vt_track_stage_new(&o, rig, &p->track);
    for (int i = 0; p->cams && i < rig->count; i++)
        if (rig->cameras[i].modality == VT_MODALITY_THERMAL)
            p->thermal |= 1ull << i;
    if (!s && o.fuse && p->thermal)
        s = vt_fusion_stage_new(&o, rig, &p->fusion);
    if (s) {
        vt_pipeline_free(p);
        return s;
    }
    *out = p;
    return VT_OK;
}

void vt_pipeline_free(vt_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; p->cams && i < p->ncams; i++)
        vt_camera_stage_free(p->cams[i]);
    free(p->cams);
    free(p->cam_rays);
    free(p->cam_status);
    free(p->cam_error);
    vt__set_free(&p->direct, p->ncams);
    vt__poses_free(p->poses);
    free(p->pose_p);
    free(p->pose_q);
    free(p->moved);
    for (int i = 0; p->det && i < p->ncams; i++)
        vt__det2d_rays_free(&p->det[i]);
    free(p->det);
    vt_vote_stage_free(p->vote);
    vt_track_stage_free(p->track);
    vt_fusion_stage_free(p->fusion);
    free(p);
}

size_t vt_pipeline_grid_peak_bytes(const vt_pipeline *p)
{
    return p ? vt_vote_stage_grid_peak_bytes(p->vote) : 0;
}

vt_status vt_pipeline_set_detections(vt_pipeline *p, int camera, const vt_det2d_list *dets)
{
    if (!p || camera < 0 || camera >= p->ncams)
        return vt__error(VT_EINVAL, "vt_pipeline_set_detections: no camera %d", camera);
    if (dets && dets->count && !isfinite(dets->items[0].t))
        return vt__error(VT_EINVAL,
                         "vt_pipeline_set_detections: camera %d's detections are not on the "
                         "rig's clock (vt_det2d_apply_clock)",
                         camera);
    p->det[camera].dets = dets;
    return VT_OK;
}

/* Whether fusion looks at camera i's frames (its thermal cameras). */
static bool fusion_looks_at(const vt_pipeline *p, int i)
{
    return p->thermal >> i & 1;
}

/* Runs camera i's stage; on a thread of the parallel loop, so its message is kept. */
static void camera_stage(vt_pipeline *p, int i, const vt_image *img, const vt_frame_set *fs)
{
    p->cam_status[i] =
        p->det[i].dets ? vt__det2d_rays_process(&p->det[i], i, fs, p->fps, &p->o, &p->cam_rays[i])
                       : vt_camera_stage_process(p->cams[i], img, &p->cam_rays[i]);
    if (p->cam_status[i])
        snprintf(p->cam_error[i], sizeof p->cam_error[i], "%s", vt_last_error());
}

vt_status vt__set_init(vt__set *set, int ncams, bool owned)
{
    memset(set, 0, sizeof *set);
    size_t n = (size_t)ncams;
    set->owned = owned;
    set->cams = calloc(n, sizeof *set->cams);
    set->results = calloc(n, sizeof *set->results);
    set->frames = calloc(n, sizeof *set->frames);
    if (owned) {
        set->rays = calloc(n, sizeof *set->rays);
        set->area = calloc(n, sizeof *set->area);
        set->raw = calloc(n, sizeof *set->raw);
        set->cap = calloc(n, sizeof *set->cap);
        set->copies = calloc(n, sizeof *set->copies);
    }
    if (!set->cams || !set->results || !set->frames ||
        (owned && (!set->rays || !set->area || !set->raw || !set->cap || !set->copies))) {
        vt__set_free(set, ncams);
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    }
    return VT_OK;
}

void vt__set_free(vt__set *set, int ncams)
{
    for (int i = 0; set->rays && i < ncams; i++) {
        free(set->rays[i]);
        free(set->area[i]);
        free(set->raw[i]);
    }
    for (int i = 0; set->copies && i < ncams; i++)
        vt_image_free(&set->copies[i]);
    free(set->copies);
    free(set->frames);
    free(set->rays);
    free(set->area);
    free(set->raw);
    free(set->cap);
    free(set->cams);
    free(set->results);
    memset(set, 0, sizeof *set);
}

/* Keeps camera i's rays in the set's own arrays (they grow, never shrink). */
static vt_status keep_rays(vt__set *set, int i, const vt_camera_rays *c)
{
    set->cams[i] = *c;
    if (!set->owned || !c->nrays)
        return VT_OK;
    size_t cap = set->cap[i];
    void *const ptrs[3] = {&set->rays[i], &set->area[i], &set->raw[i]};
    size_t elems[3] = {sizeof **set->rays, sizeof **set->area, sizeof **set->raw};
    if (vt__grow_group(ptrs, elems, 3, &cap, c->nrays))
        return vt__error(VT_ENOMEM, "camera %d: out of memory for %zu rays", i, c->nrays);
    set->cap[i] = cap;
    memcpy(set->rays[i], c->rays, c->nrays * sizeof *c->rays);
    memcpy(set->area[i], c->area, c->nrays * sizeof *c->area);
    if (c->raw)
        memcpy(set->raw[i], c->raw, c->nrays * sizeof *c->raw);
    set->cams[i].rays = set->rays[i];
    set->cams[i].area = set->area[i];
    set->cams[i].raw = c->raw ? set->raw[i] : NULL;
    return VT_OK;
}

/*
 * The frame of thermal camera i that fusion will look at in the back: the
 * caller's own in a set that is not owned, else a copy (the slot goes back).
 */
static vt_status keep_frame(vt__set *set, int i, const vt_image *img)
{
    set->frames[i] = img;
    if (!set->owned || !img)
        return VT_OK;
    vt_image *c = &set->copies[i];
    if (!c->data || c->width != img->width || c->height != img->height || c->bits != img->bits) {
        vt_image_free(c);
        vt_status s = vt_image_alloc(c, img->width, img->height, img->bits);
        if (s)
            return vt__error_prefix(s, "camera %d: a copy of its frame for fusion", i);
    }
    size_t row = (size_t)img->width * (size_t)(img->bits / 8);
    for (int y = 0; y < img->height; y++)
        memcpy(vt_image_row8(c, y), vt_image_row8(img, y), row);
    set->frames[i] = c;
    return VT_OK;
}

vt_status vt__pipeline_front(vt_pipeline *p, const vt_frame_set *fs, double ready, vt__set *set)
{
    if (!isfinite(fs->t) || (p->started && fs->t < p->last_t))
        return vt__error(VT_EINVAL,
                         "pipeline: frame set %lld at t = %g s goes back in time "
                         "(last %g s)",
                         (long long)fs->frame, fs->t, p->last_t);
    double t0 = vt__now();
    const int n = p->ncams;
    int threads = p->o.threads > 0 ? p->o.threads : omp_get_max_threads();
    vt_status s = p->poses ? vt__poses_apply(p->poses, fs, p->pose_p, p->pose_q, p->moved) : VT_OK;
    for (int i = 0; !s && p->poses && i < n; i++)
        if (p->moved[i]) {
            s = vt_camera_stage_set_pose(p->cams[i], p->pose_p[i], p->pose_q[i]);
            if (!s && p->det[i].dets) { /* a moving camera's detections: rays from its pose */
                p->det[i].cam.cam.position = p->pose_p[i];
                p->det[i].cam.cam.q = p->pose_q[i];
                s = vt_camera_init(&p->det[i].cam.cam);
            }
        }
    if (s)
        return vt__error_prefix(s, "frame %lld", (long long)fs->frame);
    if (threads == 1) { /* no parallel region: libgomp allocates a team of one each time */
        for (int i = 0; i < n; i++)
            camera_stage(p, i, fs->images[i], fs);
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int i = 0; i < n; i++)
            camera_stage(p, i, fs->images[i], fs);
    }
    for (int i = 0; i < n; i++) {
        if (p->cam_status[i])
            return vt__error(p->cam_status[i], "frame %lld: %s", (long long)fs->frame,
                             p->cam_error[i]);
        const vt_camera_rays *c = &p->cam_rays[i];
        if ((s = keep_rays(set, i, c)))
            return vt__error_prefix(s, "frame %lld", (long long)fs->frame);
        /* Fusion looks at thermal pixels; a camera fed 2D detections has none. */
        bool look = p->fusion && fusion_looks_at(p, i) && !p->det[i].dets;
        if ((s = keep_frame(set, i, look ? fs->images[i] : NULL)))
            return vt__error_prefix(s, "frame %lld", (long long)fs->frame);
        set->results[i] = (vt_camera_result){
            .present = c->present,
            .sync_error = c->present && fs->times ? fs->times[i] - fs->t : 0.0,
            .changes = c->changes,
            .blobs = c->blobs,
            .rays = c->nrays,
            .position = p->pose_p[i],
            .q = p->pose_q[i],
            .moved = p->moved[i],
        };
    }
    p->started = true;
    p->last_t = fs->t;
    set->frame = fs->frame;
    set->t = fs->t;
    set->ready = ready;
    set->seconds = vt__now() - t0;
    return VT_OK;
}

vt_status vt__pipeline_back(vt_pipeline *p, const vt__set *set, vt_pipeline_result *res)
{
    memset(res, 0, sizeof *res);
    const int n = p->ncams;
    for (int i = 0; i < n; i++) {
        const vt_camera_result *cr = &set->results[i];
        res->changes += cr->changes;
        res->blobs += cr->blobs;
        res->cameras_live += cr->present;
    }
    res->cameras = set->results;
    res->ncameras = n;
    double t1 = vt__now();
    vt_set_detections dets;
    vt_status s = vt_vote_stage_process(p->vote, set->cams, &dets);
    double t3 = vt__now();
    vt_fusion_output fused;
    memset(&fused, 0, sizeof fused);
    const vt_set_detections *to_track = &dets;
    if (!s && p->fusion) {
        for (int i = 0; !s && i < n; i++) /* moving thermal cameras: their pose of this set */
            if (set->results[i].moved)
                s = vt_fusion_stage_set_pose(p->fusion, i, set->results[i].position,
                                             set->results[i].q);
        float noise[64]; /* the rig has at most 64 cameras */
        for (int i = 0; i < n; i++)
            noise[i] = set->cams[i].noise;
        if (!s)
            s = vt_fusion_stage_process(p->fusion, &dets, set->frames, noise, &fused);
        to_track = &fused.kept;
    }
    double t3f = vt__now();
    vt_track_output tracks;
    if (!s)
        s = vt_track_stage_process(p->track, set->t, to_track, &tracks);
    double t4 = vt__now();
    if (s)
        return vt__error_prefix(s, "frame %lld", (long long)set->frame);
    res->frame = set->frame;
    res->t = set->t;
    res->tracks = tracks.tracks;
    res->classes = tracks.classes;
    res->flicker = tracks.flicker;
    if (p->fusion) {
        res->fusion = fused.records;
        res->track_fusion = tracks.fusion;
        res->dropped = fused.dropped;
        res->fusion_seconds = t3f - t3;
    }
    res->ntracks = tracks.ntracks;
    res->detections = dets.detections;
    res->ndetections = dets.ndetections;
    res->rays = dets.rays_cast;
    res->clusters = dets.clusters;
    res->vote = dets.vote;
    res->stage_seconds[0] = set->seconds;
    res->stage_seconds[1] = dets.seconds[0];
    res->stage_seconds[2] = dets.seconds[1];
    res->stage_seconds[3] = t4 - t3f;
    res->seconds = set->seconds + (t4 - t1);
    res->latency = t4 - set->ready;
    return VT_OK;
}

vt_status vt_pipeline_process(vt_pipeline *p, const vt_frame_set *fs, vt_pipeline_result *res)
{
    if (!p || !fs || !fs->images || !res)
        return vt__error(VT_EINVAL, "vt_pipeline_process: NULL argument");
    memset(res, 0, sizeof *res);
    vt_status s = vt__pipeline_front(p, fs, vt__now(), &p->direct);
    return s ? s : vt__pipeline_back(p, &p->direct, res);
}

bool vt__pipeline_overlap(const vt_pipeline *p)
{
    return p->o.overlap;
}

int vt__pipeline_camera_count(const vt_pipeline *p)
{
    return p->ncams;
}

const vt_camera_rays *vt__pipeline_camera_rays(const vt_pipeline *p)
{
    return p->cam_rays;
}
