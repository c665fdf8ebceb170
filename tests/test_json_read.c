/*
 * tests/test_json_read.c - core/json_read.h, the one JSON field reader: each
 * type, bounds, required fields, unknown keys (listing the allowed ones), one
 * rule for integers (3 and 3.0 are 3; 3.5 is refused), and one message form
 * ("WHERE: field 'PATH' WHAT").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/json_read.h"
#include "voxtrack/status.h"

typedef struct opts {
    bool on;
    int count, kind;
    int64_t frames;
    double gate, accel;
    float thresh;
    char *path;
    char id[8];
    double pos[3];
    double inner_x;
} opts;

static const opts defaults = {.on = true, .count = 2, .kind = 7, .gate = 0.99, .thresh = 0.25f};

static const char *const kind_names[] = {"gnn", "mht", NULL};
static const int kind_values[] = {7, 9};

static vt_status read_inner(const vt__jctx *c, json_t *v, const char *path, void *out);

static const vt__jfield fields[] = {
    VT__JF_BOOL("on", opts, on, 1, "enabled"),
    VT__JF_INT("count", opts, count, 1, 100, 2, "how many"),
    VT__JF_ENUM("kind", opts, kind, kind_names, kind_values, 7, "gnn", "the association"),
    VT__JF_INT64("frames", opts, frames, 0, INFINITY, 0, "frame sets (0: all)"),
    VT__JF_NUM("gate", opts, gate, 0.5, 0.999999, 0.99, "gating probability"),
    {"accel", VT__JT_NUM, offsetof(opts, accel), VT__JF_GT, 0, INFINITY, 0, NULL, NULL, NULL, 0,
     NULL, "acceleration (m/s2)"},
    VT__JF_FLOAT("thresh", opts, thresh, 0, 1, 0.25, "threshold"),
    VT__JF_STR("path", opts, path, VT__JF_REQUIRED, "a file"),
    VT__JF_CHARS("id", opts, id, 0, "an id"),
    VT__JF_NUMS("pos", opts, pos, 3, 0, "a position"),
    VT__JF_CUSTOM("inner", opts, inner_x, read_inner, VT__JF_NULL, "a nested object"),
    VT__JF_SKIP("later", "read by the caller"),
    {0}};

static const vt__jfield inner_fields[] = {
    {"x", VT__JT_NUM, 0, VT__JF_REQUIRED, -10, 10, 0, NULL, NULL, NULL, 0, NULL, "x"}, {0}};

static vt_status read_inner(const vt__jctx *c, json_t *v, const char *path, void *out)
{
    return vt__json_read(c, v, path, inner_fields, out);
}

/* Reads `text` into *o (from the defaults, path "p.json"); returns the status. */
static vt_status read_text(const char *text, opts *o)
{
    *o = defaults;
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    if (!root)
        fail_msg("test JSON does not parse: %s: %s", text, e.text);
    vt__jctx c = {.where = "p.json"};
    vt_status s = vt__json_read(&c, root, "", fields, o);
    json_decref(root);
    return s;
}

/* text is refused with exactly this message. */
static void assert_refused(const char *text, const char *message)
{
    opts o;
    vt_status s = read_text(text, &o);
    free(o.path);
    if (s != VT_EPARSE || strcmp(vt_last_error(), message) != 0)
        fail_msg("%s:\n  got      %s (%s)\n  expected %s", text, vt_last_error(), vt_status_name(s),
                 message);
}

