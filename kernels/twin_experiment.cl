/* Stimuli of the twin kit's in-silico experiments (core/twin/
 * twin_experiment_run.c), written straight into the network's frame
 * input: one pixel per work-item (dimension 0, n = H * W) of one batch
 * instance (dimension 1); x has instance stride xs. Formulas: docs/twin.md. */

/* Drifting grating: p holds per instance (kx, ky, tf, contrast), the
 * spatial frequency's components in cycles per pixel. */
__kernel void tw_exp_grating(__global real *x, const long xs, const int H, const int W, __global const real *p,
                             const long t, const real mean)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= (long)H * W)
        return;
    const real px = (real)(i % W), py = (real)(i / W);
    __global const real *q = p + 4 * b;
    const real phase = q[0] * px + q[1] * py - q[2] * (real)t;
    x[b * xs + i] = mean + q[3] * sinpi(TB_R(2) * (phase - floor(phase)));
}

/* SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014): the noise
 * is a hash of (seed, instance, pattern, cell), so the host recomputes it
 * exactly for the spike-triggered averages. */
inline ulong tw_mix64(ulong z)
{
    z += 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

/* Sparse noise: squares of side sq on a rows x cols grid from the top-left
 * pixel, off (-1) when the 53-bit draw is below off, on (+1) below on,
 * else grey; pixels outside the grid stay grey. White noise (white != 0):
 * every square mean + contrast x a standard normal, by Box-Muller from the
 * cell's hash and the hash of that. */
__kernel void tw_exp_sparse(__global real *x, const long xs, const int H, const int W, const int sq, const int rows,
                            const int cols, const ulong seed, const ulong b0, const ulong pattern, const ulong off,
                            const ulong on, const real mean, const real contrast, const int white)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= (long)H * W)
        return;
    const int r = (int)(i / W) / sq, c = (int)(i % W) / sq;
    real v = mean;
    if (r < rows && c < cols) {
        ulong z = tw_mix64(seed);
        z = tw_mix64(z ^ (b0 + (ulong)b));
        z = tw_mix64(z ^ pattern);
        z = tw_mix64(z ^ (ulong)(r * cols + c));
        if (white) {
            const real u1 = ((real)(z >> 11) + TB_R(1)) * TB_R(1.1102230246251565e-16);
            const real u2 = (real)(tw_mix64(z) >> 11) * TB_R(1.1102230246251565e-16);
            v = mean + contrast * sqrt(TB_R(-2) * log(u1)) * cospi(TB_R(2) * u2);
        } else {
            z >>= 11;
            v = z < off ? mean - contrast : z < on ? mean + contrast : mean;
        }
    }
    x[b * xs + i] = v;
}

/* A disc of drifting grating on a grey screen: p holds per instance (kx,
 * ky, tf, contrast, cx, cy, radius, 0); pixels whose centre lies within
 * radius of (cx, cy) show the grating, the others mean. */
__kernel void tw_exp_disc(__global real *x, const long xs, const int H, const int W, __global const real *p,
                          const long t, const real mean)
{
    const long i = get_global_id(0), b = get_global_id(1);
    if (i >= (long)H * W)
        return;
    const real px = (real)(i % W), py = (real)(i / W);
    __global const real *q = p + 8 * b;
    const real dx = px - q[4], dy = py - q[5];
    const real phase = q[0] * px + q[1] * py - q[2] * (real)t;
    const real g = q[3] * sinpi(TB_R(2) * (phase - floor(phase)));
    x[b * xs + i] = mean + (dx * dx + dy * dy <= q[6] * q[6] ? g : TB_R(0));
}
