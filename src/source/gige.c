/*
 * src/source/gige.c - GigE Vision cameras through Aravis (work in progress:
 * the full source follows in the next commits).
 */
#include "core/internal.h"
#include "source/source_internal.h"

vt_status vt__gige_open(const vt_rig *rig, int camera, const vt_source_opts *opts, vt_source **out)
{
    (void)opts;
    *out = NULL;
    return vt__error(VT_EUNSUPPORTED, "camera %d ('%s'): GigE Vision is not built yet", camera,
                     rig->cameras[camera].id);
}
