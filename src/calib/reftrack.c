/*
 * src/calib/reftrack.c - the reference track of a calibration flight (see
 * vt_reftrack in voxtrack/calib.h): one target's positions over time, read
 * from JSON Lines or CSV, in ENU metres or WGS84 through PROJ, and
 * interpolated between its samples.
 *
 * Interpolation is cubic Hermite: position and velocity at both ends of the
 * interval, the velocities from the file when it gives them (the
 * simulator's truth does) or else the three-point derivative of the
 * neighbouring samples, second-order accurate on uneven spacing. A drone's
 * path is smooth at the 10-100 Hz of a GPS log, so the interpolation error
 * is far below the GPS noise; the result is continuous with a continuous
 * derivative, which the clock solver's finite differences need.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fields.h"
#include "core/internal.h"
#include "core/json_keys.h"
#include "voxtrack/calib.h"
#include "voxtrack/geodetic.h"

struct vt_reftrack {
    size_t n;
    double *t;
    vt_vec3 *p, *v;
};

/* ------------------------------------------------------------------------ */
/* The track in memory                                                       */

void vt_reftrack_free(vt_reftrack *r)
{
    if (!r)
        return;
    free(r->t);
    free(r->p);
    free(r->v);
    free(r);
}

/* The three-point derivative at every sample (one-sided at the ends). */
static void derive_velocities(vt_reftrack *r)
{
    size_t n = r->n;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || k == n - 1) {
            size_t a = k == 0 ? 0 : n - 2;
            r->v[k] = vt_v3_scale(vt_v3_sub(r->p[a + 1], r->p[a]), 1.0 / (r->t[a + 1] - r->t[a]));
            continue;
        }
        double h0 = r->t[k] - r->t[k - 1], h1 = r->t[k + 1] - r->t[k];
        vt_vec3 d0 = vt_v3_scale(vt_v3_sub(r->p[k], r->p[k - 1]), 1.0 / h0);
        vt_vec3 d1 = vt_v3_scale(vt_v3_sub(r->p[k + 1], r->p[k]), 1.0 / h1);
        r->v[k] = vt_v3_scale(vt_v3_add(vt_v3_scale(d0, h1), vt_v3_scale(d1, h0)), 1.0 / (h0 + h1));
    }
}

vt_status vt_reftrack_new(const double *t, const vt_vec3 *pos, const vt_vec3 *vel, size_t n,
                          vt_reftrack **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_reftrack_new: out is NULL");
    *out = NULL;
    if (!t || !pos || n < 2)
        return vt__error(VT_EINVAL, "reference track: needs at least 2 samples (got %zu)", n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(pos[i].x) || !isfinite(pos[i].y) || !isfinite(pos[i].z) ||
            (vel && (!isfinite(vel[i].x) || !isfinite(vel[i].y) || !isfinite(vel[i].z))))
            return vt__error(VT_EINVAL, "reference track: sample %zu is not finite", i);
        if (i && !(t[i] > t[i - 1]))
            return vt__error(VT_EINVAL,
                             "reference track: sample %zu at t = %.10g s does not come after "
                             "t = %.10g s",
                             i, t[i], t[i - 1]);
    }
    vt_reftrack *r = calloc(1, sizeof *r);
    if (r) {
        r->t = malloc(n * sizeof *r->t);
        r->p = malloc(n * sizeof *r->p);
        r->v = malloc(n * sizeof *r->v);
    }
    if (!r || !r->t || !r->p || !r->v) {
        vt_reftrack_free(r);
        return vt__error(VT_ENOMEM, "reference track: out of memory for %zu samples", n);
    }
    r->n = n;
    memcpy(r->t, t, n * sizeof *t);
    memcpy(r->p, pos, n * sizeof *pos);
    if (vel)
        memcpy(r->v, vel, n * sizeof *vel);
    else
        derive_velocities(r);
    *out = r;
    return VT_OK;
}

size_t vt_reftrack_count(const vt_reftrack *r)
{
    return r ? r->n : 0;
}

void vt_reftrack_sample(const vt_reftrack *r, size_t i, double *t, vt_vec3 *pos)
{
    if (!r || i >= r->n)
        return;
    if (t)
        *t = r->t[i];
    if (pos)
        *pos = r->p[i];
}

void vt_reftrack_span(const vt_reftrack *r, double *t0, double *t1)
{
    if (t0)
        *t0 = r && r->n ? r->t[0] : NAN;
    if (t1)
        *t1 = r && r->n ? r->t[r->n - 1] : NAN;
}

