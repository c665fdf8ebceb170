/*
 * src/stream/lz4chunk_internal.h - VoxelChunk encoding with a chosen payload
 * layout (lz4chunk.c), for tests, benchmarks and writers for older readers.
 * Only vt_status and the public wire types are needed, so that tests and
 * benchmarks can include it without the generated nanopb headers.
 */
#ifndef VOXTRACK_LZ4CHUNK_INTERNAL_H
#define VOXTRACK_LZ4CHUNK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxtrack/wire.h"

/* PayloadEncoding of proto/voxtrack.proto (docs/STREAMING.md says how each lays out the votes). */
enum {
    VT__VOXEL_U32_LE = 0,       /* 512 LE uint32 per block; chunks from before the field */
    VT__VOXEL_U32_SHUFFLE4 = 1, /* the same votes as four byte planes */
    VT__VOXEL_U32_SPARSE = 2    /* 64-byte masks, then the nonzero votes; the default */
};

/*
 * vt_wire_encode_voxel_chunk with the payload laid out as `encoding` says
 * (VT_EINVAL naming it for another value). vt_wire_encode_voxel_chunk is
 * this with VT__VOXEL_U32_SPARSE.
 */
vt_status vt__wire_encode_voxel_chunk_as(vt_wire_encoder *e, const vt_wire_voxel_info *info,
                                         const vt_wire_voxel_block *blocks, size_t count,
                                         int encoding, const uint8_t **msg, size_t *len);

#endif
