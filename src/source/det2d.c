/*
 * src/source/det2d.c - reading the 2D detection files of other detectors
 * (see voxtrack/det2d.h and docs/FORMATS.md); their clock and rays are in
 * det2d_camera.c.
 *
 * The whole file is read into memory and cut into lines; the first line
 * that says anything decides the form: '{' starts JSON Lines, a first field
 * that is not a number starts a CSV header, anything else is the bare
 * "frame u v" form. Every form fills the same record and goes through one
 * check (image bounds, score and box ranges, one kind of time, order), so
 * that the three forms of the same detections give the same list, and the
 * same mistakes give the same messages with the line they are on.
 *
 * JSON lines are parsed one by one with jansson, which names the column of
 * a syntax error; CSV and bare values with strtod, whose end pointer must
 * reach the end of the field, so that "12abc" is not read as 12.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/fields.h"
#include "core/internal.h"
#include "core/json_keys.h"
#include "voxtrack/det2d.h"

/* Frame numbers above this would lose integer precision as doubles (clock input). */
#define MAX_FRAME 9007199254740992.0 /* 2^53 */

enum { COL_FRAME, COL_T, COL_U, COL_V, COL_SCORE, COL_W, COL_H, COL_CLASS, NCOLS };
static const char *const COLUMN_NAMES[NCOLS + 1] = {"frame", "t", "u",     "v", "score",
                                                    "w",     "h", "class", NULL};
#define COLUMN_LIST "frame, t, u, v, score, w, h, class"

/* One detection as read, before the checks every form shares. */
typedef struct raw_det {
    bool has[NCOLS];
    double num[NCOLS];
    const char *cls; /* not NUL-terminated: cls_len bytes */
    size_t cls_len;
} raw_det;

/* What the reader carries from line to line. */
typedef struct reader {
    const char *name;
    int width, height;
    int line;
    vt_det2d_list *out;
    bool first_seen; /* a detection was read: out->timed is decided */
} reader;

static vt_status line_error(const reader *r, const char *fmt, ...) VT__PRINTF(2, 3);

static vt_status line_error(const reader *r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vt__error(VT_EPARSE, "%s:%d: %s", r->name, r->line, what);
}

void vt_det2d_list_free(vt_det2d_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof *l);
}

static vt_status push(reader *r, const vt_det2d *d)
{
    vt_det2d_list *l = r->out;
    vt_status s = vt__grow(&l->items, &l->capacity, l->count + 1, sizeof *l->items);
    if (s)
        return vt__error_prefix(s, "%s:%d", r->name, r->line);
    l->items[l->count++] = *d;
    return VT_OK;
}

/* ------------------------------------------------------------------------ */
/* The checks every form shares                                              */

static vt_status check_and_push(reader *r, const raw_det *raw)
{
    const bool *has = raw->has;
    const double *num = raw->num;
    vt_det2d d;
    memset(&d, 0, sizeof d);
    d.frame = -1;
    d.stamp = NAN;
    d.t = NAN;
    d.score = 1.0f;
    d.line = r->line;
    if (!has[COL_U] || !has[COL_V])
        return line_error(r, "missing '%s' (every detection needs u and v)",
                          has[COL_U] ? "v" : "u");
    if (!has[COL_FRAME] && !has[COL_T])
        return line_error(r, "missing 'frame' or 't' (every detection needs one of them)");
    if (has[COL_FRAME]) {
        double f = num[COL_FRAME];
        if (!(f >= 0.0 && f <= MAX_FRAME && f == floor(f)))
            return line_error(r, "'frame' must be an integer >= 0 (got %.17g)", f);
        d.frame = (int64_t)f;
    }
    if (has[COL_T])
        d.stamp = num[COL_T];
    d.u = num[COL_U];
    d.v = num[COL_V];
    if (r->width > 0 && r->height > 0 &&
        !(d.u >= -0.5 && d.u < r->width - 0.5 && d.v >= -0.5 && d.v < r->height - 0.5))
        return line_error(r, "(u, v) = (%.10g, %.10g) lies outside the %dx%d image", d.u, d.v,
                          r->width, r->height);
    if (has[COL_SCORE]) {
        if (!(num[COL_SCORE] >= 0.0 && num[COL_SCORE] <= 1.0))
            return line_error(r, "'score' must be in [0, 1] (got %.10g)", num[COL_SCORE]);
        d.score = (float)num[COL_SCORE];
    }
    if (has[COL_W] != has[COL_H])
        return line_error(r, "'%s' without '%s': a box needs both", has[COL_W] ? "w" : "h",
                          has[COL_W] ? "h" : "w");
    if (has[COL_W]) {
        if (!(num[COL_W] >= 0.0 && num[COL_W] <= 1e6 && num[COL_H] >= 0.0 && num[COL_H] <= 1e6))
            return line_error(r, "box size (w, h) = (%.10g, %.10g) must be in [0, 1e6] pixels",
                              num[COL_W], num[COL_H]);
        d.w = (float)num[COL_W];
        d.h = (float)num[COL_H];
    }
    if (raw->cls) {
        if (raw->cls_len >= sizeof d.cls)
            return line_error(r, "'class' must be shorter than %zu bytes", sizeof d.cls);
        if (memchr(raw->cls, '\0', raw->cls_len))
            return line_error(r, "'class' must not contain a NUL byte");
        memcpy(d.cls, raw->cls, raw->cls_len);
    }
    vt_det2d_list *l = r->out;
    if (!r->first_seen) {
        l->timed = has[COL_T];
        r->first_seen = true;
    } else if (has[COL_T] != l->timed) {
        return line_error(r,
                          l->timed ? "has no 't' while the first detection (line %d) has one"
                                   : "has a 't' while the first detection (line %d) has none",
                          l->items[0].line);
    }
    if (l->count) {
        const vt_det2d *prev = &l->items[l->count - 1];
        if (l->timed && d.stamp < prev->stamp)
            return line_error(r,
                              "t = %.10g s comes after t = %.10g s (line %d): times must not "
                              "go back",
                              d.stamp, prev->stamp, prev->line);
        if (!l->timed && d.frame < prev->frame)
            return line_error(r,
                              "frame %lld comes after frame %lld (line %d): frames must not go "
                              "back",
                              (long long)d.frame, (long long)prev->frame, prev->line);
    }
    return push(r, &d);
}

