/*
 * src/stream/sapient.c - voxtrack as a SAPIENT (BSI Flex 335 v2.0) sensor
 * node: the public API of voxtrack/sapient.h. Opening reads the URL and
 * options and starts the connection thread (sapient_net.c); publishing
 * turns a frame set's confirmed tracks into DetectionReports and an alert
 * event into an Alert (built here, encoded and queued by sapient_msg.c),
 * filtered by the task in effect (sapient_task.c).
 *
 * A DetectionReport per track: the position converted from the world's ENU
 * frame to WGS84 (degrees, metres above the ellipsoid) through PROJ
 * (geodetic.h); its 1-sigma errors from the track's covariance, east and
 * north turned into degrees with the ellipsoid's radii of curvature at the
 * track (meridional M and prime vertical N); the velocity as ENU rates; the
 * class with a confidence that grows with the margin between the track's
 * bird cues and the classifier's thresholds (see confidence()); tracks
 * younger than the classifier's minimum age are "unknown".
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/sapient_internal.h"
#include "stream/transport_internal.h"

/* WGS84 */
#define WGS84_A 6378137.0
#define WGS84_E2 6.69437999014e-3

vt_sapient_opts vt_sapient_opts_default(void)
{
    vt_pipeline_opts p = vt_pipeline_opts_default();
    vt_sapient_opts o = {.node_id = NULL,
                         .name = "voxtrack",
                         .status_interval_s = 5,
                         .wait_s = 0,
                         .linger_s = 2,
                         .utc_offset_s = NAN,
                         .coasting = true,
                         .birds = true,
                         .queue = 4096,
                         .bird_accel = p.bird_accel,
                         .bird_flicker = p.bird_flicker,
                         .bird_min_age = p.bird_min_age};
    return o;
}

/* ---- the URL ---------------------------------------------------------------- */

static vt_status param_double(vt__url *u, const char *key, double lo, double hi, double *out)
{
    const char *v = vt__url_param_str(u, key);
    if (!v)
        return VT_OK;
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || x < lo || x > hi)
        return vt__error(VT_EINVAL, "%s: %s=%s is not a number in %g..%g", u->text, key, v, lo, hi);
    *out = x;
    return VT_OK;
}

static vt_status param_bool(vt__url *u, const char *key, bool *out)
{
    uint64_t x;
    vt_status st = vt__url_param_u64(u, key, 0, 1, *out, &x);
    if (st == VT_OK)
        *out = x != 0;
    return st;
}

/* sapient+tcp://HOST:PORT?... into s->host, s->port and s->o. */
static vt_status read_url(vt_sapient *s, const char *url)
{
    static const char prefix[] = "sapient+";
    if (strncmp(url, prefix, strlen(prefix)) != 0 || strncmp(url + 8, "tcp://", 6) != 0)
        return vt__error(VT_EINVAL, "%s: a SAPIENT URL is sapient+tcp://HOST:PORT", url);
    vt__url *u = malloc(sizeof *u);
    if (!u)
        return vt__error(VT_ENOMEM, "%s: out of memory", url);
    vt_status st = vt__url_parse(url + strlen(prefix), u);
    u->text = url;
    uint64_t queue = (uint64_t)s->o.queue;
    const char *node = NULL;
    if (st == VT_OK && u->port == 0)
        st = vt__error(VT_EINVAL, "%s: the fusion node's port must not be 0", url);
    if (st == VT_OK)
        st = param_double(u, "status", 0.05, 3600, &s->o.status_interval_s);
    if (st == VT_OK)
        st = param_double(u, "wait", 0, 3600, &s->o.wait_s);
    if (st == VT_OK)
        st = param_double(u, "linger", 0, 3600, &s->o.linger_s);
    if (st == VT_OK)
        st = param_double(u, "utc_offset", -1e10, 1e10, &s->o.utc_offset_s);
    if (st == VT_OK)
        st = param_bool(u, "coasting", &s->o.coasting);
    if (st == VT_OK)
        st = param_bool(u, "birds", &s->o.birds);
    if (st == VT_OK)
        st = vt__url_param_u64(u, "queue", 16, 1 << 20, queue, &queue);
    if (st == VT_OK && (node = vt__url_param_str(u, "node_id")) &&
        !vt__sapient_uuid_check(node, s->node_id))
        st =
            vt__error(VT_EINVAL, "%s: node_id=%s is not a UUID (8-4-4-4-12 hex digits)", url, node);
    if (st == VT_OK)
        st = vt__url_check_params(u);
    if (st == VT_OK) {
        vt__sapient_copy(s->host, sizeof s->host, u->host);
        snprintf(s->port, sizeof s->port, "%d", u->port);
        s->o.queue = (int)queue;
    }
    free(u);
    return st;
}

