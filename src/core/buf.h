/*
 * src/core/buf.h - the pieces every folder of the library needs for memory
 * and text, written once (after curl's lib/dynbuf.c and redis's sds):
 *
 *   - vt__grow: an array that grows by doubling, with cap × elem checked for
 *     overflow before it reaches realloc;
 *   - vt__buf: a text builder (always NUL-terminated) with an optional size
 *     cap and one error convention: the first failure sticks, every later
 *     call is a no-op that returns it, so a document is built as a straight
 *     sequence of calls and checked once at the end;
 *   - vt__buf_json_str: the one JSON string writer of the project: escapes
 *     what RFC 8259 requires (quote, backslash, control characters, as
 *     \u00XX; DEL too), passes valid UTF-8 through and replaces each maximal
 *     invalid subsequence with U+FFFD (Unicode's "substitution of maximal
 *     subparts"), so whatever bytes come in, valid JSON comes out.
 *
 * Never installed. Little-endian numbers and the byte cursors are in
 * core/bytes.h, union-find in core/uf.h, the JSON field reader in
 * core/json_read.h; /work/coord/CORE_API.md (and docs/ARCHITECTURE.md) show
 * each in use.
 */
#ifndef VOXTRACK_CORE_BUF_H
#define VOXTRACK_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"

/* ---- arrays ---------------------------------------------------------------- */

/*
 * Makes the array *pp (of `elem`-byte items, room for *cap) hold at least
 * `need` items: the capacity doubles from 16 (or goes straight to `need`).
 * `pp` is the address of the caller's pointer (any object pointer type).
 * VT_ENOMEM when cap × elem would overflow or realloc fails, with the
 * message "out of memory for N items of M bytes"; then *pp and *cap are
 * unchanged and still valid. Never shrinks.
 *
 *     if ((s = vt__grow(&l->items, &l->cap, l->count + 1, sizeof *l->items)))
 *         return s;
 */
vt_status vt__grow(void *pp, size_t *cap, size_t need, size_t elem);

/*
 * Arrays that share one capacity (struct-of-arrays): each is grown to the new
 * capacity, and *cap moves only when all of them have, so a failure halfway
 * leaves some arrays merely larger than needed. ptrs[i] is the address of
 * array i's pointer, elems[i] its item size.
 */
vt_status vt__grow_group(void *const ptrs[], const size_t elems[], int n, size_t *cap, size_t need);

/* ---- text ------------------------------------------------------------------ */

typedef struct vt__buf {
    char *s;       /* the text, NUL-terminated; NULL until something is added */
    size_t len;    /* bytes in s, the NUL not counted */
    size_t cap;    /* bytes allocated */
    size_t max;    /* the largest len allowed; 0: no cap */
    vt_status err; /* the first failure (VT_ENOMEM, or VT_ERANGE past max); 0: none */
} vt__buf;

/* An empty builder; `max` caps its length (0: no cap). Static {0} is the same as max 0. */
void vt__buf_init(vt__buf *b, size_t max);

/* Appends n bytes (any bytes: the builder also holds binary data). Returns b->err. */
vt_status vt__buf_add(vt__buf *b, const void *p, size_t n);
/* Appends a C string. */
vt_status vt__buf_adds(vt__buf *b, const char *s);
/* Appends one character. */
vt_status vt__buf_addc(vt__buf *b, char c);
/* Appends printf-style text. */
vt_status vt__buf_addf(vt__buf *b, const char *fmt, ...) VT__PRINTF(2, 3);
vt_status vt__buf_vaddf(vt__buf *b, const char *fmt, va_list ap);

/* A JSON string literal of the C string s (NULL: ""), quoted; see the top. */
vt_status vt__buf_json_str(vt__buf *b, const char *s);
/* The same of n bytes (which may hold NULs: written as \u0000). */
vt_status vt__buf_json_strn(vt__buf *b, const char *s, size_t n);
/* A JSON number with `sig` significant digits (%.*g); NaN and infinities: null. */
vt_status vt__buf_json_num(vt__buf *b, double v, int sig);
/* A number with `digits` (0..6) decimals, rounded half away from zero, without
   printf (so no locale, and fast); no "-0"; NaN, infinities and |v| >= 1e12 go
   as vt__buf_json_num(b, v, 6). */
vt_status vt__buf_fixed(vt__buf *b, double v, int digits);

/* Empties the text and clears the error; keeps the memory (and max). */
void vt__buf_reset(vt__buf *b);
/* Shortens the text to n bytes (n <= len). */
void vt__buf_truncate(vt__buf *b, size_t n);
/* The text, or "" when empty; valid until the next call that adds. */
const char *vt__buf_str(const vt__buf *b);
/*
 * Hands the text over to the caller (free() it), "" allocated when empty,
 * and leaves b empty. NULL when b->err is set (the text is freed then) or
 * when allocating the empty string fails.
 */
char *vt__buf_take(vt__buf *b);
/* Frees the text; b is empty afterwards (max kept). */
void vt__buf_free(vt__buf *b);

/* ---- UTF-8 ----------------------------------------------------------------- */

/*
 * The length (1..4) of the valid UTF-8 sequence at s[0..n), n >= 1, or 0 when
 * s[0] does not start one: overlong forms, surrogates (U+D800..DFFF), code
 * points above U+10FFFF and truncated sequences are invalid (RFC 3629).
 * *skip gets how many bytes the invalid sequence spans (its maximal subpart,
 * >= 1), which is what one U+FFFD replaces.
 */
int vt__utf8_valid(const unsigned char *s, size_t n, size_t *skip);

#endif
