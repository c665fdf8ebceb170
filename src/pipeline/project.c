/*
 * src/pipeline/project.c - the original Pixeltovoxelprojector, rewritten.
 *
 * For every camera (in increasing camera_index), its frames in frame_index
 * order are differenced pairwise; every pixel whose absolute difference
 * exceeds the threshold becomes a ray from the later frame's pose, and every
 * voxel on the ray gets the difference as votes.
 *
 * Work is cut into windows of a few frames of one camera: the window's images
 * are decoded in parallel, then its frame pairs are differenced and cast in
 * parallel, each thread voting into a grid of its own. Votes are integers, so
 * adding the per-thread grids at the end gives the same grid for any thread
 * count and any schedule. Every image path is checked before any decoding
 * starts, so a missing file fails the run at once.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "voxtrack/camera.h"
#include "voxtrack/image.h"
#include "voxtrack/motion.h"
#include "voxtrack/original.h"
#include "voxtrack/project.h"

vt_project_opts vt_project_opts_default(void)
{
    vt_project_opts o = {0};
    o.traversal = VT_TRAVERSAL_ORIGINAL;
    o.threshold = 2.0;
    o.noise = 0.0;
    o.seed = 1;
    o.skip_bad_frames = false;
    o.threads = 0;
    return o;
}

/* One decoded frame: 8-bit pixels, or float pixels when noise is on. */
typedef struct slot {
    const vt_frame_meta *meta;
    vt_image img;
    float *noisy;
    int ordinal;      /* position in the global sorted order: seeds the noise */
    vt_status status; /* of loading */
    char error[512];
} slot;

/* Per-thread state: a private grid (NULL for thread 0, which uses the caller's), a change list. */
typedef struct worker {
    vt_grid *grid;
    vt_change_list changes;
    uint64_t rays, rays_hit, steps;
    vt_status status;
    char error[512];
} worker;

typedef struct run {
    const vt_project_opts *o;
    const vt_metadata *meta;
    const char *dir;
    vt_grid *grid;
    vt_project_stats *st;
    const vt_frame_meta **order; /* frames sorted by (camera, frame, entry) */
    bool *missing;               /* per sorted frame: file not readable (skipped) */
    int threads;
    worker *workers;
    int pairs_total, pairs_done;
} run;

static int cmp_frames(const void *a, const void *b)
{
    const vt_frame_meta *x = *(const vt_frame_meta *const *)a,
                        *y = *(const vt_frame_meta *const *)b;
    if (x->camera_index != y->camera_index)
        return x->camera_index < y->camera_index ? -1 : 1;
    if (x->frame_index != y->frame_index)
        return x->frame_index < y->frame_index ? -1 : 1;
    return x->entry < y->entry ? -1 : (x->entry > y->entry);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Every image must exist and be readable before anything is cast. */
static vt_status check_files(run *r)
{
    for (size_t i = 0; i < r->meta->count; i++) {
        const vt_frame_meta *f = r->order[i];
        char *p = join_path(r->dir, f->image_file);
        if (!p)
            return vt__error(VT_ENOMEM, "project: out of memory");
        bool ok = access(p, R_OK) == 0;
        if (!ok && !r->o->skip_bad_frames) {
            vt_status s = vt__error(VT_ENOENT,
                                    "%s: cannot read image of metadata entry %d (camera %d, "
                                    "frame %d): %s",
                                    p, f->entry, f->camera_index, f->frame_index,
                                    "no such file or not readable");
            free(p);
            return s;
        }
        r->missing[i] = !ok;
        free(p);
    }
    return VT_OK;
}

/* A counter-based generator (splitmix64 of a key): the noise of a pixel does not depend on
 * which thread draws it or in which order. */
static inline uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static vt_status add_noise(slot *s, double amp, uint64_t seed)
{
    int w = s->img.width, h = s->img.height;
    free(s->noisy);
    s->noisy = malloc((size_t)w * h * sizeof *s->noisy);
    if (!s->noisy)
        return vt__error(VT_ENOMEM, "project: out of memory for noise");
    uint64_t key = mix64(seed ^ mix64((uint64_t)s->ordinal));
    for (int y = 0; y < h; y++) {
        const uint8_t *row = vt_image_row8(&s->img, y);
        float *out = s->noisy + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            uint64_t r = mix64(key + (uint64_t)y * (uint64_t)w + (uint64_t)x);
            double u = (double)(r >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
            double v = row[x] + amp * (2.0 * u - 1.0);
            out[x] = (float)(v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v));
        }
    }
    return VT_OK;
}