bool vt_reftrack_at(const vt_reftrack *r, double t, double max_gap, vt_vec3 *pos, vt_vec3 *vel)
{
    if (!r || r->n < 2 || !(t >= r->t[0] && t <= r->t[r->n - 1]))
        return false;
    size_t lo = 0, hi = r->n - 1; /* t[lo] <= t <= t[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->t[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    double h = r->t[hi] - r->t[lo];
    if (max_gap > 0 && h > max_gap) {
        /* A sample at either edge of a gap is on the track (the last one too). */
        size_t k = t == r->t[lo] ? lo : hi;
        if (t != r->t[k])
            return false;
        if (pos)
            *pos = r->p[k];
        if (vel)
            *vel = r->v[k];
        return true;
    }
    double s = (t - r->t[lo]) / h, s2 = s * s, s3 = s2 * s;
    vt_vec3 p0 = r->p[lo], p1 = r->p[hi], m0 = vt_v3_scale(r->v[lo], h),
            m1 = vt_v3_scale(r->v[hi], h);
    if (pos) {
        double h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = -2 * s3 + 3 * s2,
               h11 = s3 - s2;
        *pos = vt_v3_add(vt_v3_add(vt_v3_scale(p0, h00), vt_v3_scale(m0, h10)),
                         vt_v3_add(vt_v3_scale(p1, h01), vt_v3_scale(m1, h11)));
    }
    if (vel) {
        double d00 = 6 * s2 - 6 * s, d10 = 3 * s2 - 4 * s + 1, d01 = -6 * s2 + 6 * s,
               d11 = 3 * s2 - 2 * s;
        vt_vec3 d = vt_v3_add(vt_v3_add(vt_v3_scale(p0, d00), vt_v3_scale(m0, d10)),
                              vt_v3_add(vt_v3_scale(p1, d01), vt_v3_scale(m1, d11)));
        *vel = vt_v3_scale(d, 1.0 / h);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* One sample as read. */
typedef struct sample {
    double t;
    vt_vec3 p, v;
    bool wgs84, has_v;
    char id[32];
    int line;
} sample;

typedef struct loader {
    const char *path;
    int line;
    sample *s;
    size_t n, cap;
    vt_geodetic *geo;
    const vt_rig *rig;
} loader;

static vt_status line_error(const loader *l, const char *fmt, ...) VT__PRINTF(2, 3);

static vt_status line_error(const loader *l, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vt__error(VT_EPARSE, "%s:%d: %s", l->path, l->line, what);
}

/* Converts a WGS84 sample (p = lat, lon, h) to ENU with the rig's origin. */
static vt_status to_enu(loader *l, sample *s)
{
    if (!l->rig || !l->rig->has_origin)
        return line_error(l, "a WGS84 position (lat, lon, h) needs the rig's geodetic origin, "
                             "and the rig has none");
    vt_status st = VT_OK;
    if (!l->geo)
        st = vt_geodetic_new(l->rig->lat_deg, l->rig->lon_deg, l->rig->height_m, &l->geo);
    if (!st && !(s->p.x >= -90 && s->p.x <= 90 && s->p.y >= -180 && s->p.y <= 180))
        return line_error(l, "(lat, lon) = (%.10g, %.10g) is not a WGS84 position", s->p.x, s->p.y);
    vt_vec3 enu;
    if (!st)
        st = vt_geodetic_to_enu(l->geo, s->p.x, s->p.y, s->p.z, &enu);
    if (st)
        return vt__error_prefix(st, "%s:%d", l->path, l->line);
    s->p = enu;
    s->wgs84 = false;
    return VT_OK;
}

static vt_status push(loader *l, sample *s)
{
    s->line = l->line;
    if (s->wgs84) {
        vt_status st = to_enu(l, s);
        if (st)
            return st;
    }
    vt_status st = vt__grow(&l->s, &l->cap, l->n + 1, sizeof *l->s);
    if (st)
        return vt__error_prefix(st, "%s:%d", l->path, l->line);
    l->s[l->n++] = *s;
    return VT_OK;
}

static vt_status json_number(const loader *l, json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return line_error(l, "missing field '%s'", key);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return line_error(l, "field '%s' must be a finite number", key);
    *out = json_number_value(v);
    return VT_OK;
}

static vt_status json_vec3(const loader *l, json_t *o, const char *key, vt_vec3 *out)
{
    json_t *a = json_object_get(o, key);
    double v[3];
    if (!json_is_array(a) || json_array_size(a) != 3)
        return line_error(l, "field '%s' must be an array of 3 numbers", key);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_number(e) || !isfinite(json_number_value(e)))
            return line_error(l, "field '%s' must be an array of 3 finite numbers", key);
        v[i] = json_number_value(e);
    }
    *out = vt_v3(v[0], v[1], v[2]);
    return VT_OK;
}

