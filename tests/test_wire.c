/*
 * tests/test_wire.c - the wire format: a TrackBatch decodes back to what was
 * encoded (any number of tracks), decodes with protoc (a decoder nobody here
 * wrote) into the expected values, carries WGS84 only with a rig origin;
 * every message type becomes valid JSON; a TrackBatch from before the thermal
 * confirmation fields still decodes, and one with them round-trips and reads
 * with the older schema; VoxelChunk payloads round-trip in
 * each of their three layouts (u32_le, u32_shuffle4, u32_sparse), read with
 * the `lz4` tool into the layout the docs describe, and a VoxelChunk made from
 * a real vote grid carries its votes; garbage and truncated messages, and
 * garbage inside a valid LZ4 frame, give clean errors. A FrameSetStats
 * decodes into structs with every figure back; a truncated or garbage one is
 * VT_EPARSE and leaves nothing allocated.
 *
 * protoc and lz4 are required (scripts/install-deps installs them): a test
 * that cannot run them fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "stream/lz4chunk_internal.h"
#include "stream/lz4frame_internal.h"
#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#include "vt_test_wire.h"
#define VT_TEST_NAME "test_wire"
#include "vt_test_tmp.h"

/* proto/ of the source tree, from this file's path. */
static const char *proto_dir(void)
{
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", VT_TEST_SOURCE_DIR "/test_wire.c");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    strncat(dir, "/../proto", sizeof dir - strlen(dir) - 1);
    return dir;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Runs a shell command and returns its stdout (malloc'ed); fails the test on a non-zero exit. */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096)
            out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    int rc = pclose(p);
    if (rc != 0) {
        print_error("'%s' failed (status %d): is it installed? (scripts/install-deps)\n", cmd, rc);
        fail();
    }
    return out;
}

static void encode_batch(vt_wire_encoder *e, const vt_test_result *t, const uint8_t **msg,
                         size_t *len)
{
    assert_int_equal(vt_wire_encode_tracks(e, &t->r, msg, len), VT_OK);
}

/* ---- TrackBatch -------------------------------------------------------- */

static void track_batch_round_trips_every_field_of_300_tracks(void **state)
{
    (void)state;
    vt_test_seed(6);
    vt_test_result t;
    vt_test_result_make(&t, 300, 4, 77);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(msg, len, &b), VT_OK);
    assert_int_equal(b.frame, 77);
    assert_int_equal(b.time_ns, llround(t.r.t * 1e9));
    assert_int_equal(b.count, 300);
    for (size_t i = 0; i < b.count; i++) {
        const vt_track *a = &t.tracks[i], *d = &b.tracks[i].track;
        assert_int_equal(d->id, a->id);
        assert_int_equal(d->status, a->status);
        assert_true(d->pos.x == a->pos.x && d->pos.y == a->pos.y && d->pos.z == a->pos.z);
        assert_true(d->vel.x == a->vel.x && d->vel.y == a->vel.y && d->vel.z == a->vel.z);
        assert_memory_equal(d->cov, a->cov, sizeof a->cov);
        assert_int_equal(d->cams, a->cams);
        assert_int_equal(d->thermal, a->thermal);
        assert_int_equal(d->thermal_hits, a->thermal_hits);
        assert_int_equal(d->camera_mask, a->camera_mask);
        assert_int_equal(d->hits, a->hits);
        assert_int_equal(d->misses, a->misses);
        assert_int_equal(d->age, a->age);
        assert_true(d->accel_rms == a->accel_rms);
        assert_true(b.tracks[i].flicker == t.flicker[i]);
        assert_int_equal(b.tracks[i].thermal_confirmed, a->thermal_hits > 0);
        vt_wire_class want = a->status == VT_TRACK_TENTATIVE ? VT_WIRE_CLASS_UNKNOWN
                             : t.classes[i] == VT_CLASS_BIRD ? VT_WIRE_CLASS_BIRD
                                                             : VT_WIRE_CLASS_DRONE;
        assert_int_equal(b.tracks[i].cls, want);
        assert_true(b.tracks[i].confidence >= 0 && b.tracks[i].confidence <= 1);
        assert_false(b.tracks[i].has_geo);
    }
    vt_wire_track_batch_free(&b);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void encoder_reuses_its_buffer_from_frame_to_frame(void **state)
{
    (void)state;
    vt_test_seed(7);
    vt_test_result t;
    vt_test_result_make(&t, 250, 4, 1);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *first, *msg;
    size_t len;
    encode_batch(e, &t, &first, &len);
    for (int k = 0; k < 5; k++) {
        t.r.frame++;
        encode_batch(e, &t, &msg, &len);
        assert_ptr_equal(msg, first);
    }
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void empty_batch_is_a_valid_message(void **state)
{
    (void)state;
    vt_test_result t;
    vt_test_result_make(&t, 0, 0, 0);
    t.r.t = 0;
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    assert_non_null(msg);
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(msg, len, &b), VT_OK);
    assert_int_equal(b.count, 0);
    vt_wire_track_batch_free(&b);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void track_batch_decodes_with_protoc_into_the_expected_values(void **state)
{
    (void)state;
    vt_test_seed(8);
    vt_test_result t;
    vt_test_result_make(&t, 8, 4, 42);
    t.tracks[0].pos = (vt_vec3){12.5, -3.25, 150.0};
    t.tracks[0].status = VT_TRACK_CONFIRMED;
    t.classes[0] = VT_CLASS_BIRD;
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    write_file(vt_test_tmp_path("batch.pb"), msg, len);
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=voxtrack.v1.TrackBatch -I'%s' voxtrack.proto < '%s' 2>&1",
             proto_dir(), vt_test_tmp_path("batch.pb"));
    char *text = run_capture(cmd);
    assert_non_null(strstr(text, "frame: 42\n"));
    assert_non_null(strstr(text, "id: 1000\n"));
    assert_non_null(strstr(text, "id: 1007\n"));
    assert_non_null(strstr(text, "status: TRACK_STATUS_CONFIRMED"));
    assert_non_null(strstr(text, "target_class: TARGET_CLASS_BIRD"));
    assert_non_null(strstr(text, "x: 12.5\n"));
    assert_non_null(strstr(text, "y: -3.25\n"));
    assert_non_null(strstr(text, "z: 150\n"));
    assert_null(strstr(text, "latitude_deg")); /* no origin: no WGS84 */
    /* protoc counts the tracks too. */
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "tracks {")); p++)
        n++;
    assert_int_equal(n, 8);
    free(text);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void rig_with_origin_adds_wgs84_and_camera_ids(void **state)
{
    (void)state;
    vt_test_seed(9);
    vt_rig rig;
    vt_test_rig_make(&rig, 3, true);
    vt_test_result t;
    vt_test_result_make(&t, 2, 3, 5);
    t.tracks[0].pos = (vt_vec3){0, 0, 0};
    t.tracks[1].pos = (vt_vec3){0, 1000, 0};
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(&rig, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(msg, len, &b), VT_OK);
    assert_true(b.tracks[0].has_geo);
    assert_near(b.tracks[0].lat_deg, 51.5, 1e-9);
    assert_near(b.tracks[0].lon_deg, -1.25, 1e-9);
    assert_near(b.tracks[0].h_m, 100.0, 1e-6);
    /* 1 km north: about 0.009 degrees of latitude, the same longitude. */
    assert_near(b.tracks[1].lat_deg, 51.5 + 1000.0 / 111257.0, 1e-4);
    assert_near(b.tracks[1].lon_deg, -1.25, 1e-6);
    vt_wire_track_batch_free(&b);

    char *json = NULL;
    assert_int_equal(vt_wire_encode_stats(e, &t.r, &msg, &len), VT_OK);
    assert_int_equal(vt_wire_to_json(VT_MSG_FRAME_SET_STATS, msg, len, &json), VT_OK);
    assert_non_null(strstr(json, "\"id\":\"c2\""));
    free(json);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
    vt_rig_free(&rig);
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *parse_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) {
        print_error("invalid JSON (%s at %d): %s\n", err.text, err.position, text);
        fail();
    }
    return j;
}

