/*
 * src/monitor/alert_rules.c - the alert rules file (JSON, docs/ALERTS.md):
 * rules, hysteresis, de-duplication and channels, read into the plain
 * structs of alert_internal.h.
 *
 * As for the run configuration (src/pipeline/config.c), every object is read
 * against the list of keys it may hold, so a typo is an error naming its
 * path; every message names the origin of the text, the rule (index and
 * name) or the channel (index and kind), and the field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/internal.h"
#include "core/json_keys.h"
#include "monitor/alert_internal.h"
#include "voxtrack/geodetic.h"

/* Where we are: the origin ("alerts.json") and the object ("rules[2] 'airfield'"). */
typedef struct pctx {
    const char *origin;
    char where[128];
} pctx;

static vt_status bad(const pctx *p, const char *field, const char *what)
{
    return vt__error(VT_EPARSE, "%s: %s%sfield '%s' %s", p->origin, p->where, *p->where ? ": " : "",
                     field, what);
}

static vt_status check_keys(const pctx *p, json_t *obj, const char *const *keys)
{
    const char *key = vt__json_unknown_key(obj, keys);
    if (key)
        return vt__error(VT_EPARSE, "%s: %s%sunknown field '%s'", p->origin, p->where,
                         *p->where ? ": " : "", key);
    return VT_OK;
}

static vt_status get_number(const pctx *p, json_t *obj, const char *key, double lo, double hi,
                            double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!isfinite(d) || d < lo || d > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be a number in [%g, %g]", lo, hi);
        return bad(p, key, msg);
    }
    *out = d;
    return VT_OK;
}

static vt_status get_bool(const pctx *p, json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VT_OK;
    if (!json_is_boolean(v))
        return bad(p, key, "must be true or false");
    *out = json_is_true(v);
    return VT_OK;
}

/* A string without control characters (they would break log lines and mail headers). */
static vt_status get_string(const pctx *p, json_t *obj, const char *key, bool required,
                            const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return required ? bad(p, key, "is required") : VT_OK;
    if (!json_is_string(v) || !*json_string_value(v))
        return bad(p, key, "must be a non-empty string");
    for (const char *c = json_string_value(v); *c; c++)
        if ((unsigned char)*c < 0x20)
            return bad(p, key, "must not hold control characters");
    *out = json_string_value(v);
    return VT_OK;
}

static vt_status dup_string(const pctx *p, json_t *obj, const char *key, bool required, char **out)
{
    const char *s = NULL;
    vt_status st = get_string(p, obj, key, required, &s);
    if (st || !s)
        return st;
    *out = strdup(s);
    return *out ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
}

/* ---- rules --------------------------------------------------------------- */

static vt_status read_hysteresis(const pctx *p, json_t *obj, double *raise, double *clear)
{
    json_t *h = json_object_get(obj, "hysteresis");
    if (!h)
        return VT_OK;
    if (!json_is_object(h))
        return bad(p, "hysteresis", "must be an object {\"raise_after\", \"clear_after\"}");
    pctx q = *p;
    snprintf(q.where, sizeof q.where, "%.100s%shysteresis", p->where, *p->where ? ": " : "");
    static const char *const keys[] = {"raise_after", "clear_after", NULL};
    vt_status s = check_keys(&q, h, keys);
    if (!s)
        s = get_number(&q, h, "raise_after", 0, 1e6, raise);
    if (!s)
        s = get_number(&q, h, "clear_after", 0, 1e6, clear);
    return s;
}

/* Are all the points on one line (or one point)? */
static bool collinear(const double *xy, int n)
{
    double scale = 0;
    for (int i = 1; i < n; i++)
        scale = fmax(scale, hypot(xy[2 * i] - xy[0], xy[2 * i + 1] - xy[1]));
    for (int i = 1; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double cross = (xy[2 * i] - xy[0]) * (xy[2 * j + 1] - xy[1]) -
                           (xy[2 * i + 1] - xy[1]) * (xy[2 * j] - xy[0]);
            if (fabs(cross) > 1e-9 * scale * scale)
                return false;
        }
    return true;
}

/*
 * "polygon": [[x, y], ...] (ENU metres) or "polygon_wgs84": [[lat, lon], ...]
 * (degrees, converted to ENU at the origin's height through geodetic.h),
 * with at least 3 points not on one line.
 */
