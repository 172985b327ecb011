/* The neural-mass kit's checkpoint entry (kit.h, core/checkpoint.h): the
 * part's complete state between two chunks. The noise needs nothing: it is
 * drawn from counter-based streams keyed by seed, instance, region and
 * step, so the step alone says where each stream is. Stimuli are series
 * indexed by step too. */
#include "config.h"

#include "mass_internal.h"

static size_t acc_values(const mass *m, const monitor_rt *r)
{
    return m->Bp * m->Np * (r->spec->kind == TB_MONITOR_BOLD ? 4 * r->nv : r->nv);
}

/* What the monitors carry from one chunk to the next: running sums
 * between samples (BOLD: its balloon states), the FC window's sums. */
static tb_status monitors(mass *m, tb_ckpt *ck, tb_error *err)
{
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < m->n_mon; ++i) {
        monitor_rt *r = &m->mon[i];
        if (r->spec->kind == TB_MONITOR_FC) {
            st = tb_ckpt_device(ck, "fc sums", m->dev, r->fc_sum, m->B * m->N * m->realsz, err);
            if (st == TB_OK)
                st = tb_ckpt_device(ck, "fc products", m->dev, r->fc_prod, m->B * m->N * m->N * m->realsz, err);
            if (st == TB_OK)
                st = tb_ckpt_host(ck, "fc count", &r->fc_count, sizeof r->fc_count, err);
        } else {
            st = tb_ckpt_device(ck, r->spec->name, m->dev, r->acc, acc_values(m, r) * m->realsz, err);
        }
    }
    return st;
}

tb_status tb_mass_checkpoint(void *impl, tb_ckpt *ck, tb_error *err)
{
    mass *m = impl;
    size_t n = m->NV * m->Bp * m->Np;
    /* the chunk in flight first: its rows belong before the checkpoint */
    tb_status st = tb_pipeline_advance(&m->pipe, 0, 0, err);
    if (st == TB_OK)
        st = tb_ckpt_device(ck, "state", m->dev, m->state, n * m->realsz, err);
    if (st == TB_OK)
        st = tb_ckpt_device(ck, "delay history", m->dev, m->hist, (size_t)m->H * m->NC * m->Bp * m->Np * m->realsz,
                            err);
    if (st == TB_OK)
        st = tb_ckpt_device(ck, "coloured noise", m->dev, m->ou,
                            (m->ms->noise == TB_NOISE_OU ? n : 1) * m->realsz, err);
    if (st == TB_OK)
        st = monitors(m, ck, err);
    if (st == TB_OK)
        st = tb_ckpt_host(ck, "samples", &m->samples, sizeof m->samples, err);
    return st;
}
