/*
 * src/cluster/msg.c - the binary messages of the distributed mode (layouts in
 * cluster_internal.h and docs/CLUSTER.md).
 *
 * A message is checked in two steps: the header (magic, kind, the payload's
 * length and its CRC-32), then the payload field by field with a reader that
 * never goes past the end (core/bytes.h), every count checked against the
 * bytes that are left before anything is allocated for it. Whatever arrives
 * on a subject, a decoder either fills its struct with a well-formed message
 * or says what was wrong; fuzz/fuzz_cluster.c holds it to that.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/buf.h"
#include "core/bytes.h"
#include "core/internal.h"

static const uint8_t MAGIC[4] = {'V', 'T', 'C', '1'};

enum {
    RAY_BYTES = 6 * 8 + 4 + 4 + 2 + 2 + 4 + 4 + 4, /* a ray, its blob's area and raw sum */
    DET_BYTES = 3 * 8 + 6 * 8 + 8 + 4 + 8 + 4 * 4,
    DET_RAY_BYTES = 2 + 4 + 4 + 4 + 4,
    CAMSTAT_BYTES = 1 + 8 + 3 * 8
};

static const char *kind_name(int kind)
{
    switch (kind) {
    case VT__CL_RAYS:
        return "rays";
    case VT__CL_WORK:
        return "work";
    case VT__CL_DETS:
        return "detections";
    case VT__CL_END:
        return "end";
    default:
        return "unknown";
    }
}

/* Starts a message: the header, its length and CRC filled in by finish(). */
static void start(vt__wbuf *w, int kind)
{
    vt__wbuf_bytes(w, MAGIC, 4);
    vt__wbuf_u8(w, (uint8_t)kind);
    vt__wbuf_u8(w, 0);
    vt__wbuf_u16(w, 0);
    vt__wbuf_u32(w, 0);
    vt__wbuf_u32(w, 0);
}

static vt_status finish(vt__wbuf *w, int kind, uint8_t **out, size_t *len)
{
    if (w->failed || w->len - VT__CL_HEADER > UINT32_MAX) {
        vt__wbuf_free(w);
        return vt__error(VT_ENOMEM, "cluster: out of memory for a %s message", kind_name(kind));
    }
    size_t n = w->len - VT__CL_HEADER;
    vt__put_u32(w->data + 8, (uint32_t)n);
    vt__put_u32(w->data + 12, vt__crc32(0, w->data + VT__CL_HEADER, n));
    *out = w->data;
    *len = w->len;
    return VT_OK;
}

vt_status vt__cl_kind(const void *data, size_t len, int *kind)
{
    const uint8_t *p = data;
    if (!data || len < VT__CL_HEADER)
        return vt__error(VT_EFORMAT, "cluster message: %zu bytes, shorter than its %d-byte header",
                         data ? len : 0, VT__CL_HEADER);
    if (memcmp(p, MAGIC, 4) != 0)
        return vt__error(VT_EFORMAT, "cluster message: no 'VTC1' at its start");
    int k = p[4];
    if (p[5] || p[6] || p[7])
        return vt__error(VT_EFORMAT, "cluster message: reserved header bytes are not zero");
    if (k < VT__CL_RAYS || k > VT__CL_END)
        return vt__error(VT_EFORMAT, "cluster message: unknown kind %d", k);
    uint32_t n = vt__get_u32(p + 8);
    if (n != len - VT__CL_HEADER)
        return vt__error(VT_EFORMAT, "cluster %s message: header says %u payload bytes, %zu came",
                         kind_name(k), n, len - VT__CL_HEADER);
    uint32_t want = vt__get_u32(p + 12), got = vt__crc32(0, p + VT__CL_HEADER, n);
    if (want != got)
        return vt__error(VT_EFORMAT, "cluster %s message: CRC mismatch (header %08x, payload %08x)",
                         kind_name(k), want, got);
    *kind = k;
    return VT_OK;
}

