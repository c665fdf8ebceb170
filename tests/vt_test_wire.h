/*
 * tests/vt_test_wire.h - a made-up pipeline result for the stream tests
 * (test_wire, test_streamer): n tracks and detections with distinct,
 * seed-derived values, and a rig of `ncams` cameras with an optional
 * geodetic origin. Include after <cmocka.h> and vt_test.h.
 */
#ifndef VT_TEST_WIRE_H
#define VT_TEST_WIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"

typedef struct vt_test_result {
    vt_pipeline_result r;
    vt_track *tracks;
    vt_target_class *classes;
    float *flicker;
    vt_detection *dets;
    vt_camera_result *cams;
} vt_test_result;

static inline void vt_test_result_make(vt_test_result *t, size_t n, int ncams, int64_t frame)
{
    memset(t, 0, sizeof *t);
    t->tracks = calloc(n ? n : 1, sizeof *t->tracks);
    t->classes = calloc(n ? n : 1, sizeof *t->classes);
    t->flicker = calloc(n ? n : 1, sizeof *t->flicker);
    t->dets = calloc(n ? n : 1, sizeof *t->dets);
    t->cams = calloc((size_t)(ncams ? ncams : 1), sizeof *t->cams);
    for (size_t i = 0; i < n; i++) {
        vt_track *k = &t->tracks[i];
        k->id = 1000 + i;
        k->status = (vt_track_status)(i % 3);
        k->pos = (vt_vec3){vt_test_uniform(-2000, 2000), vt_test_uniform(-2000, 2000),
                           vt_test_uniform(20, 500)};
        k->vel =
            (vt_vec3){vt_test_uniform(-20, 20), vt_test_uniform(-20, 20), vt_test_uniform(-5, 5)};
        for (int c = 0; c < 6; c++)
            k->cov[c] = 0.01 * (c + 1) + 0.001 * (double)i;
        k->cams = 3 + (int)(i % 5);
        k->thermal = (int)(i % 2);
        k->thermal_hits = (int)(i % 4);
        k->camera_mask = 0x5ull << (i % 40);
        k->hits = 1 + (int)i;
        k->misses = (int)(i % 3 == 2);
        k->age = 2 + (int)i;
        k->accel_rms = (float)(0.5 + 0.01 * (double)i);
        t->classes[i] = i % 7 == 0 ? VT_CLASS_BIRD : VT_CLASS_DRONE;
        t->flicker[i] = (float)(0.25 * (double)(i % 9));
        vt_detection *d = &t->dets[i];
        d->pos = k->pos;
        memcpy(d->cov, k->cov, sizeof d->cov);
        d->residual = 0.1;
        d->weight = 4.5f;
        d->cameras = 0x2Bull << (i % 8);
        d->ncameras = 4;
        d->nthermal = 1;
        d->nrays = 5;
    }
    for (int c = 0; c < ncams; c++) {
        t->cams[c].present = c != 1;
        t->cams[c].sync_error = c == 1 ? 0.0 : 0.001 * c;
        t->cams[c].changes = 100u * (size_t)c;
        t->cams[c].blobs = (size_t)c;
        t->cams[c].rays = (size_t)c;
    }
    t->r.frame = frame;
    t->r.t = 12.5 + (double)frame / 30.0;
    t->r.tracks = t->tracks;
    t->r.classes = t->classes;
    t->r.flicker = t->flicker;
    t->r.ntracks = n;
    t->r.detections = t->dets;
    t->r.ndetections = n;
    t->r.cameras = t->cams;
    t->r.ncameras = ncams;
    t->r.cameras_live = ncams > 1 ? ncams - 1 : ncams;
    t->r.seconds = 0.02;
    for (int s = 0; s < 4; s++)
        t->r.stage_seconds[s] = 0.001 * (s + 1);
}

static inline void vt_test_result_free(vt_test_result *t)
{
    free(t->tracks);
    free(t->classes);
    free(t->flicker);
    free(t->dets);
    free(t->cams);
    memset(t, 0, sizeof *t);
}

/* A rig of ncams cameras "c0".."cN" (only ids matter to the encoder). */
static inline void vt_test_rig_make(vt_rig *rig, int ncams, bool origin)
{
    vt_rig_init(rig);
    for (int c = 0; c < ncams; c++) {
        vt_rig_camera cam;
        memset(&cam, 0, sizeof cam);
        snprintf(cam.id, sizeof cam.id, "c%d", c);
        cam.bits = 8;
        assert_int_equal(vt_rig_add(rig, &cam), VT_OK);
    }
    if (origin) {
        rig->has_origin = true;
        rig->lat_deg = 51.5;
        rig->lon_deg = -1.25;
        rig->height_m = 100.0;
    }
}

#endif
