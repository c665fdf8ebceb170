/*
 * src/pipeline/stage_camera.c - the first stage of the pipeline, one camera
 * (see vt_camera_stage in voxtrack/pipeline.h): the frame is compared with
 * the camera's background model, the changes are grouped into blobs and each
 * blob's intensity-weighted centroid (or, in VT_RAYS_PIXELS mode, each
 * changed pixel) becomes a ray in the world.
 *
 * A blob's ray carries its significance as its weight: the blob's peak
 * (matched-filtered) difference over the filtered image's measured noise,
 * i.e. its matched-filter SNR. Voting then sums the evidence of the cameras
 * whose rays meet in a voxel. The blob's unfiltered sum goes beside it (raw),
 * for the brightness flicker of the bird test.
 *
 * The background model is the only state kept from frame to frame; the
 * lists (changes, blobs, rays) are reused, so a warm stage does not
 * allocate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

/* A changed pixel and its difference, for cutting the strongest max_rays. */
typedef struct ranked {
    float w;
    uint32_t i;
} ranked;

struct vt_camera_stage {
    vt_pipeline_opts o;
    vt_rig_camera rc; /* the camera (no paths) */
    int index;
    vt_background *bg;
    vt_change_list changes;
    vt_blob_list blobs;
    vt_ray *rays;
    int32_t *area;
    float *raw;
    size_t nrays, rays_cap, area_cap, raw_cap;
    ranked *order; /* scratch: pixels by strength */
    size_t order_cap;
};

vt_status vt_camera_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, int camera,
                              vt_camera_stage **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_camera_stage_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = vt__pipeline_check_opts(&o, rig);
    if (s)
        return s;
    if (camera < 0 || camera >= rig->count)
        return vt__error(VT_ERANGE, "camera stage: camera %d is not in the rig (%d cameras)",
                         camera, rig->count);
    vt_camera_stage *c = calloc(1, sizeof *c);
    if (!c)
        return vt__error(VT_ENOMEM, "camera stage: out of memory");
    c->o = o;
    c->index = camera;
    c->rc = rig->cameras[camera];
    c->rc.path = NULL;
    c->rc.timestamps = NULL;
    c->rc.pose_log = NULL;
    c->rc.media = VT_MEDIA_NONE;
    vt_background_opts bo = c->rc.modality == VT_MODALITY_THERMAL ? o.thermal : o.mono;
    bo.threads = 1; /* cameras run in parallel, one per thread */
    s = vt_background_new(&bo, c->rc.cam.width, c->rc.cam.height, &c->bg);
    if (s) {
        vt_camera_stage_free(c);
        return vt__error_prefix(s, "camera %d ('%s')", camera, rig->cameras[camera].id);
    }
    *out = c;
    return VT_OK;
}

void vt_camera_stage_free(vt_camera_stage *c)
{
    if (!c)
        return;
    vt_background_free(c->bg);
    vt_change_list_free(&c->changes);
    vt_blob_list_free(&c->blobs);
    free(c->rays);
    free(c->area);
    free(c->raw);
    free(c->order);
    free(c);
}

