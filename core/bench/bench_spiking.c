/* twinbrain bench spiking: the COBA and CUBA benchmarks (Brette et al.
 * 2007, 10 s) and the full-scale cortical microcircuit (Potjans & Diesmann
 * 2014, 1 s after a 0.5 s warm-up, with DC and with Poisson drive), as the
 * example scenarios describe them: real-time factor (wall / simulated),
 * synaptic events per second, network generation and set-up time, peak
 * memory; COBA also next to a plain single-threaded C loop of the same
 * network model, and COBA and CUBA next to Brian2's C++ standalone (the
 * same networks written for Brian2), run in the same invocation (ratios
 * hold on a shared machine; seconds do not). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "cli/cli.h"
#include "twinbrain/device.h"
#include "twinbrain/plugin.h"
#include "twinbrain/scenario.h"
#include "twinbrain/sim.h"
#include "util.h"
#include "world.h"

static const char usage[] =
    "usage: twinbrain bench spiking [--examples DIR] [--only NAME[,NAME...]] [--quick] [--no-peers]\n"
    "                               [--threads N] [--precision single|double] [--device SEL] [--scale F]\n"
    "                               [--json]\n"
    "\n"
    "Runs examples/spiking/coba.toml and cuba.toml for 10 s (after 10 ms untimed: PoCL compiles\n"
    "at the first launch), and potjans_diesmann_dc.toml (DC drive) and potjans_diesmann.toml\n"
    "(Poisson drive) for 1.5 s (the first 0.5 s a warm-up), and\n"
    "reports the real-time factor (wall seconds per simulated second; lower is faster), synaptic\n"
    "events per second (spikes written x their synapses, over the measured interval), the time to\n"
    "generate the network and to set everything up (kernel build included), the peak resident\n"
    "memory of the process (on a CPU device it includes the device buffers) and the device buffers\n"
    "the run holds. COBA also runs as a plain C loop on one core (same model and statistics, its\n"
    "own random network); COBA and CUBA also run in Brian2's C++ standalone mode with N OpenMP\n"
    "threads (default 2) and with one thread without OpenMP (run time only, not its compilation),\n"
    "when python3 imports brian2 (scripts/install-deps --bench), and in NEST with N threads and\n"
    "with one (nest.Run only, not the network's construction), when it imports nest. Targets (2\n"
    "idle cores, PoCL): COBA real-time factor <= 0.5; the DC microcircuit <= 3 and the Poisson\n"
    "one within 1.5x of it (4.5), each network set up in <= 30 s and <= 4 GB; COBA and CUBA 3x\n"
    "Brian2's speed.\n"
    "  --only NAMES     some of coba, cuba, microcircuit (DC), poisson (the Poisson microcircuit)\n"
    "  --no-peers       no Brian2 or NEST runs (--quick implies it)\n"
    "  --threads N      the peers' threads (default 2; they also run with one)\n"
    "  --examples DIR   where coba.toml and potjans_diesmann_dc.toml are (default: the\n"
    "                   installed examples/spiking)\n"
    "  --quick          COBA 1 s, microcircuit at 10% of the neurons (same in-degrees): a smoke\n"
    "                   test, not the benchmark\n"
    "  --scale F        the microcircuit at the fraction F of its neurons (same in-degrees)\n"
    "Under mpirun every rank runs its share of each network (docs/mpi.md) and rank 0 prints the\n"
    "table, with each network's exchange figures; the C loop and the peers are not run there.\n"
    "Figures and the commands that produced them: docs/performance.md.\n";

typedef struct opts {
    const char *examples;
    const char *only;
    const char *precision;
    const char *device;
    bool quick, json, no_peers;
    double scale;     /* the microcircuit's, 0: full (0.1 with --quick) */
    int threads;      /* the peer's */
    bool no_baseline; /* bench all: the engine's figure only */
} opts;

typedef struct result {
    const char *name;
    char label[64];
    double simulated, warmup;  /* s */
    double wall;               /* s, over the measured interval */
    double rtf, events_per_s;
    uint64_t neurons, synapses, spikes;
    double network, setup;     /* s */
    uint64_t device_bytes;
    /* over MPI ranks: exchanges per rank, bytes per rank and exchange,
     * shares of the ranks' run time exchanging and inside MPI */
    double exchanges, exchange_bytes, exchange_share, mpi_share;
    double rss_gb;             /* peak resident set of the process so far */
    double target_rtf;
    /* the C loop */
    double base_rtf, base_events_per_s;
    /* the peers on the same network (PEER_*): Brian2's C++ standalone
     * with the --threads OpenMP threads and single-threaded without
     * OpenMP, NEST with --threads threads and with one */
    double peer_rtf[4], peer_compile[4];
    uint64_t peer_spikes[4], peer_synapses[4];
    char note[200];
} result;

static double peak_rss_gb(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_maxrss * 1024.0 / 1e9; /* kilobytes on Linux */
}

/* ------------------------------------------------------------ the C loop */

/* COBA as a single-threaded C program: the same iaf_cond_exp method and
 * parameters as examples/spiking/coba.toml, pairwise-Bernoulli synapses
 * (xorshift draws, so a different network of the same statistics) in CSR
 * rows by source, a two-step delay ring. What a careful C programmer
 * would write in an afternoon: the yardstick for the engine's overheads. */
typedef struct xs {
    uint64_t s;
} xs;

static double xs_u01(xs *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) * 0x1.0p-53;
}

typedef struct coba_net {
    int n, ne;
    int *row, *col;
} coba_net;

