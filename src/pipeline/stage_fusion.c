/*
 * src/pipeline/stage_fusion.c - thermal fusion between the vote and track
 * stages (see vt_fusion_stage in voxtrack/pipeline.h, docs/FUSION.md).
 *
 * For each detection of the set: its look in every thermal camera of the
 * rig (vt_thermal_measure at its projection, with the camera's noise from
 * its background model), its mono SNR from its mono rays (a blob of A
 * pixels summing S in a camera of noise sigma: S / (sigma sqrt(A))), the
 * record, and the decision rule (vt_fusion_should_drop). The detections
 * kept are copied with their rays and records into the stage's own arrays,
 * which the track stage reads; the vote stage's arrays are left as they are.
 *
 * A look costs a few dozen pixel reads, so the stage costs detections x
 * thermal cameras x ~100 reads: far below the motion stage's full frames.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

struct vt_fusion_stage {
    vt_fusion_opts o;
    int ncams;
    vt_camera *cams; /* per rig camera, its model and (moving) pose */
    bool *thermal;   /* per rig camera */
    vt_fusion_record *records;
    size_t records_cap;
    vt_detection *kept;
    size_t kept_cap;
    vt_detection_ray *rays;
    size_t rays_cap;
    vt_fusion_record *kept_records;
    size_t kept_records_cap;
};

vt_status vt_fusion_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig,
                              vt_fusion_stage **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_fusion_stage_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = vt__pipeline_check_opts(&o, rig);
    if (s)
        return s;
    if ((s = vt_fusion_opts_check(&o.fusion)))
        return vt__error_prefix(s, "pipeline");
    vt_fusion_stage *f = calloc(1, sizeof *f);
    if (!f || !(f->cams = calloc((size_t)rig->count, sizeof *f->cams)) ||
        !(f->thermal = calloc((size_t)rig->count, sizeof *f->thermal))) {
        vt_fusion_stage_free(f);
        return vt__error(VT_ENOMEM, "fusion stage: out of memory");
    }
    f->o = o.fusion;
    f->ncams = rig->count;
    for (int i = 0; i < rig->count; i++) {
        f->cams[i] = rig->cameras[i].cam;
        f->thermal[i] = rig->cameras[i].modality == VT_MODALITY_THERMAL;
    }
    *out = f;
    return VT_OK;
}

void vt_fusion_stage_free(vt_fusion_stage *f)
{
    if (!f)
        return;
    free(f->cams);
    free(f->thermal);
    free(f->records);
    free(f->kept);
    free(f->rays);
    free(f->kept_records);
    free(f);
}

vt_status vt_fusion_stage_set_pose(vt_fusion_stage *f, int camera, vt_vec3 position, vt_quat q)
{
    if (!f || camera < 0 || camera >= f->ncams)
        return vt__error(VT_EINVAL, "vt_fusion_stage_set_pose: no camera %d", camera);
    vt_camera cam = f->cams[camera];
    cam.position = position;
    cam.q = q;
    vt_status s = vt_camera_init(&cam);
    if (s)
        return vt__error_prefix(s, "fusion stage: camera %d: pose", camera);
    f->cams[camera] = cam;
    return VT_OK;
}

/* The best mono SNR among a detection's rays (NAN when no mono ray has a blob). */
static double mono_snr(const vt_fusion_stage *f, const vt_set_detections *in, const vt_detection *d)
{
    double best = NAN;
    for (int k = 0; k < d->nrays; k++) {
        const vt_detection_ray *r = &in->rays[d->first_ray + k];
        if (f->thermal[r->camera] || r->area <= 0 || !(r->noise > 0.0f))
            continue;
        double snr = r->weight / (r->noise * sqrt((double)r->area));
        if (isnan(best) || snr > best)
            best = snr;
    }
    return best;
}

static vt_status check_input(const vt_fusion_stage *f, const vt_set_detections *in,
                             const vt_image *const *images)
{
    vt_status s = vt__set_detections_check(in, f->ncams, "fusion stage");
    if (s)
        return s;
    for (int c = 0; images && c < f->ncams; c++) {
        const vt_image *img = images[c];
        if (f->thermal[c] && img &&
            (img->width != f->cams[c].width || img->height != f->cams[c].height || !img->data))
            return vt__error(VT_EINVAL, "fusion stage: camera %d: frame is %dx%d, expected %dx%d",
                             c, img->width, img->height, f->cams[c].width, f->cams[c].height);
    }
    return VT_OK;
}

static vt_status grow_all(vt_fusion_stage *f, size_t n, size_t nrays)
{
    if (vt__grow(&f->records, &f->records_cap, n ? n : 1, sizeof *f->records) ||
        vt__grow(&f->kept, &f->kept_cap, n ? n : 1, sizeof *f->kept) ||
        vt__grow(&f->kept_records, &f->kept_records_cap, n ? n : 1, sizeof *f->kept_records) ||
        vt__grow(&f->rays, &f->rays_cap, nrays ? nrays : 1, sizeof *f->rays))
        return vt__error(VT_ENOMEM, "fusion stage: out of memory");
    return VT_OK;
}

vt_status vt_fusion_stage_process(vt_fusion_stage *f, const vt_set_detections *in,
                                  const vt_image *const *images, const float *noise,
                                  vt_fusion_output *out)
{
    if (!f || !in || !out)
        return vt__error(VT_EINVAL, "vt_fusion_stage_process: NULL argument");
    memset(out, 0, sizeof *out);
    vt_status s = check_input(f, in, images);
    if (!s)
        s = grow_all(f, in->ndetections, in->nrays);
    if (s)
        return s;
    size_t nkept = 0, nrays = 0;
    for (size_t i = 0; i < in->ndetections; i++) {
        const vt_detection *d = &in->detections[i];
        vt_fusion_record rec = vt_fusion_record_empty();
        for (int c = 0; c < f->ncams; c++) {
            if (!f->thermal[c])
                continue;
            vt_thermal_look look = {.reason = VT_FUSION_NO_FRAME, .snr = NAN};
            const vt_image *img = images ? images[c] : NULL;
            if (img && (s = vt_thermal_measure(&f->cams[c], img, noise ? noise[c] : 0.0, d->pos,
                                               &f->o, &look)))
                return vt__error_prefix(s, "fusion stage: detection %zu, camera %d", i, c);
            vt_fusion_record_add(&rec, &look, &f->o);
        }
        vt_fusion_record_finish(&rec, mono_snr(f, in, d), d->nthermal);
        rec.dropped = vt_fusion_should_drop(&rec, &f->o);
        f->records[i] = rec;
        out->dropped += rec.dropped;
        out->confirmed += rec.verdict == VT_FUSION_CONFIRMED;
        out->contradicted += rec.verdict == VT_FUSION_CONTRADICTED;
        out->not_observable += rec.verdict == VT_FUSION_NOT_OBSERVABLE;
        if (rec.dropped)
            continue;
        vt_detection k = *d;
        if (k.nrays)
            memcpy(f->rays + nrays, in->rays + k.first_ray, (size_t)k.nrays * sizeof *f->rays);
        k.first_ray = (int)nrays;
        nrays += (size_t)k.nrays;
        f->kept_records[nkept] = rec;
        f->kept[nkept++] = k;
    }
    out->kept = *in;
    out->kept.detections = f->kept;
    out->kept.ndetections = nkept;
    out->kept.rays = f->rays;
    out->kept.nrays = nrays;
    out->kept.fusion = f->kept_records;
    out->records = f->records;
    out->nrecords = in->ndetections;
    return VT_OK;
}
