/*
 * src/motion/blobs.c - blobs: 8-connected components of a sparse list of
 * changed pixels, with intensity-weighted sub-pixel centroids (see
 * voxtrack/detect.h).
 *
 * The changed pixels arrive in raster order, so the image is never formed.
 * One pass over the list cuts it into horizontal runs (consecutive indices on
 * one row) and accumulates each run's sums as it goes. A run touches a run of
 * the row above when their column spans overlap once widened by one pixel
 * (the diagonal neighbours of 8-connectivity); both rows' runs are sorted by
 * column, so a pointer that only moves forward finds every touching pair.
 * Touching runs are merged in a union-find forest over run numbers (the
 * run-based labelling of Rosenfeld & Pfaltz, 1966, with union-find as in
 * Wu, Otoo & Suzuki, "Optimizing two-pass connected-component labeling
 * algorithms", 2009). Unions always keep the smaller run number as the root,
 * so a component's root is its first run in raster order: a second pass over
 * the runs then meets the roots in the order the blobs must be listed in, and
 * adds every run's sums into its root's blob. Work is O(pixels + runs).
 *
 * The runs and the forest live in scratch memory that the blob list keeps,
 * so a list reused from frame to frame stops allocating.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/uf.h"
#include "voxtrack/detect.h"

/* A horizontal run of changed pixels on one row, with its sums. */
typedef struct run {
    int y, x0, x1; /* row and inclusive column span */
    uint32_t blob; /* roots only: index of its blob in the output, before filtering */
    float peak;
    double sum, sum_x; /* sum of diff and of diff * x over the run */
    double raw;        /* sum of the unfiltered differences (raw, or diff without it) */
} run;

struct vt__blob_work {
    run *runs;
    uint32_t *parent; /* per run, union-find (core/uf.h): the root is the component's first run */
    size_t capacity;  /* of runs and parent */
    double *sums;     /* per blob: sum of diff and of raw (2 each), until the centroids are formed */
    size_t sums_capacity;
};

void vt_blob_list_free(vt_blob_list *l)
{
    if (!l)
        return;
    free(l->blobs);
    if (l->work) {
        free(l->work->runs);
        free(l->work->parent);
        free(l->work->sums);
    }
    free(l->work);
    memset(l, 0, sizeof *l);
}

static vt_status check_list(const vt_change_list *c)
{
    if (c->count == 0)
        return VT_OK;
    if (!c->index || !c->diff)
        return vt__error(VT_EINVAL, "blobs: change list of %zu pixels has no arrays", c->count);
    if (c->width <= 0 || c->height <= 0)
        return vt__error(VT_EINVAL, "blobs: change list frame size %dx%d is not positive", c->width,
                         c->height);
    if ((uint64_t)c->width * (uint64_t)c->height > UINT32_MAX)
        return vt__error(VT_ERANGE, "blobs: frame %dx%d has more than 2^32 pixels", c->width,
                         c->height);
    return VT_OK;
}

/*
 * Cuts the list into runs, filling their sums, and merges each run with the
 * runs of the row above that it touches. Returns the number of runs in *nrun.
 */
static vt_status build_runs(const vt_change_list *c, struct vt__blob_work *w, size_t *nrun)
{
    const uint32_t *idx = c->index;
    const float *diff = c->diff;
    const float *raw = c->raw ? c->raw : c->diff;
    const uint32_t npix = (uint32_t)((uint64_t)c->width * (uint64_t)c->height);
    const uint32_t width = (uint32_t)c->width;
    size_t n = 0;
    size_t above = 0, above_end = 0; /* runs of row y - 1: [above, above_end) */
    size_t row_start = 0;            /* first run of the current row */
    int row = -1;                    /* row of the runs from row_start on */
    int y = 0;                       /* row of the index being read ... */
    uint32_t row_last = width - 1;   /* ... and the index of its last pixel */
    for (size_t i = 0; i < c->count;) {
        uint32_t first = idx[i];
        if (first >= npix)
            return vt__error(VT_EINVAL, "blobs: change %zu: pixel index %u outside the %dx%d frame",
                             i, first, c->width, c->height);
        if (i > 0 && first <= idx[i - 1])
            return vt__error(VT_EINVAL, "blobs: change %zu: index %u after %u is not raster order",
                             i, first, idx[i - 1]);
        if (n == w->capacity) {
            void *const arrays[] = {&w->runs, &w->parent};
            const size_t elems[] = {sizeof *w->runs, sizeof *w->parent};
            vt_status s = vt__grow_group(arrays, elems, 2, &w->capacity, n + 1);
            if (s)
                return s;
        }
        /* Most runs lie on the row of the run before or the next one: no division. */
        if (first > row_last) {
            if (first - row_last <= width) {
                y++;
                row_last += width;
            } else {
                y = (int)(first / width);
                row_last = (uint32_t)y * width + width - 1;
            }
        }
        run *r = &w->runs[n];
        r->y = y;
        r->x0 = (int)(first - (row_last + 1 - width));
        w->parent[n] = (uint32_t)n;
        r->peak = diff[i];
        r->sum = 0.0;
        r->sum_x = 0.0;
        r->raw = 0.0;
        uint32_t last = first;
        for (;;) {
            double d = diff[i], x = (double)(last - first) + r->x0;
            r->sum += d;
            r->raw += raw[i];
            r->sum_x += d * x;
            r->peak = diff[i] > r->peak ? diff[i] : r->peak;
            i++;
            if (i == c->count || idx[i] != last + 1 || idx[i] > row_last)
                break;
            last = idx[i];
        }
        r->x1 = r->x0 + (int)(last - first);

        if (y != row) {
            /* The row just finished is the row above only if it is y - 1. */
            above = row_start;
            above_end = y == row + 1 ? n : row_start;
            row_start = n;
            row = y;
        }
        /* Runs above that end left of x0 - 1 cannot touch this run or any later one. */
        while (above < above_end && w->runs[above].x1 < r->x0 - 1)
            above++;
        for (size_t a = above; a < above_end && w->runs[a].x0 <= r->x1 + 1; a++)
            vt__uf_union(w->parent, (uint32_t)a, (uint32_t)n);
        n++;
    }
    *nrun = n;
    return VT_OK;
}

