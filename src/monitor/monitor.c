/*
 * src/monitor/monitor.c - the monitor's state: the latest frame set as a
 * snapshot that HTTP threads read, counters, latency histograms, a history of
 * stage latencies (one sample per second of wall time, a ring of the last
 * minutes) and the alert log; and the JSON documents built from it.
 *
 * The idea: the pipeline's thread only copies (tracks, per-camera figures)
 * and adds (counters, histogram buckets) under one mutex, then bumps a
 * version and broadcasts a condition variable that the event streams wait
 * on. Readers copy what a document needs under the same mutex (a memcpy of
 * the tracks or cameras) and render the JSON after releasing it, once per
 * version: the text is cached per document, so a hundred clients cost one
 * rendering per frame set, and the pipeline never waits for a rendering.
 * Numbers are formatted by a small fixed-point writer rather than printf,
 * which made /api/tracks five times slower.
 */
#include "monitor/monitor_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double vt__hist_bounds[VT__HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
const char *const vt__stage_names[VT__STAGES] = {"motion", "voting", "detection", "tracking",
                                                 "total"};

/* ---- creation ---- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

vt_monitor_opts vt_monitor_opts_default(void)
{
    return (vt_monitor_opts){.history_s = 600, .alerts_max = 256, .tracks_max = 4096};
}

static void camera_from_rig(vt__mon_camera *c, const vt_rig_camera *rc)
{
    snprintf(c->id, sizeof c->id, "%s", rc->id);
    c->pair = rc->pair;
    c->modality = (int)rc->modality;
    c->width = rc->cam.width;
    c->height = rc->cam.height;
    c->pos = rc->cam.position;
    c->right = vt_m3_mul_v3(rc->cam.r, vt_v3(1, 0, 0));
    c->down = vt_m3_mul_v3(rc->cam.r, vt_v3(0, 1, 0));
    c->fwd = vt_m3_mul_v3(rc->cam.r, vt_v3(0, 0, 1));
    c->hfov = 2 * atan(0.5 * rc->cam.width / rc->cam.fx);
    c->vfov = 2 * atan(0.5 * rc->cam.height / rc->cam.fy);
}

vt_status vt_monitor_new(const vt_monitor_opts *opts, const vt_rig *rig, vt_monitor **out)
{
    *out = NULL;
    vt_monitor_opts o = opts ? *opts : vt_monitor_opts_default();
    if (!(o.history_s >= 1 && o.history_s <= 86400) || o.alerts_max < 1 || o.tracks_max < 1)
        return vt__error(VT_EINVAL, "monitor: history_s must be in [1, 86400] s, alerts_max and "
                                    "tracks_max >= 1");
    vt_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return vt__error(VT_ENOMEM, "monitor: out of memory");
    m->opts = o;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->cache_mu, NULL);
    /* event streams wait with timeouts on the monotonic clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->changed, &ca);
    pthread_condattr_destroy(&ca);
    m->ncameras = rig ? rig->count : 0;
    m->rig_fps = rig ? rig->fps : 0;
    if (rig && rig->has_origin) {
        m->has_origin = true;
        m->lat_deg = rig->lat_deg;
        m->lon_deg = rig->lon_deg;
        m->height_m = rig->height_m;
    }
    m->history_len = (int)ceil(o.history_s);
    m->cameras = calloc(m->ncameras ? (size_t)m->ncameras : 1, sizeof *m->cameras);
    m->history = calloc((size_t)m->history_len, sizeof *m->history);
    m->alerts = calloc((size_t)o.alerts_max, sizeof *m->alerts);
    m->snap_cameras = calloc(m->ncameras ? (size_t)m->ncameras : 1, sizeof *m->snap_cameras);
    m->snap_history = calloc((size_t)m->history_len, sizeof *m->snap_history);
    m->snap_alerts = calloc((size_t)o.alerts_max, sizeof *m->snap_alerts);
    if (!m->cameras || !m->history || !m->alerts || !m->snap_cameras || !m->snap_history ||
        !m->snap_alerts) {
        vt_monitor_free(m);
        return vt__error(VT_ENOMEM, "monitor: out of memory");
    }
    for (int i = 0; i < m->ncameras; i++) {
        camera_from_rig(&m->cameras[i], &rig->cameras[i]);
        m->cameras[i].last_frame_t = -1;
        m->cameras[i].win_t = NAN;
    }
    m->start_wall = wall_now();
    m->start_mono = vt__now();
    *out = m;
    return VT_OK;
}

void vt_monitor_free(vt_monitor *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->cache_mu);
    pthread_cond_destroy(&m->changed);
    for (size_t i = 0; i < sizeof m->cache / sizeof m->cache[0]; i++)
        free(m->cache[i].text);
    free(m->tracks);
    free(m->cameras);
    free(m->first_t);
    free(m->confirmed);
    free(m->history);
    free(m->alerts);
    free(m->snap_tracks);
    free(m->snap_cameras);
    free(m->snap_history);
    free(m->snap_alerts);
    free(m);
}

/* ---- publishing (the pipeline's thread) ---- */

