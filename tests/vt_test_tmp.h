/*
 * tests/vt_test_tmp.h - a scratch folder per test program, under
 * $VT_TEST_TMP (set by ctest) or /tmp, created by the group setup and
 * removed by the group teardown:
 *
 *     return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
 *
 * Define VT_TEST_NAME ("test_rig") before including it. POSIX only.
 */
#ifndef VT_TEST_TMP_H
#define VT_TEST_TMP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifndef VT_TEST_NAME
#error "define VT_TEST_NAME before including vt_test_tmp.h"
#endif

static char tmpdir[512];

/* mkdir -p */
static inline int vt_test_make_dirs(const char *path)
{
    char buf[1100];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static inline int vt_test_make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("VT_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    if (vt_test_make_dirs(base) != 0)
        return -1;
    snprintf(tmpdir, sizeof tmpdir, "%s/" VT_TEST_NAME "-XXXXXX", base);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int vt_test_remove_tmpdir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* NAME inside the scratch folder (one static buffer: use before the next call). */
static inline const char *vt_test_tmp_path(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

#endif
