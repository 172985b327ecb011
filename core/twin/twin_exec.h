/* Running a twin network on a device: every tensor in a device buffer
 * (activations once per batch instance, weights once), one or more kernel
 * launches per node, set up once; a frame is the launches in order. */
#ifndef TWINBRAIN_TWIN_EXEC_H
#define TWINBRAIN_TWIN_EXEC_H

#include "twin_graph.h"
#include "twinbrain/device.h"
#include "twinbrain/program.h"

typedef struct tw_exec tw_exec;

/* The graph is borrowed: it must outlive the executor. */
tb_status tw_exec_create(const tw_graph *g, tb_device *dev, tb_precision prec, size_t batch, tw_exec **out,
                         tb_error *err);
void tw_exec_destroy(tw_exec *x);
size_t tw_exec_real_size(const tw_exec *x);
/* Enqueue the upload of graph input k for every instance ([batch][numel]
 * reals); `host` must stay valid until the queue has run it. */
tb_status tw_exec_write_input(tw_exec *x, size_t k, const void *host, tb_error *err);
/* Enqueue one frame: every launch, then the state copies. */
tb_status tw_exec_run(tw_exec *x, tb_error *err);
/* Enqueue the read of graph output k ([batch][numel] reals); *ev (may be
 * NULL) completes when it is on the host. */
tb_status tw_exec_read_output(tw_exec *x, size_t k, void *host, cl_event *ev, tb_error *err);
/* Zero the recurrent state (the start of a sequence). */
tb_status tw_exec_reset_state(tw_exec *x, tb_error *err);
/* The device buffer of graph input k ([batch][numel] reals), for stimuli
 * generated on the device (twin_experiment.c). */
cl_mem tw_exec_input_mem(const tw_exec *x, size_t k);
size_t tw_exec_batch(const tw_exec *x);
const tb_program *tw_exec_program(const tw_exec *x);
size_t tw_exec_launches(const tw_exec *x);

#endif
