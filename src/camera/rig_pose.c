/*
 * src/camera/rig_pose.c - moving cameras in rig.json: the platforms (a body
 * with an IMU and GNSS whose logs the pose filter runs over), the surveyed
 * landmarks, and each camera's pose source (docs/FORMATS.md, docs/POSE.md).
 *
 *   "platforms": [{"id": "p0", "imu": "imu_0.csv", "gps": "gps_0.csv",
 *                  "heading": "heading_0.csv", "rtk": true, ...}],
 *   "landmarks": [{"id": "b0", "position": [x, y, z], "sd": 0.02}],
 *   camera: "pose": {"platform": "p0", "lever_arm": [x, y, z], "mount": [w, x, y, z]}
 *       or "pose": {"log": "poses_m0.csv", "max_gap": 0.2, ...}
 *
 * The readers are rig.c's (rig_internal.h), so that messages name the file,
 * the entry and the field the same way: "rig.json: platforms[0]: field 'rtk'
 * must be true or false". Platforms are read before the cameras, which refer
 * to them by id.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "camera/rig_internal.h"
#include "core/internal.h"

typedef vt__rig_where where;

static vt_status opt_number(const where *w, json_t *obj, const char *key, const char *path,
                            double lo, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char field[128];
    snprintf(field, sizeof field, "%s%s", path, key);
    vt_status s = vt__rig_number(w, v, field, out);
    if (!s && !(*out > lo))
        return vt__rig_field_error(w, field, "must be > %g (got %.17g)", lo, *out);
    return s;
}

static vt_status opt_vec3(const where *w, json_t *obj, const char *key, const char *path,
                          vt_vec3 *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char field[128];
    snprintf(field, sizeof field, "%s%s", path, key);
    double a[3];
    vt_status s = vt__rig_array(w, v, field, 3, a);
    if (!s)
        *out = vt_v3(a[0], a[1], a[2]);
    return s;
}

static vt_status opt_quat(const where *w, json_t *obj, const char *key, const char *path,
                          vt_quat *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char field[128];
    snprintf(field, sizeof field, "%s%s", path, key);
    double a[4];
    vt_status s = vt__rig_array(w, v, field, 4, a);
    if (s)
        return s;
    vt_quat q = {a[0], a[1], a[2], a[3]};
    double n = vt_q_norm(q);
    if (!(fabs(n - 1.0) <= 1e-3))
        return vt__rig_field_error(w, field, "has norm %.6g: a rotation needs norm 1", n);
    *out = vt_q_normalize(q);
    return VT_OK;
}

static vt_status opt_path(const where *w, json_t *obj, const char *key, const char *path,
                          char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char field[128];
    snprintf(field, sizeof field, "%s%s", path, key);
    const char *str;
    vt_status s = vt__rig_string(w, v, field, &str);
    if (s)
        return s;
    *out = strdup(str);
    return *out ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", w->file);
}

/* ---- platforms ------------------------------------------------------------ */

static vt_status parse_imu_noise(const where *w, json_t *o, const char *path, vt_eskf_opts *f)
{
    static const char *const keys[] = {"gyro", "accel", "gyro_walk", "accel_walk", NULL};
    if (!json_is_object(o))
        return vt__rig_field_error(w, path, "must be an object");
    char p[160];
    snprintf(p, sizeof p, "%s.", path);
    vt_status s;
    if ((s = vt__rig_keys(w, o, keys, path)) ||
        (s = opt_number(w, o, "gyro", p, 0.0, &f->gyro_noise)) ||
        (s = opt_number(w, o, "accel", p, 0.0, &f->accel_noise)) ||
        (s = opt_number(w, o, "gyro_walk", p, 0.0, &f->gyro_walk)) ||
        (s = opt_number(w, o, "accel_walk", p, 0.0, &f->accel_walk)))
        return s;
    return VT_OK;
}