/* ---- the thermal confirmation fields (TrackUpdate 22-25, appended) ------ */

/*
 * A TrackBatch as the encoder wrote it before fields 22-25 existed (protoc --encode of
 * the .proto of then, text in the comment): frame 42, one confirmed drone, id 7 at
 * (100.5, -20.25, 150), 6 cameras, 2 thermal, thermal_confirmed, 5 thermal hits, 12 hits,
 * age 14, accel_rms 0.5, flicker 1.25, camera_mask 63, confidence 0.75.
 */
static const uint8_t old_track_batch[] = {
  0x08, 0x2a, 0x10, 0x80, 0x9c, 0xc9, 0x9b, 0x05, 0x1a, 0x98, 0x01, 0x08,
  0x07, 0x10, 0x01, 0x18, 0x80, 0x9c, 0xc9, 0x9b, 0x05, 0x22, 0x1b, 0x09,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x59, 0x40, 0x11, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x40, 0x34, 0xc0, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
  0x62, 0x40, 0x2a, 0x12, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
  0x40, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xbf, 0x32, 0x30,
  0x7b, 0x14, 0xae, 0x47, 0xe1, 0x7a, 0x84, 0x3f, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x7b, 0x14, 0xae, 0x47, 0xe1, 0x7a, 0x94, 0x3f, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0xb8, 0x1e, 0x85, 0xeb, 0x51, 0xb8, 0x9e, 0x3f,
  0x55, 0x00, 0x00, 0x40, 0x3f, 0x58, 0x01, 0x60, 0x06, 0x68, 0x02, 0x70,
  0x01, 0x78, 0x05, 0x80, 0x01, 0x0c, 0x90, 0x01, 0x0e, 0x9d, 0x01, 0x00,
  0x00, 0x00, 0x3f, 0xa5, 0x01, 0x00, 0x00, 0xa0, 0x3f, 0xa9, 0x01, 0x3f,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
};

static void track_batch_from_before_the_thermal_fields_still_decodes(void **state)
{
    (void)state;
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(old_track_batch, sizeof old_track_batch, &b), VT_OK);
    assert_int_equal(b.frame, 42);
    assert_int_equal(b.count, 1);
    const vt_wire_track *w = &b.tracks[0];
    assert_int_equal(w->track.id, 7);
    assert_int_equal(w->track.status, VT_TRACK_CONFIRMED);
    assert_true(w->track.pos.x == 100.5 && w->track.pos.y == -20.25 && w->track.pos.z == 150);
    assert_int_equal(w->track.cams, 6);
    assert_int_equal(w->track.thermal, 2);
    assert_int_equal(w->track.thermal_hits, 5);
    assert_true(w->thermal_confirmed);
    assert_int_equal(w->track.hits, 12);
    assert_int_equal(w->track.age, 14);
    assert_int_equal(w->track.camera_mask, 63);
    assert_true(w->flicker == 1.25f && w->confidence == 0.75f);
    assert_int_equal(w->cls, VT_WIRE_CLASS_DRONE);
    /* The fields it did not have read as "no fusion". */
    assert_int_equal(w->fusion.observed, 0);
    assert_int_equal(w->fusion.confirmed, 0);
    assert_true(isnan(w->fusion.rate) && isnan(w->fusion.ratio));
    vt_wire_track_batch_free(&b);

    char *json = NULL;
    assert_int_equal(
        vt_wire_to_json(VT_MSG_TRACK_BATCH, old_track_batch, sizeof old_track_batch, &json), VT_OK);
    json_t *j = parse_json(json);
    json_t *k = json_array_get(json_object_get(j, "tracks"), 0);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_hits")), 5);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_observed")), 0);
    assert_null(json_object_get(k, "thermal_rate")); /* optional: absent, not 0 */
    assert_null(json_object_get(k, "thermal_ratio"));
    json_decref(j);
    free(json);
}