static vt_status read_polygon(const pctx *p, json_t *rule, const vt__alert_config *cfg,
                              vt__alert_rule *r)
{
    json_t *poly = json_object_get(rule, "polygon");
    json_t *wgs = json_object_get(rule, "polygon_wgs84");
    const char *field = wgs ? "polygon_wgs84" : "polygon";
    if (poly && wgs)
        return bad(p, "polygon_wgs84", "and 'polygon' are both given: choose one");
    if (!poly && !wgs)
        return bad(p, "polygon", "is required: [[x, y], ...] in ENU metres (or 'polygon_wgs84')");
    if (wgs && !cfg->has_origin)
        return bad(p, "polygon_wgs84", "needs a rig with a geodetic origin (rig.json 'origin')");
    if (wgs)
        poly = wgs;
    size_t n = json_is_array(poly) ? json_array_size(poly) : 0;
    if (n < 3)
        return bad(p, field, "must be an array of at least 3 points");
    r->poly = malloc(2 * n * sizeof *r->poly);
    if (!r->poly)
        return vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
    r->npoly = (int)n;
    vt_geodetic *geo = NULL;
    vt_status s = wgs ? vt_geodetic_new(cfg->lat_deg, cfg->lon_deg, cfg->height_m, &geo) : VT_OK;
    if (s)
        s = vt__error_prefix(s, "%s: %s: the rig's origin", p->origin, p->where);
    for (size_t i = 0; i < n && !s; i++) {
        json_t *pt = json_array_get(poly, i);
        json_t *x = json_array_get(pt, 0), *y = json_array_get(pt, 1);
        double a = json_number_value(x), b = json_number_value(y);
        char where[48];
        snprintf(where, sizeof where, "%s[%zu]", field, i);
        if (!json_is_array(pt) || json_array_size(pt) != 2 || !json_is_number(x) ||
            !json_is_number(y) || !isfinite(a) || !isfinite(b) ||
            (wgs && (fabs(a) > 90 || fabs(b) > 180)))
            s = bad(p, where,
                    wgs ? "must be a point [lat, lon] in degrees"
                        : "must be a point [x, y] of two finite numbers (metres)");
        if (!s && wgs) {
            vt_vec3 enu;
            if ((s = vt_geodetic_to_enu(geo, a, b, cfg->height_m, &enu)))
                s = vt__error_prefix(s, "%s: %s: %s", p->origin, p->where, where);
            a = enu.x;
            b = enu.y;
        }
        r->poly[2 * i] = a;
        r->poly[2 * i + 1] = b;
    }
    vt_geodetic_free(geo);
    if (s)
        return s;
    r->box[0] = r->box[1] = INFINITY;
    r->box[2] = r->box[3] = -INFINITY;
    for (int i = 0; i < r->npoly; i++) {
        r->box[0] = fmin(r->box[0], r->poly[2 * i]);
        r->box[1] = fmin(r->box[1], r->poly[2 * i + 1]);
        r->box[2] = fmax(r->box[2], r->poly[2 * i]);
        r->box[3] = fmax(r->box[3], r->poly[2 * i + 1]);
    }
    if (collinear(r->poly, r->npoly))
        return bad(p, field, "has no area (all points on one line)");
    return VT_OK;
}

static vt_status read_zone(const pctx *p, json_t *rule, const vt__alert_config *cfg,
                           vt__alert_rule *r)
{
    vt_status s = read_polygon(p, rule, cfg, r);
    if (s)
        return s;
    r->zmin = -1e9;
    r->zmax = 1e9;
    json_t *alt = json_object_get(rule, "altitude");
    if (alt) {
        json_t *lo = json_array_get(alt, 0), *hi = json_array_get(alt, 1);
        if (json_array_size(alt) != 2 || !json_is_number(lo) || !json_is_number(hi) ||
            !(json_number_value(lo) <= json_number_value(hi)))
            return bad(p, "altitude", "must be [min, max] in metres with min <= max");
        r->zmin = json_number_value(lo);
        r->zmax = json_number_value(hi);
    }
    r->classes = 1u << VT_CLASS_DRONE;
    json_t *cls = json_object_get(rule, "classes");
    if (cls) {
        size_t i;
        json_t *c;
        if (!json_is_array(cls) || !json_array_size(cls))
            return bad(p, "classes", "must be a non-empty array of \"drone\", \"bird\"");
        r->classes = 0;
        json_array_foreach(cls, i, c)
        {
            const char *name = json_string_value(c);
            if (name && strcmp(name, "drone") == 0)
                r->classes |= 1u << VT_CLASS_DRONE;
            else if (name && strcmp(name, "bird") == 0)
                r->classes |= 1u << VT_CLASS_BIRD;
            else
                return bad(p, "classes", "may hold only \"drone\" and \"bird\"");
        }
    }
    r->confirmed_only = true;
    return get_bool(p, rule, "confirmed_only", &r->confirmed_only);
}

