/*
 * apps/voxtrack/cmd_cluster_status.c - `voxtrack cluster status --nats URL`:
 * the members of a running cluster (role, age of their last heartbeat, frame
 * sets, redeliveries), the leading coordinator, who owns each camera, and
 * the queues, as vt_cluster_view_read reads them from the server.
 */
#include "cli.h"

#include <string.h>

static const char *const CMD = "cluster status";

static void usage(FILE *f)
{
    fputs("Usage: voxtrack cluster status [options]\n"
          "\n"
          "Shows a running cluster as its NATS server holds it (docs/CLUSTER.md): every\n"
          "node with its role and the age of its last heartbeat (dead after 5 s), the\n"
          "frame sets each did, the leading coordinator, the cameras each capture node\n"
          "owns, the queues (rays not assembled, work items waiting or running) and the\n"
          "work items delivered again. It only looks: nothing is made on the server.\n"
          "\n"
          "Options:\n"
          "  --nats URL          the NATS server (default nats://127.0.0.1:4222)\n"
          "  --timeout S         seconds to wait for the server per request (default 5)\n"
          "  --json              one JSON object\n"
          "  -h, --help          this text\n"
          "\n"
          "Exit status: 0 success, 1 failure (server unreachable, no JetStream), 2 bad\n"
          "command line.\n",
          f);
}

static void print_json(const char *url, const vt_cluster_view *v)
{
    printf("{\"url\": ");
    cli_json_string(stdout, url);
    printf(", \"leader\": ");
    cli_json_string(stdout, v->leader);
    printf(", \"members\": [");
    for (int i = 0; i < v->nmembers; i++) {
        const vt_cluster_member *m = &v->members[i];
        printf("%s{\"name\": ", i ? ", " : "");
        cli_json_string(stdout, m->name);
        printf(", \"role\": ");
        cli_json_string(stdout, m->role);
        printf(", \"age\": %.3f, \"sets\": %lld, \"redelivered\": %lld, \"cameras\": %d, "
               "\"leader\": %s}",
               m->age, (long long)m->sets, (long long)m->redelivered, m->cameras,
               m->leader ? "true" : "false");
    }
    printf("], \"cameras\": [");
    for (int i = 0; i < v->ncameras; i++) {
        printf("%s{\"camera\": %d, \"owner\": ", i ? ", " : "", v->camera[i]);
        cli_json_string(stdout, v->owner[i]);
        printf("}");
    }
    printf("], \"queues\": {\"rays_waiting\": %lld, \"rays_held\": %lld, \"work_waiting\": "
           "%lld, \"work_running\": %lld, \"work_again\": %lld, \"idle_workers\": %lld, "
           "\"voted\": %lld}, \"redelivered\": %lld}\n",
           (long long)v->rays_waiting, (long long)v->rays_held, (long long)v->work_waiting,
           (long long)v->work_running, (long long)v->work_again, (long long)v->idle_workers,
           (long long)v->dets, (long long)v->redelivered);
}

static void print_text(const char *url, const vt_cluster_view *v)
{
    printf("server       %s\n", url);
    printf("leader       %s\n", v->leader[0] ? v->leader : "(none)");
    printf("members      %d\n", v->nmembers);
    if (v->nmembers)
        printf("  %-28s %-12s %8s %8s %11s %7s\n", "NAME", "ROLE", "AGE", "SETS", "REDELIVERED",
               "CAMERAS");
    for (int i = 0; i < v->nmembers; i++) {
        const vt_cluster_member *m = &v->members[i];
        printf("  %-28s %-12s %6.1f s %8lld %11lld %7d%s%s\n", m->name, m->role, m->age,
               (long long)m->sets, (long long)m->redelivered, m->cameras,
               m->leader ? "  leader" : "", m->age >= 5.0 ? "  silent >= 5 s" : "");
    }
    printf("cameras      %d owned", v->ncameras);
    for (int i = 0; i < v->ncameras; i++)
        printf("%s%d: %s", i ? ", " : ": ", v->camera[i], v->owner[i]);
    printf("\nqueues       rays: %lld waiting, %lld held for their frame set; work: %lld "
           "waiting, %lld running (%lld delivered again), %lld workers idle; %lld voted\n",
           (long long)v->rays_waiting, (long long)v->rays_held, (long long)v->work_waiting,
           (long long)v->work_running, (long long)v->work_again, (long long)v->idle_workers,
           (long long)v->dets);
    printf("redelivered  %lld work items over the run\n", (long long)v->redelivered);
}

int cmd_cluster_status(int argc, char **argv)
{
    const char *nats = NULL;
    double timeout = 0;
    bool json = false;
    const cli_option opts[] = {
        {"--nats", CLI_STRING, &nats},
        {"--timeout", CLI_DOUBLE, &timeout},
        {"--json", CLI_BOOL, &json},
    };
    cli_args args;
    int rc = cli_parse_args(CMD, argc, argv, opts, sizeof opts / sizeof opts[0], 0, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (timeout != 0 && !(timeout > 0)) {
        cli_usage_error(CMD, "--timeout must be > 0");
        return CLI_EXIT_USAGE;
    }
    vt_cluster_opts co = vt_cluster_opts_default();
    if (nats)
        co.url = nats;
    if (timeout > 0)
        co.timeout = timeout;
    vt_cluster_view v;
    vt_status s = vt_cluster_view_read(&co, &v);
    if (s) {
        cli_lib_error(CMD, s);
        return CLI_EXIT_FAIL;
    }
    if (json)
        print_json(co.url, &v);
    else
        print_text(co.url, &v);
    vt_cluster_view_free(&v);
    return CLI_EXIT_OK;
}