static bool coba_build(coba_net *c, int n, int ne, double p, uint64_t seed)
{
    xs r = {seed * 2654435761u + 1};
    size_t cap = (size_t)(n * (double)n * p * 1.2) + 1024, m = 0;
    c->n = n, c->ne = ne;
    c->row = malloc((size_t)(n + 1) * sizeof *c->row);
    c->col = malloc(cap * sizeof *c->col);
    if (!c->row || !c->col)
        return false;
    double lq = log1p(-p);
    for (int s = 0; s < n; ++s) {
        c->row[s] = (int)m;
        for (long t = (long)floor(log(xs_u01(&r)) / lq); t < n; t += 1 + (long)floor(log(xs_u01(&r)) / lq)) {
            if (t == s)
                continue;
            if (m == cap) {
                int *g = realloc(c->col, 2 * cap * sizeof *g);
                if (!g)
                    return false;
                c->col = g, cap *= 2;
            }
            c->col[m++] = (int)t;
        }
    }
    c->row[n] = (int)m;
    return true;
}

/* Returns spikes; *events the synaptic events they caused. */
static uint64_t coba_run(const coba_net *c, long steps, double dt, uint64_t *events)
{
    const int n = c->n;
    const double C = 200, gL = 10, EL = -60, Ee = 0, Ei = -80, Vth = -50, Vr = -60, I = 200;
    const double te = 5, ti = 10, we = 4, wi = 51;
    const double Pe = exp(-dt / te), Pi = exp(-dt / ti), Fe = -te / dt * expm1(-dt / te),
                 Fi = -ti / dt * expm1(-dt / ti);
    const int ref_steps = (int)floor(5.0 / dt + 0.5);
    double *V = malloc((size_t)n * sizeof *V), *ge = calloc((size_t)n, sizeof *ge), *gi = calloc((size_t)n, sizeof *gi);
    double *ring = calloc((size_t)3 * 2 * (size_t)n, sizeof *ring); /* [slot][port][n], delay 2 steps */
    int *refr = calloc((size_t)n, sizeof *refr), *fired = malloc((size_t)n * sizeof *fired);
    uint64_t spikes = 0, ev = 0;
    xs r = {12345};
    for (int i = 0; V && i < n; ++i)
        V[i] = -60 + 10 * xs_u01(&r), ge[i] = 40, gi[i] = 200;
    for (long t = 0; V && ge && gi && ring && refr && fired && t < steps; ++t) {
        double *in = ring + (size_t)(t % 3) * 2 * (size_t)n;
        int nf = 0;
        for (int i = 0; i < n; ++i) {
            if (refr[i] == 0) {
                double a = ge[i] * Fe, b = gi[i] * Fi, gt = gL + a + b;
                double Vinf = (gL * EL + a * Ee + b * Ei + I) / gt;
                V[i] = Vinf + (V[i] - Vinf) * exp(-dt * gt / C);
            }
            ge[i] = Pe * ge[i] + in[i];
            gi[i] = Pi * gi[i] + in[n + i];
            in[i] = in[n + i] = 0;
            int was = refr[i];
            if (refr[i] > 0)
                --refr[i];
            if (!was && V[i] >= Vth) {
                V[i] = Vr;
                refr[i] = ref_steps;
                fired[nf++] = i;
            }
        }
        double *out = ring + (size_t)((t + 2) % 3) * 2 * (size_t)n;
        for (int k = 0; k < nf; ++k) {
            int s = fired[k];
            double w = s < c->ne ? we : wi;
            double *o = out + (s < c->ne ? 0 : n);
            for (int e = c->row[s]; e < c->row[s + 1]; ++e)
                o[c->col[e]] += w;
            ev += (uint64_t)(c->row[s + 1] - c->row[s]);
        }
        spikes += (uint64_t)nf;
    }
    free(V), free(ge), free(gi), free(ring), free(refr), free(fired);
    *events = ev;
    return spikes;
}

static void coba_baseline(const opts *o, result *r)
{
    coba_net c = {0};
    double dt = 0.1;
    long steps = (long)llround(r->simulated * 1e3 / dt);
    if (!coba_build(&c, 4000, 3200, 0.02, 1)) {
        snprintf(r->note, sizeof r->note, "C loop: out of memory");
    } else {
        uint64_t ev = 0;
        double t0 = tb_now();
        coba_run(&c, steps, dt, &ev);
        double w = tb_now() - t0;
        r->base_rtf = w / r->simulated;
        r->base_events_per_s = (double)ev / w;
    }
    free(c.row);
    free(c.col);
    (void)o;
}

/* ------------------------------------------------------------ the peers */

enum { PEER_BRIAN2, PEER_BRIAN2_1, PEER_NEST, PEER_NEST_1, PEERS };

/* The peer: COBA or CUBA as examples/spiking/coba.toml and cuba.toml
 * describe them (the same models, parameters, drive, initial state
 * distributions, connection rule and delay; Brian2's own random network),
 * exponential Euler for COBA and the exact solution for CUBA (Brian2's
 * choices in its examples), all spikes recorded (and COBA's population
 * rate), in C++ standalone mode with OpenMP. argv: coba|cuba, seconds,
 * threads, a scratch folder. Prints "peer brian2 NAME RUN_S SPIKES
 * SYNAPSES COMPILE_S WALL_S" or "skip WHY". RUN_S is Brian2's own timing
 * of the simulation loop (device._last_run_time): no compilation, no
 * start-up. */
