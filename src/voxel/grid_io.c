/*
 * src/voxel/grid_io.c - writing a grid out: the original projector's
 * voxel_grid.bin and maximum-intensity projections as PNG.
 *
 * voxel_grid.bin is int32 N, float32 voxel_size, then N^3 float32 in the
 * order ix*N*N + iy*N + iz, little-endian (the original wrote its x86 memory).
 * The file is produced row by row from the bricks, so no dense copy of the
 * grid is ever held. Long runs of zero rows are skipped with lseek and the
 * file is sized with ftruncate at the end, which leaves holes on file systems
 * that support them: reading the file gives the same bytes, but writing it
 * costs time only for the voxels that have votes. Output goes to PATH.tmp,
 * renamed over PATH only when everything is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxel/grid_internal.h"
#include "voxtrack/image.h"

/* Zero runs shorter than this are written; longer ones become a seek. */
#define HOLE_MIN (256 * 1024)
#define BUF_BYTES (4 * 1024 * 1024)

typedef struct writer {
    int fd;
    const char *path;
    char *buf;
    size_t used;
    uint64_t zeros; /* pending zero bytes not yet written */
    bool seekable;
} writer;

static vt_status write_all(writer *w, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return vt__error(VT_EIO, "%s: write failed: %s", w->path, strerror(errno));
        c += k;
        n -= (size_t)k;
    }
    return VT_OK;
}

static vt_status flush(writer *w)
{
    vt_status s = write_all(w, w->buf, w->used);
    w->used = 0;
    return s;
}

static vt_status put(writer *w, const void *p, size_t n)
{
    if (w->used + n > BUF_BYTES) {
        vt_status s = flush(w);
        if (s)
            return s;
    }
    memcpy(w->buf + w->used, p, n);
    w->used += n;
    return VT_OK;
}

/* Emits the pending zeros: as a hole when long and the file can seek. */
static vt_status put_zeros(writer *w)
{
    vt_status s;
    if (w->zeros >= HOLE_MIN && w->seekable) {
        if ((s = flush(w)))
            return s;
        if (lseek(w->fd, (off_t)w->zeros, SEEK_CUR) >= 0) {
            w->zeros = 0;
            return VT_OK;
        }
        w->seekable = false;
    }
    while (w->zeros > 0) {
        size_t n = w->zeros < BUF_BYTES ? (size_t)w->zeros : BUF_BYTES;
        if (w->used + n > BUF_BYTES && (s = flush(w)))
            return s;
        memset(w->buf + w->used, 0, n);
        w->used += n;
        w->zeros -= n;
    }
    return VT_OK;
}

static void to_le32(void *p, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t *u = p;
    for (size_t i = 0; i < count; i++)
        u[i] = __builtin_bswap32(u[i]);
#else
    (void)p;
    (void)count;
#endif
}

static vt_status write_voxels(const vt_grid *g, writer *w, float *row)
{
    vt_status s;
    int n = g->o.nx;
    size_t row_bytes = (size_t)n * sizeof(float);
    for (int ix = 0; ix < n; ix++)
        for (int iy = 0; iy < n; iy++) {
            if (!vt_grid_row_f32(g, ix, iy, row)) {
                w->zeros += row_bytes;
                continue;
            }
            to_le32(row, (size_t)n);
            if ((s = put_zeros(w)) || (s = put(w, row, row_bytes)))
                return s;
        }
    if ((s = flush(w)))
        return s;
    if (w->zeros > 0 && w->seekable) {
        off_t end = lseek(w->fd, 0, SEEK_CUR);
        if (end >= 0 && ftruncate(w->fd, end + (off_t)w->zeros) == 0)
            return VT_OK;
        w->seekable = false;
    }
    if ((s = put_zeros(w)))
        return s;
    return flush(w);
}

