/*
 * src/pipeline/pipeline_internal.h - what the pipeline's files share.
 */
#ifndef VOXTRACK_PIPELINE_INTERNAL_H
#define VOXTRACK_PIPELINE_INTERNAL_H

#include "voxtrack/pipeline.h"

/* The number of rig cameras the pipeline was made for. */
int vt__pipeline_camera_count(const vt_pipeline *p);

#endif
