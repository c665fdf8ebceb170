/*
 * fuzz/fuzz_config.c - libFuzzer target for the run-configuration reader
 * (vt_run_config_load, voxtrack/pipeline.h; docs/CONFIG.md).
 *
 * The input is config.json's text. A load must return VT_OK or a documented
 * error with a message; a configuration that loads names its rig and has a
 * volume whose min lies below its max on every axis. The files it names are
 * not opened here. Anything else, a crash, a sanitizer report or a leak, is
 * a bug. Built and run by scripts/fuzz.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "voxtrack/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("config.json", data, size);
    vt_run_config cfg;
    fuzz_clear_error();
    vt_status s = vt_run_config_load(path, &cfg);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    if (s != VT_OK)
        return 0;
    const vt_vote_opts *v = &cfg.opts.vote;
    if (!cfg.rig || !(v->min.x < v->max.x && v->min.y < v->max.y && v->min.z < v->max.z))
        abort();
    vt_run_config_free(&cfg);
    return 0;
}
