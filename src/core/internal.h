/*
 * src/core/internal.h - helpers shared by the library's own sources (never
 * installed). Internal non-static symbols carry the vt__ prefix.
 */
#ifndef VOXTRACK_INTERNAL_H
#define VOXTRACK_INTERNAL_H

#include <stdarg.h>

#include "voxtrack/status.h"

#if defined(__GNUC__)
#define VT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VT__PRINTF(a, b)
#endif

/*
 * Sets the calling thread's last-error message (printf-style) and returns
 * `s`, so that a failure path reads: return vt__error(VT_EINVAL, "...", ...);
 */
vt_status vt__error(vt_status s, const char *fmt, ...) VT__PRINTF(2, 3);

/* Prepends "prefix: " to the current last-error message. Returns s. */
vt_status vt__error_prefix(vt_status s, const char *fmt, ...) VT__PRINTF(2, 3);

/* A log line (voxtrack/log.h: the installed handler, stderr by default); level 0 = error,
   1 = warning, 2 = info, 3 = debug. */
void vt__log(int level, const char *fmt, ...) VT__PRINTF(2, 3);

/* Monotonic clock in seconds. */
double vt__now(void);

#endif
