/*
 * voxtrack/sync.h - frame sets from N cameras: the frames that belong to one
 * instant, grouped by capture time within a tolerance (docs/SYNC.md).
 *
 * Frame sets lie on a grid of period 1 / fps: set k has the time
 * t_k = phase + k / fps, where the phase is set from the first frames (so
 * frames captured at n / fps land in set n, as the timestamps files and the
 * simulator number them) and then follows the cameras' clocks slowly. A
 * frame lands in the set whose time is nearest, if it is within the
 * tolerance of it. A camera with no frame for a set leaves that set
 * incomplete, and the pipeline goes on with the cameras present.
 *
 * Frames that cannot land are dropped, counted per camera, and reported by
 * one warning per camera and kind: late (its set was already delivered),
 * duplicate (the same time as this camera's previous frame), backwards
 * (earlier than this camera's previous frame), outside (farther than the
 * tolerance from every set). A camera that ends or fails while others go on
 * is dropped with a warning; vt_sync_camera_stats_get() tells what each
 * camera delivered and lost.
 */
#ifndef VOXTRACK_SYNC_H
#define VOXTRACK_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/rig.h"
#include "voxtrack/source.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_sync vt_sync;

typedef struct vt_sync_opts {
    double tolerance_s;           /* a frame lands in a set when within this of its time, seconds;
                                     <= 0: half a period, 0.5 / fps (the default) */
    double follow;                /* how fast the grid's phase follows the cameras: the fraction
                                     of a set's median sync error added to the phase after each
                                     set, 0..1 (default 0.05; 0: a fixed grid) */
    int reorder;                  /* frames held per camera beyond the next one, so that frames
                                     delivered out of order by up to this many are put back in
                                     order (default 0: each camera's frames must come in order) */
    int read_threads;             /* cameras read at the same time when the sync needs frames of
                                     several (each source on one thread at a time): <= 0, the
                                     number of cameras capped at the cores (the default); 1, one
                                     camera after another. The frame sets, statistics and
                                     messages are the same for any value. */
    const vt_source_opts *source; /* vt_sync_open's source options (NULL: defaults) */
} vt_sync_opts;

VT_API vt_sync_opts vt_sync_opts_default(void);

/*
 * Syncs n already opened sources (cameras 0..n-1, any backend) at fps frame
 * sets per second. Takes ownership of every source, even on failure (they
 * are freed with the sync). opts may be NULL (defaults); it is copied.
 * VT_EINVAL for n <= 0, fps <= 0, a NULL source or options out of range.
 */
VT_API vt_status vt_sync_new(const vt_sync_opts *opts, vt_source **sources, int n, double fps,
                             vt_sync **out);

/*
 * Opens every camera of the rig (vt_source_open_opts with opts->source) and
 * syncs them at the rig's fps (30 when it has none). The rig must outlive
 * the sync. Fails, naming the camera, when one cannot be opened.
 */
VT_API vt_status vt_sync_open(const vt_rig *rig, const vt_sync_opts *opts, vt_sync **out);

/* Frees the sync and its sources. Accepts NULL. */
VT_API void vt_sync_free(vt_sync *s);

/*
 * The next frame set: for each camera i (of n), present[i] when it delivered
 * a frame to this set; then images[i] holds it (the caller's image is
 * swapped with the sync's read-ahead buffer: no pixel is copied) and
 * times[i] its capture time (times may be NULL). *frame is the set's number
 * k and *t its time t_k. Sets *end when every camera has ended. A frame of
 * the wrong size from an image sequence, or as a camera's first frame, is
 * an error (the rig does not describe its cameras); any other failure of a
 * camera drops it. The cameras are read in parallel (opts.read_threads,
 * OpenMP), then their frames are grouped in camera order, so the result does
 * not depend on the thread count. Not thread safe: one caller at a time.
 */
VT_API vt_status vt_sync_next(vt_sync *s, vt_image *images, bool *present, double *times,
                              int64_t *frame, double *t, bool *end);

/* The tolerance in use, seconds. */
VT_API double vt_sync_tolerance(const vt_sync *s);

/* The number of threads that read the cameras (opts.read_threads resolved), >= 1. */
VT_API int vt_sync_read_threads(const vt_sync *s);

typedef struct vt_sync_camera_stats {
    int64_t frames;      /* frames delivered in frame sets */
    int64_t first, last; /* first and last frame set it delivered to (-1: none) */
    int64_t drops;       /* frame sets delivered without a frame of this camera */
    int64_t late;        /* frames whose set had been delivered already */
    int64_t duplicates;  /* frames with the same time as its previous frame */
    int64_t backwards;   /* frames earlier than its previous frame */
    int64_t outside;     /* frames farther than the tolerance from every set */
    double sync_error_mean, sync_error_max; /* |t_frame - t_set| of delivered frames, s */
    bool failed;                            /* dropped after an error */
    char error[256];                        /* that error */
    vt_source_stats source; /* its source's own counters (corrupt, lost, reconnects, ...) */
} vt_sync_camera_stats;

/* What camera `camera` delivered and lost so far (zeros, first = last = -1, when out of range). */
VT_API vt_sync_camera_stats vt_sync_camera_stats_get(const vt_sync *s, int camera);

#ifdef __cplusplus
}
#endif

#endif