/* ---- open, free --------------------------------------------------------------- */

static vt_status check_opts(const vt_sapient_opts *o)
{
    if (!(o->status_interval_s >= 0.05 && o->status_interval_s <= 3600))
        return vt__error(VT_EINVAL, "SAPIENT: status interval %g s is not in 0.05..3600",
                         o->status_interval_s);
    if (!(o->wait_s >= 0) || !(o->linger_s >= 0) || o->queue < 16)
        return vt__error(VT_EINVAL, "SAPIENT: wait and linger must be >= 0, queue >= 16");
    return VT_OK;
}

/* The node id: given (checked) or a hash of the host name and the rig's origin. */
static vt_status set_node_id(vt_sapient *s, const vt_rig *rig)
{
    if (s->node_id[0])
        return VT_OK;
    if (s->o.node_id) {
        if (!vt__sapient_uuid_check(s->o.node_id, s->node_id))
            return vt__error(VT_EINVAL, "SAPIENT: node id '%s' is not a UUID", s->o.node_id);
        return VT_OK;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char text[512];
    snprintf(text, sizeof text, "voxtrack sapient node|%s|%.7f,%.7f,%.2f", host, rig->lat_deg,
             rig->lon_deg, rig->height_m);
    vt__sapient_uuid_from(text, s->node_id);
    return VT_OK;
}

static vt_status setup(vt_sapient *s, const char *url, const vt_rig *rig)
{
    vt_status st = read_url(s, url);
    if (st == VT_OK)
        st = check_opts(&s->o);
    if (st == VT_OK)
        st = set_node_id(s, rig);
    if (st != VT_OK)
        return st;
    vt__sapient_copy(s->name, sizeof s->name, s->o.name ? s->o.name : "voxtrack");
    s->o.node_id = NULL;
    s->o.name = NULL; /* copied: the caller's strings are not kept */
    s->node_hash = vt__sapient_hash(s->node_id, 0);
    s->session_ms = (uint64_t)(vt__sapient_unix_now() * 1e3);
    s->lat0 = rig->lat_deg;
    s->lon0 = rig->lon_deg;
    s->h0 = rig->height_m;
    s->ncams = rig->count;
    s->cam_ids = calloc(rig->count > 0 ? (size_t)rig->count : 1, sizeof *s->cam_ids);
    s->qcap = (size_t)s->o.queue;
    s->q = calloc(s->qcap, sizeof *s->q);
    s->msg = malloc(sizeof *s->msg);
    s->in = malloc(sizeof *s->in);
    s->enc_cap = 20 << 10;
    s->enc = malloc(s->enc_cap);
    if (!s->cam_ids || !s->q || !s->msg || !s->in || !s->enc)
        return vt__error(VT_ENOMEM, "%s: out of memory", url);
    for (int i = 0; i < rig->count; i++)
        vt__sapient_copy(s->cam_ids[i], sizeof s->cam_ids[i], rig->cameras[i].id);
    if ((st = vt_geodetic_new(s->lat0, s->lon0, s->h0, &s->geo)) != VT_OK ||
        (st = vt_geodetic_new(s->lat0, s->lon0, s->h0, &s->geo_alerts)) != VT_OK)
        return vt__error_prefix(st, "%s", url);
    s->task.reporting = true;
    return vt__sapient_net_start(s);
}

vt_status vt_sapient_open(const char *url, const vt_rig *rig, const vt_sapient_opts *o,
                          vt_sapient **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_sapient_open: out is NULL");
    *out = NULL;
    if (!url || !rig)
        return vt__error(VT_EINVAL, "vt_sapient_open: %s is NULL", url ? "rig" : "url");
    if (!rig->has_origin)
        return vt__error(VT_EINVAL,
                         "%s: SAPIENT reports WGS84 positions: the rig needs a geodetic origin "
                         "(\"origin\" in rig.json)",
                         url);
    vt_sapient *s = calloc(1, sizeof *s);
    if (!s)
        return vt__error(VT_ENOMEM, "%s: out of memory", url);
    s->o = o ? *o : vt_sapient_opts_default();
    vt__sapient_copy(s->url, sizeof s->url, url);
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    atomic_init(&s->stop, false);
    atomic_init(&s->asleep, false);
    vt_status st = setup(s, url, rig);
    if (st != VT_OK) {
        vt_sapient_free(s);
        return st;
    }
    if (s->o.wait_s > 0) {
        double end = vt__now() + s->o.wait_s;
        pthread_mutex_lock(&s->mu);
        while (!s->registered && !s->rejected && vt__now() < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->changed, &s->mu, &ts);
        }
        bool ok = s->registered;
        pthread_mutex_unlock(&s->mu);
        if (!ok)
            vt__log(1, "%s: not registered with a fusion node after %g s; reports start once it is",
                    url, s->o.wait_s);
    }
    *out = s;
    return VT_OK;
}