static const char brian2_peer[] =
    "import os, sys, time\n"
    "which, seconds, threads, workdir = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]\n"
    "try:\n"
    "    import brian2 as b2\n"
    "except Exception as e:\n"
    "    print(\"skip brian2 is not importable (\" + type(e).__name__ + \"): scripts/install-deps --bench\", flush=True)\n"
    "    sys.exit(0)\n"
    "from brian2 import ms, mV, nS, pA, pF, second\n"
    "b2.set_device(\"cpp_standalone\", build_on_run=False)\n"
    "b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0\n"
    "b2.defaultclock.dt = 0.1 * ms\n"
    "b2.seed(1)\n"
    "N, NE = 4000, 3200\n"
    "if which == \"coba\":\n"
    "    eqs = \"\"\"dv/dt = (gl * (El - v) + ge * (Ee - v) + gi * (Ei - v) + I) / Cm : volt (unless refractory)\n"
    "             dge/dt = -ge / taue : siemens\n"
    "             dgi/dt = -gi / taui : siemens\"\"\"\n"
    "    ns = dict(gl=10 * nS, El=-60 * mV, Ee=0 * mV, Ei=-80 * mV, I=200 * pA, Cm=200 * pF, taue=5 * ms, taui=10 * ms)\n"
    "    we, wi, method = 4 * nS, 51 * nS, \"exponential_euler\"\n"
    "else:\n"
    "    eqs = \"\"\"dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)\n"
    "             dge/dt = -ge / taue : volt\n"
    "             dgi/dt = -gi / taui : volt\"\"\"\n"
    "    ns = dict(El=-49 * mV, taum=20 * ms, taue=5 * ms, taui=10 * ms)\n"
    "    we, wi, method = 1.62 * mV, -9 * mV, \"exact\"\n"
    "P = b2.NeuronGroup(N, eqs, threshold=\"v > -50*mV\", reset=\"v = -60*mV\", refractory=5 * ms, method=method,\n"
    "                   namespace=ns)\n"
    "P.v = \"-60*mV + rand() * 10*mV\"\n"
    "if which == \"coba\":\n"
    "    P.ge = \"clip(40 + 15 * randn(), 0, inf) * nS\"\n"
    "    P.gi = \"clip(200 + 120 * randn(), 0, inf) * nS\"\n"
    "Ce = b2.Synapses(P, P, on_pre=\"ge += we\", delay=0.2 * ms, namespace=dict(we=we))\n"
    "Ci = b2.Synapses(P, P, on_pre=\"gi += wi\", delay=0.2 * ms, namespace=dict(wi=wi))\n"
    "Ce.connect(\"i < 3200 and i != j\", p=0.02)\n"
    "Ci.connect(\"i >= 3200 and i != j\", p=0.02)\n"
    "spikes = b2.SpikeMonitor(P)\n"
    "mons = [spikes] + ([b2.PopulationRateMonitor(P)] if which == \"coba\" else [])\n"
    "b2.run(seconds * second)\n"
    "t0 = time.time()\n"
    "b2.device.build(directory=os.path.join(workdir, which), run=False)\n"
    "t1 = time.time()\n"
    "b2.device.run()\n"
    "t2 = time.time()\n"
    "run = b2.device._last_run_time\n"
    "print(f\"peer brian2 {which} {run:.6f} {spikes.num_spikes} {len(Ce) + len(Ci)} {t1 - t0:.3f} {t2 - t1:.6f}\", flush=True)\n";

/* The other peer: the same COBA or CUBA in NEST (iaf_cond_exp, whose
 * GSL adaptive Runge-Kutta is NEST's method for it, and iaf_psc_exp,
 * exact), the same parameters, drive, initial-state distributions (numpy
 * draws), pairwise-Bernoulli rule without autapses and 0.2 ms delay, all
 * spikes recorded; NEST's own random network, --threads threads or one.
 * Prints "peer nest NAME RUN_S SPIKES SYNAPSES BUILD_S WALL_S" or "skip
 * WHY"; RUN_S is nest.Run's wall time, after nest.Prepare (the network's
 * creation, connection and preparation are BUILD_S). */
static const char nest_peer[] =
    "import sys, time\n"
    "which, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])\n"
    "try:\n"
    "    import nest\n"
    "    import numpy as np\n"
    "except Exception as e:\n"
    "    print(\"skip NEST is not importable (\" + type(e).__name__ + \"): scripts/install-deps\", flush=True)\n"
    "    sys.exit(0)\n"
    "nest.set_verbosity(\"M_ERROR\")\n"
    "nest.ResetKernel()\n"
    "nest.SetKernelStatus({\"resolution\": 0.1, \"local_num_threads\": threads, \"rng_seed\": 1})\n"
    "t0 = time.time()\n"
    "N, NE = 4000, 3200\n"
    "rng = np.random.default_rng(1)\n"
    "common = dict(C_m=200.0, V_th=-50.0, V_reset=-60.0, t_ref=5.0, tau_syn_ex=5.0, tau_syn_in=10.0)\n"
    "if which == \"coba\":\n"
    "    P = nest.Create(\"iaf_cond_exp\", N, params=dict(common, g_L=10.0, E_L=-60.0, E_ex=0.0, E_in=-80.0, I_e=200.0))\n"
    "    P.set(g_ex=np.maximum(0.0, rng.normal(40.0, 15.0, N)).tolist(),\n"
    "          g_in=np.maximum(0.0, rng.normal(200.0, 120.0, N)).tolist())\n"
    "    we, wi = 4.0, -51.0\n"
    "else:\n"
    "    P = nest.Create(\"iaf_psc_exp\", N, params=dict(common, tau_m=20.0, E_L=-49.0))\n"
    "    we, wi = 16.2, -90.0\n"
    "P.set(V_m=rng.uniform(-60.0, -50.0, N).tolist())\n"
    "E, I = P[:NE], P[NE:]\n"
    "for src, tgt, w, self_ok in ((E, E, we, False), (E, I, we, True), (I, E, wi, True), (I, I, wi, False)):\n"
    "    nest.Connect(src, tgt, {\"rule\": \"pairwise_bernoulli\", \"p\": 0.02, \"allow_autapses\": self_ok},\n"
    "                 {\"synapse_model\": \"static_synapse\", \"weight\": w, \"delay\": 0.2})\n"
    "syn = nest.GetKernelStatus(\"num_connections\")\n"
    "sr = nest.Create(\"spike_recorder\")\n"
    "nest.Connect(P, sr)\n"
    "nest.Prepare()\n"
    "t1 = time.time()\n"
    "nest.Run(seconds * 1000.0)\n"
    "t2 = time.time()\n"
    "nest.Cleanup()\n"
    "print(f\"peer nest {which} {t2 - t1:.6f} {sr.n_events} {syn} {t1 - t0:.3f} {t2 - t1:.6f}\", flush=True)\n";

