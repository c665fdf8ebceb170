/*
 * src/cuda/cuda_internal.h - what the host side of the library (C) and the
 * CUDA side (the .cu files of src/cuda, nvcc, only with -DVT_CUDA=ON) say to each other.
 *
 * Everything the .cu files export is declared here, extern "C", with the
 * vt__cuda_ prefix. The C side calls it only where VT_HAVE_CUDA is defined;
 * without it, src/cuda/device.c reports that the build has no CUDA and every
 * stage runs on the CPU.
 */
#ifndef VOXTRACK_CUDA_INTERNAL_H
#define VOXTRACK_CUDA_INTERNAL_H

#include <stddef.h>

#include "voxtrack/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Looks for CUDA device 0 and opens it: runtime and driver versions, the
 * device count, device 0's properties, a context, a small allocation and a
 * check that this build holds machine code or PTX the device can run.
 * Returns 1 and fills *info (kind VT_DEVICE_CUDA) when all of that works;
 * otherwise 0 with the reason in why (and what was learnt in *info).
 */
int vt__cuda_probe(vt_device_info *info, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
