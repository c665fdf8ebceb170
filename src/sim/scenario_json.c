/*
 * src/sim/scenario_json.c - the scenario file's JSON schema: a JSON text or
 * file in, a validated spec (vt__spec) out (see voxtrack/sim.h; every field
 * is documented in docs/SCENARIO.md). scenario.c turns the spec into the
 * scenario object.
 *
 * The parser walks the JSON tree with the JSON path of the node in hand
 * ("targets.drones[3].waypoints[1]"), so that every refusal names the field:
 * an object's keys are checked against the list of fields it may have
 * before any is read (a misspelt field is an error, not a silent default),
 * and every number is checked against its physical limits (sizes, focal
 * lengths, probabilities, waypoints inside the world). Absent fields keep
 * the defaults of vt__spec_defaults(), which the presets share.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/json_keys.h"
#include "sim/sim_internal.h"

enum { PATH_MAX_LEN = 192, MAX_PAIRS = 1024, MAX_TARGETS = 1000000, MAX_STEPS = 100000 };

/* ---- the parser's helpers ----------------------------------------------- */

typedef struct parser {
    const char *name; /* file name, for messages */
    vt__spec *sp;
} parser;

static vt_status bad(const parser *P, const char *path, const char *fmt, ...) VT__PRINTF(3, 4);

static vt_status bad(const parser *P, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vt__error(VT_EPARSE, "%s: %s: %s", P->name, path[0] ? path : "(top level)", msg);
}

/* out = a + sep + b, cut short at PATH_MAX_LEN (paths only ever appear in messages). */
static void join(char *out, const char *a, const char *sep, const char *b)
{
    size_t n = 0;
    for (const char *part[3] = {a, sep, b}, **p = part; p < part + 3; p++)
        for (const char *c = *p; *c && n + 1 < PATH_MAX_LEN; c++)
            out[n++] = *c;
    out[n] = '\0';
}

static void child(char *out, const char *parent, const char *key)
{
    join(out, parent, parent[0] ? "." : "", key);
}

static void item(char *out, const char *parent, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    join(out, parent, "", idx);
}

/* Refuses keys that are not in `allowed` (NULL-terminated). */
static vt_status check_keys(const parser *P, json_t *obj, const char *path,
                            const char *const *allowed)
{
    if (!json_is_object(obj))
        return bad(P, path, "must be an object");
    const char *key = vt__json_unknown_key(obj, allowed);
    if (key) {
        char p[PATH_MAX_LEN], list[256] = "";
        child(p, path, key);
        for (const char *const *a = allowed; *a; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     a == allowed ? "" : ", ", *a);
        return bad(P, p, "unknown field (expected one of: %s)", list);
    }
    return VT_OK;
}

/* A number field; absent leaves *out as it is. */
static vt_status get_num(const parser *P, json_t *obj, const char *path, const char *key,
                         double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[PATH_MAX_LEN];
    child(p, path, key);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return bad(P, p, "must be a finite number");
    *out = json_number_value(v);
    return VT_OK;
}

/* A number in [lo, hi] (open ends when lo_open / hi_open). */
static vt_status get_in(const parser *P, json_t *obj, const char *path, const char *key, double lo,
                        bool lo_open, double hi, bool hi_open, double *out)
{
    vt_status st = get_num(P, obj, path, key, out);
    if (st || !json_object_get(obj, key))
        return st;
    if ((lo_open ? *out <= lo : *out < lo) || (hi_open ? *out >= hi : *out > hi)) {
        char p[PATH_MAX_LEN];
        child(p, path, key);
        return bad(P, p, "must be in %s%g, %g%s (got %g)", lo_open ? "(" : "[", lo, hi,
                   hi_open ? ")" : "]", *out);
    }
    return VT_OK;
}

static vt_status get_float_in(const parser *P, json_t *obj, const char *path, const char *key,
                              double lo, double hi, float *out)
{
    double d = *out;
    vt_status st = get_in(P, obj, path, key, lo, false, hi, false, &d);
    *out = (float)d;
    return st;
}

static vt_status get_int(const parser *P, json_t *obj, const char *path, const char *key,
                         int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[PATH_MAX_LEN];
    child(p, path, key);
    if (!json_is_integer(v))
        return bad(P, p, "must be an integer");
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return bad(P, p, "must be in [%lld, %lld] (got %lld)", (long long)lo, (long long)hi,
                   (long long)i);
    *out = i;
    return VT_OK;
}

static vt_status get_int32(const parser *P, json_t *obj, const char *path, const char *key, int lo,
                           int hi, int *out)
{
    int64_t v = *out;
    vt_status st = get_int(P, obj, path, key, lo, hi, &v);
    *out = (int)v;
    return st;
}

