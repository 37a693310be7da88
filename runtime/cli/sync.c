/* mimei publish, provide, unprovide, findprovs, sync: MiMei between nodes,
 * in the original Leither's words. The node runs each as a job of its sync
 * thread (POST answers {"Job": N}); the command polls the job's state. */
#include "buf.h"
#include "cli.h"
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOB_POLL_MS 100
#define JOB_WAIT_MS 60000

/* POSTs path (with body, when not NULL) to the node of h, signed with
 * key, then polls the job it started until it ends: the job's document
 * (done), or NULL with err; *status is the POST's HTTP status. first_line
 * (when not NULL) is printed once the node took the job, as the original
 * prints it before the work. */
static json_t *job_at(const cli_args *a, const home *h, const ids_key *key, const char *path, const char *body,
                      const char *first_line, int *status, char *err, size_t errlen)
{
    json_t *reply = NULL, *doc = NULL;
    *status = body ? cli_call_body(h, key, "POST", path, body, strlen(body), &reply, err, errlen)
                   : cli_call(h, key, "POST", path, &reply, err, errlen);
    json_int_t job = json_integer_value(json_object_get(reply, "Job"));
    json_decref(reply);
    if (*status != 200 || job <= 0) {
        if (*status == 200)
            snprintf(err, errlen, "the node answered no job");
        return NULL;
    }
    if (first_line && !a->json) {
        fputs(first_line, stdout);
        fflush(stdout);
    }
    char poll_path[64];
    snprintf(poll_path, sizeof poll_path, "/api/v0/sync/job?id=%lld", (long long)job);
    for (int waited = 0;; waited += JOB_POLL_MS) {
        if (cli_call(h, NULL, "GET", poll_path, &doc, err, errlen) != 200)
            break;
        const char *state = json_string_value(json_object_get(doc, "State"));
        if (state && !strcmp(state, "done"))
            return doc;
        if (state && !strcmp(state, "failed")) {
            snprintf(err, errlen, "%s", json_string_value(json_object_get(doc, "Error")));
            break;
        }
        json_decref(doc);
        doc = NULL;
        if (waited >= JOB_WAIT_MS) {
            snprintf(err, errlen, "job %lld still runs after %d s: GET %s shows its state later", (long long)job,
                     JOB_WAIT_MS / 1000, poll_path);
            break;
        }
        nanosleep(&(struct timespec){0, JOB_POLL_MS * 1000L * 1000}, NULL);
    }
    json_decref(doc);
    return NULL;
}

/* job_at for the command's home and key, printing the error. */
static json_t *run_job(const cli_args *a, const char *path, const char *first_line)
{
    home h;
    ids_key key;
    char err[512];
    int status;
    if (cli_load_home(a, &h))
        return NULL;
    json_t *doc = NULL;
    if (!cli_signing_key(a, &key) && !(doc = job_at(a, &h, &key, path, NULL, first_line, &status, err, sizeof err)))
        cli_fail("%s", err);
    home_free(&h);
    return doc;
}

static int check_mid(const char *mid)
{
    return ids_is_leither_id(mid) ? 0 : cli_fail("'%s' is not a MiMei ID", mid);
}

/* "168h", "30m", "90s", "7d" or seconds: 0 with *seconds, or -1. */
static int parse_duration(const char *text, long long *seconds)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    long long unit = !strcmp(end, "") || !strcmp(end, "s") ? 1
                     : !strcmp(end, "m")                   ? 60
                     : !strcmp(end, "h")                   ? 3600
                     : !strcmp(end, "d")                   ? 86400
                                                           : 0;
    if (end == text || v < 1 || unit == 0 || v > (365LL * 86400) / unit)
        return -1;
    *seconds = v * unit;
    return 0;
}

/* publish of a MiMei another key authored: the node makes the version
 * block (prepare), the author's key signs the head over it here, and the
 * node checks and puts that head. */
