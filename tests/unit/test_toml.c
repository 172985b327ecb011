/* Unit tests of the TOML document model: positions, messages, editing and
 * the writer's round trip. Conformance to the language itself is the job of
 * tests/toml-conformance.sh over the toml-test corpus. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "toml_internal.h"
#include "twinbrain/toml.h"

static tb_toml_value *parse_ok(const char *text)
{
    tb_error err = {0};
    tb_toml_value *v = tb_toml_parse(text, strlen(text), "scenario.toml", &err);
    if (!v)
        fail_msg("unexpected parse error: %s", tb_error_message(&err));
    tb_error_clear(&err);
    return v;
}

/* Parses `text`, expecting failure; returns the message (caller frees). */
static char *parse_err(const char *text)
{
    tb_error err = {0};
    tb_toml_value *v = tb_toml_parse(text, strlen(text), "scenario.toml", &err);
    if (v) {
        tb_toml_free(v);
        fail_msg("document was accepted: %s", text);
    }
    assert_int_equal(err.status, TB_ERR_SCENARIO);
    assert_non_null(err.message);
    return err.message;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static bool same_tree(const tb_toml_value *a, const tb_toml_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TB_TOML_INTEGER:
        return a->u.i == b->u.i;
    case TB_TOML_FLOAT:
        if (isnan(a->u.f))
            return isnan(b->u.f);
        return a->u.f == b->u.f && signbit(a->u.f) == signbit(b->u.f);
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
        /* Same keys with the same values; the writer may move plain keys
         * ahead of sub-tables, so order is not compared here. */
        if (a->u.tab.n != b->u.tab.n)
            return false;
        for (size_t i = 0; i < a->u.tab.n; i++) {
            const tb_toml_kv *ka = &a->u.tab.items[i];
            const tb_toml_kv *kb = NULL;
            for (size_t j = 0; j < b->u.tab.n && !kb; j++)
                if (b->u.tab.items[j].keylen == ka->keylen &&
                    memcmp(b->u.tab.items[j].key, ka->key, ka->keylen) == 0)
                    kb = &b->u.tab.items[j];
            if (!kb || !same_tree(ka->value, kb->value))
                return false;
        }
        return true;
    default:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    }
}

/* ------------------------------------------------------------- positions */

static void test_positions(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("# a scenario\n"
                                   "[simulation]\n"
                                   "duration = 2000.0\n"
                                   "  dt = 0.1   # ms\n"
                                   "\n"
                                   "[model.parameters]\n"
                                   "mu = 0.22\n"
                                   "noise.sigma = { y1 = 1e-3 }\n"
                                   "[[monitor]]\n"
                                   "name = \"tavg\"\n");
    tb_toml_kv *sim = tb_toml_get_kv(root, "simulation");
    assert_non_null(sim);
    assert_int_equal(sim->pos.line, 2);
    assert_int_equal(sim->pos.col, 2); /* the key inside the brackets */
    assert_int_equal(sim->value->pos.line, 2);
    assert_int_equal(sim->value->pos.col, 1); /* the header's '[' */

    tb_toml_kv *dur = tb_toml_get_kv(sim->value, "duration");
    assert_int_equal(dur->pos.line, 3);
    assert_int_equal(dur->pos.col, 1);
    assert_int_equal(dur->value->pos.line, 3);
    assert_int_equal(dur->value->pos.col, 12);

    tb_toml_kv *dt = tb_toml_get_kv(sim->value, "dt");
    assert_int_equal(dt->pos.line, 4);
    assert_int_equal(dt->pos.col, 3);
    assert_int_equal(dt->value->pos.col, 8);

    const tb_toml_value *params = tb_toml_get_path(root, "model.parameters");
    assert_non_null(params);
    assert_int_equal(params->pos.line, 6);
    tb_toml_kv *noise = tb_toml_get_kv(params, "noise");
    assert_int_equal(noise->pos.line, 8);
    assert_int_equal(noise->pos.col, 1);
    tb_toml_kv *sigma = tb_toml_get_kv(noise->value, "sigma");
    assert_int_equal(sigma->pos.col, 7);
    assert_int_equal(sigma->value->pos.col, 15); /* the '{' */
    const tb_toml_kv *y1 = tb_toml_get_kv(sigma->value, "y1");
    assert_int_equal(y1->pos.col, 17);
    assert_int_equal(y1->value->pos.col, 22);

    const tb_toml_value *mon = tb_toml_get(root, "monitor");
    assert_int_equal(mon->type, TB_TOML_ARRAY);
    assert_int_equal(mon->u.arr.n, 1);
    assert_int_equal(mon->u.arr.items[0]->pos.line, 9);
    const tb_toml_kv *name = tb_toml_get_kv(mon->u.arr.items[0], "name");
    assert_int_equal(name->value->pos.line, 10);
    assert_int_equal(name->value->pos.col, 8);
    tb_toml_free(root);
}