static vt_status parse_initial(const where *w, json_t *o, const char *path,
                               vt_pose_platform_opts *po)
{
    static const char *const keys[] = {
        "heading_sd_deg", "tilt_sd_deg",   "velocity_sd", "accel_bias_sd",
        "gyro_bias_sd",   "level_seconds", NULL};
    if (!json_is_object(o))
        return vt__rig_field_error(w, path, "must be an object");
    char p[160];
    snprintf(p, sizeof p, "%s.", path);
    double hd = vt_rad2deg(po->init_heading_sd), td = vt_rad2deg(po->init_tilt_sd);
    vt_status s;
    if ((s = vt__rig_keys(w, o, keys, path)) ||
        (s = opt_number(w, o, "heading_sd_deg", p, 0.0, &hd)) ||
        (s = opt_number(w, o, "tilt_sd_deg", p, 0.0, &td)) ||
        (s = opt_number(w, o, "velocity_sd", p, 0.0, &po->init_velocity_sd)) ||
        (s = opt_number(w, o, "accel_bias_sd", p, 0.0, &po->init_accel_bias_sd)) ||
        (s = opt_number(w, o, "gyro_bias_sd", p, 0.0, &po->init_gyro_bias_sd)) ||
        (s = opt_number(w, o, "level_seconds", p, 0.0, &po->level_seconds)))
        return s;
    po->init_heading_sd = vt_deg2rad(hd);
    po->init_tilt_sd = vt_deg2rad(td);
    return VT_OK;
}

static vt_status parse_gps_sd(const where *w, json_t *pl, const char *path,
                              vt_pose_platform_opts *po)
{
    json_t *rtk = json_object_get(pl, "rtk"), *sd = json_object_get(pl, "gps_sd");
    char field[96];
    if (rtk) {
        snprintf(field, sizeof field, "%s.rtk", path);
        if (!json_is_boolean(rtk))
            return vt__rig_field_error(w, field, "must be true or false");
        if (json_is_true(rtk)) {
            po->gps_sd_h = VT_POSE_RTK_SD_H;
            po->gps_sd_v = VT_POSE_RTK_SD_V;
        }
    }
    if (!sd)
        return VT_OK;
    snprintf(field, sizeof field, "%s.gps_sd", path);
    double v[2];
    vt_status s = vt__rig_array(w, sd, field, 2, v);
    if (s)
        return s;
    if (!(v[0] > 0 && v[1] > 0))
        return vt__rig_field_error(w, field, "must be two standard deviations > 0 (m)");
    po->gps_sd_h = v[0];
    po->gps_sd_v = v[1];
    return VT_OK;
}