/* The .proto without the lines of fields 22-25: the schema an older reader has. */
static void write_old_proto(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/voxtrack.proto", proto_dir());
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    snprintf(path, sizeof path, "%s/voxtrack.proto", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    char line[512];
    int left_out = 0;
    while (fgets(line, sizeof line, in)) {
        bool appended = strstr(line, " = 22;") || strstr(line, " = 23;") ||
                        strstr(line, " = 24;") || strstr(line, " = 25;");
        if (appended && strstr(line, "thermal_")) {
            left_out++;
            continue;
        }
        fputs(line, out);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(left_out, 4);
}

static void thermal_confirmation_round_trips_and_old_readers_skip_it(void **state)
{
    (void)state;
    vt_test_seed(31);
    vt_test_result t;
    vt_test_result_make(&t, 3, 4, 9);
    vt_track_fusion fu[3] = {{10, 9, 0.9f, 1.75f}, {4, 0, 0.0f, NAN}, {0, 0, NAN, NAN}};
    t.r.track_fusion = fu;
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(msg, len, &b), VT_OK);
    assert_int_equal(b.count, 3);
    for (int i = 0; i < 3; i++) {
        const vt_track_fusion *d = &b.tracks[i].fusion;
        assert_int_equal(d->observed, fu[i].observed);
        assert_int_equal(d->confirmed, fu[i].confirmed);
        assert_true(d->rate == fu[i].rate || (isnan(d->rate) && isnan(fu[i].rate)));
        assert_true(d->ratio == fu[i].ratio || (isnan(d->ratio) && isnan(fu[i].ratio)));
    }
    vt_wire_track_batch_free(&b);

    /* JSON (what `voxtrack listen` prints): a rate of 0 is there, a missing one is not. */
    char *json = NULL;
    assert_int_equal(vt_wire_to_json(VT_MSG_TRACK_BATCH, msg, len, &json), VT_OK);
    json_t *j = parse_json(json);
    json_t *ts = json_object_get(j, "tracks");
    json_t *k = json_array_get(ts, 0);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_observed")), 10);
    assert_int_equal(json_integer_value(json_object_get(k, "thermal_confirmations")), 9);
    assert_near(json_number_value(json_object_get(k, "thermal_rate")), 0.9, 1e-6);
    assert_near(json_number_value(json_object_get(k, "thermal_ratio")), 1.75, 1e-6);
    k = json_array_get(ts, 1);
    assert_true(json_is_number(json_object_get(k, "thermal_rate")));
    assert_null(json_object_get(k, "thermal_ratio"));
    assert_null(json_object_get(json_array_get(ts, 2), "thermal_rate"));
    json_decref(j);
    free(json);

    /* A reader with the schema of before the fields: every old field as before, the new
       ones as numbered unknown fields it skips. */
    char dir[1024], cmd[3000];
    snprintf(dir, sizeof dir, "%s", vt_test_tmp_path("old-proto"));
    assert_int_equal(mkdir(dir, 0700), 0);
    write_old_proto(dir);
    write_file(vt_test_tmp_path("fusion.pb"), msg, len);
    snprintf(cmd, sizeof cmd,
             "protoc --decode=voxtrack.v1.TrackBatch -I'%s' voxtrack.proto < '%s' 2>&1", dir,
             vt_test_tmp_path("fusion.pb"));
    char *text = run_capture(cmd);
    assert_non_null(strstr(text, "frame: 9\n"));
    assert_non_null(strstr(text, "id: 1000\n"));
    assert_non_null(strstr(text, "id: 1002\n"));
    assert_null(strstr(text, "thermal_observed"));
    assert_non_null(strstr(text, "22: 10\n")); /* thermal_observed, unknown to it */
    assert_non_null(strstr(text, "23: 9\n"));
    free(text);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void every_message_becomes_valid_json(void **state)
{
    (void)state;
    vt_test_seed(10);
    vt_rig rig;
    vt_test_rig_make(&rig, 4, false);
    vt_test_result t;
    vt_test_result_make(&t, 3, 4, 9);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(&rig, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    char *text;

    encode_batch(e, &t, &msg, &len);
    assert_int_equal(vt_wire_to_json(VT_MSG_TRACK_BATCH, msg, len, &text), VT_OK);
    json_t *j = parse_json(text);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "TrackBatch");
    assert_int_equal(json_integer_value(json_object_get(j, "frame")), 9);
    json_t *tracks = json_object_get(j, "tracks");
    assert_int_equal(json_array_size(tracks), 3);
    json_t *t0 = json_array_get(tracks, 0);
    assert_int_equal(json_integer_value(json_object_get(t0, "id")), 1000);
    assert_near(json_real_value(json_object_get(json_object_get(t0, "position"), "x")),
                t.tracks[0].pos.x, 1e-6);
    assert_int_equal(json_array_size(json_object_get(t0, "covariance")), 6);
    assert_string_equal(json_string_value(json_object_get(t0, "status")), "tentative");
    json_decref(j);
    free(text);

    assert_int_equal(vt_wire_encode_detections(e, &t.r, &msg, &len), VT_OK);
    assert_int_equal(vt_wire_to_json(VT_MSG_DETECTION_BATCH, msg, len, &text), VT_OK);
    j = parse_json(text);
    assert_int_equal(json_array_size(json_object_get(j, "detections")), 3);
    json_decref(j);
    free(text);

    /* Camera 1 is absent in every set: its drops count up, frame set by frame set. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(vt_wire_encode_stats(e, &t.r, &msg, &len), VT_OK);
    assert_int_equal(vt_wire_to_json(VT_MSG_FRAME_SET_STATS, msg, len, &text), VT_OK);
    j = parse_json(text);
    json_t *cams = json_object_get(j, "cameras");
    assert_int_equal(json_array_size(cams), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cams, 1), "drops")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(cams, 0), "drops")), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cams, 3), "id")), "c3");
    assert_near(json_real_value(json_object_get(j, "voting_s")), 0.002, 1e-12);
    json_decref(j);
    free(text);

    vt_wire_health h = {.uptime_s = 3.5,
                        .frame_sets = 100,
                        .frame_sets_per_s = 29.5,
                        .cameras_live = 3,
                        .cameras_total = 4,
                        .tracks = 7,
                        .confirmed_tracks = 5,
                        .stream_errors = 2};
    assert_int_equal(vt_wire_encode_health(e, &h, &msg, &len), VT_OK);
    assert_int_equal(vt_wire_to_json(VT_MSG_HEALTH, msg, len, &text), VT_OK);
    j = parse_json(text);
    assert_string_equal(json_string_value(json_object_get(j, "version")), vt_version());
    assert_int_equal(json_integer_value(json_object_get(j, "frame_sets")), 100);
    assert_int_equal(json_integer_value(json_object_get(j, "confirmed_tracks")), 5);
    json_decref(j);
    free(text);

    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
    vt_rig_free(&rig);
}

/* ---- VoxelChunk -------------------------------------------------------- */

static vt_wire_voxel_block *make_blocks(size_t n)
{
    vt_wire_voxel_block *b = calloc(n, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].bx = (int32_t)i - 3;
        b[i].by = -(int32_t)i;
        b[i].bz = 7;
        /* A ray's path: a line of voted voxels in an otherwise empty block. */
        for (int k = 0; k < 8; k++)
            b[i].votes[(k * 8 + (k + (int)i) % 8) * 8 + 3] = 65536u * (uint32_t)(k + 1);
    }
    return b;
}

/* Where field `num` of a message starts (its bytes, or its varint), by walking the protobuf by
   hand; *plen: its length for a length-delimited field. NULL when it is absent. */
static const uint8_t *find_field(const uint8_t *p, size_t len, int num, size_t *plen)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t key = 0, v = 0;
        for (int s = 0; p < end; s += 7) {
            key |= (uint64_t)(*p & 0x7f) << s;
            if (!(*p++ & 0x80))
                break;
        }
        int wt = (int)(key & 7);
        if (wt == 0 && (int)(key >> 3) == num)
            return p;
        if (wt == 0) {
            while (p < end && (*p++ & 0x80))
                ;
        } else if (wt == 1) {
            p += 8;
        } else if (wt == 5) {
            p += 4;
        } else if (wt == 2) {
            for (int s = 0; p < end; s += 7) {
                v |= (uint64_t)(*p & 0x7f) << s;
                if (!(*p++ & 0x80))
                    break;
            }
            if ((int)(key >> 3) == num) {
                *plen = (size_t)v;
                return p;
            }
            p += v;
        }
    }
    return NULL;
}

