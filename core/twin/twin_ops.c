/* The twin kit's op table: shape inference, host evaluation (folding) and
 * the data-movement views of every op it knows (ONNX operator semantics,
 * https://onnx.ai/onnx/operators/). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_ops.h"
#include "twin_ops_ext.h"
#include "util.h"

tb_status tw_node_error(tw_graph *g, const tw_node *n, tb_error *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tb_error_set(err, TB_ERR_INPUT, "node '%s' (%s, opset %lld): %s", n->name, n->op, (long long)g->opset, msg);
}

/* ------------------------------------------------------------ helpers */

void tw_strides(const tw_tensor *t, int64_t *str)
{
    int64_t s = 1;
    for (int d = t->rank - 1; d >= 0; --d) {
        str[d] = s;
        s *= t->dims[d];
    }
}

void tw_broadcast_strides(const tw_tensor *in, const tw_tensor *out, int64_t *str)
{
    int64_t own[TW_MAX_RANK];
    tw_strides(in, own);
    int shift = out->rank - in->rank;
    for (int d = 0; d < out->rank; ++d) {
        int k = d - shift;
        str[d] = k < 0 || in->dims[k] == 1 ? 0 : own[k];
    }
}

static tw_tensor *need_in(tw_graph *g, const tw_node *n, size_t i)
{
    tw_tensor *t = tw_in(g, n, i);
    return t && t->known ? t : NULL;
}

static void set_out(tw_graph *g, const tw_node *n, size_t i, int dtype, int rank, const int64_t *dims)
{
    tw_tensor *o = tw_out(g, n, i);
    if (!o)
        return;
    o->dtype = dtype;
    o->rank = rank;
    memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    o->known = true;
}

static int64_t norm_axis(int64_t a, int rank)
{
    return a < 0 ? a + rank : a;
}

/* An input that must be a constant known at import (shapes, axes). */
static tb_status const_in(tw_graph *g, const tw_node *n, size_t i, const char *what, tw_tensor **t, tb_error *err)
{
    *t = tw_in(g, n, i);
    if (*t && !tw_is_const(*t))
        return tw_node_error(g, n, err, "its %s ('%s') is computed at run time; the twin kit needs it fixed at import",
                             what, (*t)->name);
    return TB_OK;
}

/* Axes from input 1 (newer opsets) or the attribute "axes" (older). */
static tb_status axes_of(tw_graph *g, const tw_node *n, size_t input, int64_t *axes, size_t *count, tb_error *err)
{
    tw_tensor *t;
    tb_status st = const_in(g, n, input, "axes input", &t, err);
    if (st)
        return st;
    *count = 0;
    if (t) {
        for (int64_t k = 0; k < tw_numel(t) && *count < TW_MAX_RANK; ++k)
            axes[(*count)++] = tw_get_i(t, k);
        return TB_OK;
    }
    size_t na;
    const int64_t *a = tw_attr_ints(n, "axes", &na);
    for (size_t k = 0; k < na && k < TW_MAX_RANK; ++k)
        axes[(*count)++] = a[k];
    return TB_OK;
}

/* ------------------------------------------------------------ elementwise */

static tb_status infer_unary(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int dt = x->dtype;
    if (strcmp(n->op, "Cast") == 0)
        dt = (int)tw_attr_int(n, "to", TW_FLOAT);
    set_out(g, n, 0, dt, x->rank, x->dims);
    return TB_OK;
}

static bool broadcast(const tw_tensor *a, const tw_tensor *b, int *rank, int64_t *dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int d = 0; d < r; ++d) {
        int ka = d - (r - a->rank), kb = d - (r - b->rank);
        int64_t da = ka < 0 ? 1 : a->dims[ka], db = kb < 0 ? 1 : b->dims[kb];
        if (da != db && da != 1 && db != 1)
            return false;
        dims[d] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

static tb_status infer_binary(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *a = need_in(g, n, 0), *b = need_in(g, n, 1);
    if (!a || !b)
        return tw_node_error(g, n, err, "needs two inputs of known shape");
    int r;
    int64_t dims[TW_MAX_RANK];
    if (!broadcast(a, b, &r, dims)) {
        char sa[96], sb[96];
        return tw_node_error(g, n, err, "shapes %s and %s do not broadcast", tw_shape_text(a, sa, sizeof sa),
                             tw_shape_text(b, sb, sizeof sb));
    }
    bool cmp = strcmp(n->op, "Equal") == 0 || strcmp(n->op, "Less") == 0 || strcmp(n->op, "Greater") == 0;
    set_out(g, n, 0, cmp ? TW_BOOL : a->dtype, r, dims);
    return TB_OK;
}

static tb_status infer_where(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *c = need_in(g, n, 0), *a = need_in(g, n, 1), *b = need_in(g, n, 2);
    if (!c || !a || !b)
        return tw_node_error(g, n, err, "needs three inputs of known shape");
    tw_tensor t = {0};
    if (!broadcast(a, b, &t.rank, t.dims) || !broadcast(c, &t, &t.rank, t.dims))
        return tw_node_error(g, n, err, "shapes do not broadcast");
    set_out(g, n, 0, a->dtype, t.rank, t.dims);
    return TB_OK;
}

static tb_status eval_where(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *c = tw_in(g, n, 0), *a = tw_in(g, n, 1), *b = tw_in(g, n, 2), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int64_t sc[TW_MAX_RANK], sa[TW_MAX_RANK], sb[TW_MAX_RANK];
    tw_broadcast_strides(c, o, sc);
    tw_broadcast_strides(a, o, sa);
    tw_broadcast_strides(b, o, sb);
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k) {
        int64_t r = k, oc = 0, oa = 0, ob = 0;
        for (int d = o->rank - 1; d >= 0; --d) {
            int64_t cd = r % o->dims[d];
            r /= o->dims[d];
            oc += cd * sc[d], oa += cd * sa[d], ob += cd * sb[d];
        }
        tw_set(o, k, tw_get_i(c, oc) ? tw_get_f(a, oa) : tw_get_f(b, ob));
    }
    return TB_OK;
}

