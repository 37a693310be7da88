/*
 * httpc: the HTTP client, libcurl loaded when first needed, not linked.
 * Linked, libcurl and its dependencies (GnuTLS, Kerberos, LDAP, SSH, ...)
 * would add some 3.5 MB to the resident memory of every running node,
 * most of which never fetch anything: the CLI loads it on its first call
 * to a node, a node on its first sync.
 *
 * httpc_curl: the loaded functions (one table, loaded once, safe from any
 * thread). httpc_get: one bounded GET for fetching from other nodes.
 */
#ifndef LEITHER_HTTPC_H
#define LEITHER_HTTPC_H

#include <curl/curl.h>
#include <stddef.h>

typedef struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} httpc_curl;

/* The table, libcurl loaded on the first call: NULL with the reason when
 * it cannot be loaded. */
const httpc_curl *httpc_load(char *err, size_t errlen);

typedef struct {
    long connect_ms;    /* connecting at most */
    long total_ms;      /* the whole request at most */
    size_t max;         /* body bytes at most: more aborts the transfer */
    const char *accept; /* an Accept header, or NULL */
} httpc_limits;

/* GETs url (http:// only, no redirects, never through a proxy) into a
 * malloc'd, NUL-terminated buffer of *len bytes; *status the HTTP status
 * (0 when none came). A status other than 200 is not an error here: the
 * body (within max) comes back for the caller to explain. NULL with the
 * reason when the request failed: unreachable, timed out, over max. */
char *httpc_get(const char *url, const httpc_limits *lim, size_t *len, long *status, char *err, size_t errlen);

#endif
