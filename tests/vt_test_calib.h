/*
 * tests/vt_test_calib.h - a calibration flight from the simulator: a rig of
 * mono cameras around a drone that climbs, turns and changes speed; its
 * true track (truth.jsonl's positions and velocities at the nominal frame
 * times) and each camera's 2D detections (truth_pixels.jsonl's in-image
 * pixels at the camera's own capture times) with pixel noise, missed
 * detections, outliers, and one camera at half the frame rate. Everything is
 * drawn from a seed. Shared by tests/test_calib.c and bench/bench_calib.c.
 */
#ifndef VT_TEST_CALIB_H
#define VT_TEST_CALIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/calib.h"
#include "voxtrack/det2d.h"
#include "voxtrack/sim.h"

/* The true clock offsets of the cameras, s (camera 0 is the reference). */
static const double vt_flight_offsets[8] = {0.0, 0.137, -0.211, 0.45, 0.083, -0.36, 0.29, -0.05};

/* A scenario of `cams` (<= 8) mono cameras on a ring and one drone, `frames` frames at 30 fps. */
static inline vt_scenario *vt_flight_scenario(int cams, int frames)
{
    char pairs[8192] = "";
    size_t len = 0;
    for (int c = 0; c < cams; c++) {
        double a = 2.0 * 3.14159265358979 * c / cams - 1.5707963;
        double r = 340.0 + 30.0 * (c % 3);
        len += (size_t)snprintf(pairs + len, sizeof pairs - len,
                                "%s{\"position\": [%.3f, %.3f, %d], \"look_at\": [0, 0, 85],"
                                " \"mono\": {\"width\": 3840, \"height\": 2160, \"hfov_deg\": %d,"
                                " \"clock_offset\": %.3f, \"dist\": [%.3f, 0.01, 0, 0, 0]}}",
                                c ? ", " : "", r * cos(a), r * sin(a), 2 + c % 4, 58 + 2 * (c % 3),
                                vt_flight_offsets[c], c % 2 ? -0.05 : 0.0);
    }
    char json[12288];
    snprintf(json, sizeof json,
             "{\"name\": \"calibration flight\", \"seed\": 5,"
             " \"world\": {\"extent\": {\"min\": [-400, -400, 0], \"max\": [400, 400, 250]}},"
             " \"cameras\": {\"fps\": 30, \"frames\": %d, \"pairs\": [%s]},"
             " \"targets\": {\"drones\": [{\"size\": 0.6, \"speed\": 18, \"accel\": 9,"
             "  \"waypoints\": [[-90, -60, 45], [60, -50, 80], [-20, 40, 140], [70, 70, 60],"
             "   {\"turn_deg\": 270, \"radius\": 20}, [-80, 0, 100], [20, -80, 150],"
             "   {\"turn_deg\": -300, \"radius\": 20}, [0, 0, 70]]}]}}",
             frames, pairs);
    vt_scenario *s = NULL;
    if (vt_scenario_parse(json, "calibration flight", &s) != VT_OK) {
        fprintf(stderr, "flight scenario: %s\n", vt_last_error());
        return NULL;
    }
    return s;
}

/* The drone's true track at the nominal frame times, as truth.jsonl lists it. */
static inline vt_reftrack *vt_flight_track(const vt_scenario *s)
{
    int64_t n = vt_scenario_frames(s);
    double fps = vt_scenario_fps(s);
    double *t = malloc((size_t)n * sizeof *t);
    vt_vec3 *p = malloc((size_t)n * sizeof *p), *v = malloc((size_t)n * sizeof *v);
    size_t nt = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(nt, sizeof *tr);
    for (int64_t f = 0; f < n; f++) {
        t[f] = (double)f / fps;
        vt_scenario_targets(s, t[f], NULL, tr);
        p[f] = tr[0].pos;
        v[f] = tr[0].vel;
    }
    vt_reftrack *r = NULL;
    vt_reftrack_new(t, p, v, (size_t)n, &r);
    free(t), free(p), free(v), free(tr);
    return r;
}

