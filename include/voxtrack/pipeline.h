/*
 * voxtrack/pipeline.h - the tracker's frame-set loop: frames of every camera
 * at one instant in, 3D tracks out.
 *
 *   motion (background model per camera) -> blobs -> rays -> sparse voting
 *   (coarse to fine) -> detections (ray ownership, least-squares meeting
 *   point) -> tracker (Kalman, GNN or MHT) -> classification (drone / bird)
 *
 * The cameras' motion, blob and ray stages run in parallel (one camera per
 * thread); voting runs on all threads; results do not depend on the thread
 * count. Every stage keeps its buffers from one frame set to the next.
 *
 * A run configuration (JSON, see docs/RUN.md) names a rig file and the
 * volume to watch and may set any parameter below.
 */
#ifndef VOXTRACK_PIPELINE_H
#define VOXTRACK_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/det2d.h"
#include "voxtrack/detect.h"
#include "voxtrack/device.h"
#include "voxtrack/export.h"
#include "voxtrack/fusion.h"
#include "voxtrack/image.h"
#include "voxtrack/motion.h"
#include "voxtrack/rig.h"
#include "voxtrack/sparse.h"
#include "voxtrack/status.h"
#include "voxtrack/track.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_ray_mode {
    VT_RAYS_BLOBS = 0, /* one ray per blob centroid */
    VT_RAYS_PIXELS = 1 /* one ray per changed pixel (the original's way) */
} vt_ray_mode;

typedef enum vt_target_class { VT_CLASS_DRONE = 0, VT_CLASS_BIRD = 1 } vt_target_class;

typedef struct vt_pipeline_opts {
    vt_vec3 volume_min, volume_max; /* the box that is watched, world metres */
    vt_background_opts mono;        /* motion of mono cameras (polarity -1: targets darker) */
    vt_background_opts thermal;     /* motion of thermal cameras (polarity +1: warmer) */
    int min_area, max_area;         /* blob area limits, pixels (default 1, 400) */
    double sigma_px;                /* centroid noise, pixels (default 0.5) */
    vt_ray_mode rays;               /* default VT_RAYS_BLOBS */
    int max_rays;                   /* per camera: the strongest blobs or pixels (default 4000) */
    vt_vote_opts vote;              /* its box is set from the volume */
    vt_detect_opts detect;          /* thermal_mask is set from the rig */
    vt_tracker_opts tracker;
    double bird_accel;   /* a track whose accel_rms exceeds this (m/s^2) is a bird;
                            0: never (default 6) */
    double bird_flicker; /* a track whose brightness flicker (RMS change of the log
                            of its mono blob sums, frame to frame, per camera)
                            exceeds this is a
                            bird (flapping wings), in units of the change the
                            sensor noise explains; 0: never (default 2.2) */
    int bird_min_age;    /* updates before a track can be called a bird (default 10) */
    int confirm_cameras; /* a track is reported confirmed only once one of its
                            detections was seen by this many cameras (default 4)... */
    int confirm_hits;    /* ... or it has taken this many detections (default 15) */
    int threads;         /* <= 0: OpenMP default */
    /* Added after the first release (appended): where the stages that have a GPU twin run
       (device.h; docs/CUDA.md lists them). AUTO (the default) takes a CUDA device when one
       opens and the CPU otherwise; CUDA without one fails vt_pipeline_new(). Results are
       the same on either. */
    vt_device_kind device;
    /* Appended: vt_pipeline_run runs the camera stages of frame set n+1 while set n is
       voted and tracked (default true). Results are the same either way. */
    bool overlap;
    /* Appended: thermal fusion between detection and tracking (docs/FUSION.md). With
       `fuse` (default true) and a rig with thermal cameras, each detection is looked at in
       every thermal camera and the rule of `fusion` applies; false leaves it all out. */
    bool fuse;
    vt_fusion_opts fusion;
} vt_pipeline_opts;

VT_API vt_pipeline_opts vt_pipeline_opts_default(void);

