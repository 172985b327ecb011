/* The twin network executor (twin_exec.h): buffers, launch plans built
 * once from the op table's geometry, frames enqueued in order. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "twin_exec.h"
#include "twin_ops.h"
#include "twin_ops_ext.h"
#include "twin_plan.h"
#include "twin_plugin.h"
#include "twinbrain/opencl.h"
#include "util.h"

typedef struct launch {
    cl_kernel k;
    size_t n;
    const char *what; /* the op, for profiles */
} launch;

struct tw_exec {
    const tw_graph *g;
    tb_device *dev;
    tb_program *prog;
    tb_precision prec;
    size_t rs, batch;
    bool split; /* the batch's instances one after the other (CPUs) */
    bool wide;  /* Conv tiles of 16 columns (single precision, 16-float vectors) */
    cl_mem *mem;   /* per tensor (aliases share their input's) */
    bool *own;     /* whether mem[k] is released with tensor k */
    bool *batched; /* one copy per instance, or shared */
    int *act_of;   /* per node: the activation node a Conv applies as it writes, or -1 */
    bool *fused;   /* per node: no launch (an activation a Conv applies, a GELU's step, a Pad of 0) */
    struct gelu {
        int in;        /* per node: the last Mul of an exported GELU: its input x (else -1) */
        double k, c;   /* x (erf(x / k) + 1) c */
    } *gelu;
    launch *l;
    size_t n_l, cap_l;
    cl_mem *extra; /* meta tables, folded batch-norm factors */
    size_t n_extra, cap_extra;
    /* twin plugins' programs, one per plugin the graph uses */
    struct plugin_prog {
        const tb_plugin *p;
        tb_program *prog;
    } *pp;
    size_t n_pp, cap_pp;
};

/* ------------------------------------------------------------ helpers */

typedef struct args {
    tw_exec *x;
    cl_kernel k;
    cl_uint i;
    cl_int rc;
} args;

static void a_mem(args *a, cl_mem m)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->k, a->i, sizeof m, &m);
    a->i++;
}

static void a_long(args *a, int64_t v)
{
    cl_long l = v;
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->k, a->i, sizeof l, &l);
    a->i++;
}

static void a_int(args *a, int v)
{
    cl_int l = v;
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->k, a->i, sizeof l, &l);
    a->i++;
}

static void a_real(args *a, double v)
{
    float f = (float)v;
    if (a->rc == CL_SUCCESS)
        a->rc = a->x->prec == TB_DOUBLE ? clSetKernelArg(a->k, a->i, sizeof v, &v) : clSetKernelArg(a->k, a->i, sizeof f, &f);
    a->i++;
}

/* A tensor's buffer and its instance stride. */
static void a_tensor(args *a, int t)
{
    a_mem(a, a->x->mem[t]);
    a_long(a, a->x->batched[t] ? tw_numel(&a->x->g->t[t]) : 0);
}

static cl_mem keep_extra(tw_exec *x, cl_mem m)
{
    if (m && !tb_grow((void **)&x->extra, &x->cap_extra, x->n_extra + 1, sizeof *x->extra)) {
        clReleaseMemObject(m);
        return NULL;
    }
    if (m)
        x->extra[x->n_extra++] = m;
    return m;
}

