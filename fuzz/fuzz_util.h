/*
 * fuzz/fuzz_util.h - for the fuzz targets whose reader takes a path (rig,
 * run configuration, metadata, evaluation inputs, the file log): writes an
 * input to a file in a folder of this process (made at the first call under
 * $TMPDIR or /tmp, removed at exit) and returns its path. Header-only: each
 * target is one program.
 */
#ifndef VOXTRACK_FUZZ_UTIL_H
#define VOXTRACK_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[4096];
static char fuzz_names[8][64];
static int fuzz_nnames;

static inline void fuzz_cleanup(void)
{
    char p[4200];
    for (int i = 0; i < fuzz_nnames; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir, fuzz_names[i]);
        unlink(p);
    }
    rmdir(fuzz_dir);
}

/* The path of fuzz_dir/name holding data[0..size); aborts when the file cannot be written
   (a broken setup, not a finding). `name` is one of at most 8 fixed names. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char paths[8][4200];
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/vt-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            perror("fuzz_file: mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup);
    }
    int slot = 0;
    while (slot < fuzz_nnames && strcmp(fuzz_names[slot], name) != 0)
        slot++;
    if (slot == fuzz_nnames) {
        if (fuzz_nnames == 8)
            abort();
        snprintf(fuzz_names[fuzz_nnames++], sizeof fuzz_names[0], "%s", name);
    }
    char *path = paths[slot];
    snprintf(path, sizeof paths[0], "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* A NUL-terminated copy of the input (for readers of C strings); free() it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * A reader's answer to bad input: one of the statuses it documents, and a
 * message that says what is wrong (the thread's last error, emptied before
 * the call by fuzz_clear_error). Anything else aborts: it is a finding.
 */
#include "core/internal.h"
#include "voxtrack/status.h"

static inline void fuzz_clear_error(void)
{
    vt__error(VT_OK, "%s", "");
}

static inline void fuzz_check_status(vt_status s, const vt_status *allowed, size_t n)
{
    if (s == VT_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (s == allowed[i]) {
            if (!vt_last_error()[0]) {
                fprintf(stderr, "fuzz: %s without a message\n", vt_status_name(s));
                abort();
            }
            return;
        }
    fprintf(stderr, "fuzz: unexpected status %s: %s\n", vt_status_name(s), vt_last_error());
    abort();
}
#define FUZZ_CHECK_STATUS(s, ...)                                                                  \
    do {                                                                                           \
        static const vt_status fuzz_allowed_[] = {__VA_ARGS__};                                    \
        fuzz_check_status((s), fuzz_allowed_, sizeof fuzz_allowed_ / sizeof fuzz_allowed_[0]);     \
    } while (0)

#endif