/* ------------------------------------------------------------------------ */
/* The three forms                                                          */

static vt_status parse_json_line(reader *r, const char *s, size_t n)
{
    json_error_t err;
    json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);
    if (!o)
        return line_error(r, "column %d: %s", err.column, err.text);
    vt_status st = VT_OK;
    raw_det raw;
    memset(&raw, 0, sizeof raw);
    const char *bad;
    if (!json_is_object(o)) {
        st = line_error(r, "must be a JSON object {\"frame\", \"u\", \"v\", ...}");
    } else if ((bad = vt__json_unknown_key(o, COLUMN_NAMES))) {
        st = line_error(r, "unknown field '%s' (known: " COLUMN_LIST ")", bad);
    } else {
        for (int c = 0; c < NCOLS && !st; c++) {
            json_t *v = json_object_get(o, COLUMN_NAMES[c]);
            if (!v)
                continue;
            if (c == COL_CLASS) {
                if (!json_is_string(v))
                    st = line_error(r, "'class' must be a string");
                raw.cls = json_string_value(v);
                raw.cls_len = json_string_length(v);
            } else if (!json_is_number(v)) {
                st = line_error(r, "'%s' must be a number", COLUMN_NAMES[c]);
            } else {
                raw.num[c] = json_number_value(v);
            }
            raw.has[c] = true;
        }
        if (!st)
            st = check_and_push(r, &raw);
    }
    json_decref(o);
    return st;
}

/* The CSV header: which column each field is. */
typedef struct header {
    char sep;
    int ncols;
    int col[NCOLS * 2]; /* per field: its column */
} header;

static vt_status parse_header(reader *r, const char *s, const char *end, header *h)
{
    h->sep = vt__fields_sep(s, end);
    vt__field f[NCOLS + 1];
    int n = vt__fields_split(s, end, h->sep, f, NCOLS);
    if (n > NCOLS)
        return line_error(r, "the header names more than %d columns (known: " COLUMN_LIST ")",
                          NCOLS);
    bool seen[NCOLS] = {false};
    for (int i = 0; i < n; i++) {
        int c = -1;
        for (int k = 0; k < NCOLS; k++)
            if (vt__field_is(f[i], COLUMN_NAMES[k]))
                c = k;
        if (c < 0)
            return line_error(r, "unknown column '%.*s' in the header (known: " COLUMN_LIST ")",
                              (int)(f[i].n > 40 ? 40 : f[i].n), f[i].s);
        if (seen[c])
            return line_error(r, "column '%s' is named twice in the header", COLUMN_NAMES[c]);
        seen[c] = true;
        h->col[i] = c;
    }
    if (!seen[COL_U] || !seen[COL_V])
        return line_error(r, "the header has no column '%s' (u and v are required)",
                          seen[COL_U] ? "v" : "u");
    if (!seen[COL_FRAME] && !seen[COL_T])
        return line_error(r, "the header has neither 'frame' nor 't' (one is required)");
    h->ncols = n;
    return VT_OK;
}

