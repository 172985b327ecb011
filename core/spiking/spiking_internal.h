/* The spiking kit's internals, shared by its files:
 *   spiking.c          lifecycle, neuron buffers, the step loop, the kit table
 *   spiking_gen.c      OpenCL glue generated around the models' snippets
 *   spiking_connect.c  partitions, connectivity generated on the device, delays
 *   spiking_record.c   datasets and what comes back from the device per chunk
 *   spiking_io.c       spike files and connection files read as inputs
 *
 * Neuron indices are global: populations in scenario order, then the
 * sources of spike_file inputs (which spike but have no state). */
#ifndef TWINBRAIN_SPIKING_KIT_H
#define TWINBRAIN_SPIKING_KIT_H

#include <stdbool.h>
#include <stdint.h>

#include "kit.h"
#include "pipeline.h"
#include "spiking_scenario.h"
#include "twinbrain/device.h"
#include "twinbrain/output.h"
#include "twinbrain/program.h"

/* Synapse storage is split into at most this many device buffers (banks),
 * because a device caps each buffer (PoCL: 1 GiB by default). */
#define SPK_MAX_BANKS 8
/* A synapse: its target's place in the input array after its partition's
 * first neuron (port x N + target - first; 32 bits, so N x ports is at
 * most 2^32: check_network_size), weight as float bits. */
#define SPK_SYNAPSE_BYTES 8u

/* lay[] (longs) begins with SPK_LAY_TABLE entries per population, in
 * scenario order: the first entry of its block and its class (the step
 * kernel's loop reads them); the blocks follow. */
#define SPK_LAY_TABLE 2
/* Layout entries of a population block before its per-parameter,
 * per-constant, per-variable and per-input entries. */
enum { LAY_LO, LAY_N, LAY_STATE, LAY_POP, LAY_HEAD };
/* An input's entries in the block: its first and end step, where its
 * values start in pv, its random stream (the input's index << 8). */
enum { SPK_IN_START, SPK_IN_STOP, SPK_IN_VALUES, SPK_IN_STREAM, SPK_IN_ENTRIES };

typedef struct spk_input_use {
    size_t input; /* index into the scenario's inputs */
    size_t slot;  /* which of its targets this population is */
} spk_input_use;

typedef struct spk_pop {
    const tb_spk_population *spec;
    const tb_spk_model *model;
    uint64_t lo, n;
    uint64_t state_off; /* in reals */
    size_t lay;         /* first entry of the block in lay[] */
    bool *drawn;        /* per parameter: a value per neuron */
    bool consts_per_neuron;
    spk_input_use *inputs;
    size_t n_inputs;
    size_t cls;                   /* its class (spk_classify) */
    cl_kernel k_init, k_prepare;  /* its class's; their last argument is the block's first entry */
} spk_pop;

/* Where each entry of a population block lies (see spk_layout_plan). */
static inline size_t spk_lay_param(const spk_pop *p, size_t k) { return p->lay + LAY_HEAD + 2 * k; }
static inline size_t spk_lay_const(const spk_pop *p, size_t j)
{
    return p->lay + LAY_HEAD + 2 * p->model->n_params + j;
}
static inline size_t spk_lay_var(const spk_pop *p, size_t v)
{
    return p->lay + LAY_HEAD + 2 * p->model->n_params + p->model->m->n_consts + v;
}
static inline size_t spk_lay_input(const spk_pop *p, size_t u)
{
    return p->lay + LAY_HEAD + 2 * p->model->n_params + p->model->m->n_consts + p->model->m->n_vars +
           SPK_IN_ENTRIES * u;
}

/* One state record: which state entries, sampled every `period` steps. */
typedef struct spk_state_rec {
    const tb_spk_record *spec; /* NULL: a brain monitor's, not written as such */
    uint64_t period;
    size_t count;          /* neurons x variables */
    uint64_t max_rows;     /* per chunk */
    cl_mem idx, out[2];
    void *host[2];
    tb_dataset *data, *time;
} spk_state_rec;

typedef struct spk_rate_rec {
    const tb_spk_record *spec;
    uint64_t bin;          /* steps */
    double *acc;           /* spikes so far in the open bin, per population */
    uint64_t bin_start;
    tb_dataset *data, *time;
} spk_rate_rec;