static json_t *publish_signed(const cli_args *a, const home *h, const ids_key *key, const char *mid, long long eol,
                              const char *first, char *err, size_t errlen)
{
    char path[160], author[IDS_LID_LEN + 1], why[512];
    int status;
    ids_leither_id(author, key->pk);
    snprintf(path, sizeof path, "/api/v0/mimei/publish?arg=%s&prepare=1", mid);
    json_t *prep = job_at(a, h, key, path, NULL, NULL, &status, why, sizeof why);
    json_t *info = json_object_get(prep, "Info");
    if (!prep || strcmp(mimei_str(info, "Author"), author)) {
        if (prep) /* err keeps the node's 409, which says whose key signs */
            snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "%s", why);
        json_decref(prep);
        return NULL;
    }
    const char *block = json_string_value(json_object_get(prep, "Block"));
    json_int_t version = json_integer_value(json_object_get(prep, "Version"));
    char *env_text = block && version > 0 && version <= UINT32_MAX
                         ? sync_head_sign(key, mid, (uint32_t)version, block, (int64_t)eol, info)
                         : NULL;
    json_decref(prep);
    if (!env_text) {
        snprintf(err, errlen, "the node's version block of %s is not what a head can name, or the head is too large", mid);
        return NULL;
    }
    snprintf(path, sizeof path, "/api/v0/mimei/publish?arg=%s", mid);
    json_t *doc = job_at(a, h, key, path, env_text, first, &status, err, errlen);
    free(env_text);
    return doc;
}

int cmd_mimei_publish(const cli_args *a)
{
    const char *mid = a->args[0];
    long long eol = 168 * 3600;
    if (check_mid(mid))
        return 1;
    if (a->eol && parse_duration(a->eol, &eol) != 0)
        return cli_fail("--eol takes a duration such as 168h, 30m, 7d or seconds (at most a year), not '%s'", a->eol);
    char path[160], first[128], shown[32];
    if (eol % 3600 == 0)
        snprintf(shown, sizeof shown, "%lldh", eol / 3600);
    else if (eol % 60 == 0)
        snprintf(shown, sizeof shown, "%lldm", eol / 60);
    else
        snprintf(shown, sizeof shown, "%llds", eol);
    snprintf(path, sizeof path, "/api/v0/mimei/publish?arg=%s&eol=%lld", mid, eol);
    snprintf(first, sizeof first, "MiMeiPublish mids= [%s] EOL = %s\n", mid, shown);
    home h;
    ids_key key;
    char err[512];
    int status;
    if (cli_load_home(a, &h))
        return 1;
    if (cli_signing_key(a, &key)) {
        home_free(&h);
        return 1;
    }
    json_t *doc = job_at(a, &h, &key, path, NULL, first, &status, err, sizeof err);
    if (!doc && status == 409) /* not the node's: the author's key (-k) signs the head here */
        doc = publish_signed(a, &h, &key, mid, eol, first, err, sizeof err);
    home_free(&h);
    if (!doc)
        return cli_fail("%s", err);
    if (a->json)
        return cli_print_json(doc);
    json_decref(doc);
    puts("MiMeiPublish ok");
    return 0;
}

static int provide(const cli_args *a, const char *what)
{
    const char *mid = a->args[0];
    if (check_mid(mid))
        return 1;
    char path[128], first[96];
    snprintf(path, sizeof path, "/api/v0/mimei/%s?arg=%s", what, mid);
    int un = !strcmp(what, "unprovide");
    snprintf(first, sizeof first, "MiMei%s cids= [%s]\n", un ? "Unprovide" : "Provide", mid);
    json_t *doc = run_job(a, path, first);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    json_decref(doc);
    printf("MiMei%s ok\n", un ? "Unprovide" : "Provide");
    return 0;
}

int cmd_mimei_provide(const cli_args *a) { return provide(a, "provide"); }
int cmd_mimei_unprovide(const cli_args *a) { return provide(a, "unprovide"); }

static int by_version_desc(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "Version"));
    json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "Version"));
    return a < b ? 1 : a > b ? -1 : 0;
}

int cmd_mimei_findprovs(const cli_args *a)
{
    const char *mid = a->args[0];
    if (check_mid(mid))
        return 1;
    char path[128], first[96];
    snprintf(path, sizeof path, "/api/v0/mimei/findprovs?arg=%s", mid);
    snprintf(first, sizeof first, "findprovs mid= %s\n", mid);
    json_t *doc = run_job(a, path, first);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    /* the original's shape: "Version:N" over the providers holding N */
    json_t *provs = json_object_get(doc, "Providers");
    size_t count = json_array_size(provs);
    json_t **sorted = calloc(count ? count : 1, sizeof *sorted);
    for (size_t i = 0; sorted && i < count; i++)
        sorted[i] = json_array_get(provs, i);
    if (sorted)
        qsort(sorted, count, sizeof *sorted, by_version_desc);
    for (size_t i = 0; sorted && i < count; i++) {
        json_int_t v = json_integer_value(json_object_get(sorted[i], "Version"));
        if (i == 0 || v != json_integer_value(json_object_get(sorted[i - 1], "Version")))
            printf("%sVersion:%lld\n", i ? "\n" : "", (long long)v);
        else
            putchar('\n');
        printf("PeerID\t: %s\nID\t: %s\nAddrs\t:[", json_string_value(json_object_get(sorted[i], "PeerID")),
               json_string_value(json_object_get(sorted[i], "ID")));
        json_t *addr;
        size_t j;
        json_array_foreach(json_object_get(sorted[i], "Addrs"), j, addr) printf("%s%s", j ? " " : "",
                                                                                json_string_value(addr));
        puts("]");
    }
    free(sorted);
    json_decref(doc);
    return 0;
}

