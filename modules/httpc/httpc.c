/* httpc: libcurl loaded at run time (httpc.h says why). */
#include "httpc.h"

#include "buf.h"
#include "errbuf.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static httpc_curl curl;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;

const httpc_curl *httpc_load(char *err, size_t errlen)
{
    pthread_mutex_lock(&load_lock);
    if (loaded) {
        pthread_mutex_unlock(&load_lock);
        return &curl;
    }
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        pthread_mutex_unlock(&load_lock);
        ERR("cannot load libcurl: %s", dlerror());
        return NULL;
    }
    httpc_curl t;
    /* POSIX: a dlsym result converts to a function pointer through memcpy */
    struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"curl_easy_init", &t.easy_init},         {"curl_easy_setopt", &t.easy_setopt},
        {"curl_easy_perform", &t.easy_perform},   {"curl_easy_getinfo", &t.easy_getinfo},
        {"curl_easy_strerror", &t.easy_strerror}, {"curl_easy_cleanup", &t.easy_cleanup},
        {"curl_slist_append", &t.slist_append},   {"curl_slist_free_all", &t.slist_free_all},
    };
    void *global_init = dlsym(lib, "curl_global_init");
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *fn = dlsym(lib, syms[i].name);
        if (!fn || !global_init) {
            pthread_mutex_unlock(&load_lock);
            ERR("libcurl lacks %s", fn ? "curl_global_init" : syms[i].name);
            return NULL;
        }
        memcpy(syms[i].slot, &fn, sizeof fn);
    }
    /* once, here under the lock: curl_easy_init would do it itself, and
     * not thread-safely when two threads start at once */
    CURLcode (*init)(long);
    memcpy(&init, &global_init, sizeof init);
    if (init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pthread_mutex_unlock(&load_lock);
        ERR("libcurl failed to start");
        return NULL;
    }
    curl = t;
    loaded = 1;
    pthread_mutex_unlock(&load_lock);
    return &curl;
}

typedef struct {
    buf body;
    size_t max;
    int over;
} bounded;

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    bounded *b = userp;
    size_t add = size * n;
    if (b->body.len + add > b->max) {
        b->over = 1;
        return 0; /* aborts the transfer: no more is read */
    }
    return buf_append(&b->body, data, add) == 0 ? add : 0;
}

char *httpc_get(const char *url, const httpc_limits *lim, size_t *len, long *status, char *err, size_t errlen)
{
    *status = 0;
    *len = 0;
    if (strncmp(url, "http://", 7) != 0) {
        ERR("%.200s: only http:// is fetched", url);
        return NULL;
    }
    const httpc_curl *c = httpc_load(err, errlen);
    if (!c)
        return NULL;
    CURL *easy = c->easy_init();
    if (!easy) {
        ERR("libcurl: cannot start a request");
        return NULL;
    }
    bounded b = {.max = lim->max};
    struct curl_slist *headers = NULL;
    char cerr[CURL_ERROR_SIZE] = "", accept[256];
    c->easy_setopt(easy, CURLOPT_URL, url);
    c->easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
    c->easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    c->easy_setopt(easy, CURLOPT_NOPROXY, "*");
    c->easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    c->easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, lim->connect_ms);
    c->easy_setopt(easy, CURLOPT_TIMEOUT_MS, lim->total_ms);
    c->easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max); /* refused early when announced */
    c->easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    c->easy_setopt(easy, CURLOPT_WRITEDATA, &b);
    c->easy_setopt(easy, CURLOPT_ERRORBUFFER, cerr);
    if (lim->accept) {
        snprintf(accept, sizeof accept, "Accept: %s", lim->accept);
        headers = c->slist_append(headers, accept);
        c->easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode rc = c->easy_perform(easy);
    c->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
    c->slist_free_all(headers);
    c->easy_cleanup(easy);
    if (b.over || rc == CURLE_FILESIZE_EXCEEDED) {
        buf_free(&b.body);
        ERR("%.200s: the answer is over %zu bytes", url, lim->max);
        return NULL;
    }
    if (rc != CURLE_OK) {
        buf_free(&b.body);
        ERR("%.200s: %s", url, cerr[0] ? cerr : c->easy_strerror(rc));
        return NULL;
    }
    if (!b.body.p && buf_append(&b.body, "", 0) != 0) { /* an empty body: still a string */
        ERR("out of memory");
        return NULL;
    }
    *len = b.body.len; /* buf keeps a NUL after the bytes */
    return b.body.p;
}