/* Ids are dense from 1 and never reused: a table indexed by id. Huge ids (a
 * foreign stream) are not tracked for age (age comes from the track's count). */
enum { IDS_MAX = 1 << 24 };

static bool ids_reserve(vt_monitor *m, uint64_t id)
{
    if (id < m->ids_cap)
        return true;
    if (id >= IDS_MAX)
        return false;
    size_t cap = m->ids_cap ? m->ids_cap : 1024;
    while (cap <= id)
        cap *= 2;
    double *f = realloc(m->first_t, cap * sizeof *f);
    if (!f)
        return false;
    m->first_t = f;
    uint8_t *c = realloc(m->confirmed, cap);
    if (!c)
        return false;
    m->confirmed = c;
    for (size_t i = m->ids_cap; i < cap; i++) {
        f[i] = NAN;
        c[i] = 0;
    }
    m->ids_cap = cap;
    return true;
}

static void hist_add(vt__mon_hist *h, double v)
{
    int k = 0;
    while (k < VT__HIST_BUCKETS && v > vt__hist_bounds[k])
        k++;
    if (k < VT__HIST_BUCKETS)
        h->counts[k]++;
    h->count++;
    h->sum += v;
}

static void history_add(vt_monitor *m, double wall, const double v[VT__STAGES])
{
    double sec = floor(wall);
    vt__mon_sample *s = m->history_count ? &m->history[m->history_head] : NULL;
    if (!s || s->wall != sec) {
        m->history_head = m->history_count ? (m->history_head + 1) % m->history_len : 0;
        if (m->history_count < m->history_len)
            m->history_count++;
        s = &m->history[m->history_head];
        memset(s, 0, sizeof *s);
        s->wall = sec;
    }
    for (int i = 0; i < VT__STAGES; i++) {
        s->sum[i] += v[i];
        if (v[i] > s->max[i])
            s->max[i] = v[i];
    }
    s->n++;
}

static void cameras_update(vt_monitor *m, const vt_pipeline_result *r)
{
    for (int i = 0; i < r->ncameras; i++) {
        vt__mon_camera *c = &m->cameras[i];
        const vt_camera_result *cr = &r->cameras[i];
        c->present = cr->present;
        c->sync_error = cr->sync_error;
        c->changes = (int64_t)cr->changes;
        c->blobs = (int64_t)cr->blobs;
        c->rays = (int64_t)cr->rays;
        if (cr->present) {
            c->frames++;
            c->last_frame_t = r->t;
        } else {
            c->drops++;
        }
        /* fps over windows of one second of pipeline time */
        if (isnan(c->win_t) || r->t < c->win_t) {
            c->win_t = r->t;
            c->win_frames = 0;
        }
        if (cr->present)
            c->win_frames++;
        double span = r->t - c->win_t;
        if (span >= 1.0) {
            c->fps = (double)(c->win_frames - (cr->present ? 1 : 0)) / span;
            c->win_t = r->t;
            c->win_frames = cr->present ? 1 : 0;
        }
    }
}

