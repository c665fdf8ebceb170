/*
 * tests/test_sapient.c - voxtrack as a SAPIENT sensor node (sapient.h),
 * checked against a fusion node played by the test on 127.0.0.1: it accepts
 * the node's connection, reads each length-prefixed message and decodes it
 * with nanopb from proto/sapient/sapient.proto, and answers with
 * RegistrationAcks and Tasks. Every step waits for the message that shows
 * the node's state changed (a TaskAck, a StatusReport) before publishing, so
 * nothing depends on the machine's speed; deadlines are hang guards only.
 * (tests/cli/sapient_run.sh checks the same node end to end with a peer
 * written in Python, and decodes what it sends with protoc.)
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "sapient.pb.h"
#include "voxtrack/voxtrack.h"
#include "vt_test.h"

#define HANG_MS 20000 /* a hang guard, never a timing assertion */

static const double origin[3] = {51.4778, -0.0015, 45.0};

static vt_rig rig_with_origin(void)
{
    static vt_rig_camera cams[3];
    vt_rig r;
    memset(&r, 0, sizeof r);
    memset(cams, 0, sizeof cams);
    for (int i = 0; i < 3; i++)
        snprintf(cams[i].id, sizeof cams[i].id, "cam%02d", i + 1);
    r.has_origin = true;
    r.lat_deg = origin[0];
    r.lon_deg = origin[1];
    r.height_m = origin[2];
    r.fps = 30;
    r.count = 3;
    r.cameras = cams;
    return r;
}

/* ---- a frame set of three tracks ---- */

typedef struct scene {
    vt_track tracks[3];
    vt_target_class classes[3];
    float flicker[3];
    vt_camera_result cams[3];
    vt_pipeline_result r;
} scene;

/* Track 7 north-east of the origin, 9 south-west of it (a bird), 8 tentative. */
static void make_scene(scene *s, double t, int cameras_live)
{
    memset(s, 0, sizeof *s);
    const vt_track tr[3] = {
        {.id = 7,
         .status = VT_TRACK_CONFIRMED,
         .pos = {400, 300, 120},
         .vel = {12, 5, 1.5},
         .cov = {4, 1, 0, 2.25, 0, 9},
         .cams = 3,
         .hits = 18,
         .age = 20,
         .accel_rms = 0.5f},
        {.id = 8, .status = VT_TRACK_TENTATIVE, .pos = {10, 10, 10}, .cov = {1, 0, 0, 1, 0, 1}},
        {.id = 9,
         .status = VT_TRACK_COASTING,
         .pos = {-500, -200, 60},
         .vel = {1, 1, 0},
         .cov = {1, 0, 0, 1, 0, 1},
         .cams = 3,
         .hits = 12,
         .age = 12,
         .accel_rms = 12},
    };
    memcpy(s->tracks, tr, sizeof tr);
    s->classes[2] = VT_CLASS_BIRD;
    for (int i = 0; i < 3; i++)
        s->cams[i].present = i < cameras_live;
    s->r.t = t;
    s->r.tracks = s->tracks;
    s->r.classes = s->classes;
    s->r.flicker = s->flicker;
    s->r.ntracks = 3;
    s->r.cameras = s->cams;
    s->r.ncameras = 3;
    s->r.cameras_live = cameras_live;
}

/* ---- the fusion node ---- */

typedef struct peer {
    int lfd, fd, port;
    uint8_t buf[1 << 16];
    size_t len;
    sapient_SapientMessage m; /* the last message read */
} peer;

static peer *peer_listen(void)
{
    peer *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->fd = -1;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    socklen_t n = sizeof a;
    getsockname(p->lfd, (struct sockaddr *)&a, &n);
    p->port = ntohs(a.sin_port);
    return p;
}

static void peer_accept(peer *p)
{
    struct pollfd pf = {p->lfd, POLLIN, 0};
    assert_true(poll(&pf, 1, HANG_MS) == 1);
    p->fd = accept(p->lfd, NULL, NULL);
    assert_true(p->fd >= 0);
    p->len = 0;
}

