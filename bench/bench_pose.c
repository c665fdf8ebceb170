/*
 * bench/bench_pose.c - what the pose filter costs: one IMU sample
 * (vt_eskf_imu: nominal integration and the 15x15 covariance step), one GNSS
 * position fix, one dual-antenna heading and one landmark bearing, on one
 * core.
 *
 * The body turns and accelerates (a 1 kHz stream of rates and specific
 * forces with noise, made before timing). IMU samples are timed in batches
 * of 1000 (one second of a 1 kHz IMU): the median and the slowest batch per
 * sample, in the thread's CPU time (the machine is shared). Each update is
 * timed over 10,000 calls with the gate off, so every one does the full
 * Joseph-form update. For scale: the dense 15x15 F P F^T the structured step
 * replaces, timed the same way.
 * The program prints figures; it never fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "voxtrack/pose.h"

enum { BATCH = 1000, BATCHES = 200, UPDATES = 10000 };

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        u[i] = (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
    }
    return sqrt(-2.0 * log(1.0 - u[0])) * cos(2.0 * 3.14159265358979 * u[1]);
}

static vt_eskf *make_filter(void)
{
    vt_eskf_opts o = vt_eskf_opts_default();
    o.gate = false;
    o.gps_lever_arm = vt_v3(0.2, 0.1, 0.5);
    vt_eskf *f = NULL;
    if (vt_eskf_new(&o, &f))
        exit(1);
    vt_eskf_state x = {.t = 0.0, .q = {1, 0, 0, 0}};
    const double sd[15] = {1,    1,    1,    0.1,  0.1,  0.1,  0.01, 0.01,
                           0.05, 0.05, 0.05, 0.05, 1e-3, 1e-3, 1e-3};
    vt_eskf_set_state(f, &x, sd);
    return f;
}

/* The reference: P <- F P F^T with dense 15x15 products. */
static void dense_fpft(double P[15][15], double F[15][15])
{
    double A[15][15];
    for (int i = 0; i < 15; i++)
        for (int j = 0; j < 15; j++) {
            double s = 0.0;
            for (int k = 0; k < 15; k++)
                s += F[i][k] * P[k][j];
            A[i][j] = s;
        }
    for (int i = 0; i < 15; i++)
        for (int j = 0; j < 15; j++) {
            double s = 0.0;
            for (int k = 0; k < 15; k++)
                s += A[i][k] * F[j][k];
            P[i][j] = s;
        }
}

int main(void)
{
    const int n = BATCH * BATCHES;
    vt_vec3 *gyro = malloc((size_t)n * sizeof *gyro), *acc = malloc((size_t)n * sizeof *acc);
    if (!gyro || !acc)
        return 1;
    for (int k = 0; k < n; k++) {
        double t = k * 1e-3;
        gyro[k] = vt_v3(0.05 * sin(2.1 * t) + 1e-3 * gauss(), 0.03 * cos(1.3 * t) + 1e-3 * gauss(),
                        0.1 + 1e-3 * gauss());
        acc[k] = vt_v3(0.5 * sin(0.7 * t) + 0.02 * gauss(), 0.02 * gauss(),
                       9.80665 + 0.3 * cos(0.5 * t) + 0.02 * gauss());
    }
    vt_eskf *f = make_filter();
    double per[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        double t0 = cpu_now();
        for (int k = b * BATCH; k < (b + 1) * BATCH; k++)
            vt_eskf_imu(f, (k + 1) * 1e-3, gyro[k], acc[k]);
        per[b] = (cpu_now() - t0) / BATCH;
    }
    qsort(per, BATCHES, sizeof *per, cmp_double);
    printf("vt_eskf_imu: %.3f us per sample (median of %d batches of %d), slowest batch %.3f "
           "us\n",
           per[BATCHES / 2] * 1e6, BATCHES, BATCH, per[BATCHES - 1] * 1e6);

    vt_eskf_state x;
    vt_eskf_get(f, &x, NULL);
    double t = x.t;
    vt_eskf_innovation in;
    double t0 = cpu_now();
    for (int k = 0; k < UPDATES; k++)
        vt_eskf_update_position(f, t, vt_v3_add(x.p, vt_v3(0.01 * (k % 3), 0, 0)), 0.01, 0.02, &in);
    printf("vt_eskf_update_position: %.3f us\n", (cpu_now() - t0) / UPDATES * 1e6);
    t0 = cpu_now();
    for (int k = 0; k < UPDATES; k++)
        vt_eskf_update_heading(f, t, 0.3 + 1e-4 * (k % 3), 0.002, &in);
    printf("vt_eskf_update_heading: %.3f us\n", (cpu_now() - t0) / UPDATES * 1e6);
    vt_eskf_get(f, &x, NULL);
    vt_vec3 fwd = vt_q_rotate(x.q, vt_v3(0, 0, 1));
    vt_vec3 lm = vt_v3_add(x.p, vt_v3_scale(fwd, 500.0));
    t0 = cpu_now();
    for (int k = 0; k < UPDATES; k++)
        vt_eskf_update_bearing(f, t, NULL, lm, 0.02, 1e-5 * (k % 3), 0.0, 3e-4, &in);
    printf("vt_eskf_update_bearing: %.3f us\n", (cpu_now() - t0) / UPDATES * 1e6);
    vt_eskf_free(f);

    /* The dense reference on the same kind of matrices. */
    static double P[15][15], F[15][15];
    for (int i = 0; i < 15; i++) {
        P[i][i] = 1.0;
        F[i][i] = 1.0;
    }
    for (int i = 0; i < 3; i++) {
        F[i][3 + i] = 1e-3;
        F[12 + i - 6][12 + i] = -1e-3;
        for (int j = 0; j < 3; j++)
            F[3 + i][6 + j] = F[3 + i][9 + j] = 1e-3 * (i + j);
    }
    t0 = cpu_now();
    for (int k = 0; k < UPDATES; k++) {
        dense_fpft(P, F);
        P[0][0] = 1.0 + 1e-9 * k; /* keep the values in range */
    }
    printf("dense 15x15 F P F^T (reference): %.3f us (P[1][1] %.3g)\n",
           (cpu_now() - t0) / UPDATES * 1e6, P[1][1]);
    free(gyro);
    free(acc);
    return 0;
}