static vt_status read_cameras(const pctx *p, json_t *rule, const vt__alert_config *cfg,
                              vt__alert_rule *r)
{
    json_t *cams = json_object_get(rule, "cameras");
    r->raise_after = 2.0;
    vt_status s = get_number(p, rule, "after_s", 0, 1e6, &r->raise_after);
    if (s)
        return s;
    if (!cams) {
        if (cfg->ncameras == 0)
            return bad(p, "cameras", "cannot default to all: no rig was given");
        r->cameras = cfg->ncameras == 64 ? ~0ull : (1ull << cfg->ncameras) - 1;
        return VT_OK;
    }
    if (!json_is_array(cams) || !json_array_size(cams))
        return bad(p, "cameras", "must be a non-empty array of camera ids");
    size_t i;
    json_t *c;
    json_array_foreach(cams, i, c)
    {
        const char *id = json_string_value(c);
        int k = -1;
        for (int j = 0; id && j < cfg->ncameras && k < 0; j++)
            if (strcmp(cfg->camera_ids[j], id) == 0)
                k = j;
        if (k < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "names camera '%.40s', which is not in the rig",
                     id ? id : "(not a string)");
            return bad(p, "cameras", msg);
        }
        r->cameras |= 1ull << k;
    }
    return VT_OK;
}

static vt_status read_window(const pctx *p, json_t *rule, const char *limit_key, vt__alert_rule *r)
{
    if (!json_object_get(rule, limit_key))
        return bad(p, limit_key, "is required");
    r->window_s = 5.0;
    vt_status s = get_number(p, rule, limit_key, 1e-6, 1e9, &r->limit);
    if (!s)
        s = get_number(p, rule, "window_s", 1e-3, 3600, &r->window_s);
    const char *stat = NULL;
    if (!s)
        s = get_string(p, rule, "stat", false, &stat);
    r->p99 = true;
    if (!s && stat) {
        if (strcmp(stat, "mean") != 0 && strcmp(stat, "p99") != 0)
            return bad(p, "stat", "must be \"p99\" or \"mean\"");
        r->p99 = strcmp(stat, "p99") == 0;
    }
    return s;
}

