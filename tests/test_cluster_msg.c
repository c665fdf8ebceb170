/*
 * tests/test_cluster_msg.c - the messages of the distributed mode
 * (src/cluster/msg.c): each kind decodes back to the same bits it was made
 * of (NaN and -0 included); a flipped bit anywhere is caught (by the CRC in
 * the payload, by the header checks in the header); every truncation and a
 * trailing byte are errors; a payload with a valid CRC but impossible
 * contents (counts, cameras, ray ranges) is refused with its field named;
 * one kind is never taken for another. No server is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster_internal.h"
#include "core/bytes.h"
#include "vt_test.h"

static vt_ray test_ray(int camera, int i)
{
    vt_ray r;
    memset(&r, 0, sizeof r);
    r.origin = (vt_vec3){100.0 + camera, -50.25, 3.0};
    r.dir = (vt_vec3){vt_test_uniform01() - 0.5, vt_test_uniform01() - 0.5, 0.7071067811865476};
    r.weight = (float)(1 + i);
    r.sigma = 1e-4f * (float)(i + 1);
    r.camera = (uint16_t)camera;
    r.pair = (uint16_t)(camera / 2);
    r.blob = (uint32_t)i;
    return r;
}

static void rays_round_trip(void **state)
{
    (void)state;
    vt_test_seed(7);
    vt_ray rays[5];
    int32_t area[5];
    for (int i = 0; i < 5; i++) {
        rays[i] = test_ray(2, i);
        area[i] = 3 * i + 1;
    }
    rays[4].dir.x = -0.0; /* the sign of a zero crosses too */
    vt__cl_rays m = {.set = 41, .frame = 1041, .t = 34.7, .camera = 2, .ncams = 4,
                     .sync_error = -1.25e-3, .seconds = 0.002};
    m.cam = (vt_camera_rays){.present = true, .changes = 900, .blobs = 5, .noise = 1.5f,
                             .rays = rays, .area = area, .nrays = 5};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(vt__cl_rays_encode(&m, &buf, &len), VT_OK);
    int kind = 0;
    assert_int_equal(vt__cl_kind(buf, len, &kind), VT_OK);
    assert_int_equal(kind, VT__CL_RAYS);
    vt__cl_rays d = {0};
    assert_int_equal(vt__cl_rays_decode(buf, len, &d), VT_OK);
    assert_int_equal(d.set, 41);
    assert_int_equal(d.frame, 1041);
    assert_true(d.t == 34.7 && d.sync_error == -1.25e-3 && d.seconds == 0.002);
    assert_int_equal(d.camera, 2);
    assert_int_equal(d.ncams, 4);
    assert_true(d.cam.present);
    assert_int_equal(d.cam.changes, 900);
    assert_int_equal(d.cam.blobs, 5);
    assert_true(d.cam.noise == 1.5f);
    assert_int_equal(d.cam.nrays, 5);
    assert_memory_equal(d.cam.rays, rays, sizeof rays);
    assert_memory_equal(d.cam.area, area, sizeof area);
    free(buf);
    vt__cl_rays_free(&d);
}

/* A message of camera 1 with n rays, encoded. */
static uint8_t *rays_message(size_t n, size_t *len)
{
    vt_ray rays[8];
    int32_t area[8] = {0};
    for (size_t i = 0; i < n; i++)
        rays[i] = test_ray(1, (int)i);
    vt__cl_rays m = {.set = 3, .frame = 3, .t = 0.1, .camera = 1, .ncams = 3};
    m.cam = (vt_camera_rays){.present = true, .rays = rays, .area = area, .nrays = n};
    uint8_t *buf = NULL;
    assert_int_equal(vt__cl_rays_encode(&m, &buf, len), VT_OK);
    return buf;
}

static void every_flipped_bit_is_caught(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = rays_message(3, &len);
    vt__cl_rays d = {0};
    for (size_t i = 0; i < len; i++)
        for (int b = 0; b < 8; b++) {
            buf[i] ^= (uint8_t)(1u << b);
            vt_status s = vt__cl_rays_decode(buf, len, &d);
            if (s != VT_EFORMAT)
                fail_msg("byte %zu bit %d flipped: status %d", i, b, (int)s);
            buf[i] ^= (uint8_t)(1u << b);
        }
    assert_int_equal(vt__cl_rays_decode(buf, len, &d), VT_OK);
    free(buf);
    vt__cl_rays_free(&d);
}

