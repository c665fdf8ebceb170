/*
 * voxtrack/export.h - symbol visibility and host/device markers.
 *
 * The shared library is built with hidden visibility; only declarations marked
 * VT_API are exported. VT_HD marks the small inline functions that both the CPU
 * and CUDA builds compile, so the CPU tests cover the GPU's arithmetic too.
 */
#ifndef VOXTRACK_EXPORT_H
#define VOXTRACK_EXPORT_H

#if defined(VT_BUILDING_LIBRARY) && defined(__GNUC__)
#define VT_API __attribute__((visibility("default")))
#else
#define VT_API
#endif

#if defined(__CUDACC__)
#define VT_HD __host__ __device__
#else
#define VT_HD
#endif

#endif
