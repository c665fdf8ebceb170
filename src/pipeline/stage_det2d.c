/*
 * src/pipeline/stage_det2d.c - a camera whose rays come from another
 * detector's 2D detections (vt_pipeline_set_detections in
 * voxtrack/pipeline.h): it takes the place of the camera stage for that
 * camera. Each detection becomes a ray exactly as a blob's centroid does
 * (vt_det2d_ray, the same vt_ray_from_pixel), and the rays go to the vote
 * stage with the other cameras'.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

void vt_camera_rays_from_det2d(const vt_rig_camera *rc, int camera, const vt_det2d *d, size_t n,
                               const vt_det2d_ray_opts *opts, vt_ray *rays, int32_t *area,
                               vt_camera_rays *out)
{
    memset(out, 0, sizeof *out);
    size_t m = 0;
    for (size_t k = 0; rc && d && rays && area && k < n; k++)
        if (vt_det2d_ray(&rc->cam, &d[k], opts, (uint16_t)camera, (uint16_t)rc->pair, (uint32_t)k,
                         &rays[m]))
            area[m++] = 0;
    out->present = true;
    out->blobs = n;
    out->rays = rays;
    out->area = area;
    out->nrays = m;
}

/* The detections of the camera's frame in this set: [*first, *first + *n). */
static void frame_detections(const vt__det2d_rays *d, int i, const vt_frame_set *fs, double fps,
                             size_t *first, size_t *n)
{
    const vt_det2d_list *l = d->dets;
    *first = *n = 0;
    if (fs->times && !fs->images[i])
        return; /* the camera delivered nothing to this set */
    double t = fs->times ? fs->times[i] : fs->t, half = 0.5 / fps;
    size_t k = vt_det2d_lower_bound(l, fs->times ? t : t - half);
    if (!fs->times) { /* the frame nearest t within half a period */
        double best = INFINITY;
        for (size_t j = k; j < l->count && l->items[j].t < t + half; j++)
            if (fabs(l->items[j].t - t) < best)
                best = fabs(l->items[j].t - t), k = j;
        if (!isfinite(best))
            return;
        k = vt_det2d_lower_bound(l, l->items[k].t);
    }
    if (k >= l->count || (fs->times && l->items[k].t != t))
        return;
    size_t e = k;
    while (e < l->count && l->items[e].t == l->items[k].t)
        e++;
    *first = k;
    *n = e - k;
}

vt_status vt__det2d_rays_process(vt__det2d_rays *d, int i, const vt_frame_set *fs, double fps,
                                 const vt_pipeline_opts *o, vt_camera_rays *out)
{
    size_t first, n;
    frame_detections(d, i, fs, fps, &first, &n);
    if (n > (size_t)o->max_rays)
        n = (size_t)o->max_rays;
    if (vt__grow(&d->rays, &d->rays_cap, n ? n : 1, sizeof *d->rays) ||
        vt__grow(&d->area, &d->area_cap, n ? n : 1, sizeof *d->area))
        return vt__error(VT_ENOMEM, "out of memory for %zu rays", n);
    vt_det2d_ray_opts ro = vt_det2d_ray_opts_default();
    ro.sigma_px = o->sigma_px;
    vt_camera_rays_from_det2d(&d->cam, i, d->dets->items + first, n, &ro, d->rays, d->area, out);
    out->present = fs->times ? fs->images[i] != NULL : n > 0;
    return VT_OK;
}

void vt__det2d_rays_free(vt__det2d_rays *d)
{
    free(d->rays);
    free(d->area);
    d->rays = NULL;
    d->area = NULL;
    d->rays_cap = d->area_cap = 0;
}