void vt_sapient_free(vt_sapient *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        if (s->registered && !s->goodbye_sent) {
            vt__sapient_queue_status(s, true, true);
            s->goodbye_sent = true; /* the last message: nothing is queued after it */
        }
        double end = vt__now() + s->o.linger_s;
        while (s->connected && (s->qcount > 0 || s->busy_writing) && vt__now() < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->changed, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);
    }
    vt__sapient_net_stop(s);
    for (size_t i = 0; s->q && i < s->qcap; i++)
        free(s->q[i].buf);
    free(s->q);
    free(s->msg);
    free(s->in);
    free(s->enc);
    free(s->cam_ids);
    vt_geodetic_free(s->geo);
    vt_geodetic_free(s->geo_alerts);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *vt_sapient_node_id(const vt_sapient *s)
{
    return s ? s->node_id : "";
}

void vt_sapient_get_stats(vt_sapient *s, vt_sapient_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    st->connected = s->connected;
    st->registered = s->registered;
    pthread_mutex_unlock(&s->mu);
}

/* ---- DetectionReports ----------------------------------------------------------- */

/* 1-sigma errors of an ENU covariance as degrees of latitude and longitude, metres of height. */
static void errors_deg(const double cov[6], double lat_deg, double h, double *lat_err,
                       double *lon_err, double *h_err)
{
    double phi = vt_deg2rad(lat_deg), sn = sin(phi);
    double w = sqrt(1 - WGS84_E2 * sn * sn);
    double n = WGS84_A / w, m = WGS84_A * (1 - WGS84_E2) / (w * w * w);
    *lon_err = vt_rad2deg(sqrt(fmax(cov[0], 0)) / ((n + h) * cos(phi)));
    *lat_err = vt_rad2deg(sqrt(fmax(cov[3], 0)) / (m + h));
    *h_err = sqrt(fmax(cov[5], 0));
}

