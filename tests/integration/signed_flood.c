/*
 * signed_flood: many signed API requests, each with a fresh signature, over
 * one keep-alive connection (auth_spec.lua: the replay flood; the soak test).
 *
 *     signed_flood [-d BODY] [-a SECONDS] [-H] PORT KEYFILE COUNT PATH [PATH...]
 *
 * Request i is a POST of BODY (default empty) to PATH number i % (number of paths)
 * on 127.0.0.1:PORT, signed by KEYFILE as `leither` signs, with a clock
 * SECONDS ahead (-a; a client whose clock runs fast). Prints one line per
 * status seen, "STATUS COUNT", in the order first seen; exits 1 when the
 * node stopped answering. -H sends nothing and prints the Authorization
 * value of the first request instead.
 */
#include "node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("signed_flood: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; its status, or -1 when the connection ended. */
static int read_response(int fd, int *keep_alive)
{
    static char buf[1 << 16];
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        if (got == sizeof buf - 1)
            return -1;
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t head = (size_t)(end + 4 - buf), length = 0;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl && cl < end)
        length = strtoul(cl + 17, NULL, 10);
    const char *conn = strcasestr(buf, "\r\nconnection: close");
    *keep_alive = !(conn && conn < end);
    size_t have = got - head;
    while (have < length) {
        ssize_t r = recv(fd, buf, sizeof buf < length - have ? sizeof buf : length - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

int main(int argc, char **argv)
{
    const char *body = "";
    int64_t ahead = 0;
    int header_only = 0;
    for (;;) {
        if (argc > 2 && !strcmp(argv[1], "-d"))
            body = argv[2];
        else if (argc > 2 && !strcmp(argv[1], "-a"))
            ahead = atoll(argv[2]);
        else if (argc > 1 && !strcmp(argv[1], "-H"))
            header_only = 1;
        else
            break;
        int used = strcmp(argv[1], "-H") ? 2 : 1;
        argv += used;
        argc -= used;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: signed_flood [-d BODY] [-a SECONDS] [-H] PORT KEYFILE COUNT PATH [PATH...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long count = atol(argv[3]);
    char err[512];
    ids_key key;
    if (ids_init() != 0 || ids_key_load(&key, argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "signed_flood: %s\n", err);
        return 2;
    }
    int statuses[16] = {0}, seen = 0, fd = -1;
    long counts[16] = {0};
    for (long i = 0; i < count; i++) {
        const char *path = argv[4 + i % (argc - 4)];
        char auth[AUTH_HEADER_MAX], req[AUTH_HEADER_MAX + 1024];
        size_t bodylen = strlen(body);
        auth_sign(auth, &key, "POST", path, strlen(path), body, bodylen, (int64_t)time(NULL) + ahead);
        if (header_only) {
            printf("%s\n", auth);
            return 0;
        }
        if (fd < 0 && (fd = dial(port)) < 0)
            return 1;
        int n = snprintf(req, sizeof req,
                         "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                         path, auth, bodylen);
        int keep = 0, status = -1;
        if (n > 0 && (size_t)n < sizeof req && send_all(fd, req, (size_t)n) == 0 && send_all(fd, body, bodylen) == 0)
            status = read_response(fd, &keep);
        if (status < 0) {
            fprintf(stderr, "signed_flood: request %ld: the node stopped answering\n", i + 1);
            return 1;
        }
        if (!keep) {
            close(fd);
            fd = -1;
        }
        int k = 0;
        while (k < seen && statuses[k] != status)
            k++;
        if (k == seen && seen < 16)
            statuses[seen++] = status;
        if (k < 16)
            counts[k]++;
    }
    for (int k = 0; k < seen; k++)
        printf("%d %ld\n", statuses[k], counts[k]);
    if (fd >= 0)
        close(fd);
    return 0;
}
