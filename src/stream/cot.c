/*
 * src/stream/cot.c - Cursor-on-Target events from tracks (see voxtrack/cot.h).
 *
 * A CoT event (MITRE's Cursor-on-Target 2.0 schema, the format TAK speaks)
 * says: this thing (uid, type) is at this WGS84 point (lat, lon, hae with
 * circular/linear errors ce, le), moving so (detail/track course, speed),
 * as of `time`, valid from `start` until `stale`. This file turns the
 * confirmed tracks of a frame set into such events and hands them to the
 * network side (cot_net.c).
 *
 * - Position: the track's ENU position through the rig's geodetic origin
 *   with PROJ (vt_geodetic). Errors: ce = sqrt of the larger eigenvalue of
 *   the east/north covariance (a 1-sigma circle that holds the worse axis),
 *   le = sqrt(zz); the CoT schema defines both as 1-sigma.
 * - Course: the local ENU frame's north is true north at the origin only;
 *   a track 5 km east sees true north turned by about 0.04 degrees. The
 *   course is therefore measured at the track: its position and a point
 *   10 m further along its horizontal velocity go through PROJ, and the
 *   azimuth comes from the differences in latitude and longitude scaled by
 *   the ellipsoid's radii of curvature there.
 * - Time: see vt_cot_opts.utc_offset_s. The rate limit runs on that event
 *   time, so that live runs send at most one event per track per
 *   min_interval_s of wall time and replays with their own times stay
 *   deterministic. An event time that goes back (a new run) resets it.
 * - The rate table: (track id, last event time) pairs sorted by id, rebuilt
 *   on every publish from the tracks that are still eligible, so it never
 *   holds tracks that have gone. Two buffers that only grow.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "stream/cot_internal.h"
#include "voxtrack/geodetic.h"

/* The value CoT uses for an unknown ce/le/hae. */
#define COT_UNKNOWN 9999999.0
#define XML_MAX 4096

typedef struct rate_entry {
    uint64_t id;
    double last; /* event time of its last event, Unix seconds */
} rate_entry;

struct vt_cot_sender {
    vt_cot_opts o;
    char *type, *how, *prefix, *bird_type; /* owned copies */
    char uid_base[96];                     /* prefix [+ origin hash + "-"] */
    vt_geodetic *geo;
    vt__cot_net *net;
    rate_entry *rate, *next; /* sorted by id; next is the one being built */
    size_t nrate, cap;
    char xml[XML_MAX];
    uint64_t events, limited, errors;
};

vt_cot_opts vt_cot_opts_default(void)
{
    return (vt_cot_opts){.type = "a-u-A-M-H-Q",
                         .how = "m-f",
                         .min_interval_s = 1,
                         .stale_s = 5,
                         .uid_prefix = "voxtrack-",
                         .uid_origin = true,
                         .bird_type = NULL,
                         .coasting = true,
                         .utc_offset_s = NAN,
                         .ttl = 1,
                         .queue = 1024};
}

/* ---- XML ---- */

typedef struct xbuf {
    char *buf;
    size_t size, len;
    bool full;
} xbuf;

