/* Host side of kernels/rng.cl: the same counter-based draws (Philox4x32-10,
 * key = seed, counter = {element, stream, step}), so values drawn on the
 * host (initial conditions) follow the same rules as the device's. */
#ifndef TWINBRAIN_RNG_H
#define TWINBRAIN_RNG_H

#include <stdint.h>

/* These match TB_RNG_* in kernels/rng.cl. */
#define TB_RNG_INITIAL 1u
#define TB_RNG_NOISE 2u
#define TB_RNG_CONNECT 3u
#define TB_RNG_INPUT 4u

/* The two uniforms in (0, 1) of tb_uniform2() in double precision. */
void tb_rng_uniform2(uint64_t seed, uint32_t stream, uint64_t step, uint32_t element, double out[2]);

#endif
