/* The neural-mass kit's shared state (internal to mass*.c). */
#ifndef TWINBRAIN_MASS_INTERNAL_H
#define TWINBRAIN_MASS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "checkpoint.h"
#include "coupling.h"
#include "pipeline.h"
#include "twinbrain/connectome.h"
#include "twinbrain/device.h"
#include "twinbrain/mass.h"
#include "twinbrain/output.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "mass_scenario.h"
#include "util.h"

/* Monitor output kept per chunk on the device, at most this many bytes per
 * buffer (two buffers per monitor: one filling while the other drains). */
#define CHUNK_BYTES_MAX (64u << 20)
#define CHUNK_STEPS_MAX 4096u

typedef struct monitor_rt {
    const tb_scenario_monitor *spec;
    uint64_t period;    /* in steps */
    size_t nv;          /* values per region and sample */
    size_t width;       /* values per instance and sample in the file: N nv, or sensors (eeg), N N (fc) */
    size_t max_samples; /* per chunk */
    int kernel_slot;    /* position among the step kernel's monitor arguments; -1 for fc */
    cl_mem acc;         /* running sums, or the balloon states of bold */
    cl_mem out[2];      /* region samples of a chunk (double-buffered) */
    void *host[2];      /* what is read back */
    /* eeg */
    cl_mem gain, proj[2];
    size_t sensors;
    char **sensor_labels;
    /* fc */
    cl_mem fc_sum, fc_prod, fc;
    uint64_t fc_count;
    double *empirical;  /* [N N] or NULL */
    double *score;      /* [B] after the run, or NULL */
    tb_dataset *data, *time, *score_ds;
} monitor_rt;


/* Where a parameter's value lives on the device: one scalar, one per
 * region (an array in the scenario), or one per instance (swept). */
typedef enum param_mode { P_SCALAR, P_REGION, P_INSTANCE, P_INSTANCE_REGION } param_mode;

typedef struct param_slot {
    const char *code_name; /* "mu", "cp_a", "tb_sigma_y1" */
    const tb_scenario_value *value;
    const double *swept; /* [B] when swept */
    param_mode mode;
    size_t index; /* in pscalar, or row of pregion or pinst */
    bool nsig;    /* values are TVB's nsig: the device gets sqrt(2 nsig) */
    double *ir;   /* [B][N] per instance and region (set by the model's prepare hook), owned */
} param_slot;

typedef struct mass {
    const tb_scenario *sc;
    const tb_mass_scenario *ms; /* the kit's sections of it */
    const tb_mass_model *model;
    const tb_coupling_def *coupling;
    tb_device *dev;
    tb_connectome *con;
    size_t N, B, NV, NC, NCV;
    size_t first, B_total; /* this kit runs instances [first, first + B) of B_total (several devices) */
    int H;
    size_t realsz;
    param_slot *params;
    size_t n_params, n_scalar, n_region, n_inst, n_ir;
    size_t model_params_n; /* the first slots are the model's parameters, in the plugin's order */
    char *source;
    tb_program *prog;
    cl_kernel k_run, k_init, k_eeg, k_fc_acc, k_fc_fin;
    size_t wg;            /* work-group size */
    size_t global;        /* work-items launched */
    bool instance_major;  /* one work-item per instance, instances innermost in memory */
    size_t lanes;         /* instances (or regions) per work-item as vector lanes (1: none) */
    bool region_lanes;    /* the lanes are regions of one instance */
    bool dense;           /* weights stored for every pair, without source indices */
    size_t Np;            /* regions on the device: N, rounded up to whole lanes with region lanes */
    size_t Bp;            /* instances allocated: B rounded up to whole lanes */
    size_t split;         /* work-groups sharing one instance's regions (several launches a chunk when > 1) */
    uint64_t per_launch;  /* steps per launch when split: the shortest delay + 1 */
    uint64_t kmax;
    cl_mem state, hist, row_ptr, col, weight, delay, pscalar, pregion, pinst, pir, seeds, ou, stim_w, stim_series;
    size_t *stim_offset;  /* where each stimulus's series starts in stim_series */
    size_t *stim_len;     /* its samples */
    bool *stim_per_region; /* [T, regions] series, expanded to [T, N] */
    const tb_scenario_stimulus *stim; /* the scenario's stimuli, and the inputs perturbations add */
    size_t n_stim;
    struct mass_perturb *pt; /* what perturbations changed (mass_perturb.c), NULL without any */
    tb_scenario_value ou_tau; /* the OU time constant, as a parameter slot */
    tb_scenario_value *hist_range; /* [2 NV] low and width of each variable's random history, as slots */
    cl_uint arg_step0;        /* index of the first per-chunk kernel argument */
    void *state_host[2];      /* state at the end of a chunk, one per pending buffer */
    monitor_rt *mon;
    size_t n_mon;
    tb_pipeline pipe; /* chunk k runs while chunk k - 1 is written */
    uint64_t samples;
    bool finished;
    struct tb_enkf *assim; /* [assimilation]'s filter (core/assimilation.c), or NULL */
} mass;

/* The per-instance, per-region parameters (their host values, s->ir)
 * written again to the device, for the next chunk. */
tb_status tb_mass_write_ir(mass *m, tb_error *err);

/* The kit's plugin check (mass_plugin.c), and the names the generated code
 * reserves, for plugins and declared models alike. */
tb_status tb_mass_check_plugin(const tb_plugin *p, const char *file, tb_error *err);
bool tb_mass_name_reserved(const char *s);
bool tb_mass_var_name_reserved(const char *s); /* also `history`, an [initial] key */

