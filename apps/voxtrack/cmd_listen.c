/*
 * apps/voxtrack/cmd_listen.c - `voxtrack listen URL`: prints what arrives on
 * a stream (udp://, tcp://, shm://, file://) as JSON lines, one per message,
 * decoded by vt_wire_to_json, and a summary with the loss counts at the end
 * (count reached, timeout, SIGINT or SIGTERM, end of a file).
 *
 * The receiver is polled in slices of at most 200 ms, so that a signal or
 * the timeout ends the command promptly whatever the transport. Garbage,
 * truncated frames and messages that do not decode are counted, never
 * fatal.
 */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

typedef struct listen_flags {
    uint64_t count;
    double timeout;
    bool json, quiet;
    const char *save; /* --save DIR: each message's bytes to DIR/SEQ-TYPE.pb */
} listen_flags;

static void usage(void)
{
    printf("Usage: voxtrack listen URL [options]\n"
           "\n"
           "Prints each message that arrives on a stream as one JSON line on stdout:\n"
           "  {\"type\": \"TrackBatch\", \"seq\": 12, \"bytes\": 345, \"msg\": {...}}\n"
           "(\"msg\" is null, with an \"error\", for a message that does not decode), and\n"
           "at the end a summary on stderr: received, lost (gaps in the sequence\n"
           "numbers), garbage (frames that are not frames, truncated ones included),\n"
           "overruns (shared memory), duplicates, reordered, reconnects.\n"
           "\n"
           "URL:\n"
           "  udp://ADDR:PORT     binds ADDR:PORT (PORT 0: any; the port is told on\n"
           "                      stderr); a multicast group is joined, on the\n"
           "                      interface ?iface=ADDR (default: any)\n"
           "  tcp://HOST:PORT     connects to a sender; reconnects when it goes away\n"
           "  shm://NAME          reads a shared-memory ring; waits for its producer\n"
           "  file://PATH         replays a binary log to its end\n"
           "Details and the byte layout: docs/TRANSPORTS.md.\n"
           "\n"
           "Options:\n"
           "  --count N       stop after N messages\n"
           "  --timeout S     stop after S seconds (default: run until interrupted)\n"
           "  --json          the summary as a last JSON line on stdout, too\n"
           "  --quiet         no message lines\n"
           "  --save DIR      also write each message's protobuf bytes to\n"
           "                  DIR/SEQ-TYPE.pb (decode with protoc --decode=voxtrack.v1.TYPE)\n"
           "  -h, --help      show this help\n"
           "\n"
           "Exit status: 0 when it stopped as asked (count, timeout, Ctrl-C, end of\n"
           "file), 1 when the stream cannot be opened or fails, 2 bad command line.\n");
}

static void print_message(vt_receiver *r, vt_msg_type type, const uint8_t *msg, size_t len)
{
    printf("{\"type\": ");
    cli_json_string(stdout, vt_msg_type_name(type));
    printf(", \"type_id\": %d, \"seq\": %" PRIu64 ", \"bytes\": %zu, \"msg\": ", (int)type,
           vt_receiver_seq(r), len);
    char *json = NULL;
    vt_clear_error();
    vt_status s = vt_wire_to_json(type, msg, len, &json);
    if (s == VT_OK && json) {
        fputs(json, stdout);
    } else {
        printf("null, \"error\": ");
        cli_json_string(stdout, *vt_last_error() ? vt_last_error() : vt_strerror(s));
    }
    free(json);
    printf("}\n");
}

static void print_summary(const vt_receiver_stats *st, bool json, double seconds, const char *why)
{
    fprintf(stderr,
            "voxtrack listen: %s: received %" PRIu64 ", lost %" PRIu64 ", garbage %" PRIu64
            " (truncated %" PRIu64 "), overruns %" PRIu64 ", duplicates %" PRIu64
            ", reordered %" PRIu64 ", reconnects %" PRIu64 "\n",
            why, st->received, st->lost, st->garbage, st->truncated, st->overruns, st->duplicates,
            st->reordered, st->reconnects);
    if (!json)
        return;
    printf("{\"summary\": {\"stopped\": ");
    cli_json_string(stdout, why);
    printf(", \"seconds\": %.3f, \"received\": %" PRIu64 ", \"bytes\": %" PRIu64
           ", \"lost\": %" PRIu64 ", \"garbage\": %" PRIu64 ", \"truncated\": %" PRIu64
           ", \"overruns\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"reordered\": %" PRIu64
           ", \"reconnects\": %" PRIu64 ", \"restarts\": %" PRIu64 "}}\n",
           seconds, st->received, st->bytes, st->lost, st->garbage, st->truncated, st->overruns,
           st->duplicates, st->reordered, st->reconnects, st->restarts);
}