static cl_mem meta_buf(tw_exec *x, const int64_t *v, size_t n, tb_error *err)
{
    cl_long *c = malloc((n + 1) * sizeof *c);
    if (!c) {
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    for (size_t j = 0; j < n; ++j)
        c[j] = v[j];
    cl_mem m = tb_device_alloc(x->dev, (n ? n : 1) * sizeof *c, c, "twin op geometry", err);
    free(c);
    return keep_extra(x, m);
}

static cl_mem real_buf(tw_exec *x, const double *v, size_t n, const char *what, tb_error *err)
{
    void *h = malloc((n ? n : 1) * x->rs);
    if (!h) {
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    for (size_t j = 0; j < n; ++j) {
        if (x->prec == TB_DOUBLE)
            ((double *)h)[j] = v[j];
        else
            ((float *)h)[j] = (float)v[j];
    }
    cl_mem m = tb_device_alloc(x->dev, (n ? n : 1) * x->rs, h, what, err);
    free(h);
    return m;
}

/* Start a launch of `kernel` of `prog` over n elements per instance. */
static tb_status start_of(tw_exec *x, tb_program *prog, const char *kernel, const tw_node *nd, size_t n, args *a,
                          tb_error *err)
{
    if (!tb_grow((void **)&x->l, &x->cap_l, x->n_l + 1, sizeof *x->l))
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    cl_kernel k = tb_program_kernel(prog, kernel, err);
    if (!k)
        return err->status;
    x->l[x->n_l++] = (launch){k, n, nd->op};
    *a = (args){x, k, 0, CL_SUCCESS};
    return TB_OK;
}

static tb_status start(tw_exec *x, const char *kernel, const tw_node *nd, size_t n, args *a, tb_error *err)
{
    return start_of(x, x->prog, kernel, nd, n, a, err);
}

static tb_status finish(args *a, const tw_node *nd, tb_error *err)
{
    if (a->rc != CL_SUCCESS)
        return tb_cl_fail(err, a->rc, nd->op);
    return TB_OK;
}

/* Merge adjacent dimensions that every one of the ns stride arrays walks
 * contiguously, and drop dimensions of size 1: the kernels find an
 * element's offsets with a division per dimension, which costs more than
 * the element's arithmetic. Returns the new rank (0: one element). */
static int collapse(int r, int64_t *dims, int64_t *const *str, int ns)
{
    int k = 0;
    for (int d = 0; d < r; ++d) {
        if (dims[d] == 1)
            continue;
        bool merge = k > 0;
        for (int s = 0; merge && s < ns; ++s)
            merge = str[s][k - 1] == str[s][d] * dims[d];
        if (merge) {
            dims[k - 1] *= dims[d];
            for (int s = 0; s < ns; ++s)
                str[s][k - 1] = str[s][d];
            continue;
        }
        dims[k] = dims[d];
        for (int s = 0; s < ns; ++s)
            str[s][k] = str[s][d];
        ++k;
    }
    return k;
}

/* ------------------------------------------------------------ plans */

static tb_status plan_unary(tw_exec *x, const tw_node *nd, const tw_op *op, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    double p0, p1;
    tw_unary_params(g, nd, &p0, &p1);
    args a;
    tb_status st = start(x, "tw_unary", nd, (size_t)tw_numel(tw_out(g, nd, 0)), &a, err);
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->out[0]);
    a_long(&a, tw_numel(tw_out(g, nd, 0)));
    a_int(&a, op->code);
    a_real(&a, p0);
    a_real(&a, p1);
    return finish(&a, nd, err);
}

static tb_status plan_binary(tw_exec *x, const tw_node *nd, const tw_op *op, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_tensor *o = tw_out(g, nd, 0);
    int64_t meta[1 + 3 * TW_MAX_RANK], dims[TW_MAX_RANK], sa[TW_MAX_RANK], sb[TW_MAX_RANK];
    memcpy(dims, o->dims, (size_t)o->rank * sizeof *dims);
    tw_broadcast_strides(tw_in(g, nd, 0), o, sa);
    tw_broadcast_strides(tw_in(g, nd, 1), o, sb);
    int r = collapse(o->rank, dims, (int64_t *const[]){sa, sb}, 2);
    meta[0] = r;
    memcpy(meta + 1, dims, (size_t)r * sizeof *meta);
    memcpy(meta + 1 + r, sa, (size_t)r * sizeof *meta);
    memcpy(meta + 1 + 2 * r, sb, (size_t)r * sizeof *meta);
    cl_mem m = meta_buf(x, meta, 1 + 3 * (size_t)r, err);
    args a;
    tb_status st = m ? start(x, "tw_binary", nd, (size_t)tw_numel(o), &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->in[1]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, tw_numel(o));
    a_int(&a, op->code);
    return finish(&a, nd, err);
}

/* Elements a tw_copy_rows work-item copies (TW_ROW in kernels/twin.cl). */
#define TW_COPY_ROW 32

static tb_status plan_copy(tw_exec *x, const tw_node *nd, const tw_op *op, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    int cap = (int)(nd->n_in + 64);
    tw_tensor *idx = strcmp(nd->op, "Gather") == 0 ? tw_in(g, nd, 1) : NULL;
    if (idx)
        cap += (int)tw_numel(idx);
    tw_view *v = malloc((size_t)cap * sizeof *v);
    int nv = v ? op->views(g, nd, v, cap) : -1;
    tb_status st = nv < 0 ? tb_error_set(err, TB_ERR_OTHER, "node '%s': cannot plan its copies", nd->name) : TB_OK;
    for (int j = 0; st == TB_OK && j < nv; ++j) {
        int64_t meta[3 + 3 * TW_MAX_RANK], n = 1;
        for (int d = 0; d < v[j].rank; ++d)
            n *= v[j].dims[d];
        int r = collapse(v[j].rank, v[j].dims, (int64_t *const[]){v[j].xstr, v[j].ystr}, 2);
        meta[0] = r, meta[1] = v[j].xoff, meta[2] = v[j].yoff;
        for (int d = 0; d < r; ++d)
            meta[3 + d] = v[j].dims[d], meta[3 + r + d] = v[j].xstr[d], meta[3 + 2 * r + d] = v[j].ystr[d];
        if (n == 0)
            continue;
        /* rows contiguous on both sides: by chunks of a row (kernels/twin.cl) */
        bool rows = r >= 1 && v[j].xstr[r - 1] == 1 && v[j].ystr[r - 1] == 1;
        int64_t items = rows ? n / v[j].dims[r - 1] * ((v[j].dims[r - 1] + TW_COPY_ROW - 1) / TW_COPY_ROW) : n;
        cl_mem m = meta_buf(x, meta, 3 + 3 * (size_t)r, err);
        args a;
        st = m ? start(x, rows ? "tw_copy_rows" : "tw_copy", nd, (size_t)items, &a, err) : err->status;
        if (st)
            break;
        a_tensor(&a, nd->in[v[j].src]);
        a_tensor(&a, nd->out[0]);
        a_mem(&a, m);
        a_long(&a, items);
        st = finish(&a, nd, err);
    }
    free(v);
    return st;
}

/* A 3-D Conv whose kernel spans the input's whole depth, unpadded and
 * undilated there (a causal temporal convolution over the frames its
 * state keeps: one output frame), is a 2-D Conv over C x D channels:
 * [N, C, D, H, W] is [N, C*D, H, W] in memory, the weight [M, C/g, D, KH,
 * KW] is [M, C*D/g, KH, KW], and the summation order (channel, frame,
 * row, column) stays the direct 3-D kernel's. The register-tiled 2-D
 * kernels then run it. */
static bool conv3d_as_2d(const tw_graph *g, const tw_node *nd, tw_window *w)
{
    tw_window3 v;
    tb_error e = {0};
    tb_status st = tw_window3_of((tw_graph *)g, nd, &v, &e);
    tb_error_clear(&e);
    if (st || v.out[0] != 1 || v.p[0] != 0 || v.d[0] != 1 || v.in[0] != v.k[0])
        return false;
    *w = (tw_window){.N = v.N, .C = v.C * v.k[0], .H = v.in[1], .W = v.in[2], .M = v.M, .OH = v.out[1],
                     .OW = v.out[2], .KH = v.k[1], .KW = v.k[2], .sh = v.s[1], .sw = v.s[2], .ph = v.p[1],
                     .pw = v.p[2], .dh = v.d[1], .dw = v.d[2], .groups = v.groups};
    return true;
}

/* Whether plan_conv runs this Conv (and can apply a fused activation). */
static bool conv_is_2d(const tw_graph *g, const tw_node *nd)
{
    tw_window w;
    return g->t[nd->in[0]].rank != 5 || conv3d_as_2d(g, nd, &w);
}

static tb_status plan_conv(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_window w;
    bool d3 = g->t[nd->in[0]].rank == 5;
    if (d3 && !conv3d_as_2d(g, nd, &w))
        return tw_plan_ext(x, nd, err); /* the direct 3-D kernel */
    tb_status st = d3 ? TB_OK : tw_window_of(g, nd, true, &w, err);
    if (st)
        return st;
    const int64_t int_max = 2147483647;
    if (tw_numel(tw_in(g, nd, 0)) > int_max || tw_numel(tw_in(g, nd, 1)) > int_max ||
        tw_numel(tw_out(g, nd, 0)) > int_max)
        return tw_node_error(g, nd, err, "a tensor of 2^31 elements or more per instance (the kernel counts in int)");
    bool has_bias = tw_in(g, nd, 2) != NULL;
    /* register tiles (kernels/twin.cl) of 8 output columns by up to 8
     * channels of a group, where a tile's input columns fit its buffer */
    const int64_t seg_max = 64;
    int64_t mg = w.M / w.groups, mb = mg >= 8 ? 8 : mg >= 4 ? 4 : 1;
    /* 16 columns where the device has 16-float vectors (AVX-512), unless
     * the last tile would compute more columns past the row's end than 8
     * would (fnn's 24-column maps: a third of the last tile wasted) */
    bool wide = mb == 8 && w.OW >= 16 && (w.OW % 16 == 0 || w.OW % 16 > 8) && x->wide &&
                15 * w.sw + (w.KW - 1) * w.dw + 1 <= seg_max;
    int64_t ob = wide ? 16 : 8, owb = (w.OW + ob - 1) / ob, mbn = (mg + mb - 1) / mb;
    bool tiled = (ob - 1) * w.sw + (w.KW - 1) * w.dw + 1 <= seg_max;
    int64_t meta[19] = {w.N, w.C, w.H, w.W, w.M, w.OH, w.OW, w.KH, w.KW, w.sh, w.sw, w.ph, w.pw, w.dh, w.dw,
                        w.groups, has_bias, owb, mbn};
    cl_mem m = meta_buf(x, meta, 19, err);
    size_t n = tiled ? (size_t)(w.N * w.groups * mbn * w.OH * owb) : (size_t)tw_numel(tw_out(g, nd, 0));
    bool k3 = w.KW == 3; /* the column loop unrolled */
    const char *kernel = !tiled ? "tw_conv2d"
                         : wide  ? (k3 ? "tw_conv2d_t8w_k3" : "tw_conv2d_t8w")
                         : mb == 8 ? (k3 ? "tw_conv2d_t8_k3" : "tw_conv2d_t8")
                         : mb == 4 ? "tw_conv2d_t4"
                                   : "tw_conv2d_t1";
    args a;
    st = m ? start(x, kernel, nd, n, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->in[1]);
    a_mem(&a, x->mem[has_bias ? nd->in[2] : nd->in[1]]);
    if (has_bias && x->batched[nd->in[2]])
        return tw_node_error(g, nd, err, "a bias computed at run time is not supported");
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, (int64_t)n);
    int act = x->act_of[nd - g->nodes], code = act < 0 ? TW_U_IDENTITY : tw_node_op(&g->nodes[act])->code;
    double p0 = 0, p1 = 0;
    if (act >= 0 && x->gelu[act].in >= 0)
        code = TW_U_GELU, p0 = x->gelu[act].k, p1 = x->gelu[act].c;
    else if (act >= 0)
        tw_unary_params(g, &g->nodes[act], &p0, &p1);
    a_int(&a, code);
    a_real(&a, p0);
    a_real(&a, p1);
    return finish(&a, nd, err);
}

