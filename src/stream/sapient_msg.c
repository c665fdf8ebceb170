/*
 * src/stream/sapient_msg.c - the SAPIENT messages a voxtrack node sends,
 * built into nanopb structs (proto/sapient/sapient.proto) and encoded with
 * their 4-byte little-endian length prefix into the node's queue; and the
 * ids they carry.
 *
 * Ids: the standard asks for ULIDs (https://github.com/ulid/spec: 48 bits of
 * Unix milliseconds, 80 random bits, 26 Crockford base32 characters) for
 * reports, alerts and objects, and a UUID for the node. The 80 "random" bits
 * here are 40 bits of a hash of the node id and a 40-bit number: a counter
 * for reports and alerts (so ids are unique within a node, and sort in the
 * order they were made within a millisecond), the track id for objects with
 * the node's start time as their time (so every report of a track carries
 * the same object id, and a restarted node, whose track ids begin again at
 * 1, makes new ones). The default node UUID is a hash of the host name and
 * the rig's origin, formatted as a version 8 (custom) UUID of RFC 9562: the
 * same node keeps its id across restarts.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pb_encode.h>

#include "core/bytes.h"
#include "core/internal.h"
#include "stream/sapient_internal.h"

#define ICD_VERSION "BSI Flex 335 v2.0"

/* ---- ids ------------------------------------------------------------------ */

uint64_t vt__sapient_hash(const char *text, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    /* FNV's low bits mix poorly: finish with splitmix64's mixer. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

void vt__sapient_ulid(uint64_t ms, uint64_t rand_hi16, uint64_t rand_lo64, char out[27])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    /* 128 bits: hi = 48 bits of time, 16 bits of randomness; lo = 64 bits of randomness. */
    uint64_t hi = (ms << 16) | (rand_hi16 & 0xFFFF), lo = rand_lo64;
    for (int i = 0; i < 26; i++) {
        int low = 125 - 5 * i; /* lowest bit of character i in a 130-bit number */
        unsigned v;
        if (low >= 64)
            v = (unsigned)(hi >> (low - 64));
        else if (low + 5 <= 64)
            v = (unsigned)(lo >> low);
        else
            v = (unsigned)((lo >> low) | (hi << (64 - low)));
        out[i] = alphabet[v & 31];
    }
    out[26] = '\0';
}

void vt__sapient_new_id(vt_sapient *s, char out[27])
{
    uint64_t ms = (uint64_t)(vt__sapient_unix_now() * 1e3);
    uint64_t n = s->id_counter++ & 0xFFFFFFFFFFull;
    uint64_t h = (s->node_hash ^ 0x5bd1e9955bd1e995ull) >> 24; /* 40 bits */
    vt__sapient_ulid(ms, h >> 24, (h << 40) | n, out);
}

void vt__sapient_object_id(const vt_sapient *s, uint64_t track, char out[27])
{
    uint64_t h = s->node_hash >> 24;
    vt__sapient_ulid(s->session_ms, h >> 24, (h << 40) | (track & 0xFFFFFFFFFFull), out);
}

