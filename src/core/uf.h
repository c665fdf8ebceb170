/*
 * src/core/uf.h - union-find (disjoint sets) over indices 0..n-1 held in a
 * caller's array of parents: connected components of pixel runs (blobs),
 * of the gating graph (GNN and MHT clusters) and of the eval's matching
 * graph all use it.
 *
 * Find halves the path as it goes (every node on it skips to its
 * grandparent; Tarjan and van Leeuwen 1984), which keeps the trees flat
 * without a second pass or a rank array. Union links the larger root under
 * the smaller, so the root of every set is its smallest index: the result
 * never depends on the order in which edges are added, which keeps cluster
 * numbering deterministic across thread counts.
 *
 *     uint32_t parent[n];
 *     vt__uf_init(parent, n);
 *     vt__uf_union(parent, a, b);
 *     if (vt__uf_find(parent, a) == vt__uf_find(parent, b)) ...
 */
#ifndef VOXTRACK_CORE_UF_H
#define VOXTRACK_CORE_UF_H

#include <stddef.h>
#include <stdint.h>

/* Every index its own set. */
static inline void vt__uf_init(uint32_t *parent, size_t n)
{
    for (size_t i = 0; i < n; i++)
        parent[i] = (uint32_t)i;
}

/* The root (smallest index) of i's set. */
static inline uint32_t vt__uf_find(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Joins the sets of a and b; returns the root of the joined set. */
static inline uint32_t vt__uf_union(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = vt__uf_find(parent, a);
    b = vt__uf_find(parent, b);
    if (a < b) {
        parent[b] = a;
        return a;
    }
    parent[a] = b;
    return b;
}

#endif