static tb_status plan_matmul(tw_exec *x, const tw_node *nd, bool gemm, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_tensor *A = tw_in(g, nd, 0), *B = tw_in(g, nd, 1), *C = gemm ? tw_in(g, nd, 2) : NULL, *o = tw_out(g, nd, 0);
    int64_t meta[13 + 3 * TW_MAX_RANK] = {0};
    double alpha = 1, beta = 1;
    if (gemm) {
        bool ta = tw_attr_int(nd, "transA", 0), tb = tw_attr_int(nd, "transB", 0);
        alpha = tw_attr_float(nd, "alpha", 1.0), beta = tw_attr_float(nd, "beta", 1.0);
        meta[0] = o->dims[0], meta[1] = o->dims[1], meta[2] = ta ? A->dims[0] : A->dims[1];
        meta[3] = ta ? 1 : A->dims[1], meta[4] = ta ? A->dims[1] : 1;
        meta[5] = tb ? 1 : B->dims[1], meta[6] = tb ? B->dims[1] : 1;
        if (C) {
            int64_t cs[TW_MAX_RANK];
            tw_broadcast_strides(C, o, cs);
            meta[7] = 1, meta[8] = cs[0], meta[9] = cs[1];
        }
    } else {
        tw_tensor a2 = *A, b2 = *B;
        if (A->rank == 1)
            a2.rank = 2, a2.dims[0] = 1, a2.dims[1] = A->dims[0];
        if (B->rank == 1)
            b2.rank = 2, b2.dims[1] = 1;
        int64_t M = a2.dims[a2.rank - 2], K = a2.dims[a2.rank - 1], N = b2.dims[b2.rank - 1];
        meta[0] = M, meta[1] = N, meta[2] = K, meta[3] = K, meta[4] = 1, meta[5] = N, meta[6] = 1;
        int rb = o->rank - (A->rank > 1) - (B->rank > 1), ra = a2.rank - 2, rbb = b2.rank - 2;
        int64_t as[TW_MAX_RANK], bs[TW_MAX_RANK];
        tw_strides(&a2, as);
        tw_strides(&b2, bs);
        meta[10] = rb;
        for (int d = 0; d < rb; ++d) {
            int ka = d - (rb - ra), kb = d - (rb - rbb);
            meta[11 + d] = o->dims[d];
            meta[11 + rb + d] = ka < 0 || a2.dims[ka] == 1 ? 0 : as[ka];
            meta[11 + 2 * rb + d] = kb < 0 || b2.dims[kb] == 1 ? 0 : bs[kb];
        }
    }
    /* register tiles of 4 rows by 8 columns (kernels/twin.cl, tw_matmul_t) */
    int rb = (int)meta[10];
    int64_t batches = meta[1] && meta[0] ? tw_numel(o) / (meta[0] * meta[1]) : 0;
    meta[11 + 3 * rb] = (meta[1] + 7) / 8;
    meta[12 + 3 * rb] = (meta[0] + 3) / 4;
    cl_mem m = meta_buf(x, meta, 11 + 3 * TW_MAX_RANK + 2, err);
    size_t n = (size_t)(batches * meta[11 + 3 * rb] * meta[12 + 3 * rb]);
    args a;
    tb_status st = m ? start(x, "tw_matmul_t", nd, n, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->in[1]);
    if (C)
        a_tensor(&a, nd->in[2]);
    else
        a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, (int64_t)n);
    a_real(&a, alpha);
    a_real(&a, beta);
    return finish(&a, nd, err);
}

