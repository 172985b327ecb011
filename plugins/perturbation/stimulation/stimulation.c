/* Stimulation: an input current into target regions or populations, one
 * sample per step: DBS pulse trains, tACS sinusoids, single TMS pulses
 * spread through a gain vector, optogenetic activation of a fraction of a
 * population. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "twinbrain/perturb.h"

static const char *const waveforms[] = {"dbs", "tacs", "tms", "optogenetic", NULL};

static const tb_param_info params[] = {
    {"waveform", 0, "", 0, 0, "dbs (pulse train), tacs (sinusoid), tms (one pulse), optogenetic (light on, or pulsed)",
     TB_PARAM_STRING, "dbs", 0, waveforms},
    {"amplitude", 1.0, "input units", -INFINITY, INFINITY, "pulse height, sinusoid amplitude, light-driven current"},
    {"frequency", 130.0, "Hz", 0, INFINITY, "pulse rate (dbs, optogenetic: 0 for light held on) or sinusoid frequency"},
    {"pulse_width", 0.1, "ms", TB_POSITIVE, INFINITY, "width of each pulse (dbs, tms, pulsed optogenetic)"},
    {"phase", 0.0, "rad", -INFINITY, INFINITY, "tacs: phase at the start"},
    {"variable", 0, "", 0, 0, "the state variable the input enters (mass; default: the model's first)",
     TB_PARAM_STRING, ""},
    {"gains", 1.0, "", -INFINITY, INFINITY, "one gain per target (a TMS coil's spread); default 1 each",
     TB_PARAM_REALS},
};

static const char *const sets[] = {"targets", NULL};

/* Pulse i*dt after the start: on while the phase within the period is
 * shorter than the width (1e-9: a sample on a boundary counts as the
 * boundary's own side, whatever the rounding). */
static double pulse(double tt, double period, double width)
{
    double ph = tt / period;
    ph -= floor(ph + 1e-9);
    if (ph < 0)
        ph = 0;
    return ph * period < width - 1e-9 ? 1.0 : 0.0;
}

static tb_status plan(tb_perturb_ctx *ctx, tb_error *err)
{
    const char *wave = ctx->str(ctx, "waveform");
    double A = ctx->num(ctx, "amplitude"), f = ctx->num(ctx, "frequency"), w = ctx->num(ctx, "pulse_width");
    double phase = ctx->num(ctx, "phase");
    double end = isfinite(ctx->until) ? ctx->until : ctx->duration;
    size_t n = (size_t)llround((end - ctx->from) / ctx->dt);
    bool tms = strcmp(wave, "tms") == 0;
    if (tms)
        n = (size_t)ceil(w / ctx->dt - 1e-9);
    if (n == 0)
        n = 1;
    if ((strcmp(wave, "dbs") == 0 || strcmp(wave, "tacs") == 0) && !(f > 0))
        return ctx->fail(ctx, "frequency", err, "a dbs train or a tacs sinusoid needs frequency > 0");
    size_t ng = 0;
    const double *g = ctx->nums(ctx, "gains", &ng);
    double *gains = NULL;
    if (g && ng) {
        if (ng != ctx->set_len[0])
            return ctx->fail(ctx, "gains", err, "gains needs one value per target unit");
        gains = malloc(ng * sizeof *gains);
        if (!gains)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
        memcpy(gains, g, ng * sizeof *gains);
    }
    double *s = malloc(n * sizeof *s);
    if (!s) {
        free(gains);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    double period = f > 0 ? 1000.0 / f : INFINITY;
    for (size_t i = 0; i < n; ++i) {
        double tt = (double)i * ctx->dt;
        if (strcmp(wave, "tacs") == 0)
            s[i] = A * sin(2.0 * M_PI * f / 1000.0 * tt + phase);
        else if (tms || (strcmp(wave, "optogenetic") == 0 && !(f > 0)))
            s[i] = A;
        else
            s[i] = A * pulse(tt, period, w);
    }
    const char *var = ctx->str(ctx, "variable");
    tb_perturb_action a = {.op = TB_OP_INPUT, .t = ctx->from, .t_end = INFINITY, .set = 0, .value = 1.0,
                           .per_unit = gains, .samples = s, .n_samples = n, .instance = -1,
                           .name = var && *var ? var : NULL};
    tb_status st = ctx->emit(ctx, &a, err);
    free(s);
    free(gains);
    return st;
}

static const tb_perturbation table = {
    .head = TB_PERTURB_TABLE_HEADER,
    .needs = TB_OP_INPUT,
    .sets = sets,
    .n_required_sets = 1,
    .plan = plan,
};

static const tb_plugin plugin = {
    TB_PLUGIN_HEADER,
    .kind = TB_PERTURB_KIND,
    .name = "stimulation",
    .version = "1.0",
    .summary = "DBS pulse trains, tACS, TMS pulses and optogenetic input, sample by sample",
    .doc = "An input I(t) added to the targets from `from` until `until` (or the run's end), one sample\n"
           "per step, held over the step (tt = time since `from`, the sample of step k is I(k dt)):\n"
           "  dbs          I = amplitude while (tt mod 1000/frequency) < pulse_width, else 0\n"
           "  tacs         I = amplitude sin(2 pi frequency tt / 1000 + phase)\n"
           "  tms          I = amplitude for pulse_width (at least one step), then 0: one pulse,\n"
           "               times each target's gain (gains: a coil's field over the regions)\n"
           "  optogenetic  I = amplitude (frequency 0: light held on) or a dbs-like train; with\n"
           "               `fraction`, only that fraction of each population's neurons gets it\n"
           "Neural mass: the input adds to d<variable>/dt (as a [[stimulus]] does); spiking: a current\n"
           "into the neurons' input (pA for the conductance and current models).\n"
           "References: McIntyre C.C. et al. (2004) Uncovering the mechanism(s) of action of deep brain\n"
           "stimulation. Clin Neurophysiol 115:1239-1248; Herrmann C.S. et al. (2013) Transcranial\n"
           "alternating current stimulation. Front Hum Neurosci 7:279; Deisseroth K. (2011)\n"
           "Optogenetics. Nat Methods 8:26-29.",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .table = &table,
};

TB_PLUGIN_EXPORT(stimulation) { (void)core; return &plugin; }