static void load_slot(run *r, slot *s)
{
    vt_image_free(&s->img);
    s->error[0] = '\0';
    char *p = join_path(r->dir, s->meta->image_file);
    if (!p) {
        s->status = VT_ENOMEM;
        snprintf(s->error, sizeof s->error, "project: out of memory");
        return;
    }
    /* 8 bits like the original (stb_image's 8-bit load), whatever the file holds. */
    s->status = vt_image_load(p, VT_IMAGE_LOAD_8BIT, &s->img);
    if (!s->status && r->o->noise > 0.0)
        s->status = add_noise(s, r->o->noise, r->o->seed);
    if (s->status)
        snprintf(s->error, sizeof s->error, "%s (metadata entry %d)", vt_last_error(),
                 s->meta->entry);
    free(p);
}

static vt_status cast_pair(run *r, worker *wk, const slot *prev, const slot *cur)
{
    const vt_frame_meta *m = cur->meta;
    vt_status s;
    if (r->o->noise > 0.0)
        s = vt_motion_detect_f32(prev->noisy, cur->noisy, cur->img.width, cur->img.height,
                                 (float)r->o->threshold, 1, &wk->changes);
    else
        s = vt_motion_detect(&prev->img, &cur->img, (float)r->o->threshold, 1, &wk->changes);
    if (s)
        return s;
    vt_camera cam;
    if ((s = vt_camera_from_ypr(cur->img.width, cur->img.height, m->fov_deg, m->yaw, m->pitch,
                                m->roll, m->position, &cam)))
        return vt__error_prefix(s, "metadata entry %d", m->entry);
    vt_original_camera ocam;
    const double pos[3] = {m->position.x, m->position.y, m->position.z};
    vt_original_camera_init(&ocam, cur->img.width, cur->img.height, m->fov_deg, m->yaw, m->pitch,
                            m->roll, pos);
    bool original = r->o->traversal == VT_TRAVERSAL_ORIGINAL;
    uint32_t w = (uint32_t)cur->img.width;
    for (size_t i = 0; i < wk->changes.count; i++) {
        float d = wk->changes.diff[i];
        if (d < 1e-3f) /* as the original: a change too small to cast */
            continue;
        uint32_t idx = wk->changes.index[i];
        int u = (int)(idx % w), v = (int)(idx / w);
        uint64_t weight = (uint64_t)llround((double)d * VT_VOTE_ONE), steps;
        if (original) {
            float dir[3];
            vt_original_pixel_dir(&ocam, u, v, dir);
            s = vt_grid_cast_original(wk->grid, ocam.position, dir, weight, &steps);
        } else {
            vt_vec3 o, dir;
            vt_camera_pixel_to_ray(&cam, u, v, &o, &dir);
            s = vt_grid_cast(wk->grid, o, dir, weight, &steps);
        }
        if (s)
            return s;
        wk->rays++;
        wk->rays_hit += steps > 0;
        wk->steps += steps;
    }
    return VT_OK;
}

static void report(run *r)
{
    if (!r->o->progress)
        return;
    vt_project_progress p = {r->pairs_done, r->pairs_total, 0};
    for (int t = 0; t < r->threads; t++)
        p.rays += r->workers[t].rays;
    r->o->progress(r->o->progress_user, &p);
}

/* Resolves load failures in window order: skip (counted) or fail. */
static vt_status settle_loads(run *r, slot *slots, int k, int *valid, int *nvalid)
{
    *nvalid = 0;
    for (int j = 0; j < k; j++) {
        if (!slots[j].status) {
            valid[(*nvalid)++] = j;
            r->st->frames++;
            continue;
        }
        if (!r->o->skip_bad_frames || slots[j].status == VT_ENOMEM)
            return vt__error(slots[j].status, "%s", slots[j].error);
        vt__log(1, "skipping frame: %s", slots[j].error);
        r->st->frames_skipped++;
    }
    return VT_OK;
}

