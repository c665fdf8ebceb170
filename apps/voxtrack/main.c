/*
 * apps/voxtrack/main.c - the voxtrack command: git-style dispatch to one
 * function per subcommand (cmd_<name>.c).
 *
 *   voxtrack [--version] [--help] <command> [args]
 *
 * Each command parses its own arguments and returns its exit status:
 * 0 success, 1 runtime failure, 2 bad command line.
 */
#include "cli.h"

#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"calibrate", cmd_calibrate, "camera orientations and clocks from a flight's 2D detections"},
    {"calibrate-pair", cmd_calibrate_pair, "the thermal-from-mono rotation of each pair from 2D detections"},
    {"capture", cmd_capture, "distributed mode: a capture node (motion, blobs, rays) on NATS"},
    {"cluster", cmd_cluster, "distributed mode on one machine: cluster up CONFIG --workers N"},
    {"coordinator", cmd_coordinator, "distributed mode: assembles frame sets, tracks in order"},
    {"demo", cmd_demo, "the built-in scene, end to end: tracks and their accuracy"},
    {"demo-project", cmd_demo_project, "the original projector on a built-in moving-dot dataset"},
    {"eval", cmd_eval, "tracking accuracy of tracks.jsonl against truth.jsonl"},
    {"listen", cmd_listen, "print a stream (udp://, tcp://, shm://, file://) as JSON lines"},
    {"pose-eval", cmd_pose_eval, "how far estimated camera poses are from the true ones"},
    {"project", cmd_project, "the original projector: metadata.json + images -> voxel_grid.bin"},
    {"run", cmd_run, "track what a rig's cameras recorded: config.json -> tracks.jsonl"},
    {"serve", cmd_serve, "the dashboard, /metrics and alerts for a stream (--from URL)"},
    {"simulate", cmd_simulate, "render a scenario or preset: frames, rig.json, ground truth"},
    {"worker", cmd_worker, "distributed mode: a voting worker (work queue on NATS)"},
};

static const size_t command_count = sizeof commands / sizeof commands[0];

static void usage(FILE *f)
{
    fprintf(f, "Usage: voxtrack [--version] [--help] <command> [args]\n"
               "\n"
               "Multi-camera 3D tracking of small moving objects by voxel voting.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < command_count; i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "'voxtrack <command> --help' describes a command.\n"
               "Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < command_count; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* `voxtrack help [COMMAND]`: the same as `voxtrack COMMAND --help`. */
static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "voxtrack: unknown command '%s'\nTry 'voxtrack --help'.\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    char *help_argv[] = {argv[1], "--help", NULL};
    return c->run(2, help_argv);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help(argc - 1, argv + 1) == CLI_EXIT_OK ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (strcmp(name, "help") == 0)
        return help(argc - 1, argv + 1);
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("voxtrack %s\n", vt_version());
        return CLI_EXIT_OK;
    }
    const command *c = find_command(name);
    if (!c) {
        if (name[0] == '-')
            fprintf(stderr, "voxtrack: unknown option '%s'\n", name);
        else
            fprintf(stderr, "voxtrack: unknown command '%s'\n", name);
        fprintf(stderr, "Try 'voxtrack --help'.\n");
        return CLI_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
