/*
 * fuzz/fuzz_det2d.c - libFuzzer target for the 2D detection-file parser
 * (vt_det2d_parse, voxtrack/det2d.h).
 *
 * The input is the file's text. A parse must return VT_OK or VT_EPARSE; a
 * list that parses must hold what the parser promises: pixels inside the
 * 640x480 image, scores in [0, 1], boxes >= 0, NUL-terminated classes, one
 * kind of time, frames (or times) that never go back, lines that increase.
 * Anything else, a crash, a sanitizer report or a leak, is a bug. Built and
 * run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/det2d.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_det2d_list l = {0};
    vt_status s = vt_det2d_parse((const char *)data, size, "fuzz.csv", 640, 480, &l);
    if (s != VT_OK && s != VT_EPARSE)
        abort();
    if (s != VT_OK && (l.count || l.items))
        abort();
    for (size_t i = 0; i < l.count; i++) {
        const vt_det2d *d = &l.items[i];
        if (!(d->u >= -0.5 && d->u < 639.5 && d->v >= -0.5 && d->v < 479.5) ||
            !(d->score >= 0 && d->score <= 1) || !(d->w >= 0 && d->h >= 0) ||
            memchr(d->cls, '\0', sizeof d->cls) == NULL || l.timed != !isnan(d->stamp) ||
            (!l.timed && d->frame < 0))
            abort();
        if (i && (d->line <= l.items[i - 1].line ||
                  (l.timed ? d->stamp < l.items[i - 1].stamp : d->frame < l.items[i - 1].frame)))
            abort();
    }
    vt_det2d_list_free(&l);
    return 0;
}
