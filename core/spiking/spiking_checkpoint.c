/* The spiking kit's checkpoint entry (kit.h, core/checkpoint.h): the
 * network's complete state between two chunks. The connectivity is not
 * saved: it is generated again from the seed when the resumed run is
 * created (or read again from its files). Poisson drives are drawn from
 * counter-based streams keyed by step and neuron, so the step alone says
 * where they are; spike-file inputs are indexed by step. */
#include "config.h"

#include "brain_monitor.h"
#include "spiking_internal.h"

/* A whole device buffer, as large as it was made. */
static tb_status whole(spk *k, tb_ckpt *ck, const char *name, cl_mem buf, tb_error *err)
{
    size_t bytes = 0;
    cl_int rc = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "sizing a buffer for the checkpoint");
    return tb_ckpt_device(ck, name, k->dev, buf, bytes, err);
}

static tb_status recorders(spk *k, tb_ckpt *ck, tb_error *err)
{
    tb_status st = tb_ckpt_host(ck, "spikes written", &k->spikes_written, sizeof k->spikes_written, err);
    if (st == TB_OK)
        st = tb_ckpt_host(ck, "samples", &k->samples, sizeof k->samples, err);
    if (st == TB_OK)
        st = tb_ckpt_host(ck, "synaptic events", &k->events_estimate, sizeof k->events_estimate, err);
    /* a rate's open bin: the spikes counted so far */
    for (size_t i = 0; st == TB_OK && i < k->n_rrec; ++i)
        st = tb_ckpt_host(ck, "rate bin", k->rrec[i].acc, (k->rrec[i].spec->n_pops + 1) * sizeof *k->rrec[i].acc,
                          err);
    if (st == TB_OK)
        st = spk_brain_checkpoint(k, ck, err);
    return st;
}

tb_status spk_checkpoint(void *impl, tb_ckpt *ck, tb_error *err)
{
    spk *k = impl;
    /* the chunk in flight first: its spikes belong before the checkpoint */
    tb_status st = tb_pipeline_advance(&k->pipe, 0, 0, err);
    cl_int rc = st == TB_OK ? clFinish(k->readq ? k->readq : tb_device_queue(k->dev)) : CL_SUCCESS;
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, "finishing the chunk before a checkpoint");
    const char *names[] = {"neuron state", "refractory counters", "synaptic input", "spike flags",
                           "spike history", "spike history counts"};
    cl_mem bufs[] = {k->state, k->refr, k->in, k->flags, k->hist, k->hist_cnt};
    for (size_t i = 0; st == TB_OK && i < sizeof bufs / sizeof bufs[0]; ++i)
        st = whole(k, ck, names[i], bufs[i], err);
    if (st == TB_OK)
        st = recorders(k, ck, err);
    return st;
}