static tb_status plan_pool(tw_exec *x, const tw_node *nd, const tw_op *op, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_window w;
    tb_status st = tw_window_of(g, nd, false, &w, err);
    if (st)
        return st;
    int64_t meta[15] = {w.N * w.C, w.H, w.W, w.OH, w.OW, w.KH, w.KW, w.sh, w.sw, w.ph, w.pw, w.dh, w.dw, op->code,
                        tw_attr_int(nd, "count_include_pad", 0)};
    cl_mem m = meta_buf(x, meta, 15, err);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    args a;
    st = m ? start(x, "tw_pool2d", nd, n, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, (int64_t)n);
    return finish(&a, nd, err);
}

static tb_status plan_reduce(tw_exec *x, const tw_node *nd, const tw_op *op, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_reduce_axes ra;
    tb_status st = tw_reduce_axes_of(g, nd, &ra, err);
    if (st)
        return st;
    tw_tensor *in = tw_in(g, nd, 0);
    int64_t xs[TW_MAX_RANK], kd[TW_MAX_RANK], ks[TW_MAX_RANK], rd[TW_MAX_RANK], rs[TW_MAX_RANK], cnt = 1;
    int r = 0, q = 0;
    tw_strides(in, xs);
    for (int d = 0; d < in->rank; ++d) {
        if (ra.reduced[d])
            rd[q] = in->dims[d], rs[q++] = xs[d], cnt *= in->dims[d];
        else
            kd[r] = in->dims[d], ks[r++] = xs[d];
    }
    r = collapse(r, kd, (int64_t *const[]){ks}, 1);
    q = collapse(q, rd, (int64_t *const[]){rs}, 1);
    int64_t meta[5 + 4 * TW_MAX_RANK], k = 0;
    meta[k++] = op->code, meta[k++] = r;
    for (int d = 0; d < r; ++d)
        meta[k++] = kd[d];
    for (int d = 0; d < r; ++d)
        meta[k++] = ks[d];
    meta[k++] = q;
    for (int d = 0; d < q; ++d)
        meta[k++] = rd[d];
    for (int d = 0; d < q; ++d)
        meta[k++] = rs[d];
    meta[k++] = cnt;
    cl_mem m = meta_buf(x, meta, (size_t)k, err);
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    args a;
    st = m ? start(x, "tw_reduce", nd, n, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, (int64_t)n);
    return finish(&a, nd, err);
}

static tb_status plan_grid(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_tensor *in = tw_in(g, nd, 0), *o = tw_out(g, nd, 0);
    int64_t meta[8] = {in->dims[0], in->dims[1], in->dims[2], in->dims[3], o->dims[2], o->dims[3],
                       tw_attr_int(nd, "align_corners", 0),
                       strcmp(tw_attr_string(nd, "padding_mode", "zeros"), "border") == 0};
    cl_mem m = meta_buf(x, meta, 8, err);
    args a;
    int64_t points = o->dims[0] * o->dims[2] * o->dims[3]; /* one work-item per point, for every channel */
    tb_status st = m ? start(x, "tw_grid_sample", nd, (size_t)points, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->in[1]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, points);
    return finish(&a, nd, err);
}

static tb_status plan_affine(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_tensor *in = tw_in(g, nd, 0), *gam = tw_in(g, nd, 1), *beta = tw_in(g, nd, 2), *mean = tw_in(g, nd, 3),
              *var = tw_in(g, nd, 4);
    int64_t C = in->dims[1], inner = tw_numel(in) / (in->dims[0] * C);
    double eps = tw_attr_float(nd, "epsilon", 1e-5);
    double *s = malloc((size_t)C * 2 * sizeof *s);
    if (!s)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (int64_t c = 0; c < C; ++c) {
        s[c] = tw_get_f(gam, c) / sqrt(tw_get_f(var, c) + eps);
        s[C + c] = tw_get_f(beta, c) - tw_get_f(mean, c) * s[c];
    }
    cl_mem ms = keep_extra(x, real_buf(x, s, (size_t)C, "batch-norm scale", err));
    cl_mem mt = ms ? keep_extra(x, real_buf(x, s + C, (size_t)C, "batch-norm shift", err)) : NULL;
    free(s);
    int64_t meta[2] = {C, inner};
    cl_mem m = mt ? meta_buf(x, meta, 2, err) : NULL;
    args a;
    tb_status st = m ? start(x, "tw_affine", nd, (size_t)tw_numel(in), &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_mem(&a, ms);
    a_mem(&a, mt);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, tw_numel(in));
    return finish(&a, nd, err);
}