static void tracks_update(vt_monitor *m, const vt_pipeline_result *r)
{
    size_t n = r->ntracks < (size_t)m->opts.tracks_max ? r->ntracks : (size_t)m->opts.tracks_max;
    if (n > m->tracks_cap) {
        size_t cap = n * 2 < (size_t)m->opts.tracks_max ? n * 2 : (size_t)m->opts.tracks_max;
        vt__mon_track *k = realloc(m->tracks, cap * sizeof *k);
        if (!k)
            n = m->tracks_cap; /* keep what fits; the count shows the rest */
        else {
            m->tracks = k;
            m->tracks_cap = cap;
        }
    }
    double dt = m->rig_fps > 0 ? 1.0 / m->rig_fps : 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        const vt_track *k = &r->tracks[i];
        bool known = ids_reserve(m, k->id);
        if (known && isnan(m->first_t[k->id]))
            m->first_t[k->id] = r->t;
        if (k->status != VT_TRACK_TENTATIVE && known && !m->confirmed[k->id]) {
            m->confirmed[k->id] = 1;
            m->tracks_confirmed++;
        }
        if (i >= n)
            continue;
        m->tracks[i] = (vt__mon_track){
            .id = k->id,
            .status = (int)k->status,
            .cls = r->classes ? (int)r->classes[i] : 0,
            .pos = k->pos,
            .vel = k->vel,
            .cams = k->cams,
            .thermal = k->thermal,
            .thermal_hits = k->thermal_hits,
            .hits = k->hits,
            .age_s = known ? r->t - m->first_t[k->id] : k->age * dt,
            .fusion = r->track_fusion ? r->track_fusion[i]
                                      : (vt_track_fusion){0, 0, NAN, NAN},
        };
    }
    m->ntracks = n;
    m->ntracks_all = (int64_t)r->ntracks;
}

vt_status vt_monitor_publish(vt_monitor *m, const vt_pipeline_result *r)
{
    if (r->ncameras > m->ncameras)
        return vt__error(VT_EMISMATCH, "monitor: a result with %d cameras for a rig of %d",
                         r->ncameras, m->ncameras);
    double mono = vt__now(), wall = wall_now();
    double v[VT__STAGES];
    for (int i = 0; i < 4; i++)
        v[i] = r->stage_seconds[i];
    v[4] = r->latency; /* from the last frame there to the tracks out, as the summary's */

    pthread_mutex_lock(&m->mu);
    m->have_frame = true;
    m->frame = r->frame;
    m->t = r->t;
    m->wall = wall;
    m->seconds = r->latency;
    memcpy(m->stage_seconds, r->stage_seconds, sizeof m->stage_seconds);
    m->ndetections = (int64_t)r->ndetections;
    m->changes = (int64_t)r->changes;
    m->blobs = (int64_t)r->blobs;
    m->rays = (int64_t)r->rays;
    m->clusters = (int64_t)r->clusters;
    m->cameras_live = r->cameras_live;
    m->frame_sets++;
    m->detections += (int64_t)r->ndetections;
    if (m->last_mono > 0 && mono > m->last_mono) {
        double inst = 1.0 / (mono - m->last_mono);
        m->rate = m->rate > 0 ? 0.9 * m->rate + 0.1 * inst : inst;
    }
    m->last_mono = mono;
    cameras_update(m, r);
    tracks_update(m, r);
    for (int i = 0; i < VT__STAGES; i++)
        if (isfinite(v[i]))
            hist_add(&m->hist[i], v[i]);
    history_add(m, wall, v);
    m->version++;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
    return VT_OK;
}

