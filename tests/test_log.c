/*
 * tests/test_log.c - the log hook (voxtrack/log.h): a program's handler gets
 * every line with its level and its user data, without the stderr prefix;
 * NULL restores the default; lines from many threads arrive whole.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "voxtrack/log.h"

typedef struct seen {
    pthread_mutex_t mu;
    int count, bad;
    vt_log_level level;
    char last[1100];
} seen;

static void keep(vt_log_level level, const char *message, void *user)
{
    seen *s = user;
    pthread_mutex_lock(&s->mu);
    s->count++;
    s->level = level;
    snprintf(s->last, sizeof s->last, "%s", message);
    /* Lines of the threads below: "thread N line M", whole. */
    int n, m;
    if (strncmp(message, "thread ", 7) == 0 &&
        (sscanf(message, "thread %d line %d", &n, &m) != 2 || strchr(message, '\n')))
        s->bad++;
    pthread_mutex_unlock(&s->mu);
}

static void a_handler_gets_level_message_and_user_data(void **state)
{
    (void)state;
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    vt_set_log_handler(keep, &s);
    vt__log(1, "%s: GigE camera '%s' reconnected (attempt %d)", "camera 0", "GV01", 2);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.level, VT_LOG_WARNING);
    assert_string_equal(s.last, "camera 0: GigE camera 'GV01' reconnected (attempt 2)");
    vt__log(7, "out of range"); /* an unknown level is debug */
    assert_int_equal(s.level, VT_LOG_DEBUG);
    vt_set_log_handler(NULL, &s); /* back to stderr: nothing more here */
    vt__log(2, "this line goes to stderr");
    assert_int_equal(s.count, 2);
}

static void a_long_line_loses_its_tail_only(void **state)
{
    (void)state;
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    vt_set_log_handler(keep, &s);
    vt__log(0, "head %s", big);
    vt_set_log_handler(NULL, NULL);
    assert_int_equal(s.level, VT_LOG_ERROR);
    assert_int_equal(strncmp(s.last, "head xxx", 8), 0);
    assert_int_equal(strlen(s.last), 1023);
}

static void level_names(void **state)
{
    (void)state;
    assert_string_equal(vt_log_level_name(VT_LOG_ERROR), "error");
    assert_string_equal(vt_log_level_name(VT_LOG_WARNING), "warning");
    assert_string_equal(vt_log_level_name(VT_LOG_INFO), "info");
    assert_string_equal(vt_log_level_name(VT_LOG_DEBUG), "debug");
    assert_string_equal(vt_log_level_name((vt_log_level)9), "unknown");
}

enum { THREADS = 4, LINES = 500 };

static void *log_lines(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int m = 0; m < LINES; m++)
        vt__log(2, "thread %d line %d", n, m);
    return NULL;
}

static void lines_from_many_threads_arrive_whole(void **state)
{
    (void)state;
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    vt_set_log_handler(keep, &s);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_lines, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    vt_set_log_handler(NULL, NULL);
    assert_int_equal(s.count, THREADS * LINES);
    assert_int_equal(s.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_handler_gets_level_message_and_user_data),
        cmocka_unit_test(a_long_line_loses_its_tail_only),
        cmocka_unit_test(level_names),
        cmocka_unit_test(lines_from_many_threads_arrive_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
