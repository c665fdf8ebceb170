/*
 * src/eval/eval_internal.h - the evaluator's state, shared by the metrics
 * (eval.c), the file reader (eval_io.c) and the plots (plot.c). Never
 * installed.
 */
#ifndef VOXTRACK_EVAL_INTERNAL_H
#define VOXTRACK_EVAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/eval.h"

/*
 * A hash map from 64-bit keys to 32-bit values: open addressing, linear
 * probing, at most half full. Ids, and pairs of state indices, are the keys.
 */
typedef struct vt__eval_map {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t cap, count; /* cap: 0 or a power of two */
} vt__eval_map;

/* The value of key, or NULL when absent. */
uint32_t *vt__eval_map_find(const vt__eval_map *m, uint64_t key);
/* The value of key, inserted as 0 when absent (*inserted says so); NULL when out of memory. */
uint32_t *vt__eval_map_put(vt__eval_map *m, uint64_t key, bool *inserted);
void vt__eval_map_free(vt__eval_map *m);

/* What a recorded point is, for the plots. */
enum { VT__PT_TRUTH_DRONE, VT__PT_TRUTH_BIRD, VT__PT_TRACK };

/* One recorded position (opts.record_paths): seq is the evaluator's frame count. */
typedef struct vt__eval_point {
    uint64_t id;
    int64_t seq;
    vt_vec3 pos;
    int what;
} vt__eval_point;

/* A drone-class track near a bird truth: candidates of the greedy bird pairing. */
typedef struct vt__eval_near {
    double d;
    uint32_t track, bird; /* slot among the counted tracks, index among the bird truths */
} vt__eval_near;

/* A drone truth object over the frames. */
typedef struct vt__eval_truth_state {
    uint64_t stamp;      /* the call that last saw it: duplicate ids within a frame */
    int64_t frames;      /* frames present */
    int64_t tracked;     /* frames matched */
    int64_t matched_seq; /* frame (seq) of its last match, 0 = never */
    uint64_t last_track; /* the track of its last match */
    bool tracked_last;   /* matched in the last frame it was present */
} vt__eval_truth_state;

/* A track over the frames. */
typedef struct vt__eval_track_state {
    uint64_t id;
    uint64_t stamp; /* the call that last saw it */
    uint32_t slot;  /* its index among this frame's counted drone tracks, or UINT32_MAX */
    bool counted;   /* has been a counted drone-class track */
    int64_t frames; /* frames as a counted drone-class track */
} vt__eval_track_state;

/* One similarity of HOTA's first pass: a (truth, track) pair closer than the zero distance. */
typedef struct vt__eval_sim {
    uint32_t pair; /* the pair's number (vt__eval_hota) */
    float sim;     /* 1 - d / zero, > 0 */
} vt__eval_sim;

/* HOTA's evidence (eval_hota.c). */
typedef struct vt__eval_hota {
    double zero;                       /* the similarity's zero distance, metres */
    vt__eval_map ix;                   /* truth index << 32 | track index -> pair number */
    uint32_t *pair_truth, *pair_track; /* per pair: state indices */
    double *potential;                 /* per pair: the summed soft IoU of the first pass */
    size_t npairs, cap_pt, cap_pk, cap_pp;
    vt__eval_sim *sims; /* every frame's similarities, frame after frame */
    size_t nsims, cap_sims;
    size_t *frame_end; /* per frame: the end of its similarities in sims */
    size_t nframes, cap_frames;
    int64_t gt, tracks;      /* drone truth-frames, counted drone-class track-frames */
    double *rowsum, *colsum; /* a frame's scratch */
    size_t cap_rows, cap_cols;
} vt__eval_hota;

struct vt_eval {
    vt_eval_opts o;
    double gospa_c;

    uint64_t calls;     /* vt_eval_frame calls, successful or not: stamps */
    int64_t seq;        /* frames evaluated */
    int64_t last_frame; /* frame number of the last one */

    /* Running sums; the ratios are formed in vt_eval_result_get. */
    vt_eval_result r;
    int64_t track_frames; /* counted drone-class track-frames: IDFP's base */
    double sum_d, sum_d2;
    double gospa_sum, gospa_loc, gospa_missed, gospa_false;

    vt__eval_map truth_ix, track_ix; /* id -> state index */
    vt__eval_map pairs;              /* (truth index << 32 | track index) -> frames within reach */
    vt__eval_truth_state *truths;
    size_t ntruths, truths_cap;
    vt__eval_track_state *tracks;
    size_t ntracks, tracks_cap;

    /* Scratch of one frame, kept between calls so that a steady scene allocates nothing. */
    uint32_t *ft;    /* counted drone tracks: input index */
    uint32_t *fts;   /* ... and state index */
    uint32_t *fd;    /* drone truths: input index */
    uint32_t *fds;   /* ... and state index */
    uint32_t *fb;    /* bird truths: input index */
    int *match;      /* per drone truth: slot of its track or -1 */
    uint8_t *taken;  /* per counted track: matched */
    uint8_t *col_on; /* per counted track: takes part in an assignment */
    int *uf;         /* union-find of truths and tracks, member lists, row flags, pairs */
    double *dist;    /* drone truths x counted tracks */
    double *cost;    /* assignment costs */
    int *rows, *cols, *row_to_col;
    uint8_t *bird_used;  /* per bird truth: paired */
    vt__eval_near *near; /* bird pairing candidates */
    size_t cap_k, cap_t, cap_dist, cap_near, cap_uf;

    vt__eval_point *points;
    size_t npoints, points_cap;

    vt__eval_hota hota;
};

/* The ceiling's bins, edges set (eval_ceiling.c). */
void vt__eval_ceiling_init(vt_eval_result *r);
/* Counts one drone truth-frame (matched or not) into the ceiling and the bins. */
void vt__eval_ceiling_add(vt_eval *e, const vt_eval_truth *t, bool matched);
/* The ceiling's ratios from its counts. */
void vt__eval_ceiling_finish(vt_eval_result *r);
/* sqrt of the sum of the squares of a truth's SNRs. */
double vt__eval_quadrature_snr(const vt_eval_truth *t);

/* HOTA's first pass over one frame: e->dist of nd drone truths x nk counted tracks (eval_hota.c).
 */
vt_status vt__eval_hota_frame(vt_eval *e, size_t nd, size_t nk);
/* HOTA's second pass, into r's HOTA fields. */
vt_status vt__eval_hota_result(const vt_eval *e, vt_eval_result *r);
void vt__eval_hota_free(vt__eval_hota *h);

#endif