static tb_status plan_softmax(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    tw_tensor *in = tw_in(g, nd, 0);
    int64_t ax = tw_attr_int(nd, "axis", g->opset >= 13 ? -1 : 1);
    ax = ax < 0 ? ax + in->rank : ax;
    int64_t inner = 1;
    for (int d = (int)ax + 1; d < in->rank; ++d)
        inner *= in->dims[d];
    int64_t meta[2] = {in->dims[ax], inner};
    cl_mem m = meta_buf(x, meta, 2, err);
    size_t n = (size_t)(tw_numel(in) / (in->dims[ax] ? in->dims[ax] : 1));
    args a;
    tb_status st = m ? start(x, "tw_softmax", nd, n, &a, err) : err->status;
    if (st)
        return st;
    a_tensor(&a, nd->in[0]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_long(&a, (int64_t)n);
    return finish(&a, nd, err);
}

/* A twin plugin's program, built once per executor (labelled by the plugin). */
static tb_program *plugin_program(tw_exec *x, const tb_plugin *p, tb_error *err)
{
    for (size_t k = 0; k < x->n_pp; ++k)
        if (x->pp[k].p == p)
            return x->pp[k].prog;
    if (!tb_grow((void **)&x->pp, &x->cap_pp, x->n_pp + 1, sizeof *x->pp)) {
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    const tb_twin_op *t = p->table;
    char *label = tb_asprintf("twin plugin %s", p->name);
    const tb_program_part parts[] = {{.text = t->source, .label = label}};
    char *src = label ? tb_program_assemble(x->prec, parts, 1, err) : NULL;
    tb_program *prog = NULL;
    tb_status st = src ? tb_program_build(x->dev, src, "", label, &prog, err) : label ? err->status : TB_ERR_OTHER;
    free(src);
    free(label);
    if (st)
        return NULL;
    x->pp[x->n_pp++] = (struct plugin_prog){p, prog};
    return prog;
}

/* Inputs in order, the output, the plugin's meta and reals, n (twinbrain/twin.h). */
static tb_status plan_plugin(tw_exec *x, const tw_node *nd, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    const tb_twin_op *t = nd->plugin->table;
    int64_t meta[TB_TWIN_MAX_META];
    double reals[TB_TWIN_MAX_META];
    size_t nm = 0, nr = 0;
    tw_plugin_tables(g, nd, meta, &nm, reals, &nr);
    tb_program *prog = plugin_program(x, nd->plugin, err);
    cl_mem m = prog ? meta_buf(x, meta, nm, err) : NULL;
    cl_mem r = m ? keep_extra(x, real_buf(x, reals, nr, "twin plugin reals", err)) : NULL;
    size_t n = (size_t)tw_numel(tw_out(g, nd, 0));
    args a;
    tb_status st = r ? start_of(x, prog, t->kernel, nd, n, &a, err) : err->status;
    if (st)
        return st;
    for (size_t j = 0; j < nd->n_in; ++j)
        a_tensor(&a, nd->in[j]);
    a_tensor(&a, nd->out[0]);
    a_mem(&a, m);
    a_mem(&a, r);
    a_long(&a, (int64_t)n);
    return finish(&a, nd, err);
}

/* The last Mul of a GELU (find_gelus) as one elementwise pass over x. */
static tb_status plan_gelu(tw_exec *x, const tw_node *nd, const struct gelu *ge, tb_error *err)
{
    tw_graph *g = (tw_graph *)x->g;
    args a;
    tb_status st = start(x, "tw_unary", nd, (size_t)tw_numel(tw_out(g, nd, 0)), &a, err);
    if (st)
        return st;
    a_tensor(&a, ge->in);
    a_tensor(&a, nd->out[0]);
    a_long(&a, tw_numel(tw_out(g, nd, 0)));
    a_int(&a, TW_U_GELU);
    a_real(&a, ge->k);
    a_real(&a, ge->c);
    return finish(&a, nd, err);
}

static tb_status plan_node(tw_exec *x, const tw_node *nd, tb_error *err)
{
    if (x->fused[nd - x->g->nodes])
        return TB_OK;
    if (x->gelu[nd - x->g->nodes].in >= 0)
        return plan_gelu(x, nd, &x->gelu[nd - x->g->nodes], err);
    const tw_op *op = tw_node_op(nd);
    if (!op || op->kind == TW_K_HOST)
        return tb_error_set(err, TB_ERR_INPUT, "node '%s': op '%s' does not run on a device", nd->name, nd->op);
    switch (op->kind) {
    case TW_K_UNARY: return plan_unary(x, nd, op, err);
    case TW_K_BINARY: return plan_binary(x, nd, op, err);
    case TW_K_COPY: return plan_copy(x, nd, op, err);
    case TW_K_CONV: return plan_conv(x, nd, err);
    case TW_K_EXT: return tw_plan_ext(x, nd, err);
    case TW_K_GEMM: return plan_matmul(x, nd, true, err);
    case TW_K_MATMUL: return plan_matmul(x, nd, false, err);
    case TW_K_POOL: return plan_pool(x, nd, op, err);
    case TW_K_REDUCE: return plan_reduce(x, nd, op, err);
    case TW_K_GRID: return plan_grid(x, nd, err);
    case TW_K_AFFINE: return plan_affine(x, nd, err);
    case TW_K_SOFTMAX: return plan_softmax(x, nd, err);
    case TW_K_PLUGIN: return plan_plugin(x, nd, err);
    default: return TB_OK; /* aliases: no work */
    }
}

/* ------------------------------------------------------------ buffers */

static tb_status alloc_tensor(tw_exec *x, int k, tb_error *err)
{
    const tw_tensor *t = &x->g->t[k];
    size_t n = (size_t)tw_numel(t);
    if (tw_is_const(t)) {
        if (!t->f)
            return TB_OK; /* integer constants are read at planning */
        x->mem[k] = real_buf(x, t->f, n, t->name, err);
    } else {
        x->batched[k] = true;
        size_t bytes = (n ? n : 1) * x->batch * x->rs;
        void *zero = calloc(1, bytes);
        x->mem[k] = zero ? tb_device_alloc(x->dev, bytes, zero, t->name, err) : NULL;
        free(zero);
        if (!zero)
            return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    }
    x->own[k] = x->mem[k] != NULL;
    return x->mem[k] ? TB_OK : err->status;
}

/* How many node inputs, graph outputs and state outputs read tensor t. */
static size_t readers(const tw_graph *g, int t)
{
    size_t r = 0;
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; j < g->nodes[k].n_in; ++j)
            r += g->nodes[k].in[j] == t;
    for (size_t j = 0; j < g->n_outputs; ++j)
        r += g->outputs[j] == t;
    for (size_t j = 0; j < g->n_state; ++j)
        r += g->state_out[j] == t;
    return r;
}

/* A Conv whose output only an elementwise activation reads applies the
 * activation as it writes its output (one pass over the tensor less); the
 * activation's output shares the Conv's buffer and launches nothing. */
static void find_fusions(tw_exec *x)
{
    const tw_graph *g = x->g;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        const tw_op *op = tw_node_op(&g->nodes[k]);
        int t = g->nodes[k].out[0];
        if (!op || op->kind != TW_K_CONV || t < 0 || readers(g, t) != 1 || !conv_is_2d(g, &g->nodes[k]))
            continue;
        for (size_t j = k + 1; j < g->n_nodes; ++j) {
            const tw_node *a = &g->nodes[j];
            const tw_op *aop = tw_node_op(a);
            if (a->n_in == 0 || a->in[0] != t)
                continue;
            if (aop && aop->kind == TW_K_UNARY && aop->code != TW_U_CAST && a->n_out >= 1 && a->out[0] >= 0) {
                x->act_of[k] = (int)j;
                x->fused[j] = true;
            }
            break;
        }
    }
}

