/*
 * fuzz/fuzz_wire.c - libFuzzer target for the wire decoders (voxtrack/wire.h).
 *
 * The first byte picks the message type (0 and 6..255 are unknown types,
 * which must be refused cleanly too); the rest is the message. Every decoder
 * runs on it: vt_wire_to_json, vt_wire_decode_tracks and
 * vt_wire_decode_voxel_chunk. Any crash, sanitizer report, leak, or a
 * status other than OK/EPARSE/EINVAL is a bug. Built and run by scripts/fuzz.
 */
#include <stdint.h>
#include <stdlib.h>

#include "voxtrack/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    vt_msg_type type = (vt_msg_type)data[0];
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    char *json = NULL;
    vt_status s = vt_wire_to_json(type, msg, len, &json);
    if (s != VT_OK && s != VT_EPARSE && s != VT_EINVAL)
        abort();
    if ((s == VT_OK) != (json != NULL))
        abort();
    free(json);

    vt_wire_track_batch b = {0};
    s = vt_wire_decode_tracks(msg, len, &b);
    if (s != VT_OK && s != VT_EPARSE)
        abort();
    vt_wire_track_batch_free(&b);

    vt_wire_voxel_info info;
    vt_wire_voxel_block *blocks = NULL;
    size_t count = 0;
    s = vt_wire_decode_voxel_chunk(msg, len, &info, &blocks, &count);
    if (s != VT_OK && s != VT_EPARSE)
        abort();
    free(blocks);
    return 0;
}