/* One instant: a frame per rig camera, or NULL where a camera delivered nothing. */
typedef struct vt_frame_set {
    int64_t frame;                 /* frame number */
    double t;                      /* time of the set, seconds */
    const vt_image *const *images; /* rig->count entries */
    const double *times;           /* per camera: capture time of its frame, seconds; NULL: all t */
} vt_frame_set;

/* A track's running thermal confirmation (docs/FUSION.md). */
typedef struct vt_track_fusion {
    int observed;  /* its detections a thermal camera could have seen (or a thermal ray saw) */
    int confirmed; /* of them, the confirmed ones */
    float rate;    /* confirmed / observed; NAN before any */
    float ratio;   /* running mean of its detections' thermal / mono SNR ratio; NAN none */
} vt_track_fusion;

/* What one camera contributed to a frame set. */
typedef struct vt_camera_result {
    bool present;      /* it delivered a frame */
    double sync_error; /* its frame's capture time minus the set's, seconds (0 if absent) */
    size_t changes;    /* changed pixels (motion) */
    size_t blobs;      /* blobs found */
    size_t rays;       /* rays cast */
    /* Appended: the camera's pose for this frame set (its rig pose unless it moves). */
    vt_vec3 position;
    vt_quat q;
    bool moved; /* the pose came from its pose source at its frame's time */
} vt_camera_result;

/* What one frame set produced; the pointers stay valid until the next call. */
typedef struct vt_pipeline_result {
    int64_t frame;
    double t;
    const vt_track *tracks;         /* live tracks after this set */
    const vt_target_class *classes; /* per track */
    const float *flicker;           /* per track: its brightness flicker (see bird_flicker) */
    size_t ntracks;
    const vt_detection *detections;
    size_t ndetections;
    size_t changes, blobs, rays, clusters; /* totals over the cameras */
    int cameras_live;                      /* cameras that delivered a frame */
    const vt_camera_result *cameras;       /* per rig camera */
    int ncameras;                          /* rig->count */
    double seconds;                        /* processing time of this set */
    double stage_seconds[4];               /* motion+blobs+rays, voting, detection, tracking */
    /* Added after the first release (appended): the sparse vote grid of this set, owned by
       the pipeline, valid until the next call; read its coarse blocks with
       vt_vote_block_get() (sparse.h). NULL where no grid is at hand. */
    const vt_vote *vote;
    /* Appended: seconds from the set's last frame being there (vt_pipeline_run: the
       producer handed it over; vt_pipeline_process: the call) to its tracks being handed
       to the consumer, waits in the loop's queues included. `seconds` is the work alone. */
    double latency;
    /* Appended: thermal fusion (NULL / 0 when it is off). fusion[i] is detections[i]'s
       record; those with `dropped` set were kept from the tracker. track_fusion[k] is
       tracks[k]'s running thermal confirmation. */
    const vt_fusion_record *fusion;
    const vt_track_fusion *track_fusion;
    size_t dropped;        /* detections the decision rule dropped */
    double fusion_seconds; /* the fusion stage's time in this set (within seconds) */
} vt_pipeline_result;

typedef struct vt_pipeline vt_pipeline;

/* Validates the options against the rig (at most 64 cameras) and sets everything up. */
VT_API vt_status vt_pipeline_new(const vt_pipeline_opts *opts, const vt_rig *rig,
                                 vt_pipeline **out);
VT_API void vt_pipeline_free(vt_pipeline *p);

/*
 * Processes one frame set (times non-decreasing). A frame whose size or depth
 * differs from its camera's is an error naming the camera.
 */
VT_API vt_status vt_pipeline_process(vt_pipeline *p, const vt_frame_set *fs,
                                     vt_pipeline_result *res);

/* Peak memory held by the sparse grid so far, bytes. */
VT_API size_t vt_pipeline_grid_peak_bytes(const vt_pipeline *p);

/* ---- the loop: a producer thread fills frame sets, the caller's thread processes ---- */

