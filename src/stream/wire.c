/*
 * src/stream/wire.c - encoding of the stream messages (see voxtrack/wire.h
 * and proto/voxtrack.proto).
 *
 * nanopb encodes from C structs generated from the .proto. Repeated
 * messages (tracks, detections, cameras) are encode callbacks that walk the
 * pipeline's result directly, so there is no intermediate array and no
 * compiled-in limit on the count. The output goes through a nanopb stream
 * whose callback appends to the encoder's buffer, growing it when needed:
 * once the buffer has seen the largest message, encoding allocates nothing.
 * nanopb would size each submessage before writing it (a second pass over
 * it); tracks, detections and cameras are instead encoded once each into a
 * stack buffer (their size is bounded) and copied out with their length.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stream/wire_internal.h"

#include "voxtrack/geodetic.h"

const char *vt_msg_type_name(vt_msg_type t)
{
    switch (t) {
    case VT_MSG_TRACK_BATCH:
        return "TrackBatch";
    case VT_MSG_DETECTION_BATCH:
        return "DetectionBatch";
    case VT_MSG_FRAME_SET_STATS:
        return "FrameSetStats";
    case VT_MSG_HEALTH:
        return "Health";
    case VT_MSG_VOXEL_CHUNK:
        return "VoxelChunk";
    }
    return "?";
}

/* ---- the encoder ------------------------------------------------------- */

vt_status vt_wire_encoder_new(const vt_rig *rig, vt_wire_encoder **out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_wire_encoder_new: out is NULL");
    *out = NULL;
    vt_wire_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return vt__error(VT_ENOMEM, "vt_wire_encoder_new: out of memory");
    if (rig && rig->count > 0) {
        e->ncams = rig->count;
        e->ids = calloc((size_t)rig->count, sizeof *e->ids);
        e->drops = calloc((size_t)rig->count, sizeof *e->drops);
        if (!e->ids || !e->drops) {
            vt_wire_encoder_free(e);
            return vt__error(VT_ENOMEM, "vt_wire_encoder_new: out of memory");
        }
        for (int i = 0; i < rig->count; i++)
            snprintf(e->ids[i], sizeof e->ids[i], "%s", rig->cameras[i].id);
    }
    if (rig && rig->has_origin) {
        e->has_origin = true;
        e->lat_deg = rig->lat_deg;
        e->lon_deg = rig->lon_deg;
        e->h_m = rig->height_m;
        vt_geodetic *g = NULL;
        vt_status s = vt_geodetic_new(rig->lat_deg, rig->lon_deg, rig->height_m, &g);
        if (s != VT_OK) {
            vt_wire_encoder_free(e);
            return vt__error_prefix(s, "wire encoder: rig origin");
        }
        e->geo = g;
    }
    *out = e;
    return VT_OK;
}

void vt_wire_encoder_free(vt_wire_encoder *e)
{
    if (!e)
        return;
    vt_geodetic_free(e->geo);
    vt__wire_lz4_free(e);
    free(e->raw);
    free(e->ids);
    free(e->drops);
    free(e->buf);
    free(e);
}

bool vt__wire_geo(vt_wire_encoder *e, vt_vec3 enu, double *lat, double *lon, double *h)
{
    if (e->geo && vt_geodetic_from_enu(e->geo, enu, lat, lon, h) == VT_OK)
        return true;
    return false;
}

int64_t vt__wire_ns(double seconds)
{
    if (!(seconds == seconds))
        return 0;
    double ns = seconds * 1e9;
    if (ns >= 9.2e18)
        return INT64_MAX;
    if (ns <= -9.2e18)
        return INT64_MIN;
    return (int64_t)llround(ns);
}

/* ---- output ------------------------------------------------------------ */

static bool out_write(pb_ostream_t *s, const pb_byte_t *buf, size_t count)
{
    /* Submessages are written through substreams that count their bytes_written from 0 but
       share this state, so the position lives in the encoder. */
    vt_wire_encoder *e = s->state;
    size_t need = e->pos + count;
    if (need > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *b = realloc(e->buf, cap);
        if (!b)
            return false;
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->pos, buf, count);
    e->pos += count;
    return true;
}

pb_ostream_t vt__wire_out(vt_wire_encoder *e)
{
    pb_ostream_t s = {0};
    e->pos = 0;
    s.callback = out_write;
    s.state = e;
    s.max_size = SIZE_MAX;
    return s;
}

