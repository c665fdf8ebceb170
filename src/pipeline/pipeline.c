/*
 * src/pipeline/pipeline.c - the frame-set loop of the tracker (see
 * voxtrack/pipeline.h).
 *
 * Per camera, in parallel: the frame is compared with the camera's
 * background model, the changes are grouped into blobs and each blob (or
 * each changed pixel) becomes a ray. The rays are joined in camera order,
 * so what follows sees the same input whatever the thread count; voting
 * (coarse to fine), detection (ray ownership, least-squares meeting points)
 * and tracking then run on the joined list. A confirmed track whose motion
 * is erratic (high accel_rms) is called a bird.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

/* A changed pixel and its difference, for cutting the strongest max_rays. */
typedef struct ranked {
    float w;
    uint32_t i;
} ranked;

/*
 * How a track looks from frame set to frame set: each mono camera's blob
 * sum of the detection it took, and a running mean of the squared change of
 * their logarithms. A bird's wings flap (a few Hz): its brightness jumps from one
 * frame to the next; a drone's stays put.
 */
typedef struct track_look {
    float sum[64];    /* per camera: blob sum in the last detection, 0: not seen */
    float relvar[64]; /* its relative variance from the noise */
    float msq;        /* running mean of (ln change)^2 / its noise variance */
    int n;            /* changes seen */
} track_look;

/* What one camera keeps from frame set to frame set. */
typedef struct cam_state {
    vt_background *bg;
    vt_change_list changes;
    vt_blob_list blobs;
    vt_ray *rays;
    size_t nrays, rays_cap;
    struct ranked *order; /* scratch: pixels by strength */
    size_t order_cap;
    vt_status status; /* of the last frame */
    char error[256];
    bool live;
} cam_state;

struct vt_pipeline {
    vt_pipeline_opts o;
    vt_rig rig; /* cameras only; paths are not needed */
    cam_state *cams;
    vt_ray *rays; /* all cameras joined */
    size_t nrays, rays_cap;
    vt_vote *vote;
    vt_detection_list dets;
    vt_tracker *tracker;
    vt_camera_result *cam_results; /* per camera, for the result */
    vt_target_class *classes;
    size_t classes_cap;
    vt_track *tracks; /* the tracker's tracks as reported (status may be held back) */
    size_t tracks_cap;
    uint8_t *max_cams; /* per track id: the most cameras of a detection it took */
    size_t max_cams_cap;
    track_look *looks; /* per track id: how its brightness changes */
    size_t looks_cap;
    float *flicker; /* per reported track */
    size_t flicker_cap;
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
    o.thermal = vt_background_opts_default();
    o.thermal.polarity = 1;
    o.thermal.min_threshold = 20.0f;
    o.thermal.k_sigma = 4.0f;
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
    return o;
}

static vt_status check_opts(const vt_pipeline_opts *o, const vt_rig *rig)
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
    return VT_OK;
}

/* The angle of the finest pixel of the rig, radians: what the level of detail follows. */
static double finest_pixel_angle(const vt_rig *rig)
{
    double fx = 0.0;
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].cam.fx > fx)
            fx = rig->cameras[i].cam.fx;
    return fx > 0.0 ? 1.0 / fx : 0.0;
}

static vt_status copy_rig(const vt_rig *src, vt_rig *dst)
{
    vt_rig_init(dst);
    dst->fps = src->fps;
    for (int i = 0; i < src->count; i++) {
        vt_rig_camera c = src->cameras[i];
        c.path = NULL;
        c.timestamps = NULL;
        c.media = VT_MEDIA_NONE;
        vt_status s = vt_rig_add(dst, &c);
        if (s)
            return s;
    }
    return VT_OK;
}