/* A frame set being filled: one image per rig camera, present[i] when camera i delivered. */
typedef struct vt_frame_slot {
    int64_t frame;
    double t;
    vt_image *images; /* rig->count images, owned by the loop, reused (fill in place) */
    bool *present;    /* rig->count flags */
    double *times;    /* rig->count capture times, seconds (set by the producer; the loop
                         sets them to t before each call) */
} vt_frame_slot;

/* Fills *slot with the next frame set, or sets *end. Runs on the producer thread. */
typedef vt_status (*vt_produce_fn)(void *user, vt_frame_slot *slot, bool *end);

/* Receives each result in order, on the calling thread. A non-zero return stops the loop. */
typedef vt_status (*vt_consume_fn)(void *user, const vt_pipeline_result *res);

/*
 * Runs the pipeline over every frame set `produce` gives: frame sets are
 * produced (read, decoded or rendered) on a thread of their own, up to
 * `depth` ahead (a bounded queue, default 2 when <= 0), while the calling
 * thread processes the previous ones, so that reading and processing
 * overlap. With opts.overlap the camera stages run on a third thread, one
 * frame set ahead of voting and tracking, so that the two halves of the
 * work overlap too; the results are the same as without. Each result's
 * latency runs from the producer's hand-over of its set. Returns the first
 * error of any side; the sets before it are all consumed.
 */
VT_API vt_status vt_pipeline_run(vt_pipeline *p, int depth, vt_produce_fn produce, void *puser,
                                 vt_consume_fn consume, void *cuser);

/*
 * ---- the pipeline in stages (added after the first release) ----
 *
 * vt_pipeline_process() is three stages in a row, and each is available on
 * its own so that they can run in different processes or on different
 * machines (the distributed mode, docs/CLUSTER.md):
 *
 *   vt_camera_stage   one camera: motion (its background model), blobs, rays.
 *                     Keeps state from frame to frame: feed it every frame of
 *                     its camera, in order.
 *   vt_vote_stage     one frame set: the rays of all cameras -> voting ->
 *                     detections. No state from one frame set to the next:
 *                     frame sets may be voted in any order, by any number of
 *                     vote stages, with the same results.
 *   vt_track_stage    detections -> tracks, frame sets in time order. Its
 *                     state can be saved and loaded (vt_track_stage_save), so
 *                     that another process goes on with identical tracks.
 *
 * Run in a row on the same inputs, the stages give exactly what
 * vt_pipeline_process() gives (it is made of them). Each handle is used by
 * one thread at a time; different handles are independent.
 */

/* What one camera made of one frame; the pointers stay valid until the stage's next call. */
typedef struct vt_camera_rays {
    bool present;        /* the camera delivered a frame */
    size_t changes;      /* changed pixels */
    size_t blobs;        /* blobs found (VT_RAYS_PIXELS: the changed pixels) */
    float noise;         /* its background model's noise sigma after this frame */
    const vt_ray *rays;  /* the rays cast, in the order voting takes them */
    const int32_t *area; /* per ray: the pixels of its blob (1 for a pixel ray) */
    size_t nrays;
    /* Appended: per ray, its blob's brightness before the matched filter (the sum of
       the unfiltered differences, vt_blob.raw_sum), which the bird test follows;
       NULL where there is none (rays of 2D detections): read as 0. */
    const float *raw;
} vt_camera_rays;

typedef struct vt_camera_stage vt_camera_stage;

/* The stage of rig camera `camera` (opts NULL: defaults), validated as vt_pipeline_new does. */
VT_API vt_status vt_camera_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig, int camera,
                                     vt_camera_stage **out);
VT_API void vt_camera_stage_free(vt_camera_stage *c);

/*
 * The camera's next frame (NULL: it delivered none; the background model is
 * left as it is). A frame whose size or depth differs from the camera's is
 * VT_EMISMATCH naming the camera. *out is replaced.
 */
VT_API vt_status vt_camera_stage_process(vt_camera_stage *c, const vt_image *img,
                                         vt_camera_rays *out);

/*
 * Moves the camera (a camera on a moving platform): the rays of the frames
 * processed from now on start at position and point by q (world_from_camera,
 * unit). VT_EINVAL, the stage unchanged, for a non-finite pose.
 */
