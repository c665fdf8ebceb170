/*
 * src/core/json_read.h - the one JSON field reader of voxtrack: a JSON
 * object is read into a C struct against a table of its fields (name, type,
 * where it goes, bounds, required or its default, a line of documentation).
 * Every file format of the library reads its objects this way (run
 * configurations, rigs, scenarios, alert rules, metadata, evaluation
 * inputs), so they all behave alike:
 *
 *   - an unknown key is an error that names it and lists the allowed ones
 *     (a misspelt optional field would otherwise be silently ignored),
 *     unless the table allows any key (a SKIP field named "*": only for a
 *     format kept as another program writes it, the original's metadata);
 *   - an integer is a JSON number with an integral value: 3 and 3.0 are 3,
 *     3.5 is refused (JSON has one number type and writers differ);
 *   - numbers must be finite and inside their bounds;
 *   - every message has one form, "WHERE: field 'PATH' WHAT", where WHERE is
 *     the file (and line, or the entry: "rig.json: camera 3 ('m3')"), PATH
 *     the field's JSON path ("pipeline.tracker.gate_prob", "polygon[2]") and
 *     WHAT what was expected and what came: "must be in [0.5, 0.999999]
 *     (got 2)", "must be > 0 (got 0)", "must be an integer (got 3.5)",
 *     "must be \"gnn\" or \"mht\" (got \"best\")", "is missing";
 *     unknown keys: "WHERE: unknown field 'PATH.k' (allowed: a, b, c)".
 *
 * The bounds of an option live in its table, next to the options struct
 * that they bound (one table per struct, in the folder that owns the
 * struct); both a file reader and the struct's own validation use it, and a
 * test checks the table's defaults against vt_X_opts_default() and the
 * tables in docs/ against the table (vt__json_check_defaults, the docs test).
 *
 * Never installed. Usage:
 *
 *     static const vt__jfield fields[] = {
 *         VT__JF_INT("confirm_m", vt_tracker_opts, confirm_m, 1, 100, 2, "hits to confirm"),
 *         VT__JF_NUM("gate_prob", vt_tracker_opts, gate_prob, 0.5, 0.999999, 0.99, "gating"),
 *         {0}};
 *     vt__jctx c = {.where = "run.json"};
 *     vt_status s = vt__json_read(&c, obj, "pipeline.tracker", fields, &opts);
 */
#ifndef VOXTRACK_CORE_JSON_READ_H
#define VOXTRACK_CORE_JSON_READ_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "voxtrack/status.h"

typedef enum vt__jtype {
    VT__JT_END = 0, /* the {0} that ends a table */
    VT__JT_BOOL,    /* bool: true or false */
    VT__JT_INT,     /* int: an integral number in [lo, hi] */
    VT__JT_INT64,   /* int64_t: an integral number in [lo, hi] (exact up to 2^53 as a real) */
    VT__JT_NUM,     /* double: a finite number in [lo, hi] */
    VT__JT_FLOAT,   /* float: the same, stored as a float */
    VT__JT_STR,     /* char *: a string, strdup'ed (the old value freed); lo..hi bytes */
    VT__JT_CHARS,   /* char[size]: a string of 1..size-1 bytes copied into a fixed array */
    VT__JT_ENUM,    /* int: one of names[], stored as values[i] (or i when values is NULL) */
    VT__JT_NUMS,    /* double[size]: an array of exactly `size` finite numbers */
    VT__JT_CUSTOM,  /* read by `read` (a nested object, a union, a list) */
    VT__JT_SKIP,    /* an allowed key that the caller reads itself; "*": any other key is allowed */
} vt__jtype;

/* Flags of a field. */
enum {
    VT__JF_REQUIRED = 1u << 0, /* absent is an error ("is missing"); no default */
    VT__JF_GT = 1u << 1,       /* the lower bound is exclusive: > lo rather than >= lo */
    VT__JF_LT = 1u << 2,       /* the upper bound is exclusive: < hi */
    VT__JF_NULL = 1u << 3,     /* null is accepted and leaves the field as it was */
};