/* An array of n finite numbers at `path`. */
static vt_status numbers(const parser *P, json_t *a, const char *path, size_t n, double *out)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return bad(P, path, "must be an array of %zu numbers", n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v) || !isfinite(json_number_value(v))) {
            char p[PATH_MAX_LEN];
            item(p, path, i);
            return bad(P, p, "must be a finite number");
        }
        out[i] = json_number_value(v);
    }
    return VT_OK;
}

static vt_status get_vec3(const parser *P, json_t *obj, const char *path, const char *key,
                          vt_vec3 *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[PATH_MAX_LEN];
    double c[3];
    child(p, path, key);
    vt_status st = numbers(P, v, p, 3, c);
    if (!st)
        *out = vt_v3(c[0], c[1], c[2]);
    return st;
}

/* A range: [lo, hi] or one number (lo = hi), inside [min, max]. */
static vt_status get_range(const parser *P, json_t *obj, const char *path, const char *key,
                           double min, double max, vt__range *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[PATH_MAX_LEN];
    child(p, path, key);
    double c[2];
    if (json_is_number(v)) {
        c[0] = c[1] = json_number_value(v);
    } else if (numbers(P, v, p, 2, c)) {
        return bad(P, p, "must be a number or [min, max]");
    }
    if (!(c[0] <= c[1]))
        return bad(P, p, "min %g is above max %g", c[0], c[1]);
    if (c[0] < min || c[1] > max)
        return bad(P, p, "must lie in [%g, %g] (got [%g, %g])", min, max, c[0], c[1]);
    out->lo = c[0];
    out->hi = c[1];
    return VT_OK;
}

static bool in_box(vt_vec3 p, vt_vec3 lo, vt_vec3 hi)
{
    return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && p.z >= lo.z && p.z <= hi.z;
}

/* A box {"min": [..], "max": [..]}; `within` (may be NULL) must contain it. */
static vt_status get_box(const parser *P, json_t *obj, const char *path, const char *key,
                         const vt_vec3 *within_lo, const vt_vec3 *within_hi, vt_vec3 *lo,
                         vt_vec3 *hi)
{
    static const char *const keys[] = {"min", "max", NULL};
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    char p[PATH_MAX_LEN];
    child(p, path, key);
    vt_status st;
    if ((st = check_keys(P, v, p, keys)))
        return st;
    if (!json_object_get(v, "min") || !json_object_get(v, "max"))
        return bad(P, p, "needs both 'min' and 'max'");
    if ((st = get_vec3(P, v, p, "min", lo)) || (st = get_vec3(P, v, p, "max", hi)))
        return st;
    if (!(lo->x < hi->x && lo->y < hi->y && lo->z < hi->z))
        return bad(P, p, "'min' must be below 'max' on every axis");
    if (within_lo && (!in_box(*lo, *within_lo, *within_hi) || !in_box(*hi, *within_lo, *within_hi)))
        return bad(P, p, "must lie inside the world extent");
    return VT_OK;
}

/* ---- world -------------------------------------------------------------- */

static vt_status parse_sky(const parser *P, json_t *obj, const char *path, double top,
                           vt_render_sky *sky)
{
    static const char *const keys[] = {"level",        "gradient",    "noise",
                                       "cloud",        "cloud_scale", "cloud_speed",
                                       "hot_fraction", "hot_value",   NULL};
    vt_status st;
    if ((st = check_keys(P, obj, path, keys)) ||
        (st = get_float_in(P, obj, path, "level", 0, top, &sky->level)) ||
        (st = get_float_in(P, obj, path, "gradient", -top, top, &sky->gradient)) ||
        (st = get_float_in(P, obj, path, "noise", 0, top, &sky->noise)) ||
        (st = get_float_in(P, obj, path, "cloud", 0, top, &sky->cloud)) ||
        (st = get_float_in(P, obj, path, "cloud_speed", 0, 1e4, &sky->cloud_speed)) ||
        (st = get_float_in(P, obj, path, "hot_fraction", 0, 1, &sky->hot_fraction)) ||
        (st = get_float_in(P, obj, path, "hot_value", 0, top, &sky->hot_value)))
        return st;
    double scale = sky->cloud_scale;
    st = get_in(P, obj, path, "cloud_scale", 0, true, 1e6, false, &scale);
    sky->cloud_scale = (float)scale;
    return st;
}

