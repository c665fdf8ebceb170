/*
 * src/sim/sim_source.c - the simulator as a frame source: one camera of a
 * scenario, rendered frame by frame as a real camera would deliver it (see
 * vt_source_open_sim in voxtrack/simulate.h).
 *
 * The idea is that nothing downstream can tell it from a camera: frames come
 * in order, each at the camera's own capture time (vt_scenario_frame_time:
 * nominal time plus the camera's clock offset and jitter), and the frames
 * the scenario drops are simply never delivered (counted as lost, as a GigE
 * camera's missing block ids are). So the sync meets the scenario's timing
 * faults exactly as it would meet a real rig's. Each source has a renderer
 * of its own (the renderer keeps per-camera state, and a camera on a moving
 * platform needs its pose set before each frame), so that the sync can read
 * the cameras on different threads at once (`voxtrack demo` does). The
 * renderer uses OpenMP's default thread count: read alone, one frame is
 * spread over the cores; inside the sync's parallel reads OpenMP's nested
 * regions are inactive, so each camera is drawn on its own thread.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/simulate.h"

typedef struct sim_state {
    const vt_scenario *sc;
    int camera;
    vt_renderer *r;
    vt_render_target *targets;
    size_t ntargets;
    int64_t next, frames, dropped;
    bool moving;
    vt_sim_snr_fn snr_fn;
    void *snr_user;
} sim_state;

static void sim_free(void *state)
{
    sim_state *s = state;
    if (!s)
        return;
    vt_renderer_free(s->r);
    free(s->targets);
    free(s);
}

static void sim_stats(const void *state, vt_source_stats *st)
{
    const sim_state *s = state;
    st->lost = s->dropped;
}

static vt_status sim_read(void *state, vt_image *img, int64_t *frame, double *t, bool *end)
{
    sim_state *s = state;
    for (; s->next < s->frames; s->next++) {
        int64_t f = s->next;
        double when;
        if (!vt_scenario_frame_time(s->sc, s->camera, f, &when)) {
            s->dropped++;
            continue;
        }
        vt_status st = VT_OK;
        if (s->moving) {
            vt_camera cam;
            st = vt_scenario_camera_at(s->sc, s->camera, when, &cam);
            if (!st)
                st = vt_renderer_set_pose(s->r, s->camera, cam.position, cam.q);
        }
        vt_scenario_targets(s->sc, when, s->targets, NULL);
        if (!st)
            st = vt_renderer_draw(s->r, s->camera, f, when, s->targets, s->ntargets, img);
        if (st)
            return vt__error_prefix(st, "camera %d ('%s'): simulated frame %lld", s->camera,
                                    vt_scenario_rig(s->sc)->cameras[s->camera].id, (long long)f);
        if (s->snr_fn) {
            size_t n = 0;
            const float *snr = vt_renderer_snr(s->r, s->camera, &n);
            s->snr_fn(s->snr_user, s->camera, f, when, snr, n);
        }
        s->next = f + 1;
        *frame = f;
        *t = when;
        return VT_OK;
    }
    *end = true;
    return VT_OK;
}

static const vt__source_backend sim_backend = {
    .name = "sim", .read = sim_read, .stats = sim_stats, .free = sim_free};

vt_status vt_source_open_sim(const vt_scenario *sc, int camera, vt_source **out)
{
    return vt_source_open_sim_snr(sc, camera, NULL, NULL, out);
}

vt_status vt_source_open_sim_snr(const vt_scenario *sc, int camera, vt_sim_snr_fn fn, void *user,
                                 vt_source **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "sim source: NULL output");
    *out = NULL;
    if (!sc)
        return vt__error(VT_EINVAL, "sim source: no scenario");
    const vt_rig *rig = vt_scenario_rig(sc);
    if (camera < 0 || camera >= rig->count)
        return vt__error(VT_EINVAL, "sim source: no camera %d in the scenario (%d cameras)", camera,
                         rig->count);
    sim_state *s = calloc(1, sizeof *s);
    if (!s)
        return vt__error(VT_ENOMEM, "sim source: out of memory");
    s->sc = sc;
    s->camera = camera;
    s->snr_fn = fn;
    s->snr_user = user;
    s->frames = vt_scenario_frames(sc);
    s->moving = vt_scenario_has_platforms(sc);
    s->ntargets = vt_scenario_target_count(sc);
    s->targets = malloc((s->ntargets ? s->ntargets : 1) * sizeof *s->targets);
    vt_render_opts ro = vt_scenario_render_opts(sc);
    ro.threads = 0; /* one frame at a time: spread it over the threads */
    vt_status st = s->targets ? vt_renderer_new(&ro, rig, &s->r)
                              : vt__error(VT_ENOMEM, "sim source: out of memory");
    char label[96];
    snprintf(label, sizeof label, "camera %d ('%s')", camera, rig->cameras[camera].id);
    if (st) {
        sim_free(s);
        return vt__error_prefix(st, "%s", label);
    }
    return vt__source_wrap(&sim_backend, s, label, out);
}