static void peer_hang_up(peer *p)
{
    close(p->fd);
    p->fd = -1;
}

static void peer_free(peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    close(p->lfd);
    free(p);
}

/* Reads the next message into p->m; false at end of stream. */
static bool peer_next(peer *p)
{
    for (;;) {
        if (p->len >= 4) {
            uint32_t n = (uint32_t)p->buf[0] | (uint32_t)p->buf[1] << 8 |
                         (uint32_t)p->buf[2] << 16 | (uint32_t)p->buf[3] << 24;
            assert_true(n < sizeof p->buf - 4);
            if (p->len >= 4 + n) {
                pb_istream_t is = pb_istream_from_buffer(p->buf + 4, n);
                assert_true(pb_decode(&is, sapient_SapientMessage_fields, &p->m));
                memmove(p->buf, p->buf + 4 + n, p->len - 4 - n);
                p->len -= 4 + n;
                return true;
            }
        }
        struct pollfd pf = {p->fd, POLLIN, 0};
        assert_true(poll(&pf, 1, HANG_MS) == 1);
        ssize_t r = recv(p->fd, p->buf + p->len, sizeof p->buf - p->len, 0);
        if (r <= 0)
            return false;
        p->len += (size_t)r;
    }
}

/* Reads until a message with content `tag` (others are skipped, and counted in *skipped). */
static sapient_SapientMessage *peer_expect(peer *p, pb_size_t tag, int *detections_skipped)
{
    while (peer_next(p)) {
        if (p->m.which_content == tag)
            return &p->m;
        if (detections_skipped && p->m.which_content == sapient_SapientMessage_detection_report_tag)
            (*detections_skipped)++;
    }
    fail_msg("the stream ended before a message with content %d", (int)tag);
    return &p->m;
}

static void peer_send(peer *p, const sapient_SapientMessage *m)
{
    static uint8_t out[1 << 16];
    pb_ostream_t os = pb_ostream_from_buffer(out + 4, sizeof out - 4);
    assert_true(pb_encode(&os, sapient_SapientMessage_fields, m));
    uint32_t n = (uint32_t)os.bytes_written;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(n >> (8 * i));
    assert_int_equal(send(p->fd, out, n + 4, 0), (ssize_t)(n + 4));
}

static void send_ack(peer *p, bool accept)
{
    static sapient_SapientMessage m;
    memset(&m, 0, sizeof m);
    m.which_content = sapient_SapientMessage_registration_ack_tag;
    m.content.registration_ack.has_acceptance = true;
    m.content.registration_ack.acceptance = accept;
    if (!accept) {
        m.content.registration_ack.ack_response_reason_count = 1;
        strcpy(m.content.registration_ack.ack_response_reason[0], "not on the list");
    }
    peer_send(p, &m);
}

/* A Task with a request and optionally one polygon region (lat/lon corners). */
static void send_task(peer *p, const char *id, int control, const char *request, int region_type,
                      const double *corners, int ncorners)
{
    static sapient_SapientMessage m;
    memset(&m, 0, sizeof m);
    m.which_content = sapient_SapientMessage_task_tag;
    sapient_Task *t = &m.content.task;
    t->has_task_id = t->has_control = true;
    strcpy(t->task_id, id);
    t->control = (sapient_Task_Control)control;
    if (request) {
        t->has_command = true;
        t->command.which_command = sapient_Task_Command_request_tag;
        strcpy(t->command.command.request, request);
    }
    if (ncorners > 0) {
        t->region_count = 1;
        sapient_Task_Region *g = &t->region[0];
        g->has_type = g->has_region_id = g->has_region_name = g->has_region_area = true;
        g->type = (sapient_Task_RegionType)region_type;
        strcpy(g->region_id, "01J0000000000000000000REG1");
        strcpy(g->region_name, "test region");
        g->region_area.which_fov_oneof = sapient_LocationOrRangeBearing_location_list_tag;
        sapient_LocationList *ll = &g->region_area.fov_oneof.location_list;
        ll->locations_count = (pb_size_t)ncorners;
        for (int i = 0; i < ncorners; i++) {
            sapient_Location *l = &ll->locations[i];
            l->has_x = l->has_y = l->has_coordinate_system = l->has_datum = true;
            l->y = corners[2 * i];
            l->x = corners[2 * i + 1];
            l->coordinate_system =
                sapient_LocationCoordinateSystem_LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M;
            l->datum = sapient_LocationDatum_LOCATION_DATUM_WGS84_E;
        }
    }
    peer_send(p, &m);
}

