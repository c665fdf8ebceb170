/*
 * src/stream/wire_decode.c - decoding of the stream messages: TrackBatch into
 * C structs, and every message type into one JSON object (see
 * voxtrack/wire.h).
 *
 * nanopb decodes from any bytes without reading past them; repeated
 * messages are decode callbacks that decode each element into a stack
 * struct and hand it on (appended to an array, or written as JSON), so that
 * no count is limited. Strings have a fixed size in the .options file and a
 * longer one is an error, not a truncation. Garbage gives nanopb's reason
 * and the byte offset where decoding stopped.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stream/wire_internal.h"

static void sbuf_member_double(vt__buf *b, const char *name, double v)
{
    vt__buf_addf(b, ",\"%s\":", name);
    vt__buf_json_num(b, v, 12);
}

/* A float field: 7 significant digits are all a float has. */
static void sbuf_member_float(vt__buf *b, const char *name, float v)
{
    if (isfinite(v))
        vt__buf_addf(b, ",\"%s\":%.7g", name, (double)v);
    else
        vt__buf_addf(b, ",\"%s\":null", name);
}

static void sbuf_vec3(vt__buf *b, const char *name, bool has, const voxtrack_v1_Vec3 *v)
{
    if (!has)
        return;
    vt__buf_addf(b, ",\"%s\":{\"x\":", name);
    vt__buf_json_num(b, v->x, 12);
    vt__buf_adds(b, ",\"y\":");
    vt__buf_json_num(b, v->y, 12);
    vt__buf_adds(b, ",\"z\":");
    vt__buf_json_num(b, v->z, 12);
    vt__buf_adds(b, "}");
}

static void sbuf_cov(vt__buf *b, const double *cov, pb_size_t n)
{
    vt__buf_adds(b, ",\"covariance\":[");
    for (pb_size_t i = 0; i < n; i++) {
        if (i)
            vt__buf_adds(b, ",");
        vt__buf_json_num(b, cov[i], 12);
    }
    vt__buf_adds(b, "]");
}

static void sbuf_geo(vt__buf *b, bool has_lat, double lat, bool has_lon, double lon, bool has_h,
                     double h)
{
    if (has_lat)
        sbuf_member_double(b, "latitude_deg", lat);
    if (has_lon)
        sbuf_member_double(b, "longitude_deg", lon);
    if (has_h)
        sbuf_member_double(b, "height_m", h);
}

/* ---- TrackUpdate ------------------------------------------------------- */

static const char *status_name(int v)
{
    static const char *names[] = {"tentative", "confirmed", "coasting"};
    return v >= 0 && v < 3 ? names[v] : NULL;
}

static const char *class_name(int v)
{
    static const char *names[] = {"unknown", "drone", "bird"};
    return v >= 0 && v < 3 ? names[v] : NULL;
}

static void sbuf_enum(vt__buf *b, const char *member, const char *name, int v)
{
    if (name)
        vt__buf_addf(b, ",\"%s\":\"%s\"", member, name);
    else
        vt__buf_addf(b, ",\"%s\":%d", member, v);
}

static void track_json(vt__buf *b, const voxtrack_v1_TrackUpdate *m)
{
    vt__buf_addf(b, "{\"id\":%llu", (unsigned long long)m->id);
    sbuf_enum(b, "status", status_name(m->status), m->status);
    vt__buf_addf(b, ",\"time_ns\":%lld", (long long)m->time_ns);
    sbuf_vec3(b, "position", m->has_position, &m->position);
    sbuf_vec3(b, "velocity", m->has_velocity, &m->velocity);
    sbuf_cov(b, m->covariance, m->covariance_count);
    sbuf_geo(b, m->has_latitude_deg, m->latitude_deg, m->has_longitude_deg, m->longitude_deg,
             m->has_height_m, m->height_m);
    sbuf_member_float(b, "confidence", m->confidence);
    sbuf_enum(b, "target_class", class_name(m->target_class), m->target_class);
    vt__buf_addf(b,
                 ",\"cameras\":%u,\"thermal_cameras\":%u,\"thermal_confirmed\":%s,"
                 "\"thermal_hits\":%u,\"hits\":%u,\"misses\":%u,\"age\":%u",
                 (unsigned)m->cameras, (unsigned)m->thermal_cameras,
                 m->thermal_confirmed ? "true" : "false", (unsigned)m->thermal_hits,
                 (unsigned)m->hits, (unsigned)m->misses, (unsigned)m->age);
    sbuf_member_float(b, "accel_rms", m->accel_rms);
    sbuf_member_float(b, "flicker", m->flicker);
    vt__buf_addf(b, ",\"camera_mask\":%llu", (unsigned long long)m->camera_mask);
    vt__buf_addf(b, ",\"thermal_observed\":%u,\"thermal_confirmations\":%u",
                 (unsigned)m->thermal_observed, (unsigned)m->thermal_confirmations);
    if (m->has_thermal_rate)
        sbuf_member_float(b, "thermal_rate", m->thermal_rate);
    if (m->has_thermal_ratio)
        sbuf_member_float(b, "thermal_ratio", m->thermal_ratio);
    vt__buf_adds(b, "}");
}

