/*
 * apps/voxtrack/out_monitor.c - `--serve` and `--alerts`: the dashboard,
 * /metrics and the alert rules fed by every frame set. PLACEHOLDER until
 * src/monitor lands (issue 7).
 */
#include "cli.h"

bool cli_monitor_open(const char *cmd, const vt_rig *rig, const cli_monitor_opts *o,
                      cli_track_job *job)
{
    (void)rig;
    (void)job;
    if (!o->serve && !o->alerts_file && !o->alerts_json)
        return true;
    cli_error(cmd, "--serve/--alerts: monitoring is not built yet");
    return false;
}
