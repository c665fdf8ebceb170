/*
 * src/voxel/sparse_cluster.c - the clusters of the sparse voting grid:
 * 26-connected components of final voxels of one level (a breadth-first
 * flood fill; neighbours are found in a hash table of the final voxels, one
 * probe sequence each, rather than by descending the grid from their coarse
 * block, which cost four times as much).
 * A target seen near and far may give clusters of two sizes, which the
 * detection stage merges when it gathers rays. Each cluster's sums are taken
 * over its voxels in coordinate order and clusters are sorted on their
 * values, so clusters come out bit-identical whatever the thread count, the
 * order of the rays or the layout of the storage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "voxel/sparse_internal.h"

/* The slot a voxel's hash starts at: a multiplicative mix of its level and indices. */
static size_t voxel_slot(const vt__sref *r, int shift)
{
    uint64_t k = ((uint64_t)(uint32_t)r->x * 0x9E3779B97F4A7C15ull) ^
                 ((uint64_t)(uint32_t)r->y * 0xC2B2AE3D27D4EB4Full) ^
                 ((uint64_t)(uint32_t)r->z * 0x165667B19E3779F9ull) ^ (uint64_t)r->level;
    return (size_t)((k * 0xD6E8FEB86659FD93ull) >> shift);
}

static bool same_voxel(const vt__sref *a, const vt__sref *b)
{
    return a->x == b->x && a->y == b->y && a->z == b->z && a->level == b->level;
}

/*
 * Lists the final voxels of all workers in v->fin and enters them in an open
 * addressing table (slot: index + 1, 0 empty; at most half full), so that a
 * neighbour is found by one probe sequence instead of a descent from its
 * coarse block.
 */
static vt_status index_finals(vt_vote *v)
{
    size_t n = 0;
    for (int t = 0; t < v->nworkers; t++)
        n += v->workers[t].nfinals;
    if (n >= UINT32_MAX / 2)
        return VT_ENOMEM;
    int log2 = 4;
    while (((size_t)1 << log2) < 2 * n)
        log2++;
    size_t cap = (size_t)1 << log2;
    if (vt__grow(&v->fin, &v->cap_fin, n ? n : 1, sizeof *v->fin) ||
        vt__grow(&v->fin_seen, &v->cap_fin_seen, n ? n : 1, 1) ||
        vt__grow(&v->fin_table, &v->cap_fin_table, cap, sizeof *v->fin_table))
        return VT_ENOMEM;
    n = 0;
    for (int t = 0; t < v->nworkers; t++) {
        if (!v->workers[t].nfinals) /* its list may never have been allocated */
            continue;
        memcpy(v->fin + n, v->workers[t].finals, v->workers[t].nfinals * sizeof *v->fin);
        n += v->workers[t].nfinals;
    }
    memset(v->fin_seen, 0, n);
    memset(v->fin_table, 0, cap * sizeof *v->fin_table);
    v->nfin = n;
    v->fin_shift = 64 - log2;
    for (size_t i = 0; i < n; i++) {
        size_t j = voxel_slot(&v->fin[i], v->fin_shift);
        while (v->fin_table[j])
            j = (j + 1) & (cap - 1);
        v->fin_table[j] = (uint32_t)(i + 1);
    }
    v->fin_mask = cap - 1;
    return VT_OK;
}

/* The index in v->fin of the final voxel at r, or -1. */
static long find_final(const vt_vote *v, const vt__sref *r)
{
    for (size_t j = voxel_slot(r, v->fin_shift);; j = (j + 1) & v->fin_mask) {
        uint32_t e = v->fin_table[j];
        if (!e)
            return -1;
        if (same_voxel(&v->fin[e - 1], r))
            return (long)e - 1;
    }
}

/* Collects the 26-connected final voxels around final voxel `seed` into v->comp (breadth first). */
static vt_status gather(vt_vote *v, size_t seed, size_t *count)
{
    size_t len = 1;
    v->comp[0] = v->fin[seed];
    v->fin_seen[seed] = 1;
    for (size_t head = 0; head < len; head++) {
        const vt__sref c = v->comp[head];
        for (int dx = -1; dx <= 1; dx++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dz = -1; dz <= 1; dz++) {
                    vt__sref r = {c.x + dx, c.y + dy, c.z + dz, 0, 0, c.level};
                    long j = find_final(v, &r);
                    if (j < 0 || v->fin_seen[j])
                        continue;
                    v->fin_seen[j] = 1;
                    if (vt__grow(&v->comp, &v->cap_comp, len + 1, sizeof *v->comp))
                        return VT_ENOMEM;
                    v->comp[len++] = v->fin[j];
                }
    }
    *count = len;
    return VT_OK;
}

