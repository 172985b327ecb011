/* Monitors computed after each chunk from the samples another monitor left
 * on the device (the step kernel writes samples as [S][B][N][V]). */

/* EEG: sensors = gain [E][N] x the regions' temporal average. */
__kernel void tb_eeg_project(__global const real *samples, __global const real *gain, __global real *out, int S,
                             int B, int N, int E)
{
    const long gid = get_global_id(0);
    if (gid >= (long)S * B * E)
        return;
    const int e = gid % E;
    const long sb = gid / E; /* s * B + b */
    real acc = (real)0;
    for (int n = 0; n < N; ++n)
        acc += gain[(long)e * N + n] * samples[sb * N + n];
    out[gid] = acc;
}

/* Functional connectivity: running sums of x_i and x_i x_j over the
 * samples [s0, s1) of this chunk that lie in the window, one work-item per
 * (instance, region i). */
__kernel void tb_fc_accumulate(__global const real *samples, int s0, int s1, int V, int k, int B, int N,
                               __global real *sum, __global real *prod)
{
    const long gid = get_global_id(0);
    if (gid >= (long)B * N)
        return;
    const int i = gid % N;
    const int b = gid / N;
    for (int s = s0; s < s1; ++s) {
        __global const real *row = samples + ((long)s * B + b) * N * V + k;
        const real xi = row[(long)i * V];
        sum[gid] += xi;
        __global real *p = prod + gid * N;
        for (int j = 0; j < N; ++j)
            p[j] += xi * row[(long)j * V];
    }
}

/* Pearson correlation from the sums: (E[x_i x_j] - m_i m_j) / (s_i s_j). */
__kernel void tb_fc_finalize(__global const real *sum, __global const real *prod, real count, int B, int N,
                             __global real *fc)
{
    const long gid = get_global_id(0);
    if (gid >= (long)B * N * N)
        return;
    const int j = gid % N;
    const long bi = gid / N; /* b * N + i */
    const int i = bi % N;
    const long bj = bi - i + j;
    const real mi = sum[bi] / count, mj = sum[bj] / count;
    const real vi = prod[bi * N + i] / count - mi * mi;
    const real vj = prod[bj * N + j] / count - mj * mj;
    const real cov = prod[gid] / count - mi * mj;
    const real den = sqrt(vi * vj);
    fc[gid] = den > (real)0 ? cov / den : (real)0;
}
