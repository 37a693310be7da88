/*
 * content: what the content commands share: reading a file through the
 * importer, and query-string escaping.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BYTES (1u << 20)

int cli_import_fd(int fd, const import_opts *o, block_sink sink, void *arg, void (*progress)(void *, uint64_t),
                  void *parg, cid *root, uint64_t *size, uint64_t *tsize, char *err, size_t errlen)
{
    importer *im = importer_new(o, sink, arg);
    uint8_t *buf = malloc(READ_BYTES);
    if (!im || !buf) {
        importer_free(im);
        free(buf);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    uint64_t done = 0;
    int rc = 0;
    for (;;) {
        ssize_t got = read(fd, buf, READ_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -1;
            snprintf(err, errlen, "reading: %s", strerror(errno));
            break;
        }
        if (got == 0)
            break;
        if (importer_write(im, buf, (size_t)got) != 0) {
            rc = -1;
            snprintf(err, errlen, "storing blocks failed");
            break;
        }
        done += (uint64_t)got;
        if (progress)
            progress(parg, done);
    }
    if (!rc && importer_finish(im, root, size, tsize) != 0) {
        rc = -1;
        snprintf(err, errlen, "storing blocks failed");
    }
    importer_free(im);
    free(buf);
    return rc;
}

int cli_import_file(const char *path, const import_opts *o, block_sink sink, void *arg, cid *root, uint64_t *size,
                    uint64_t *tsize, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0)
        return snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1;
    int rc = cli_import_fd(fd, o, sink, arg, NULL, NULL, root, size, tsize, err, errlen);
    if (fd)
        close(fd);
    return rc;
}

void cli_escape(char *out, size_t cap, const char *in, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c) ||
            (keep_slash && c == '/'))
            out[o++] = (char)c;
        else
            out[o++] = '%', out[o++] = hex[c >> 4], out[o++] = hex[c & 15];
    }
    out[o] = '\0';
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_read_dir(const char *dir, int (*keep)(void *arg, const char *name), void *arg, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("cannot open %s: %s", dir, strerror(errno));
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    errno = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !keep(arg, e->d_name)) {
            errno = 0;
            continue;
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            char **w = realloc(v, cap * sizeof *v);
            if (!w) {
                rc = cli_fail("out of memory");
                break;
            }
            v = w;
        }
        if (!(v[cnt] = strdup(e->d_name))) {
            rc = cli_fail("out of memory");
            break;
        }
        cnt++;
        errno = 0;
    }
    if (!rc && errno)
        rc = cli_fail("cannot read %s: %s", dir, strerror(errno));
    closedir(d);
    if (rc) {
        cli_free_names(v, cnt);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, name_cmp);
    *names = v;
    *n = cnt;
    return 0;
}

void cli_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
