/*
 * src/detect/detect_internal.h - what detect.c and raymeet.c share (never
 * installed).
 */
#ifndef VOXTRACK_DETECT_INTERNAL_H
#define VOXTRACK_DETECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/detect.h"

/*
 * vt_rays_meet() without checking its inputs and without setting the
 * thread's error message: near-parallel rays are an ordinary outcome for the
 * detection stage (it drops the cluster), not an error to report. The rays
 * must have unit directions and sigma > 0; n >= 2; index NULL means rays[0..n).
 */
vt_status vt__rays_meet(const vt_ray *rays, const uint32_t *index, size_t n, vt_vec3 *pos,
                        double cov[6], double *residual);

#endif
