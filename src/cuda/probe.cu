/*
 * src/cuda/probe.cu - finds and opens CUDA device 0 (see cuda_internal.h).
 *
 * Each failure is put in words a user can act on: no driver installed, a
 * driver older than the runtime this build links, no device, a device too
 * old for the machine code and PTX in this build (sm_80, sm_90, compute_90).
 * The runtime is linked statically (libcudart_static), so the library needs
 * no CUDA files at run time but the driver (libcuda.so.1), which the runtime
 * loads itself and whose absence it reports as an error, not a crash.
 */
#include <stdio.h>
#include <string.h>

#include <cuda_runtime.h>

#include "cuda/cuda_internal.h"

/* A kernel that does nothing: asking for its attributes checks the build's code fits the device. */
__global__ void vt__cuda_probe_kernel(int *p)
{
    if (p)
        *p = 1;
}

static int fail(char *why, size_t n, const char *what, cudaError_t e)
{
    snprintf(why, n, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return 0;
}

extern "C" int vt__cuda_probe(vt_device_info *info, char *why, size_t why_size)
{
    int rt = 0, drv = 0, count = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    info->runtime_version = rt;
    info->driver_version = drv;
    if (drv == 0) {
        snprintf(why, why_size, "no CUDA driver: libcuda.so.1 is not installed or not loadable");
        return 0;
    }
    if (drv < rt) {
        snprintf(why, why_size,
                 "the CUDA driver supports CUDA %d.%d, older than this build's runtime %d.%d",
                 drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
        return 0;
    }
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        return fail(why, why_size, "no CUDA device", e);
    info->devices = count;
    if (count == 0) {
        snprintf(why, why_size, "no CUDA device: the driver found none");
        return 0;
    }
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, 0)) != cudaSuccess)
        return fail(why, why_size, "CUDA device 0: cannot read its properties", e);
    snprintf(info->name, sizeof info->name, "%s", p.name);
    info->cc_major = p.major;
    info->cc_minor = p.minor;
    info->multiprocessors = p.multiProcessorCount;
    info->memory = p.totalGlobalMem;
    if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaFree(0)) != cudaSuccess)
        return fail(why, why_size, "CUDA device 0: cannot create a context", e);
    cudaFuncAttributes fa;
    if ((e = cudaFuncGetAttributes(&fa, vt__cuda_probe_kernel)) != cudaSuccess) {
        char what[384];
        snprintf(what, sizeof what,
                 "CUDA device 0 (%s, sm_%d%d): this build has no code it can run (it has "
                 "sm_80, sm_90 and compute_90 PTX)",
                 p.name, p.major, p.minor);
        return fail(why, why_size, what, e);
    }
    int *probe = NULL;
    if ((e = cudaMalloc(&probe, sizeof *probe)) != cudaSuccess)
        return fail(why, why_size, "CUDA device 0: cannot allocate memory", e);
    vt__cuda_probe_kernel<<<1, 1>>>(probe);
    e = cudaDeviceSynchronize();
    cudaFree(probe);
    if (e != cudaSuccess)
        return fail(why, why_size, "CUDA device 0: a first kernel failed", e);
    info->kind = VT_DEVICE_CUDA;
    info->index = 0;
    return 1;
}
