/* lpki: keys, file signatures, and grants of API write rights. */
#include "node.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A key's public face: ID, PeerID, PublicKey. */
static json_t *key_json(const ids_key *key)
{
    char lid[IDS_LID_LEN + 1], pid[IDS_PEERID_MAX], pub[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_leither_id(lid, key->pk);
    ids_peer_id(pid, key->pk);
    ids_b64url_encode(pub, key->pk, IDS_PK_BYTES);
    return json_pack("{s:s,s:s,s:s}", "ID", lid, "PeerID", pid, "PublicKey", pub);
}

static int print_key(const cli_args *a, json_t *doc)
{
    if (a->json)
        return cli_print_json(doc);
    printf("ID         %s\npeer ID    %s\npublic key %s\n", json_string_value(json_object_get(doc, "ID")),
           json_string_value(json_object_get(doc, "PeerID")), json_string_value(json_object_get(doc, "PublicKey")));
    json_decref(doc);
    return 0;
}

int cmd_lpki_genkey(const cli_args *a)
{
    if (!a->out)
        return cli_fail("lpki genkey needs -o FILE");
    if (access(a->out, F_OK) == 0)
        return cli_fail("%s already exists: not overwriting a key", a->out);
    ids_key key;
    char err[PATH_MAX + 256];
    ids_key_generate(&key);
    if (ids_key_save(&key, a->out, err, sizeof err) != 0)
        return cli_fail("%s", err);
    if (!a->json)
        printf("wrote %s\n", a->out);
    return print_key(a, key_json(&key));
}

int cmd_lpki_show(const cli_args *a)
{
    ids_key key;
    cli_args with = *a;
    home h = {0};
    if (a->nargs)
        with.key = a->args[0];
    else if (cli_load_home(a, &h))
        return 1;
    int rc = cli_load_key(&with, &h, &key);
    home_free(&h);
    return rc ? rc : print_key(a, key_json(&key));
}

int cmd_lpki_sign(const cli_args *a)
{
    ids_key key;
    if (cli_signing_key(a, &key))
        return 1;
    const char *file = a->args[0];
    char sigpath[PATH_MAX + 8], err[PATH_MAX + 256];
    snprintf(sigpath, sizeof sigpath, "%s", a->out ? a->out : file);
    if (!a->out)
        strncat(sigpath, ".sig", sizeof sigpath - strlen(sigpath) - 1);
    uint8_t sig[IDS_SIG_BYTES];
    if (ids_sign_file(sig, file, &key, err, sizeof err) != 0)
        return cli_fail("%s", err);
    char s64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_b64url_encode(s64, sig, sizeof sig);
    json_t *doc = key_json(&key);
    json_t *out = json_pack("{s:O,s:O,s:s,s:s}", "Signer", json_object_get(doc, "ID"), "PublicKey",
                            json_object_get(doc, "PublicKey"), "Algorithm", "ed25519ph", "Signature", s64);
    json_decref(doc);
    if (json_dump_file(out, sigpath, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(out);
        return cli_fail("cannot write %s", sigpath);
    }
    if (a->json) {
        json_object_set_new(out, "File", json_string(sigpath));
        return cli_print_json(out);
    }
    printf("signed %s as %s: %s\n", file, json_string_value(json_object_get(out, "Signer")), sigpath);
    json_decref(out);
    return 0;
}

int cmd_lpki_verify(const cli_args *a)
{
    const char *file = a->args[0];
    char sigpath[PATH_MAX + 8], err[PATH_MAX + 256];
    snprintf(sigpath, sizeof sigpath, "%s%s", a->nargs > 1 ? a->args[1] : file, a->nargs > 1 ? "" : ".sig");
    json_error_t jerr;
    json_t *doc = json_load_file(sigpath, 0, &jerr);
    if (!doc)
        return cli_fail("%s: %s", sigpath, jerr.text);
    const char *signer = NULL, *pub = NULL, *s64 = NULL, *alg = NULL;
    uint8_t pk[IDS_PK_BYTES + 1], sig[IDS_SIG_BYTES + 1];
    size_t n1 = 0, n2 = 0;
    char lid[IDS_LID_LEN + 1] = "";
    int rc = 1;
    if (json_unpack(doc, "{s:s,s:s,s:s,s:s}", "Signer", &signer, "PublicKey", &pub, "Algorithm", &alg, "Signature",
                    &s64) != 0 ||
        strcmp(alg, "ed25519ph") != 0 || ids_b64url_decode(pk, sizeof pk, &n1, pub, strlen(pub)) ||
        n1 != IDS_PK_BYTES || ids_b64url_decode(sig, sizeof sig, &n2, s64, strlen(s64)) || n2 != IDS_SIG_BYTES)
        cli_fail("%s: not a Leither signature file", sigpath);
    else if (ids_leither_id(lid, pk), strcmp(lid, signer) != 0)
        cli_fail("%s: Signer %s does not match its public key (%s)", sigpath, signer, lid);
    else if (a->signer && strcmp(a->signer, lid) != 0)
        cli_fail("%s: signed by %s, not by %s", file, lid, a->signer);
    else if (ids_verify_file(sig, file, pk, err, sizeof err) != 0)
        cli_fail("%s", err);
    else
        rc = 0;
    json_decref(doc);
    if (rc)
        return rc;
    if (a->json)
        return cli_print_json(json_pack("{s:b,s:s,s:s}", "Valid", 1, "Signer", lid, "File", file));
    printf("good signature on %s by %s\n", file, lid);
    return 0;
}

static int change_grant(const cli_args *a, const char *verb)
{
    if (!ids_is_leither_id(a->args[0]))
        return cli_fail("'%s' is not a Leither ID", a->args[0]);
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return 1;
    if (cli_load_key(a, &h, &key))
        return home_free(&h), 1;
    char path[128], err[512];
    snprintf(path, sizeof path, "/api/v0/lpki/%s?arg=%s", verb, a->args[0]);
    json_t *reply;
    int status = cli_call(&h, &key, "POST", path, &reply, err, sizeof err);
    home_free(&h);
    if (status != 200) {
        json_decref(reply);
        return cli_fail("%s", err);
    }
    if (a->json)
        return cli_print_json(reply);
    printf("%s %s\n", !strcmp(verb, "grant") ? "granted" : "revoked", a->args[0]);
    json_decref(reply);
    return 0;
}

int cmd_lpki_grant(const cli_args *a) { return change_grant(a, "grant"); }
int cmd_lpki_revoke(const cli_args *a) { return change_grant(a, "revoke"); }

int cmd_lpki_authorize(const cli_args *a)
{
    ids_key key;
    if (cli_signing_key(a, &key))
        return 1;
    const char *path = a->args[1];
    if (path[0] != '/')
        return cli_fail("PATH must start with '/', as in /api/v0/shutdown");
    char *body = NULL;
    size_t len = 0;
    if (a->nargs > 2) { /* the body is signed too: curl --data-binary @BODYFILE */
        FILE *f = fopen(a->args[2], "rb");
        if (!f)
            return cli_fail("cannot read %s: %s", a->args[2], strerror(errno));
        FILE *mem = open_memstream(&body, &len);
        char buf[65536];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, got, mem);
        fclose(f);
        fclose(mem);
    }
    char value[AUTH_HEADER_MAX];
    auth_sign(value, &key, a->args[0], path, strlen(path), body ? body : "", len, (int64_t)time(NULL));
    free(body);
    printf("%s\n", value);
    return 0;
}