static vt_status read_rule(const char *origin, int index, json_t *rule, vt__alert_config *cfg,
                           double raise, double clear, double repeat)
{
    vt__alert_rule *r = &cfg->rules[index];
    pctx p = {origin, ""};
    snprintf(p.where, sizeof p.where, "rules[%d]", index);
    if (!json_is_object(rule))
        return vt__error(VT_EPARSE, "%s: %s must be an object", origin, p.where);
    const char *name = NULL, *kind = NULL;
    vt_status s = get_string(&p, rule, "name", true, &name);
    if (s)
        return s;
    if (strlen(name) >= sizeof r->name)
        return bad(&p, "name", "must be shorter than 64 bytes");
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(p.where, sizeof p.where, "rules[%d] '%s'", index, name);
    for (int i = 0; i < index; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return bad(&p, "name", "is used by an earlier rule: names must be unique");
    if ((s = get_string(&p, rule, "kind", true, &kind)))
        return s;
    r->raise_after = raise;
    r->clear_after = clear;
    r->repeat_s = repeat;
    static const char *const zone[] = {
        "name",          "kind",     "hysteresis", "repeat_s",       "polygon",
        "polygon_wgs84", "altitude", "classes",    "confirmed_only", NULL};
    static const char *const cam[] = {"name",    "kind",    "hysteresis", "repeat_s",
                                      "cameras", "after_s", NULL};
    static const char *const fps[] = {"name", "kind",     "hysteresis", "repeat_s",
                                      "min",  "window_s", NULL};
    static const char *const lat[] = {"name",   "kind",     "hysteresis", "repeat_s",
                                      "max_ms", "window_s", "stat",       NULL};
    const char *const *keys;
    if (strcmp(kind, "zone") == 0) {
        r->kind = VT_ALERT_ZONE;
        keys = zone;
    } else if (strcmp(kind, "camera_offline") == 0) {
        r->kind = VT_ALERT_CAMERA_OFFLINE;
        keys = cam;
    } else if (strcmp(kind, "fps") == 0) {
        r->kind = VT_ALERT_FPS;
        keys = fps;
    } else if (strcmp(kind, "latency") == 0) {
        r->kind = VT_ALERT_LATENCY;
        keys = lat;
    } else {
        return bad(&p, "kind", "must be \"zone\", \"camera_offline\", \"fps\" or \"latency\"");
    }
    if ((s = check_keys(&p, rule, keys)) ||
        (s = read_hysteresis(&p, rule, &r->raise_after, &r->clear_after)) ||
        (s = get_number(&p, rule, "repeat_s", 0, 1e9, &r->repeat_s)))
        return s;
    switch (r->kind) {
    case VT_ALERT_ZONE:
        return read_zone(&p, rule, cfg, r);
    case VT_ALERT_CAMERA_OFFLINE:
        return read_cameras(&p, rule, cfg, r);
    case VT_ALERT_FPS:
        return read_window(&p, rule, "min", r);
    case VT_ALERT_LATENCY:
        return read_window(&p, rule, "max_ms", r);
    }
    return VT_OK;
}

/* ---- channels ------------------------------------------------------------ */

static vt_status read_strings(const pctx *p, json_t *obj, const char *key, char ***out, int *n)
{
    json_t *arr = json_object_get(obj, key);
    if (!arr)
        return bad(p, key, "is required");
    if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > 100)
        return bad(p, key, "must be an array of 1 to 100 strings");
    *out = calloc(json_array_size(arr), sizeof **out);
    if (!*out)
        return vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *str = json_string_value(v);
        if (!str || !*str || strpbrk(str, "\r\n<>,"))
            return bad(p, key, "must hold non-empty strings without '<', '>', ',' or line breaks");
        if (!((*out)[i] = strdup(str)))
            return vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
        *n = (int)i + 1;
    }
    return VT_OK;
}

static vt_status read_headers(const pctx *p, json_t *obj, vt__channel *c)
{
    json_t *h = json_object_get(obj, "headers");
    if (!h)
        return VT_OK;
    if (!json_is_object(h))
        return bad(p, "headers", "must be an object {\"Name\": \"value\"}");
    c->headers = calloc(json_object_size(h) + 1, sizeof *c->headers);
    if (!c->headers)
        return vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v)
    {
        const char *val = json_string_value(v);
        if (!val || !*key || strpbrk(key, ": \r\n") || strpbrk(val, "\r\n"))
            return bad(p, "headers", "must map header names to one-line string values");
        size_t len = strlen(key) + strlen(val) + 3;
        if (!(c->headers[c->nheaders] = malloc(len)))
            return vt__error(VT_ENOMEM, "%s: out of memory", p->origin);
        snprintf(c->headers[c->nheaders++], len, "%s: %s", key, val);
    }
    return VT_OK;
}

static vt_status check_scheme(const pctx *p, const char *url, const char *a, const char *b)
{
    if (strncmp(url, a, strlen(a)) == 0 || strncmp(url, b, strlen(b)) == 0)
        return VT_OK;
    char msg[96];
    snprintf(msg, sizeof msg, "must start with %s or %s", a, b);
    return bad(p, "url", msg);
}

