/*
 * voxtrack/detect.h - from motion to 3D detections: blobs of changed pixels
 * (connected components with intensity-weighted sub-pixel centroids), rays
 * through their centroids, and detections from vote clusters.
 *
 * Ghosts (rays of different targets crossing where nothing is) are
 * suppressed by ray ownership: clusters are taken strongest first and each
 * ray supports at most one detection. A detection's position is the
 * least-squares meeting point of its rays, with a covariance from each ray's
 * angular noise and range.
 */
#ifndef VOXTRACK_DETECT_H
#define VOXTRACK_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/camera.h"
#include "voxtrack/export.h"
#include "voxtrack/motion.h"
#include "voxtrack/ray.h"
#include "voxtrack/sparse.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A connected group of changed pixels. */
typedef struct vt_blob {
    double u, v;        /* intensity-weighted centroid, pixels (pixel centres at integers) */
    float sum;          /* sum of the differences */
    float peak;         /* largest difference */
    int area;           /* pixels */
    int x0, y0, x1, y1; /* bounding box, inclusive */
    /* Appended: the sum of the unfiltered differences (vt_change_list.raw; = sum
       where the list has none). sum and peak are of the (filtered) diff. */
    float raw_sum;
} vt_blob;

/*
 * Start from a zeroed list ({0}); vt_blob_list_free() releases everything.
 * The list also keeps vt_blobs_find()'s working memory, so a list reused
 * from frame to frame stops allocating once it has seen a busy frame.
 */
typedef struct vt_blob_list {
    size_t count, capacity;
    vt_blob *blobs;             /* owned; reused from call to call */
    struct vt__blob_work *work; /* internal scratch, owned; reused */
} vt_blob_list;

VT_API void vt_blob_list_free(vt_blob_list *l);

/*
 * Groups the changed pixels into 8-connected blobs, in raster order of their
 * first pixel. Blobs smaller than min_area pixels or larger than max_area
 * (0 = no limit) are dropped. The list must be in raster order, as
 * vt_motion_detect() makes it (VT_EINVAL otherwise, or when an index lies
 * outside the frame). Replaces the contents of *out. Not thread safe on one
 * list; different lists may be used from different threads.
 */
VT_API vt_status vt_blobs_find(const vt_change_list *changes, int min_area, int max_area,
                               vt_blob_list *out);

/*
 * The ray through a blob centroid (u, v) of a camera, with its weight and an
 * angular sigma of sigma_px pixels. False when the pixel has no ray.
 */
VT_API bool vt_ray_from_pixel(const vt_camera *cam, double u, double v, double sigma_px,
                              float weight, uint16_t camera, uint16_t pair, uint32_t blob,
                              vt_ray *out);

/* A 3D detection. */
typedef struct vt_detection {
    vt_vec3 pos;      /* least-squares meeting point of its rays, metres */
    double cov[6];    /* position covariance xx, xy, xz, yy, yz, zz, m^2 */
    double residual;  /* RMS distance of its rays from pos, metres */
    float weight;     /* sum of its rays' weights */
    uint64_t cameras; /* cameras of its rays */
    int ncameras;     /* popcount(cameras) */
    int nthermal;     /* how many of them are thermal */
    int nrays;        /* rays that support it */
    int first_ray;    /* its rays are ray_index[first_ray .. first_ray + nrays) of the list */
} vt_detection;

typedef struct vt_detection_list {
    size_t count, capacity;
    vt_detection *items; /* owned */
    size_t nindex, index_capacity;
    uint32_t *ray_index;          /* indices into the ray array given to vt_detect() */
    struct vt__detect_work *work; /* internal scratch (ray buckets, ownership), owned; reused */
} vt_detection_list;

VT_API void vt_detection_list_free(vt_detection_list *l);

typedef struct vt_detect_opts {
    int min_cameras;       /* K, distinct cameras a detection needs (default 3) */
    int min_thermal;       /* thermal cameras it needs when the rig has any (default 0) */
    double gate_sigma;     /* a ray supports a point when its miss distance is
                              <= gate_sigma * its sigma * range, or ... (default 3) */
    double gate_min;       /* ... <= gate_min metres (default 0.5) */
    double max_residual;   /* drop detections whose RMS miss exceeds this, metres (default 2) */
    uint64_t thermal_mask; /* bit c set when camera c is thermal */
} vt_detect_opts;

VT_API vt_detect_opts vt_detect_opts_default(void);

/*
 * Least-squares meeting point of n >= 2 rays, each weighted by 1/(sigma *
 * range)^2; the covariance is the inverse of the normal matrix. Fails
 * (VT_ERANGE) when the rays are (nearly) parallel. The rays used are
 * rays[index[0..n)], or rays[0..n) when index is NULL. cov and residual may
 * be NULL.
 */
VT_API vt_status vt_rays_meet(const vt_ray *rays, const uint32_t *index, size_t n, vt_vec3 *pos,
                              double cov[6], double *residual);

/*
 * Turns vote clusters into detections: clusters strongest first; for each,
 * the unowned rays passing near its centroid (gate) are gathered, the
 * meeting point is solved and the gate re-applied around it (twice); when
 * >= min_cameras distinct cameras remain, the detection is kept and its rays
 * become owned. Replaces the contents of *out.
 *
 * Details: only rays of the cluster's cameras are considered (all cameras
 * when its mask is 0); a ray supports a point only when the point lies in
 * front of it; each camera gives at most one ray to a detection, the one
 * that passes closest. opts NULL means vt_detect_opts_default(). Every ray
 * must have camera < 64, a unit direction and a finite sigma > 0, and
 * min_cameras must lie in [2, 64] (VT_EINVAL otherwise). Not thread safe on
 * one list.
 */
VT_API vt_status vt_detect(const vt_cluster *clusters, size_t ncluster, const vt_ray *rays,
                           size_t nray, const vt_detect_opts *opts, vt_detection_list *out);

#ifdef __cplusplus
}
#endif

#endif