/* Elements of a repeated field written as a JSON array: the first one opens nothing, the
   caller wrote "[" already; `n` counts them for the commas. */
typedef struct json_list {
    vt__buf *b;
    size_t n;
} json_list;

static bool json_track_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    json_list *l = *arg;
    voxtrack_v1_TrackUpdate m = voxtrack_v1_TrackUpdate_init_zero;
    if (!pb_decode(s, voxtrack_v1_TrackUpdate_fields, &m))
        return false;
    if (l->n++)
        vt__buf_adds(l->b, ",");
    track_json(l->b, &m);
    return true;
}

/* ---- the other messages ------------------------------------------------ */

static bool json_detection_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    json_list *l = *arg;
    voxtrack_v1_Detection m = voxtrack_v1_Detection_init_zero;
    if (!pb_decode(s, voxtrack_v1_Detection_fields, &m))
        return false;
    vt__buf *b = l->b;
    vt__buf_addf(b, "%s{\"camera_mask\":%llu,\"cameras\":%u,\"thermal_cameras\":%u,\"rays\":%u",
                 l->n++ ? "," : "", (unsigned long long)m.camera_mask, (unsigned)m.cameras,
                 (unsigned)m.thermal_cameras, (unsigned)m.rays);
    sbuf_vec3(b, "position", m.has_position, &m.position);
    sbuf_cov(b, m.covariance, m.covariance_count);
    sbuf_member_double(b, "residual_m", m.residual_m);
    sbuf_member_float(b, "weight", m.weight);
    sbuf_geo(b, m.has_latitude_deg, m.latitude_deg, m.has_longitude_deg, m.longitude_deg,
             m.has_height_m, m.height_m);
    vt__buf_adds(b, "}");
    return true;
}

static bool json_camera_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    json_list *l = *arg;
    voxtrack_v1_CameraStats m = voxtrack_v1_CameraStats_init_zero;
    if (!pb_decode(s, voxtrack_v1_CameraStats_fields, &m))
        return false;
    vt__buf *b = l->b;
    vt__buf_addf(b, "%s{\"index\":%u,\"id\":", l->n++ ? "," : "", (unsigned)m.index);
    vt__buf_json_strn(b, m.id, strnlen(m.id, sizeof m.id));
    vt__buf_addf(b, ",\"present\":%s", m.present ? "true" : "false");
    sbuf_member_double(b, "sync_error_s", m.sync_error_s);
    vt__buf_addf(b, ",\"drops\":%llu,\"changes\":%llu,\"blobs\":%u,\"rays\":%u}",
                 (unsigned long long)m.drops, (unsigned long long)m.changes, (unsigned)m.blobs,
                 (unsigned)m.rays);
    return true;
}

static vt_status parse_error(vt_msg_type type, pb_istream_t *s, size_t len, vt__buf *b)
{
    if (b->err)
        return vt__error(VT_ENOMEM, "%s: out of memory writing JSON", vt_msg_type_name(type));
    return vt__error(VT_EPARSE, "%s: %s (at byte %zu of %zu)", vt_msg_type_name(type),
                     PB_GET_ERROR(s), len - s->bytes_left, len);
}

/* Decodes a batch whose repeated field (tag 3 in all three) is written as a JSON array. */
static vt_status batch_json(vt_msg_type type, const uint8_t *msg, size_t len, vt__buf *b)
{
    json_list l = {b, 0};
    pb_istream_t s = pb_istream_from_buffer(msg, len);
    bool ok;
    const char *name;
    int64_t frame, time_ns;
    if (type == VT_MSG_TRACK_BATCH) {
        voxtrack_v1_TrackBatch m = voxtrack_v1_TrackBatch_init_zero;
        m.tracks.funcs.decode = json_track_cb;
        m.tracks.arg = &l;
        name = "tracks";
        vt__buf_addf(b, ",\"%s\":[", name);
        ok = pb_decode(&s, voxtrack_v1_TrackBatch_fields, &m);
        frame = m.frame;
        time_ns = m.time_ns;
    } else {
        voxtrack_v1_DetectionBatch m = voxtrack_v1_DetectionBatch_init_zero;
        m.detections.funcs.decode = json_detection_cb;
        m.detections.arg = &l;
        name = "detections";
        vt__buf_addf(b, ",\"%s\":[", name);
        ok = pb_decode(&s, voxtrack_v1_DetectionBatch_fields, &m);
        frame = m.frame;
        time_ns = m.time_ns;
    }
    if (!ok || b->err)
        return parse_error(type, &s, len, b);
    vt__buf_addf(b, "],\"frame\":%lld,\"time_ns\":%lld", (long long)frame, (long long)time_ns);
    return !b->err ? VT_OK : parse_error(type, &s, len, b);
}

