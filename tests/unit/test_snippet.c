/* The static check of dfun snippets (core/mass/snippet.c): a derivative
 * counts as assigned only where code gives it a value, by whole token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mass/mass_internal.h"

static void test_assignments(void **state)
{
    (void)state;
    assert_true(tb_mass_snippet_assigns("dx = -x;", "dx"));
    assert_true(tb_mass_snippet_assigns("dx=-x;", "dx"));
    assert_true(tb_mass_snippet_assigns("dy = 1;\n  dx /* why */ = 2;", "dx"));
    assert_true(tb_mass_snippet_assigns("helper(x, &dx);", "dx"));
    assert_true(tb_mass_snippet_assigns("if (a) dx = 1; else dx = 2;", "dx"));
}

static void test_not_assignments(void **state)
{
    (void)state;
    assert_false(tb_mass_snippet_assigns("", "dx"));
    assert_false(tb_mass_snippet_assigns("dxy = 1;", "dx"));     /* a longer name */
    assert_false(tb_mass_snippet_assigns("ddx = 1;", "dx"));
    assert_false(tb_mass_snippet_assigns("dx_1 = 1;", "dx"));
    assert_false(tb_mass_snippet_assigns("y = dx == 0;", "dx")); /* a comparison */
    assert_false(tb_mass_snippet_assigns("dx += 1;", "dx"));     /* reads it first */
    assert_false(tb_mass_snippet_assigns("y = a && dx;", "dx"));
    assert_false(tb_mass_snippet_assigns("s.dx = 1; p->dx = 2;", "dx"));
    assert_false(tb_mass_snippet_assigns("// dx = 1\ndy = 2;", "dx"));
    assert_false(tb_mass_snippet_assigns("/* dx = 1;\n */ dy = 2;", "dx"));
    assert_false(tb_mass_snippet_assigns("printf(\"dx = %g\", y);", "dx"));
    assert_false(tb_mass_snippet_assigns("c = 'dx = 1';", "dx"));
    assert_false(tb_mass_snippet_assigns("/* never closed dx = 1", "dx"));
}

static void test_check_names_model_and_variable(void **state)
{
    (void)state;
    static const tb_mass_var vars[] = {{"x", 0, -1, 1, 0, 0, "", ""}, {"xy", 0, -1, 1, 0, 0, "", ""}};
    tb_mass_model md = {.n_vars = 2, .vars = vars, .dfun = "dxy = -xy; // dx = -x\n"};
    tb_error err = {0};
    assert_int_equal(tb_mass_check_dfun(&md, "my_model", &err), TB_ERR_DEVICE);
    assert_non_null(strstr(err.message, "model 'my_model'"));
    assert_non_null(strstr(err.message, "never assigns dx, the derivative of state variable 'x'"));
    tb_error_clear(&err);
    md.dfun = "dxy = -xy; dx = -x;";
    assert_int_equal(tb_mass_check_dfun(&md, "my_model", &err), TB_OK);
    assert_null(err.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assignments),
        cmocka_unit_test(test_not_assignments),
        cmocka_unit_test(test_check_names_model_and_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