static int cmp_vt__sref(const void *pa, const void *pb)
{
    const vt__sref *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return (a->z > b->z) - (a->z < b->z);
}

/* The cluster of v->comp[0..count): sums in coordinate order, so they do not depend on layout. */
static vt_cluster summarise(const vt_vote *v, size_t count)
{
    qsort(v->comp, count, sizeof *v->comp, cmp_vt__sref);
    const double e = v->edge[v->comp[0].level];
    vt_cluster c;
    memset(&c, 0, sizeof c);
    double sw = 0.0, sx = 0.0, sy = 0.0, sz = 0.0, ux = 0.0, uy = 0.0, uz = 0.0;
    int lo[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, hi[3] = {-1, -1, -1};
    for (size_t i = 0; i < count; i++) {
        const vt__sref *p = &v->comp[i];
        uint64_t w, cams;
        vt__sgrid_value(&v->g, p, &w, &cams);
        double cx = (p->x + 0.5) * e, cy = (p->y + 0.5) * e, cz = (p->z + 0.5) * e;
        c.weight += w;
        c.cameras |= cams;
        sw += (double)w;
        sx += (double)w * cx;
        sy += (double)w * cy;
        sz += (double)w * cz;
        ux += cx;
        uy += cy;
        uz += cz;
        const int q[3] = {p->x, p->y, p->z};
        for (int a = 0; a < 3; a++) {
            lo[a] = q[a] < lo[a] ? q[a] : lo[a];
            hi[a] = q[a] > hi[a] ? q[a] : hi[a];
        }
    }
    /* Rays of weight 0 still vote their cameras; their clusters get the plain mean. */
    if (sw > 0.0)
        c.centroid = vt_v3(sx / sw, sy / sw, sz / sw);
    else
        c.centroid = vt_v3(ux / (double)count, uy / (double)count, uz / (double)count);
    c.centroid = vt_v3_add(c.centroid, v->o.min);
    c.min = vt_v3(v->o.min.x + lo[0] * e, v->o.min.y + lo[1] * e, v->o.min.z + lo[2] * e);
    c.max = vt_v3(v->o.min.x + (hi[0] + 1) * e, v->o.min.y + (hi[1] + 1) * e,
                  v->o.min.z + (hi[2] + 1) * e);
    c.ncameras = vt__popcount64(c.cameras);
    c.voxels = (int)count;
    c.voxel_size = e;
    return c;
}

static int cmp_double(double a, double b)
{
    return (a > b) - (a < b);
}

/* Strongest first; ties broken by position, then size, so the order is total. */
static int cmp_cluster(const void *pa, const void *pb)
{
    const vt_cluster *a = pa, *b = pb;
    if (a->ncameras != b->ncameras)
        return a->ncameras > b->ncameras ? -1 : 1;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    int c = cmp_double(a->centroid.x, b->centroid.x);
    if (!c)
        c = cmp_double(a->centroid.y, b->centroid.y);
    if (!c)
        c = cmp_double(a->centroid.z, b->centroid.z);
    if (!c)
        c = cmp_double(a->voxel_size, b->voxel_size);
    if (!c)
        c = (a->voxels > b->voxels) - (a->voxels < b->voxels);
    return c;
}

vt_status vt__svote_find_clusters(vt_vote *v)
{
    v->nclusters = 0;
    if (vt__grow(&v->comp, &v->cap_comp, 1, sizeof *v->comp) || index_finals(v))
        return VT_ENOMEM;
    for (size_t i = 0; i < v->nfin; i++) {
        if (v->fin_seen[i])
            continue;
        size_t count = 0;
        if (gather(v, i, &count) ||
            vt__grow(&v->clusters, &v->cap_clusters, v->nclusters + 1, sizeof *v->clusters))
            return VT_ENOMEM;
        v->clusters[v->nclusters++] = summarise(v, count);
    }
    if (v->nclusters)
        qsort(v->clusters, v->nclusters, sizeof *v->clusters, cmp_cluster);
    v->st.clusters = v->nclusters;
    if (v->nclusters > VT__VOTE_MAX_CLUSTERS) {
        v->st.clusters_dropped = v->nclusters - VT__VOTE_MAX_CLUSTERS;
        v->nclusters = VT__VOTE_MAX_CLUSTERS;
    }
    return VT_OK;
}