vt_status vt_pipeline_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_pipeline **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_pipeline_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = check_opts(&o, rig);
    if (s)
        return s;
    vt_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    p->o = o;
    s = copy_rig(rig, &p->rig);
    p->cams = s ? NULL : calloc((size_t)rig->count, sizeof *p->cams);
    p->cam_results = s ? NULL : calloc((size_t)rig->count, sizeof *p->cam_results);
    if (!s && (!p->cams || !p->cam_results))
        s = vt__error(VT_ENOMEM, "pipeline: out of memory");
    uint64_t thermal = 0;
    for (int i = 0; !s && i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        vt_background_opts bo = c->modality == VT_MODALITY_THERMAL ? o.thermal : o.mono;
        bo.threads = 1; /* cameras already run in parallel */
        s = vt_background_new(&bo, c->cam.width, c->cam.height, &p->cams[i].bg);
        if (s)
            vt__error_prefix(s, "camera %d ('%s')", i, c->id);
        if (c->modality == VT_MODALITY_THERMAL)
            thermal |= 1ull << i;
    }
    if (!s) {
        vt_vote_opts vo = o.vote;
        vo.min = o.volume_min;
        vo.max = o.volume_max;
        vo.threads = o.threads;
        if (vo.pixel_angle < 0.0)
            vo.pixel_angle = finest_pixel_angle(rig);
        s = vt_vote_new(&vo, &p->vote);
    }
    p->o.detect.thermal_mask = thermal;
    if (!s)
        s = vt_tracker_new(&o.tracker, &p->tracker);
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
    for (int i = 0; p->cams && i < p->rig.count; i++) {
        cam_state *c = &p->cams[i];
        vt_background_free(c->bg);
        vt_change_list_free(&c->changes);
        vt_blob_list_free(&c->blobs);
        free(c->rays);
        free(c->order);
    }
    free(p->cams);
    free(p->cam_results);
    free(p->rays);
    vt_vote_free(p->vote);
    vt_detection_list_free(&p->dets);
    vt_tracker_free(p->tracker);
    free(p->classes);
    free(p->tracks);
    free(p->max_cams);
    free(p->looks);
    free(p->flicker);
    vt_rig_free(&p->rig);
    free(p);
}

size_t vt_pipeline_grid_peak_bytes(const vt_pipeline *p)
{
    return p ? vt_vote_get_stats(p->vote).peak_bytes : 0;
}

static bool grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*ptr, n * elem);
    if (!q)
        return false;
    *ptr = q;
    *cap = n;
    return true;
}

