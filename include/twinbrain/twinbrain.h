/* twinbrain: everything an embedding program or a plugin needs. */
#ifndef TWINBRAIN_TWINBRAIN_H
#define TWINBRAIN_TWINBRAIN_H

#include "twinbrain/compare.h"
#include "twinbrain/connectome.h"
#include "twinbrain/device.h"
#include "twinbrain/error.h"
#include "twinbrain/mass.h"
#include "twinbrain/output.h"
#include "twinbrain/plugin.h"
#include "twinbrain/program.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "twinbrain/spiking.h"
#include "twinbrain/toml.h"

#endif
