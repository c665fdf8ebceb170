/*
 * bench/bench_wire.c - the wire format's costs: encoding and decoding a
 * TrackBatch of 250 tracks (nanopb), its JSON form, and LZ4 on VoxelChunks.
 *
 * The VoxelChunks are synthetic but shaped like a vote grid's coarse blocks:
 * each 8^3 block is crossed by a few rays (straight lines of voxels with
 * votes of a ray's fixed-point weight), the rest of it empty, which is what
 * the sparse grid holds around real targets and ghost crossings. Figures
 * are printed, never judged; the best of several rounds is kept. The
 * baseline for LZ4 is memcpy of the same bytes (the memory-bandwidth
 * limit of just moving the votes).
 *
 * Every VoxelChunk is measured in each payload encoding (u32_le, the
 * layout before the encoding field; u32_shuffle4, byte planes; u32_sparse,
 * masks then the nonzero votes, the default), so that the default can be
 * checked against the others on the grids that matter.
 *
 * Then the same on REAL grids: the `default` preset is rendered and run
 * through the pipeline for a few frame sets, and each set's vote grid is
 * encoded as the streamer would (vt_wire_encode_vote_chunk): its coarse
 * blocks with a cell seen by >= K cameras, and for comparison every block
 * the rays touched (K = 1). Whole-message LZ4 (`?lz4=1` on a transport) of
 * the TrackBatch is measured too.
 *
 *   build-X/bench/bench_wire [ROUNDS [FRAME_SETS]]      (default 5 4)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream/lz4chunk_internal.h"
#include "stream/lz4frame_internal.h"
#include "voxtrack/voxtrack.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(double lo, double hi)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (double)(rng >> 11) / 9007199254740992.0;
}

static void make_tracks(vt_track *t, vt_target_class *cls, float *flicker, size_t n)
{
    memset(t, 0, n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t[i].id = i + 1;
        t[i].status = VT_TRACK_CONFIRMED;
        t[i].pos = (vt_vec3){uniform(-3000, 3000), uniform(-3000, 3000), uniform(30, 800)};
        t[i].vel = (vt_vec3){uniform(-25, 25), uniform(-25, 25), uniform(-3, 3)};
        for (int c = 0; c < 6; c++)
            t[i].cov[c] = uniform(0.001, 0.5);
        t[i].cams = 4 + (int)(i % 6);
        t[i].thermal = 2;
        t[i].thermal_hits = 5;
        t[i].hits = 40 + (int)i;
        t[i].age = 45 + (int)i;
        t[i].accel_rms = (float)uniform(0, 5);
        cls[i] = i % 10 == 0 ? VT_CLASS_BIRD : VT_CLASS_DRONE;
        flicker[i] = (float)uniform(0, 3);
    }
}

static const char *const enc_names[] = {"u32_le", "u32_shuffle4", "u32_sparse"};

static void die(const char *what)
{
    fprintf(stderr, "bench_wire: %s: %s\n", what, vt_last_error());
    exit(1);
}

/* Encodes and decodes the chunk of one grid `rounds` times; prints the best. Then the same
   blocks in each payload encoding (from the blocks, not the grid). */
static void grid_chunk(vt_wire_encoder *e, const vt_vote *v, int k, int rounds, int64_t frame)
{
    const uint8_t *msg;
    size_t len = 0, count = 0;
    double best_c = 1e9, best_d = 1e9;
    vt_wire_voxel_block *got = NULL;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        if (vt_wire_encode_vote_chunk(e, v, k, 0, frame, 0, &msg, &len, NULL))
            die("encode");
        double t1 = now();
        vt_wire_voxel_info info;
        free(got);
        got = NULL;
        if (vt_wire_decode_voxel_chunk(msg, len, &info, &got, &count))
            die("decode");
        double t2 = now();
        best_c = fmin(best_c, t1 - t0);
        best_d = fmin(best_d, t2 - t1);
    }
    double mb = (double)count * 2048 / 1e6;
    printf("  set %2lld K=%d: %5zu blocks, %7.2f MB -> %8zu bytes, ratio %6.1f; encode %5.0f MB/s "
           "(from the grid), decode %5.0f MB/s\n",
           (long long)frame, k, count, mb, len, len ? mb * 1e6 / (double)len : 0.0, mb / best_c,
           mb / best_d);
    vt_wire_voxel_info info = {.frame = frame, .voxel_size = 1};
    for (int enc = 0; enc < 3; enc++) {
        double bc = 1e9, bd = 1e9;
        for (int r = 0; r < rounds; r++) {
            double t0 = now();
            if (vt__wire_encode_voxel_chunk_as(e, &info, got, count, enc, &msg, &len))
                die("encode");
            double t1 = now();
            vt_wire_voxel_info back;
            vt_wire_voxel_block *again = NULL;
            size_t n2;
            if (vt_wire_decode_voxel_chunk(msg, len, &back, &again, &n2))
                die("decode");
            double t2 = now();
            free(again);
            bc = fmin(bc, t1 - t0);
            bd = fmin(bd, t2 - t1);
        }
        printf("      %-12s -> %8zu bytes, ratio %6.2f; encode %5.0f MB/s, decode %5.0f MB/s\n",
               enc_names[enc], len, len ? mb * 1e6 / (double)len : 0.0, mb / bc, mb / bd);
    }
    free(got);
}

