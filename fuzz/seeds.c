/*
 * fuzz/seeds.c - writes a starting corpus for fuzz/fuzz_wire.c: one message
 * of each type made by the encoder, each prefixed with its type byte, into
 * the folder given as argv[1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/wire.h"

static void save(const char *dir, const char *name, vt_msg_type t, const uint8_t *m, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc((int)t, f);
    fwrite(m, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    vt_track tracks[3];
    vt_target_class classes[3] = {VT_CLASS_DRONE, VT_CLASS_BIRD, VT_CLASS_DRONE};
    float flicker[3] = {0.5f, 3.0f, 0.1f};
    vt_detection dets[2];
    vt_camera_result cams[2] = {{true, 0.001, 10, 2, 2}, {false, 0, 0, 0, 0}};
    memset(tracks, 0, sizeof tracks);
    memset(dets, 0, sizeof dets);
    for (int i = 0; i < 3; i++) {
        tracks[i].id = (uint64_t)i + 1;
        tracks[i].status = (vt_track_status)i;
        tracks[i].pos = (vt_vec3){10.0 * i, -5.0, 100.0};
        tracks[i].cov[0] = tracks[i].cov[3] = tracks[i].cov[5] = 0.01;
        tracks[i].cams = 4;
        tracks[i].hits = 10;
    }
    for (int i = 0; i < 2; i++) {
        dets[i].pos = (vt_vec3){1, 2, 3};
        dets[i].cameras = 0xF;
        dets[i].ncameras = 4;
    }
    vt_pipeline_result r = {.frame = 7, .t = 0.25, .tracks = tracks, .classes = classes,
                            .flicker = flicker, .ntracks = 3, .detections = dets,
                            .ndetections = 2, .cameras = cams, .ncameras = 2};
    vt_wire_encoder *e;
    if (vt_wire_encoder_new(NULL, &e) != VT_OK)
        return 1;
    const uint8_t *m;
    size_t n;
    if (vt_wire_encode_tracks(e, &r, &m, &n) == VT_OK)
        save(argv[1], "tracks", VT_MSG_TRACK_BATCH, m, n);
    if (vt_wire_encode_detections(e, &r, &m, &n) == VT_OK)
        save(argv[1], "detections", VT_MSG_DETECTION_BATCH, m, n);
    if (vt_wire_encode_stats(e, &r, &m, &n) == VT_OK)
        save(argv[1], "stats", VT_MSG_FRAME_SET_STATS, m, n);
    vt_wire_health h = {.uptime_s = 1, .frame_sets = 30, .cameras_total = 2};
    if (vt_wire_encode_health(e, &h, &m, &n) == VT_OK)
        save(argv[1], "health", VT_MSG_HEALTH, m, n);
    static vt_wire_voxel_block blocks[2];
    blocks[0].votes[3] = 65536;
    blocks[1].bx = -1;
    blocks[1].votes[100] = 131072;
    vt_wire_voxel_info info = {.frame = 7, .t = 0.25, .voxel_size = 0.5};
    if (vt_wire_encode_voxel_chunk(e, &info, blocks, 2, &m, &n) == VT_OK)
        save(argv[1], "voxels", VT_MSG_VOXEL_CHUNK, m, n);
    vt_wire_encoder_free(e);
    return 0;
}