/* "beacons": {"positions": [[x, y, z], ...], "size", "mono", "survey_sd"}. */
static vt_status parse_beacons(const parser *P, json_t *b)
{
    static const char *const keys[] = {"positions", "size", "mono", "survey_sd", NULL};
    const char *path = "world.beacons";
    vt__beacons_spec *bs = &P->sp->beacons;
    vt_status st;
    if ((st = check_keys(P, b, path, keys)) ||
        (st = get_in(P, b, path, "size", 0, true, 10, false, &bs->size)) ||
        (st = get_in(P, b, path, "mono", 0, false, 255, false, &bs->mono)) ||
        (st = get_in(P, b, path, "survey_sd", 0, false, 10, false, &bs->survey_sd)))
        return st;
    json_t *pos = json_object_get(b, "positions");
    char p[PATH_MAX_LEN];
    child(p, path, "positions");
    if (!pos || !json_is_array(pos) || json_array_size(pos) > VT__BEACONS_MAX)
        return bad(P, p, "must be an array of at most %d points", VT__BEACONS_MAX);
    bs->count = (int)json_array_size(pos);
    for (int i = 0; i < bs->count; i++) {
        char e[PATH_MAX_LEN + 16];
        snprintf(e, sizeof e, "%s[%d]", p, i);
        double c[3];
        if ((st = numbers(P, json_array_get(pos, (size_t)i), e, 3, c)))
            return st;
        bs->pos[i] = vt_v3(c[0], c[1], c[2]);
    }
    return VT_OK;
}

static vt_status parse_world(const parser *P, json_t *w)
{
    static const char *const keys[] = {"extent", "origin", "sky", "supersample", "beacons", NULL};
    static const char *const sky_keys[] = {"mono", "thermal", NULL};
    static const char *const origin_keys[] = {"lat", "lon", "h", NULL};
    vt__spec *sp = P->sp;
    vt_status st;
    if ((st = check_keys(P, w, "world", keys)))
        return st;
    if (!json_object_get(w, "extent"))
        return bad(P, "world.extent", "is missing");
    if ((st = get_box(P, w, "world", "extent", NULL, NULL, &sp->lo, &sp->hi)) ||
        (st = get_int32(P, w, "world", "supersample", 1, 32, &sp->supersample)))
        return st;
    json_t *o = json_object_get(w, "origin");
    if (o) {
        if ((st = check_keys(P, o, "world.origin", origin_keys)))
            return st;
        if (!json_object_get(o, "lat") || !json_object_get(o, "lon"))
            return bad(P, "world.origin", "needs 'lat' and 'lon'");
        if ((st = get_in(P, o, "world.origin", "lat", -90, false, 90, false, &sp->lat_deg)) ||
            (st = get_in(P, o, "world.origin", "lon", -180, false, 180, false, &sp->lon_deg)) ||
            (st = get_in(P, o, "world.origin", "h", -1e4, false, 1e5, false, &sp->height_m)))
            return st;
        sp->has_origin = true;
    }
    json_t *b = json_object_get(w, "beacons");
    if (b && (st = parse_beacons(P, b)))
        return st;
    json_t *sky = json_object_get(w, "sky");
    if (sky) {
        json_t *m = json_object_get(sky, "mono"), *t = json_object_get(sky, "thermal");
        if ((st = check_keys(P, sky, "world.sky", sky_keys)) ||
            (m && (st = parse_sky(P, m, "world.sky.mono", 255, &sp->sky_mono))) ||
            (t && (st = parse_sky(P, t, "world.sky.thermal", 65535, &sp->sky_thermal))))
            return st;
    }
    return VT_OK;
}

/* ---- paths -------------------------------------------------------------- */

static vt_status parse_step(const parser *P, json_t *v, const char *p, vt__step *s)
{
    static const char *const keys[] = {"hover", "turn_deg", "radius", "climb", NULL};
    double c[3];
    memset(s, 0, sizeof *s);
    if (json_is_array(v)) {
        vt_status st = numbers(P, v, p, 3, c);
        s->kind = VT__STEP_TO;
        s->to = vt_v3(c[0], c[1], c[2]);
        return st;
    }
    vt_status st = check_keys(P, v, p, keys);
    if (st)
        return bad(P, p,
                   "must be a point [x, y, z] or one of {\"hover\": s}, "
                   "{\"turn_deg\": a, \"radius\": r}, {\"climb\": dz}");
    int n = !!json_object_get(v, "hover") + !!json_object_get(v, "turn_deg") +
            !!json_object_get(v, "climb");
    if (n != 1 || (json_object_get(v, "radius") && !json_object_get(v, "turn_deg")))
        return bad(P, p, "needs exactly one of 'hover', 'turn_deg' (with 'radius'), 'climb'");
    if (json_object_get(v, "hover")) {
        s->kind = VT__STEP_HOVER;
        return get_in(P, v, p, "hover", 0, true, 1e6, false, &s->seconds);
    }
    if (json_object_get(v, "climb")) {
        s->kind = VT__STEP_CLIMB;
        return get_in(P, v, p, "climb", -1e5, false, 1e5, false, &s->dz);
    }
    s->kind = VT__STEP_TURN;
    s->radius = 30.0;
    double deg = 0;
    if ((st = get_in(P, v, p, "turn_deg", -3600, false, 3600, false, &deg)) ||
        (st = get_in(P, v, p, "radius", 0, true, 1e5, false, &s->radius)))
        return st;
    if (deg == 0.0)
        return bad(P, p, "'turn_deg' must not be 0");
    s->angle = vt_deg2rad(deg);
    return VT_OK;
}

