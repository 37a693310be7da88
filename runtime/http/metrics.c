/*
 * metrics: /metrics (http.h). The counters node.h keeps, then what is read
 * at scrape time: the LMDB environment, the blocks, the process. Nothing
 * here scans: a scrape costs a few LMDB stats and two small /proc reads.
 *
 * Who may read: Prometheus scrapes without credentials, and the node faces
 * the internet; the figures (traffic, command mix, sizes, breaches) tell an
 * attacker how the node is used and how close it is to its limits. So by
 * default only clients on this machine (loopback) read them; "public"
 * serves everyone (a scraper elsewhere, behind a firewall), "off" nobody.
 */
#include "http.h"

#include "buf.h"
#include "db.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int peer_is_loopback(h2o_req_t *req)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len == 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static void gauge(buf *out, const char *name, const char *help, double value)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}

static void write_lmdb(buf *out, node *n)
{
    MDB_env *env = db_lmdb(n->db);
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0)
        return;
    gauge(out, "leither_lmdb_map_size_bytes", "The LMDB map's size: the most the databases and blocks can hold.",
          (double)info.me_mapsize);
    double used = (double)(info.me_last_pgno + 1) * st.ms_psize;
    gauge(out, "leither_lmdb_used_bytes", "Bytes of the LMDB map in use (pages up to the last one written).", used);
    gauge(out, "leither_lmdb_map_used_ratio", "leither_lmdb_used_bytes / leither_lmdb_map_size_bytes.",
          info.me_mapsize ? used / (double)info.me_mapsize : 0);
    int fd;
    struct stat fst;
    if (mdb_env_get_fd(env, &fd) == 0 && fstat(fd, &fst) == 0)
        gauge(out, "leither_lmdb_file_size_bytes", "The size of the LMDB data file on disk.", (double)fst.st_size);
    gauge(out, "leither_lmdb_readers", "LMDB reader slots in use.", (double)info.me_numreaders);
    gauge(out, "leither_lmdb_readers_max", "LMDB reader slots.", (double)info.me_maxreaders);
}

static void write_blocks(buf *out, node *n)
{
    uint64_t blocks, bytes;
    char err[256];
    if (bs_size(n->bs, &blocks, &bytes, err, sizeof err) != 0)
        return;
    gauge(out, "leither_blocks", "Blocks in the content store.", (double)blocks);
    gauge(out, "leither_blocks_bytes", "Bytes of the LMDB pages the content store's blocks take.", (double)bytes);
}

static void write_process(buf *out, node *n)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    buf_printf(out, "# HELP leither_info The node's version.\n# TYPE leither_info gauge\n"
                    "leither_info{version=\"" LEITHER_VERSION "\"} 1\n");
    gauge(out, "leither_uptime_seconds", "Seconds since the node started.",
          (double)(now.tv_sec - n->started.tv_sec) + (double)(now.tv_nsec - n->started.tv_nsec) / 1e9);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages_total, pages_resident;
    if (f && fscanf(f, "%lu %lu", &pages_total, &pages_resident) == 2)
        gauge(out, "process_resident_memory_bytes", "Resident memory of the node's process.",
              (double)pages_resident * (double)sysconf(_SC_PAGESIZE));
    if (f)
        fclose(f);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long fds = -1; /* the one opendir holds */
        while (readdir(d))
            fds++;
        closedir(d);
        gauge(out, "process_open_fds", "Open file descriptors of the node's process.", (double)(fds - 2));
    }
}

int http_on_metrics(h2o_req_t *req, node *n)
{
    int who = n->home.metrics;
    if (who == HOME_METRICS_OFF || !h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics")))
        return http_reply(req, 404, "text/plain; charset=utf-8", H2O_STRLIT("404 not found\n"));
    if (who == HOME_METRICS_LOOPBACK && !peer_is_loopback(req))
        return http_reply(req, 403, "text/plain; charset=utf-8",
                          H2O_STRLIT("403 /metrics answers clients on this machine only: set \"metrics\" to "
                                     "\"public\" in SystemVars.json to serve it to others\n"));
    if (!http_is_method(req, "GET") && !http_is_method(req, "HEAD"))
        return http_reply(req, 405, "text/plain; charset=utf-8", H2O_STRLIT("405 GET /metrics\n"));
    buf out = {0};
    size_t counted_len = 0;
    char *counted = metrics_text(&counted_len);
    if (counted)
        buf_append(&out, counted, counted_len);
    else
        out.failed = 1;
    free(counted);
    write_lmdb(&out, n);
    write_blocks(&out, n);
    write_process(&out, n);
    if (out.failed) {
        buf_free(&out);
        return http_reply(req, 503, "text/plain; charset=utf-8", H2O_STRLIT("503 out of memory\n"));
    }
    http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.p, out.len);
    buf_free(&out);
    return 0;
}
