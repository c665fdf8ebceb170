/*
 * tests/test_streamer.c - the streamer behind --stream: JSON Lines files get
 * one valid JSON object per message in the order TrackBatch,
 * DetectionBatch, FrameSetStats (Health first and then about once a
 * second); several URLs get the same messages; bad URLs fail at opening
 * with a message naming the URL; a binary file log (when the transports are
 * built) holds messages that decode back.
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

#include "voxtrack/voxtrack.h"
#include "voxtrack/transport.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonl_files_get_every_message_of_every_frame_set),
        cmocka_unit_test(bad_urls_fail_at_opening_naming_the_url),
        cmocka_unit_test(cot_needs_a_rig_with_an_origin),
        cmocka_unit_test(binary_file_log_replays_the_messages),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
