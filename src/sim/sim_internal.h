/*
 * src/sim/sim_internal.h - what the scenario files share (never installed).
 *
 * A scenario has two layers. The spec (vt__spec) is what a JSON file or a
 * preset says: ranges, counts, waypoint lists. The derived layer (rig,
 * per-camera timing, per-target schedules, platform schedules) is built from
 * the spec and the seed by vt__scenario_build(), and rebuilt whenever the
 * seed or the frame count changes, so every random choice is a function of
 * (spec, seed) alone.
 *
 * Every motion is a piecewise schedule (vt__traj) of closed-form segments:
 * constant acceleration, or a horizontal circular arc at constant speed. A
 * segment gives position, velocity and acceleration exactly, so velocity is
 * the true derivative and limits on speed and acceleration hold by
 * construction; looking up the segment of an instant is a binary search.
 */
#ifndef VOXTRACK_SIM_INTERNAL_H
#define VOXTRACK_SIM_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/render.h"
#include "voxtrack/rig.h"
#include "voxtrack/sim.h"

/* ---- counter-based random numbers -------------------------------------- */

/* Streams keep the random choices of different purposes independent. */
enum {
    VT__STREAM_DRONE = 1,
    VT__STREAM_BIRD = 2,
    VT__STREAM_GLINT = 3,
    VT__STREAM_CLOCK = 4,
    VT__STREAM_JITTER = 5,
    VT__STREAM_DROP = 6,
    VT__STREAM_IMU = 7,
    VT__STREAM_GPS = 8,
    VT__STREAM_RENDER = 9,
    VT__STREAM_BEACON = 10
};

/* splitmix64's finaliser: a bijective, well-mixed 64-bit hash. */
static inline uint64_t vt__mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline uint64_t vt__hash4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return vt__mix64(vt__mix64(vt__mix64(vt__mix64(seed) ^ a) ^ b) ^ c);
}

/* Uniform in [0, 1) from the top 53 bits of a hash. */
static inline double vt__unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

/* A sequential generator for the choices made while building a schedule. */
typedef struct vt__rng {
    uint64_t state;
} vt__rng;

static inline vt__rng vt__rng_make(uint64_t seed, uint64_t stream, uint64_t index)
{
    vt__rng r = {vt__hash4(seed, stream, index, 0)};
    return r;
}

static inline double vt__rng_uniform(vt__rng *r)
{
    r->state += 0x9E3779B97F4A7C15ull;
    return vt__unit(vt__mix64(r->state));
}

static inline double vt__rng_range(vt__rng *r, double lo, double hi)
{
    return lo + (hi - lo) * vt__rng_uniform(r);
}

/* Standard normal (Box-Muller) from two uniforms. */
static inline double vt__gauss2(double u1, double u2)
{
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * VT_PI * u2);
}

static inline double vt__rng_gauss(vt__rng *r)
{
    double u1 = vt__rng_uniform(r);
    return vt__gauss2(u1, vt__rng_uniform(r));
}

/* ---- schedules ---------------------------------------------------------- */

typedef enum vt__seg_kind { VT__SEG_LINE = 0, VT__SEG_ARC = 1 } vt__seg_kind;

/*
 * LINE: p(tau) = p0 + v0 tau + a tau^2 / 2. ARC: p(tau) = c + r (cos phi,
 * sin phi, 0) with phi = phi0 + w tau (c.z is the height). tau = t - t0.
 */
typedef struct vt__seg {
    vt__seg_kind kind;
    double t0;
    vt_vec3 p0, v0, a; /* LINE */
    vt_vec3 c;         /* ARC */
    double r, phi0, w; /* ARC */
} vt__seg;

typedef struct vt__traj {
    vt__seg *seg;
    size_t count, cap;
    vt_vec3 start;   /* position at t = 0 (before the first segment) */
    vt_vec3 start_v; /* velocity before the first segment */
    /* The state after the last segment: where the next one starts. */
    double t_end;
    vt_vec3 end_p, end_v;
    vt_vec3 heading; /* horizontal unit direction of the last motion (for turns) */
} vt__traj;