/* The peers, in PEER_* order two slots each: the --threads run, then the
 * one-thread run. tag: the script's "peer TAG" lines and the JSON keys;
 * setup: the JSON key of its compile or build seconds. */
static const struct peer {
    const char *name, *tag, *label, *setup, *script;
} peers[] = {
    {"Brian2", "brian2", "Brian2 C++ standalone", "compile_s", brian2_peer},
    {"NEST", "nest", "NEST", "build_s", nest_peer},
};

static int peer_threads(const opts *o, int slot) { return slot % 2 ? 1 : o->threads; }

/* Runs a peer's script on COBA or CUBA into slot `slot` of r. */
static void peer_run(const opts *o, int slot, const char *which, result *r)
{
    const struct peer *pe = &peers[slot / 2];
    const char *tool = pe->name;
    int threads = peer_threads(o, slot);
    char dir[] = "/tmp/twinbrain-peer.XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(r->note, sizeof r->note, "%s: no scratch folder in /tmp", tool);
        return;
    }
    char *script = tb_path_join(dir, "peer.py");
    FILE *f = script ? fopen(script, "w") : NULL;
    bool written = f && fputs(pe->script, f) >= 0;
    if (f)
        written &= fclose(f) == 0;
    const char *py = getenv("TB_PYTHON") && strcmp(getenv("TB_PYTHON"), "none") != 0 ? getenv("TB_PYTHON") : "python3";
    /* Both peers synchronise their OpenMP threads a few times a step.
     * OpenMP's default (spin, then sleep) suits an idle machine; on a
     * shared one spinning threads collapse and OMP_WAIT_POLICY=passive
     * serves them better, but passive costs several times on an idle one
     * (docs/performance.md). So the peers get the caller's environment,
     * whatever it says. */
    char *cmd = written ? tb_asprintf("'%s' '%s' %s %g %d '%s' 2>&1", py, script, which, r->simulated, threads, dir)
                        : NULL;
    FILE *p = cmd ? popen(cmd, "r") : NULL;
    char line[512], skip[256] = "";
    double run = 0, compile = 0, wall = 0;
    unsigned long long spikes = 0, syn = 0;
    char name[16], head[32];
    snprintf(head, sizeof head, "peer %s ", pe->tag);
    bool got = false;
    while (p && fgets(line, sizeof line, p)) {
        if (strncmp(line, head, strlen(head)) == 0 &&
            sscanf(line + strlen(head), "%15s %lf %llu %llu %lf %lf", name, &run, &spikes, &syn, &compile, &wall) == 6)
            got = true;
        else if (strncmp(line, "skip ", 5) == 0)
            snprintf(skip, sizeof skip, "%.200s", line + 5);
    }
    if (p)
        pclose(p);
    if (got && run > 0) {
        r->peer_rtf[slot] = run / r->simulated;
        r->peer_compile[slot] = compile;
        r->peer_spikes[slot] = spikes;
        r->peer_synapses[slot] = syn;
    } else {
        skip[strcspn(skip, "\n")] = 0;
        size_t used = strlen(r->note);
        snprintf(r->note + used, sizeof r->note - used, "%s%s: %s", used ? "; " : "", tool,
                 *skip ? skip : "the peer failed (run it by hand: see the source)");
    }
    char *rm = tb_asprintf("rm -rf '%s'", dir);
    if (rm && system(rm) != 0)
        fprintf(stderr, "  (could not remove %s)\n", dir);
    free(rm), free(cmd), free(script);
}

/* ------------------------------------------------------------ engine runs */

typedef struct watch {
    double warmup_ms;
    double wall_at_warmup; /* wall seconds since the run started */
    uint64_t events_at_warmup;
    tb_sim *sim;
} watch;

static void on_progress(const tb_sim_progress *p, void *ctx)
{
    watch *w = ctx;
    if (w->wall_at_warmup < 0 && p->t_ms >= w->warmup_ms) {
        tb_sim_summary s;
        tb_sim_get_summary(w->sim, &s);
        w->wall_at_warmup = p->wall_seconds;
        w->events_at_warmup = (uint64_t)tb_sim_summary_figure(&s, "synaptic_events");
    }
}

