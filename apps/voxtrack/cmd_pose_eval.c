/*
 * apps/voxtrack/cmd_pose_eval.c - `voxtrack pose-eval EST.csv TRUTH.csv`: how
 * far a camera's estimated poses (`voxtrack run --poses`) are from its true
 * ones (`voxtrack simulate` writes truth_pose_ID.csv): position and
 * orientation RMSE and maximum (vt_pose_compare, voxtrack/pose.h).
 */
#include "cli.h"

#include <math.h>

static void usage(void)
{
    printf("Usage: voxtrack pose-eval EST.csv TRUTH.csv [options]\n"
           "\n"
           "Compares each pose of the pose log EST with TRUTH at the same time (interpolated)\n"
           "and prints the position and orientation RMSE and maximum. Pose logs: docs/POSE.md.\n"
           "\n"
           "Options:\n"
           "  --skip S     leave out EST's first S seconds (the filter settling; default 0)\n"
           "  --json       print the figures as one JSON object\n"
           "  -h, --help   show this help\n"
           "\n"
           "Exit status: 0 success, 1 failure (unreadable or malformed log, a time TRUTH\n"
           "does not cover), 2 bad command line.\n");
}

int cmd_pose_eval(int argc, char **argv)
{
    const char *cmd = "pose-eval";
    double skip = 0.0;
    bool json = false;
    const cli_option opts[] = {{"--skip", CLI_DOUBLE, &skip}, {"--json", CLI_BOOL, &json}};
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage();
        return CLI_EXIT_OK;
    }
    if (args.count != 2) {
        cli_usage_error(cmd, "expected EST.csv and TRUTH.csv");
        return CLI_EXIT_USAGE;
    }
    if (!(skip >= 0.0)) {
        cli_usage_error(cmd, "--skip: %g must be >= 0", skip);
        return CLI_EXIT_USAGE;
    }
    vt_pose_track *est = NULL, *truth = NULL;
    vt_pose_errors e;
    vt_status s = vt_pose_track_load(args.positional[0], 1e9, &est);
    if (!s)
        s = vt_pose_track_load(args.positional[1], VT_POSE_MAX_GAP_DEFAULT, &truth);
    if (!s)
        s = vt_pose_compare(est, truth, skip, &e);
    vt_pose_track_free(est);
    vt_pose_track_free(truth);
    if (s) {
        cli_lib_error(cmd, s);
        return CLI_EXIT_FAIL;
    }
    double deg = 180.0 / VT_PI;
    if (json)
        printf("{\"poses\": %zu, \"position_rmse_m\": %.6f, \"position_max_m\": %.6f, "
               "\"orientation_rmse_deg\": %.6f, \"orientation_max_deg\": %.6f}\n",
               e.count, e.position_rmse, e.position_max, e.orientation_rmse * deg,
               e.orientation_max * deg);
    else
        printf("poses        %zu\nposition     RMSE %.4f m, max %.4f m\n"
               "orientation  RMSE %.4f deg, max %.4f deg\n",
               e.count, e.position_rmse, e.position_max, e.orientation_rmse * deg,
               e.orientation_max * deg);
    return CLI_EXIT_OK;
}