/* The bytes of field 8 (payload) of a VoxelChunk. */
static const uint8_t *find_payload(const uint8_t *p, size_t len, size_t *plen)
{
    return find_field(p, len, 8, plen);
}

/* What the payload of `n` blocks holds decompressed in layout `enc`, written here from
   docs/STREAMING.md (not from the encoder); *size: its bytes. */
static uint8_t *expected_payload(const vt_wire_voxel_block *b, size_t n, int enc, size_t *size)
{
    uint8_t *out = calloc(n * 2112 + 1, 1), *p = out;
    size_t nv = n * 512;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 512; k++) {
            uint32_t v = b[i].votes[k];
            for (int q = 0; q < 4; q++) {
                uint8_t byte = (uint8_t)(v >> (8 * q));
                if (enc == VT__VOXEL_U32_LE)
                    out[4 * (i * 512 + k) + (size_t)q] = byte;
                else if (enc == VT__VOXEL_U32_SHUFFLE4)
                    out[(size_t)q * nv + i * 512 + k] = byte;
            }
        }
    if (enc != VT__VOXEL_U32_SPARSE) {
        *size = 4 * nv;
        return out;
    }
    p = out + 64 * n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 512; k++)
            if (b[i].votes[k]) {
                out[64 * i + k / 8] |= (uint8_t)(1u << (k % 8));
                for (int q = 0; q < 4; q++)
                    *p++ = (uint8_t)(b[i].votes[k] >> (8 * q));
            }
    *size = (size_t)(p - out);
    return out;
}

/* The payload of a VoxelChunk through `lz4 -d` is exactly `want`. */
static void lz4_tool_reads(const uint8_t *msg, size_t len, const char *name, const uint8_t *want,
                           size_t size)
{
    size_t plen = 0;
    const uint8_t *payload = find_payload(msg, len, &plen);
    assert_non_null(payload);
    char cmd[2400], lz[1100], raw[1100];
    snprintf(lz, sizeof lz, "%s.lz4", vt_test_tmp_path(name));
    snprintf(raw, sizeof raw, "%s.raw", vt_test_tmp_path(name));
    write_file(lz, payload, plen);
    snprintf(cmd, sizeof cmd, "lz4 -d -f -q '%s' '%s'", lz, raw);
    free(run_capture(cmd));
    FILE *f = fopen(raw, "rb");
    assert_non_null(f);
    uint8_t *got = malloc(size + 1);
    assert_int_equal(fread(got, 1, size + 1, f), size);
    fclose(f);
    assert_memory_equal(got, want, size);
    free(got);
}