typedef struct spk {
    const tb_scenario *sc;
    const tb_spiking_scenario *ss;
    tb_device *dev;
    size_t realsz;
    cl_command_queue readq; /* read-backs overlap the next chunk's kernels */
    double create_seconds, connect_seconds;
    uint64_t device_bytes;

    /* neurons */
    spk_pop *pops;
    size_t n_pops;
    uint64_t N;           /* neurons with state */
    uint64_t Ns;          /* N + spike-file sources */
    uint64_t *input_first; /* per input: global id of its first source (spike_file) */
    uint64_t *input_size;
    uint64_t n_state;     /* reals of state */
    int64_t *lay;
    size_t n_lay;
    double *pv;           /* parameter values and distribution parameters */
    size_t n_pv, cap_pv;
    bool pv_oom;
    size_t n_cv;          /* constants */
    size_t n_cls;         /* classes of populations that share their code (spk_classify) */
    size_t *cls_rep;      /* per class: its first population */
    cl_kernel *cls_kernels; /* per class: init, prepare (NULL without constants) */
    cl_mem state, refr, in, flags, pv_buf, cv_buf, lay_buf;

    /* spike-file sources: every spike uploaded once, a list per step */
    uint32_t *ext_ids;
    uint32_t *ext_ptr;    /* steps + 1 */
    uint64_t n_ext;
    cl_mem ext_ids_buf, ext_ptr_buf;

    /* connectivity */
    int P;
    int pfirst, pown;     /* the partitions this process runs (all P but over MPI ranks) */
    struct spk_ranks *rk; /* over MPI ranks (spiking_ranks.c), else NULL */
    int64_t *part;        /* P + 1 */
    int *pbank;
    uint64_t *pbase;
    uint64_t *psyn;       /* synapses per partition */
    int n_banks;
    cl_mem bank[SPK_MAX_BANKS];
    int dmin, ND, H;      /* delays in steps: [dmin, dmin + ND), history slots */
    uint64_t n_syn;       /* stored here */
    uint64_t n_syn_all;   /* in the network (over MPI ranks, every rank's) */
    cl_mem boff, part_buf, pbank_buf, pbase_buf;
    cl_mem hist, hist_cnt;

    /* recording */
    uint8_t *recorded;    /* per neuron: bit 0 spikes, bit 1 rates */
    bool any_spikes, any_rates;
    cl_mem recorded_buf, pop_of_buf;
    uint64_t kmax;        /* steps per chunk */
    uint64_t *rec_base;   /* per partition, in entries */
    uint64_t rec_cap;     /* entries */
    cl_mem rec[2], rec_cnt[2], pop_cnt[2], rec_base_buf;
    cl_mem bad_buf; /* two flags, one per chunk buffer */
    uint32_t *rec_host[2], *rec_cnt_host[2], *pop_cnt_host[2];
    spk_state_rec *srec;
    size_t n_srec;
    spk_rate_rec *rrec;
    size_t n_rrec;
    tb_dataset **spk_time, **spk_node; /* per population; NULL when not recorded */
    uint64_t spikes_written;
    uint64_t samples;
    uint64_t events_estimate; /* synaptic events delivered by recorded spikes */
    uint32_t *outdeg;         /* per source: synapses it reaches (host copy) */
    uint32_t *boff_host;      /* bucket offsets, kept for a connections record */

    /* program */
    char *source;
    tb_program *prog;
    cl_kernel k_step, k_sample, k_check;
    size_t wg, step_wg;

    tb_pipeline pipe; /* chunk k runs while chunk k - 1 is written */
    struct spk_perturb *pt; /* what perturbations need (spiking_perturb.c), NULL without any */
    struct spk_brain_rt *brain_rt; /* [brain] monitors (brain_monitor.c), or NULL */
    struct spk_assim_rt *assim_rt; /* [assimilation]'s filter (brain_assimilate.c), or NULL */
    bool assim_done;               /* its correlations written */
} spk;
typedef struct spk_assim_rt spk_assim_rt;
typedef struct spk_brain_rt spk_brain_rt;

/* A synapse's first word back into its port and its target (relative to
 * its partition's first neuron). */
