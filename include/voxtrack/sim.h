/*
 * voxtrack/sim.h - synthetic scenarios with ground truth.
 *
 * A scenario is a world (extent, optional geodetic origin, sky), a camera rig
 * of mono/thermal pairs (intrinsics with distortion, poses, frame rate,
 * per-camera clock offset and jitter, frame drops, optional moving
 * platforms with IMU and GPS streams) and targets (drones on waypoint,
 * hover, manoeuvre or seeded random trajectories; birds as distractors;
 * glints and other clutter). It comes from a JSON file (every field in
 * docs/SCENARIO.md) or a built-in preset: "default", "small", "8k".
 * Everything random derives from the scenario's seed.
 */
#ifndef VOXTRACK_SIM_H
#define VOXTRACK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/render.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_scenario vt_scenario;

/* The true state of one target at one instant. */
typedef struct vt_target_truth {
    int id;              /* stable, unique among all targets (drones first, from 0) */
    vt_target_kind kind; /* drone, bird or glint */
    vt_vec3 pos, vel;    /* metres, metres per second, world ENU */
    double size;         /* largest extent, metres */
} vt_target_truth;

/*
 * Reads and validates a scenario file. Malformed JSON is reported with line
 * and column; unknown fields and impossible values (negative sizes, zero
 * focal length, waypoints outside the world, ...) with the JSON path of the
 * field ("targets.drones[3].waypoints[1]").
 */
VT_API vt_status vt_scenario_load(const char *path, vt_scenario **out);

/* The same from a string; name is used in messages. */
VT_API vt_status vt_scenario_parse(const char *json, const char *name, vt_scenario **out);

/* A built-in scenario: "default", "small" or "8k". VT_ENOENT for others. */
VT_API vt_status vt_scenario_preset(const char *name, vt_scenario **out);

/* The preset names, NULL-terminated. */
VT_API const char *const *vt_scenario_preset_names(void);

VT_API void vt_scenario_free(vt_scenario *s);

/* Overrides (the CLI's --frames and --seed). The seed re-derives every random choice. */
VT_API vt_status vt_scenario_set_frames(vt_scenario *s, int64_t frames);
VT_API vt_status vt_scenario_set_seed(vt_scenario *s, uint64_t seed);

VT_API int64_t vt_scenario_frames(const vt_scenario *s);
VT_API double vt_scenario_fps(const vt_scenario *s);
VT_API uint64_t vt_scenario_seed(const vt_scenario *s);

/* The cameras at rest (media VT_MEDIA_NONE), origin and fps. Owned by s. */
VT_API const vt_rig *vt_scenario_rig(const vt_scenario *s);

/* The world's extent: the box targets fly in, world metres. */
VT_API void vt_scenario_volume(const vt_scenario *s, vt_vec3 *min, vt_vec3 *max);

/* Sky, noise and clutter settings for the renderer, seed included. */
VT_API vt_render_opts vt_scenario_render_opts(const vt_scenario *s);

/* Number of targets of every kind (drones + birds + glints). */
VT_API size_t vt_scenario_target_count(const vt_scenario *s);

/*
 * Every target at time t (seconds from the start): what the renderer draws
 * (render, may be NULL) and the truth (truth, may be NULL); each array has
 * vt_scenario_target_count() entries. Deterministic: depends only on t.
 */
VT_API void vt_scenario_targets(const vt_scenario *s, double t, vt_render_target *render,
                                vt_target_truth *truth);

/*
 * When camera `camera` captures frame `frame`: nominal frame / fps plus the
 * camera's clock offset and jitter. Returns false when that frame is
 * dropped (the camera delivers nothing for it).
 */
VT_API bool vt_scenario_frame_time(const vt_scenario *s, int camera, int64_t frame, double *t);

/*
 * The camera's pose at time t: the rig's pose on a fixed mount, or its
 * platform's pose at t. Writes a copy of the camera with that pose.
 */
VT_API vt_status vt_scenario_camera_at(const vt_scenario *s, int camera, double t, vt_camera *out);

/* True when the scenario has moving platforms (then IMU and GPS streams exist). */
VT_API bool vt_scenario_has_platforms(const vt_scenario *s);

/*
 * Writes, per moving platform p, imu_p.csv (1 kHz: t, gyro xyz rad/s, accel
 * xyz m/s^2, in the body frame, with bias and noise) and gps_p.csv (10 Hz:
 * t, lat, lon, h, and ENU x, y, z with RTK-like noise) into dir. Nothing
 * when there are no platforms.
 */
VT_API vt_status vt_scenario_write_platform_logs(const vt_scenario *s, const char *dir);

#ifdef __cplusplus
}
#endif

#endif