static void every_type_is_read_into_its_field(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(read_text("{\"on\": false, \"count\": 5, \"kind\": \"mht\", \"frames\": "
                               "9007199254740993, \"gate\": 0.5, \"accel\": 1e-3, \"thresh\": 0.5, "
                               "\"path\": \"a.json\", \"id\": \"m0\", \"pos\": [1, 2.5, -3], "
                               "\"inner\": {\"x\": 4}, \"later\": [1]}",
                               &o),
                     VT_OK);
    assert_false(o.on);
    assert_int_equal(o.count, 5);
    assert_int_equal(o.kind, 9);
    assert_true(o.frames == 9007199254740993); /* a JSON integer stays exact */
    assert_true(o.gate == 0.5 && o.accel == 1e-3 && o.thresh == 0.5f);
    assert_string_equal(o.path, "a.json");
    assert_string_equal(o.id, "m0");
    assert_true(o.pos[0] == 1 && o.pos[1] == 2.5 && o.pos[2] == -3);
    assert_true(o.inner_x == 4);
    free(o.path);
}

static void absent_fields_keep_their_defaults(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(read_text("{\"path\": \"a\", \"inner\": null}", &o), VT_OK);
    assert_null(vt__json_check_defaults(fields, &o));
    o.gate = 0.9;
    assert_string_equal(vt__json_check_defaults(fields, &o)->name, "gate");
    free(o.path);
}

static void integers_are_integral_numbers(void **state)
{
    (void)state;
    opts o;
    assert_int_equal(read_text("{\"path\": \"a\", \"count\": 3.0}", &o), VT_OK);
    assert_int_equal(o.count, 3);
    free(o.path);
    assert_refused("{\"path\": \"a\", \"count\": 3.5}",
                   "p.json: field 'count' must be an integer (got 3.5)");
    assert_refused("{\"path\": \"a\", \"count\": \"3\"}",
                   "p.json: field 'count' must be an integer in [1, 100]");
    assert_refused("{\"path\": \"a\", \"count\": 1e300}",
                   "p.json: field 'count' must be in [1, 100] (got 1e+300)");
    assert_refused("{\"path\": \"a\", \"frames\": -1}",
                   "p.json: field 'frames' must be >= 0 (got -1)");
}

static void numbers_outside_their_bounds_say_both(void **state)
{
    (void)state;
    assert_refused("{\"path\": \"a\", \"gate\": 2}",
                   "p.json: field 'gate' must be in [0.5, 0.999999] (got 2)");
    assert_refused("{\"path\": \"a\", \"accel\": 0}", "p.json: field 'accel' must be > 0 (got 0)");
    assert_refused("{\"path\": \"a\", \"gate\": true}",
                   "p.json: field 'gate' must be a number in [0.5, 0.999999]");
}

static void unknown_keys_are_named_with_the_allowed_ones(void **state)
{
    (void)state;
    assert_refused("{\"path\": \"a\", \"gates\": 1}",
                   "p.json: unknown field 'gates' (allowed: on, count, kind, frames, gate, accel, "
                   "thresh, path, id, pos, inner, later)");
    assert_refused("{\"path\": \"a\", \"inner\": {\"x\": 1, \"y\": 2, \"z\": 3}}",
                   "p.json: unknown fields 'inner.y', 'inner.z' (allowed: x)");
}

static void other_types_and_missing_fields(void **state)
{
    (void)state;
    assert_refused("{}", "p.json: field 'path' is missing");
    assert_refused("{\"path\": \"\"}", "p.json: field 'path' must be a non-empty string");
    assert_refused("{\"path\": \"a\", \"on\": 1}", "p.json: field 'on' must be true or false");
    assert_refused("{\"path\": \"a\", \"kind\": \"best\"}",
                   "p.json: field 'kind' must be \"gnn\" or \"mht\" (got \"best\")");
    assert_refused("{\"path\": \"a\", \"kind\": 1}",
                   "p.json: field 'kind' must be \"gnn\" or \"mht\"");
    assert_refused("{\"path\": \"a\", \"id\": \"12345678\"}",
                   "p.json: field 'id' must be shorter than 8 characters");
    assert_refused("{\"path\": \"a\", \"pos\": [1, 2]}",
                   "p.json: field 'pos' must be an array of 3 numbers");
    assert_refused("{\"path\": \"a\", \"inner\": {}}", "p.json: field 'inner.x' is missing");
    assert_refused("{\"path\": \"a\", \"inner\": {\"x\": 11}}",
                   "p.json: field 'inner.x' must be in [-10, 10] (got 11)");
    assert_refused("{\"path\": \"a\", \"inner\": 5}", "p.json: field 'inner' must be an object");
    assert_refused("[1]", "p.json: must be an object");
}

