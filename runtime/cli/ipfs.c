/*
 * ipfs: `leither ipfs add`, as `ipfs add` (kubo) does it: the same CIDs, the
 * same `added CID NAME` lines (children before their directory, the root
 * last), -q/-Q, stdin when the file is `-` or missing. Files are read in
 * large blocks and streamed through the importer (store.h), so memory stays
 * at one read buffer, one chunk and one partial node per tree level.
 * With -n nothing is stored; otherwise the blocks go to the node.
 */
#include "cli.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BLOCK (1 << 20)

typedef struct {
    const cli_args *a;
    import_opts o;
    block_sink sink;
    void *sink_arg;
    cli_uploader *uploader; /* NULL with -n */
    /* progress on stderr */
    int progress;
    uint64_t done, total, base;
    double start, last_draw;
    int drawn;
    /* what was printed last (-Q prints only that) */
    char last[CID_TEXT_MAX];
    /* the result lines: stdout with -n; else held (open_memstream) until the
     * node has stored and pinned everything, so a failed add prints none */
    FILE *out;
    char *held;
    size_t held_len;
} add_ctx;

static int sink_none(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    (void)arg, (void)c, (void)block, (void)len;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "12.00 MiB" */
static void human(char *out, size_t cap, double v)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%.0f %s", v, units[u]);
    else
        snprintf(out, cap, "%.2f %s", v, units[u]);
}

static void progress_draw(add_ctx *x, int force)
{
    if (!x->progress)
        return;
    double t = now();
    if (!force && t - x->last_draw < 0.1)
        return;
    x->last_draw = t;
    char done[32], total[32], rate[32], bar[32];
    double secs = t - x->start;
    human(done, sizeof done, (double)x->done);
    human(rate, sizeof rate, secs > 0 ? (double)x->done / secs : 0);
    if (x->total) {
        double frac = x->done >= x->total ? 1.0 : (double)x->done / (double)x->total;
        int width = 30, fill = (int)(frac * width);
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '=' : i == fill ? '>' : '-';
        bar[width] = '\0';
        human(total, sizeof total, (double)x->total);
        fprintf(stderr, "\r\033[K %s / %s [%s] %.2f%% %s/s", done, total, bar, frac * 100, rate);
    } else {
        fprintf(stderr, "\r\033[K %s %s/s", done, rate);
    }
    fflush(stderr);
    x->drawn = 1;
}

static void progress_clear(add_ctx *x)
{
    if (x->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        x->drawn = 0;
    }
}

/* Prints one result line (kubo's format); -Q keeps only the last. */
static void report(add_ctx *x, const cid *c, const char *name)
{
    cid_format(c, x->last);
    if (x->a->quieter)
        return;
    if (x->a->quiet)
        fprintf(x->out, "%s\n", x->last);
    else
        fprintf(x->out, "added %s %s\n", x->last, name ? name : x->last);
    if (x->out == stdout) {
        progress_clear(x);
        fflush(stdout);
    }
}

static int is_hidden(const char *name) { return name[0] == '.'; }

static void on_progress(void *arg, uint64_t bytes)
{
    add_ctx *x = arg;
    x->done = x->base + bytes;
    progress_draw(x, 0);
}

/* Streams fd through the importer. */
static int add_fd(add_ctx *x, int fd, const char *path, cid *root, uint64_t *tsize)
{
    char err[1024];
    uint64_t size;
    x->base = x->done;
    if (cli_import_fd(fd, &x->o, x->sink, x->sink_arg, on_progress, x, root, &size, tsize, err, sizeof err) != 0) {
        if (x->uploader && cli_uploader_error(x->uploader))
            snprintf(err, sizeof err, "%s", cli_uploader_error(x->uploader));
        return cli_fail("adding %s: %s", path, err);
    }
    return 0;
}

/* Entries -r takes: hidden ones only with --hidden. */
static int keep_entry(void *arg, const char *name) { return !is_hidden(name) || ((add_ctx *)arg)->a->hidden; }

/* The bytes -r will read under path, for the progress bar's total. */
static uint64_t size_of(add_ctx *x, const char *path, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode))
        return (uint64_t)st.st_size;
    if (!S_ISDIR(st.st_mode) || !x->a->recursive || depth > 64)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (is_hidden(e->d_name) && !x->a->hidden))
            continue;
        char *sub;
        if (asprintf(&sub, "%s/%s", path, e->d_name) < 0)
            continue;
        sum += size_of(x, sub, depth + 1);
        free(sub);
    }
    closedir(d);
    return sum;
}

