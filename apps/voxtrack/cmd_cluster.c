/*
 * apps/voxtrack/cmd_cluster.c - `voxtrack cluster up CONFIG --workers N`: the
 * whole distributed mode on one machine (docs/CLUSTER.md).
 *
 * It starts a nats-server with JetStream on a free port of 127.0.0.1 with
 * its own store folder, then this same program as two coordinators (a
 * leader and a hot standby), N voting workers and capture nodes (--capture N; each a
 * process of its own, as on separate machines), waits for a coordinator to
 * track the last frame set, stops the others and the server, and exits
 * with that coordinator's status. Each coordinator writes its own tracks
 * (FILE.a, FILE.b); the one that finished becomes FILE. If the capture node
 * fails, or every worker or both coordinators are gone, everything is
 * stopped and the run fails: nothing is left waiting.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const CMD = "cluster";

enum { MAX_WORKERS = 64, MAX_CAPTURE = 64 };

static void usage(FILE *f)
{
    fputs("Usage: voxtrack cluster up CONFIG [options]\n"
          "       voxtrack cluster status [--nats URL] [--json]   (see cluster status --help)\n"
          "\n"
          "Runs CONFIG (as `voxtrack run` would) on the distributed mode, all on this\n"
          "machine: a nats-server with JetStream on 127.0.0.1, capture nodes, N voting\n"
          "workers and two coordinators (a leader and a standby that takes over when the\n"
          "leader dies), each its own process (docs/CLUSTER.md). The tracks are those that\n"
          "`voxtrack run` writes.\n"
          "\n"
          "Options:\n"
          "  --workers N         voting workers (default 2, at most 64)\n"
          "  --capture N         capture nodes (default 1, at most the rig's cameras): the\n"
          "                      cameras are split into N contiguous runs, capture-1 first\n"
          "  --tracks FILE       write the tracks here (default: the configuration's)\n"
          "  --detections FILE   also write every 3D detection\n"
          "  --frames N          stop after N frame sets\n"
          "  --threads N         threads per process (default 1)\n"
          "  --ack-wait S        a worker's frame set comes back to the queue after S\n"
          "                      seconds without an ack (default 10)\n"
          "  --port N            the server's port (default: a free one)\n"
          "  --store DIR         the server's store folder, kept (default: a temporary\n"
          "                      folder, removed)\n"
          "  --nats-server PATH  the server program (default: nats-server on PATH, then\n"
          "                      /usr/sbin/nats-server)\n"
          "  --json              print the coordinator's summary as one JSON object\n"
          "  --quiet             no progress line\n"
          "  -h, --help          this text\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 bad command line.\n",
          f);
}

/* A free TCP port of 127.0.0.1 (the kernel's choice), or 0. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts argv as a child; its output to `log` when given (else ours). 0 on failure. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        execv(argv[0], argv);
        fprintf(stderr, "voxtrack cluster: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Starts argv as a child with its stdout to `out` (its stderr stays ours). 0 on failure. */
static pid_t spawn_out(char *const argv[], const char *out)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "voxtrack cluster: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static void copy_file(const char *path, FILE *to)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, to);
    fclose(f);
}

static bool executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* The nats-server program: given, on PATH, or Debian's /usr/sbin. */
static bool find_server(const char *given, char *out, size_t size)
{
    if (given) {
        snprintf(out, size, "%s", given);
        return executable(out);
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, size, "%.*s/nats-server", (int)n, path);
        if (n && executable(out))
            return true;
        path = end ? end + 1 : NULL;
    }
    snprintf(out, size, "/usr/sbin/nats-server");
    return executable(out);
}

