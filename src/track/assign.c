/*
 * src/track/assign.c - rectangular linear assignment (vt_assign) and the
 * chi-square quantile for 3 degrees of freedom (vt_chi2_3dof).
 *
 * The assignment follows the shortest augmenting path method of Jonker &
 * Volgenant (1987) in the rectangular form described by Crouse, "On
 * implementing 2D rectangular assignment algorithms" (IEEE TAES 2016). With
 * n <= m (the matrix is read transposed otherwise), rows are added one at a
 * time: a Dijkstra search on reduced costs c[i][j] - u[i] - v[j] from the new
 * row finds the cheapest alternating path to a free column; the matching is
 * flipped along it and the dual variables u, v are adjusted so every reduced
 * cost stays >= 0. After n rows the matching is optimal.
 *
 * Forbidden entries (>= VT_ASSIGN_FORBIDDEN) are edges that do not exist.
 * Then a row may find no path at all; adding rows in order and skipping such
 * a row would give a maximum matching but not always the cheapest one (which
 * rows end up matched would depend on their order). So the first pass runs
 * without any help; only when a row fails is the problem solved again with n
 * extra "unassigned" columns of a cost BIG that is larger than any change in
 * the real cost a different number of pairs can make. The solution then has
 * the most allowed pairs possible and, among those, the least cost; pairs on
 * the extra columns are reported as unassigned.
 *
 * All working memory lives in a vt__assign_ws that only grows, so that the
 * tracker, which solves thousands of small problems, never allocates once
 * warm. vt_assign() wraps it with a temporary workspace.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "track/track_internal.h"

/* The problem as the solver sees it: nr <= nc rows, maybe transposed, maybe padded. */
typedef struct problem {
    const double *c;
    int ld;     /* row length of the caller's matrix */
    bool trans; /* solver row i is the caller's column i */
    int nr, nc; /* solver rows and real columns */
    int ndummy; /* extra columns of cost big */
    double big;
} problem;

static inline double entry(const problem *p, int i, int j)
{
    if (j >= p->nc)
        return p->big;
    return p->trans ? p->c[(size_t)j * (size_t)p->ld + (size_t)i]
                    : p->c[(size_t)i * (size_t)p->ld + (size_t)j];
}

static vt_status ws_reserve(vt__assign_ws *ws, int nr, int ncols)
{
    if (nr <= ws->cap_rows && ncols <= ws->cap_cols)
        return VT_OK;
    int r = nr > ws->cap_rows ? nr : ws->cap_rows;
    int c = ncols > ws->cap_cols ? ncols : ws->cap_cols;
    double *u = realloc(ws->u, (size_t)r * sizeof *u);
    if (u)
        ws->u = u;
    int *col4row = realloc(ws->col4row, (size_t)r * sizeof *col4row);
    if (col4row)
        ws->col4row = col4row;
    int *rows = realloc(ws->rows, (size_t)r * sizeof *rows);
    if (rows)
        ws->rows = rows;
    double *v = realloc(ws->v, (size_t)c * sizeof *v);
    if (v)
        ws->v = v;
    double *spc = realloc(ws->spc, (size_t)c * sizeof *spc);
    if (spc)
        ws->spc = spc;
    int *path = realloc(ws->path, (size_t)c * sizeof *path);
    if (path)
        ws->path = path;
    int *row4col = realloc(ws->row4col, (size_t)c * sizeof *row4col);
    if (row4col)
        ws->row4col = row4col;
    int *remaining = realloc(ws->remaining, (size_t)c * sizeof *remaining);
    if (remaining)
        ws->remaining = remaining;
    unsigned char *in_row = realloc(ws->row_seen, (size_t)r);
    if (in_row)
        ws->row_seen = in_row;
    unsigned char *in_col = realloc(ws->col_seen, (size_t)c);
    if (in_col)
        ws->col_seen = in_col;
    if (!u || !col4row || !rows || !v || !spc || !path || !row4col || !remaining || !in_row ||
        !in_col)
        return vt__error(VT_ENOMEM, "vt_assign: no memory for a %d x %d problem", nr, ncols);
    ws->cap_rows = r;
    ws->cap_cols = c;
    return VT_OK;
}