/* The payload of a message of kind `want`, after the header checks. */
static vt_status open_payload(const void *data, size_t len, int want, vt__rbuf *r)
{
    int k;
    vt_status s = vt__cl_kind(data, len, &k);
    if (s)
        return s;
    if (k != want)
        return vt__error(VT_EFORMAT, "cluster message: a %s message where a %s message belongs",
                         kind_name(k), kind_name(want));
    *r = vt__rbuf_of((const uint8_t *)data + VT__CL_HEADER, len - VT__CL_HEADER);
    return VT_OK;
}

/* The end of a payload: everything read, nothing left over. */
static vt_status close_payload(const vt__rbuf *r, int kind)
{
    if (r->failed)
        return vt__error(VT_EFORMAT, "cluster %s message: truncated", kind_name(kind));
    if (r->left)
        return vt__error(VT_EFORMAT, "cluster %s message: %zu bytes past its end", kind_name(kind),
                         r->left);
    return VT_OK;
}

static bool camera_count_ok(int n)
{
    return n >= 1 && n <= VT__CL_MAX_CAMERAS;
}

/* ---- rays ------------------------------------------------------------------ */

vt_status vt__cl_rays_encode(const vt__cl_rays *m, uint8_t **out, size_t *len)
{
    if (!camera_count_ok(m->ncams) || m->camera < 0 || m->camera >= m->ncams ||
        m->cam.nrays > UINT32_MAX || (m->cam.nrays && (!m->cam.rays || !m->cam.area)))
        return vt__error(VT_EINVAL, "cluster: rays message of camera %d of %d: bad arguments",
                         m->camera, m->ncams);
    vt__wbuf w = {0};
    start(&w, VT__CL_RAYS);
    vt__wbuf_i64(&w, m->set);
    vt__wbuf_i64(&w, m->frame);
    vt__wbuf_f64(&w, m->t);
    vt__wbuf_u16(&w, (uint16_t)m->camera);
    vt__wbuf_u16(&w, (uint16_t)m->ncams);
    vt__wbuf_u8(&w, m->cam.present);
    vt__wbuf_f64(&w, m->sync_error);
    vt__wbuf_f64(&w, m->seconds);
    vt__wbuf_u64(&w, m->cam.changes);
    vt__wbuf_u64(&w, m->cam.blobs);
    vt__wbuf_f32(&w, m->cam.noise);
    vt__wbuf_u32(&w, (uint32_t)m->cam.nrays);
    for (size_t i = 0; i < m->cam.nrays; i++) {
        const vt_ray *r = &m->cam.rays[i];
        vt__wbuf_f64(&w, r->origin.x);
        vt__wbuf_f64(&w, r->origin.y);
        vt__wbuf_f64(&w, r->origin.z);
        vt__wbuf_f64(&w, r->dir.x);
        vt__wbuf_f64(&w, r->dir.y);
        vt__wbuf_f64(&w, r->dir.z);
        vt__wbuf_f32(&w, r->weight);
        vt__wbuf_f32(&w, r->sigma);
        vt__wbuf_u16(&w, r->camera);
        vt__wbuf_u16(&w, r->pair);
        vt__wbuf_u32(&w, r->blob);
        vt__wbuf_i32(&w, m->cam.area[i]);
        vt__wbuf_f32(&w, m->cam.raw ? m->cam.raw[i] : 0.0f);
    }
    return finish(&w, VT__CL_RAYS, out, len);
}