void vt__traj_init(vt__traj *tr, vt_vec3 start, vt_vec3 velocity, vt_vec3 heading);
void vt__traj_free(vt__traj *tr);
/* Constant acceleration a for dur seconds from the end state. */
vt_status vt__traj_accel(vt__traj *tr, vt_vec3 a, double dur);
/* Stays at rest for dur seconds. */
vt_status vt__traj_hover(vt__traj *tr, double dur);
/* Rest to rest in a straight line (trapezoidal speed profile). */
vt_status vt__traj_line(vt__traj *tr, vt_vec3 to, double vmax, double amax);
/*
 * Rest to rest through a horizontal arc of `angle` radians (> 0: left,
 * counter-clockwise seen from above) and `radius` metres, starting along the
 * last heading: speed up, turn at constant speed, slow down.
 */
vt_status vt__traj_turn(vt__traj *tr, double angle, double radius, double vmax, double amax);
/* Position, velocity and acceleration at t (any may be NULL). */
void vt__traj_eval(const vt__traj *tr, double t, vt_vec3 *p, vt_vec3 *v, vt_vec3 *a);
/* True when the segments from index `from` on stay inside [lo, hi] (sampled). */
bool vt__traj_inside(const vt__traj *tr, size_t from, vt_vec3 lo, vt_vec3 hi);

/* ---- the spec ----------------------------------------------------------- */

typedef struct vt__range {
    double lo, hi;
} vt__range;

typedef enum vt__step_kind {
    VT__STEP_TO = 0,    /* fly to a point */
    VT__STEP_HOVER = 1, /* stay for `seconds` */
    VT__STEP_TURN = 2,  /* arc of `angle` radians, `radius` metres */
    VT__STEP_CLIMB = 3  /* straight up (or down) by `dz` metres */
} vt__step_kind;

typedef struct vt__step {
    vt__step_kind kind;
    vt_vec3 to;
    double seconds, angle, radius, dz;
} vt__step;

/* A path: a start and steps, flown with speed and acceleration limits. */
typedef struct vt__path {
    vt_vec3 start;
    vt__step *steps;
    size_t count;
    double speed, accel;
} vt__path;

typedef struct vt__drone_spec {
    double size;
    float mono, thermal;
    vt__path path;
} vt__drone_spec;

typedef struct vt__random_drones {
    int count;
    vt_vec3 lo, hi; /* region the waypoints are drawn in */
    vt__range size, speed, accel, leg, hover, turn_radius, turn_deg, mono, thermal;
    double hover_prob, turn_prob;
} vt__random_drones;

typedef struct vt__birds_spec {
    int count;
    vt_vec3 lo, hi;
    vt__range size, speed, flap_hz, mono, thermal;
    double flap_amplitude;
    double turn_deg; /* largest heading change per random-walk step */
} vt__birds_spec;

typedef struct vt__glints_spec {
    int count;
    vt_vec3 lo, hi;
    double size, mono, interval; /* interval: mean seconds between flashes of one glint */
    vt__range frames;            /* how long a flash lasts, frames */
} vt__glints_spec;

typedef struct vt__cam_spec {
    int width, height;
    double fx, fy, cx, cy, dist[5];
    bool has_clock_offset; /* else drawn from cameras.clock_offset_max */
    double clock_offset, jitter, drop_prob;
} vt__cam_spec;

typedef struct vt__platform_spec {
    bool present;
    vt__path path; /* of the mono camera's centre */
    double sway_deg, sway_period;
    double imu_rate, gyro_noise, gyro_bias, accel_noise, accel_bias;
    double gps_rate, gps_noise_h, gps_noise_v;
    vt_vec3 gps_lever_arm;    /* antenna, body frame */
    double heading_noise_deg; /* > 0: a dual-antenna receiver logs headings */
    vt_vec3 heading_baseline; /* primary to secondary antenna, body frame */
    double heading_error_deg; /* sd of the error of the installed heading written to rig.json */
} vt__platform_spec;

typedef struct vt__pair_spec {
    vt_vec3 position;
    vt_quat q;        /* mount orientation, world_from_camera */
    vt_vec3 baseline; /* thermal centre in the mono camera's frame */
    vt__cam_spec mono, thermal;
    bool has_thermal;
    vt__platform_spec platform;
} vt__pair_spec;

/* Fixed lights at surveyed places (landmarks for the cameras on platforms). */
#define VT__BEACONS_MAX 32
typedef struct vt__beacons_spec {
    int count;
    vt_vec3 pos[VT__BEACONS_MAX];
    double size, mono; /* m, grey level */
    double survey_sd;  /* m per axis: the error of the positions rig.json gives */
} vt__beacons_spec;

