/*
 * apps/voxtrack/out_stream.c - `--stream URL`: the tracks of every frame set
 * published to streams. PLACEHOLDER until src/stream lands (issue 6).
 */
#include "cli.h"

bool cli_streams_open(const char *cmd, const vt_rig *rig, const cli_list *urls,
                      cli_track_job *job)
{
    (void)rig;
    (void)job;
    if (urls->count == 0)
        return true;
    cli_error(cmd, "--stream: streaming is not built yet");
    return false;
}