static inline uint32_t spk_synapse_port(const spk *k, uint32_t word) { return (uint32_t)(word / k->N); }
static inline uint64_t spk_synapse_target(const spk *k, uint32_t word) { return word % k->N; }

/* spiking.c, for spiking_perturb.c: n reals appended to pv (zeros when
 * vals is NULL), the offset of the first */
size_t spk_pv_add(spk *k, const double *vals, size_t n);

/* spiking_perturb.c: the kit's operations for perturbations (core/perturb/);
 * the plan bound while populations are laid out (perturbed parameters are
 * stored per neuron), the entries it adds to lay[] and pv, and the lines
 * it adds to a population's update function */
extern const struct tb_kit_ops tb_spiking_ops;
tb_status spk_perturb_plan(spk *k, tb_error *err);
size_t spk_perturb_lay_entries(const spk *k, size_t pop);
void spk_perturb_set_lay(spk *k, size_t pop, size_t first);
void spk_perturb_layout(spk *k);
void spk_perturb_gen_inputs(tb_buf *b, const spk *k, size_t pop);
void spk_perturb_gen_gate(tb_buf *b, const spk *k, size_t pop);
void spk_perturb_free(spk *k);
/* A new unperturbed value for the pv entries at .. at + n - 1 (the
 * filter's update of a parameter): out gets what they hold with the
 * perturbation action in force on each (a factor scales the new value, a
 * value set stays), and the perturbations' copy of pv follows. */
void spk_perturb_rebase(spk *k, size_t at, size_t n, double value, double *out);

/* A 1-D launch on queue q, recorded as `name` when the device is being
 * profiled (twinbrain run --profile). */
cl_int spk_enqueue(const spk *k, cl_command_queue q, cl_kernel kn, size_t global, size_t local, const char *name);
/* Record a finished command's event under `name` (releases ev). */
void spk_profile(const spk *k, const char *name, cl_event ev);
/* Device buffer, counted in device_bytes. */
cl_mem spk_alloc(spk *k, size_t bytes, const void *host, const char *what, tb_error *err);
/* A state record's buffers for `count` state entries (idx: their offsets
 * in the state array), sampled every `period` steps (spiking_record.c). */
tb_status spk_state_rec_make(spk *k, spk_state_rec *sr, const cl_ulong *idx, size_t count, uint64_t period,
                             tb_error *err);
void spk_release(cl_mem *m);
/* Host doubles as device reals (malloc'd). */
void *spk_to_real(const spk *k, const double *x, size_t n);

/* spiking_gen.c: the populations' classes (pops[].cls, n_cls, cls_rep),
 * once the blocks are laid out and perturbations planned; then the source
 * of the step program (generated glue only). */
tb_status spk_classify(spk *k, tb_error *err);
char *spk_generate(const spk *k);
/* spiking.c: the most synaptic ports of the populations' models (the
 * rows of the input array, N neurons each). */
size_t spk_max_ports(const spk *k);
/* spiking.c: a population's init or prepare kernel with its block set as
 * the last argument, ready to launch. */
cl_int spk_pop_kernel_arg(const spk_pop *p, cl_kernel kn);

/* spiking_connect.c */
tb_status spk_partition(spk *k, tb_error *err);
/* The partitions this device wants (before the network's size): one per
 * compute unit on a CPU, more elsewhere, or TWINBRAIN_SPIKING_PARTITIONS. */
int spk_partitions_wish(const spk *k);
tb_status spk_connect(spk *k, tb_error *err);
/* The network, for [[record]] kind = "connections": (source, target,
 * port, delay steps, weight) per synapse of targets in the given
 * populations, in pieces of at most about `piece` synapses (a source's
 * synapses are never split), pieces in order and each sorted by (source,
 * target, delay, port, weight): host memory stays bounded by the piece,
 * not the network. `emit` gets each piece; its arrays are reused. */
typedef struct spk_edges {
    uint64_t n;
    uint64_t *source, *target;
    uint8_t *port;
    int32_t *delay;
    float *weight;
} spk_edges;
typedef tb_status (*spk_edges_fn)(void *ctx, const spk_edges *piece, tb_error *err);
tb_status spk_stream_edges(spk *k, const size_t *pops, size_t n_pops, uint64_t piece, spk_edges_fn emit, void *ctx,
                           tb_error *err);
