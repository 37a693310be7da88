/* Commands that manage the node: init, run, stop, status, swarm. */
#include "cli.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    return cli_fail("cannot create %s: %s", path, strerror(errno));
}

/* mkdir -p for the home itself */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            int rc = make_dir(path, 0755);
            *p = '/';
            if (rc)
                return rc;
        }
    return make_dir(path, 0755);
}

int cmd_init(const cli_args *a)
{
    char dir[PATH_MAX], err[PATH_MAX + 256], path[PATH_MAX + 32];
    if (home_resolve(dir, sizeof dir, a->home, err, sizeof err) != 0)
        return cli_fail("%s", err);
    home h;
    snprintf(path, sizeof path, "%s/%s", dir, HOME_SETTINGS);
    if (access(path, F_OK) == 0) {
        if (home_load(&h, dir, err, sizeof err) != 0) /* never overwrite what we cannot read */
            return cli_fail("%s", err);
    } else {
        if (make_dirs(dir))
            return 1;
        home_defaults(&h, dir);
    }
    if (a->port)
        json_object_set_new(h.doc, "port", json_integer(a->port));
    if (a->bootstrap) {
        json_t *list = json_array();
        char *copy = strdup(a->bootstrap), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (*t)
                json_array_append_new(list, json_string(t));
        free(copy);
        json_object_set_new(h.doc, "bootstrap", list);
    }

    char sub[PATH_MAX + 32];
    home_path(&h, sub, sizeof sub, "keys");
    if (make_dir(sub, 0700))
        return home_free(&h), 1;
    if (home_secure_data(&h, err, sizeof err) != 0)
        return home_free(&h), cli_fail("%s", err);

    ids_key key;
    home_path(&h, path, sizeof path, NODE_KEY_FILE);
    int fresh = access(path, F_OK) != 0;
    if (fresh) {
        ids_key_generate(&key);
        if (ids_key_save(&key, path, err, sizeof err) != 0)
            return home_free(&h), cli_fail("%s", err);
    } else if (ids_key_load(&key, path, err, sizeof err) != 0) {
        return home_free(&h), cli_fail("%s", err);
    }
    if (mimei_init_default(&h, &key) != 0)
        return home_free(&h), 1;
    if (home_secure_data(&h, err, sizeof err) != 0) /* the files the database just made */
        return home_free(&h), cli_fail("%s", err);
    if (home_save(&h, err, sizeof err) != 0)
        return home_free(&h), cli_fail("%s", err);

    char lid[IDS_LID_LEN + 1], pid[IDS_PEERID_MAX];
    ids_leither_id(lid, key.pk);
    ids_peer_id(pid, key.pk);
    int running = server_running_pid(&h) != 0;
    if (a->json) {
        cli_print_json(json_pack("{s:s,s:s,s:s,s:b,s:b,s:O}", "Home", h.dir, "ID", lid, "PeerID", pid, "NewKey",
                                 fresh, "Running", running, "Settings", h.doc));
    } else {
        printf("%s Leither home %s\nID        %s\npeer ID   %s\nport      %d\ndb_port   %d\ndatabase  %s\nbootstrap ",
               fresh ? "initialized" : "updated", h.dir, lid, pid, h.port, h.db_port,
               json_string_value(json_object_get(h.doc, "db_default")));
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(h.doc, "bootstrap"), i, item) printf("%s%s", i ? "," : "",
                                                                                 json_string_value(item));
        putchar('\n');
        if (running)
            printf("the node is running: restart it to apply the settings\n");
    }
    home_free(&h);
    return 0;
}

int cmd_run(const cli_args *a)
{
    enum log_format format = LOG_FORMAT_TEXT;
    if (a->log_format && log_parse_format(a->log_format, &format) != 0) {
        fprintf(stderr, "%s run: --log-format is text or json, not '%s'\n", cli_prog, a->log_format);
        return 2;
    }
    log_set_format(format);
    home h;
    if (cli_load_home(a, &h))
        return 1;
    char err[PATH_MAX + 256];
    int rc = server_run(&h, a->daemon, err, sizeof err);
    home_free(&h);
    if (rc && format == LOG_FORMAT_JSON) { /* the log's reader learns why it ended, in its format */
        log_line(LOG_LEVEL_ERROR, NULL, "%s", err);
        return 1;
    }
    return rc ? cli_fail("%s", err) : 0;
}

