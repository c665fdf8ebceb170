/*
 * tests/test_buf.c - core/buf.h: the array grower (overflow refused), the
 * text builder (size cap, sticky error), the JSON string writer (what JSON
 * requires escaped, valid UTF-8 through, invalid UTF-8 replaced: the output
 * always parses), and core/uf.h's union-find.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/uf.h"
#include "voxtrack/status.h"

/* ---- the grower ----------------------------------------------------------- */

static void grow_doubles_and_keeps_the_items(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(vt__grow(&a, &cap, (size_t)i + 1, sizeof *a), VT_OK);
        assert_true(cap >= (size_t)i + 1);
        a[i] = i;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(a[i], i);
    assert_int_equal(cap, 1024); /* 16, 32, ..., 1024 */
    size_t before = cap;
    assert_int_equal(vt__grow(&a, &cap, 10, sizeof *a), VT_OK); /* never shrinks */
    assert_int_equal(cap, before);
    free(a);
}

static void grow_refuses_a_size_that_overflows(void **state)
{
    (void)state;
    double *a = NULL;
    size_t cap = 0;
    assert_int_equal(vt__grow(&a, &cap, 4, sizeof *a), VT_OK);
    double *kept = a;
    /* cap * 8 wraps past SIZE_MAX: refused before realloc sees a small number. */
    assert_int_equal(vt__grow(&a, &cap, SIZE_MAX / 4, sizeof *a), VT_ENOMEM);
    assert_ptr_equal(a, kept);
    assert_int_equal(cap, 16);
    assert_non_null(strstr(vt_last_error(), "out of memory"));
    assert_int_equal(vt__grow(&a, &cap, SIZE_MAX, 1), VT_ENOMEM); /* no room for anything */
    free(a);
}

static void grow_group_moves_the_capacity_once_all_arrays_grew(void **state)
{
    (void)state;
    int *a = NULL;
    double *b = NULL;
    size_t cap = 0;
    void *const ptrs[] = {&a, &b};
    const size_t elems[] = {sizeof *a, sizeof *b};
    assert_int_equal(vt__grow_group(ptrs, elems, 2, &cap, 100), VT_OK);
    assert_int_equal(cap, 128);
    a[127] = 1;
    b[127] = 2.0;
    assert_int_equal(vt__grow_group(ptrs, elems, 2, &cap, SIZE_MAX / 2), VT_ENOMEM);
    assert_int_equal(cap, 128);
    free(a);
    free(b);
}

/* ---- the text builder ----------------------------------------------------- */

static void text_builder_appends_and_hands_over(void **state)
{
    (void)state;
    vt__buf b = {0};
    assert_string_equal(vt__buf_str(&b), "");
    assert_int_equal(vt__buf_adds(&b, "tracks"), VT_OK);
    assert_int_equal(vt__buf_addc(&b, ':'), VT_OK);
    assert_int_equal(vt__buf_addf(&b, " %d of %s", 42, "all"), VT_OK);
    assert_string_equal(b.s, "tracks: 42 of all");
    assert_int_equal(b.len, strlen(b.s));
    /* printf output longer than the room left grows the buffer once. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(vt__buf_addf(&b, "[%s]", big), VT_OK);
    assert_int_equal(b.len, 17 + 2 + 2999);
    assert_int_equal(b.s[b.len], '\0');
    vt__buf_truncate(&b, 6);
    assert_string_equal(b.s, "tracks");
    char *s = vt__buf_take(&b);
    assert_string_equal(s, "tracks");
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    free(s);
    s = vt__buf_take(&b); /* empty: an allocated "" */
    assert_string_equal(s, "");
    free(s);
}

static void text_builder_holds_binary_bytes(void **state)
{
    (void)state;
    vt__buf b = {0};
    const char bytes[] = {'a', '\0', 'b'};
    assert_int_equal(vt__buf_add(&b, bytes, 3), VT_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.s, bytes, 3);
    assert_int_equal(b.s[3], '\0');
    vt__buf_free(&b);
}

