/*
 * dht_record: prints a node record envelope (runtime/dht/dht.h) signed
 * with a key file, for records the node itself never puts: a stale one,
 * one claiming another node's ID (dht_spec.lua puts them with dhtnode).
 *
 *     dht_record KEYFILE TIME HTTP_MULTIADDR [CLAIMED_ID]
 */
#include "ids.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "LEITHER-DHT-NODE-V1\n"

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: dht_record KEYFILE TIME HTTP_MULTIADDR [CLAIMED_ID]\n");
        return 2;
    }
    ids_key key;
    char err[512];
    if (ids_init() != 0 || ids_key_load(&key, argv[1], err, sizeof err) != 0)
        return fprintf(stderr, "dht_record: %s\n", err), 1;
    char lid[IDS_LID_LEN + 1], pid[IDS_PEERID_MAX], pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_leither_id(lid, key.pk);
    ids_peer_id(pid, key.pk);
    ids_b64url_encode(pk64, key.pk, IDS_PK_BYTES);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[],s:s,s:I}", "Type", "node", "ID", argc == 5 ? argv[4] : lid,
                            "PeerID", pid, "PublicKey", pk64, "Addrs", argv[3], "RespAddrs", "Agent", "dht_record",
                            "Time", (json_int_t)atoll(argv[2]));
    char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len = strlen(DOMAIN) + strlen(text);
    char *msg = malloc(len + 1);
    snprintf(msg, len + 1, "%s%s", DOMAIN, text);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, msg, len, &key);
    char sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
    json_t *env = json_pack("{s:s,s:s}", "Record", text, "Sig", sig64);
    char *out = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(out);
    free(out);
    free(msg);
    free(text);
    json_decref(env);
    json_decref(rec);
    return 0;
}
