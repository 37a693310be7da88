/* identity: the node's ID and addresses as the API and `swarm id` show them. */
#include "node.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void add_addr(json_t *arr, int family, const void *addr, int port)
{
    char ip[INET6_ADDRSTRLEN], ma[INET6_ADDRSTRLEN + 32];
    inet_ntop(family, addr, ip, sizeof ip);
    snprintf(ma, sizeof ma, "/ip%c/%s/tcp/%d", family == AF_INET ? '4' : '6', ip, port);
    json_array_append_new(arr, json_string(ma));
}

json_t *node_multiaddrs(int port, const char *listen)
{
    json_t *arr = json_array();
    unsigned char a[16];
    int want4 = strcmp(listen, "::") == 0 || strcmp(listen, "0.0.0.0") == 0;
    int want6 = strcmp(listen, "::") == 0;
    if (!want4 && !want6) { /* one address */
        int fam = inet_pton(AF_INET, listen, a) == 1 ? AF_INET : AF_INET6;
        if (fam == AF_INET6)
            inet_pton(AF_INET6, listen, a);
        add_addr(arr, fam, a, port);
        return arr;
    }
    struct ifaddrs *ifs, *i;
    if (getifaddrs(&ifs) != 0)
        return arr;
    for (int pass = 0; pass < 2; pass++) /* IPv4 first, as the original lists them */
        for (i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr)
                continue;
            if (pass == 0 && want4 && i->ifa_addr->sa_family == AF_INET)
                add_addr(arr, AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, port);
            if (pass == 1 && want6 && i->ifa_addr->sa_family == AF_INET6) {
                const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
                if (!IN6_IS_ADDR_LINKLOCAL(a6)) /* needs a zone to be dialled */
                    add_addr(arr, AF_INET6, a6, port);
            }
        }
    freeifaddrs(ifs);
    return arr;
}

json_t *node_identity_json(const ids_key *key, int port, const char *listen)
{
    char lid[IDS_LID_LEN + 1], pid[IDS_PEERID_MAX];
    char pub[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_leither_id(lid, key->pk);
    ids_peer_id(pid, key->pk);
    ids_b64url_encode(pub, key->pk, IDS_PK_BYTES);
    return json_pack("{s:s,s:s,s:s,s:o,s:s}", "ID", lid, "PeerID", pid, "PublicKey", pub, "Addresses",
                     node_multiaddrs(port, listen), "AgentVersion", "leither/" LEITHER_VERSION);
}

void node_request_stop(node *n)
{
    n->stopping = 1;
    kill(getpid(), SIGTERM); /* the main thread waits for it in sigwait */
}
