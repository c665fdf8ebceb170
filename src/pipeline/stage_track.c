/*
 * src/pipeline/stage_track.c - the last stage of the pipeline (see
 * vt_track_stage in voxtrack/pipeline.h): the tracker, then what the
 * pipeline adds to its tracks.
 *
 * Confirmation is held back until a track has taken a detection seen by
 * confirm_cameras cameras, or confirm_hits detections: ghosts (rays of
 * different targets that happen to cross) are nearly always seen by just K
 * cameras and seldom last, real targets are soon seen by more, or keep being
 * seen. A confirmed track whose motion is erratic (high accel_rms) or whose
 * brightness flickers (flapping wings) is called a bird.
 *
 * The flicker follows each detection's brightness into the track that took
 * it: for each mono camera that saw the track in this frame set and the last
 * one, the change of the logarithm of its blob sum (of the unfiltered
 * differences: vt_detection_ray.raw) in units of what the
 * sensor noise alone would give (a blob of A pixels in a camera of noise
 * sigma sums noise of variance A sigma^2); their mean square is followed as
 * a running mean. A drone scores about 1; a bird whose wings flap (a few Hz)
 * and that is bright enough for it to show, far more.
 *
 * With thermal fusion (docs/FUSION.md), each track also counts the
 * detections it took that a thermal camera could have seen and those that
 * were confirmed; a track that thermal keeps failing to confirm
 * (fusion.min_confirm_rate of fusion.min_observed) is reported tentative.
 *
 * What the stage keeps per track lives only as long as the track: an array
 * of the live tracks' states sorted by id, rebuilt after each update from the
 * previous one (a merge of two sorted lists). Track ids only grow, so state
 * indexed by id would grow with every track ever made (a soak showed it:
 * 4 MiB more every few minutes of a scene whose targets keep coming).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "pipeline/pipeline_internal.h"

/* How a track looks from frame set to frame set (see the top of the file). */
typedef struct track_look {
    float sum[64];    /* per camera: blob sum in the last detection, 0: not seen */
    float relvar[64]; /* its relative variance from the noise */
    float msq;        /* running mean of (ln change)^2 / its noise variance */
    int n;            /* changes seen */
} track_look;

/* What the stage keeps of a live track. */
typedef struct track_state {
    uint64_t id;
    uint8_t max_cams; /* the most cameras of a detection it took */
    track_look look;
    vt_track_fusion fusion; /* its running thermal confirmation (docs/FUSION.md) */
    int nratio;             /* detections in fusion.ratio's mean */
} track_state;

struct vt_track_stage {
    vt_pipeline_opts o;
    int ncams;
    uint64_t mono; /* bit c: camera c is mono */
    vt_tracker *tracker;
    vt_target_class *classes;
    size_t classes_cap;
    vt_track *tracks; /* the tracker's tracks as reported (status may be held back) */
    size_t tracks_cap;
    track_state *states; /* the live tracks', sorted by id */
    size_t nstates, states_cap;
    track_state *spare; /* the previous update's, while the new list is made */
    size_t spare_cap;
    float *flicker; /* per reported track */
    size_t flicker_cap;
    vt_track_fusion *fusion; /* per reported track */
    size_t fusion_cap;
};

vt_status vt_track_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, vt_track_stage **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_track_stage_new: out is NULL");
    *out = NULL;
    vt_pipeline_opts o = opts ? *opts : vt_pipeline_opts_default();
    vt_status s = vt__pipeline_check_opts(&o, rig);
    if (s)
        return s;
    vt_track_stage *t = calloc(1, sizeof *t);
    if (!t)
        return vt__error(VT_ENOMEM, "track stage: out of memory");
    t->o = o;
    t->ncams = rig->count;
    for (int i = 0; i < rig->count; i++)
        if (rig->cameras[i].modality == VT_MODALITY_MONO)
            t->mono |= 1ull << i;
    s = vt_tracker_new(&o.tracker, &t->tracker);
    if (s) {
        free(t);
        return s;
    }
    *out = t;
    return VT_OK;
}

void vt_track_stage_free(vt_track_stage *t)
{
    if (!t)
        return;
    vt_tracker_free(t->tracker);
    free(t->classes);
    free(t->tracks);
    free(t->states);
    free(t->spare);
    free(t->flicker);
    free(t->fusion);
    free(t);
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const track_state *)a)->id, y = ((const track_state *)b)->id;
    return (x > y) - (x < y);
}

