/* A brain's output: /brain and the per-region monitors (brain_monitor.c),
 * hooked into the spiking kit's recording (spiking_record.c). */
#ifndef TWINBRAIN_SPIKING_BRAIN_MONITOR_H
#define TWINBRAIN_SPIKING_BRAIN_MONITOR_H

#include "brain.h"
#include "checkpoint.h"
#include "spiking_internal.h"

/* Whether an edge_spikes monitor needs the network read back after it
 * is generated (spk_connect keeps the synapse index for it). */
bool spk_brain_wants_network(const spk *k);
/* Marks the neurons whose spikes edge_spikes counts one by one (bit 0 of
 * k->recorded, as a spike record's), before the chunk length is chosen. */
void spk_brain_mark_sources(spk *k);
/* Marks the monitored populations' neurons for per-step counts (before
 * the recording buffers are made). */
tb_status spk_brain_plan(spk *k, tb_error *err);
/* The lfp monitors' state records: how many, then appended to k->srec
 * (after the scenario's own). */
size_t spk_brain_n_state(const spk *k);
tb_status spk_brain_plan_state(spk *k, tb_error *err);
tb_status spk_brain_declare(spk *k, tb_output *out, tb_error *err);
/* One chunk's population counts per step ([step][population]); the lfp
 * monitors' state rows are in their records' host buffers by then. */
tb_status spk_brain_drain(spk *k, const tb_chunk *p, const uint32_t *pc, tb_error *err);
/* What the monitors carry from chunk to chunk (open bins, the balloons),
 * saved in and restored from a checkpoint. */
tb_status spk_brain_checkpoint(spk *k, tb_ckpt *ck, tb_error *err);
void spk_brain_free(spk *k);

#endif