/* The summary's exchange figures are sums over the ranks. */
static void exchange_figures(const tb_sim_summary *s, result *r)
{
    double n = tb_sim_summary_figure(s, "exchanges"), ranks = tb_world_size();
    if (!(n > 0) || !(s->wall_seconds > 0))
        return;
    r->exchanges = n / ranks;
    r->exchange_bytes = tb_sim_summary_figure(s, "exchange_bytes") / n;
    r->exchange_share = tb_sim_summary_figure(s, "exchange_seconds") / (ranks * s->wall_seconds);
    r->mpi_share = tb_sim_summary_figure(s, "exchange_mpi_seconds") / (ranks * s->wall_seconds);
}

static tb_status engine(const opts *o, const tb_plugin_registry *reg, tb_device *dev, const char *scenario,
                        const char *const *sets, size_t n_sets, result *r, tb_error *err)
{
    char dir[] = "/tmp/twinbrain-bench.XXXXXX";
    if (!mkdtemp(dir))
        return tb_error_set(err, TB_ERR_OTHER, "cannot create a scratch folder in /tmp");
    char *out = tb_asprintf("%s/out.h5", dir);
    tb_scenario *sc = NULL;
    tb_sim *sim = NULL;
    tb_status st = tb_scenario_load(scenario, sets, n_sets, reg, &sc, err);
    if (st == TB_OK)
        st = tb_sim_create(sc, dev, &sim, err);
    watch w = {r->warmup * 1e3, r->warmup > 0 ? -1.0 : 0.0, 0, sim};
    tb_sim_options opt = {.progress = on_progress, .progress_ctx = &w};
    if (st == TB_OK)
        st = tb_sim_run(sim, out, &opt, err);
    if (st == TB_OK) {
        tb_sim_summary s;
        tb_sim_get_summary(sim, &s);
        r->wall = s.wall_seconds - (w.wall_at_warmup > 0 ? w.wall_at_warmup : 0);
        r->rtf = r->wall / r->simulated;
        r->events_per_s = (tb_sim_summary_figure(&s, "synaptic_events") - (double)w.events_at_warmup) / r->wall;
        r->neurons = s.units;
        r->synapses = (uint64_t)tb_sim_summary_figure(&s, "synapses");
        r->spikes = (uint64_t)tb_sim_summary_figure(&s, "spikes");
        r->network = tb_sim_summary_figure(&s, "network_seconds");
        r->setup = tb_sim_summary_figure(&s, "setup_seconds");
        r->device_bytes = (uint64_t)tb_sim_summary_figure(&s, "device_bytes");
        r->rss_gb = peak_rss_gb();
        exchange_figures(&s, r);
        if (r->exchanges > 0) { /* set-up: per rank, as the summary says it */
            r->network /= tb_world_size();
            r->setup /= tb_world_size();
        }
    }
    tb_sim_free(sim);
    tb_scenario_free(sc);
    unlink(out);
    rmdir(dir);
    free(out);
    (void)o;
    return st;
}

/* COBA or CUBA ("coba", "cuba"). */
static tb_status vogels_abbott(const opts *o, const tb_plugin_registry *reg, tb_device *dev, const char *which,
                               result *r, double simulated, tb_error *err)
{
    char *path = tb_asprintf("%s/%s.toml", o->examples, which);
    bool is_coba = strcmp(which, "coba") == 0;
    r->name = is_coba ? "COBA (4000 neurons)" : "CUBA (4000 neurons)";
    r->simulated = simulated;
    r->target_rtf = 0.5;
    char dur[64], prec[64];
    snprintf(dur, sizeof dur, "simulation.duration=%g", r->simulated * 1e3);
    snprintf(prec, sizeof prec, "simulation.precision=\"%s\"", o->precision);
    const char *sets[] = {dur, prec};
    /* PoCL compiles a kernel for its work-group size at its first launch,
     * not when the program is built: with a cold cache that (about 0.3 s)
     * went into the first timed run, a third of CUBA's 10 s. A run of 10
     * ms first, untimed, pays it. */
    const char *warm_sets[] = {"simulation.duration=10", prec};
    result warm = *r;
    tb_status st = engine(o, reg, dev, path, warm_sets, 2, &warm, err);
    st = st ? st : engine(o, reg, dev, path, sets, 2, r, err);
    r->setup = warm.setup > r->setup ? warm.setup : r->setup; /* the kernel build happened in the first */
    free(path);
    if (st == TB_OK && is_coba && !o->no_baseline)
        coba_baseline(o, r);
    for (int slot = 0; st == TB_OK && !o->no_peers && slot < PEERS; ++slot) {
        if (slot % 2 && o->threads == 1)
            continue; /* the --threads run was that one */
        if (!o->json)
            fprintf(stderr, "  %s in %s, %d thread%s ...\n", which, peers[slot / 2].label, peer_threads(o, slot),
                    peer_threads(o, slot) > 1 ? "s" : "");
        peer_run(o, slot, which, r);
    }
    return st;
}

static tb_status coba(const opts *o, const tb_plugin_registry *reg, tb_device *dev, result *r, double simulated,
                      tb_error *err)
{
    return vogels_abbott(o, reg, dev, "coba", r, simulated, err);
}

/* The microcircuit with DC drive (the benchmark) or with its Poisson
 * background (what the reference rates refer to). */