/* "waypoints": a start point, then points, hovers, turns and climbs. */
static vt_status parse_waypoints(const parser *P, json_t *obj, const char *path, vt__path *out)
{
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    child(p, path, "waypoints");
    json_t *a = json_object_get(obj, "waypoints");
    if (!a)
        return bad(P, p, "is missing");
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0)
        return bad(P, p, "must be a non-empty array");
    if (n > MAX_STEPS)
        return bad(P, p, "has more than %d entries", MAX_STEPS);
    item(q, p, 0);
    json_t *first = json_array_get(a, 0);
    double c[3];
    if (!json_is_array(first))
        return bad(P, q, "the first waypoint must be a point [x, y, z] (the start)");
    vt_status st = numbers(P, first, q, 3, c);
    if (st)
        return st;
    out->start = vt_v3(c[0], c[1], c[2]);
    out->steps = calloc(n, sizeof *out->steps);
    if (!out->steps)
        return vt__error(VT_ENOMEM, "%s: out of memory", P->name);
    out->count = n - 1;
    for (size_t i = 1; i < n; i++) {
        item(q, p, i);
        if ((st = parse_step(P, json_array_get(a, i), q, &out->steps[i - 1])))
            return st;
    }
    return VT_OK;
}

/* Builds the path once to check it stays in the world; names the waypoint that leaves. */
static vt_status check_path_inside(const parser *P, const vt__path *path, const char *obj_path)
{
    vt__traj tr;
    long badi;
    vt_status st = vt__path_build(path, P->sp->lo, P->sp->hi, &tr, &badi);
    vt__traj_free(&tr);
    if (st == VT_ERANGE) {
        char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
        child(p, obj_path, "waypoints");
        item(q, p, (size_t)(badi + 1));
        const vt__spec *sp = P->sp;
        return bad(P, q, "leaves the world extent [%g, %g] x [%g, %g] x [%g, %g]", sp->lo.x,
                   sp->hi.x, sp->lo.y, sp->hi.y, sp->lo.z, sp->hi.z);
    }
    return st;
}

/* ---- cameras ------------------------------------------------------------ */

static vt_status parse_cam(const parser *P, json_t *obj, const char *path, vt__cam_spec *c,
                           bool thermal)
{
    static const char *const keys[] = {"width",        "height", "hfov_deg",  "fx",
                                       "fy",           "cx",     "cy",        "dist",
                                       "clock_offset", "jitter", "drop_prob", NULL};
    vt_status st;
    if ((st = check_keys(P, obj, path, keys)))
        return st;
    if (!json_object_get(obj, "width") || !json_object_get(obj, "height"))
        return bad(P, path, "needs 'width' and 'height'");
    int w = 0, h = 0;
    if ((st = get_int32(P, obj, path, "width", 1, 65536, &w)) ||
        (st = get_int32(P, obj, path, "height", 1, 65536, &h)))
        return st;
    bool has_fov = json_object_get(obj, "hfov_deg"), has_fx = json_object_get(obj, "fx");
    if (has_fov == has_fx)
        return bad(P, path, "needs exactly one of 'hfov_deg' and 'fx'");
    double fov = 60, jitter = c->jitter, drop = c->drop_prob;
    if ((st = get_in(P, obj, path, "hfov_deg", 0, true, 180, true, &fov)))
        return st;
    vt__cam_defaults(c, w, h, fov);
    c->jitter = jitter;
    c->drop_prob = drop;
    if ((st = get_in(P, obj, path, "fx", 0, true, 1e7, false, &c->fx)))
        return st;
    if (has_fx)
        c->fy = c->fx;
    if ((st = get_in(P, obj, path, "fy", 0, true, 1e7, false, &c->fy)) ||
        (st = get_in(P, obj, path, "cx", -w, false, 2.0 * w, false, &c->cx)) ||
        (st = get_in(P, obj, path, "cy", -h, false, 2.0 * h, false, &c->cy)))
        return st;
    json_t *d = json_object_get(obj, "dist");
    if (d) {
        char p[PATH_MAX_LEN];
        child(p, path, "dist");
        if ((st = numbers(P, d, p, 5, c->dist)))
            return bad(P, p, "must be [k1, k2, p1, p2, k3]");
        for (int i = 0; i < 5; i++)
            if (fabs(c->dist[i]) > 10.0)
                return bad(P, p, "coefficient %d is implausible (%g)", i, c->dist[i]);
    }
    double period = 1.0 / P->sp->fps;
    c->has_clock_offset = json_object_get(obj, "clock_offset") != NULL;
    if ((st = get_in(P, obj, path, "clock_offset", -1, false, 1, false, &c->clock_offset)) ||
        (st = get_in(P, obj, path, "jitter", 0, false, 0.25 * period, true, &c->jitter)) ||
        (st = get_in(P, obj, path, "drop_prob", 0, false, 1, false, &c->drop_prob)))
        return st;
    (void)thermal;
    return VT_OK;
}

