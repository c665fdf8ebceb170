/*
 * src/stream/wire_internal.h - what the wire-format sources share: the
 * encoder's state, a growing output stream for nanopb, and a growing text
 * buffer for JSON.
 */
#ifndef VOXTRACK_WIRE_INTERNAL_H
#define VOXTRACK_WIRE_INTERNAL_H

#include <pb.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "stream/lz4frame_internal.h"
#include "voxtrack.pb.h"
#include "voxtrack/wire.h"

struct vt__geo; /* the geodetic conversion, when the rig has an origin */

struct vt_wire_encoder {
    uint8_t *buf;    /* the last message; grown, never shrunk */
    size_t cap, pos; /* pos: bytes written so far */
    int ncams;
    char (*ids)[32]; /* camera ids of the rig */
    uint64_t *drops; /* per camera: frame sets it missed */
    bool has_origin;
    double lat_deg, lon_deg, h_m;
    void *geo;                   /* vt_geodetic when available, else NULL */
    const vt_pipeline_result *r; /* the result being encoded */
    /* VoxelChunk: the raw votes and their LZ4 frame, kept between calls */
    uint8_t *raw;
    size_t raw_cap;
    vt__lz4 lz; /* the payload's LZ4 frame and the compression context */
    const vt_wire_voxel_block *blocks;
    size_t nblocks;
    vt_wire_voxel_block *vblocks; /* vt_wire_encode_vote_chunk's blocks, kept */
    size_t vblocks_cap;
};

/* A nanopb output stream that writes into e->buf, growing it. */
pb_ostream_t vt__wire_out(vt_wire_encoder *e);

/* Encodes `fields` from `src` into e->buf; VT_ENOMEM or VT_EINVAL naming `what`. */
vt_status vt__wire_encode(vt_wire_encoder *e, const pb_msgdesc_t *fields, const void *src,
                          const char *what, const uint8_t **msg, size_t *len);

/* Seconds to int64 nanoseconds (saturating; NaN gives 0). */
int64_t vt__wire_ns(double seconds);

/* WGS84 of an ENU point; false when the encoder has no origin (or the conversion failed). */
bool vt__wire_geo(vt_wire_encoder *e, vt_vec3 enu, double *lat, double *lon, double *h);

/* LZ4 frame compression of e->raw[0..n) into e->lz. */
vt_status vt__wire_lz4(vt_wire_encoder *e, size_t n);
void vt__wire_lz4_free(vt_wire_encoder *e);

/* A VoxelChunk as JSON members (after "type"), the payload summarised. */
vt_status vt__wire_voxel_json(const uint8_t *msg, size_t len, vt__buf *b);

#endif
