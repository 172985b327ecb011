/* Checkpoints: the complete state of a run at a chunk boundary, kept in
 * its output file so that `twinbrain resume` can continue a run that was
 * interrupted or killed and end with the file the uninterrupted run would
 * have written (docs/formats.md, "Checkpoints").
 *
 * A checkpoint is a list of named sections of bytes. The same list saves
 * and restores: a kit's checkpoint entry (kit.h) names its state, in a
 * fixed order, with tb_ckpt_host() and tb_ckpt_device(); when saving, the
 * values are copied into the checkpoint, when restoring, the checkpoint's
 * values are copied back, and a section whose name or size differs from
 * the run's is an error (the scenario or the devices are not the
 * interrupted run's). */
#ifndef TWINBRAIN_CHECKPOINT_H
#define TWINBRAIN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twinbrain/device.h"
#include "twinbrain/error.h"
#include "twinbrain/opencl.h"
#include "twinbrain/output.h"

typedef struct tb_ckpt tb_ckpt;

/* ---- for kits */
bool tb_ckpt_restoring(const tb_ckpt *ck);
/* `bytes` of host memory at `data`. */
tb_status tb_ckpt_host(tb_ckpt *ck, const char *name, void *data, size_t bytes, tb_error *err);
/* The first `bytes` of a device buffer (read or written on the device's
 * queue, blocking: the queue must hold nothing that still changes it). */
tb_status tb_ckpt_device(tb_ckpt *ck, const char *name, tb_device *dev, cl_mem buf, size_t bytes,
                         tb_error *err);

/* ---- for the driver (core/sim.c) */
tb_ckpt *tb_ckpt_new(void); /* an empty checkpoint to save into; NULL when out of memory */
void tb_ckpt_free(tb_ckpt *ck);
/* Restoring: every section was read back. */
tb_status tb_ckpt_done(const tb_ckpt *ck, tb_error *err);

/* The two slots of an output file, written in turn, so that a checkpoint
 * torn by a crash leaves the previous one whole. */
typedef struct tb_ckpt_slots {
    tb_dataset *slot[2];
    unsigned next;
} tb_ckpt_slots;
/* Create /checkpoint/slot0 and /checkpoint/slot1 (before the file goes live). */
tb_status tb_ckpt_declare(tb_output *o, tb_ckpt_slots *s, tb_error *err);
/* Write the checkpoint of `step` into the next slot, with its header
 * (step, size, SHA-256 of the sections) and flush it. */
tb_status tb_ckpt_store(tb_ckpt_slots *s, uint64_t step, const tb_ckpt *ck, tb_error *err);
/* The newest whole checkpoint of the file at `path`, ready to restore
 * from: TB_ERR_RESUME when it has none. */
tb_status tb_ckpt_load(const char *path, uint64_t *step, tb_ckpt **ck, tb_error *err);

#endif