vt_status vt__cl_rays_decode(const void *data, size_t len, vt__cl_rays *m)
{
    vt__rbuf r;
    vt_status s = open_payload(data, len, VT__CL_RAYS, &r);
    if (s)
        return s;
    m->set = vt__rbuf_i64(&r);
    m->frame = vt__rbuf_i64(&r);
    m->t = vt__rbuf_f64(&r);
    m->camera = vt__rbuf_u16(&r);
    m->ncams = vt__rbuf_u16(&r);
    uint8_t present = vt__rbuf_u8(&r);
    m->sync_error = vt__rbuf_f64(&r);
    m->seconds = vt__rbuf_f64(&r);
    memset(&m->cam, 0, sizeof m->cam);
    m->cam.changes = vt__rbuf_u64(&r);
    m->cam.blobs = vt__rbuf_u64(&r);
    m->cam.noise = vt__rbuf_f32(&r);
    size_t n = vt__rbuf_count(&r, vt__rbuf_u32(&r), RAY_BYTES);
    if (r.failed)
        return close_payload(&r, VT__CL_RAYS);
    if (!camera_count_ok(m->ncams) || m->camera >= m->ncams)
        return vt__error(VT_EFORMAT, "cluster rays message: camera %d of %d cameras", m->camera,
                         m->ncams);
    if (present > 1 || m->set < 0 || !isfinite(m->t))
        return vt__error(VT_EFORMAT, "cluster rays message of camera %d: bad present, set or t",
                         m->camera);
    if (n > m->cap) {
        void *const ptrs[] = {&m->rays, &m->area, &m->raw};
        const size_t elems[] = {sizeof *m->rays, sizeof *m->area, sizeof *m->raw};
        if ((s = vt__grow_group(ptrs, elems, 3, &m->cap, n)))
            return s;
    }
    for (size_t i = 0; i < n; i++) {
        vt_ray *y = &m->rays[i];
        y->origin.x = vt__rbuf_f64(&r);
        y->origin.y = vt__rbuf_f64(&r);
        y->origin.z = vt__rbuf_f64(&r);
        y->dir.x = vt__rbuf_f64(&r);
        y->dir.y = vt__rbuf_f64(&r);
        y->dir.z = vt__rbuf_f64(&r);
        y->weight = vt__rbuf_f32(&r);
        y->sigma = vt__rbuf_f32(&r);
        y->camera = vt__rbuf_u16(&r);
        y->pair = vt__rbuf_u16(&r);
        y->blob = vt__rbuf_u32(&r);
        m->area[i] = vt__rbuf_i32(&r);
        m->raw[i] = vt__rbuf_f32(&r);
        if (y->camera != m->camera)
            return vt__error(VT_EFORMAT,
                             "cluster rays message of camera %d: ray %zu is camera %u's", m->camera,
                             i, (unsigned)y->camera);
    }
    if ((s = close_payload(&r, VT__CL_RAYS)))
        return s;
    m->cam.present = present;
    m->cam.rays = m->rays;
    m->cam.area = m->area;
    m->cam.raw = m->raw;
    m->cam.nrays = n;
    return VT_OK;
}

void vt__cl_rays_free(vt__cl_rays *m)
{
    free(m->rays);
    free(m->area);
    free(m->raw);
    memset(m, 0, sizeof *m);
}

/* ---- work ------------------------------------------------------------------ */

vt_status vt__cl_work_encode(const vt__cl_work *m, uint8_t **out, size_t *len)
{
    if (!camera_count_ok(m->ncams))
        return vt__error(VT_EINVAL, "cluster: work message with %d cameras", m->ncams);
    vt__wbuf w = {0};
    start(&w, VT__CL_WORK);
    vt__wbuf_i64(&w, m->set);
    vt__wbuf_i64(&w, m->frame);
    vt__wbuf_f64(&w, m->t);
    vt__wbuf_u16(&w, (uint16_t)m->ncams);
    for (int i = 0; i < m->ncams; i++)
        vt__wbuf_u64(&w, m->seq[i]);
    return finish(&w, VT__CL_WORK, out, len);
}

vt_status vt__cl_work_decode(const void *data, size_t len, vt__cl_work *m)
{
    vt__rbuf r;
    vt_status s = open_payload(data, len, VT__CL_WORK, &r);
    if (s)
        return s;
    m->set = vt__rbuf_i64(&r);
    m->frame = vt__rbuf_i64(&r);
    m->t = vt__rbuf_f64(&r);
    m->ncams = vt__rbuf_u16(&r);
    if (!r.failed && (!camera_count_ok(m->ncams) || m->set < 0 || !isfinite(m->t)))
        return vt__error(VT_EFORMAT, "cluster work message: %d cameras, set %lld", m->ncams,
                         (long long)m->set);
    for (int i = 0; !r.failed && i < m->ncams; i++)
        m->seq[i] = vt__rbuf_u64(&r);
    return close_payload(&r, VT__CL_WORK);
}

/* ---- detections ------------------------------------------------------------ */