/* Removes the temporary store folder (the server's files in it). */
static void remove_tree(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void stop_child(pid_t pid)
{
    if (pid > 0)
        kill(pid, SIGTERM);
}

/* Waits up to `ms` for a child, then kills it. */
static void reap(pid_t pid, int ms)
{
    if (pid <= 0)
        return;
    for (int waited = 0; waited < ms; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

typedef struct cluster {
    pid_t server, coordinators[2], capture[MAX_CAPTURE];
    int ncapture;
    int winner; /* the coordinator that finished */
    pid_t workers[MAX_WORKERS];
    int nworkers, workers_alive;
    bool capture_done;
} cluster;

/* Follows the children until the coordinator exits; its exit status, or -1 on a failure. */
static int supervise(cluster *c)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        int which = pid == c->coordinators[0] ? 0 : pid == c->coordinators[1] ? 1 : -1;
        if (which >= 0) {
            c->coordinators[which] = 0;
            if (ok) {
                c->winner = which;
                return 0;
            }
            if (c->coordinators[!which]) { /* the standby goes on */
                cli_error(CMD, "coordinator %c %s; the other goes on", 'a' + which,
                          WIFSIGNALED(status) ? "was killed" : "failed");
                continue;
            }
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        bool was_capture = false;
        for (int i = 0; i < c->ncapture; i++)
            if (pid == c->capture[i]) {
                c->capture[i] = 0;
                was_capture = true;
            }
        if (was_capture) {
            if (!ok) {
                cli_error(CMD, "a capture node failed; stopping");
                return -1;
            }
            continue;
        }
        if (pid == c->server) {
            c->server = 0;
            cli_error(CMD, "nats-server exited; stopping");
            return -1;
        }
        for (int i = 0; i < c->nworkers; i++)
            if (pid == c->workers[i]) {
                c->workers[i] = 0;
                if (--c->workers_alive == 0) {
                    cli_error(CMD, "every voting worker is gone; stopping");
                    return -1;
                }
            }
    }
}

int cmd_cluster(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return cmd_cluster_status(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "up") != 0) {
        cli_usage_error(CMD, argc < 2 ? "expected a subcommand: up or status"
                                      : "unknown subcommand '%s' (expected: up, status)",
                        argv[1]);
        return CLI_EXIT_USAGE;
    }
    const char *tracks = NULL, *detections = NULL, *store = NULL, *server_path = NULL;
    double ack_wait = 10.0;
    int workers = 2, captures = 1, frames = 0, threads = 1, port = 0;
    bool json = false, quiet = false;
    const cli_option opts[] = {
        {"--workers", CLI_INT, &workers},     {"--tracks", CLI_STRING, &tracks},
        {"--detections", CLI_STRING, &detections}, {"--frames", CLI_INT, &frames},
        {"--threads", CLI_INT, &threads},     {"--port", CLI_INT, &port},
        {"--store", CLI_STRING, &store},      {"--nats-server", CLI_STRING, &server_path},
        {"--json", CLI_BOOL, &json},          {"--quiet", CLI_BOOL, &quiet},
        {"--ack-wait", CLI_DOUBLE, &ack_wait}, {"--capture", CLI_INT, &captures},
    };
    cli_args args;
    int rc = cli_parse_args("cluster up", argc - 1, argv + 1, opts, sizeof opts / sizeof opts[0],
                            1, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (args.count != 1) {
        cli_usage_error(CMD, "up: expected one CONFIG file");
        return CLI_EXIT_USAGE;
    }
    if (workers < 1 || workers > MAX_WORKERS || frames < 0 || threads < 0 || port < 0 ||
        port > 65535 || !(ack_wait > 0)) {
        cli_usage_error(CMD, "up: --workers must be in [1, %d], --frames and --threads >= 0, "
                             "--port in [0, 65535], --ack-wait > 0",
                        MAX_WORKERS);
        return CLI_EXIT_USAGE;
    }
    /* The configuration is checked here once, so that a bad one fails before anything runs. */
    vt_run_config cfg;
    vt_status s = vt_run_config_load(args.positional[0], &cfg);
    if (s) {
        cli_lib_error(CMD, s);
        return CLI_EXIT_FAIL;
    }
    char cfg_tracks[4096];
    snprintf(cfg_tracks, sizeof cfg_tracks, "%s", cfg.tracks);
    vt_rig rig;
    s = vt_rig_load(cfg.rig, &rig);
    vt_run_config_free(&cfg);
    if (s) {
        cli_lib_error(CMD, s);
        return CLI_EXIT_FAIL;
    }
    int ncams = rig.count;
    vt_rig_free(&rig);
    if (captures < 1 || captures > MAX_CAPTURE || captures > ncams) {
        cli_usage_error(CMD, "up: --capture must be in [1, %d] (the rig has %d cameras)",
                        ncams < MAX_CAPTURE ? ncams : MAX_CAPTURE, ncams);
        return CLI_EXIT_USAGE;
    }
    char server[4096], self[4096];
    if (!find_server(server_path, server, sizeof server)) {
        cli_error(CMD, "cannot find nats-server%s%s (Debian: apt-get install nats-server)",
                  server_path ? " at " : "", server_path ? server_path : "");
        return CLI_EXIT_FAIL;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        cli_error(CMD, "cannot find this program (/proc/self/exe)");
        return CLI_EXIT_FAIL;
    }
    self[n] = '\0';
    char dir[4096];
    bool temp = !store;
    if (temp) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/voxtrack-cluster-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            cli_error(CMD, "cannot make a store folder in %s: %s", tmp && *tmp ? tmp : "/tmp",
                      strerror(errno));
            return CLI_EXIT_FAIL;
        }
    } else {
        snprintf(dir, sizeof dir, "%s", store);
        if (!cli_ensure_dir(CMD, dir))
            return CLI_EXIT_FAIL;
    }
    if (!port && !(port = free_port())) {
        cli_error(CMD, "no free port on 127.0.0.1");
        if (temp)
            remove_tree(dir);
        return CLI_EXIT_FAIL;
    }
    char port_s[16], url[64], log[4200], threads_s[16], frames_s[32], ack_s[32];
    snprintf(ack_s, sizeof ack_s, "%g", ack_wait);
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/nats-server.log", dir);
    snprintf(threads_s, sizeof threads_s, "%d", threads);
    snprintf(frames_s, sizeof frames_s, "%d", frames);

    char track_path[2][4200] = {"", ""}, det_path[2][4200] = {"", ""};
    char out_path[2][4200] = {"", ""}, name[2][32];
    cluster c = {0};
    rc = CLI_EXIT_FAIL;
    char *server_argv[] = {server, "-js", "-a", "127.0.0.1", "-p", port_s, "-sd", dir, NULL};
    if (!(c.server = spawn(server_argv, log))) {
        cli_error(CMD, "cannot start %s", server);
        goto done;
    }
    /* Up to 10 s for the server to listen (it starts in well under a second). */
    bool up = false;
    for (int waited = 0; waited < 10000 && !up; waited += 20) {
        if (waitpid(c.server, NULL, WNOHANG) == c.server) {
            c.server = 0;
            break;
        }
        up = port_open(port);
        if (!up)
            sleep_ms(20);
    }
    if (!up) {
        cli_error(CMD, "nats-server did not start on port %d (its log: %s)", port, log);
        temp = false; /* keep the log */
        goto done;
    }
    const char *config = args.positional[0];
    const char *final_tracks = tracks ? tracks : cfg_tracks;
    for (int i = 0; i < 2; i++) {
        snprintf(track_path[i], sizeof track_path[i], "%s.%c", final_tracks, 'a' + i);
        snprintf(det_path[i], sizeof det_path[i], "%s.%c", detections ? detections : "", 'a' + i);
        snprintf(out_path[i], sizeof out_path[i], "%s/coordinator-%c.out", dir, 'a' + i);
        snprintf(name[i], sizeof name[i], "coordinator-%c", 'a' + i);
        char *coord_argv[24] = {self,      "coordinator",  (char *)config, "--nats", url,
                                "--threads", threads_s, "--name", name[i], "--tracks",
                                track_path[i]};
        int k = 11;
        if (detections) {
            coord_argv[k++] = "--detections";
            coord_argv[k++] = det_path[i];
        }
        if (json)
            coord_argv[k++] = "--json";
        if (quiet)
            coord_argv[k++] = "--quiet";
        coord_argv[k] = NULL;
        if (!(c.coordinators[i] = spawn_out(coord_argv, out_path[i]))) {
            cli_error(CMD, "cannot start coordinator %c", 'a' + i);
            goto done;
        }
    }
    char *worker_argv[] = {self,      "worker",   (char *)config, "--nats", url, "--threads",
                           threads_s, "--ack-wait", ack_s,          "--quiet", NULL};
    for (int i = 0; i < workers; i++) {
        if (!(c.workers[i] = spawn(worker_argv, NULL))) {
            cli_error(CMD, "cannot start worker %d", i + 1);
            goto done;
        }
        c.nworkers = c.workers_alive = i + 1;
    }
    /* Capture node i takes cameras [i*n/N, (i+1)*n/N): contiguous runs, as even as they
       can be. With one node, it takes them all as before. */
    for (int i = 0; i < captures; i++) {
        char cap_name[32], cams[512] = "";
        snprintf(cap_name, sizeof cap_name, "capture-%d", i + 1);
        size_t len = 0;
        for (int k = i * ncams / captures; k < (i + 1) * ncams / captures; k++)
            len += (size_t)snprintf(cams + len, sizeof cams - len, "%s%d", len ? "," : "", k);
        char *capture_argv[] = {self,      "capture", (char *)config, "--nats", url,
                                "--threads", threads_s, "--frames", frames_s, "--name",
                                cap_name,  "--cameras", cams,   "--quiet", NULL};
        if (!(c.capture[i] = spawn(capture_argv, NULL))) {
            cli_error(CMD, "cannot start capture node %d", i + 1);
            goto done;
        }
        c.ncapture = i + 1;
    }
    int status = supervise(&c);
    rc = status == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    if (rc == CLI_EXIT_OK) {
        /* The finished coordinator's outputs become the run's; the other's go. */
        int w = c.winner;
        if (rename(track_path[w], final_tracks) != 0 ||
            (detections && rename(det_path[w], detections) != 0)) {
            cli_error(CMD, "cannot rename %s to %s: %s", track_path[w], final_tracks,
                      strerror(errno));
            rc = CLI_EXIT_FAIL;
        }
        copy_file(out_path[w], stdout);
    } else {
        for (int i = 0; i < 2; i++)
            copy_file(out_path[i], stderr);
    }
done:
    for (int i = 0; i < 2; i++)
        stop_child(c.coordinators[i]);
    for (int i = 0; i < c.ncapture; i++)
        stop_child(c.capture[i]);
    for (int i = 0; i < c.nworkers; i++)
        stop_child(c.workers[i]);
    for (int i = 0; i < 2; i++)
        reap(c.coordinators[i], 5000);
    for (int i = 0; i < 2; i++) {
        bool kept = rc == CLI_EXIT_OK && i == c.winner;
        if (!kept && track_path[i][0])
            unlink(track_path[i]);
        if (!kept && detections && det_path[i][0])
            unlink(det_path[i]);
    }
    for (int i = 0; i < c.ncapture; i++)
        reap(c.capture[i], 5000);
    for (int i = 0; i < c.nworkers; i++)
        reap(c.workers[i], 5000);
    stop_child(c.server);
    reap(c.server, 5000);
    if (temp)
        remove_tree(dir);
    return rc;
}
