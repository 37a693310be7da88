/*
 * fuzz_resp_conn: the RESP server's whole read/dispatch path (resp.c) with
 * a slow reader.
 *
 * One RESP server runs on a loopback port over a real LMDB environment in a
 * temporary folder, on its own loop thread as in the node. Each input is the
 * byte stream of one connection: its first byte sets how much the client
 * writes at a time and how little it reads in between (a slow reader), the
 * rest is sent, then the client leaves. A second connection must then be
 * answered (PING) within seconds: a hung loop, a crash, a leak or an
 * ASan/UBSan report is a finding.
 */
#include "db.h"
#include "resp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ANSWER_WITHIN_MS 10000

static node n;
static int port;
static int watcher = -1;

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("fuzz_resp_conn: connect");
        abort();
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void setup(void)
{
    static char dir[] = "/tmp/leither-fuzz-resp-conn-XXXXXX";
    char err[256];
    if (port)
        return;
    signal(SIGPIPE, SIG_IGN); /* a server that closed is an answer, not a reason to stop */
    if (!mkdtemp(dir) || !(n.db = db_open(dir, DB_SYNC_NO, err, sizeof err))) {
        fprintf(stderr, "fuzz_resp_conn: %s\n", err);
        abort();
    }
    db_set_limits(n.db, 64 * 1024, 1 << 20); /* small, so that a unit stays fast */
    n.home.listen = "127.0.0.1";
    snprintf(n.home.dir, sizeof n.home.dir, "%s", dir);
    for (int i = 0; i < 50 && !n.resp; i++) {
        port = 20000 + (int)(((unsigned)getpid() * 7919u + (unsigned)i * 104729u) % 40000u);
        n.resp = resp_start(&n, n.db, port, 0, err, sizeof err);
    }
    if (!n.resp) {
        fprintf(stderr, "fuzz_resp_conn: %s\n", err);
        abort();
    }
    watcher = dial();
}

/* The ordinary client: PING is answered within ANSWER_WITHIN_MS. An input
 * may have closed it (CLIENT KILL): then a new one asks. */
static int ping(int fd)
{
    if (send(fd, "PING\r\n", 6, MSG_NOSIGNAL) != 6)
        return -1;
    char buf[7];
    size_t got = 0;
    while (got < 7) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ANSWER_WITHIN_MS) != 1) {
            fprintf(stderr, "fuzz_resp_conn: the server did not answer another client\n");
            abort();
        }
        ssize_t r = read(fd, buf + got, 7 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    if (memcmp(buf, "+PONG\r\n", 7)) {
        fprintf(stderr, "fuzz_resp_conn: the other client got '%.7s'\n", buf);
        abort();
    }
    return 0;
}

static void check_alive(void)
{
    if (ping(watcher) == 0)
        return;
    close(watcher);
    watcher = dial();
    if (ping(watcher) != 0) {
        fprintf(stderr, "fuzz_resp_conn: a new client was not answered\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    size_t chunk = 1 + (data[0] & 0x0f) * 97;  /* bytes written at a time */
    size_t sip = (size_t)(data[0] >> 4) * 16;  /* bytes read in between: 0 reads nothing until the end */
    data++, size--;
    int fd = dial();
    int small = 4096; /* a small receive buffer: the server's output backs up soon */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    static const char reset[] = "*1\r\n$7\r\nFLUSHDB\r\n";
    if (send(fd, reset, sizeof reset - 1, MSG_NOSIGNAL) < 0)
        return close(fd), 0;
    char sink[4096];
    size_t sent = 0;
    int rounds = 0;
    while (sent < size && rounds++ < 100000) {
        struct pollfd p = {.fd = fd, .events = POLLOUT | (sip ? POLLIN : 0)};
        if (poll(&p, 1, 50) <= 0)
            break; /* the server reads no more (paused, or closing): leave */
        if (p.revents & (POLLERR | POLLHUP))
            break;
        if (p.revents & POLLOUT) {
            size_t len = size - sent < chunk ? size - sent : chunk;
            ssize_t w = send(fd, data + sent, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                break;
            sent += w > 0 ? (size_t)w : 0;
        }
        if ((p.revents & POLLIN) && recv(fd, sink, sip, MSG_DONTWAIT) == 0)
            break; /* the server closed */
    }
    close(fd); /* leaves with replies unread: the server must drop the connection */
    check_alive();
    return 0;
}
