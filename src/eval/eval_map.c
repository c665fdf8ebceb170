/*
 * src/eval/eval_map.c - the evaluator's hash map from 64-bit keys (truth and
 * track ids, pairs of state indices) to 32-bit values (see eval_internal.h).
 *
 * Open addressing with linear probing in a power-of-two table that is kept
 * at most half full, so probe sequences stay short; keys are scrambled with
 * splitmix64's finaliser first because ids are often small consecutive
 * numbers. Nothing is ever removed, which keeps probing simple.
 */
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

/* splitmix64's finaliser: ids are often small consecutive numbers. */
static uint64_t mix(uint64_t k)
{
    k ^= k >> 30;
    k *= 0xBF58476D1CE4E5B9ull;
    k ^= k >> 27;
    k *= 0x94D049BB133111EBull;
    return k ^ (k >> 31);
}

uint32_t *vt__eval_map_find(const vt__eval_map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = mix(key) & mask; m->used[i]; i = (i + 1) & mask)
        if (m->keys[i] == key)
            return &m->vals[i];
    return NULL;
}

static bool map_rehash(vt__eval_map *m, size_t cap)
{
    vt__eval_map n = {.cap = cap};
    n.keys = malloc(cap * sizeof *n.keys);
    n.vals = malloc(cap * sizeof *n.vals);
    n.used = calloc(cap, 1);
    if (!n.keys || !n.vals || !n.used) {
        vt__eval_map_free(&n);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = mix(m->keys[i]) & (cap - 1);
        while (n.used[j])
            j = (j + 1) & (cap - 1);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.count = m->count;
    vt__eval_map_free(m);
    *m = n;
    return true;
}

uint32_t *vt__eval_map_put(vt__eval_map *m, uint64_t key, bool *inserted)
{
    uint32_t *v = vt__eval_map_find(m, key);
    *inserted = false;
    if (v)
        return v;
    /* At most half full keeps the probe sequences short. */
    if ((m->count + 1) * 2 > m->cap && !map_rehash(m, m->cap ? m->cap * 2 : 64))
        return NULL;
    size_t i = mix(key) & (m->cap - 1);
    while (m->used[i])
        i = (i + 1) & (m->cap - 1);
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = 0;
    m->count++;
    *inserted = true;
    return &m->vals[i];
}

void vt__eval_map_free(vt__eval_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}