static void test_positions_after_bom_and_crlf(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("\xEF\xBB\xBF" "a = 1\r\n  b = \"\xC3\xA9t\xC3\xA9\" \r\n c = 2\r\n");
    assert_int_equal(tb_toml_get_kv(root, "a")->pos.col, 1);
    tb_toml_kv *b = tb_toml_get_kv(root, "b");
    assert_int_equal(b->pos.line, 2);
    assert_int_equal(b->pos.col, 3);
    assert_string_equal(tb_toml_as_string(b->value), "\xC3\xA9t\xC3\xA9");
    tb_toml_kv *c = tb_toml_get_kv(root, "c");
    assert_int_equal(c->pos.line, 3);
    assert_int_equal(c->pos.col, 2);
    tb_toml_free(root);
}

/* ---------------------------------------------------------------- errors */

static void test_duplicate_key_message(void **state)
{
    (void)state;
    char *msg = parse_err("[simulation]\n"
                          "duration = 1.0\n"
                          "dt = 0.1\n"
                          "seed = 1\n"
                          "    dt = 0.2\n");
    assert_string_equal(msg, "scenario.toml:5:5: duplicate key 'dt' (first defined at line 3)");
    free(msg);
}

static void test_missing_equals_message(void **state)
{
    (void)state;
    char *msg = parse_err("[simulation]\nduration 2000.0\n");
    assert_contains(msg, "scenario.toml:2:10: ");
    assert_contains(msg, "expected '=' after key 'duration'");
    free(msg);
}