void tw_unary_params(tw_graph *g, const tw_node *n, double *p0, double *p1)
{
    *p0 = 0, *p1 = 0;
    if (strcmp(n->op, "Elu") == 0)
        *p0 = tw_attr_float(n, "alpha", 1.0);
    else if (strcmp(n->op, "LeakyRelu") == 0)
        *p0 = tw_attr_float(n, "alpha", 0.01);
    else if (strcmp(n->op, "Cast") == 0)
        *p0 = (double)tw_attr_int(n, "to", TW_FLOAT);
    else if (strcmp(n->op, "Clip") == 0) {
        tw_tensor *lo = tw_in(g, n, 1), *hi = tw_in(g, n, 2);
        *p0 = lo && tw_is_const(lo) ? tw_get_f(lo, 0) : tw_attr_float(n, "min", -INFINITY);
        *p1 = hi && tw_is_const(hi) ? tw_get_f(hi, 0) : tw_attr_float(n, "max", INFINITY);
    }
}

double tw_unary_host(int code, double x, double p0, double p1)
{
    switch (code) {
    case TW_U_RELU: return x > 0 ? x : 0;
    case TW_U_ELU: return x > 0 ? x : p0 * expm1(x);
    case TW_U_SIGMOID: return 1 / (1 + exp(-x));
    case TW_U_TANH: return tanh(x);
    case TW_U_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case TW_U_EXP: return exp(x);
    case TW_U_LOG: return log(x);
    case TW_U_ABS: return fabs(x);
    case TW_U_NEG: return -x;
    case TW_U_SQRT: return sqrt(x);
    case TW_U_CLIP: return x < p0 ? p0 : x > p1 ? p1 : x;
    case TW_U_LEAKY: return x >= 0 ? x : p0 * x;
    case TW_U_RECIP: return 1 / x;
    case TW_U_ERF: return erf(x);
    case TW_U_FLOOR: return floor(x);
    case TW_U_CEIL: return ceil(x);
    case TW_U_CAST: return (int)p0 == TW_FLOAT ? (double)(float)x : tw_is_float((int)p0) ? x : trunc(x);
    default: return x;
    }
}

double tw_binary_host(int code, double a, double b)
{
    switch (code) {
    case TW_B_ADD: return a + b;
    case TW_B_SUB: return a - b;
    case TW_B_MUL: return a * b;
    case TW_B_DIV: return a / b;
    case TW_B_POW: return pow(a, b);
    case TW_B_MAX: return a > b ? a : b;
    case TW_B_MIN: return a < b ? a : b;
    case TW_B_EQUAL: return a == b;
    case TW_B_LESS: return a < b;
    case TW_B_GREATER: return a > b;
    default: return 0;
    }
}

/* Integer division of int64 constants stays integral (shape arithmetic). */
static tb_status eval_binary_int(tw_graph *g, tw_node *n, int code, tb_error *err)
{
    tw_tensor *a = tw_in(g, n, 0), *b = tw_in(g, n, 1), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int64_t sa[TW_MAX_RANK], sb[TW_MAX_RANK];
    tw_broadcast_strides(a, o, sa);
    tw_broadcast_strides(b, o, sb);
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k) {
        int64_t r = k, oa = 0, ob = 0;
        for (int d = o->rank - 1; d >= 0; --d) {
            int64_t c = r % o->dims[d];
            r /= o->dims[d];
            oa += c * sa[d], ob += c * sb[d];
        }
        if (!tw_is_float(a->dtype) && !tw_is_float(b->dtype) && o->i) {
            int64_t x = tw_get_i(a, oa), y = tw_get_i(b, ob);
            if (code == TW_B_DIV && y == 0)
                return tw_node_error(g, n, err, "integer division by zero while folding");
            o->i[k] = code == TW_B_ADD ? x + y : code == TW_B_SUB ? x - y : code == TW_B_MUL ? x * y
                      : code == TW_B_DIV ? x / y : (int64_t)tw_binary_host(code, (double)x, (double)y);
        } else {
            tw_set(o, k, tw_binary_host(code, tw_get_f(a, oa), tw_get_f(b, ob)));
        }
    }
    return TB_OK;
}

/* ------------------------------------------------------------ shape ops */

static tb_status infer_shape(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t s = norm_axis(tw_attr_int(n, "start", 0), x->rank), e = norm_axis(tw_attr_int(n, "end", x->rank), x->rank);
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    e = e < s ? s : e > x->rank ? x->rank : e;
    int64_t d = e - s;
    set_out(g, n, 0, TW_INT64, 1, &d);
    return TB_OK;
}

static tb_status eval_shape(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    int64_t s = norm_axis(tw_attr_int(n, "start", 0), x->rank);
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    for (int64_t k = 0; k < o->dims[0]; ++k)
        o->i[k] = x->dims[s + k];
    return TB_OK;
}

static tb_status shape_from(tw_graph *g, const tw_node *n, size_t i, tw_tensor *out, tb_error *err)
{
    tw_tensor *s;
    tb_status st = const_in(g, n, i, "shape input", &s, err);
    if (st)
        return st;
    if (!s || s->rank != 1 || s->dims[0] > TW_MAX_RANK)
        return tw_node_error(g, n, err, "needs a shape input of rank 1 with at most %d entries", TW_MAX_RANK);
    out->rank = (int)s->dims[0];
    for (int d = 0; d < out->rank; ++d)
        out->dims[d] = tw_get_i(s, d);
    return TB_OK;
}

static tb_status infer_constant_of_shape(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor s = {0};
    tb_status st = shape_from(g, n, 0, &s, err);
    if (st)
        return st;
    const tw_attr *a = tw_attr_find(n, "value");
    int dt = a && a->type == TW_A_TENSOR && a->tensor >= 0 ? g->t[a->tensor].dtype : TW_FLOAT;
    set_out(g, n, 0, dt, s.rank, s.dims);
    return TB_OK;
}

static tb_status eval_constant_of_shape(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *o = tw_out(g, n, 0);
    const tw_attr *a = tw_attr_find(n, "value");
    double v = a && a->type == TW_A_TENSOR && a->tensor >= 0 ? tw_get_f(&g->t[a->tensor], 0) : 0.0;
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k)
        tw_set(o, k, v);
    return TB_OK;
}

