/* The chunk pipeline: see pipeline.h. */
#include "config.h"

#include "pipeline.h"
#include "profile.h"
#include "util.h"

static void forget(tb_chunk *c)
{
    if (c->active && c->done) {
        clWaitForEvents(1, &c->done);
        clReleaseEvent(c->done);
    }
    c->active = false;
    c->done = NULL;
}

static tb_status drain(tb_pipeline *p, tb_error *err)
{
    if (!p->pend.active)
        return TB_OK;
    tb_chunk c = p->pend;
    p->pend.active = false;
    double t0 = tb_now();
    cl_int rc = clWaitForEvents(1, &c.done);
    clReleaseEvent(c.done);
    tb_profile_host(tb_device_profile(p->dev), "waiting for chunk results", tb_now() - t0);
    if (rc != CL_SUCCESS)
        return tb_cl_fail(err, rc, p->what);
    return p->collect(p->kit, &c, err);
}

tb_status tb_pipeline_advance(tb_pipeline *p, uint64_t step0, uint64_t n, tb_error *err)
{
    if (n == 0)
        return drain(p, err);
    tb_chunk next = {.active = true, .buf = p->next_buf, .step0 = step0, .n = n};
    p->next_buf ^= 1;
    tb_status st = p->launch(p->kit, &next, err);
    if (st != TB_OK) {
        forget(&next);
        return st;
    }
    st = drain(p, err); /* the previous chunk, while this one computes */
    if (st != TB_OK) {
        forget(&next);
        return st;
    }
    p->pend = next;
    return TB_OK;
}

tb_status tb_pipeline_advance_cut(tb_pipeline *p, uint64_t step0, uint64_t n, uint64_t every, tb_error *err)
{
    tb_status st = drain(p, err);
    for (uint64_t t = step0, len; st == TB_OK && t < step0 + n; t += len) {
        uint64_t next = every ? (t / every + 1) * every : step0 + n;
        len = next - t < step0 + n - t ? next - t : step0 + n - t;
        st = tb_pipeline_advance(p, t, len, err);
        if (st == TB_OK)
            st = drain(p, err);
    }
    return st;
}

void tb_pipeline_abandon(tb_pipeline *p)
{
    forget(&p->pend);
}
