/*
 * src/pipeline/pipeline_internal.h - what the pipeline's files share.
 */
#ifndef VOXTRACK_PIPELINE_INTERNAL_H
#define VOXTRACK_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/pipeline.h"

/* The number of rig cameras the pipeline was made for. */
int vt__pipeline_camera_count(const vt_pipeline *p);

/* Checks the options against the rig as vt_pipeline_new does (the stages check the same). */
vt_status vt__pipeline_check_opts(const vt_pipeline_opts *o, const vt_rig *rig);

/*
 * Checks a set's detections against a rig of ncams cameras: every
 * detection's rays inside in->rays, every ray's camera in the rig
 * (VT_EINVAL naming the stage, the detection and what is wrong).
 */
vt_status vt__set_detections_check(const vt_set_detections *in, int ncams, const char *stage);

/* Each camera's rays of the last frame set, rig->count entries (for benchmarks). */
const vt_camera_rays *vt__pipeline_camera_rays(const vt_pipeline *p);

/*
 * poses.c: the poses of moving cameras at each frame's time (NULL *out when
 * the rig has none). apply writes position[i], q[i] and sets moved[i] for
 * every moving camera i with a frame in fs (rig->count entries each).
 */
typedef struct vt__poses vt__poses;
typedef struct vt__poses_stats {
    size_t sighted, refused; /* landmark bearings found, and refused by the filter's gate */
} vt__poses_stats;
vt__poses_stats vt__poses_get_stats(const vt__poses *ps);
vt_status vt__poses_new(const vt_rig *rig, vt__poses **out);
vt_status vt__poses_apply(vt__poses *ps, const vt_frame_set *fs, vt_vec3 *position, vt_quat *q,
                          bool *moved);
void vt__poses_free(vt__poses *ps);

/*
 * A camera whose rays come from 2D detections (stage_det2d.c): the
 * detections (borrowed; NULL: the camera takes frames), the camera's model
 * (cam.cam and cam.pair only, no paths) and the rays' arrays, reused.
 */
typedef struct vt__det2d_rays {
    const vt_det2d_list *dets;
    vt_rig_camera cam;
    vt_ray *rays;
    int32_t *area;
    size_t rays_cap, area_cap;
} vt__det2d_rays;

/* Camera i's rays of frame set fs from its detections (see vt_pipeline_set_detections). */
vt_status vt__det2d_rays_process(vt__det2d_rays *d, int i, const vt_frame_set *fs, double fps,
                                 const vt_pipeline_opts *o, vt_camera_rays *out);
void vt__det2d_rays_free(vt__det2d_rays *d);

/*
 * One frame set between the camera stages and the vote stage (pipeline.c):
 * what the camera stages made of it, so that they can go on with the next
 * set while this one is voted and tracked (vt_pipeline_run's overlap).
 */
typedef struct vt__set {
    int64_t frame;
    double t;
    double ready;              /* vt__now() when its last frame was there */
    double seconds;            /* the camera stages' time */
    vt_camera_rays *cams;      /* per camera, as the vote stage takes them */
    vt_camera_result *results; /* per camera, for the result */
    vt_ray **rays;             /* per camera: the rays' own copies (owned sets) */
    int32_t **area;
    float **raw;
    size_t *cap;
    bool owned; /* the rays are copied: the camera stages may go on */
    /* Appended for thermal fusion: per camera, the frame it looks at in the back (NULL:
       none), the caller's own or, in owned sets, copies (the frame slots go back). */
    const vt_image **frames;
    vt_image *copies;
} vt__set;

vt_status vt__set_init(vt__set *set, int ncams, bool owned);
void vt__set_free(vt__set *set, int ncams);

/*
 * The front of vt_pipeline_process: checks the set's time, moves the moving
 * cameras and runs the camera stages (in parallel) into *set. `ready` is when
 * the set's last frame was there (vt__now()). Only one thread at a time runs
 * the front, and another may run the back meanwhile: they share nothing.
 */
vt_status vt__pipeline_front(vt_pipeline *p, const vt_frame_set *fs, double ready, vt__set *set);

/* The back: voting, detection and tracking of *set, in set order; fills *res. */
vt_status vt__pipeline_back(vt_pipeline *p, const vt__set *set, vt_pipeline_result *res);

/* Whether vt_pipeline_run overlaps the camera stages with voting (opts.overlap). */
bool vt__pipeline_overlap(const vt_pipeline *p);

#endif