vt_status vt_grid_save_bin(const vt_grid *g, const char *path)
{
    if (g->o.nx != g->o.ny || g->o.nx != g->o.nz)
        return vt__error(VT_EUNSUPPORTED, "%s: voxel_grid.bin needs a cubic grid (got %dx%dx%d)",
                         path, g->o.nx, g->o.ny, g->o.nz);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    writer w = {-1, path, malloc(BUF_BYTES), 0, 0, true};
    float *row = malloc((size_t)g->o.nz * sizeof *row);
    vt_status s = VT_OK;
    if (!tmp || !w.buf || !row) {
        s = vt__error(VT_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w.fd < 0) {
        s = vt__error(VT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    struct stat st;
    w.seekable = fstat(w.fd, &st) == 0 && S_ISREG(st.st_mode);

    int32_t header_n = g->o.nx;
    float header_vs = (float)g->o.voxel_size;
    uint32_t header[2];
    memcpy(&header[0], &header_n, 4);
    memcpy(&header[1], &header_vs, 4);
    to_le32(header, 2);
    if ((s = put(&w, header, sizeof header)) || (s = write_voxels(g, &w, row)))
        goto done;
    if (close(w.fd) != 0) {
        w.fd = -1;
        s = vt__error(VT_EIO, "%s: close failed: %s", tmp, strerror(errno));
        goto done;
    }
    w.fd = -1;
    if (rename(tmp, path) != 0)
        s = vt__error(VT_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
done:
    if (w.fd >= 0)
        close(w.fd);
    if (s && tmp)
        unlink(tmp);
    free(tmp);
    free(w.buf);
    free(row);
    return s;
}

/*
 * Maximum-intensity projections. Each image shows the grid from outside with
 * +z (or +y for the top view) pointing up on the page:
 *   PREFIX_x.png: columns iy, rows iz from the top down (max over ix)
 *   PREFIX_y.png: columns ix, rows iz from the top down (max over iy)
 *   PREFIX_z.png: columns ix, rows iy from the top down (max over iz)
 */
static void project_brick(const vt_grid *g, const uint64_t *brick, int bx, int by, int bz,
                          uint64_t *mx, uint64_t *my, uint64_t *mz)
{
    int ny = g->o.ny, nz = g->o.nz;
    for (int i = 0; i < VT__BRICK_VOXELS; i++) {
        uint64_t v = brick[i];
        if (!v)
            continue;
        int x = (bx << VT_GRID_BRICK_LOG2) + (i >> (2 * VT_GRID_BRICK_LOG2));
        int y = (by << VT_GRID_BRICK_LOG2) + ((i >> VT_GRID_BRICK_LOG2) & (VT_GRID_BRICK - 1));
        int z = (bz << VT_GRID_BRICK_LOG2) + (i & (VT_GRID_BRICK - 1));
        uint64_t *px = &mx[(size_t)y * nz + z], *py = &my[(size_t)x * nz + z],
                 *pz = &mz[(size_t)x * ny + y];
        if (v > *px)
            *px = v;
        if (v > *py)
            *py = v;
        if (v > *pz)
            *pz = v;
    }
}

/* Writes a w x h projection stored as m[col * h + row_from_bottom]. */
static vt_status save_projection(const uint64_t *m, int cols, int rows, uint64_t max,
                                 const char *prefix, const char *axis)
{
    vt_image img = {0};
    vt_status s = vt_image_alloc(&img, cols, rows, 16);
    if (s)
        return s;
    for (int r = 0; r < rows; r++) {
        uint16_t *out = vt_image_row16(&img, rows - 1 - r);
        for (int c = 0; c < cols; c++) {
            uint64_t v = m[(size_t)c * rows + r];
            out[c] = max ? (uint16_t)((double)v * 65535.0 / (double)max + 0.5) : 0;
        }
    }
    size_t n = strlen(prefix) + 16;
    char *path = malloc(n);
    if (!path) {
        vt_image_free(&img);
        return vt__error(VT_ENOMEM, "mip: out of memory");
    }
    snprintf(path, n, "%s_%s.png", prefix, axis);
    s = vt_image_save_png(&img, path);
    free(path);
    vt_image_free(&img);
    return s;
}

vt_status vt_grid_save_mip(const vt_grid *g, const char *prefix)
{
    int nx = g->o.nx, ny = g->o.ny, nz = g->o.nz;
    uint64_t *mx = calloc((size_t)ny * nz, sizeof *mx);
    uint64_t *my = calloc((size_t)nx * nz, sizeof *my);
    uint64_t *mz = calloc((size_t)nx * ny, sizeof *mz);
    vt_status s = VT_OK;
    if (!mx || !my || !mz) {
        s = vt__error(VT_ENOMEM, "mip: out of memory");
        goto done;
    }
    for (int bx = 0; bx < g->bx; bx++)
        for (int by = 0; by < g->by; by++)
            for (int bz = 0; bz < g->bz; bz++) {
                const uint64_t *brick = g->dir[((size_t)bx * g->by + by) * g->bz + bz];
                if (brick)
                    project_brick(g, brick, bx, by, bz, mx, my, mz);
            }
    uint64_t max = 0;
    for (size_t i = 0; i < (size_t)nx * ny; i++)
        max = mz[i] > max ? mz[i] : max;
    if ((s = save_projection(mx, ny, nz, max, prefix, "x")) ||
        (s = save_projection(my, nx, nz, max, prefix, "y")) ||
        (s = save_projection(mz, nx, ny, max, prefix, "z")))
        goto done;
done:
    free(mx);
    free(my);
    free(mz);
    return s;
}
