/*
 * src/voxel/sparse_cluster.c - the clusters of the sparse voting grid:
 * 26-connected components of final voxels of one level (a breadth-first
 * flood fill; neighbours are found by descending from their coarse cell).
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

/* Collects the 26-connected final voxels around a seed into v->comp (breadth first). */
static vt_status gather(vt_vote *v, vt__sref seed, size_t *count)
{
    size_t len = 1;
    v->comp[0] = seed;
    *vt__sgrid_meta(&v->g, &seed) |= VT__SV_SEEN;
    for (size_t head = 0; head < len; head++) {
        const vt__sref c = v->comp[head];
        for (int dx = -1; dx <= 1; dx++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dz = -1; dz <= 1; dz++) {
                    vt__sref r;
                    if (!vt__sgrid_locate(&v->g, c.level, c.x + dx, c.y + dy, c.z + dz, &r))
                        continue;
                    uint32_t *m = vt__sgrid_meta(&v->g, &r);
                    if ((*m & (VT__SV_FINAL | VT__SV_SEEN)) != VT__SV_FINAL)
                        continue;
                    *m |= VT__SV_SEEN;
                    if (!vt__sreserve((void **)&v->comp, &v->cap_comp, len + 1, sizeof *v->comp))
                        return VT_ENOMEM;
                    v->comp[len++] = r;
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
    if (!vt__sreserve((void **)&v->comp, &v->cap_comp, 1, sizeof *v->comp))
        return VT_ENOMEM;
    for (int t = 0; t < v->nworkers; t++)
        for (size_t i = 0; i < v->workers[t].nfinals; i++) {
            vt__sref seed = v->workers[t].finals[i];
            if (*vt__sgrid_meta(&v->g, &seed) & VT__SV_SEEN)
                continue;
            size_t count = 0;
            if (gather(v, seed, &count) || !vt__sreserve((void **)&v->clusters, &v->cap_clusters,
                                                         v->nclusters + 1, sizeof *v->clusters))
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