/* What every message needs to say where it is. */
typedef struct vt__jctx {
    const char *where; /* "run.json", "rig.json: camera 3 ('m3')", "truth.jsonl:12" */
    void *user;        /* for CUSTOM readers */
} vt__jctx;

typedef struct vt__jfield vt__jfield;

/* A CUSTOM field's reader: v (never NULL) at `path`, into the field at `out`. */
typedef vt_status (*vt__jread_fn)(const vt__jctx *c, json_t *v, const char *path, void *out);

struct vt__jfield {
    const char *name;
    vt__jtype type;
    size_t offset;            /* of the field in the struct */
    unsigned flags;           /* VT__JF_* */
    double lo, hi;            /* numbers: bounds (±INFINITY: none); STR: length in bytes */
    double def;               /* the default of a BOOL (0/1), number or ENUM (its value) */
    const char *def_text;     /* the default as documented when it is not a number ("gnn") */
    const char *const *names; /* ENUM: the names, NULL-terminated */
    const int *values;        /* ENUM: the value of each name; NULL: its index */
    size_t size;              /* CHARS: bytes of the array; NUMS: how many numbers */
    vt__jread_fn read;        /* CUSTOM */
    const char *doc;          /* one line for docs/ */
};

/* Table entries. Bounds are inclusive; or them with VT__JF_GT / VT__JF_LT in .flags. */
#define VT__JF_BOOL(name, type, member, dflt, doc)                                                 \
    {                                                                                              \
        name, VT__JT_BOOL, offsetof(type, member), 0, 0, 1, (dflt), NULL, NULL, NULL, 0, NULL, doc \
    }
#define VT__JF_INT(name, type, member, lo, hi, dflt, doc)                                          \
    {                                                                                              \
        name, VT__JT_INT, offsetof(type, member), 0, (lo), (hi), (dflt), NULL, NULL, NULL, 0,      \
            NULL, doc                                                                              \
    }
#define VT__JF_INT64(name, type, member, lo, hi, dflt, doc)                                        \
    {                                                                                              \
        name, VT__JT_INT64, offsetof(type, member), 0, (lo), (hi), (dflt), NULL, NULL, NULL, 0,    \
            NULL, doc                                                                              \
    }
#define VT__JF_NUM(name, type, member, lo, hi, dflt, doc)                                          \
    {                                                                                              \
        name, VT__JT_NUM, offsetof(type, member), 0, (lo), (hi), (dflt), NULL, NULL, NULL, 0,      \
            NULL, doc                                                                              \
    }
#define VT__JF_FLOAT(name, type, member, lo, hi, dflt, doc)                                        \
    {                                                                                              \
        name, VT__JT_FLOAT, offsetof(type, member), 0, (lo), (hi), (dflt), NULL, NULL, NULL, 0,    \
            NULL, doc                                                                              \
    }
#define VT__JF_ENUM(name, type, member, names, values, dflt, dflt_text, doc)                       \
    {                                                                                              \
        name, VT__JT_ENUM, offsetof(type, member), 0, 0, 0, (dflt), dflt_text, names, values, 0,   \
            NULL, doc                                                                              \
    }
#define VT__JF_CHARS(name, type, member, flags, doc)                                               \
    {                                                                                              \
        name, VT__JT_CHARS, offsetof(type, member), flags, 0, 0, 0, NULL, NULL, NULL,              \
            sizeof(((type *)0)->member), NULL, doc                                                 \
    }
#define VT__JF_STR(name, type, member, flags, doc)                                                 \
    {                                                                                              \
        name, VT__JT_STR, offsetof(type, member), flags, 1, 65535, 0, NULL, NULL, NULL, 0, NULL,   \
            doc                                                                                    \
    }
