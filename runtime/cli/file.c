/*
 * File MiMei commands: setcid, add, get, put, ls, rm, mv, mkdir, ref; and
 * ipfs cat/get, repo gc/stat. They call the node's JSON API (api_mimei.c,
 * api_store.c) and its gateway; writes are signed with -k or the node key.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One API call for the command's home, signed (reads too: private MiMei
 * answer only their readers): prints the error; 0 on success. */
static int api(const cli_args *a, const char *method, const char *path, json_t **reply)
{
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return 1;
    if (cli_load_key(a, &h, &key)) {
        home_free(&h);
        return 1;
    }
    char err[1024];
    int status = cli_call(&h, &key, method, path, reply, err, sizeof err);
    home_free(&h);
    if (status != 200) {
        json_decref(*reply);
        *reply = NULL;
        return cli_fail("%s", err);
    }
    return 0;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long jint(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

/* Adds a file's blocks to the node (not pinned: a MiMei version keeps them). */
static int upload_file(const cli_args *a, const char *file, cid *root, uint64_t *size)
{
    char err[1024];
    cli_uploader *up = cli_uploader_new(a, err, sizeof err);
    if (!up)
        return cli_fail("%s", err);
    import_opts o = {0, 0};
    uint64_t tsize;
    int rc = cli_import_file(file, &o, cli_uploader_sink, up, root, size, &tsize, err, sizeof err);
    if (rc == 0)
        rc = cli_uploader_finish(up, root, 1, 0, err, sizeof err);
    else if (cli_uploader_error(up))
        snprintf(err, sizeof err, "%s", cli_uploader_error(up));
    cli_uploader_free(up);
    return rc ? cli_fail("%s", err) : 0;
}

int cmd_mimei_setcid(const cli_args *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/setcid?arg=%s&cid=%s", a->args[0], a->args[1]);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    printf("mid= %s\ncid= %s\nMiMeiSetCid ver= %lld\n", jstr(r, "Mid"), jstr(r, "Cid"), jint(r, "Ver"));
    json_decref(r);
    return 0;
}

int cmd_mimei_add(const cli_args *a)
{
    cid root;
    uint64_t size;
    if (upload_file(a, a->args[1], &root, &size))
        return 1;
    char text[CID_TEXT_MAX], path[512];
    cid_format(&root, text);
    snprintf(path, sizeof path, "/api/v0/mimei/setcid?arg=%s&cid=%s", a->args[0], text);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json) {
        json_object_set_new(r, "Size", json_integer((json_int_t)size));
        return cli_print_json(r);
    }
    printf("add /ipfs/%s %llu\nMiMeiAdd cid= /ipfs/%s\nMiMeiAdd ver= %lld\n", text, (unsigned long long)size, text,
           jint(r, "Ver"));
    json_decref(r);
    return 0;
}

/* --- reading --------------------------------------------------------------- */

static int to_file(void *arg, const void *data, size_t len) { return fwrite(data, 1, len, arg) == len ? 0 : -1; }

/* Streams /ipfs/CID to out. */
static int fetch(const cli_args *a, const char *ipfs_path, FILE *out)
{
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return 1;
    if (cli_load_key(a, &h, &key)) { /* a private MiMei's content: its readers only */
        home_free(&h);
        return 1;
    }
    char url[8192], err[1024];
    snprintf(url, sizeof url, "/ipfs/");
    cli_escape(url + 6, sizeof url - 6, ipfs_path, 1);
    int status = cli_fetch(&h, &key, url, to_file, out, err, sizeof err);
    home_free(&h);
    if (status / 100 != 2)
        return cli_fail("%s", err);
    if (fflush(out) != 0)
        return cli_fail("writing the output: %s", strerror(errno));
    return 0;
}

static void print_links(const json_t *obj)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(obj, "Links"), i, l)
        printf("%s %lld %s%s\n", jstr(l, "Hash"), jint(l, "Size"), jstr(l, "Name"), jint(l, "Type") == 1 ? "/" : "");
}

int cmd_mimei_get(const cli_args *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/ls?arg=%s&ver=%s", a->args[0], a->version ? a->version : "");
    json_t *r;
    if (api(a, "GET", path, &r))
        return 1;
    json_t *obj = json_array_get(json_object_get(r, "Objects"), 0);
    int rc;
    if (jint(obj, "Type") == 1) { /* a folder: its listing */
        print_links(obj);
        rc = 0;
    } else {
        FILE *out = a->out ? fopen(a->out, "wb") : stdout;
        if (!out)
            rc = cli_fail("cannot write %s: %s", a->out, strerror(errno));
        else {
            rc = fetch(a, jstr(obj, "Hash"), out);
            if (out != stdout)
                fclose(out);
        }
    }
    json_decref(r);
    return rc;
}