static vt_status stats_json(const uint8_t *msg, size_t len, vt__buf *b)
{
    json_list l = {b, 0};
    pb_istream_t s = pb_istream_from_buffer(msg, len);
    voxtrack_v1_FrameSetStats m = voxtrack_v1_FrameSetStats_init_zero;
    m.cameras.funcs.decode = json_camera_cb;
    m.cameras.arg = &l;
    vt__buf_adds(b, ",\"cameras\":[");
    if (!pb_decode(&s, voxtrack_v1_FrameSetStats_fields, &m) || b->err)
        return parse_error(VT_MSG_FRAME_SET_STATS, &s, len, b);
    vt__buf_addf(b,
                 "],\"frame\":%lld,\"time_ns\":%lld,\"cameras_live\":%u,\"changes\":%llu,"
                 "\"blobs\":%llu,\"rays\":%llu,\"clusters\":%llu,\"detections\":%u,"
                 "\"tracks\":%u",
                 (long long)m.frame, (long long)m.time_ns, (unsigned)m.cameras_live,
                 (unsigned long long)m.changes, (unsigned long long)m.blobs,
                 (unsigned long long)m.rays, (unsigned long long)m.clusters, (unsigned)m.detections,
                 (unsigned)m.tracks);
    sbuf_member_double(b, "processing_s", m.processing_s);
    sbuf_member_double(b, "motion_s", m.motion_s);
    sbuf_member_double(b, "voting_s", m.voting_s);
    sbuf_member_double(b, "detect_s", m.detect_s);
    sbuf_member_double(b, "tracking_s", m.tracking_s);
    return !b->err ? VT_OK : parse_error(VT_MSG_FRAME_SET_STATS, &s, len, b);
}

static vt_status health_json(const uint8_t *msg, size_t len, vt__buf *b)
{
    pb_istream_t s = pb_istream_from_buffer(msg, len);
    voxtrack_v1_Health m = voxtrack_v1_Health_init_zero;
    if (!pb_decode(&s, voxtrack_v1_Health_fields, &m))
        return parse_error(VT_MSG_HEALTH, &s, len, b);
    vt__buf_adds(b, ",\"version\":");
    vt__buf_json_strn(b, m.version, strnlen(m.version, sizeof m.version));
    sbuf_member_double(b, "uptime_s", m.uptime_s);
    vt__buf_addf(b, ",\"frame_sets\":%llu", (unsigned long long)m.frame_sets);
    sbuf_member_double(b, "frame_sets_per_s", m.frame_sets_per_s);
    vt__buf_addf(b,
                 ",\"cameras_live\":%u,\"cameras_total\":%u,\"tracks\":%u,"
                 "\"confirmed_tracks\":%u,\"stream_errors\":%llu",
                 (unsigned)m.cameras_live, (unsigned)m.cameras_total, (unsigned)m.tracks,
                 (unsigned)m.confirmed_tracks, (unsigned long long)m.stream_errors);
    return !b->err ? VT_OK : parse_error(VT_MSG_HEALTH, &s, len, b);
}

vt_status vt_wire_to_json(vt_msg_type type, const uint8_t *msg, size_t len, char **json)
{
    if (!json)
        return vt__error(VT_EINVAL, "vt_wire_to_json: json is NULL");
    *json = NULL;
    if (!msg && len)
        return vt__error(VT_EINVAL, "vt_wire_to_json: NULL message of %zu bytes", len);
    if (!msg)
        msg = (const uint8_t *)"";
    vt__buf b = {0};
    const char *name = vt_msg_type_name(type);
    if (name[0] == '?')
        return vt__error(VT_EINVAL, "message of unknown type %d (%zu bytes)", (int)type, len);
    vt__buf_addf(&b, "{\"type\":\"%s\"", name);
    vt_status st;
    switch (type) {
    case VT_MSG_TRACK_BATCH:
    case VT_MSG_DETECTION_BATCH:
        st = batch_json(type, msg, len, &b);
        break;
    case VT_MSG_FRAME_SET_STATS:
        st = stats_json(msg, len, &b);
        break;
    case VT_MSG_HEALTH:
        st = health_json(msg, len, &b);
        break;
    default:
        st = vt__wire_voxel_json(msg, len, &b);
        break;
    }
    if (st == VT_OK) {
        vt__buf_adds(&b, "}");
        if (b.err)
            st = vt__error(VT_ENOMEM, "%s: out of memory writing JSON", name);
    }
    if (st != VT_OK) {
        free(b.s);
        return st;
    }
    *json = b.s;
    return VT_OK;
}