vt_status vt__wire_encode(vt_wire_encoder *e, const pb_msgdesc_t *fields, const void *src,
                          const char *what, const uint8_t **msg, size_t *len)
{
    pb_ostream_t s = vt__wire_out(e);
    if (!pb_encode(&s, fields, src))
        return vt__error(VT_ENOMEM, "wire: encoding %s: %s", what, PB_GET_ERROR(&s));
    /* An empty message is valid protobuf; give a non-NULL pointer all the same. */
    static const uint8_t empty[1];
    *msg = s.bytes_written ? e->buf : empty;
    *len = s.bytes_written;
    return VT_OK;
}

static bool check_args(const vt_wire_encoder *e, const void *r, const uint8_t **msg,
                       const size_t *len, const char *fn)
{
    if (!e || !r || !msg || !len) {
        vt__error(VT_EINVAL, "%s: NULL argument", fn);
        return false;
    }
    return true;
}

static void set_cov(double *dst, pb_size_t *count, const double cov[6])
{
    memcpy(dst, cov, 6 * sizeof *dst);
    *count = 6;
}

static voxtrack_v1_Vec3 vec3(vt_vec3 v)
{
    return (voxtrack_v1_Vec3){v.x, v.y, v.z};
}

/* ---- TrackBatch -------------------------------------------------------- */

static float track_confidence(const vt_track *t)
{
    double h = t->hits / 15.0, c = t->cams / 4.0;
    double v = 0.5 * (h < 1 ? h : 1) + 0.5 * (c < 1 ? c : 1);
    return (float)(v / (1.0 + (t->misses > 0 ? t->misses : 0)));
}

static void fill_track(vt_wire_encoder *e, size_t i, voxtrack_v1_TrackUpdate *m)
{
    const vt_pipeline_result *r = e->r;
    const vt_track *t = &r->tracks[i];
    memset(m, 0, sizeof *m);
    m->id = t->id;
    m->status = (voxtrack_v1_TrackStatus)t->status;
    m->time_ns = vt__wire_ns(r->t);
    m->has_position = m->has_velocity = true;
    m->position = vec3(t->pos);
    m->velocity = vec3(t->vel);
    set_cov(m->covariance, &m->covariance_count, t->cov);
    if (e->has_origin) {
        double lat, lon, h;
        if (vt__wire_geo(e, t->pos, &lat, &lon, &h)) {
            m->has_latitude_deg = m->has_longitude_deg = m->has_height_m = true;
            m->latitude_deg = lat;
            m->longitude_deg = lon;
            m->height_m = h;
        }
    }
    m->confidence = track_confidence(t);
    if (t->status != VT_TRACK_TENTATIVE && r->classes)
        m->target_class = r->classes[i] == VT_CLASS_BIRD
                              ? voxtrack_v1_TargetClass_TARGET_CLASS_BIRD
                              : voxtrack_v1_TargetClass_TARGET_CLASS_DRONE;
    m->cameras = (uint32_t)(t->cams > 0 ? t->cams : 0);
    m->camera_mask = t->camera_mask;
    m->thermal_cameras = (uint32_t)(t->thermal > 0 ? t->thermal : 0);
    m->thermal_confirmed = t->thermal_hits > 0;
    m->thermal_hits = (uint32_t)(t->thermal_hits > 0 ? t->thermal_hits : 0);
    m->hits = (uint32_t)(t->hits > 0 ? t->hits : 0);
    m->misses = (uint32_t)(t->misses > 0 ? t->misses : 0);
    m->age = (uint32_t)(t->age > 0 ? t->age : 0);
    m->accel_rms = t->accel_rms;
    m->flicker = r->flicker ? r->flicker[i] : 0.0f;
    if (r->track_fusion) { /* appended fields: the running thermal confirmation */
        const vt_track_fusion *fu = &r->track_fusion[i];
        m->thermal_observed = (uint32_t)(fu->observed > 0 ? fu->observed : 0);
        m->thermal_confirmations = (uint32_t)(fu->confirmed > 0 ? fu->confirmed : 0);
        m->has_thermal_rate = isfinite(fu->rate);
        m->thermal_rate = m->has_thermal_rate ? fu->rate : 0.0f;
        m->has_thermal_ratio = isfinite(fu->ratio);
        m->thermal_ratio = m->has_thermal_ratio ? fu->ratio : 0.0f;
    }
}

