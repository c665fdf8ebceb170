/*
 * apps/voxtrack/track_job.c - what `run` and `demo` share once frame sets
 * come out of the pipeline: the tracks.jsonl and detections.jsonl writers,
 * the progress line, latency figures and the end-of-run summary.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *status_name(vt_track_status s)
{
    return s == VT_TRACK_CONFIRMED  ? "confirmed"
           : s == VT_TRACK_COASTING ? "coasting"
                                    : "tentative";
}

/* A float for JSON: null where it is not a number. */
static void json_float(FILE *f, const char *key, double x)
{
    if (isfinite(x))
        fprintf(f, ", \"%s\": %.3f", key, x);
    else
        fprintf(f, ", \"%s\": null", key);
}

static void write_track(FILE *f, const vt_pipeline_result *r, const vt_track *k, vt_target_class c,
                        float flicker, const vt_track_fusion *fu)
{
    fprintf(f,
            "{\"t\": %.6f, \"frame\": %lld, \"id\": %llu, \"status\": \"%s\", \"class\": \"%s\", "
            "\"pos\": [%.4f, %.4f, %.4f], \"vel\": [%.4f, %.4f, %.4f], "
            "\"cov\": [%.6g, %.6g, %.6g, %.6g, %.6g, %.6g], \"cams\": %d, \"accel_rms\": %.2f, "
            "\"flicker\": %.3f",
            r->t, (long long)r->frame, (unsigned long long)k->id, status_name(k->status),
            c == VT_CLASS_BIRD ? "bird" : "drone", k->pos.x, k->pos.y, k->pos.z, k->vel.x, k->vel.y,
            k->vel.z, k->cov[0], k->cov[1], k->cov[2], k->cov[3], k->cov[4], k->cov[5], k->cams,
            (double)k->accel_rms, (double)flicker);
    if (fu) { /* appended: the running thermal confirmation (docs/FUSION.md) */
        fprintf(f, ", \"thermal_observed\": %d, \"thermal_confirmed\": %d", fu->observed,
                fu->confirmed);
        json_float(f, "thermal_rate", fu->rate);
        json_float(f, "thermal_ratio", fu->ratio);
    }
    fputs("}\n", f);
}

static void write_detection(FILE *f, const vt_pipeline_result *r, const vt_detection *d,
                            const vt_fusion_record *fr)
{
    fprintf(f,
            "{\"t\": %.6f, \"frame\": %lld, \"pos\": [%.4f, %.4f, %.4f], "
            "\"cov\": [%.6g, %.6g, %.6g, %.6g, %.6g, %.6g], \"cams\": %d, \"thermal\": %d, "
            "\"rays\": %d, \"residual\": %.4f, \"weight\": %.1f",
            r->t, (long long)r->frame, d->pos.x, d->pos.y, d->pos.z, d->cov[0], d->cov[1],
            d->cov[2], d->cov[3], d->cov[4], d->cov[5], d->ncameras, d->nthermal, d->nrays,
            d->residual, (double)d->weight);
    if (fr) { /* appended: the thermal fusion record (docs/FUSION.md) */
        fprintf(f, ", \"fusion\": \"%s\", \"fusion_reason\": \"%s\"",
                vt_fusion_verdict_name(fr->verdict), vt_fusion_reason_name(fr->reason));
        json_float(f, "thermal_snr", fr->thermal_snr);
        json_float(f, "mono_snr", fr->mono_snr);
        json_float(f, "snr_ratio", fr->ratio);
        fprintf(f, ", \"dropped\": %s", fr->dropped ? "true" : "false");
    }
    fputs("}\n", f);
}

bool cli_track_job_init(cli_track_job *job, const char *cmd, bool quiet)
{
    memset(job, 0, sizeof *job);
    job->cmd = cmd;
    job->latency_cap = 1024;
    job->latency = malloc(job->latency_cap * sizeof *job->latency);
    job->seen_cap = 1024;
    job->seen = calloc(job->seen_cap, sizeof *job->seen);
    if (!job->latency || !job->seen) {
        cli_error(cmd, "out of memory");
        return false;
    }
    cli_progress_init(&job->progress, quiet);
    job->start = cli_now();
    return true;
}

bool cli_track_job_add_sink(cli_track_job *job, cli_sink sink)
{
    if (job->nsinks == CLI_SINKS_MAX) {
        cli_error(job->cmd, "too many outputs (at most %d)", CLI_SINKS_MAX);
        return false;
    }
    job->sinks[job->nsinks++] = sink;
    return true;
}

void cli_track_job_restart(cli_track_job *job, double t)
{
    for (int i = 0; i < job->nsinks; i++)
        if (job->sinks[i].restart)
            job->sinks[i].restart(job->sinks[i].ctx, t);
}