void vt__assign_ws_free(vt__assign_ws *ws)
{
    if (!ws)
        return;
    free(ws->u);
    free(ws->v);
    free(ws->spc);
    free(ws->path);
    free(ws->col4row);
    free(ws->row4col);
    free(ws->remaining);
    free(ws->rows);
    free(ws->row_seen);
    free(ws->col_seen);
    memset(ws, 0, sizeof *ws);
}

/*
 * Adds row `cur` to the matching by one shortest augmenting path. False when
 * no free column can be reached through allowed entries.
 */
static bool augment_row(vt__assign_ws *ws, const problem *p, int cur)
{
    int ncols = p->nc + p->ndummy;
    double *spc = ws->spc;
    int nrem = ncols, nvisited = 0, sink = -1, i = cur;
    double min_val = 0.0;
    for (int j = 0; j < ncols; j++) {
        spc[j] = INFINITY;
        ws->remaining[j] = ncols - 1 - j;
        ws->col_seen[j] = 0;
    }
    while (sink < 0) {
        ws->row_seen[i] = 1;
        ws->rows[nvisited++] = i;
        double lowest = INFINITY;
        int best = -1;
        for (int k = 0; k < nrem; k++) {
            int j = ws->remaining[k];
            double c = entry(p, i, j);
            if (c < VT_ASSIGN_FORBIDDEN) {
                double r = min_val + c - ws->u[i] - ws->v[j];
                if (r < spc[j]) {
                    ws->path[j] = i;
                    spc[j] = r;
                }
            }
            /* On a tie, a free column ends the search sooner. */
            if (spc[j] < lowest || (spc[j] == lowest && lowest < INFINITY && ws->row4col[j] < 0)) {
                lowest = spc[j];
                best = k;
            }
        }
        if (best < 0 || lowest == INFINITY) {
            for (int k = 0; k < nvisited; k++)
                ws->row_seen[ws->rows[k]] = 0;
            return false;
        }
        min_val = lowest;
        int j = ws->remaining[best];
        ws->col_seen[j] = 1;
        ws->remaining[best] = ws->remaining[--nrem];
        if (ws->row4col[j] < 0)
            sink = j;
        else
            i = ws->row4col[j];
    }

    /* Dual update keeps reduced costs >= 0 and those on the matching at 0. */
    ws->u[cur] += min_val;
    for (int k = 0; k < nvisited; k++) {
        int r = ws->rows[k];
        ws->row_seen[r] = 0;
        if (r != cur)
            ws->u[r] += min_val - spc[ws->col4row[r]];
    }
    for (int j = 0; j < ncols; j++)
        if (ws->col_seen[j])
            ws->v[j] -= min_val - spc[j];

    for (int j = sink;;) {
        int r = ws->path[j];
        ws->row4col[j] = r;
        int prev = ws->col4row[r];
        ws->col4row[r] = j;
        j = prev;
        if (r == cur)
            break;
    }
    return true;
}

/* Runs all rows; false (at the first failing row) when one cannot be matched. */
static bool solve(vt__assign_ws *ws, const problem *p)
{
    int ncols = p->nc + p->ndummy;
    for (int i = 0; i < p->nr; i++) {
        ws->u[i] = 0.0;
        ws->col4row[i] = -1;
        ws->row_seen[i] = 0;
    }
    for (int j = 0; j < ncols; j++) {
        ws->v[j] = 0.0;
        ws->row4col[j] = -1;
    }
    for (int i = 0; i < p->nr; i++)
        if (!augment_row(ws, p, i))
            return false;
    return true;
}

/* A cost of "unassigned" larger than any cost difference one more pair can make. */
static double dummy_cost(const problem *p)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < p->nr; i++)
        for (int j = 0; j < p->nc; j++) {
            double c = entry(p, i, j);
            if (c < VT_ASSIGN_FORBIDDEN) {
                lo = fmin(lo, c);
                hi = fmax(hi, c);
            }
        }
    if (lo == INFINITY)
        return 1.0;
    return (double)(p->nr + 1) * (fabs(lo) + fabs(hi)) + 1.0;
}

