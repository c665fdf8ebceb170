/*
 * src/monitor/metrics.c - /metrics: the monitor's counters, gauges and
 * histograms in the Prometheus text exposition format 0.0.4.
 *
 * Names follow Prometheus' conventions: a voxtrack_ prefix, base units in the
 * name (_seconds), _total on counters, one HELP and one TYPE line per family,
 * histograms as cumulative _bucket{le=...} series ending in le="+Inf" plus
 * _sum and _count. Label values are escaped (backslash, quote, newline).
 */
#include "monitor/monitor_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void family(vt__buf *b, const char *name, const char *type, const char *help)
{
    vt__buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(vt__buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\' || *p == '"')
            vt__buf_addf(b, "\\%c", *p);
        else if (*p == '\n')
            vt__buf_add(b, "\\n", 2);
        else
            vt__buf_add(b, p, 1);
    }
}

static void number(vt__buf *b, double v)
{
    if (isnan(v))
        vt__buf_add(b, "NaN", 3);
    else if (isinf(v))
        vt__buf_add(b, v > 0 ? "+Inf" : "-Inf", 4);
    else
        vt__buf_addf(b, "%.9g", v);
}

static void histogram(vt__buf *b, const char *name, const char *label, const vt__mon_hist *h)
{
    int64_t cum = 0;
    for (int k = 0; k < VT__HIST_BUCKETS; k++) {
        cum += h->counts[k];
        vt__buf_addf(b, "%s_bucket{%s%sle=\"%g\"} %lld\n", name, label, *label ? "," : "",
                     vt__hist_bounds[k], (long long)cum);
    }
    vt__buf_addf(b, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", name, label, *label ? "," : "",
                 (long long)h->count);
    vt__buf_addf(b, "%s_sum%s%s%s ", name, *label ? "{" : "", label, *label ? "}" : "");
    number(b, h->sum);
    vt__buf_addf(b, "\n%s_count%s%s%s %lld\n", name, *label ? "{" : "", label, *label ? "}" : "",
                 (long long)h->count);
}

static void per_camera(const vt_monitor *m, vt__buf *b, const char *name, const char *type,
                       const char *help, int what)
{
    if (m->ncameras == 0)
        return;
    family(b, name, type, help);
    for (int i = 0; i < m->ncameras; i++) {
        const vt__mon_camera *c = &m->cameras[i];
        vt__buf_addf(b, "%s{camera=\"", name);
        label_value(b, c->id);
        vt__buf_add(b, "\"} ", 3);
        switch (what) {
        case 0:
            vt__buf_addf(b, "%lld\n", (long long)c->frames);
            break;
        case 1:
            vt__buf_addf(b, "%lld\n", (long long)c->drops);
            break;
        case 2:
            number(b, c->fps);
            vt__buf_add(b, "\n", 1);
            break;
        case 3:
            number(b, c->sync_error);
            vt__buf_add(b, "\n", 1);
            break;
        default:
            vt__buf_addf(b, "%lld\n", (long long)c->changes);
            break;
        }
    }
}

void vt__monitor_metrics(const vt_monitor *m, vt__buf *b)
{
    family(b, "voxtrack_build_info", "gauge", "Build information; the value is always 1.");
    vt__buf_addf(b, "voxtrack_build_info{version=\"%s\"} 1\n", vt_version());
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the monitor since the Unix epoch, seconds.");
    vt__buf_addf(b, "process_start_time_seconds %.3f\n", m->start_wall);

    family(b, "voxtrack_frame_sets_total", "counter", "Frame sets processed.");
    vt__buf_addf(b, "voxtrack_frame_sets_total %lld\n", (long long)m->frame_sets);
    per_camera(m, b, "voxtrack_camera_frames_total", "counter",
               "Frames a camera delivered to the pipeline.", 0);
    per_camera(m, b, "voxtrack_camera_drops_total", "counter",
               "Frame sets in which a camera delivered no frame.", 1);
    per_camera(m, b, "voxtrack_camera_fps", "gauge",
               "Frames per second of pipeline time a camera delivered over the last second.", 2);
    per_camera(m, b, "voxtrack_camera_sync_error_seconds", "gauge",
               "Capture time of a camera's last frame minus its frame set's time.", 3);
    per_camera(m, b, "voxtrack_camera_motion_pixels", "gauge",
               "Changed pixels a camera found in the last frame set.", 4);

    family(b, "voxtrack_detections_total", "counter", "3D detections.");
    vt__buf_addf(b, "voxtrack_detections_total %lld\n", (long long)m->detections);
    family(b, "voxtrack_tracks", "gauge", "Live tracks after the last frame set (any status).");
    vt__buf_addf(b, "voxtrack_tracks %lld\n", (long long)m->ntracks_all);
    family(b, "voxtrack_tracks_confirmed_total", "counter", "Tracks that were ever confirmed.");
    vt__buf_addf(b, "voxtrack_tracks_confirmed_total %lld\n", (long long)m->tracks_confirmed);
    family(b, "voxtrack_cameras_live", "gauge", "Cameras that delivered a frame to the last set.");
    vt__buf_addf(b, "voxtrack_cameras_live %d\n", m->cameras_live);
    family(b, "voxtrack_last_frame_set_timestamp_seconds", "gauge",
           "Wall-clock time of the last frame set since the Unix epoch (0: none yet).");
    vt__buf_addf(b, "voxtrack_last_frame_set_timestamp_seconds %.3f\n",
                 m->have_frame ? m->wall : 0.0);

    family(b, "voxtrack_alerts_total", "counter", "Alerts raised.");
    vt__buf_addf(b, "voxtrack_alerts_total %lld\n", (long long)m->alerts_raised);
    family(b, "voxtrack_alerts_cleared_total", "counter", "Alerts cleared.");
    vt__buf_addf(b, "voxtrack_alerts_cleared_total %lld\n", (long long)m->alerts_cleared);
    family(b, "voxtrack_http_requests_total", "counter", "HTTP requests served.");
    vt__buf_addf(b, "voxtrack_http_requests_total %lld\n", (long long)m->requests);
    family(b, "voxtrack_event_clients", "gauge", "Open /events streams.");
    vt__buf_addf(b, "voxtrack_event_clients %lld\n", (long long)m->sse_clients);

    family(b, "voxtrack_stage_seconds", "histogram",
           "Processing time of one pipeline stage for one frame set, seconds.");
    for (int i = 0; i < 4; i++) {
        char label[48];
        snprintf(label, sizeof label, "stage=\"%s\"", vt__stage_names[i]);
        histogram(b, "voxtrack_stage_seconds", label, &m->hist[i]);
    }
    family(b, "voxtrack_frame_set_seconds", "histogram",
           "Latency of one frame set, seconds: from its last frame being read to its tracks "
           "going out.");
    histogram(b, "voxtrack_frame_set_seconds", "", &m->hist[4]);
}