void cli_track_job_free(cli_track_job *job)
{
    /* Last opened, first closed: the monitor's alerts (whose watchdog thread may send to the
       streams) go before the streams they send to. */
    for (int i = job->nsinks - 1; i >= 0; i--)
        if (job->sinks[i].close)
            job->sinks[i].close(job->sinks[i].ctx);
    free(job->latency);
    free(job->seen);
    memset(job, 0, sizeof *job);
}

/* Remembers that a confirmed track with this id existed (ids are dense from 1). */
static bool note_confirmed(cli_track_job *job, uint64_t id)
{
    if (id >= job->seen_cap) {
        size_t cap = job->seen_cap;
        while (cap <= id)
            cap *= 2;
        bool *s = realloc(job->seen, cap * sizeof *s);
        if (!s)
            return false;
        memset(s + job->seen_cap, 0, (cap - job->seen_cap) * sizeof *s);
        job->seen = s;
        job->seen_cap = cap;
    }
    if (!job->seen[id]) {
        job->seen[id] = true;
        job->confirmed_tracks++;
    }
    return true;
}

vt_status cli_track_job_consume(cli_track_job *job, const vt_pipeline_result *r)
{
    if ((size_t)job->sets == job->latency_cap) {
        double *l = realloc(job->latency, 2 * job->latency_cap * sizeof *l);
        if (!l)
            return VT_ENOMEM;
        job->latency = l;
        job->latency_cap *= 2;
    }
    job->latency[job->sets++] = r->latency;
    job->process_seconds += r->seconds;
    for (int i = 0; i < 4; i++)
        job->stage_seconds[i] += r->stage_seconds[i];
    job->detections += r->ndetections;
    job->rays += r->rays;
    job->fusion_seconds += r->fusion_seconds;
    job->dropped += r->dropped;
    size_t live = 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        const vt_track *k = &r->tracks[i];
        if (k->status != VT_TRACK_TENTATIVE) {
            live++;
            if (!note_confirmed(job, k->id))
                return VT_ENOMEM;
        }
        if (job->tracks_file)
            write_track(job->tracks_file, r, k, r->classes[i], r->flicker[i],
                        r->track_fusion ? &r->track_fusion[i] : NULL);
    }
    if (job->detections_file)
        for (size_t i = 0; i < r->ndetections; i++)
            write_detection(job->detections_file, r, &r->detections[i],
                            r->fusion ? &r->fusion[i] : NULL);
    for (int i = 0; i < job->nsinks; i++) {
        vt_status s = job->sinks[i].publish(job->sinks[i].ctx, r);
        if (s)
            return s;
    }
    if (job->total_sets > 0)
        cli_progress_update(&job->progress,
                            "%s: frame set %lld/%lld  %zu rays  %zu detections  %zu tracks  "
                            "%.1f sets/s",
                            job->cmd, (long long)job->sets, (long long)job->total_sets, r->rays,
                            r->ndetections, live, job->sets / (cli_now() - job->start));
    else
        cli_progress_update(&job->progress, "%s: frame set %lld  %zu detections  %zu tracks",
                            job->cmd, (long long)job->sets, r->ndetections, live);
    return VT_OK;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of the latencies; sorts them. */
static double quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, by_value);
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

cli_track_summary cli_track_job_summary(cli_track_job *job, size_t grid_peak_bytes)
{
    cli_progress_end(&job->progress);
    cli_track_summary s = {0};
    s.sets = job->sets;
    s.detections = job->detections;
    s.confirmed_tracks = job->confirmed_tracks;
    s.wall_seconds = cli_now() - job->start;
    s.sets_per_second = job->process_seconds > 0 ? job->sets / job->process_seconds : 0;
    s.latency_p50_ms = 1e3 * quantile(job->latency, job->sets, 0.50);
    s.latency_p99_ms = 1e3 * quantile(job->latency, job->sets, 0.99);
    for (int i = 0; i < 4; i++)
        s.stage_ms[i] = job->sets ? 1e3 * job->stage_seconds[i] / job->sets : 0;
    s.grid_peak_mb = grid_peak_bytes / 1048576.0;
    s.fusion_ms = job->sets ? 1e3 * job->fusion_seconds / job->sets : 0;
    s.dropped = job->dropped;
    struct rusage ru;
    s.peak_rss_mb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0.0;
    return s;
}

void cli_track_summary_print(const cli_track_summary *s, FILE *f)
{
    fprintf(f, "frame sets        %lld\n", (long long)s->sets);
    fprintf(f, "detections        %zu\n", s->detections);
    fprintf(f, "confirmed tracks  %zu\n", s->confirmed_tracks);
    fprintf(f, "pipeline          %.1f frame sets/s (processing only), wall %.1f s\n",
            s->sets_per_second, s->wall_seconds);
    fprintf(f, "latency           p50 %.1f ms, p99 %.1f ms\n", s->latency_p50_ms,
            s->latency_p99_ms);
    fprintf(f,
            "stages            motion+blobs+rays %.2f ms, voting %.2f ms, detection %.2f ms, "
            "tracking %.2f ms (mean per set)\n",
            s->stage_ms[0], s->stage_ms[1], s->stage_ms[2], s->stage_ms[3]);
    fprintf(f, "thermal fusion    %.3f ms per set, %zu detections dropped\n", s->fusion_ms,
            s->dropped);
    fprintf(f, "memory            peak %.0f MiB resident, sparse grid peak %.1f MiB\n",
            s->peak_rss_mb, s->grid_peak_mb);
}