/* The node that alone reads tensor t (no graph or state output does), or -1. */
static int sole_reader(const tw_graph *g, int t)
{
    if (t < 0 || readers(g, t) != 1)
        return -1;
    for (size_t k = 0; k < g->n_nodes; ++k)
        for (size_t j = 0; j < g->nodes[k].n_in; ++j)
            if (g->nodes[k].in[j] == t)
                return (int)k;
    return -1;
}

/* Node k is op `op` reading `a` as its first input and, when b >= 0, b as
 * its second, or (b < 0) a one-element constant as its second, into *v. */
static bool node_is(const tw_graph *g, int k, const char *op, int a, int b, double *v)
{
    const tw_node *n = k >= 0 ? &g->nodes[k] : NULL;
    if (!n || strcmp(n->op, op) != 0 || n->n_in != 2 || n->in[0] != a || n->n_out < 1)
        return false;
    if (b >= 0)
        return n->in[1] == b;
    const tw_tensor *c = n->in[1] >= 0 ? &g->t[n->in[1]] : NULL;
    if (!c || !tw_is_const(c) || tw_numel(c) != 1)
        return false;
    *v = tw_get_f(c, 0);
    return true;
}

/* Whether tensor t is a graph output or a state output. */
static bool is_output(const tw_graph *g, int t)
{
    for (size_t j = 0; j < g->n_outputs; ++j)
        if (g->outputs[j] == t)
            return true;
    for (size_t j = 0; j < g->n_state; ++j)
        if (g->state_out[j] == t)
            return true;
    return false;
}

/* A Gather of index 0 (or -1) along an axis of size 1 (what `y[:, :, 0]`
 * exports to: the fnn core takes its causal Conv's one output frame so)
 * only re-labels its input: it shares its input's buffer, like the alias
 * ops, unless it is an output (a state output sharing its state input
 * would be carried onto itself). */
static bool gather_is_identity(const tw_graph *g, const tw_node *n)
{
    if (strcmp(n->op, "Gather") != 0 || n->n_in != 2 || n->n_out < 1 || n->out[0] < 0 || n->in[0] < 0 ||
        n->in[1] < 0 || is_output(g, n->out[0]))
        return false;
    const tw_tensor *x = &g->t[n->in[0]], *idx = &g->t[n->in[1]];
    int64_t ax = tw_attr_int(n, "axis", 0);
    ax = ax < 0 ? ax + x->rank : ax;
    return tw_is_const(idx) && tw_numel(idx) == 1 && ax >= 0 && ax < x->rank && x->dims[ax] == 1 &&
           (tw_get_i(idx, 0) == 0 || tw_get_i(idx, 0) == -1);
}

/* The node writing tensor t, or -1. */
static int writer(const tw_graph *g, int t)
{
    for (size_t p = 0; p < g->n_nodes; ++p)
        if (g->nodes[p].n_out >= 1 && g->nodes[p].out[0] == t)
            return (int)p;
    return -1;
}

/* torch.onnx exports the exact GELU as Div(x, k), Erf, Add(1), Mul(x),
 * Mul(c): five passes over the tensor, the fnn core's commonest
 * activation. Where each step's output only the next reads, the last Mul
 * computes (x (erf(x / k) + 1)) c from x in one pass (the same operations
 * in the same order) and the others launch nothing; where x is a Conv's
 * output that only this GELU reads, the Conv applies it as it writes. */
static void find_gelus(tw_exec *x)
{
    const tw_graph *g = x->g;
    for (size_t k = 0; k < g->n_nodes; ++k) {
        const tw_node *d = &g->nodes[k];
        double kd, one, c;
        int in = d->n_in == 2 ? d->in[0] : -1;
        if (in < 0 || x->fused[k] || !node_is(g, (int)k, "Div", in, -1, &kd))
            continue;
        int e = sole_reader(g, d->out[0]);
        if (e < 0 || strcmp(g->nodes[e].op, "Erf") != 0 || g->nodes[e].n_in != 1)
            continue;
        int ad = sole_reader(g, g->nodes[e].out[0]);
        if (!node_is(g, ad, "Add", g->nodes[e].out[0], -1, &one) || one != 1)
            continue;
        int m1 = sole_reader(g, g->nodes[ad].out[0]);
        if (!node_is(g, m1, "Mul", in, g->nodes[ad].out[0], NULL))
            continue;
        int m2 = sole_reader(g, g->nodes[m1].out[0]);
        if (!node_is(g, m2, "Mul", g->nodes[m1].out[0], -1, &c) || readers(g, in) != 2)
            continue;
        x->fused[k] = x->fused[e] = x->fused[ad] = x->fused[m1] = true;
        x->gelu[m2] = (struct gelu){in, kd, c};
        /* the Conv that writes x, or the Conv whose one output frame x is */
        int p = writer(g, in), via = -1;
        if (p >= 0 && gather_is_identity(g, &g->nodes[p]) && sole_reader(g, g->nodes[p].in[0]) == p)
            via = p, p = writer(g, g->nodes[p].in[0]);
        const tw_op *pop = p >= 0 ? tw_node_op(&g->nodes[p]) : NULL;
        if (pop && pop->kind == TW_K_CONV && conv_is_2d(g, &g->nodes[p]) && x->act_of[p] < 0) {
            x->act_of[p] = m2;
            x->fused[m2] = true;
            if (via >= 0)
                x->fused[via] = true;
        }
    }
}

/* torch.onnx writes F.avg_pool2d as a Pad of zeros before the
 * AveragePool: such a Pad is its input, and shares its buffer (no copy). */
