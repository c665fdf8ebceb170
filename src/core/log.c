/*
 * src/core/log.c - the library's log lines (voxtrack/log.h): vt__log formats
 * a line and hands it to the handler a program installed, stderr by default.
 *
 * The handler and its user pointer are one pair read under a mutex, so a
 * line never goes to a new handler with the old one's user data. Lines are
 * rare (reconnects, sources left out, failed deliveries), so the lock costs
 * nothing; the handler itself runs outside it, so a slow one delays only
 * the thread that logs.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/internal.h"
#include "voxtrack/log.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static vt_log_fn log_fn = vt_log_stderr;
static void *log_user;

const char *vt_log_level_name(vt_log_level level)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    return (unsigned)level < sizeof names / sizeof names[0] ? names[level] : "unknown";
}

void vt_log_stderr(vt_log_level level, const char *message, void *user)
{
    (void)user;
    /* One call, so that lines from two threads do not interleave. */
    fprintf(stderr, "voxtrack: %s: %s\n", vt_log_level_name(level), message);
}

void vt_set_log_handler(vt_log_fn fn, void *user)
{
    pthread_mutex_lock(&log_mu);
    log_fn = fn ? fn : vt_log_stderr;
    log_user = fn ? user : NULL;
    pthread_mutex_unlock(&log_mu);
}

void vt__log(int level, const char *fmt, ...)
{
    if (level < VT_LOG_ERROR || level > VT_LOG_DEBUG)
        level = VT_LOG_DEBUG;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap); /* a longer line loses its tail */
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    vt_log_fn fn = log_fn;
    void *user = log_user;
    pthread_mutex_unlock(&log_mu);
    fn((vt_log_level)level, line, user);
}
