/*
 * apps/voxtrack/sync_report.c - how well the cameras kept time, as `run` and
 * `demo` print it at the end: the sync's statistics (voxtrack/sync.h) over
 * all cameras and per camera that lost frames, as text or as a JSON member;
 * and the producer that hands a sync's frame sets to the pipeline.
 */
#include "cli.h"

/*
 * How well the cameras kept time: one line over all cameras, then a line per
 * camera that lost frames to the sync (late, duplicate, backwards, outside).
 */
void cli_sync_print_text(const vt_rig *rig, const vt_sync *sync)
{
    int64_t lost[4] = {0}, frames = 0;
    double mean = 0.0, max = 0.0;
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        lost[0] += st.late;
        lost[1] += st.duplicates;
        lost[2] += st.backwards;
        lost[3] += st.outside;
        mean += st.sync_error_mean * (double)st.frames;
        frames += st.frames;
        if (st.sync_error_max > max)
            max = st.sync_error_max;
    }
    printf("sync              error mean %.3f ms, max %.3f ms; frames late %lld, duplicate "
           "%lld, backwards %lld, outside %lld\n",
           frames ? 1e3 * mean / (double)frames : 0.0, 1e3 * max, (long long)lost[0],
           (long long)lost[1], (long long)lost[2], (long long)lost[3]);
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        if (st.late + st.duplicates + st.backwards + st.outside == 0)
            continue;
        printf("  %-8s frames %lld, drops %lld, late %lld, duplicate %lld, backwards %lld, "
               "outside %lld\n",
               rig->cameras[i].id, (long long)st.frames, (long long)st.drops, (long long)st.late,
               (long long)st.duplicates, (long long)st.backwards, (long long)st.outside);
    }
}

/* Every camera's sync statistics and source counters, as a JSON member ("cameras": [...]). */
void cli_sync_print_json(const vt_rig *rig, const vt_sync *sync)
{
    printf(", \"cameras\": [");
    for (int i = 0; i < rig->count; i++) {
        vt_sync_camera_stats st = vt_sync_camera_stats_get(sync, i);
        printf("%s{\"id\": ", i ? ", " : "");
        cli_json_string(stdout, rig->cameras[i].id);
        printf(", \"backend\": ");
        cli_json_string(stdout, st.source.backend);
        printf(", \"frames\": %lld, \"drops\": %lld, \"late\": %lld, \"duplicates\": %lld, "
               "\"backwards\": %lld, \"outside\": %lld, \"sync_error_mean_ms\": %.4f, "
               "\"sync_error_max_ms\": %.4f, \"corrupt\": %lld, \"lost\": %lld, "
               "\"disconnects\": %lld, \"reconnects\": %lld, \"failed\": %s}",
               (long long)st.frames, (long long)st.drops, (long long)st.late,
               (long long)st.duplicates, (long long)st.backwards, (long long)st.outside,
               1e3 * st.sync_error_mean, 1e3 * st.sync_error_max, (long long)st.source.corrupt,
               (long long)st.source.lost, (long long)st.source.disconnects,
               (long long)st.source.reconnects, st.failed ? "true" : "false");
    }
    printf("]");
}

vt_status cli_sync_produce(void *user, vt_frame_slot *slot, bool *end)
{
    cli_sync_input *in = user;
    if (in->max > 0 && in->produced >= in->max) {
        *end = true;
        return VT_OK;
    }
    vt_status s = vt_sync_next(in->sync, slot->images, slot->present, slot->times, &slot->frame,
                               &slot->t, end);
    if (!s && !*end)
        in->produced++;
    return s;
}
