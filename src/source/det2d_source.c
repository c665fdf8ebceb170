/*
 * src/source/det2d_source.c - a camera with 2D detections as a frame source
 * (backend "detections"), so that the frame sync groups its frames with the
 * other cameras' by time exactly as it groups frames: one frame per distinct
 * detection time, at that time on the rig's clock (vt_det2d_load), with the
 * file's frame number. The frame's pixels are a 1x1 placeholder: the
 * pipeline takes the camera's rays from the detections themselves
 * (vt_pipeline_set_detections). A frame in which the detector found nothing
 * is not in the file, so it is not delivered either: the sync counts the
 * camera absent from that set, which for voting is the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "source/source_internal.h"
#include "voxtrack/det2d.h"

typedef struct det_state {
    vt_det2d_list l;
    size_t next; /* first detection not delivered */
    int bits;
} det_state;

static vt_status det_read(void *state, vt_image *img, int64_t *frame, double *t, bool *end)
{
    det_state *s = state;
    if (s->next >= s->l.count) {
        *end = true;
        return VT_OK;
    }
    const vt_det2d *d = &s->l.items[s->next];
    vt_status st = vt__image_reshape(img, 1, 1, s->bits);
    if (st)
        return st;
    memset(img->data, 0, s->bits == 16 ? 2 : 1);
    *frame = d->frame >= 0 ? d->frame : (int64_t)s->next;
    *t = d->t;
    while (s->next < s->l.count && s->l.items[s->next].t == d->t)
        s->next++;
    *end = false;
    return VT_OK;
}

static void det_free(void *state)
{
    det_state *s = state;
    if (!s)
        return;
    vt_det2d_list_free(&s->l);
    free(s);
}

static const vt__source_backend det_backend = {"detections", det_read, NULL, det_free};

vt_status vt__det2d_source_open(const vt_rig *rig, int camera, vt_source **out)
{
    const vt_rig_camera *c = &rig->cameras[camera];
    char label[64];
    snprintf(label, sizeof label, "camera %d ('%s')", camera, c->id);
    det_state *s = calloc(1, sizeof *s);
    if (!s)
        return vt__error(VT_ENOMEM, "%s: out of memory", label);
    s->bits = c->bits == 16 ? 16 : 8;
    vt_status st = vt_det2d_load(rig, camera, NULL, &s->l);
    if (st) {
        det_free(s);
        return st;
    }
    return vt__source_wrap(&det_backend, s, label, out);
}
