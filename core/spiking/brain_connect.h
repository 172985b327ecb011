/* The connectome rule on the device side (internal): the host's part of
 * generating the wiring between regions (brain_connect.c); the draws are
 * in kernels/spiking_connect.cl. */
#ifndef TWINBRAIN_SPIKING_BRAIN_CONNECT_H
#define TWINBRAIN_SPIKING_BRAIN_CONNECT_H

#include "brain.h"
#include "spiking_internal.h"

/* Neurons of `span` consecutive populations from `first`. */
uint64_t spk_span_size(const spk *k, size_t first, size_t span);
/* Adds each target region's synapses per neuron to in[] (per population). */
void spk_wiring_indegrees(const tb_spk_projection *pr, double *in);
/* Synapses the rule makes: every neuron of region j gets its edges' counts. */
double spk_wiring_synapses(const spk *k, const tb_spk_projection *pr);
/* The wiring as the connectivity kernel reads it, in the buffers a
 * connection file uses: rows = [edge pointers (R + 1) | first target
 * neuron of each region (R + 1) | first source neuron (R + 1)], pairs =
 * (source region, synapses per target neuron) per edge, delays in steps
 * per edge; weights unused. Transient, not counted in the run's memory. */
tb_status spk_wiring_upload(spk *k, const tb_spk_projection *pr, cl_mem *rows, cl_mem *pairs, cl_mem *unused,
                            cl_mem *delays, tb_error *err);

#endif
