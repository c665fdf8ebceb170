/*
 * src/source/sync.c - frame sets from a rig's cameras, grouped by frame
 * number (see voxtrack/sync.h).
 *
 * Every camera keeps one frame read ahead in a buffer of its own. A frame
 * set takes, from each camera whose pending frame has the smallest frame
 * number, that buffer, by swapping it with the caller's image: the pixels
 * never move. Cameras that end early or fail are dropped with a warning and
 * remembered in their statistics, so that a run can say what it lost. A
 * frame of the wrong size is not a camera failing but a rig that does not
 * describe its cameras: that stops the run (docs/RUN.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/source.h"
#include "voxtrack/sync.h"

typedef struct cam {
    vt_source *src;
    vt_image ahead; /* the pending frame */
    int64_t frame;  /* its number */
    double t;       /* its capture time */
    bool pending, ended;
    bool just_ended; /* ended in this round of reads: say so once the others have read */
    vt_sync_camera_stats stats;
} cam;

struct vt_sync {
    const vt_rig *rig;
    cam *cams;
    int count;
    int64_t sets; /* frame sets delivered */
};

vt_status vt_sync_open(const vt_rig *rig, vt_sync **out)
{
    if (!rig || !out || rig->count <= 0)
        return vt__error(VT_EINVAL, "vt_sync_open: no rig or no cameras");
    *out = NULL;
    vt_sync *s = calloc(1, sizeof *s);
    cam *cams = calloc((size_t)rig->count, sizeof *cams);
    if (!s || !cams) {
        free(s);
        free(cams);
        return vt__error(VT_ENOMEM, "sync: out of memory");
    }
    s->rig = rig;
    s->cams = cams;
    s->count = rig->count;
    for (int i = 0; i < rig->count; i++) {
        cams[i].stats.first = cams[i].stats.last = -1;
        vt_status st = vt_source_open(rig, i, &cams[i].src);
        if (st) {
            vt_sync_free(s);
            return st;
        }
    }
    *out = s;
    return VT_OK;
}

void vt_sync_free(vt_sync *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->count; i++) {
        vt_source_free(s->cams[i].src);
        vt_image_free(&s->cams[i].ahead);
    }
    free(s->cams);
    free(s);
}

vt_sync_camera_stats vt_sync_camera_stats_get(const vt_sync *s, int camera)
{
    vt_sync_camera_stats none = {.first = -1, .last = -1};
    if (!s || camera < 0 || camera >= s->count)
        return none;
    return s->cams[camera].stats;
}

/*
 * Reads camera i's next frame into its read-ahead buffer, or ends/drops it.
 * Fails only for a frame of the wrong size: VT_EMISMATCH from an image
 * sequence (whose only mismatch is the size), or from a camera's first frame
 * (a video of another size; for a raw file or video, a mismatch later on is a
 * stream shorter than its timestamps, which is a camera ending early).
 */
static vt_status read_ahead(vt_sync *s, int i)
{
    cam *c = &s->cams[i];
    const vt_rig_camera *rc = &s->rig->cameras[i];
    bool end = false;
    vt_status st = vt_source_read(c->src, &c->ahead, &c->frame, &c->t, &end);
    if (st == VT_EMISMATCH && (rc->media == VT_MEDIA_FRAMES || c->stats.frames == 0))
        return st;
    if (st) {
        c->ended = true;
        c->stats.failed = true;
        snprintf(c->stats.error, sizeof c->stats.error, "%s", vt_last_error());
        /* The source's messages name the camera already; name it only when not. */
        char label[64];
        snprintf(label, sizeof label, "camera %d ('%s')", i, rc->id);
        if (strncmp(c->stats.error, label, strlen(label)) == 0)
            vt__log(1, "%s; going on without it", c->stats.error);
        else
            vt__log(1, "%s: %s; going on without it", label, c->stats.error);
        return VT_OK;
    }
    if (end) {
        c->ended = true;
        c->just_ended = s->sets > 0;
        return VT_OK;
    }
    c->pending = true;
    return VT_OK;
}

vt_status vt_sync_next(vt_sync *s, vt_image *images, bool *present, int64_t *frame, double *t,
                       bool *end)
{
    if (!s || !images || !present || !frame || !t || !end)
        return vt__error(VT_EINVAL, "vt_sync_next: NULL argument");
    *end = false;
    for (int i = 0; i < s->count; i++)
        if (!s->cams[i].pending && !s->cams[i].ended) {
            vt_status st = read_ahead(s, i);
            if (st)
                return st;
        }
    int64_t n = INT64_MAX;
    for (int i = 0; i < s->count; i++)
        if (s->cams[i].pending && s->cams[i].frame < n)
            n = s->cams[i].frame;
    /* A camera that ran out is news only while others still have frames. */
    for (int i = 0; i < s->count; i++) {
        cam *c = &s->cams[i];
        if (c->just_ended && n != INT64_MAX)
            vt__log(2, "camera %d ('%s'): no frames after frame %lld; going on with the others", i,
                    s->rig->cameras[i].id, (long long)c->stats.last);
        c->just_ended = false;
    }
    if (n == INT64_MAX) {
        *end = true;
        return VT_OK;
    }
    double sum = 0.0;
    int k = 0;
    for (int i = 0; i < s->count; i++) {
        cam *c = &s->cams[i];
        present[i] = c->pending && c->frame == n;
        if (!present[i])
            continue;
        vt_image tmp = images[i];
        images[i] = c->ahead;
        c->ahead = tmp;
        c->pending = false;
        sum += c->t;
        k++;
        c->stats.frames++;
        if (c->stats.first < 0)
            c->stats.first = n;
        c->stats.last = n;
    }
    *frame = n;
    *t = sum / k;
    s->sets++;
    return VT_OK;
}