vt_status vt__assign_solve(vt__assign_ws *ws, const double *cost, int n, int m, int *row_to_col,
                           double *total)
{
    if (n < 0 || m < 0 || (n > 0 && !row_to_col) || (n > 0 && m > 0 && !cost))
        return vt__error(VT_EINVAL, "vt_assign: bad arguments (n = %d, m = %d)", n, m);
    for (size_t k = 0; k < (size_t)n * (size_t)m; k++)
        if (isnan(cost[k]) || cost[k] == -INFINITY)
            return vt__error(VT_EINVAL, "vt_assign: entry (%zu, %zu) is %g", k / (size_t)m,
                             k % (size_t)m, cost[k]);
    for (int i = 0; i < n; i++)
        row_to_col[i] = -1;
    if (total)
        *total = 0.0;
    if (n == 0 || m == 0)
        return VT_OK;

    problem p = {.c = cost, .ld = m, .trans = n > m, .nr = n > m ? m : n, .nc = n > m ? n : m};
    vt_status s = ws_reserve(ws, p.nr, p.nc + p.nr);
    if (s)
        return s;
    if (!solve(ws, &p)) {
        p.ndummy = p.nr;
        p.big = dummy_cost(&p);
        (void)solve(ws, &p); /* always succeeds: every row reaches a dummy */
    }

    double sum = 0.0;
    for (int i = 0; i < p.nr; i++) {
        int j = ws->col4row[i];
        if (j < 0 || j >= p.nc)
            continue;
        int r = p.trans ? j : i, c = p.trans ? i : j;
        row_to_col[r] = c;
        sum += cost[(size_t)r * (size_t)m + (size_t)c];
    }
    if (total)
        *total = sum;
    return VT_OK;
}

