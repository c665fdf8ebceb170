/*
 * voxtrack/device.h - where the heavy stages run: on the CPU, or on a CUDA
 * GPU when the library was built with -DVT_CUDA=ON and one opens.
 *
 * The GPU stages compute what their CPU twins compute, bit for bit (the
 * per-element arithmetic is shared through VT_HD inline functions, votes are
 * integers), so the choice changes speed, never results. A program asks for
 * a device once at start-up, says which it got (vt_device_describe) and
 * hands the kind it got to the stages (vt_pipeline_opts.device):
 *
 *   vt_device_info d;
 *   if (vt_device_open(VT_DEVICE_AUTO, &d) == VT_OK)
 *       fprintf(stderr, "device: %s\n", vt_device_describe(&d, line, sizeof line));
 *
 * VT_DEVICE_AUTO takes the first CUDA device that opens and the CPU
 * otherwise (d.note then says why: "this build has no CUDA", "no CUDA
 * driver", "no CUDA device", ...); VT_DEVICE_CUDA fails instead of falling
 * back, with the same reason in vt_last_error().
 */
#ifndef VOXTRACK_DEVICE_H
#define VOXTRACK_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "voxtrack/export.h"
#include "voxtrack/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vt_device_kind {
    VT_DEVICE_AUTO = 0, /* CUDA when a device opens, else the CPU */
    VT_DEVICE_CPU = 1,
    VT_DEVICE_CUDA = 2
} vt_device_kind;

typedef struct vt_device_info {
    vt_device_kind kind; /* what was taken: VT_DEVICE_CPU or VT_DEVICE_CUDA */
    int index;           /* CUDA device ordinal; -1 on the CPU */
    char name[256];      /* the GPU's name ("NVIDIA H100 80GB HBM3"), or "cpu" */
    int cc_major;        /* compute capability (9.0 for Hopper); 0 on the CPU */
    int cc_minor;
    int multiprocessors; /* streaming multiprocessors; 0 on the CPU */
    size_t memory;       /* global memory, bytes; 0 on the CPU */
    int driver_version;  /* CUDA version the driver supports (13000 = 13.0); 0: none */
    int runtime_version; /* CUDA runtime built in; 0 without CUDA */
    int devices;         /* CUDA devices found */
    char note[256];      /* under AUTO on the CPU: why no GPU was taken; else empty */
} vt_device_info;

/* True when the library was built with the CUDA kernels (-DVT_CUDA=ON). */
VT_API bool vt_device_cuda_built(void);

/* "auto", "cpu" or "cuda" to a kind; VT_EINVAL naming the text otherwise. */
VT_API vt_status vt_device_parse(const char *text, vt_device_kind *out);

/* "auto", "cpu", "cuda" ("?" for other values). */
VT_API const char *vt_device_kind_name(vt_device_kind kind);

/*
 * Opens the device that `want` asks for and describes it in *out. CPU always
 * succeeds. CUDA succeeds when the build has CUDA and device 0 opens (a
 * context is created and a small allocation made on it); otherwise it
 * returns VT_EUNSUPPORTED with the reason in vt_last_error() and describes
 * the CPU in *out. AUTO never fails: it takes CUDA when that succeeds and
 * the CPU otherwise, with the reason in out->note. Safe to call again; the
 * probe of the GPU runs once per process.
 */
VT_API vt_status vt_device_open(vt_device_kind want, vt_device_info *out);

/*
 * One line for people: "cuda 0: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs,
 * 79.1 GiB, driver 13.0)" or "cpu (no CUDA device: ...)". Returns buf.
 */
VT_API const char *vt_device_describe(const vt_device_info *d, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
