/*
 * src/cuda/device.c - the choice between the CPU and a CUDA GPU (see
 * voxtrack/device.h).
 *
 * The GPU is probed once per process (pthread_once): opening a CUDA context
 * costs a few hundred milliseconds, and every caller wants the same answer.
 * Without -DVT_CUDA=ON there is nothing to probe and the answer is that this
 * build has no CUDA.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "cuda/cuda_internal.h"
#include "voxtrack/device.h"

static const char *const kind_names[] = {"auto", "cpu", "cuda"};

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static vt_device_info probed; /* the GPU's description, or what was learnt before it failed */
static int probed_ok;
static char probed_why[256];

static void probe(void)
{
    memset(&probed, 0, sizeof probed);
    probed.kind = VT_DEVICE_CPU;
    probed.index = -1;
#ifdef VT_HAVE_CUDA
    probed_ok = vt__cuda_probe(&probed, probed_why, sizeof probed_why);
#else
    probed_ok = 0;
    snprintf(probed_why, sizeof probed_why,
             "this build has no CUDA: configure with -DVT_CUDA=ON where nvcc is installed");
#endif
}

bool vt_device_cuda_built(void)
{
#ifdef VT_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

vt_status vt_device_parse(const char *text, vt_device_kind *out)
{
    for (int k = 0; k < 3; k++)
        if (text && strcmp(text, kind_names[k]) == 0) {
            if (out)
                *out = (vt_device_kind)k;
            return VT_OK;
        }
    return vt__error(VT_EINVAL, "device '%s': expected auto, cpu or cuda", text ? text : "");
}

const char *vt_device_kind_name(vt_device_kind kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}

/* The CPU, with what the probe learnt of CUDA (versions, device count) kept for reports. */
static void describe_cpu(vt_device_info *out, const char *note)
{
    memset(out, 0, sizeof *out);
    out->kind = VT_DEVICE_CPU;
    out->index = -1;
    snprintf(out->name, sizeof out->name, "cpu");
    out->driver_version = probed.driver_version;
    out->runtime_version = probed.runtime_version;
    out->devices = probed.devices;
    if (note)
        snprintf(out->note, sizeof out->note, "%s", note);
}

vt_status vt_device_open(vt_device_kind want, vt_device_info *out)
{
    if (!out)
        return vt__error(VT_EINVAL, "vt_device_open: out is NULL");
    if ((unsigned)want > VT_DEVICE_CUDA) {
        describe_cpu(out, NULL);
        return vt__error(VT_EINVAL, "vt_device_open: device kind %d is not auto, cpu or cuda",
                         (int)want);
    }
    if (want == VT_DEVICE_CPU) {
        describe_cpu(out, NULL);
        return VT_OK;
    }
    pthread_once(&probe_once, probe);
    if (probed_ok) {
        *out = probed;
        return VT_OK;
    }
    describe_cpu(out, want == VT_DEVICE_AUTO ? probed_why : NULL);
    if (want == VT_DEVICE_AUTO)
        return VT_OK;
    return vt__error(VT_EUNSUPPORTED, "device cuda: %s", probed_why);
}

const char *vt_device_describe(const vt_device_info *d, char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    if (!d) {
        snprintf(buf, size, "?");
        return buf;
    }
    if (d->kind == VT_DEVICE_CUDA)
        snprintf(buf, size, "cuda %d: %s (sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d)",
                 d->index, d->name, d->cc_major, d->cc_minor, d->multiprocessors,
                 (double)d->memory / (1024.0 * 1024.0 * 1024.0), d->driver_version / 1000,
                 d->driver_version % 1000 / 10, d->runtime_version / 1000,
                 d->runtime_version % 1000 / 10);
    else if (d->note[0])
        snprintf(buf, size, "cpu (%s)", d->note);
    else
        snprintf(buf, size, "cpu");
    return buf;
}