static tb_status infer_range(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *s, *l, *d;
    tb_status st = const_in(g, n, 0, "start", &s, err);
    st = st ? st : const_in(g, n, 1, "limit", &l, err);
    st = st ? st : const_in(g, n, 2, "delta", &d, err);
    if (st)
        return st;
    if (!s || !l || !d || tw_get_f(d, 0) == 0)
        return tw_node_error(g, n, err, "needs start, limit and a non-zero delta");
    double cnt = ceil((tw_get_f(l, 0) - tw_get_f(s, 0)) / tw_get_f(d, 0));
    int64_t m = cnt > 0 ? (int64_t)cnt : 0;
    set_out(g, n, 0, s->dtype, 1, &m);
    return TB_OK;
}

static tb_status eval_range(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *s = tw_in(g, n, 0), *d = tw_in(g, n, 2), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (int64_t k = 0; k < o->dims[0]; ++k)
        tw_set(o, k, tw_get_f(s, 0) + (double)k * tw_get_f(d, 0));
    return TB_OK;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: same data. */
static tb_status infer_reshape(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    tw_tensor o = {0};
    tb_status st = shape_from(g, n, 1, &o, err);
    if (st)
        return st;
    bool allowzero = tw_attr_int(n, "allowzero", 0) != 0;
    int neg = -1;
    int64_t known = 1;
    for (int d = 0; d < o.rank; ++d) {
        if (o.dims[d] == 0 && !allowzero) {
            if (d >= x->rank)
                return tw_node_error(g, n, err, "shape entry %d is 0 (copy) beyond the input's rank", d);
            o.dims[d] = x->dims[d];
        }
        if (o.dims[d] == -1) {
            if (neg >= 0)
                return tw_node_error(g, n, err, "more than one -1 in the shape");
            neg = d;
        } else if (o.dims[d] < 0) {
            return tw_node_error(g, n, err, "negative size %lld in the shape", (long long)o.dims[d]);
        } else {
            known *= o.dims[d];
        }
    }
    if (neg >= 0)
        o.dims[neg] = known ? tw_numel(x) / known : 0;
    o.rank = o.rank;
    if (tw_numel(&o) != tw_numel(x)) {
        char sa[96], sb[96];
        return tw_node_error(g, n, err, "cannot reshape %s into %s", tw_shape_text(x, sa, sizeof sa),
                             tw_shape_text(&o, sb, sizeof sb));
    }
    set_out(g, n, 0, x->dtype, o.rank, o.dims);
    return TB_OK;
}

static tb_status infer_flatten(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t ax = norm_axis(tw_attr_int(n, "axis", 1), x->rank);
    if (ax < 0 || ax > x->rank)
        return tw_node_error(g, n, err, "axis out of range");
    int64_t d[2] = {1, 1};
    for (int k = 0; k < x->rank; ++k)
        d[k < ax ? 0 : 1] *= x->dims[k];
    set_out(g, n, 0, x->dtype, 2, d);
    return TB_OK;
}

static tb_status infer_squeeze(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t axes[TW_MAX_RANK];
    size_t na;
    tb_status st = axes_of(g, n, 1, axes, &na, err);
    if (st)
        return st;
    bool drop[TW_MAX_RANK] = {0};
    for (size_t k = 0; k < na; ++k) {
        int64_t a = norm_axis(axes[k], x->rank);
        if (a < 0 || a >= x->rank || x->dims[a] != 1)
            return tw_node_error(g, n, err, "axis %lld is not a dimension of size 1", (long long)axes[k]);
        drop[a] = true;
    }
    int r = 0;
    int64_t d[TW_MAX_RANK];
    for (int k = 0; k < x->rank; ++k)
        if (!(na ? drop[k] : x->dims[k] == 1))
            d[r++] = x->dims[k];
    set_out(g, n, 0, x->dtype, r, d);
    return TB_OK;
}

static tb_status infer_unsqueeze(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t axes[TW_MAX_RANK];
    size_t na;
    tb_status st = axes_of(g, n, 1, axes, &na, err);
    if (st)
        return st;
    int r = x->rank + (int)na;
    if (r > TW_MAX_RANK)
        return tw_node_error(g, n, err, "rank above %d", TW_MAX_RANK);
    bool ins[TW_MAX_RANK] = {0};
    for (size_t k = 0; k < na; ++k) {
        int64_t a = norm_axis(axes[k], r);
        if (a < 0 || a >= r || ins[a])
            return tw_node_error(g, n, err, "bad axis %lld", (long long)axes[k]);
        ins[a] = true;
    }
    int64_t d[TW_MAX_RANK];
    for (int k = 0, j = 0; k < r; ++k)
        d[k] = ins[k] ? 1 : x->dims[j++];
    set_out(g, n, 0, x->dtype, r, d);
    return TB_OK;
}

static tb_status infer_identity(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    if (n->n_out > 1 && tw_out(g, n, 1))
        set_out(g, n, 1, TW_BOOL, x->rank, x->dims); /* Dropout's mask: all true in inference */
    return TB_OK;
}

/* An alias's value on the host: the same elements in the same order. */
static tb_status eval_alias(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k)
        tw_set(o, k, x->f ? x->f[k] : (double)x->i[k]);
    if (o->i && x->i)
        memcpy(o->i, x->i, (size_t)tw_numel(o) * sizeof *o->i);
    for (size_t j = 1; j < n->n_out; ++j) {
        tw_tensor *m = tw_out(g, n, j);
        if (m && tw_tensor_alloc(m))
            for (int64_t k = 0; k < tw_numel(m); ++k)
                tw_set(m, k, 1);
    }
    return TB_OK;
}

/* ------------------------------------------------------------ copies */

static tb_status infer_transpose(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    size_t np;
    const int64_t *p = tw_attr_ints(n, "perm", &np);
    if (p && (int)np != x->rank)
        return tw_node_error(g, n, err, "perm has %zu entries for rank %d", np, x->rank);
    int64_t d[TW_MAX_RANK];
    bool seen[TW_MAX_RANK] = {0};
    for (int k = 0; k < x->rank; ++k) {
        int64_t a = p ? p[k] : x->rank - 1 - k;
        if (a < 0 || a >= x->rank || seen[a])
            return tw_node_error(g, n, err, "perm is not a permutation");
        seen[a] = true;
        d[k] = x->dims[a];
    }
    set_out(g, n, 0, x->dtype, x->rank, d);
    return TB_OK;
}

