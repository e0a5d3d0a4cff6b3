/* Load generator and echo handler of tests/bench/accept.py: local or loopback connections only. */

/*
 * loadgen run ADDRESS N C     N connections from C client threads (1..64);
 *                             prints "cps=X p50_us=X p99_us=X err=N",
 *                             exits 0 when err is 0, else 1
 * loadgen probe ADDRESS WAIT_S
 *                             one exchange, retried until it succeeds (exit 0)
 *                             or WAIT_S seconds have passed (exit 1)
 * loadgen echo                copy fd 0 to fd 1 until end of file: the
 *                             handler every server under test runs
 *
 * ADDRESS: unix:PATH (AF_UNIX, SOCK_STREAM), seq:PATH (AF_UNIX,
 * SOCK_SEQPACKET), tcp:HOST:PORT with HOST in 127.0.0.0/8 or [::1].
 *
 * An exchange: connect, send "ping I\n", shut the sending side, read to end
 * of file, compare, close. Its latency is the wall time of all of it, so it
 * holds the server's accept and the start of its handler. No connection is
 * started after 60 s, and every socket gives up after 5 s without progress,
 * so a run always ends.
 *
 * Build: cc -O2 -Wall -Wextra -pthread [-static] -o loadgen loadgen.c
 */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CLIENTS = 64, START_LIMIT_S = 60, TIMEOUT_S = 5 };

struct target {
    struct sockaddr_storage address;
    socklen_t length;
    int family;
    int type;
};

static struct target target;

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int parse_port(const char *text)
{
    char *end;
    errno = 0;
    long port = strtol(text, &end, 10);
    if (errno || end == text || *end || port < 1 || port > 65535)
        return -1;
    return (int)port;
}

