/*
 * tests/test_device.c - the choice of device (voxtrack/device.h): parsing,
 * the CPU always there, CUDA taken only when a device opens, AUTO falling
 * back to the CPU with the reason, and the pipeline refusing a CUDA it
 * cannot have.
 *
 * The same tests run in every build and on every machine: where the build has
 * CUDA and a GPU opens, they check the GPU's description instead of the
 * fallback's. Which case ran is printed, so a log says what was covered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "voxtrack/device.h"
#include "voxtrack/pipeline.h"
#include "voxtrack/rig.h"

static bool gpu_opens(void)
{
    vt_device_info d;
    return vt_device_open(VT_DEVICE_AUTO, &d) == VT_OK && d.kind == VT_DEVICE_CUDA;
}

static void the_three_names_parse_and_nothing_else(void **state)
{
    (void)state;
    const char *names[] = {"auto", "cpu", "cuda"};
    for (int k = 0; k < 3; k++) {
        vt_device_kind kind = (vt_device_kind)-1;
        assert_int_equal(vt_device_parse(names[k], &kind), VT_OK);
        assert_int_equal(kind, k);
        assert_string_equal(vt_device_kind_name(kind), names[k]);
    }
    vt_device_kind kind = VT_DEVICE_CPU;
    assert_int_equal(vt_device_parse("gpu", &kind), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "'gpu'"));
    assert_int_equal(kind, VT_DEVICE_CPU);
    assert_int_equal(vt_device_parse("CUDA", &kind), VT_EINVAL);
    assert_int_equal(vt_device_parse("", &kind), VT_EINVAL);
    assert_int_equal(vt_device_parse(NULL, &kind), VT_EINVAL);
    assert_string_equal(vt_device_kind_name((vt_device_kind)9), "?");
}

static void the_cpu_always_opens(void **state)
{
    (void)state;
    vt_device_info d;
    assert_int_equal(vt_device_open(VT_DEVICE_CPU, &d), VT_OK);
    assert_int_equal(d.kind, VT_DEVICE_CPU);
    assert_int_equal(d.index, -1);
    assert_string_equal(d.name, "cpu");
    assert_string_equal(d.note, "");
    char line[512];
    assert_string_equal(vt_device_describe(&d, line, sizeof line), "cpu");
}

static void auto_takes_the_gpu_or_says_why_not(void **state)
{
    (void)state;
    vt_device_info d;
    assert_int_equal(vt_device_open(VT_DEVICE_AUTO, &d), VT_OK);
    char line[512];
    vt_device_describe(&d, line, sizeof line);
    print_message("device auto: %s\n", line);
    if (d.kind == VT_DEVICE_CUDA) {
        assert_true(vt_device_cuda_built());
        assert_int_equal(d.index, 0);
        assert_true(d.cc_major >= 8);
        assert_true(d.memory > 0 && d.multiprocessors > 0 && d.devices >= 1);
        assert_true(d.driver_version >= d.runtime_version);
        assert_string_equal(d.note, "");
        assert_int_equal(strncmp(line, "cuda 0: ", 8), 0);
    } else {
        assert_int_equal(d.kind, VT_DEVICE_CPU);
        assert_true(strlen(d.note) > 10);
        assert_int_equal(strncmp(line, "cpu (", 5), 0);
        if (!vt_device_cuda_built())
            assert_non_null(strstr(d.note, "-DVT_CUDA=ON"));
        else
            assert_true(d.runtime_version >= 12000);
    }
}

static void cuda_fails_with_the_reason_auto_gave(void **state)
{
    (void)state;
    vt_device_info a, d;
    assert_int_equal(vt_device_open(VT_DEVICE_AUTO, &a), VT_OK);
    vt_status s = vt_device_open(VT_DEVICE_CUDA, &d);
    if (a.kind == VT_DEVICE_CUDA) {
        assert_int_equal(s, VT_OK);
        assert_memory_equal(&a, &d, sizeof a);
        return;
    }
    assert_int_equal(s, VT_EUNSUPPORTED);
    assert_int_equal(d.kind, VT_DEVICE_CPU);
    assert_string_equal(d.note, "");
    const char *msg = vt_last_error();
    assert_int_equal(strncmp(msg, "device cuda: ", 13), 0);
    assert_string_equal(msg + 13, a.note);
}

static void a_bad_kind_or_no_output_is_an_error(void **state)
{
    (void)state;
    vt_device_info d;
    assert_int_equal(vt_device_open((vt_device_kind)3, &d), VT_EINVAL);
    assert_int_equal(d.kind, VT_DEVICE_CPU);
    assert_int_equal(vt_device_open(VT_DEVICE_CPU, NULL), VT_EINVAL);
    char line[8];
    assert_string_equal(vt_device_describe(NULL, line, sizeof line), "?");
}

static void a_long_description_is_cut_not_overrun(void **state)
{
    (void)state;
    vt_device_info d;
    memset(&d, 0, sizeof d);
    d.kind = VT_DEVICE_CPU;
    memset(d.note, 'x', sizeof d.note - 1);
    char line[32];
    memset(line, 'y', sizeof line);
    vt_device_describe(&d, line, 16);
    assert_int_equal(strlen(line), 15);
    assert_int_equal(line[16], 'y');
}

/* A one-camera rig, enough for the pipeline to check its options. */
static vt_rig one_camera(void)
{
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "c0");
    c.bits = 8;
    c.platform = -1;
    c.cam.width = 64;
    c.cam.height = 48;
    c.cam.fx = c.cam.fy = 60.0;
    c.cam.cx = 32.0;
    c.cam.cy = 24.0;
    c.cam.q.w = 1.0;
    assert_int_equal(vt_camera_init(&c.cam), VT_OK);
    assert_int_equal(vt_rig_add(&rig, &c), VT_OK);
    return rig;
}

static void the_pipeline_takes_cuda_only_when_it_opens(void **state)
{
    (void)state;
    vt_rig rig = one_camera();
    vt_pipeline_opts o = vt_pipeline_opts_default();
    assert_int_equal(o.device, VT_DEVICE_AUTO);
    vt_pipeline *p = NULL;
    o.device = (vt_device_kind)5;
    assert_int_equal(vt_pipeline_new(&o, &rig, &p), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "device"));
    o.device = VT_DEVICE_CPU;
    assert_int_equal(vt_pipeline_new(&o, &rig, &p), VT_OK);
    vt_pipeline_free(p);
    p = NULL;
    o.device = VT_DEVICE_CUDA;
    vt_status s = vt_pipeline_new(&o, &rig, &p);
    if (gpu_opens()) {
        assert_int_equal(s, VT_OK);
        vt_pipeline_free(p);
    } else {
        assert_int_equal(s, VT_EUNSUPPORTED);
        assert_null(p);
        assert_non_null(strstr(vt_last_error(), "pipeline: device cuda: "));
    }
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_three_names_parse_and_nothing_else),
        cmocka_unit_test(the_cpu_always_opens),
        cmocka_unit_test(auto_takes_the_gpu_or_says_why_not),
        cmocka_unit_test(cuda_fails_with_the_reason_auto_gave),
        cmocka_unit_test(a_bad_kind_or_no_output_is_an_error),
        cmocka_unit_test(a_long_description_is_cut_not_overrun),
        cmocka_unit_test(the_pipeline_takes_cuda_only_when_it_opens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
