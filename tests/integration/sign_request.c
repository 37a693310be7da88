/*
 * sign_request: prints the Authorization header of one API request with a
 * body, which `leither lpki authorize` (no body) cannot sign
 * (resp_hostile_spec.lua: db/exec as the owner).
 *
 *     sign_request KEYFILE METHOD PATH BODYFILE
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sign_request KEYFILE METHOD PATH BODYFILE\n");
        return 2;
    }
    ids_key key;
    char err[512];
    if (ids_key_load(&key, argv[1], err, sizeof err) != 0)
        return fprintf(stderr, "%s\n", err), 1;
    FILE *fp = fopen(argv[4], "rb");
    if (!fp)
        return perror(argv[4]), 1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *body = malloc((size_t)n + 1);
    if (fread(body, 1, (size_t)n, fp) != (size_t)n)
        return perror(argv[4]), 1;
    fclose(fp);
    char value[AUTH_HEADER_MAX];
    auth_sign(value, &key, argv[2], argv[3], strlen(argv[3]), body, (size_t)n, (int64_t)time(NULL));
    printf("%s\n", value);
    free(body);
    return 0;
}
