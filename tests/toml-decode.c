/* The decoder the toml-test corpus drives: a TOML document on standard
 * input, its tagged JSON on standard output. Exit 0 when the document is
 * valid, 1 with the parser's message on standard error when it is not. */
#include <stdio.h>
#include <stdlib.h>

#include "twinbrain/toml.h"

static char *read_all(FILE *in, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            return NULL;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(in)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int main(void)
{
    size_t len = 0;
    char *text = read_all(stdin, &len);
    if (!text) {
        fprintf(stderr, "toml-decode: cannot read standard input\n");
        return 1;
    }
    tb_error err = {0};
    tb_toml_value *root = tb_toml_parse(text, len, "<stdin>", &err);
    free(text);
    if (!root) {
        fprintf(stderr, "%s\n", tb_error_message(&err));
        tb_error_clear(&err);
        return 1;
    }
    char *json = tb_toml_to_tagged_json(root);
    tb_toml_free(root);
    if (!json) {
        fprintf(stderr, "toml-decode: out of memory\n");
        return 1;
    }
    puts(json);
    free(json);
    return 0;
}
