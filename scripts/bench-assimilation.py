#!/usr/bin/env python3
"""The longer [assimilation] configurations (docs/brain.md): the synthetic
subject of tests/assimilation.py fitted for longer, and the 246-region
synthetic brain, each through examples/brain/fit_synthetic.py. Reports,
per configuration, the parameter correlation with the hidden map, the
BOLD correlation with the data, the final spread against the prior's and
the fit's wall time (and its ratio to simulated time). Exit status 1 when
a correlation falls below --require (0.9: the issue's bar).

    . tests/env.sh            # from a build tree
    scripts/bench-assimilation.py [--full] [--json]

Default: the make check configuration (12 regions, 24 members, 20 s) as
the in-invocation baseline, and the same for 40 s. --full adds the
246-region brain (32 members, 720 ms period, 20 s: minutes on 2 cores).
--spiking adds the spiking brain of tests/brain-assimilation.py (4
regions, 8 members, 12 s) and a longer one (5 regions, 10 members, 24 s),
through examples/brain/fit_spiking.py (each compiles a program of
members x regions populations first: minutes)."""
import argparse
import json
import os
import sys
import tempfile

SRC = os.environ.get("TB_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "examples", "brain"))
import fit_spiking  # noqa: E402
import fit_synthetic  # noqa: E402

CONFIGS = [
    ("12 regions, 20 s (the test's size)", dict(regions=12, duration=20000.0, period=500.0, members=24, G=0.25)),
    ("12 regions, 40 s", dict(regions=12, duration=40000.0, period=500.0, members=24, G=0.25)),
]
FULL = ("246 regions, 20 s", dict(regions=246, duration=20000.0, period=720.0, members=32, G=0.05))
SPIKING = [
    ("spiking, 4 regions, 12 s (the test)", dict(regions=4, members=8, duration=12000.0)),
    ("spiking, 5 regions, 24 s", dict(regions=5, members=10, duration=24000.0)),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="also the 246-region brain")
    ap.add_argument("--spiking", action="store_true", help="also the spiking brain's fits")
    ap.add_argument("--json", action="store_true", help="the figures as JSON")
    ap.add_argument("--require", type=float, default=0.9, help="least parameter and BOLD correlation")
    a = ap.parse_args()
    tb = os.environ.get("TWINBRAIN", "twinbrain")
    results, ok = [], True
    runs = [(fit_synthetic, n, c) for n, c in CONFIGS + ([FULL] if a.full else [])]
    runs += [(fit_spiking, n, c) for n, c in (SPIKING if a.spiking else [])]
    for mod, name, cfg in runs:
        with tempfile.TemporaryDirectory() as tmp:
            r = dict(mod.fit(tb, tmp, **cfg), name=name)
        r["pass"] = r["parameter_r"] >= a.require and r["bold_r"] >= a.require
        ok &= r["pass"]
        results.append(r)
        if not a.json:
            print(f"{name:32s} param r {r['parameter_r']:.4f}  BOLD r {r['bold_r']:.4f} "
                  f"(second half {r['bold_r_second_half']:.4f})  spread {r['spread_ratio']:.2f}  "
                  f"{r['fit_seconds']:.1f} s wall ({r['real_time_factor']:.2f} x real time)"
                  f"{'' if r['pass'] else '  BELOW ' + str(a.require)}", flush=True)
    if a.json:
        print(json.dumps({"results": results}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
