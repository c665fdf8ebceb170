/*
 * apps/voxtrack/cli.c - argument parsing, messages, the progress line and
 * small file checks shared by the voxtrack subcommands.
 *
 * Values are parsed whole (strtol/strtod must consume the entire string), so
 * "--grid-size 10x" is an error that names the flag and the value rather
 * than a silent 10.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- messages ---------------------------------------------------------- */

static void vmessage(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "voxtrack %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cmd, fmt, ap);
    va_end(ap);
}

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'voxtrack %s --help'.\n", cmd);
}

void cli_lib_error(const char *cmd, vt_status s)
{
    const char *msg = vt_last_error();
    cli_error(cmd, "%s", msg && *msg ? msg : vt_strerror(s));
}

/* ---- device ------------------------------------------------------------ */

int cli_open_device(const char *cmd, const char *value, bool quiet, vt_device_kind *kind)
{
    vt_device_kind want = VT_DEVICE_AUTO;
    if (value && vt_device_parse(value, &want) != VT_OK) {
        cli_usage_error(cmd, "--device must be auto, cpu or cuda, not '%s'", value);
        return CLI_EXIT_USAGE;
    }
    vt_device_info d;
    vt_status s = vt_device_open(want, &d);
    if (s) {
        cli_lib_error(cmd, s);
        return CLI_EXIT_FAIL;
    }
    if (!quiet) {
        char line[512];
        fprintf(stderr, "voxtrack %s: device: %s\n", cmd,
                vt_device_describe(&d, line, sizeof line));
    }
    *kind = d.kind;
    return CLI_EXIT_OK;
}

/* ---- values ------------------------------------------------------------ */

bool cli_parse_int(const char *cmd, const char *flag, const char *value, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end != '\0') {
        cli_usage_error(cmd, "%s: '%s' is not an integer", flag, value);
        return false;
    }
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX) {
        cli_usage_error(cmd, "%s: '%s' is out of range", flag, value);
        return false;
    }
    *out = (int)v;
    return true;
}

