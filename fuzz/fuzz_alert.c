/*
 * fuzz/fuzz_alert.c - libFuzzer target for the alert rules reader
 * (vt__alert_config_parse, monitor/alert_internal.h; docs/ALERTS.md).
 *
 * The input is the "alerts" object's JSON text (cut at a NUL), read against
 * a rig of two cameras ("m0", "t0") with a geodetic origin, so that camera
 * rules and WGS84 polygons are reachable. A parse must return VT_OK or a
 * documented error with a message; rules that parse have polygons of at
 * least three finite vertices, each of them inside its polygon (a point on
 * the boundary counts as inside). Anything else, a crash, a sanitizer report or
 * a leak, is a bug. Built and run by scripts/fuzz.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "monitor/alert_internal.h"
#include "voxtrack/rig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const vt_rig *test_rig(void)
{
    static vt_rig rig;
    static bool made;
    if (made)
        return &rig;
    static const char text[] =
        "{\"fps\": 30, \"origin\": {\"lat\": 51.5, \"lon\": -0.1, \"h\": 10},"
        " \"cameras\": ["
        "{\"id\": \"m0\", \"pair\": 0, \"modality\": \"mono\", \"width\": 64, \"height\": 48,"
        " \"fx\": 50, \"fy\": 50, \"cx\": 31.5, \"cy\": 23.5, \"position\": [0, 0, 2],"
        " \"quaternion\": [1, 0, 0, 0]},"
        "{\"id\": \"t0\", \"pair\": 0, \"modality\": \"thermal\", \"width\": 32, \"height\": 24,"
        " \"fx\": 25, \"fy\": 25, \"cx\": 15.5, \"cy\": 11.5, \"position\": [0, 0, 2],"
        " \"quaternion\": [1, 0, 0, 0]}]}";
    const char *path = fuzz_file("rig.json", (const uint8_t *)text, strlen(text));
    if (vt_rig_load(path, &rig) != VT_OK) {
        fprintf(stderr, "fuzz_alert: the test rig: %s\n", vt_last_error());
        abort();
    }
    made = true;
    return &rig;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const vt_rig *rig = test_rig();
    char *text = fuzz_text(data, size);
    vt__alert_config cfg;
    fuzz_clear_error();
    vt_status s = vt__alert_config_parse(text, "fuzz.json", rig, &cfg);
    FUZZ_CHECK_STATUS(s, VT_EPARSE, VT_EINVAL, VT_ERANGE);
    free(text);
    if (s != VT_OK)
        return 0;
    for (int i = 0; i < cfg.nrules; i++) {
        const vt__alert_rule *r = &cfg.rules[i];
        if (r->npoly && r->npoly < 3)
            abort();
        for (int k = 0; k < 2 * r->npoly; k++)
            if (!isfinite(r->poly[k]))
                abort();
        /* A vertex is on the polygon, which counts as inside. */
        if (r->npoly && !vt__point_in_polygon(r->poly, r->npoly, r->poly[0], r->poly[1]))
            abort();
    }
    vt__alert_config_free(&cfg);
    return 0;
}
