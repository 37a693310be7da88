/* The oracle of the SDK's canonicalJSON: reads JSON on stdin, prints it as
 * the node signs records: json_dumps(JSON_COMPACT | JSON_SORT_KEYS). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    json_error_t err;
    json_t *doc = json_loadf(stdin, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!doc) {
        fprintf(stderr, "jansson_dump: %s\n", err.text);
        return 1;
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    fputs(text, stdout);
    free(text);
    json_decref(doc);
    return 0;
}