static vt_status parse_platform(const char *file, int i, json_t *pl, vt_rig *rig,
                                vt_rig_platform *p)
{
    static const char *const keys[] = {"id",
                                       "imu",
                                       "gps",
                                       "heading",
                                       "rtk",
                                       "gps_sd",
                                       "heading_sd_deg",
                                       "gps_lever_arm",
                                       "heading_baseline",
                                       "imu_noise",
                                       "initial",
                                       "landmarks",
                                       NULL};
    where w = {file, -1, NULL};
    char path[64];
    snprintf(path, sizeof path, "platforms[%d]", i);
    if (!json_is_object(pl))
        return vt__rig_field_error(&w, path, "must be an object");
    p->opts = vt_pose_platform_opts_default();
    vt_status s = vt__rig_keys(&w, pl, keys, path);
    char pre[80];
    snprintf(pre, sizeof pre, "%s.", path);
    const char *id;
    char f[96];
    snprintf(f, sizeof f, "%s.id", path);
    if (!s)
        s = vt__rig_string(&w, json_object_get(pl, "id"), f, &id);
    if (!s && strlen(id) >= sizeof p->id)
        s = vt__rig_field_error(&w, f, "must be shorter than %zu characters", sizeof p->id);
    if (!s && vt_rig_find_platform(rig, id) >= 0)
        s = vt__rig_field_error(&w, f, "'%s' is already used by another platform", id);
    if (s)
        return s;
    memcpy(p->id, id, strlen(id) + 1);
    double hsd = vt_rad2deg(p->opts.heading_sd);
    json_t *lm = json_object_get(pl, "landmarks");
    snprintf(f, sizeof f, "%s.imu", path);
    if (!json_object_get(pl, "imu"))
        return vt__rig_field_error(&w, f, "is missing");
    snprintf(f, sizeof f, "%s.gps", path);
    if (!json_object_get(pl, "gps"))
        return vt__rig_field_error(&w, f, "is missing");
    if ((s = opt_path(&w, pl, "imu", pre, &p->imu)) ||
        (s = opt_path(&w, pl, "gps", pre, &p->gps)) ||
        (s = opt_path(&w, pl, "heading", pre, &p->heading)) ||
        (s = parse_gps_sd(&w, pl, path, &p->opts)) ||
        (s = opt_number(&w, pl, "heading_sd_deg", pre, 0.0, &hsd)) ||
        (s = opt_vec3(&w, pl, "gps_lever_arm", pre, &p->opts.filter.gps_lever_arm)) ||
        (s = opt_vec3(&w, pl, "heading_baseline", pre, &p->opts.filter.heading_baseline)))
        return s;
    p->opts.heading_sd = vt_deg2rad(hsd);
    json_t *o = json_object_get(pl, "imu_noise");
    snprintf(f, sizeof f, "%s.imu_noise", path);
    if (o && (s = parse_imu_noise(&w, o, f, &p->opts.filter)))
        return s;
    o = json_object_get(pl, "initial");
    snprintf(f, sizeof f, "%s.initial", path);
    if (o && (s = parse_initial(&w, o, f, &p->opts)))
        return s;
    snprintf(f, sizeof f, "%s.landmarks", path);
    if (lm && !json_is_boolean(lm))
        return vt__rig_field_error(&w, f, "must be true or false");
    p->landmarks = lm && json_is_true(lm);
    if (vt_v3_norm(p->opts.filter.heading_baseline) < 1e-3) {
        snprintf(f, sizeof f, "%s.heading_baseline", path);
        return vt__rig_field_error(&w, f, "must be at least 1 mm long");
    }
    return VT_OK;
}

static vt_status parse_landmark(const char *file, int i, json_t *lm, vt_rig *rig,
                                vt_rig_landmark *l)
{
    static const char *const keys[] = {"id", "position", "sd", NULL};
    where w = {file, -1, NULL};
    char path[64], f[96];
    snprintf(path, sizeof path, "landmarks[%d]", i);
    if (!json_is_object(lm))
        return vt__rig_field_error(&w, path, "must be an object");
    vt_status s = vt__rig_keys(&w, lm, keys, path);
    const char *id;
    snprintf(f, sizeof f, "%s.id", path);
    if (!s)
        s = vt__rig_string(&w, json_object_get(lm, "id"), f, &id);
    if (!s && strlen(id) >= sizeof l->id)
        s = vt__rig_field_error(&w, f, "must be shorter than %zu characters", sizeof l->id);
    for (int k = 0; !s && k < rig->nlandmarks; k++)
        if (strcmp(rig->landmarks[k].id, id) == 0)
            s = vt__rig_field_error(&w, f, "'%s' is already used by another landmark", id);
    if (s)
        return s;
    memcpy(l->id, id, strlen(id) + 1);
    snprintf(f, sizeof f, "%s.position", path);
    double p[3];
    if ((s = vt__rig_array(&w, json_object_get(lm, "position"), f, 3, p)))
        return s;
    l->position = vt_v3(p[0], p[1], p[2]);
    l->sd = 0.0;
    json_t *sd = json_object_get(lm, "sd");
    snprintf(f, sizeof f, "%s.sd", path);
    if (sd && (s = vt__rig_number(&w, sd, f, &l->sd)))
        return s;
    if (!(l->sd >= 0.0))
        return vt__rig_field_error(&w, f, "must be >= 0 (m)");
    return VT_OK;
}

