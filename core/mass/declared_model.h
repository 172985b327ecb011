/* A neural-mass model declared in the scenario file itself (internal):
 *
 *   [model]
 *   name = "leaky"
 *   variables = ["x", "y"]
 *   coupled = ["x"]                                  # default: the first variable
 *   derivatives = { x = "-x / tau + coupling[0]", y = "x - y" }
 *   ranges = { x = [-1.0, 1.0] }                     # for random initial values
 *   bounds = { y = [0.0, 1.0] }                      # applied after every stage
 *   [model.parameters]
 *   tau = 10.0                                       # declares tau, with its value
 *
 * It becomes an in-memory plugin descriptor and goes through exactly the
 * code path of a compiled plugin. */
#ifndef TWINBRAIN_DECLARED_MODEL_H
#define TWINBRAIN_DECLARED_MODEL_H

#include "schema.h"

typedef struct tb_declared_model tb_declared_model;

/* NULL (errors reported) when the declaration is unusable. */
const tb_plugin *tb_declared_model_build(tb_schema_checker *c, const tb_toml_value *model, tb_declared_model **out);
void tb_declared_model_free(tb_declared_model *d);

#endif