typedef struct vt__spec {
    char name[64];
    vt_vec3 lo, hi; /* world extent */
    bool has_origin;
    double lat_deg, lon_deg, height_m;
    vt_render_sky sky_mono, sky_thermal;
    int supersample;
    double fps;
    int64_t frames;
    uint64_t seed;
    double clock_offset_max;
    vt__pair_spec *pairs;
    int pair_count;
    vt__drone_spec *drones;
    size_t drone_count;
    vt__random_drones random;
    vt__birds_spec birds;
    vt__glints_spec glints;
    vt__beacons_spec beacons;
} vt__spec;

/* Defaults shared by the parser and the presets. */
void vt__spec_defaults(vt__spec *sp);
void vt__cam_defaults(vt__cam_spec *c, int width, int height, double hfov_deg);
void vt__platform_defaults(vt__platform_spec *p);
void vt__spec_free(vt__spec *sp);

/*
 * scenario_json.c: a validated spec from JSON text (name for messages) or a
 * file. Errors name the file and the JSON path of the field; on failure *sp
 * holds nothing to free.
 */
vt_status vt__spec_parse(const char *json, const char *name, vt__spec *sp);
vt_status vt__spec_load(const char *path, vt__spec *sp);

/* ---- the derived scenario ----------------------------------------------- */

typedef struct vt__glint_event {
    double t0, t1;
    vt_vec3 pos;
} vt__glint_event;

typedef struct vt__target {
    vt_target_kind kind;
    double size;
    vt_vec3 semi;
    float mono, thermal;
    double phase;               /* schedule time at scenario time 0 */
    double flap_hz, flap_phase; /* birds */
    vt__traj traj;              /* drones, birds */
    vt__glint_event *events;    /* glints */
    size_t event_count;
} vt__target;

typedef struct vt__cam_state {
    int pair;
    vt_modality modality;
    double clock_offset, jitter, drop_prob;
} vt__cam_state;

typedef struct vt__platform {
    vt__traj traj;
    vt_vec3 gyro_bias, accel_bias;
    double heading_error; /* rad: of the installed heading rig.json says */
} vt__platform;

struct vt_scenario {
    vt__spec spec;
    vt_rig rig;
    vt__cam_state *cams;
    vt__target *targets;
    size_t target_count;
    vt__platform *platforms; /* one per pair (traj empty when fixed) */
};

/* Builds the derived layer from s->spec (freeing an earlier one). */
vt_status vt__scenario_build(vt_scenario *s);
/* A deep copy, rebuilt from the spec (for overrides on a const scenario). */
vt_status vt__scenario_clone(const vt_scenario *src, vt_scenario **out);

/* trajectory.c: the targets' schedules. */
vt_status vt__targets_build(vt_scenario *s);
void vt__targets_free(vt_scenario *s);
/*
 * A path's schedule; *bad is the index of the step that leaves [lo, hi]
 * (-1 for the start) when the result is VT_ERANGE. Pass lo > hi to skip the
 * check.
 */
vt_status vt__path_build(const vt__path *path, vt_vec3 lo, vt_vec3 hi, vt__traj *tr, long *bad);

/* platform.c: cameras on the move, timing, IMU and GPS. */
vt_status vt__platforms_build(vt_scenario *s);
void vt__platforms_free(vt_scenario *s);
/* The mono camera's centre and orientation of pair p at time t. */
void vt__pair_pose(const vt_scenario *s, int pair, double t, vt_vec3 *pos, vt_quat *q);
/*
 * Gives the cameras on moving platforms of rig (a copy of the scenario's) their
 * pose sources for rig.json: the platforms and their logs (the filter), or,
 * with truth, the true pose logs; and their installed orientation.
 */
vt_status vt__scenario_rig_poses(const vt_scenario *s, vt_rig *rig, bool truth);
/* A camera's orientation q at rest as rig.json says it: off by the platform's heading error. */
vt_quat vt__pair_installed_q(const vt_scenario *s, int pair, vt_quat q);
/* The orientation from heading (clockwise from north), elevation and roll, radians. */
vt_quat vt__orientation_ypr(double yaw, double pitch, double roll);
/* The orientation looking from `from` at `at` with a level horizon; false if vertical. */
bool vt__orientation_look_at(vt_vec3 from, vt_vec3 at, vt_quat *q);

/* presets.c */
vt_status vt__preset_spec(const char *name, vt__spec *sp);

#endif