vt_status vt__rig_parse_platforms(const char *file, json_t *root, vt_rig *rig)
{
    where w = {file, -1, NULL};
    json_t *arr = json_object_get(root, "platforms");
    if (arr) {
        if (!json_is_array(arr) || json_array_size(arr) > 10000)
            return vt__rig_field_error(&w, "platforms",
                                       "must be an array of at most 10000 platforms");
        size_t n = json_array_size(arr);
        rig->platforms = calloc(n ? n : 1, sizeof *rig->platforms);
        if (!rig->platforms)
            return vt__error(VT_ENOMEM, "%s: out of memory", file);
        for (size_t i = 0; i < n; i++) {
            vt_status s =
                parse_platform(file, (int)i, json_array_get(arr, i), rig, &rig->platforms[i]);
            rig->nplatforms = (int)i + 1; /* counted first: vt_rig_free frees what was read */
            if (s)
                return s;
        }
    }
    arr = json_object_get(root, "landmarks");
    if (!arr)
        return VT_OK;
    if (!json_is_array(arr) || json_array_size(arr) > 100000)
        return vt__rig_field_error(&w, "landmarks", "must be an array of at most 100000 landmarks");
    size_t n = json_array_size(arr);
    rig->landmarks = calloc(n ? n : 1, sizeof *rig->landmarks);
    if (!rig->landmarks)
        return vt__error(VT_ENOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++) {
        vt_status s = parse_landmark(file, (int)i, json_array_get(arr, i), rig, &rig->landmarks[i]);
        if (s)
            return s;
        rig->nlandmarks = (int)i + 1;
    }
    return VT_OK;
}

/* ---- a camera's pose source ------------------------------------------------ */

vt_status vt__rig_parse_camera_pose(const where *w, json_t *cam, const vt_rig *rig,
                                    vt_rig_camera *c)
{
    static const char *const keys[] = {"platform", "log", "max_gap", "lever_arm", "mount", NULL};
    c->pose = VT_POSE_FIXED;
    c->platform = -1;
    c->mount = vt_pose_mount_identity();
    c->pose_max_gap = VT_POSE_MAX_GAP_DEFAULT;
    json_t *o = json_object_get(cam, "pose");
    if (!o)
        return VT_OK;
    if (!json_is_object(o))
        return vt__rig_field_error(w, "pose",
                                   "must be an object {\"platform\": ID} or {\"log\": FILE}");
    vt_status s = vt__rig_keys(w, o, keys, "pose");
    if (s)
        return s;
    json_t *pl = json_object_get(o, "platform"), *log = json_object_get(o, "log");
    if (!pl == !log)
        return vt__rig_field_error(w, "pose", "needs exactly one of 'platform' and 'log'");
    if ((s = opt_vec3(w, o, "lever_arm", "pose.", &c->mount.lever_arm)) ||
        (s = opt_quat(w, o, "mount", "pose.", &c->mount.q)))
        return s;
    if (pl) {
        const char *id;
        if ((s = vt__rig_string(w, pl, "pose.platform", &id)))
            return s;
        c->platform = vt_rig_find_platform(rig, id);
        if (c->platform < 0)
            return vt__rig_field_error(w, "pose.platform",
                                       "names '%s', which is not in 'platforms'", id);
        if (json_object_get(o, "max_gap"))
            return vt__rig_field_error(w, "pose.max_gap", "applies to pose logs only");
        c->pose = VT_POSE_PLATFORM;
        return VT_OK;
    }
    if ((s = opt_path(w, o, "log", "pose.", &c->pose_log)) ||
        (s = opt_number(w, o, "max_gap", "pose.", 0.0, &c->pose_max_gap)))
        return s;
    c->pose = VT_POSE_LOG;
    return VT_OK;
}