vt_status vt__cl_dets_encode(const vt__cl_dets *m, uint8_t **out, size_t *len)
{
    if (!camera_count_ok(m->ncams) || m->ndets > UINT32_MAX || m->nrays > UINT32_MAX)
        return vt__error(VT_EINVAL, "cluster: detections message: bad counts");
    vt__wbuf w = {0};
    start(&w, VT__CL_DETS);
    vt__wbuf_i64(&w, m->set);
    vt__wbuf_i64(&w, m->frame);
    vt__wbuf_f64(&w, m->t);
    vt__wbuf_u64(&w, m->rays_cast);
    vt__wbuf_u64(&w, m->clusters);
    for (int i = 0; i < 3; i++)
        vt__wbuf_f64(&w, m->seconds[i]);
    vt__wbuf_u32(&w, m->deliveries);
    vt__wbuf_u16(&w, (uint16_t)m->ncams);
    for (int i = 0; i < m->ncams; i++) {
        const vt__cl_camstat *c = &m->cams[i];
        vt__wbuf_u8(&w, c->present);
        vt__wbuf_f64(&w, c->sync_error);
        vt__wbuf_u64(&w, c->changes);
        vt__wbuf_u64(&w, c->blobs);
        vt__wbuf_u64(&w, c->rays);
    }
    vt__wbuf_u32(&w, (uint32_t)m->ndets);
    for (size_t i = 0; i < m->ndets; i++) {
        const vt_detection *d = &m->dets[i];
        vt__wbuf_f64(&w, d->pos.x);
        vt__wbuf_f64(&w, d->pos.y);
        vt__wbuf_f64(&w, d->pos.z);
        for (int k = 0; k < 6; k++)
            vt__wbuf_f64(&w, d->cov[k]);
        vt__wbuf_f64(&w, d->residual);
        vt__wbuf_f32(&w, d->weight);
        vt__wbuf_u64(&w, d->cameras);
        vt__wbuf_i32(&w, d->ncameras);
        vt__wbuf_i32(&w, d->nthermal);
        vt__wbuf_i32(&w, d->nrays);
        vt__wbuf_i32(&w, d->first_ray);
    }
    vt__wbuf_u32(&w, (uint32_t)m->nrays);
    for (size_t i = 0; i < m->nrays; i++) {
        const vt_detection_ray *y = &m->rays[i];
        vt__wbuf_u16(&w, y->camera);
        vt__wbuf_f32(&w, y->weight);
        vt__wbuf_f32(&w, y->noise);
        vt__wbuf_i32(&w, y->area);
        vt__wbuf_f32(&w, y->raw);
    }
    return finish(&w, VT__CL_DETS, out, len);
}

