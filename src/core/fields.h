/*
 * src/core/fields.h - splitting a line of text into fields, as the CSV-like
 * readers (2D detection files, reference tracks) need: by commas (empty
 * fields kept) or by runs of blanks, each field trimmed and stripped of
 * surrounding double quotes; and whole-field numbers. Never installed.
 */
#ifndef VOXTRACK_CORE_FIELDS_H
#define VOXTRACK_CORE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

/* One field: s[0..n), not NUL-terminated. */
typedef struct vt__field {
    const char *s;
    size_t n;
} vt__field;

/*
 * Splits [p, end) into fields: separated by sep (',': n commas give n + 1
 * fields, empty ones included) or, for sep 0, by runs of blanks (spaces and
 * tabs). Stores at most max; returns the count, max + 1 when there are more.
 */
int vt__fields_split(const char *p, const char *end, char sep, vt__field *out, int max);

/* The separator of a header or first line: ',' when it has a comma, else 0 (blanks). */
char vt__fields_sep(const char *p, const char *end);

/* A whole field as a finite number (strtod must reach its end). */
bool vt__field_number(vt__field f, double *out);

/* The field equals the NUL-terminated word. */
bool vt__field_is(vt__field f, const char *word);

/* True when [p, end) holds only blanks. */
bool vt__fields_blank(const char *p, const char *end);

#endif