static bool pad_is_identity(const tw_graph *g, const tw_node *n)
{
    if (strcmp(n->op, "Pad") != 0 || n->n_in < 1 || n->n_out < 1 || n->out[0] < 0 || is_output(g, n->out[0]))
        return false;
    const tw_tensor *p = n->n_in >= 2 && n->in[1] >= 0 ? &g->t[n->in[1]] : NULL;
    size_t na = 0;
    const int64_t *attr = tw_attr_ints(n, "pads", &na);
    if (p && !tw_is_const(p))
        return false;
    for (int64_t k = 0, m = p ? tw_numel(p) : (int64_t)na; k < m; ++k)
        if ((p ? tw_get_i(p, k) : attr[k]) != 0)
            return false;
    return p || attr;
}

/* Aliasing ops share their input's buffer; everything else gets its own. */
static tb_status alloc_all(tw_exec *x, tb_error *err)
{
    const tw_graph *g = x->g;
    bool *alias = calloc(g->n_t + 1, 1);
    if (!alias)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; k < g->n_nodes; ++k) {
        const tw_op *op = tw_node_op(&g->nodes[k]);
        if (((op && op->kind == TW_K_ALIAS) || x->fused[k]) && g->nodes[k].out[0] >= 0)
            alias[g->nodes[k].out[0]] = true;
    }
    tb_status st = TB_OK;
    for (size_t k = 0; st == TB_OK && k < g->n_t; ++k)
        if (!alias[k])
            st = alloc_tensor(x, (int)k, err);
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k) {
        const tw_node *nd = &g->nodes[k];
        if (nd->out[0] >= 0 && alias[nd->out[0]]) {
            x->mem[nd->out[0]] = x->mem[nd->in[0]];
            x->batched[nd->out[0]] = x->batched[nd->in[0]];
        }
    }
    free(alias);
    return st;
}

/* An environment switch: 0 or 1 when set so, else -1 (the default applies). */
static int env_switch(const char *name)
{
    const char *e = getenv(name);
    return e && (strcmp(e, "0") == 0 || strcmp(e, "1") == 0) ? e[0] - '0' : -1;
}

/* TWINBRAIN_TWIN_FUSE=0 runs every node as imported (no activation or
 * GELU inside a Conv, no shared buffers for identity Pads and Gathers):
 * the reference the fused runs are tested against (tests/twin-exec-fusion.py). */
static bool fusing(void)
{
    return env_switch("TWINBRAIN_TWIN_FUSE") != 0;
}

/* On a CPU the network runs one batch instance after the other (each
 * launch over one instance, offset to it): a layer then reads what the
 * layer before it has just written while it is still in the caches,
 * where launches over the whole batch evict it (fnn published sizes,
 * batch 8: 15% less device time a frame). A GPU needs the whole batch
 * to fill its cores. TWINBRAIN_TWIN_SPLIT=0 or 1 chooses. */
static bool splitting(const tb_device *dev, size_t batch)
{
    int e = env_switch("TWINBRAIN_TWIN_SPLIT");
    return batch > 1 && (e >= 0 ? e == 1 : tb_device_get_info(dev)->type == TB_DEVICE_CPU);
}

/* Conv tiles of 16 columns as 16-float vectors where the device prefers
 * them (PoCL on AVX-512): each weight loaded serves twice the outputs.
 * TWINBRAIN_TWIN_WIDE=0 or 1 chooses. */
static bool wide_tiles(const tb_device *dev, tb_precision prec)
{
    int e = env_switch("TWINBRAIN_TWIN_WIDE");
    if (e >= 0)
        return e == 1;
    cl_uint vw = 0;
    if (clGetDeviceInfo(tb_device_get_info(dev)->id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof vw, &vw, NULL) !=
        CL_SUCCESS)
        return false;
    return prec == TB_SINGLE && vw >= 16;
}

tb_status tw_exec_create(const tw_graph *g, tb_device *dev, tb_precision prec, size_t batch, tw_exec **out,
                         tb_error *err)
{
    *out = NULL;
    tw_exec *x = calloc(1, sizeof *x);
    if (!x)
        return tb_error_set(err, TB_ERR_OTHER, "out of memory");
    x->g = g, x->dev = dev, x->prec = prec, x->batch = batch ? batch : 1;
    x->rs = prec == TB_DOUBLE ? sizeof(double) : sizeof(float);
    x->split = splitting(dev, x->batch);
    x->wide = wide_tiles(dev, prec);
    x->mem = calloc(g->n_t + 1, sizeof *x->mem);
    x->own = calloc(g->n_t + 1, sizeof *x->own);
    x->batched = calloc(g->n_t + 1, sizeof *x->batched);
    x->act_of = calloc(g->n_nodes + 1, sizeof *x->act_of);
    x->fused = calloc(g->n_nodes + 1, sizeof *x->fused);
    x->gelu = calloc(g->n_nodes + 1, sizeof *x->gelu);
    tb_status st = x->mem && x->own && x->batched && x->act_of && x->fused && x->gelu
                       ? TB_OK
                       : tb_error_set(err, TB_ERR_OTHER, "out of memory");
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k)
        x->act_of[k] = x->gelu[k].in = -1;
    if (st == TB_OK && fusing()) {
        find_fusions(x);
        find_gelus(x);
        for (size_t k = 0; k < g->n_nodes; ++k)
            x->fused[k] = x->fused[k] || pad_is_identity(g, &g->nodes[k]);
    }
    if (st == TB_OK) {
        const tb_program_part parts[] = {{.file = "twin.cl"}, {.file = "twin_ext.cl"}, {.file = "twin_seq.cl"}};
        char *src = tb_program_assemble(prec, parts, sizeof parts / sizeof parts[0], err);
        st = src ? tb_program_build(dev, src, "", "twin ops", &x->prog, err) : err->status;
        free(src);
    }
    st = st ? st : alloc_all(x, err);
    for (size_t k = 0; st == TB_OK && k < g->n_nodes; ++k)
        st = plan_node(x, &g->nodes[k], err);
    if (st) {
        tw_exec_destroy(x);
        return st;
    }
    *out = x;
    return TB_OK;
}

void tw_exec_destroy(tw_exec *x)
{
    if (!x)
        return;
    for (size_t k = 0; k < x->n_l; ++k)
        clReleaseKernel(x->l[k].k);
    for (size_t k = 0; x->mem && k < x->g->n_t; ++k)
        if (x->own[k])
            clReleaseMemObject(x->mem[k]);
    for (size_t k = 0; k < x->n_extra; ++k)
        clReleaseMemObject(x->extra[k]);
    tb_program_free(x->prog);
    for (size_t k = 0; k < x->n_pp; ++k)
        tb_program_free(x->pp[k].prog);
    free(x->pp);
    free(x->l);
    free(x->extra);
    free(x->mem);
    free(x->own);
    free(x->batched);
    free(x->act_of);
    free(x->fused);
    free(x->gelu);
    free(x);
}