/*
 * One element of a repeated message field. pb_encode_submessage() would encode it twice
 * (once to size it, once to write it); every element has a bounded size, so it is
 * encoded once into a stack buffer and copied out with its length instead.
 */
static bool encode_element(pb_ostream_t *s, const pb_field_t *field, const pb_msgdesc_t *fields,
                           const void *m)
{
    pb_byte_t tmp[320];
    pb_ostream_t sub = pb_ostream_from_buffer(tmp, sizeof tmp);
    if (!pb_encode(&sub, fields, m)) {
#ifndef PB_NO_ERRMSG
        s->errmsg = sub.errmsg;
#endif
        return false;
    }
    return pb_encode_tag_for_field(s, field) && pb_encode_string(s, tmp, sub.bytes_written);
}

_Static_assert(voxtrack_v1_TrackUpdate_size <= 320 && voxtrack_v1_Detection_size <= 320 &&
                   voxtrack_v1_CameraStats_size <= 320,
               "encode_element's buffer holds any element");

static bool encode_tracks_cb(pb_ostream_t *s, const pb_field_t *field, void *const *arg)
{
    vt_wire_encoder *e = *arg;
    voxtrack_v1_TrackUpdate m;
    for (size_t i = 0; i < e->r->ntracks; i++) {
        fill_track(e, i, &m);
        if (!encode_element(s, field, voxtrack_v1_TrackUpdate_fields, &m))
            return false;
    }
    return true;
}

vt_status vt_wire_encode_tracks(vt_wire_encoder *e, const vt_pipeline_result *r,
                                const uint8_t **msg, size_t *len)
{
    if (!check_args(e, r, msg, len, "vt_wire_encode_tracks"))
        return VT_EINVAL;
    if (r->ntracks && !r->tracks)
        return vt__error(VT_EINVAL, "vt_wire_encode_tracks: %zu tracks but no array", r->ntracks);
    voxtrack_v1_TrackBatch b = voxtrack_v1_TrackBatch_init_zero;
    b.frame = r->frame;
    b.time_ns = vt__wire_ns(r->t);
    b.tracks.funcs.encode = encode_tracks_cb;
    b.tracks.arg = e;
    e->r = r;
    vt_status st = vt__wire_encode(e, voxtrack_v1_TrackBatch_fields, &b, "TrackBatch", msg, len);
    e->r = NULL;
    return st;
}

/* ---- DetectionBatch ---------------------------------------------------- */

static void fill_detection(vt_wire_encoder *e, const vt_detection *d, voxtrack_v1_Detection *m)
{
    memset(m, 0, sizeof *m);
    m->has_position = true;
    m->position = vec3(d->pos);
    set_cov(m->covariance, &m->covariance_count, d->cov);
    m->residual_m = d->residual;
    m->weight = d->weight;
    m->camera_mask = d->cameras;
    m->cameras = (uint32_t)(d->ncameras > 0 ? d->ncameras : 0);
    m->thermal_cameras = (uint32_t)(d->nthermal > 0 ? d->nthermal : 0);
    m->rays = (uint32_t)(d->nrays > 0 ? d->nrays : 0);
    double lat, lon, h;
    if (e->has_origin && vt__wire_geo(e, d->pos, &lat, &lon, &h)) {
        m->has_latitude_deg = m->has_longitude_deg = m->has_height_m = true;
        m->latitude_deg = lat;
        m->longitude_deg = lon;
        m->height_m = h;
    }
}

static bool encode_detections_cb(pb_ostream_t *s, const pb_field_t *field, void *const *arg)
{
    vt_wire_encoder *e = *arg;
    voxtrack_v1_Detection m;
    for (size_t i = 0; i < e->r->ndetections; i++) {
        fill_detection(e, &e->r->detections[i], &m);
        if (!encode_element(s, field, voxtrack_v1_Detection_fields, &m))
            return false;
    }
    return true;
}