/* Writes one message's bytes to DIR/SEQ-TYPE.pb. Prints any error. */
static bool save_message(const char *cmd, const char *dir, uint64_t seq, vt_msg_type type,
                         const uint8_t *msg, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%06" PRIu64 "-%s.pb", dir, seq, vt_msg_type_name(type));
    FILE *fp = fopen(path, "wb");
    bool ok = fp && fwrite(msg, 1, len, fp) == len;
    if (fp && fclose(fp) != 0)
        ok = false;
    if (!ok)
        cli_error(cmd, "--save: cannot write '%s'", path);
    return ok;
}

/* Receives until a stop condition; returns the exit status. */
static int listen_loop(const char *cmd, vt_receiver *r, const listen_flags *f)
{
    double start = cli_now();
    uint64_t n = 0;
    const char *why = "interrupted";
    int rc = CLI_EXIT_OK;
    for (;;) {
        if (stop_signal)
            break;
        if (f->count && n >= f->count) {
            why = "count reached";
            break;
        }
        int slice = 200;
        if (f->timeout > 0) {
            double left = f->timeout - (cli_now() - start);
            if (left <= 0) {
                why = "timeout";
                break;
            }
            if (left * 1e3 < slice)
                slice = (int)ceil(left * 1e3);
        }
        vt_msg_type type;
        const uint8_t *msg;
        size_t len;
        bool end = false;
        vt_status s = vt_receiver_next(r, slice, &type, &msg, &len, &end);
        if (s != VT_OK) {
            cli_lib_error(cmd, s);
            why = "error";
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (end) {
            why = "end of file";
            break;
        }
        if (type == 0)
            continue;
        n++;
        if (!f->quiet)
            print_message(r, type, msg, len);
        if (f->save && !save_message(cmd, f->save, vt_receiver_seq(r), type, msg, len)) {
            why = "error";
            rc = CLI_EXIT_FAIL;
            break;
        }
    }
    vt_receiver_stats st;
    vt_receiver_get_stats(r, &st);
    print_summary(&st, f->json, cli_now() - start, why);
    if (fflush(stdout) != 0)
        rc = CLI_EXIT_FAIL;
    return rc;
}

int cmd_listen(int argc, char **argv)
{
    const char *cmd = "listen";
    listen_flags f = {0};
    const cli_option opts[] = {
        {"--count", CLI_U64, &f.count},  {"--timeout", CLI_DOUBLE, &f.timeout},
        {"--json", CLI_BOOL, &f.json},   {"--quiet", CLI_BOOL, &f.quiet},
        {"--save", CLI_STRING, &f.save},
    };
    cli_args args;
    int rc = cli_parse_args(cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, &args);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (args.help) {
        usage();
        return CLI_EXIT_OK;
    }
    if (args.count != 1) {
        cli_usage_error(cmd, "expected one URL (udp://, tcp://, shm:// or file://)");
        return CLI_EXIT_USAGE;
    }
    if (f.timeout < 0) {
        cli_usage_error(cmd, "--timeout: %g must be >= 0 (0 = no timeout)", f.timeout);
        return CLI_EXIT_USAGE;
    }
    if (f.save && !cli_ensure_dir(cmd, f.save))
        return CLI_EXIT_FAIL;
    const char *url = args.positional[0];
    vt_receiver *r = NULL;
    vt_clear_error();
    vt_status s = vt_receiver_open(url, &r);
    if (s != VT_OK) {
        cli_lib_error(cmd, s);
        return s == VT_EINVAL || s == VT_ERANGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    /* Lines reach a pipe as they come. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!f.quiet) {
        int port = vt_receiver_port(r);
        if (port > 0)
            fprintf(stderr, "voxtrack listen: listening on %s (port %d)\n", url, port);
        else
            fprintf(stderr, "voxtrack listen: listening on %s\n", url);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = listen_loop(cmd, r, &f);
    vt_receiver_free(r);
    return rc;
}
