/*
 * voxtrack/eval.h - tracking accuracy against ground truth.
 *
 * An evaluator is fed one frame at a time (the truth objects and the tracks
 * of that frame, in memory: the pipeline and `voxtrack demo` call it as they
 * go) or from the tracks.jsonl and truth.jsonl files (`voxtrack eval`).
 * It reports the CLEAR MOT figures (MOTA, MOTP, ID switches,
 * fragmentations; Bernardin & Stiefelhagen 2008), the identity figures
 * (IDF1, IDP, IDR; Ristani et al. 2016), HOTA (Luiten et al. 2021), GOSPA
 * (Rahmathullah, García-Fernández & Svensson 2017), position RMSE, detection
 * and false-track rates, mostly tracked / mostly lost counts, how birds were
 * handled, and, when the truth carries each drone's SNR in each camera, the
 * detectability ceiling and the detection rate by SNR and by size.
 *
 * Only drones are ground-truth objects. Tracks the pipeline classified as
 * birds are kept out of the matching (neither hits nor false positives);
 * drone-class tracks that sit on a bird count as false positives and, in
 * addition, as "bird_as_drone". docs/EVAL.md defines every figure.
 *
 * An evaluator is not thread safe: one thread feeds it at a time.
 */
#ifndef VOXTRACK_EVAL_H
#define VOXTRACK_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a truth object is. Only drones are objects to be tracked. */
typedef enum vt_eval_kind {
    VT_EVAL_DRONE = 0,
    VT_EVAL_BIRD = 1,
    VT_EVAL_GLINT = 2 /* a sun glint or other transient: ignored */
} vt_eval_kind;

/* The pipeline's classification of a track (vt_eval_track.cls). */
typedef enum vt_eval_class { VT_EVAL_CLASS_DRONE = 0, VT_EVAL_CLASS_BIRD = 1 } vt_eval_class;

/*
 * One truth object in one frame. id: stable over frames, unique within a
 * frame. The fields after pos were added later; zero means unknown.
 */
typedef struct vt_eval_truth {
    int id;
    int kind;    /* vt_eval_kind */
    vt_vec3 pos; /* world metres */
    double size; /* largest extent, metres; <= 0: unknown (no size bin) */
    /* Its matched-filter SNR in each camera that delivered this frame (truth_pixels.jsonl,
       docs/SCENARIO.md): nsnr values, read during vt_eval_frame only. NULL: unknown, the
       object takes no part in the ceiling; non-NULL with nsnr 0: seen by no camera. */
    const float *snr;
    int nsnr;
} vt_eval_truth;

/* One track in one frame. id: stable over frames, unique within a frame. */
typedef struct vt_eval_track {
    uint64_t id;
    int status;  /* vt_track_status: 0 tentative, 1 confirmed, 2 coasting */
    int cls;     /* vt_eval_class: 0 drone, 1 bird */
    vt_vec3 pos; /* world metres */
} vt_eval_track;

typedef struct vt_eval_opts {
    double match_dist;   /* a track and a truth match within this distance, metres (default 2) */
    bool only_confirmed; /* ignore tentative tracks (default true); confirmed and coasting count */
    double gospa_c;      /* GOSPA cut-off, metres; <= 0: match_dist (default 0) */
    double gospa_p;      /* GOSPA order, >= 1 (default 1) */
    bool record_paths;   /* keep every position for vt_eval_plot (default false) */
    /* Added later (appended). The detectability ceiling: a drone-frame is detectable when
       >= ceiling_cameras cameras see it at an SNR >= ceiling_snr (default 2 and 5), and
       detectable by fused evidence when its cameras' SNRs in quadrature reach ceiling_sum
       (default 7). */
    int ceiling_cameras;
    double ceiling_snr, ceiling_sum;
    double hota_zero; /* HOTA: the distance at which similarity reaches 0, metres;
                         <= 0: match_dist (default 0) */
} vt_eval_opts;

/* Drone-frames of one bin (of SNR or size) and how many of them were matched. */
typedef struct vt_eval_bin {
    double lo, hi; /* lo <= value < hi */
    int64_t gt, tp;
    double rate; /* tp / gt, NaN when empty */
} vt_eval_bin;

/* Bins of the quadrature SNR: edges 0 1 2 3 4 5 7 10 15 20 30 50 100 inf. */
#define VT_EVAL_SNR_BINS 13
/* Bins of the drone size: 0.1 m wide from 0 to 1 m, then one for >= 1 m. */
#define VT_EVAL_SIZE_BINS 11

/* HOTA's localisation thresholds: alpha = 0.05, 0.10, ..., 0.95. */
#define VT_EVAL_HOTA_ALPHAS 19