static vt_status json_id(const loader *l, json_t *o, char *id, size_t size)
{
    json_t *v = json_object_get(o, "id");
    if (!v)
        return VT_OK;
    if (json_is_integer(v))
        snprintf(id, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < size &&
             strlen(json_string_value(v)) == json_string_length(v))
        snprintf(id, size, "%s", json_string_value(v));
    else
        return line_error(l, "field 'id' must be an integer or a string of 1 to %zu bytes",
                          size - 1);
    return VT_OK;
}

static vt_status parse_json(loader *l, const char *text, size_t len)
{
    /* truth.jsonl's other fields (frame, kind, size) are allowed and not used. */
    static const char *const keys[] = {"t",   "x", "y",  "z",     "pos",  "vel",  "lat",
                                       "lon", "h", "id", "frame", "kind", "size", NULL};
    json_error_t err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!o)
        return line_error(l, "column %d: %s", err.column, err.text);
    sample s;
    memset(&s, 0, sizeof s);
    vt_status st = VT_OK;
    const char *bad;
    if (!json_is_object(o))
        st = line_error(l, "must be a JSON object {\"t\", \"x\", \"y\", \"z\"}");
    else if ((bad = vt__json_unknown_key(o, keys)))
        st = line_error(l,
                        "unknown field '%s' (known: t, x, y, z, pos, vel, lat, lon, h, id, "
                        "frame, kind, size)",
                        bad);
    else if (!(st = json_number(l, o, "t", &s.t)) && !(st = json_id(l, o, s.id, sizeof s.id))) {
        if (json_object_get(o, "pos")) {
            st = json_vec3(l, o, "pos", &s.p);
        } else if (json_object_get(o, "lat")) {
            s.wgs84 = true;
            if (!(st = json_number(l, o, "lat", &s.p.x)) &&
                !(st = json_number(l, o, "lon", &s.p.y)))
                st = json_number(l, o, "h", &s.p.z);
        } else if (!(st = json_number(l, o, "x", &s.p.x)) &&
                   !(st = json_number(l, o, "y", &s.p.y))) {
            st = json_number(l, o, "z", &s.p.z);
        }
        if (!st && json_object_get(o, "vel")) {
            s.has_v = true;
            st = json_vec3(l, o, "vel", &s.v);
        }
    }
    json_decref(o);
    return st ? st : push(l, &s);
}

enum { C_T, C_X, C_Y, C_Z, C_LAT, C_LON, C_H, C_ID, NC };
static const char *const CSV_NAMES[NC] = {"t", "x", "y", "z", "lat", "lon", "h", "id"};

typedef struct csv_header {
    char sep;
    int n;
    int col[NC];
    bool seen[NC];
} csv_header;

static vt_status parse_csv_header(loader *l, const char *p, const char *end, csv_header *h)
{
    vt__field f[NC + 1];
    h->sep = vt__fields_sep(p, end);
    h->n = vt__fields_split(p, end, h->sep, f, NC);
    if (h->n > NC)
        return line_error(l,
                          "the header names more than %d columns (known: t, x, y, z, lat, "
                          "lon, h, id)",
                          NC);
    for (int i = 0; i < h->n; i++) {
        int c = -1;
        for (int k = 0; k < NC; k++)
            if (vt__field_is(f[i], CSV_NAMES[k]))
                c = k;
        if (c < 0 || h->seen[c])
            return line_error(l,
                              "%s column '%.*s' in the header (known: t, x, y, z, lat, lon, h, "
                              "id)",
                              c < 0 ? "unknown" : "repeated", (int)(f[i].n > 40 ? 40 : f[i].n),
                              f[i].s);
        h->seen[c] = true;
        h->col[i] = c;
    }
    bool enu = h->seen[C_X] && h->seen[C_Y] && h->seen[C_Z];
    bool geo = h->seen[C_LAT] && h->seen[C_LON] && h->seen[C_H];
    if (!h->seen[C_T] || enu == geo)
        return line_error(l, "the header must name t and either x, y, z or lat, lon, h");
    return VT_OK;
}

static vt_status parse_csv_row(loader *l, const char *p, const char *end, const csv_header *h)
{
    vt__field f[NC + 1];
    int n = vt__fields_split(p, end, h->sep, f, h->n);
    if (n != h->n)
        return line_error(l, "%s values where the header names %d", n > h->n ? "more" : "fewer",
                          h->n);
    sample s;
    memset(&s, 0, sizeof s);
    double num[NC] = {0};
    for (int i = 0; i < n; i++) {
        int c = h->col[i];
        if (c == C_ID) {
            if (f[i].n == 0 || f[i].n >= sizeof s.id)
                return line_error(l, "column 'id' must hold 1 to %zu bytes", sizeof s.id - 1);
            memcpy(s.id, f[i].s, f[i].n);
        } else if (!vt__field_number(f[i], &num[c])) {
            return line_error(l, "column '%s': \"%.*s\" is not a number", CSV_NAMES[c],
                              (int)(f[i].n > 40 ? 40 : f[i].n), f[i].s);
        }
    }
    s.t = num[C_T];
    s.wgs84 = h->seen[C_LAT];
    s.p = s.wgs84 ? vt_v3(num[C_LAT], num[C_LON], num[C_H]) : vt_v3(num[C_X], num[C_Y], num[C_Z]);
    return push(l, &s);
}