int cmd_mimei_ls(const cli_args *a)
{
    char path[8192], esc[4096];
    cli_escape(esc, sizeof esc, a->nargs > 1 ? a->args[1] : "", 1);
    snprintf(path, sizeof path, "/api/v0/mimei/ls?arg=%s&ver=%s&path=%s", a->args[0], a->version ? a->version : "",
             esc);
    json_t *r;
    if (api(a, "GET", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    json_t *obj = json_array_get(json_object_get(r, "Objects"), 0);
    if (jint(obj, "Type") == 1)
        print_links(obj);
    else
        printf("%s %lld %s\n", jstr(obj, "Hash"), jint(obj, "Size"), a->nargs > 1 ? a->args[1] : "");
    json_decref(r);
    return 0;
}

/* --- folder edits --------------------------------------------------------- */

static int edit(const cli_args *a, const char *what, const char *query)
{
    char path[16384];
    snprintf(path, sizeof path, "/api/v0/mimei/%s?arg=%s&%s", what, a->args[0], query);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    printf("mid= %s\ncur= %s\n", jstr(r, "Mid"), jstr(r, "Cur"));
    json_decref(r);
    return 0;
}

int cmd_mimei_put(const cli_args *a)
{
    cid root;
    uint64_t size;
    if (upload_file(a, a->args[2], &root, &size))
        return 1;
    char text[CID_TEXT_MAX], esc[4096], q[8192];
    cid_format(&root, text);
    cli_escape(esc, sizeof esc, a->args[1], 1);
    snprintf(q, sizeof q, "path=%s&cid=%s", esc, text);
    return edit(a, "put", q);
}

int cmd_mimei_rm(const cli_args *a)
{
    char esc[4096], q[8192];
    cli_escape(esc, sizeof esc, a->args[1], 1);
    snprintf(q, sizeof q, "path=%s", esc);
    return edit(a, "rm", q);
}

int cmd_mimei_mkdir(const cli_args *a)
{
    char esc[4096], q[8192];
    cli_escape(esc, sizeof esc, a->args[1], 1);
    snprintf(q, sizeof q, "path=%s", esc);
    return edit(a, "mkdir", q);
}

int cmd_mimei_mv(const cli_args *a)
{
    char from[4096], to[4096], q[8300];
    cli_escape(from, sizeof from, a->args[1], 1);
    cli_escape(to, sizeof to, a->args[2], 1);
    snprintf(q, sizeof q, "from=%s&to=%s", from, to);
    return edit(a, "mv", q);
}

/* `mimei backup` of a file MiMei (database MiMei go through MM.BACKUP). */
int mimei_file_backup(const cli_args *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/backup?arg=%s", a->args[0]);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    printf("MiMeiBackup mid= %s\nMiMeiBackup ver= %lld\ncid= %s\n", jstr(r, "Mid"), jint(r, "Ver"), jstr(r, "Cid"));
    json_decref(r);
    return 0;
}

/* The info and versions of a file MiMei, from the API (NULL when not one). */
json_t *mimei_file_show(const cli_args *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/show?arg=%s", a->args[0]);
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return NULL;
    if (cli_load_key(a, &h, &key)) {
        home_free(&h);
        return NULL;
    }
    char err[1024];
    json_t *r = NULL;
    int status = cli_call(&h, &key, "GET", path, &r, err, sizeof err);
    home_free(&h);
    if (status != 200) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* --- references ----------------------------------------------------------- */

static int ref(const cli_args *a, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/ref/%s?arg=%s&ref=%s", what, a->args[0], a->args[1]);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    printf("%s %s %s count= %lld\n", !strcmp(what, "add") ? "MMAddRef" : "MMDelRef", jstr(r, "Mid"), jstr(r, "Ref"),
           jint(r, "Count"));
    json_decref(r);
    return 0;
}

int cmd_mimei_ref_add(const cli_args *a) { return ref(a, "add"); }
int cmd_mimei_ref_del(const cli_args *a) { return ref(a, "del"); }

int cmd_mimei_ref_ls(const cli_args *a)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v0/mimei/ref/ls?arg=%s", a->args[0]);
    json_t *r;
    if (api(a, "GET", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    const char *other;
    json_t *count;
    json_object_foreach(json_object_get(r, "Refs"), other, count) printf("%s %lld\n", other,
                                                                          (long long)json_integer_value(count));
    json_decref(r);
    return 0;
}

/* --- ipfs cat / get, repo ----------------------------------------------------- */

int cmd_ipfs_cat(const cli_args *a)
{
    const char *arg = a->args[0];
    if (!strncmp(arg, "/ipfs/", 6))
        arg += 6;
    return fetch(a, arg, stdout);
}

/* Writes CID/path to out (a file, or a folder made for a directory). */
static int get_into(const cli_args *a, const char *ipfs_path, const char *out)
{
    char path[8192], esc[8000];
    cli_escape(esc, sizeof esc, ipfs_path, 1);
    snprintf(path, sizeof path, "/api/v0/ls?arg=%s", esc);
    json_t *r;
    if (api(a, "GET", path, &r))
        return 1;
    json_t *obj = json_array_get(json_object_get(r, "Objects"), 0);
    int rc = 0;
    if (jint(obj, "Type") == 1) {
        if (mkdir(out, 0755) != 0 && errno != EEXIST)
            rc = cli_fail("cannot create %s: %s", out, strerror(errno));
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(obj, "Links"), i, l)
        {
            const char *name = jstr(l, "Name");
            if (rc || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
                if (!rc)
                    rc = cli_fail("refusing the link name '%s' in %s", name, ipfs_path);
                break;
            }
            char child[8192], target[8192];
            snprintf(child, sizeof child, "%s/%s", ipfs_path, name);
            snprintf(target, sizeof target, "%s/%s", out, name);
            rc = get_into(a, child, target);
        }
    } else {
        FILE *f = fopen(out, "wb");
        if (!f)
            rc = cli_fail("cannot write %s: %s", out, strerror(errno));
        else {
            rc = fetch(a, ipfs_path, f);
            if (fclose(f) != 0 && !rc)
                rc = cli_fail("writing %s: %s", out, strerror(errno));
        }
    }
    json_decref(r);
    return rc;
}

int cmd_ipfs_get(const cli_args *a)
{
    const char *arg = a->args[0];
    if (!strncmp(arg, "/ipfs/", 6))
        arg += 6;
    const char *base = strrchr(arg, '/');
    const char *out = a->out ? a->out : base ? base + 1 : arg;
    if (get_into(a, arg, out))
        return 1;
    if (!a->json)
        printf("Saving file(s) to %s\n", out);
    return 0;
}

static void human(char *out, size_t cap, double bytes)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4)
        bytes /= 1024, u++;
    snprintf(out, cap, u ? "%.2f %s" : "%.0f %s", bytes, unit[u]);
}

