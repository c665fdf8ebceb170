/*
 * src/pipeline/stage_vote.c - the middle stage of the pipeline, one frame
 * set (see vt_vote_stage in voxtrack/pipeline.h): the cameras' rays are
 * joined in camera order, so that what follows sees the same input whatever
 * ran the cameras; then voting (coarse to fine, sparse grid) and detection
 * (ray ownership, least-squares meeting points). For each ray that supports
 * a detection, what tracking needs of it (its camera, weight, blob area,
 * unfiltered brightness and the camera's noise) is listed beside the detections, so that tracking
 * needs neither the rays nor the cameras.
 *
 * Nothing is carried from one frame set to the next but buffers: frame sets
 * can be voted in any order, by several stages at once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

struct vt_vote_stage {
    vt_detect_opts detect;
    int ncams;
    vt_ray *rays; /* all cameras joined */
    int32_t *area;
    float *raw;   /* per ray: its blob's unfiltered sum, 0: none */
    float *noise; /* per camera, of this set */
    size_t nrays, rays_cap, area_cap, raw_cap;
    vt_vote *vote;
    vt_detection_list dets;
    vt_detection_ray *det_rays;
    size_t det_rays_cap;
};

/* The angle of the finest pixel of the rig, radians: what the level of detail follows. */
static double finest_pixel_angle(const vt_rig *rig)
{
    double fx = 0.0;
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].cam.fx > fx)
            fx = rig->cameras[i].cam.fx;
    return fx > 0.0 ? 1.0 / fx : 0.0;
}

vt_status vt_vote_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_vote_stage **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_vote_stage_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = vt__pipeline_check_opts(&o, rig);
    if (s)
        return s;
    vt_vote_stage *v = calloc(1, sizeof *v);
    if (!v || !(v->noise = calloc((size_t)rig->count, sizeof *v->noise))) {
        free(v);
        return vt__error(VT_ENOMEM, "vote stage: out of memory");
    }
    v->ncams = rig->count;
    v->detect = o.detect;
    v->detect.thermal_mask = 0;
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].modality == VT_MODALITY_THERMAL)
            v->detect.thermal_mask |= 1ull << i;
    vt_vote_opts vo = o.vote;
    vo.min = o.volume_min;
    vo.max = o.volume_max;
    vo.threads = o.threads;
    if (vo.pixel_angle < 0.0)
        vo.pixel_angle = finest_pixel_angle(rig);
    s = vt_vote_new(&vo, &v->vote);
    if (s) {
        vt_vote_stage_free(v);
        return s;
    }
    *out = v;
    return VT_OK;
}

void vt_vote_stage_free(vt_vote_stage *v)
{
    if (!v)
        return;
    free(v->rays);
    free(v->area);
    free(v->raw);
    free(v->noise);
    vt_vote_free(v->vote);
    vt_detection_list_free(&v->dets);
    free(v->det_rays);
    free(v);
}

size_t vt_vote_stage_grid_peak_bytes(const vt_vote_stage *v)
{
    return v ? vt_vote_get_stats(v->vote).peak_bytes : 0;
}

static vt_status join_rays(vt_vote_stage *v, const vt_camera_rays *cams)
{
    size_t total = 0;
    for (int i = 0; i < v->ncams; i++) {
        if (cams[i].nrays && (!cams[i].rays || !cams[i].area))
            return vt__error(VT_EINVAL, "vote stage: camera %d: %zu rays but no array", i,
                             cams[i].nrays);
        total += cams[i].nrays;
    }
    if (vt__grow(&v->rays, &v->rays_cap, total, sizeof *v->rays) ||
        vt__grow(&v->area, &v->area_cap, total, sizeof *v->area) ||
        vt__grow(&v->raw, &v->raw_cap, total, sizeof *v->raw))
        return vt__error(VT_ENOMEM, "vote stage: out of memory for %zu rays", total);
    size_t at = 0;
    for (int i = 0; i < v->ncams; i++) {
        const vt_camera_rays *c = &cams[i];
        for (size_t k = 0; k < c->nrays; k++)
            if (c->rays[k].camera != i)
                return vt__error(VT_EINVAL, "vote stage: camera %d: ray %zu says camera %u", i, k,
                                 (unsigned)c->rays[k].camera);
        if (c->nrays) {
            memcpy(v->rays + at, c->rays, c->nrays * sizeof *v->rays);
            memcpy(v->area + at, c->area, c->nrays * sizeof *v->area);
            if (c->raw)
                memcpy(v->raw + at, c->raw, c->nrays * sizeof *v->raw);
            else
                memset(v->raw + at, 0, c->nrays * sizeof *v->raw);
        }
        v->noise[i] = c->noise;
        at += c->nrays;
    }
    v->nrays = total;
    return VT_OK;
}

/* What tracking needs of each ray of each detection, in the detections' ray order. */
static vt_status list_detection_rays(vt_vote_stage *v)
{
    size_t n = v->dets.nindex;
    if (vt__grow(&v->det_rays, &v->det_rays_cap, n ? n : 1, sizeof *v->det_rays))
        return vt__error(VT_ENOMEM, "vote stage: out of memory");
    for (size_t j = 0; j < n; j++) {
        uint32_t r = v->dets.ray_index[j];
        const vt_ray *ray = &v->rays[r];
        v->det_rays[j] = (vt_detection_ray){.camera = ray->camera,
                                            .weight = ray->weight,
                                            .noise = v->noise[ray->camera],
                                            .area = v->area[r],
                                            .raw = v->raw[r]};
    }
    return VT_OK;
}

vt_status vt_vote_stage_process(vt_vote_stage *v, const vt_camera_rays *cams,
                                vt_set_detections *out)
{
    if (!v || !cams || !out)
        return vt__error(VT_EINVAL, "vt_vote_stage_process: NULL argument");
    memset(out, 0, sizeof *out);
    vt_status s = join_rays(v, cams);
    double t0 = vt__now();
    if (!s)
        s = vt_vote_cast(v->vote, v->rays, v->nrays);
    double t1 = vt__now();
    size_t nclusters = 0;
    const vt_cluster *clusters = s ? NULL : vt_vote_clusters(v->vote, &nclusters);
    if (!s)
        s = vt_detect(clusters, nclusters, v->rays, v->nrays, &v->detect, &v->dets);
    if (!s)
        s = list_detection_rays(v);
    double t2 = vt__now();
    if (s)
        return s;
    out->detections = v->dets.items;
    out->ndetections = v->dets.count;
    out->rays = v->det_rays;
    out->nrays = v->dets.nindex;
    out->rays_cast = v->nrays;
    out->clusters = nclusters;
    out->vote = v->vote;
    out->seconds[0] = t1 - t0;
    out->seconds[1] = t2 - t1;
    return VT_OK;
}
