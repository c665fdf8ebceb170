/*
 * tests/test_rig_pose.c - moving cameras in rig.json: platforms, landmarks
 * and each camera's pose source, read, written and refused with messages
 * that name the field (src/camera/rig_pose.c, docs/FORMATS.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define VT_TEST_NAME "test_rig_pose"
#include "voxtrack/rig.h"
#include "vt_test.h"
#include "vt_test_tmp.h"

#define CAM(id, extra)                                                                             \
    "{\"id\": \"" id "\", \"pair\": 0, \"modality\": \"mono\", \"width\": 64, \"height\": 48, "    \
    "\"fx\": 50, \"fy\": 50, \"cx\": 31.5, \"cy\": 23.5, \"position\": [0, 0, 2], "                \
    "\"quaternion\": [1, 0, 0, 0], \"raw\": \"m.raw\"" extra "}"

#define PLATFORM                                                                                   \
    "\"platforms\": [{\"id\": \"p0\", \"imu\": \"imu_0.csv\", \"gps\": \"gps_0.csv\", "            \
    "\"heading\": \"heading_0.csv\", \"rtk\": true, \"heading_sd_deg\": 0.1, "                     \
    "\"gps_lever_arm\": [0.1, -0.2, 0.3], \"imu_noise\": {\"gyro\": 4e-5}, "                       \
    "\"initial\": {\"heading_sd_deg\": 3}, \"landmarks\": true}], "                                \
    "\"landmarks\": [{\"id\": \"b0\", \"position\": [100, 200, 30], \"sd\": 0.05}], "

static vt_status load_text(const char *text, vt_rig *rig)
{
    const char *path = vt_test_tmp_path("rig.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return vt_rig_load(path, rig);
}

static void refused(const char *text, const char *want)
{
    vt_rig rig;
    assert_int_equal(load_text(text, &rig), VT_EPARSE);
    if (!strstr(vt_last_error(), want)) {
        print_error("message '%s' lacks '%s'\n", vt_last_error(), want);
        fail();
    }
}

static void rig_reads_platforms_landmarks_and_pose_sources(void **state)
{
    (void)state;
    vt_rig rig;
    vt_status st = load_text(
        "{" PLATFORM "\"cameras\": [" CAM(
            "m0",
            ", \"pose\": {\"platform\": \"p0\", \"lever_arm\": [0.5, 0, "
            "0], \"mount\": [0, 1, 0, 0]}") ", " CAM("m1",
                                                     ", \"pose\": {\"log\": \"poses.csv\", "
                                                     "\"max_gap\": 0.05}") ", " CAM("m2", "") "]}",
        &rig);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    assert_int_equal(rig.nplatforms, 1);
    const vt_rig_platform *p = &rig.platforms[0];
    assert_string_equal(p->id, "p0");
    assert_string_equal(p->imu, "imu_0.csv");
    assert_string_equal(p->heading, "heading_0.csv");
    assert_near(p->opts.gps_sd_h, VT_POSE_RTK_SD_H, 0.0);
    assert_near(p->opts.gps_sd_v, VT_POSE_RTK_SD_V, 0.0);
    assert_near(p->opts.heading_sd, vt_deg2rad(0.1), 1e-15);
    assert_near(p->opts.init_heading_sd, vt_deg2rad(3), 1e-15);
    assert_near(p->opts.filter.gyro_noise, 4e-5, 0.0);
    assert_near(p->opts.filter.accel_noise, vt_eskf_opts_default().accel_noise, 0.0);
    assert_near(p->opts.filter.gps_lever_arm.y, -0.2, 0.0);
    assert_true(p->landmarks);
    assert_int_equal(rig.nlandmarks, 1);
    assert_near(rig.landmarks[0].position.y, 200, 0.0);
    assert_near(rig.landmarks[0].sd, 0.05, 0.0);
    assert_int_equal(rig.cameras[0].pose, VT_POSE_PLATFORM);
    assert_int_equal(rig.cameras[0].platform, 0);
    assert_near(rig.cameras[0].mount.lever_arm.x, 0.5, 0.0);
    assert_near(rig.cameras[0].mount.q.x, 1.0, 0.0);
    assert_int_equal(rig.cameras[1].pose, VT_POSE_LOG);
    assert_string_equal(rig.cameras[1].pose_log, "poses.csv");
    assert_near(rig.cameras[1].pose_max_gap, 0.05, 0.0);
    assert_int_equal(rig.cameras[2].pose, VT_POSE_FIXED);
    assert_true(vt_rig_has_moving_cameras(&rig));

    /* What is saved reads back the same. */
    const char *path = vt_test_tmp_path("saved.json");
    assert_int_equal(vt_rig_save(&rig, path), VT_OK);
    vt_rig back;
    st = vt_rig_load(path, &back);
    if (st)
        print_error("%s\n", vt_last_error());
    assert_int_equal(st, VT_OK);
    assert_int_equal(back.nplatforms, 1);
    const vt_pose_platform_opts *a = &back.platforms[0].opts, *b = &rig.platforms[0].opts;
    /* Angles go through degrees in the file: equal to rounding. */
    assert_near(a->heading_sd, b->heading_sd, 1e-15);
    assert_near(a->init_heading_sd, b->init_heading_sd, 1e-15);
    assert_near(a->init_tilt_sd, b->init_tilt_sd, 1e-15);
    assert_near(a->gps_sd_h, b->gps_sd_h, 0.0);
    assert_near(a->gps_sd_v, b->gps_sd_v, 0.0);
    assert_near(a->filter.gyro_noise, b->filter.gyro_noise, 0.0);
    assert_near(a->filter.accel_walk, b->filter.accel_walk, 0.0);
    assert_near(a->filter.gps_lever_arm.z, b->filter.gps_lever_arm.z, 0.0);
    assert_near(a->init_gyro_bias_sd, b->init_gyro_bias_sd, 0.0);
    assert_near(a->level_seconds, b->level_seconds, 0.0);
    assert_true(back.platforms[0].landmarks);
    assert_string_equal(back.platforms[0].gps, "gps_0.csv");
    assert_int_equal(back.nlandmarks, 1);
    assert_string_equal(back.landmarks[0].id, "b0");
    assert_int_equal(back.cameras[0].pose, VT_POSE_PLATFORM);
    assert_near(back.cameras[0].mount.q.x, 1.0, 0.0);
    assert_string_equal(back.cameras[1].pose_log, "poses.csv");
    assert_int_equal(back.cameras[2].pose, VT_POSE_FIXED);
    vt_rig_free(&back);
    vt_rig_free(&rig);
}