static vt_status read_channel(const char *origin, int index, json_t *ch, vt__channel *c)
{
    pctx p = {origin, ""};
    snprintf(p.where, sizeof p.where, "channels[%d]", index);
    if (!json_is_object(ch))
        return vt__error(VT_EPARSE, "%s: %s must be an object", origin, p.where);
    const char *kind = NULL;
    vt_status s = get_string(&p, ch, "kind", true, &kind);
    if (s)
        return s;
    snprintf(p.where, sizeof p.where, "channels[%d] (%s)", index, kind);
    static const char *const web[] = {"kind",    "url",       "timeout_s", "retries",
                                      "headers", "backoff_s", NULL};
    static const char *const mail[] = {"kind",      "url",      "timeout_s", "retries",
                                       "from",      "to",       "username",  "password",
                                       "backoff_s", "starttls", NULL};
    static const char *const sms[] = {"kind", "url",      "timeout_s", "retries",   "headers",
                                      "to",   "template", "format",    "backoff_s", NULL};
    if (strcmp(kind, "webhook") == 0)
        c->kind = VT__CHANNEL_WEBHOOK;
    else if (strcmp(kind, "email") == 0)
        c->kind = VT__CHANNEL_EMAIL;
    else if (strcmp(kind, "sms") == 0)
        c->kind = VT__CHANNEL_SMS;
    else
        return bad(&p, "kind", "must be \"webhook\", \"email\" or \"sms\"");
    c->timeout_s = 2.0;
    c->retries = 3;
    c->backoff_s = 0.5;
    double retries = c->retries;
    const char *const *keys = c->kind == VT__CHANNEL_WEBHOOK ? web
                              : c->kind == VT__CHANNEL_EMAIL ? mail
                                                             : sms;
    if ((s = check_keys(&p, ch, keys)) || (s = dup_string(&p, ch, "url", true, &c->url)) ||
        (s = get_number(&p, ch, "timeout_s", 0.01, 600, &c->timeout_s)) ||
        (s = get_number(&p, ch, "retries", 0, 20, &retries)) ||
        (s = get_number(&p, ch, "backoff_s", 0, 60, &c->backoff_s)))
        return s;
    if (retries != floor(retries))
        return bad(&p, "retries", "must be a whole number");
    c->retries = (int)retries;
    if (c->kind == VT__CHANNEL_EMAIL) {
        if ((s = check_scheme(&p, c->url, "smtp://", "smtps://")) ||
            (s = dup_string(&p, ch, "from", true, &c->from)) ||
            (s = read_strings(&p, ch, "to", &c->to, &c->nto)) ||
            (s = dup_string(&p, ch, "username", false, &c->username)) ||
            (s = dup_string(&p, ch, "password", false, &c->password)))
            return s;
        if (strpbrk(c->from, "<>,"))
            return bad(&p, "from", "must be a bare address (no '<', '>' or ',')");
        const char *tls = NULL;
        if ((s = get_string(&p, ch, "starttls", false, &tls)))
            return s;
        c->starttls = !tls || strcmp(tls, "try") == 0 ? 1
                      : strcmp(tls, "required") == 0  ? 2
                      : strcmp(tls, "never") == 0     ? 0
                                                      : -1;
        if (c->starttls < 0)
            return bad(&p, "starttls", "must be \"try\", \"required\" or \"never\"");
        return VT_OK;
    }
    if ((s = check_scheme(&p, c->url, "http://", "https://")) || (s = read_headers(&p, ch, c)))
        return s;
    if (c->kind == VT__CHANNEL_WEBHOOK)
        return VT_OK;
    const char *format = NULL;
    if ((s = read_strings(&p, ch, "to", &c->to, &c->nto)) ||
        (s = dup_string(&p, ch, "template", false, &c->tmpl)) ||
        (s = get_string(&p, ch, "format", false, &format)))
        return s;
    if (format && strcmp(format, "json") != 0 && strcmp(format, "form") != 0)
        return bad(&p, "format", "must be \"json\" or \"form\"");
    c->form = format && strcmp(format, "form") == 0;
    if (!c->tmpl && !(c->tmpl = strdup("voxtrack {state} {rule}: {message}")))
        return vt__error(VT_ENOMEM, "%s: out of memory", origin);
    return VT_OK;
}

/* ---- the whole text ------------------------------------------------------ */