static vt_status parse_platform(const parser *P, json_t *obj, const char *path,
                                vt__platform_spec *pf)
{
    static const char *const keys[] = {"waypoints",   "speed", "accel", "sway_deg",
                                       "sway_period", "imu",   "gps",   "heading_error_deg",
                                       NULL};
    static const char *const imu_keys[] = {"rate",        "gyro_noise", "gyro_bias",
                                           "accel_noise", "accel_bias", NULL};
    static const char *const gps_keys[] = {
        "rate", "noise_h", "noise_v", "lever_arm", "heading_noise_deg", "baseline", NULL};
    vt_status st;
    vt__platform_defaults(pf);
    pf->present = true;
    if ((st = check_keys(P, obj, path, keys)) || (st = parse_waypoints(P, obj, path, &pf->path)) ||
        (st = get_in(P, obj, path, "speed", 0, true, 100, false, &pf->path.speed)) ||
        (st = get_in(P, obj, path, "accel", 0, true, 50, false, &pf->path.accel)) ||
        (st = get_in(P, obj, path, "sway_deg", 0, false, 30, false, &pf->sway_deg)) ||
        (st = get_in(P, obj, path, "sway_period", 0, true, 1e4, false, &pf->sway_period)) ||
        (st = get_in(P, obj, path, "heading_error_deg", 0, false, 180, false,
                     &pf->heading_error_deg)))
        return st;
    char p[PATH_MAX_LEN];
    json_t *imu = json_object_get(obj, "imu"), *gps = json_object_get(obj, "gps");
    child(p, path, "imu");
    if (imu && ((st = check_keys(P, imu, p, imu_keys)) ||
                (st = get_in(P, imu, p, "rate", 0, true, 1e4, false, &pf->imu_rate)) ||
                (st = get_in(P, imu, p, "gyro_noise", 0, false, 10, false, &pf->gyro_noise)) ||
                (st = get_in(P, imu, p, "gyro_bias", 0, false, 10, false, &pf->gyro_bias)) ||
                (st = get_in(P, imu, p, "accel_noise", 0, false, 100, false, &pf->accel_noise)) ||
                (st = get_in(P, imu, p, "accel_bias", 0, false, 100, false, &pf->accel_bias))))
        return st;
    child(p, path, "gps");
    if (gps && ((st = check_keys(P, gps, p, gps_keys)) ||
                (st = get_in(P, gps, p, "rate", 0, true, 1e3, false, &pf->gps_rate)) ||
                (st = get_in(P, gps, p, "noise_h", 0, false, 1e3, false, &pf->gps_noise_h)) ||
                (st = get_in(P, gps, p, "noise_v", 0, false, 1e3, false, &pf->gps_noise_v)) ||
                (st = get_vec3(P, gps, p, "lever_arm", &pf->gps_lever_arm)) ||
                (st = get_in(P, gps, p, "heading_noise_deg", 0, false, 90, false,
                             &pf->heading_noise_deg)) ||
                (st = get_vec3(P, gps, p, "baseline", &pf->heading_baseline))))
        return st;
    if (vt_v3_norm(pf->gps_lever_arm) > 100.0 || vt_v3_norm(pf->heading_baseline) < 0.05 ||
        vt_v3_norm(pf->heading_baseline) > 100.0)
        return bad(P, p, "'lever_arm' must be within 100 m and 'baseline' 0.05 to 100 m long");
    return VT_OK;
}

static vt_status parse_orientation(const parser *P, json_t *obj, const char *path,
                                   vt__pair_spec *ps)
{
    bool look = json_object_get(obj, "look_at") != NULL;
    bool ypr = json_object_get(obj, "yaw_deg") || json_object_get(obj, "pitch_deg") ||
               json_object_get(obj, "roll_deg");
    if (look && ypr)
        return bad(P, path, "give either 'look_at' or 'yaw_deg'/'pitch_deg'/'roll_deg', not both");
    vt_status st;
    if (look) {
        vt_vec3 at = vt_v3(0, 0, 0);
        if ((st = get_vec3(P, obj, path, "look_at", &at)))
            return st;
        if (!vt__orientation_look_at(ps->position, at, &ps->q)) {
            char p[PATH_MAX_LEN];
            child(p, path, "look_at");
            return bad(P, p,
                       "points straight up or down (or at the camera): give yaw_deg and "
                       "pitch_deg instead");
        }
        return VT_OK;
    }
    double yaw = 0, pitch = 0, roll = 0;
    if ((st = get_in(P, obj, path, "yaw_deg", -360, false, 360, false, &yaw)) ||
        (st = get_in(P, obj, path, "pitch_deg", -90, false, 90, false, &pitch)) ||
        (st = get_in(P, obj, path, "roll_deg", -180, false, 180, false, &roll)))
        return st;
    ps->q = vt__orientation_ypr(vt_deg2rad(yaw), vt_deg2rad(pitch), vt_deg2rad(roll));
    return VT_OK;
}

