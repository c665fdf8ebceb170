/*
 * src/camera/rig_save.c - writing rig.json (see voxtrack/rig.h and
 * docs/FORMATS.md); src/camera/rig.c reads it.
 *
 * Saving does not go through jansson's dumper: jansson prints every real
 * with one fixed precision, so either 0.1 comes out as 0.10000000000000001
 * or the file does not round-trip. We print each number with the fewest
 * digits (15, 16 or 17) that read back to the same double, as the shortest
 * round-trip formatting of Steele & White / Grisu does, and only use jansson
 * to escape strings. The file is written to PATH.tmp and renamed over PATH,
 * so that a reader never sees half a rig.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "voxtrack/rig.h"

/* strerror is not thread-safe; the XSI strerror_r is. */
static const char *errno_text(int e, char *buf, size_t size)
{
    if (strerror_r(e, buf, size) != 0)
        snprintf(buf, size, "error %d", e);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                     */

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static void put_number(FILE *fp, double v)
{
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, fp);
}

static void put_numbers(FILE *fp, const double *v, int n)
{
    fputc('[', fp);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", fp);
        put_number(fp, v[i]);
    }
    fputc(']', fp);
}

/* A JSON string (core's writer: invalid UTF-8 would be replaced, so it is refused here, since
   a rig written must read back as the same rig). */
static vt_status put_string(FILE *fp, const char *s)
{
    for (size_t i = 0, n = strlen(s), skip; i < n; i += skip)
        if (!vt__utf8_valid((const unsigned char *)s + i, n - i, &skip))
            return vt__error(VT_EINVAL, "rig: string \"%s\" is not valid UTF-8", s);
    vt__buf b = {0};
    vt__buf_json_str(&b, s);
    if (b.err)
        return b.err;
    fputs(b.s, fp);
    vt__buf_free(&b);
    return VT_OK;
}

static vt_status put_key_string(FILE *fp, const char *key, const char *value)
{
    fprintf(fp, ",\n      \"%s\": ", key);
    return put_string(fp, value);
}

static bool all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static vt_status check_saveable(const vt_rig *rig, const char *path)
{
    double top[3] = {rig->fps, rig->lat_deg, rig->lon_deg};
    if (!all_finite(top, 3) || !isfinite(rig->height_m))
        return vt__error(VT_EINVAL, "%s: fps and origin must be finite numbers", path);
    for (int i = 0; i < rig->count; i++) {
        const vt_rig_camera *c = &rig->cameras[i];
        const vt_camera *k = &c->cam;
        double v[16] = {k->fx,         k->fy,         k->cx,         k->cy,
                        k->position.x, k->position.y, k->position.z, k->q.w,
                        k->q.x,        k->q.y,        k->q.z,        k->dist[0],
                        k->dist[1],    k->dist[2],    k->dist[3],    k->dist[4]};
        if (memchr(c->id, '\0', sizeof c->id) == NULL)
            return vt__error(VT_EINVAL, "%s: camera %d: id is not terminated", path, i);
        if (!all_finite(v, 16))
            return vt__error(VT_EINVAL, "%s: camera %d ('%s'): intrinsics and pose must be finite",
                             path, i, c->id);
        if (c->media == VT_MEDIA_DETECTIONS &&
            (!isfinite(c->clock_offset) || !(c->clock_scale >= 0) || isinf(c->clock_scale)))
            return vt__error(VT_EINVAL,
                             "%s: camera %d ('%s'): clock scale must be finite and >= 0, "
                             "offset finite",
                             path, i, c->id);
        if (c->media != VT_MEDIA_NONE && (!c->path || !c->path[0]))
            return vt__error(VT_EINVAL, "%s: camera %d ('%s'): media is set but path is empty",
                             path, i, c->id);
        if ((c->pose == VT_POSE_PLATFORM && (c->platform < 0 || c->platform >= rig->nplatforms)) ||
            (c->pose == VT_POSE_LOG && (!c->pose_log || !c->pose_log[0])))
            return vt__error(VT_EINVAL,
                             "%s: camera %d ('%s'): pose source names no platform or log", path, i,
                             c->id);
        const vt_rig_gige *g = &c->gige;
        if (c->media == VT_MEDIA_GIGE &&
            (!(g->exposure_us >= 0) || !(g->fps >= 0) || isinf(g->gain_db) ||
             memchr(g->pixel_format, '\0', sizeof g->pixel_format) == NULL ||
             memchr(g->trigger_source, '\0', sizeof g->trigger_source) == NULL))
            return vt__error(VT_EINVAL,
                             "%s: camera %d ('%s'): gige settings must be finite, >= 0 "
                             "(gain_db: finite or NAN) and terminated strings",
                             path, i, c->id);
    }
    return VT_OK;
}