static vt_status copy_rig_ids(const char *origin, const vt_rig *rig, vt__alert_config *cfg)
{
    if (!rig)
        return VT_OK;
    if (rig->count > VT__ALERT_MAX_CAMERAS)
        return vt__error(VT_EINVAL, "%s: the rig has %d cameras; alerts handle at most %d", origin,
                         rig->count, VT__ALERT_MAX_CAMERAS);
    cfg->camera_ids = calloc(rig->count > 0 ? (size_t)rig->count : 1, sizeof *cfg->camera_ids);
    if (!cfg->camera_ids)
        return vt__error(VT_ENOMEM, "%s: out of memory", origin);
    for (int i = 0; i < rig->count; i++)
        snprintf(cfg->camera_ids[i], sizeof cfg->camera_ids[i], "%s", rig->cameras[i].id);
    cfg->ncameras = rig->count;
    cfg->has_origin = rig->has_origin;
    cfg->lat_deg = rig->lat_deg;
    cfg->lon_deg = rig->lon_deg;
    cfg->height_m = rig->height_m;
    return VT_OK;
}

static vt_status parse_root(const char *origin, json_t *root, vt__alert_config *cfg)
{
    pctx p = {origin, ""};
    static const char *const keys[] = {"rules", "hysteresis", "repeat_s", "channels",
                                       "queue", "shutdown_s", "stall_s",  NULL};
    if (!json_is_object(root))
        return vt__error(VT_EPARSE, "%s: must be an object {\"rules\": [...], ...}", origin);
    double raise = 0, clear = 2, repeat = 0, queue = 256;
    cfg->shutdown_s = 2;
    cfg->stall_s = 1;
    vt_status s;
    if ((s = check_keys(&p, root, keys)) || (s = read_hysteresis(&p, root, &raise, &clear)) ||
        (s = get_number(&p, root, "repeat_s", 0, 1e9, &repeat)) ||
        (s = get_number(&p, root, "queue", 1, 1e6, &queue)) ||
        (s = get_number(&p, root, "shutdown_s", 0, 60, &cfg->shutdown_s)) ||
        (s = get_number(&p, root, "stall_s", 0.05, 86400, &cfg->stall_s)))
        return s;
    cfg->queue = (int)queue;
    json_t *rules = json_object_get(root, "rules");
    json_t *chans = json_object_get(root, "channels");
    if (rules && !json_is_array(rules))
        return bad(&p, "rules", "must be an array of rules");
    if (chans && !json_is_array(chans))
        return bad(&p, "channels", "must be an array of channels");
    size_t nr = json_array_size(rules), nc = json_array_size(chans);
    cfg->rules = calloc(nr + 1, sizeof *cfg->rules);
    cfg->channels = calloc(nc + 1, sizeof *cfg->channels);
    if (!cfg->rules || !cfg->channels)
        return vt__error(VT_ENOMEM, "%s: out of memory", origin);
    for (size_t i = 0; i < nr; i++) {
        cfg->nrules = (int)i + 1;
        if ((s = read_rule(origin, (int)i, json_array_get(rules, i), cfg, raise, clear, repeat)))
            return s;
    }
    for (size_t i = 0; i < nc; i++) {
        cfg->nchannels = (int)i + 1;
        if ((s = read_channel(origin, (int)i, json_array_get(chans, i), &cfg->channels[i])))
            return s;
    }
    return VT_OK;
}

vt_status vt__alert_config_parse(const char *json, const char *origin, const vt_rig *rig,
                                 vt__alert_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (!origin)
        origin = "alerts";
    if (!json)
        return vt__error(VT_EINVAL, "%s: no rules text", origin);
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return vt__error(VT_EPARSE, "%s: line %d, column %d: %s", origin, err.line, err.column,
                         err.text);
    vt_status s = copy_rig_ids(origin, rig, cfg);
    if (!s)
        s = parse_root(origin, root, cfg);
    json_decref(root);
    if (s)
        vt__alert_config_free(cfg);
    return s;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void vt__alert_config_free(vt__alert_config *cfg)
{
    for (int i = 0; i < cfg->nrules; i++)
        free(cfg->rules[i].poly);
    for (int i = 0; i < cfg->nchannels; i++) {
        vt__channel *c = &cfg->channels[i];
        free(c->url);
        free(c->from);
        free(c->username);
        free(c->password);
        free(c->tmpl);
        free_strings(c->headers, c->nheaders);
        free_strings(c->to, c->nto);
    }
    free(cfg->rules);
    free(cfg->channels);
    free(cfg->camera_ids);
    memset(cfg, 0, sizeof *cfg);
}
