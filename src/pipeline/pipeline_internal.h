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

#endif