static int views_transpose(tw_graph *g, const tw_node *n, tw_view *v, int cap)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    size_t np;
    const int64_t *p = tw_attr_ints(n, "perm", &np);
    int64_t xs[TW_MAX_RANK];
    tw_strides(x, xs);
    memset(v, 0, sizeof *v);
    v->rank = o->rank;
    tw_strides(o, v->ystr);
    for (int k = 0; k < o->rank; ++k) {
        int64_t a = p ? p[k] : x->rank - 1 - k;
        v->dims[k] = o->dims[k];
        v->xstr[k] = xs[a];
    }
    return cap >= 1 ? 1 : -1;
}

static tb_status infer_concat(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its first input has no known shape");
    int64_t ax = norm_axis(tw_attr_int(n, "axis", 0), x->rank);
    if (ax < 0 || ax >= x->rank)
        return tw_node_error(g, n, err, "axis out of range");
    int64_t d[TW_MAX_RANK];
    memcpy(d, x->dims, sizeof d);
    d[ax] = 0;
    for (size_t j = 0; j < n->n_in; ++j) {
        tw_tensor *t = need_in(g, n, j);
        if (!t || t->rank != x->rank)
            return tw_node_error(g, n, err, "input %zu has no known shape or another rank", j);
        for (int k = 0; k < x->rank; ++k)
            if (k != ax && t->dims[k] != x->dims[k])
                return tw_node_error(g, n, err, "input %zu differs in dimension %d", j, k);
        d[ax] += t->dims[ax];
    }
    set_out(g, n, 0, x->dtype, x->rank, d);
    return TB_OK;
}

static int views_concat(tw_graph *g, const tw_node *n, tw_view *v, int cap)
{
    tw_tensor *o = tw_out(g, n, 0);
    int64_t ax = norm_axis(tw_attr_int(n, "axis", 0), o->rank);
    int64_t ys[TW_MAX_RANK], at = 0;
    tw_strides(o, ys);
    if ((int)n->n_in > cap)
        return -1;
    for (size_t j = 0; j < n->n_in; ++j) {
        tw_tensor *x = tw_in(g, n, j);
        memset(&v[j], 0, sizeof v[j]);
        v[j].src = (int)j;
        v[j].rank = x->rank;
        memcpy(v[j].dims, x->dims, sizeof v[j].dims);
        tw_strides(x, v[j].xstr);
        memcpy(v[j].ystr, ys, sizeof ys);
        v[j].yoff = at * ys[ax];
        at += x->dims[ax];
    }
    return (int)n->n_in;
}

/* Slice: starts, ends, axes, steps as inputs (opset >= 10) or attributes. */
typedef struct slice_spec {
    int64_t start[TW_MAX_RANK], step[TW_MAX_RANK], len[TW_MAX_RANK];
} slice_spec;

static tb_status slice_of(tw_graph *g, const tw_node *n, const tw_tensor *x, slice_spec *s, tb_error *err)
{
    int64_t st[TW_MAX_RANK], en[TW_MAX_RANK], ax[TW_MAX_RANK], sp[TW_MAX_RANK];
    size_t m = 0;
    if (n->n_in > 1) {
        tw_tensor *a[4] = {0};
        const char *what[4] = {"starts", "ends", "axes", "steps"};
        for (size_t j = 0; j < 4; ++j) {
            tb_status e = const_in(g, n, j + 1, what[j], &a[j], err);
            if (e)
                return e;
        }
        if (!a[0] || !a[1] || tw_numel(a[0]) != tw_numel(a[1]) || tw_numel(a[0]) > TW_MAX_RANK)
            return tw_node_error(g, n, err, "needs starts and ends of equal length");
        m = (size_t)tw_numel(a[0]);
        for (size_t k = 0; k < m; ++k) {
            st[k] = tw_get_i(a[0], (int64_t)k), en[k] = tw_get_i(a[1], (int64_t)k);
            ax[k] = a[2] ? tw_get_i(a[2], (int64_t)k) : (int64_t)k;
            sp[k] = a[3] ? tw_get_i(a[3], (int64_t)k) : 1;
        }
    } else {
        size_t ns, ne, na;
        const int64_t *as = tw_attr_ints(n, "starts", &ns), *ae = tw_attr_ints(n, "ends", &ne),
                      *aa = tw_attr_ints(n, "axes", &na);
        if (!as || !ae || ns != ne || ns > TW_MAX_RANK)
            return tw_node_error(g, n, err, "needs starts and ends of equal length");
        m = ns;
        for (size_t k = 0; k < m; ++k)
            st[k] = as[k], en[k] = ae[k], ax[k] = aa && k < na ? aa[k] : (int64_t)k, sp[k] = 1;
    }
    for (int d = 0; d < x->rank; ++d)
        s->start[d] = 0, s->step[d] = 1, s->len[d] = x->dims[d];
    for (size_t k = 0; k < m; ++k) {
        int64_t a = norm_axis(ax[k], x->rank), dim = a >= 0 && a < x->rank ? x->dims[a] : 0;
        if (a < 0 || a >= x->rank || sp[k] == 0)
            return tw_node_error(g, n, err, "bad axis or zero step");
        int64_t b = st[k] < 0 ? st[k] + dim : st[k], e = en[k] < 0 ? en[k] + dim : en[k];
        if (sp[k] > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            s->len[a] = e > b ? (e - b + sp[k] - 1) / sp[k] : 0;
        } else {
            b = b < 0 ? -1 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            s->len[a] = b > e ? (b - e - sp[k] - 1) / -sp[k] : 0;
        }
        s->start[a] = b, s->step[a] = sp[k];
    }
    return TB_OK;
}

static tb_status infer_slice(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    slice_spec s;
    tb_status st = slice_of(g, n, x, &s, err);
    if (st)
        return st;
    set_out(g, n, 0, x->dtype, x->rank, s.len);
    return TB_OK;
}

static int views_slice(tw_graph *g, const tw_node *n, tw_view *v, int cap)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    slice_spec s;
    tb_error e = {0};
    if (cap < 1 || slice_of(g, n, x, &s, &e))
        return -1;
    int64_t xs[TW_MAX_RANK];
    tw_strides(x, xs);
    memset(v, 0, sizeof *v);
    v->rank = o->rank;
    tw_strides(o, v->ystr);
    for (int d = 0; d < o->rank; ++d) {
        v->dims[d] = o->dims[d];
        v->xstr[d] = xs[d] * s.step[d];
        v->xoff += s.start[d] * xs[d];
    }
    return 1;
}