static void voxel_chunk_round_trips_and_its_payload_reads_with_lz4(void **state)
{
    (void)state;
    size_t n = 20;
    vt_wire_voxel_block *blocks = make_blocks(n);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    vt_wire_voxel_info info = {.frame = 3, .t = 0.1, .voxel_size = 0.5, .origin = {-100, -50, 0}};
    const char *names[] = {"u32_le", "u32_shuffle4", "u32_sparse"};
    for (int enc = 0; enc <= 3; enc++) { /* 3: the default, vt_wire_encode_voxel_chunk */
        const uint8_t *msg;
        size_t len;
        if (enc < 3)
            assert_int_equal(vt__wire_encode_voxel_chunk_as(e, &info, blocks, n, enc, &msg, &len),
                             VT_OK);
        else
            assert_int_equal(vt_wire_encode_voxel_chunk(e, &info, blocks, n, &msg, &len), VT_OK);
        int layout = enc < 3 ? enc : VT__VOXEL_U32_SPARSE;
        assert_true(len < n * 2048 / 4); /* mostly zeros: it must compress well */
        /* u32_le is the proto3 default: not written, so the chunk is byte for byte what
           encoders wrote before the field existed. */
        size_t flen;
        assert_true((find_field(msg, len, 10, &flen) == NULL) == (layout == VT__VOXEL_U32_LE));

        vt_wire_voxel_info back;
        vt_wire_voxel_block *got = NULL;
        size_t count = 0;
        assert_int_equal(vt_wire_decode_voxel_chunk(msg, len, &back, &got, &count), VT_OK);
        assert_int_equal(count, n);
        assert_int_equal(back.frame, 3);
        assert_near(back.voxel_size, 0.5, 0);
        assert_near(back.origin.x, -100, 0);
        assert_memory_equal(got, blocks, n * sizeof *blocks);
        free(got);

        size_t size;
        uint8_t *want = expected_payload(blocks, n, layout, &size);
        char *text;
        assert_int_equal(vt_wire_to_json(VT_MSG_VOXEL_CHUNK, msg, len, &text), VT_OK);
        json_t *j = parse_json(text);
        assert_int_equal(json_integer_value(json_object_get(j, "blocks")), 20);
        assert_int_equal(json_integer_value(json_object_get(j, "raw_bytes")), size);
        assert_string_equal(json_string_value(json_object_get(j, "encoding")), names[layout]);
        json_decref(j);
        free(text);

        lz4_tool_reads(msg, len, "votes", want, size);
        free(want);
    }
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vt__wire_encode_voxel_chunk_as(e, &info, blocks, n, 3, &msg, &len), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "encoding 3"));
    vt_wire_encoder_free(e);
    free(blocks);
}

/* Rays from 4 cameras at the corners of a square that cross at two points, and a few rays of
   one camera alone (their blocks never reach 3 cameras). */
static vt_vote *cast_crossing_rays(void)
{
    vt_vote_opts o = vt_vote_opts_default();
    o.min = vt_v3(-200, -200, 0);
    o.max = vt_v3(200, 200, 200);
    o.coarse_voxel = 8;
    o.fine_voxel = 1;
    vt_vote *v = NULL;
    assert_int_equal(vt_vote_new(&o, &v), VT_OK);
    vt_test_seed(66);
    const vt_vec3 cams[4] = {{-190, -190, 2}, {190, -190, 2}, {190, 190, 2}, {-190, 190, 2}};
    const vt_vec3 targets[2] = {{10.5, -20.25, 60.75}, {-40.1, 33.3, 90.9}};
    vt_ray rays[4 * 2 * 5 + 10];
    size_t n = 0;
    for (int c = 0; c < 4; c++)
        for (int t = 0; t < 2; t++)
            for (int k = 0; k < 5; k++) {
                vt_vec3 aim = vt_v3_add(targets[t], vt_v3(vt_test_uniform(-0.3, 0.3),
                                                          vt_test_uniform(-0.3, 0.3),
                                                          vt_test_uniform(-0.3, 0.3)));
                rays[n++] = (vt_ray){.origin = cams[c],
                                     .dir = vt_v3_normalize(vt_v3_sub(aim, cams[c])),
                                     .weight = 1.5f,
                                     .sigma = 1e-3f,
                                     .camera = (uint16_t)c};
            }
    for (int k = 0; k < 10; k++)
        rays[n++] =
            (vt_ray){.origin = cams[0],
                     .dir = vt_v3_normalize(vt_v3(vt_test_uniform(0.2, 1), vt_test_uniform(0.2, 1),
                                                  vt_test_uniform(0.05, 0.3))),
                     .weight = 1.0f,
                     .sigma = 1e-3f,
                     .camera = 0};
    assert_int_equal(vt_vote_cast(v, rays, n), VT_OK);
    return v;
}

static void voxel_chunk_from_a_real_vote_grid_round_trips(void **state)
{
    (void)state;
    vt_vote *v = cast_crossing_rays();
    vt_vote_block *b = malloc(sizeof *b);
    size_t want = 0;
    for (size_t i = 0; i < vt_vote_block_count(v); i++) {
        assert_int_equal(vt_vote_block_get(v, i, b), VT_OK);
        want += b->max_cameras >= 3;
    }
    assert_true(want >= 1 && want < vt_vote_block_count(v));

    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len, left = 99;
    assert_int_equal(vt_wire_encode_vote_chunk(e, v, 3, 0, 42, 4.2, &msg, &len, &left), VT_OK);
    assert_int_equal(left, 0);
    vt_wire_voxel_info info;
    vt_wire_voxel_block *got = NULL;
    size_t count = 0;
    assert_int_equal(vt_wire_decode_voxel_chunk(msg, len, &info, &got, &count), VT_OK);
    assert_int_equal(count, want);
    assert_int_equal(info.frame, 42);
    assert_near(info.voxel_size, 8, 0);
    assert_near(info.origin.x, -200, 0);
    /* The same votes, block by block, in the grid's order. */
    size_t j = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < vt_vote_block_count(v); i++) {
        assert_int_equal(vt_vote_block_get(v, i, b), VT_OK);
        if (b->max_cameras < 3)
            continue;
        assert_int_equal(got[j].bx, b->bx);
        assert_int_equal(got[j].by, b->by);
        assert_int_equal(got[j].bz, b->bz);
        for (int k = 0; k < 512; k++) {
            assert_int_equal(got[j].votes[k], b->weight[k]);
            sum += got[j].votes[k];
        }
        j++;
    }
    assert_true(sum > 0);

    /* The payload is a frame the lz4 tool reads into the sparse layout of the same votes. */
    size_t size;
    uint8_t *expect = expected_payload(got, count, VT__VOXEL_U32_SPARSE, &size);
    lz4_tool_reads(msg, len, "grid", expect, size);
    free(expect);
    free(got);

    /* A cap on the blocks: the first ones, the rest counted. */
    assert_int_equal(vt_wire_encode_vote_chunk(e, v, 3, 1, 43, 4.3, &msg, &len, &left), VT_OK);
    assert_int_equal(vt_wire_decode_voxel_chunk(msg, len, &info, &got, &count), VT_OK);
    assert_int_equal(count, 1);
    assert_int_equal(left, want - 1);
    free(got);
    /* More cameras than any cell has: an empty, valid chunk. */
    assert_int_equal(vt_wire_encode_vote_chunk(e, v, 5, 0, 44, 4.4, &msg, &len, NULL), VT_OK);
    assert_int_equal(vt_wire_decode_voxel_chunk(msg, len, &info, &got, &count), VT_OK);
    assert_int_equal(count, 0);
    free(got);
    assert_int_equal(vt_wire_encode_vote_chunk(e, NULL, 3, 0, 0, 0, &msg, &len, NULL), VT_EINVAL);
    free(b);
    vt_wire_encoder_free(e);
    vt_vote_free(v);
}