/* Renders the default preset set by set, runs the pipeline, and measures its grids' chunks. */
static void real_grids(vt_wire_encoder *e, int rounds, int64_t sets)
{
    vt_scenario *sc = NULL;
    if (vt_scenario_preset("default", &sc) || vt_scenario_set_frames(sc, sets))
        die("preset default");
    const vt_rig *rig = vt_scenario_rig(sc);
    int cams = rig->count;
    vt_render_opts ro = vt_scenario_render_opts(sc);
    vt_renderer *rd = NULL;
    vt_pipeline_opts o = vt_pipeline_opts_default();
    vt_scenario_volume(sc, &o.volume_min, &o.volume_max);
    vt_pipeline *p = NULL;
    if (vt_renderer_new(&ro, rig, &rd) || vt_pipeline_new(&o, rig, &p))
        die("pipeline");
    size_t nt = vt_scenario_target_count(sc);
    vt_render_target *tg = malloc((nt ? nt : 1) * sizeof *tg);
    vt_image *imgs = calloc((size_t)cams, sizeof *imgs);
    const vt_image **ptrs = calloc((size_t)cams, sizeof *ptrs);
    printf("real grids: preset default, %d cameras, %zu targets, K = %d (voting's own)\n", cams, nt,
           o.vote.min_cameras);
    for (int64_t n = 0; n < sets; n++) {
        for (int c = 0; c < cams; c++) {
            double t;
            ptrs[c] = NULL;
            if (!vt_scenario_frame_time(sc, c, n, &t))
                continue;
            vt_scenario_targets(sc, t, tg, NULL);
            if (vt_renderer_draw(rd, c, n, t, tg, nt, &imgs[c]) == VT_OK)
                ptrs[c] = &imgs[c];
        }
        vt_frame_set fs = {.frame = n, .t = (double)n / vt_scenario_fps(sc), .images = ptrs};
        vt_pipeline_result res;
        if (vt_pipeline_process(p, &fs, &res))
            die("process");
        if (!res.vote || res.rays == 0)
            continue; /* the first sets only initialise the background models */
        printf("  set %2lld: %zu rays, %zu coarse blocks touched, %zu clusters\n", (long long)n,
               res.rays, vt_vote_block_count(res.vote), res.clusters);
        grid_chunk(e, res.vote, o.vote.min_cameras, rounds, n);
        grid_chunk(e, res.vote, 1, rounds, n);
        if (n == sets - 1) { /* whole-message LZ4 of this set's TrackBatch, as ?lz4=1 sends it */
            const uint8_t *msg;
            size_t len;
            vt__lz4 z = {0};
            if (vt_wire_encode_tracks(e, &res, &msg, &len) == VT_OK &&
                vt__lz4_compress(&z, msg, len, "TrackBatch") == VT_OK)
                printf("  whole-message LZ4: TrackBatch of %zu tracks %zu -> %zu bytes\n",
                       res.ntracks, len, z.len);
            vt__lz4_free(&z);
        }
    }
    for (int c = 0; c < cams; c++)
        vt_image_free(&imgs[c]);
    free(imgs);
    free(ptrs);
    free(tg);
    vt_pipeline_free(p);
    vt_renderer_free(rd);
    vt_scenario_free(sc);
}