/* Strongest first, ties by index: a deterministic cut. */
static int by_weight(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void cam_error(cam_state *c, vt_status s, int index, const char *id)
{
    c->status = s;
    snprintf(c->error, sizeof c->error, "camera %d ('%s'): %s", index, id, vt_last_error());
}

static vt_status push_ray(cam_state *c, const vt_rig_camera *rc, int index, double u, double v,
                          double sigma_px, float weight, uint32_t item)
{
    if (!grow((void **)&c->rays, &c->rays_cap, c->nrays + 1, sizeof *c->rays))
        return vt__error(VT_ENOMEM, "out of memory for rays");
    if (vt_ray_from_pixel(&rc->cam, u, v, sigma_px, weight, (uint16_t)index, (uint16_t)rc->pair,
                          item, &c->rays[c->nrays]))
        c->nrays++;
    return VT_OK;
}

/* Motion, blobs and rays of one camera. */
static void camera_stage(vt_pipeline *p, int i, const vt_image *img)
{
    cam_state *c = &p->cams[i];
    const vt_rig_camera *rc = &p->rig.cameras[i];
    c->nrays = 0;
    c->status = VT_OK;
    c->live = img != NULL;
    if (!img) {
        c->changes.count = 0;
        c->blobs.count = 0;
        return;
    }
    if (img->width != rc->cam.width || img->height != rc->cam.height || img->bits != rc->bits) {
        c->status = VT_EMISMATCH;
        snprintf(c->error, sizeof c->error,
                 "camera %d ('%s'): frame is %dx%d %d-bit, expected "
                 "%dx%d %d-bit",
                 i, rc->id, img->width, img->height, img->bits, rc->cam.width, rc->cam.height,
                 rc->bits);
        return;
    }
    vt_status s = vt_background_apply(c->bg, img, &c->changes);
    if (s) {
        cam_error(c, s, i, rc->id);
        return;
    }
    if (p->o.rays == VT_RAYS_PIXELS) {
        size_t n = c->changes.count;
        if (!grow((void **)&c->order, &c->order_cap, n, sizeof *c->order)) {
            cam_error(c, vt__error(VT_ENOMEM, "out of memory"), i, rc->id);
            return;
        }
        for (size_t k = 0; k < n; k++)
            c->order[k] = (ranked){c->changes.diff[k], (uint32_t)k};
        if (n > (size_t)p->o.max_rays) {
            qsort(c->order, n, sizeof *c->order, by_weight);
            n = (size_t)p->o.max_rays;
        }
        for (size_t k = 0; k < n && !s; k++) {
            uint32_t j = c->order[k].i;
            uint32_t idx = c->changes.index[j];
            s = push_ray(c, rc, i, idx % (uint32_t)rc->cam.width, idx / (uint32_t)rc->cam.width,
                         p->o.sigma_px, c->changes.diff[j], j);
        }
        if (s)
            cam_error(c, s, i, rc->id);
        return;
    }
    s = vt_blobs_find(&c->changes, p->o.min_area, p->o.max_area, &c->blobs);
    if (s) {
        cam_error(c, s, i, rc->id);
        return;
    }
    size_t n = c->blobs.count;
    if (n > (size_t)p->o.max_rays)
        n = (size_t)p->o.max_rays; /* raster order; a flood of blobs is noise anyway */
    for (size_t k = 0; k < n && !s; k++) {
        const vt_blob *b = &c->blobs.blobs[k];
        s = push_ray(c, rc, i, b->u, b->v, p->o.sigma_px, b->sum, (uint32_t)k);
    }
    if (s)
        cam_error(c, s, i, rc->id);
}

static vt_status join_rays(vt_pipeline *p)
{
    size_t total = 0;
    for (int i = 0; i < p->rig.count; i++)
        total += p->cams[i].nrays;
    if (!grow((void **)&p->rays, &p->rays_cap, total, sizeof *p->rays))
        return vt__error(VT_ENOMEM, "pipeline: out of memory for %zu rays", total);
    size_t at = 0;
    for (int i = 0; i < p->rig.count; i++) {
        if (p->cams[i].nrays)
            memcpy(p->rays + at, p->cams[i].rays, p->cams[i].nrays * sizeof *p->rays);
        at += p->cams[i].nrays;
    }
    p->nrays = total;
    return VT_OK;
}

/*
 * Follows each detection's brightness into the track that took it. For each
 * mono camera that saw the track in this frame set and the last one, the
 * change of the logarithm of its blob sum is taken in units of what the
 * sensor noise alone would give (a blob of A pixels in a camera of noise
 * sigma sums noise of variance A sigma^2); their mean square is followed as
 * a running mean. A drone scores about 1; a bird whose wings flap (a few Hz)
 * and that is bright enough for it to show, far more.
 */
static vt_status update_looks(vt_pipeline *p)
{
    size_t n = 0;
    const uint64_t *ids = vt_tracker_assignments(p->tracker, &n);
    uint64_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] + 1 > top)
            top = ids[i] + 1;
    size_t old = p->looks_cap;
    if (!grow((void **)&p->looks, &p->looks_cap, top ? top : 1, sizeof *p->looks))
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    if (p->looks_cap > old)
        memset(p->looks + old, 0, (p->looks_cap - old) * sizeof *p->looks);
    for (size_t i = 0; i < n && i < p->dets.count; i++) {
        if (!ids[i])
            continue;
        track_look *l = &p->looks[ids[i]];
        const vt_detection *d = &p->dets.items[i];
        float sum[64] = {0}, relvar[64] = {0};
        double z2 = 0.0;
        int m = 0;
        for (int k = 0; k < d->nrays; k++) {
            const vt_ray *r = &p->rays[p->dets.ray_index[d->first_ray + k]];
            const cam_state *c = &p->cams[r->camera];
            if (p->rig.cameras[r->camera].modality != VT_MODALITY_MONO || r->weight <= 0.0f)
                continue;
            float sigma = vt_background_noise(c->bg);
            int area = p->o.rays == VT_RAYS_BLOBS && r->blob < c->blobs.count
                           ? c->blobs.blobs[r->blob].area
                           : 1;
            sum[r->camera] = r->weight;
            relvar[r->camera] = sigma * sigma * (float)area / (r->weight * r->weight);
            if (l->sum[r->camera] > 0.0f) {
                float ch = logf(r->weight / l->sum[r->camera]);
                /* 0.01: the part of a change that sub-pixel motion alone explains */
                z2 += ch * ch / (relvar[r->camera] + l->relvar[r->camera] + 0.01f);
                m++;
            }
        }
        memcpy(l->sum, sum, sizeof sum);
        memcpy(l->relvar, relvar, sizeof relvar);
        if (m) {
            float rate = l->n < 8 ? 1.0f / (float)(l->n + 1) : 0.125f;
            l->msq += rate * ((float)(z2 / m) - l->msq);
            l->n++;
        }
    }
    return VT_OK;
}

/*
 * Classifies the tracks (drone or bird) and holds back confirmation until a
 * track has taken a detection seen by confirm_cameras cameras, or confirm_hits
 * detections: ghosts (rays of different targets that happen to cross) are
 * nearly always seen by just K cameras and seldom last, real targets are
 * soon seen by more, or keep being seen.
 */
