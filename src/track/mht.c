/*
 * src/track/mht.c - track-oriented multiple hypothesis tracking (in progress).
 */
#include <stdlib.h>

#include "core/internal.h"
#include "track/track_internal.h"

struct vt__mht {
    int unused;
};

vt_status vt__mht_new(const vt_tracker_opts *o, vt__mht **out)
{
    (void)o;
    *out = NULL;
    return vt__error(VT_EUNSUPPORTED, "vt_tracker_new: the MHT tracker is not built yet");
}

void vt__mht_free(vt__mht *m)
{
    free(m);
}

vt_status vt__mht_update(vt__mht *m, double dt, const vt__dets *d, uint64_t *next_id,
                         vt_track **tracks, size_t *ntracks, size_t *cap_tracks, uint64_t *assign)
{
    (void)m, (void)dt, (void)d, (void)next_id, (void)tracks, (void)ntracks, (void)cap_tracks,
        (void)assign;
    return VT_EUNSUPPORTED;
}