static vt_status parse_row(reader *r, const char *s, const char *end, const header *h)
{
    vt__field f[NCOLS + 1];
    int n = vt__fields_split(s, end, h->sep, f, h->ncols);
    if (n != h->ncols)
        return line_error(r, "%s values where the header names %d", n > h->ncols ? "more" : "fewer",
                          h->ncols);
    raw_det raw;
    memset(&raw, 0, sizeof raw);
    for (int i = 0; i < n; i++) {
        int c = h->col[i];
        if (f[i].n == 0) {
            /* An empty optional field is one not given (a detector without scores). */
            if (c == COL_FRAME || c == COL_T || c == COL_U || c == COL_V)
                return line_error(r, "column '%s' is empty", COLUMN_NAMES[c]);
            continue;
        }
        raw.has[c] = true;
        if (c == COL_CLASS) {
            raw.cls = f[i].s;
            raw.cls_len = f[i].n;
        } else if (!vt__field_number(f[i], &raw.num[c])) {
            return line_error(r, "column '%s': \"%.*s\" is not a number", COLUMN_NAMES[c],
                              (int)(f[i].n > 40 ? 40 : f[i].n), f[i].s);
        }
    }
    return check_and_push(r, &raw);
}

static vt_status parse_bare(reader *r, const char *s, const char *end)
{
    static const int cols[3] = {COL_FRAME, COL_U, COL_V};
    vt__field f[4];
    int n = vt__fields_split(s, end, 0, f, 3);
    if (n != 3)
        return line_error(r,
                          "%d values; the bare form is \"frame u v\" (a header names other "
                          "columns)",
                          n > 3 ? 4 : n);
    raw_det raw;
    memset(&raw, 0, sizeof raw);
    for (int i = 0; i < 3; i++) {
        if (!vt__field_number(f[i], &raw.num[cols[i]]))
            return line_error(r, "column '%s': \"%.*s\" is not a number", COLUMN_NAMES[cols[i]],
                              (int)(f[i].n > 40 ? 40 : f[i].n), f[i].s);
        raw.has[cols[i]] = true;
    }
    return check_and_push(r, &raw);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static bool is_comment(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s < end && *s == '#';
}

/* What the first line that says anything starts. */
static vt_det2d_form form_of(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (*s == '{')
        return VT_DET2D_JSONL;
    vt__field f[2];
    vt__fields_split(s, end, vt__fields_sep(s, end), f, 1);
    double v;
    return vt__field_number(f[0], &v) ? VT_DET2D_BARE : VT_DET2D_CSV;
}

vt_status vt_det2d_parse(const char *text, size_t len, const char *name, int width, int height,
                         vt_det2d_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_det2d_parse: NULL list");
    vt_det2d_list_free(out);
    if (!text && len)
        return vt__error(VT_EINVAL, "vt_det2d_parse: NULL text");
    reader r = {name ? name : "detections", width, height, 0, out, false};
    header h = {0};
    bool started = false;
    vt_status s = VT_OK;
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    while (!s && p < end) {
        const char *line = p;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        p = nl ? nl + 1 : end;
        r.line++;
        if (n && line[n - 1] == '\r')
            n--;
        const char *e = line + n;
        if (memchr(line, '\0', n)) {
            s = line_error(&r, "contains a NUL byte (not a text file?)");
            break;
        }
        /* '#' comments in the CSV and bare forms; a JSON line is JSON. */
        if (vt__fields_blank(line, e) ||
            ((!started || out->form != VT_DET2D_JSONL) && is_comment(line, e)))
            continue;
        if (!started) {
            started = true;
            out->form = form_of(line, e);
            if (out->form == VT_DET2D_CSV) {
                s = parse_header(&r, line, e, &h);
                continue;
            }
        }
        if (out->form == VT_DET2D_JSONL)
            s = parse_json_line(&r, line, n);
        else if (out->form == VT_DET2D_CSV)
            s = parse_row(&r, line, e, &h);
        else
            s = parse_bare(&r, line, e);
    }
    if (!s && !started)
        s = vt__error(VT_EPARSE, "%s: the file is empty (no header and no detections)", r.name);
    if (s)
        vt_det2d_list_free(out);
    return s;
}

static vt_status read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return vt__error(errno == ENOENT ? VT_ENOENT : VT_EIO, "%s: cannot open: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return vt__error(VT_EIO, "%s: is a folder, not a detection file", path);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    vt_status s = buf ? VT_OK : vt__error(VT_ENOMEM, "%s: out of memory", path);
    while (!s) {
        if (n == cap) {
            char *b = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!b) {
                s = vt__error(VT_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                s = vt__error(VT_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(fp);
    if (s) {
        free(buf);
        return s;
    }
    *text = buf;
    *len = n;
    return VT_OK;
}

vt_status vt_det2d_read(const char *path, int width, int height, vt_det2d_list *out)
{
    if (!out || !path)
        return vt__error(VT_EINVAL, "vt_det2d_read: NULL argument");
    vt_det2d_list_free(out);
    char *text;
    size_t len;
    vt_status s = read_file(path, &text, &len);
    if (!s)
        s = vt_det2d_parse(text, len, path, width, height, out);
    free(text);
    return s;
}