/* Adds path (shown as name) and prints it; its root and cumulative size. */
static int add_path(add_ctx *x, const char *path, const char *name, cid *root, uint64_t *tsize)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return cli_fail("cannot open %s: %s", path, strerror(errno));
    int rc = 0;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlink(path, target, PATH_MAX);
        if (n < 0)
            return cli_fail("cannot read the symlink %s: %s", path, strerror(errno));
        target[n] = '\0';
        if (ufs_make_symlink(&x->o, target, x->sink, x->sink_arg, root, tsize) != 0)
            return cli_fail("adding %s failed", path);
    } else if (S_ISDIR(st.st_mode)) {
        if (!x->a->recursive)
            return cli_fail("%s is a directory: add it with -r", path);
        char **v = NULL;
        size_t n = 0;
        if ((rc = cli_read_dir(path, keep_entry, x, &v, &n)))
            return rc;
        dir_entry *entries = calloc(n ? n : 1, sizeof *entries);
        if (!entries) {
            cli_free_names(v, n);
            return cli_fail("out of memory");
        }
        for (size_t i = 0; i < n && !rc; i++) {
            char *sub = NULL, *subname = NULL;
            if (asprintf(&sub, "%s/%s", path, v[i]) < 0 || asprintf(&subname, "%s/%s", name, v[i]) < 0)
                rc = cli_fail("out of memory");
            else {
                entries[i].name = v[i];
                rc = add_path(x, sub, subname, &entries[i].target, &entries[i].tsize);
            }
            free(sub);
            free(subname);
        }
        if (!rc && ufs_make_dir(&x->o, entries, n, x->sink, x->sink_arg, root, tsize) != 0)
            rc = cli_fail("adding %s failed", path);
        free(entries);
        cli_free_names(v, n);
        if (rc)
            return rc;
    } else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail("cannot open %s: %s", path, strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        rc = add_fd(x, fd, path, root, tsize);
        close(fd);
        if (rc)
            return rc;
    } else {
        return cli_fail("%s: unsupported file type", path);
    }
    report(x, root, name);
    return 0;
}

/* The name kubo shows for a path argument: its last element. */
static char *display_name(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *base = strrchr(copy, '/');
    base = base && base[1] ? base + 1 : copy;
    if (!strcmp(base, ".") || !strcmp(base, "..")) {
        char *real = realpath(path, NULL);
        if (real) {
            const char *b = strrchr(real, '/');
            char *out = strdup(b && b[1] ? b + 1 : real);
            free(real);
            free(copy);
            return out;
        }
    }
    char *out = strdup(base);
    free(copy);
    return out;
}

int cmd_ipfs_add(const cli_args *a)
{
    add_ctx x = {.a = a};
    x.o.cid_version = a->cid_version == 1 ? 1 : 0;
    x.o.raw_leaves = a->raw_leaves >= 0 ? a->raw_leaves : x.o.cid_version == 1;
    x.sink = sink_none;
    if (!a->only_hash) {
        char err[1024];
        if (!(x.uploader = cli_uploader_new(a, err, sizeof err)))
            return cli_fail("%s", err);
        x.sink = cli_uploader_sink;
        x.sink_arg = x.uploader;
        if (!(x.out = open_memstream(&x.held, &x.held_len))) {
            cli_uploader_free(x.uploader);
            return cli_fail("out of memory");
        }
    } else {
        x.out = stdout;
    }
    x.progress = a->progress != 0 && !a->quiet && !a->quieter && isatty(2);
    if (x.progress) {
        x.start = x.last_draw = now();
        for (int i = 0; i < a->nargs; i++)
            if (strcmp(a->args[i], "-") != 0)
                x.total += size_of(&x, a->args[i], 0);
    }

    int rc = 0;
    int nargs = a->nargs ? a->nargs : 1;
    cid *roots = calloc((size_t)(nargs > 0 ? nargs : 1), sizeof *roots);
    for (int i = 0; i < nargs && !rc; i++) {
        const char *path = a->nargs ? a->args[i] : "-";
        cid root;
        uint64_t tsize;
        if (!strcmp(path, "-")) {
            if ((rc = add_fd(&x, 0, "stdin", &root, &tsize)) == 0)
                report(&x, &root, NULL);
            roots[i] = root;
            continue;
        }
        char *name = display_name(path);
        if (!name) {
            rc = cli_fail("out of memory");
            break;
        }
        rc = add_path(&x, path, name, &root, &tsize);
        roots[i] = root;
        free(name);
    }
    if (!rc && x.uploader) { /* the last batch, and the pins (kubo pins what it adds) */
        char err[1024];
        if (cli_uploader_finish(x.uploader, roots, (size_t)nargs, a->pin != 0, err, sizeof err) != 0)
            rc = cli_fail("%s", err);
    }
    free(roots);
    cli_uploader_free(x.uploader);
    progress_clear(&x);
    if (x.out != stdout) {
        fclose(x.out);
        if (!rc)
            fwrite(x.held, 1, x.held_len, stdout);
        free(x.held);
    }
    if (!rc && a->quieter && x.last[0])
        printf("%s\n", x.last);
    return rc;
}
