/*
 * apps/voxtrack/out_stream.c - `--stream URL` of `run` and `demo`: one
 * vt_streamer (voxtrack/stream.h) over every URL given, fed each frame set's
 * result as a sink of the tracking job. The streamer never blocks and counts
 * the failures of each URL; at the end, a URL that failed is reported with
 * its count.
 */
#include "cli.h"

#include <stdlib.h>

typedef struct stream_sink {
    const char *cmd;
    vt_streamer *streamer;
    const cli_list *urls;
} stream_sink;

static vt_status stream_publish(void *ctx, const vt_pipeline_result *r)
{
    stream_sink *k = ctx;
    return vt_streamer_publish(k->streamer, r);
}

static void stream_close(void *ctx)
{
    stream_sink *k = ctx;
    for (int i = 0; i < k->urls->count; i++) {
        uint64_t n = vt_streamer_url_errors(k->streamer, i);
        if (n)
            cli_error(k->cmd, "--stream %s: %llu failed sends", k->urls->items[i],
                      (unsigned long long)n);
    }
    vt_streamer_free(k->streamer);
    free(k);
}

bool cli_streams_open(const char *cmd, const vt_rig *rig, const cli_list *urls, cli_track_job *job,
                      vt_streamer **streamer)
{
    if (urls->count == 0)
        return true;
    stream_sink *k = calloc(1, sizeof *k);
    if (!k) {
        cli_error(cmd, "--stream: out of memory");
        return false;
    }
    k->cmd = cmd;
    k->urls = urls;
    vt_status s = vt_streamer_new(rig, urls->items, urls->count, &k->streamer);
    if (s != VT_OK) {
        cli_lib_error(cmd, s);
        free(k);
        return false;
    }
    cli_sink sink = {k, stream_publish, stream_close, NULL};
    if (!cli_track_job_add_sink(job, sink)) {
        vt_streamer_free(k->streamer);
        free(k);
        return false;
    }
    if (streamer)
        *streamer = k->streamer;
    return true;
}
