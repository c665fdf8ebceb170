/*
 * src/core/buf.c - the array grower, the text builder and the JSON string
 * writer of core/buf.h.
 *
 * The grower checks `cap * elem` before realloc sees it: a count read from a
 * file can make that product wrap to a small number, and the writes that
 * follow would then run past a tiny allocation. Nothing above PTRDIFF_MAX
 * bytes is asked for (no object can be larger).
 *
 * The builder keeps room for its NUL at every step, so b->s is a C string
 * whenever it is not NULL. Its first failure is kept in b->err (with the
 * thread's last-error message), after which it adds nothing: a caller builds
 * a whole document and looks at one status.
 */
#include "core/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arrays ---------------------------------------------------------------- */

/* No object can be larger than PTRDIFF_MAX bytes (pointer differences must fit). */
#define MAX_BYTES ((size_t)PTRDIFF_MAX)

/* The capacity to grow to for `need` items, or 0 when cap × elem cannot be allocated. */
static size_t grown_cap(size_t cap, size_t need, size_t elem)
{
    size_t e = elem ? elem : 1;
    if (need > MAX_BYTES / e)
        return 0;
    size_t c = cap ? cap : 16;
    while (c < need)
        c = c > MAX_BYTES / 2 ? need : c * 2;
    if (c > MAX_BYTES / e)
        c = need; /* doubling went past the limit: the exact need still fits */
    return c;
}

vt_status vt__grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return VT_OK;
    size_t c = grown_cap(*cap, need, elem);
    void *p;
    memcpy(&p, pp, sizeof p);
    void *q = c ? realloc(p, c * (elem ? elem : 1)) : NULL;
    if (!q)
        return vt__error(VT_ENOMEM, "out of memory for %zu items of %zu bytes", need, elem);
    memcpy(pp, &q, sizeof q);
    *cap = c;
    return VT_OK;
}

vt_status vt__grow_group(void *const ptrs[], const size_t elems[], int n, size_t *cap, size_t need)
{
    if (need <= *cap)
        return VT_OK;
    size_t c = 0;
    for (int i = 0; i < n; i++) {
        size_t ci = grown_cap(*cap, need, elems[i]);
        if (!ci)
            return vt__error(VT_ENOMEM, "out of memory for %zu items of %zu bytes", need, elems[i]);
        c = ci > c ? ci : c;
    }
    for (int i = 0; i < n; i++) {
        size_t room = *cap;
        vt_status s = vt__grow(ptrs[i], &room, c, elems[i]);
        if (s)
            return s;
    }
    *cap = c;
    return VT_OK;
}

/* ---- text ------------------------------------------------------------------ */

