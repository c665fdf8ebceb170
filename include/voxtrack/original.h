/*
 * voxtrack/original.h - the original projector's single-precision
 * arithmetic, reproduced operation for operation.
 *
 * The original ray_voxel computes its rotation, its pixel rays and its DDA in
 * float. Its DDA accumulates the next-boundary parameters in float, so along
 * a long ray it drifts by up to a few centimetres and, where the ray passes
 * that close to a voxel edge, steps into a different neighbour than the exact
 * traversal (vt_dda_*) does: on a 4-camera 1280x720 dataset 6% of the
 * touched voxels differ. `voxtrack project` uses these functions by default so
 * that its voxel_grid.bin equals the original's bit for bit; `--traversal
 * exact` selects the exact traversal instead. The one deliberate difference:
 * a ray entering through a +x, +y or +z face starts in the last layer instead
 * of being dropped.
 */
#ifndef VOXTRACK_ORIGINAL_H
#define VOXTRACK_ORIGINAL_H

#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/grid.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_original_camera {
    float r[9];  /* R = Rz(yaw) * Ry(roll) * Rx(pitch), row-major, in float */
    float focal; /* (width * 0.5) / tan(fov / 2), in float */
    float position[3];
    int width, height;
} vt_original_camera;

/* Builds the camera from degrees exactly as the original (values rounded to float first). */
VT_API void vt_original_camera_init(vt_original_camera *c, int width, int height, double fov_deg,
                                    double yaw_deg, double pitch_deg, double roll_deg,
                                    const double position[3]);

/* The original's unit world direction of pixel (u, v). */
VT_API void vt_original_pixel_dir(const vt_original_camera *c, int u, int v, float dir[3]);

/*
 * Casts a ray with the original's float DDA (strict comparisons, ties to z,
 * then y; stops when the next boundary lies beyond the grid's exit) and adds
 * `weight` to every voxel it visits. The grid must be cubic.
 */
VT_API vt_status vt_grid_cast_original(vt_grid *g, const float origin[3], const float dir[3],
                                       uint64_t weight, uint64_t *steps);

#ifdef __cplusplus
}
#endif

#endif
