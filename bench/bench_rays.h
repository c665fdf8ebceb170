/*
 * bench/bench_rays.h - a file of recorded rays, so that the voting can be
 * measured on the rays a real scene gives (`bench_pipeline PRESET SETS
 * --save-rays FILE` writes one, `bench_vote --rays FILE` casts it) and two
 * builds can be compared on the same input.
 *
 * Layout (native byte order; a scratch file for one machine, never kept):
 * the magic "VTRAYS1\n"; the vote options as 9 doubles (min xyz, max xyz,
 * coarse_voxel, fine_voxel, pixel_angle), 2 doubles (lod_pixels,
 * consistency_sigma), 1 double (consistency_min) and 1 int32 (min_cameras);
 * an int64 number of frame sets; then per set an int64 ray count and each
 * ray as 6 doubles (origin, dir), 2 floats (weight, sigma), 2 uint16
 * (camera, pair) and 1 uint32 (blob).
 */
#ifndef VOXTRACK_BENCH_RAYS_H
#define VOXTRACK_BENCH_RAYS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/voxtrack.h"

static const char bench_rays_magic[8] = {'V', 'T', 'R', 'A', 'Y', 'S', '1', '\n'};

typedef struct bench_ray_sets {
    vt_vote_opts opts;
    int64_t nsets;
    vt_ray **rays;  /* nsets arrays */
    size_t *counts; /* nsets counts */
    size_t capsets;
} bench_ray_sets;

static inline void bench_rays_free(bench_ray_sets *b)
{
    for (int64_t i = 0; i < b->nsets; i++)
        free(b->rays[i]);
    free(b->rays);
    free(b->counts);
    memset(b, 0, sizeof *b);
}

/* Appends a copy of one set's rays; false when out of memory. */
static inline int bench_rays_add(bench_ray_sets *b, const vt_ray *rays, size_t n)
{
    if ((size_t)b->nsets == b->capsets) {
        size_t cap = b->capsets ? 2 * b->capsets : 64;
        vt_ray **r = realloc(b->rays, cap * sizeof *r);
        if (!r)
            return 0;
        b->rays = r;
        size_t *c = realloc(b->counts, cap * sizeof *c);
        if (!c)
            return 0;
        b->counts = c;
        b->capsets = cap;
    }
    vt_ray *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        return 0;
    if (n)
        memcpy(copy, rays, n * sizeof *copy);
    b->rays[b->nsets] = copy;
    b->counts[b->nsets] = n;
    b->nsets++;
    return 1;
}

static inline int bench_rays_save(const bench_ray_sets *b, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    const vt_vote_opts *o = &b->opts;
    double d[12] = {o->min.x,
                    o->min.y,
                    o->min.z,
                    o->max.x,
                    o->max.y,
                    o->max.z,
                    o->coarse_voxel,
                    o->fine_voxel,
                    o->pixel_angle,
                    o->lod_pixels,
                    o->consistency_sigma,
                    o->consistency_min};
    int32_t k = o->min_cameras;
    int64_t n = b->nsets;
    int ok = fwrite(bench_rays_magic, 8, 1, f) == 1 && fwrite(d, sizeof d, 1, f) == 1 &&
             fwrite(&k, sizeof k, 1, f) == 1 && fwrite(&n, sizeof n, 1, f) == 1;
    for (int64_t i = 0; ok && i < n; i++) {
        int64_t c = (int64_t)b->counts[i];
        ok = fwrite(&c, sizeof c, 1, f) == 1;
        for (size_t j = 0; ok && j < b->counts[i]; j++) {
            const vt_ray *r = &b->rays[i][j];
            double g[6] = {r->origin.x, r->origin.y, r->origin.z, r->dir.x, r->dir.y, r->dir.z};
            float w[2] = {r->weight, r->sigma};
            uint16_t cp[2] = {r->camera, r->pair};
            ok = fwrite(g, sizeof g, 1, f) == 1 && fwrite(w, sizeof w, 1, f) == 1 &&
                 fwrite(cp, sizeof cp, 1, f) == 1 && fwrite(&r->blob, sizeof r->blob, 1, f) == 1;
        }
    }
    return fclose(f) == 0 && ok;
}

/* Reads a file of rays; 0 with a message on stderr when it cannot. */
static inline int bench_rays_load(bench_ray_sets *b, const char *path)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench: cannot open '%s'\n", path);
        return 0;
    }
    char magic[8];
    double d[12];
    int32_t k;
    int64_t n;
    int ok = fread(magic, 8, 1, f) == 1 && memcmp(magic, bench_rays_magic, 8) == 0 &&
             fread(d, sizeof d, 1, f) == 1 && fread(&k, sizeof k, 1, f) == 1 &&
             fread(&n, sizeof n, 1, f) == 1 && n >= 0 && n < 1000000;
    vt_vote_opts *o = &b->opts;
    *o = vt_vote_opts_default();
    if (ok) {
        o->min = vt_v3(d[0], d[1], d[2]);
        o->max = vt_v3(d[3], d[4], d[5]);
        o->coarse_voxel = d[6];
        o->fine_voxel = d[7];
        o->pixel_angle = d[8];
        o->lod_pixels = d[9];
        o->consistency_sigma = d[10];
        o->consistency_min = d[11];
        o->min_cameras = k;
    }
    for (int64_t i = 0; ok && i < n; i++) {
        int64_t c;
        ok = fread(&c, sizeof c, 1, f) == 1 && c >= 0 && c < 100000000;
        vt_ray *rays = ok ? malloc((size_t)(c ? c : 1) * sizeof *rays) : NULL;
        ok = ok && rays;
        for (int64_t j = 0; ok && j < c; j++) {
            double g[6];
            float w[2];
            uint16_t cp[2];
            vt_ray *r = &rays[j];
            memset(r, 0, sizeof *r);
            ok = fread(g, sizeof g, 1, f) == 1 && fread(w, sizeof w, 1, f) == 1 &&
                 fread(cp, sizeof cp, 1, f) == 1 && fread(&r->blob, sizeof r->blob, 1, f) == 1;
            r->origin = vt_v3(g[0], g[1], g[2]);
            r->dir = vt_v3(g[3], g[4], g[5]);
            r->weight = w[0];
            r->sigma = w[1];
            r->camera = cp[0];
            r->pair = cp[1];
        }
        ok = ok && bench_rays_add(b, rays, (size_t)c);
        free(rays);
    }
    fclose(f);
    if (!ok) {
        fprintf(stderr, "bench: '%s' is not a complete file of rays\n", path);
        bench_rays_free(b);
    }
    return ok;
}

#endif