/* The state of the live track `id`, or NULL. */
static track_state *state_of(const vt_track_stage *t, uint64_t id)
{
    track_state key = {.id = id};
    return bsearch(&key, t->states, t->nstates, sizeof *t->states, by_id);
}

/*
 * Makes the state list that of the tracks the tracker has now: a track's
 * state carries over, a new track's starts from zero, a deleted track's goes.
 */
static vt_status keep_live_states(vt_track_stage *t, const vt_track *tracks, size_t n)
{
    if (vt__grow(&t->spare, &t->spare_cap, n ? n : 1, sizeof *t->spare))
        return vt__error(VT_ENOMEM, "track stage: out of memory");
    for (size_t i = 0; i < n; i++)
        t->spare[i] = (track_state){.id = tracks[i].id, .fusion = {.rate = NAN, .ratio = NAN}};
    qsort(t->spare, n, sizeof *t->spare, by_id);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < t->nstates && t->states[j].id < t->spare[i].id)
            j++;
        if (j < t->nstates && t->states[j].id == t->spare[i].id)
            t->spare[i] = t->states[j];
    }
    track_state *swap = t->states;
    size_t cap = t->states_cap;
    t->states = t->spare;
    t->states_cap = t->spare_cap;
    t->spare = swap;
    t->spare_cap = cap;
    t->nstates = n;
    return VT_OK;
}

vt_status vt__set_detections_check(const vt_set_detections *in, int ncams, const char *stage)
{
    if (in->ndetections && !in->detections)
        return vt__error(VT_EINVAL, "%s: %zu detections but no array", stage, in->ndetections);
    for (size_t i = 0; i < in->ndetections; i++) {
        const vt_detection *d = &in->detections[i];
        if (d->nrays < 0 || d->first_ray < 0 || (size_t)d->first_ray > in->nrays ||
            (size_t)d->nrays > in->nrays - (size_t)d->first_ray || (d->nrays && !in->rays))
            return vt__error(VT_EINVAL, "%s: detection %zu: rays %d..%d of %zu", stage, i,
                             d->first_ray, d->first_ray + d->nrays, in->nrays);
        for (int k = 0; k < d->nrays; k++)
            if (in->rays[d->first_ray + k].camera >= ncams)
                return vt__error(VT_EINVAL, "%s: detection %zu: camera %u not in the rig", stage, i,
                                 (unsigned)in->rays[d->first_ray + k].camera);
    }
    return VT_OK;
}