/* Alive and not a zombie: a daemon's reaper may be slow, or absent in a
 * container whose init does not reap. */
static int process_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* the state follows the command name */
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

int cmd_stop(const cli_args *a)
{
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return 1;
    pid_t pid = server_running_pid(&h);
    if (pid == 0)
        return home_free(&h), cli_fail("no node is running in %s", h.dir);
    if (cli_load_key(a, &h, &key))
        return home_free(&h), 1;
    json_t *reply;
    char err[512];
    int status = cli_call(&h, &key, "POST", "/api/v0/shutdown", &reply, err, sizeof err);
    json_decref(reply);
    if (status > 0 && status != 200)
        return home_free(&h), cli_fail("%s", err);
    if (status < 0 && pid > 0) /* API unreachable: a hung node still gets the signal */
        kill(pid, SIGTERM);
    for (int waited = 0; server_running_pid(&h) != 0 || (pid > 0 && process_alive(pid)); waited += 20) {
        if (waited >= 30000)
            return home_free(&h), cli_fail("the node (pid %d) did not stop within 30 s", (int)pid);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    printf("stopped the node in %s (pid %d)\n", h.dir, (int)pid);
    home_free(&h);
    return 0;
}

int cmd_status(const cli_args *a)
{
    home h;
    if (cli_load_home(a, &h))
        return 1;
    pid_t pid = server_running_pid(&h);
    json_t *reply = NULL;
    char err[512];
    int status = pid ? cli_call(&h, NULL, "GET", "/api/v0/node/status", &reply, err, sizeof err) : 0;
    int rc = 0;
    if (!pid) {
        if (a->json)
            cli_print_json(json_pack("{s:b,s:s}", "Running", 0, "Home", h.dir));
        else
            printf("not running (home %s)\n", h.dir);
        rc = 3;
    } else if (status != 200) {
        rc = cli_fail("the node (pid %d) runs but does not answer: %s", (int)pid, err);
    } else if (a->json) {
        json_object_set_new(reply, "Running", json_true());
        cli_print_json(json_incref(reply));
    } else {
        char base[128];
        /* the RESP port the node runs on: the settings may have changed since it started */
        json_t *db_port = json_object_get(reply, "DbPort");
        home_api_base(&h, base, sizeof base);
        printf("running   pid %d, up %.0f s\nID        %s\nhome      %s\nnode      %s/\nRESP      port %d "
               "(redis-cli -p %d)\nthreads   %d\npid file  %s/%s\nlog       %s/%s (when run with -d)\n",
               (int)pid, json_real_value(json_object_get(reply, "Uptime")),
               json_string_value(json_object_get(reply, "ID")), h.dir, base,
               json_is_integer(db_port) ? (int)json_integer_value(db_port) : h.db_port,
               json_is_integer(db_port) ? (int)json_integer_value(db_port) : h.db_port,
               (int)json_integer_value(json_object_get(reply, "Threads")), h.dir, NODE_PID_FILE, h.dir, NODE_LOG_FILE);
    }
    json_decref(reply);
    home_free(&h);
    return rc;
}

/* The identity document: from the running node when there is one (it knows
 * its real addresses), else computed from the home. */
static json_t *identity(const cli_args *a, home *h)
{
    json_t *doc = NULL;
    char err[512];
    if (server_running_pid(h) != 0) {
        if (cli_call(h, NULL, "GET", "/api/v0/id", &doc, err, sizeof err) == 200)
            return doc;
        json_decref(doc);
        cli_fail("%s", err);
        return NULL;
    }
    ids_key key;
    if (cli_load_key(a, h, &key))
        return NULL;
    return node_identity_json(&key, h->port, h->listen);
}

int cmd_swarm_id(const cli_args *a)
{
    home h;
    if (cli_load_home(a, &h))
        return 1;
    json_t *doc = identity(a, &h);
    home_free(&h);
    if (!doc)
        return 1;
    if (a->json)
        return cli_print_json(doc);
    printf("%s\n%s\n", json_string_value(json_object_get(doc, "ID")), json_string_value(json_object_get(doc, "PeerID")));
    json_decref(doc);
    return 0;
}

int cmd_swarm_local(const cli_args *a)
{
    home h;
    if (cli_load_home(a, &h))
        return 1;
    json_t *doc = identity(a, &h);
    home_free(&h);
    if (!doc)
        return 1;
    json_t *addrs = json_incref(json_object_get(doc, "Addresses"));
    json_decref(doc);
    if (a->json)
        return cli_print_json(json_pack("{s:o}", "Addresses", addrs));
    json_t *item;
    size_t i;
    json_array_foreach(addrs, i, item) puts(json_string_value(item));
    json_decref(addrs);
    return 0;
}

/* A running node's answer to a network command: 200 with *reply, else 1
 * after cli_fail. */
static int ask_running_node(const cli_args *a, home *h, const char *path, json_t **reply, int *status)
{
    char err[512];
    *reply = NULL;
    if (cli_load_home(a, h))
        return 1;
    if (server_running_pid(h) == 0) {
        cli_fail("no node is running in %s: the network is known to a running node ('leither run -d')", h->dir);
        home_free(h);
        return 1;
    }
    *status = cli_call(h, NULL, "GET", path, reply, err, sizeof err);
    if (*status != 200 && *status != 404) {
        cli_fail("%s", err);
        json_decref(*reply);
        home_free(h);
        return 1;
    }
    return 0;
}

int cmd_swarm_addrs(const cli_args *a)
{
    home h;
    json_t *reply;
    int status = 0;
    if (ask_running_node(a, &h, "/api/v0/swarm/addrs", &reply, &status))
        return 1;
    home_free(&h);
    if (status != 200) {
        json_decref(reply);
        return cli_fail("the node has no swarm/addrs route");
    }
    if (a->json)
        return cli_print_json(reply);
    json_t *peer, *addr;
    size_t i, j;
    /* the original's shape: "ID (n)", then one indented multiaddr a line */
    json_array_foreach(json_object_get(reply, "Peers"), i, peer)
    {
        json_t *addrs = json_object_get(peer, "Addrs");
        printf("%s (%zu)\n", json_string_value(json_object_get(peer, "ID")), json_array_size(addrs));
        json_array_foreach(addrs, j, addr) printf("        %s\n", json_string_value(addr));
    }
    json_decref(reply);
    return 0;
}

/* How long findpeer waits for the node's lookup in the DHT */
#define FINDPEER_WAIT_MS 15000
#define FINDPEER_POLL_MS 200

int cmd_dht_findpeer(const cli_args *a)
{
    const char *id = a->args[0];
    if (!ids_is_leither_id(id))
        return cli_fail("'%s' is not a Leither ID", id);
    char path[128];
    snprintf(path, sizeof path, "/api/v0/dht/findpeer?arg=%s", id);
    home h;
    json_t *reply;
    int status = 0;
    for (int waited = 0;; waited += FINDPEER_POLL_MS) {
        if (ask_running_node(a, &h, path, &reply, &status))
            return 1;
        home_free(&h);
        if (status == 200)
            break;
        json_decref(reply);
        if (waited >= FINDPEER_WAIT_MS)
            return cli_fail("node %s not found in the DHT (no verified record within %d s)", id,
                            FINDPEER_WAIT_MS / 1000);
        nanosleep(&(struct timespec){0, FINDPEER_POLL_MS * 1000L * 1000}, NULL);
    }
    if (a->json)
        return cli_print_json(reply);
    json_t *addr;
    size_t i;
    json_array_foreach(json_object_get(reply, "Addrs"), i, addr) puts(json_string_value(addr));
    json_decref(reply);
    return 0;
}