void vt_monitor_add_alert(vt_monitor *m, const vt_monitor_alert *a)
{
    pthread_mutex_lock(&m->mu);
    int slot = (m->alerts_head + m->alerts_count) % m->opts.alerts_max;
    if (m->alerts_count == m->opts.alerts_max)
        m->alerts_head = (m->alerts_head + 1) % m->opts.alerts_max;
    else
        m->alerts_count++;
    vt__mon_alert *e = &m->alerts[slot];
    memset(e, 0, sizeof *e);
    e->seq = ++m->alert_seq;
    e->t = a->t;
    e->wall = a->wall > 0 ? a->wall : wall_now();
    snprintf(e->kind, sizeof e->kind, "%s", a->kind ? a->kind : "");
    e->raised = a->raised;
    snprintf(e->rule, sizeof e->rule, "%s", a->rule ? a->rule : "");
    e->track = a->track;
    snprintf(e->camera, sizeof e->camera, "%s", a->camera ? a->camera : "");
    e->value = a->value;
    e->pos = a->pos;
    snprintf(e->message, sizeof e->message, "%s", a->message ? a->message : "");
    if (a->raised)
        m->alerts_raised++;
    else
        m->alerts_cleared++;
    m->version++;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->mu);
}

vt_monitor_counts vt_monitor_counts_get(vt_monitor *m)
{
    pthread_mutex_lock(&m->mu);
    vt_monitor_counts c = {.frame_sets = m->frame_sets,
                           .detections = m->detections,
                           .tracks_confirmed = m->tracks_confirmed,
                           .alerts = m->alerts_raised,
                           .sse_clients = m->sse_clients,
                           .requests = m->requests};
    pthread_mutex_unlock(&m->mu);
    return c;
}

void vt__monitor_count_request(vt_monitor *m)
{
    pthread_mutex_lock(&m->mu);
    m->requests++;
    pthread_mutex_unlock(&m->mu);
}

/* ---- JSON (m->mu held) ---- */

static void json_vec(vt__buf *b, vt_vec3 v, int digits)
{
    vt__buf_add(b, "[", 1);
    vt__buf_fixed(b, v.x, digits);
    vt__buf_add(b, ",", 1);
    vt__buf_fixed(b, v.y, digits);
    vt__buf_add(b, ",", 1);
    vt__buf_fixed(b, v.z, digits);
    vt__buf_add(b, "]", 1);
}