static vt_status check_sizes(const slot *a, const slot *b)
{
    if (a->img.width == b->img.width && a->img.height == b->img.height)
        return VT_OK;
    return vt__error(VT_EMISMATCH,
                     "camera %d: frame %d (%s, entry %d) is %dx%d but frame %d (%s, entry %d) is "
                     "%dx%d; all frames of a camera must have one size",
                     b->meta->camera_index, b->meta->frame_index, b->meta->image_file,
                     b->meta->entry, b->img.width, b->img.height, a->meta->frame_index,
                     a->meta->image_file, a->meta->entry, a->img.width, a->img.height);
}

/*
 * One camera's frames order[first..last): windows of `win` frames are loaded in
 * parallel, then their pairs (including the pair that straddles two windows)
 * are cast in parallel. slots has win + 1 entries; slot `win` keeps the last
 * valid frame of the previous window.
 */
static vt_status run_camera(run *r, size_t first, size_t last, slot *slots, int win)
{
    slot *carry = &slots[win];
    bool have_carry = false;
    int *valid = malloc((size_t)(win + 1) * sizeof *valid);
    const slot **pa = malloc((size_t)(win + 1) * sizeof *pa),
               **pb = malloc((size_t)(win + 1) * sizeof *pb);
    vt_status s = VT_OK;
    if (!valid || !pa || !pb) {
        s = vt__error(VT_ENOMEM, "project: out of memory");
        goto done;
    }
    size_t i = first;
    while (i < last) {
        int k = 0;
        for (; i < last && k < win; i++)
            if (!r->missing[i]) {
                slots[k].meta = r->order[i];
                slots[k].ordinal = (int)i;
                k++;
            } else {
                vt__log(1, "skipping frame: image of metadata entry %d (%s) is missing",
                        r->order[i]->entry, r->order[i]->image_file);
                r->st->frames_skipped++;
            }
#pragma omp parallel for schedule(dynamic, 1) num_threads(r->threads)
        for (int j = 0; j < k; j++)
            load_slot(r, &slots[j]);
        int nvalid;
        if ((s = settle_loads(r, slots, k, valid, &nvalid)))
            goto done;
        int np = 0;
        for (int j = 0; j < nvalid; j++) {
            const slot *prev = j > 0 ? &slots[valid[j - 1]] : (have_carry ? carry : NULL);
            if (!prev)
                continue;
            if ((s = check_sizes(prev, &slots[valid[j]])))
                goto done;
            pa[np] = prev;
            pb[np] = &slots[valid[j]];
            np++;
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(r->threads)
        for (int p = 0; p < np; p++) {
            worker *wk = &r->workers[omp_get_thread_num()];
            if (wk->status)
                continue;
            wk->status = cast_pair(r, wk, pa[p], pb[p]);
            if (wk->status)
                snprintf(wk->error, sizeof wk->error, "%s", vt_last_error());
        }
        for (int t = 0; t < r->threads; t++)
            if (r->workers[t].status) {
                s = vt__error(r->workers[t].status, "%s", r->workers[t].error);
                goto done;
            }
        r->st->pairs += np;
        r->pairs_done += np;
        report(r);
        if (nvalid > 0) {
            /* Keep the last valid frame for the pair that straddles the windows. */
            slot tmp = *carry;
            *carry = slots[valid[nvalid - 1]];
            slots[valid[nvalid - 1]] = tmp;
            have_carry = true;
        }
    }
done:
    free(valid);
    free(pa);
    free(pb);
    return s;
}

static vt_status make_workers(run *r)
{
    r->workers = calloc((size_t)r->threads, sizeof *r->workers);
    if (!r->workers)
        return vt__error(VT_ENOMEM, "project: out of memory");
    r->workers[0].grid = r->grid;
    vt_grid_opts go = vt_grid_get_opts(r->grid);
    for (int t = 1; t < r->threads; t++) {
        vt_status s = vt_grid_new(&go, &r->workers[t].grid);
        if (s)
            return s;
    }
    return VT_OK;
}

static vt_status merge_workers(run *r)
{
    vt_project_stats *st = r->st;
    size_t bytes = 0;
    for (int t = 0; t < r->threads; t++) {
        worker *wk = &r->workers[t];
        st->changed += wk->rays;
        st->rays_hit += wk->rays_hit;
        st->voxel_steps += wk->steps;
        bytes += vt_grid_bytes(wk->grid);
    }
    vt_status s = VT_OK;
    for (int t = 1; t < r->threads && !s; t++)
        s = vt_grid_add(r->grid, r->workers[t].grid);
    /* The peak: every private grid plus what the merge added to the caller's. */
    st->grid_bytes = bytes + vt_grid_bytes(r->grid) - vt_grid_bytes(r->workers[0].grid);
    return s;
}

static void free_workers(run *r)
{
    if (!r->workers)
        return;
    for (int t = 0; t < r->threads; t++) {
        if (t > 0)
            vt_grid_free(r->workers[t].grid);
        vt_change_list_free(&r->workers[t].changes);
    }
    free(r->workers);
}

static int count_pairs(const run *r)
{
    int pairs = 0;
    for (size_t i = 0, first = 0; i <= r->meta->count; i++) {
        if (i < r->meta->count && r->order[i]->camera_index == r->order[first]->camera_index)
            continue;
        int present = 0;
        for (size_t j = first; j < i; j++)
            present += !r->missing[j];
        pairs += present > 1 ? present - 1 : 0;
        first = i;
    }
    return pairs;
}

static vt_status check_opts(const vt_project_opts *o)
{
    if (o->traversal != VT_TRAVERSAL_ORIGINAL && o->traversal != VT_TRAVERSAL_EXACT)
        return vt__error(VT_EINVAL, "project: unknown traversal %d", (int)o->traversal);
    if (!isfinite(o->threshold) || o->threshold < 0.0)
        return vt__error(VT_EINVAL, "project: threshold must be a finite number >= 0 (got %g)",
                         o->threshold);
    if (!isfinite(o->noise) || o->noise < 0.0)
        return vt__error(VT_EINVAL, "project: noise must be a finite number >= 0 (got %g)",
                         o->noise);
    return VT_OK;
}

static vt_status run_all(run *r)
{
    vt_status s;
    if ((s = check_files(r)))
        return s;
    r->pairs_total = count_pairs(r);
    if ((s = make_workers(r)))
        return s;
    int win = 2 * r->threads;
    slot *slots = calloc((size_t)win + 1, sizeof *slots);
    if (!slots)
        return vt__error(VT_ENOMEM, "project: out of memory");
    for (size_t i = 0, first = 0; i <= r->meta->count && !s; i++) {
        if (i < r->meta->count && r->order[i]->camera_index == r->order[first]->camera_index)
            continue;
        r->st->cameras++;
        s = run_camera(r, first, i, slots, win);
        first = i;
    }
    if (!s)
        s = merge_workers(r);
    for (int j = 0; j <= win; j++) {
        vt_image_free(&slots[j].img);
        free(slots[j].noisy);
    }
    free(slots);
    return s;
}

vt_status vt_project_run(const vt_project_opts *opts, const vt_metadata *meta,
                         const char *image_dir, vt_grid *grid, vt_project_stats *stats)
{
    vt_project_stats local;
    vt_project_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    vt_status s = check_opts(opts);
    if (s)
        return s;
    if (!meta || meta->count == 0)
        return vt__error(VT_EINVAL, "project: no frames");
    double t0 = vt__now();
    run r = {opts, meta, image_dir, grid, st, NULL, NULL, 0, NULL, 0, 0};
    r.threads = opts->threads > 0 ? opts->threads : omp_get_max_threads();
    r.order = malloc(meta->count * sizeof *r.order);
    r.missing = calloc(meta->count, sizeof *r.missing);
    if (!r.order || !r.missing) {
        s = vt__error(VT_ENOMEM, "project: out of memory");
        goto done;
    }
    for (size_t i = 0; i < meta->count; i++)
        r.order[i] = &meta->frames[i];
    qsort(r.order, meta->count, sizeof *r.order, cmp_frames);
    s = run_all(&r);
done:
    free_workers(&r);
    free(r.order);
    free(r.missing);
    st->seconds = vt__now() - t0;
    return s;
}
