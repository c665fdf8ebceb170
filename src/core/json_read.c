/*
 * src/core/json_read.c - the table-driven JSON field reader of
 * core/json_read.h: one set of rules and one message form for every file
 * format of the library.
 */
#include "core/json_read.h"

#include <float.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"

void vt__json_path(char *buf, size_t size, const char *path, const char *key)
{
    snprintf(buf, size, "%s%s%s", path ? path : "", path && *path ? "." : "", key);
}

vt_status vt__json_error(const vt__jctx *c, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *where = c && c->where ? c->where : "JSON";
    if (!path || !*path)
        return vt__error(VT_EPARSE, "%s: %s", where, what);
    return vt__error(VT_EPARSE, "%s: field '%s' %s", where, path, what);
}

const vt__jfield *vt__json_field(const vt__jfield *fields, const char *name)
{
    for (const vt__jfield *f = fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The allowed keys: a table's names, or a NULL-terminated list of names (one of the two). */
typedef struct allowed {
    const vt__jfield *fields;
    const char *const *names;
} allowed;

static const char *allowed_at(allowed a, int i)
{
    return a.fields ? a.fields[i].name : a.names[i];
}

static bool is_allowed(allowed a, const char *key)
{
    for (int i = 0; allowed_at(a, i); i++)
        if (strcmp(allowed_at(a, i), key) == 0 || strcmp(allowed_at(a, i), "*") == 0)
            return true;
    return false;
}

static vt_status check_keys(const vt__jctx *c, json_t *obj, const char *path, allowed a)
{
    vt__buf names = {0};
    int unknown = 0;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        if (is_allowed(a, key))
            continue;
        vt__buf_addf(&names, "%s'%s%s%s'", unknown ? ", " : "", path ? path : "",
                     path && *path ? "." : "", key);
        unknown++;
    }
    if (!unknown)
        return VT_OK;
    vt__buf_adds(&names, " (allowed: ");
    for (int i = 0; allowed_at(a, i); i++)
        vt__buf_addf(&names, "%s%s", i == 0 ? "" : ", ", allowed_at(a, i));
    vt__buf_adds(&names, ")");
    const char *where = c && c->where ? c->where : "JSON";
    vt_status s = vt__error(VT_EPARSE, "%s: unknown field%s %s", where, unknown > 1 ? "s" : "",
                            names.err ? "(out of memory)" : vt__buf_str(&names));
    vt__buf_free(&names);
    return s;
}

vt_status vt__json_check_keys(const vt__jctx *c, json_t *obj, const char *path,
                              const vt__jfield *fields)
{
    return check_keys(c, obj, path, (allowed){fields, NULL});
}

vt_status vt__json_check_names(const vt__jctx *c, json_t *obj, const char *path,
                               const char *const *names)
{
    return check_keys(c, obj, path, (allowed){NULL, names});
}

/* %.17g prints 0.1 as 0.10000000000000001: the shortest of %.6g .. %.17g that reads back. */
static void num_text(double v, char *buf, size_t size)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* "in [lo, hi]", "> lo", ">= lo", "<= hi", or "" without bounds: as a message says them. */
static void bounds_text(const vt__jfield *f, char *buf, size_t size)
{
    bool has_lo = isfinite(f->lo), has_hi = isfinite(f->hi);
    bool gt = f->flags & VT__JF_GT, lt = f->flags & VT__JF_LT;
    char lo[32], hi[32];
    num_text(f->lo, lo, sizeof lo);
    num_text(f->hi, hi, sizeof hi);
    if (has_lo && has_hi)
        snprintf(buf, size, "in %c%s, %s%c", gt ? '(' : '[', lo, hi, lt ? ')' : ']');
    else if (has_lo)
        snprintf(buf, size, "%s %s", gt ? ">" : ">=", lo);
    else if (has_hi)
        snprintf(buf, size, "%s %s", lt ? "<" : "<=", hi);
    else
        buf[0] = '\0';
}

vt_status vt__json_check_bounds(const vt__jctx *c, const char *path, const vt__jfield *f, double v)
{
    bool low = isfinite(f->lo) && ((f->flags & VT__JF_GT) ? !(v > f->lo) : !(v >= f->lo));
    bool high = isfinite(f->hi) && ((f->flags & VT__JF_LT) ? !(v < f->hi) : !(v <= f->hi));
    if (!low && !high && !isnan(v))
        return VT_OK;
    char b[96], got[32];
    bounds_text(f, b, sizeof b);
    num_text(v, got, sizeof got);
    return vt__json_error(c, path, "must be %s (got %s)", b[0] ? b : "a number", got);
}

/* "\"gnn\" or \"mht\"", "\"a\", \"b\" or \"c\"". */
static void names_text(const char *const *names, vt__buf *b)
{
    int n = 0;
    while (names[n])
        n++;
    for (int i = 0; i < n; i++)
        vt__buf_addf(b, "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
}

static vt_status read_number(const vt__jctx *c, json_t *v, const char *path, const vt__jfield *f,
                             double *out)
{
    char b[96];
    bounds_text(f, b, sizeof b);
    bool integral = f->type == VT__JT_INT || f->type == VT__JT_INT64;
    const char *kind = integral ? "an integer" : "a number";
    if (!json_is_number(v))
        return vt__json_error(c, path, "must be %s%s%s", kind, b[0] ? " " : "", b);
    double d = json_number_value(v);
    if (json_is_integer(v) && integral) {
        json_int_t i = json_integer_value(v);
        /* Exact for every integer that the bounds (doubles) can tell apart. */
        d = (double)i;
    } else if (!isfinite(d)) {
        return vt__json_error(c, path, "must be finite");
    } else if (integral && d != floor(d)) {
        char got[32];
        num_text(d, got, sizeof got);
        return vt__json_error(c, path, "must be an integer (got %s)", got);
    }
    vt_status s = vt__json_check_bounds(c, path, f, d);
    if (s)
        return s;
    *out = d;
    return VT_OK;
}

vt_status vt__json_read_string(const vt__jctx *c, json_t *v, const char *path, const char **out)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return vt__json_error(c, path, "must be a non-empty string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return vt__json_error(c, path, "must not contain a NUL character");
    *out = json_string_value(v);
    return VT_OK;
}

vt_status vt__json_read_field(const vt__jctx *c, json_t *v, const char *path, const vt__jfield *f,
                              void *out)
{
    char *p = (char *)out + f->offset;
    if (json_is_null(v) && (f->flags & VT__JF_NULL))
        return VT_OK;
    switch (f->type) {
    case VT__JT_BOOL:
        if (!json_is_boolean(v))
            return vt__json_error(c, path, "must be true or false");
        *(bool *)p = json_is_true(v);
        return VT_OK;
    case VT__JT_INT:
    case VT__JT_INT64:
    case VT__JT_NUM:
    case VT__JT_FLOAT: {
        double d = 0;
        vt_status s = read_number(c, v, path, f, &d);
        if (s)
            return s;
        /* The C type's range, apart from the field's bounds (which the messages say). */
        if (f->type == VT__JT_INT && !(d >= INT32_MIN && d <= INT32_MAX))
            return vt__json_error(c, path, "must be an integer in [%d, %d] (got %.17g)", INT32_MIN,
                                  INT32_MAX, d);
        if (f->type == VT__JT_FLOAT && !(fabs(d) <= FLT_MAX))
            return vt__json_error(c, path, "must be a number a float holds (got %.17g)", d);
        if (f->type == VT__JT_INT)
            *(int *)p = (int)d;
        else if (f->type == VT__JT_INT64 && json_is_integer(v))
            *(int64_t *)p = (int64_t)json_integer_value(v); /* exact */
        else if (f->type == VT__JT_INT64 &&
                 !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return vt__json_error(c, path, "must be an integer in [-2^63, 2^63) (got %g)", d);
        else if (f->type == VT__JT_INT64)
            *(int64_t *)p = (int64_t)d;
        else if (f->type == VT__JT_NUM)
            *(double *)p = d;
        else
            *(float *)p = (float)d;
        return VT_OK;
    }
    case VT__JT_STR:
    case VT__JT_CHARS: {
        const char *s = NULL;
        vt_status st = vt__json_read_string(c, v, path, &s);
        if (st)
            return st;
        size_t n = strlen(s);
        if (f->type == VT__JT_CHARS) {
            if (n >= f->size)
                return vt__json_error(c, path, "must be shorter than %zu characters", f->size);
            memcpy(p, s, n + 1);
            return VT_OK;
        }
        if (f->hi > 0 && (double)n > f->hi)
            return vt__json_error(c, path, "must be at most %.0f bytes long", f->hi);
        char *d = strdup(s);
        if (!d)
            return vt__error(VT_ENOMEM, "%s: field '%s': out of memory", c->where, path);
        free(*(char **)p);
        *(char **)p = d;
        return VT_OK;
    }
    case VT__JT_ENUM: {
        const char *s = json_string_value(v);
        for (int i = 0; s && f->names[i]; i++)
            if (strcmp(s, f->names[i]) == 0) {
                *(int *)p = f->values ? f->values[i] : i;
                return VT_OK;
            }
        vt__buf b = {0};
        names_text(f->names, &b);
        vt_status st;
        if (s)
            st = vt__json_error(c, path, "must be %s (got \"%s\")", vt__buf_str(&b), s);
        else
            st = vt__json_error(c, path, "must be %s", vt__buf_str(&b));
        vt__buf_free(&b);
        return st;
    }
    case VT__JT_NUMS: {
        if (!json_is_array(v) || json_array_size(v) != f->size)
            return vt__json_error(c, path, "must be an array of %zu numbers", f->size);
        double *d = (double *)p, tmp[64];
        if (f->size > 64)
            return vt__error(VT_EINVAL, "json_read: field '%s': more than 64 numbers", path);
        for (size_t i = 0; i < f->size; i++) {
            json_t *e = json_array_get(v, i);
            if (!json_is_number(e) || !isfinite(json_number_value(e)))
                return vt__json_error(c, path, "must be an array of %zu finite numbers", f->size);
            tmp[i] = json_number_value(e);
        }
        memcpy(d, tmp, f->size * sizeof *d);
        return VT_OK;
    }
    case VT__JT_CUSTOM:
        return f->read(c, v, path, p);
    case VT__JT_SKIP:
    case VT__JT_END:
        return VT_OK;
    }
    return vt__error(VT_EINVAL, "json_read: field '%s' has an unknown type", path);
}

vt_status vt__json_read(const vt__jctx *c, json_t *obj, const char *path, const vt__jfield *fields,
                        void *out)
{
    if (obj && !json_is_object(obj))
        return vt__json_error(c, path, "must be an object");
    vt_status s = obj ? vt__json_check_keys(c, obj, path, fields) : VT_OK;
    for (const vt__jfield *f = fields; !s && f->name; f++) {
        json_t *v = obj ? json_object_get(obj, f->name) : NULL;
        char p[256];
        vt__json_path(p, sizeof p, path, f->name);
        if (!v) {
            if (f->flags & VT__JF_REQUIRED)
                s = vt__json_error(c, p, "is missing");
            continue;
        }
        s = vt__json_read_field(c, v, p, f, out);
    }
    return s;
}

/* The value of a number field (BOOL and ENUM as numbers too) in a struct; false for other types. */
static bool stored_number(const vt__jfield *f, const void *base, double *v)
{
    const char *p = (const char *)base + f->offset;
    switch (f->type) {
    case VT__JT_BOOL:
        *v = *(const bool *)p;
        return true;
    case VT__JT_INT:
    case VT__JT_ENUM:
        *v = *(const int *)p;
        return true;
    case VT__JT_INT64:
        *v = (double)*(const int64_t *)p;
        return true;
    case VT__JT_NUM:
        *v = *(const double *)p;
        return true;
    case VT__JT_FLOAT:
        *v = *(const float *)p;
        return true;
    default:
        return false;
    }
}

const vt__jfield *vt__json_check_defaults(const vt__jfield *fields, const void *out)
{
    for (const vt__jfield *f = fields; f->name; f++) {
        double v;
        if ((f->flags & VT__JF_REQUIRED) || !stored_number(f, out, &v))
            continue;
        if (f->type == VT__JT_FLOAT && (float)f->def == (float)v)
            continue; /* the default as a float */
        if (!(v == f->def || (isnan(v) && isnan(f->def))))
            return f;
    }
    return NULL;
}

vt_status vt__json_check_values(const vt__jctx *c, const char *path, const vt__jfield *fields,
                                const void *in, vt_status code)
{
    for (const vt__jfield *f = fields; f->name; f++) {
        double v;
        /* Booleans have no bounds; an ENUM's value is checked by its owner (names, not numbers). */
        if (f->type == VT__JT_BOOL || f->type == VT__JT_ENUM || !stored_number(f, in, &v))
            continue;
        char fp[256];
        vt__json_path(fp, sizeof fp, path, f->name);
        if (vt__json_check_bounds(c, fp, f, v))
            return code;
    }
    return VT_OK;
}

/* What a field may be, as the docs' tables say it: "number in [0, 1]", "`true` or `false`". */
static void value_text(const vt__jfield *f, vt__buf *b)
{
    char bounds[96];
    bounds_text(f, bounds, sizeof bounds);
    switch (f->type) {
    case VT__JT_BOOL:
        vt__buf_adds(b, "`true` or `false`");
        return;
    case VT__JT_INT:
    case VT__JT_INT64:
        vt__buf_addf(b, "integer%s%s", bounds[0] ? " " : "", bounds);
        return;
    case VT__JT_NUM:
    case VT__JT_FLOAT:
        vt__buf_addf(b, "number%s%s", bounds[0] ? " " : "", bounds);
        return;
    case VT__JT_STR:
        vt__buf_adds(b, "non-empty string");
        return;
    case VT__JT_CHARS:
        vt__buf_addf(b, "non-empty string of at most %zu bytes", f->size - 1);
        return;
    case VT__JT_NUMS:
        vt__buf_addf(b, "array of %zu numbers", f->size);
        return;
    case VT__JT_ENUM:
    case VT__JT_CUSTOM:
        if (f->names) {
            for (int i = 0; f->names[i]; i++)
                vt__buf_addf(b, "%s`\"%s\"`",
                             i == 0            ? ""
                             : f->names[i + 1] ? ", "
                                               : " or ",
                             f->names[i]);
        } else {
            vt__buf_adds(b, "object");
        }
        return;
    case VT__JT_SKIP:
    case VT__JT_END:
        return;
    }
}

/* A field's default as the docs' tables say it: its def_text, or its number, or "required". */
static void default_text(const vt__jfield *f, vt__buf *b)
{
    char num[32];
    if (f->def_text) {
        vt__buf_adds(b, f->def_text);
    } else if (f->flags & VT__JF_REQUIRED) {
        vt__buf_adds(b, "required");
    } else if (f->type == VT__JT_BOOL) {
        vt__buf_adds(b, f->def ? "`true`" : "`false`");
    } else if (f->type == VT__JT_INT || f->type == VT__JT_INT64 || f->type == VT__JT_NUM ||
               f->type == VT__JT_FLOAT) {
        num_text(f->def, num, sizeof num);
        vt__buf_adds(b, num);
    } else if (f->type == VT__JT_ENUM) {
        for (int i = 0; f->names[i]; i++)
            if ((f->values ? f->values[i] : i) == (int)f->def)
                vt__buf_addf(b, "`\"%s\"`", f->names[i]);
    }
}

void vt__json_doc_table(const vt__jfield *fields, vt__buf *b)
{
    vt__buf_adds(b, "| field | value | default | meaning |\n| --- | --- | --- | --- |\n");
    for (const vt__jfield *f = fields; f->name; f++) {
        vt__buf_addf(b, "| `%s` | ", f->name);
        value_text(f, b);
        vt__buf_adds(b, " | ");
        default_text(f, b);
        vt__buf_addf(b, " | %s |\n", f->doc ? f->doc : "");
    }
}