static vt_status report(vt_pipeline *p, const vt_track *tracks, size_t n)
{
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (tracks[i].id + 1 > top)
            top = tracks[i].id + 1;
    size_t old = p->max_cams_cap;
    if (!grow((void **)&p->classes, &p->classes_cap, n ? n : 1, sizeof *p->classes) ||
        !grow((void **)&p->tracks, &p->tracks_cap, n ? n : 1, sizeof *p->tracks) ||
        !grow((void **)&p->flicker, &p->flicker_cap, n ? n : 1, sizeof *p->flicker) ||
        !grow((void **)&p->max_cams, &p->max_cams_cap, top, sizeof *p->max_cams))
        return vt__error(VT_ENOMEM, "pipeline: out of memory");
    if (p->max_cams_cap > old)
        memset(p->max_cams + old, 0, p->max_cams_cap - old);
    for (size_t i = 0; i < n; i++) {
        vt_track k = tracks[i];
        if (k.misses == 0 && k.cams > p->max_cams[k.id])
            p->max_cams[k.id] = (uint8_t)(k.cams > 255 ? 255 : k.cams);
        if (k.status != VT_TRACK_TENTATIVE && p->max_cams[k.id] < p->o.confirm_cameras &&
            k.hits < p->o.confirm_hits)
            k.status = VT_TRACK_TENTATIVE;
        const track_look *l = k.id < p->looks_cap ? &p->looks[k.id] : NULL;
        float flicker = l && l->n > 0 ? sqrtf(l->msq) : 0.0f;
        p->flicker[i] = flicker;
        bool old_enough = k.age >= p->o.bird_min_age && l && l->n >= p->o.bird_min_age / 2;
        bool bird = old_enough && ((p->o.bird_accel > 0.0 && k.accel_rms > p->o.bird_accel) ||
                                   (p->o.bird_flicker > 0.0 && flicker > p->o.bird_flicker));
        p->classes[i] = bird ? VT_CLASS_BIRD : VT_CLASS_DRONE;
        p->tracks[i] = k;
    }
    return VT_OK;
}

vt_status vt_pipeline_process(vt_pipeline *p, const vt_frame_set *fs, vt_pipeline_result *res)
{
    if (!p || !fs || !fs->images || !res)
        return vt__error(VT_EINVAL, "vt_pipeline_process: NULL argument");
    if (!isfinite(fs->t) || (p->started && fs->t < p->last_t))
        return vt__error(VT_EINVAL,
                         "pipeline: frame set %lld at t = %g s goes back in time "
                         "(last %g s)",
                         (long long)fs->frame, fs->t, p->last_t);
    memset(res, 0, sizeof *res);
    double t0 = vt__now();
    const int n = p->rig.count;
    int threads = p->o.threads > 0 ? p->o.threads : omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int i = 0; i < n; i++)
        camera_stage(p, i, fs->images[i]);
    for (int i = 0; i < n; i++) {
        const cam_state *c = &p->cams[i];
        if (c->status)
            return vt__error(c->status, "frame %lld: %s", (long long)fs->frame, c->error);
        vt_camera_result *cr = &p->cam_results[i];
        cr->present = c->live;
        cr->sync_error = c->live && fs->times ? fs->times[i] - fs->t : 0.0;
        cr->changes = c->live ? c->changes.count : 0;
        cr->blobs = !c->live ? 0 : p->o.rays == VT_RAYS_PIXELS ? c->changes.count : c->blobs.count;
        cr->rays = c->nrays;
        res->changes += cr->changes;
        res->blobs += cr->blobs;
        res->cameras_live += c->live;
    }
    res->cameras = p->cam_results;
    res->ncameras = n;
    vt_status s = join_rays(p);
    double t1 = vt__now();
    if (!s)
        s = vt_vote_cast(p->vote, p->rays, p->nrays);
    double t2 = vt__now();
    size_t nclusters = 0;
    const vt_cluster *clusters = s ? NULL : vt_vote_clusters(p->vote, &nclusters);
    if (!s)
        s = vt_detect(clusters, nclusters, p->rays, p->nrays, &p->o.detect, &p->dets);
    double t3 = vt__now();
    if (!s)
        s = vt_tracker_update(p->tracker, fs->t, p->dets.items, p->dets.count);
    size_t ntracks = 0;
    const vt_track *tracks = s ? NULL : vt_tracker_tracks(p->tracker, &ntracks);
    if (!s)
        s = update_looks(p);
    if (!s)
        s = report(p, tracks, ntracks);
    double t4 = vt__now();
    if (s)
        return vt__error_prefix(s, "frame %lld", (long long)fs->frame);
    p->started = true;
    p->last_t = fs->t;
    res->frame = fs->frame;
    res->t = fs->t;
    res->tracks = p->tracks;
    res->classes = p->classes;
    res->flicker = p->flicker;
    res->ntracks = ntracks;
    res->detections = p->dets.items;
    res->ndetections = p->dets.count;
    res->rays = p->nrays;
    res->clusters = nclusters;
    res->vote = p->vote;
    res->stage_seconds[0] = t1 - t0;
    res->stage_seconds[1] = t2 - t1;
    res->stage_seconds[2] = t3 - t2;
    res->stage_seconds[3] = t4 - t3;
    res->seconds = t4 - t0;
    return VT_OK;
}

int vt__pipeline_camera_count(const vt_pipeline *p)
{
    return p->rig.count;
}
