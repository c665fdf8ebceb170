/*
 * src/track/track_internal.h - what the tracker's files share (private to
 * src/track/): the assignment workspace and Murty's k-best, the life cycle of
 * a track (M-of-N confirmation, coasting, deletion, accel_rms), detections
 * prepared for gating, and the MHT back end behind vt_tracker.
 */
#ifndef VT_TRACK_INTERNAL_H
#define VT_TRACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "track/kalman.h"
#include "voxtrack/track.h"

/* ------------------------------------------------------------------------ */
/* Assignment                                                                */

/* Working memory of the assignment solver; zero-initialise, only grows. */
typedef struct vt__assign_ws {
    int cap_rows, cap_cols;
    double *u, *v, *spc;
    int *path, *col4row, *row4col, *remaining, *rows;
    unsigned char *row_seen, *col_seen;
} vt__assign_ws;

void vt__assign_ws_free(vt__assign_ws *ws);

/* vt_assign() with caller-owned working memory. */
vt_status vt__assign_solve(vt__assign_ws *ws, const double *cost, int n, int m, int *row_to_col,
                           double *total);

/* Working memory of Murty's k-best; zero-initialise, only grows. */
typedef struct vt__murty_ws {
    vt__assign_ws as;
    double *mats;  /* queued subproblems' matrices, n*m each */
    int *sols;     /* their solutions, n each */
    double *costs; /* their totals */
    int *queue;    /* slots in use */
    int *free_slots;
    int cap_slots;
    size_t cap_nm, cap_n;
} vt__murty_ws;

void vt__murty_ws_free(vt__murty_ws *ws);

/*
 * Murty's k-best assignments (Murty 1968) of an n x m matrix (n <= m) in
 * which every row must be assigned: up to k solutions in increasing total,
 * those costing more than the best + max_excess left out. sols is k x n
 * (row -> column), totals k. *nsol = 0 when no complete assignment exists.
 */
vt_status vt__murty(vt__murty_ws *ws, const double *cost, int n, int m, int k, double max_excess,
                    int *sols, double *totals, int *nsol);

/*
 * In-place heapsort with a context argument. qsort() may allocate (glibc
 * does for large arrays), and a warm tracker must not.
 */
void vt__sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *a, const void *b, const void *ctx), const void *ctx);

/* ------------------------------------------------------------------------ */
/* Track life cycle                                                          */

typedef struct vt__life {
    vt_track_status status;
    int hits, misses, age, cams;
    int thermal, thermal_hits; /* thermal cameras of the last detection; detections with any */
    uint64_t camera_mask;      /* cameras of the last detection */
    uint32_t hist;             /* bit 0: the last update; 1 = a detection */
    double acc_lp[3];          /* velocity corrections per second, low-passed */
    double acc_num, acc_den;   /* exponentially weighted sum of squares and of weights */
} vt__life;

void vt__life_birth(vt__life *l, const vt_detection *d);

/* A detection updated the track; dv is the filter's velocity correction. */
void vt__life_hit(vt__life *l, const vt_tracker_opts *o, const vt_detection *d, double dt,
                  const double dv[3]);

/* No detection. False when the track is to be deleted. */
bool vt__life_miss(vt__life *l, const vt_tracker_opts *o);

void vt__track_export(uint64_t id, const vt__kf *kf, const vt__life *l, vt_track *out);

/* ------------------------------------------------------------------------ */
/* Detections and gating                                                     */

/* One update's detections prepared for gating; zero-initialise, only grows. */
typedef struct vt__dets {
    size_t n, cap;
    const vt_detection *d;
    double (*R)[3][3]; /* floored measurement covariances */
    double *trR;       /* their traces */
    double max_trR;
    uint32_t *order; /* indices sorted by (x, y, z), then index */
    double *xs;      /* x of order[k] */
    uint32_t *rank;  /* inverse of order */
} vt__dets;

void vt__dets_free(vt__dets *d);

/* Checks and prepares the detections (VT_EINVAL names a non-finite one). */
vt_status vt__dets_prepare(vt__dets *d, const vt_detection *dets, size_t n, double min_sigma);

typedef struct vt__cand {
    int det;
    vt__innov in;
} vt__cand;

typedef struct vt__cands {
    vt__cand *c;
    size_t n, cap;
} vt__cands;

/*
 * Appends the detections inside the gate (d^2 <= gate) of a predicted filter,
 * in the detections' sorted order.
 */
vt_status vt__gate(const vt__dets *d, const vt__kf *kf, double gate, vt__cands *out);

/* ------------------------------------------------------------------------ */
/* MHT back end (mht.c)                                                      */

typedef struct vt__mht vt__mht;

vt_status vt__mht_new(const vt_tracker_opts *o, vt__mht **out);
void vt__mht_free(vt__mht *m);

/*
 * One scan: detections already prepared; dt >= 0 since the last scan. Writes
 * the best hypotheses' tracks (sorted by id) and, per detection, the id of
 * its track. *next_id hands out track ids.
 */
vt_status vt__mht_update(vt__mht *m, double dt, const vt__dets *d, uint64_t *next_id,
                         vt_track **tracks, size_t *ntracks, size_t *cap_tracks, uint64_t *assign);

#endif