/*
 * The class of a track and a confidence for it. The classifier calls a track
 * a bird when one of its cues (acceleration, flicker) is over its threshold;
 * the cue nearest its threshold decides how sure that is: with x = the
 * larger of the cues' ratios to their thresholds, a bird (x > 1) gets
 * 1 - 0.5 / x and a drone (x <= 1) 1 - 0.5 x, so 0.5 on the threshold and
 * towards 1 away from it. It is a margin, not a calibrated probability.
 */
static const char *classify(const vt_sapient *s, const vt_track *k, vt_target_class c,
                            float flicker, float *conf)
{
    if (k->age < s->o.bird_min_age) {
        *conf = NAN;
        return "unknown";
    }
    double x = 0;
    if (s->o.bird_accel > 0)
        x = fmax(x, k->accel_rms / s->o.bird_accel);
    if (s->o.bird_flicker > 0 && isfinite(flicker))
        x = fmax(x, flicker / s->o.bird_flicker);
    if (c == VT_CLASS_BIRD) {
        *conf = (float)(x > 1 ? 1 - 0.5 / x : 0.5);
        return "bird";
    }
    *conf = (float)(x < 1 ? 1 - 0.5 * x : 0.5);
    return "drone";
}

static void info(sapient_DetectionReport_TrackObjectInfo *f, const char *type, const char *value)
{
    f->has_type = f->has_value = true;
    vt__sapient_copy(f->type, sizeof f->type, type);
    vt__sapient_copy(f->value, sizeof f->value, value);
}

static bool reportable(const vt_sapient *s, const vt_pipeline_result *r, size_t i)
{
    const vt_track *k = &r->tracks[i];
    if (k->status == VT_TRACK_TENTATIVE || (k->status == VT_TRACK_COASTING && !s->o.coasting))
        return false;
    return s->o.birds || !r->classes || r->classes[i] != VT_CLASS_BIRD;
}

/* One track's report into the queue. Call locked. */
static vt_status queue_track(vt_sapient *s, const vt_pipeline_result *r, size_t i, double lat,
                             double lon, double h, double when)
{
    const vt_track *k = &r->tracks[i];
    vt__sapient_begin(s, sapient_SapientMessage_detection_report_tag, when);
    sapient_DetectionReport *d = &s->msg->content.detection_report;
    d->has_report_id = d->has_object_id = true;
    vt__sapient_new_id(s, d->report_id);
    vt__sapient_object_id(s, k->id, d->object_id);
    if (s->task.active) {
        d->has_task_id = true;
        vt__sapient_copy(d->task_id, sizeof d->task_id, s->task.id);
    }
    if (k->status == VT_TRACK_COASTING) {
        d->has_state = true;
        snprintf(d->state, sizeof d->state, "coasting");
    }
    double le, ne, he;
    errors_deg(k->cov, lat, h, &le, &ne, &he);
    d->which_location_oneof = sapient_DetectionReport_location_tag;
    vt__sapient_location(&d->location_oneof.location, lat, lon, h, le, ne, he);
    d->has_detection_confidence = true;
    d->detection_confidence = k->age > 0 ? (float)k->hits / (float)k->age : 0;
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)k->id);
    info(&d->track_info[0], "track_id", text);
    info(&d->track_info[1], "status", k->status == VT_TRACK_COASTING ? "coasting" : "confirmed");
    snprintf(text, sizeof text, "%d", k->cams);
    info(&d->track_info[2], "cameras", text);
    snprintf(text, sizeof text, "%d", k->age);
    info(&d->track_info[3], "age", text);
    d->track_info_count = 4;
    float flicker = r->flicker ? r->flicker[i] : NAN;
    snprintf(text, sizeof text, "%.3f", (double)k->accel_rms);
    info(&d->object_info[0], "accel_rms", text);
    d->object_info_count = 1;
    if (isfinite(flicker)) {
        snprintf(text, sizeof text, "%.3f", (double)flicker);
        info(&d->object_info[d->object_info_count++], "flicker", text);
    }
    float conf;
    const char *cls = classify(s, k, r->classes ? r->classes[i] : VT_CLASS_DRONE, flicker, &conf);
    d->classification_count = 1;
    d->classification[0].has_type = true;
    vt__sapient_copy(d->classification[0].type, sizeof d->classification[0].type, cls);
    if (isfinite(conf)) {
        d->classification[0].has_confidence = true;
        d->classification[0].confidence = conf;
    }
    d->which_velocity_oneof = sapient_DetectionReport_enu_velocity_tag;
    sapient_ENUVelocity *v = &d->velocity_oneof.enu_velocity;
    v->has_east_rate = v->has_north_rate = v->has_up_rate = true;
    v->east_rate = k->vel.x;
    v->north_rate = k->vel.y;
    v->up_rate = k->vel.z;
    vt_status st = vt__sapient_queue(s);
    if (st == VT_OK)
        s->st.detections++;
    return st;
}

