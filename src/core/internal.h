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
 * VT__HAVE_CLONES: GCC on x86-64 Linux can compile a hot loop twice (AVX2 and the SSE2
 * baseline, __attribute__((target_clones(...)))) and let the loader pick one through an
 * ifunc. Not under the sanitizers: the ifunc's resolver runs while the loader relocates
 * the program, before the sanitizer's run time is set up, and an instrumented resolver
 * crashes there (seen with ThreadSanitizer: SIGSEGV in psf_rows_v's resolver).
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&       \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define VT__HAVE_CLONES 1
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
