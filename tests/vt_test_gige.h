/*
 * tests/vt_test_gige.h - Aravis' fake GigE Vision camera (arv-fake-gv-camera-0.8,
 * Debian package aravis-tools) as a child process on 127.0.0.1, for the GigE
 * tests and the GigE benchmark. It serves a 512x512 Mono8 camera, serial
 * GV01, on the standard GVCP port 3956, so only one can run per host: we
 * tell whether the port is taken from the kernel's socket table.
 *
 * The child is forked (not spawned) so that it can ask the kernel to kill it
 * when its parent dies (PR_SET_PDEATHSIG): a crashed test leaves no camera
 * behind to block the next run. Fork it from the main thread, since the
 * signal follows the thread that forked. POSIX + Linux only; no cmocka.
 */
#ifndef VT_TEST_GIGE_H
#define VT_TEST_GIGE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VT_GIGE_FAKE_TOOL "arv-fake-gv-camera-0.8"
#define VT_GIGE_FAKE_ADDRESS "127.0.0.1"
#define VT_GIGE_GVCP_PORT 3956

static inline void vt_gige_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline double vt_gige_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The tool's full path from $PATH into buf; false when it is not installed. */
static inline bool vt_gige_fake_path(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, size, "%s/%s", d, VT_GIGE_FAKE_TOOL);
        if (access(buf, X_OK) == 0)
            return true;
    }
    return false;
}

/*
 * True when a UDP socket is bound to port 3956 (a fake camera, most likely).
 * Read from /proc/net/udp rather than by binding the port ourselves: a probe
 * socket that held the port for an instant would make a camera starting at
 * that moment fail to bind and exit.
 */
static inline bool vt_gige_port_busy(void)
{
    FILE *fp = fopen("/proc/net/udp", "r");
    if (!fp)
        return false;
    char line[512], port[16];
    snprintf(port, sizeof port, ":%04X ", VT_GIGE_GVCP_PORT);
    bool busy = false;
    if (fgets(line, sizeof line, fp)) /* the header */
        while (!busy && fgets(line, sizeof line, fp)) {
            /* "  12: 0100007F:0F74 00000000:0000 07 ...": the local address comes first. */
            char *local = strchr(line, ':');
            busy = local && strncmp(local + 1 + strspn(local + 1, " ") + 8, port, 6) == 0;
        }
    fclose(fp);
    return busy;
}

/* Waits until the port is free (another run finishing); false after timeout_s. */
static inline bool vt_gige_wait_port_free(double timeout_s)
{
    double end = vt_gige_now() + timeout_s;
    while (vt_gige_port_busy()) {
        if (vt_gige_now() > end)
            return false;
        vt_gige_sleep(0.1);
    }
    return true;
}

/*
 * Starts the fake camera after delay_s seconds (the delay runs in the child,
 * so a test can start it "later" without a thread). Its output goes to
 * /dev/null. Returns its pid, or -1.
 */
static inline pid_t vt_gige_fake_start(const char *tool, double delay_s)
{
    int null_fd = open("/dev/null", O_WRONLY);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec: the parent has threads. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (null_fd >= 0) {
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        struct timespec ts = {(time_t)delay_s, (long)((delay_s - (double)(time_t)delay_s) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
        char *const argv[] = {(char *)VT_GIGE_FAKE_TOOL, (char *)"-i", (char *)VT_GIGE_FAKE_ADDRESS,
                              NULL};
        execv(tool, argv);
        _exit(127);
    }
    if (null_fd >= 0)
        close(null_fd);
    return pid;
}

/* Waits until the camera `pid` holds its port; false if it died or timeout_s passed. */
static inline bool vt_gige_fake_wait(pid_t pid, double timeout_s)
{
    double end = vt_gige_now() + timeout_s;
    while (!vt_gige_port_busy()) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid || vt_gige_now() > end)
            return false;
        vt_gige_sleep(0.02);
    }
    return true;
}

/* Kills the camera and reaps it. Accepts pid <= 0. */
static inline void vt_gige_fake_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#endif