/* The TaskAck of a task; returns its status. */
static int expect_task_ack(peer *p, const char *id)
{
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_task_ack_tag, NULL);
    assert_string_equal(m->content.task_ack.task_id, id);
    return m->content.task_ack.task_status;
}

/* A node connected, registered and past its first StatusReport. */
static vt_sapient *registered_node(peer *p, const char *extra)
{
    vt_rig rig = rig_with_origin();
    char url[256];
    snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d?status=3600%s", p->port, extra);
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open(url, &rig, NULL, &s), VT_OK);
    peer_accept(p);
    peer_expect(p, sapient_SapientMessage_registration_tag, NULL);
    send_ack(p, true);
    peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    return s;
}

static const char *info_value(const sapient_DetectionReport *d, const char *type)
{
    for (pb_size_t i = 0; i < d->track_info_count; i++)
        if (strcmp(d->track_info[i].type, type) == 0)
            return d->track_info[i].value;
    return NULL;
}

/* A square of half-width `deg` degrees around a track's position. */
static void square_around(vt_vec3 enu, double deg, double out[4][2])
{
    vt_geodetic *g;
    assert_int_equal(vt_geodetic_new(origin[0], origin[1], origin[2], &g), VT_OK);
    double lat, lon, h;
    assert_int_equal(vt_geodetic_from_enu(g, enu, &lat, &lon, &h), VT_OK);
    vt_geodetic_free(g);
    const double c[4][2] = {{-1, -1}, {-1, 1}, {1, 1}, {1, -1}};
    for (int i = 0; i < 4; i++) {
        out[i][0] = lat + c[i][0] * deg;
        out[i][1] = lon + c[i][1] * deg;
    }
}

/* ---- tests ---- */

static void the_registration_comes_first_and_says_what_the_node_is(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_rig rig = rig_with_origin();
    char url[128];
    snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d?status=2.5", p->port);
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open(url, &rig, NULL, &s), VT_OK);
    peer_accept(p);
    assert_true(peer_next(p));
    assert_int_equal(p->m.which_content, sapient_SapientMessage_registration_tag);
    assert_string_equal(p->m.node_id, vt_sapient_node_id(s));
    assert_int_equal(strlen(p->m.node_id), 36);
    const sapient_Registration *r = &p->m.content.registration;
    assert_string_equal(r->icd_version, "BSI Flex 335 v2.0");
    assert_int_equal(r->node_definition[0].node_type,
                     sapient_Registration_NodeType_NODE_TYPE_CAMERA);
    assert_near(r->status_definition.status_interval.value, 2.5, 1e-6);
    assert_int_equal(r->status_definition.status_interval.units,
                     sapient_Registration_TimeUnits_TIME_UNITS_SECONDS);
    const sapient_Registration_DetectionClassDefinition *cd =
        &r->mode_definition[0].detection_definition[0].detection_class_definition[0];
    assert_int_equal(cd->class_definition_count, 3);
    assert_string_equal(cd->class_definition[0].type, "drone");
    assert_string_equal(cd->class_definition[1].type, "bird");
    assert_string_equal(cd->class_definition[2].type, "unknown");
    assert_int_equal(r->mode_definition[0].task.concurrent_tasks, 1);

    /* Before the fusion node accepts it, the node reports nothing. */
    scene sc;
    make_scene(&sc, 1.0, 3);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_false(st.registered);
    assert_int_equal(st.unregistered, 2); /* tracks 7 and 9; 8 is tentative */
    assert_int_equal(st.detections, 0);

    send_ack(p, true);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    const sapient_StatusReport *sr = &m->content.status_report;
    assert_int_equal(sr->info, sapient_StatusReport_Info_INFO_NEW);
    assert_int_equal(sr->system, sapient_StatusReport_System_SYSTEM_OK);
    assert_near(sr->node_location.y, origin[0], 1e-12);
    assert_near(sr->node_location.x, origin[1], 1e-12);
    assert_near(sr->node_location.z, origin[2], 1e-9);
    assert_int_equal(sr->node_location.datum, sapient_LocationDatum_LOCATION_DATUM_WGS84_E);
    vt_sapient_get_stats(s, &st);
    assert_true(st.registered);
    assert_int_equal(st.registrations, 1);
    vt_sapient_free(s);
    peer_free(p);
}