void vt__buf_init(vt__buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

static vt_status fail(vt__buf *b, vt_status s)
{
    b->err = s;
    if (s == VT_ERANGE)
        return vt__error(s, "text longer than %zu bytes", b->max);
    return vt__error(s, "out of memory for %zu bytes of text", b->len);
}

/* Room for n more bytes and the NUL; false (and b->err) when there cannot be. */
static bool reserve(vt__buf *b, size_t n)
{
    if (b->err)
        return false;
    if (n > MAX_BYTES - 1 - b->len) {
        fail(b, VT_ENOMEM);
        return false;
    }
    if (b->max && b->len + n > b->max) {
        fail(b, VT_ERANGE);
        return false;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap;
    if (cap < 64 && need <= 64)
        cap = 0; /* first allocation: 64 bytes at least (grown_cap starts at 16) */
    char *s = b->s;
    if (vt__grow(&s, &cap, need < 64 ? 64 : need, 1)) {
        fail(b, VT_ENOMEM);
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

vt_status vt__buf_add(vt__buf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return b->err;
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return VT_OK;
}

vt_status vt__buf_adds(vt__buf *b, const char *s)
{
    return vt__buf_add(b, s, strlen(s));
}

vt_status vt__buf_addc(vt__buf *b, char c)
{
    return vt__buf_add(b, &c, 1);
}

vt_status vt__buf_vaddf(vt__buf *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        if (reserve(b, (size_t)n))
            vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
        else
            n = -2;
    }
    va_end(again);
    if (n == -2)
        return b->err;
    if (n < 0) {
        if (b->s)
            b->s[b->len] = '\0';
        return fail(b, VT_ENOMEM);
    }
    if (b->max && b->len + (size_t)n > b->max) { /* fitted in the room but not under max */
        b->s[b->len] = '\0';
        return fail(b, VT_ERANGE);
    }
    b->len += (size_t)n;
    return VT_OK;
}

vt_status vt__buf_addf(vt__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_status s = vt__buf_vaddf(b, fmt, ap);
    va_end(ap);
    return s;
}

void vt__buf_reset(vt__buf *b)
{
    b->len = 0;
    b->err = VT_OK;
    if (b->s)
        b->s[0] = '\0';
}

void vt__buf_truncate(vt__buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->s[n] = '\0';
    }
}

const char *vt__buf_str(const vt__buf *b)
{
    return b->s ? b->s : "";
}

char *vt__buf_take(vt__buf *b)
{
    char *s = b->s;
    bool bad = b->err != VT_OK;
    size_t max = b->max;
    vt__buf_init(b, max);
    if (bad) {
        free(s);
        return NULL;
    }
    if (!s) {
        s = malloc(1);
        if (s)
            s[0] = '\0';
        else
            vt__error(VT_ENOMEM, "out of memory for an empty text");
    }
    return s;
}

void vt__buf_free(vt__buf *b)
{
    free(b->s);
    vt__buf_init(b, b->max);
}

/* ---- numbers --------------------------------------------------------------- */

vt_status vt__buf_json_num(vt__buf *b, double v, int sig)
{
    if (!isfinite(v))
        return vt__buf_add(b, "null", 4);
    return vt__buf_addf(b, "%.*g", sig, v);
}

vt_status vt__buf_fixed(vt__buf *b, double v, int digits)
{
    static const double scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (!isfinite(v) || fabs(v) >= 1e12 || digits < 0 || digits > 6)
        return vt__buf_json_num(b, v, 6);
    char tmp[40], *p = tmp + sizeof tmp;
    bool neg = v < 0;
    uint64_t x = (uint64_t)llround(fabs(v) * scale[digits]);
    bool nonzero = x != 0; /* no "-0.00" */
    for (int i = 0; i < digits; i++, x /= 10)
        *--p = (char)('0' + x % 10);
    if (digits)
        *--p = '.';
    do {
        *--p = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    if (neg && nonzero)
        *--p = '-';
    return vt__buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* ---- UTF-8 and JSON strings ------------------------------------------------ */

int vt__utf8_valid(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned char c = s[0];
    *skip = 1;
    if (c < 0x80)
        return 1;
    int len;
    unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0, C1 or F5..FF */
    }
    /* The maximal subpart: the lead and as many following bytes as could still be valid. */
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;
        if (s[i] < lo_i || s[i] > hi_i)
            return 0;
        *skip = (size_t)i + 1;
    }
    *skip = (size_t)len;
    return len;
}

/* Writes the escaped body of s[0..n) to p (NULL: only counts); returns its length. */
static size_t json_body(char *p, const unsigned char *u, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            if (p) {
                p[out] = '\\';
                p[out + 1] = (char)c;
            }
            out += 2;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            if (p) {
                memcpy(p + out, "\\u00", 4);
                p[out + 4] = hex[c >> 4];
                p[out + 5] = hex[c & 15];
            }
            out += 6;
            i++;
        } else if (c < 0x80) {
            if (p)
                p[out] = (char)c;
            out++;
            i++;
        } else {
            size_t skip;
            int len = vt__utf8_valid(u + i, n - i, &skip);
            if (len) {
                if (p)
                    memcpy(p + out, u + i, (size_t)len);
                out += (size_t)len;
            } else {
                if (p)
                    memcpy(p + out, "\xef\xbf\xbd", 3); /* one U+FFFD per maximal subpart */
                out += 3;
            }
            i += skip;
        }
    }
    return out;
}

vt_status vt__buf_json_strn(vt__buf *b, const char *s, size_t n)
{
    if (b->err)
        return b->err;
    const unsigned char *u = (const unsigned char *)s;
    size_t body = json_body(NULL, u, n); /* at most 6 n: no overflow below SIZE_MAX / 6 */
    if (n > MAX_BYTES / 8 || !reserve(b, body + 2))
        return b->err ? b->err : fail(b, VT_ENOMEM);
    char *p = b->s + b->len;
    p[0] = '"';
    json_body(p + 1, u, n);
    p[body + 1] = '"';
    b->len += body + 2;
    b->s[b->len] = '\0';
    return VT_OK;
}

vt_status vt__buf_json_str(vt__buf *b, const char *s)
{
    s = s ? s : "";
    return vt__buf_json_strn(b, s, strlen(s));
}
