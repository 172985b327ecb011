/* Parameter sweeps (internal): the [sweep] table expanded into one value
 * per instance for every swept key. */
#ifndef TWINBRAIN_SWEEP_H
#define TWINBRAIN_SWEEP_H

#include "schema.h"

/* Check [sweep] (after the model and coupling are known) and fill
 * sc->sweep. Without [sweep], n_instances = 1 and no keys. */
void tb_sweep_check(tb_schema_checker *c, tb_scenario *sc, tb_toml_value *sweep);
void tb_sweep_free(tb_sweep *s);
/* The values of a swept key, or NULL when the key is not swept. */
const double *tb_sweep_values(const tb_sweep *s, const char *path);

#endif