static tb_status infer_gather(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0), *idx;
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    tb_status st = const_in(g, n, 1, "indices", &idx, err);
    if (st)
        return st;
    if (!idx)
        return tw_node_error(g, n, err, "needs indices");
    int64_t ax = norm_axis(tw_attr_int(n, "axis", 0), x->rank);
    if (ax < 0 || ax >= x->rank || x->rank - 1 + idx->rank > TW_MAX_RANK)
        return tw_node_error(g, n, err, "axis out of range");
    for (int64_t k = 0; k < tw_numel(idx); ++k) {
        int64_t i = tw_get_i(idx, k);
        if (i < -x->dims[ax] || i >= x->dims[ax])
            return tw_node_error(g, n, err, "index %lld out of range", (long long)i);
    }
    int64_t d[TW_MAX_RANK];
    int r = 0;
    for (int k = 0; k < ax; ++k)
        d[r++] = x->dims[k];
    for (int k = 0; k < idx->rank; ++k)
        d[r++] = idx->dims[k];
    for (int k = (int)ax + 1; k < x->rank; ++k)
        d[r++] = x->dims[k];
    set_out(g, n, 0, x->dtype, r, d);
    return TB_OK;
}

/* One view per index: the slab x[..., i, ...] to its place. */
static int views_gather(tw_graph *g, const tw_node *n, tw_view *v, int cap)
{
    tw_tensor *x = tw_in(g, n, 0), *idx = tw_in(g, n, 1);
    int64_t ax = norm_axis(tw_attr_int(n, "axis", 0), x->rank), m = tw_numel(idx);
    if (m > cap)
        return -1;
    int64_t xs[TW_MAX_RANK], outer = 1, inner = 1;
    tw_strides(x, xs);
    for (int k = 0; k < ax; ++k)
        outer *= x->dims[k];
    for (int k = (int)ax + 1; k < x->rank; ++k)
        inner *= x->dims[k];
    for (int64_t j = 0; j < m; ++j) {
        int64_t i = tw_get_i(idx, j);
        i = i < 0 ? i + x->dims[ax] : i;
        memset(&v[j], 0, sizeof v[j]);
        v[j].rank = 2;
        v[j].dims[0] = outer, v[j].dims[1] = inner;
        v[j].xstr[0] = xs[ax] * x->dims[ax], v[j].xstr[1] = 1;
        v[j].xoff = i * xs[ax];
        v[j].ystr[0] = m * inner, v[j].ystr[1] = 1;
        v[j].yoff = j * inner;
    }
    return (int)m;
}

static tb_status infer_expand(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    tw_tensor s = {0}, o = {0};
    tb_status st = shape_from(g, n, 1, &s, err);
    if (st)
        return st;
    if (!broadcast(x, &s, &o.rank, o.dims))
        return tw_node_error(g, n, err, "shape does not broadcast");
    set_out(g, n, 0, x->dtype, o.rank, o.dims);
    return TB_OK;
}

static int views_expand(tw_graph *g, const tw_node *n, tw_view *v, int cap)
{
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    memset(v, 0, sizeof *v);
    v->rank = o->rank;
    memcpy(v->dims, o->dims, sizeof v->dims);
    tw_broadcast_strides(x, o, v->xstr);
    tw_strides(o, v->ystr);
    return cap >= 1 ? 1 : -1;
}

/* ------------------------------------------------------------ compute */

tb_status tw_window_of(tw_graph *g, const tw_node *n, bool conv, tw_window *w, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0), *k = conv ? need_in(g, n, 1) : NULL;
    memset(w, 0, sizeof *w);
    if (!x || (x->rank != 3 && x->rank != 4))
        return tw_node_error(g, n, err, "needs an input of rank 3 or 4 (1-D or 2-D)");
    int sp = x->rank - 2;
    w->N = x->dims[0], w->C = x->dims[1];
    w->H = sp == 2 ? x->dims[2] : 1, w->W = x->dims[x->rank - 1];
    size_t nk, ns, np, nd;
    const int64_t *ks = tw_attr_ints(n, "kernel_shape", &nk), *st = tw_attr_ints(n, "strides", &ns),
                  *pd = tw_attr_ints(n, "pads", &np), *dl = tw_attr_ints(n, "dilations", &nd);
    const char *ap = tw_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return tw_node_error(g, n, err, "auto_pad %s is not supported (export with explicit pads)", ap);
    if (conv) {
        if (!k || k->rank != x->rank)
            return tw_node_error(g, n, err, "needs a weight of the input's rank");
        w->M = k->dims[0];
        w->groups = tw_attr_int(n, "group", 1);
        w->KH = sp == 2 ? k->dims[2] : 1, w->KW = k->dims[k->rank - 1];
        if (w->groups < 1 || w->C % w->groups || w->M % w->groups || k->dims[1] * w->groups != w->C)
            return tw_node_error(g, n, err, "channels (%lld in, %lld out) do not fit %lld groups", (long long)w->C,
                                 (long long)w->M, (long long)w->groups);
    } else if (strcmp(n->op, "GlobalAveragePool") == 0 || strcmp(n->op, "GlobalMaxPool") == 0) {
        w->M = w->C, w->KH = w->H, w->KW = w->W;
    } else {
        if (!ks || (int)nk != sp)
            return tw_node_error(g, n, err, "needs kernel_shape of %d entries", sp);
        w->M = w->C, w->KH = sp == 2 ? ks[0] : 1, w->KW = ks[nk - 1];
    }
    if ((st && (int)ns != sp) || (dl && (int)nd != sp) || (pd && (int)np != 2 * sp))
        return tw_node_error(g, n, err, "strides, dilations or pads do not fit %d spatial dimensions", sp);
    w->sh = st && sp == 2 ? st[0] : 1, w->sw = st ? st[ns - 1] : 1;
    w->dh = dl && sp == 2 ? dl[0] : 1, w->dw = dl ? dl[nd - 1] : 1;
    int64_t pb_h = pd && sp == 2 ? pd[0] : 0, pb_w = pd ? pd[sp - 1] : 0;
    int64_t pe_h = pd && sp == 2 ? pd[2] : 0, pe_w = pd ? pd[2 * sp - 1] : 0;
    w->ph = pb_h, w->pw = pb_w;
    if (w->sh < 1 || w->sw < 1 || w->dh < 1 || w->dw < 1 || pb_h < 0 || pb_w < 0 || pe_h < 0 || pe_w < 0)
        return tw_node_error(g, n, err, "strides and dilations must be >= 1 and pads >= 0");
    bool ceil_mode = !conv && tw_attr_int(n, "ceil_mode", 0);
    int64_t eh = w->H + pb_h + pe_h - w->dh * (w->KH - 1) - 1, ew = w->W + pb_w + pe_w - w->dw * (w->KW - 1) - 1;
    if (eh < 0 || ew < 0)
        return tw_node_error(g, n, err, "the window is larger than the padded input");
    w->OH = (ceil_mode ? (eh + w->sh - 1) / w->sh : eh / w->sh) + 1;
    w->OW = (ceil_mode ? (ew + w->sw - 1) / w->sw : ew / w->sw) + 1;
    return TB_OK;
}

