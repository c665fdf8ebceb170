/*
 * fuzz/fuzz_metadata.c - libFuzzer target for the original projector's
 * metadata reader (vt_metadata_load, voxtrack/project.h; docs/PROJECT.md).
 *
 * The input is metadata.json's text. A load must return VT_OK or a
 * documented error with a message; metadata that loads holds entries with an
 * image file, a field of view in (0, 180) and finite numbers, in file order.
 * Anything else, a crash, a sanitizer report or a leak, is a bug. Built and
 * run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "voxtrack/project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("metadata.json", data, size);
    vt_metadata m;
    fuzz_clear_error();
    vt_status s = vt_metadata_load(path, &m);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    if (s != VT_OK)
        return 0;
    for (size_t i = 0; i < m.count; i++) {
        const vt_frame_meta *f = &m.frames[i];
        if (!f->image_file || !(f->fov_deg > 0 && f->fov_deg < 180) || !isfinite(f->position.x) ||
            !isfinite(f->position.y) || !isfinite(f->position.z) || !isfinite(f->yaw) ||
            !isfinite(f->pitch) || !isfinite(f->roll) || f->entry != (int)i)
            abort();
    }
    vt_metadata_free(&m);
    return 0;
}
