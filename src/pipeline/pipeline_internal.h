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

#endif
