/*
 * src/sim/render_internal.h - what the renderer's sources share (never
 * installed): the per-camera state, the counter-based hash, and the sky,
 * noise and hot-pixel helpers of render_sky.c that render.c calls.
 */
#ifndef VOXTRACK_RENDER_INTERNAL_H
#define VOXTRACK_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <omp.h>

#include "voxtrack/render.h"

/* Entries of the inverse-CDF table of the approximate Gaussian: 12 bits per sample. */
#define VT__GAUSS_BITS 12
#define VT__GAUSS_SIZE (1 << VT__GAUSS_BITS)

/* The clouds are redrawn when they have drifted by this much (pixels) since the last drawing. */
#define VT__SKY_DRIFT_STEP 0.25

/* Salts that keep the hash streams of the renderer apart. */
enum {
    VT__SALT_NOISE = 0x6e6f6973,
    VT__SALT_HOT = 0x686f7421,
    VT__SALT_FLICKER = 0x666c6b72,
    VT__SALT_CLOUD = 0x636c6f75
};

/* One pixel a target touches: composited far to near, then noised. */
typedef struct vt__render_entry {
    uint64_t pixel; /* y * width + x */
    uint32_t seq;   /* order of drawing: far targets first */
    float cover;    /* 0 < cover <= 1 */
    float value;    /* the target's brightness in this modality */
} vt__render_entry;

/* One thread's scratch in the target pass: a target's corners and grid, its entries. */
typedef struct vt__render_work {
    double *scratch;
    size_t scratch_cap;
    vt__render_entry *entries;
    size_t count, cap;
    vt_status status;
} vt__render_work;

/* The state of one camera; a draw touches only its own camera's. */
typedef struct vt__render_cam {
    int index;
    vt_camera cam;
    vt_modality modality;
    int bits;
    const vt_render_sky *sky; /* the opts' mono or thermal sky */

    /* Normalised (undistorted) bounds of the image, for culling. */
    double nx0, nx1, ny0, ny1;

    /* Sky cache: row levels always; the float sky only when there are clouds. */
    float *row_level; /* height entries: level + gradient */
    float *sky_px;    /* width * height, or NULL without clouds */
    int64_t sky_key;  /* drift step the sky was drawn for */
    bool sky_valid;

    /* Hot pixels, found on the first draw. */
    uint64_t *hot;
    size_t hot_count;
    bool hot_valid;

    /* The target pass: one work area per thread, then the merged, sorted entries. */
    vt__render_work *work;
    int work_count;
    vt__render_entry *entries;
    size_t entry_count, entry_cap;

    /* Per target of the last draw: its matched-filter SNR (vt_renderer_snr). */
    float *snr;
    size_t snr_count, snr_cap;
} vt__render_cam;

/* The point spread's tables cover z = x / sigma in [-VT__PSF_Z, VT__PSF_Z]. */
#define VT__PSF_Z 5.0
#define VT__PSF_N 2048

struct vt_renderer {
    vt_render_opts opts;
    int count;
    vt__render_cam *cams;
    double blur[2];              /* point spread sigma per modality, pixels */
    float gauss[VT__GAUSS_SIZE]; /* unit-variance Gaussian quantiles */
    /* Phi(z) and its integral z Phi(z) + phi(z), sampled for linear interpolation. */
    double psf_phi[VT__PSF_N + 1], psf_int[VT__PSF_N + 1];
};

/* The threads a renderer uses: its opts, or OpenMP's default. */
static inline int vt__render_threads(const vt_renderer *r)
{
    return r->opts.threads > 0 ? r->opts.threads : omp_get_max_threads();
}

/* splitmix64's finaliser: a bijective 64-bit mix (Steele, Lea, Flood, OOPSLA 2014). */
static inline uint64_t vt__render_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The key of one (seed, salt, camera, frame) stream; counters are added to it and mixed. */
static inline uint64_t vt__render_key(uint64_t seed, uint64_t salt, int camera, int64_t frame)
{
    uint64_t k = vt__render_mix(seed ^ (salt * 0x9e3779b97f4a7c15ull));
    k = vt__render_mix(k + (uint64_t)(camera + 1) * 0xd1b54a32d192ed03ull);
    return vt__render_mix(k + (uint64_t)frame * 0x8cb92ba72f3d8dd7ull);
}

