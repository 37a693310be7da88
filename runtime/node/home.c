/* home: the home directory and its settings (node.h, the home section). */
#include "node.h"

#include "atomicfile.h"
#include "ids.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"

/* dir made absolute (relative to the current directory) without trailing '/' */
static int absolute(char *out, size_t cap, const char *dir, char *err, size_t errlen)
{
    char cwd[PATH_MAX];
    if (dir[0] == '/') {
        if ((size_t)snprintf(out, cap, "%s", dir) >= cap)
            return ERR("home path too long");
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return ERR("cannot read the current directory: %s", strerror(errno));
        if ((size_t)snprintf(out, cap, "%s/%s", cwd, dir) >= cap)
            return ERR("home path too long");
    }
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

/* The one rule (README "The home"), shared by every command and `make run`:
 * the flag, else $LEITHER_HOME, else the current directory when it is a
 * home, else ~/.leither. The default is outside any checkout, so following
 * "run 'leither init'" never puts a key inside a git tree. */
int home_resolve(char *out, size_t cap, const char *flag, char *err, size_t errlen)
{
    const char *env = getenv("LEITHER_HOME");
    if (flag && *flag)
        return absolute(out, cap, flag, err, errlen);
    if (env && *env)
        return absolute(out, cap, env, err, errlen);
    char dir[PATH_MAX];
    if (access(HOME_SETTINGS, F_OK) == 0) {
        if (!getcwd(dir, sizeof dir))
            return ERR("cannot read the current directory: %s", strerror(errno));
        return absolute(out, cap, dir, err, errlen);
    }
    const char *user = getenv("HOME");
    if (!user || user[0] != '/') {
        struct passwd *pw = getpwuid(getuid());
        user = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
    }
    if (!user)
        return ERR("no home: give --home DIR or set $LEITHER_HOME (there is no $HOME for %s)", HOME_DEFAULT_DIR);
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", user, HOME_DEFAULT_DIR) >= sizeof dir)
        return ERR("home path too long");
    return absolute(out, cap, dir, err, errlen);
}

static int int_setting(json_t *doc, const char *key, long min, long max, long def, long *out, const char *file,
                       char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return ERR("%s: \"%s\" must be an integer from %ld to %ld", file, key, min, max);
    *out = (long)json_integer_value(v);
    return 0;
}

/* "guest_quota": {"per_identity_bytes": N, "total_bytes": M}, absent: closed */
static int guest_quota(home *h, const char *file, char *err, size_t errlen)
{
    json_t *q = json_object_get(h->doc, "guest_quota");
    h->guest_per_identity = h->guest_total = 0;
    if (!q)
        return 0;
    static const char *const keys[] = {"per_identity_bytes", "total_bytes"};
    uint64_t *out[] = {&h->guest_per_identity, &h->guest_total};
    const char *k;
    json_t *v;
    if (!json_is_object(q))
        return ERR("%s: \"guest_quota\" must be {\"per_identity_bytes\": N, \"total_bytes\": M}", file);
    json_object_foreach(q, k, v) {
        int known = !strcmp(k, keys[0]) || !strcmp(k, keys[1]);
        if (!known || !json_is_integer(v) || json_integer_value(v) < 0)
            return ERR("%s: \"guest_quota\": \"%s\" must be %s", file, k,
                       known ? "a number of bytes from 0" : "per_identity_bytes or total_bytes");
        *out[strcmp(k, keys[0]) ? 1 : 0] = (uint64_t)json_integer_value(v);
    }
    return 0;
}

/* A bootstrap entry: HOST, HOST:PORT or [IPV6]:PORT (the DHT resolves it) */
static int valid_bootstrap(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 255 || strpbrk(s, " \t\r\n/"))
        return 0;
    const char *port = NULL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || (close[1] && close[1] != ':'))
            return 0;
        port = close[1] ? close + 2 : NULL;
    } else if (strchr(s, ':')) {
        port = strchr(s, ':') + 1;
        if (port == s + 1 || strchr(port, ':'))
            return 0; /* an IPv6 address takes brackets */
    }
    if (!port)
        return 1;
    char *end;
    long n = strtol(port, &end, 10);
    return *port >= '0' && *port <= '9' && !*end && n >= 1 && n <= 65535;
}

