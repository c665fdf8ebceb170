/*
 * src/camera/rig_internal.h - what rig.c, rig_pose.c and rig_save.c share
 * (never installed): rig.c's field readers, so that every part of rig.json is
 * read and reported the same way, and the moving-camera parts of the file.
 */
#ifndef VOXTRACK_RIG_INTERNAL_H
#define VOXTRACK_RIG_INTERNAL_H

#include <jansson.h>
#include <stdio.h>

#include "core/internal.h"
#include "voxtrack/rig.h"

/* Where a field is, for messages: the file, the camera (index -1: outside the cameras). */
typedef struct vt__rig_where {
    const char *file;
    int index;      /* camera index, -1 outside the cameras */
    const char *id; /* camera id once known, else NULL */
} vt__rig_where;

/* VT_EPARSE: "FILE: camera I ('ID'): field 'FIELD' WHAT" (or "FILE: field 'FIELD' WHAT"). */
vt_status vt__rig_field_error(const vt__rig_where *w, const char *field, const char *fmt, ...)
    VT__PRINTF(3, 4);
/* A finite number; an array of n finite numbers; a non-empty string (missing: an error). */
vt_status vt__rig_number(const vt__rig_where *w, json_t *v, const char *field, double *out);
vt_status vt__rig_array(const vt__rig_where *w, json_t *v, const char *field, size_t n,
                        double *out);
vt_status vt__rig_string(const vt__rig_where *w, json_t *v, const char *field, const char **out);
/* Refuses keys of obj outside `known` (NULL-terminated), naming them with the path `what`. */
vt_status vt__rig_keys(const vt__rig_where *w, json_t *obj, const char *const *known,
                       const char *what);

/* rig_pose.c: the top-level "platforms" and "landmarks" (read before the cameras). */
vt_status vt__rig_parse_platforms(const char *file, json_t *root, vt_rig *rig);
/* rig_pose.c: a camera's "pose" (none: a fixed camera). */
vt_status vt__rig_parse_camera_pose(const vt__rig_where *w, json_t *cam, const vt_rig *rig,
                                    vt_rig_camera *c);
/* rig_pose.c: frees the platforms and landmarks of a rig. */
void vt__rig_free_platforms(vt_rig *rig);

#endif
