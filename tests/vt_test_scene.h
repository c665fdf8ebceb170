/*
 * tests/vt_test_scene.h - a preset scene rendered in memory once, for tests
 * that feed the pipeline (or its stages) frame by frame.
 *
 * Include after <cmocka.h>. Everything is static so that a test that uses
 * only part of it compiles without warnings.
 */
#ifndef VT_TEST_SCENE_H
#define VT_TEST_SCENE_H

#include <stdbool.h>
#include <stdlib.h>

#include "voxtrack/voxtrack.h"

typedef struct vt_test_scene {
    vt_scenario *sc;
    const vt_rig *rig;
    int cams, frames;
    vt_image *images; /* [frame * cams + camera] */
    bool *present;
} vt_test_scene;

/* Renders `frames` frames of every camera of preset `name`; 0 on success. */
static inline int vt_test_scene_render(vt_test_scene *g, const char *name, int frames)
{
    if (vt_scenario_preset(name, &g->sc) || vt_scenario_set_frames(g->sc, frames))
        return -1;
    g->rig = vt_scenario_rig(g->sc);
    g->cams = g->rig->count;
    g->frames = frames;
    size_t ntargets = vt_scenario_target_count(g->sc);
    vt_render_opts ro = vt_scenario_render_opts(g->sc);
    vt_renderer *r = NULL;
    if (vt_renderer_new(&ro, g->rig, &r))
        return -1;
    g->images = calloc((size_t)(frames * g->cams), sizeof *g->images);
    g->present = calloc((size_t)(frames * g->cams), sizeof *g->present);
    vt_render_target *tg = malloc((ntargets ? ntargets : 1) * sizeof *tg);
    int rc = g->images && g->present && tg ? 0 : -1;
    for (int n = 0; !rc && n < frames; n++)
        for (int c = 0; !rc && c < g->cams; c++) {
            double t;
            if (!vt_scenario_frame_time(g->sc, c, n, &t))
                continue;
            vt_scenario_targets(g->sc, t, tg, NULL);
            rc = vt_renderer_draw(r, c, n, t, tg, ntargets, &g->images[n * g->cams + c]) ? -1 : 0;
            g->present[n * g->cams + c] = true;
        }
    free(tg);
    vt_renderer_free(r);
    return rc;
}

static inline void vt_test_scene_free(vt_test_scene *g)
{
    for (int i = 0; g->images && i < g->frames * g->cams; i++)
        vt_image_free(&g->images[i]);
    free(g->images);
    free(g->present);
    vt_scenario_free(g->sc);
}

/* Camera c's frame n, or NULL when it has none. */
static inline const vt_image *vt_test_scene_image(const vt_test_scene *g, int n, int c)
{
    return g->present[n * g->cams + c] ? &g->images[n * g->cams + c] : NULL;
}

/* The pipeline's options for the scene (its volume), with `threads`. */
static inline vt_pipeline_opts vt_test_scene_opts(const vt_test_scene *g, int threads)
{
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(g->sc, &o.volume_min, &o.volume_max);
    o.threads = threads;
    return o;
}

#endif
