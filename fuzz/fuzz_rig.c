/*
 * fuzz/fuzz_rig.c - libFuzzer target for the rig reader (vt_rig_load,
 * voxtrack/rig.h; docs/RIG.md).
 *
 * The input is rig.json's text. A load must return VT_OK or a documented
 * error with a message; a rig that loads must hold what the reader promises:
 * at least one camera, each with a size, a finite positive focal length, a
 * unit quaternion and a NUL-terminated id. Anything else, a crash, a
 * sanitizer report or a leak, is a bug. Built and run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "voxtrack/rig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("rig.json", data, size);
    vt_rig rig;
    fuzz_clear_error();
    vt_status s = vt_rig_load(path, &rig);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    if (s != VT_OK)
        return 0;
    if (rig.count < 1 || !rig.cameras || !(rig.fps > 0))
        abort();
    for (int i = 0; i < rig.count; i++) {
        const vt_camera *k = &rig.cameras[i].cam;
        double qn = k->q.w * k->q.w + k->q.x * k->q.x + k->q.y * k->q.y + k->q.z * k->q.z;
        if (k->width < 1 || k->height < 1 || !(k->fx > 0 && isfinite(k->fx)) ||
            !(k->fy > 0 && isfinite(k->fy)) || !(fabs(qn - 1.0) < 1e-6) ||
            vt_rig_find(&rig, rig.cameras[i].id) < 0)
            abort();
    }
    vt_rig_free(&rig);
    return 0;
}