/* "gige": {"id": ..., then only the settings that differ from "leave the camera's"}. */
static vt_status write_gige(FILE *fp, const vt_rig_camera *c)
{
    const vt_rig_gige *g = &c->gige;
    vt_status s;
    fputs(",\n      \"gige\": {\"id\": ", fp);
    if ((s = put_string(fp, c->path)))
        return s;
    if (g->pixel_format[0]) {
        fputs(", \"pixel_format\": ", fp);
        if ((s = put_string(fp, g->pixel_format)))
            return s;
    }
    const char *names[3] = {"exposure_us", "gain_db", "fps"};
    double values[3] = {g->exposure_us, g->gain_db, g->fps};
    bool set[3] = {g->exposure_us > 0, !isnan(g->gain_db), g->fps > 0};
    for (int i = 0; i < 3; i++) {
        if (!set[i])
            continue;
        fprintf(fp, ", \"%s\": ", names[i]);
        put_number(fp, values[i]);
    }
    if (g->trigger_source[0]) {
        fputs(", \"trigger_source\": ", fp);
        if ((s = put_string(fp, g->trigger_source)))
            return s;
    }
    if (g->ptp)
        fputs(", \"ptp\": true", fp);
    if (g->packet_size > 0)
        fprintf(fp, ", \"packet_size\": %d", g->packet_size);
    fputc('}', fp);
    return VT_OK;
}

/* "detections": PATH, and "clock" when it is not the default (scale 0 is the default's). */
static vt_status write_detections(FILE *fp, const vt_rig_camera *c)
{
    vt_status s = put_key_string(fp, "detections", c->path);
    if (s || (c->clock_scale == 0.0 && c->clock_offset == 0.0))
        return s;
    fputs(",\n      \"clock\": {", fp);
    if (c->clock_scale != 0.0) {
        fputs("\"scale\": ", fp);
        put_number(fp, c->clock_scale);
        fputs(", ", fp);
    }
    fputs("\"offset\": ", fp);
    put_number(fp, c->clock_offset);
    fputc('}', fp);
    return VT_OK;
}

static void put_key_vec3(FILE *fp, const char *key, vt_vec3 v)
{
    double a[3] = {v.x, v.y, v.z};
    fprintf(fp, ", \"%s\": ", key);
    put_numbers(fp, a, 3);
}

/* "pose": {"platform": ID | "log": PATH, "max_gap", "lever_arm", "mount"}. */
static vt_status write_pose(FILE *fp, const vt_rig *rig, const vt_rig_camera *c)
{
    vt_status s;
    fputs(",\n      \"pose\": {", fp);
    if (c->pose == VT_POSE_PLATFORM) {
        fputs("\"platform\": ", fp);
        if ((s = put_string(fp, rig->platforms[c->platform].id)))
            return s;
    } else {
        fputs("\"log\": ", fp);
        if ((s = put_string(fp, c->pose_log)))
            return s;
        fputs(", \"max_gap\": ", fp);
        put_number(fp, c->pose_max_gap);
    }
    put_key_vec3(fp, "lever_arm", c->mount.lever_arm);
    double q[4] = {c->mount.q.w, c->mount.q.x, c->mount.q.y, c->mount.q.z};
    fputs(", \"mount\": ", fp);
    put_numbers(fp, q, 4);
    fputc('}', fp);
    return VT_OK;
}