static void voxel_chunk_with_a_corrupt_payload_is_refused(void **state)
{
    (void)state;
    vt_wire_voxel_block *blocks = make_blocks(4);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    vt_wire_voxel_info info = {.voxel_size = 1};
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vt_wire_encode_voxel_chunk(e, &info, blocks, 4, &msg, &len), VT_OK);
    uint8_t *bad = malloc(len);
    memcpy(bad, msg, len);
    size_t plen;
    uint8_t *payload = (uint8_t *)find_payload(bad, len, &plen);
    payload[plen - 1] ^= 0x5a; /* the frame's content checksum */
    vt_wire_voxel_info back;
    vt_wire_voxel_block *got = NULL;
    size_t count = 7;
    assert_int_equal(vt_wire_decode_voxel_chunk(bad, len, &back, &got, &count), VT_EPARSE);
    assert_null(got);
    assert_int_equal(count, 0);
    assert_non_null(strstr(vt_last_error(), "VoxelChunk"));
    info.voxel_size = 0;
    assert_int_equal(vt_wire_encode_voxel_chunk(e, &info, blocks, 4, &msg, &len), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "voxel_size"));
    free(bad);
    vt_wire_encoder_free(e);
    free(blocks);
}

/* A protobuf writer just big enough for hand-made VoxelChunks. */
static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *p++ = (uint8_t)(v | 0x80);
    *p++ = (uint8_t)v;
    return p;
}

/* A VoxelChunk of nb blocks whose payload is a valid LZ4 frame of raw[0..n), with the given
   raw_bytes and encoding: what a buggy or hostile encoder could send. */
static uint8_t *hand_made_chunk(size_t nb, const uint8_t *raw, size_t n, uint32_t raw_bytes,
                                int enc, size_t *len)
{
    vt__lz4 z = {0};
    assert_int_equal(vt__lz4_compress(&z, raw, n, "test"), VT_OK);
    uint8_t *msg = malloc(z.len + 64 + 3 * nb), *p = msg;
    p = put_varint(p, 5 << 3); /* block_edge */
    p = put_varint(p, 8);
    p = put_varint(p, 7 << 3 | 2); /* block_coords: (i, 0, 0) zigzagged */
    p = put_varint(p, 3 * nb);
    for (size_t i = 0; i < nb; i++) {
        *p++ = (uint8_t)(2 * i);
        *p++ = 0;
        *p++ = 0;
    }
    p = put_varint(p, 8 << 3 | 2); /* payload */
    p = put_varint(p, z.len);
    memcpy(p, z.buf, z.len);
    p += z.len;
    p = put_varint(p, 9 << 3); /* raw_bytes */
    p = put_varint(p, raw_bytes);
    p = put_varint(p, 10 << 3); /* encoding */
    p = put_varint(p, (uint64_t)(int64_t)enc);
    vt__lz4_free(&z);
    *len = (size_t)(p - msg);
    return msg;
}

/* Decodes a hand-made chunk: VT_OK or VT_EPARSE naming VoxelChunk, never a crash; JSON too. */
static vt_status decode_hand_made(const uint8_t *msg, size_t len)
{
    vt_wire_voxel_info info;
    vt_wire_voxel_block *got = NULL;
    size_t count = 0;
    vt_status s = vt_wire_decode_voxel_chunk(msg, len, &info, &got, &count);
    assert_true(s == VT_OK || s == VT_EPARSE);
    if (s != VT_OK) {
        assert_non_null(strstr(vt_last_error(), "VoxelChunk"));
        assert_null(got);
        assert_int_equal(count, 0);
    }
    free(got);
    /* JSON only summarises the payload: it fails only where the protobuf does. */
    char *json = NULL;
    vt_status js = vt_wire_to_json(VT_MSG_VOXEL_CHUNK, msg, len, &json);
    assert_true(js == VT_OK || (js == VT_EPARSE && s == VT_EPARSE));
    if (js == VT_OK)
        json_decref(parse_json(json));
    free(json);
    return s;
}

static void garbage_in_the_planes_is_a_clean_error_or_garbage_votes(void **state)
{
    (void)state;
    vt_test_seed(13);
    size_t nb = 3, n = nb * 2112, len;
    uint8_t *raw = malloc(n);
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)(vt_test_uniform01() * 256);
    /* Random masks (~half set) with a wrong number of votes after them. */
    uint8_t *msg = hand_made_chunk(nb, raw, 64 * nb + 400, 64 * nb + 400, 2, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "masks mark"));
    free(msg);
    /* raw_bytes off the sparse layout's steps, or beyond its largest size. */
    msg = hand_made_chunk(nb, raw, 64 * nb + 2, 64 * nb + 2, 2, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "raw_bytes"));
    free(msg);
    msg = hand_made_chunk(nb, raw, n, (uint32_t)n + 4, 2, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_EPARSE);
    free(msg);
    /* An encoding this reader does not know; JSON shows its number. */
    msg = hand_made_chunk(nb, raw, nb * 2048, (uint32_t)(nb * 2048), 7, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_EPARSE);
    assert_non_null(strstr(vt_last_error(), "encoding 7"));
    char *json;
    assert_int_equal(vt_wire_to_json(VT_MSG_VOXEL_CHUNK, msg, len, &json), VT_OK);
    assert_non_null(strstr(json, "\"encoding\":7"));
    free(json);
    free(msg);
    /* A negative one: nanopb refuses the whole message (the enum has no negative values). */
    msg = hand_made_chunk(nb, raw, nb * 2048, (uint32_t)(nb * 2048), -1, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_EPARSE);
    free(msg);
    /* Random planes of the right size are just votes. */
    msg = hand_made_chunk(nb, raw, nb * 2048, (uint32_t)(nb * 2048), 1, &len);
    assert_int_equal(decode_hand_made(msg, len), VT_OK);
    free(msg);
    /* Any size, any encoding, masks of any density: never a crash (ASan watches). */
    for (int round = 0; round < 400; round++) {
        size_t k = 1 + (size_t)(vt_test_uniform01() * 3), size = (size_t)(vt_test_uniform01() * n);
        int enc = (int)(vt_test_uniform01() * 4);
        double density = vt_test_uniform01();
        for (size_t i = 0; i < 64 * k && i < size; i++)
            for (int b = 0; b < 8; b++)
                if (vt_test_uniform01() < density)
                    raw[i] ^= (uint8_t)(1u << b);
        uint32_t stated = vt_test_uniform01() < 0.5 ? (uint32_t)size : (uint32_t)(k * 2048);
        msg = hand_made_chunk(k, raw, size, stated, enc, &len);
        decode_hand_made(msg, len);
        free(msg);
    }
    free(raw);
}

