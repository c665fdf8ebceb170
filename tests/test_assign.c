/*
 * tests/test_assign.c - vt_assign, Murty's k-best and vt_chi2_3dof.
 *
 * vt_assign is checked against brute force on hundreds of seeded random
 * matrices of every shape from 1x1 to 7x7, with forbidden entries: the same
 * number of pairs (the most the allowed entries permit) and the same least
 * total, and a valid answer (distinct columns, allowed entries, the reported
 * total). Murty's k-best is checked against the sorted list of all complete
 * assignments. Chi-square quantiles against tabulated values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "track/track_internal.h"
#include "voxtrack/track.h"
#include "vt_test.h"

enum { MAXN = 7, MAXSOL = 6000 };

typedef struct brute {
    const double *c;
    int n, m;
    int best_pairs;
    double best_cost;
    double all[MAXSOL]; /* totals of complete assignments (every row) */
    int nall;
} brute;

static void brute_rec(brute *b, int row, unsigned used, int pairs, double cost)
{
    if (row == b->n) {
        if (pairs > b->best_pairs || (pairs == b->best_pairs && cost < b->best_cost)) {
            b->best_pairs = pairs;
            b->best_cost = cost;
        }
        if (pairs == b->n && b->nall < MAXSOL)
            b->all[b->nall++] = cost;
        return;
    }
    brute_rec(b, row + 1, used, pairs, cost);
    for (int j = 0; j < b->m; j++) {
        double c = b->c[row * b->m + j];
        if (!(used & (1u << j)) && c < VT_ASSIGN_FORBIDDEN)
            brute_rec(b, row + 1, used | (1u << j), pairs + 1, cost + c);
    }
}

static void random_matrix(double *c, int n, int m, double forbid)
{
    for (int k = 0; k < n * m; k++) {
        /* Integers make ties common, which the solver must also get right. */
        c[k] = vt_test_uniform01() < 0.5 ? (double)(int)vt_test_uniform(-5, 20)
                                         : vt_test_uniform(-5, 20);
        if (vt_test_uniform01() < forbid)
            c[k] = vt_test_uniform01() < 0.5 ? VT_ASSIGN_FORBIDDEN : INFINITY;
    }
}

static void check_against_brute(const double *c, int n, int m)
{
    int r2c[MAXN];
    double total;
    assert_int_equal(vt_assign(c, n, m, r2c, &total), VT_OK);
    brute b = {.c = c, .n = n, .m = m, .best_pairs = -1};
    brute_rec(&b, 0, 0, 0, 0.0);
    unsigned used = 0;
    int pairs = 0;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (r2c[i] < 0)
            continue;
        assert_true(r2c[i] < m);
        assert_false(used & (1u << r2c[i]));
        used |= 1u << r2c[i];
        assert_true(c[i * m + r2c[i]] < VT_ASSIGN_FORBIDDEN);
        sum += c[i * m + r2c[i]];
        pairs++;
    }
    assert_int_equal(pairs, b.best_pairs);
    assert_near(total, sum, 1e-9);
    assert_near(total, b.best_cost, 1e-9);
}

static void test_assign_matches_brute_force(void **state)
{
    (void)state;
    vt_test_seed(21);
    double c[MAXN * MAXN];
    int cases = 0;
    for (int n = 1; n <= MAXN; n++)
        for (int m = 1; m <= MAXN; m++)
            for (int rep = 0; rep < 8; rep++) {
                double forbid = rep < 2 ? 0.0 : rep < 5 ? 0.3 : 0.7;
                random_matrix(c, n, m, forbid);
                check_against_brute(c, n, m);
                cases++;
            }
    assert_true(cases >= 392);
}

static void test_order_of_rows_with_one_shared_column(void **state)
{
    (void)state;
    /* Both rows can only take column 0: the cheaper one must get it. */
    double c[4] = {10, VT_ASSIGN_FORBIDDEN, 1, VT_ASSIGN_FORBIDDEN};
    int r2c[2];
    double total;
    assert_int_equal(vt_assign(c, 2, 2, r2c, &total), VT_OK);
    assert_int_equal(r2c[0], -1);
    assert_int_equal(r2c[1], 0);
    assert_near(total, 1.0, 0);
}