static void put_members(FILE *fp, const char *const *names, const double *v, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(fp, "%s\"%s\": ", i ? ", " : "", names[i]);
        put_number(fp, v[i]);
    }
}

static vt_status write_platform(FILE *fp, const vt_rig_platform *p)
{
    const vt_pose_platform_opts *o = &p->opts;
    vt_status s;
    fputs("    {\"id\": ", fp);
    if ((s = put_string(fp, p->id)) || (s = put_key_string(fp, "imu", p->imu)) ||
        (s = put_key_string(fp, "gps", p->gps)) ||
        (p->heading && (s = put_key_string(fp, "heading", p->heading))))
        return s;
    double sd[2] = {o->gps_sd_h, o->gps_sd_v};
    fputs(",\n      \"gps_sd\": ", fp);
    put_numbers(fp, sd, 2);
    fputs(", \"heading_sd_deg\": ", fp);
    put_number(fp, o->heading_sd * (180.0 / VT_PI));
    put_key_vec3(fp, "gps_lever_arm", o->filter.gps_lever_arm);
    put_key_vec3(fp, "heading_baseline", o->filter.heading_baseline);
    static const char *const noise[] = {"gyro", "accel", "gyro_walk", "accel_walk"};
    double nv[4] = {o->filter.gyro_noise, o->filter.accel_noise, o->filter.gyro_walk,
                    o->filter.accel_walk};
    fputs(",\n      \"imu_noise\": {", fp);
    put_members(fp, noise, nv, 4);
    static const char *const init[] = {"heading_sd_deg", "tilt_sd_deg",  "velocity_sd",
                                       "accel_bias_sd",  "gyro_bias_sd", "level_seconds"};
    double iv[6] = {o->init_heading_sd * (180.0 / VT_PI),
                    o->init_tilt_sd * (180.0 / VT_PI),
                    o->init_velocity_sd,
                    o->init_accel_bias_sd,
                    o->init_gyro_bias_sd,
                    o->level_seconds};
    fputs("},\n      \"initial\": {", fp);
    put_members(fp, init, iv, 6);
    fprintf(fp, "}, \"landmarks\": %s}", p->landmarks ? "true" : "false");
    return VT_OK;
}

/* "platforms": [...], "landmarks": [...] when the rig has any. */
static vt_status write_platforms(FILE *fp, const vt_rig *rig)
{
    if (rig->nplatforms)
        fputs(",\n  \"platforms\": [\n", fp);
    for (int i = 0; i < rig->nplatforms; i++) {
        vt_status s = write_platform(fp, &rig->platforms[i]);
        if (s)
            return s;
        fputs(i + 1 < rig->nplatforms ? ",\n" : "\n  ]", fp);
    }
    if (rig->nlandmarks)
        fputs(",\n  \"landmarks\": [\n", fp);
    for (int i = 0; i < rig->nlandmarks; i++) {
        const vt_rig_landmark *l = &rig->landmarks[i];
        fputs("    {\"id\": ", fp);
        vt_status s = put_string(fp, l->id);
        if (s)
            return s;
        put_key_vec3(fp, "position", l->position);
        fputs(", \"sd\": ", fp);
        put_number(fp, l->sd);
        fputs(i + 1 < rig->nlandmarks ? "},\n" : "}\n  ]", fp);
    }
    return VT_OK;
}

