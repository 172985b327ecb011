/* [twin] and [twin.input], checked with the schema machinery so their
 * errors read like every other scenario error. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "twin_scenario.h"
#include "util.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

const tb_key_spec tw_sections[TW_N_SECTIONS] = {
    {"twin", KT_TABLE, true, .doc = "a visual-cortex twin: the network and what it is shown ([twin], [twin.input])"},
    {"experiment", KT_TABLES, .doc = "in-silico experiments on the twin, as [[experiment]] tables"},
};

static const char *const kinds[] = {"file", "gratings", "blank", NULL};

static const tb_key_spec twin_keys[] = {
    {"network", KT_STRING, true,
     .doc = "twin network file (twinbrain twin import), relative to the scenario's folder"},
    {"batch", KT_INT, false, 1, .has_def = true, .min = 1, .max = 65536,
     .doc = "stimuli run at once (instances): /twin/responses has this many columns"},
    {"input_name", KT_STRING, .doc = "the network input that takes the frames; default its first input (other "
                                     "inputs, such as eye position or behaviour, are 0)"},
    {"output", KT_STRING, .doc = "the network output written as responses; default its first output"},
    {"input", KT_TABLE, .doc = "what the twin is shown over the run: [twin.input]; default a blank screen"},
};

static const tb_key_spec input_keys[] = {
    {"kind", KT_STRING, true, .choices = kinds, .doc = "file, gratings or blank"},
    {"file", KT_STRING, .doc = "file: HDF5 file of frames, relative to the scenario's folder"},
    {"dataset", KT_STRING, false, .def_s = "frames", .has_def = true,
     .doc = "file: the dataset, [frames, height, width] (all instances see it) or [frames, batch, height, width]; "
            "uint8 or float"},
    {"scale", KT_FLOAT, .min = -INFINITY, .max = INFINITY,
     .doc = "file: value = raw x scale + offset; default 1/255 for uint8 frames, 1 otherwise"},
    {"offset", KT_FLOAT, false, 0.0, .has_def = true, .min = -INFINITY, .max = INFINITY,
     .doc = "file: added after scaling"},
    {"mean", KT_FLOAT, false, 0.0, .has_def = true, .min = -INFINITY, .max = INFINITY,
     .doc = "gratings, blank: the mean value of every pixel"},
    {"amplitude", KT_FLOAT, false, 1.0, .has_def = true, .min = 0, .max = INFINITY,
     .doc = "gratings: value = mean + amplitude sin(2 pi (position along the direction / period - "
            "cycles_per_frame x frame))"},
    {"period", KT_FLOAT, false, 16.0, .has_def = true, .min = 0, .max = INFINITY, .min_excl = true,
     .doc = "gratings: spatial period in pixels"},
    {"cycles_per_frame", KT_FLOAT, false, 0.1, .has_def = true, .min = -INFINITY, .max = INFINITY,
     .doc = "gratings: temporal frequency (drift) in cycles per frame"},
    {"directions", KT_NUMBERS, .min = -INFINITY, .max = INFINITY,
     .doc = "gratings: drift direction in degrees per instance (one per batch entry); default evenly spaced, "
            "360 b / batch"},
};

void tw_list_keys(tb_buf *b)
{
    tb_schema_list_keys(b, "twin", twin_keys, N_(twin_keys));
    tb_schema_list_keys(b, "twin.input", input_keys, N_(input_keys));
    tw_experiments_list_keys(b);
}

void tw_free_scenario(void *kit_data)
{
    tw_scenario *s = kit_data;
    if (!s)
        return;
    free(s->network);
    free(s->input_name);
    free(s->output_name);
    free(s->file);
    free(s->dataset);
    free(s->directions);
    tw_experiments_free(&s->exps);
    free(s);
}

static void check_directions(tb_schema_checker *c, tw_scenario *s, const tb_toml_value *in)
{
    s->directions = calloc(s->batch + 1, sizeof *s->directions);
    if (!s->directions)
        return;
    for (size_t b = 0; b < s->batch; ++b)
        s->directions[b] = 360.0 * (double)b / (double)s->batch;
    const tb_toml_value *v = tb_toml_get(in, "directions");
    tb_scenario_value val = {0};
    if (!v || tb_schema_refused(c, v) || !tb_schema_value_from(&val, "directions", v)) {
        free(val.name);
        free(val.values);
        return;
    }
    if (val.is_array && val.n != s->batch)
        tb_schema_report(c, TB_ERR_SCENARIO, v->pos, "twin.input.directions has %zu entries; twin.batch is %zu", val.n,
                         s->batch);
    for (size_t b = 0; b < s->batch; ++b)
        s->directions[b] = val.is_array ? (b < val.n ? val.values[b] : 0) : val.scalar;
    free(val.values);
    free(val.name);
}

static void check_input(tb_schema_checker *c, tb_scenario *sc, tw_scenario *s, tb_toml_value *in)
{
    if (!tb_schema_table(c, in, input_keys, N_(input_keys), "twin.input"))
        return;
    const char *kind = tb_toml_as_string(tb_toml_get(in, "kind"));
    s->kind = kind && strcmp(kind, "gratings") == 0 ? TW_STIM_GRATINGS
              : kind && strcmp(kind, "blank") == 0  ? TW_STIM_BLANK
                                                    : TW_STIM_FILE;
    s->scale = tb_schema_num(c, in, "scale", NAN);
    s->offset = tb_schema_num(c, in, "offset", 0);
    s->mean = tb_schema_num(c, in, "mean", 0);
    s->amplitude = tb_schema_num(c, in, "amplitude", 1);
    s->period = tb_schema_num(c, in, "period", 16);
    s->cycles_per_frame = tb_schema_num(c, in, "cycles_per_frame", 0.1);
    s->dataset = tb_schema_get_s(in, "dataset");
    check_directions(c, s, in);
    const tb_toml_value *fv = tb_toml_get(in, "file");
    const char *file = tb_toml_as_string(fv);
    if (s->kind == TW_STIM_FILE && !file && kind)
        tb_schema_report(c, TB_ERR_SCENARIO, in->pos, "twin.input: kind \"file\" needs file = \"FRAMES.h5\"");
    if (s->kind != TW_STIM_FILE && fv)
        tb_schema_report(c, TB_ERR_SCENARIO, fv->pos, "twin.input.file is read by kind \"file\" only (kind is %s)",
                         kind ? kind : "?");
    if (s->kind == TW_STIM_FILE && file) {
        s->file = tb_scenario_input_path(sc, "twin.input.file", file);
        if (s->file && !tb_file_exists(s->file))
            tb_schema_report(c, TB_ERR_INPUT, fv->pos, "twin.input.file: no such file '%s' (looked for %s)", file,
                             s->file);
    }
}

void tw_check_scenario(tb_schema_checker *c, tb_scenario *sc, const tb_plugin_registry *reg)
{
    (void)reg;
    tw_scenario *s = calloc(1, sizeof *s);
    if (!s)
        return;
    sc->kit_data = s;
    tb_toml_value *t = (tb_toml_value *)tb_toml_get(sc->doc, "twin");
    if (!t || !tb_schema_table(c, t, twin_keys, N_(twin_keys), "twin"))
        return;
    int64_t batch = tb_schema_int(c, t, "batch", 1);
    s->batch = batch > 0 ? (size_t)batch : 1;
    sc->n_instances = s->batch;
    s->input_name = tb_schema_get_s(t, "input_name");
    s->output_name = tb_schema_get_s(t, "output");
    const tb_toml_value *nv = tb_toml_get(t, "network");
    const char *net = tb_toml_as_string(nv);
    if (net) {
        s->network = tb_scenario_input_path(sc, "twin.network", net);
        if (s->network && !tb_file_exists(s->network))
            tb_schema_report(c, TB_ERR_INPUT, nv->pos, "twin.network: no such file '%s' (looked for %s)", net,
                             s->network);
    }
    tb_toml_value *in = (tb_toml_value *)tb_toml_get(t, "input");
    if (in && !tb_schema_refused(c, in))
        check_input(c, sc, s, in);
    if (!in) {
        s->kind = TW_STIM_BLANK;
        check_directions(c, s, NULL);
    }
    tw_experiments_check(c, sc, &s->exps);
}
