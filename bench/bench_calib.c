/*
 * bench/bench_calib.c - calibration time against cameras x detections, and
 * calibration accuracy over seeds, on the simulated calibration flight of
 * tests/test_calib.c (tests/vt_test_calib.h: 3840x2160 cameras on a ring at
 * 340-400 m, a drone that climbs, turns and changes speed at up to 18 m/s;
 * detections with 0.5 px noise, 10% missed, a false one in 5% of the frames,
 * camera 3 at 25 fps with its scale solved).
 *
 *   bench_calib            both tables
 *   bench_calib time       only the times
 *   bench_calib accuracy   only the accuracy
 *
 * Times are the calling thread's CPU time (the machine is shared), the best
 * of 3 runs: all cameras calibrated against the reference track (each from
 * an orientation 2-5 degrees off and an unknown clock), and the
 * self-calibration's triangulation from cameras 0 and 1. A flight longer
 * than its waypoints ends in a hover: those detections cost time like any
 * other. The program prints figures; it never fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/vt_test_calib.h"
#include "calib/calib_internal.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct flight {
    vt_scenario *s;
    vt_reftrack *track;
    vt_rig truth, site;
    vt_det2d_list dets[8];
    int cams;
    vt_flight_noise nz;
} flight;

static int make_flight(flight *f, int cams, int frames, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->cams = cams;
    f->nz = (vt_flight_noise){0.5, 0.10, 0.05, 25.0, cams > 3 ? 3 : -1, seed};
    f->s = vt_flight_scenario(cams, frames);
    if (!f->s)
        return -1;
    f->track = vt_flight_track(f->s);
    vt_rig_init(&f->truth);
    vt_rig_init(&f->site);
    uint64_t rng = 99 + seed;
    for (int c = 0; c < cams; c++) {
        vt_rig_camera rc = vt_scenario_rig(f->s)->cameras[c];
        rc.media = VT_MEDIA_DETECTIONS;
        rc.path = "dets.csv";
        rc.clock_offset = vt_flight_offsets[c];
        rc.clock_scale = c == f->nz.slow ? 1.0 / f->nz.slow_fps : 0.0;
        vt_rig_add(&f->truth, &rc);
        vt_flight_detections(f->s, c, &f->nz, &f->dets[c]);
        vt_det2d_apply_clock(&f->dets[c], vt_det2d_camera_clock(&f->truth, &rc, false));
        rc.cam.q = vt_q_mul(rc.cam.q, vt_flight_turn(&rng, 5.0 - (c % 4)));
        vt_camera_init(&rc.cam);
        rc.clock_offset = 0.0;
        rc.clock_scale = c == f->nz.slow ? 1.0 / (f->nz.slow_fps * 1.001) : 0.0;
        vt_rig_add(&f->site, &rc);
    }
    return f->track ? 0 : -1;
}

static void free_flight(flight *f)
{
    for (int c = 0; c < f->cams; c++)
        vt_det2d_list_free(&f->dets[c]);
    vt_rig_free(&f->truth);
    vt_rig_free(&f->site);
    vt_reftrack_free(f->track);
    vt_scenario_free(f->s);
}

static vt_calib_opts opts_for(const flight *f, int c)
{
    vt_calib_opts o = vt_calib_opts_default();
    if (c == f->nz.slow)
        o.solve |= VT_CALIB_SCALE;
    return o;
}

static void times(void)
{
    static const int cams[] = {2, 4, 8}, frames[] = {300, 1200, 4800};
    printf("calibration time (CPU, best of 3), all cameras against the reference track;\n"
           "triangulation from cameras 0 and 1 (self-calibration's first step)\n\n");
    printf("| cameras | frames | detections per camera | calibrate all, ms | per camera, ms | "
           "per detection, us | triangulate, ms |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++) {
            flight f;
            if (make_flight(&f, cams[a], frames[b], 17)) {
                printf("flight %d x %d: %s\n", cams[a], frames[b], vt_last_error());
                continue;
            }
            size_t ndet = 0;
            for (int c = 0; c < f.cams; c++)
                ndet += f.dets[c].count;
            double best = INFINITY, tri_best = INFINITY;
            int failed = 0;
            for (int rep = 0; rep < 3; rep++) {
                double t0 = cpu_seconds();
                for (int c = 0; c < f.cams; c++) {
                    vt_calib_opts o = opts_for(&f, c);
                    vt_calib_result r;
                    failed += vt_calib_camera(&o, &f.site, c, &f.dets[c], f.track, &r) != VT_OK;
                    vt_calib_result_free(&r);
                }
                best = fmin(best, cpu_seconds() - t0);
                const vt_det2d_list *lists[8];
                for (int c = 0; c < f.cams; c++)
                    lists[c] = &f.dets[c];
                vt_reftrack *tri = NULL;
                t0 = cpu_seconds();
                failed += vt_calib_triangulate(NULL, &f.truth, lists, 0x3, &tri, NULL) != VT_OK;
                tri_best = fmin(tri_best, cpu_seconds() - t0);
                vt_reftrack_free(tri);
            }
            printf("| %d | %d | %zu | %.1f | %.1f | %.1f | %.1f |%s\n", f.cams, frames[b],
                   ndet / (size_t)f.cams, best * 1e3, best * 1e3 / f.cams,
                   best * 1e6 / (double)ndet, tri_best * 1e3, failed ? " (some failed)" : "");
            free_flight(&f);
        }
}

static void accuracy(void)
{
    enum { SEEDS = 10 };
    printf("\naccuracy over %d seeds, 4 cameras, 1200 frames (40 s): worst camera of each seed\n\n",
           SEEDS);
    printf("| seed | orientation, deg | clock over the flight, ms | RMS residual, px | "
           "triangulated 3D RMS: true rig, m | calibrated rig, m | self-cal. camera 2: deg, ms "
           "|\n| --- | --- | --- | --- | --- | --- | --- |\n");
    double worst_q = 0, worst_t = 0, worst_ratio = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        flight f;
        if (make_flight(&f, 4, 1200, (uint64_t)seed))
            continue;
        double wq = 0, wt = 0, rms = 0;
        vt_rig cal;
        vt_rig_init(&cal);
        for (int c = 0; c < 4; c++)
            vt_rig_add(&cal, &f.site.cameras[c]);
        for (int c = 0; c < 4; c++) {
            vt_calib_opts o = opts_for(&f, c);
            vt_calib_result r;
            if (vt_calib_camera(&o, &f.site, c, &f.dets[c], f.track, &r) == VT_OK) {
                const vt_rig_camera *tc = &f.truth.cameras[c];
                wq = fmax(wq, vt_rad2deg(vt__q_angle(r.cam.q, tc->cam.q)));
                double ts = c == f.nz.slow ? 1.0 / f.nz.slow_fps : 1.0 / 30.0;
                for (size_t i = 0; i < f.dets[c].count; i++)
                    wt = fmax(wt, fabs((r.clock_scale - ts) * (double)f.dets[c].items[i].frame +
                                       r.clock_offset - tc->clock_offset));
                rms = fmax(rms, r.rms_px);
                vt_calib_apply(&r, &cal, c);
            } else {
                wq = wt = INFINITY;
            }
            vt_calib_result_free(&r);
        }
        /* Triangulated with every camera: true rig and calibrated rig, on their clocks. */
        const vt_det2d_list *lists[4] = {&f.dets[0], &f.dets[1], &f.dets[2], &f.dets[3]};
        vt_calib_opts o0 = vt_calib_opts_default();
        o0.max_offset = 0;
        double err[2] = {NAN, NAN};
        const vt_rig *rigs[2] = {&f.truth, &cal};
        for (int k = 0; k < 2; k++) {
            vt_reftrack *tri = NULL;
            if (vt_calib_triangulate(&o0, rigs[k], lists, 0xF, &tri, NULL) != VT_OK)
                continue;
            double sum = 0;
            size_t n = 0;
            for (size_t i = 0; i < vt_reftrack_count(tri); i++) {
                double t;
                vt_vec3 p, want;
                vt_reftrack_sample(tri, i, &t, &p);
                if (vt_reftrack_at(f.track, t, 0, &want, NULL)) {
                    sum += pow(vt_v3_norm(vt_v3_sub(p, want)), 2);
                    n++;
                }
            }
            err[k] = sqrt(sum / (double)(n ? n : 1));
            vt_reftrack_free(tri);
        }
        /* Self-calibration of camera 2 from cameras 0 and 1 (true poses, 1's clock unknown). */
        vt_rig self;
        vt_rig_init(&self);
        for (int c = 0; c < 4; c++) {
            vt_rig_camera rc = f.site.cameras[c];
            if (c < 2)
                rc.cam = f.truth.cameras[c].cam;
            vt_rig_add(&self, &rc);
        }
        double sq = NAN, st = NAN;
        vt_reftrack *tri = NULL;
        vt_calib_triangulation ts;
        if (vt_calib_triangulate(NULL, &self, lists, 0x3, &tri, &ts) == VT_OK) {
            self.cameras[1].clock_offset = ts.clock_offset[1];
            vt_calib_result r;
            if (vt_calib_camera(NULL, &self, 2, &f.dets[2], tri, &r) == VT_OK) {
                sq = vt_rad2deg(vt__q_angle(r.cam.q, f.truth.cameras[2].cam.q));
                st = (r.clock_offset - vt_flight_offsets[2]) * 1e3;
            }
            vt_calib_result_free(&r);
        }
        vt_reftrack_free(tri);
        printf("| %d | %.4f | %.3f | %.3f | %.4f | %.4f | %.4f, %.3f |\n", seed, wq, wt * 1e3, rms,
               err[0], err[1], sq, st);
        worst_q = fmax(worst_q, wq);
        worst_t = fmax(worst_t, wt);
        worst_ratio = fmax(worst_ratio, err[1] / err[0]);
        vt_rig_free(&self);
        vt_rig_free(&cal);
        free_flight(&f);
    }
    printf("\nworst over the seeds: orientation %.4f deg, clock %.3f ms, 3D error ratio "
           "calibrated / true %.3f\n",
           worst_q, worst_t * 1e3, worst_ratio);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    if (strcmp(what, "all") == 0 || strcmp(what, "time") == 0)
        times();
    if (strcmp(what, "all") == 0 || strcmp(what, "accuracy") == 0)
        accuracy();
    return 0;
}
