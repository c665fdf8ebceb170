/*
 * tests/test_streamer.c - the streamer behind --stream: JSON Lines files get
 * one valid JSON object per message in the order TrackBatch,
 * DetectionBatch, FrameSetStats (Health first and then about once a
 * second); several URLs get the same messages; bad URLs fail at opening
 * with a message naming the URL; a binary file log (when the transports are
 * built) holds messages that decode back; ?voxels=N sends VoxelChunks of
 * the result's vote grid every Nth frame set (read back through an LZ4
 * compressed file log and a JSON Lines file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "voxtrack/transport.h"
#include "voxtrack/voxtrack.h"
#include "vt_test.h"
#include "vt_test_wire.h"
#define VT_TEST_NAME "test_streamer"
#include "vt_test_tmp.h"

/* The "type" of each line of a JSON Lines file, concatenated with spaces. */
static char *types_of(const char *path, size_t *lines)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 1 << 16;
    char *types = calloc(1, cap), *line = NULL;
    size_t lcap = 0;
    *lines = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j) {
            print_error("%s line %zu is not JSON: %s\n", path, *lines + 1, err.text);
            fail();
        }
        const char *t = json_string_value(json_object_get(j, "type"));
        assert_non_null(t);
        strncat(types, t, cap - strlen(types) - 2);
        strncat(types, " ", cap - strlen(types) - 2);
        json_decref(j);
        (*lines)++;
    }
    free(line);
    fclose(f);
    return types;
}

static void jsonl_files_get_every_message_of_every_frame_set(void **state)
{
    (void)state;
    vt_test_seed(21);
    vt_rig rig;
    vt_test_rig_make(&rig, 3, false);
    char a[1100], b[1100];
    snprintf(a, sizeof a, "file://%s", vt_test_tmp_path("a.jsonl"));
    snprintf(b, sizeof b, "%s", vt_test_tmp_path("b.jsonl")); /* a bare path works too */
    const char *urls[] = {a, b};
    vt_streamer *s;
    assert_int_equal(vt_streamer_new(&rig, urls, 2, &s), VT_OK);
    vt_test_result t;
    vt_test_result_make(&t, 4, 3, 0);
    for (int k = 0; k < 3; k++) {
        t.r.frame = k;
        assert_int_equal(vt_streamer_publish(s, &t.r), VT_OK);
    }
    vt_streamer_stats st;
    vt_streamer_get_stats(s, &st);
    assert_int_equal(st.frame_sets, 3);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.urls, 2);
    assert_int_equal(st.messages, 2 * (3 * 3 + 1));
    vt_streamer_free(s);

    size_t na, nb;
    char *ta = types_of(vt_test_tmp_path("a.jsonl"), &na);
    char *tb = types_of(vt_test_tmp_path("b.jsonl"), &nb);
    /* Health goes out with the first frame set; the test is far quicker than a second. */
    assert_string_equal(ta, "TrackBatch DetectionBatch FrameSetStats Health "
                            "TrackBatch DetectionBatch FrameSetStats "
                            "TrackBatch DetectionBatch FrameSetStats ");
    assert_string_equal(ta, tb);
    assert_int_equal(na, 10);
    free(ta);
    free(tb);
    vt_test_result_free(&t);
    vt_rig_free(&rig);
}