/* The watched volume's ground corners as coverage, once, from the vote grid's box. */
static void take_coverage(vt_sapient *s, const vt_pipeline_result *r, double cov[4][2], bool *ok)
{
    *ok = false;
    if (s->have_coverage || !r->vote)
        return;
    vt_vote_opts vo = vt_vote_get_opts(r->vote);
    double xs[4] = {vo.min.x, vo.max.x, vo.max.x, vo.min.x};
    double ys[4] = {vo.min.y, vo.min.y, vo.max.y, vo.max.y};
    for (int i = 0; i < 4; i++) {
        double h;
        if (vt_geodetic_from_enu(s->geo, (vt_vec3){xs[i], ys[i], 0}, &cov[i][0], &cov[i][1], &h))
            return;
    }
    *ok = true;
}

vt_status vt_sapient_publish(vt_sapient *s, const vt_pipeline_result *r)
{
    if (!s || !r)
        return vt__error(VT_EINVAL, "vt_sapient_publish: NULL argument");
    double when = isfinite(s->o.utc_offset_s) ? r->t + s->o.utc_offset_s : vt__sapient_unix_now();
    uint64_t live = 0;
    for (int i = 0; i < r->ncameras && i < 64 && r->cameras; i++)
        live |= (uint64_t)r->cameras[i].present << i;
    double cov[4][2];
    bool have_cov;
    take_coverage(s, r, cov, &have_cov);

    pthread_mutex_lock(&s->mu);
    if (have_cov) {
        for (int i = 0; i < 4; i++) {
            s->cov_lat[i] = cov[i][0];
            s->cov_lon[i] = cov[i][1];
        }
        s->have_coverage = true;
    }
    if (!s->have_frame || live != s->live_mask || r->cameras_live != s->cameras_live)
        s->status_due = true; /* the thread sends it: cameras changed */
    s->have_frame = true;
    s->live_mask = live;
    s->cameras_live = r->cameras_live;
    if (s->status_due && s->registered)
        vt__sapient_net_wake(s);
    vt_status st = VT_OK;
    for (size_t i = 0; i < r->ntracks && st == VT_OK; i++) {
        if (!reportable(s, r, i))
            continue;
        if (!s->registered) {
            s->st.unregistered++;
            continue;
        }
        if (!s->task.reporting) {
            s->st.filtered++;
            continue;
        }
        double lat, lon, h;
        if (vt_geodetic_from_enu(s->geo, r->tracks[i].pos, &lat, &lon, &h) != VT_OK) {
            s->st.errors++;
            continue;
        }
        if (!vt__sapient_task_allows(&s->task, lat, lon)) {
            s->st.filtered++;
            continue;
        }
        st = queue_track(s, r, i, lat, lon, h, when);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---- Alerts ------------------------------------------------------------------- */

/* The id of an alert: kept from its raise to its clear. Call locked. */
static void alert_id(vt_sapient *s, const vt_alert_event *e, char out[27])
{
    char key[128];
    snprintf(key, sizeof key, "%s|%llu|%s", e->rule, (unsigned long long)e->track, e->camera);
    for (int i = 0; i < s->nalert_ids; i++)
        if (strcmp(s->alert_ids[i].key, key) == 0) {
            memcpy(out, s->alert_ids[i].id, 27);
            if (!e->raised) /* cleared: forget it */
                s->alert_ids[i] = s->alert_ids[--s->nalert_ids];
            return;
        }
    vt__sapient_new_id(s, out);
    if (e->raised && s->nalert_ids < VT__SAPIENT_MAX_ALERTS) {
        vt__sapient_copy(s->alert_ids[s->nalert_ids].key, sizeof s->alert_ids[0].key, key);
        memcpy(s->alert_ids[s->nalert_ids++].id, out, 27);
    }
}

vt_status vt_sapient_alert(vt_sapient *s, const vt_alert_event *e)
{
    if (!s || !e)
        return vt__error(VT_EINVAL, "vt_sapient_alert: NULL argument");
    pthread_mutex_lock(&s->mu);
    if (!s->registered) {
        s->st.unregistered++;
        pthread_mutex_unlock(&s->mu);
        return VT_OK;
    }
    double when = isfinite(s->o.utc_offset_s) ? e->t + s->o.utc_offset_s : e->wall;
    vt__sapient_begin(s, sapient_SapientMessage_alert_tag, when);
    sapient_Alert *a = &s->msg->content.alert;
    a->has_alert_id = a->has_alert_type = a->has_status = a->has_description = true;
    alert_id(s, e, a->alert_id);
    bool zone = e->kind == VT_ALERT_ZONE;
    a->alert_type = zone ? sapient_Alert_AlertType_ALERT_TYPE_WARNING
                    : e->kind == VT_ALERT_CAMERA_OFFLINE
                        ? sapient_Alert_AlertType_ALERT_TYPE_ERROR
                        : sapient_Alert_AlertType_ALERT_TYPE_WARNING;
    a->status = e->raised ? sapient_Alert_AlertStatus_ALERT_STATUS_ACTIVE
                          : sapient_Alert_AlertStatus_ALERT_STATUS_CLEAR;
    vt__sapient_copy(a->description, sizeof a->description, e->message);
    a->has_priority = true;
    a->priority = zone ? sapient_Alert_DiscretePriority_DISCRETE_PRIORITY_HIGH
                  : e->kind == VT_ALERT_CAMERA_OFFLINE
                      ? sapient_Alert_DiscretePriority_DISCRETE_PRIORITY_MEDIUM
                      : sapient_Alert_DiscretePriority_DISCRETE_PRIORITY_LOW;
    a->has_additional_information = true;
    snprintf(a->additional_information, sizeof a->additional_information,
             "rule=%s kind=%s value=%g%s%s%s", e->rule, vt_alert_kind_name(e->kind), e->value,
             e->camera[0] ? " camera=" : "", e->camera, e->repeat ? " repeat" : "");
    double lat, lon, h;
    if (zone && vt_geodetic_from_enu(s->geo_alerts, e->pos, &lat, &lon, &h) == VT_OK) {
        a->which_location_oneof = sapient_Alert_location_tag;
        vt__sapient_location(&a->location_oneof.location, lat, lon, h, NAN, NAN, NAN);
    }
    if (zone && e->track) {
        sapient_AssociatedDetection *ad = &a->associated_detection[a->associated_detection_count++];
        ad->has_node_id = ad->has_object_id = true;
        vt__sapient_copy(ad->node_id, sizeof ad->node_id, s->node_id);
        vt__sapient_object_id(s, e->track, ad->object_id);
    }
    vt_status st = vt__sapient_queue(s);
    if (st == VT_OK)
        s->st.alerts++;
    pthread_mutex_unlock(&s->mu);
    return st;
}