static tb_status microcircuit(const opts *o, const tb_plugin_registry *reg, tb_device *dev, bool poisson, result *r,
                              tb_error *err)
{
    char *path = tb_asprintf("%s/potjans_diesmann%s.toml", o->examples, poisson ? "" : "_dc");
    char *small = NULL;
    double scale = o->scale > 0 ? o->scale : o->quick ? 0.1 : 1.0;
    if (scale < 1)
        snprintf(r->label, sizeof r->label, "microcircuit at %g%% (%s)", 100 * scale, poisson ? "Poisson" : "DC");
    else
        snprintf(r->label, sizeof r->label, "microcircuit (77169 neurons, %s)", poisson ? "Poisson" : "DC");
    r->name = r->label;
    r->simulated = 1.0;
    r->warmup = 0.5;
    /* at full scale: DC <= 3 on two idle cores, Poisson within 1.5x of it */
    r->target_rtf = scale < 1 ? 10 : poisson ? 4.5 : 3;
    if (scale < 1) {
        /* the generator's network at that scale, written next to the run */
        small = tb_asprintf("%s/potjans_diesmann.py", o->examples);
        char dir[] = "/tmp/twinbrain-bench.XXXXXX";
        char *cmd = mkdtemp(dir) ? tb_asprintf("python3 '%s' --scale %g %s'%s/pd.toml' 2>/dev/null", small,
                                                                scale, poisson ? "" : "--dc ", dir)
                                 : NULL;
        free(small);
        small = cmd && system(cmd) == 0 ? tb_asprintf("%s/pd.toml", dir) : NULL;
        free(cmd);
        if (!small) {
            free(path);
            return tb_error_set(err, TB_ERR_OTHER, "--quick and --scale need python3 to scale the microcircuit down");
        }
    }
    char prec[64];
    snprintf(prec, sizeof prec, "simulation.precision=\"%s\"", o->precision);
    const char *sets[] = {"simulation.duration=1500.0", prec};
    tb_status st = engine(o, reg, dev, small ? small : path, sets, 2, r, err);
    if (small) {
        unlink(small);
        char *d = tb_path_dirname(small);
        rmdir(d);
        free(d);
    }
    snprintf(r->note, sizeof r->note, "no C loop at this scale; published figures: docs/performance.md");
    free(small);
    free(path);
    return st;
}

/* ------------------------------------------------------------ report */

static void print_table(const result *rs, size_t n, const tb_device_info *d, const opts *o)
{
    printf("device: %s (%s), %u compute units; %s precision", d->name, d->platform_name, d->compute_units,
           o->precision);
    if (tb_world_size() > 1)
        printf("; %d MPI ranks, one such device each", tb_world_size());
    printf("\n");
    printf("%-34s %9s %8s %7s %7s %11s %8s %8s %9s %9s\n", "workload", "simulated", "wall s", "RTF", "target",
           "events/s", "network", "set-up", "RSS GB", "device GB");
    for (size_t i = 0; i < n; ++i) {
        const result *r = &rs[i];
        printf("%-34s %8.1fs %8.2f %7.3f %7.2g %11.3g %7.1fs %7.1fs %9.2f %9.2f\n", r->name, r->simulated, r->wall,
               r->rtf, r->target_rtf, r->events_per_s, r->network, r->setup, r->rss_gb,
               (double)r->device_bytes / 1e9);
        if (r->base_rtf > 0)
            printf("%-34s %8.1fs %8.2f %7.3f %7s %11.3g\n", "  the same model, plain C, 1 core", r->simulated,
                   r->base_rtf * r->simulated, r->base_rtf, "", r->base_events_per_s);
        for (int k = 0; k < PEERS; ++k) {
            if (!(r->peer_rtf[k] > 0))
                continue;
            char who[64];
            snprintf(who, sizeof who, "  %s, %d thr.", peers[k / 2].label, peer_threads(o, k));
            /* the target is against Brian2 with --threads threads */
            printf("%-34s %8.1fs %8.2f %7.3f %7s %11s   twinbrain %.2fx its speed%s; %llu spikes, %llu synapses\n",
                   who, r->simulated, r->peer_rtf[k] * r->simulated, r->peer_rtf[k], "", "", r->peer_rtf[k] / r->rtf,
                   k == PEER_BRIAN2 ? " (target 3x)" : "",
                   (unsigned long long)r->peer_spikes[k], (unsigned long long)r->peer_synapses[k]);
        }
        if (r->exchanges > 0)
            printf("  over %d ranks: %.0f exchanges per rank, %.0f bytes per rank and exchange; %.1f%% of the ranks' "
                   "run time exchanging (waits included), %.1f%% in MPI\n",
                   tb_world_size(), r->exchanges, r->exchange_bytes, 100 * r->exchange_share, 100 * r->mpi_share);
        printf("  %llu neurons, %llu synapses, %llu spikes%s%s\n", (unsigned long long)r->neurons,
               (unsigned long long)r->synapses, (unsigned long long)r->spikes, *r->note ? "; " : "", r->note);
    }
    const result *dc = NULL, *po = NULL;
    for (size_t i = 0; i < n; ++i)
        if (strstr(rs[i].name, "microcircuit"))
            *(strstr(rs[i].name, "Poisson") ? &po : &dc) = &rs[i];
    if (dc && po)
        printf("Poisson-driven / DC-driven microcircuit, real-time factor: %.2f (target <= 1.5)\n", po->rtf / dc->rtf);
}

static void json_num(tb_buf *b, const char *key, double x)
{
    tb_buf_printf(b, ", \"%s\": ", key);
    if (isfinite(x))
        tb_buf_printf(b, "%.6g", x);
    else
        tb_buf_puts(b, "null");
}

