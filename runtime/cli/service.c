/*
 * service: the node as a systemd service. `service unit` prints the unit
 * for a home; `service install` writes it (default
 * /etc/systemd/system/leither.service) and says the two systemctl commands
 * that start it. It does not run them: starting a service at boot is the
 * administrator's decision, and a machine without systemd (a container)
 * still gets the file.
 *
 * Why a command and not a file in the README: the unit must name this
 * binary, this home and its owner, and let the home (and nothing else) be
 * written; a copied file gets those wrong. The unit runs the node in the
 * foreground (`leither run`), so systemd sees it exit and restarts it after
 * a crash, and its log goes to the journal.
 */
#include "cli.h"

#include "atomicfile.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICE_DEFAULT_PATH "/etc/systemd/system/leither.service"

/* Nonzero when s can stand in a unit file as it is: no spaces, quotes,
 * '%' (systemd's specifiers), '$' (its variables) or '\'. */
static int plain(const char *s)
{
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@:,=", *s))
            return 0;
    return 1;
}

/* The unit for home h into *out (malloc'd). 0, or 1 after cli_fail. */
static int make_unit(const cli_args *a, const home *h, char **out)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return cli_fail("cannot find this program's path: %s", strerror(errno));
    exe[len] = '\0';
    enum log_format format = LOG_FORMAT_TEXT;
    if (a->log_format && log_parse_format(a->log_format, &format) != 0)
        return cli_fail("--log-format is text or json, not '%s'", a->log_format);
    if (!plain(exe) || !plain(h->dir))
        return cli_fail("'%s' or '%s' holds a character a unit file would read differently (space, quote, %%, $, "
                        "\\): move it",
                        exe, h->dir);
    struct stat st;
    if (stat(h->dir, &st) != 0)
        return cli_fail("%s: %s", h->dir, strerror(errno));
    /* the node runs as the home's owner: the one who can read its key */
    struct passwd *pw = getpwuid(st.st_uid);
    struct group *gr = getgrgid(st.st_gid);
    if (!pw || !gr)
        return cli_fail("%s: its owner (uid %d, gid %d) has no name on this machine", h->dir, (int)st.st_uid,
                        (int)st.st_gid);
    char user[64], group[64];
    snprintf(user, sizeof user, "%s", pw->pw_name);
    snprintf(group, sizeof group, "%s", gr->gr_name);
    if (!plain(user) || !plain(group))
        return cli_fail("the home's owner %s:%s has a name a unit file would read differently", user, group);
    /* a port below 1024 needs the one capability that binds it */
    int low_port = h->port < 1024 || h->db_port < 1024;
    /* a private /tmp would hide a home there */
    int in_tmp = !strncmp(h->dir, "/tmp/", 5) || !strncmp(h->dir, "/var/tmp/", 9);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return cli_fail("out of memory");
    fprintf(f,
            "# The Leither node of %s, made by `leither service install` (README \"Run it as a service\").\n"
            "[Unit]\n"
            "Description=Leither node (home %s)\n"
            "After=network-online.target\n"
            "Wants=network-online.target\n"
            "\n"
            "[Service]\n"
            "Type=simple\n"
            "User=%s\n"
            "Group=%s\n"
            "ExecStart=%s run --home %s%s\n"
            "Restart=on-failure\n"
            "RestartSec=2s\n"
            "TimeoutStopSec=30s\n"
            "# Redis protocol clients (db_max_clients) and HTTP connections\n"
            "LimitNOFILE=65536\n"
            "# the node writes its home and nothing else\n"
            "ProtectSystem=strict\n"
            "ProtectHome=read-only\n"
            "ReadWritePaths=%s\n"
            "%s"
            "PrivateDevices=yes\n"
            "NoNewPrivileges=yes\n"
            "ProtectKernelTunables=yes\n"
            "ProtectKernelModules=yes\n"
            "ProtectControlGroups=yes\n"
            "RestrictNamespaces=yes\n"
            "LockPersonality=yes\n"
            "# AF_NETLINK: the interface addresses `swarm local` lists\n"
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK\n",
            h->dir, h->dir, user, group, exe, h->dir, format == LOG_FORMAT_JSON ? " --log-format json" : "", h->dir,
            in_tmp ? "# no PrivateTmp: the home is in /tmp\n" : "PrivateTmp=yes\n");
    if (low_port)
        fprintf(f, "# port %d or db_port %d is below 1024\n"
                   "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
                   "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
                h->port, h->db_port);
    else
        fprintf(f, "CapabilityBoundingSet=\n");
    fprintf(f, "\n[Install]\nWantedBy=multi-user.target\n");
    if (fclose(f) != 0) {
        free(text);
        return cli_fail("out of memory");
    }
    *out = text;
    return 0;
}

/* The unit for the home a names: 0 with *out (malloc'd), or 1 after cli_fail. */
static int unit_of_home(const cli_args *a, char **out)
{
    home h;
    if (cli_load_home(a, &h))
        return 1;
    int rc = make_unit(a, &h, out);
    home_free(&h);
    return rc;
}

int cmd_service_unit(const cli_args *a)
{
    char *unit = NULL;
    int rc = unit_of_home(a, &unit);
    if (rc)
        return rc;
    fputs(unit, stdout);
    free(unit);
    return 0;
}

int cmd_service_install(const cli_args *a)
{
    char *unit = NULL;
    int rc = unit_of_home(a, &unit);
    if (rc)
        return rc;
    const char *path = a->out ? a->out : SERVICE_DEFAULT_PATH;
    char err[PATH_MAX + 256];
    rc = atomicfile_write(path, unit, strlen(unit) - 1, 0644, err, sizeof err); /* it adds the last newline */
    free(unit);
    if (rc != 0)
        return cli_fail("%s%s", err,
                        a->out ? "" : " (as root; or -o FILE, or 'leither service unit > FILE')");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    printf("wrote %s\n"
           "start it now and at every boot (from systemd's unit folder):\n"
           "  systemctl daemon-reload && systemctl enable --now %s\n"
           "its log: journalctl -u %s\n",
           path, base, base);
    return 0;
}
