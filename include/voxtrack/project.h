/*
 * voxtrack/project.h - the original Pixeltovoxelprojector (`ray_voxel`) as a
 * library call: frames of several cameras, consecutive frames differenced,
 * one ray per changed pixel, every voxel on the ray gets the difference.
 *
 * Input is the original's metadata.json: an array of entries
 *   {"camera_index", "frame_index", "camera_position": [x, y, z],
 *    "yaw", "pitch", "roll", "fov_degrees", "image_file"}
 * Frames are grouped per camera (cameras in increasing index), sorted by
 * frame_index (stable), and each consecutive pair is cast from the later
 * frame's pose. Differences from the original are listed in docs/PROJECT.md.
 */
#ifndef VOXTRACK_PROJECT_H
#define VOXTRACK_PROJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/grid.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of metadata.json. */
typedef struct vt_frame_meta {
    int camera_index;
    int frame_index;
    vt_vec3 position;
    double yaw, pitch, roll; /* degrees */
    double fov_deg;          /* horizontal field of view, degrees */
    char *image_file;        /* relative to the image folder */
    int entry;               /* position in the JSON array, for messages */
} vt_frame_meta;

typedef struct vt_metadata {
    size_t count;
    vt_frame_meta *frames; /* in file order */
} vt_metadata;

/*
 * Reads and validates metadata.json. Every field is required and must have
 * the right type and range (fov in (0, 180), finite numbers); an error names
 * the file, the entry index and the field, and JSON syntax errors their line
 * and column. On failure *out is left empty.
 */
VT_API vt_status vt_metadata_load(const char *path, vt_metadata *out);
VT_API void vt_metadata_free(vt_metadata *m);

typedef struct vt_project_progress {
    int pairs_done, pairs_total; /* frame pairs cast so far / in all */
    uint64_t rays;               /* rays cast so far */
} vt_project_progress;

/* How rays are walked through the grid. */
typedef enum vt_traversal {
    VT_TRAVERSAL_ORIGINAL = 0, /* the original's float arithmetic: its grid, bit for bit */
    VT_TRAVERSAL_EXACT = 1     /* the exact double-precision DDA (voxtrack/dda.h) */
} vt_traversal;

typedef struct vt_project_opts {
    vt_traversal traversal; /* default VT_TRAVERSAL_ORIGINAL */
    double threshold;       /* a pixel changed when |diff| > threshold; default 2.0 */
    double noise;           /* uniform noise in [-noise, noise] added to pixels; default 0 */
    uint64_t seed;          /* seed of the noise generator */
    bool skip_bad_frames;   /* go on past unreadable images (counted) instead of failing */
    int threads;            /* <= 0: all cores */
    void (*progress)(void *user, const vt_project_progress *p); /* may be NULL */
    void *progress_user;
} vt_project_opts;

VT_API vt_project_opts vt_project_opts_default(void);

typedef struct vt_project_stats {
    int cameras;          /* distinct camera_index values */
    int frames;           /* frames loaded */
    int frames_skipped;   /* unreadable frames skipped (skip_bad_frames) */
    int pairs;            /* frame pairs differenced */
    uint64_t changed;     /* changed pixels = rays cast */
    uint64_t rays_hit;    /* rays that crossed the grid */
    uint64_t voxel_steps; /* voxels visited by all rays */
    size_t grid_bytes;    /* memory held by the grid(s) at the end */
    double seconds;       /* wall time of the run */
} vt_project_stats;

/*
 * Runs the projector over `meta` with images read from `image_dir`, adding
 * votes to `grid` (created by the caller with the grid options it wants).
 * Checks that every image file exists before casting anything. Errors name
 * the image file and its metadata entry.
 */
VT_API vt_status vt_project_run(const vt_project_opts *opts, const vt_metadata *meta,
                                const char *image_dir, vt_grid *grid, vt_project_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