/* ---- TrackBatch into structs ------------------------------------------- */

static void track_from_msg(const voxtrack_v1_TrackUpdate *m, vt_wire_track *w)
{
    memset(w, 0, sizeof *w);
    vt_track *t = &w->track;
    t->id = m->id;
    t->status = m->status >= 0 && m->status <= 2 ? (vt_track_status)m->status : VT_TRACK_TENTATIVE;
    t->pos = (vt_vec3){m->position.x, m->position.y, m->position.z};
    t->vel = (vt_vec3){m->velocity.x, m->velocity.y, m->velocity.z};
    for (pb_size_t i = 0; i < m->covariance_count && i < 6; i++)
        t->cov[i] = m->covariance[i];
    t->cams = (int)(m->cameras > 1000000u ? 1000000u : m->cameras);
    t->camera_mask = m->camera_mask;
    t->thermal = (int)(m->thermal_cameras > 1000000u ? 1000000u : m->thermal_cameras);
    t->thermal_hits = (int)(m->thermal_hits > INT32_MAX ? INT32_MAX : m->thermal_hits);
    t->hits = (int)(m->hits > INT32_MAX ? INT32_MAX : m->hits);
    t->misses = (int)(m->misses > INT32_MAX ? INT32_MAX : m->misses);
    t->age = (int)(m->age > INT32_MAX ? INT32_MAX : m->age);
    t->accel_rms = m->accel_rms;
    w->time_ns = m->time_ns;
    w->cls = m->target_class >= 0 && m->target_class <= 2 ? (vt_wire_class)m->target_class
                                                          : VT_WIRE_CLASS_UNKNOWN;
    w->confidence = m->confidence;
    w->flicker = m->flicker;
    w->thermal_confirmed = m->thermal_confirmed;
    w->has_geo = m->has_latitude_deg && m->has_longitude_deg;
    w->lat_deg = m->latitude_deg;
    w->lon_deg = m->longitude_deg;
    w->h_m = m->has_height_m ? m->height_m : 0.0;
    /* Absent in a message from before fusion's fields (or without fusion): 0, 0, NAN, NAN. */
    w->fusion.observed = (int)(m->thermal_observed > INT32_MAX ? INT32_MAX : m->thermal_observed);
    w->fusion.confirmed =
        (int)(m->thermal_confirmations > INT32_MAX ? INT32_MAX : m->thermal_confirmations);
    w->fusion.rate = m->has_thermal_rate ? m->thermal_rate : NAN;
    w->fusion.ratio = m->has_thermal_ratio ? m->thermal_ratio : NAN;
}

typedef struct track_sink {
    vt_wire_track_batch *out;
    bool nomem;
} track_sink;

static bool decode_track_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    track_sink *k = *arg;
    vt_wire_track_batch *out = k->out;
    voxtrack_v1_TrackUpdate m = voxtrack_v1_TrackUpdate_init_zero;
    if (!pb_decode(s, voxtrack_v1_TrackUpdate_fields, &m))
        return false;
    if (out->count == out->capacity) {
        size_t c = out->capacity ? 2 * out->capacity : 64;
        vt_wire_track *q = realloc(out->tracks, c * sizeof *q);
        if (!q) {
            k->nomem = true;
            PB_RETURN_ERROR(s, "out of memory");
        }
        out->tracks = q;
        out->capacity = c;
    }
    track_from_msg(&m, &out->tracks[out->count++]);
    return true;
}