static int validate(home *h, const char *file, char *err, size_t errlen)
{
    json_t *doc = h->doc;
    if (!json_is_object(doc))
        return ERR("%s: settings must be a JSON object", file);
    /* = 0: gcc -O3 does not see that ERR is -1 and calls them uninitialized */
    long port = 0, threads = 0, body = 0, db_port = 0, dht_port = 0, db_clients = 0, retention = 0, lua_mem, lua_instr,
        lua_wall;
    /* the Lua limits are read per app (apps.c); here they are only checked */
    if (int_setting(doc, "lua_memory_mb", 1, 1L << 16, 64, &lua_mem, file, err, errlen) ||
        int_setting(doc, "lua_instructions", 1000, 1L << 40, 100000000, &lua_instr, file, err, errlen) ||
        int_setting(doc, "lua_wall_ms", 10, 3600 * 1000, 5000, &lua_wall, file, err, errlen))
        return -1;
    if (int_setting(doc, "port", 1, 65535, HOME_DEFAULT_PORT, &port, file, err, errlen) ||
        int_setting(doc, "db_port", 1, 65535, HOME_DEFAULT_PORT + 1, &db_port, file, err, errlen) ||
        int_setting(doc, "dht_port", 0, 65535, port + 2 > 65535 ? 0 : port + 2, &dht_port, file, err, errlen) ||
        int_setting(doc, "db_max_clients", 1, 1000000, 10000, &db_clients, file, err, errlen) ||
        int_setting(doc, "threads", 0, 256, 0, &threads, file, err, errlen) ||
        int_setting(doc, "max_request_body", 1024, 1L << 30, HOME_DEFAULT_BODY, &body, file, err, errlen) ||
        int_setting(doc, "ledger_retention_pulses", 1, 1L << 40, HOME_DEFAULT_RETENTION, &retention, file, err,
                    errlen))
        return -1;
    json_t *listen = json_object_get(doc, "listen");
    unsigned char addr[16];
    if (listen && (!json_is_string(listen) || (inet_pton(AF_INET, json_string_value(listen), addr) != 1 &&
                                               inet_pton(AF_INET6, json_string_value(listen), addr) != 1)))
        return ERR("%s: \"listen\" must be an IPv4 or IPv6 address", file);
    const char *lists[] = {"bootstrap", "grants"};
    for (size_t i = 0; i < 2; i++) {
        json_t *arr = json_object_get(doc, lists[i]), *item;
        size_t j;
        if (arr && !json_is_array(arr))
            return ERR("%s: \"%s\" must be an array of strings", file, lists[i]);
        json_array_foreach(arr, j, item)
        {
            if (!json_is_string(item))
                return ERR("%s: \"%s\" must be an array of strings", file, lists[i]);
            if (i == 0 && !valid_bootstrap(json_string_value(item)))
                return ERR("%s: \"bootstrap\": \"%s\" is not HOST, HOST:PORT or [IPV6]:PORT", file,
                           json_string_value(item));
            if (i == 1 && !ids_is_leither_id(json_string_value(item)))
                return ERR("%s: \"grants\": \"%s\" is not a Leither ID", file, json_string_value(item));
        }
    }
    static const char *syncs[] = {"always", "everysec", "no"}; /* enum db_sync order */
    json_t *sync = json_object_get(doc, "db_sync"), *auth = json_object_get(doc, "db_auth");
    h->db_sync = sync ? -1 : 0;
    for (int i = 0; i < 3 && sync; i++)
        if (json_is_string(sync) && !strcmp(json_string_value(sync), syncs[i]))
            h->db_sync = i;
    if (h->db_sync < 0)
        return ERR("%s: \"db_sync\" must be \"always\", \"everysec\" or \"no\"", file);
    if (auth && (!json_is_string(auth) ||
                 (strcmp(json_string_value(auth), "loopback") && strcmp(json_string_value(auth), "required"))))
        return ERR("%s: \"db_auth\" must be \"loopback\" or \"required\"", file);
    h->db_auth_required = auth && !strcmp(json_string_value(auth), "required");
    static const char *whos[] = {"loopback", "public", "off"}; /* enum home_metrics order */
    json_t *metrics = json_object_get(doc, "metrics");
    h->metrics = metrics ? -1 : HOME_METRICS_LOOPBACK;
    for (int i = 0; i < 3 && metrics; i++)
        if (json_is_string(metrics) && !strcmp(json_string_value(metrics), whos[i]))
            h->metrics = i;
    if (h->metrics < 0)
        return ERR("%s: \"metrics\" must be \"loopback\", \"public\" or \"off\"", file);
    if (guest_quota(h, file, err, errlen) != 0)
        return -1;
    if (db_port == port)
        return ERR("%s: \"db_port\" and \"port\" must differ", file);
    h->db_port = (int)db_port;
    h->dht_port = (int)dht_port;
    h->db_max_clients = (int)db_clients;
    h->ledger_retention_pulses = (uint64_t)retention;
    h->port = (int)port;
    h->threads = threads ? (int)threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (h->threads < 1)
        h->threads = 1;
    h->listen = listen ? json_string_value(listen) : "::";
    h->max_request_body = (size_t)body;
    return 0;
}