static vt_status parse_pair(const parser *P, json_t *obj, const char *path, json_t *cams,
                            vt__pair_spec *ps)
{
    static const char *const keys[] = {"position", "yaw_deg", "pitch_deg", "roll_deg", "look_at",
                                       "baseline", "mono",    "thermal",   "platform", NULL};
    vt_status st;
    if ((st = check_keys(P, obj, path, keys)))
        return st;
    char p[PATH_MAX_LEN];
    json_t *plat = json_object_get(obj, "platform");
    if (plat) {
        child(p, path, "platform");
        if ((st = parse_platform(P, plat, p, &ps->platform)))
            return st;
        ps->position = ps->platform.path.start;
        if (json_object_get(obj, "position"))
            return bad(P, path, "'position' comes from the platform's first waypoint: remove it");
    } else if (!json_object_get(obj, "position")) {
        return bad(P, path, "needs 'position' (or a 'platform')");
    }
    if ((st = get_vec3(P, obj, path, "position", &ps->position)) ||
        (st = parse_orientation(P, obj, path, ps)) ||
        (st = get_vec3(P, obj, path, "baseline", &ps->baseline)))
        return st;
    if (vt_v3_norm(ps->baseline) > 10.0) {
        child(p, path, "baseline");
        return bad(P, p, "is longer than 10 m: the thermal camera must sit beside its twin");
    }
    /* Camera-level timing defaults come from the "cameras" object. */
    vt__cam_spec base = {0};
    double jitter = 0, drop = 0;
    if ((st = get_in(P, cams, "cameras", "jitter", 0, false, 0.25 / P->sp->fps, true, &jitter)) ||
        (st = get_in(P, cams, "cameras", "drop_prob", 0, false, 1, false, &drop)))
        return st;
    base.jitter = jitter;
    base.drop_prob = drop;
    json_t *m = json_object_get(obj, "mono"), *t = json_object_get(obj, "thermal");
    if (!m)
        return bad(P, path, "needs a 'mono' camera");
    ps->mono = base;
    child(p, path, "mono");
    if ((st = parse_cam(P, m, p, &ps->mono, false)))
        return st;
    if (t) {
        ps->thermal = base;
        ps->has_thermal = true;
        child(p, path, "thermal");
        if ((st = parse_cam(P, t, p, &ps->thermal, true)))
            return st;
    }
    return VT_OK;
}

static vt_status parse_cameras(const parser *P, json_t *c)
{
    static const char *const keys[] = {"fps",   "frames", "clock_offset_max", "jitter", "drop_prob",
                                       "pairs", NULL};
    vt__spec *sp = P->sp;
    vt_status st;
    if ((st = check_keys(P, c, "cameras", keys)) ||
        (st = get_in(P, c, "cameras", "fps", 0, true, 10000, false, &sp->fps)) ||
        (st = get_int(P, c, "cameras", "frames", 1, 100000000, &sp->frames)) ||
        (st = get_in(P, c, "cameras", "clock_offset_max", 0, false, 1, false,
                     &sp->clock_offset_max)))
        return st;
    json_t *a = json_object_get(c, "pairs");
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0)
        return bad(P, "cameras.pairs", "must be a non-empty array of camera pairs");
    if (n > MAX_PAIRS)
        return bad(P, "cameras.pairs", "has more than %d pairs", MAX_PAIRS);
    sp->pairs = calloc(n, sizeof *sp->pairs);
    if (!sp->pairs)
        return vt__error(VT_ENOMEM, "%s: out of memory", P->name);
    sp->pair_count = (int)n;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        item(p, "cameras.pairs", i);
        if ((st = parse_pair(P, json_array_get(a, i), p, c, &sp->pairs[i])))
            return st;
    }
    return VT_OK;
}

/* ---- targets ------------------------------------------------------------ */

static vt_status parse_drone(const parser *P, json_t *obj, const char *path, vt__drone_spec *d)
{
    static const char *const keys[] = {"size",    "speed",     "accel", "mono",
                                       "thermal", "waypoints", NULL};
    vt_status st;
    d->size = 0.5;
    d->mono = 40;
    d->thermal = 14000;
    d->path.speed = 10;
    d->path.accel = 4;
    if ((st = check_keys(P, obj, path, keys)) ||
        (st = get_in(P, obj, path, "size", 0.2, false, 1.0, false, &d->size)) ||
        (st = get_in(P, obj, path, "speed", 0, true, 60, false, &d->path.speed)) ||
        (st = get_in(P, obj, path, "accel", 0, true, 30, false, &d->path.accel)) ||
        (st = get_float_in(P, obj, path, "mono", 0, 255, &d->mono)) ||
        (st = get_float_in(P, obj, path, "thermal", 0, 65535, &d->thermal)) ||
        (st = parse_waypoints(P, obj, path, &d->path)))
        return st;
    return check_path_inside(P, &d->path, path);
}