/* A peer's keys: TAG_real_time_factor, _threads, _SETUP (its compile or
 * build seconds), _spikes, _synapses for the --threads run in `slot`, and
 * TAG_1_thread_real_time_factor, _spikes for the one-thread run after it. */
static void json_peer(tb_buf *b, const result *r, const opts *o, int slot)
{
    char key[64];
#define PEER_KEY(suffix) (snprintf(key, sizeof key, "%s_%s", peers[slot / 2].tag, suffix), key)
    if (r->peer_rtf[slot] > 0) {
        json_num(b, PEER_KEY("real_time_factor"), r->peer_rtf[slot]);
        json_num(b, PEER_KEY("threads"), o->threads);
        json_num(b, PEER_KEY(peers[slot / 2].setup), r->peer_compile[slot]);
        json_num(b, PEER_KEY("spikes"), (double)r->peer_spikes[slot]);
        json_num(b, PEER_KEY("synapses"), (double)r->peer_synapses[slot]);
    }
    if (r->peer_rtf[slot + 1] > 0) {
        json_num(b, PEER_KEY("1_thread_real_time_factor"), r->peer_rtf[slot + 1]);
        json_num(b, PEER_KEY("1_thread_spikes"), (double)r->peer_spikes[slot + 1]);
    }
#undef PEER_KEY
}

static void print_json(const result *rs, size_t n, const tb_device_info *d, const opts *o)
{
    tb_buf b = {0};
    tb_buf_puts(&b, "{\"device\": ");
    tb_json_string(&b, d->name);
    tb_buf_puts(&b, ", \"platform\": ");
    tb_json_string(&b, d->platform_name);
    tb_buf_printf(&b, ", \"compute_units\": %u, \"ranks\": %d, \"precision\": ", d->compute_units, tb_world_size());
    tb_json_string(&b, o->precision);
    tb_buf_puts(&b, ", \"results\": [");
    for (size_t i = 0; i < n; ++i) {
        const result *r = &rs[i];
        tb_buf_puts(&b, i ? ",\n  {\"workload\": " : "\n  {\"workload\": ");
        tb_json_string(&b, r->name);
        json_num(&b, "simulated_s", r->simulated);
        json_num(&b, "warmup_s", r->warmup);
        json_num(&b, "wall_s", r->wall);
        json_num(&b, "real_time_factor", r->rtf);
        json_num(&b, "target_real_time_factor", r->target_rtf);
        json_num(&b, "synaptic_events_per_s", r->events_per_s);
        json_num(&b, "network_s", r->network);
        json_num(&b, "setup_s", r->setup);
        json_num(&b, "peak_rss_gb", r->rss_gb);
        json_num(&b, "device_gb", (double)r->device_bytes / 1e9);
        json_num(&b, "neurons", (double)r->neurons);
        json_num(&b, "synapses", (double)r->synapses);
        json_num(&b, "spikes", (double)r->spikes);
        if (r->exchanges > 0) {
            json_num(&b, "exchanges_per_rank", r->exchanges);
            json_num(&b, "bytes_per_rank_and_exchange", r->exchange_bytes);
            json_num(&b, "exchange_share", r->exchange_share);
            json_num(&b, "mpi_share", r->mpi_share);
        }
        if (r->base_rtf > 0) {
            json_num(&b, "baseline_real_time_factor", r->base_rtf);
            json_num(&b, "baseline_events_per_s", r->base_events_per_s);
        }
        for (int slot = 0; slot < PEERS; slot += 2)
            json_peer(&b, r, o, slot);
        tb_buf_puts(&b, ", \"note\": ");
        tb_json_string(&b, r->note);
        tb_buf_puts(&b, "}");
    }
    tb_buf_puts(&b, "]}\n");
    char *s = tb_buf_take(&b);
    fputs(s ? s : "", stdout);
    free(s);
}

static const char *const workloads[] = {"coba", "cuba", "microcircuit", "poisson"};

static bool wanted(const opts *o, const char *name)
{
    if (!o->only)
        return true;
    size_t len = strlen(name);
    for (const char *w = o->only; *w;) {
        size_t l = strcspn(w, ",");
        if (l == len && strncmp(w, name, l) == 0)
            return true;
        w += l + (w[l] == ',');
    }
    return false;
}

static int parse(int argc, char **argv, opts *o)
{
    o->examples = getenv("TWINBRAIN_EXAMPLES") ? getenv("TWINBRAIN_EXAMPLES") : TB_PKGDATADIR "/examples/spiking";
    o->precision = "double";
    o->threads = 2;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        bool next = i + 1 < argc;
        if (tb_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = o->no_peers = true;
        } else if (strcmp(a, "--no-peers") == 0) {
            o->no_peers = true;
        } else if (strcmp(a, "--threads") == 0 && next) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024)
                return tb_cli_usage_error("bench spiking", "--threads takes a count from 1 to 1024, not '%s'", argv[i]);
            o->threads = (int)t;
        } else if (strcmp(a, "--scale") == 0 && next) {
            char *end;
            o->scale = strtod(argv[++i], &end);
            if (*end || !(o->scale > 0) || o->scale > 1)
                return tb_cli_usage_error("bench spiking", "--scale takes a fraction in (0, 1], not '%s'", argv[i]);
        } else if (strcmp(a, "--examples") == 0 && next) {
            o->examples = argv[++i];
        } else if (strcmp(a, "--only") == 0 && next) {
            o->only = argv[++i];
        } else if (strcmp(a, "--precision") == 0 && next) {
            o->precision = argv[++i];
        } else if (strcmp(a, "--device") == 0 && next) {
            o->device = argv[++i];
        } else {
            return tb_cli_usage_error("bench spiking", "unknown argument '%s' (or it is missing its value)", a);
        }
    }
    for (const char *w = o->only; w && *w;) {
        size_t len = strcspn(w, ",");
        bool known = false;
        for (size_t k = 0; k < sizeof workloads / sizeof *workloads; ++k)
            known |= strlen(workloads[k]) == len && strncmp(w, workloads[k], len) == 0;
        if (!known)
            return tb_cli_usage_error("bench spiking", "--only takes coba, cuba, microcircuit or poisson, not '%.*s'",
                                      (int)len, w);
        w += len + (w[len] == ',');
    }
    if (strcmp(o->precision, "single") && strcmp(o->precision, "double"))
        return tb_cli_usage_error("bench spiking", "--precision takes single or double");
    return -1;
}