/* Follows each detection's brightness into the track that took it (see the top of the file). */
static void update_looks(vt_track_stage *t, const vt_set_detections *in)
{
    size_t n = 0;
    const uint64_t *ids = vt_tracker_assignments(t->tracker, &n);
    for (size_t i = 0; i < n && i < in->ndetections; i++) {
        track_state *st = ids[i] ? state_of(t, ids[i]) : NULL;
        if (!st)
            continue;
        track_look *l = &st->look;
        const vt_detection *d = &in->detections[i];
        float sum[64] = {0}, relvar[64] = {0};
        double z2 = 0.0;
        int m = 0;
        for (int k = 0; k < d->nrays; k++) {
            const vt_detection_ray *r = &in->rays[d->first_ray + k];
            /* area 0: a ray of a 2D detector's detection, which has no brightness */
            if (!(t->mono >> r->camera & 1) || r->raw <= 0.0f || r->area <= 0)
                continue;
            float sigma = r->noise;
            sum[r->camera] = r->raw;
            relvar[r->camera] = sigma * sigma * (float)r->area / (r->raw * r->raw);
            if (l->sum[r->camera] > 0.0f) {
                float ch = logf(r->raw / l->sum[r->camera]);
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
}

/* Folds each detection's thermal record into the track that took it (docs/FUSION.md). */
static void update_fusion(vt_track_stage *t, const vt_set_detections *in)
{
    size_t n = 0;
    const uint64_t *ids = vt_tracker_assignments(t->tracker, &n);
    for (size_t i = 0; in->fusion && i < n && i < in->ndetections; i++) {
        track_state *st = ids[i] ? state_of(t, ids[i]) : NULL;
        const vt_fusion_record *r = &in->fusion[i];
        if (!st || r->verdict == VT_FUSION_NOT_OBSERVABLE)
            continue;
        vt_track_fusion *f = &st->fusion;
        f->observed++;
        f->confirmed += r->verdict == VT_FUSION_CONFIRMED;
        f->rate = (float)f->confirmed / (float)f->observed;
        if (isfinite(r->ratio)) {
            st->nratio++;
            f->ratio = st->nratio == 1 ? r->ratio : f->ratio + (r->ratio - f->ratio) / st->nratio;
        }
    }
}

/* Holds back confirmation and classifies the tracks (see the top of the file). */
static vt_status report(vt_track_stage *t, const vt_track *tracks, size_t n)
{
    if (vt__grow(&t->classes, &t->classes_cap, n ? n : 1, sizeof *t->classes) ||
        vt__grow(&t->tracks, &t->tracks_cap, n ? n : 1, sizeof *t->tracks) ||
        vt__grow(&t->flicker, &t->flicker_cap, n ? n : 1, sizeof *t->flicker) ||
        vt__grow(&t->fusion, &t->fusion_cap, n ? n : 1, sizeof *t->fusion))
        return vt__error(VT_ENOMEM, "track stage: out of memory");
    for (size_t i = 0; i < n; i++) {
        vt_track k = tracks[i];
        track_state *st = state_of(t, k.id); /* never NULL: the list is of these tracks */
        if (k.misses == 0 && k.cams > st->max_cams)
            st->max_cams = (uint8_t)(k.cams > 255 ? 255 : k.cams);
        if (k.status != VT_TRACK_TENTATIVE && st->max_cams < t->o.confirm_cameras &&
            k.hits < t->o.confirm_hits)
            k.status = VT_TRACK_TENTATIVE;
        /* Fusion's track rule: thermal keeps failing to confirm what it should see. */
        const vt_track_fusion *fu = &st->fusion;
        const vt_fusion_opts *fo = &t->o.fusion;
        if (t->o.fuse && fo->min_observed > 0 && fu->observed >= fo->min_observed &&
            fu->confirmed < fo->min_confirm_rate * fu->observed)
            k.status = VT_TRACK_TENTATIVE;
        t->fusion[i] = *fu;
        const track_look *l = &st->look;
        float flicker = l->n > 0 ? sqrtf(l->msq) : 0.0f;
        t->flicker[i] = flicker;
        bool old_enough = k.age >= t->o.bird_min_age && l->n >= t->o.bird_min_age / 2;
        bool cool = t->o.fuse && fo->bird_ratio > 0.0 && st->nratio >= t->o.bird_min_age / 2 &&
                    fu->ratio < fo->bird_ratio; /* warm for mono, cool for thermal: a bird */
        bool bird =
            old_enough && ((t->o.bird_accel > 0.0 && k.accel_rms > t->o.bird_accel) ||
                           (t->o.bird_flicker > 0.0 && flicker > t->o.bird_flicker) || cool);
        t->classes[i] = bird ? VT_CLASS_BIRD : VT_CLASS_DRONE;
        t->tracks[i] = k;
    }
    return VT_OK;
}

vt_status vt_track_stage_process(vt_track_stage *t, double time, const vt_set_detections *dets,
                                 vt_track_output *out)
{
    if (!t || !dets || !out)
        return vt__error(VT_EINVAL, "vt_track_stage_process: NULL argument");
    memset(out, 0, sizeof *out);
    vt_status s = vt__set_detections_check(dets, t->ncams, "track stage");
    if (!s)
        s = vt_tracker_update(t->tracker, time, dets->detections, dets->ndetections);
    size_t ntracks = 0;
    const vt_track *tracks = s ? NULL : vt_tracker_tracks(t->tracker, &ntracks);
    if (!s)
        s = keep_live_states(t, tracks, ntracks);
    if (!s) {
        update_looks(t, dets);
        update_fusion(t, dets);
        s = report(t, tracks, ntracks);
    }
    if (s)
        return s;
    out->tracks = t->tracks;
    out->classes = t->classes;
    out->flicker = t->flicker;
    out->fusion = t->fusion;
    out->ntracks = ntracks;
    return VT_OK;
}
