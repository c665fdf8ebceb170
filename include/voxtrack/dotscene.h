/*
 * voxtrack/dotscene.h - a tiny dataset in the original projector's format:
 * a ring of cameras watching one bright dot that moves in a straight line
 * against a flat sky. It is the built-in dataset of `voxtrack demo` (until
 * the full simulator lands), of the end-to-end tests and of the project
 * benchmark, and it has a known answer: where the dot is.
 */
#ifndef VOXTRACK_DOTSCENE_H
#define VOXTRACK_DOTSCENE_H

#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/math3d.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_dotscene_opts {
    int cameras;        /* cameras on the ring; default 4 */
    int frames;         /* frames per camera; default 8 */
    int width, height;  /* pixels; default 640 x 360 */
    double fov_deg;     /* horizontal field of view; default 60 */
    double ring_radius; /* horizontal distance of the cameras from `look_at`; default 1200 m */
    double ring_height; /* camera height (world z); default 100 m */
    vt_vec3 look_at;    /* where every camera points; default (0, 0, 500) */
    vt_vec3 start;      /* dot position at frame 0; default (30, -20, 520) */
    vt_vec3 velocity;   /* dot displacement per frame; default (6, 4, 3) m */
    double dot_radius;  /* metres; default 4 */
    int background;     /* sky level 0..255; default 40 */
    int dot_level;      /* dot level 0..255; default 230 */
} vt_dotscene_opts;

VT_API vt_dotscene_opts vt_dotscene_opts_default(void);

/* The dot's world position at a frame. */
VT_API vt_vec3 vt_dotscene_position(const vt_dotscene_opts *o, int frame);

/*
 * The yaw/pitch/roll (degrees, roll = 0) of camera `cam` in the original's
 * convention, and its position.
 */
VT_API void vt_dotscene_camera(const vt_dotscene_opts *o, int cam, vt_vec3 *position,
                               double *yaw_deg, double *pitch_deg, double *roll_deg);

/*
 * Renders the dataset into `dir` (which must exist): metadata.json and one
 * 8-bit gray PNG per camera and frame, named cam<C>_frame<F>.png. The dot is
 * drawn with area coverage (supersampled), so it moves smoothly at sub-pixel
 * steps.
 */
VT_API vt_status vt_dotscene_write(const vt_dotscene_opts *o, const char *dir);

#ifdef __cplusplus
}
#endif

#endif
