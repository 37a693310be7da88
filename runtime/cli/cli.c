/* cli: helpers every command shares: home and key loading, API calls. */
#include "buf.h"
#include "cli.h"
#include "httpc.h"

#include "node.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_find_home(const cli_args *a, home *h, char *err, size_t errlen)
{
    char dir[PATH_MAX], settings[PATH_MAX + 32];
    if (home_resolve(dir, sizeof dir, a->home, err, errlen) != 0)
        return -1;
    snprintf(settings, sizeof settings, "%s/%s", dir, HOME_SETTINGS);
    if (access(settings, F_OK) != 0 && errno == ENOENT) {
        /* the hint names the very home the rule chose: following it makes
         * that home, never a second one where the user happens to stand */
        const char *env = getenv("LEITHER_HOME");
        if (a->home)
            snprintf(err, errlen, "%s is not a Leither home (no %s): run 'leither init --home %s' first", dir,
                     HOME_SETTINGS, a->home);
        else
            snprintf(err, errlen, "no Leither home at %s (%s): run 'leither init' to make it, or give --home DIR", dir,
                     env && *env ? "$LEITHER_HOME" : "the default; the current directory is not a home");
        return -1;
    }
    return home_load(h, dir, err, errlen);
}

int cli_load_home(const cli_args *a, home *h)
{
    char err[PATH_MAX + 512];
    return cli_find_home(a, h, err, sizeof err) != 0 ? cli_fail("%s", err) : 0;
}

int cli_load_key(const cli_args *a, const home *h, ids_key *key)
{
    char path[PATH_MAX + 32], err[PATH_MAX + 256];
    if (a->key)
        snprintf(path, sizeof path, "%s", a->key);
    else
        home_path(h, path, sizeof path, NODE_KEY_FILE);
    if (ids_key_load(key, path, err, sizeof err) != 0)
        return cli_fail("%s", err);
    return 0;
}

/* libcurl, loaded on the first call to a node (httpc.h says why) */
static const httpc_curl *curl;

int cli_signing_key(const cli_args *a, ids_key *key)
{
    home h = {0};
    if (!a->key && cli_load_home(a, &h))
        return 1;
    int rc = cli_load_key(a, &h, key);
    home_free(&h);
    return rc;
}

typedef struct {
    buf body;
    /* streaming: body bytes of a 2xx reply go here instead of body */
    int (*sink)(void *arg, const void *data, size_t len);
    void *arg;
    CURL *easy;
} response;

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    response *b = userp;
    size_t add = size * n;
    if (b->sink) {
        long status = 0;
        curl->easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status / 100 == 2)
            return b->sink(b->arg, data, add) == 0 ? add : 0;
    }
    if (b->body.len + add > (16u << 20)) /* no API reply or error text is this large */
        return 0;
    return buf_append(&b->body, data, add) == 0 ? add : 0;
}

/* One request to the API or the gateway: JSON replies are parsed into
 * *reply; with a sink, a 2xx body streams to it. */
static int request(const home *h, const ids_key *signer, const char *method, const char *path, const void *body,
                   size_t bodylen, response *res, json_t **reply, char *err, size_t errlen)
{
    char url[PATH_MAX + 1200];
    home_api_base(h, url, sizeof url);
    size_t base = strlen(url);
    snprintf(url + base, sizeof url - base, "%s", path);
    if (reply)
        *reply = NULL;
    if (!curl && !(curl = httpc_load(err, errlen)))
        return -1;

    CURL *easy = curl->easy_init();
    struct curl_slist *headers = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    res->easy = easy;
    curl->easy_setopt(easy, CURLOPT_URL, url);
    curl->easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST")) {
        curl->easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
        curl->easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
        headers = curl->slist_append(headers, "Content-Type: application/octet-stream");
        headers = curl->slist_append(headers, "Expect:"); /* no 100-continue round trip */
    }
    curl->easy_setopt(easy, CURLOPT_NOPROXY, "*"); /* the node is local: never via a proxy */
    curl->easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    if (!res->sink) /* downloads may take long; they fail on a stall instead */
        curl->easy_setopt(easy, CURLOPT_TIMEOUT, 300L);
    curl->easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl->easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 60L);
    curl->easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl->easy_setopt(easy, CURLOPT_WRITEDATA, res);
    curl->easy_setopt(easy, CURLOPT_ERRORBUFFER, cerr);
    if (signer) {
        char value[AUTH_HEADER_MAX], line[AUTH_HEADER_MAX + 32];
        auth_sign(value, signer, method, path, strlen(path), body ? body : "", bodylen, (int64_t)time(NULL));
        snprintf(line, sizeof line, "Authorization: %s", value);
        headers = curl->slist_append(headers, line);
    }
    curl->easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    long status = -1;
    CURLcode rc = curl->easy_perform(easy);
    if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
        snprintf(err, errlen, "cannot reach the node at %.*s: %s", (int)base, url,
                 cerr[0] ? cerr : curl->easy_strerror(rc));
    } else {
        curl->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (reply && res->body.p)
            *reply = json_loads(res->body.p, 0, NULL);
        if (rc == CURLE_WRITE_ERROR && status / 100 == 2) {
            snprintf(err, errlen, "writing the output failed");
            status = -1;
        } else if (status / 100 != 2) {
            const char *msg = reply ? json_string_value(json_object_get(*reply, "Message")) : NULL;
            if (!msg && res->body.p) { /* the gateway answers in one plain line */
                res->body.p[strcspn(res->body.p, "\n")] = '\0';
                msg = res->body.p;
            }
            snprintf(err, errlen, "%s (HTTP %ld)", msg && *msg ? msg : "the node refused the request", status);
        }
    }
    curl->slist_free_all(headers);
    curl->easy_cleanup(easy);
    return (int)status;
}

int cli_call_body(const home *h, const ids_key *signer, const char *method, const char *path, const void *body,
                  size_t bodylen, json_t **reply, char *err, size_t errlen)
{
    response res = {0};
    int status = request(h, signer, method, path, body, bodylen, &res, reply, err, errlen);
    buf_free(&res.body);
    return status;
}

int cli_call(const home *h, const ids_key *signer, const char *method, const char *path, json_t **reply, char *err,
             size_t errlen)
{
    return cli_call_body(h, signer, method, path, NULL, 0, reply, err, errlen);
}

int cli_fetch(const home *h, const ids_key *signer, const char *path,
              int (*sink)(void *arg, const void *data, size_t len), void *arg, char *err, size_t errlen)
{
    response res = {.sink = sink, .arg = arg};
    int status = request(h, signer, "GET", path, NULL, 0, &res, NULL, err, errlen);
    buf_free(&res.body);
    return status;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(doc);
    return 0;
}