static void make_blocks(vt_wire_voxel_block *b, size_t n, int rays)
{
    memset(b, 0, n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].bx = (int32_t)(i % 50);
        b[i].by = (int32_t)(i / 50 % 50);
        b[i].bz = (int32_t)(i / 2500);
        for (int r = 0; r < rays; r++) {
            double p[3] = {uniform(0, 8), uniform(0, 8), 0}, d[3];
            double th = uniform(0, 6.283), ph = uniform(0.2, 1.4);
            d[0] = cos(th) * cos(ph);
            d[1] = sin(th) * cos(ph);
            d[2] = sin(ph);
            uint32_t w = (uint32_t)(65536 * uniform(0.5, 2.0));
            int last = -1;
            for (double s = 0; s < 16; s += 0.25) {
                int x = (int)(p[0] + s * d[0]), y = (int)(p[1] + s * d[1]),
                    z = (int)(p[2] + s * d[2]);
                if (x < 0 || y < 0 || z < 0 || x > 7 || y > 7 || z > 7)
                    continue;
                int k = (x * 8 + y) * 8 + z;
                if (k != last)
                    b[i].votes[k] += w;
                last = k;
            }
        }
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1)
        rounds = 1;
    int64_t sets = argc > 2 ? atoll(argv[2]) : 4;
    if (sets < 2)
        sets = 2;
    enum { NT = 250 };
    static vt_track tracks[NT];
    static vt_target_class cls[NT];
    static float flicker[NT];
    make_tracks(tracks, cls, flicker, NT);
    vt_pipeline_result r = {.frame = 1234,
                            .t = 41.1,
                            .tracks = tracks,
                            .classes = cls,
                            .flicker = flicker,
                            .ntracks = NT};
    vt_rig rig;
    vt_rig_init(&rig);
    rig.has_origin = true;
    rig.lat_deg = 51.5;
    rig.lon_deg = -1.25;
    rig.height_m = 100;
    vt_wire_encoder *e, *eg;
    if (vt_wire_encoder_new(NULL, &e) != VT_OK || vt_wire_encoder_new(&rig, &eg) != VT_OK) {
        fprintf(stderr, "bench_wire: %s\n", vt_last_error());
        return 1;
    }
    const uint8_t *msg;
    size_t len = 0;
    vt_wire_track_batch b = {0};
    int iters = 2000;
    double best_enc = 1e9, best_geo = 1e9, best_dec = 1e9, best_json = 1e9;
    for (int k = 0; k < rounds; k++) {
        double t0 = now();
        for (int i = 0; i < iters; i++)
            vt_wire_encode_tracks(e, &r, &msg, &len);
        double t1 = now();
        for (int i = 0; i < iters / 10; i++)
            vt_wire_encode_tracks(eg, &r, &msg, &len);
        double t2 = now();
        vt_wire_encode_tracks(e, &r, &msg, &len);
        for (int i = 0; i < iters; i++)
            vt_wire_decode_tracks(msg, len, &b);
        double t3 = now();
        for (int i = 0; i < iters / 10; i++) {
            char *json;
            vt_wire_to_json(VT_MSG_TRACK_BATCH, msg, len, &json);
            free(json);
        }
        double t4 = now();
        best_enc = fmin(best_enc, (t1 - t0) / iters);
        best_geo = fmin(best_geo, (t2 - t1) / (iters / 10));
        best_dec = fmin(best_dec, (t3 - t2) / iters);
        best_json = fmin(best_json, (t4 - t3) / (iters / 10));
    }
    vt_wire_encode_tracks(e, &r, &msg, &len);
    printf("TrackBatch of %d tracks: %zu bytes (%.1f per track)\n", NT, len, (double)len / NT);
    printf("  encode            %9.0f ns  (%.0f ns per track)\n", best_enc * 1e9,
           best_enc * 1e9 / NT);
    printf("  encode with WGS84 %9.0f ns  (PROJ per track)\n", best_geo * 1e9);
    printf("  decode to structs %9.0f ns\n", best_dec * 1e9);
    printf("  decode to JSON    %9.0f ns\n", best_json * 1e9);

    size_t nb = 2000;
    vt_wire_voxel_block *blocks = malloc(nb * sizeof *blocks);
    uint8_t *copy = malloc(nb * sizeof *blocks);
    int ray_counts[] = {1, 4, 16};
    for (int rc = 0; rc < 3; rc++) {
        make_blocks(blocks, nb, ray_counts[rc]);
        vt_wire_voxel_info info = {.frame = 1, .voxel_size = 2.0};
        for (int enc = 0; enc < 3; enc++) {
            double best_c = 1e9, best_d = 1e9, best_m = 1e9;
            for (int k = 0; k < rounds; k++) {
                double t0 = now();
                vt__wire_encode_voxel_chunk_as(e, &info, blocks, nb, enc, &msg, &len);
                double t1 = now();
                vt_wire_voxel_info back;
                vt_wire_voxel_block *got = NULL;
                size_t count;
                vt_wire_decode_voxel_chunk(msg, len, &back, &got, &count);
                double t2 = now();
                free(got);
                memcpy(copy, blocks, nb * sizeof *blocks);
                double t3 = now();
                best_c = fmin(best_c, t1 - t0);
                best_d = fmin(best_d, t2 - t1);
                best_m = fmin(best_m, t3 - t2);
            }
            double mb = (double)nb * 2048 / 1e6;
            printf("synthetic VoxelChunk, %zu blocks, %2d rays per block, %-12s: %.2f MB -> %zu "
                   "bytes, ratio %.1f; encode %.0f MB/s, decode %.0f MB/s (memcpy %.0f MB/s)\n",
                   nb, ray_counts[rc], enc_names[enc], mb, len, mb * 1e6 / (double)len, mb / best_c,
                   mb / best_d, mb / best_m);
        }
    }
    real_grids(e, rounds, sets);
    (void)copy[0];
    free(copy);
    free(blocks);
    vt_wire_track_batch_free(&b);
    vt_wire_encoder_free(e);
    vt_wire_encoder_free(eg);
    vt_rig_free(&rig);
    return 0;
}