static void test_error_messages_name_place_and_key(void **state)
{
    (void)state;
    struct { const char *doc, *where, *what; } cases[] = {
        {"dt = 0.1 ms\n", "scenario.toml:1:10: ", "after the value of 'dt'"},
        {"plugin = jansen_rit\n", "scenario.toml:1:10: ", "'jansen_rit' (strings must be quoted"},
        {"[a]\nx = 1\n[a]\n", "scenario.toml:3:1: ", "table [a] is already defined (line 1)"},
        {"speed =\n", "scenario.toml:1:8: ", "missing value for key 'speed'"},
        {"a = 1\na.b = 2\n", "scenario.toml:2:1: ", "key 'a' is already an integer (line 1)"},
        {"d = 2023-02-29\n", "scenario.toml:1:5: ", "no such day"},
        {"n = 9223372036854775808\n", "scenario.toml:1:5: ", "out of range"},
        {"s = \"abc\\q\"\n", "scenario.toml:1:9: ", "invalid escape sequence '\\q'"},
        {"x = [1, 2\ny = 3\n", "scenario.toml:2:1: ", "array opened at line 1"},
        {"t = { a = 1,\n b = 2 }\n", "scenario.toml:1:13: ", "must close with '}' on the same line"},
        {"ok = 1\nbad = \"\xFF\"\n", "scenario.toml:2:8: ", "invalid UTF-8"},
        {"p = { a = 1 }\n[p.b]\n", "scenario.toml:2:2: ", "inline table"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *msg = parse_err(cases[i].doc);
        assert_contains(msg, cases[i].where);
        assert_contains(msg, cases[i].what);
        free(msg);
    }
}

static void test_parse_file(void **state)
{
    (void)state;
    tb_error err = {0};
    assert_null(tb_toml_parse_file("/nonexistent/dir/scenario.toml", &err));
    assert_int_equal(err.status, TB_ERR_INPUT);
    assert_string_equal(err.message, "/nonexistent/dir/scenario.toml: cannot read: No such file or directory");
    tb_error_clear(&err);

    char path[] = "/tmp/test_toml_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *doc = "x = 1\ny = = 2\n";
    assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    assert_null(tb_toml_parse_file(path, &err));
    assert_int_equal(err.status, TB_ERR_SCENARIO);
    char want[64];
    snprintf(want, sizeof want, "%s:2:5: ", path);
    assert_contains(err.message, want);
    tb_error_clear(&err);
    unlink(path);
}

/* ----------------------------------------------------------- round trip */

static const char *rich_doc =
    "title = \"twin \\\"one\\\"\\ttab\\u0000nul \\u00e9\"\n"
    "'quoted key' = 'C:\\path'\n"
    "\"\" = \"empty key\"\n"
    "multi = \"\"\"\nline one\nline two\\\n   joined\"\"\"\n"
    "ints = [0, -1, 9223372036854775807, -9223372036854775808, 0xff, 0o17, 0b101]\n"
    "floats = [0.1, -0.0, 1e300, 5e-324, 2.5E-3, inf, -inf, nan, 1_000.5]\n"
    "dates = [1979-05-27T07:32:00Z, 1979-05-27 07:32:00.999999-07:00, 1979-05-27T07:32:00,"
    " 1979-05-27, 00:32:00.5]\n"
    "nested = [[1, 2], ['a'], [], [{x = 1}, {}]]\n"
    "point = { x = 1, y.z = 2, \"w w\" = { deep = true } }\n"
    "site.name = \"lab\"\n"
    "site.geo.lat = 48.1\n"
    "\n"
    "[simulation]\n"
    "duration = 2000\n"
    "dt = 0.1\n"
    "\n"
    "[empty]\n"
    "\n"
    "[model.parameters]\n"
    "mu = [0.1, 0.22]\n"
    "a.b.c = false\n"
    "\n"
    "[model.parameters.a.extra]\n"
    "k = 1\n"
    "\n"
    "[[monitor]]\n"
    "name = \"tavg\"\n"
    "[monitor.opts]\n"
    "period = 1.0\n"
    "[[monitor.sub]]\n"
    "i = 1\n"
    "[[monitor.sub]]\n"
    "\n"
    "[[monitor]]\n"
    "name = \"bold\"\n"
    "\n"
    "[\"odd.key\".\"with space\"]\n"
    "v = 1\n";

static void test_format_round_trip(void **state)
{
    (void)state;
    tb_toml_value *a = parse_ok(rich_doc);
    char *text = tb_toml_format(a);
    assert_non_null(text);
    tb_error err = {0};
    tb_toml_value *b = tb_toml_parse(text, strlen(text), "formatted", &err);
    if (!b)
        fail_msg("formatted text does not parse: %s\n%s", tb_error_message(&err), text);
    assert_true(same_tree(a, b));
    /* Writing what was read back gives the same text: the writer is stable. */
    char *again = tb_toml_format(b);
    assert_string_equal(text, again);

    /* Spot checks that the comparison has teeth. */
    const tb_toml_value *title = tb_toml_get(b, "title");
    assert_int_equal(title->u.s.len, 21);
    assert_int_equal(title->u.s.ptr[14], '\0');
    double dt;
    assert_true(tb_toml_as_double(tb_toml_get_path(b, "simulation.dt"), &dt));
    assert_true(dt == 0.1);
    assert_non_null(strstr(text, "dt = 0.1\n")); /* shortest exact form, not 0.10000000000000001 */
    assert_non_null(strstr(text, "duration = 2000\n"));
    const tb_toml_value *mon = tb_toml_get(b, "monitor");
    assert_int_equal(mon->u.arr.n, 2);
    assert_int_equal(tb_toml_get(mon->u.arr.items[0], "sub")->u.arr.n, 2);

    free(again);
    free(text);
    tb_toml_free(b);
    tb_toml_free(a);
}

static void test_format_built_tree(void **state)
{
    (void)state;
    tb_toml_value *root = tb_toml_new_table();
    tb_error err = {0};
    assert_non_null(tb_toml_set_path(root, "simulation.duration", tb_toml_new_float(2000.0), &err));
    assert_non_null(tb_toml_set_path(root, "simulation.seed", tb_toml_new_int(42), &err));
    assert_non_null(tb_toml_table_set(root, "name", tb_toml_new_string("run \"1\"\n")));
    assert_non_null(tb_toml_table_set(root, "bin\x01key", tb_toml_new_string_len("a\0b", 3)));
    tb_toml_value *mons = tb_toml_new_array();
    for (int i = 0; i < 2; i++) {
        tb_toml_value *m = tb_toml_new_table();
        tb_toml_table_set(m, "period", tb_toml_new_float(i + 0.5));
        tb_toml_array_push(mons, m);
    }
    tb_toml_table_set(root, "monitor", mons);
    char *text = tb_toml_format(root);
    assert_non_null(text);
    assert_non_null(strstr(text, "[simulation]\nduration = 2000.0\nseed = 42\n"));
    assert_non_null(strstr(text, "[[monitor]]\nperiod = 0.5\n"));
    tb_toml_value *back = tb_toml_parse(text, strlen(text), "built", &err);
    if (!back)
        fail_msg("%s\n%s", tb_error_message(&err), text);
    assert_true(same_tree(root, back));
    /* Plain keys come first, so `name` does not fall into [simulation]. */
    assert_non_null(tb_toml_get(back, "name"));

    FILE *f = tmpfile();
    assert_int_equal(tb_toml_write(f, root), 0);
    assert_int_equal(ftell(f), (long)strlen(text));
    fclose(f);
    free(text);
    tb_toml_free(back);
    tb_toml_free(root);
}

static void test_format_keeps_the_written_shape(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("name = 'twin'\n"
                                   "sigma = { y1 = 1e-3, y2 = 0.5 }\n"
                                   "site.lab.room = 12\n"
                                   "[model.parameters]\n"
                                   "mu = 0.22\n"
                                   "[[monitor]]\n"
                                   "points = [{x = 1}, {x = 2}]\n"
                                   "range = {v.lo = -1, v.hi = {at = 2}}\n");
    char *text = tb_toml_format(root);
    assert_string_equal(text, "name = \"twin\"\n"
                              "sigma = { y1 = 0.001, y2 = 0.5 }\n"
                              "site.lab.room = 12\n"
                              "\n"
                              "[model.parameters]\n"
                              "mu = 0.22\n"
                              "\n"
                              "[[monitor]]\n"
                              "points = [{ x = 1 }, { x = 2 }]\n"
                              "range = { v.lo = -1, v.hi = { at = 2 } }\n");
    free(text);
    tb_toml_free(root);
}

/* Dotted keys inside an inline table are written dotted: as nested braces
 * each level would count twice against the parser's nesting limit, and a
 * document that parsed could be written as one that does not (found by
 * fuzz_toml). */
static void test_format_deep_dotted_inline_table(void **state)
{
    (void)state;
    char doc[2048] = "t = {";
    for (int i = 0; i < 200; i++)
        strcat(doc, i ? ".k" : "k");
    strcat(doc, " = 1}\n");
    tb_toml_value *root = parse_ok(doc);
    char *text = tb_toml_format(root);
    tb_toml_value *again = parse_ok(text);
    assert_true(same_tree(root, again));
    free(text);
    tb_toml_free(again);
    tb_toml_free(root);
}

/* --------------------------------------------------------------- editing */

static void test_table_set_keeps_order(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("a = 1\nb = 2\nc = 3\n");
    tb_toml_kv *kv = tb_toml_table_set(root, "b", tb_toml_new_string("two"));
    assert_non_null(kv);
    assert_ptr_equal(kv, &root->u.tab.items[1]); /* replaced in place */
    assert_int_equal(kv->pos.line, 2);            /* still points at where b was written */
    assert_int_equal(root->u.tab.n, 3);
    assert_string_equal(tb_toml_as_string(tb_toml_get(root, "b")), "two");

    kv = tb_toml_table_set(root, "d", tb_toml_new_bool(true));
    assert_ptr_equal(kv, &root->u.tab.items[3]);
    assert_int_equal(kv->pos.line, 0);

    assert_true(tb_toml_table_remove(root, "a"));
    assert_false(tb_toml_table_remove(root, "a"));
    assert_string_equal(root->u.tab.items[0].key, "b");
    assert_string_equal(root->u.tab.items[2].key, "d");

    tb_toml_value *leaf = tb_toml_new_int(1);
    assert_null(tb_toml_table_set(tb_toml_get_kv(root, "c")->value, "x", leaf)); /* not a table; leaf freed */
    tb_toml_free(root);
}

static void test_set_path(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("[model]\nplugin = \"jansen_rit\"\n[model.parameters]\nmu = 0.22\n");
    tb_error err = {0};
    tb_toml_kv *kv = tb_toml_set_path(root, "model.parameters.mu", tb_toml_new_float(0.3), &err);
    assert_non_null(kv);
    double mu;
    assert_true(tb_toml_as_double(tb_toml_get_path(root, "model.parameters.mu"), &mu));
    assert_true(mu == 0.3);
    assert_int_equal(kv->pos.line, 4);

    assert_non_null(tb_toml_set_path(root, "coupling.parameters.a", tb_toml_new_int(1), &err));
    const tb_toml_value *cp = tb_toml_get_path(root, "coupling.parameters");
    assert_non_null(cp);
    assert_int_equal(cp->type, TB_TOML_TABLE);
    assert_string_equal(root->u.tab.items[1].key, "coupling");

    assert_null(tb_toml_set_path(root, "model.plugin.x", tb_toml_new_int(1), &err));
    assert_int_equal(err.status, TB_ERR_SCENARIO);
    assert_contains(err.message, "'model.plugin' is a string, not a table");
    tb_error_clear(&err);
    assert_null(tb_toml_set_path(root, "model..x", tb_toml_new_int(1), &err));
    assert_non_null(err.message);
    tb_error_clear(&err);
    tb_toml_free(root);
}

/* Keys are read by TOML's rules: quoted parts may hold dots, '=' and
 * escapes; blanks around dots are allowed. */
static void test_set_path_quoted(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("[sweep]\n");
    tb_error err = {0};
    assert_non_null(tb_toml_set_path(root, "sweep.\"model.parameters.G\"", tb_toml_new_int(1), &err));
    const tb_toml_value *sweep = tb_toml_get(root, "sweep");
    assert_int_equal(sweep->u.tab.n, 1);
    assert_string_equal(sweep->u.tab.items[0].key, "model.parameters.G");
    assert_null(tb_toml_get(sweep, "model"));

    assert_non_null(tb_toml_set_path(root, "sweep . 'a=b\\c' ", tb_toml_new_int(2), &err));
    assert_non_null(tb_toml_get(sweep, "a=b\\c"));
    assert_non_null(tb_toml_set_path(root, "\"x\\u0041\".y", tb_toml_new_int(3), &err));
    assert_non_null(tb_toml_get(tb_toml_get(root, "xA"), "y"));
    assert_int_equal(sweep->u.tab.n, 2);

    assert_null(tb_toml_set_path(root, "sweep.\"open", tb_toml_new_int(1), &err));
    assert_int_equal(err.status, TB_ERR_SCENARIO);
    assert_contains(err.message, "cannot set 'sweep.\"open'");
    assert_contains(err.message, "unterminated");
    tb_error_clear(&err);
    assert_null(tb_toml_set_path(root, "a b", tb_toml_new_int(1), &err));
    assert_contains(err.message, "unexpected 'b' after the key");
    tb_error_clear(&err);
    assert_null(tb_toml_set_path(root, "sweep.\"model.parameters.G\".x", tb_toml_new_int(1), &err));
    assert_contains(err.message, "'sweep.\"model.parameters.G\"' is an integer, not a table");
    tb_error_clear(&err);
    tb_toml_free(root);
}

static void test_key_span(void **state)
{
    (void)state;
    tb_error err = {0};
    assert_int_equal(tb_toml_key_span("simulation.dt=0.05", &err), 13);
    assert_int_equal(tb_toml_key_span("sweep.\"a=b\"=[1]", &err), 11);
    assert_int_equal(tb_toml_key_span("a . 'x.y' = 1", &err), 10);
    assert_int_equal(tb_toml_key_span("plain", &err), 5);
    assert_null(err.message);
    assert_int_equal(tb_toml_key_span("=1", &err), 0);
    assert_contains(err.message, "expected a key");
    tb_error_clear(&err);
    assert_int_equal(tb_toml_key_span("a.\"b=1", &err), 0);
    assert_contains(err.message, "unterminated");
    tb_error_clear(&err);
}

/* Where a string's text starts: after its quotes, or on the next line
 * after """ and a newline; another value: where it is. */
static void test_text_start(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("a = \"x\"\nb =   'y'\nc = \"\"\"\n  z\n\"\"\"\nd = '''w\n'''\ne = 1\n");
    tb_toml_pos p = tb_toml_text_start(tb_toml_get(root, "a"));
    assert_int_equal(p.line, 1);
    assert_int_equal(p.col, 6);
    p = tb_toml_text_start(tb_toml_get(root, "b"));
    assert_int_equal(p.line, 2);
    assert_int_equal(p.col, 8);
    p = tb_toml_text_start(tb_toml_get(root, "c"));
    assert_int_equal(p.line, 4);
    assert_int_equal(p.col, 1);
    p = tb_toml_text_start(tb_toml_get(root, "d"));
    assert_int_equal(p.line, 6);
    assert_int_equal(p.col, 8);
    p = tb_toml_text_start(tb_toml_get(root, "e"));
    assert_int_equal(p.line, 8);
    assert_int_equal(p.col, 5);
    tb_toml_free(root);
}

static void test_parse_value(void **state)
{
    (void)state;
    tb_error err = {0};
    tb_toml_value *v = tb_toml_parse_value("0.5", "--set", &err);
    assert_int_equal(v->type, TB_TOML_FLOAT);
    assert_true(v->u.f == 0.5);
    assert_int_equal(v->pos.line, 1);
    assert_int_equal(v->pos.col, 1);
    tb_toml_free(v);

    v = tb_toml_parse_value(" [1, 2.5, 'x'] ", "--set", &err);
    assert_int_equal(v->type, TB_TOML_ARRAY);
    assert_int_equal(v->u.arr.n, 3);
    assert_int_equal(v->u.arr.items[1]->pos.col, 6);
    tb_toml_free(v);

    v = tb_toml_parse_value("'text'", "--set", &err);
    assert_string_equal(tb_toml_as_string(v), "text");
    tb_toml_free(v);

    v = tb_toml_parse_value("{ a = 1, b.c = 'x' }", "--set", &err);
    assert_int_equal(v->type, TB_TOML_TABLE);
    assert_string_equal(tb_toml_as_string(tb_toml_get_path(v, "b.c")), "x");
    tb_toml_free(v);

    assert_null(tb_toml_parse_value("1 2", "--set model.G", &err));
    assert_int_equal(err.status, TB_ERR_SCENARIO);
    assert_contains(err.message, "--set model.G:1:3: ");
    assert_null(tb_toml_parse_value("", "--set", &err));
    assert_contains(err.message, "--set:1:1: ");
    assert_null(tb_toml_parse_value("heun", "--set", &err));
    assert_contains(err.message, "must be quoted");
    tb_error_clear(&err);
}

static void test_typed_readers(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("duration = 2000\ndt = 0.1\nok = true\ns = 'x'\n");
    double d = 0;
    int64_t i = 0;
    bool b = false;
    assert_true(tb_toml_as_double(tb_toml_get(root, "duration"), &d));
    assert_true(d == 2000.0);
    assert_true(tb_toml_as_double(tb_toml_get(root, "dt"), &d));
    assert_true(d == 0.1);
    assert_true(tb_toml_as_int(tb_toml_get(root, "duration"), &i));
    assert_int_equal(i, 2000);
    assert_false(tb_toml_as_int(tb_toml_get(root, "dt"), &i));
    assert_true(tb_toml_as_bool(tb_toml_get(root, "ok"), &b));
    assert_true(b);
    assert_false(tb_toml_as_bool(tb_toml_get(root, "s"), &b));
    assert_null(tb_toml_as_string(tb_toml_get(root, "dt")));
    assert_false(tb_toml_as_double(tb_toml_get(root, "missing"), &d));
    assert_null(tb_toml_get_path(root, "dt.x"));
    assert_string_equal(tb_toml_type_name(tb_toml_get(root, "ok")->type), "boolean");
    tb_toml_free(root);
}

static void test_clone_is_deep(void **state)
{
    (void)state;
    tb_toml_value *a = parse_ok(rich_doc);
    tb_toml_value *b = tb_toml_clone(a);
    assert_true(same_tree(a, b));
    tb_error err = {0};
    tb_toml_set_path(b, "simulation.dt", tb_toml_new_float(0.05), &err);
    assert_false(same_tree(a, b));
    double dt;
    tb_toml_as_double(tb_toml_get_path(a, "simulation.dt"), &dt);
    assert_true(dt == 0.1);
    /* The clone keeps the parser's bookkeeping: a cloned inline table is
     * written inline, exactly like the original. */
    char *ta = tb_toml_format(a);
    tb_toml_set_path(b, "simulation.dt", tb_toml_new_float(0.1), &err);
    char *tb = tb_toml_format(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    tb_toml_free(a);
    tb_toml_free(b);
}

static void test_tagged_json(void **state)
{
    (void)state;
    tb_toml_value *root = parse_ok("a = 1\nb = [inf, \"x\\u0000\\\"\"]\n[t]\nd = 1979-05-27\n");
    char *json = tb_toml_to_tagged_json(root);
    assert_string_equal(json,
                        "{\"a\":{\"type\":\"integer\",\"value\":\"1\"},"
                        "\"b\":[{\"type\":\"float\",\"value\":\"inf\"},"
                        "{\"type\":\"string\",\"value\":\"x\\u0000\\\"\"}],"
                        "\"t\":{\"d\":{\"type\":\"date-local\",\"value\":\"1979-05-27\"}}}");
    free(json);
    tb_toml_free(root);
}

/* ------------------------------------------------------------ large input */

#define MANY_KEYS 200000
/* Look-up work allowed per key written: a hash look-up examines one or two
 * slots on average; a linear search would examine half the table. */
#define PROBES_PER_KEY 8

/* n lines of `line` (a printf format taking the key's number), between
 * `head` and `tail`. */
static char *many_lines(int n, const char *head, const char *line, const char *tail)
{
    size_t cap = strlen(head) + strlen(tail) + (size_t)n * (strlen(line) + 8) + 1, used = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    used += (size_t)snprintf(text + used, cap - used, "%s", head);
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, cap - used, line, i);
    snprintf(text + used, cap - used, "%s", tail);
    return text;
}

/* Parses `text` (n keys k_0 ... written by many_lines) within the probe
 * budget; `table` is the dotted path of the table that holds them, in
 * document order after `first` other keys. */
static void parse_many(int n, char *text, const char *table, size_t first)
{
    unsigned long long before = tb_toml_key_probes();
    tb_toml_value *root = parse_ok(text);
    unsigned long long probes = tb_toml_key_probes() - before;
    if (probes > (unsigned long long)PROBES_PER_KEY * (unsigned long long)n)
        fail_msg("%llu look-up probes for %d keys: parsing is not linear", probes, n);
    const tb_toml_value *t = *table ? tb_toml_get_path(root, table) : root;
    assert_non_null(t);
    assert_int_equal(t->u.tab.n, first + (size_t)n);
    char last[32];
    snprintf(last, sizeof last, "k_%d", n - 1);
    assert_string_equal(t->u.tab.items[first].key, "k_0");
    assert_string_equal(t->u.tab.items[first + (size_t)n - 1].key, last);
    assert_non_null(tb_toml_get(t, last));
    snprintf(last, sizeof last, "k_%d", n);
    assert_null(tb_toml_get(t, last));
    tb_toml_free(root);
    free(text);
}

/* 200,000 keys in each shape a table can take them in (50,000 took 3.9 s
 * when tables were searched linearly). 20,000 first: quadratic look-ups
 * fail there within a second rather than after minutes. */
static void test_many_keys_parse_in_linear_time(void **state)
{
    (void)state;
    int sizes[] = {MANY_KEYS / 10, MANY_KEYS};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i];
        parse_many(n, many_lines(n, "", "k_%d = 1\n", ""), "", 0);
        parse_many(n, many_lines(n, "", "[k_%d]\n", ""), "", 0);
        parse_many(n, many_lines(n, "", "a.b.k_%d = 1\n", ""), "a.b", 0);
        parse_many(n, many_lines(n, "t = {z = 0", ", k_%d = 1", "}\n"), "t", 1);
    }
}