static void test_all_forbidden_and_empty(void **state)
{
    (void)state;
    double c[6] = {VT_ASSIGN_FORBIDDEN, INFINITY, VT_ASSIGN_FORBIDDEN,
                   VT_ASSIGN_FORBIDDEN, 2e30,     VT_ASSIGN_FORBIDDEN};
    int r2c[3] = {7, 7, 7};
    double total = 5;
    assert_int_equal(vt_assign(c, 2, 3, r2c, &total), VT_OK);
    assert_int_equal(r2c[0], -1);
    assert_int_equal(r2c[1], -1);
    assert_near(total, 0.0, 0);
    assert_int_equal(vt_assign(c, 3, 0, r2c, NULL), VT_OK);
    assert_int_equal(r2c[2], -1);
    assert_int_equal(vt_assign(NULL, 0, 0, NULL, NULL), VT_OK);
}

static void test_assign_bad_input(void **state)
{
    (void)state;
    double c[4] = {1, 2, NAN, 4};
    int r2c[2];
    assert_int_equal(vt_assign(c, 2, 2, r2c, NULL), VT_EINVAL);
    assert_non_null(strstr(vt_last_error(), "(1, 0)"));
    c[2] = -INFINITY;
    assert_int_equal(vt_assign(c, 2, 2, r2c, NULL), VT_EINVAL);
    c[2] = 3;
    assert_int_equal(vt_assign(c, -1, 2, r2c, NULL), VT_EINVAL);
    assert_int_equal(vt_assign(c, 2, 2, NULL, NULL), VT_EINVAL);
    assert_int_equal(vt_assign(NULL, 2, 2, r2c, NULL), VT_EINVAL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_murty_k_best_matches_brute_force(void **state)
{
    (void)state;
    vt_test_seed(22);
    vt__murty_ws ws = {0};
    double c[MAXN * MAXN], totals[12];
    int sols[12 * MAXN];
    for (int n = 1; n <= 5; n++)
        for (int m = n; m <= 6; m++)
            for (int rep = 0; rep < 6; rep++) {
                random_matrix(c, n, m, rep < 3 ? 0.0 : 0.3);
                brute b = {.c = c, .n = n, .m = m, .best_pairs = -1};
                brute_rec(&b, 0, 0, 0, 0.0);
                qsort(b.all, (size_t)b.nall, sizeof b.all[0], cmp_double);
                int k = 1 + rep * 2, nsol;
                assert_int_equal(vt__murty(&ws, c, n, m, k, INFINITY, sols, totals, &nsol), VT_OK);
                assert_int_equal(nsol, b.nall < k ? b.nall : k);
                for (int s = 0; s < nsol; s++) {
                    assert_near(totals[s], b.all[s], 1e-9);
                    double sum = 0.0;
                    for (int i = 0; i < n; i++)
                        sum += c[i * m + sols[s * n + i]];
                    assert_near(sum, totals[s], 1e-9);
                }
            }
    /* The excess bound drops solutions far from the best. */
    double easy[4] = {0, 100, 100, 0};
    int nsol;
    assert_int_equal(vt__murty(&ws, easy, 2, 2, 5, 50.0, sols, totals, &nsol), VT_OK);
    assert_int_equal(nsol, 1);
    vt__murty_ws_free(&ws);
}

static void test_chi2_quantiles(void **state)
{
    (void)state;
    assert_near(vt_chi2_3dof(0.99), 11.3449, 1e-4);
    assert_near(vt_chi2_3dof(0.999), 16.2662, 1e-4);
    assert_near(vt_chi2_3dof(0.95), 7.8147, 1e-4);
    assert_near(vt_chi2_3dof(0.5), 2.3660, 1e-4);
    assert_near(vt_chi2_3dof(0.01), 0.1148, 1e-4);
    assert_true(isnan(vt_chi2_3dof(0.0)));
    assert_true(isnan(vt_chi2_3dof(1.0)));
    assert_true(isnan(vt_chi2_3dof(NAN)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_matches_brute_force),
        cmocka_unit_test(test_order_of_rows_with_one_shared_column),
        cmocka_unit_test(test_all_forbidden_and_empty),
        cmocka_unit_test(test_assign_bad_input),
        cmocka_unit_test(test_murty_k_best_matches_brute_force),
        cmocka_unit_test(test_chi2_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