vt_status vt__cl_dets_decode(const void *data, size_t len, vt__cl_dets *m)
{
    vt__rbuf r;
    vt_status s = open_payload(data, len, VT__CL_DETS, &r);
    if (s)
        return s;
    m->set = vt__rbuf_i64(&r);
    m->frame = vt__rbuf_i64(&r);
    m->t = vt__rbuf_f64(&r);
    m->rays_cast = vt__rbuf_u64(&r);
    m->clusters = vt__rbuf_u64(&r);
    for (int i = 0; i < 3; i++)
        m->seconds[i] = vt__rbuf_f64(&r);
    m->deliveries = vt__rbuf_u32(&r);
    m->ncams = vt__rbuf_u16(&r);
    m->ndets = m->nrays = 0;
    if (!r.failed && (!camera_count_ok(m->ncams) || m->set < 0 || !isfinite(m->t)))
        return vt__error(VT_EFORMAT, "cluster detections message: %d cameras, set %lld", m->ncams,
                         (long long)m->set);
    for (int i = 0; !r.failed && i < m->ncams; i++) {
        vt__cl_camstat *c = &m->cams[i];
        uint8_t present = vt__rbuf_u8(&r);
        c->present = present != 0;
        c->sync_error = vt__rbuf_f64(&r);
        c->changes = vt__rbuf_u64(&r);
        c->blobs = vt__rbuf_u64(&r);
        c->rays = vt__rbuf_u64(&r);
        if (present > 1)
            return vt__error(VT_EFORMAT, "cluster detections message: camera %d: bad present", i);
    }
    size_t nd = vt__rbuf_count(&r, vt__rbuf_u32(&r), DET_BYTES);
    if (!r.failed && nd > m->dets_cap &&
        (s = vt__grow(&m->dets, &m->dets_cap, nd, sizeof *m->dets)))
        return s;
    for (size_t i = 0; !r.failed && i < nd; i++) {
        vt_detection *d = &m->dets[i];
        d->pos.x = vt__rbuf_f64(&r);
        d->pos.y = vt__rbuf_f64(&r);
        d->pos.z = vt__rbuf_f64(&r);
        for (int k = 0; k < 6; k++)
            d->cov[k] = vt__rbuf_f64(&r);
        d->residual = vt__rbuf_f64(&r);
        d->weight = vt__rbuf_f32(&r);
        d->cameras = vt__rbuf_u64(&r);
        d->ncameras = vt__rbuf_i32(&r);
        d->nthermal = vt__rbuf_i32(&r);
        d->nrays = vt__rbuf_i32(&r);
        d->first_ray = vt__rbuf_i32(&r);
    }
    size_t nr = vt__rbuf_count(&r, vt__rbuf_u32(&r), DET_RAY_BYTES);
    if (!r.failed && nr > m->rays_cap &&
        (s = vt__grow(&m->rays, &m->rays_cap, nr, sizeof *m->rays)))
        return s;
    for (size_t i = 0; !r.failed && i < nr; i++) {
        vt_detection_ray *y = &m->rays[i];
        y->camera = vt__rbuf_u16(&r);
        y->weight = vt__rbuf_f32(&r);
        y->noise = vt__rbuf_f32(&r);
        y->area = vt__rbuf_i32(&r);
        y->raw = vt__rbuf_f32(&r);
        if (!r.failed && y->camera >= m->ncams)
            return vt__error(VT_EFORMAT, "cluster detections message: ray %zu of camera %u of %d",
                             i, (unsigned)y->camera, m->ncams);
    }
    if ((s = close_payload(&r, VT__CL_DETS)))
        return s;
    /* Each detection's rays must lie in the list (the track stage checks it too). */
    for (size_t i = 0; i < nd; i++) {
        const vt_detection *d = &m->dets[i];
        if (d->nrays < 0 || d->first_ray < 0 || (size_t)d->first_ray > nr ||
            (size_t)d->nrays > nr - (size_t)d->first_ray)
            return vt__error(VT_EFORMAT,
                             "cluster detections message: detection %zu's rays [%d, +%d) are "
                             "outside the %zu rays",
                             i, d->first_ray, d->nrays, nr);
    }
    m->ndets = nd;
    m->nrays = nr;
    return VT_OK;
}

void vt__cl_dets_free(vt__cl_dets *m)
{
    free(m->dets);
    free(m->rays);
    memset(m, 0, sizeof *m);
}

/* ---- end ------------------------------------------------------------------- */

vt_status vt__cl_end_encode(const vt__cl_end *m, uint8_t **out, size_t *len)
{
    if (m->nsets < 0 || m->camera < -1 || m->camera >= VT__CL_MAX_CAMERAS)
        return vt__error(VT_EINVAL, "cluster: end message: bad arguments");
    vt__wbuf w = {0};
    start(&w, VT__CL_END);
    vt__wbuf_i64(&w, m->nsets);
    vt__wbuf_i32(&w, m->camera);
    return finish(&w, VT__CL_END, out, len);
}

vt_status vt__cl_end_decode(const void *data, size_t len, vt__cl_end *m)
{
    vt__rbuf r;
    vt_status s = open_payload(data, len, VT__CL_END, &r);
    if (s)
        return s;
    m->nsets = vt__rbuf_i64(&r);
    m->camera = vt__rbuf_i32(&r);
    if ((s = close_payload(&r, VT__CL_END)))
        return s;
    if (m->nsets < 0 || m->camera < -1 || m->camera >= VT__CL_MAX_CAMERAS)
        return vt__error(VT_EFORMAT, "cluster end message: %lld sets, camera %d",
                         (long long)m->nsets, m->camera);
    return VT_OK;
}