VT_API vt_eval_opts vt_eval_opts_default(void);

/*
 * The figures so far. Counts are object-frames (one object in one frame).
 * A ratio whose denominator is zero is NaN (JSON null): MOTA, detection_rate
 * and idr without truth; false_rate and idp without tracks; motp and rmse
 * without matches; gospa without frames.
 */
typedef struct vt_eval_result {
    int64_t frames;           /* frames evaluated (present in either input) */
    int64_t gt;               /* drone truth object-frames */
    int64_t tp;               /* matches: drone truths with a track within match_dist */
    int64_t fn;               /* drone truths without a match */
    int64_t fp;               /* counted drone-class tracks without a match */
    int64_t idsw;             /* a truth matched to another track than at its last match */
    int64_t frag;             /* a truth matched again after frames present but unmatched */
    double mota;              /* 1 - (fn + fp + idsw) / gt */
    double motp;              /* mean distance of the matches, metres */
    double rmse;              /* root mean square distance of the matches, metres */
    double detection_rate;    /* tp / gt */
    double false_rate;        /* fp / (tp + fp) */
    int64_t idtp, idfp, idfn; /* identity counts of the global truth-track pairing */
    double idf1;              /* 2 idtp / (2 idtp + idfp + idfn) */
    double idp, idr;          /* idtp / (idtp + idfp), idtp / (idtp + idfn) */
    double gospa;             /* mean per frame of the GOSPA distance (alpha = 2) */
    double gospa_loc;         /* mean per frame of its parts: sum of d^p over the pairs, */
    double gospa_missed;      /* c^p / 2 per missed truth, c^p / 2 per false track; */
    double gospa_false;       /* for p = 1: gospa = loc + missed + false, metres */
    int64_t truth_objects;    /* distinct drone truth ids */
    int64_t tracks_confirmed; /* distinct ids of counted drone-class tracks */
    int64_t mostly_tracked;   /* truths matched in >= 80% of their frames */
    int64_t partially_tracked;
    int64_t mostly_lost;   /* truths matched in < 20% of their frames */
    int64_t bird_as_drone; /* drone-class track-frames left unmatched that sit on a bird */
    int64_t bird_tracks;   /* counted bird-class track-frames (kept out of the matching) */
    /* Added later (appended): the detectability ceiling (drone-frames whose truth came
       with SNRs; docs/EVAL.md). NaN ratios when nothing had an SNR. */
    int64_t snr_frames;              /* drone truth-frames with SNRs */
    int64_t detectable;              /* ... seen at >= ceiling_snr by >= ceiling_cameras cameras */
    int64_t detectable_tp;           /* ... of them matched */
    int64_t detectable_sum;          /* ... whose SNRs in quadrature reach ceiling_sum */
    int64_t detectable_sum_tp;       /* ... of them matched */
    double ceiling;                  /* detectable / snr_frames */
    double ceiling_sum;              /* detectable_sum / snr_frames */
    double detection_detectable;     /* detectable_tp / detectable */
    double detection_detectable_sum; /* detectable_sum_tp / detectable_sum */
    vt_eval_bin snr_bins[VT_EVAL_SNR_BINS];   /* by quadrature SNR (frames with SNRs) */
    vt_eval_bin size_bins[VT_EVAL_SIZE_BINS]; /* by size (frames with a size) */
    /* HOTA (Luiten et al. 2021), Euclidean similarity max(0, 1 - d / hota_zero): the
       means over alpha, and per alpha. NaN without truth and tracks. */
    double hota, deta, assa, loca;
    double hota_alpha[VT_EVAL_HOTA_ALPHAS];
} vt_eval_result;

typedef struct vt_eval vt_eval;

/*
 * Creates an evaluator (opts NULL: the defaults; opts is copied).
 * VT_EINVAL for a match_dist that is not > 0, a gospa_p below 1 or a
 * non-finite value. *out is NULL on failure.
 */
VT_API vt_status vt_eval_new(const vt_eval_opts *opts, vt_eval **out);
VT_API void vt_eval_free(vt_eval *e);

/*
 * Evaluates one frame. Frame numbers must increase from call to call
 * (VT_EINVAL otherwise); gaps are allowed and mean nothing. truth / tracks
 * may be NULL when their count is 0. VT_EINVAL names the entry for an id
 * given twice in the frame, a non-finite position or an unknown kind,
 * status or class; such a frame is not counted and the evaluator is left as
 * it was. VT_ENOMEM when memory runs out (then only free the evaluator).
 */
VT_API vt_status vt_eval_frame(vt_eval *e, int64_t frame, const vt_eval_truth *truth, size_t nt,
                               const vt_eval_track *tracks, size_t nk);

