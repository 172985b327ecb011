#!/usr/bin/env python3
"""Writes potjans_diesmann.toml (Poisson background) and
potjans_diesmann_dc.toml (the DC equivalent of the background, for
benchmarks): the full-scale cortical microcircuit of Potjans & Diesmann
(2014), with the numbers of ../../../shared/reference/spiking.md and the
PyNEST microcircuit example's conventions (synapse counts K from the
connection probabilities, drawn as fixed_total_number with multapses;
weights from a mean PSP of 0.15 mV, relative sd 0.1, sign kept by
redrawing; delays normal with relative sd 0.5, redrawn below one step).

    python3 examples/spiking/potjans_diesmann.py    # rewrites both files
    python3 examples/spiking/potjans_diesmann.py --scale 0.1 --dc OUT.toml
        # a smaller network: N x scale neurons, the same in-degrees (synapse
        # counts K x scale), the same drive; for quick tests, not for
        # validation (the full scale is the model)

Plain Python, no dependencies: the files are committed, this script says
where each number comes from."""
import math
import os

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# connection probabilities, row = target, column = source
C = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
BG_RATE = 8.0  # Hz
NEURON = dict(C_m=250.0, tau_m=10.0, tau_syn_ex=0.5, tau_syn_in=0.5, t_ref=2.0, E_L=-65.0, V_th=-50.0,
              V_reset=-65.0)
PSP = 0.15  # mV, mean excitatory PSP amplitude
G = -4.0
REL_SD_W = 0.1
DELAY = {"E": 1.5, "I": 0.75}
REL_SD_D = 0.5
DT = 0.1
V0 = (-58.0, 10.0)  # initial membrane potentials, normal (mean, sd): the original model's


def psc_from_psp(psp, C_m, tau_m, tau_syn):
    """The current amplitude whose PSP peaks at `psp` (iaf_psc_exp)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return psp / (pre * (frac ** tau_m - frac ** tau_syn))


def synapse_count(c, npre, npost):
    """K = ln(1 - C) / ln((Npre Npost - 1) / (Npre Npost)), rounded."""
    if c == 0:
        return 0
    prod = npre * npost
    return int(round(math.log(1.0 - c) / math.log((prod - 1.0) / prod)))


def write(path, dc, scale=1.0):
    w = psc_from_psp(PSP, NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
    lines = [
        "# Potjans & Diesmann (2014) cortical microcircuit, full scale: 77,169 iaf_psc_exp neurons in",
        "# 8 populations, about 0.3 billion synapses. Written by potjans_diesmann.py (see there for the",
        "# origin of each number).",
        "# Background: " + ("constant currents equal to the mean Poisson drive (benchmark variant)"
                            if dc else "Poisson spike trains at 8 Hz with in-degrees K_ext"),
        "#   twinbrain run examples/spiking/" + os.path.basename(path),
        "#   twinbrain spikes stats OUT.h5 --warmup 500",
        "",
        "[simulation]",
        "duration = 1000.0",
        f"dt = {DT}",
        "seed = 55",
        'precision = "double"',
        "",
    ]
    for i, p in enumerate(POPS):
        params = dict(NEURON)
        if dc:
            params["I_e"] = round(K_EXT[i] * BG_RATE * w * NEURON["tau_syn_ex"] * 1e-3, 6)
        ps = ", ".join(f"{k} = {v}" for k, v in params.items())
        lines += [
            "[[population]]",
            f'name = "{p}"',
            'model = "iaf_psc_exp"',
            f"size = {max(1, round(N[i] * scale))}",
            f"parameters = {{ {ps} }}",
            f'initial = {{ V_m = {{ dist = "normal", mean = {V0[0]}, std = {V0[1]} }} }}',
            "",
        ]
    for t in range(8):
        for s in range(8):
            k = round(synapse_count(C[t][s], N[s], N[t]) * scale)
            if k == 0:
                continue
            exc = POPS[s].endswith("E")
            mean = w * (2.0 if (s == 2 and t == 0) else 1.0) * (1.0 if exc else G)
            bound = "min = 0.0" if exc else "max = 0.0"
            d = DELAY["E" if exc else "I"]
            lines += [
                "[[projection]]",
                f'source = "{POPS[s]}"',
                f'target = "{POPS[t]}"',
                'rule = "fixed_total_number"',
                f"n = {k}",
                f'synapse = "{"ex" if exc else "in"}"',
                f'weight = {{ dist = "normal", mean = {mean:.6f}, std = {abs(mean) * REL_SD_W:.6f}, {bound} }}',
                f'delay = {{ dist = "normal", mean = {d}, std = {d * REL_SD_D}, min = {DT} }}',
                "",
            ]
    if not dc:
        for i, p in enumerate(POPS):
            lines += [
                "[[input]]",
                f'name = "bg_{p}"',
                'kind = "poisson"',
                f'targets = ["{p}"]',
                f"rate = {BG_RATE}",
                f"indegree = {K_EXT[i]}",
                f"weight = {w:.6f}",
                "",
            ]
    lines += ["[[record]]", 'kind = "spikes"', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    if "--scale" in args:
        i = args.index("--scale")
        scale = float(args[i + 1])
        write(args[-1], dc="--dc" in args, scale=scale)
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        write(os.path.join(here, "potjans_diesmann.toml"), dc=False)
        write(os.path.join(here, "potjans_diesmann_dc.toml"), dc=True)
