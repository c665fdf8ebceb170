/*
 * src/source/det2d_camera.c - 2D detections of a rig camera: its file read
 * (det2d.c), its timestamps applied, its clock, and the rays (see
 * voxtrack/det2d.h). A detection's ray is exactly the ray the pipeline casts
 * through a blob centroid at the same pixel (vt_ray_from_pixel), so that
 * both vote alike.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/det2d.h"
#include "voxtrack/detect.h"

/* ------------------------------------------------------------------------ */
/* Clock                                                                     */

vt_det2d_clock vt_det2d_camera_clock(const vt_rig *rig, const vt_rig_camera *c, bool timed)
{
    double fps = rig && rig->fps > 0 ? rig->fps : 30.0;
    vt_det2d_clock k = {timed ? 1.0 : 1.0 / fps, 0.0};
    if (c && c->clock_scale > 0)
        k.scale = c->clock_scale;
    if (c)
        k.offset = c->clock_offset;
    return k;
}

void vt_det2d_apply_clock(vt_det2d_list *l, vt_det2d_clock clock)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        l->items[i].t = clock.scale * vt_det2d_clock_input(&l->items[i]) + clock.offset;
}

size_t vt_det2d_lower_bound(const vt_det2d_list *l, double t)
{
    if (!l)
        return 0;
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->items[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Each detection's stamp from the timestamps file: its frame's time. */
static vt_status apply_stamps(const char *path, const char *name, vt_det2d_list *l)
{
    int64_t *frames;
    double *times;
    size_t n;
    vt_status s = vt__stamps_read(path, &frames, &times, &n);
    size_t k = 0;
    for (size_t i = 0; !s && i < l->count; i++) {
        vt_det2d *d = &l->items[i];
        /* Both lists are in frame order: one merge. */
        while (k < n && frames[k] < d->frame)
            k++;
        if (k == n || frames[k] != d->frame)
            s = vt__error(VT_EMISMATCH, "%s:%d: frame %lld is not in the timestamps file %s", name,
                          d->line, (long long)d->frame, path);
        else
            d->stamp = times[k];
    }
    free(frames);
    free(times);
    return s;
}

vt_status vt_det2d_load(const vt_rig *rig, int camera, const char *path, vt_det2d_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_det2d_load: NULL list");
    vt_det2d_list_free(out);
    if (!rig || camera < 0 || camera >= rig->count)
        return vt__error(VT_EINVAL, "vt_det2d_load: no camera %d in the rig", camera);
    const vt_rig_camera *c = &rig->cameras[camera];
    char file[4096], stamps[4096];
    vt_status s = VT_OK;
    if (path)
        snprintf(file, sizeof file, "%s", path);
    else if (c->media != VT_MEDIA_DETECTIONS || !c->path)
        return vt__error(VT_EINVAL, "camera %d ('%s'): has no 'detections' file in the rig", camera,
                         c->id);
    else
        s = vt_rig_resolve(rig, c->path, file, sizeof file);
    if (!s)
        s = vt_det2d_read(file, c->cam.width, c->cam.height, out);
    if (!s && c->timestamps) {
        if (out->timed && out->count)
            s = vt__error(VT_EMISMATCH,
                          "camera %d ('%s'): %s gives times and the rig a timestamps file (%s): "
                          "give one of them",
                          camera, c->id, file, c->timestamps);
        else if (!(s = vt_rig_resolve(rig, c->timestamps, stamps, sizeof stamps)))
            s = apply_stamps(stamps, file, out);
        if (!s)
            out->timed = true;
    }
    if (s) {
        vt_det2d_list_free(out);
        return vt__error_prefix(s, "camera %d ('%s')", camera, c->id);
    }
    vt_det2d_apply_clock(out, vt_det2d_camera_clock(rig, c, out->timed));
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Rays                                                                      */

vt_det2d_ray_opts vt_det2d_ray_opts_default(void)
{
    vt_det2d_ray_opts o = {0.5, 0.1};
    return o;
}

bool vt_det2d_ray(const vt_camera *cam, const vt_det2d *d, const vt_det2d_ray_opts *opts,
                  uint16_t camera, uint16_t pair, uint32_t index, vt_ray *out)
{
    if (!cam || !d || !out)
        return false;
    vt_det2d_ray_opts o = opts ? *opts : vt_det2d_ray_opts_default();
    double box = d->w > d->h ? d->w : d->h;
    double sigma = hypot(o.sigma_px, o.box_fraction * box);
    return vt_ray_from_pixel(cam, d->u, d->v, sigma, d->score, camera, pair, index, out);
}