VT_API vt_status vt_camera_stage_set_pose(vt_camera_stage *c, vt_vec3 position, vt_quat q);

/* What tracking needs of a ray that supports a detection. */
typedef struct vt_detection_ray {
    uint16_t camera; /* rig camera index */
    float weight;    /* the ray's weight: its blob's matched-filter SNR (see vt_ray_from_pixel) */
    float noise;     /* its camera's noise sigma (vt_camera_rays.noise), unfiltered */
    int32_t area;    /* its blob's pixels */
    float raw;       /* appended: its blob's unfiltered sum (vt_camera_rays.raw), 0: none */
} vt_detection_ray;

/* What voting and detection made of one frame set; valid until the stage's next call. */
typedef struct vt_set_detections {
    const vt_detection *detections;
    size_t ndetections;
    const vt_detection_ray *rays; /* detection d's rays: rays[d.first_ray .. + d.nrays) */
    size_t nrays;                 /* entries of rays */
    size_t rays_cast;             /* rays of all cameras that were voted */
    size_t clusters;              /* vote clusters */
    const vt_vote *vote;          /* the vote grid (see vt_pipeline_result.vote); may be NULL */
    double seconds[2];            /* voting, detection */
    /* Appended: per detection, its thermal fusion record (NULL: no fusion ran). */
    const vt_fusion_record *fusion;
} vt_set_detections;

typedef struct vt_vote_stage vt_vote_stage;

VT_API vt_status vt_vote_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig,
                                   vt_vote_stage **out);
VT_API void vt_vote_stage_free(vt_vote_stage *v);

/*
 * Votes one frame set: cams[i] is what rig camera i gave (rig->count
 * entries; an absent camera has present false and no rays). A ray whose
 * camera is not its entry's index, or that fails the detection stage's
 * checks, is VT_EINVAL naming the camera. *out is replaced.
 */
VT_API vt_status vt_vote_stage_process(vt_vote_stage *v, const vt_camera_rays *cams,
                                       vt_set_detections *out);

/* Peak memory held by the stage's sparse grid so far, bytes. */
VT_API size_t vt_vote_stage_grid_peak_bytes(const vt_vote_stage *v);

/* The tracks after one frame set; valid until the stage's next call. */
typedef struct vt_track_output {
    const vt_track *tracks;         /* live tracks (status as reported: see confirm_cameras) */
    const vt_target_class *classes; /* per track */
    const float *flicker;           /* per track */
    size_t ntracks;
    /* Appended: per track, its running thermal confirmation (all zero / NAN without fusion). */
    const vt_track_fusion *fusion;
} vt_track_output;

typedef struct vt_track_stage vt_track_stage;

VT_API vt_status vt_track_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig,
                                    vt_track_stage **out);
VT_API void vt_track_stage_free(vt_track_stage *t);

/*
 * Tracks one frame set's detections at time t (seconds, non-decreasing:
 * VT_EINVAL when it goes back). A detection ray whose camera is not in the
 * rig, or a detection whose rays lie outside dets->rays, is VT_EINVAL.
 */
VT_API vt_status vt_track_stage_process(vt_track_stage *t, double time,
                                        const vt_set_detections *dets, vt_track_output *out);

/*
 * ---- 2D detections as a camera's rays (added after the first release) ----
 *
 * A camera whose input is another detector's 2D detections (voxtrack/det2d.h)
 * skips motion and blobs: each detection becomes a ray exactly as a blob's
 * centroid does, and votes with the other cameras' rays.
 */

/*
 * Fills *out with the rays of the n detections d of rig camera rc (index
 * `camera`), as vt_det2d_ray makes them (opts NULL: defaults), into the
 * caller's arrays rays and area of n entries each: present true, blobs n,
 * noise 0, and area 0 for every ray (no blob brightness: the bird
 * classifier's flicker leaves such rays out). For vt_vote_stage_process.
 */
