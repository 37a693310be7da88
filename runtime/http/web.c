/*
 * web: the small toolkit every HTTP handler uses (http.h): replies, status
 * reasons, query parameters, and who signed the request.
 */
#include "http.h"

#include <h2o.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- replies ------------------------------------------------------------ */

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 308: return "Permanent Redirect";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Internal Server Error";
    }
}

int http_reply(h2o_req_t *req, int status, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = http_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body, len);
    return 0;
}

int http_reply_json(h2o_req_t *req, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room: its NUL */
    http_reply(req, status, "application/json", text, len + 1);
    free(text);
    return 0;
}

int http_reply_text_error(h2o_req_t *req, int status, const char *fmt, ...)
{
    char msg[640];
    int n = snprintf(msg, sizeof msg, "%d ", status);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(msg);
    msg[len++] = '\n';
    return http_reply(req, status, "text/plain; charset=utf-8", msg, len);
}

int http_reply_error(h2o_req_t *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return http_reply_json(req, status, http_error_json(msg));
}

json_t *http_error_json(const char *msg)
{
    return json_pack("{s:s,s:i,s:s}", "Message", msg, "Code", 0, "Type", "error");
}

int http_status_of_store(enum store_status status)
{
    switch (status) {
    case STORE_OK: return 200;
    case STORE_NOT_FOUND: return 404;
    case STORE_BAD_REQUEST: return 400;
    case STORE_CORRUPT: return 502; /* the node is a gateway to content it holds only part of */
    case STORE_ERROR: break;
    }
    return 500;
}

int http_status_of_mimei(enum mimei_status status)
{
    switch (status) {
    case MIMEI_OK: return 200;
    case MIMEI_INVALID: return 400;
    case MIMEI_STORAGE_CLOSED: return 403;
    case MIMEI_QUOTA_FULL: return 507; /* Insufficient Storage */
    case MIMEI_ERROR: break;
    }
    return 500;
}

int http_status_of_resp_error(const char *msg, size_t len)
{
    if (len >= 6 && !memcmp(msg, "NOPERM", 6))
        return 403;
    if (len >= 3 && !memcmp(msg, "OOM", 3))
        return 507;
    if (len >= 4 && !memcmp(msg, "BUSY", 4)) /* the writer did not take the call in time */
        return 503;
    return 400;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

ssize_t http_pct_decode(char *out, size_t cap, const char *in, size_t len, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(in[i + 1]) : -1, lo = hi < 0 ? -1 : hexval(in[i + 2]);
            if (lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c; /* o <= i: decoding in place never overtakes the input */
    }
    if (!cap)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}

const char *http_query(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= nl + 1 && !memcmp(p, name, nl) && p[nl] == '=')
            return http_pct_decode(out, cap, p + nl + 1, (size_t)(stop - p - nl - 1), 0) < 0 ? NULL : out;
        p = stop + 1;
    }
    return NULL;
}

int http_is_method(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

int http_reply_unreadable(h2o_req_t *req, const char *mid, const char *who)
{
    if (!who || !ids_is_leither_id(who))
        return http_reply_error(req, 403, "MiMei %s is private: sign the request as a key that may read it", mid);
    return http_reply_error(req, 403, "key %s may not read MiMei %s: it is private", who, mid);
}

/* --- the request's signer ---------------------------------------------- */

int http_signer(h2o_req_t *req, auth_request *signed_req, char *err, size_t errlen)
{
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (at < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[at].value;
    /* the path the client sent and signed (origins.c rewrites req->path on a subdomain) */
    if (auth_verify(v.base, v.len, req->method.base, req->method.len, req->input.path.base, req->input.path.len,
                    req->entity.base, req->entity.base ? req->entity.len : 0, (int64_t)time(NULL), signed_req, err,
                    errlen) != 0)
        return -1;
    return 1;
}

int http_use_signature(h2o_req_t *req, node *n, const auth_request *signed_req)
{
    pthread_mutex_lock(&n->lock);
    int trusted = home_may_write(&n->home, n->id, signed_req->signer);
    pthread_mutex_unlock(&n->lock);
    char err[256];
    int busy;
    if (auth_record(signed_req, (int64_t)time(NULL), trusted, &busy, err, sizeof err) == 0)
        return 0;
    if (busy)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("5"));
    http_reply_error(req, busy ? 503 : 401, "%s", err);
    return -1;
}

int http_reader(h2o_req_t *req, node *n, char reader[IDS_LID_LEN + 1])
{
    auth_request signed_req;
    char err[256];
    reader[0] = '\0';
    int rc = http_signer(req, &signed_req, err, sizeof err);
    if (rc < 0) {
        http_reply_error(req, 401, "%s", err);
        return -1;
    }
    if (rc > 0 && http_use_signature(req, n, &signed_req) != 0)
        return -1; /* a replayed read is refused as a replayed write is */
    if (rc > 0)
        memcpy(reader, signed_req.signer, sizeof signed_req.signer);
    return 0;
}
