/*
 * src/camera/rig.c - the camera rig and its file, rig.json (see voxtrack/rig.h
 * and docs/FORMATS.md).
 *
 * Loading parses the file with jansson (duplicate keys refused), then checks
 * every field before anything is used: a rig that loads is a rig that runs.
 * Each message names the file, the camera (index and id) and the field, in
 * the form "rig.json: camera 3 ('m3'): field 'fx' must be > 0". Unknown
 * fields are refused rather than ignored, because a misspelt optional field
 * ("timestamp") would otherwise be silently dropped.
 *
 * A GigE Vision camera's settings sit in one object, "gige": {"id": ...},
 * whose fields are checked here as well (pixel format, exposure, gain, rate,
 * trigger, PTP, packet size); its id becomes the camera's path. Every camera
 * starts with gain_db NAN ("leave the camera's gain"), so that a zero gain
 * is only ever set when the file asks for it.
 *
 * Saving is in rig_save.c.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "camera/rig_internal.h"
#include "core/internal.h"
#include "core/json_read.h"
#include "voxtrack/rig.h"

/* A quaternion this far from unit norm is a mistake, not rounding. */
#define VT__QUAT_MIN_NORM 0.5
#define VT__QUAT_TOLERANCE 1e-6

/* What every field error needs to say where it is (shared with rig_pose.c). */
typedef vt__rig_where where;

/* The context of core/json_read.h for w: "rig.json", "rig.json: camera 3", "rig.json: camera 3
 * ('m3')". */
static vt__jctx context(const where *w, char *buf, size_t size)
{
    if (w->index < 0)
        snprintf(buf, size, "%s", w->file);
    else if (!w->id)
        snprintf(buf, size, "%s: camera %d", w->file, w->index);
    else
        snprintf(buf, size, "%s: camera %d ('%s')", w->file, w->index, w->id);
    return (vt__jctx){.where = buf};
}

enum { WHERE_SIZE = 4400 }; /* a path and a camera id */

static vt_status field_errorv(const where *w, const char *field, const char *fmt, va_list ap)
{
    char what[512], buf[WHERE_SIZE];
    vsnprintf(what, sizeof what, fmt, ap);
    vt__jctx c = context(w, buf, sizeof buf);
    return vt__json_error(&c, field, "%s", what);
}

static vt_status field_error(const where *w, const char *field, const char *fmt, ...)
    VT__PRINTF(3, 4);

static vt_status field_error(const where *w, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_status s = field_errorv(w, field, fmt, ap);
    va_end(ap);
    return s;
}