static int run(const opts *o)
{
    tb_error err = {0};
    tb_plugin_registry *reg = NULL;
    tb_device_info *devs = NULL;
    size_t ndev = 0, chosen = 0, n = 0;
    tb_device *dev = NULL;
    result rs[4];
    memset(rs, 0, sizeof rs);
    tb_status st = tb_plugin_registry_load(&reg, &err);
    if (st == TB_OK)
        st = tb_device_list(&devs, &ndev, &err);
    if (st == TB_OK)
        st = tb_device_select(devs, ndev, o->device, strcmp(o->precision, "double") == 0, &chosen, &err);
    if (st == TB_OK)
        st = tb_device_open(&devs[chosen], &dev, &err);
    /* every rank has its device, or none runs (rank 0 says why) */
    st = tb_world_verdict(st, &err);
    bool speaks = !o->json && tb_world_rank() == 0;
    for (size_t k = 0; k < 2 && st == TB_OK; ++k)
        if (wanted(o, workloads[k])) {
            if (speaks)
                fprintf(stderr, "  %s ...\n", workloads[k]);
            st = vogels_abbott(o, reg, dev, workloads[k], &rs[n++], o->quick ? 1.0 : 10.0, &err);
        }
    for (size_t k = 2; k < 4 && st == TB_OK; ++k)
        if (wanted(o, workloads[k])) {
            if (speaks)
                fprintf(stderr, "  microcircuit, %s drive (the network takes a while to build) ...\n",
                        k == 2 ? "DC" : "Poisson");
            st = microcircuit(o, reg, dev, k == 3, &rs[n++], &err);
        }
    int rc = 0;
    if (st != TB_OK)
        rc = tb_world_rank() == 0 ? tb_cli_fail(&err) : (int)st;
    else if (o->json)
        print_json(rs, n, tb_device_get_info(dev), o);
    else
        print_table(rs, n, tb_device_get_info(dev), o);
    tb_error_clear(&err);
    tb_device_close(dev);
    tb_device_list_free(devs);
    tb_plugin_registry_free(reg);
    return rc;
}

/* For `bench all`: COBA in each precision the device has, as synaptic
 * events per second. The memory model counts the 8-byte synapse record
 * each event streams; the ring-buffer accumulation it scatters to is not
 * counted, so the bandwidth share is a lower bound. About `seconds` of
 * wall time each at the measured real-time factor of ~0.3. */
tb_status tb_bench_spiking_standard(tb_device *dev, const tb_plugin_registry *reg, double seconds,
                                    tb_bench_figure *out, size_t cap, size_t *n, tb_error *err)
{
    static const char *const precisions[] = {"single", "double"};
    *n = 0;
    const char *dir = getenv("TWINBRAIN_EXAMPLES") ? getenv("TWINBRAIN_EXAMPLES") : TB_PKGDATADIR "/examples/spiking";
    char *path = tb_asprintf("%s/coba.toml", dir);
    bool have = access(path, R_OK) == 0;
    free(path);
    if (!have) {
        fprintf(stderr, "  (spiking: no %s/coba.toml; set TWINBRAIN_EXAMPLES to examples/spiking)\n", dir);
        return TB_OK;
    }
    tb_status st = TB_OK;
    for (size_t i = 0; st == TB_OK && i < 2 && *n < cap; ++i) {
        if (strcmp(precisions[i], "double") == 0 && !tb_device_get_info(dev)->fp64)
            continue;
        opts o = {.examples = dir, .precision = precisions[i], .quick = true, .no_baseline = true, .no_peers = true};
        result r = {0};
        st = coba(&o, reg, dev, &r, seconds * 3 > 1 ? seconds * 3 : 1, err);
        if (st != TB_OK)
            break;
        tb_bench_figure *f = &out[(*n)++];
        memset(f, 0, sizeof *f);
        snprintf(f->workload, sizeof f->workload, "spiking COBA 4000 neurons, %s", precisions[i]);
        f->value = r.events_per_s;
        f->unit = "syn. events/s";
        f->bytes_per_unit = 8;
        f->build_seconds = r.setup;
        snprintf(f->note, sizeof f->note, "real-time factor %.3f over %g s simulated", r.rtf, r.simulated);
    }
    return st;
}

int tb_bench_spiking(int argc, char **argv)
{
    opts o = {0};
    int rc = parse(argc, argv, &o);
    /* the C loop and Brian2 run in one process: not comparable to a run over ranks */
    if (tb_world_size() > 1)
        o.no_baseline = o.no_peers = true;
    return rc < 0 ? run(&o) : rc;
}