void cli_track_summary_json_members(const cli_track_summary *s, FILE *f)
{
    fprintf(f,
            "\"frame_sets\": %lld, \"detections\": %zu, \"confirmed_tracks\": %zu, "
            "\"sets_per_second\": %.2f, \"wall_seconds\": %.3f, \"latency_p50_ms\": %.3f, "
            "\"latency_p99_ms\": %.3f, \"stage_ms\": {\"motion\": %.3f, \"voting\": %.3f, "
            "\"detection\": %.3f, \"tracking\": %.3f}, \"peak_rss_mb\": %.1f, "
            "\"grid_peak_mb\": %.2f",
            (long long)s->sets, s->detections, s->confirmed_tracks, s->sets_per_second,
            s->wall_seconds, s->latency_p50_ms, s->latency_p99_ms, s->stage_ms[0], s->stage_ms[1],
            s->stage_ms[2], s->stage_ms[3], s->peak_rss_mb, s->grid_peak_mb);
    fprintf(f, ", \"fusion_ms\": %.3f, \"fusion_dropped\": %zu", s->fusion_ms, s->dropped);
}

/* ---- accuracy ---------------------------------------------------------- */

bool cli_eval_files(const char *cmd, const char *tracks, const char *truth, vt_eval_result *out)
{
    vt_eval_opts o = vt_eval_opts_default();
    vt_eval *e = NULL;
    vt_status s = vt_eval_new(&o, &e);
    char pixels[4096];
    bool have_pixels = cli_eval_pixels_beside(truth, pixels, sizeof pixels);
    if (!s)
        s = vt_eval_read_files_snr(e, tracks, truth, have_pixels ? pixels : NULL);
    if (!s)
        s = vt_eval_result_get(e, out);
    vt_eval_free(e);
    if (s)
        cli_lib_error(cmd, s);
    return s == VT_OK;
}

void cli_eval_print_text(const vt_eval_result *r, FILE *f)
{
    fprintf(f, "accuracy against the truth (confirmed tracks vs drones, match within 2 m):\n");
    fprintf(f, "  detection rate  %.2f%%   false-track rate %.2f%%\n", 100 * r->detection_rate,
            100 * r->false_rate);
    fprintf(f, "  MOTA %.4f   MOTP %.3f m   IDF1 %.4f   RMSE %.3f m   GOSPA %.2f\n", r->mota,
            r->motp, r->idf1, r->rmse, r->gospa);
    fprintf(f, "  ID switches %lld   fragmentations %lld   drones %lld   confirmed tracks %lld\n",
            (long long)r->idsw, (long long)r->frag, (long long)r->truth_objects,
            (long long)r->tracks_confirmed);
    fprintf(f, "  bird track-frames %lld   birds taken for drones %lld (track-frames)\n",
            (long long)r->bird_tracks, (long long)r->bird_as_drone);
    cli_eval_print_extra_text(r, f);
}

/* A number, or null when it is not finite (a rate over nothing). */
static void json_number(FILE *f, const char *name, double v, bool comma)
{
    fprintf(f, "%s\"%s\": ", comma ? ", " : "", name);
    if (isfinite(v))
        fprintf(f, "%.6f", v);
    else
        fprintf(f, "null");
}

void cli_eval_print_json(const vt_eval_result *r, FILE *f)
{
    fprintf(f, "{");
    json_number(f, "detection_rate", r->detection_rate, false);
    json_number(f, "false_rate", r->false_rate, true);
    json_number(f, "mota", r->mota, true);
    json_number(f, "motp", r->motp, true);
    json_number(f, "idf1", r->idf1, true);
    json_number(f, "rmse", r->rmse, true);
    json_number(f, "gospa", r->gospa, true);
    fprintf(f,
            ", \"idsw\": %lld, \"frag\": %lld, \"gt\": %lld, \"tp\": %lld, \"fn\": %lld, "
            "\"fp\": %lld, \"truth_objects\": %lld, \"tracks_confirmed\": %lld, "
            "\"bird_tracks\": %lld, \"bird_as_drone\": %lld",
            (long long)r->idsw, (long long)r->frag, (long long)r->gt, (long long)r->tp,
            (long long)r->fn, (long long)r->fp, (long long)r->truth_objects,
            (long long)r->tracks_confirmed, (long long)r->bird_tracks, (long long)r->bird_as_drone);
    cli_eval_print_extra_json(r, f);
    fprintf(f, "}");
}