/* ---- bad input --------------------------------------------------------- */

static void truncated_track_batch_is_a_clean_error_naming_the_type(void **state)
{
    (void)state;
    vt_test_seed(11);
    vt_test_result t;
    vt_test_result_make(&t, 5, 2, 1);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    encode_batch(e, &t, &msg, &len);
    uint8_t *copy = malloc(len);
    memcpy(copy, msg, len);
    vt_wire_track_batch b = {0};
    size_t errors = 0;
    for (size_t cut = 0; cut < len; cut++) {
        /* A fresh allocation of exactly `cut` bytes, so ASan sees any read past it. */
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, copy, cut);
        vt_status s = vt_wire_decode_tracks(p, cut, &b);
        if (s != VT_OK) {
            assert_int_equal(s, VT_EPARSE);
            assert_non_null(strstr(vt_last_error(), "TrackBatch"));
            assert_int_equal(b.count, 0);
            errors++;
        }
        char *json = NULL;
        s = vt_wire_to_json(VT_MSG_TRACK_BATCH, p, cut, &json);
        assert_true(s == VT_OK || s == VT_EPARSE);
        assert_true((s == VT_OK) == (json != NULL));
        free(json);
        free(p);
    }
    /* Every cut inside a track is an error (only cuts between fields decode). */
    assert_true(errors > len / 2);
    vt_wire_track_batch_free(&b);
    free(copy);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
}

static void random_garbage_never_crashes_any_decoder(void **state)
{
    (void)state;
    vt_test_seed(12);
    vt_wire_track_batch b = {0};
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(vt_test_uniform01() * 200);
        uint8_t *p = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(vt_test_uniform01() * 256);
        for (int type = 0; type <= 6; type++) {
            char *json = NULL;
            vt_status s = vt_wire_to_json((vt_msg_type)type, p, n, &json);
            if (type < 1 || type > 5)
                assert_int_equal(s, VT_EINVAL);
            else if (s == VT_OK)
                json_decref(parse_json(json));
            else
                assert_int_equal(s, VT_EPARSE);
            free(json);
        }
        vt_status s = vt_wire_decode_tracks(p, n, &b);
        assert_true(s == VT_OK || s == VT_EPARSE);
        vt_wire_voxel_info info;
        vt_wire_voxel_block *blocks = NULL;
        size_t count;
        s = vt_wire_decode_voxel_chunk(p, n, &info, &blocks, &count);
        assert_true(s == VT_OK || s == VT_EPARSE);
        free(blocks);
        free(p);
    }
    vt_wire_track_batch_free(&b);
}

/* ---- FrameSetStats into structs ----------------------------------------- */

static void frame_set_stats_decode_back_to_every_figure(void **state)
{
    (void)state;
    vt_test_seed(13);
    vt_rig rig;
    vt_test_rig_make(&rig, 4, false);
    vt_test_result t;
    vt_test_result_make(&t, 3, 4, 77);
    t.r.changes = 600;
    t.r.blobs = 6;
    t.r.rays = 5;
    t.r.clusters = 9;
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(&rig, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    /* Camera 1 is absent in every set: after three sets it has 3 drops. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(vt_wire_encode_stats(e, &t.r, &msg, &len), VT_OK);
    vt_wire_stats s = {0};
    assert_int_equal(vt_wire_decode_stats(msg, len, &s), VT_OK);
    assert_int_equal(s.frame, 77);
    assert_int_equal(s.time_ns, (int64_t)llround(t.r.t * 1e9));
    assert_near(s.t, t.r.t, 1e-9);
    assert_int_equal(s.cameras_live, 3);
    assert_int_equal(s.changes, 600);
    assert_int_equal(s.blobs, 6);
    assert_int_equal(s.rays, 5);
    assert_int_equal(s.clusters, 9);
    assert_int_equal(s.detections, 3);
    assert_int_equal(s.tracks, 3);
    assert_near(s.processing_s, 0.02, 1e-12);
    assert_near(s.motion_s, 0.001, 1e-12);
    assert_near(s.voting_s, 0.002, 1e-12);
    assert_near(s.detect_s, 0.003, 1e-12);
    assert_near(s.tracking_s, 0.004, 1e-12);
    assert_int_equal(s.count, 4);
    for (size_t c = 0; c < s.count; c++) {
        const vt_wire_camera_stats *k = &s.cameras[c];
        char id[24];
        snprintf(id, sizeof id, "c%zu", c);
        assert_int_equal(k->index, c);
        assert_string_equal(k->id, id);
        assert_int_equal(k->present, c != 1);
        assert_near(k->sync_error_s, t.cams[c].sync_error, 1e-12);
        assert_int_equal(k->drops, c == 1 ? 3 : 0);
        assert_int_equal(k->changes, 100 * c);
        assert_int_equal(k->blobs, c);
        assert_int_equal(k->rays, c);
    }

    /* Decoding again replaces the cameras: two now, not six. */
    t.r.ncameras = 2;
    t.r.frame = 78;
    assert_int_equal(vt_wire_encode_stats(e, &t.r, &msg, &len), VT_OK);
    assert_int_equal(vt_wire_decode_stats(msg, len, &s), VT_OK);
    assert_int_equal(s.frame, 78);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.cameras[1].id, "c1");
    assert_int_equal(s.cameras[1].drops, 4);
    vt_wire_stats_free(&s);
    assert_null(s.cameras);
    assert_int_equal(s.count, 0);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
    vt_rig_free(&rig);
}