static void json_uint(vt__buf *b, uint64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    vt__buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* ,"key": */
static void json_key(vt__buf *b, const char *key)
{
    vt__buf_add(b, ",\"", 2);
    vt__buf_add(b, key, strlen(key));
    vt__buf_add(b, "\":", 2);
}

static const char *status_name(int s)
{
    return s == VT_TRACK_CONFIRMED  ? "confirmed"
           : s == VT_TRACK_COASTING ? "coasting"
                                    : "tentative";
}

static void json_tracks(const vt_monitor *m, vt__buf *b)
{
    vt__buf_addf(b, "{\"frame\":%lld,\"t\":", (long long)m->frame);
    vt__buf_json_num(b, m->t, 6);
    vt__buf_addf(b, ",\"count\":%lld,\"tracks\":[", (long long)m->ntracks_all);
    for (size_t i = 0; i < m->ntracks; i++) {
        const vt__mon_track *k = &m->tracks[i];
        double speed = sqrt(k->vel.x * k->vel.x + k->vel.y * k->vel.y + k->vel.z * k->vel.z);
        vt__buf_add(b, i ? ",{\"id\":" : "{\"id\":", i ? 7 : 6);
        json_uint(b, k->id);
        json_key(b, "status");
        vt__buf_json_str(b, status_name(k->status));
        json_key(b, "class");
        vt__buf_json_str(b, k->cls == VT_CLASS_BIRD ? "bird" : "drone");
        json_key(b, "pos");
        json_vec(b, k->pos, 2);
        json_key(b, "vel");
        json_vec(b, k->vel, 2);
        json_key(b, "altitude");
        vt__buf_fixed(b, k->pos.z, 2);
        json_key(b, "speed");
        vt__buf_fixed(b, speed, 2);
        json_key(b, "age");
        vt__buf_fixed(b, k->age_s, 2);
        json_key(b, "cams");
        json_uint(b, (uint64_t)(k->cams > 0 ? k->cams : 0));
        json_key(b, "thermal");
        json_uint(b, (uint64_t)(k->thermal > 0 ? k->thermal : 0));
        json_key(b, "thermal_hits");
        json_uint(b, (uint64_t)(k->thermal_hits > 0 ? k->thermal_hits : 0));
        json_key(b, "thermal_confirmed");
        vt__buf_add(b, k->thermal_hits > 0 ? "true" : "false", k->thermal_hits > 0 ? 4 : 5);
        /* Thermal fusion's running confirmation (docs/FUSION.md); null rate / ratio: none. */
        json_key(b, "thermal_observed");
        json_uint(b, (uint64_t)(k->fusion.observed > 0 ? k->fusion.observed : 0));
        json_key(b, "thermal_confirmations");
        json_uint(b, (uint64_t)(k->fusion.confirmed > 0 ? k->fusion.confirmed : 0));
        json_key(b, "thermal_rate");
        vt__buf_json_num(b, k->fusion.rate, 4);
        json_key(b, "thermal_ratio");
        vt__buf_json_num(b, k->fusion.ratio, 4);
        vt__buf_add(b, "}", 1);
    }
    vt__buf_add(b, "]}", 2);
}

static void json_cameras(const vt_monitor *m, vt__buf *b)
{
    vt__buf_addf(b, "{\"t\":");
    vt__buf_json_num(b, m->t, 6);
    vt__buf_add(b, ",\"cameras\":[", 12);
    for (int i = 0; i < m->ncameras; i++) {
        const vt__mon_camera *c = &m->cameras[i];
        double silent = c->last_frame_t < 0 ? -1 : m->t - c->last_frame_t;
        vt__buf_addf(b, "%s{\"id\":", i ? "," : "");
        vt__buf_json_str(b, c->id);
        vt__buf_addf(
            b, ",\"pair\":%d,\"modality\":\"%s\",\"width\":%d,\"height\":%d,\"pos\":", c->pair,
            c->modality == VT_MODALITY_THERMAL ? "thermal" : "mono", c->width, c->height);
        json_vec(b, c->pos, 3);
        vt__buf_add(b, ",\"fwd\":", 7);
        json_vec(b, c->fwd, 5);
        vt__buf_add(b, ",\"right\":", 9);
        json_vec(b, c->right, 5);
        vt__buf_add(b, ",\"down\":", 8);
        json_vec(b, c->down, 5);
        vt__buf_addf(b,
                     ",\"hfov_deg\":%.3f,\"vfov_deg\":%.3f,\"present\":%s,\"fps\":%.2f,"
                     "\"frames\":%lld,\"drops\":%lld,\"sync_error_ms\":%.3f,"
                     "\"motion_pixels\":%lld,\"blobs\":%lld,\"rays\":%lld,\"silent_s\":%.3f}",
                     vt_rad2deg(c->hfov), vt_rad2deg(c->vfov), c->present ? "true" : "false",
                     c->fps, (long long)c->frames, (long long)c->drops, 1e3 * c->sync_error,
                     (long long)c->changes, (long long)c->blobs, (long long)c->rays, silent);
    }
    vt__buf_add(b, "]}", 2);
}

static void json_stage_ms(vt__buf *b, const double *v, int n, double scale)
{
    vt__buf_add(b, "{", 1);
    for (int i = 0; i < n; i++) {
        vt__buf_addf(b, "%s\"%s\":", i ? "," : "", vt__stage_names[i]);
        vt__buf_json_num(b, 1e3 * v[i] * scale, 6);
    }
    vt__buf_add(b, "}", 1);
}

static void json_health(const vt_monitor *m, vt__buf *b, bool with_history)
{
    double now = wall_now();
    double v[VT__STAGES] = {m->stage_seconds[0], m->stage_seconds[1], m->stage_seconds[2],
                            m->stage_seconds[3], m->seconds};
    vt__buf_addf(b, "{\"version\":\"%s\",\"uptime_s\":%.1f,\"frame\":%lld,\"t\":", vt_version(),
                 now - m->start_wall, (long long)m->frame);
    vt__buf_json_num(b, m->t, 6);
    vt__buf_addf(b,
                 ",\"running\":%s,\"since_last_s\":%.3f,\"sets_per_s\":%.2f,\"frame_sets\":%lld,"
                 "\"cameras\":%d,\"cameras_live\":%d,\"tracks\":%lld,\"detections\":%lld,"
                 "\"tracks_confirmed_total\":%lld,\"alerts_total\":%lld,\"rays\":%lld,"
                 "\"motion_pixels\":%lld,\"latency_ms\":",
                 m->have_frame ? "true" : "false", m->have_frame ? now - m->wall : -1.0, m->rate,
                 (long long)m->frame_sets, m->ncameras, m->cameras_live, (long long)m->ntracks_all,
                 (long long)m->ndetections, (long long)m->tracks_confirmed,
                 (long long)m->alerts_raised, (long long)m->rays, (long long)m->changes);
    json_stage_ms(b, v, VT__STAGES, 1);
    if (m->has_origin)
        vt__buf_addf(b, ",\"origin\":{\"lat\":%.8f,\"lon\":%.8f,\"h\":%.3f}", m->lat_deg,
                     m->lon_deg, m->height_m);
    vt__buf_addf(b, ",\"alert_seq\":%llu", (unsigned long long)m->alert_seq);
    if (with_history) {
        vt__buf_add(b, ",\"history\":[", 12);
        int first = (m->history_head - m->history_count + 1 + m->history_len) % m->history_len;
        for (int i = 0; i < m->history_count; i++) {
            const vt__mon_sample *s = &m->history[(first + i) % m->history_len];
            vt__buf_addf(b, "%s{\"wall\":%.0f,\"n\":%d,\"mean_ms\":", i ? "," : "", s->wall, s->n);
            json_stage_ms(b, s->sum, VT__STAGES, s->n ? 1.0 / s->n : 0);
            vt__buf_add(b, ",\"max_ms\":", 10);
            json_stage_ms(b, s->max, VT__STAGES, 1);
            vt__buf_add(b, "}", 1);
        }
        vt__buf_add(b, "]", 1);
    }
    vt__buf_add(b, "}", 1);
}

void vt__monitor_alerts_json(const vt_monitor *m, uint64_t after, vt__buf *b)
{
    vt__buf_add(b, "[", 1);
    bool first = true;
    for (int i = 0; i < m->alerts_count; i++) {
        const vt__mon_alert *e = &m->alerts[(m->alerts_head + i) % m->opts.alerts_max];
        if (e->seq <= after)
            continue;
        vt__buf_addf(b, "%s{\"seq\":%llu,\"t\":", first ? "" : ",", (unsigned long long)e->seq);
        first = false;
        vt__buf_json_num(b, e->t, 6);
        vt__buf_addf(b, ",\"wall\":%.3f,\"kind\":", e->wall);
        vt__buf_json_str(b, e->kind);
        vt__buf_addf(b, ",\"raised\":%s,\"rule\":", e->raised ? "true" : "false");
        vt__buf_json_str(b, e->rule);
        vt__buf_addf(b, ",\"track\":%llu,\"camera\":", (unsigned long long)e->track);
        vt__buf_json_str(b, e->camera);
        vt__buf_add(b, ",\"value\":", 9);
        vt__buf_json_num(b, e->value, 6);
        vt__buf_add(b, ",\"pos\":", 7);
        json_vec(b, e->pos, 2);
        vt__buf_add(b, ",\"message\":", 11);
        vt__buf_json_str(b, e->message);
        vt__buf_add(b, "}", 1);
    }
    vt__buf_add(b, "]", 1);
}

static const char *const doc_names[] = {"tracks", "cameras", "health",
                                        "alerts", "state",   "metrics"};
enum { NDOCS = sizeof doc_names / sizeof doc_names[0] };

static void render_doc(const vt_monitor *m, int doc, vt__buf *b)
{
    switch (doc) {
    case 0:
        json_tracks(m, b);
        break;
    case 1:
        json_cameras(m, b);
        break;
    case 2:
        json_health(m, b, true);
        break;
    case 3:
        vt__buf_add(b, "{\"alerts\":", 10);
        vt__monitor_alerts_json(m, 0, b);
        vt__buf_add(b, "}", 1);
        break;
    case 4:
        vt__buf_add(b, "{\"tracks\":", 10);
        json_tracks(m, b);
        vt__buf_add(b, ",\"cameras\":", 11);
        json_cameras(m, b);
        vt__buf_add(b, ",\"health\":", 10);
        json_health(m, b, false);
        vt__buf_add(b, "}", 1);
        break;
    default:
        vt__monitor_metrics(m, b);
        break;
    }
}

/*
 * Copies what document `doc` needs into *snap (m->mu held, m->cache_mu held):
 * the struct itself, then the arrays into the cache's scratch buffers, so
 * that rendering runs without blocking the pipeline's publish.
 */
static bool snapshot(vt_monitor *m, int doc, vt_monitor *snap)
{
    *snap = *m;
    bool tracks = doc == 0 || doc == 4, cameras = doc == 1 || doc == 4 || doc == 5;
    if (tracks) {
        if (m->ntracks > m->snap_tracks_cap) {
            vt__mon_track *k = realloc(m->snap_tracks, m->tracks_cap * sizeof *k);
            if (!k)
                return false;
            m->snap_tracks = k;
            m->snap_tracks_cap = m->tracks_cap;
        }
        if (m->ntracks)
            memcpy(m->snap_tracks, m->tracks, m->ntracks * sizeof *m->tracks);
        snap->tracks = m->snap_tracks;
    }
    if (cameras && m->ncameras) {
        memcpy(m->snap_cameras, m->cameras, (size_t)m->ncameras * sizeof *m->cameras);
        snap->cameras = m->snap_cameras;
    }
    if (doc == 2) {
        memcpy(m->snap_history, m->history, (size_t)m->history_len * sizeof *m->history);
        snap->history = m->snap_history;
    }
    if (doc == 3) {
        memcpy(m->snap_alerts, m->alerts, (size_t)m->opts.alerts_max * sizeof *m->alerts);
        snap->alerts = m->snap_alerts;
    }
    return true;
}

vt_status vt_monitor_render(vt_monitor *m, const char *what, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    int doc = -1;
    for (int i = 0; i < NDOCS; i++)
        if (what && strcmp(what, doc_names[i]) == 0)
            doc = i;
    if (doc < 0)
        return vt__error(VT_EINVAL,
                         "monitor: no document '%s' (tracks, cameras, health, alerts, "
                         "state, metrics)",
                         what ? what : "(null)");
    /* health and metrics show the time since the last frame set: never cached */
    bool cacheable = doc != 2 && doc != 5;
    vt_status st = VT_OK;
    pthread_mutex_lock(&m->cache_mu);
    pthread_mutex_lock(&m->mu);
    uint64_t version = m->version;
    bool fresh = cacheable && m->cache[doc].text && m->cache[doc].version == version;
    vt_monitor snap;
    bool copied = !fresh && snapshot(m, doc, &snap);
    pthread_mutex_unlock(&m->mu);
    if (!fresh) {
        vt__buf b = {0};
        if (copied)
            render_doc(&snap, doc, &b);
        if (!copied || b.err) {
            free(b.s);
            st = vt__error(VT_ENOMEM, "monitor: out of memory rendering '%s'", what);
        } else {
            free(m->cache[doc].text);
            m->cache[doc].text = b.s;
            m->cache[doc].len = b.len;
            m->cache[doc].version = version;
        }
    }
    if (!st) {
        *text = malloc(m->cache[doc].len + 1);
        if (*text) {
            memcpy(*text, m->cache[doc].text, m->cache[doc].len + 1);
            *len = m->cache[doc].len;
        } else {
            st = vt__error(VT_ENOMEM, "monitor: out of memory copying '%s'", what);
        }
    }
    pthread_mutex_unlock(&m->cache_mu);
    return st;
}