/*
 * The figures over all frames so far, in *out. May be called at any time
 * (the evaluator goes on); solves the global identity pairing for IDF1,
 * so it costs more than a frame. VT_ENOMEM when memory runs out.
 */
VT_API vt_status vt_eval_result_get(const vt_eval *e, vt_eval_result *out);

/*
 * Reads tracks.jsonl and truth.jsonl (docs/EVAL.md) as streams, both sorted
 * by frame, and feeds every frame present in either file to e. Errors name
 * the file and line: VT_ENOENT/VT_EIO when a file cannot be read, VT_EPARSE
 * for a malformed line, a missing field, a wrong type or frames out of
 * order, VT_EINVAL for a frame vt_eval_frame refuses.
 */
VT_API vt_status vt_eval_read_files(vt_eval *e, const char *tracks_path, const char *truth_path);

/*
 * The same, with the truth's SNRs from truth_pixels.jsonl (docs/SCENARIO.md;
 * sorted by frame, one line per camera frame) for the ceiling; pixels_path
 * NULL reads none. A drone of a frame with pixel lines gets the SNRs of the
 * cameras that list it; entries without an SNR (files of older simulators)
 * give none. Errors name the file and line, as above. (Added later.)
 */
VT_API vt_status vt_eval_read_files_snr(vt_eval *e, const char *tracks_path, const char *truth_path,
                                        const char *pixels_path);

/*
 * ---- against a reference track (added after the first release) ----
 *
 * A calibration flight, or any flight with RTK GPS on board, gives one
 * target's reference track as t,x,y,z (voxtrack/calib.h's vt_reftrack)
 * instead of a truth.jsonl. The truth of frame set k is then that target
 * (id 0, a drone) where the reference puts it at the frame set's time t_k.
 * Frame sets lie on the sync's grid of period 1 / fps (voxtrack/sync.h):
 * t_k is the "t" of the tracks file's lines of frame k when it has any, else
 * t_a + (k - k_a) / fps from the last frame a that had lines (the first such
 * frame for the frames before it; t_k = k / fps when the file is empty).
 * A frame set less than half a period beyond an end of the reference is
 * scored against the reference extrapolated from that end (its velocity).
 */
typedef struct vt_eval_ref_opts {
    double fps;          /* frame sets per second, > 0 (default 30: give the rig's) */
    double max_gap;      /* frames in a gap of the reference longer than this, seconds, are not
                            scored (default 1; <= 0: any gap is bridged) */
    int64_t first, last; /* only frames first..last are scored (default INT64_MIN..INT64_MAX:
                            every frame set on the reference) */
} vt_eval_ref_opts;

VT_API vt_eval_ref_opts vt_eval_ref_opts_default(void);

/*
 * Reads tracks.jsonl (its lines need "t") and feeds e every frame set in the
 * range whose time lies on the reference (frames off it, before it, after
 * it or in a gap, are not scored, nor their tracks). Errors as for
 * vt_eval_read_files; VT_EINVAL for a NULL argument or fps not > 0,
 * VT_ERANGE for a reference of more than 86.4 million frame sets.
 */
typedef struct vt_reftrack vt_reftrack;
VT_API vt_status vt_eval_read_reference(vt_eval *e, const char *tracks_path, const vt_reftrack *ref,
                                        const vt_eval_ref_opts *opts);

/*
 * Draws the recorded paths (opts.record_paths) as two RGB PNG images of
 * about size x size pixels (0: 1000): PREFIX_top.png (x to the right, y up)
 * and PREFIX_side.png (x to the right, z up), at one scale for both axes.
 * Truth drones are grey, truth birds light grey, tracks coloured by id.
 * The world extent shown is returned in *lo, *hi (either may be NULL).
 * VT_EINVAL when nothing was recorded, VT_EIO naming the file when it
 * cannot be written.
 */
VT_API vt_status vt_eval_plot(const vt_eval *e, const char *prefix, int size, vt_vec3 *lo,
                              vt_vec3 *hi);

/*
 * Draws the detection rate by SNR bin (vt_eval_result.snr_bins) as a bar
 * chart, an RGB PNG of about size x size/2 pixels (0: 1000) at path: one
 * bar per bin (height: the rate, 0 to 1), the bin's lower edge under it,
 * and a black tick along its top whose length is the bin's drone-frames
 * relative to the fullest bin. VT_EINVAL when no drone-frame had SNRs,
 * VT_EIO naming the file when it cannot be written. (Added later.)
 */
VT_API vt_status vt_eval_plot_snr(const vt_eval *e, const char *path, int size);

#ifdef __cplusplus
}
#endif

#endif
