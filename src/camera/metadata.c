/*
 * src/camera/metadata.c - the original projector's metadata.json.
 *
 * An array of one object per frame: camera_index, frame_index,
 * camera_position [x, y, z], yaw, pitch, roll, fov_degrees (degrees) and
 * image_file. The original filled a missing field with a default (a missing
 * fov became 60 degrees, a missing position the origin) and went on; here
 * every field is required and checked, and a problem is reported with the
 * file, the entry index and the field, before any image is read. Other keys
 * (the original's object_name, object_location) are allowed and ignored.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "voxtrack/project.h"

static vt_status field_error(const char *path, size_t entry, const char *field, const char *what)
{
    return vt__error(VT_EPARSE, "%s: entry %zu: field '%s' %s", path, entry, field, what);
}

static vt_status get_int(json_t *obj, const char *path, size_t entry, const char *field, int *out)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return field_error(path, entry, field, "is missing");
    /* Accept 3.0 as 3 (JSON writers differ), reject 3.5. */
    if (json_is_real(v) && json_real_value(v) == (double)(int)json_real_value(v)) {
        *out = (int)json_real_value(v);
        return VT_OK;
    }
    if (!json_is_integer(v))
        return field_error(path, entry, field, "must be an integer");
    json_int_t i = json_integer_value(v);
    if (i < -2147483647 || i > 2147483647)
        return field_error(path, entry, field, "is out of range");
    *out = (int)i;
    return VT_OK;
}

static vt_status get_number(json_t *v, const char *path, size_t entry, const char *field,
                            double *out)
{
    if (!v)
        return field_error(path, entry, field, "is missing");
    if (!json_is_number(v))
        return field_error(path, entry, field, "must be a number");
    *out = json_number_value(v);
    if (!isfinite(*out))
        return field_error(path, entry, field, "must be finite");
    return VT_OK;
}

static vt_status get_position(json_t *obj, const char *path, size_t entry, vt_vec3 *out)
{
    const char *f = "camera_position";
    json_t *a = json_object_get(obj, f);
    if (!a)
        return field_error(path, entry, f, "is missing");
    if (!json_is_array(a) || json_array_size(a) != 3)
        return field_error(path, entry, f, "must be an array of 3 numbers");
    double c[3];
    for (size_t i = 0; i < 3; i++) {
        vt_status s = get_number(json_array_get(a, i), path, entry, f, &c[i]);
        if (s)
            return s;
    }
    *out = vt_v3(c[0], c[1], c[2]);
    return VT_OK;
}

static vt_status parse_entry(json_t *obj, const char *path, size_t entry, vt_frame_meta *f)
{
    vt_status s;
    if (!json_is_object(obj))
        return vt__error(VT_EPARSE, "%s: entry %zu: must be an object", path, entry);
    f->entry = (int)entry;
    if ((s = get_int(obj, path, entry, "camera_index", &f->camera_index)) ||
        (s = get_int(obj, path, entry, "frame_index", &f->frame_index)) ||
        (s = get_position(obj, path, entry, &f->position)) ||
        (s = get_number(json_object_get(obj, "yaw"), path, entry, "yaw", &f->yaw)) ||
        (s = get_number(json_object_get(obj, "pitch"), path, entry, "pitch", &f->pitch)) ||
        (s = get_number(json_object_get(obj, "roll"), path, entry, "roll", &f->roll)) ||
        (s = get_number(json_object_get(obj, "fov_degrees"), path, entry, "fov_degrees",
                        &f->fov_deg)))
        return s;
    if (!(f->fov_deg > 0.0 && f->fov_deg < 180.0))
        return vt__error(VT_EPARSE,
                         "%s: entry %zu: field 'fov_degrees' must be in (0, 180) (got %g)", path,
                         entry, f->fov_deg);
    json_t *img = json_object_get(obj, "image_file");
    if (!img)
        return field_error(path, entry, "image_file", "is missing");
    if (!json_is_string(img) || json_string_length(img) == 0)
        return field_error(path, entry, "image_file", "must be a non-empty string");
    f->image_file = strdup(json_string_value(img));
    if (!f->image_file)
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    return VT_OK;
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
