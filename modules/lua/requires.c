/*
 * requires: the modules a Lua source requires by a literal name, found by
 * reading its tokens (comments and strings skipped), so an upload can name
 * a module that is missing before the app runs. A name computed at run
 * time is not seen: the app's load reports it then.
 */
#include "sandbox.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* At s[0] == '[': the level of a long bracket "[==[" (its '='s), or -1. */
static int long_open(const char *s, size_t left)
{
    size_t eq = 1;
    while (eq < left && s[eq] == '=')
        eq++;
    return eq < left && s[eq] == '[' ? (int)(eq - 1) : -1;
}

/* Skips a long bracket of level from i (at its '['); counts lines. The
 * index after its close, or len when it is not closed; body and body_len:
 * its content. */
static size_t skip_long(const char *s, size_t len, size_t i, int level, int *line, const char **body,
                        size_t *body_len)
{
    size_t start = i + (size_t)level + 2;
    for (size_t j = start; j < len; j++) {
        if (s[j] == '\n')
            ++*line;
        if (s[j] == ']' && j + (size_t)level + 1 < len && s[j + (size_t)level + 1] == ']') {
            size_t k = 1;
            while (k <= (size_t)level && s[j + k] == '=')
                k++;
            if (k == (size_t)level + 1) {
                *body = s + start;
                *body_len = j - start;
                return j + (size_t)level + 2;
            }
        }
    }
    *body = NULL;
    return len;
}

/* Skips a short string from i (at its quote); counts lines. The index after
 * it. *plain: no escapes in it (its text is its content). */
static size_t skip_short(const char *s, size_t len, size_t i, int *line, int *plain)
{
    char q = s[i];
    *plain = 1;
    for (size_t j = i + 1; j < len; j++) {
        if (s[j] == '\\') {
            *plain = 0;
            if (j + 1 < len && s[j + 1] == '\n')
                ++*line;
            j++;
        } else if (s[j] == q) {
            return j + 1;
        } else if (s[j] == '\n') {
            return j; /* unfinished: the syntax check says so */
        }
    }
    return len;
}

/* Skips spaces and comments from i; counts lines. */
static size_t skip_space(const char *s, size_t len, size_t i, int *line)
{
    while (i < len) {
        if (s[i] == '\n')
            ++*line, i++;
        else if (isspace((unsigned char)s[i]))
            i++;
        else if (s[i] == '-' && i + 1 < len && s[i + 1] == '-') {
            int level = i + 2 < len && s[i + 2] == '[' ? long_open(s + i + 2, len - i - 2) : -1;
            if (level >= 0) {
                const char *body;
                size_t body_len;
                i = skip_long(s, len, i + 2, level, line, &body, &body_len);
            } else {
                while (i < len && s[i] != '\n')
                    i++;
            }
        } else
            break;
    }
    return i;
}

int sandbox_each_require(const char *src, size_t len, int (*fn)(void *arg, const char *name, int line), void *arg)
{
    int line = 1;
    char last = 0; /* the last significant character before a name */
    size_t i = 0;
    while ((i = skip_space(src, len, i, &line)) < len) {
        char c = src[i];
        if (c == '"' || c == '\'') {
            int plain;
            i = skip_short(src, len, i, &line, &plain);
            last = c;
        } else if (c == '[' && long_open(src + i, len - i) >= 0) {
            const char *body;
            size_t body_len;
            i = skip_long(src, len, i, long_open(src + i, len - i), &line, &body, &body_len);
            last = ']';
        } else if (isalpha((unsigned char)c) || c == '_') {
            size_t start = i;
            while (i < len && (isalnum((unsigned char)src[i]) || src[i] == '_'))
                i++;
            /* require, not t.require or t:require */
            if (i - start != 7 || memcmp(src + start, "require", 7) || last == '.' || last == ':') {
                last = 'a';
                continue;
            }
            last = 'a';
            int at = line;
            size_t j = skip_space(src, len, i, &line);
            int paren = j < len && src[j] == '(';
            if (paren)
                j = skip_space(src, len, j + 1, &line);
            const char *name = NULL;
            size_t name_len = 0;
            if (j < len && (src[j] == '"' || src[j] == '\'')) {
                int plain;
                size_t end = skip_short(src, len, j, &line, &plain);
                if (plain && end > j + 1 && src[end - 1] == src[j])
                    name = src + j + 1, name_len = end - j - 2;
                i = end;
            } else if (j < len && src[j] == '[' && long_open(src + j, len - j) >= 0) {
                i = skip_long(src, len, j, long_open(src + j, len - j), &line, &name, &name_len);
            } else {
                i = j; /* past what was skipped (and counted) already */
            }
            /* require("a" .. b): a name made at run time */
            if (paren && name && ((i = skip_space(src, len, i, &line)) >= len || src[i] != ')'))
                name = NULL;
            if (name && name_len > 0 && name_len < 256 && !memchr(name, '\0', name_len)) {
                char text[256];
                memcpy(text, name, name_len);
                text[name_len] = '\0';
                int rc = fn(arg, text, at);
                if (rc)
                    return rc;
            }
        } else if (isdigit((unsigned char)c)) {
            while (i < len && (isalnum((unsigned char)src[i]) || src[i] == '.' || src[i] == '_'))
                i++;
            last = '0';
        } else {
            last = c;
            i++;
        }
    }
    return 0;
}

int sandbox_module_path(const char *name, char *out, size_t cap)
{
    if (!*name || strstr(name, "..") || strchr(name, '/')) {
        snprintf(out, cap, "module name '%s' is not allowed", name);
        return -1;
    }
    int library = !strncmp(name, "leither.", 8);
    int n = snprintf(out, cap, "%s%s.lua", library ? "lua/" : "server/", name);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(out, cap, "module name too long");
        return -1;
    }
    for (char *p = out + (library ? 4 : 7); *p && strcmp(p, ".lua"); p++)
        if (*p == '.')
            *p = '/';
    return 0;
}