static void confirmed_tracks_are_reported_in_wgs84_with_their_class(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "&utc_offset=1700000000");
    scene sc;
    make_scene(&sc, 2.25, 3);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);

    vt_geodetic *g;
    assert_int_equal(vt_geodetic_new(origin[0], origin[1], origin[2], &g), VT_OK);
    char first_object[27] = "";
    for (int k = 0; k < 2; k++) {
        sapient_SapientMessage *m =
            peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
        const sapient_DetectionReport *d = &m->content.detection_report;
        const vt_track *t = &sc.tracks[k == 0 ? 0 : 2];
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)t->id);
        assert_string_equal(info_value(d, "track_id"), id);
        double lat, lon, h;
        assert_int_equal(vt_geodetic_from_enu(g, t->pos, &lat, &lon, &h), VT_OK);
        const sapient_Location *l = &d->location_oneof.location;
        assert_int_equal(d->which_location_oneof, sapient_DetectionReport_location_tag);
        assert_near(l->y, lat, 1e-12);
        assert_near(l->x, lon, 1e-12);
        assert_near(l->z, h, 1e-9);
        /* 1-sigma errors: sqrt(cov) metres as degrees (1 deg of latitude ~ 111.2 km here) */
        assert_near(l->y_error * 111254.0, sqrt(t->cov[3]), 0.01 * sqrt(t->cov[3]));
        assert_near(l->z_error, sqrt(t->cov[5]), 1e-12);
        assert_near(d->velocity_oneof.enu_velocity.east_rate, t->vel.x, 1e-12);
        assert_near(d->velocity_oneof.enu_velocity.up_rate, t->vel.z, 1e-12);
        assert_int_equal(m->timestamp.seconds, 1700000002);
        assert_near(m->timestamp.nanos, 250000000, 1);
        assert_int_equal(strlen(d->object_id), 26);
        assert_int_equal(strlen(d->report_id), 26);
        if (k == 0) {
            assert_string_equal(d->classification[0].type, "drone");
            assert_true(d->classification[0].confidence > 0.5f);
            assert_false(d->has_state);
            strcpy(first_object, d->object_id);
        } else {
            assert_string_equal(d->classification[0].type, "bird");
            assert_string_equal(d->state, "coasting");
            assert_string_not_equal(d->object_id, first_object);
        }
    }
    /* The same track keeps its object id from one frame set to the next. */
    make_scene(&sc, 2.5, 3);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
    assert_string_equal(m->content.detection_report.object_id, first_object);
    vt_geodetic_free(g);
    vt_sapient_free(s);
    peer_free(p);
}

static void coasting_tracks_and_birds_can_be_left_out(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "&coasting=0&birds=0");
    scene sc;
    make_scene(&sc, 1, 3);
    sc.tracks[2].status = VT_TRACK_CONFIRMED; /* a confirmed bird: left out as a bird */
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    sc.tracks[2].status = VT_TRACK_COASTING;
    sc.classes[2] = VT_CLASS_DRONE; /* a coasting drone: left out as coasting */
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.detections, 2); /* track 7, twice */
    vt_sapient_free(s);
    peer_free(p);
}

