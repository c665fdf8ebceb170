/*
 * src/eval/eval_ceiling.c - the detectability ceiling and the detection rate
 * by SNR and by size (see voxtrack/eval.h; docs/EVAL.md defines them).
 *
 * The simulator knows what no tracker can: each drone's matched-filter SNR
 * in each camera that captured it (truth_pixels.jsonl). A drone-frame is
 * detectable when ceiling_cameras cameras see it at ceiling_snr or better
 * (the classic per-camera view: a 3D point needs two rays, each significant
 * on its own), and detectable by fused evidence when the cameras' SNRs added
 * in quadrature reach ceiling_sum (the significance of the best test on all
 * cameras together, for independent noise). The share of drone-frames that
 * are detectable is the ceiling of the detection rate; the rate among them
 * says how much of what the physics allows the system finds.
 */
#include <math.h>

#include "eval/eval_internal.h"

static const double SNR_EDGES[VT_EVAL_SNR_BINS + 1] = {0,  1,  2,  3,  4,  5,   7,
                                                       10, 15, 20, 30, 50, 100, INFINITY};

void vt__eval_ceiling_init(vt_eval_result *r)
{
    for (int b = 0; b < VT_EVAL_SNR_BINS; b++)
        r->snr_bins[b] = (vt_eval_bin){.lo = SNR_EDGES[b], .hi = SNR_EDGES[b + 1]};
    for (int b = 0; b < VT_EVAL_SIZE_BINS; b++)
        r->size_bins[b] = (vt_eval_bin){
            .lo = b / 10.0, .hi = b + 1 < VT_EVAL_SIZE_BINS ? (b + 1) / 10.0 : INFINITY};
}

/* The bin of v among edges lo_0 < lo_1 < ... (the last bin is open). */
static int bin_of(const vt_eval_bin *bins, int n, double v)
{
    int b = 0;
    while (b + 1 < n && v >= bins[b + 1].lo)
        b++;
    return b;
}

double vt__eval_quadrature_snr(const vt_eval_truth *t)
{
    double sum = 0.0;
    for (int c = 0; c < t->nsnr; c++)
        sum += (double)t->snr[c] * (double)t->snr[c];
    return sqrt(sum);
}

void vt__eval_ceiling_add(vt_eval *e, const vt_eval_truth *t, bool matched)
{
    vt_eval_result *r = &e->r;
    if (t->size > 0.0) {
        vt_eval_bin *b = &r->size_bins[bin_of(r->size_bins, VT_EVAL_SIZE_BINS, t->size)];
        b->gt++;
        b->tp += matched;
    }
    if (!t->snr)
        return;
    int seen = 0;
    for (int c = 0; c < t->nsnr; c++)
        seen += t->snr[c] >= e->o.ceiling_snr;
    double q = vt__eval_quadrature_snr(t);
    r->snr_frames++;
    if (seen >= e->o.ceiling_cameras) {
        r->detectable++;
        r->detectable_tp += matched;
    }
    if (q >= e->o.ceiling_sum) {
        r->detectable_sum++;
        r->detectable_sum_tp += matched;
    }
    vt_eval_bin *b = &r->snr_bins[bin_of(r->snr_bins, VT_EVAL_SNR_BINS, q)];
    b->gt++;
    b->tp += matched;
}

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

void vt__eval_ceiling_finish(vt_eval_result *r)
{
    r->ceiling = ratio(r->detectable, r->snr_frames);
    r->ceiling_sum = ratio(r->detectable_sum, r->snr_frames);
    r->detection_detectable = ratio(r->detectable_tp, r->detectable);
    r->detection_detectable_sum = ratio(r->detectable_sum_tp, r->detectable_sum);
    for (int b = 0; b < VT_EVAL_SNR_BINS; b++)
        r->snr_bins[b].rate = ratio(r->snr_bins[b].tp, r->snr_bins[b].gt);
    for (int b = 0; b < VT_EVAL_SIZE_BINS; b++)
        r->size_bins[b].rate = ratio(r->size_bins[b].tp, r->size_bins[b].gt);
}
