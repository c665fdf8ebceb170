/*
 * tests/test_doc_fields.c - the field tables of docs/ are the readers' own
 * tables (core/json_read.h): each table between a "<!-- fields: NAME -->"
 * line and a "<!-- /fields -->" line must be what vt__json_doc_table() makes
 * of the table named NAME below, and every table below must be in the docs.
 *
 * `test_doc_fields --write docs/RUN.md` rewrites that file's tables from the
 * code; review the diff and commit it with the change of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "camera/metadata_fields.h"
#include "core/buf.h"
#include "detect/fusion_opts.h"
#include "pipeline/config_fields.h"
#include "track/tracker_opts.h"

/* A documented table: the name its markers give it (a JSON path where there is one), its fields. */
typedef struct doc_table {
    const char *name;
    const vt__jfield *fields;
    const char *doc; /* the file under docs/ that shows it */
} doc_table;

static const doc_table tables[] = {
    {"(top level)", vt__config_fields, "RUN.md"},
    {"volume", vt__config_volume_fields, "RUN.md"},
    {"pipeline", vt__config_pipeline_fields, "RUN.md"},
    {"pipeline.background.mono, pipeline.background.thermal", vt__config_background_fields,
     "RUN.md"},
    {"pipeline.vote", vt__config_vote_fields, "RUN.md"},
    {"pipeline.detect", vt__config_detect_fields, "RUN.md"},
    {"pipeline.tracker", vt__tracker_fields, "RUN.md"},
    {"pipeline.fusion", vt__config_fusion_enabled_fields, "RUN.md"},
    {"pipeline.fusion (vt_fusion_opts)", vt__fusion_fields, "RUN.md"},
    {"pipeline.tracker", vt__tracker_fields, "TRACKING.md"},
    {"metadata.json entry", vt__metadata_fields, "FORMATS.md"},
};
enum { NTABLES = sizeof tables / sizeof *tables };

static const vt__jfield *find_table(const char *name, size_t n)
{
    for (int i = 0; i < NTABLES; i++)
        if (strlen(tables[i].name) == n && memcmp(tables[i].name, name, n) == 0)
            return tables[i].fields;
    return NULL;
}

/*
 * The text of a doc with every table between its markers made from the
 * code; *count: the tables. NULL (with a message on stderr) when a marker
 * has no end or names no table.
 */
static char *generated(const char *doc, int *count)
{
    static const char open[] = "<!-- fields: ", close[] = "<!-- /fields -->";
    vt__buf out = {0};
    const char *p = doc;
    *count = 0;
    for (const char *m; (m = strstr(p, open));) {
        const char *name = m + strlen(open);
        const char *eol = strstr(name, " -->\n");
        const char *end = eol ? strstr(eol, close) : NULL;
        const vt__jfield *fields = eol ? find_table(name, (size_t)(eol - name)) : NULL;
        if (!end || !fields) {
            fprintf(stderr, "a \"%s\" marker without its end or its table: %.40s\n", open, m);
            vt__buf_free(&out);
            return NULL;
        }
        vt__buf_add(&out, p, (size_t)(eol + strlen(" -->\n") - p));
        vt__json_doc_table(fields, &out);
        p = end;
        (*count)++;
    }
    vt__buf_adds(&out, p);
    return vt__buf_take(&out);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    vt__buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        vt__buf_add(&b, chunk, n);
    fclose(f);
    return vt__buf_take(&b);
}

/* docs/NAME equals what generated() makes of it; returns its number of tables. */
static int assert_doc_generated(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../docs/%s", VT_TEST_SOURCE_DIR, name);
    char *doc = read_all(path);
    if (!doc)
        fail_msg("cannot read %s", path);
    int count = 0;
    char *want = generated(doc, &count);
    if (!want)
        fail_msg("docs/%s: a bad marker", name);
    if (strcmp(doc, want) != 0)
        fail_msg("docs/%s's field tables differ from the code's: run "
                 "build/tests/test_doc_fields --write docs/%s and review the diff",
                 name, name);
    free(doc);
    free(want);
    return count;
}

static void the_docs_tables_are_the_code_tables(void **state)
{
    (void)state;
    const char *docs[NTABLES];
    int ndocs = 0;
    for (int i = 0; i < NTABLES; i++) {
        int j = 0;
        while (j < ndocs && strcmp(docs[j], tables[i].doc) != 0)
            j++;
        if (j == ndocs)
            docs[ndocs++] = tables[i].doc;
    }
    for (int j = 0; j < ndocs; j++) {
        int expected = 0;
        for (int i = 0; i < NTABLES; i++)
            expected += strcmp(tables[i].doc, docs[j]) == 0;
        int found = assert_doc_generated(docs[j]);
        if (found != expected)
            fail_msg("docs/%s has %d field tables, the code %d", docs[j], found, expected);
    }
}

/* A marker without a table, or without its end, is an error, not a pass. */
static void a_bad_marker_is_refused(void **state)
{
    (void)state;
    int count;
    assert_null(generated("<!-- fields: no.such.table -->\n<!-- /fields -->\n", &count));
    assert_null(generated("<!-- fields: volume -->\n| a |\n", &count));
    char *t = generated("x\n<!-- fields: volume -->\nold\n<!-- /fields -->\ny\n", &count);
    assert_non_null(t);
    assert_int_equal(count, 1);
    assert_non_null(strstr(t, "| `min` | array of 3 numbers | required |"));
    assert_null(strstr(t, "old"));
    free(t);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        char *doc = read_all(argv[2]);
        int count = 0;
        char *text = doc ? generated(doc, &count) : NULL;
        FILE *f = text ? fopen(argv[2], "wb") : NULL;
        if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "test_doc_fields: cannot rewrite %s\n", argv[2]);
            return 1;
        }
        printf("%s: %d tables written\n", argv[2], count);
        free(doc);
        free(text);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_docs_tables_are_the_code_tables),
        cmocka_unit_test(a_bad_marker_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