size_t tw_exec_real_size(const tw_exec *x)
{
    return x->rs;
}

cl_mem tw_exec_input_mem(const tw_exec *x, size_t k)
{
    return x->mem[x->g->inputs[k]];
}

size_t tw_exec_batch(const tw_exec *x)
{
    return x->batch;
}

const tb_program *tw_exec_program(const tw_exec *x)
{
    return x->prog;
}

size_t tw_exec_launches(const tw_exec *x)
{
    return x->n_l;
}

static size_t bytes_of(const tw_exec *x, int t)
{
    return (size_t)tw_numel(&x->g->t[t]) * x->batch * x->rs;
}

tb_status tw_exec_write_input(tw_exec *x, size_t k, const void *host, tb_error *err)
{
    int t = x->g->inputs[k];
    cl_int rc = clEnqueueWriteBuffer(tb_device_queue(x->dev), x->mem[t], CL_FALSE, 0, bytes_of(x, t), host, 0, NULL,
                                     NULL);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "uploading a twin input");
}

tb_status tw_exec_run(tw_exec *x, tb_error *err)
{
    cl_command_queue q = tb_device_queue(x->dev);
    tb_profile *prof = tb_device_profile(x->dev);
    bool split = x->split;
    for (size_t b = 0; b < (split ? x->batch : 1); ++b)
        for (size_t k = 0; k < x->n_l; ++k) {
            size_t gs[2] = {x->l[k].n, split ? 1 : x->batch}, off[2] = {0, b};
            cl_event ev;
            cl_int rc = clEnqueueNDRangeKernel(q, x->l[k].k, 2, off, gs, NULL, 0, NULL, tb_profile_event_slot(prof, &ev));
            if (rc != CL_SUCCESS)
                return tb_cl_fail(err, rc, x->l[k].what);
            if (prof && ev) {
                tb_profile_command(prof, x->l[k].what, ev);
                clReleaseEvent(ev);
            }
        }
    for (size_t s = 0; s < x->g->n_state; ++s) {
        int in = x->g->state_in[s], out = x->g->state_out[s];
        cl_int rc = clEnqueueCopyBuffer(q, x->mem[out], x->mem[in], 0, 0, bytes_of(x, in), 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "carrying the recurrent state");
    }
    return TB_OK;
}

tb_status tw_exec_reset_state(tw_exec *x, tb_error *err)
{
    for (size_t s = 0; s < x->g->n_state; ++s) {
        int in = x->g->state_in[s];
        cl_double zero = 0;
        cl_int rc = clEnqueueFillBuffer(tb_device_queue(x->dev), x->mem[in], &zero, x->rs, 0, bytes_of(x, in), 0, NULL,
                                        NULL);
        if (rc != CL_SUCCESS)
            return tb_cl_fail(err, rc, "zeroing the recurrent state");
    }
    return TB_OK;
}

tb_status tw_exec_read_output(tw_exec *x, size_t k, void *host, cl_event *ev, tb_error *err)
{
    int t = x->g->outputs[k];
    cl_int rc = clEnqueueReadBuffer(tb_device_queue(x->dev), x->mem[t], CL_FALSE, 0, bytes_of(x, t), host, 0, NULL, ev);
    return rc == CL_SUCCESS ? TB_OK : tb_cl_fail(err, rc, "reading a twin output");
}

/* ------------------------------------------------------------ twin_plan.h */

const tw_graph *tw_plan_graph(const tw_exec *x)
{
    return x->g;
}

static args from_tw(tw_args *t)
{
    return (args){t->x, t->k, t->i, t->rc};
}

static void to_tw(tw_args *t, const args *a)
{
    *t = (tw_args){a->x, a->k, a->i, a->rc};
}

tb_status tw_plan_start(tw_exec *x, const char *kernel, const tw_node *nd, size_t n, tw_args *t, tb_error *err)
{
    args a = {0};
    tb_status st = start(x, kernel, nd, n, &a, err);
    if (st == TB_OK)
        to_tw(t, &a);
    return st;
}

tb_status tw_plan_finish(tw_args *t, const tw_node *nd, tb_error *err)
{
    args a = from_tw(t);
    return finish(&a, nd, err);
}

void tw_arg_mem(tw_args *t, cl_mem m)
{
    args a = from_tw(t);
    a_mem(&a, m);
    to_tw(t, &a);
}

void tw_arg_long(tw_args *t, int64_t v)
{
    args a = from_tw(t);
    a_long(&a, v);
    to_tw(t, &a);
}

void tw_arg_int(tw_args *t, int v)
{
    args a = from_tw(t);
    a_int(&a, v);
    to_tw(t, &a);
}

void tw_arg_real(tw_args *t, double v)
{
    args a = from_tw(t);
    a_real(&a, v);
    to_tw(t, &a);
}

void tw_arg_tensor(tw_args *t, int k)
{
    args a = from_tw(t);
    a_tensor(&a, k);
    to_tw(t, &a);
}

void tw_arg_opt_tensor(tw_args *t, int k, int stand_in)
{
    if (k >= 0) {
        tw_arg_tensor(t, k);
        return;
    }
    tw_arg_mem(t, t->x->mem[stand_in]);
    tw_arg_long(t, 0);
}

cl_mem tw_plan_meta(tw_exec *x, const int64_t *v, size_t n, tb_error *err)
{
    return meta_buf(x, v, n, err);
}

cl_mem tw_plan_scratch(tw_exec *x, size_t n, tb_error *err)
{
    size_t bytes = (n ? n : 1) * x->batch * x->rs;
    void *zero = calloc(1, bytes);
    if (!zero) {
        tb_error_set(err, TB_ERR_OTHER, "out of memory");
        return NULL;
    }
    cl_mem m = tb_device_alloc(x->dev, bytes, zero, "twin op scratch", err);
    free(zero);
    return keep_extra(x, m);
}
