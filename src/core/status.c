/*
 * src/core/status.c - status codes, their names and messages, and the
 * per-thread last-error message (see voxtrack/status.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"

#define VT__ERRBUF 1024

static _Thread_local char last_error[VT__ERRBUF];

const char *vt_strerror(vt_status s)
{
    switch (s) {
#define VT__CASE(name, value, msg)                                                                 \
    case VT_##name:                                                                                \
        return msg;
        VT_STATUS_MAP(VT__CASE)
#undef VT__CASE
    }
    return "unknown error";
}

const char *vt_status_name(vt_status s)
{
    switch (s) {
#define VT__CASE(name, value, msg)                                                                 \
    case VT_##name:                                                                                \
        return #name;
        VT_STATUS_MAP(VT__CASE)
#undef VT__CASE
    }
    return "UNKNOWN";
}

const char *vt_last_error(void)
{
    return last_error;
}

void vt_clear_error(void)
{
    last_error[0] = '\0';
}

const char *vt_version(void)
{
    return VT_VERSION_STRING;
}

vt_status vt__error(vt_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

vt_status vt__error_prefix(vt_status s, const char *fmt, ...)
{
    char prefix[VT__ERRBUF], old[VT__ERRBUF];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* Truncation is fine here: a long message loses its tail, never its head. */
    size_t n = strlen(prefix);
    if (n > sizeof last_error - 3)
        n = sizeof last_error - 3;
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, ": ", 2);
    n += 2;
    const char *tail = old[0] ? old : vt_strerror(s);
    size_t m = strlen(tail);
    if (m > sizeof last_error - 1 - n)
        m = sizeof last_error - 1 - n;
    memcpy(last_error + n, tail, m);
    last_error[n + m] = '\0';
    return s;
}

double vt__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
