/*
 * voxtrack/status.h - the one error convention of the library.
 *
 * Every fallible function returns a vt_status: 0 on success, a negative code
 * otherwise. The codes come from one X-macro table, which also yields their
 * names and messages, and they are only ever appended to (never renumbered).
 * The human message with context ("rig.json: camera 3: field 'fx' must be
 * > 0") is kept per thread and read with vt_last_error().
 */
#ifndef VOXTRACK_STATUS_H
#define VOXTRACK_STATUS_H

#include "voxtrack/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, message). Append only. */
#define VT_STATUS_MAP(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EIO, -3, "input/output error")                                                               \
    X(ENOENT, -4, "no such file or directory")                                                     \
    X(EPARSE, -5, "malformed input")                                                               \
    X(EFORMAT, -6, "unsupported or corrupt data format")                                           \
    X(ERANGE, -7, "value out of range")                                                            \
    X(EMISMATCH, -8, "inconsistent inputs")                                                        \
    X(EUNSUPPORTED, -9, "operation not supported")                                                 \
    X(ECANCELED, -10, "operation canceled")

typedef enum vt_status {
#define VT__STATUS_ENUM(name, value, msg) VT_##name = (value),
    VT_STATUS_MAP(VT__STATUS_ENUM)
#undef VT__STATUS_ENUM
} vt_status;

/* A short English description of a status code ("invalid argument"). Never NULL. */
VT_API const char *vt_strerror(vt_status s);

/* The code's name without prefix ("EINVAL"); "UNKNOWN" for codes not in the table. */
VT_API const char *vt_status_name(vt_status s);

/*
 * The message of the last error set on the calling thread, with context (file,
 * entry, field). Empty string when none. The pointer is valid until the next
 * library call on this thread that fails.
 */
VT_API const char *vt_last_error(void);

/* Clears the calling thread's last-error message. */
VT_API void vt_clear_error(void);

/* The library version as "MAJOR.MINOR.PATCH". */
VT_API const char *vt_version(void);

#ifdef __cplusplus
}
#endif

#endif
