/*
 * voxtrack/det2d.h - 2D detections of another detector (a YOLO model on each
 * stream, a radar-cued tracker, hand labels) as a camera's input: reading
 * their files, putting them on the rig's clock, and turning them into rays
 * that vote exactly like the rays of blobs.
 *
 * One file per camera, in one of three forms (docs/FORMATS.md, worked
 * example in docs/DETECTIONS.md), told apart by their first line:
 *
 *   JSON Lines   {"frame": 12, "u": 511.2, "v": 300.5, "score": 0.9,
 *                 "w": 14, "h": 9, "class": "drone"}   ("t": s instead of or
 *                 beside "frame"; only u, v and frame or t are required)
 *   CSV          a header naming the columns (frame, t, u, v, score, w, h,
 *                class; separated by commas, or by white space when the
 *                header has no comma), then one detection per line
 *   bare         "frame u v" per line, white space between (no header)
 *
 * Blank lines and lines starting with '#' are skipped in the CSV and bare
 * forms. Frames (or times) must not go back; several detections may share a
 * frame. Every error names the file and the line.
 *
 * The clock: a detection's time on the rig's clock is scale * x + offset,
 * where x is its camera time (the file's "t", or its frame's time in the
 * camera's timestamps file) or, without one, its frame number; scale and
 * offset come from the rig camera (clock_scale, clock_offset in
 * voxtrack/rig.h; defaults 1 for times and 1 / fps for frame numbers).
 *
 * Thread safety: the functions keep no state; different lists may be used
 * from different threads.
 */
#ifndef VOXTRACK_DET2D_H
#define VOXTRACK_DET2D_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/camera.h"
#include "voxtrack/export.h"
#include "voxtrack/ray.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file forms. */
typedef enum vt_det2d_form {
    VT_DET2D_JSONL = 0,
    VT_DET2D_CSV = 1, /* with a header */
    VT_DET2D_BARE = 2 /* "frame u v" */
} vt_det2d_form;

/* One 2D detection. */
typedef struct vt_det2d {
    int64_t frame; /* frame number, >= 0; -1 when the file gives a time only */
    double stamp;  /* camera time, seconds: the file's "t", or the frame's time in the
                      timestamps file (vt_det2d_load); NAN when there is neither */
    double t;      /* time on the rig's clock, seconds (vt_det2d_apply_clock); NAN before */
    double u, v;   /* pixel, pixel centres at integers (as voxtrack/camera.h) */
    float score;   /* confidence 0..1; 1 when not given */
    float w, h;    /* box width and height, pixels; 0 when not given */
    int32_t line;  /* its line in the file, from 1 */
    char cls[16];  /* class ("drone"); "" when not given */
} vt_det2d;

/*
 * A camera's detections in file order (time order). Start from a zeroed
 * list; vt_det2d_list_free releases it.
 */
typedef struct vt_det2d_list {
    vt_det2d *items; /* owned */
    size_t count, capacity;
    vt_det2d_form form; /* the form the file was in */
    bool timed;         /* every detection has a camera time (stamp); else every one a frame */
} vt_det2d_list;

VT_API void vt_det2d_list_free(vt_det2d_list *l);

/*
 * Parses the text of a detection file (len bytes, not necessarily
 * NUL-terminated); `name` is the file's name in messages ("m0.csv:12:
 * column 'u': \"abc\" is not a number"). When width and height are > 0, a
 * detection outside the image (-0.5 <= u < width - 0.5, likewise v) is an
 * error. Refused with VT_EPARSE: an empty file, a header without u, v or a
 * time column (frame or t), a line with too few or too many values, a value
 * that is not a number (or not an integer frame >= 0), a score outside
 * [0, 1], a negative or lone box size (w without h), a class of 16 bytes or
 * more, unknown fields or columns, a line with a time when the first had
 * none (or the reverse), frames or times that go back. A header with no
 * line after it is a camera that saw nothing: zero detections, no error.
 * Replaces the contents of *out (left empty on failure).
 */
VT_API vt_status vt_det2d_parse(const char *text, size_t len, const char *name, int width,
                                int height, vt_det2d_list *out);

/* The same from a file (VT_ENOENT / VT_EIO naming it when it cannot be read). */
VT_API vt_status vt_det2d_read(const char *path, int width, int height, vt_det2d_list *out);

/*
 * Reads the detections of rig camera `camera`: its file (`path` when not
 * NULL, else the camera's "detections" resolved against the rig's folder),
 * checked against its image size; then, for detections with frame numbers
 * only, the camera's timestamps file when it has one (each detection's
 * stamp becomes its frame's time; a frame the file does not list is an
 * error); then vt_det2d_apply_clock. A file with times and a timestamps
 * file for the same camera is refused (VT_EMISMATCH): one clock only.
 */
VT_API vt_status vt_det2d_load(const vt_rig *rig, int camera, const char *path, vt_det2d_list *out);

/* A camera's clock: t = scale * x + offset (see the top of this file). */
typedef struct vt_det2d_clock {
    double scale, offset;
} vt_det2d_clock;

/* The clock of rig camera c for a list (timed or not), with the defaults resolved. */
VT_API vt_det2d_clock vt_det2d_camera_clock(const vt_rig *rig, const vt_rig_camera *c, bool timed);

/* x of a detection: its stamp when it has one, else its frame number. */
static inline double vt_det2d_clock_input(const vt_det2d *d)
{
    return d->stamp == d->stamp ? d->stamp : (double)d->frame; /* stamp NAN: no time */
}

/* Sets every detection's t = clock.scale * x + clock.offset. */
VT_API void vt_det2d_apply_clock(vt_det2d_list *l, vt_det2d_clock clock);

/*
 * The first detection whose t is >= t (binary search; the list must be in
 * time order, as every list read and clocked here is), or l->count.
 */
VT_API size_t vt_det2d_lower_bound(const vt_det2d_list *l, double t);

/* How a detection becomes a ray. */
typedef struct vt_det2d_ray_opts {
    double sigma_px;     /* pixel noise of a detection without a box (default 0.5) */
    double box_fraction; /* with a box: sigma = hypot(sigma_px, box_fraction * max(w, h))
                            (default 0.1: a box's centre is good to a tenth of its size) */
} vt_det2d_ray_opts;

VT_API vt_det2d_ray_opts vt_det2d_ray_opts_default(void);

/*
 * The world ray through detection d of camera cam, as the pipeline makes a
 * blob's (vt_ray_from_pixel): weight the score, sigma from the box as in
 * opts (NULL: defaults). False when the pixel has no ray.
 */
VT_API bool vt_det2d_ray(const vt_camera *cam, const vt_det2d *d, const vt_det2d_ray_opts *opts,
                         uint16_t camera, uint16_t pair, uint32_t index, vt_ray *out);

#ifdef __cplusplus
}
#endif

#endif