static void an_area_of_interest_keeps_only_the_tracks_inside_it(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    scene sc;
    make_scene(&sc, 1, 3);
    double sq[4][2];
    square_around(sc.tracks[0].pos, 0.001, sq); /* ~100 m around track 7 */
    send_task(p, "01J00000000000000000TASK01", sapient_Task_Control_CONTROL_START, NULL,
              sapient_Task_RegionType_REGION_TYPE_AREA_OF_INTEREST, &sq[0][0], 4);
    assert_int_equal(expect_task_ack(p, "01J00000000000000000TASK01"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
    assert_string_equal(info_value(&m->content.detection_report, "track_id"), "7");
    assert_string_equal(m->content.detection_report.task_id, "01J00000000000000000TASK01");
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.detections, 1);
    assert_int_equal(st.filtered, 1); /* track 9, outside */

    /* An area to ignore around track 7 instead: only track 9 is left. */
    send_task(p, "01J00000000000000000TASK02", sapient_Task_Control_CONTROL_START, NULL,
              sapient_Task_RegionType_REGION_TYPE_IGNORE, &sq[0][0], 4);
    assert_int_equal(expect_task_ack(p, "01J00000000000000000TASK02"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    m = peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
    assert_string_equal(info_value(&m->content.detection_report, "track_id"), "9");

    /* Stopping the task lifts the filter. */
    send_task(p, "01J00000000000000000TASK02", sapient_Task_Control_CONTROL_STOP, NULL, 0, NULL, 0);
    assert_int_equal(expect_task_ack(p, "01J00000000000000000TASK02"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.detections, 4);
    vt_sapient_free(s);
    peer_free(p);
}

static void stop_and_start_requests_turn_the_reports_off_and_on(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    scene sc;
    make_scene(&sc, 1, 3);
    send_task(p, "01J000000000000000000STOP1", sapient_Task_Control_CONTROL_START, "Stop", 0, NULL,
              0);
    assert_int_equal(expect_task_ack(p, "01J000000000000000000STOP1"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    /* The status that follows says the node is not detecting. */
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    const sapient_StatusReport *sr = &m->content.status_report;
    assert_string_equal(sr->active_task_id, "01J000000000000000000STOP1");
    bool not_detecting = false;
    for (pb_size_t i = 0; i < sr->status_count; i++)
        not_detecting |=
            sr->status[i].status_type == sapient_StatusReport_StatusType_STATUS_TYPE_NOT_DETECTING;
    assert_true(not_detecting);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.detections, 0);
    assert_int_equal(st.filtered, 2);

    send_task(p, "01J00000000000000000START1", sapient_Task_Control_CONTROL_START, "Start", 0, NULL,
              0);
    int skipped = 0;
    m = peer_expect(p, sapient_SapientMessage_task_ack_tag, &skipped);
    assert_int_equal(m->content.task_ack.task_status,
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    assert_int_equal(skipped, 0); /* nothing was reported while stopped */
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
    vt_sapient_free(s);
    peer_free(p);
}

static void tasks_it_cannot_do_are_rejected_with_a_reason(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    send_task(p, "01J0000000000000000000BAD1", sapient_Task_Control_CONTROL_START, "Dance", 0, NULL,
              0);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_task_ack_tag, NULL);
    assert_int_equal(m->content.task_ack.task_status,
                     sapient_TaskAck_TaskStatus_TASK_STATUS_REJECTED);
    assert_non_null(strstr(m->content.task_ack.reason[0], "'Dance'"));

    const double two[2][2] = {{51, 0}, {52, 0}};
    send_task(p, "01J0000000000000000000BAD2", sapient_Task_Control_CONTROL_START, NULL,
              sapient_Task_RegionType_REGION_TYPE_AREA_OF_INTEREST, &two[0][0], 2);
    m = peer_expect(p, sapient_SapientMessage_task_ack_tag, NULL);
    assert_int_equal(m->content.task_ack.task_status,
                     sapient_TaskAck_TaskStatus_TASK_STATUS_REJECTED);
    assert_non_null(strstr(m->content.task_ack.reason[0], "at least 3"));

    send_task(p, "01J0000000000000000000BAD3", sapient_Task_Control_CONTROL_STOP, NULL, 0, NULL, 0);
    m = peer_expect(p, sapient_SapientMessage_task_ack_tag, NULL);
    assert_int_equal(m->content.task_ack.task_status,
                     sapient_TaskAck_TaskStatus_TASK_STATUS_REJECTED);
    assert_non_null(strstr(m->content.task_ack.reason[0], "not in effect"));

    /* A heartbeat request: accepted, and a status report follows at once. */
    send_task(p, "01J0000000000000000000HB01", sapient_Task_Control_CONTROL_START, "Heartbeat", 0,
              NULL, 0);
    assert_int_equal(expect_task_ack(p, "01J0000000000000000000HB01"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.tasks, 4);
    assert_int_equal(st.tasks_rejected, 3);
    vt_sapient_free(s);
    peer_free(p);
}

static void garbage_is_answered_with_an_error_and_the_connection_stays(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    const uint8_t junk[] = {5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(send(p->fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_error_tag, NULL);
    assert_int_equal(m->content.error.error_message_count, 1);
    assert_non_null(strstr(m->content.error.error_message[0], "cannot decode"));
    send_task(p, "01J0000000000000000000HB02", sapient_Task_Control_CONTROL_START, "Heartbeat", 0,
              NULL, 0);
    assert_int_equal(expect_task_ack(p, "01J0000000000000000000HB02"),
                     sapient_TaskAck_TaskStatus_TASK_STATUS_ACCEPTED);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.bad_messages, 1);
    assert_int_equal(st.connections, 1);
    vt_sapient_free(s);
    peer_free(p);
}

static void a_lost_connection_is_made_again_and_registered_again(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    peer_hang_up(p);
    peer_accept(p); /* the node comes back after its backoff */
    assert_true(peer_next(p));
    assert_int_equal(p->m.which_content, sapient_SapientMessage_registration_tag);
    send_ack(p, true);
    peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.connections, 2);
    assert_int_equal(st.registrations, 2);
    vt_sapient_free(s);
    peer_free(p);
}

static void a_refused_registration_is_tried_again_on_a_new_connection(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_rig rig = rig_with_origin();
    char url[128];
    snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d", p->port);
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open(url, &rig, NULL, &s), VT_OK);
    peer_accept(p);
    peer_expect(p, sapient_SapientMessage_registration_tag, NULL);
    send_ack(p, false);
    assert_false(peer_next(p)); /* the node hangs up */
    close(p->fd);
    peer_accept(p);
    peer_expect(p, sapient_SapientMessage_registration_tag, NULL);
    vt_sapient_stats st;
    vt_sapient_get_stats(s, &st);
    assert_int_equal(st.rejections, 1);
    assert_false(st.registered);
    vt_sapient_free(s);
    peer_free(p);
}

static void cameras_lost_bring_a_status_report_at_once(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    scene sc;
    make_scene(&sc, 1, 3);
    sc.r.ntracks = 0;
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK); /* the first frame set: news */
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    assert_int_equal(m->content.status_report.system, sapient_StatusReport_System_SYSTEM_OK);
    make_scene(&sc, 1.1, 2);
    sc.r.ntracks = 0;
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    const sapient_StatusReport *sr = &m->content.status_report;
    assert_int_equal(sr->info, sapient_StatusReport_Info_INFO_NEW);
    assert_int_equal(sr->system, sapient_StatusReport_System_SYSTEM_WARNING);
    bool named = false;
    for (pb_size_t i = 0; i < sr->status_count; i++)
        named |= strstr(sr->status[i].status_value, "cam03") != NULL;
    assert_true(named);
    vt_sapient_free(s);
    peer_free(p);
}

static void status_reports_never_come_before_their_time(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_rig rig = rig_with_origin();
    char url[128];
    snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d?status=0.1", p->port);
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open(url, &rig, NULL, &s), VT_OK);
    peer_accept(p);
    peer_expect(p, sapient_SapientMessage_registration_tag, NULL);
    send_ack(p, true);
    double t[5];
    for (int k = 0; k < 5; k++) {
        sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
        assert_int_equal(m->content.status_report.info,
                         k == 0 ? sapient_StatusReport_Info_INFO_NEW
                                : sapient_StatusReport_Info_INFO_UNCHANGED);
        t[k] = (double)m->timestamp.seconds + m->timestamp.nanos * 1e-9;
        /* The k-th periodic report is due k intervals after the first (1 ms of rounding). */
        assert_true(t[k] - t[0] >= 0.1 * k - 1e-3);
    }
    vt_sapient_free(s);
    peer_free(p);
}

static void alerts_keep_their_id_from_raise_to_clear(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    vt_alert_event e = {.seq = 1,
                        .t = 3.0,
                        .wall = 1700000000.0,
                        .kind = VT_ALERT_ZONE,
                        .raised = true,
                        .rule = "runway",
                        .track = 7,
                        .value = 120,
                        .pos = {400, 300, 120},
                        .message = "track 7 in zone runway"};
    assert_int_equal(vt_sapient_alert(s, &e), VT_OK);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_alert_tag, NULL);
    char id[27];
    strcpy(id, m->content.alert.alert_id);
    assert_int_equal(m->content.alert.status, sapient_Alert_AlertStatus_ALERT_STATUS_ACTIVE);
    assert_int_equal(m->content.alert.priority,
                     sapient_Alert_DiscretePriority_DISCRETE_PRIORITY_HIGH);
    assert_string_equal(m->content.alert.description, "track 7 in zone runway");
    assert_int_equal(m->content.alert.which_location_oneof, sapient_Alert_location_tag);
    assert_int_equal(m->content.alert.associated_detection_count, 1);
    char object[27];
    strcpy(object, m->content.alert.associated_detection[0].object_id);

    scene sc;
    make_scene(&sc, 3.0, 3);
    assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    m = peer_expect(p, sapient_SapientMessage_detection_report_tag, NULL);
    assert_string_equal(m->content.detection_report.object_id, object); /* the alert's track */

    e.raised = false;
    e.seq = 2;
    assert_int_equal(vt_sapient_alert(s, &e), VT_OK);
    m = peer_expect(p, sapient_SapientMessage_alert_tag, NULL);
    assert_string_equal(m->content.alert.alert_id, id);
    assert_int_equal(m->content.alert.status, sapient_Alert_AlertStatus_ALERT_STATUS_CLEAR);
    vt_sapient_free(s);
    peer_free(p);
}

static void closing_says_goodbye(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_sapient *s = registered_node(p, "");
    vt_sapient_free(s);
    sapient_SapientMessage *m = peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    assert_int_equal(m->content.status_report.system, sapient_StatusReport_System_SYSTEM_GOODBYE);
    assert_false(peer_next(p));
    peer_free(p);
}

static void *free_node(void *s)
{
    vt_sapient_free(s);
    return NULL;
}

static void nothing_follows_the_goodbye(void **state)
{
    (void)state;
    peer *p = peer_listen();
    vt_rig rig = rig_with_origin();
    char url[160];
    snprintf(url, sizeof url, "sapient+tcp://127.0.0.1:%d?status=0.05&queue=65536&linger=60",
             p->port);
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open(url, &rig, NULL, &s), VT_OK);
    peer_accept(p);
    peer_expect(p, sapient_SapientMessage_registration_tag, NULL);
    send_ack(p, true);
    peer_expect(p, sapient_SapientMessage_status_report_tag, NULL);
    /* More reports than the sockets hold while the fusion node reads nothing: the node is
     * still writing when it says goodbye, and several status intervals pass before the
     * GOODBYE is written. */
    scene sc;
    make_scene(&sc, 0, 3);
    for (int k = 0; k < 20000; k++) {
        sc.r.t = k / 30.0;
        assert_int_equal(vt_sapient_publish(s, &sc.r), VT_OK);
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, free_node, s), 0);
    nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
    int goodbyes = 0, after = 0;
    while (peer_next(p)) {
        if (goodbyes)
            after++;
        goodbyes += p->m.which_content == sapient_SapientMessage_status_report_tag &&
                    p->m.content.status_report.system == sapient_StatusReport_System_SYSTEM_GOODBYE;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(goodbyes, 1);
    assert_int_equal(after, 0);
    peer_free(p);
}

static void bad_urls_and_rigs_are_errors_that_say_what(void **state)
{
    (void)state;
    vt_rig rig = rig_with_origin();
    const char *bad[][2] = {
        {"sapient+tcp://127.0.0.1:0", "port"},
        {"sapient+tcp://127.0.0.1", "PORT"},
        {"sapient+udp://127.0.0.1:5000", "sapient+tcp://"},
        {"sapient+tcp://127.0.0.1:5000?status=0", "status"},
        {"sapient+tcp://127.0.0.1:5000?wait=x", "wait"},
        {"sapient+tcp://127.0.0.1:5000?node_id=42", "node_id"},
        {"sapient+tcp://127.0.0.1:5000?colour=red", "colour"},
        {"sapient+tcp://127.0.0.1:5000?birds=2", "birds"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_sapient *s = (vt_sapient *)1;
        vt_status st = vt_sapient_open(bad[i][0], &rig, NULL, &s);
        if (st == VT_OK || !strstr(vt_last_error(), bad[i][1]))
            fail_msg("%s: status %d, message '%s' (expected one naming '%s')", bad[i][0], st,
                     vt_last_error(), bad[i][1]);
        assert_null(s);
    }
    rig.has_origin = false;
    vt_sapient *s = NULL;
    assert_int_equal(vt_sapient_open("sapient+tcp://127.0.0.1:5000", &rig, NULL, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "origin"));
}

static void node_ids_are_uuids_given_or_derived_the_same_way(void **state)
{
    (void)state;
    vt_rig rig = rig_with_origin();
    vt_sapient *a = NULL, *b = NULL, *c = NULL;
    /* No fusion node listens on port 9 of 127.0.0.1: the nodes keep trying in the background. */
    assert_int_equal(vt_sapient_open("sapient+tcp://127.0.0.1:9?linger=0", &rig, NULL, &a), VT_OK);
    assert_int_equal(vt_sapient_open("sapient+tcp://127.0.0.1:9?linger=0", &rig, NULL, &b), VT_OK);
    assert_string_equal(vt_sapient_node_id(a), vt_sapient_node_id(b));
    const char *id = vt_sapient_node_id(a);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '8'); /* version 8 */
    assert_non_null(strchr("89ab", id[19]));
    assert_int_equal(vt_sapient_open("sapient+tcp://127.0.0.1:9?linger=0&node_id="
                                     "0F0E0D0C-0B0A-4908-8706-050403020100",
                                     &rig, NULL, &c),
                     VT_OK);
    assert_string_equal(vt_sapient_node_id(c), "0f0e0d0c-0b0a-4908-8706-050403020100");
    vt_sapient_free(a);
    vt_sapient_free(b);
    vt_sapient_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_registration_comes_first_and_says_what_the_node_is),
        cmocka_unit_test(confirmed_tracks_are_reported_in_wgs84_with_their_class),
        cmocka_unit_test(coasting_tracks_and_birds_can_be_left_out),
        cmocka_unit_test(an_area_of_interest_keeps_only_the_tracks_inside_it),
        cmocka_unit_test(stop_and_start_requests_turn_the_reports_off_and_on),
        cmocka_unit_test(tasks_it_cannot_do_are_rejected_with_a_reason),
        cmocka_unit_test(garbage_is_answered_with_an_error_and_the_connection_stays),
        cmocka_unit_test(a_lost_connection_is_made_again_and_registered_again),
        cmocka_unit_test(a_refused_registration_is_tried_again_on_a_new_connection),
        cmocka_unit_test(cameras_lost_bring_a_status_report_at_once),
        cmocka_unit_test(status_reports_never_come_before_their_time),
        cmocka_unit_test(alerts_keep_their_id_from_raise_to_clear),
        cmocka_unit_test(closing_says_goodbye),
        cmocka_unit_test(nothing_follows_the_goodbye),
        cmocka_unit_test(bad_urls_and_rigs_are_errors_that_say_what),
        cmocka_unit_test(node_ids_are_uuids_given_or_derived_the_same_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
