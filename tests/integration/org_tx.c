/* org_tx: ledger transactions the CLI never makes (org_spec.lua): signed
 * with ledger.h's formats by any key, then altered, so the node sees forged
 * signatures, replayed nonces and expired offers.
 *
 *   org_tx sign KEYFILE [FIELD=JSON]... < TX   signs the JSON object TX
 *       ("Salt": "" gets a fresh salt first), then sets each FIELD to the
 *       JSON value (after the signature: a forgery); prints the bytes
 *   org_tx hash < TX                            prints H(bytes), base64url
 */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *read_tx(void)
{
    json_error_t e;
    json_t *tx = json_loadf(stdin, 0, &e);
    if (!json_is_object(tx)) {
        fprintf(stderr, "org_tx: stdin is not a JSON object: %s\n", e.text);
        exit(2);
    }
    return tx;
}

static void print_bytes(const json_t *tx)
{
    size_t len;
    char *bytes = ledger_bytes(tx, &len);
    if (!bytes)
        exit(1);
    fwrite(bytes, 1, len, stdout);
    putchar('\n');
    free(bytes);
}

int main(int argc, char **argv)
{
    if (ids_init() != 0)
        return 1;
    if (argc == 2 && !strcmp(argv[1], "hash")) {
        json_t *tx = read_tx();
        uint8_t h[SMT_HASH_BYTES];
        char text[IDS_B64URL_LEN(SMT_HASH_BYTES) + 1];
        ledger_hash(h, tx);
        ids_b64url_encode(text, h, sizeof h);
        puts(text);
        json_decref(tx);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "sign")) {
        fprintf(stderr, "usage: org_tx sign KEYFILE [FIELD=JSON]... < TX | org_tx hash < TX\n");
        return 2;
    }
    ids_key key;
    char err[512];
    if (ids_key_load(&key, argv[2], err, sizeof err) != IDS_OK) {
        fprintf(stderr, "org_tx: %s\n", err);
        return 1;
    }
    json_t *tx = read_tx();
    const char *salt = json_string_value(json_object_get(tx, "Salt"));
    if (salt && !*salt) {
        char fresh[IDS_B64URL_LEN(LEDGER_SALT_BYTES) + 1];
        ledger_salt(fresh);
        json_object_set_new(tx, "Salt", json_string(fresh));
    }
    if (ledger_sign(tx, &key) != 0)
        return 1;
    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        json_t *v = eq ? json_loads(eq + 1, JSON_DECODE_ANY, NULL) : NULL;
        if (!v) {
            fprintf(stderr, "org_tx: '%s' is not FIELD=JSON\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        json_object_set_new(tx, argv[i], v);
    }
    print_bytes(tx);
    json_decref(tx);
    return 0;
}
