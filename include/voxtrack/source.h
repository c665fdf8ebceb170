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

/* Video decoding: on a GPU (NVDEC through FFmpeg's hwaccel) or on the CPU. */
typedef enum vt_hwaccel {
    VT_HWACCEL_AUTO = 0, /* CUDA when a device opens, software otherwise (logged once) */
    VT_HWACCEL_NONE = 1, /* software decoding */
    VT_HWACCEL_CUDA = 2  /* CUDA required: failing to open it is an error */
} vt_hwaccel;

/* Parses "auto", "none", "cuda". VT_EINVAL for others. */
VT_API vt_status vt_hwaccel_parse(const char *name, vt_hwaccel *out);

typedef struct vt_source_opts {
    vt_hwaccel hwaccel; /* default VT_HWACCEL_AUTO */
    int decode_threads; /* software decoding threads; 0: FFmpeg's choice (default 0) */
    double timeout_s;   /* live sources (streams, GigE): no frame for this long is a
                           disconnect (default 5) */
    int reconnect_max;  /* live sources: reconnection attempts before the source fails;
                           < 0: forever (default 10) */
} vt_source_opts;

VT_API vt_source_opts vt_source_opts_default(void);

/* What a source has delivered and met so far. */
typedef struct vt_source_stats {
    int64_t frames;      /* frames delivered */
    int64_t corrupt;     /* bad packets or frames skipped */
    int64_t lost;        /* frames the camera or stream lost (gaps in its frame counter) */
    int64_t resent;      /* packets resent (GigE Vision) */
    int64_t disconnects; /* times the source went away */
    int64_t reconnects;  /* times it came back */
    bool hw;             /* frames are decoded on a GPU */
    char backend[16];    /* "frames", "raw", "video", "gige", "sim", "detections" */
} vt_source_stats;

/*
 * Opens the frames of rig camera `camera` (its media, path and timestamps,
 * resolved against rig->dir) with default options. Errors name the camera
 * and the file. A network URL is retried until timeout_s (the server may
 * start after us); hwaccel cuda without a usable CUDA device is
 * VT_EUNSUPPORTED, auto falls back to software with one line on stderr.
 */
VT_API vt_status vt_source_open(const vt_rig *rig, int camera, vt_source **out);

/* The same with options (NULL: defaults). */
VT_API vt_status vt_source_open_opts(const vt_rig *rig, int camera, const vt_source_opts *opts,
                                     vt_source **out);

VT_API vt_source_stats vt_source_stats_get(const vt_source *s);

/*
 * Reads the next frame into *img (reallocated when its size or depth
 * differs; the camera's bits are kept: 16-bit video comes back as 16-bit;
 * of a colour video only the luma plane is kept). Sets *end and returns
 * VT_OK at the end of the frames. A frame whose size differs from the
 * rig's, a truncated image or raw file or an unreadable image is an error
 * naming the camera and the frame. A video skips damaged packets and frames
 * (counted in vt_source_stats.corrupt) and a video cut short ends early
 * (the frames its timestamps list beyond its end count as lost, with one
 * warning on stderr). A network stream that sends nothing for timeout_s, or
 * that its sender closes, is reconnected with backoff up to reconnect_max
 * times, then VT_EIO naming the URL (docs/SOURCES.md, "Reconnection").
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
