#!/usr/bin/env python3
"""Fit the global coupling G of the resting-state example from Python.

Loads examples/resting_state.toml, shortens it, makes a "subject" FC to fit
(the same model run at G = 0.2 with another noise seed: a stand-in for a
measured FC, which twinbrain does not ship), sweeps G over a range in one
run, reports the best fit and plots it: the fit over G, the best instance's
FC next to the subject's, and its BOLD.

    python3 examples/python/resting_sweep.py --duration 20000 --out /tmp/fit

(the full 60 s example takes about a minute on a CPU).
"""
import argparse
import os

import h5py
import numpy as np

import twinbrain
import twinbrain.plot

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "resting_state.toml")
TRUE_G = 0.2


def shortened(duration):
    """The example's document with every default filled in, made `duration` ms long."""
    doc = twinbrain.Scenario.load(EXAMPLE).resolved()
    doc["simulation"]["duration"] = duration
    for m in doc["monitor"]:
        if m["kind"] == "fc":  # skip the haemodynamic transient: 10 s, or a fifth of a short run
            m["start"] = min(10000.0, duration / 5)
    return doc


def make_subject(doc, path, device):
    """Run the model at TRUE_G with another seed; keep its FC as the subject's."""
    doc = dict(doc, simulation=dict(doc["simulation"], seed=99))
    doc["model"]["parameters"]["G"] = TRUE_G
    sc = twinbrain.Scenario.from_dict(doc, directory=os.path.dirname(EXAMPLE), name="subject")
    r = twinbrain.run(sc, device=device, progress=False)
    fc = r.monitors["fc"].data[0, 0]
    with h5py.File(path, "w") as f:
        f["fc"] = fc
    return fc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60000.0, help="ms (default: the example's 60 s)")
    ap.add_argument("--values", type=int, default=9, help="values of G from 0.05 to 0.45")
    ap.add_argument("--device", default=None, help="device selector (default: auto)")
    ap.add_argument("--out", default=".", help="folder for subject_fc.h5, sweep.h5 and resting_sweep.png")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    doc = shortened(args.duration)
    subject = os.path.abspath(os.path.join(args.out, "subject_fc.h5"))
    make_subject(doc, subject, args.device)

    for m in doc["monitor"]:
        if m["kind"] == "fc":
            m["empirical"] = subject
    sc = twinbrain.Scenario.from_dict(doc, directory=os.path.dirname(EXAMPLE), name="resting_state (G sweep)")
    sc.sweep("model.parameters.G", np.linspace(0.05, 0.45, args.values))
    print(sc.check()["description"])
    result = twinbrain.run(sc, device=args.device, output=os.path.join(args.out, "sweep.h5"))

    b, score, values = result.best()
    print(f"best fit: instance {b}, G = {values['model.parameters.G']:.3f}, r = {score:.3f} "
          f"(the subject was made with G = {TRUE_G})")
    for g, s in zip(result.sweep["model.parameters.G"], result.scores()):
        print(f"  G = {g:.3f}  r = {s:.3f}")
    fig = twinbrain.plot.figure(result, ["sweep", "fc", "bold"])
    png = twinbrain.plot.save(fig, os.path.join(args.out, "resting_sweep.png"))
    print("plot:", png)


if __name__ == "__main__":
    main()