int cmd_repo_gc(const cli_args *a)
{
    json_t *r;
    if (api(a, "POST", "/api/v0/repo/gc", &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    char freed[32], left[32];
    human(freed, sizeof freed, (double)jint(r, "Freed"));
    human(left, sizeof left, (double)jint(r, "RepoSize"));
    printf("removed %lld blocks, freed %s (%lld bytes); %lld blocks, %s kept\n", jint(r, "Removed"), freed,
           jint(r, "Freed"), jint(r, "NumObjects"), left);
    json_decref(r);
    return 0;
}

int cmd_repo_stat(const cli_args *a)
{
    json_t *r;
    if (api(a, "GET", a->by_author ? "/api/v0/repo/stat?by=author" : "/api/v0/repo/stat", &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    if (a->by_author) {
        printf("%-27s  %-7s  %6s  %s\n", "AUTHOR", "ROLE", "MIMEI", "BYTES");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r, "Authors"), i, e)
        printf("%-27s  %-7s  %6lld  %lld\n", jstr(e, "ID"), jstr(e, "Role"), jint(e, "MiMei"), jint(e, "Bytes"));
        json_decref(r);
        return 0;
    }
    char size[32];
    human(size, sizeof size, (double)jint(r, "RepoSize"));
    printf("NumObjects:   %lld\nRepoSize:     %lld (%s)\nPins:         %lld\nFileVersions: %lld\nRepoPath:     %s\n",
           jint(r, "NumObjects"), jint(r, "RepoSize"), size, jint(r, "Pins"), jint(r, "FileVersions"),
           jstr(r, "RepoPath"));
    json_decref(r);
    return 0;
}

int cmd_repo_rm_author(const cli_args *a)
{
    char path[512], arg[256];
    cli_escape(arg, sizeof arg, a->args[0], 0);
    snprintf(path, sizeof path, "/api/v0/repo/rm-author?arg=%s", arg);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "Dropped"), i, m) printf("dropped %s\n", json_string_value(m));
    printf("removed %zu MiMei of %s: 'leither repo gc' frees their blocks\n", json_array_size(json_object_get(r, "Dropped")),
           jstr(r, "Author"));
    json_decref(r);
    return 0;
}

int cmd_mimei_drop(const cli_args *a)
{
    char path[512], arg[256];
    cli_escape(arg, sizeof arg, a->args[0], 0);
    snprintf(path, sizeof path, "/api/v0/mimei/drop?arg=%s", arg);
    json_t *r;
    if (api(a, "POST", path, &r))
        return 1;
    if (a->json)
        return cli_print_json(r);
    printf("dropped %s: 'leither repo gc' frees its blocks\n", a->args[0]);
    json_decref(r);
    return 0;
}