bool cli_parse_u64(const char *cmd, const char *flag, const char *value, uint64_t *out)
{
    char *end = NULL;
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    /* strtoull accepts "-1" and wraps it; a seed of 2^64-1 is never meant. */
    if (*p == '-') {
        cli_usage_error(cmd, "%s: '%s' is not a non-negative integer", flag, value);
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (end == value || *end != '\0') {
        cli_usage_error(cmd, "%s: '%s' is not a non-negative integer", flag, value);
        return false;
    }
    if (errno == ERANGE) {
        cli_usage_error(cmd, "%s: '%s' is out of range", flag, value);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* Parses a finite double from the start of s; *end is where it stopped. */
static bool parse_finite(const char *s, char **end, double *out)
{
    errno = 0;
    double v = strtod(s, end);
    if (*end == s || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool cli_parse_double(const char *cmd, const char *flag, const char *value, double *out)
{
    char *end = NULL;
    double v;
    if (!parse_finite(value, &end, &v) || *end != '\0') {
        cli_usage_error(cmd, "%s: '%s' is not a finite number", flag, value);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_vec3(const char *cmd, const char *flag, const char *value, vt_vec3 *out)
{
    double v[3];
    const char *p = value;
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        if (!parse_finite(p, &end, &v[i]) || *end != (i < 2 ? ',' : '\0')) {
            cli_usage_error(cmd, "%s: '%s' is not X,Y,Z (three finite numbers)", flag, value);
            return false;
        }
        p = end + 1;
    }
    *out = vt_v3(v[0], v[1], v[2]);
    return true;
}

/* ---- options ----------------------------------------------------------- */

static const cli_option *find_option(const cli_option *opts, size_t nopts, const char *name,
                                     size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static bool set_option(const char *cmd, const cli_option *o, const char *value)
{
    switch (o->kind) {
    case CLI_BOOL:
        *(bool *)o->target = true;
        return true;
    case CLI_INT:
        return cli_parse_int(cmd, o->name, value, o->target);
    case CLI_U64:
        return cli_parse_u64(cmd, o->name, value, o->target);
    case CLI_DOUBLE:
        return cli_parse_double(cmd, o->name, value, o->target);
    case CLI_VEC3:
        return cli_parse_vec3(cmd, o->name, value, o->target);
    case CLI_STRING:
        if (*value == '\0') {
            cli_usage_error(cmd, "%s: empty value", o->name);
            return false;
        }
        *(const char **)o->target = value;
        return true;
    case CLI_LIST: {
        cli_list *l = o->target;
        if (*value == '\0') {
            cli_usage_error(cmd, "%s: empty value", o->name);
            return false;
        }
        if (l->count == CLI_LIST_MAX) {
            cli_usage_error(cmd, "%s: at most %d", o->name, CLI_LIST_MAX);
            return false;
        }
        l->items[l->count++] = value;
        return true;
    }
    }
    return false;
}

int cli_parse_args(const char *cmd, int argc, char **argv, const cli_option *opts, size_t nopts,
                   int max_positional, cli_args *args)
{
    memset(args, 0, sizeof *args);
    if (max_positional > (int)(sizeof args->positional / sizeof args->positional[0]))
        max_positional = (int)(sizeof args->positional / sizeof args->positional[0]);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            args->help = true;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            const cli_option *o = find_option(opts, nopts, a, len);
            if (!o) {
                cli_usage_error(cmd, "unknown option '%.*s'", (int)len, a);
                return CLI_EXIT_USAGE;
            }
            const char *value = NULL;
            if (o->kind == CLI_BOOL) {
                if (eq) {
                    cli_usage_error(cmd, "%s takes no value", o->name);
                    return CLI_EXIT_USAGE;
                }
            } else if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                cli_usage_error(cmd, "%s needs a value", o->name);
                return CLI_EXIT_USAGE;
            }
            if (!set_option(cmd, o, value))
                return CLI_EXIT_USAGE;
            continue;
        }
        if (args->count >= max_positional) {
            cli_usage_error(cmd, "unexpected argument '%s'", a);
            return CLI_EXIT_USAGE;
        }
        args->positional[args->count++] = a;
    }
    return CLI_EXIT_OK;
}

/* ---- progress ---------------------------------------------------------- */

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, bool quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    atomic_flag_clear(&p->busy);
    p->last = -1.0;
    p->shown_len = 0;
}

void cli_progress_update(cli_progress *p, const char *fmt, ...)
{
    if (!p->enabled || atomic_flag_test_and_set(&p->busy))
        return;
    double now = cli_now();
    if (p->last < 0.0 || now - p->last >= 0.1) {
        char line[160];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        if (n >= (int)sizeof line)
            n = (int)sizeof line - 1;
        /* Pad with spaces over what a longer previous line left behind. */
        int pad = p->shown_len > n ? p->shown_len - n : 0;
        fprintf(stderr, "\r%s%*s", line, pad, "");
        fflush(stderr);
        p->shown_len = n;
        p->last = now;
    }
    atomic_flag_clear(&p->busy);
}

void cli_progress_end(cli_progress *p)
{
    if (!p->enabled || p->shown_len == 0)
        return;
    fprintf(stderr, "\r%*s\r", p->shown_len, "");
    fflush(stderr);
    p->shown_len = 0;
}

/* ---- files ------------------------------------------------------------- */

bool cli_check_output_path(const char *cmd, const char *what, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir) {
        cli_error(cmd, "out of memory");
        return false;
    }
    bool ok = false;
    struct stat st;
    if (stat(dir, &st) != 0)
        cli_error(cmd, "%s '%s': folder '%s' does not exist", what, path, dir);
    else if (!S_ISDIR(st.st_mode))
        cli_error(cmd, "%s '%s': '%s' is not a folder", what, path, dir);
    else if (access(dir, W_OK) != 0)
        cli_error(cmd, "%s '%s': folder '%s' is not writable", what, path, dir);
    else if (slash && slash[1] == '\0')
        cli_error(cmd, "%s '%s' is a folder, not a file name", what, path);
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        cli_error(cmd, "%s '%s' is a folder, not a file name", what, path);
    else
        ok = true;
    free(dir);
    return ok;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Creates `dir` when it does not exist (its parent must); accepts an existing folder. */
bool cli_ensure_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return true;
        cli_error(cmd, "--out '%s' exists and is not a folder", dir);
        return false;
    }
    if (mkdir(dir, 0777) != 0) {
        cli_error(cmd, "cannot create folder '%s': %s", dir, strerror(errno));
        return false;
    }
    return true;
}
