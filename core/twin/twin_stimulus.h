/* The frames a twin is shown ([twin.input]): an HDF5 video, drifting
 * gratings or a blank screen, as values of the network's frame input. */
#ifndef TWINBRAIN_TWIN_STIMULUS_H
#define TWINBRAIN_TWIN_STIMULUS_H

#include <stddef.h>
#include <stdint.h>

#include "twin_scenario.h"

typedef struct tw_stimulus {
    const tw_scenario *s;
    size_t H, W, batch;
    double *video; /* file: [frames][per_instance ? batch : 1][H][W], scaled */
    uint64_t frames;
    bool per_instance;
} tw_stimulus;

/* Load (file) or prepare; `steps` frames are needed. TB_ERR_INPUT naming
 * the file and dataset for a video of the wrong shape or too short. */
tb_status tw_stimulus_open(tw_stimulus *st, const tw_scenario *s, size_t H, size_t W, uint64_t steps, tb_error *err);
void tw_stimulus_close(tw_stimulus *st);
/* Frame t of instance b into out[H * W]. */
void tw_stimulus_frame(const tw_stimulus *st, uint64_t t, size_t b, double *out);

#endif
