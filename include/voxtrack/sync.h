/*
 * voxtrack/sync.h - frame sets from the cameras of a rig: the frames that
 * belong to one instant, grouped by frame number.
 *
 * Each camera's source is read one frame ahead. The next frame set is the
 * smallest frame number any camera has pending; the cameras that have it
 * deliver, the others are absent from that set (a dropped frame). A camera
 * that ends or fails while others go on is dropped with a warning, and the
 * run goes on with the others; vt_sync_camera_stats() tells what each camera
 * delivered.
 */
#ifndef VOXTRACK_SYNC_H
#define VOXTRACK_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_sync vt_sync;

/* Opens every camera's frames. Fails (naming the camera) when one cannot be opened. */
VT_API vt_status vt_sync_open(const vt_rig *rig, vt_sync **out);
VT_API void vt_sync_free(vt_sync *s);

/*
 * The next frame set: images[i] (rig->count images, owned by the caller and
 * swapped with the sync's read-ahead buffers, so no pixel is copied) and
 * present[i] for the cameras that delivered frame *frame; *t is the mean of
 * their capture times. Sets *end when every camera has ended.
 */
VT_API vt_status vt_sync_next(vt_sync *s, vt_image *images, bool *present, int64_t *frame,
                              double *t, bool *end);

typedef struct vt_sync_camera_stats {
    int64_t frames;      /* frames delivered */
    int64_t first, last; /* first and last frame number delivered (-1: none) */
    bool failed;         /* dropped after an error */
    char error[256];     /* that error */
} vt_sync_camera_stats;

VT_API vt_sync_camera_stats vt_sync_camera_stats_get(const vt_sync *s, int camera);

#ifdef __cplusplus
}
#endif

#endif