/* Fills TARGET from ADDRESS; a message on stderr and -1 when it is not one we may use. */
static int parse_address(const char *text)
{
    memset(&target, 0, sizeof target);
    if (!strncmp(text, "unix:", 5) || !strncmp(text, "seq:", 4)) {
        const char *path = strchr(text, ':') + 1;
        struct sockaddr_un *un = (struct sockaddr_un *)&target.address;
        size_t length = strlen(path);
        if (length == 0 || length >= sizeof un->sun_path) {
            fprintf(stderr, "loadgen: bad socket path: %s\n", text);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, length + 1);
        target.length = (socklen_t)sizeof *un;
        target.family = AF_UNIX;
        target.type = text[0] == 's' ? SOCK_SEQPACKET : SOCK_STREAM;
        return 0;
    }
    if (strncmp(text, "tcp:", 4)) {
        fprintf(stderr, "loadgen: address is unix:PATH, seq:PATH or tcp:HOST:PORT: %s\n", text);
        return -1;
    }
    const char *host = text + 4;
    const char *colon = strrchr(host, ':');
    char name[INET6_ADDRSTRLEN + 2];
    int port;
    if (!colon || (size_t)(colon - host) >= sizeof name || (port = parse_port(colon + 1)) < 0) {
        fprintf(stderr, "loadgen: bad TCP address: %s\n", text);
        return -1;
    }
    memcpy(name, host, (size_t)(colon - host));
    name[colon - host] = '\0';
    target.type = SOCK_STREAM;
    size_t length = strlen(name);
    if (length >= 2 && name[0] == '[' && name[length - 1] == ']') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&target.address;
        name[length - 1] = '\0';
        if (inet_pton(AF_INET6, name + 1, &in6->sin6_addr) != 1 || !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            fprintf(stderr, "loadgen: refused, not [::1]: %s\n", text);
            return -1;
        }
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        target.length = (socklen_t)sizeof *in6;
        target.family = AF_INET6;
        return 0;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&target.address;
    if (inet_pton(AF_INET, name, &in4->sin_addr) != 1 || (ntohl(in4->sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: refused, not in 127.0.0.0/8: %s\n", text);
        return -1;
    }
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    target.length = (socklen_t)sizeof *in4;
    target.family = AF_INET;
    return 0;
}

/* One exchange, line "ping ID\n"; 0 when the reply was the line, else the errno met
   (or EPROTO for a wrong reply). */
static int exchange(long id)
{
    char line[32], reply[256];
    int length = snprintf(line, sizeof line, "ping %ld\n", id);
    size_t got = 0;
    int failure = 0;
    struct timeval timeout = { TIMEOUT_S, 0 };

    int fd = socket(target.family, target.type, 0);
    if (fd < 0)
        return errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0
        || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0
        || connect(fd, (struct sockaddr *)&target.address, target.length) < 0) {
        failure = errno;
        goto done;
    }
    for (int sent = 0; sent < length;) {
        ssize_t n = send(fd, line + sent, (size_t)(length - sent), MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR) {
            failure = errno;
            goto done;
        }
        if (n > 0)
            sent += (int)n;
    }
    if (shutdown(fd, SHUT_WR) < 0) {
        failure = errno;
        goto done;
    }
    for (;;) {
        ssize_t n = read(fd, reply + got, sizeof reply - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            failure = errno;
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == sizeof reply) {  /* far more than was sent: wrong */
            failure = EPROTO;
            goto done;
        }
    }
    if (got != (size_t)length || memcmp(reply, line, got))
        failure = EPROTO;
done:
    close(fd);
    return failure;
}

/* State shared by the client threads of a run. */
static long total;
static atomic_long next_id;
static atomic_long failures;
static atomic_int first_failure;
static double stop_starting;
static double *latency_us;  /* per connection; negative: failed or never started */

static void *client(void *unused)
{
    (void)unused;
    for (;;) {
        long id = atomic_fetch_add(&next_id, 1);
        if (id >= total || seconds_now() > stop_starting)
            return NULL;
        double start = seconds_now();
        int failure = exchange(id);
        if (failure) {
            int none = 0;
            atomic_fetch_add(&failures, 1);
            atomic_compare_exchange_strong(&first_failure, &none, failure);
        } else {
            latency_us[id] = (seconds_now() - start) * 1e6;
        }
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least FRACTION of the values at or below it. */
static double percentile(const double *sorted, long count, double fraction)
{
    if (count == 0)
        return 0;
    long rank = (long)(fraction * (double)count);
    if ((double)rank < fraction * (double)count)
        rank++;
    return sorted[(rank < 1 ? 1 : rank) - 1];
}

static int run(long connections, int clients)
{
    pthread_t threads[MAX_CLIENTS];
    int started = 0;

    if (clients > connections)
        clients = (int)connections;
    total = connections;
    latency_us = malloc((size_t)connections * sizeof *latency_us);
    if (!latency_us) {
        perror("loadgen");
        return 1;
    }
    for (long i = 0; i < connections; i++)
        latency_us[i] = -1;
    double start = seconds_now();
    stop_starting = start + START_LIMIT_S;
    for (int i = 0; i < clients; i++)
        if (pthread_create(&threads[i], NULL, client, NULL) == 0)
            started++;
    if (started == 0) {
        fputs("loadgen: no client thread could start\n", stderr);
        return 1;
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    double elapsed = seconds_now() - start;

    long ok = 0;
    for (long i = 0; i < connections; i++)
        if (latency_us[i] >= 0)
            latency_us[ok++] = latency_us[i];
    qsort(latency_us, (size_t)ok, sizeof *latency_us, by_value);
    long errors = connections - ok;
    long failed = atomic_load(&failures);
    if (failed)
        fprintf(stderr, "loadgen: %ld connection(s) failed, the first with: %s\n", failed,
                atomic_load(&first_failure) == EPROTO ? "a wrong reply" : strerror(atomic_load(&first_failure)));
    if (errors > failed)
        fprintf(stderr, "loadgen: %ld connection(s) not started within %d s\n", errors - failed, START_LIMIT_S);
    printf("cps=%.1f p50_us=%.0f p99_us=%.0f err=%ld\n", elapsed > 0 ? (double)ok / elapsed : 0.0,
           percentile(latency_us, ok, 0.50), percentile(latency_us, ok, 0.99), errors);
    free(latency_us);
    return errors == 0 ? 0 : 1;
}

static int probe(double wait_s)
{
    double give_up = seconds_now() + wait_s;
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    int failure;
    while ((failure = exchange(0)) != 0 && seconds_now() < give_up)
        nanosleep(&pause, NULL);
    if (failure)
        fprintf(stderr, "loadgen: no answer within %g s: %s\n", wait_s,
                failure == EPROTO ? "a wrong reply" : strerror(failure));
    return failure ? 1 : 0;
}

/* One read is one message on a SOCK_SEQPACKET socket: the buffer holds any line we send. */
static int echo(void)
{
    static char buffer[65536];
    for (;;) {
        ssize_t n = read(0, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1;
        if (n == 0)
            return 0;
        for (ssize_t written = 0; written < n;) {
            ssize_t w = write(1, buffer + written, (size_t)(n - written));
            if (w < 0 && errno != EINTR)
                return 1;
            if (w > 0)
                written += w;
        }
    }
}

static int usage(void)
{
    fputs("usage: loadgen run ADDRESS N C\n"
          "       loadgen probe ADDRESS WAIT_S\n"
          "       loadgen echo\n"
          "ADDRESS: unix:PATH, seq:PATH, tcp:127.x.y.z:PORT or tcp:[::1]:PORT\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "echo"))
        return echo();
    if (argc < 4)
        return usage();
    if (parse_address(argv[2]) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    char *end;
    if (argc == 4 && !strcmp(argv[1], "probe")) {
        double wait_s = strtod(argv[3], &end);
        if (*end || !(wait_s >= 0))
            return usage();
        return probe(wait_s);
    }
    if (argc == 5 && !strcmp(argv[1], "run")) {
        long connections = strtol(argv[3], &end, 10);
        if (*end || connections < 1)
            return usage();
        long clients = strtol(argv[4], &end, 10);
        if (*end || clients < 1 || clients > MAX_CLIENTS)
            return usage();
        return run(connections, (int)clients);
    }
    return usage();
}