static void blob_add_run(vt_blob *b, const run *r, double *sum, double *sum_x, double *sum_y,
                         double *raw)
{
    *sum += r->sum;
    *raw += r->raw;
    *sum_x += r->sum_x;
    *sum_y += r->sum * r->y;
    b->peak = r->peak > b->peak ? r->peak : b->peak;
    b->area += r->x1 - r->x0 + 1;
    b->x0 = r->x0 < b->x0 ? r->x0 : b->x0;
    b->x1 = r->x1 > b->x1 ? r->x1 : b->x1;
    b->y1 = r->y; /* runs come in raster order */
}

/*
 * Adds every run into its root's blob. Roots come first in their component
 * and in raster order, so blobs are created in output order. The weighted
 * sums stay in double until the centroids are formed: sum(diff * x) and
 * sum(diff * y) in the blob's own u and v, sum(diff) in the scratch array.
 */
static vt_status gather_blobs(struct vt__blob_work *w, size_t nrun, vt_blob_list *out)
{
    size_t nblob = 0;
    for (size_t i = 0; i < nrun; i++)
        nblob += w->parent[i] == i;
    vt_status s = vt__grow(&out->blobs, &out->capacity, nblob, sizeof(vt_blob));
    if (s)
        return s;
    s = vt__grow(&w->sums, &w->sums_capacity, 2 * nblob, sizeof(double));
    if (s)
        return s;
    double *sum_w = w->sums, *sum_raw = w->sums + nblob;
    size_t b = 0;
    for (size_t i = 0; i < nrun; i++) {
        run *r = &w->runs[i];
        uint32_t root = vt__uf_find(w->parent, (uint32_t)i);
        if (root == i) {
            r->blob = (uint32_t)b;
            vt_blob *nb = &out->blobs[b++];
            *nb = (vt_blob){.peak = r->peak, .x0 = r->x0, .x1 = r->x1, .y0 = r->y, .y1 = r->y};
            sum_w[r->blob] = 0.0;
            sum_raw[r->blob] = 0.0;
        }
        uint32_t k = w->runs[root].blob;
        vt_blob *bl = &out->blobs[k];
        blob_add_run(bl, r, &sum_w[k], &bl->u, &bl->v, &sum_raw[k]);
    }
    for (size_t k = 0; k < nblob; k++) {
        vt_blob *bl = &out->blobs[k];
        double sw = sum_w[k];
        bl->sum = (float)sw;
        bl->raw_sum = (float)sum_raw[k];
        /* A blob whose differences sum to 0 (only possible with a threshold < 0) uses its box. */
        bl->u = sw > 0.0 ? bl->u / sw : 0.5 * (bl->x0 + bl->x1);
        bl->v = sw > 0.0 ? bl->v / sw : 0.5 * (bl->y0 + bl->y1);
    }
    out->count = nblob;
    return VT_OK;
}

static void filter_area(vt_blob_list *out, int min_area, int max_area)
{
    size_t k = 0;
    for (size_t i = 0; i < out->count; i++) {
        int a = out->blobs[i].area;
        if (a < min_area || (max_area > 0 && a > max_area))
            continue;
        out->blobs[k++] = out->blobs[i];
    }
    out->count = k;
}

vt_status vt_blobs_find(const vt_change_list *changes, int min_area, int max_area,
                        vt_blob_list *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "blobs: output list is NULL");
    out->count = 0;
    if (!changes)
        return vt__error(VT_EINVAL, "blobs: change list is NULL");
    if (min_area < 0 || max_area < 0)
        return vt__error(VT_EINVAL, "blobs: min_area %d and max_area %d must be >= 0", min_area,
                         max_area);
    vt_status s = check_list(changes);
    if (s)
        return s;
    if (changes->count == 0)
        return VT_OK;
    if (!out->work) {
        out->work = calloc(1, sizeof *out->work);
        if (!out->work)
            return vt__error(VT_ENOMEM, "blobs: cannot allocate the working memory");
    }
    size_t nrun = 0;
    s = build_runs(changes, out->work, &nrun);
    if (!s)
        s = gather_blobs(out->work, nrun, out);
    if (s) {
        out->count = 0;
        return s;
    }
    filter_area(out, min_area, max_area);
    return VT_OK;
}