int cmd_mimei_sync(const cli_args *a)
{
    const char *mid = a->args[0];
    if (check_mid(mid))
        return 1;
    char path[256], first[96], from[160] = "";
    if (a->node) {
        cli_escape(from, sizeof from, a->node, 0);
        if (!ids_is_leither_id(a->node) && !strchr(a->node, ':'))
            return cli_fail("-n takes a node's Leither ID or IP:PORT, not '%s'", a->node);
    }
    snprintf(path, sizeof path, "/api/v0/mimei/sync?arg=%s%s%s", mid, from[0] ? "&node=" : "", from);
    snprintf(first, sizeof first, "MiMeiSync mid = %s\n", mid);
    json_t *doc = run_job(a, path, first);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    json_decref(doc);
    puts("mimei sync ok");
    return 0;
}

/* --- mimei show: what the network says ------------------------------------ */

#define RULE "-------------------------------------------------------------"
#define VERSION_BLOCK_MAX 65536

static int collect(void *arg, const void *data, size_t len)
{
    buf *b = arg;
    return b->len + len > VERSION_BLOCK_MAX || buf_append(b, data, len) != 0;
}

/* The content root a file version block names, when the node has the block. */
static char *version_root(const home *h, const char *block)
{
    char path[160], err[256];
    buf b = {0};
    snprintf(path, sizeof path, "/ipfs/%s?format=raw", block);
    char *root = NULL;
    if (cli_fetch(h, NULL, path, collect, &b, err, sizeof err) == 200 && b.len) {
        json_t *doc = json_loadb(b.p, b.len, 0, NULL);
        const char *r = json_string_value(json_object_get(doc, "Root"));
        root = r ? strdup(r) : NULL;
        json_decref(doc);
    }
    buf_free(&b);
    return root;
}

void mimei_show_net(const cli_args *a, const char *mid, long long local_last, const json_t *local_versions)
{
    home h;
    char err[512], path[128];
    if (cli_find_home(a, &h, err, sizeof err) != 0)
        return;
    json_t *doc = NULL;
    snprintf(path, sizeof path, "/api/v0/mimei/head?arg=%s", mid);
    if (cli_call(&h, NULL, "GET", path, &doc, err, sizeof err) != 200) {
        json_decref(doc);
        home_free(&h);
        return;
    }
    json_t *head = json_object_get(doc, "Head");
    long long net = (long long)json_integer_value(json_object_get(head, "Version"));
    const char *block = json_string_value(json_object_get(head, "Block"));
    char *root = block ? version_root(&h, block) : NULL;
    printf("\nfrom net\n" RULE "\n%-8lld %s\nlast     %lld\n", net, root ? root : block ? block : "", net);
    const char *local_cid = NULL;
    json_t *v;
    size_t i;
    json_array_foreach(local_versions, i, v) if (json_integer_value(json_object_get(v, "Ver")) == net) local_cid =
        json_string_value(json_object_get(v, "Cid"));
    printf("\nconflict\n" RULE "\n");
    if (local_cid && root && strcmp(local_cid, root))
        printf("conflict at version %lld: local %s, net %s\n", net, local_cid, root);
    else
        printf("no conflict\n");
    printf("\ncompare version\n" RULE "\n");
    if (local_last == net)
        printf("local version is same with net\n");
    else if (local_last < net)
        printf("local version %lld is older than net %lld: 'leither mimei sync %s'\n", local_last, net, mid);
    else
        printf("local version %lld is newer than net %lld: 'leither mimei publish %s'\n", local_last, net, mid);
    free(root);
    json_decref(doc);
    home_free(&h);
}
