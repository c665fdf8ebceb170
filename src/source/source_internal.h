/*
 * src/source/source_internal.h - what the frame sources (source.c), the frame
 * writers (writer.c) and the FFmpeg video code (video.c writes, video_read.c
 * reads) share. Never installed.
 */
#ifndef VOXTRACK_SOURCE_INTERNAL_H
#define VOXTRACK_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/image.h"
#include "voxtrack/status.h"

/*
 * Stores one row of `width` gray samples of depth `depth` bits (1..16; one
 * byte each up to 8 bits, two bytes in the given byte order above) into row
 * y of img (8 or 16 bits). Samples are MSB-aligned: a d-bit value v becomes
 * v << (16 - d) in a 16-bit image and v >> (d - 8) in an 8-bit one, so that
 * 12-bit thermal video read back is the 16-bit frame written, less its 4 low
 * bits.
 */
void vt__store_gray_row(const uint8_t *src, int depth, bool big_endian, vt_image *img, int y);

/* Makes *img a width x height image of `bits`, reusing its pixels when they fit. */
vt_status vt__image_reshape(vt_image *img, int width, int height, int bits);

/*
 * Reads a timestamps file ("FRAME SECONDS" per line, frames strictly
 * increasing; docs/FORMATS.md) into two malloc'd arrays of *count entries
 * (NULL when empty). On failure nothing is left allocated and the message
 * names the file and the line.
 */
vt_status vt__stamps_read(const char *path, int64_t **frame, double **t, size_t *count);

/* Quiets FFmpeg's own log once per process (our messages carry the same facts). */
void vt__quiet_ffmpeg_log(void);

/*
 * Sets the last error to "PATH: WHAT: FFmpeg's message for err" and returns
 * s (VT_ENOENT for a missing file, VT_ENOMEM when FFmpeg ran out of memory).
 */
vt_status vt__av_error(vt_status s, const char *path, const char *what, int err);

/* ------------------------------------------------------------------------ */
/* Backends: every kind of source behind one table                          */

#include "voxtrack/source.h"

typedef struct vt__source_backend {
    const char *name; /* "gige", "sim", ... (vt_source_stats.backend) */
    /* Next frame into *img (reshape it with vt__image_reshape); *end at the end. */
    vt_status (*read)(void *state, vt_image *img, int64_t *frame, double *t, bool *end);
    /* Fills the counters it knows (frames is counted by the wrapper). May be NULL. */
    void (*stats)(const void *state, vt_source_stats *st);
    void (*free)(void *state);
} vt__source_backend;

/* Camera `camera`'s 2D detections as a source of placeholder frames (det2d_source.c). */
vt_status vt__det2d_source_open(const vt_rig *rig, int camera, vt_source **out);

/*
 * Makes a vt_source of a backend's state (owned by the source from then on,
 * freed by backend->free even on failure). `label` names the source in
 * messages ("camera 3 ('m3')").
 */
vt_status vt__source_wrap(const vt__source_backend *backend, void *state, const char *label,
                          vt_source **out);

/* ------------------------------------------------------------------------ */
/* Video (video.c)                                                           */

typedef struct vt__video_writer vt__video_writer;

/*
 * Starts an HEVC (libx265) stream in a Matroska file at `path`: 8-bit
 * images as GRAY8, 16-bit ones as the deepest gray format the encoder takes
 * (GRAY12 with Debian's libx265: sample >> 4). Frame numbers are the
 * presentation times in units of 1 / fps.
 */
vt_status vt__video_writer_open(const char *path, int width, int height, int bits, double fps,
                                vt__video_writer **out);
vt_status vt__video_writer_write(vt__video_writer *w, const vt_image *img, int64_t frame);
/* Drains the encoder, writes the trailer and frees. Accepts NULL. */
vt_status vt__video_writer_close(vt__video_writer *w);

typedef struct vt__video_reader vt__video_reader;

/*
 * Opens any video file or stream URL FFmpeg reads, with the decoding options
 * of opts (NULL: defaults): hwaccel, decode_threads, and for network URLs
 * (rtsp://, tcp://, udp://, http://) timeout_s, the longest wait for data
 * before a disconnect error (VT_EIO). rtsp:// goes over TCP.
 */
vt_status vt__video_reader_open(const char *path, const vt_source_opts *opts,
                                vt__video_reader **out);

/*
 * Decodes the next good frame into *img, which holds the expected size and
 * bits: a frame of another size is an error (VT_EMISMATCH). Damaged packets
 * and frames are skipped and counted (vt__video_reader_corrupt). *t is the
 * frame's presentation time in seconds since the stream's start and *has_t
 * false when the stream has none. Sets *end at the end of the stream (or of
 * a file cut short). Errors say "PATH: frame N: ...".
 */
vt_status vt__video_reader_read(vt__video_reader *r, vt_image *img, double *t, bool *has_t,
                                bool *end);

/* Packets and frames skipped so far. */
int64_t vt__video_reader_corrupt(const vt__video_reader *r);

/* Fills corrupt, disconnects and hw of *st. */
void vt__video_reader_stats(const vt__video_reader *r, vt_source_stats *st);

void vt__video_reader_free(vt__video_reader *r);

/* ------------------------------------------------------------------------ */
/* GigE (gige.c)                                                             */

#include "voxtrack/rig.h"

/*
 * Opens rig camera `camera`, whose media is VT_MEDIA_GIGE, through Aravis
 * (opts NULL: defaults) and wraps it with vt__source_wrap. Errors name the
 * camera and its id.
 */
vt_status vt__gige_open(const vt_rig *rig, int camera, const vt_source_opts *opts, vt_source **out);

#endif
