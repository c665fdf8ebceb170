/*
 * voxtrack/log.h - where the library's log lines go.
 *
 * The library speaks rarely and only of what a program cannot learn from a
 * status: a camera that reconnected, a source that ended early and is left
 * out, alert deliveries that failed. By default each line goes to stderr as
 * "voxtrack: LEVEL: MESSAGE". A program that has its own log (a service
 * writing to the journal, a GUI) installs a handler instead and gets every
 * line with its level, without the prefix.
 */
#ifndef VOXTRACK_LOG_H
#define VOXTRACK_LOG_H

#include "voxtrack/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_log_level {
    VT_LOG_ERROR = 0,
    VT_LOG_WARNING = 1,
    VT_LOG_INFO = 2,
    VT_LOG_DEBUG = 3
} vt_log_level;

/*
 * A log handler: `message` is one line without a newline, valid during the
 * call only; `user` is what vt_set_log_handler was given. It may be called
 * from any of the library's threads, several at a time, so it must be
 * thread-safe; it must not call back into the library object that logs.
 */
typedef void (*vt_log_fn)(vt_log_level level, const char *message, void *user);

/*
 * Sends every later log line of the library to fn(level, message, user);
 * fn NULL restores the default (vt_log_stderr). Thread-safe; a line being
 * logged while the handler changes goes to the old or the new one, whole.
 */
VT_API void vt_set_log_handler(vt_log_fn fn, void *user);

/* The default handler: "voxtrack: LEVEL: MESSAGE\n" to stderr (`user` unused). */
VT_API void vt_log_stderr(vt_log_level level, const char *message, void *user);

/* "error", "warning", "info" or "debug"; "unknown" for other values. */
VT_API const char *vt_log_level_name(vt_log_level level);

#ifdef __cplusplus
}
#endif

#endif