vt_status vt_assign(const double *cost, int n, int m, int *row_to_col, double *total)
{
    vt__assign_ws ws = {0};
    vt_status s = vt__assign_solve(&ws, cost, n, m, row_to_col, total);
    vt__assign_ws_free(&ws);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Murty's k-best                                                            */

void vt__murty_ws_free(vt__murty_ws *ws)
{
    if (!ws)
        return;
    vt__assign_ws_free(&ws->as);
    free(ws->mats);
    free(ws->sols);
    free(ws->costs);
    free(ws->queue);
    free(ws->free_slots);
    memset(ws, 0, sizeof *ws);
}

static vt_status murty_reserve(vt__murty_ws *ws, int n, int m, int slots)
{
    size_t nm = (size_t)n * (size_t)m;
    if (slots <= ws->cap_slots && nm <= ws->cap_nm && (size_t)n <= ws->cap_n)
        return VT_OK;
    int cs = slots > ws->cap_slots ? slots : ws->cap_slots;
    size_t cnm = nm > ws->cap_nm ? nm : ws->cap_nm;
    size_t cn = (size_t)n > ws->cap_n ? (size_t)n : ws->cap_n;
    double *mats = realloc(ws->mats, (size_t)cs * cnm * sizeof *mats);
    if (mats)
        ws->mats = mats;
    int *sols = realloc(ws->sols, (size_t)cs * cn * sizeof *sols);
    if (sols)
        ws->sols = sols;
    double *costs = realloc(ws->costs, (size_t)cs * sizeof *costs);
    if (costs)
        ws->costs = costs;
    int *queue = realloc(ws->queue, (size_t)cs * sizeof *queue);
    if (queue)
        ws->queue = queue;
    int *free_slots = realloc(ws->free_slots, (size_t)cs * sizeof *free_slots);
    if (free_slots)
        ws->free_slots = free_slots;
    if (!mats || !sols || !costs || !queue || !free_slots)
        return vt__error(VT_ENOMEM, "murty: no memory for %d subproblems of %d x %d", cs, n, m);
    ws->cap_slots = cs;
    ws->cap_nm = cnm;
    ws->cap_n = cn;
    return VT_OK;
}

/* Solves the subproblem in `slot`; false when some row cannot be assigned. */
static vt_status murty_solve(vt__murty_ws *ws, int slot, int n, int m, bool *ok)
{
    int *sol = ws->sols + (size_t)slot * ws->cap_n;
    vt_status s = vt__assign_solve(&ws->as, ws->mats + (size_t)slot * ws->cap_nm, n, m, sol,
                                   &ws->costs[slot]);
    *ok = false;
    if (s)
        return s;
    for (int i = 0; i < n; i++)
        if (sol[i] < 0)
            return VT_OK;
    *ok = true;
    return VT_OK;
}

/*
 * Murty's partition: the solution's space minus the solution itself is the
 * disjoint union, over rows i, of "rows before i keep their columns, row i
 * does not take its column". Each part is one more assignment problem, here
 * a copy of the matrix with entries forbidden.
 */
vt_status vt__murty(vt__murty_ws *ws, const double *cost, int n, int m, int k, double max_excess,
                    int *sols, double *totals, int *nsol)
{
    *nsol = 0;
    if (n < 1 || m < n || k < 1)
        return vt__error(VT_EINVAL, "murty: needs 1 <= n <= m and k >= 1 (n = %d, m = %d, k = %d)",
                         n, m, k);
    int slots = k * n + 1;
    vt_status s = murty_reserve(ws, n, m, slots);
    if (s)
        return s;
    size_t nm = (size_t)n * (size_t)m;
    int nfree = 0, nqueue = 0;
    for (int i = slots - 1; i >= 0; i--)
        ws->free_slots[nfree++] = i;

    int root = ws->free_slots[--nfree];
    memcpy(ws->mats + (size_t)root * ws->cap_nm, cost, nm * sizeof *cost);
    bool ok;
    if ((s = murty_solve(ws, root, n, m, &ok)))
        return s;
    if (!ok)
        return VT_OK;
    double limit = ws->costs[root] + max_excess;
    ws->queue[nqueue++] = root;

    while (*nsol < k && nqueue > 0) {
        int best = 0;
        for (int q = 1; q < nqueue; q++)
            if (ws->costs[ws->queue[q]] < ws->costs[ws->queue[best]])
                best = q;
        int slot = ws->queue[best];
        ws->queue[best] = ws->queue[--nqueue];
        const int *sol = ws->sols + (size_t)slot * ws->cap_n;
        memcpy(sols + (size_t)*nsol * (size_t)n, sol, (size_t)n * sizeof *sol);
        totals[*nsol] = ws->costs[slot];
        if (++*nsol == k)
            break;

        double *mat = ws->mats + (size_t)slot * ws->cap_nm;
        for (int i = 0; i < n; i++) {
            int child = ws->free_slots[--nfree];
            double *cm = ws->mats + (size_t)child * ws->cap_nm;
            memcpy(cm, mat, nm * sizeof *mat);
            cm[(size_t)i * (size_t)m + (size_t)sol[i]] = VT_ASSIGN_FORBIDDEN;
            if ((s = murty_solve(ws, child, n, m, &ok)))
                return s;
            if (ok && ws->costs[child] <= limit)
                ws->queue[nqueue++] = child;
            else
                ws->free_slots[nfree++] = child;
            /* Row i keeps its column in the parts that follow. */
            for (int j = 0; j < m; j++)
                if (j != sol[i])
                    mat[(size_t)i * (size_t)m + (size_t)j] = VT_ASSIGN_FORBIDDEN;
            for (int r = 0; r < n; r++)
                if (r != i)
                    mat[(size_t)r * (size_t)m + (size_t)sol[i]] = VT_ASSIGN_FORBIDDEN;
        }
        ws->free_slots[nfree++] = slot;
    }
    return VT_OK;
}

/*
 * Chi-square with 3 degrees of freedom: the upper tail is
 *   Q(x) = erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2),
 * monotone in x, so the quantile is found by bisection on the tail (which
 * keeps its precision for p near 1, where gates live).
 */
double vt_chi2_3dof(double p)
{
    if (!(p > 0.0 && p < 1.0))
        return NAN;
    double tail = 1.0 - p, lo = 0.0, hi = 1.0;
    while (erfc(sqrt(hi / 2.0)) + sqrt(2.0 * hi / VT_PI) * exp(-hi / 2.0) > tail && hi < 1e4)
        hi *= 2.0;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        double q = erfc(sqrt(mid / 2.0)) + sqrt(2.0 * mid / VT_PI) * exp(-mid / 2.0);
        if (q > tail)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}
