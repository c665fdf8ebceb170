/*
 * voxtrack/motion.h - change detection: |current - background| > threshold,
 * compacted into a list of changed pixels with their differences.
 *
 * The hot loop reads both frames once, in 64-pixel chunks, and forms a bit
 * mask per chunk with branch-free code that the compiler vectorises; chunks
 * without a change cost nothing more. Bands of rows run in parallel (OpenMP);
 * each band fills its own part of the list and the parts are joined in row
 * order, so the output does not depend on the number of threads.
 */
#ifndef VOXTRACK_MOTION_H
#define VOXTRACK_MOTION_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The changed pixels of one frame, in raster order. index[i] = y * width + x;
 * diff[i] = |current - background| at that pixel (> threshold). The list owns
 * its arrays and reuses them from call to call; capacity only grows.
 */
typedef struct vt_change_list {
    size_t count;
    size_t capacity;
    int width, height;
    uint32_t *index;
    float *diff;
} vt_change_list;

/* Frees the arrays and zeroes the list. */
VT_API void vt_change_list_free(vt_change_list *l);

/*
 * Appends to nothing: replaces the contents of *out with the pixels where
 * |cur - prev| > threshold. Both images must have the same size and depth
 * (VT_EMISMATCH otherwise). threshold may be any finite value >= 0.
 * threads <= 0 uses OpenMP's default.
 */
VT_API vt_status vt_motion_detect(const vt_image *prev, const vt_image *cur, float threshold,
                                  int threads, vt_change_list *out);

/*
 * The same on float images (width * height values, contiguous), for inputs
 * that carry noise or a running-average background.
 */
VT_API vt_status vt_motion_detect_f32(const float *prev, const float *cur, int width, int height,
                                      float threshold, int threads, vt_change_list *out);

#ifdef __cplusplus
}
#endif

#endif
