/* Unit tests of what the plugin loader checks in a spiking model's table
 * (core/spiking/spiking_declared.c via tb_plugin_check), and of delay rounding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "spiking/spiking_scenario.h"
#include "twinbrain/plugin.h"
#include "twinbrain/spiking.h"

static const tb_param_info params[] = {
    {"tau", 10.0, "ms", TB_POSITIVE, INFINITY, "time constant"},
    {"t_ref", 2.0, "ms", 0.0, INFINITY, "refractory period"},
};
static const tb_spiking_var vars[] = {{"V", 0.0, "mV", "membrane"}};
static const tb_spiking_port ports[] = {{"ex", "pA", ""}, {"in", "pA", ""}};

static tb_spiking_model good_model(void)
{
    tb_spiking_model m = {.head = TB_SPIKING_TABLE_HEADER, .n_vars = 1, .vars = vars, .n_ports = 2, .ports = ports, .update = "V = V;",
                          .threshold = "V > 1.0", .reset = "V = 0.0;", .refractory = "t_ref", .current_unit = "pA"};
    return m;
}

static tb_plugin plugin_of(const tb_spiking_model *m)
{
    tb_plugin p = {TB_PLUGIN_HEADER, .kind = TB_SPIKING_KIND, .name = "lif", .version = "1", .params = params,
                   .n_params = 2, .table = m};
    return p;
}

/* The loader's verdict on a model, and its message. */
static tb_status verdict(const tb_spiking_model *m, const char *want)
{
    tb_plugin p = plugin_of(m);
    tb_error e = {0};
    tb_status st = tb_plugin_check(&p, "lif.so", &e);
    if (want)
        assert_non_null(strstr(tb_error_message(&e), want));
    tb_error_clear(&e);
    return st;
}

static void accepts_a_good_model(void **state)
{
    (void)state;
    tb_spiking_model m = good_model();
    assert_int_equal(verdict(&m, NULL), TB_OK);
}

static void refuses_reserved_and_clashing_names(void **state)
{
    (void)state;
    static const tb_spiking_var dt_var[] = {{"dt", 0.0, "", ""}};
    static const tb_spiking_var in_var[] = {{"in_x", 0.0, "", ""}};
    static const tb_spiking_var tau_var[] = {{"tau", 0.0, "", ""}};
    static const tb_spiking_var two[] = {{"V", 0.0, "", ""}, {"V", 0.0, "", ""}};
    tb_spiking_model m = good_model();
    m.vars = dt_var;
    assert_int_equal(verdict(&m, "state variable name 'dt' is reserved"), TB_ERR_INPUT);
    m.vars = in_var;
    assert_int_equal(verdict(&m, "'in_x' is reserved"), TB_ERR_INPUT);
    m.vars = tau_var;
    assert_int_equal(verdict(&m, "parameter 'tau' clashes with state variable 'tau'"), TB_ERR_INPUT);
    m.vars = two;
    m.n_vars = 2;
    assert_int_equal(verdict(&m, "state variable 'V' declared twice"), TB_ERR_INPUT);
}

static void refuses_incomplete_tables(void **state)
{
    (void)state;
    tb_spiking_model m = good_model();
    m.update = "";
    assert_int_equal(verdict(&m, "no update snippet"), TB_ERR_INPUT);
    m = good_model();
    m.threshold = NULL;
    assert_int_equal(verdict(&m, "no threshold"), TB_ERR_INPUT);
    m = good_model();
    m.refractory = "t_r";
    assert_int_equal(verdict(&m, "refractory names 't_r', which is not a parameter"), TB_ERR_INPUT);
    m = good_model();
    static const char *const consts[] = {"decay"};
    m.n_consts = 1;
    m.consts = consts;
    assert_int_equal(verdict(&m, "constants but no prepare snippet"), TB_ERR_INPUT);
    m = good_model();
    m.n_ports = 5;
    assert_int_equal(verdict(&m, "at most 4 ports"), TB_ERR_INPUT);
    m = good_model();
    m.reserved[0] = &m;
    assert_int_equal(verdict(&m, "reserved fields of the spiking table must be NULL"), TB_ERR_INPUT);
    tb_plugin p = plugin_of(NULL);
    tb_error e = {0};
    assert_int_equal(tb_plugin_check(&p, "lif.so", &e), TB_ERR_INPUT);
    assert_non_null(strstr(tb_error_message(&e), "a spiking plugin needs its table"));
    tb_error_clear(&e);
}

static void delays_round_to_steps(void **state)
{
    (void)state;
    assert_int_equal(tb_spk_delay_steps(1.5, 0.1), 15);
    assert_int_equal(tb_spk_delay_steps(0.149, 0.1), 1);
    assert_int_equal(tb_spk_delay_steps(0.75, 0.5), 2); /* halves up (1.5 exactly) */
    assert_int_equal(tb_spk_delay_steps(0.74, 0.5), 1);
    assert_int_equal(tb_spk_delay_steps(0.0, 0.1), 1); /* never below one step */
    assert_int_equal(tb_spk_delay_steps(0.2, 0.1), 2);
    /* beyond what a run holds: one past the limit, never wrapped to a step */
    assert_int_equal(tb_spk_delay_steps(TB_SPK_MAX_DELAY_STEPS * 0.1, 0.1), TB_SPK_MAX_DELAY_STEPS);
    assert_int_equal(tb_spk_delay_steps(1e20, 0.1), (int64_t)TB_SPK_MAX_DELAY_STEPS + 1);
    assert_int_equal(tb_spk_delay_steps(1e300, 0.1), (int64_t)TB_SPK_MAX_DELAY_STEPS + 1);
    assert_int_equal(tb_spk_delay_steps(INFINITY, 0.1), (int64_t)TB_SPK_MAX_DELAY_STEPS + 1);
    assert_int_equal(tb_spk_delay_steps(NAN, 0.1), (int64_t)TB_SPK_MAX_DELAY_STEPS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_a_good_model),
        cmocka_unit_test(refuses_reserved_and_clashing_names),
        cmocka_unit_test(refuses_incomplete_tables),
        cmocka_unit_test(delays_round_to_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