static void bounds_check_for_a_struct_s_own_validation(void **state)
{
    (void)state;
    vt__jctx c = {.where = "vt_tracker_new"};
    const vt__jfield *f = vt__json_field(fields, "gate");
    assert_non_null(f);
    assert_int_equal(vt__json_check_bounds(&c, "gate", f, 0.7), VT_OK);
    assert_int_equal(vt__json_check_bounds(&c, "gate", f, NAN), VT_EPARSE);
    assert_string_equal(vt_last_error(),
                        "vt_tracker_new: field 'gate' must be in [0.5, 0.999999] (got nan)");
    assert_null(vt__json_field(fields, "nope"));
}

/* A 64-bit integer written as a huge real is refused, never converted out of range. */
static void a_huge_real_is_no_int64(void **state)
{
    (void)state;
    assert_refused("{\"path\": \"a\", \"frames\": 1e300}",
                   "p.json: field 'frames' must be an integer in [-2^63, 2^63) (got 1e+300)");
    opts o;
    assert_int_equal(read_text("{\"path\": \"a\", \"frames\": 9223372036854775807}", &o), VT_OK);
    assert_true(o.frames == INT64_MAX);
    free(o.path);
}

/* A table with a SKIP field named "*" allows any other key (and reads the rest as usual). */
static const vt__jfield open_fields[] = {VT__JF_INT("count", opts, count, 1, 100, 2, "how many"),
                                         VT__JF_SKIP("*", "any other key"),
                                         {0}};

static void a_star_field_allows_any_other_key(void **state)
{
    (void)state;
    json_t *root = json_loads("{\"count\": 4, \"whatever\": [1]}", 0, NULL);
    opts o = defaults;
    vt__jctx c = {.where = "p.json"};
    assert_int_equal(vt__json_read(&c, root, "", open_fields, &o), VT_OK);
    assert_int_equal(o.count, 4);
    json_decref(root);
    root = json_loads("{\"count\": 0}", 0, NULL);
    assert_int_equal(vt__json_read(&c, root, "", open_fields, &o), VT_EPARSE);
    assert_string_equal(vt_last_error(), "p.json: field 'count' must be in [1, 100] (got 0)");
    json_decref(root);
}

/* Readers without a table check their keys against a list of names, with the same message. */
static void a_list_of_names_checks_keys_alike(void **state)
{
    (void)state;
    static const char *const names[] = {"lat", "lon", NULL};
    json_t *root = json_loads("{\"lat\": 1, \"alt\": 2, \"h\": 3}", 0, NULL);
    vt__jctx c = {.where = "rig.json"};
    assert_int_equal(vt__json_check_names(&c, root, "origin", names), VT_EPARSE);
    assert_string_equal(vt_last_error(),
                        "rig.json: unknown fields 'origin.alt', 'origin.h' (allowed: lat, lon)");
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_is_read_into_its_field),
        cmocka_unit_test(absent_fields_keep_their_defaults),
        cmocka_unit_test(integers_are_integral_numbers),
        cmocka_unit_test(numbers_outside_their_bounds_say_both),
        cmocka_unit_test(unknown_keys_are_named_with_the_allowed_ones),
        cmocka_unit_test(other_types_and_missing_fields),
        cmocka_unit_test(bounds_check_for_a_struct_s_own_validation),
        cmocka_unit_test(a_huge_real_is_no_int64),
        cmocka_unit_test(a_star_field_allows_any_other_key),
        cmocka_unit_test(a_list_of_names_checks_keys_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