/* ---- the rig in memory --------------------------------------------------------- */

int vt_rig_find_platform(const vt_rig *rig, const char *id)
{
    if (!rig || !id)
        return -1;
    for (int i = 0; i < rig->nplatforms; i++)
        if (strcmp(rig->platforms[i].id, id) == 0)
            return i;
    return -1;
}

bool vt_rig_has_moving_cameras(const vt_rig *rig)
{
    for (int i = 0; rig && i < rig->count; i++)
        if (rig->cameras[i].pose != VT_POSE_FIXED)
            return true;
    return false;
}

static bool id_ok(const char *id, size_t size)
{
    return memchr(id, '\0', size) != NULL && id[0] != '\0';
}

static void free_platform(vt_rig_platform *p)
{
    free(p->imu);
    free(p->gps);
    free(p->heading);
    p->imu = p->gps = p->heading = NULL;
}

vt_status vt_rig_add_platform(vt_rig *rig, const vt_rig_platform *pl)
{
    if (!rig || !pl)
        return vt__error(VT_EINVAL, "rig: NULL argument");
    if (!id_ok(pl->id, sizeof pl->id))
        return vt__error(VT_EINVAL, "rig: platform id must be non-empty and shorter than %zu",
                         sizeof pl->id);
    if (vt_rig_find_platform(rig, pl->id) >= 0)
        return vt__error(VT_EINVAL, "rig: platform id '%s' is already used", pl->id);
    if (!pl->imu || !pl->gps)
        return vt__error(VT_EINVAL, "rig: platform '%s' needs an IMU and a GPS log", pl->id);
    vt_rig_platform *g = realloc(rig->platforms, (size_t)(rig->nplatforms + 1) * sizeof *g);
    if (!g)
        return vt__error(VT_ENOMEM, "rig: out of memory adding platform '%s'", pl->id);
    rig->platforms = g;
    vt_rig_platform c = *pl;
    c.imu = strdup(pl->imu);
    c.gps = strdup(pl->gps);
    c.heading = pl->heading ? strdup(pl->heading) : NULL;
    if (!c.imu || !c.gps || (pl->heading && !c.heading)) {
        free_platform(&c);
        return vt__error(VT_ENOMEM, "rig: out of memory adding platform '%s'", pl->id);
    }
    rig->platforms[rig->nplatforms++] = c;
    return VT_OK;
}

vt_status vt_rig_add_landmark(vt_rig *rig, const vt_rig_landmark *lm)
{
    if (!rig || !lm)
        return vt__error(VT_EINVAL, "rig: NULL argument");
    if (!id_ok(lm->id, sizeof lm->id))
        return vt__error(VT_EINVAL, "rig: landmark id must be non-empty and shorter than %zu",
                         sizeof lm->id);
    for (int i = 0; i < rig->nlandmarks; i++)
        if (strcmp(rig->landmarks[i].id, lm->id) == 0)
            return vt__error(VT_EINVAL, "rig: landmark id '%s' is already used", lm->id);
    vt_rig_landmark *g = realloc(rig->landmarks, (size_t)(rig->nlandmarks + 1) * sizeof *g);
    if (!g)
        return vt__error(VT_ENOMEM, "rig: out of memory adding landmark '%s'", lm->id);
    rig->landmarks = g;
    rig->landmarks[rig->nlandmarks++] = *lm;
    return VT_OK;
}

void vt__rig_free_platforms(vt_rig *rig)
{
    for (int i = 0; rig->platforms && i < rig->nplatforms; i++)
        free_platform(&rig->platforms[i]);
    free(rig->platforms);
    free(rig->landmarks);
    rig->platforms = NULL;
    rig->landmarks = NULL;
    rig->nplatforms = rig->nlandmarks = 0;
}
