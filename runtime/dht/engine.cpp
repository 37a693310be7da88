/* engine: dht.h's DHT on OpenDHT's DhtRunner. The only file that names
 * OpenDHT. Its callbacks run on OpenDHT's thread and only copy results
 * into the asker's mailbox. C++ because OpenDHT's C API (2.4.12) cannot
 * bind one address: DhtRunner::Config's bind4/bind6 can. */
#include "internal.h"

#include <opendht/dhtrunner.h>

#include <openssl/sha.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>

struct dht_engine {
    dht::DhtRunner runner;
    std::mutex lock;
    long next_listen = 1;
    std::map<long, std::pair<dht::InfoHash, std::shared_future<size_t>>> listens;
};

static dht::InfoHash hash_of(const dht_key *key) { return dht::InfoHash(key->b, DHT_KEY_BYTES); }

extern "C" void dht_key_of(dht_key *key, const char *name)
{
    SHA1(reinterpret_cast<const unsigned char *>(name), strlen(name), key->b);
}

/* "host:port", "[v6]:port" or "host" into host and service */
static void split_host_port(const char *text, int default_port, std::string &host, std::string &service)
{
    std::string s(text);
    size_t colon = s.rfind(':');
    if (!s.empty() && s[0] == '[') {
        size_t close = s.find(']');
        host = s.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        service = close != std::string::npos && close + 1 < s.size() && s[close + 1] == ':' ? s.substr(close + 2)
                                                                                              : std::to_string(default_port);
    } else if (colon != std::string::npos && s.find(':') == colon) {
        host = s.substr(0, colon);
        service = s.substr(colon + 1);
    } else {
        host = s;
        service = std::to_string(default_port);
    }
}

extern "C" dht_engine *dht_start(const dht_config *cfg, char *err, size_t errlen)
{
    dht_engine *e = nullptr;
    try {
        e = new dht_engine;
        dht::DhtRunner::Config config;
        config.threaded = true;
        config.dht_config.node_config.network = cfg->network;
        config.dht_config.node_config.maintain_storage = false;
        std::string listen(cfg->listen), service = std::to_string(cfg->port);
        int any = listen == "::" || listen == "0.0.0.0";
        std::vector<dht::SockAddr> v4, v6;
        if (any || listen.find(':') == std::string::npos)
            v4 = dht::SockAddr::resolve(listen == "::" ? "0.0.0.0" : listen, service);
        if (listen.find(':') != std::string::npos)
            v6 = dht::SockAddr::resolve(listen, service);
        if (!v4.empty())
            config.bind4 = v4.front();
        if (!v6.empty())
            config.bind6 = v6.front();
        e->runner.run(config, dht::DhtRunner::Context{});
        for (size_t i = 0; i < cfg->nbootstrap; i++) {
            std::string host, port;
            split_host_port(cfg->bootstrap[i], cfg->default_port, host, port);
            e->runner.bootstrap(host, port); /* resolved on OpenDHT's thread: a dead name costs us nothing */
        }
        return e;
    } catch (const std::exception &ex) {
        const char *why = ex.what();
        if (strstr(why, "in use"))
            snprintf(err, errlen, "dht port %d is already in use", cfg->port);
        else if (strstr(why, "bind")) /* OpenDHT's "Can't bind socket" hides the errno: nearly always in use */
            snprintf(err, errlen, "dht port %d is already in use (or cannot be bound on %s: %s)", cfg->port,
                     cfg->listen, why);
        else
            snprintf(err, errlen, "dht: cannot start on %s port %d: %s", cfg->listen, cfg->port, why);
    } catch (...) {
        snprintf(err, errlen, "dht: cannot start on %s port %d", cfg->listen, cfg->port);
    }
    delete e;
    return nullptr;
}

extern "C" void dht_stop(dht_engine *e)
{
    if (!e)
        return;
    try {
        e->runner.join(); /* after it, OpenDHT calls nothing */
    } catch (...) {
    }
    delete e;
}

extern "C" int dht_put(dht_engine *e, const dht_key *key, const void *data, size_t len)
{
    if (len > DHT_VALUE_MAX)
        return -1;
    try {
        auto v = std::make_shared<dht::Value>(static_cast<const uint8_t *>(data), len);
        unsigned char digest[SHA_DIGEST_LENGTH];
        SHA1(static_cast<const unsigned char *>(data), len, digest);
        uint64_t id;
        memcpy(&id, digest, sizeof id);
        v->id = id ? id : 1;
        e->runner.put(hash_of(key), v, dht::DoneCallbackSimple{});
        return 0;
    } catch (...) {
        return -1;
    }
}

extern "C" int dht_get(dht_engine *e, const dht_key *key, dht_mailbox *mb, dht_value_fn on_value, dht_done_fn on_done,
                       void *ctx)
{
    try {
        e->runner.get(
            hash_of(key),
            [=](const std::vector<std::shared_ptr<dht::Value>> &values) {
                for (const auto &v : values)
                    dht_mailbox_post_value(mb, on_value, ctx, v->data.data(), v->data.size());
                return true;
            },
            [=](bool ok) {
                if (on_done)
                    dht_mailbox_post_done(mb, on_done, ctx, ok);
            });
        return 0;
    } catch (...) {
        return -1;
    }
}

extern "C" long dht_listen(dht_engine *e, const dht_key *key, dht_mailbox *mb, dht_value_fn on_value, void *ctx)
{
    try {
        auto token = e->runner.listen(hash_of(key),
                                      [=](const std::vector<std::shared_ptr<dht::Value>> &values, bool expired) {
                                          if (!expired)
                                              for (const auto &v : values)
                                                  dht_mailbox_post_value(mb, on_value, ctx, v->data.data(),
                                                                         v->data.size());
                                          return true;
                                      });
        std::lock_guard<std::mutex> hold(e->lock);
        long id = e->next_listen++;
        e->listens.emplace(id, std::make_pair(hash_of(key), token.share()));
        return id;
    } catch (...) {
        return -1;
    }
}

extern "C" void dht_unlisten(dht_engine *e, long id)
{
    std::lock_guard<std::mutex> hold(e->lock);
    auto it = e->listens.find(id);
    if (it == e->listens.end())
        return;
    try {
        e->runner.cancelListen(it->second.first, it->second.second);
    } catch (...) {
    }
    e->listens.erase(it);
}

extern "C" int dht_routing_nodes(dht_engine *e)
{
    try {
        return (int)(e->runner.getNodesStats(AF_INET).getKnownNodes() + e->runner.getNodesStats(AF_INET6).getKnownNodes());
    } catch (...) {
        return 0;
    }
}
