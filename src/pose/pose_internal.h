/*
 * src/pose/pose_internal.h - what the pose module's files share (never
 * installed): a reader of the numeric CSV logs (pose logs, IMU, GNSS).
 */
#ifndef VOXTRACK_POSE_INTERNAL_H
#define VOXTRACK_POSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/status.h"

/* The longest line a log may have, bytes (a line of eight doubles needs about 200). */
#define VT__CSV_LINE_MAX 1024
#define VT__CSV_FIELDS_MAX 16

/*
 * A log read line by line from text in memory (text[len], NUL bytes allowed:
 * they are an error where they appear). Blank lines and lines whose first
 * non-blank character is '#' are skipped. `line` is the 1-based number of
 * the line last returned, for messages that name it.
 */
typedef struct vt__csv {
    const char *name; /* for messages: the file's path */
    const char *text;
    size_t len, at;
    long line;
    char buf[VT__CSV_LINE_MAX + 1];
    char *field[VT__CSV_FIELDS_MAX];
    int nfields;
} vt__csv;

void vt__csv_init(vt__csv *c, const char *name, const char *text, size_t len);

/*
 * The next line, split at commas into c->field[0 .. nfields) (surrounding
 * blanks trimmed; an empty field is ""). Returns 1 with a line, 0 at the end,
 * or a negative status (VT_EPARSE: a line too long, a NUL byte, more than
 * VT__CSV_FIELDS_MAX fields) with a message naming the file and line.
 */
int vt__csv_next(vt__csv *c);

/*
 * Reads the header line and checks it is exactly `header` (fields compared
 * after trimming). VT_EPARSE naming the file and what was expected otherwise.
 */
vt_status vt__csv_header(vt__csv *c, const char *header);

/*
 * Field i of the current line as a finite number; "" gives NAN when
 * allow_empty, an error otherwise. VT_EPARSE naming file, line and column
 * name (`what`).
 */
vt_status vt__csv_number(const vt__csv *c, int i, const char *what, bool allow_empty, double *out);

/* VT_EPARSE naming file and line unless the current line has exactly n fields. */
vt_status vt__csv_fields(const vt__csv *c, int n);

/* A whole file into a NUL-terminated buffer (malloc'd, *len without the NUL). */
vt_status vt__read_text_file(const char *path, char **text, size_t *len);

#endif
