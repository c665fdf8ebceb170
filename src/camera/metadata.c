/*
 * src/camera/metadata.c - the original projector's metadata.json.
 *
 * An array of one object per frame: camera_index, frame_index,
 * camera_position [x, y, z], yaw, pitch, roll, fov_degrees (degrees) and
 * image_file. The original filled a missing field with a default (a missing
 * fov became 60 degrees, a missing position the origin) and went on; here
 * every field is required and checked (core/json_read.h, against the table
 * below, which docs/FORMATS.md shows), and a problem is reported with the
 * file, the entry index and the field, before any image is read. Other keys
 * (the original's object_name, object_location) are allowed and ignored:
 * files of the original project carry them, and this format is kept as the
 * original wrote it.
 */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/metadata_fields.h"
#include "core/internal.h"
#include "voxtrack/project.h"

static_assert(sizeof(vt_vec3) == 3 * sizeof(double), "vt_vec3 is 3 doubles");

const vt__jfield vt__metadata_fields[] = {
    {"camera_index", VT__JT_INT, offsetof(vt_frame_meta, camera_index), VT__JF_REQUIRED, -INFINITY,
     INFINITY, 0, NULL, NULL, NULL, 0, NULL, "which camera took the frame"},
    {"frame_index", VT__JT_INT, offsetof(vt_frame_meta, frame_index), VT__JF_REQUIRED, -INFINITY,
     INFINITY, 0, NULL, NULL, NULL, 0, NULL, "the frame's position in that camera's sequence"},
    VT__JF_NUMS("camera_position", vt_frame_meta, position, 3, VT__JF_REQUIRED,
                "camera centre, world metres (x, y, z)"),
    {"yaw", VT__JT_NUM, offsetof(vt_frame_meta, yaw), VT__JF_REQUIRED, -INFINITY, INFINITY, 0, NULL,
     NULL, NULL, 0, NULL,
     "degrees; rotation `Rz(yaw)·Ry(roll)·Rx(pitch)` of a camera that looks down its −Z with image "
     "y up"},
    {"pitch", VT__JT_NUM, offsetof(vt_frame_meta, pitch), VT__JF_REQUIRED, -INFINITY, INFINITY, 0,
     NULL, NULL, NULL, 0, NULL, "degrees"},
    {"roll", VT__JT_NUM, offsetof(vt_frame_meta, roll), VT__JF_REQUIRED, -INFINITY, INFINITY, 0,
     NULL, NULL, NULL, 0, NULL, "degrees"},
    {"fov_degrees", VT__JT_NUM, offsetof(vt_frame_meta, fov_deg),
     VT__JF_REQUIRED | VT__JF_GT | VT__JF_LT, 0, 180, 0, NULL, NULL, NULL, 0, NULL,
     "horizontal field of view, degrees"},
    VT__JF_STR("image_file", vt_frame_meta, image_file, VT__JF_REQUIRED,
               "image path relative to the image folder"),
    VT__JF_SKIP("*", "any other key (the original's `object_name`, `object_location`): ignored"),
    {0}};

static vt_status parse_entry(json_t *obj, const char *path, size_t entry, vt_frame_meta *f)
{
    char where[4200];
    snprintf(where, sizeof where, "%s: entry %zu", path, entry);
    vt__jctx c = {.where = where};
    f->entry = (int)entry;
    return vt__json_read(&c, obj, "", vt__metadata_fields, f);
}

vt_status vt_metadata_load(const char *path, vt_metadata *out)
{
    memset(out, 0, sizeof *out);
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (err.line < 0 || json_error_code(&err) == json_error_cannot_open_file)
            return vt__error(VT_ENOENT, "%s: cannot open: %s", path, err.text);
        return vt__error(VT_EPARSE, "%s: line %d, column %d: %s", path, err.line, err.column,
                         err.text);
    }
    vt_status s = VT_OK;
    if (!json_is_array(root)) {
        s = vt__error(VT_EPARSE, "%s: the top level must be an array of frame entries", path);
        goto done;
    }
    size_t n = json_array_size(root);
    if (n == 0) {
        s = vt__error(VT_EPARSE, "%s: no frame entries", path);
        goto done;
    }
    out->frames = calloc(n, sizeof *out->frames);
    if (!out->frames) {
        s = vt__error(VT_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        out->count = i + 1; /* so that vt_metadata_free frees what was parsed */
        if ((s = parse_entry(json_array_get(root, i), path, i, &out->frames[i])))
            break;
    }
done:
    json_decref(root);
    if (s)
        vt_metadata_free(out);
    return s;
}

void vt_metadata_free(vt_metadata *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->frames[i].image_file);
    free(m->frames);
    memset(m, 0, sizeof *m);
}