vt_status vt__rig_field_error(const where *w, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_status s = field_errorv(w, field, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------------ */
/* The rig in memory                                                          */

void vt_rig_init(vt_rig *rig)
{
    if (!rig)
        return;
    memset(rig, 0, sizeof *rig);
    rig->fps = 30.0;
    rig->dir = strdup("."); /* NULL on failure reads as "." everywhere */
}

static void free_camera(vt_rig_camera *c)
{
    free(c->path);
    free(c->timestamps);
    free(c->pose_log);
    c->path = c->timestamps = c->pose_log = NULL;
}

void vt_rig_free(vt_rig *rig)
{
    if (!rig)
        return;
    for (int i = 0; i < rig->count; i++)
        free_camera(&rig->cameras[i]);
    free(rig->cameras);
    free(rig->dir);
    vt__rig_free_platforms(rig);
    memset(rig, 0, sizeof *rig);
}

int vt_rig_find(const vt_rig *rig, const char *id)
{
    if (!rig || !id)
        return -1;
    for (int i = 0; i < rig->count; i++)
        if (strcmp(rig->cameras[i].id, id) == 0)
            return i;
    return -1;
}

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

vt_status vt_rig_add(vt_rig *rig, const vt_rig_camera *cam)
{
    if (!rig || !cam)
        return vt__error(VT_EINVAL, "rig: NULL argument");
    if (memchr(cam->id, '\0', sizeof cam->id) == NULL || cam->id[0] == '\0')
        return vt__error(VT_EINVAL, "rig: camera id must be non-empty and shorter than %zu",
                         sizeof cam->id);
    if (vt_rig_find(rig, cam->id) >= 0)
        return vt__error(VT_EINVAL, "rig: camera id '%s' is already used", cam->id);
    vt_rig_camera *grown = realloc(rig->cameras, (size_t)(rig->count + 1) * sizeof *grown);
    if (!grown)
        return vt__error(VT_ENOMEM, "rig: out of memory adding camera '%s'", cam->id);
    rig->cameras = grown;
    vt_rig_camera copy = *cam;
    bool failed = false;
    copy.path = dup_or_null(cam->path, &failed);
    copy.timestamps = dup_or_null(cam->timestamps, &failed);
    copy.pose_log = dup_or_null(cam->pose_log, &failed);
    if (copy.pose == VT_POSE_FIXED) {
        copy.platform = -1;
        copy.mount = vt_pose_mount_identity();
    }
    if (copy.media != VT_MEDIA_GIGE) {
        /* GigE settings mean nothing elsewhere: keep them at "leave the camera's". */
        copy.gige = vt_rig_gige_default();
    }
    if (failed) {
        free_camera(&copy);
        return vt__error(VT_ENOMEM, "rig: out of memory adding camera '%s'", cam->id);
    }
    rig->cameras[rig->count++] = copy;
    return VT_OK;
}

static bool is_url(const char *path)
{
    const char *p = strstr(path, "://");
    if (!p || p == path)
        return false;
    for (const char *c = path; c < p; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '+' || *c == '-' || *c == '.'))
            return false;
    return true;
}

vt_status vt_rig_resolve(const vt_rig *rig, const char *path, char *buf, size_t size)
{
    if (!rig || !path || !buf || size == 0)
        return vt__error(VT_EINVAL, "rig: NULL argument to vt_rig_resolve");
    const char *dir = rig->dir && rig->dir[0] ? rig->dir : ".";
    int n;
    /* "./m0.raw" reads worse in messages than "m0.raw" and means the same. */
    if (path[0] == '/' || is_url(path) || strcmp(dir, ".") == 0)
        n = snprintf(buf, size, "%s", path);
    else if (dir[strlen(dir) - 1] == '/')
        n = snprintf(buf, size, "%s%s", dir, path);
    else
        n = snprintf(buf, size, "%s/%s", dir, path);
    if (n < 0 || (size_t)n >= size)
        return vt__error(VT_ERANGE, "rig: path '%s' in folder '%s' is too long (%zu bytes)", path,
                         dir, size);
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* Field readers                                                              */

/*
 * The field readers: core/json_read.h's, for one value; what they add is
 * "is missing" for an absent value and the camera in every message.
 */
static vt_status read_value(const where *w, json_t *v, const char *field, const vt__jfield *f,
                            void *out)
{
    if (!v)
        return field_error(w, field, "is missing");
    char buf[WHERE_SIZE];
    vt__jctx c = context(w, buf, sizeof buf);
    return vt__json_read_field(&c, v, field, f, out);
}

static vt_status get_number(const where *w, json_t *v, const char *field, double *out)
{
    static const vt__jfield number = {"",   VT__JT_NUM, 0,    0, -INFINITY, INFINITY, 0,
                                      NULL, NULL,       NULL, 0, NULL,      NULL};
    return read_value(w, v, field, &number, out);
}

/* An integral number: 3 and 3.0 are 3, 3.5 is refused (core/json_read.h). */
static vt_status get_int(const where *w, json_t *v, const char *field, int *out)
{
    static const vt__jfield integer = {"",   VT__JT_INT, 0,    0, -INFINITY, INFINITY, 0,
                                       NULL, NULL,       NULL, 0, NULL,      NULL};
    return read_value(w, v, field, &integer, out);
}

static vt_status get_array(const where *w, json_t *v, const char *field, size_t n, double *out)
{
    vt__jfield numbers = {"",   VT__JT_NUMS, 0,    0, -INFINITY, INFINITY, 0,
                          NULL, NULL,        NULL, n, NULL,      NULL};
    return read_value(w, v, field, &numbers, out);
}

static vt_status get_string(const where *w, json_t *v, const char *field, const char **out)
{
    if (!v)
        return field_error(w, field, "is missing");
    char buf[WHERE_SIZE];
    vt__jctx c = context(w, buf, sizeof buf);
    return vt__json_read_string(&c, v, field, out);
}

/*
 * Refuses keys outside `known` (a NULL-terminated list), naming all of them
 * and the allowed ones. Inside a camera, `what` other than "camera" is the
 * path of a nested object ("gige"), and its unknown keys are named with
 * that path ("gige.exposure"); outside, `what` says which object ("origin").
 */
static vt_status check_keys(const where *w, json_t *obj, const char *const *known, const char *what)
{
    char buf[WHERE_SIZE];
    vt__jctx c = context(w, buf, sizeof buf);
    if (w->index >= 0)
        return vt__json_check_names(&c, obj, strcmp(what, "camera") != 0 ? what : "", known);
    char outer[WHERE_SIZE + 64];
    snprintf(outer, sizeof outer, "%s: %s", w->file, what);
    c.where = outer;
    return vt__json_check_names(&c, obj, "", known);
}

/* The readers for rig_pose.c (rig_internal.h). */
vt_status vt__rig_number(const where *w, json_t *v, const char *field, double *out)
{
    return get_number(w, v, field, out);
}

vt_status vt__rig_array(const where *w, json_t *v, const char *field, size_t n, double *out)
{
    return get_array(w, v, field, n, out);
}

vt_status vt__rig_string(const where *w, json_t *v, const char *field, const char **out)
{
    return get_string(w, v, field, out);
}

vt_status vt__rig_keys(const where *w, json_t *obj, const char *const *known, const char *what)
{
    return check_keys(w, obj, known, what);
}

/*
 * A frames pattern takes one frame number: exactly one %d, optionally with a
 * zero flag and a width ("%06d"); "%%" is a literal percent sign. Anything
 * else ("%s", two numbers) would make printf read arguments we never pass.
 */
static bool is_frame_pattern(const char *p)
{
    int numbers = 0;
    for (; *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        p++;
        if (*p == '0')
            p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3)
            p++, digits++;
        if (*p != 'd')
            return false;
        numbers++;
    }
    return numbers == 1;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                    */

static vt_status parse_id(where *w, json_t *cam, const vt_rig *rig, vt_rig_camera *c)
{
    const char *id;
    vt_status s = get_string(w, json_object_get(cam, "id"), "id", &id);
    if (s)
        return s;
    if (strlen(id) >= sizeof c->id)
        return field_error(w, "id", "must be shorter than %zu characters", sizeof c->id);
    int other = vt_rig_find(rig, id);
    if (other >= 0)
        return field_error(w, "id", "'%s' is already used by camera %d", id, other);
    memcpy(c->id, id, strlen(id) + 1);
    w->id = c->id;
    return VT_OK;
}

static vt_status parse_modality(const where *w, json_t *cam, vt_rig_camera *c)
{
    const char *m;
    vt_status s = get_string(w, json_object_get(cam, "modality"), "modality", &m);
    if (s)
        return s;
    if (strcmp(m, "mono") == 0)
        c->modality = VT_MODALITY_MONO;
    else if (strcmp(m, "thermal") == 0)
        c->modality = VT_MODALITY_THERMAL;
    else
        return field_error(w, "modality", "must be \"mono\" or \"thermal\" (got \"%s\")", m);
    return VT_OK;
}

static vt_status parse_intrinsics(const where *w, json_t *cam, vt_camera *k)
{
    vt_status s;
    if ((s = get_int(w, json_object_get(cam, "width"), "width", &k->width)) ||
        (s = get_int(w, json_object_get(cam, "height"), "height", &k->height)) ||
        (s = get_number(w, json_object_get(cam, "fx"), "fx", &k->fx)) ||
        (s = get_number(w, json_object_get(cam, "fy"), "fy", &k->fy)) ||
        (s = get_number(w, json_object_get(cam, "cx"), "cx", &k->cx)) ||
        (s = get_number(w, json_object_get(cam, "cy"), "cy", &k->cy)))
        return s;
    if (k->width <= 0)
        return field_error(w, "width", "must be > 0 (got %d)", k->width);
    if (k->height <= 0)
        return field_error(w, "height", "must be > 0 (got %d)", k->height);
    if (k->fx <= 0)
        return field_error(w, "fx", "must be > 0 (got %.17g)", k->fx);
    if (k->fy <= 0)
        return field_error(w, "fy", "must be > 0 (got %.17g)", k->fy);
    json_t *dist = json_object_get(cam, "dist");
    if (dist)
        return get_array(w, dist, "dist", 5, k->dist);
    return VT_OK;
}

static vt_status parse_pose(const where *w, json_t *cam, vt_camera *k)
{
    double p[3], q[4];
    vt_status s;
    if ((s = get_array(w, json_object_get(cam, "position"), "position", 3, p)) ||
        (s = get_array(w, json_object_get(cam, "quaternion"), "quaternion", 4, q)))
        return s;
    double norm = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (!(norm >= VT__QUAT_MIN_NORM))
        return field_error(w, "quaternion", "has norm %.6g: a rotation needs norm 1", norm);
    if (fabs(norm - 1.0) > VT__QUAT_TOLERANCE) {
        vt__log(1, "%s: camera %d ('%s'): quaternion has norm %.9g; normalised", w->file, w->index,
                w->id, norm);
        for (int i = 0; i < 4; i++)
            q[i] /= norm;
    }
    k->position = vt_v3(p[0], p[1], p[2]);
    k->q = (vt_quat){q[0], q[1], q[2], q[3]};
    return VT_OK;
}

static vt_status set_string(const where *w, char **dst, const char *src)
{
    *dst = strdup(src);
    if (!*dst)
        return vt__error(VT_ENOMEM, "%s: camera %d: out of memory", w->file, w->index);
    return VT_OK;
}

/* A string of at most size - 1 bytes copied into a fixed field. */
static vt_status get_short_string(const where *w, json_t *v, const char *field, char *dst,
                                  size_t size)
{
    const char *str;
    vt_status s = get_string(w, v, field, &str);
    if (s)
        return s;
    if (strlen(str) >= size)
        return field_error(w, field, "must be shorter than %zu characters", size);
    memcpy(dst, str, strlen(str) + 1);
    return VT_OK;
}

/* The monochrome GenICam pixel formats the GigE source unpacks (one sample per 1 or 2 bytes). */
static bool is_gige_pixel_format(const char *f)
{
    static const char *const formats[] = {"Mono8", "Mono10", "Mono12", "Mono14", "Mono16"};
    for (int i = 0; i < 5; i++)
        if (strcmp(f, formats[i]) == 0)
            return true;
    return false;
}

static vt_status parse_gige_numbers(const where *w, json_t *g, vt_rig_gige *o)
{
    json_t *v;
    vt_status s;
    if ((v = json_object_get(g, "exposure_us")) &&
        ((s = get_number(w, v, "gige.exposure_us", &o->exposure_us)) ||
         (o->exposure_us <= 0 &&
          (s = field_error(w, "gige.exposure_us", "must be > 0 (got %.17g)", o->exposure_us)))))
        return s;
    if ((v = json_object_get(g, "gain_db")) && (s = get_number(w, v, "gige.gain_db", &o->gain_db)))
        return s;
    if ((v = json_object_get(g, "fps")) &&
        ((s = get_number(w, v, "gige.fps", &o->fps)) ||
         (o->fps <= 0 && (s = field_error(w, "gige.fps", "must be > 0 (got %.17g)", o->fps)))))
        return s;
    if ((v = json_object_get(g, "packet_size")) &&
        ((s = get_int(w, v, "gige.packet_size", &o->packet_size)) ||
         ((o->packet_size < 576 || o->packet_size > 65535) &&
          (s = field_error(w, "gige.packet_size", "must be in [576, 65535] bytes (got %d)",
                           o->packet_size)))))
        return s;
    return VT_OK;
}

/* "gige": {"id": ADDRESS_OR_ID, optional settings}; the id becomes the camera's path. */
static vt_status parse_gige(const where *w, json_t *g, vt_rig_camera *c)
{
    static const char *const keys[] = {"id",      "pixel_format", "exposure_us",
                                       "gain_db", "fps",          "trigger_source",
                                       "ptp",     "packet_size",  NULL};
    vt_rig_gige *o = &c->gige;
    if (!json_is_object(g))
        return field_error(w, "gige",
                           "must be an object {\"id\": \"ADDRESS or DEVICE ID\", ...} "
                           "(docs/FORMATS.md)");
    const char *id;
    json_t *v;
    vt_status s;
    if ((s = check_keys(w, g, keys, "gige")) ||
        (s = get_string(w, json_object_get(g, "id"), "gige.id", &id)) ||
        (s = parse_gige_numbers(w, g, o)))
        return s;
    if ((v = json_object_get(g, "pixel_format"))) {
        if ((s = get_short_string(w, v, "gige.pixel_format", o->pixel_format,
                                  sizeof o->pixel_format)))
            return s;
        if (!is_gige_pixel_format(o->pixel_format))
            return field_error(w, "gige.pixel_format",
                               "must be Mono8, Mono10, Mono12, Mono14 or Mono16 (got \"%s\")",
                               o->pixel_format);
    }
    if ((v = json_object_get(g, "trigger_source")) &&
        (s = get_short_string(w, v, "gige.trigger_source", o->trigger_source,
                              sizeof o->trigger_source)))
        return s;
    if ((v = json_object_get(g, "ptp"))) {
        if (!json_is_boolean(v))
            return field_error(w, "gige.ptp", "must be true or false");
        o->ptp = json_is_true(v);
    }
    return set_string(w, &c->path, id);
}

static vt_status parse_media(const where *w, json_t *cam, vt_rig_camera *c)
{
    static const char *const names[] = {"frames", "video", "raw", "gige", "detections"};
    static const vt_media media[] = {VT_MEDIA_FRAMES, VT_MEDIA_VIDEO, VT_MEDIA_RAW, VT_MEDIA_GIGE,
                                     VT_MEDIA_DETECTIONS};
    int found = -1;
    for (int i = 0; i < 5; i++) {
        if (!json_object_get(cam, names[i]))
            continue;
        if (found >= 0)
            return field_error(w, names[i],
                               "cannot be given together with '%s' (one of "
                               "'frames', 'video', 'raw', 'gige', 'detections')",
                               names[found]);
        found = i;
    }
    const char *str;
    vt_status s;
    json_t *ts = json_object_get(cam, "timestamps");
    if (found >= 0 && media[found] == VT_MEDIA_GIGE) {
        if (ts)
            return field_error(w, "timestamps",
                               "cannot be given with 'gige' (a GigE camera stamps its own frames)");
        c->media = VT_MEDIA_GIGE;
        return parse_gige(w, json_object_get(cam, "gige"), c);
    }
    if (found >= 0) {
        if ((s = get_string(w, json_object_get(cam, names[found]), names[found], &str)))
            return s;
        if (media[found] == VT_MEDIA_FRAMES && !is_frame_pattern(str))
            return field_error(w, "frames",
                               "must hold exactly one frame number conversion such as %%06d "
                               "(got \"%s\")",
                               str);
        if ((s = set_string(w, &c->path, str)))
            return s;
        c->media = media[found];
    }
    if (!ts)
        return VT_OK;
    if ((s = get_string(w, ts, "timestamps", &str)))
        return s;
    return set_string(w, &c->timestamps, str);
}

/*
 * The clock of a camera with detections: "clock": {"scale", "offset"}, or
 * the camera's own "fps" and "t0" (scale 1 / fps, offset t0). Cameras with
 * frames take their times from their source, so the fields are refused there
 * rather than silently ignored.
 */
static vt_status parse_clock(const where *w, json_t *cam, vt_rig_camera *c)
{
    static const char *const keys[] = {"scale", "offset", NULL};
    json_t *clock = json_object_get(cam, "clock"), *fps = json_object_get(cam, "fps"),
           *t0 = json_object_get(cam, "t0");
    const char *given = clock ? "clock" : fps ? "fps" : t0 ? "t0" : NULL;
    if (!given)
        return VT_OK;
    if (c->media != VT_MEDIA_DETECTIONS)
        return field_error(w, given,
                           "applies to cameras with 'detections' only (frames carry their own "
                           "times)");
    if (clock && (fps || t0))
        return field_error(w, fps ? "fps" : "t0", "cannot be given together with 'clock'");
    vt_status s;
    double v;
    if (fps) {
        if ((s = get_number(w, fps, "fps", &v)))
            return s;
        if (!(v > 0))
            return field_error(w, "fps", "must be > 0 (got %.17g)", v);
        c->clock_scale = 1.0 / v;
    }
    if (t0 && (s = get_number(w, t0, "t0", &c->clock_offset)))
        return s;
    if (!clock)
        return VT_OK;
    if (!json_is_object(clock))
        return field_error(w, "clock", "must be an object {\"scale\", \"offset\"}");
    if ((s = check_keys(w, clock, keys, "clock")))
        return s;
    json_t *scale = json_object_get(clock, "scale"), *offset = json_object_get(clock, "offset");
    if (scale) {
        if ((s = get_number(w, scale, "clock.scale", &v)))
            return s;
        if (!(v > 0))
            return field_error(w, "clock.scale", "must be > 0 (got %.17g)", v);
        c->clock_scale = v;
    }
    if (offset && (s = get_number(w, offset, "clock.offset", &c->clock_offset)))
        return s;
    return VT_OK;
}

static vt_status parse_bits(const where *w, json_t *cam, vt_rig_camera *c)
{
    json_t *b = json_object_get(cam, "bits");
    c->bits = c->modality == VT_MODALITY_THERMAL ? 16 : 8;
    if (!b)
        return VT_OK;
    vt_status s = get_int(w, b, "bits", &c->bits);
    if (s)
        return s;
    if (c->bits != 8 && c->bits != 16)
        return field_error(w, "bits", "must be 8 or 16 (got %d)", c->bits);
    return VT_OK;
}

static const char *const camera_keys[] = {
    "id",   "pair",       "modality",   "width",      "height", "fx",    "fy",   "cx",
    "cy",   "dist",       "position",   "quaternion", "frames", "video", "raw",  "gige",
    "bits", "timestamps", "detections", "clock",      "fps",    "t0",    "pose", NULL};

vt_rig_gige vt_rig_gige_default(void)
{
    vt_rig_gige g;
    memset(&g, 0, sizeof g);
    g.gain_db = NAN;
    return g;
}

static vt_status parse_camera(const char *file, int index, json_t *cam, vt_rig *rig,
                              vt_rig_camera *c)
{
    where w = {file, index, NULL};
    c->gige = vt_rig_gige_default(); /* leave the camera's gain unless the file sets one */
    if (!json_is_object(cam))
        return vt__error(VT_EPARSE, "%s: camera %d: must be an object", file, index);
    vt_status s;
    if ((s = parse_id(&w, cam, rig, c)) || (s = check_keys(&w, cam, camera_keys, "camera")) ||
        (s = get_int(&w, json_object_get(cam, "pair"), "pair", &c->pair)))
        return s;
    if (c->pair < 0)
        return field_error(&w, "pair", "must be >= 0 (got %d)", c->pair);
    if ((s = parse_modality(&w, cam, c)) || (s = parse_intrinsics(&w, cam, &c->cam)) ||
        (s = parse_pose(&w, cam, &c->cam)) || (s = parse_media(&w, cam, c)) ||
        (s = parse_clock(&w, cam, c)) || (s = parse_bits(&w, cam, c)) ||
        (s = vt__rig_parse_camera_pose(&w, cam, rig, c)))
        return s;
    if ((s = vt_camera_init(&c->cam)))
        return vt__error_prefix(s, "%s: camera %d ('%s')", file, index, c->id);
    return VT_OK;
}

static vt_status parse_origin(const char *file, json_t *o, vt_rig *rig)
{
    static const char *const keys[] = {"lat", "lon", "h", NULL};
    where w = {file, -1, NULL};
    if (!json_is_object(o))
        return field_error(&w, "origin", "must be an object {\"lat\", \"lon\", \"h\"}");
    vt_status s;
    if ((s = check_keys(&w, o, keys, "origin")) ||
        (s = get_number(&w, json_object_get(o, "lat"), "origin.lat", &rig->lat_deg)) ||
        (s = get_number(&w, json_object_get(o, "lon"), "origin.lon", &rig->lon_deg)))
        return s;
    json_t *h = json_object_get(o, "h");
    if (h && (s = get_number(&w, h, "origin.h", &rig->height_m)))
        return s;
    if (rig->lat_deg < -90 || rig->lat_deg > 90)
        return field_error(&w, "origin.lat", "must be in [-90, 90] degrees (got %.17g)",
                           rig->lat_deg);
    if (rig->lon_deg < -180 || rig->lon_deg > 180)
        return field_error(&w, "origin.lon", "must be in [-180, 180] degrees (got %.17g)",
                           rig->lon_deg);
    rig->has_origin = true;
    return VT_OK;
}

static vt_status parse_cameras(const char *file, json_t *arr, vt_rig *rig)
{
    where w = {file, -1, NULL};
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return field_error(&w, "cameras", "must be a non-empty array of camera objects");
    size_t n = json_array_size(arr);
    if (n > 1000000)
        return field_error(&w, "cameras", "has too many entries (%zu)", n);
    rig->cameras = calloc(n, sizeof *rig->cameras);
    if (!rig->cameras)
        return vt__error(VT_ENOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++) {
        vt_rig_camera *c = &rig->cameras[i];
        vt_status s = parse_camera(file, (int)i, json_array_get(arr, i), rig, c);
        /* Counted before checking, so that vt_rig_free frees what was parsed. */
        rig->count = (int)i + 1;
        if (s)
            return s;
    }
    return VT_OK;
}

static vt_status parse_rig(const char *file, json_t *root, vt_rig *rig)
{
    static const char *const keys[] = {"origin", "fps", "cameras", "platforms", "landmarks", NULL};
    where w = {file, -1, NULL};
    if (!json_is_object(root))
        return vt__error(VT_EPARSE, "%s: the top level must be an object", file);
    vt_status s = check_keys(&w, root, keys, "top level");
    if (s)
        return s;
    json_t *fps = json_object_get(root, "fps");
    if (fps && (s = get_number(&w, fps, "fps", &rig->fps)))
        return s;
    if (rig->fps <= 0)
        return field_error(&w, "fps", "must be > 0 (got %.17g)", rig->fps);
    json_t *origin = json_object_get(root, "origin");
    if (origin && (s = parse_origin(file, origin, rig)))
        return s;
    if ((s = vt__rig_parse_platforms(file, root, rig)))
        return s;
    json_t *cams = json_object_get(root, "cameras");
    if (!cams)
        return field_error(&w, "cameras", "is missing");
    return parse_cameras(file, cams, rig);
}

static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/rig.json" -> "/" */
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

static vt_status load_error(const char *path, const json_error_t *err)
{
    struct stat st;
    if (json_error_code(err) == json_error_cannot_open_file) {
        /* jansson's text says why; errno may not have survived it. */
        bool missing = stat(path, &st) != 0 && errno == ENOENT;
        return vt__error(missing ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", path,
                         missing ? "no such file" : err->text);
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return vt__error(VT_EIO, "%s: is a folder, not a rig file", path);
    return vt__error(VT_EPARSE, "%s: line %d, column %d: %s", path, err->line, err->column,
                     err->text);
}

vt_status vt_rig_load(const char *path, vt_rig *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "rig: NULL rig");
    memset(out, 0, sizeof *out);
    if (!path)
        return vt__error(VT_EINVAL, "rig: NULL path");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return load_error(path, &err);
    vt_rig_init(out);
    free(out->dir);
    out->dir = folder_of(path);
    vt_status s =
        out->dir ? parse_rig(path, root, out) : vt__error(VT_ENOMEM, "%s: out of memory", path);
    json_decref(root);
    if (s)
        vt_rig_free(out);
    return s;
}