vt_status vt_wire_encode_detections(vt_wire_encoder *e, const vt_pipeline_result *r,
                                    const uint8_t **msg, size_t *len)
{
    if (!check_args(e, r, msg, len, "vt_wire_encode_detections"))
        return VT_EINVAL;
    if (r->ndetections && !r->detections)
        return vt__error(VT_EINVAL, "vt_wire_encode_detections: %zu detections but no array",
                         r->ndetections);
    voxtrack_v1_DetectionBatch b = voxtrack_v1_DetectionBatch_init_zero;
    b.frame = r->frame;
    b.time_ns = vt__wire_ns(r->t);
    b.detections.funcs.encode = encode_detections_cb;
    b.detections.arg = e;
    e->r = r;
    vt_status st =
        vt__wire_encode(e, voxtrack_v1_DetectionBatch_fields, &b, "DetectionBatch", msg, len);
    e->r = NULL;
    return st;
}

/* ---- FrameSetStats ----------------------------------------------------- */

static bool encode_cameras_cb(pb_ostream_t *s, const pb_field_t *field, void *const *arg)
{
    vt_wire_encoder *e = *arg;
    const vt_pipeline_result *r = e->r;
    voxtrack_v1_CameraStats m;
    for (int i = 0; i < r->ncameras; i++) {
        const vt_camera_result *c = &r->cameras[i];
        memset(&m, 0, sizeof m);
        m.index = (uint32_t)i;
        if (i < e->ncams)
            memcpy(m.id, e->ids[i], sizeof m.id);
        m.present = c->present;
        m.sync_error_s = c->sync_error;
        m.drops = i < e->ncams ? e->drops[i] : 0;
        m.changes = c->changes;
        m.blobs = (uint32_t)c->blobs;
        m.rays = (uint32_t)c->rays;
        if (!encode_element(s, field, voxtrack_v1_CameraStats_fields, &m))
            return false;
    }
    return true;
}

vt_status vt_wire_encode_stats(vt_wire_encoder *e, const vt_pipeline_result *r, const uint8_t **msg,
                               size_t *len)
{
    if (!check_args(e, r, msg, len, "vt_wire_encode_stats"))
        return VT_EINVAL;
    if (r->ncameras > 0 && !r->cameras)
        return vt__error(VT_EINVAL, "vt_wire_encode_stats: %d cameras but no array", r->ncameras);
    /* Drops are counted here, once per frame set, before the message is written. */
    for (int i = 0; i < r->ncameras && i < e->ncams; i++)
        if (!r->cameras[i].present)
            e->drops[i]++;
    voxtrack_v1_FrameSetStats b = voxtrack_v1_FrameSetStats_init_zero;
    b.frame = r->frame;
    b.time_ns = vt__wire_ns(r->t);
    b.cameras.funcs.encode = encode_cameras_cb;
    b.cameras.arg = e;
    b.cameras_live = (uint32_t)(r->cameras_live > 0 ? r->cameras_live : 0);
    b.changes = r->changes;
    b.blobs = r->blobs;
    b.rays = r->rays;
    b.clusters = r->clusters;
    b.detections = (uint32_t)r->ndetections;
    b.tracks = (uint32_t)r->ntracks;
    b.processing_s = r->seconds;
    b.motion_s = r->stage_seconds[0];
    b.voting_s = r->stage_seconds[1];
    b.detect_s = r->stage_seconds[2];
    b.tracking_s = r->stage_seconds[3];
    e->r = r;
    vt_status st =
        vt__wire_encode(e, voxtrack_v1_FrameSetStats_fields, &b, "FrameSetStats", msg, len);
    e->r = NULL;
    return st;
}

/* ---- Health ------------------------------------------------------------ */

static uint32_t u32(int v)
{
    return v > 0 ? (uint32_t)v : 0;
}

vt_status vt_wire_encode_health(vt_wire_encoder *e, const vt_wire_health *h, const uint8_t **msg,
                                size_t *len)
{
    if (!check_args(e, h, msg, len, "vt_wire_encode_health"))
        return VT_EINVAL;
    voxtrack_v1_Health m = voxtrack_v1_Health_init_zero;
    snprintf(m.version, sizeof m.version, "%s", vt_version());
    m.uptime_s = h->uptime_s;
    m.frame_sets = h->frame_sets;
    m.frame_sets_per_s = h->frame_sets_per_s;
    m.cameras_live = u32(h->cameras_live);
    m.cameras_total = u32(h->cameras_total);
    m.tracks = u32(h->tracks);
    m.confirmed_tracks = u32(h->confirmed_tracks);
    m.stream_errors = h->stream_errors;
    return vt__wire_encode(e, voxtrack_v1_Health_fields, &m, "Health", msg, len);
}
