/*
 * tests/vt_test.h - small helpers shared by the cmocka tests: a tolerance
 * assertion that prints both numbers, and a seeded random generator (the same
 * sequence on every platform, unlike rand()) with uniform rotations.
 *
 * Include after <cmocka.h>. Everything is static inline so that a test that
 * uses only part of it compiles without warnings.
 */
#ifndef VT_TEST_H
#define VT_TEST_H

#include <math.h>
#include <stdint.h>

#include "voxtrack/math3d.h"

/* |a - b| <= tol, or fail with both values (NaN always fails). */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            print_error("%s = %.17g, expected %.17g (tolerance %g)\n", #a, a_, b_, (double)(tol)); \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static inline uint64_t *vt_test_rng_state(void)
{
    static uint64_t state = 0x9E3779B97F4A7C15ull;
    return &state;
}

/* Restarts the sequence; any non-zero seed. */
static inline void vt_test_seed(uint64_t seed)
{
    *vt_test_rng_state() = seed ? seed : 1;
}

/* xorshift64*: uniform in [0, 1) with 53 random bits. */
static inline double vt_test_uniform01(void)
{
    uint64_t *s = vt_test_rng_state();
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static inline double vt_test_uniform(double lo, double hi)
{
    return lo + (hi - lo) * vt_test_uniform01();
}

/* A rotation drawn uniformly from SO(3) (Shoemake, Graphics Gems III). */
/* A standard normal deviate (Box-Muller) from the seeded generator. */
static inline double vt_test_gauss(void)
{
    double u = vt_test_uniform01(), v = vt_test_uniform01();
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * VT_PI * v);
}

static inline vt_quat vt_test_random_rotation(void)
{
    double u1 = vt_test_uniform01(), u2 = vt_test_uniform01(), u3 = vt_test_uniform01();
    double a = sqrt(1.0 - u1), b = sqrt(u1);
    vt_quat q = {a * sin(2 * VT_PI * u2), a * cos(2 * VT_PI * u2), b * sin(2 * VT_PI * u3),
                 b * cos(2 * VT_PI * u3)};
    return q;
}

#endif
