/*
 * head_record: prints a head envelope (runtime/sync/sync.h) signed with a
 * key file, for heads a node never puts: signed by a key that is not the
 * author's, past its EOL, from the future (publish_spec.lua puts them in
 * the DHT with dhtnode).
 *
 *     head_record KEYFILE INFOFILE MID VERSION TIME EOL
 * INFOFILE holds the MiMei's info record (JSON); MID is the MiMei the head
 * claims (normally the info's ID).
 */
#include "ids.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "LEITHER-DHT-HEAD-V1\n"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: head_record KEYFILE INFOFILE MID VERSION TIME EOL\n");
        return 2;
    }
    ids_key key;
    char err[512];
    if (ids_init() != 0 || ids_key_load(&key, argv[1], err, sizeof err) != 0)
        return fprintf(stderr, "head_record: %s\n", err), 1;
    json_error_t jerr;
    json_t *info = json_load_file(argv[2], 0, &jerr);
    if (!info)
        return fprintf(stderr, "head_record: %s: %s\n", argv[2], jerr.text), 1;
    cid block;
    char text[CID_TEXT_MAX];
    cid_of_block(&block, 1, CID_CODEC_RAW, "forged", 6);
    cid_format(&block, text);
    json_t *rec = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:o}", "Type", "head", "MID", argv[3], "Version",
                            (json_int_t)atoll(argv[4]), "Block", text, "Time", (json_int_t)atoll(argv[5]), "EOL",
                            (json_int_t)atoll(argv[6]), "Info", info);
    char *rtext = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len = strlen(PREFIX) + strlen(rtext);
    char *msg = malloc(len + 1);
    snprintf(msg, len + 1, "%s%s", PREFIX, rtext);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, msg, len, &key);
    char sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
    json_t *env = json_pack("{s:s,s:s}", "Record", rtext, "Sig", sig64);
    char *out = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(out);
    free(out);
    free(msg);
    free(rtext);
    json_decref(env);
    json_decref(rec);
    return 0;
}