#define VT__JF_NUMS(name, type, member, n, flags, doc)                                             \
    {                                                                                              \
        name, VT__JT_NUMS, offsetof(type, member), flags, -INFINITY, INFINITY, 0, NULL, NULL,      \
            NULL, n, NULL, doc                                                                     \
    }
#define VT__JF_CUSTOM(name, type, member, fn, flags, doc)                                          \
    {                                                                                              \
        name, VT__JT_CUSTOM, offsetof(type, member), flags, 0, 0, 0, NULL, NULL, NULL, 0, fn, doc  \
    }
#define VT__JF_SKIP(name, doc)                                                                     \
    {                                                                                              \
        name, VT__JT_SKIP, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0, NULL, doc                           \
    }

/*
 * Reads obj (a JSON object at `path`, "" for the top level) into `out`
 * against `fields` (ended by {0}): refuses unknown keys, reads each field
 * present, refuses a required one that is absent and leaves the others as
 * they were (so `out` starts from its defaults). Stops at the first error:
 * VT_EPARSE with the message of the top of this file. A NULL obj reads as
 * an empty object.
 */
vt_status vt__json_read(const vt__jctx *c, json_t *obj, const char *path, const vt__jfield *fields,
                        void *out);

/* Reads one field's value v (present) at `path` into out (the struct). */
vt_status vt__json_read_field(const vt__jctx *c, json_t *v, const char *path, const vt__jfield *f,
                              void *out);

/* Only the unknown-key check of vt__json_read. */
vt_status vt__json_check_keys(const vt__jctx *c, json_t *obj, const char *path,
                              const vt__jfield *fields);

/* The same check against a NULL-terminated list of names (for readers without a table). */
vt_status vt__json_check_names(const vt__jctx *c, json_t *obj, const char *path,
                               const char *const *names);

/* A STR field's check on its own: v a non-empty string without NUL; *out borrows its text. */
vt_status vt__json_read_string(const vt__jctx *c, json_t *v, const char *path, const char **out);

/*
 * Checks a number (already read) against a field's bounds, with the message
 * of vt__json_read: for the struct's own validation (vt_X_new), so that a
 * bound is written once.
 */
vt_status vt__json_check_bounds(const vt__jctx *c, const char *path, const vt__jfield *f, double v);

/*
 * Checks the numbers of a struct (BOOL, INT, INT64, NUM, FLOAT fields of
 * `in`) against their table's bounds, for the struct's own validation
 * (vt_X_new): the first one outside gives the reader's message ("WHERE:
 * field 'PATH.name' must be in [lo, hi] (got v)") and returns `code`
 * (VT_EINVAL for options passed to a function).
 */
vt_status vt__json_check_values(const vt__jctx *c, const char *path, const vt__jfield *fields,
                                const void *in, vt_status code);

/*
 * Appends the Markdown table of `fields` to b: one row per field with its
 * name, what it may be (its type and bounds), its default and its doc line,
 * as docs/ shows them (a test compares the docs' tables with this).
 */
void vt__json_doc_table(const vt__jfield *fields, vt__buf *b);

/* The field named `name` of a table, or NULL. */
const vt__jfield *vt__json_field(const vt__jfield *fields, const char *name);

/*
 * The first field (BOOL, INT, INT64, NUM, FLOAT, ENUM; not REQUIRED) whose
 * value in `out` differs from its table default, or NULL when all agree: a
 * test runs it on vt_X_opts_default() so that the table and the struct's
 * defaults never drift apart.
 */
const vt__jfield *vt__json_check_defaults(const vt__jfield *fields, const void *out);

/* Writes "PATH.key" (or "key" when path is empty) into buf. */
void vt__json_path(char *buf, size_t size, const char *path, const char *key);

/*
 * The error of the reader's form for a field: "WHERE: field 'PATH' WHAT"
 * (printf-style WHAT), returning VT_EPARSE; for a CUSTOM reader's checks.
 */
vt_status vt__json_error(const vt__jctx *c, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