static inline uint64_t vt_flight_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline double vt_flight_uniform(uint64_t *s)
{
    return (double)(vt_flight_rand(s) >> 11) * 0x1.0p-53;
}

static inline double vt_flight_gauss(uint64_t *s)
{
    double u = vt_flight_uniform(s), v = vt_flight_uniform(s);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * 3.14159265358979 * v);
}

/* What the detections are made of. */
typedef struct vt_flight_noise {
    double sigma_px; /* pixel noise */
    double missed;   /* probability a true detection is missing */
    double outliers; /* probability a frame gets a false detection anywhere in the image */
    double slow_fps; /* camera `slow` runs at this rate instead of the scenario's ... */
    int slow;        /* ... (-1: none) */
    uint64_t seed;
} vt_flight_noise;

/*
 * Camera c's detections: the drone's true pixel at every frame it is in the
 * image, as truth_pixels.jsonl gives it, with the noise. The slow camera's
 * frame n is captured at n / slow_fps + its clock offset, over the same span.
 * With `as`, camera c's clock but the camera model `as` (a camera the
 * scenario does not have).
 */
static inline void vt_flight_detections_of(const vt_scenario *s, int c, const vt_camera *as,
                                           const vt_flight_noise *nz, vt_det2d_list *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = vt_scenario_frames(s);
    size_t nt = vt_scenario_target_count(s);
    vt_target_truth *tr = calloc(nt, sizeof *tr);
    uint64_t rng = nz->seed * 1000003u + (uint64_t)c;
    out->capacity = (size_t)n * 2 + 1;
    out->items = calloc(out->capacity, sizeof *out->items);
    out->form = VT_DET2D_JSONL;
    bool slow = c == nz->slow && nz->slow_fps > 0;
    int64_t frames = slow ? (int64_t)floor((double)n / vt_scenario_fps(s) * nz->slow_fps) : n;
    for (int64_t f = 0; f < frames; f++) {
        double t = slow ? (double)f / nz->slow_fps + vt_flight_offsets[c] : 0.0;
        vt_camera cam;
        if ((!slow && !vt_scenario_frame_time(s, c, f, &t)) || vt_scenario_camera_at(s, c, t, &cam))
            continue;
        if (as)
            cam = *as;
        vt_scenario_targets(s, t, NULL, tr);
        double u, v;
        vt_det2d d;
        memset(&d, 0, sizeof d);
        d.frame = f;
        d.stamp = NAN;
        d.t = NAN;
        d.score = 1.0f;
        d.line = (int32_t)out->count + 1;
        if (vt_camera_world_to_pixel(&cam, tr[0].pos, &u, &v) && vt_camera_in_image(&cam, u, v) &&
            vt_flight_uniform(&rng) >= nz->missed) {
            d.u = u + nz->sigma_px * vt_flight_gauss(&rng);
            d.v = v + nz->sigma_px * vt_flight_gauss(&rng);
            if (vt_camera_in_image(&cam, d.u, d.v))
                out->items[out->count++] = d;
        }
        if (vt_flight_uniform(&rng) < nz->outliers) {
            d.u = vt_flight_uniform(&rng) * (cam.width - 1);
            d.v = vt_flight_uniform(&rng) * (cam.height - 1);
            d.line = (int32_t)out->count + 1;
            out->items[out->count++] = d;
        }
    }
    free(tr);
}

static inline void vt_flight_detections(const vt_scenario *s, int c, const vt_flight_noise *nz,
                                        vt_det2d_list *out)
{
    vt_flight_detections_of(s, c, NULL, nz, out);
}

/* A rotation of `deg` degrees about a seeded random axis. */
static inline vt_quat vt_flight_turn(uint64_t *rng, double deg)
{
    vt_vec3 a = vt_v3(vt_flight_gauss(rng), vt_flight_gauss(rng), vt_flight_gauss(rng));
    return vt_q_from_axis_angle(vt_v3_normalize(a), deg * 3.14159265358979 / 180.0);
}

#endif
