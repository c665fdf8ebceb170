/*
 * src/source/gige_internal.h - the arithmetic of the GigE source (gige.c)
 * that its tests check without a camera. Never installed.
 */
#ifndef VOXTRACK_GIGE_INTERNAL_H
#define VOXTRACK_GIGE_INTERNAL_H

#include <stdint.h>

/*
 * Frames from GVSP block id `last` to `id` (1 for the next frame, k for k - 1
 * lost). GigE Vision 1.x ids have 16 bits, count 1..65535 and wrap to 1 (0
 * is never sent; a camera that sends it anyway is taken as the next frame);
 * 2.x ids have 64 bits. A jump of more than half the 16-bit range, either
 * way, is a camera that restarted its count rather than 32768 lost frames,
 * and so is any step back: both count as the next frame.
 */
static inline int64_t vt__gige_id_step(uint64_t last, uint64_t id)
{
    const uint64_t wrap = 65535, half = 32768;
    if (last > wrap || id > wrap) /* 64-bit ids */
        return id > last ? (int64_t)(id - last) : 1;
    if (id > last)
        return id - last > half ? 1 : (int64_t)(id - last);
    if (last - id > half) /* wrapped */
        return id + wrap - last > 0 ? (int64_t)(id + wrap - last) : 1;
    return 1;
}

#endif