static void text_builder_cap_is_a_sticky_erange(void **state)
{
    (void)state;
    vt__buf b;
    vt__buf_init(&b, 10);
    assert_int_equal(vt__buf_adds(&b, "0123456789"), VT_OK); /* exactly the cap */
    assert_int_equal(vt__buf_addc(&b, 'x'), VT_ERANGE);
    assert_non_null(strstr(vt_last_error(), "longer than 10 bytes"));
    assert_string_equal(b.s, "0123456789"); /* what fitted is kept, NUL-terminated */
    /* Sticky: later calls add nothing, even those that would fit. */
    vt__buf_truncate(&b, 2);
    assert_int_equal(vt__buf_adds(&b, "a"), VT_ERANGE);
    assert_int_equal(vt__buf_addf(&b, "%d", 1), VT_ERANGE);
    assert_int_equal(vt__buf_json_str(&b, "a"), VT_ERANGE);
    assert_string_equal(b.s, "01");
    assert_null(vt__buf_take(&b)); /* a failed text is never handed over */
    /* Reset clears the error and keeps the cap. */
    vt__buf_init(&b, 4);
    assert_int_equal(vt__buf_addf(&b, "%s", "12345"), VT_ERANGE);
    vt__buf_reset(&b);
    assert_int_equal(b.err, VT_OK);
    assert_int_equal(vt__buf_addf(&b, "%s", "1234"), VT_OK);
    assert_int_equal(vt__buf_json_str(&b, ""), VT_ERANGE); /* "" is 2 bytes */
    vt__buf_free(&b);
}

static void numbers_print_as_json(void **state)
{
    (void)state;
    vt__buf b = {0};
    vt__buf_json_num(&b, 0.1, 6);
    vt__buf_addc(&b, ' ');
    vt__buf_json_num(&b, NAN, 6);
    vt__buf_addc(&b, ' ');
    vt__buf_json_num(&b, -INFINITY, 6);
    vt__buf_addc(&b, ' ');
    vt__buf_fixed(&b, 2.375, 2);
    vt__buf_addc(&b, ' ');
    vt__buf_fixed(&b, -0.001, 2); /* no "-0.00" */
    vt__buf_addc(&b, ' ');
    vt__buf_fixed(&b, -12.5, 0);
    vt__buf_addc(&b, ' ');
    vt__buf_fixed(&b, 1e13, 2);
    assert_string_equal(b.s, "0.1 null null 2.38 0.00 -13 1e+13");
    vt__buf_free(&b);
}

/* ---- JSON strings --------------------------------------------------------- */

/* s (n bytes) as a JSON string literal. */
static char *json_of(const char *s, size_t n)
{
    vt__buf b = {0};
    assert_int_equal(vt__buf_json_strn(&b, s, n), VT_OK);
    return vt__buf_take(&b);
}

/* The literal parses as JSON, and the parsed string is `expect` (UTF-8). */
static void assert_parses_to(const char *literal, const char *expect, size_t expect_len)
{
    json_error_t e;
    json_t *v = json_loads(literal, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v)
        fail_msg("%s does not parse: %s", literal, e.text);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), expect_len);
    assert_memory_equal(json_string_value(v), expect, expect_len);
    json_decref(v);
}

static void json_strings_escape_what_json_requires(void **state)
{
    (void)state;
    char *s = json_of("a\"b\\c\n\t\x01\x7f/", 10);
    assert_string_equal(s, "\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u007f/\"");
    assert_parses_to(s, "a\"b\\c\n\t\x01\x7f/", 10);
    free(s);
    s = json_of("a\0b", 3);
    assert_string_equal(s, "\"a\\u0000b\"");
    free(s);
    vt__buf b = {0};
    vt__buf_json_str(&b, NULL);
    assert_string_equal(b.s, "\"\"");
    vt__buf_free(&b);
}

static void json_strings_pass_valid_utf8_through(void **state)
{
    (void)state;
    /* 2, 3 and 4 bytes: "é", "€", U+10FFFF, "😀"; a UTF-8 camera id prints as itself. */
    const char *u = "caméra €\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80";
    char *s = json_of(u, strlen(u));
    assert_int_equal(strlen(s), strlen(u) + 2);
    assert_memory_equal(s + 1, u, strlen(u));
    assert_parses_to(s, u, strlen(u));
    free(s);
}