static void rig_refuses_bad_pose_sources_naming_the_field(void **state)
{
    (void)state;
    refused("{\"cameras\": [" CAM("m0", ", \"pose\": {\"platform\": \"p9\"}") "]}",
            "camera 0 ('m0'): field 'pose.platform' names 'p9', which is not in 'platforms'");
    refused("{" PLATFORM "\"cameras\": [" CAM("m0", ", \"pose\": {\"platform\": \"p0\", \"log\": "
                                                    "\"x.csv\"}") "]}",
            "field 'pose' needs exactly one of 'platform' and 'log'");
    refused("{" PLATFORM "\"cameras\": [" CAM("m0", ", \"pose\": {\"platform\": \"p0\", "
                                                    "\"mount\": [2, 0, 0, 0]}") "]}",
            "field 'pose.mount' has norm 2");
    refused("{\"cameras\": [" CAM("m0", ", \"pose\": {\"log\": \"x.csv\", \"max_gap\": 0}") "]}",
            "field 'pose.max_gap' must be > 0");
    refused("{\"cameras\": [" CAM("m0", ", \"pose\": {\"log\": \"x.csv\", \"speed\": 1}") "]}",
            "unknown field 'pose.speed'");
    refused(
        "{\"platforms\": [{\"id\": \"p0\", \"gps\": \"g.csv\"}], \"cameras\": [" CAM("m0", "") "]}",
        "field 'platforms[0].imu' is missing");
    refused(
        "{\"platforms\": [{\"id\": \"p0\", \"imu\": \"i.csv\", \"gps\": \"g.csv\", \"rtk\": 1}], "
        "\"cameras\": [" CAM("m0", "") "]}",
        "field 'platforms[0].rtk' must be true or false");
    refused("{\"platforms\": [{\"id\": \"p0\", \"imu\": \"i.csv\", \"gps\": \"g.csv\"}, {\"id\": "
            "\"p0\", \"imu\": \"i.csv\", \"gps\": \"g.csv\"}], \"cameras\": [" CAM("m0", "") "]}",
            "field 'platforms[1].id' 'p0' is already used by another platform");
    refused("{\"platforms\": [{\"id\": \"p0\", \"imu\": \"i.csv\", \"gps\": \"g.csv\", "
            "\"gps_sd\": [0, 1]}], \"cameras\": [" CAM("m0", "") "]}",
            "field 'platforms[0].gps_sd' must be two standard deviations > 0");
    refused("{\"platforms\": [{\"id\": \"p0\", \"imu\": \"i.csv\", \"gps\": \"g.csv\", "
            "\"imu_noise\": {\"gyro\": -1}}], \"cameras\": [" CAM("m0", "") "]}",
            "field 'platforms[0].imu_noise.gyro' must be > 0");
    refused("{\"landmarks\": [{\"id\": \"b0\", \"position\": [1, 2]}], \"cameras\": [" CAM("m0",
                                                                                           "") "]}",
            "field 'landmarks[0].position' must be an array of 3 numbers");
}

static void rig_adds_platforms_in_memory(void **state)
{
    (void)state;
    vt_rig rig;
    vt_rig_init(&rig);
    vt_rig_platform p = {.id = "p0", .imu = "i.csv", .gps = "g.csv"};
    p.opts = vt_pose_platform_opts_default();
    assert_int_equal(vt_rig_add_platform(&rig, &p), VT_OK);
    assert_int_equal(vt_rig_add_platform(&rig, &p), VT_EINVAL);
    assert_int_equal(vt_rig_find_platform(&rig, "p0"), 0);
    assert_int_equal(vt_rig_find_platform(&rig, "p1"), -1);
    vt_rig_landmark l = {.id = "b0", .position = {1, 2, 3}};
    assert_int_equal(vt_rig_add_landmark(&rig, &l), VT_OK);
    assert_int_equal(vt_rig_add_landmark(&rig, &l), VT_EINVAL);
    assert_false(vt_rig_has_moving_cameras(&rig));
    vt_rig_free(&rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rig_reads_platforms_landmarks_and_pose_sources),
        cmocka_unit_test(rig_refuses_bad_pose_sources_naming_the_field),
        cmocka_unit_test(rig_adds_platforms_in_memory),
    };
    return cmocka_run_group_tests(tests, vt_test_make_tmpdir, vt_test_remove_tmpdir);
}
