/*
 * src/pose/pose_internal.h - what the pose module's files share (never
 * installed): a reader of the numeric CSV logs (pose logs, IMU, GNSS) and the
 * sensor logs' records.
 */
#ifndef VOXTRACK_POSE_INTERNAL_H
#define VOXTRACK_POSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/pose.h"
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

/*
 * The current line as exactly n finite numbers named `names` (for messages);
 * with allow_empty, fields after the first may be empty (NAN).
 */
vt_status vt__csv_numbers(const vt__csv *c, int n, const char *const *names, bool allow_empty,
                          double *v);

/* The largest record vt__csv_read copies, bytes. */
#define VT__CSV_RECORD_MAX 128

/* Reads the current line into the record rec and says its time. */
typedef vt_status (*vt__csv_line_fn)(const vt__csv *c, void *ctx, void *rec, double *t);

/*
 * A whole log: the header line, then every line through `one` into a growing
 * array of records of `size` bytes (<= VT__CSV_RECORD_MAX), whose times must
 * strictly increase; at least one record. On failure *arr is NULL.
 */
vt_status vt__csv_read(const char *text, size_t len, const char *name, const char *header,
                       size_t size, vt__csv_line_fn one, void *ctx, void **arr, size_t *count);

/* ---- sensor logs (logs.c) ---- */

typedef struct vt__imu_sample {
    double t;
    vt_vec3 g, a; /* rad/s, m/s^2, body frame */
} vt__imu_sample;

typedef struct vt__gps_fix {
    double t;
    vt_vec3 p; /* antenna, world ENU */
} vt__gps_fix;

typedef struct vt__heading_fix {
    double t, h; /* radians clockwise from north */
} vt__heading_fix;

/* imu.csv: "t,gx,gy,gz,ax,ay,az". */
vt_status vt__imu_log_parse(const char *text, size_t len, const char *name, vt__imu_sample **out,
                            size_t *count);
/* gps.csv: "t,lat,lon,h,x,y,z" (x, y, z or lat, lon, h through origin). */
vt_status vt__gps_log_parse(const char *text, size_t len, const char *name,
                            const vt_pose_origin *origin, vt__gps_fix **out, size_t *count);
/* heading.csv: "t,heading_deg". */
vt_status vt__heading_log_parse(const char *text, size_t len, const char *name,
                                vt__heading_fix **out, size_t *count);

/* A whole file into a NUL-terminated buffer (malloc'd, *len without the NUL). */
vt_status vt__read_text_file(const char *path, char **text, size_t *len);

#endif
