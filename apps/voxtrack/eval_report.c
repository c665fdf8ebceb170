/*
 * apps/voxtrack/eval_report.c - what `eval`, `run` and `demo` print of an
 * evaluation besides the CLEAR MOT and identity figures: HOTA, and, when
 * the truth came with each drone's SNR (truth_pixels.jsonl, or the demo's
 * renderer), the detectability ceiling and the detection rate by SNR and
 * by size (docs/EVAL.md).
 */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

bool cli_eval_pixels_beside(const char *truth, char *buf, size_t size)
{
    const char *slash = strrchr(truth, '/');
    int dir = slash ? (int)(slash - truth) + 1 : 0;
    int n = snprintf(buf, size, "%.*struth_pixels.jsonl", dir, truth);
    struct stat st;
    return n > 0 && (size_t)n < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode);
}

static void percent(FILE *f, double v)
{
    if (isnan(v))
        fprintf(f, "n/a");
    else
        fprintf(f, "%.2f%%", 100.0 * v);
}

static void bins_text(const char *title, const vt_eval_bin *bins, int n, const char *unit, FILE *f)
{
    fprintf(f, "  %s:\n", title);
    for (int b = 0; b < n; b++) {
        if (bins[b].gt == 0)
            continue;
        char label[48];
        if (isinf(bins[b].hi))
            snprintf(label, sizeof label, ">= %g%s", bins[b].lo, unit);
        else
            snprintf(label, sizeof label, "%g-%g%s", bins[b].lo, bins[b].hi, unit);
        fprintf(f, "    %-10s %8" PRId64 " drone-frames, detected ", label, bins[b].gt);
        percent(f, bins[b].rate);
        fprintf(f, "\n");
    }
}

void cli_eval_print_extra_text(const vt_eval_result *r, FILE *f)
{
    if (!isnan(r->hota))
        fprintf(f, "  HOTA %.4f   DetA %.4f   AssA %.4f   LocA %.4f\n", r->hota, r->deta, r->assa,
                r->loca);
    if (r->snr_frames > 0) {
        fprintf(f, "  ceiling: detectable (>= 2 cameras at SNR >= 5) ");
        percent(f, r->ceiling);
        fprintf(f, " of %" PRId64 " drone-frames, detected ", r->snr_frames);
        percent(f, r->detection_detectable);
        fprintf(f, "\n           fused (SNRs in quadrature >= 7)     ");
        percent(f, r->ceiling_sum);
        fprintf(f, ", detected ");
        percent(f, r->detection_detectable_sum);
        fprintf(f, "\n");
        bins_text("by SNR (cameras in quadrature)", r->snr_bins, VT_EVAL_SNR_BINS, "", f);
    }
    bool sizes = false;
    for (int b = 0; b < VT_EVAL_SIZE_BINS; b++)
        sizes |= r->size_bins[b].gt > 0;
    if (sizes)
        bins_text("by size", r->size_bins, VT_EVAL_SIZE_BINS, " m", f);
}

/* A number, or null when it is not finite (a rate over nothing, the open end of the last bin). */
static void number(FILE *f, const char *name, double v)
{
    if (isfinite(v))
        fprintf(f, "\"%s\": %.6g", name, v);
    else
        fprintf(f, "\"%s\": null", name);
}

static void bins_json(const char *name, const vt_eval_bin *bins, int n, FILE *f)
{
    fprintf(f, ", \"%s\": [", name);
    for (int b = 0; b < n; b++) {
        fprintf(f, "%s{", b ? ", " : "");
        number(f, "lo", bins[b].lo);
        fprintf(f, ", ");
        number(f, "hi", bins[b].hi);
        fprintf(f, ", \"gt\": %" PRId64 ", \"tp\": %" PRId64 ", ", bins[b].gt, bins[b].tp);
        number(f, "rate", bins[b].rate);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

void cli_eval_print_extra_json(const vt_eval_result *r, FILE *f)
{
    const struct {
        const char *name;
        double v;
    } nums[] = {{"hota", r->hota},
                {"deta", r->deta},
                {"assa", r->assa},
                {"loca", r->loca},
                {"ceiling", r->ceiling},
                {"ceiling_sum", r->ceiling_sum},
                {"detection_detectable", r->detection_detectable},
                {"detection_detectable_sum", r->detection_detectable_sum}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        fprintf(f, ", ");
        number(f, nums[i].name, nums[i].v);
    }
    fprintf(
        f,
        ", \"snr_frames\": %" PRId64 ", \"detectable\": %" PRId64 ", \"detectable_tp\": %" PRId64
        ", \"detectable_sum\": %" PRId64 ", \"detectable_sum_tp\": %" PRId64,
        r->snr_frames, r->detectable, r->detectable_tp, r->detectable_sum, r->detectable_sum_tp);
    bins_json("snr_bins", r->snr_bins, VT_EVAL_SNR_BINS, f);
    bins_json("size_bins", r->size_bins, VT_EVAL_SIZE_BINS, f);
}
