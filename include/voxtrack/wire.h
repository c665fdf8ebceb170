/*
 * voxtrack/wire.h - the wire format of voxtrack's streams: Protocol Buffers
 * messages (proto/voxtrack.proto, package voxtrack.v1, encoded with nanopb),
 * their decoding, and their JSON form.
 *
 * A message travels without an envelope: the transports (transport.h) carry
 * its vt_msg_type beside the bytes. Every field is described in the .proto
 * and in docs/STREAMING.md. An encoder keeps its buffers from one call to
 * the next, so that steady-state encoding does not allocate. Decoders accept
 * any bytes: garbage or truncated messages give VT_EPARSE with a message
 * naming the type and what is wrong, never a crash.
 */
#ifndef VOXTRACK_WIRE_H
#define VOXTRACK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxtrack/export.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"
#include "voxtrack/status.h"
#include "voxtrack/track.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The message types, as the transports carry them. Only ever appended. */
typedef enum vt_msg_type {
    VT_MSG_TRACK_BATCH = 1,
    VT_MSG_DETECTION_BATCH = 2,
    VT_MSG_FRAME_SET_STATS = 3,
    VT_MSG_HEALTH = 4,
    VT_MSG_VOXEL_CHUNK = 5
} vt_msg_type;

/* The message name of a type ("TrackBatch", "DetectionBatch", ...); "?" for others. */
VT_API const char *vt_msg_type_name(vt_msg_type t);

/* ---- encoding ---------------------------------------------------------- */

/* An encoder: the rig's camera ids and origin, per-camera drop counters, buffers. */
typedef struct vt_wire_encoder vt_wire_encoder;

/*
 * Creates an encoder for results of this rig (copied: camera ids, geodetic
 * origin). With an origin, TrackUpdate and Detection carry WGS84 latitude,
 * longitude and height. rig may be NULL (no camera ids, no WGS84).
 * One encoder per thread.
 */
VT_API vt_status vt_wire_encoder_new(const vt_rig *rig, vt_wire_encoder **out);
VT_API void vt_wire_encoder_free(vt_wire_encoder *e);

/*
 * Each encodes one message into a buffer owned by the encoder: *msg is valid
 * until the next call on this encoder. The buffer grows as needed and is
 * kept, so a steady stream does not allocate.
 */
/* TrackBatch: every live track of the result (any count). */
VT_API vt_status vt_wire_encode_tracks(vt_wire_encoder *e, const vt_pipeline_result *r,
                                       const uint8_t **msg, size_t *len);
/* DetectionBatch: every detection of the result. */
VT_API vt_status vt_wire_encode_detections(vt_wire_encoder *e, const vt_pipeline_result *r,
                                           const uint8_t **msg, size_t *len);
/* FrameSetStats: per-camera figures (drops counted by this encoder over its calls) and
   stage latencies. Call it once per frame set for the drop counts to be right. */
VT_API vt_status vt_wire_encode_stats(vt_wire_encoder *e, const vt_pipeline_result *r,
                                      const uint8_t **msg, size_t *len);

/* The figures of a Health message (the streamer fills them). */
typedef struct vt_wire_health {
    double uptime_s;         /* seconds since the stream began */
    uint64_t frame_sets;     /* frame sets published so far */
    double frame_sets_per_s; /* rate over the last interval */
    int cameras_live, cameras_total;
    int tracks, confirmed_tracks; /* live tracks; confirmed or coasting among them */
    uint64_t stream_errors;       /* failed sends, all URLs together */
} vt_wire_health;

/* Health (the library version is added). */
VT_API vt_status vt_wire_encode_health(vt_wire_encoder *e, const vt_wire_health *h,
                                       const uint8_t **msg, size_t *len);

/*
 * A block of 8x8x8 voxel votes for a VoxelChunk. votes are fixed point,
 * VT_VOTE_ONE units per 1.0, indexed (x * 8 + y) * 8 + z.
 * vt_wire_encode_vote_chunk() makes them from a sparse vote grid.
 */
typedef struct vt_wire_voxel_block {
    int32_t bx, by, bz; /* block coordinates: voxels [8 * bx, 8 * bx + 8) ... */
    uint32_t votes[512];
} vt_wire_voxel_block;

/* What a VoxelChunk describes besides its blocks. */
typedef struct vt_wire_voxel_info {
    int64_t frame;
    double t;          /* seconds */
    double voxel_size; /* metres, > 0 */
    vt_vec3 origin;    /* ENU corner of block (0, 0, 0), metres */
} vt_wire_voxel_info;

/*
 * VoxelChunk: the blocks' votes compressed in one LZ4 frame (lz4frame.h), so
 * that the payload, written to a file, reads with `lz4 -d`. The votes are
 * laid out as encoding u32_sparse (a 64-byte occupancy mask per block, then
 * the nonzero votes: docs/STREAMING.md); count may be 0.
 */
VT_API vt_status vt_wire_encode_voxel_chunk(vt_wire_encoder *e, const vt_wire_voxel_info *info,
                                            const vt_wire_voxel_block *blocks, size_t count,
                                            const uint8_t **msg, size_t *len);

/*
 * VoxelChunk of the coarse level of a vote grid's last cast (sparse.h): the
 * level-0 blocks that hold a cell seen by >= min_cameras distinct cameras, in
 * the grid's block order, at most max_blocks of them (0: all; the rest are
 * left out, their number in *left_out when it is not NULL). Votes above
 * UINT32_MAX (65536 votes of weight 1) are clamped to it. voxel_size and
 * origin come from the grid (coarse_voxel, min); frame and t are the caller's.
 * The blocks are converted in a buffer the encoder keeps. Each block costs
 * 2 KiB before compression.
 */