static vt_status write_camera(FILE *fp, const vt_rig *rig, const vt_rig_camera *c)
{
    static const char *const media_keys[] = {NULL, "frames", "video", "raw"};
    const vt_camera *k = &c->cam;
    vt_status s;
    fputs("    {\n      \"id\": ", fp);
    if ((s = put_string(fp, c->id)))
        return s;
    fprintf(fp, ",\n      \"pair\": %d,\n      \"modality\": \"%s\",\n", c->pair,
            c->modality == VT_MODALITY_THERMAL ? "thermal" : "mono");
    fprintf(fp, "      \"width\": %d,\n      \"height\": %d,\n", k->width, k->height);
    const char *names[4] = {"fx", "fy", "cx", "cy"};
    double values[4] = {k->fx, k->fy, k->cx, k->cy};
    for (int i = 0; i < 4; i++) {
        fprintf(fp, "      \"%s\": ", names[i]);
        put_number(fp, values[i]);
        fputs(",\n", fp);
    }
    double pos[3] = {k->position.x, k->position.y, k->position.z};
    double q[4] = {k->q.w, k->q.x, k->q.y, k->q.z};
    fputs("      \"dist\": ", fp);
    put_numbers(fp, k->dist, 5);
    fputs(",\n      \"position\": ", fp);
    put_numbers(fp, pos, 3);
    fputs(",\n      \"quaternion\": ", fp);
    put_numbers(fp, q, 4);
    if (c->media >= VT_MEDIA_FRAMES && c->media <= VT_MEDIA_RAW &&
        (s = put_key_string(fp, media_keys[c->media], c->path)))
        return s;
    if (c->media == VT_MEDIA_GIGE && (s = write_gige(fp, c)))
        return s;
    if (c->media == VT_MEDIA_DETECTIONS && (s = write_detections(fp, c)))
        return s;
    fprintf(fp, ",\n      \"bits\": %d", c->bits);
    if (c->timestamps && (s = put_key_string(fp, "timestamps", c->timestamps)))
        return s;
    if (c->pose != VT_POSE_FIXED && (s = write_pose(fp, rig, c)))
        return s;
    fputs("\n    }", fp);
    return VT_OK;
}

static vt_status write_rig(FILE *fp, const vt_rig *rig)
{
    fputs("{\n", fp);
    if (rig->has_origin) {
        fputs("  \"origin\": {\"lat\": ", fp);
        put_number(fp, rig->lat_deg);
        fputs(", \"lon\": ", fp);
        put_number(fp, rig->lon_deg);
        fputs(", \"h\": ", fp);
        put_number(fp, rig->height_m);
        fputs("},\n", fp);
    }
    fputs("  \"fps\": ", fp);
    put_number(fp, rig->fps);
    fputs(",\n  \"cameras\": [\n", fp);
    for (int i = 0; i < rig->count; i++) {
        vt_status s = write_camera(fp, rig, &rig->cameras[i]);
        if (s)
            return s;
        fputs(i + 1 < rig->count ? ",\n" : "\n", fp);
    }
    fputs("  ]", fp);
    vt_status s = write_platforms(fp, rig);
    if (s)
        return s;
    fputs("\n}\n", fp);
    return VT_OK;
}

vt_status vt_rig_save(const vt_rig *rig, const char *path)
{
    if (!rig || !path)
        return vt__error(VT_EINVAL, "rig: NULL argument to vt_rig_save");
    vt_status s = check_saveable(rig, path);
    if (s)
        return s;
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return vt__error(VT_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, n, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        char msg[128];
        s = vt__error(VT_EIO, "%s: cannot create: %s", tmp, errno_text(errno, msg, sizeof msg));
        free(tmp);
        return s;
    }
    s = write_rig(fp, rig);
    /* A full disk may only show at fclose, when stdio flushes. */
    bool bad = ferror(fp) != 0;
    int e = errno;
    if (fclose(fp) != 0 && !bad)
        bad = true, e = errno;
    char msg[128];
    if (!s && bad)
        s = vt__error(VT_EIO, "%s: cannot write: %s", tmp, errno_text(e, msg, sizeof msg));
    if (!s && rename(tmp, path) != 0)
        s = vt__error(VT_EIO, "%s: cannot rename to %s: %s", tmp, path,
                      errno_text(errno, msg, sizeof msg));
    if (s)
        remove(tmp);
    free(tmp);
    return s;
}