VT_API void vt_camera_rays_from_det2d(const vt_rig_camera *rc, int camera, const vt_det2d *d,
                                      size_t n, const vt_det2d_ray_opts *opts, vt_ray *rays,
                                      int32_t *area, vt_camera_rays *out);

/*
 * Makes rig camera `camera` take its rays from `dets` (borrowed: it must stay
 * unchanged and outlive the pipeline; clocked, as vt_det2d_load leaves it)
 * instead of from its frames; NULL goes back to frames. In each frame set the
 * camera's pixels are then not looked at: with fs->times, a non-NULL
 * images[camera] means the camera delivered a frame at fs->times[camera] (as
 * the detection source of vt_source_open delivers them, through the sync),
 * and the detections at exactly that time become its rays; with fs->times
 * NULL, those of its frame nearest fs->t within half a period of the rig's
 * fps. Ray sigmas are vt_det2d_ray's with opts.sigma_px.
 */
VT_API vt_status vt_pipeline_set_detections(vt_pipeline *p, int camera, const vt_det2d_list *dets);

/*
 * ---- thermal fusion, between the vote and track stages (added; docs/FUSION.md) ----
 *
 * vt_fusion_stage looks at each detection of a frame set in every thermal
 * camera of the rig (vt_thermal_measure at the detection's projection),
 * makes its record (vt_fusion_record) and applies the decision rule: the
 * detections it keeps, with their rays and records, are what the track
 * stage takes. No state from one frame set to the next but the moving
 * cameras' poses.
 */
typedef struct vt_fusion_stage vt_fusion_stage;

/* What fusion made of one frame set; valid until the stage's next call. */
typedef struct vt_fusion_output {
    vt_set_detections kept;          /* for the track stage: kept detections, rays, records */
    const vt_fusion_record *records; /* per input detection, in its order */
    size_t nrecords;
    size_t dropped, confirmed, contradicted, not_observable; /* over the input detections */
} vt_fusion_output;

/* The stage for this rig (opts NULL: defaults; opts->fusion is checked). */
VT_API vt_status vt_fusion_stage_new(const vt_pipeline_opts *opts, const vt_rig *rig,
                                     vt_fusion_stage **out);
VT_API void vt_fusion_stage_free(vt_fusion_stage *f);

/* Moves thermal camera `camera` (a moving platform) for the frame sets from now on. */
VT_API vt_status vt_fusion_stage_set_pose(vt_fusion_stage *f, int camera, vt_vec3 position,
                                          vt_quat q);

/*
 * Fuses one frame set: in is the vote stage's output; images[i] is rig
 * camera i's frame of this set (NULL: none, or no pixels to look at) and
 * noise[i] its background model's noise sigma (vt_camera_rays.noise; 0:
 * measured from the frame). A frame of the wrong size is VT_EINVAL naming the
 * camera. *out is replaced.
 */
VT_API vt_status vt_fusion_stage_process(vt_fusion_stage *f, const vt_set_detections *in,
                                         const vt_image *const *images, const float *noise,
                                         vt_fusion_output *out);

/* ---- run configuration ---- */

typedef struct vt_run_config {
    vt_pipeline_opts opts;
    char *rig;          /* path of the rig file, resolved against the config's folder */
    char *truth;        /* optional ground truth (truth.jsonl), or NULL */
    char *tracks;       /* output tracks.jsonl (default "tracks.jsonl" in the current folder) */
    char *detections;   /* optional detections.jsonl output, or NULL */
    char *alerts_json;  /* the "alerts" object (rules, docs/ALERTS.md) as JSON text, or NULL */
    int64_t max_frames; /* 0: all */
} vt_run_config;

/*
 * Reads a run configuration: {"rig": "rig.json", "volume": {"min": [x, y, z],
 * "max": [x, y, z]}, "truth": ..., "tracks": ..., "detections": ...,
 * "pipeline": {...}}. Unknown fields are refused; errors give the file,
 * line and column or the field's path.
 */
VT_API vt_status vt_run_config_load(const char *path, vt_run_config *cfg);
VT_API void vt_run_config_free(vt_run_config *cfg);

#ifdef __cplusplus
}
#endif

#endif