static tb_status infer_window(tw_graph *g, tw_node *n, bool conv, tb_error *err)
{
    tw_window w;
    tb_status st = tw_window_of(g, n, conv, &w, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    if (conv) {
        tw_tensor *b = tw_in(g, n, 2);
        if (b && (b->rank != 1 || b->dims[0] != w.M))
            return tw_node_error(g, n, err, "bias must have %lld entries", (long long)w.M);
    }
    int64_t d[4] = {w.N, w.M, x->rank == 4 ? w.OH : w.OW, w.OW};
    set_out(g, n, 0, x->dtype, x->rank, d);
    return TB_OK;
}

static tb_status infer_conv(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (x && x->rank == 5)
        return tw_infer_conv3d(g, n, err);
    return infer_window(g, n, true, err);
}

static tb_status infer_pool(tw_graph *g, tw_node *n, tb_error *err)
{
    if (n->n_out > 1 && tw_out(g, n, 1))
        return tw_node_error(g, n, err, "the indices output is not supported");
    return infer_window(g, n, false, err);
}

static tb_status infer_gemm(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *a = need_in(g, n, 0), *b = need_in(g, n, 1), *c = tw_in(g, n, 2);
    if (!a || !b || a->rank != 2 || b->rank != 2)
        return tw_node_error(g, n, err, "needs two matrices");
    bool ta = tw_attr_int(n, "transA", 0), tb = tw_attr_int(n, "transB", 0);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t K2 = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != K2)
        return tw_node_error(g, n, err, "inner sizes differ (%lld and %lld)", (long long)K, (long long)K2);
    int64_t d[2] = {M, N};
    tw_tensor o = {.rank = 2, .dims = {M, N}};
    int r;
    int64_t bd[TW_MAX_RANK];
    if (c && (!c->known || c->rank > 2 || !broadcast(c, &o, &r, bd) || r != 2 || bd[0] != M || bd[1] != N))
        return tw_node_error(g, n, err, "C does not broadcast to [%lld, %lld]", (long long)M, (long long)N);
    set_out(g, n, 0, a->dtype, 2, d);
    return TB_OK;
}

static tb_status infer_matmul(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *a = need_in(g, n, 0), *b = need_in(g, n, 1);
    if (!a || !b || a->rank < 1 || b->rank < 1)
        return tw_node_error(g, n, err, "needs two inputs of known shape");
    tw_tensor A = *a, B = *b;
    if (A.rank == 1)
        A.rank = 2, A.dims[1] = a->dims[0], A.dims[0] = 1;
    if (B.rank == 1)
        B.rank = 2, B.dims[1] = 1;
    if (A.dims[A.rank - 1] != B.dims[B.rank - 2])
        return tw_node_error(g, n, err, "inner sizes differ");
    tw_tensor ba = A, bb = B, bo = {0};
    ba.rank -= 2, bb.rank -= 2;
    if (!broadcast(&ba, &bb, &bo.rank, bo.dims) || bo.rank + 2 > TW_MAX_RANK)
        return tw_node_error(g, n, err, "batch dimensions do not broadcast");
    int r = bo.rank;
    if (a->rank > 1)
        bo.dims[r++] = A.dims[A.rank - 2];
    if (b->rank > 1)
        bo.dims[r++] = B.dims[B.rank - 1];
    set_out(g, n, 0, a->dtype, r, bo.dims);
    return TB_OK;
}

tb_status tw_reduce_axes_of(tw_graph *g, const tw_node *n, tw_reduce_axes *r, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t axes[TW_MAX_RANK];
    size_t na;
    /* ReduceSum took axes as an input from opset 13, the others from 18 */
    bool input = strcmp(n->op, "ReduceSum") == 0 ? g->opset >= 13 : g->opset >= 18;
    tb_status st = input ? axes_of(g, n, 1, axes, &na, err) : axes_of(g, n, 99, axes, &na, err);
    if (st)
        return st;
    memset(r, 0, sizeof *r);
    bool noop = tw_attr_int(n, "noop_with_empty_axes", 0);
    for (int d = 0; d < x->rank; ++d)
        r->reduced[d] = na == 0 && !noop;
    for (size_t k = 0; k < na; ++k) {
        int64_t a = norm_axis(axes[k], x->rank);
        if (a < 0 || a >= x->rank)
            return tw_node_error(g, n, err, "axis %lld out of range", (long long)axes[k]);
        r->reduced[a] = true;
    }
    return TB_OK;
}

static tb_status infer_reduce(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_reduce_axes ra;
    tb_status st = tw_reduce_axes_of(g, n, &ra, err);
    if (st)
        return st;
    tw_tensor *x = tw_in(g, n, 0);
    bool keep = tw_attr_int(n, "keepdims", 1);
    int r = 0;
    int64_t d[TW_MAX_RANK];
    for (int k = 0; k < x->rank; ++k)
        if (!ra.reduced[k])
            d[r++] = x->dims[k];
        else if (keep)
            d[r++] = 1;
    set_out(g, n, 0, x->dtype, r, d);
    return TB_OK;
}