static vt_status read_lines(loader *l, FILE *fp)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    bool started = false, json = false;
    csv_header h;
    memset(&h, 0, sizeof h);
    vt_status st = VT_OK;
    while (!st && (got = getline(&buf, &cap, fp)) >= 0) {
        l->line++;
        size_t n = (size_t)got;
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        const char *p = buf, *end = buf + n;
        if (memchr(p, '\0', n)) {
            st = line_error(l, "contains a NUL byte (not a text file?)");
            break;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || (*p == '#' && !json))
            continue;
        if (!started) {
            started = true;
            json = *p == '{';
            if (!json) {
                st = parse_csv_header(l, p, end, &h);
                continue;
            }
        }
        st = json ? parse_json(l, p, (size_t)(end - p)) : parse_csv_row(l, p, end, &h);
    }
    free(buf);
    if (!st && ferror(fp))
        st = vt__error(VT_EIO, "%s: read error", l->path);
    return st;
}

/* The samples of the chosen target, in file order, as a track. */
static vt_status select_target(loader *l, const char *target, vt_reftrack **out)
{
    const char *id = target;
    if (!id && l->n) {
        id = l->s[0].id;
        for (size_t i = 1; i < l->n; i++)
            if (strcmp(l->s[i].id, id) != 0)
                return vt__error(VT_EINVAL,
                                 "%s: holds several targets ('%s' at line %d, '%s' at line %d): "
                                 "choose one (--target ID)",
                                 l->path, id, l->s[0].line, l->s[i].id, l->s[i].line);
    }
    double *t = malloc((l->n ? l->n : 1) * sizeof *t);
    vt_vec3 *p = malloc((l->n ? l->n : 1) * sizeof *p), *v = malloc((l->n ? l->n : 1) * sizeof *v);
    vt_status st = t && p && v ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", l->path);
    size_t n = 0;
    bool all_v = true;
    int last_line = 0;
    for (size_t i = 0; !st && i < l->n; i++) {
        const sample *s = &l->s[i];
        if (strcmp(s->id, id) != 0)
            continue;
        if (n && !(s->t > t[n - 1]))
            st = vt__error(VT_EPARSE,
                           "%s:%d: t = %.10g s does not come after t = %.10g s (line %d): a "
                           "track's times must increase",
                           l->path, s->line, s->t, t[n - 1], last_line);
        t[n] = s->t;
        p[n] = s->p;
        v[n] = s->v;
        all_v = all_v && s->has_v;
        last_line = s->line;
        n++;
    }
    if (!st && n < 2)
        st = target ? vt__error(VT_EINVAL, "%s: target '%s' has %zu samples; a track needs 2",
                                l->path, target, n)
                    : vt__error(VT_EPARSE, "%s: %zu samples; a track needs at least 2", l->path, n);
    if (!st)
        st = vt_reftrack_new(t, p, all_v ? v : NULL, n, out);
    free(t);
    free(p);
    free(v);
    return st;
}

/* Reads fp's lines (NULL: an empty file) and takes the target's samples as the track. */
static vt_status read_track(FILE *fp, const char *name, const vt_rig *rig, const char *target,
                            vt_reftrack **out)
{
    loader l = {.path = name, .rig = rig};
    vt_status st = fp ? read_lines(&l, fp) : VT_OK;
    if (!st)
        st = select_target(&l, target, out);
    free(l.s);
    vt_geodetic_free(l.geo);
    return st;
}

vt_status vt_reftrack_parse(const char *text, size_t len, const char *name, const vt_rig *rig,
                            const char *target, vt_reftrack **out)
{
    if (!out || (!text && len) || !name)
        return vt__error(VT_EINVAL, "vt_reftrack_parse: NULL argument");
    *out = NULL;
    FILE *fp = NULL; /* fmemopen may refuse a size of 0: an empty text reads no line */
    if (len && !(fp = fmemopen((void *)text, len, "r")))
        return vt__error(VT_ENOMEM, "%s: cannot read the text: %s", name, strerror(errno));
    vt_status st = read_track(fp, name, rig, target, out);
    if (fp)
        fclose(fp);
    return st;
}

vt_status vt_reftrack_load(const char *path, const vt_rig *rig, const char *target,
                           vt_reftrack **out)
{
    if (!out || !path)
        return vt__error(VT_EINVAL, "vt_reftrack_load: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    vt_status st = read_track(fp, path, rig, target, out);
    fclose(fp);
    return st;
}
