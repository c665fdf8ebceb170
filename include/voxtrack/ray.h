/*
 * voxtrack/ray.h - a ray in the world: what one camera says about one
 * observation (a blob centroid or a changed pixel). Rays are what the voting
 * and detection stages consume.
 */
#ifndef VOXTRACK_RAY_H
#define VOXTRACK_RAY_H

#include <stdint.h>

#include "voxtrack/math3d.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_ray {
    vt_vec3 origin;  /* camera centre, world metres */
    vt_vec3 dir;     /* unit direction, world */
    float weight;    /* vote weight, > 0 (blob intensity sum or pixel difference) */
    float sigma;     /* angular standard deviation of the direction, radians (> 0) */
    uint16_t camera; /* rig camera index, < 64 */
    uint16_t pair;   /* rig pair index */
    uint32_t blob;   /* index of the blob (or pixel) within its camera's list */
} vt_ray;

#ifdef __cplusplus
}
#endif

#endif
