/*
 * fuzz/fuzz_cluster.c - libFuzzer target for the decoders of the distributed
 * mode's messages (src/cluster/msg.c): what any process may find on a NATS
 * subject.
 *
 * The first byte is a switch: when its low bit is set, the header's length
 * and CRC are rewritten to match the rest before decoding, so that the
 * fuzzer gets past the CRC into the payload's fields (as a sender with a bug
 * would). Every decoder must return VT_OK or VT_EFORMAT; a message that
 * decodes must encode back to the very same bytes (nothing is lost or
 * invented on the way); a crash, a sanitizer report or a leak is a bug.
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/cluster.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *a, size_t na, uint8_t *b, size_t nb)
{
    if (na != nb || memcmp(a, b, na) != 0)
        abort();
    free(b);
}

static void check(vt_status s)
{
    if (s != VT_OK && s != VT_EFORMAT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *m = malloc(n ? n : 1);
    if (!m)
        return 0;
    memcpy(m, data + 1, n);
    if ((data[0] & 1) && n >= VT__CL_HEADER) {
        vt__put_u32(m + 8, (uint32_t)(n - VT__CL_HEADER));
        vt__put_u32(m + 12, vt__crc32(0, m + VT__CL_HEADER, n - VT__CL_HEADER));
    }
    uint8_t *out = NULL;
    size_t len = 0;
    vt_status s;

    vt__cl_rays r = {0};
    check(s = vt__cl_rays_decode(m, n, &r));
    if (!s) {
        if (vt__cl_rays_encode(&r, &out, &len))
            abort();
        same(m, n, out, len);
    }
    vt__cl_rays_free(&r);

    vt__cl_dets d = {0};
    check(s = vt__cl_dets_decode(m, n, &d));
    if (!s) {
        if (vt__cl_dets_encode(&d, &out, &len))
            abort();
        same(m, n, out, len);
    }
    vt__cl_dets_free(&d);

    vt__cl_work w;
    check(s = vt__cl_work_decode(m, n, &w));
    if (!s) {
        if (vt__cl_work_encode(&w, &out, &len))
            abort();
        same(m, n, out, len);
    }

    vt__cl_end e;
    check(s = vt__cl_end_decode(m, n, &e));
    if (!s) {
        if (vt__cl_end_encode(&e, &out, &len))
            abort();
        same(m, n, out, len);
    }
    free(m);
    return 0;
}
