/* The chunk pipeline every kit runs on: chunk k is launched on the device
 * before the host waits for chunk k - 1 and writes its rows, so the device
 * computes while the host reads and writes. A kit supplies the two halves
 * (launch a chunk into one of two host buffers; collect a finished one);
 * the pipeline keeps the order, the double buffering and the clean-up on
 * every error path. */
#ifndef TWINBRAIN_PIPELINE_H
#define TWINBRAIN_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "twinbrain/device.h"
#include "twinbrain/error.h"
#include "twinbrain/opencl.h"

/* A launched chunk: steps [step0, step0 + n) into host buffer `buf`. */
typedef struct tb_chunk {
    bool active;
    int buf;        /* 0 or 1: which of the kit's two buffers */
    uint64_t step0, n;
    cl_event done;  /* set by launch: complete when the results are on the host */
} tb_chunk;

typedef struct tb_pipeline {
    void *kit;
    tb_device *dev;
    const char *what; /* what a failed chunk was doing ("running the network") */
    /* Enqueue chunk c (c->buf, c->step0, c->n set) and set c->done. */
    tb_status (*launch)(void *kit, tb_chunk *c, tb_error *err);
    /* The results of c are on the host: check them and write them. */
    tb_status (*collect)(void *kit, const tb_chunk *c, tb_error *err);
    tb_chunk pend;
    int next_buf;
} tb_pipeline;

/* A kit's advance: launch [step0, step0 + n), then collect the chunk before
 * it; n = 0 collects the last one (the run's end). */
tb_status tb_pipeline_advance(tb_pipeline *p, uint64_t step0, uint64_t n, tb_error *err);
/* Advance [step0, step0 + n) without overlap, in chunks that end at every
 * multiple of `every` steps, each collected before the next is launched:
 * for a host-side update after a sample (a filter's) that the steps after
 * the sample must see, on the same step whatever the chunking. */
tb_status tb_pipeline_advance_cut(tb_pipeline *p, uint64_t step0, uint64_t n, uint64_t every, tb_error *err);
/* Wait for and forget a chunk still in flight (before freeing buffers). */
void tb_pipeline_abandon(tb_pipeline *p);

#endif