bool vt__sapient_uuid_check(const char *text, char out[37])
{
    if (!text || strlen(text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = text[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
        out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    out[36] = '\0';
    return true;
}

void vt__sapient_uuid_from(const char *text, char out[37])
{
    uint64_t a = vt__sapient_hash(text, 0), b = vt__sapient_hash(text, 0x9e3779b97f4a7c15ull);
    a = (a & ~0xF000ull) | 0x8000ull;                        /* version 8 */
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; /* variant 10 */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xFFFF), (unsigned)(a & 0xFFFF), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

double vt__sapient_unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the envelope, encoding, the queue ----------------------------------- */

void vt__sapient_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

#define copy vt__sapient_copy

static sapient_Timestamp timestamp(double unix_s)
{
    double sec = floor(unix_s);
    long long ns = llround((unix_s - sec) * 1e9);
    sapient_Timestamp t = {(int64_t)sec, (int32_t)ns};
    if (ns >= 1000000000LL) {
        t.seconds++;
        t.nanos = 0;
    }
    return t;
}

void vt__sapient_begin(vt_sapient *s, pb_size_t tag, double unix_time)
{
    sapient_SapientMessage *m = s->msg;
    /* Only the header and the member in use are cleared: the union is 40+ KiB. */
    m->has_timestamp = true;
    m->timestamp = timestamp(unix_time);
    m->has_node_id = true;
    copy(m->node_id, sizeof m->node_id, s->node_id);
    m->has_destination_id = false;
    m->has_additional_information = false;
    m->which_content = tag;
    switch (tag) {
    case sapient_SapientMessage_registration_tag:
        memset(&m->content.registration, 0, sizeof m->content.registration);
        break;
    case sapient_SapientMessage_status_report_tag:
        memset(&m->content.status_report, 0, sizeof m->content.status_report);
        break;
    case sapient_SapientMessage_detection_report_tag:
        memset(&m->content.detection_report, 0, sizeof m->content.detection_report);
        break;
    case sapient_SapientMessage_task_ack_tag:
        memset(&m->content.task_ack, 0, sizeof m->content.task_ack);
        break;
    case sapient_SapientMessage_alert_tag:
        memset(&m->content.alert, 0, sizeof m->content.alert);
        break;
    default:
        memset(&m->content.error, 0, sizeof m->content.error);
        break;
    }
}

vt_status vt__sapient_encode(vt_sapient *s, size_t *len)
{
    pb_ostream_t os = pb_ostream_from_buffer(s->enc + 4, s->enc_cap - 4);
    if (!pb_encode(&os, sapient_SapientMessage_fields, s->msg)) {
        s->st.errors++;
        return vt__error(VT_EFORMAT, "%s: cannot encode a SAPIENT message: %s", s->url,
                         PB_GET_ERROR(&os));
    }
    vt__put_u32(s->enc, (uint32_t)os.bytes_written);
    *len = os.bytes_written + 4;
    return VT_OK;
}

vt_status vt__sapient_queue(vt_sapient *s)
{
    if (s->goodbye_sent) /* closing: a TaskAck or status after the GOODBYE is not sent */
        return VT_OK;
    size_t len;
    vt_status st = vt__sapient_encode(s, &len);
    if (st != VT_OK)
        return st;
    if (s->qcount == s->qcap) { /* full: the oldest goes */
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qcount--;
        s->st.dropped++;
    }
    vt__sapient_slot *q = &s->q[(s->qhead + s->qcount) % s->qcap];
    if (len > q->cap) {
        uint8_t *b = realloc(q->buf, len);
        if (!b) {
            s->st.dropped++;
            return vt__error(VT_ENOMEM, "%s: out of memory for the queue", s->url);
        }
        q->buf = b;
        q->cap = len;
    }
    memcpy(q->buf, s->enc, len);
    q->len = len;
    s->qcount++;
    vt__sapient_net_wake(s);
    return VT_OK;
}

void vt__sapient_queue_clear(vt_sapient *s)
{
    s->st.dropped += s->qcount;
    s->qhead = 0;
    s->qcount = 0;
}

void vt__sapient_location(sapient_Location *l, double lat, double lon, double h, double lat_err,
                          double lon_err, double h_err)
{
    memset(l, 0, sizeof *l);
    l->has_x = l->has_y = l->has_z = true;
    l->x = lon;
    l->y = lat;
    l->z = h;
    if (isfinite(lon_err) && isfinite(lat_err)) {
        l->has_x_error = l->has_y_error = true;
        l->x_error = lon_err;
        l->y_error = lat_err;
    }
    if (isfinite(h_err)) {
        l->has_z_error = true;
        l->z_error = h_err;
    }
    l->has_coordinate_system = true;
    l->coordinate_system =
        sapient_LocationCoordinateSystem_LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M;
    l->has_datum = true;
    l->datum = sapient_LocationDatum_LOCATION_DATUM_WGS84_E;
}

/* ---- Registration ---------------------------------------------------------- */

static sapient_Registration_Duration duration_s(double seconds)
{
    sapient_Registration_Duration d = {true, sapient_Registration_TimeUnits_TIME_UNITS_SECONDS,
                                       true, (float)seconds};
    return d;
}

static sapient_Registration_LocationType wgs84_type(void)
{
    sapient_Registration_LocationType t;
    memset(&t, 0, sizeof t);
    t.which_coordinates_oneof = sapient_Registration_LocationType_location_units_tag;
    t.coordinates_oneof.location_units =
        sapient_LocationCoordinateSystem_LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M;
    t.which_datum_oneof = sapient_Registration_LocationType_location_datum_tag;
    t.datum_oneof.location_datum = sapient_LocationDatum_LOCATION_DATUM_WGS84_E;
    return t;
}

static void capability(sapient_Registration *r, const char *cat, const char *type,
                       const char *value, const char *units)
{
    sapient_Registration_Capability *c = &r->capabilities[r->capabilities_count++];
    c->has_category = c->has_type = true;
    copy(c->category, sizeof c->category, cat);
    copy(c->type, sizeof c->type, type);
    if (value) {
        c->has_value = true;
        copy(c->value, sizeof c->value, value);
    }
    if (units) {
        c->has_units = true;
        copy(c->units, sizeof c->units, units);
    }
}

/* The fields of a DetectionReport, declared in the registration. */
static void report_field(sapient_Registration_DetectionDefinition *d, int category,
                         const char *type, const char *units)
{
    sapient_Registration_DetectionReport *f = &d->detection_report[d->detection_report_count++];
    f->has_category = f->has_type = f->has_units = true;
    f->category = (sapient_Registration_DetectionReportCategory)category;
    copy(f->type, sizeof f->type, type);
    copy(f->units, sizeof f->units, units);
}

static void build_mode(vt_sapient *s, sapient_Registration_ModeDefinition *m)
{
    m->has_mode_name = m->has_mode_type = m->has_mode_description = true;
    copy(m->mode_name, sizeof m->mode_name, "default");
    m->mode_type = sapient_Registration_ModeType_MODE_TYPE_DEFAULT;
    copy(m->mode_description, sizeof m->mode_description,
         "3D tracks of small moving objects from a calibrated multi-camera rig");
    m->has_settle_time = true;
    m->settle_time = duration_s(0);
    m->has_maximum_latency = true;
    m->maximum_latency = duration_s(0.5);
    m->has_scan_type = m->has_tracking_type = true;
    m->scan_type = sapient_Registration_ScanType_SCAN_TYPE_FIXED;
    m->tracking_type = sapient_Registration_TrackingType_TRACKING_TYPE_TRACK;

    m->detection_definition_count = 1;
    sapient_Registration_DetectionDefinition *d = &m->detection_definition[0];
    d->has_location_type = true;
    d->location_type = wgs84_type();
    const int track = sapient_Registration_DetectionReportCategory_DETECTION_REPORT_CATEGORY_TRACK;
    const int object =
        sapient_Registration_DetectionReportCategory_DETECTION_REPORT_CATEGORY_OBJECT;
    report_field(d, track, "track_id", "integer, the tracker's id");
    report_field(d, track, "status", "confirmed, coasting");
    report_field(d, track, "cameras", "integer, cameras of the last detection");
    report_field(d, track, "age", "integer, frame sets since birth");
    report_field(d, object, "accel_rms", "m/s^2");
    report_field(d, object, "flicker", "brightness flicker, in units of the sensor noise");
    d->detection_class_definition_count = 1;
    sapient_Registration_DetectionClassDefinition *cd = &d->detection_class_definition[0];
    cd->has_confidence_definition = true;
    cd->confidence_definition =
        sapient_Registration_ConfidenceDefinition_CONFIDENCE_DEFINITION_SINGLE_CLASS;
    static const char *const classes[] = {"drone", "bird", "unknown"};
    for (int i = 0; i < 3; i++) {
        sapient_Registration_ClassDefinition *c =
            &cd->class_definition[cd->class_definition_count++];
        c->has_type = c->has_units = true;
        copy(c->type, sizeof c->type, classes[i]);
        copy(c->units, sizeof c->units, "confidence 0-1");
    }
    d->has_velocity_type = true;
    d->velocity_type.which_velocity_units_oneof =
        sapient_Registration_VelocityType_enu_velocity_units_tag;
    sapient_ENUVelocityUnits *vu = &d->velocity_type.velocity_units_oneof.enu_velocity_units;
    vu->has_east_north_rate_units = vu->has_up_rate_units = true;
    vu->east_north_rate_units = vu->up_rate_units = sapient_SpeedUnits_SPEED_UNITS_MS;
    d->velocity_type.which_datum_oneof = sapient_Registration_VelocityType_location_datum_tag;
    d->velocity_type.datum_oneof.location_datum = sapient_LocationDatum_LOCATION_DATUM_WGS84_E;

    m->has_task = true;
    sapient_Registration_TaskDefinition *t = &m->task;
    t->has_concurrent_tasks = true;
    t->concurrent_tasks = 1;
    t->has_region_definition = true;
    t->region_definition.region_type_count = 2;
    t->region_definition.region_type[0] =
        sapient_Registration_RegionType_REGION_TYPE_AREA_OF_INTEREST;
    t->region_definition.region_type[1] = sapient_Registration_RegionType_REGION_TYPE_IGNORE;
    t->region_definition.has_settle_time = true;
    t->region_definition.settle_time = duration_s(0);
    t->region_definition.region_area_count = 1;
    t->region_definition.region_area[0] = wgs84_type();
    t->command_count = 1;
    t->command[0].has_units = t->command[0].has_completion_time = t->command[0].has_type = true;
    copy(t->command[0].units, sizeof t->command[0].units,
         "Start, Stop, Heartbeat, Registration, Reset");
    t->command[0].completion_time = duration_s(0);
    t->command[0].type = sapient_Registration_CommandType_COMMAND_TYPE_REQUEST;
    (void)s;
}

void vt__sapient_build_registration(vt_sapient *s)
{
    sapient_Registration *r = &s->msg->content.registration;
    r->node_definition_count = 1;
    r->node_definition[0].has_node_type = true;
    r->node_definition[0].node_type = sapient_Registration_NodeType_NODE_TYPE_CAMERA;
    r->node_definition[0].node_sub_type_count = 2;
    copy(r->node_definition[0].node_sub_type[0], 32, "multi-camera 3D tracker");
    copy(r->node_definition[0].node_sub_type[1], 32, "EO/IR");
    r->has_icd_version = r->has_name = r->has_short_name = true;
    copy(r->icd_version, sizeof r->icd_version, ICD_VERSION);
    copy(r->name, sizeof r->name, s->name);
    copy(r->short_name, sizeof r->short_name, s->name);

    char n[32];
    snprintf(n, sizeof n, "%d", s->ncams);
    capability(r, "Camera", "Cameras", n, NULL);
    capability(r, "Tracking", "3D tracks", "true", NULL);
    capability(r, "Tracking", "Classes", "drone, bird", NULL);
    capability(r, "Location", "Datum", "WGS84 ellipsoid", NULL);

    r->has_status_definition = true;
    sapient_Registration_StatusDefinition *sd = &r->status_definition;
    sd->has_status_interval = true;
    sd->status_interval = duration_s(s->o.status_interval_s);
    sd->has_location_definition = sd->has_coverage_definition = true;
    sd->location_definition = wgs84_type();
    sd->coverage_definition = wgs84_type();
    static const struct {
        const char *type, *units;
    } status[] = {{"cameras", "cameras live / cameras in the rig"},
                  {"cameras offline", "camera ids"},
                  {"reporting", "stopped by a task"}};
    for (int i = 0; i < 3; i++) {
        sapient_Registration_StatusReport *f = &sd->status_report[sd->status_report_count++];
        f->has_category = f->has_type = f->has_units = f->has_on_change = true;
        f->category = sapient_Registration_StatusReportCategory_STATUS_REPORT_CATEGORY_STATUS;
        copy(f->type, sizeof f->type, status[i].type);
        copy(f->units, sizeof f->units, status[i].units);
        f->on_change = true;
    }

    r->mode_definition_count = 1;
    build_mode(s, &r->mode_definition[0]);

    r->config_data_count = 1;
    copy(r->config_data[0].manufacturer, 64, "voxtrack project");
    copy(r->config_data[0].model, 64, "voxtrack");
    r->config_data[0].has_software_version = true;
    copy(r->config_data[0].software_version, 64, vt_version());
}

/* ---- StatusReport ---------------------------------------------------------- */

static void status_entry(sapient_StatusReport *sr, int level, int type, const char *value)
{
    if (sr->status_count >= sizeof sr->status / sizeof sr->status[0])
        return;
    sapient_StatusReport_Status *e = &sr->status[sr->status_count++];
    e->has_status_level = e->has_status_type = e->has_status_value = true;
    e->status_level = (sapient_StatusReport_StatusLevel)level;
    e->status_type = (sapient_StatusReport_StatusType)type;
    copy(e->status_value, sizeof e->status_value, value);
}

/* "cam01, cam07, ..." of the cameras that did not deliver (the first 64 cameras). */
static void offline_list(const vt_sapient *s, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < s->ncams && i < 64 && n + 1 < size; i++)
        if (!(s->live_mask >> i & 1)) {
            int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "", s->cam_ids[i]);
            n = w < 0 || (size_t)w >= size - n ? size - 1 : n + (size_t)w;
        }
}

vt_status vt__sapient_queue_status(vt_sapient *s, bool is_new, bool goodbye)
{
    vt__sapient_begin(s, sapient_SapientMessage_status_report_tag, vt__sapient_unix_now());
    sapient_StatusReport *sr = &s->msg->content.status_report;
    sr->has_report_id = true;
    vt__sapient_new_id(s, sr->report_id);
    bool missing = s->have_frame && s->cameras_live < s->ncams;
    sr->has_system = true;
    sr->system = goodbye                ? sapient_StatusReport_System_SYSTEM_GOODBYE
                 : !missing             ? sapient_StatusReport_System_SYSTEM_OK
                 : s->cameras_live == 0 ? sapient_StatusReport_System_SYSTEM_ERROR
                                        : sapient_StatusReport_System_SYSTEM_WARNING;
    sr->has_info = true;
    sr->info =
        is_new ? sapient_StatusReport_Info_INFO_NEW : sapient_StatusReport_Info_INFO_UNCHANGED;
    if (s->task.active) {
        sr->has_active_task_id = true;
        copy(sr->active_task_id, sizeof sr->active_task_id, s->task.id);
    }
    sr->has_mode = true;
    copy(sr->mode, sizeof sr->mode, "default");
    sr->has_node_location = true;
    vt__sapient_location(&sr->node_location, s->lat0, s->lon0, s->h0, NAN, NAN, NAN);

    const int info = sapient_StatusReport_StatusLevel_STATUS_LEVEL_INFORMATION_STATUS;
    char text[160];
    if (s->have_frame)
        snprintf(text, sizeof text, "%d/%d", s->cameras_live, s->ncams);
    else
        snprintf(text, sizeof text, "no frame set yet (%d in the rig)", s->ncams);
    status_entry(sr, info, sapient_StatusReport_StatusType_STATUS_TYPE_OTHER, text);
    if (missing) {
        offline_list(s, text, sizeof text);
        status_entry(sr,
                     s->cameras_live == 0
                         ? sapient_StatusReport_StatusLevel_STATUS_LEVEL_ERROR_STATUS
                         : sapient_StatusReport_StatusLevel_STATUS_LEVEL_WARNING_STATUS,
                     sapient_StatusReport_StatusType_STATUS_TYPE_INTERNAL_FAULT, text);
    }
    if (s->task.active && !s->task.reporting) {
        snprintf(text, sizeof text, "detection reports stopped by task %s", s->task.id);
        status_entry(sr, info, sapient_StatusReport_StatusType_STATUS_TYPE_NOT_DETECTING, text);
    }
    if (s->have_coverage) {
        sr->coverage_count = 1;
        sr->coverage[0].which_fov_oneof = sapient_LocationOrRangeBearing_location_list_tag;
        sapient_LocationList *ll = &sr->coverage[0].fov_oneof.location_list;
        ll->locations_count = 4;
        for (int i = 0; i < 4; i++)
            vt__sapient_location(&ll->locations[i], s->cov_lat[i], s->cov_lon[i], s->h0, NAN, NAN,
                                 NAN);
    }
    vt_status st = vt__sapient_queue(s);
    if (st == VT_OK)
        s->st.statuses++;
    return st;
}

/* ---- TaskAck, Error --------------------------------------------------------- */

vt_status vt__sapient_queue_task_ack(vt_sapient *s, const char *task_id, int status,
                                     const char reasons[][256], int nreasons)
{
    vt__sapient_begin(s, sapient_SapientMessage_task_ack_tag, vt__sapient_unix_now());
    sapient_TaskAck *a = &s->msg->content.task_ack;
    a->has_task_id = a->has_task_status = true;
    copy(a->task_id, sizeof a->task_id, task_id);
    a->task_status = (sapient_TaskAck_TaskStatus)status;
    for (int i = 0; i < nreasons && i < 4; i++)
        copy(a->reason[a->reason_count++], 256, reasons[i]);
    return vt__sapient_queue(s);
}

/* The packet echoed in an Error: at most this many bytes of it. */
#define ERROR_ECHO 8192

typedef struct echo {
    const uint8_t *p;
    size_t n;
} echo;

static bool encode_packet(pb_ostream_t *os, const pb_field_t *field, void *const *arg)
{
    const echo *e = *arg;
    return pb_encode_tag_for_field(os, field) && pb_encode_string(os, e->p, e->n);
}

vt_status vt__sapient_queue_error(vt_sapient *s, const uint8_t *packet, size_t len,
                                  const char *what)
{
    vt__sapient_begin(s, sapient_SapientMessage_error_tag, vt__sapient_unix_now());
    sapient_Error *e = &s->msg->content.error;
    echo ec = {packet, len < ERROR_ECHO ? len : ERROR_ECHO};
    e->packet.funcs.encode = encode_packet;
    e->packet.arg = &ec;
    e->error_message_count = 1;
    if (len > ERROR_ECHO)
        snprintf(e->error_message[0], 256, "%s (packet: its first %d of %zu bytes)", what,
                 ERROR_ECHO, len);
    else
        copy(e->error_message[0], 256, what);
    vt_status st = vt__sapient_queue(s);
    e->packet.funcs.encode = NULL;
    e->packet.arg = NULL;
    return st;
}