static tb_status infer_grid(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0), *gr = need_in(g, n, 1);
    if (!x || !gr || x->rank != 4 || gr->rank != 4 || gr->dims[3] != 2 || gr->dims[0] != x->dims[0])
        return tw_node_error(g, n, err, "needs an input [N, C, H, W] and a grid [N, H_out, W_out, 2]");
    const char *mode = tw_attr_string(n, "mode", "bilinear"), *pad = tw_attr_string(n, "padding_mode", "zeros");
    if (strcmp(mode, "bilinear") != 0 && strcmp(mode, "linear") != 0)
        return tw_node_error(g, n, err, "mode '%s' is not supported (bilinear is)", mode);
    if (strcmp(pad, "zeros") != 0 && strcmp(pad, "border") != 0)
        return tw_node_error(g, n, err, "padding_mode '%s' is not supported (zeros and border are)", pad);
    int64_t d[4] = {x->dims[0], x->dims[1], gr->dims[1], gr->dims[2]};
    set_out(g, n, 0, x->dtype, 4, d);
    return TB_OK;
}

static tb_status infer_batchnorm(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x || x->rank < 2)
        return tw_node_error(g, n, err, "needs an input [N, C, ...]");
    for (size_t j = 1; j < 5; ++j) {
        tw_tensor *p;
        tb_status st = const_in(g, n, j, "scale, bias, mean or variance", &p, err);
        if (st)
            return st;
        if (!p || tw_numel(p) != x->dims[1])
            return tw_node_error(g, n, err, "scale, bias, mean and variance need %lld entries", (long long)x->dims[1]);
    }
    for (size_t j = 1; j < n->n_out; ++j)
        if (tw_out(g, n, j))
            return tw_node_error(g, n, err, "training-mode outputs (running mean and variance) are not supported");
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return TB_OK;
}

static tb_status infer_softmax(tw_graph *g, tw_node *n, tb_error *err)
{
    tw_tensor *x = need_in(g, n, 0);
    if (!x)
        return tw_node_error(g, n, err, "its input has no known shape");
    int64_t ax = norm_axis(tw_attr_int(n, "axis", g->opset >= 13 ? -1 : 1), x->rank);
    if (ax < 0 || ax >= x->rank)
        return tw_node_error(g, n, err, "axis out of range");
    if (g->opset < 13 && ax != x->rank - 1)
        return tw_node_error(g, n, err, "the opset < 13 form (flattened from the axis) is supported on the last axis only");
    set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return TB_OK;
}

/* ------------------------------------------------------------ the table */

static tb_status eval_eq(tw_graph *g, tw_node *n, tb_error *err)
{
    return eval_binary_int(g, n, TW_B_EQUAL, err);
}

static const tw_op ops[] = {
    {"Abs", TW_K_UNARY, TW_U_ABS, infer_unary, NULL, NULL},
    {"Add", TW_K_BINARY, TW_B_ADD, infer_binary, NULL, NULL},
    {"AveragePool", TW_K_POOL, 0, infer_pool, NULL, NULL},
    {"BatchNormalization", TW_K_AFFINE, 0, infer_batchnorm, NULL, NULL},
    {"Cast", TW_K_UNARY, TW_U_CAST, infer_unary, NULL, NULL},
    {"Ceil", TW_K_UNARY, TW_U_CEIL, infer_unary, NULL, NULL},
    {"Clip", TW_K_UNARY, TW_U_CLIP, infer_unary, NULL, NULL},
    {"Concat", TW_K_COPY, 0, infer_concat, views_concat, NULL},
    {"ConstantOfShape", TW_K_HOST, 0, infer_constant_of_shape, NULL, eval_constant_of_shape},
    {"Conv", TW_K_CONV, 0, infer_conv, NULL, NULL},
    {"ConvTranspose", TW_K_EXT, 0, tw_infer_convt, NULL, NULL},
    {"Cos", TW_K_EXT, 0, tw_infer_trig, NULL, tw_eval_trig},
    {"Div", TW_K_BINARY, TW_B_DIV, infer_binary, NULL, NULL},
    {"Dropout", TW_K_ALIAS, 0, infer_identity, NULL, eval_alias},
    {"Einsum", TW_K_EXT, 0, tw_infer_einsum, NULL, NULL},
    {"Elu", TW_K_UNARY, TW_U_ELU, infer_unary, NULL, NULL},
    {"Equal", TW_K_HOST, TW_B_EQUAL, infer_binary, NULL, eval_eq},
    {"Erf", TW_K_UNARY, TW_U_ERF, infer_unary, NULL, NULL},
    {"Exp", TW_K_UNARY, TW_U_EXP, infer_unary, NULL, NULL},
    {"Expand", TW_K_COPY, 0, infer_expand, views_expand, NULL},
    {"Flatten", TW_K_ALIAS, 0, infer_flatten, NULL, eval_alias},
    {"Floor", TW_K_UNARY, TW_U_FLOOR, infer_unary, NULL, NULL},
    {"Gather", TW_K_COPY, 0, infer_gather, views_gather, NULL},
    {"Gemm", TW_K_GEMM, 0, infer_gemm, NULL, NULL},
    {"GlobalAveragePool", TW_K_POOL, 0, infer_pool, NULL, NULL},
    {"GlobalMaxPool", TW_K_POOL, 1, infer_pool, NULL, NULL},
    {"Greater", TW_K_HOST, TW_B_GREATER, infer_binary, NULL, NULL},
    {"GRU", TW_K_EXT, 0, tw_infer_gru, NULL, NULL},
    {"GridSample", TW_K_GRID, 0, infer_grid, NULL, NULL},
    {"GridSampleReadout", TW_K_EXT, 0, tw_infer_readout, NULL, NULL},
    {"Identity", TW_K_ALIAS, 0, infer_identity, NULL, eval_alias},
    {"If", TW_K_EXT, 0, tw_infer_if, NULL, tw_eval_if},
    {"InstanceNormalization", TW_K_EXT, 0, tw_infer_instancenorm, NULL, NULL},
    {"LeakyRelu", TW_K_UNARY, TW_U_LEAKY, infer_unary, NULL, NULL},
    {"LayerNormalization", TW_K_EXT, 0, tw_infer_layernorm, NULL, NULL},
    {"Less", TW_K_HOST, TW_B_LESS, infer_binary, NULL, NULL},
    {"Log", TW_K_UNARY, TW_U_LOG, infer_unary, NULL, NULL},
    {"LSTM", TW_K_EXT, 0, tw_infer_lstm, NULL, NULL},
    {"MatMul", TW_K_MATMUL, 0, infer_matmul, NULL, NULL},
    {"Max", TW_K_BINARY, TW_B_MAX, infer_binary, NULL, NULL},
    {"MaxPool", TW_K_POOL, 1, infer_pool, NULL, NULL},
    {"Min", TW_K_BINARY, TW_B_MIN, infer_binary, NULL, NULL},
    {"Mul", TW_K_BINARY, TW_B_MUL, infer_binary, NULL, NULL},
    {"Neg", TW_K_UNARY, TW_U_NEG, infer_unary, NULL, NULL},
    {"Pad", TW_K_EXT, 0, tw_infer_pad, NULL, NULL},
    {"Pow", TW_K_BINARY, TW_B_POW, infer_binary, NULL, NULL},
    {"Range", TW_K_HOST, 0, infer_range, NULL, eval_range},
    {"Reciprocal", TW_K_UNARY, TW_U_RECIP, infer_unary, NULL, NULL},
    {"ReduceL2", TW_K_REDUCE, TW_R_L2, infer_reduce, NULL, NULL},
    {"ReduceMax", TW_K_REDUCE, TW_R_MAX, infer_reduce, NULL, NULL},
    {"ReduceMean", TW_K_REDUCE, TW_R_MEAN, infer_reduce, NULL, NULL},
    {"ReduceMin", TW_K_REDUCE, TW_R_MIN, infer_reduce, NULL, NULL},
    {"ReduceSum", TW_K_REDUCE, TW_R_SUM, infer_reduce, NULL, NULL},
    {"ReduceSumSquare", TW_K_REDUCE, TW_R_SUMSQ, infer_reduce, NULL, NULL},
    {"Relu", TW_K_UNARY, TW_U_RELU, infer_unary, NULL, NULL},
    {"Reshape", TW_K_ALIAS, 0, infer_reshape, NULL, eval_alias},
    {"Shape", TW_K_HOST, 0, infer_shape, NULL, eval_shape},
    {"Sigmoid", TW_K_UNARY, TW_U_SIGMOID, infer_unary, NULL, NULL},
    {"Sin", TW_K_EXT, 0, tw_infer_trig, NULL, tw_eval_trig},
    {"Slice", TW_K_COPY, 0, infer_slice, views_slice, NULL},
    {"Softmax", TW_K_SOFTMAX, 0, infer_softmax, NULL, NULL},
    {"Softplus", TW_K_UNARY, TW_U_SOFTPLUS, infer_unary, NULL, NULL},
    {"Split", TW_K_EXT, 0, tw_infer_split, NULL, tw_eval_split},
    {"Sqrt", TW_K_UNARY, TW_U_SQRT, infer_unary, NULL, NULL},
    {"Squeeze", TW_K_ALIAS, 0, infer_squeeze, NULL, eval_alias},
    {"Sub", TW_K_BINARY, TW_B_SUB, infer_binary, NULL, NULL},
    {"Tanh", TW_K_UNARY, TW_U_TANH, infer_unary, NULL, NULL},
    {"Transpose", TW_K_COPY, 0, infer_transpose, views_transpose, NULL},
    {"Unsqueeze", TW_K_ALIAS, 0, infer_unsqueeze, NULL, eval_alias},
    {"Where", TW_K_HOST, 0, infer_where, NULL, eval_where},
};