static vt_status parse_random_drones(const parser *P, json_t *obj, const char *path)
{
    static const char *const keys[] = {
        "region",    "size",        "speed",    "accel", "leg",     "hover", "hover_prob",
        "turn_prob", "turn_radius", "turn_deg", "mono",  "thermal", NULL};
    vt__random_drones *r = &P->sp->random;
    vt_status st;
    if ((st = check_keys(P, obj, path, keys)) ||
        (st = get_box(P, obj, path, "region", &P->sp->lo, &P->sp->hi, &r->lo, &r->hi)) ||
        (st = get_range(P, obj, path, "size", 0.2, 1.0, &r->size)) ||
        (st = get_range(P, obj, path, "speed", 0.1, 60, &r->speed)) ||
        (st = get_range(P, obj, path, "accel", 0.1, 30, &r->accel)) ||
        (st = get_range(P, obj, path, "leg", 1, 1e5, &r->leg)) ||
        (st = get_range(P, obj, path, "hover", 0, 1e4, &r->hover)) ||
        (st = get_in(P, obj, path, "hover_prob", 0, false, 1, false, &r->hover_prob)) ||
        (st = get_in(P, obj, path, "turn_prob", 0, false, 1, false, &r->turn_prob)) ||
        (st = get_range(P, obj, path, "turn_radius", 1, 1e4, &r->turn_radius)) ||
        (st = get_range(P, obj, path, "turn_deg", 1, 720, &r->turn_deg)) ||
        (st = get_range(P, obj, path, "mono", 0, 255, &r->mono)) ||
        (st = get_range(P, obj, path, "thermal", 0, 65535, &r->thermal)))
        return st;
    if (r->hover_prob + r->turn_prob > 1.0)
        return bad(P, path, "hover_prob + turn_prob must be at most 1");
    return VT_OK;
}

static vt_status parse_drones(const parser *P, json_t *d)
{
    static const char *const keys[] = {"count", "random", NULL};
    vt__spec *sp = P->sp;
    vt_status st;
    if (json_is_object(d)) {
        int64_t count = 0;
        if ((st = check_keys(P, d, "targets.drones", keys)) ||
            (st = get_int(P, d, "targets.drones", "count", 0, MAX_TARGETS, &count)))
            return st;
        sp->random.count = (int)count;
        json_t *r = json_object_get(d, "random");
        return r ? parse_random_drones(P, r, "targets.drones.random") : VT_OK;
    }
    if (!json_is_array(d))
        return bad(P, "targets.drones", "must be an array of drones or {\"count\", \"random\"}");
    size_t n = json_array_size(d);
    if (n > MAX_TARGETS)
        return bad(P, "targets.drones", "has more than %d drones", MAX_TARGETS);
    sp->drones = calloc(n ? n : 1, sizeof *sp->drones);
    if (!sp->drones)
        return vt__error(VT_ENOMEM, "%s: out of memory", P->name);
    sp->drone_count = n;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        item(p, "targets.drones", i);
        if ((st = parse_drone(P, json_array_get(d, i), p, &sp->drones[i])))
            return st;
    }
    return VT_OK;
}

static vt_status parse_birds(const parser *P, json_t *b)
{
    static const char *const keys[] = {"count",          "region", "size",    "speed",    "flap_hz",
                                       "flap_amplitude", "mono",   "thermal", "turn_deg", NULL};
    const char *path = "targets.birds";
    vt__birds_spec *s = &P->sp->birds;
    int64_t count = 0;
    vt_status st;
    if ((st = check_keys(P, b, path, keys)) ||
        (st = get_int(P, b, path, "count", 0, MAX_TARGETS, &count)) ||
        (st = get_box(P, b, path, "region", &P->sp->lo, &P->sp->hi, &s->lo, &s->hi)) ||
        (st = get_range(P, b, path, "size", 0.05, 3, &s->size)) ||
        (st = get_range(P, b, path, "speed", 0.5, 40, &s->speed)) ||
        (st = get_range(P, b, path, "flap_hz", 0, 30, &s->flap_hz)) ||
        (st = get_in(P, b, path, "flap_amplitude", 0, false, 255, false, &s->flap_amplitude)) ||
        (st = get_range(P, b, path, "mono", 0, 255, &s->mono)) ||
        (st = get_range(P, b, path, "thermal", 0, 65535, &s->thermal)) ||
        (st = get_in(P, b, path, "turn_deg", 0, false, 90, false, &s->turn_deg)))
        return st;
    s->count = (int)count;
    return VT_OK;
}

