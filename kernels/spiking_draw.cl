/* Random draws of the spiking kit: initial values, parameters, weights,
 * delays and stochastic inputs. Each draw is a pure function of
 * (seed; stream, step, element) through rng.cl, so a network and its drive
 * are the same on every device and for every work split. A draw that is
 * redrawn (bounded distributions) moves to attempt k by setting bits 16..
 * of the stream word (bits 20.. for the stochastic inputs, whose bits 8..19
 * number the input). */
#define TB_DIST_CONST 0
#define TB_DIST_NORMAL 1
#define TB_DIST_UNIFORM 2
#define TB_DIST_LOGNORMAL 3

/* A bounded distribution whose bounds hold so little mass that 1000
 * attempts all fall outside is clamped; the scenario checker cannot see
 * that, the documentation says it. */
#define TB_REDRAW_MAX 1000u

inline real tb_draw(int kind, real a, real b, real lo, real hi, ulong seed, uint stream, ulong step, uint element)
{
    if (kind == TB_DIST_CONST)
        return a;
    if (kind == TB_DIST_UNIFORM)
        return a + (b - a) * tb_uniform2(seed, stream, step, element).x;
    real x = a;
    for (uint k = 0; k < TB_REDRAW_MAX; ++k) {
        const real z = tb_normal2(seed, stream | (k << 16), step, element).x;
        x = kind == TB_DIST_NORMAL ? a + b * z : exp(a + b * z);
        if (x >= lo && x <= hi)
            return x;
    }
    return clamp(x, lo, hi);
}

/* An integer uniform in [0, n) from one 32-bit word (Lemire's multiply-
 * shift; the bias is below n / 2^32). */
inline uint tb_below(uint word, uint n)
{
    return (uint)(((ulong)word * (ulong)n) >> 32);
}