/* The n-th value of a stream (a counter-based generator: splitmix64 at state key + n * gamma). */
static inline uint64_t vt__render_hash(uint64_t key, uint64_t n)
{
    return vt__render_mix(key + n * 0x9e3779b97f4a7c15ull);
}

/* Fills the unit-variance Gaussian table (render_sky.c). */
void vt__render_gauss_table(float table[VT__GAUSS_SIZE]);

/* Brings the camera's sky cache to time t. Returns VT_ENOMEM (render_sky.c). */
vt_status vt__render_sky_update(const vt_renderer *r, vt__render_cam *c, double t);

/* Finds the camera's hot pixels on the first call. Returns VT_ENOMEM (render_sky.c). */
vt_status vt__render_hot_update(const vt_renderer *r, vt__render_cam *c);

/* The sky (no noise) at pixel (x, y) as the cache holds it. */
static inline float vt__render_sky_at(const vt__render_cam *c, int x, int y)
{
    return c->sky_px ? c->sky_px[(size_t)y * (size_t)c->cam.width + (size_t)x] : c->row_level[y];
}

/*
 * Writes the noised sky of frame `frame` into out (allocated to the camera's
 * size and bits), OpenMP over rows (render_sky.c).
 */
void vt__render_sky_pass(const vt_renderer *r, const vt__render_cam *c, int64_t frame,
                         vt_image *out);

/* The key of a camera's noise in one frame. */
uint64_t vt__render_noise_key(const vt_renderer *r, const vt__render_cam *c, int64_t frame);

/* The unit sensor noise of pixel (x, y) under a frame's noise key (times sigma: the noise). */
float vt__render_noise_at(const vt_renderer *r, const vt__render_cam *c, uint64_t key, int x,
                          int y);

/* Rounds and clamps a value to the range of `bits` and stores it at pixel (x, y). */
void vt__render_store(vt_image *out, int x, int y, float value);

/* Turns on the hot pixels that are on in this frame (render_sky.c). */
void vt__render_hot_pass(const vt_renderer *r, const vt__render_cam *c, int64_t frame,
                         vt_image *out);

/* Sub-rows per pixel, at most (and the largest opts.supersample). */
#define VT__RENDER_MAX_ROWS 64

/* A target as one camera sees it. */
typedef struct vt__render_geom {
    double px, py;        /* ellipse centre, normalised */
    double e00, e01, e11; /* inside: (p - p0)^T E (p - p0) <= 1 */
    double hx, hy;        /* half-widths of its bounding box, normalised */
    int rows;             /* sub-rows per pixel */
    double distance;      /* from the camera centre, for far-to-near order */
} vt__render_geom;

/* A pixel's response: its box blurred by a Gaussian of sigma pixels, separable in x and y. */
typedef struct vt__render_psf {
    double sigma; /* 0: the box alone */
    double reach; /* the Gaussian's support, pixels: VT__PSF_Z sigma */
    int pad;      /* pixels a target's light spreads beyond its box on each side */
    const double *phi, *integral;
} vt__render_psf;

/* A target's coverage over its box grown by the blur (pixels may lie outside the image). */
typedef struct vt__render_grid {
    int x0, y0, w, h;
    double *cells;
} vt__render_grid;

/* Projects a target into a camera: false when it is not wholly in front of it. */
bool vt__render_geom_init(const vt__render_cam *c, const vt_render_target *t, int supersample,
                          vt__render_geom *g);

/* The point spread of the camera's modality. */
vt__render_psf vt__render_camera_psf(const vt_renderer *r, const vt__render_cam *c);

/* Fills the renderer's point-spread tables. */
void vt__render_psf_tables(vt_renderer *r);

/*
 * The target's coverage grid, computed in *scratch (grown as needed); an
 * empty grid (w = h = 0) when the target misses the image. VT_ENOMEM.
 */
vt_status vt__render_rasterise(const vt__render_cam *c, const vt__render_geom *g,
                               const vt__render_psf *p, double **scratch, size_t *cap,
                               vt__render_grid *grid);

/* The coverage of pixel (x, y) in a grid as drawn (0 outside it and in the blur's far tail). */
double vt__render_grid_cover(const vt__render_grid *grid, int x, int y);

#endif
