/*
 * src/core/fields.c - fields of a line of text (see core/fields.h).
 *
 * Numbers go through strtod on a bounded copy whose end pointer must reach
 * the end of the field, so that "12abc" is not read as 12 and a field at the
 * end of a buffer that is not NUL-terminated is safe to read.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

bool vt__fields_blank(const char *p, const char *end)
{
    return skip_blanks(p, end) == end;
}

/* [s, e) without surrounding blanks, and without quotes around it ("drone"). */
static vt__field trim(const char *s, const char *e)
{
    s = skip_blanks(s, e);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"')
        s++, e--;
    return (vt__field){s, (size_t)(e - s)};
}

int vt__fields_split(const char *p, const char *end, char sep, vt__field *out, int max)
{
    int n = 0;
    for (;;) {
        if (!sep) {
            p = skip_blanks(p, end);
            if (p == end)
                return n;
        }
        const char *fe = p;
        if (sep)
            fe = memchr(p, sep, (size_t)(end - p));
        else
            while (fe < end && *fe != ' ' && *fe != '\t')
                fe++;
        if (!fe)
            fe = end;
        if (n == max)
            return n + 1;
        out[n++] = trim(p, fe);
        if (fe == end)
            return n;
        p = sep ? fe + 1 : fe;
    }
}

char vt__fields_sep(const char *p, const char *end)
{
    return memchr(p, ',', (size_t)(end - p)) ? ',' : 0;
}

bool vt__field_number(vt__field f, double *out)
{
    char buf[64];
    if (f.n == 0 || f.n >= sizeof buf)
        return false;
    memcpy(buf, f.s, f.n);
    buf[f.n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + f.n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool vt__field_is(vt__field f, const char *word)
{
    return strlen(word) == f.n && memcmp(word, f.s, f.n) == 0;
}
