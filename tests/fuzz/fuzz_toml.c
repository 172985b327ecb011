/* Fuzzing the TOML parser (core/toml.c): any bytes either parse or fail
 * with a message. What parses must also survive the rest of the document
 * model: every key is found again by look-up, the writer's text parses
 * back to the same tree, a clone is the same tree, and the tagged JSON is
 * written. A single value (--set KEY=VALUE) is parsed from the same
 * bytes. */
#include <math.h>

#include "fuzz.h"
#include "twinbrain/toml.h"

static bool same_tree(const tb_toml_value *a, const tb_toml_value *b);

/* Tables compare by key, not order: the writer puts a table's plain keys
 * before its sub-tables, which may differ from the order written. */
static bool same_table(const tb_toml_value *a, const tb_toml_value *b)
{
    if (a->u.tab.n != b->u.tab.n)
        return false;
    for (size_t i = 0; i < a->u.tab.n; i++) {
        const tb_toml_kv *ka = &a->u.tab.items[i], *kb = NULL;
        for (size_t j = 0; j < b->u.tab.n && !kb; j++)
            if (b->u.tab.items[j].keylen == ka->keylen && memcmp(b->u.tab.items[j].key, ka->key, ka->keylen) == 0)
                kb = &b->u.tab.items[j];
        if (!kb || !same_tree(ka->value, kb->value))
            return false;
    }
    return true;
}

static bool same_tree(const tb_toml_value *a, const tb_toml_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TB_TOML_INTEGER:
        return a->u.i == b->u.i;
    case TB_TOML_FLOAT:
        return isnan(a->u.f) ? isnan(b->u.f) : a->u.f == b->u.f && signbit(a->u.f) == signbit(b->u.f);
    case TB_TOML_BOOL:
        return a->u.b == b->u.b;
    case TB_TOML_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!same_tree(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case TB_TOML_TABLE:
        return same_table(a, b);
    default:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    }
}

/* Every key of every table is found by look-up (the key index agrees with
 * the items), unless it holds a NUL, which a C-string look-up cannot name. */
static void check_lookups(const tb_toml_value *v)
{
    if (v->type == TB_TOML_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; i++)
            check_lookups(v->u.arr.items[i]);
    if (v->type != TB_TOML_TABLE)
        return;
    for (size_t i = 0; i < v->u.tab.n; i++) {
        const tb_toml_kv *kv = &v->u.tab.items[i];
        if (strlen(kv->key) == kv->keylen)
            FUZZ_ASSERT(tb_toml_get_kv(v, kv->key) == kv);
        check_lookups(kv->value);
    }
}

static void check_document(const tb_toml_value *doc)
{
    check_lookups(doc);
    char *text = tb_toml_format(doc);
    FUZZ_ASSERT(text);
    tb_error err = {0};
    tb_toml_value *again = tb_toml_parse(text, strlen(text), "formatted", &err);
    if (!again)
        fprintf(stderr, "the writer's text does not parse: %s\n---\n%s---\n", tb_error_message(&err), text);
    FUZZ_ASSERT(again);
    FUZZ_ASSERT(same_tree(doc, again));
    tb_toml_value *copy = tb_toml_clone(doc);
    FUZZ_ASSERT(copy && same_tree(doc, copy));
    char *json = tb_toml_to_tagged_json(doc);
    FUZZ_ASSERT(json);
    free(json);
    tb_toml_free(copy);
    tb_toml_free(again);
    free(text);
}

/* --set's parser takes a C string: the bytes up to the first NUL. */
static void check_value(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_ASSERT(s);
    memcpy(s, data, size);
    s[size] = '\0';
    tb_error err = {0};
    tb_toml_value *v = tb_toml_parse_value(s, "--set", &err);
    FUZZ_ASSERT(v || tb_error_message(&err)[0]);
    if (v) {
        tb_toml_value *root = tb_toml_new_table();
        FUZZ_ASSERT(tb_toml_table_set(root, "v", v));
        check_document(root);
        tb_toml_free(root);
    }
    tb_error_clear(&err);
    free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tb_error err = {0};
    tb_toml_value *doc = tb_toml_parse((const char *)data, size, "fuzz.toml", &err);
    if (fuzz_verbose())
        fprintf(stderr, "  %s\n", doc ? "parsed" : tb_error_message(&err));
    if (doc) {
        check_document(doc);
        tb_toml_free(doc);
    } else {
        FUZZ_ASSERT(err.status == TB_ERR_SCENARIO || err.status == TB_ERR_OTHER);
        FUZZ_ASSERT(tb_error_message(&err)[0]);
    }
    tb_error_clear(&err);
    check_value(data, size);
    return 0;
}