static void json_strings_replace_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out; /* the parsed result: U+FFFD is "\xef\xbf\xbd" */
    } cases[] = {
        {"a\xff!", 3, "a\xef\xbf\xbd!"},             /* a byte never in UTF-8 */
        {"\x80", 1, "\xef\xbf\xbd"},                 /* a lone continuation byte */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong '/': C0 is never valid */
        {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong, 3 bytes */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > 10FFFF */
        {"\xe2\x82", 2, "\xef\xbf\xbd"},     /* cut short at the end: one maximal subpart */
        {"\xe2\x82x", 3, "\xef\xbf\xbdx"},   /* cut short before ASCII */
        {"\xf0\x9f\x98", 3, "\xef\xbf\xbd"}, /* a 4-byte sequence missing its last byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = json_of(cases[i].in, cases[i].n);
        assert_parses_to(s, cases[i].out, strlen(cases[i].out));
        free(s);
    }
}

static void json_strings_of_every_byte_pair_parse(void **state)
{
    (void)state;
    /* Whatever comes in, JSON comes out: all 65536 two-byte inputs, and three-byte ones
       around the boundaries of the multi-byte forms. */
    for (int a = 0; a < 256; a++)
        for (int c = 0; c < 256; c++) {
            char in[3] = {(char)a, (char)c, (char)0xe0};
            for (size_t n = 2; n <= 3; n++) {
                char *s = json_of(in, n);
                json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                if (!v)
                    fail_msg("bytes %02x %02x: %s does not parse", a, c, s);
                json_decref(v);
                free(s);
            }
        }
}

static void utf8_validity_follows_rfc3629(void **state)
{
    (void)state;
    size_t skip;
    assert_int_equal(vt__utf8_valid((const unsigned char *)"A", 1, &skip), 1);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xc2\x80", 2, &skip), 2);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xef\xbf\xbf", 3, &skip), 3);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xf0\x90\x80\x80", 4, &skip), 4);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xc1\xbf", 2, &skip), 0);
    assert_int_equal(skip, 1);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xf0\x9f\x98", 3, &skip), 0);
    assert_int_equal(skip, 3);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xed\x9f\xbf", 3, &skip), 3);
    assert_int_equal(vt__utf8_valid((const unsigned char *)"\xf5\x80\x80\x80", 4, &skip), 0);
}

/* ---- union-find ----------------------------------------------------------- */

static void union_find_roots_are_the_smallest_index(void **state)
{
    (void)state;
    uint32_t p[10];
    vt__uf_init(p, 10);
    assert_int_equal(vt__uf_union(p, 7, 3), 3);
    assert_int_equal(vt__uf_union(p, 9, 7), 3);
    assert_int_equal(vt__uf_union(p, 5, 6), 5);
    assert_int_equal(vt__uf_union(p, 6, 9), 3);
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t r = vt__uf_find(p, i);
        if (i == 3 || i == 5 || i == 6 || i == 7 || i == 9)
            assert_int_equal(r, 3);
        else
            assert_int_equal(r, i);
    }
    /* The same sets whatever the order of the unions. */
    uint32_t q[10];
    vt__uf_init(q, 10);
    vt__uf_union(q, 6, 9);
    vt__uf_union(q, 5, 6);
    vt__uf_union(q, 9, 7);
    vt__uf_union(q, 7, 3);
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(vt__uf_find(q, i), vt__uf_find(p, i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grow_doubles_and_keeps_the_items),
        cmocka_unit_test(grow_refuses_a_size_that_overflows),
        cmocka_unit_test(grow_group_moves_the_capacity_once_all_arrays_grew),
        cmocka_unit_test(text_builder_appends_and_hands_over),
        cmocka_unit_test(text_builder_holds_binary_bytes),
        cmocka_unit_test(text_builder_cap_is_a_sticky_erange),
        cmocka_unit_test(numbers_print_as_json),
        cmocka_unit_test(json_strings_escape_what_json_requires),
        cmocka_unit_test(json_strings_pass_valid_utf8_through),
        cmocka_unit_test(json_strings_replace_invalid_utf8),
        cmocka_unit_test(json_strings_of_every_byte_pair_parse),
        cmocka_unit_test(utf8_validity_follows_rfc3629),
        cmocka_unit_test(union_find_roots_are_the_smallest_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