static void bad_urls_fail_at_opening_naming_the_url(void **state)
{
    (void)state;
    vt_streamer *s = (vt_streamer *)1;
    const char *u1[] = {"gopher://x:1"};
    assert_int_equal(vt_streamer_new(NULL, u1, 1, &s), VT_EINVAL);
    assert_null(s);
    assert_non_null(strstr(vt_last_error(), "gopher://x:1"));
    assert_non_null(strstr(vt_last_error(), "unknown kind of stream"));

    const char *u2[] = {"file:///nonexistent-folder-vt/x.jsonl"};
    assert_int_not_equal(vt_streamer_new(NULL, u2, 1, &s), VT_OK);
    assert_non_null(strstr(vt_last_error(), "/nonexistent-folder-vt/x.jsonl"));

    /* The second URL fails: the first is closed again, nothing leaks. */
    char ok[1100];
    snprintf(ok, sizeof ok, "%s", vt_test_tmp_path("ok.jsonl"));
    const char *u3[] = {ok, ""};
    assert_int_equal(vt_streamer_new(NULL, u3, 2, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "empty URL"));

    assert_int_equal(vt_streamer_new(NULL, u3, 0, &s), VT_EINVAL);
    assert_int_equal(vt_streamer_publish(NULL, NULL), VT_EINVAL);
    vt_streamer_free(NULL);
}

static void cot_needs_a_rig_with_an_origin(void **state)
{
    (void)state;
    vt_rig rig;
    vt_test_rig_make(&rig, 2, false);
    vt_streamer *s = NULL;
    const char *u[] = {"cot+udp://127.0.0.1:6969"};
    vt_status st = vt_streamer_new(&rig, u, 1, &s);
    assert_int_not_equal(st, VT_OK);
    assert_null(s);
    assert_non_null(strstr(vt_last_error(), "cot+udp://127.0.0.1:6969"));
    vt_rig_free(&rig);
}

static void binary_file_log_replays_the_messages(void **state)
{
    (void)state;
    vt_test_seed(22);
    char url[1100];
    snprintf(url, sizeof url, "file://%s", vt_test_tmp_path("log.vtlog"));
    const char *urls[] = {url};
    vt_streamer *s = NULL;
    vt_status st = vt_streamer_new(NULL, urls, 1, &s);
    if (st == VT_EUNSUPPORTED) {
        /* Only until the byte transports are part of the build. */
        print_message("skipped: %s\n", vt_last_error());
        return;
    }
    assert_int_equal(st, VT_OK);
    vt_test_result t;
    vt_test_result_make(&t, 6, 2, 40);
    assert_int_equal(vt_streamer_publish(s, &t.r), VT_OK);
    vt_streamer_free(s);

    vt_receiver *r;
    assert_int_equal(vt_receiver_open(url, &r), VT_OK);
    vt_msg_type type;
    const uint8_t *msg;
    size_t len;
    bool end = false;
    assert_int_equal(vt_receiver_next(r, 1000, &type, &msg, &len, &end), VT_OK);
    assert_int_equal(type, VT_MSG_TRACK_BATCH);
    vt_wire_track_batch b = {0};
    assert_int_equal(vt_wire_decode_tracks(msg, len, &b), VT_OK);
    assert_int_equal(b.frame, 40);
    assert_int_equal(b.count, 6);
    assert_int_equal(b.tracks[5].track.id, t.tracks[5].id);
    vt_wire_track_batch_free(&b);
    vt_receiver_free(r);
    vt_test_result_free(&t);
}

/* A small vote grid where rays of 4 cameras cross at one point. */
static vt_vote *crossing_grid(void)
{
    vt_vote_opts o = vt_vote_opts_default();
    o.min = vt_v3(-100, -100, 0);
    o.max = vt_v3(100, 100, 100);
    o.coarse_voxel = 8;
    o.fine_voxel = 2;
    vt_vote *v = NULL;
    assert_int_equal(vt_vote_new(&o, &v), VT_OK);
    const vt_vec3 cams[4] = {{-90, -90, 1}, {90, -90, 1}, {90, 90, 1}, {-90, 90, 1}};
    vt_ray rays[4];
    for (int c = 0; c < 4; c++)
        rays[c] = (vt_ray){.origin = cams[c],
                           .dir = vt_v3_normalize(vt_v3_sub(vt_v3(3.3, -4.4, 50.5), cams[c])),
                           .weight = 1.0f,
                           .sigma = 1e-3f,
                           .camera = (uint16_t)c};
    assert_int_equal(vt_vote_cast(v, rays, 4), VT_OK);
    return v;
}