static void put(xbuf *o, const char *s, size_t n)
{
    if (o->full || o->len + n >= o->size) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(xbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

static void VT__PRINTF(2, 3) putf(xbuf *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        o->full = true;
    else
        put(o, tmp, (size_t)n);
}

/* Text or attribute value with the five XML special characters escaped. */
static void put_esc(xbuf *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            puts_(o, "&amp;");
            break;
        case '<':
            puts_(o, "&lt;");
            break;
        case '>':
            puts_(o, "&gt;");
            break;
        case '"':
            puts_(o, "&quot;");
            break;
        case '\'':
            puts_(o, "&apos;");
            break;
        default:
            /* Control characters other than tab/newline are not allowed in XML 1.0. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                puts_(o, " ");
            else
                put(o, s, 1);
        }
    }
}

char *vt_cot_time(double unix_s, char buf[25])
{
    if (!isfinite(unix_s) || fabs(unix_s) > 2.5e11)
        unix_s = 0;
    long long ms = llround(unix_s * 1000.0);
    long long sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    char tmp[64];
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        snprintf(tmp, sizeof tmp, "1970-01-01T00:00:00.000Z");
    else
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    memcpy(buf, tmp, 25);
    buf[24] = '\0';
    return buf;
}

vt_status vt_cot_event_xml(const vt_cot_event *ev, char *buf, size_t size, size_t *len)
{
    if (len)
        *len = 0;
    if (!ev || !buf || size == 0)
        return vt__error(VT_EINVAL, "vt_cot_event_xml: NULL argument or empty buffer");
    buf[0] = '\0';
    if (!ev->uid || !ev->type || !ev->how)
        return vt__error(VT_EINVAL, "CoT event: uid, type and how are required");
    if (!isfinite(ev->lat) || !isfinite(ev->lon) || fabs(ev->lat) > 90 || fabs(ev->lon) > 180)
        return vt__error(VT_EINVAL, "CoT event '%s': point lat %g lon %g is not a WGS84 position",
                         ev->uid, ev->lat, ev->lon);
    char t0[25], t1[25], t2[25];
    xbuf o = {buf, size, 0, false};
    puts_(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
              "<event version=\"2.0\" uid=\"");
    put_esc(&o, ev->uid);
    puts_(&o, "\" type=\"");
    put_esc(&o, ev->type);
    puts_(&o, "\" how=\"");
    put_esc(&o, ev->how);
    putf(&o, "\" time=\"%s\" start=\"%s\" stale=\"%s\">", vt_cot_time(ev->time, t0),
         vt_cot_time(ev->start, t1), vt_cot_time(ev->stale, t2));
    double hae = isfinite(ev->hae) ? ev->hae : COT_UNKNOWN;
    double ce = isfinite(ev->ce) && ev->ce >= 0 ? ev->ce : COT_UNKNOWN;
    double le = isfinite(ev->le) && ev->le >= 0 ? ev->le : COT_UNKNOWN;
    putf(&o, "<point lat=\"%.9f\" lon=\"%.9f\" hae=\"%.4f\" ce=\"%.3f\" le=\"%.3f\"/>", ev->lat,
         ev->lon, hae, ce, le);
    puts_(&o, "<detail>");
    if (isfinite(ev->course) && isfinite(ev->speed))
        putf(&o, "<track course=\"%.3f\" speed=\"%.3f\"/>", ev->course, ev->speed);
    if (ev->remarks) {
        puts_(&o, "<remarks>");
        put_esc(&o, ev->remarks);
        puts_(&o, "</remarks>");
    }
    puts_(&o, "</detail></event>");
    if (o.full) {
        buf[0] = '\0';
        return vt__error(VT_ERANGE, "CoT event '%s': does not fit in %zu bytes", ev->uid, size);
    }
    if (len)
        *len = o.len;
    return VT_OK;
}

/* ---- the sender ---- */

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* FNV-1a over the origin as text: the same rig origin gives the same uids in every run. */
static uint32_t origin_hash(const vt_rig *rig)
{
    char s[96];
    snprintf(s, sizeof s, "%.7f,%.7f,%.2f", rig->lat_deg, rig->lon_deg, rig->height_m);
    uint32_t h = 2166136261u;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

void vt_cot_sender_free(vt_cot_sender *c)
{
    if (!c)
        return;
    vt__cot_net_free(c->net);
    vt_geodetic_free(c->geo);
    free(c->type);
    free(c->how);
    free(c->prefix);
    free(c->bird_type);
    free(c->rate);
    free(c->next);
    free(c);
}

static vt_status check_opts(const vt_cot_opts *o)
{
    if (!o->type || !o->type[0] || !o->how || !o->how[0] || !o->uid_prefix)
        return vt__error(VT_EINVAL, "CoT options: type, how and uid_prefix must be set");
    if (strlen(o->uid_prefix) > 60 || strlen(o->type) > 60 ||
        (o->bird_type && strlen(o->bird_type) > 60))
        return vt__error(VT_EINVAL, "CoT options: type, bird_type and uid_prefix are limited to "
                                    "60 characters");
    if (!(o->min_interval_s >= 0) || !(o->stale_s > 0) || !isfinite(o->stale_s))
        return vt__error(VT_EINVAL,
                         "CoT options: min_interval_s (%g) must be >= 0 and stale_s (%g) > 0",
                         o->min_interval_s, o->stale_s);
    if (o->ttl < 0 || o->ttl > 255 || o->queue < 1)
        return vt__error(VT_EINVAL, "CoT options: ttl (%d) must be 0..255 and queue (%d) >= 1",
                         o->ttl, o->queue);
    return VT_OK;
}

vt_status vt_cot_sender_open(const char *url, const vt_rig *rig, const vt_cot_opts *opts,
                             vt_cot_sender **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_cot_sender_open: out is NULL");
    *out = NULL;
    if (!url || !rig)
        return vt__error(VT_EINVAL, "vt_cot_sender_open: NULL url or rig");
    if (!rig->has_origin)
        return vt__error(VT_EINVAL,
                         "CoT %s: the rig has no geodetic origin (\"origin\": {\"lat\", \"lon\", "
                         "\"h\"} in rig.json); CoT needs WGS84 positions",
                         url);
    vt_cot_opts o = opts ? *opts : vt_cot_opts_default();
    vt_status s = check_opts(&o);
    if (s)
        return vt__error_prefix(s, "CoT %s", url);
    vt_cot_sender *c = calloc(1, sizeof *c);
    if (!c)
        return vt__error(VT_ENOMEM, "CoT %s: out of memory", url);
    c->type = dup_or_null(o.type);
    c->how = dup_or_null(o.how);
    c->prefix = dup_or_null(o.uid_prefix);
    c->bird_type = dup_or_null(o.bird_type);
    if (!c->type || !c->how || !c->prefix || (o.bird_type && !c->bird_type)) {
        vt_cot_sender_free(c);
        return vt__error(VT_ENOMEM, "CoT %s: out of memory", url);
    }
    c->o = o;
    c->o.type = c->type;
    c->o.how = c->how;
    c->o.uid_prefix = c->prefix;
    c->o.bird_type = c->bird_type;
    if (o.uid_origin)
        snprintf(c->uid_base, sizeof c->uid_base, "%s%08x-", c->prefix, origin_hash(rig));
    else
        snprintf(c->uid_base, sizeof c->uid_base, "%s", c->prefix);
    s = vt_geodetic_new(rig->lat_deg, rig->lon_deg, rig->height_m, &c->geo);
    if (!s)
        s = vt__cot_net_open(url, o.ttl, o.queue, &c->net);
    if (s) {
        vt_cot_sender_free(c);
        return s;
    }
    *out = c;
    return VT_OK;
}

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const rate_entry *rate_find(const vt_cot_sender *c, uint64_t id)
{
    size_t lo = 0, hi = c->nrate;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->rate[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nrate && c->rate[lo].id == id ? &c->rate[lo] : NULL;
}

static int rate_cmp(const void *a, const void *b)
{
    uint64_t x = ((const rate_entry *)a)->id, y = ((const rate_entry *)b)->id;
    return x < y ? -1 : x > y;
}

static vt_status rate_reserve(vt_cot_sender *c, size_t n)
{
    if (n <= c->cap)
        return VT_OK;
    size_t cap = c->cap ? c->cap : 64;
    while (cap < n)
        cap *= 2;
    rate_entry *a = realloc(c->rate, cap * sizeof *a);
    if (a)
        c->rate = a;
    rate_entry *b = a ? realloc(c->next, cap * sizeof *b) : NULL;
    if (b)
        c->next = b;
    if (!a || !b)
        return vt__error(VT_ENOMEM, "CoT: out of memory for %zu tracks", n);
    c->cap = cap;
    return VT_OK;
}

/* The CoT type of this track, or NULL when it gets no event. */
static const char *track_type(const vt_cot_sender *c, const vt_pipeline_result *r, size_t i)
{
    const vt_track *t = &r->tracks[i];
    if (t->status != VT_TRACK_CONFIRMED && !(c->o.coasting && t->status == VT_TRACK_COASTING))
        return NULL;
    if (r->classes && r->classes[i] == VT_CLASS_BIRD)
        return c->bird_type;
    return c->type;
}

/* Course (degrees from true north at the track) from the geodetic positions of p and p + 10 m
 * along the horizontal velocity. */
static double track_course(vt_cot_sender *c, const vt_track *t, double lat, double lon)
{
    double sp = hypot(t->vel.x, t->vel.y);
    if (!(sp > 1e-6))
        return 0;
    vt_vec3 q = {t->pos.x + 10 * t->vel.x / sp, t->pos.y + 10 * t->vel.y / sp, t->pos.z};
    double la2, lo2, h2;
    if (vt_geodetic_from_enu(c->geo, q, &la2, &lo2, &h2))
        return atan2(t->vel.x, t->vel.y) * 180 / VT_PI; /* the ENU course: off by < 0.1 deg */
    const double a = 6378137.0, e2 = 6.69437999014e-3;
    double phi = lat * VT_PI / 180, w = 1 - e2 * sin(phi) * sin(phi);
    double m = a * (1 - e2) / (w * sqrt(w)), n = a / sqrt(w);
    double dlon = lo2 - lon;
    if (dlon > 180)
        dlon -= 360;
    if (dlon < -180)
        dlon += 360;
    double dn = (la2 - lat) * VT_PI / 180 * m, de = dlon * VT_PI / 180 * n * cos(phi);
    double deg = atan2(de, dn) * 180 / VT_PI;
    return deg < 0 ? deg + 360 : deg;
}

static void track_remarks(const vt_pipeline_result *r, size_t i, char *buf, size_t size)
{
    const vt_track *t = &r->tracks[i];
    bool bird = r->classes && r->classes[i] == VT_CLASS_BIRD;
    snprintf(buf, size, "voxtrack track %llu (%s%s): %d cameras, %s, climb %+.1f m/s",
             (unsigned long long)t->id, bird ? "bird" : "drone",
             t->status == VT_TRACK_COASTING ? ", coasting" : "", t->cams,
             t->thermal_hits > 0 ? "thermal confirmed" : "no thermal", t->vel.z);
}

/* Builds and sends the event of track i at event time now. */
static void send_track(vt_cot_sender *c, const vt_pipeline_result *r, size_t i, const char *type,
                       double now)
{
    const vt_track *t = &r->tracks[i];
    double lat, lon, hae;
    if (vt_geodetic_from_enu(c->geo, t->pos, &lat, &lon, &hae)) {
        c->errors++;
        vt__log(1, "CoT: track %llu: %s", (unsigned long long)t->id, vt_last_error());
        return;
    }
    const double *v = t->cov;
    double mid = (v[0] + v[3]) / 2, d = (v[0] - v[3]) / 2;
    double ce = sqrt(fmax(mid + sqrt(d * d + v[1] * v[1]), 0)), le = sqrt(fmax(v[5], 0));
    char uid[128], remarks[256];
    snprintf(uid, sizeof uid, "%s%llu", c->uid_base, (unsigned long long)t->id);
    track_remarks(r, i, remarks, sizeof remarks);
    vt_cot_event ev = {.uid = uid,
                       .type = type,
                       .how = c->how,
                       .time = now,
                       .start = now,
                       .stale = now + c->o.stale_s,
                       .lat = lat,
                       .lon = lon,
                       .hae = hae,
                       .ce = ce,
                       .le = le,
                       .course = track_course(c, t, lat, lon),
                       .speed = hypot(t->vel.x, t->vel.y),
                       .remarks = remarks};
    size_t len;
    if (vt_cot_event_xml(&ev, c->xml, sizeof c->xml, &len)) {
        c->errors++;
        return;
    }
    c->events++;
    vt__cot_net_send(c->net, c->xml, len);
}

vt_status vt_cot_publish(vt_cot_sender *c, const vt_pipeline_result *r)
{
    if (!c || !r || (r->ntracks && !r->tracks))
        return vt__error(VT_EINVAL, "vt_cot_publish: NULL sender or result");
    vt_status s = rate_reserve(c, r->ntracks);
    if (s)
        return s;
    double now = isnan(c->o.utc_offset_s) ? wall_clock() : r->t + c->o.utc_offset_s;
    size_t n = 0;
    bool sorted = true;
    for (size_t i = 0; i < r->ntracks; i++) {
        const char *type = track_type(c, r, i);
        if (!type)
            continue;
        uint64_t id = r->tracks[i].id;
        const rate_entry *e = rate_find(c, id);
        double last = e ? e->last : -INFINITY;
        if (now - last >= c->o.min_interval_s || now < last) {
            send_track(c, r, i, type, now);
            last = now;
        } else {
            c->limited++;
        }
        if (n > 0 && c->next[n - 1].id >= id)
            sorted = false;
        c->next[n++] = (rate_entry){id, last};
    }
    if (!sorted)
        qsort(c->next, n, sizeof *c->next, rate_cmp);
    rate_entry *tmp = c->rate;
    c->rate = c->next;
    c->next = tmp;
    c->nrate = n;
    return VT_OK;
}

void vt_cot_sender_stats(vt_cot_sender *c, vt_cot_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!c)
        return;
    vt__cot_net_stats(c->net, st);
    st->events = c->events;
    st->limited = c->limited;
    st->errors += c->errors;
}