static void truncated_and_padded_messages_are_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = rays_message(2, &len);
    vt__cl_rays d = {0};
    for (size_t n = 0; n < len; n++)
        assert_int_equal(vt__cl_rays_decode(buf, n, &d), VT_EFORMAT);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(vt__cl_rays_decode(longer, len + 1, &d), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "payload bytes"));
    assert_int_equal(vt__cl_rays_decode(NULL, 0, &d), VT_EFORMAT);
    free(longer);
    free(buf);
    vt__cl_rays_free(&d);
}

/* Rewrites the CRC after editing a payload: what a sender with a bug would send. */
static void reseal(uint8_t *buf, size_t len)
{
    vt__put_u32(buf + 12, vt__crc32(0, buf + VT__CL_HEADER, len - VT__CL_HEADER));
}

static void impossible_contents_are_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = rays_message(2, &len);
    vt__cl_rays d = {0};
    /* Payload: set 8, frame 8, t 8, camera 2, ncams 2, present 1, ...: the camera at 24. */
    vt__put_u16(buf + VT__CL_HEADER + 24, 5); /* camera 5 of 3 */
    reseal(buf, len);
    assert_int_equal(vt__cl_rays_decode(buf, len, &d), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "camera 5 of 3"));
    vt__put_u16(buf + VT__CL_HEADER + 24, 2); /* a camera-2 message carrying camera 1's rays */
    reseal(buf, len);
    assert_int_equal(vt__cl_rays_decode(buf, len, &d), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "ray 0 is camera 1's"));
    free(buf);
    vt__cl_rays_free(&d);

    /* A detection whose rays lie past the list. */
    vt_detection det;
    memset(&det, 0, sizeof det);
    det.nrays = 3;
    det.first_ray = 1;
    vt_detection_ray dr[2] = {{0, 1.0f, 0.5f, 4, 9.0f}, {1, 2.0f, 0.5f, 4, 9.5f}};
    vt__cl_dets m = {.set = 1, .t = 0.5, .ncams = 2, .dets = &det, .ndets = 1, .rays = dr,
                     .nrays = 2};
    assert_int_equal(vt__cl_dets_encode(&m, &buf, &len), VT_OK);
    vt__cl_dets dd = {0};
    assert_int_equal(vt__cl_dets_decode(buf, len, &dd), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "outside the 2 rays"));
    free(buf);
    vt__cl_dets_free(&dd);
}