/* Fails the test unless a failed decode left *s with nothing: no figures, no array. */
static void assert_stats_empty(const vt_wire_stats *s)
{
    vt_wire_stats zero = {0};
    assert_memory_equal(s, &zero, sizeof zero);
}

static void truncated_or_garbage_stats_are_a_clean_error_leaving_nothing(void **state)
{
    (void)state;
    vt_test_seed(14);
    vt_rig rig;
    vt_test_rig_make(&rig, 5, false);
    vt_test_result t;
    vt_test_result_make(&t, 2, 5, 3);
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(&rig, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vt_wire_encode_stats(e, &t.r, &msg, &len), VT_OK);
    uint8_t *copy = malloc(len);
    memcpy(copy, msg, len);
    vt_wire_stats s = {0};
    size_t errors = 0;
    for (size_t cut = 0; cut < len; cut++) {
        /* Start each cut from a full decode, so a failure must also free that array. */
        assert_int_equal(vt_wire_decode_stats(copy, len, &s), VT_OK);
        assert_int_equal(s.count, 5);
        uint8_t *p = malloc(cut ? cut : 1); /* exactly `cut` bytes, for ASan */
        memcpy(p, copy, cut);
        vt_status st = vt_wire_decode_stats(p, cut, &s);
        if (st != VT_OK) {
            assert_int_equal(st, VT_EPARSE);
            assert_non_null(strstr(vt_last_error(), "FrameSetStats"));
            assert_stats_empty(&s);
            errors++;
        } else {
            assert_true(s.count <= 5);
        }
        free(p);
    }
    /* Every cut inside a camera is an error (only cuts between fields decode). */
    assert_true(errors > len / 2);

    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(vt_test_uniform01() * 120);
        uint8_t *p = malloc(n);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(vt_test_uniform01() * 256);
        vt_status st = vt_wire_decode_stats(p, n, &s);
        assert_true(st == VT_OK || st == VT_EPARSE);
        if (st != VT_OK)
            assert_stats_empty(&s);
        free(p);
    }
    /* A camera that claims more bytes than the message has. */
    static const uint8_t overlong[] = {0x08, 0x01, 0x1a, 0x40, 0x08, 0x02};
    assert_int_equal(vt_wire_decode_stats(overlong, sizeof overlong, &s), VT_EPARSE);
    assert_stats_empty(&s);
    vt_wire_stats_free(&s);
    free(copy);
    vt_wire_encoder_free(e);
    vt_test_result_free(&t);
    vt_rig_free(&rig);
}

static void stats_decode_refuses_null_arguments(void **state)
{
    (void)state;
    vt_wire_stats s = {0};
    assert_int_equal(vt_wire_decode_stats((const uint8_t *)"\x08\x01", 2, NULL), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "vt_wire_decode_stats"));
    assert_int_equal(vt_wire_decode_stats(NULL, 4, &s), VT_EINVAL);
    assert_stats_empty(&s);
    /* No bytes at all is an empty message: every figure 0. */
    assert_int_equal(vt_wire_decode_stats(NULL, 0, &s), VT_OK);
    assert_stats_empty(&s);
    vt_wire_stats_free(&s);
    vt_wire_stats_free(NULL);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    char *json = (char *)"x";
    assert_int_equal(vt_wire_to_json((vt_msg_type)9, (const uint8_t *)"", 0, &json), VT_EINVAL);
    assert_null(json);
    assert_non_null(strstr(vt_last_error(), "unknown type 9"));
    assert_string_equal(vt_msg_type_name(VT_MSG_HEALTH), "Health");
    assert_string_equal(vt_msg_type_name((vt_msg_type)0), "?");
    vt_wire_encoder *e;
    assert_int_equal(vt_wire_encoder_new(NULL, &e), VT_OK);
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vt_wire_encode_tracks(e, NULL, &msg, &len), VT_EINVAL);
    vt_pipeline_result r = {0};
    r.ntracks = 3;
    assert_int_equal(vt_wire_encode_tracks(e, &r, &msg, &len), VT_EINVAL);
    vt_wire_encoder_free(e);
    vt_wire_encoder_free(NULL);
    vt_wire_track_batch_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(track_batch_round_trips_every_field_of_300_tracks),
        cmocka_unit_test(encoder_reuses_its_buffer_from_frame_to_frame),
        cmocka_unit_test(empty_batch_is_a_valid_message),
        cmocka_unit_test(track_batch_decodes_with_protoc_into_the_expected_values),
        cmocka_unit_test(rig_with_origin_adds_wgs84_and_camera_ids),
        cmocka_unit_test(track_batch_from_before_the_thermal_fields_still_decodes),
        cmocka_unit_test(thermal_confirmation_round_trips_and_old_readers_skip_it),
        cmocka_unit_test(every_message_becomes_valid_json),
        cmocka_unit_test(voxel_chunk_round_trips_and_its_payload_reads_with_lz4),
        cmocka_unit_test(voxel_chunk_from_a_real_vote_grid_round_trips),
        cmocka_unit_test(voxel_chunk_with_a_corrupt_payload_is_refused),
        cmocka_unit_test(garbage_in_the_planes_is_a_clean_error_or_garbage_votes),
        cmocka_unit_test(truncated_track_batch_is_a_clean_error_naming_the_type),
        cmocka_unit_test(random_garbage_never_crashes_any_decoder),
        cmocka_unit_test(frame_set_stats_decode_back_to_every_figure),
        cmocka_unit_test(truncated_or_garbage_stats_are_a_clean_error_leaving_nothing),
        cmocka_unit_test(stats_decode_refuses_null_arguments),
        cmocka_unit_test(bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
