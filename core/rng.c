#include "config.h"

#include <Random123/philox.h>

#include "rng.h"

void tb_rng_uniform2(uint64_t seed, uint32_t stream, uint64_t step, uint32_t element, double out[2])
{
    philox4x32_ctr_t c = {{element, stream, (uint32_t)step, (uint32_t)(step >> 32)}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 2; ++i) {
        uint64_t x = ((uint64_t)r.v[2 * i] << 21) ^ (uint64_t)(r.v[2 * i + 1] >> 11);
        out[i] = ((double)x + 0.5) * 0x1.0p-53;
    }
}
