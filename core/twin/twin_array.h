/* A numeric HDF5 dataset of any rank up to TW_MAX_RANK read whole as
 * doubles: what the twin commands (score, fit, embeddings, similarity)
 * read from recordings and run files. */
#ifndef TWINBRAIN_TWIN_ARRAY_H
#define TWINBRAIN_TWIN_ARRAY_H

#include <hdf5.h>
#include <stdbool.h>

#include "twin_graph.h"
#include "twinbrain/error.h"

typedef struct tw_array {
    double *v;   /* row-major; NULL for an optional dataset that is absent */
    int rank;
    hsize_t d[TW_MAX_RANK];
    size_t n;    /* elements */
    bool u8;     /* stored as unsigned bytes (frames to scale by 1/255) */
} tw_array;

/* From an open file; `file` names it in messages. An absent dataset is
 * TB_ERR_INPUT unless `optional`; strings and compounds are refused. */
tb_status tw_array_read(hid_t f, const char *file, const char *name, bool optional, tw_array *a, tb_error *err);
/* The same, opening `file` (TB_ERR_INPUT when it is not HDF5). */
tb_status tw_array_read_file(const char *file, const char *name, bool optional, tw_array *a, tb_error *err);

#endif