static void voxel_chunks_go_out_every_nth_frame_set_when_asked(void **state)
{
    (void)state;
    vt_test_seed(23);
    vt_vote *v = crossing_grid();
    char log[1100], jl[1100];
    snprintf(log, sizeof log, "file://%s?voxels=2&lz4=1", vt_test_tmp_path("vox.vtlog"));
    snprintf(jl, sizeof jl, "%s?voxels=1&voxel_cameras=4&voxel_blocks=8",
             vt_test_tmp_path("vox.jsonl"));
    const char *urls[] = {log, jl};
    vt_streamer *s = NULL;
    assert_int_equal(vt_streamer_new(NULL, urls, 2, &s), VT_OK);
    vt_test_result t;
    vt_test_result_make(&t, 2, 2, 0);
    t.r.vote = v;
    for (int k = 0; k < 5; k++) {
        t.r.frame = 100 + k;
        assert_int_equal(vt_streamer_publish(s, &t.r), VT_OK);
    }
    t.r.vote = NULL; /* no grid: no chunk, whatever the rate */
    t.r.frame = 105;
    assert_int_equal(vt_streamer_publish(s, &t.r), VT_OK);
    vt_streamer_free(s);

    /* The log (compressed on the way) holds chunks of frame sets 1, 3 and 5. */
    vt_receiver *r;
    snprintf(log, sizeof log, "file://%s", vt_test_tmp_path("vox.vtlog"));
    assert_int_equal(vt_receiver_open(log, &r), VT_OK);
    int chunks = 0;
    for (;;) {
        vt_msg_type type;
        const uint8_t *msg;
        size_t len;
        bool end = false;
        assert_int_equal(vt_receiver_next(r, 0, &type, &msg, &len, &end), VT_OK);
        if (end)
            break;
        if (type != VT_MSG_VOXEL_CHUNK)
            continue;
        vt_wire_voxel_info info;
        vt_wire_voxel_block *b = NULL;
        size_t n = 0;
        assert_int_equal(vt_wire_decode_voxel_chunk(msg, len, &info, &b, &n), VT_OK);
        assert_int_equal(info.frame, 100 + 2 * chunks);
        assert_true(n >= 1);
        assert_near(info.voxel_size, 8, 0);
        free(b);
        chunks++;
    }
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    assert_int_equal(st.garbage + st.lost, 0);
    assert_int_equal(chunks, 3);
    vt_receiver_free(r);

    size_t lines;
    char *types = types_of(vt_test_tmp_path("vox.jsonl"), &lines);
    int n = 0;
    for (const char *p = types; (p = strstr(p, "VoxelChunk")); p++)
        n++;
    assert_int_equal(n, 5);
    free(types);
    vt_test_result_free(&t);
    vt_vote_free(v);
}

static void bad_voxel_parameters_fail_at_opening(void **state)
{
    (void)state;
    vt_streamer *s = NULL;
    const char *u1[] = {"udp://127.0.0.1:9?voxels=x"};
    assert_int_equal(vt_streamer_new(NULL, u1, 1, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "voxels=x"));
    const char *u2[] = {"udp://127.0.0.1:9?voxel_cameras=0"};
    assert_int_equal(vt_streamer_new(NULL, u2, 1, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "voxel_cameras"));
    const char *u3[] = {"udp://127.0.0.1:9?voxels=1&bogus=2"}; /* the rest reaches the transport */
    assert_int_equal(vt_streamer_new(NULL, u3, 1, &s), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "bogus"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonl_files_get_every_message_of_every_frame_set),
        cmocka_unit_test(bad_urls_fail_at_opening_naming_the_url),
        cmocka_unit_test(cot_needs_a_rig_with_an_origin),
        cmocka_unit_test(binary_file_log_replays_the_messages),
        cmocka_unit_test(voxel_chunks_go_out_every_nth_frame_set_when_asked),
        cmocka_unit_test(bad_voxel_parameters_fail_at_opening),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
