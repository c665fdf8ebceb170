/*
 * src/pose/csv.c - the numeric CSV logs of the pose module: pose logs, IMU
 * and GNSS logs (formats in docs/POSE.md).
 *
 * The text is in memory and may be anything (the fuzz target feeds it bytes):
 * each line is copied into a bounded buffer before it is split, so a missing
 * final newline, a NUL byte or a line of a megabyte is an error with the
 * line's number, never a read past the end. Numbers go through strtod and
 * must use the whole field and be finite.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pose/pose_internal.h"

void vt__csv_init(vt__csv *c, const char *name, const char *text, size_t len)
{
    memset(c, 0, sizeof *c);
    c->name = name ? name : "(log)";
    c->text = text ? text : "";
    c->len = text ? len : 0;
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static char *trim(char *s)
{
    while (blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

int vt__csv_next(vt__csv *c)
{
    while (c->at < c->len) {
        const char *start = c->text + c->at;
        size_t rest = c->len - c->at;
        const char *nl = memchr(start, '\n', rest);
        size_t n = nl ? (size_t)(nl - start) : rest;
        c->at += n + (nl ? 1 : 0);
        c->line++;
        if (n > VT__CSV_LINE_MAX)
            return vt__error(VT_EPARSE, "%s: line %ld: longer than %d characters", c->name, c->line,
                             VT__CSV_LINE_MAX);
        if (memchr(start, '\0', n))
            return vt__error(VT_EPARSE, "%s: line %ld: holds a NUL byte", c->name, c->line);
        memcpy(c->buf, start, n);
        c->buf[n] = '\0';
        char *s = trim(c->buf);
        if (*s == '\0' || *s == '#')
            continue;
        c->nfields = 0;
        for (;;) {
            if (c->nfields == VT__CSV_FIELDS_MAX)
                return vt__error(VT_EPARSE, "%s: line %ld: more than %d fields", c->name, c->line,
                                 VT__CSV_FIELDS_MAX);
            char *comma = strchr(s, ',');
            if (comma)
                *comma = '\0';
            c->field[c->nfields++] = trim(s);
            if (!comma)
                break;
            s = comma + 1;
        }
        return 1;
    }
    return 0;
}

vt_status vt__csv_fields(const vt__csv *c, int n)
{
    if (c->nfields != n)
        return vt__error(VT_EPARSE, "%s: line %ld: %d fields, expected %d", c->name, c->line,
                         c->nfields, n);
    return VT_OK;
}

vt_status vt__csv_header(vt__csv *c, const char *header)
{
    int r = vt__csv_next(c);
    if (r < 0)
        return (vt_status)r;
    if (r == 0)
        return vt__error(VT_EPARSE, "%s: empty: expected the header line '%s'", c->name, header);
    char want[VT__CSV_LINE_MAX + 1];
    snprintf(want, sizeof want, "%s", header);
    int i = 0;
    bool ok = true;
    for (char *tok = want, *next; tok && ok; tok = next, i++) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        ok = i < c->nfields && strcmp(c->field[i], tok) == 0;
    }
    if (!ok || i != c->nfields)
        return vt__error(VT_EPARSE, "%s: line %ld: expected the header line '%s'", c->name, c->line,
                         header);
    return VT_OK;
}

vt_status vt__csv_number(const vt__csv *c, int i, const char *what, bool allow_empty, double *out)
{
    const char *f = i < c->nfields ? c->field[i] : "";
    if (*f == '\0') {
        if (allow_empty) {
            *out = NAN;
            return VT_OK;
        }
        return vt__error(VT_EPARSE, "%s: line %ld: field '%s' is empty", c->name, c->line, what);
    }
    char *end;
    errno = 0;
    double v = strtod(f, &end);
    if (*end != '\0' || !isfinite(v))
        return vt__error(VT_EPARSE, "%s: line %ld: field '%s' is not a finite number: '%.40s'",
                         c->name, c->line, what, f);
    *out = v;
    return VT_OK;
}

/* A growing array of records of `size` bytes. */
vt_status vt__csv_numbers(const vt__csv *c, int n, const char *const *names, bool allow_empty,
                          double *v)
{
    vt_status st = vt__csv_fields(c, n);
    for (int i = 0; i < n && !st; i++)
        st = vt__csv_number(c, i, names[i], allow_empty && i > 0, &v[i]);
    return st;
}

static vt_status push(void **arr, size_t *n, size_t *cap, size_t size, const void *rec,
                      const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 4096;
        void *g = c < SIZE_MAX / size ? realloc(*arr, c * size) : NULL;
        if (!g)
            return vt__error(VT_ENOMEM, "%s: out of memory for %zu records", name, c);
        *arr = g;
        *cap = c;
    }
    memcpy((char *)*arr + *n * size, rec, size);
    (*n)++;
    return VT_OK;
}

static vt_status check_time(const vt__csv *c, double t, double last, size_t n)
{
    if (n && !(t > last))
        return vt__error(VT_EPARSE,
                         "%s: line %ld: time %.9g s is not after the previous line's %.9g s "
                         "(records must be sorted by time, without repeats)",
                         c->name, c->line, t, last);
    return VT_OK;
}

vt_status vt__csv_read(const char *text, size_t len, const char *name, const char *header,
                       size_t size, vt__csv_line_fn one, void *ctx, void **arr, size_t *count)
{
    *arr = NULL;
    *count = 0;
    vt__csv *c = malloc(sizeof *c);
    char rec[VT__CSV_RECORD_MAX];
    if (!c || size > sizeof rec) {
        free(c);
        return vt__error(VT_ENOMEM, "%s: out of memory", name);
    }
    vt__csv_init(c, name, text, len);
    size_t cap = 0;
    double last = 0.0, t = 0.0;
    vt_status st = vt__csv_header(c, header);
    int r = 0;
    while (!st && (r = vt__csv_next(c)) == 1) {
        st = one(c, ctx, rec, &t);
        if (!st)
            st = check_time(c, t, last, *count);
        if (!st)
            st = push(arr, count, &cap, size, rec, name);
        last = t;
    }
    if (!st && r < 0)
        st = (vt_status)r;
    if (!st && *count == 0)
        st = vt__error(VT_EPARSE, "%s: no records after the header", name);
    free(c);
    if (st) {
        free(*arr);
        *arr = NULL;
        *count = 0;
    }
    return st;
}

vt_status vt__read_text_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    vt_status st = b ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", path);
    while (!st) {
        if (n == cap) {
            char *g = cap < ((size_t)1 << 40) ? realloc(b, 2 * cap + 1) : NULL;
            if (!g) {
                st = vt__error(VT_ENOMEM, "%s: out of memory (%zu bytes)", path, 2 * cap);
                break;
            }
            b = g;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                st = vt__error(VT_EIO, "%s: read failed", path);
            break;
        }
    }
    fclose(fp);
    if (st) {
        free(b);
        return st;
    }
    b[n] = '\0';
    *text = b;
    *len = n;
    return VT_OK;
}