/* The kit's text (mass_text.c). */
struct tb_sim;
struct tb_sim_summary;
void tb_mass_model_of(const tb_scenario *sc, const char **name, const char **version);
void tb_mass_check_text(const tb_scenario *sc, tb_buf *b);
void tb_mass_summary_text(const struct tb_sim *sim, const tb_scenario *sc, const struct tb_sim_summary *s,
                          tb_buf *b);
void tb_mass_plugin_text(const tb_plugin *p, tb_buf *b);
void tb_mass_plugin_json(const tb_plugin *p, tb_buf *b);

/* Host doubles to device reals (malloc'd). */
static inline void *tb_mass_to_real(const double *x, size_t n, size_t realsz)
{
    void *out = malloc(n ? n * realsz : realsz);
    for (size_t i = 0; out && i < n; ++i) {
        if (realsz == sizeof(double))
            ((double *)out)[i] = x[i];
        else
            ((float *)out)[i] = (float)x[i];
    }
    return out;
}

static inline double tb_mass_real_at(const void *buf, size_t i, size_t realsz)
{
    return realsz == sizeof(double) ? ((const double *)buf)[i] : (double)((const float *)buf)[i];
}

/* Samples a monitor of this period completes in steps [step0, step0 + n). */
static inline uint64_t tb_mass_samples_in(uint64_t step0, uint64_t n, uint64_t period)
{
    return (step0 + n) / period - step0 / period;
}

/* Index of (variable, instance, region) in the state, as the kernels lay it out. */
static inline size_t tb_mass_ix(const struct mass *m, size_t v, size_t b, size_t n)
{
    if (m->lanes > 1 && !m->region_lanes)
        return ((b / m->lanes * m->NV + v) * m->N + n) * m->lanes + b % m->lanes;
    return m->instance_major ? (v * m->N + n) * m->Bp + b : (v * m->Bp + b) * m->Np + n;
}

/* mass.c, for mass_perturb.c: a parameter slot turned per instance and
 * region (its values kept), the per-instance, per-region values written
 * to the device again, the rows of region lanes, and an edge's delay in
 * steps */
tb_status tb_mass_slot_per_region(mass *m, size_t slot, tb_error *err);
size_t tb_mass_add_slot(mass *m, const char *code_name, const tb_scenario_value *v);
tb_status tb_mass_write_ir(mass *m, tb_error *err);
tb_status tb_mass_to_rows(const mass *m, const int *row_ptr, const int *col, const int *delay, const double *w,
                          int **rptr, int **roff, double **rw, size_t *entries, tb_error *err);
int tb_mass_delay_steps(const mass *m, size_t i, size_t j);

/* mass_perturb.c: the kit's operations for perturbations (core/perturb/),
 * the plan bound before the program is generated, and the cleanup */
extern const struct tb_kit_ops tb_mass_ops;
tb_status tb_mass_perturb_bind(mass *m, tb_error *err);
void tb_mass_perturb_gen(const mass *m, tb_buf *b);
void tb_mass_perturb_free(mass *m);

/* mass_codegen.c: the glue, a program part labelled TB_MASS_GLUE; and the
 * model's own code alone in scalar form (parameters, derivative, coupling),
 * the part of the glue that may not compile */
#define TB_MASS_GLUE "generated glue"
char *tb_mass_generate(const mass *m);
char *tb_mass_generate_model(const mass *m);

/* snippet.c: whether `code` gives the variable `name` a value (`name = `,
 * or `&name`), comments and literals aside, whole tokens only; and the
 * check that the dfun does so for every d<variable> (TB_ERR_DEVICE, as a
 * snippet that does not compile, naming the model and the variable). */
bool tb_mass_snippet_assigns(const char *code, const char *name);
tb_status tb_mass_check_dfun(const tb_mass_model *md, const char *model_name, tb_error *err);

/* mass_monitor.c */
void tb_mass_plan_monitors(mass *m);
tb_status tb_mass_alloc_monitors(mass *m, tb_error *err);
/* The monitors' input files, read and checked on the host (alloc reads
 * them through these; `twinbrain check` too): an eeg gain matrix [E >= 1,
 * N] with its optional /labels (E of them), an fc's empirical FC [N, N]
 * that is not constant above the diagonal. Every problem is TB_ERR_INPUT
 * naming the file and dataset. */
tb_status tb_mass_read_gain(const tb_scenario_monitor *s, size_t N, double **gain, size_t *sensors, char ***labels,
                            tb_error *err);
tb_status tb_mass_read_empirical(const tb_scenario_monitor *s, size_t N, double **fc, tb_error *err);
tb_status tb_mass_check_monitor_inputs(const tb_mass_scenario *ms, size_t N, tb_error *err);
void tb_mass_free_labels(char **labels, size_t n);
tb_status tb_mass_monitor_kernels(mass *m, tb_error *err);
void tb_mass_gen_monitors(const mass *m, tb_buf *b);
tb_status tb_mass_declare_monitors(mass *m, tb_output *out, tb_error *err);
tb_status tb_mass_after_chunk(mass *m, int buf, uint64_t step0, uint64_t n, tb_error *err);
tb_status tb_mass_append_monitors(mass *m, const tb_chunk *p, tb_error *err);
tb_status tb_mass_finish_monitors(mass *m, tb_error *err);
double tb_mass_first_bad_sample(const mass *m, const tb_chunk *p, const char **which);
void tb_mass_free_monitors(mass *m);

/* mass_checkpoint.c: the kit's checkpoint entry */
tb_status tb_mass_checkpoint(void *impl, tb_ckpt *ck, tb_error *err);

#endif
