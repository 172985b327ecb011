/* Reading a numeric array from any HDF5 file (internal): gain matrices,
 * empirical FC, stimulus series. */
#ifndef TWINBRAIN_H5READ_H
#define TWINBRAIN_H5READ_H

#include <stddef.h>

#include "twinbrain/error.h"

/* A dataset of rank 1 or 2 and any numeric type, as doubles. dims[1] is 1
 * for rank 1. Every problem is TB_ERR_INPUT naming the file and dataset. */
tb_status tb_h5_read_doubles(const char *path, const char *dataset, double **data, size_t dims[2], int *rank,
                             tb_error *err);

/* An optional 1-D string dataset of n labels: *labels is NULL when the
 * dataset is absent. Present, it must hold strings, one per item: any
 * other count or shape is TB_ERR_INPUT naming the file, the dataset and
 * both counts; `items` says what the n count ("/gain has 4 sensors (rows)"). */
tb_status tb_h5_read_labels(const char *path, const char *dataset, size_t n, const char *items, char ***labels,
                            tb_error *err);

/* A string attribute `name` of the object `object` ("/assimilation"):
 * *value is NULL (and TB_OK) when the file has no such object or
 * attribute; a file that cannot be opened is TB_ERR_INPUT. */
tb_status tb_h5_read_attr_string(const char *path, const char *object, const char *name, char **value,
                                 tb_error *err);

#endif