int home_parse(home *h, const char *text, size_t len, const char *filename, char *err, size_t errlen)
{
    json_error_t jerr;
    h->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!h->doc)
        return ERR("%s:%d:%d: %s", filename, jerr.line, jerr.column, jerr.text);
    if (validate(h, filename, err, errlen) != 0) {
        json_decref(h->doc);
        h->doc = NULL;
        return -1;
    }
    return 0;
}

int home_load(home *h, const char *dir, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    char path[PATH_MAX + 32];
    home_path(h, path, sizeof path, HOME_SETTINGS);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ERR("%s is not a Leither home (no %s): run 'leither init' first", dir, HOME_SETTINGS);
        return ERR("%s: %s", path, strerror(errno));
    }
    struct stat st;
    char *text = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0 || st.st_size > (1 << 20))
        ERR("%s: unreadable or larger than 1 MiB", path);
    else if (!(text = malloc((size_t)st.st_size + 1)))
        ERR("%s: out of memory", path);
    else if (read(fd, text, (size_t)st.st_size) != st.st_size)
        ERR("%s: %s", path, strerror(errno));
    else
        rc = home_parse(h, text, (size_t)st.st_size, path, err, errlen);
    free(text);
    close(fd);
    return rc;
}

void home_defaults(home *h, const char *dir)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    h->doc = json_pack("{s:i,s:s,s:i,s:[sss],s:[],s:i,s:i,s:s,s:s,s:{s:i,s:i}}", "port", HOME_DEFAULT_PORT, "listen",
                       "::", "threads", 0, "bootstrap", "mimei.org", "leither.cn", "vzhan.cn", "grants",
                       "max_request_body", HOME_DEFAULT_BODY, "db_port", HOME_DEFAULT_PORT + 1, "db_sync", "always", "db_auth",
                       "loopback", "guest_quota", "per_identity_bytes", 0, "total_bytes", 0);
    char ignored[8];
    validate(h, HOME_SETTINGS, ignored, sizeof ignored);
}

int home_save(home *h, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    home_path(h, path, sizeof path, HOME_SETTINGS);
    if (validate(h, path, err, errlen) != 0)
        return -1;
    char *text = json_dumps(h->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return ERR("%s: out of memory", path);
    int rc = atomicfile_write(path, text, strlen(text), 0644, err, errlen);
    free(text);
    return rc;
}

void home_path(const home *h, char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", h->dir, name); }

void home_api_base(const home *h, char *out, size_t cap)
{
    /* a wildcard bind is reached on loopback; a specific address as itself */
    const char *host = h->listen;
    if (!strcmp(host, "::") || !strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    if (strchr(host, ':'))
        snprintf(out, cap, "http://[%s]:%d", host, h->port);
    else
        snprintf(out, cap, "http://%s:%d", host, h->port);
}

int home_may_write(const home *h, const char *owner_id, const char *id)
{
    if (!strcmp(owner_id, id))
        return 1;
    json_t *item;
    size_t i;
    json_array_foreach(json_object_get(h->doc, "grants"), i, item) if (!strcmp(json_string_value(item), id)) return 1;
    return 0;
}

int home_secure_data(const home *h, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    home_path(h, path, sizeof path, "data");
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return ERR("cannot create %s: %s", path, strerror(errno));
    if (chmod(path, 0700) != 0)
        return ERR("%s: %s", path, strerror(errno));
    static const char *const files[] = {"data/data.mdb", "data/lock.mdb"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        home_path(h, path, sizeof path, files[i]);
        if (chmod(path, 0600) != 0 && errno != ENOENT)
            return ERR("%s: %s", path, strerror(errno));
    }
    return 0;
}

void home_free(home *h)
{
    json_decref(h->doc);
    h->doc = NULL;
}
