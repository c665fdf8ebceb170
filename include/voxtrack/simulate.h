/*
 * voxtrack/simulate.h - renders a scenario to disk: what `voxtrack simulate`
 * writes, and what the pipeline then reads as if it came from real cameras.
 *
 * Output folder (docs/SCENARIO.md describes every file):
 *   rig.json            the cameras and where their frames are (voxtrack/rig.h)
 *   m0/000000.png, ...  the frames, per camera, in the chosen format, with
 *   m0/timestamps.txt   "FRAME SECONDS" per delivered frame (voxtrack/source.h)
 *   truth.jsonl         every drone and bird at every nominal frame time
 *   truth_pixels.jsonl  per camera and delivered frame, each target's true pixel and SNR
 *   config.json         {"rig", "truth", "volume"} for `voxtrack run`
 *   imu_P.csv, gps_P.csv  per moving platform (pair P), when there are any
 *   heading_P.csv       per platform with a dual-antenna receiver
 *   truth_pose_ID.csv   per camera on a platform: its true pose log (docs/POSE.md)
 */
#ifndef VOXTRACK_SIMULATE_H
#define VOXTRACK_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "voxtrack/export.h"
#include "voxtrack/sim.h"
#include "voxtrack/source.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Progress: `done` of `total` camera frames rendered (dropped ones count as
 * done). Called from the rendering threads, one call at a time.
 */
typedef void (*vt_simulate_progress_fn)(void *user, int64_t done, int64_t total);

typedef struct vt_simulate_opts {
    const char *out_dir;    /* created when missing (its parent must exist) */
    vt_frame_format format; /* default VT_FORMAT_PNG */
    int64_t frames;         /* > 0: render this many frames instead of the scenario's */
    bool override_seed;     /* true: use `seed` instead of the scenario's */
    uint64_t seed;
    int threads; /* <= 0: OpenMP default */
    vt_simulate_progress_fn progress;
    void *progress_user;
    /* Appended: rig.json gives cameras on moving platforms their true pose logs
       (truth_pose_<id>.csv) instead of the platforms' GPS + IMU logs (default false). */
    bool true_poses;
} vt_simulate_opts;

/* What a run did. */
typedef struct vt_simulate_stats {
    int64_t frames;         /* frames per camera */
    int cameras;            /* cameras in the rig */
    int64_t images;         /* camera frames written */
    int64_t dropped;        /* camera frames dropped by the scenario */
    uint64_t bytes_written; /* frames, truth, rig and logs */
    double seconds;         /* wall time */
} vt_simulate_stats;

/* Defaults: no out_dir (must be set), PNG, the scenario's frames and seed. */
VT_API vt_simulate_opts vt_simulate_opts_default(void);

/*
 * Renders every camera frame of the scenario (each at its camera's capture
 * time, from its pose at that time; dropped frames are not written) and
 * writes the output folder described above. Deterministic: the same
 * scenario, seed and format give the same bytes whatever the thread count.
 * Cameras are rendered in parallel. Errors name the file. stats may be NULL.
 */
VT_API vt_status vt_simulate_run(const vt_scenario *s, const vt_simulate_opts *opts,
                                 vt_simulate_stats *stats);

/*
 * The simulator as a frame source (backend "sim"): camera `camera` of the
 * scenario, rendered frame by frame in order, each at the camera's own
 * capture time (vt_scenario_frame_time: clock offset and jitter included);
 * frames the scenario drops are not delivered and count as lost in
 * vt_source_stats. Frame numbers are the scenario's. The scenario must
 * outlive the source. Each source has a renderer of its own, so sources of
 * different cameras may be read from different threads.
 */
VT_API vt_status vt_source_open_sim(const vt_scenario *sc, int camera, vt_source **out);

/*
 * Told by a sim source after it draws a frame: its camera, frame number and
 * capture time, and each scenario target's matched-filter SNR in that frame
 * (snr[i] for target i of vt_scenario_targets, n of them; vt_renderer_snr
 * defines it). snr is valid during the call only. Called on the thread that
 * reads the source.
 */
typedef void (*vt_sim_snr_fn)(void *user, int camera, int64_t frame, double t, const float *snr,
                              size_t n);

/* vt_source_open_sim, telling fn (when not NULL) each frame's SNRs. (Added later.) */
VT_API vt_status vt_source_open_sim_snr(const vt_scenario *sc, int camera, vt_sim_snr_fn fn,
                                        void *user, vt_source **out);

/*
 * Writes the truth_pixels.jsonl line (docs/SCENARIO.md) of camera `camera`
 * at frame `frame`, captured at time t, with the targets' SNRs snr[0 ..
 * vt_scenario_target_count) as a sim source reports them. VT_EIO when the
 * write fails, VT_ENOMEM. (Added later.)
 */
VT_API vt_status vt_simulate_pixels_line(const vt_scenario *s, int camera, int64_t frame, double t,
                                         const float *snr, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
