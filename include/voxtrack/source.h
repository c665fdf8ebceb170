/*
 * voxtrack/source.h - frame sources and frame writers: the frames of one rig
 * camera, read from (or written to) an image sequence (PNG, PGM), a video
 * (HEVC in Matroska through libavcodec/libx265, or any file or stream URL
 * FFmpeg reads) or a raw file of concatenated samples.
 *
 * Every source yields frames in capture order with their frame number and
 * capture time. The camera's timestamps file, when present, has one line per
 * delivered frame: "FRAME SECONDS" (frames a camera dropped have no line);
 * without it, frame n is the n-th frame read and its time n / fps.
 */
#ifndef VOXTRACK_SOURCE_H
#define VOXTRACK_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/image.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_frame_format {
    VT_FORMAT_PNG = 0,
    VT_FORMAT_PGM = 1,
    VT_FORMAT_HEVC = 2,
    VT_FORMAT_RAW = 3
} vt_frame_format;

/* Parses "png", "pgm", "hevc", "raw". VT_EINVAL for others. */
VT_API vt_status vt_frame_format_parse(const char *name, vt_frame_format *out);
VT_API const char *vt_frame_format_name(vt_frame_format f);

typedef struct vt_source vt_source;

/*
 * Opens the frames of rig camera `camera` (its media, path and timestamps,
 * resolved against rig->dir). Errors name the camera and the file.
 */
VT_API vt_status vt_source_open(const vt_rig *rig, int camera, vt_source **out);

/*
 * Reads the next frame into *img (reallocated when its size or depth
 * differs; the camera's bits are kept: 16-bit video comes back as 16-bit).
 * Sets *end and returns VT_OK at the end of the frames. A frame whose size
 * differs from the rig's, a truncated file or an undecodable frame is an
 * error naming the camera and the frame.
 */
VT_API vt_status vt_source_read(vt_source *s, vt_image *img, int64_t *frame, double *t, bool *end);

VT_API void vt_source_free(vt_source *s);

typedef struct vt_frame_writer vt_frame_writer;

/*
 * Starts writing the frames of *cam under dir in format fmt. Sets cam->media,
 * cam->path (relative to dir: "m0/%06d.png", "m0.mkv", "m0.raw") and
 * cam->timestamps ("m0/timestamps.txt"), so that the rig written into dir
 * afterwards finds them. Thermal (16-bit) frames in HEVC are stored as
 * 12-bit gray (value >> 4 on write, << 4 on read), the deepest gray format
 * libx265 takes.
 */
VT_API vt_status vt_frame_writer_open(const char *dir, vt_rig_camera *cam, vt_frame_format fmt,
                                      double fps, vt_frame_writer **out);

/* Appends one frame (size and bits of the camera) captured at time t. */
VT_API vt_status vt_frame_writer_write(vt_frame_writer *w, const vt_image *img, int64_t frame,
                                       double t);

/* Flushes (the encoder's delayed frames, the timestamps) and frees. Accepts NULL. */
VT_API vt_status vt_frame_writer_close(vt_frame_writer *w);

#ifdef __cplusplus
}
#endif

#endif