static void detections_work_and_end_round_trip(void **state)
{
    (void)state;
    vt_detection det[2];
    memset(det, 0, sizeof det);
    det[0].pos = (vt_vec3){1.5, -2.25, 300.125};
    for (int k = 0; k < 6; k++)
        det[0].cov[k] = 0.01 * (k + 1);
    det[0].residual = 0.3;
    det[0].weight = 1234.5f;
    det[0].cameras = 0x7;
    det[0].ncameras = 3;
    det[0].nthermal = 1;
    det[0].nrays = 3;
    det[0].first_ray = 0;
    det[1] = det[0];
    det[1].pos.x = NAN;
    det[1].nrays = 1;
    det[1].first_ray = 3;
    vt_detection_ray dr[4] = {{0, 1.f, .5f, 4, 8.f}, {1, 2.f, .5f, 5, 9.f},
                              {2, 3.f, .25f, 6, 10.f}, {2, 4.f, .25f, 7, 11.f}};
    vt__cl_dets m = {.set = 9, .frame = 19, .t = 0.6, .rays_cast = 44, .clusters = 3,
                     .seconds = {0.001, 0.002, 0.003}, .deliveries = 2, .ncams = 3, .dets = det, .ndets = 2,
                     .rays = dr, .nrays = 4};
    m.cams[1] = (vt__cl_camstat){true, 2e-4, 100, 4, 4};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(vt__cl_dets_encode(&m, &buf, &len), VT_OK);
    vt__cl_dets d = {0};
    assert_int_equal(vt__cl_dets_decode(buf, len, &d), VT_OK);
    assert_int_equal(d.set, 9);
    assert_int_equal(d.frame, 19);
    assert_int_equal(d.ndets, 2);
    assert_int_equal(d.nrays, 4);
    assert_int_equal(d.rays_cast, 44);
    assert_int_equal(d.clusters, 3);
    assert_int_equal(d.deliveries, 2);
    for (int i = 0; i < 2; i++) {
        const vt_detection *a = &d.dets[i], *b = &det[i];
        assert_memory_equal(&a->pos, &b->pos, sizeof a->pos); /* NaN too, by its bits */
        assert_memory_equal(a->cov, b->cov, sizeof a->cov);
        assert_true(a->residual == b->residual && a->weight == b->weight);
        assert_true(a->cameras == b->cameras && a->ncameras == b->ncameras);
        assert_true(a->nthermal == b->nthermal && a->nrays == b->nrays);
        assert_int_equal(a->first_ray, b->first_ray);
    }
    assert_true(isnan(d.dets[1].pos.x));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(d.rays[i].camera, dr[i].camera);
        assert_true(d.rays[i].weight == dr[i].weight && d.rays[i].noise == dr[i].noise);
        assert_int_equal(d.rays[i].area, dr[i].area);
    }
    assert_true(d.cams[1].present && d.cams[1].changes == 100 && d.cams[1].sync_error == 2e-4);
    assert_false(d.cams[0].present);
    /* Not taken for another kind. */
    vt__cl_rays r = {0};
    assert_int_equal(vt__cl_rays_decode(buf, len, &r), VT_EFORMAT);
    assert_non_null(strstr(vt_last_error(), "a detections message where a rays message"));
    free(buf);
    vt__cl_dets_free(&d);

    vt__cl_work w = {.set = 5, .frame = 6, .t = 0.2, .ncams = 3, .seq = {10, 0, 12}};
    assert_int_equal(vt__cl_work_encode(&w, &buf, &len), VT_OK);
    vt__cl_work wd;
    assert_int_equal(vt__cl_work_decode(buf, len, &wd), VT_OK);
    assert_int_equal(wd.set, 5);
    assert_int_equal(wd.ncams, 3);
    assert_int_equal(wd.seq[0], 10);
    assert_int_equal(wd.seq[1], 0);
    assert_int_equal(wd.seq[2], 12);
    free(buf);

    vt__cl_end e = {.nsets = 240, .camera = -1}, ed;
    assert_int_equal(vt__cl_end_encode(&e, &buf, &len), VT_OK);
    assert_int_equal(vt__cl_end_decode(buf, len, &ed), VT_OK);
    assert_int_equal(ed.nsets, 240);
    assert_int_equal(ed.camera, -1);
    free(buf);
}

static void garbage_is_refused(void **state)
{
    (void)state;
    vt_test_seed(11);
    uint8_t junk[256];
    vt__cl_rays r = {0};
    vt__cl_dets d = {0};
    vt__cl_work w;
    vt__cl_end e;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(vt_test_uniform01() * sizeof junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)(vt_test_uniform01() * 256);
        if (round % 2) /* a valid header now and then: the CRC must catch it */
            memcpy(junk, "VTC1\x01\0\0\0", n < 8 ? n : 8);
        assert_int_equal(vt__cl_rays_decode(junk, n, &r), VT_EFORMAT);
        assert_int_equal(vt__cl_dets_decode(junk, n, &d), VT_EFORMAT);
        assert_int_equal(vt__cl_work_decode(junk, n, &w), VT_EFORMAT);
        assert_int_equal(vt__cl_end_decode(junk, n, &e), VT_EFORMAT);
    }
    vt__cl_rays_free(&r);
    vt__cl_dets_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rays_round_trip),
        cmocka_unit_test(every_flipped_bit_is_caught),
        cmocka_unit_test(truncated_and_padded_messages_are_refused),
        cmocka_unit_test(impossible_contents_are_refused),
        cmocka_unit_test(detections_work_and_end_round_trip),
        cmocka_unit_test(garbage_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