void spk_edges_free(spk_edges *e);
/* Every synapse of sources [s_lo, s_hi), unsorted and without the sort
 * spk_stream_edges does: fn gets each source with synapses once, with the
 * targets (global ids) of all its synapses in every partition; sources
 * are read in pieces of about `piece` synapses. Needs the bucket offsets
 * kept (boff_host). */
typedef tb_status (*spk_source_fn)(void *ctx, uint64_t source, const uint64_t *targets, uint64_t n, tb_error *err);
tb_status spk_scan_sources(spk *k, uint64_t s_lo, uint64_t s_hi, uint64_t piece, spk_source_fn fn, void *ctx,
                           tb_error *err);

/* spiking_io.c */
typedef struct spk_spike_list {
    uint64_t n;
    double *times;  /* ms */
    uint64_t *ids;
    uint64_t size;  /* largest id + 1, or the declared size */
} spk_spike_list;
tb_status spk_read_spike_input(const tb_scenario *sc, const tb_spk_input *in, spk_spike_list *out, tb_error *err);
void spk_spike_list_free(spk_spike_list *l);
typedef struct spk_file_edges {
    uint64_t n;
    uint32_t *source, *target;
    float *weight;
    int32_t *delay; /* steps */
} spk_file_edges;
tb_status spk_read_connection_file(const tb_scenario *sc, const tb_spk_projection *pr, uint64_t n_source,
                                   uint64_t n_target, spk_file_edges *out, tb_error *err);
void spk_file_edges_free(spk_file_edges *e);
/* Everything `twinbrain check` can verify without a device. */
tb_status spk_check_inputs(const tb_scenario *sc, tb_error *err);

/* spiking_record.c */
tb_status spk_record_plan(spk *k, tb_error *err);
tb_status spk_record_declare(spk *k, tb_output *out, tb_error *err);

tb_status spk_record_drain(spk *k, const tb_chunk *p, tb_error *err);
void spk_record_free(spk *k);

/* spiking_ranks.c: one network over MPI ranks. agree (collective, first
 * thing at create; nothing over one rank): the ranks agree on the
 * partitions each wants (`wish`) and the smallest synapse buffer; plan:
 * the run's partitions *P (R blocks of equal size) for `total` expected
 * synapses, *bank_syn the agreed buffer; own: pfirst, pown;
 * buffers: after the record plan; chunk: at each chunk's launch; exchange
 * (collective, after each launch of steps [t, t + n), `st` this rank's
 * status): every rank's spikes into every history; halted: another rank
 * failed in this chunk (stop launching; the chunk's verdict says why);
 * merge: rank 0's drain adds the other ranks' recorded spikes and
 * population counts; writes: whether this process writes the output. */
tb_status spk_ranks_agree(spk *k, int wish, uint64_t bank_syn, tb_error *err);
tb_status spk_ranks_plan(spk *k, int *P, uint64_t *bank_syn, double total, tb_error *err);
void spk_ranks_own(spk *k);
tb_status spk_ranks_buffers(spk *k, tb_error *err);
void spk_ranks_free(spk *k);
void spk_ranks_chunk(spk *k, int buf);
tb_status spk_ranks_exchange(spk *k, uint64_t t, uint64_t n, uint64_t step0, int buf, tb_status st, tb_error *err);
bool spk_ranks_halted(const spk *k);
bool spk_ranks_active(const spk *k);
bool spk_ranks_writes(const spk *k);
void spk_ranks_merge(const spk *k, int buf, uint32_t *cnt, uint32_t *pop, uint64_t steps);
size_t spk_ranks_figures(const spk *k, tb_sim_figure *f);
/* Rank 0: each rank's neurons on its /devices/<rank> (first_neuron, neurons). */
tb_status spk_ranks_declare(const spk *k, tb_output *out, tb_error *err);

/* spiking_checkpoint.c: the kit's checkpoint entry */
tb_status spk_checkpoint(void *impl, tb_ckpt *ck, tb_error *err);

extern const tb_kit tb_spiking_kit;

#endif