const tw_op *tw_op_find(const char *name)
{
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; ++k)
        if (strcmp(ops[k].name, name) == 0)
            return &ops[k];
    return NULL;
}

void tw_op_names(tb_buf *b)
{
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; ++k)
        tb_buf_printf(b, "%s%s", k ? ", " : "", ops[k].name);
}

static tb_status eval_views(tw_graph *g, tw_node *n, const tw_op *op, tb_error *err)
{
    tw_tensor *o = tw_out(g, n, 0);
    int cap = (int)(n->n_in + tw_numel(tw_in(g, n, 0)) + 8);
    tw_view *v = malloc((size_t)cap * sizeof *v);
    int nv = v ? op->views(g, n, v, cap) : -1;
    if (nv < 0 || !tw_tensor_alloc(o)) {
        free(v);
        return tb_error_set(err, TB_ERR_OTHER, "out of memory folding node '%s'", n->name);
    }
    for (int j = 0; j < nv; ++j) {
        tw_tensor *x = tw_in(g, n, (size_t)v[j].src);
        int64_t m = 1;
        for (int d = 0; d < v[j].rank; ++d)
            m *= v[j].dims[d];
        for (int64_t k = 0; k < m; ++k) {
            int64_t r = k, xo = v[j].xoff, yo = v[j].yoff;
            for (int d = v[j].rank - 1; d >= 0; --d) {
                int64_t c = r % v[j].dims[d];
                r /= v[j].dims[d];
                xo += c * v[j].xstr[d], yo += c * v[j].ystr[d];
            }
            if (o->i && x->i)
                o->i[yo] = x->i[xo];
            else
                tw_set(o, yo, tw_get_f(x, xo));
        }
    }
    free(v);
    return TB_OK;
}

bool tw_op_foldable(const tw_op *op)
{
    return op->eval || op->kind == TW_K_UNARY || op->kind == TW_K_BINARY || op->kind == TW_K_COPY ||
           op->kind == TW_K_HOST;
}

tb_status tw_op_eval(tw_graph *g, tw_node *n, const tw_op *op, tb_error *err)
{
    if (op->eval)
        return op->eval(g, n, err);
    if (op->kind == TW_K_BINARY || op->kind == TW_K_HOST)
        return eval_binary_int(g, n, op->code, err);
    if (op->kind == TW_K_COPY)
        return eval_views(g, n, op, err);
    tw_tensor *x = tw_in(g, n, 0), *o = tw_out(g, n, 0);
    double p0, p1;
    tw_unary_params(g, n, &p0, &p1);
    if (!tw_tensor_alloc(o))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory folding node '%s'", n->name);
    for (int64_t k = 0, m = tw_numel(o); k < m; ++k)
        tw_set(o, k, tw_unary_host(op->code, tw_get_f(x, k), p0, p1));
    return TB_OK;
}