VT_API vt_status vt_wire_encode_vote_chunk(vt_wire_encoder *e, const vt_vote *v, int min_cameras,
                                           size_t max_blocks, int64_t frame, double t,
                                           const uint8_t **msg, size_t *len, size_t *left_out);

/* ---- decoding ---------------------------------------------------------- */

/* The class of a decoded track (TargetClass of the .proto). */
typedef enum vt_wire_class {
    VT_WIRE_CLASS_UNKNOWN = 0,
    VT_WIRE_CLASS_DRONE = 1,
    VT_WIRE_CLASS_BIRD = 2
} vt_wire_class;

/* One decoded TrackUpdate. */
typedef struct vt_wire_track {
    vt_track track; /* id, status, pos, vel, cov, cams, thermal, thermal_hits, hits,
                       misses, age, accel_rms as sent */
    int64_t time_ns;
    vt_wire_class cls;
    float confidence; /* 0..1, see docs/STREAMING.md */
    float flicker;
    bool thermal_confirmed;
    bool has_geo; /* lat/lon/h were sent (the rig has a geodetic origin) */
    double lat_deg, lon_deg, h_m;
    /* Appended: the running thermal confirmation (TrackUpdate fields 22-25; docs/FUSION.md).
       From a sender without fusion, or from before the fields: 0, 0, NAN, NAN. */
    vt_track_fusion fusion;
} vt_wire_track;

/* A decoded TrackBatch. Start from {0}; decoding into it again reuses the array. */
typedef struct vt_wire_track_batch {
    int64_t frame;
    int64_t time_ns;
    double t;              /* time_ns in seconds */
    vt_wire_track *tracks; /* count entries, owned */
    size_t count, capacity;
} vt_wire_track_batch;

/*
 * Decodes a TrackBatch into *out (its previous tracks are replaced; the
 * array is kept and grown). VT_EPARSE naming what is wrong on bad input,
 * VT_ENOMEM. On failure *out holds no tracks (count 0).
 */
VT_API vt_status vt_wire_decode_tracks(const uint8_t *msg, size_t len, vt_wire_track_batch *out);
VT_API void vt_wire_track_batch_free(vt_wire_track_batch *b);

/* One decoded CameraStats (a camera's figures for one frame set). */
typedef struct vt_wire_camera_stats {
    uint32_t index;      /* camera index in the rig */
    char id[32];         /* camera id in the rig ("m0"), NUL-terminated; "" if not sent */
    bool present;        /* it delivered a frame for this set */
    double sync_error_s; /* its capture time minus the set's time, seconds */
    uint64_t drops;      /* frame sets it missed since the stream began */
    uint64_t changes;    /* changed pixels */
    uint32_t blobs, rays;
} vt_wire_camera_stats;

/* A decoded FrameSetStats. Start from {0}; decoding into it again reuses the array. */
typedef struct vt_wire_stats {
    int64_t frame;
    int64_t time_ns;
    double t;                      /* time_ns in seconds */
    vt_wire_camera_stats *cameras; /* count entries in message order, owned */
    size_t count, capacity;
    uint32_t cameras_live;         /* cameras that delivered a frame */
    uint64_t changes, blobs, rays; /* totals over the cameras */
    uint64_t clusters;             /* vote clusters */
    uint32_t detections, tracks;
    double processing_s; /* wall time the pipeline spent on the set, seconds */
    double motion_s, voting_s, detect_s, tracking_s; /* stage latencies, seconds */
} vt_wire_stats;

/*
 * Decodes a FrameSetStats into *out (its previous cameras are replaced; the
 * array is kept and grown). VT_EPARSE naming what is wrong on bad input,
 * VT_ENOMEM, VT_EINVAL for NULL arguments. On failure *out is freed: zero
 * figures, no cameras, nothing allocated. Calls on different *out may run on
 * any threads. vt_wire_stats_free (NULL accepted) frees the array.
 */
VT_API vt_status vt_wire_decode_stats(const uint8_t *msg, size_t len, vt_wire_stats *out);
VT_API void vt_wire_stats_free(vt_wire_stats *s);

/*
 * A decoded message as one JSON object, without a newline, in a malloc'ed
 * string (*json; the caller frees it): {"type": "TrackBatch", "frame": ...}
 * with the .proto's field names. VoxelChunk payloads are summarised (sizes
 * and encoding), not dumped. VT_EPARSE naming the type and the problem on bad input,
 * VT_EINVAL for an unknown type. Never crashes on garbage.
 */
VT_API vt_status vt_wire_to_json(vt_msg_type type, const uint8_t *msg, size_t len, char **json);

/*
 * Decompresses a VoxelChunk's payload into malloc'ed blocks (*blocks, *count;
 * the caller frees *blocks) and its info, in any of its payload encodings
 * (u32_le, which chunks from before the field use, u32_shuffle4, u32_sparse).
 * VT_EPARSE on bad input (including a payload whose size does not fit its
 * block coordinates, an unknown encoding, and sparse masks that mark more or
 * fewer voxels than the payload carries votes).
 */
VT_API vt_status vt_wire_decode_voxel_chunk(const uint8_t *msg, size_t len,
                                            vt_wire_voxel_info *info, vt_wire_voxel_block **blocks,
                                            size_t *count);

#ifdef __cplusplus
}
#endif

#endif
