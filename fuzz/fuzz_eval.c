/*
 * fuzz/fuzz_eval.c - libFuzzer target for the evaluation inputs
 * (vt_eval_read_files_snr and vt_eval_result_get, voxtrack/eval.h;
 * docs/EVAL.md): tracks.jsonl, truth.jsonl and truth_pixels.jsonl.
 *
 * The input is the three files' texts one after the other, cut at the first
 * two NULs (JSON text has none); a missing part is an empty file. Reading
 * must return VT_OK or a documented error with a message; then the figures
 * are computed over what was read (the HOTA matching and the identity
 * pairing included) and must be consistent: tp + fn = gt, counts >= 0,
 * ratios in [0, 1] or NaN. Anything else, a crash, a sanitizer report or a
 * leak, is a bug. Built and run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "voxtrack/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next part of the input: up to a NUL (skipped) or the end. */
static const uint8_t *part(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *b = *p, *z = memchr(b, 0, (size_t)(end - b));
    *n = (size_t)((z ? z : end) - b);
    *p = z ? z + 1 : end;
    return b;
}

static bool ratio(double v)
{
    return isnan(v) || (v >= -1e-9 && v <= 1 + 1e-9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    size_t nk, nt, np;
    const uint8_t *k = part(&p, end, &nk), *t = part(&p, end, &nt), *x = part(&p, end, &np);
    const char *tracks = fuzz_file("tracks.jsonl", k, nk);
    const char *truth = fuzz_file("truth.jsonl", t, nt);
    const char *pixels = fuzz_file("truth_pixels.jsonl", x, np);
    vt_eval *e;
    if (vt_eval_new(NULL, &e) != VT_OK)
        abort();
    fuzz_clear_error();
    vt_status s = vt_eval_read_files_snr(e, tracks, truth, pixels);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    vt_eval_result r;
    if (vt_eval_result_get(e, &r) != VT_OK)
        abort();
    if (r.frames < 0 || r.gt < 0 || r.tp < 0 || r.fn < 0 || r.fp < 0 || r.tp + r.fn != r.gt ||
        r.idsw < 0 || r.idtp < 0 || r.idfp < 0 || r.idfn < 0 || !ratio(r.detection_rate) ||
        !ratio(r.false_rate) || !ratio(r.idf1) || !ratio(r.hota) || !ratio(r.deta) ||
        !ratio(r.assa) || !(r.mota <= 1 + 1e-9 || isnan(r.mota)))
        abort();
    vt_eval_free(e);
    return 0;
}