vt_status vt_wire_decode_tracks(const uint8_t *msg, size_t len, vt_wire_track_batch *out)
{
    if (!out || (!msg && len))
        return vt__error(VT_EINVAL, "vt_wire_decode_tracks: NULL argument");
    out->count = 0;
    out->frame = out->time_ns = 0;
    out->t = 0;
    track_sink k = {out, false};
    voxtrack_v1_TrackBatch m = voxtrack_v1_TrackBatch_init_zero;
    m.tracks.funcs.decode = decode_track_cb;
    m.tracks.arg = &k;
    pb_istream_t s = pb_istream_from_buffer(msg ? msg : (const uint8_t *)"", len);
    if (!pb_decode(&s, voxtrack_v1_TrackBatch_fields, &m)) {
        out->count = 0;
        if (k.nomem)
            return vt__error(VT_ENOMEM, "TrackBatch: out of memory (%zu tracks)", out->capacity);
        return vt__error(VT_EPARSE, "TrackBatch: %s (at byte %zu of %zu)", PB_GET_ERROR(&s),
                         len - s.bytes_left, len);
    }
    out->frame = m.frame;
    out->time_ns = m.time_ns;
    out->t = (double)m.time_ns * 1e-9;
    return VT_OK;
}

void vt_wire_track_batch_free(vt_wire_track_batch *b)
{
    if (!b)
        return;
    free(b->tracks);
    memset(b, 0, sizeof *b);
}

/* ---- FrameSetStats into structs ---------------------------------------- */

typedef struct camera_sink {
    vt_wire_stats *out;
    bool nomem;
} camera_sink;

static bool decode_camera_cb(pb_istream_t *s, const pb_field_t *field, void **arg)
{
    (void)field;
    camera_sink *k = *arg;
    vt_wire_stats *out = k->out;
    voxtrack_v1_CameraStats m = voxtrack_v1_CameraStats_init_zero;
    if (!pb_decode(s, voxtrack_v1_CameraStats_fields, &m))
        return false;
    if (vt__grow(&out->cameras, &out->capacity, out->count + 1, sizeof *out->cameras)) {
        k->nomem = true;
        PB_RETURN_ERROR(s, "out of memory");
    }
    vt_wire_camera_stats *c = &out->cameras[out->count++];
    memset(c, 0, sizeof *c);
    c->index = m.index;
    /* The .options file bounds id to 32 bytes; nanopb refuses a longer one. */
    size_t n = strnlen(m.id, sizeof m.id);
    memcpy(c->id, m.id, n < sizeof c->id - 1 ? n : sizeof c->id - 1);
    c->present = m.present;
    c->sync_error_s = m.sync_error_s;
    c->drops = m.drops;
    c->changes = m.changes;
    c->blobs = m.blobs;
    c->rays = m.rays;
    return true;
}

/* Zero figures, no cameras; the array is kept for the next message. */
static void stats_clear(vt_wire_stats *out)
{
    vt_wire_camera_stats *cameras = out->cameras;
    size_t capacity = out->capacity;
    memset(out, 0, sizeof *out);
    out->cameras = cameras;
    out->capacity = capacity;
}

vt_status vt_wire_decode_stats(const uint8_t *msg, size_t len, vt_wire_stats *out)
{
    if (!out || (!msg && len))
        return vt__error(VT_EINVAL, "vt_wire_decode_stats: NULL argument");
    stats_clear(out);
    camera_sink k = {out, false};
    voxtrack_v1_FrameSetStats m = voxtrack_v1_FrameSetStats_init_zero;
    m.cameras.funcs.decode = decode_camera_cb;
    m.cameras.arg = &k;
    pb_istream_t s = pb_istream_from_buffer(msg ? msg : (const uint8_t *)"", len);
    if (!pb_decode(&s, voxtrack_v1_FrameSetStats_fields, &m)) {
        /* A message that fails leaves nothing behind, not half its cameras. */
        size_t ncameras = out->count;
        vt_wire_stats_free(out);
        if (k.nomem)
            return vt__error(VT_ENOMEM, "FrameSetStats: out of memory (%zu cameras)", ncameras);
        return vt__error(VT_EPARSE, "FrameSetStats: %s (at byte %zu of %zu)", PB_GET_ERROR(&s),
                         len - s.bytes_left, len);
    }
    out->frame = m.frame;
    out->time_ns = m.time_ns;
    out->t = (double)m.time_ns * 1e-9;
    out->cameras_live = m.cameras_live;
    out->changes = m.changes;
    out->blobs = m.blobs;
    out->rays = m.rays;
    out->clusters = m.clusters;
    out->detections = m.detections;
    out->tracks = m.tracks;
    out->processing_s = m.processing_s;
    out->motion_s = m.motion_s;
    out->voting_s = m.voting_s;
    out->detect_s = m.detect_s;
    out->tracking_s = m.tracking_s;
    return VT_OK;
}

void vt_wire_stats_free(vt_wire_stats *s)
{
    if (!s)
        return;
    free(s->cameras);
    memset(s, 0, sizeof *s);
}