static vt_status parse_glints(const parser *P, json_t *g)
{
    static const char *const keys[] = {"count",    "region", "size", "mono",
                                       "interval", "frames", NULL};
    const char *path = "targets.glints";
    vt__glints_spec *s = &P->sp->glints;
    int64_t count = 0;
    vt_status st;
    if ((st = check_keys(P, g, path, keys)) ||
        (st = get_int(P, g, path, "count", 0, MAX_TARGETS, &count)) ||
        (st = get_box(P, g, path, "region", &P->sp->lo, &P->sp->hi, &s->lo, &s->hi)) ||
        (st = get_in(P, g, path, "size", 0, true, 10, false, &s->size)) ||
        (st = get_in(P, g, path, "mono", 0, false, 255, false, &s->mono)) ||
        (st = get_in(P, g, path, "interval", 0, true, 1e5, false, &s->interval)) ||
        (st = get_range(P, g, path, "frames", 1, 1e4, &s->frames)))
        return st;
    s->count = (int)count;
    return VT_OK;
}

static vt_status parse_targets(const parser *P, json_t *t)
{
    static const char *const keys[] = {"drones", "birds", "glints", NULL};
    vt_status st;
    json_t *d = json_object_get(t, "drones"), *b = json_object_get(t, "birds");
    json_t *g = json_object_get(t, "glints");
    if ((st = check_keys(P, t, "targets", keys)) || (d && (st = parse_drones(P, d))) ||
        (b && (st = parse_birds(P, b))) || (g && (st = parse_glints(P, g))))
        return st;
    const vt__spec *sp = P->sp;
    size_t total = sp->drone_count + (size_t)sp->random.count + (size_t)sp->birds.count +
                   (size_t)sp->glints.count;
    if (total > MAX_TARGETS)
        return bad(P, "targets", "more than %d targets in all", MAX_TARGETS);
    return VT_OK;
}

static vt_status parse_root(const parser *P, json_t *root)
{
    static const char *const keys[] = {"name",    "description", "seed", "world",
                                       "cameras", "targets",     NULL};
    vt__spec *sp = P->sp;
    vt_status st;
    if ((st = check_keys(P, root, "", keys)))
        return st;
    json_t *name = json_object_get(root, "name"), *desc = json_object_get(root, "description");
    if (name && !json_is_string(name))
        return bad(P, "name", "must be a string");
    if (desc && !json_is_string(desc))
        return bad(P, "description", "must be a string");
    if (name)
        snprintf(sp->name, sizeof sp->name, "%s", json_string_value(name));
    json_t *seed = json_object_get(root, "seed");
    if (seed && (!json_is_integer(seed) || json_integer_value(seed) < 0))
        return bad(P, "seed", "must be a non-negative integer");
    if (seed)
        sp->seed = (uint64_t)json_integer_value(seed);
    json_t *w = json_object_get(root, "world"), *c = json_object_get(root, "cameras");
    json_t *t = json_object_get(root, "targets");
    if (!w)
        return bad(P, "world", "is missing");
    if (!c)
        return bad(P, "cameras", "is missing");
    if ((st = parse_world(P, w)))
        return st;
    /* Random regions default to the whole world. */
    sp->random.lo = sp->birds.lo = sp->glints.lo = sp->lo;
    sp->random.hi = sp->birds.hi = sp->glints.hi = sp->hi;
    if ((st = parse_cameras(P, c)) || (t && (st = parse_targets(P, t))))
        return st;
    return VT_OK;
}

/* ---- entry points ------------------------------------------------------- */

/* Consumes root; on failure *sp holds nothing to free. */
static vt_status spec_from_json(json_t *root, const char *name, vt__spec *sp)
{
    vt__spec_defaults(sp);
    const char *base = strrchr(name, '/');
    snprintf(sp->name, sizeof sp->name, "%s", base ? base + 1 : name);
    parser P = {name, sp};
    vt_status st = parse_root(&P, root);
    json_decref(root);
    if (st)
        vt__spec_free(sp);
    return st;
}

vt_status vt__spec_parse(const char *json, const char *name, vt__spec *sp)
{
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return vt__error(VT_EPARSE, "%s: line %d, column %d: %s", name, err.line, err.column,
                         err.text);
    return spec_from_json(root, name, sp);
}

vt_status vt__spec_load(const char *path, vt__spec *sp)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_cannot_open_file)
            return vt__error(VT_ENOENT, "%s: cannot open: %s", path, err.text);
        return vt__error(VT_EPARSE, "%s: line %d, column %d: %s", path, err.line, err.column,
                         err.text);
    }
    return spec_from_json(root, path, sp);
}