/* Strongest first, ties by index: a deterministic cut. */
static int by_weight(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static vt_status push_ray(vt_camera_stage *c, double u, double v, float weight, int32_t area,
                          float raw, uint32_t item)
{
    if (vt__grow(&c->rays, &c->rays_cap, c->nrays + 1, sizeof *c->rays) ||
        vt__grow(&c->area, &c->area_cap, c->nrays + 1, sizeof *c->area) ||
        vt__grow(&c->raw, &c->raw_cap, c->nrays + 1, sizeof *c->raw))
        return vt__error(VT_ENOMEM, "out of memory for rays");
    if (vt_ray_from_pixel(&c->rc.cam, u, v, c->o.sigma_px, weight, (uint16_t)c->index,
                          (uint16_t)c->rc.pair, item, &c->rays[c->nrays])) {
        c->area[c->nrays] = area;
        c->raw[c->nrays++] = raw;
    }
    return VT_OK;
}

/* The unit of a blob's significance: the filtered image's noise (1 until it is measured). */
static float significance_unit(const vt_camera_stage *c)
{
    float s = vt_background_filter_noise(c->bg);
    return s > 0.0f ? s : 1.0f;
}

/* One ray per changed pixel, the strongest max_rays. */
static vt_status pixel_rays(vt_camera_stage *c)
{
    size_t n = c->changes.count;
    if (vt__grow(&c->order, &c->order_cap, n, sizeof *c->order))
        return vt__error(VT_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++)
        c->order[k] = (ranked){c->changes.diff[k], (uint32_t)k};
    if (n > (size_t)c->o.max_rays) {
        qsort(c->order, n, sizeof *c->order, by_weight);
        n = (size_t)c->o.max_rays;
    }
    uint32_t w = (uint32_t)c->rc.cam.width;
    vt_status s = VT_OK;
    for (size_t k = 0; k < n && !s; k++) {
        uint32_t j = c->order[k].i, idx = c->changes.index[j];
        float raw = c->changes.raw ? c->changes.raw[j] : c->changes.diff[j];
        s = push_ray(c, idx % w, idx / w, c->changes.diff[j], 1, raw, j);
    }
    return s;
}

static int by_index(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * One ray per blob centroid. Over max_rays blobs, the strongest (by peak)
 * are kept, in raster order as the others: a frame flooded with noise blobs
 * (a low threshold, a burst of clutter) keeps its targets wherever they are.
 */
static vt_status blob_rays(vt_camera_stage *c)
{
    vt_status s = vt_blobs_find(&c->changes, c->o.min_area, c->o.max_area, &c->blobs);
    size_t n = c->blobs.count;
    if (s || vt__grow(&c->order, &c->order_cap, n ? n : 1, sizeof *c->order))
        return s ? s : vt__error(VT_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++)
        c->order[k] = (ranked){c->blobs.blobs[k].peak, (uint32_t)k};
    if (n > (size_t)c->o.max_rays) {
        qsort(c->order, n, sizeof *c->order, by_weight);
        n = (size_t)c->o.max_rays;
        qsort(c->order, n, sizeof *c->order, by_index);
    }
    float unit = significance_unit(c);
    for (size_t k = 0; k < n && !s; k++) {
        uint32_t j = c->order[k].i;
        const vt_blob *b = &c->blobs.blobs[j];
        s = push_ray(c, b->u, b->v, b->peak / unit, b->area, b->raw_sum, j);
    }
    return s;
}

vt_status vt_camera_stage_set_pose(vt_camera_stage *c, vt_vec3 position, vt_quat q)
{
    if (!c)
        return vt__error(VT_EINVAL, "vt_camera_stage_set_pose: NULL stage");
    vt_camera cam = c->rc.cam;
    cam.position = position;
    cam.q = q;
    vt_status s = vt_camera_init(&cam);
    if (s)
        return vt__error_prefix(s, "camera %d ('%s'): pose", c->index, c->rc.id);
    c->rc.cam = cam;
    return VT_OK;
}

vt_status vt_camera_stage_process(vt_camera_stage *c, const vt_image *img, vt_camera_rays *out)
{
    if (!c || !out)
        return vt__error(VT_EINVAL, "vt_camera_stage_process: NULL argument");
    const vt_rig_camera *rc = &c->rc;
    memset(out, 0, sizeof *out);
    c->nrays = 0;
    c->changes.count = 0;
    c->blobs.count = 0;
    vt_status s = VT_OK;
    if (img &&
        (img->width != rc->cam.width || img->height != rc->cam.height || img->bits != rc->bits))
        return vt__error(VT_EMISMATCH,
                         "camera %d ('%s'): frame is %dx%d %d-bit, expected %dx%d %d-bit", c->index,
                         rc->id, img->width, img->height, img->bits, rc->cam.width, rc->cam.height,
                         rc->bits);
    if (img) {
        s = vt_background_apply(c->bg, img, &c->changes);
        if (!s)
            s = c->o.rays == VT_RAYS_PIXELS ? pixel_rays(c) : blob_rays(c);
        if (s)
            return vt__error_prefix(s, "camera %d ('%s')", c->index, rc->id);
    }
    out->present = img != NULL;
    out->changes = c->changes.count;
    out->blobs = c->o.rays == VT_RAYS_PIXELS ? c->changes.count : c->blobs.count;
    out->noise = vt_background_noise(c->bg);
    out->rays = c->rays;
    out->area = c->area;
    out->raw = c->raw;
    out->nrays = c->nrays;
    return VT_OK;
}
