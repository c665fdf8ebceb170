/*
 * fuzz/fuzz_scenario.c - libFuzzer target for the scenario reader
 * (vt_scenario_parse, voxtrack/sim.h; docs/SCENARIO.md).
 *
 * The input is the scenario's JSON text (cut at a NUL). A parse must return
 * VT_OK with a scenario or a documented error with a message and no
 * scenario. Anything else, a crash, a sanitizer report or a leak, is a bug.
 * Built and run by scripts/fuzz.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "voxtrack/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    vt_scenario *sc = NULL;
    fuzz_clear_error();
    vt_status s = vt_scenario_parse(text, "fuzz.json", &sc);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    if ((s == VT_OK) != (sc != NULL))
        abort();
    vt_scenario_free(sc);
    free(text);
    return 0;
}
