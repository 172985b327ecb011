/* Device limits, measured the way clpeak measures them: the memory
 * bandwidth of streaming kernels (copy, triad) and the arithmetic rate of
 * independent chains of fused multiply-adds (fma(): mad() may be compiled
 * as a separate multiply and add, 3.5x slower on PoCL). `twinbrain bench devices` times them
 * with profiling events; workload figures are read as fractions of these.
 *
 * Bandwidth kernels move real4 (16 or 32 bytes per work-item and array);
 * TB_PEAK_ITERS multiply-adds per chain and 8 independent real4 chains per
 * work-item keep both the FMA pipelines and the vector lanes of a CPU busy
 * and leave a GPU's scheduler enough warps. The chains converge (x -> x a + b
 * with |a| < 1), so no value becomes denormal or infinite, which would run
 * at another speed on some hardware. */

#ifndef TB_PEAK_ITERS
#define TB_PEAK_ITERS 256
#endif

__kernel void tb_peak_copy(__global const real4 *a, __global real4 *b)
{
    const size_t i = get_global_id(0);
    b[i] = a[i];
}

__kernel void tb_peak_triad(__global const real4 *a, __global const real4 *b, __global real4 *c, const real s)
{
    const size_t i = get_global_id(0);
    c[i] = a[i] + s * b[i];
}

/* Launch overhead: a kernel that does nothing. */
__kernel void tb_peak_empty(__global real *out)
{
    if (get_global_id(0) == (size_t)-1)
        out[0] = 0;
}

#define TB_PEAK_FMA8(a, b)                                                                          \
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);                 \
    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);

/* 8 chains x 4 lanes x 2 flops x 4 unrolled x TB_PEAK_ITERS per work-item. */
__kernel void tb_peak_fma(__global real *out, const real a, const real b)
{
    const real g = (real)get_global_id(0) * (real)1e-3;
    real4 x0 = (real4)(g, g + (real)1, g + (real)2, g + (real)3);
    real4 x1 = x0 + (real)0.1, x2 = x0 + (real)0.2, x3 = x0 + (real)0.3;
    real4 x4 = x0 + (real)0.4, x5 = x0 + (real)0.5, x6 = x0 + (real)0.6, x7 = x0 + (real)0.7;
    for (int i = 0; i < TB_PEAK_ITERS; i++) {
        TB_PEAK_FMA8(a, b)
        TB_PEAK_FMA8(a, b)
        TB_PEAK_FMA8(a, b)
        TB_PEAK_FMA8(a, b)
    }
    const real4 s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    out[get_global_id(0)] = s.x + s.y + s.z + s.w;
}
