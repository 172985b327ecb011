/* Counter-based random numbers (Philox4x32-10 from Random123).
 *
 * A draw is a pure function of (seed; stream, step, element): no state is
 * carried between steps or work-items, so a run gives the same numbers
 * whatever the batch size, the chunking, the work-group shape or the
 * device, and any draw can be recomputed on the host for a test.
 *
 *   key     = the 64-bit seed
 *   counter = { element, stream, step (low 32 bits), step (high 32 bits) }
 *
 * `stream` separates purposes (TB_RNG_* below) so that, say, the noise of
 * step 0 never equals the initial-value draws. `element` numbers the
 * consumer within a step: for example (instance * N + region) * V + variable.
 * Each call yields four 32-bit words: two uniforms or two normals in double
 * precision, four uniforms in single. */
#include <Random123/philox.h>

#define TB_RNG_INITIAL 1u   /* initial values drawn in a variable's range */
#define TB_RNG_NOISE 2u     /* integrator noise */
#define TB_RNG_CONNECT 3u   /* connectivity and weights (spiking) */
#define TB_RNG_INPUT 4u     /* Poisson and other stochastic inputs */
#define TB_RNG_USER 16u     /* first stream free for plugins */

__attribute__((always_inline)) inline uint4 tb_rng_bits(ulong seed, uint stream, ulong step, uint element)
{
    philox4x32_ctr_t c = {{element, stream, (uint)step, (uint)(step >> 32)}};
    philox4x32_key_t k = {{(uint)seed, (uint)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32(c, k);
    return (uint4)(r.v[0], r.v[1], r.v[2], r.v[3]);
}

/* Uniforms in the open interval (0, 1): never 0, so log() is safe. */
__attribute__((always_inline)) inline double tb_u01_double(uint hi, uint lo)
{
    ulong x = ((ulong)hi << 21) ^ (ulong)(lo >> 11); /* 53 random bits */
    return ((double)x + 0.5) * 0x1.0p-53;
}

__attribute__((always_inline)) inline float tb_u01_float(uint w)
{
    return ((float)(w >> 8) + 0.5f) * 0x1.0p-24f;
}

#ifdef TB_DOUBLE
/* Two uniforms from one block. */
__attribute__((always_inline)) inline real2 tb_uniform2(ulong seed, uint stream, ulong step, uint element)
{
    uint4 r = tb_rng_bits(seed, stream, step, element);
    return (real2)(tb_u01_double(r.s0, r.s1), tb_u01_double(r.s2, r.s3));
}
#else
__attribute__((always_inline)) inline real2 tb_uniform2(ulong seed, uint stream, ulong step, uint element)
{
    uint4 r = tb_rng_bits(seed, stream, step, element);
    return (real2)(tb_u01_float(r.s0), tb_u01_float(r.s1));
}
#endif

/* Two independent standard normals (Box-Muller). */
__attribute__((always_inline)) inline real2 tb_normal2(ulong seed, uint stream, ulong step, uint element)
{
    real2 u = tb_uniform2(seed, stream, step, element);
    real rad = sqrt((real)-2 * log(u.x));
    real ang = (real)6.283185307179586476925286766559 * u.y;
    return (real2)(rad * cos(ang), rad * sin(ang));
}
