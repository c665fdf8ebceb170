/*
 * voxtrack/track.h - multi-target tracking of 3D detections.
 *
 * A constant-velocity Kalman filter per track (state: position, velocity;
 * white-acceleration process noise), chi-square gating on the innovation,
 * and global nearest neighbour assignment (Jonker-Volgenant) solved per
 * independent cluster of the gating graph. Tracks are born tentative from
 * unassigned detections, confirmed after M hits in the last N updates,
 * coast through misses, and are deleted after too many. IDs are stable and
 * never reused. `VT_TRACKER_MHT` selects a track-oriented multiple
 * hypothesis tracker (hypothesis trees, N-scan pruning, Murty's k-best).
 */
#ifndef VOXTRACK_TRACK_H
#define VOXTRACK_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/detect.h"
#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_track_status {
    VT_TRACK_TENTATIVE = 0,
    VT_TRACK_CONFIRMED = 1,
    VT_TRACK_COASTING = 2 /* confirmed, but missed in the last update */
} vt_track_status;

typedef struct vt_track {
    uint64_t id; /* stable, from 1, never reused */
    vt_track_status status;
    vt_vec3 pos, vel;     /* filtered state, metres and metres per second */
    double cov[6];        /* position covariance xx, xy, xz, yy, yz, zz */
    int cams;             /* cameras of the last detection assigned to it */
    uint64_t camera_mask; /* which: bit i for rig camera i */
    int thermal;          /* thermal cameras among them */
    int thermal_hits;     /* detections with thermal support so far: > 0 is thermal confirmation */
    int hits;             /* updates with a detection */
    int misses;           /* consecutive updates without one */
    int age;              /* updates since birth */
    float accel_rms;      /* RMS of the innovation-implied acceleration, m/s^2: erratic
                             movers (birds) score high */
} vt_track;

typedef enum vt_tracker_kind { VT_TRACKER_GNN = 0, VT_TRACKER_MHT = 1 } vt_tracker_kind;

/* "gnn" or "mht" to a kind; VT_EINVAL naming the text otherwise (NULL too). The one place
   the names are read: the run configuration and the CLI's --tracker use it. */
VT_API vt_status vt_tracker_kind_parse(const char *text, vt_tracker_kind *out);

/* "gnn", "mht" ("?" for other values). */
VT_API const char *vt_tracker_kind_name(vt_tracker_kind kind);

typedef struct vt_tracker_opts {
    vt_tracker_kind kind;
    double process_accel;     /* white-acceleration spectral density sigma, m/s^2 (default 3) */
    double gate_prob;         /* chi-square gate probability, 3 dof (default 0.999) */
    double init_speed;        /* sigma of an unknown initial velocity, m/s (default 20) */
    int confirm_m, confirm_n; /* M-of-N confirmation (default 3 of 4) */
    int delete_misses;        /* consecutive misses that delete a confirmed track (default 5) */
    int delete_tentative;     /* misses that delete a tentative track (default 2) */
    double min_pos_sigma;     /* floor on a detection's position sigma, metres (default 0.05) */
    /* MHT only */
    int mht_scan;           /* N-scan pruning depth (default 3) */
    int mht_k;              /* hypotheses kept per cluster, Murty's k-best (default 10) */
    double clutter_density; /* false detections per m^3 (default 1e-9) */
    double detect_prob;     /* probability of detection (default 0.95) */
} vt_tracker_opts;

VT_API vt_tracker_opts vt_tracker_opts_default(void);

typedef struct vt_tracker vt_tracker;

VT_API vt_status vt_tracker_new(const vt_tracker_opts *opts, vt_tracker **out);
VT_API void vt_tracker_free(vt_tracker *t);

/*
 * Predicts every track to time t (seconds, non-decreasing: VT_EINVAL when it
 * goes back) and updates with these detections. No allocation once the
 * tracker has grown to the scene's size.
 */
VT_API vt_status vt_tracker_update(vt_tracker *t, double time, const vt_detection *dets,
                                   size_t count);

/* The live tracks after the last update (tentative, confirmed, coasting). Owned by t. */
VT_API const vt_track *vt_tracker_tracks(const vt_tracker *t, size_t *count);

/*
 * For each detection of the last update, the id of the track it was assigned
 * to (0 = none). Owned by t; count = that update's detection count.
 */
VT_API const uint64_t *vt_tracker_assignments(const vt_tracker *t, size_t *count);

/* --- the building blocks, public for tests and tools --- */

/*
 * Solves the rectangular linear assignment problem on an n x m cost matrix
 * (row-major) with Jonker-Volgenant shortest augmenting paths: min(n, m)
 * pairs at the least total cost. Entries >= VT_ASSIGN_FORBIDDEN are not
 * allowed: a row whose best matching needs one is reported unassigned.
 * row_to_col[i] is the column of row i or -1; *total (may be NULL) is the
 * cost of the allowed pairs. Callers that want "no assignment" as an option
 * add dummy columns with that cost.
 */
#define VT_ASSIGN_FORBIDDEN 1e30
VT_API vt_status vt_assign(const double *cost, int n, int m, int *row_to_col, double *total);

/* Chi-square quantile for 3 degrees of freedom at probability p in (0, 1). */
VT_API double vt_chi2_3dof(double p);

#ifdef __cplusplus
}
#endif

#endif
