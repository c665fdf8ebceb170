/*
 * fuzz/seeds.c - writes a starting corpus for fuzz/fuzz_wire.c: one message
 * of each type made by the encoder, each prefixed with its type byte, into
 * the folder given as argv[1]; and, with argv[2], the starting corpus of
 * fuzz/fuzz_transport.c there: the file log a sender writes (plain and
 * LZ4), the same bytes as a TCP stream, its frames as UDP datagrams and as
 * records of a shm ring, each prefixed as fuzz_transport.c reads them.
 * Made from the encoder and the sender, the seeds follow the formats when
 * they change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtrack/transport.h"
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

static void save_bytes(const char *dir, const char *name, uint8_t mode, const uint8_t *m, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc(mode, f);
    fwrite(m, 1, n, f);
    fclose(f);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 16];
    if (!f) {
        perror(path);
        exit(1);
    }
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Two messages sent to a file log (lz4: "?lz4=1"), then read back as one log, as a TCP
   stream, as UDP datagrams and as shm records (docs/TRANSPORTS.md). */
static void transport_seeds(const char *dir, const uint8_t *m1, size_t n1, const uint8_t *m2,
                            size_t n2, const char *lz4, const char *tag)
{
    char url[4200], path[4100], name[64];
    snprintf(path, sizeof path, "%s/log-%s.vxt", dir, tag);
    snprintf(url, sizeof url, "file://%s%s", path, lz4);
    vt_sender *snd;
    if (vt_sender_open(url, &snd) != VT_OK || vt_sender_send(snd, VT_MSG_TRACK_BATCH, m1, n1) ||
        vt_sender_send(snd, VT_MSG_HEALTH, m2, n2)) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", url, vt_last_error());
        exit(1);
    }
    vt_sender_free(snd);
    size_t n;
    const uint8_t *log = slurp(path, &n);
    remove(path);
    snprintf(name, sizeof name, "file-%s", tag);
    save_bytes(dir, name, 0, log, n);
    snprintf(name, sizeof name, "tcp-%s", tag);
    save_bytes(dir, name, 2, log, n);
    /* UDP: each record's frame (header + message) is one datagram, after a 2-byte length. */
    static uint8_t dg[1 << 16], ring[6 + 4096];
    size_t nd = 0, nr = 6;
    uint64_t seq = 0;
    for (size_t at = 0; at + 4 <= n;) {
        size_t len = le32(log + at);
        const uint8_t *fr = log + at + 4;
        if (at + 4 + len > n || len < 40)
            break;
        dg[nd++] = (uint8_t)len;
        dg[nd++] = (uint8_t)(len >> 8);
        memcpy(dg + nd, fr, len);
        nd += len;
        /* shm: a 16-byte record header (length, type, flags, sequence) and the message,
           padded to 8 bytes. */
        size_t msg = len - 40, rec = (16 + msg + 7) & ~(size_t)7;
        if (nr + rec <= sizeof ring) {
            uint8_t *h = ring + nr;
            memset(h, 0, rec);
            h[0] = (uint8_t)msg;
            h[1] = (uint8_t)(msg >> 8);
            h[4] = fr[5];
            h[5] = fr[4] & 0xF0;
            memcpy(h + 8, &seq, 8);
            memcpy(h + 16, fr + 40, msg);
            nr += rec;
        }
        seq++;
        at += 4 + len;
    }
    snprintf(name, sizeof name, "udp-%s", tag);
    save_bytes(dir, name, 1, dg, nd);
    /* The producer's claim, write and last positions, a ring ahead of where the reader
       attached (fuzz_transport.c): all of the records, the last one starting at 0. */
    uint16_t w = (uint16_t)(4096 + nr - 6);
    ring[0] = ring[2] = (uint8_t)w;
    ring[1] = ring[3] = (uint8_t)(w >> 8);
    ring[4] = 0;
    ring[5] = 16;
    snprintf(name, sizeof name, "shm-%s", tag);
    save_bytes(dir, name, 3, ring, nr);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: fuzz_seeds WIRE_DIR [TRANSPORT_DIR]\n");
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
    vt_pipeline_result r = {.frame = 7,
                            .t = 0.25,
                            .tracks = tracks,
                            .classes = classes,
                            .flicker = flicker,
                            .ntracks = 3,
                            .detections = dets,
                            .ndetections = 2,
                            .cameras = cams,
                            .ncameras = 2};
    vt_wire_encoder *e;
    if (vt_wire_encoder_new(NULL, &e) != VT_OK)
        return 1;
    const uint8_t *m;
    size_t n;
    static uint8_t tracks_msg[8192];
    size_t tracks_len = 0;
    if (vt_wire_encode_tracks(e, &r, &m, &n) == VT_OK && n <= sizeof tracks_msg) {
        save(argv[1], "tracks", VT_MSG_TRACK_BATCH, m, n);
        memcpy(tracks_msg, m, n);
        tracks_len = n;
    }
    if (vt_wire_encode_detections(e, &r, &m, &n) == VT_OK)
        save(argv[1], "detections", VT_MSG_DETECTION_BATCH, m, n);
    if (vt_wire_encode_stats(e, &r, &m, &n) == VT_OK)
        save(argv[1], "stats", VT_MSG_FRAME_SET_STATS, m, n);
    vt_wire_health h = {.uptime_s = 1, .frame_sets = 30, .cameras_total = 2};
    if (vt_wire_encode_health(e, &h, &m, &n) == VT_OK) {
        save(argv[1], "health", VT_MSG_HEALTH, m, n);
        if (argc == 3) {
            transport_seeds(argv[2], tracks_msg, tracks_len, m, n, "", "plain");
            transport_seeds(argv[2], tracks_msg, tracks_len, m, n, "?lz4=1", "lz4");
        }
    }
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
