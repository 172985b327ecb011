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

/* The standard normal quantile of p in (0, 1): Wichura's algorithm AS 241
 * (PPND16, Applied Statistics 37:477-484, 1988), accurate to about 1e-16.
 * One uniform per normal and, for 85% of them, no transcendental call:
 * several times cheaper than Box-Muller, which matters when a network
 * draws a weight and a delay for each of 10^8 synapses. */
inline real tb_normal_quantile(real p)
{
    const real q = p - (real)0.5;
    if (fabs(q) <= (real)0.425) {
        const real r = (real)0.180625 - q * q;
        return q *
               (((((((r * (real)2509.0809287301226727 + (real)33430.575583588128105) * r +
                     (real)67265.770927008700853) * r + (real)45921.953931549871457) * r +
                   (real)13731.693765509461125) * r + (real)1971.5909503065514427) * r +
                 (real)133.14166789178437745) * r + (real)3.387132872796366608) /
               (((((((r * (real)5226.495278852545561 + (real)28729.085735721942674) * r +
                     (real)39307.89580009271061) * r + (real)21213.794301586595867) * r +
                   (real)5394.1960214247511077) * r + (real)687.1870074920579083) * r +
                 (real)42.313330701600911252) * r + (real)1);
    }
    real r = q < (real)0 ? p : (real)1 - p;
    r = sqrt(-log(r));
    real x;
    if (r <= (real)5) {
        r -= (real)1.6;
        x = (((((((r * (real)7.7454501427834140764e-4 + (real)0.0227238449892691845833) * r +
                  (real)0.24178072517745061177) * r + (real)1.27045825245236838258) * r +
                (real)3.64784832476320460504) * r + (real)5.7694972214606914055) * r +
              (real)4.6303378461565452959) * r + (real)1.42343711074968357734) /
            (((((((r * (real)1.05075007164441684324e-9 + (real)5.475938084995344946e-4) * r +
                  (real)0.0151986665636164571966) * r + (real)0.14810397642748007459) * r +
                (real)0.68976733498510000455) * r + (real)1.6763848301838038494) * r +
              (real)2.05319162663775882187) * r + (real)1);
    } else {
        r -= (real)5;
        x = (((((((r * (real)2.01033439929228813265e-7 + (real)2.71155556874348757815e-5) * r +
                  (real)0.0012426609473880784386) * r + (real)0.026532189526576123093) * r +
                (real)0.29656057182850489123) * r + (real)1.7848265399172913358) * r +
              (real)5.4637849111641143699) * r + (real)6.6579046435011037772) /
            (((((((r * (real)2.04426310338993978564e-15 + (real)1.4215117583164458887e-7) * r +
                  (real)1.8463183175100546818e-5) * r + (real)7.868691311456132591e-4) * r +
                (real)0.0148753612908506148525) * r + (real)0.13692988092273580531) * r +
              (real)0.59983220655588793769) * r + (real)1);
    }
    return q < (real)0 ? -x : x;
}

/* A bounded distribution whose bounds hold so little mass that 1000
 * attempts all fall outside is clamped; the scenario checker cannot see
 * that, the documentation says it. */
#define TB_REDRAW_MAX 1000u

/* A value of distribution `kind` whose first uniform is u0; redraws (for
 * bounded distributions) use (stream | attempt << 16, step, element). */
inline real tb_draw_from(int kind, real a, real b, real lo, real hi, real u0, ulong seed, uint stream, ulong step,
                         uint element)
{
    if (kind == TB_DIST_CONST)
        return a;
    if (kind == TB_DIST_UNIFORM)
        return a + (b - a) * u0;
    real x = a, u = u0;
    for (uint k = 0; k < TB_REDRAW_MAX; ++k) {
        if (k)
            u = tb_uniform2(seed, stream | (k << 16), step, element).x;
        const real z = tb_normal_quantile(u);
        x = kind == TB_DIST_NORMAL ? a + b * z : exp(a + b * z);
        if (x >= lo && x <= hi)
            return x;
    }
    return clamp(x, lo, hi);
}

inline real tb_draw(int kind, real a, real b, real lo, real hi, ulong seed, uint stream, ulong step, uint element)
{
    if (kind == TB_DIST_CONST)
        return a;
    return tb_draw_from(kind, a, b, lo, hi, tb_uniform2(seed, stream, step, element).x, seed, stream, step, element);
}

/* An integer uniform in [0, n) from one 32-bit word (Lemire's multiply-
 * shift; the bias is below n / 2^32). */
inline uint tb_below(uint word, uint n)
{
    return (uint)(((ulong)word * (ulong)n) >> 32);
}
