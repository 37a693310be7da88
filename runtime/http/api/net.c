/* The network routes: swarm/addrs and dht/findpeer, from the presence
 * (dht.h). Neither waits on the DHT: findpeer answers what is verified
 * now, or 404 while the lookup it starts runs (the CLI asks again). */
#include "internal.h"

#include "dht.h"

#include <string.h>

int api_swarm_addrs(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    if (!n->presence)
        return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0)");
    return http_reply_json(req, 200, presence_peers_json(n));
}

int api_dht_findpeer(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char id[64];
    if (!http_query(req, "arg", id, sizeof id) || !ids_is_leither_id(id))
        return http_reply_error(req, 400, "arg= must be a Leither ID");
    if (!n->presence)
        return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0)");
    json_t *entry = presence_findpeer(n, id);
    if (!entry)
        return http_reply_error(req, 404, "node %s: no verified record yet (a lookup is under way)", id);
    return http_reply_json(req, 200, entry);
}