static void test_duplicate_among_many_keys(void **state)
{
    (void)state;
    char *text = many_lines(MANY_KEYS, "", "k_%d = 1\n", "k_100000 = 2\n");
    char *msg = parse_err(text);
    assert_contains(msg, "scenario.toml:200001:1: duplicate key 'k_100000' (first defined at line 100001)");
    free(msg);
    free(text);
}

/* Removing keys moves the later ones; look-ups must still find them. */
static void test_remove_from_a_large_table(void **state)
{
    (void)state;
    tb_toml_value *t = tb_toml_new_table();
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_non_null(tb_toml_table_set(t, key, tb_toml_new_int(i)));
    }
    for (int i = 0; i < 100; i += 3) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(tb_toml_table_remove(t, key));
    }
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int64_t v = -1;
        assert_int_equal(tb_toml_as_int(tb_toml_get(t, key), &v), i % 3 != 0);
        if (i % 3)
            assert_int_equal(v, i);
    }
    assert_string_equal(t->u.tab.items[0].key, "k1");
    assert_non_null(tb_toml_table_set(t, "k0", tb_toml_new_int(0)));
    assert_string_equal(t->u.tab.items[t->u.tab.n - 1].key, "k0");
    tb_toml_value *c = tb_toml_clone(t);
    assert_non_null(tb_toml_get(c, "k98"));
    tb_toml_free(c);
    tb_toml_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_positions_after_bom_and_crlf),
        cmocka_unit_test(test_duplicate_key_message),
        cmocka_unit_test(test_missing_equals_message),
        cmocka_unit_test(test_error_messages_name_place_and_key),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_format_built_tree),
        cmocka_unit_test(test_format_keeps_the_written_shape),
        cmocka_unit_test(test_format_deep_dotted_inline_table),
        cmocka_unit_test(test_table_set_keeps_order),
        cmocka_unit_test(test_set_path),
        cmocka_unit_test(test_set_path_quoted),
        cmocka_unit_test(test_key_span),
        cmocka_unit_test(test_text_start),
        cmocka_unit_test(test_parse_value),
        cmocka_unit_test(test_typed_readers),
        cmocka_unit_test(test_clone_is_deep),
        cmocka_unit_test(test_tagged_json),
        cmocka_unit_test(test_many_keys_parse_in_linear_time),
        cmocka_unit_test(test_duplicate_among_many_keys),
        cmocka_unit_test(test_remove_from_a_large_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
