"""Every plot kind, drawn by `twinbrain plot` and by twinbrain.plot: a PNG
of the expected size with pixels drawn, and an SVG whose text holds the
title (scenario, device, provenance) and the panel's own words, including
what a large run's subsampling left out. Without matplotlib: skipped."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

twinbrain = pyenv.setup(need_matplotlib=True)
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import twinbrain.plot as tp  # noqa: E402

TB = os.environ["TWINBRAIN"]
EX = os.path.join(pyenv.SRCDIR, "examples")
c = pyenv.Checks()
check = c.check


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def png_pixels_vary(path):
    import matplotlib.image
    img = matplotlib.image.imread(path)
    return img.std() > 0.01


def mass_sweep(tmp):
    """The resting state, short, swept over G and scored against an FC made at G = 0.2."""
    doc = twinbrain.Scenario.load(os.path.join(EX, "resting_state.toml")).resolved()
    doc["simulation"]["duration"] = 6000.0
    for m in doc["monitor"]:
        if m["kind"] == "fc":
            m["start"] = 1000.0
    doc["model"]["parameters"]["G"] = 0.2
    subject = twinbrain.run(twinbrain.Scenario.from_dict(doc, directory=EX, name="subject"), progress=False)
    emp = os.path.join(tmp, "subject_fc.h5")
    with h5py.File(emp, "w") as f:
        f["fc"] = subject.monitors["fc"].data[0, 0]
    for m in doc["monitor"]:
        if m["kind"] == "fc":
            m["empirical"] = emp
    path = os.path.join(tmp, "resting_state.toml")
    with open(path, "w") as f:  # a file, so that the title names it
        f.write(twinbrain.tomlwrite.dumps(doc).replace('"data/synthetic_246.h5"',
                                                       '"' + os.path.join(EX, "data", "synthetic_246.h5") + '"'))
    sc = twinbrain.Scenario.load(path).sweep("model.parameters.G", [0.1, 0.2, 0.3])
    return twinbrain.run(sc, output=os.path.join(tmp, "mass.h5"), progress=False)


with tempfile.TemporaryDirectory() as tmp:
    mass = mass_sweep(tmp)
    spiking = twinbrain.run(twinbrain.Scenario.load(os.path.join(EX, "spiking", "cuba.toml"))
                            .set("simulation.duration", 200.0), output=os.path.join(tmp, "cuba.h5"), progress=False)
    twin = os.path.join(tmp, "twin.h5")  # no kit writes /twin yet: a copy with datasets added
    shutil.copy(mass.path, twin)
    with h5py.File(twin, "a") as f:
        f["twin/responses"] = np.sin(np.linspace(0, 6, 100))
        f["twin/tuning"] = np.outer(np.hanning(20), np.hanning(30))

    check("available(): the mass kinds", tp.available(mass) == ["timeseries", "bold", "fc", "sweep"],
          str(tp.available(mass)))
    check("available(): the spiking kinds", tp.available(spiking) == ["raster", "rates", "stats"],
          str(tp.available(spiking)))
    check("available(): /twin", "twin" in tp.available(twinbrain.open(twin)))

    device = mass.provenance["device"]
    words = {  # what each panel must say, beyond the title
        "timeseries": ["tavg", "8 of 246 regions shown"],
        "bold": ["BOLD", "all 246 regions"],
        "fc": ["simulated FC", "fit to the empirical FC: r =", "subject_fc.h5"],
        "sweep": ["fit score over the sweep (3 instances)", "model.parameters.G"],
        "raster": ["spike raster: 2 populations", "every 8th neuron (400 of 3200)"],
        "rates": ["population rates"],
        "stats": ["ISI CV", "firing rate (Hz)"],
        "twin": ["responses", "tuning"],
    }
    files = {"timeseries": mass.path, "bold": mass.path, "fc": mass.path, "sweep": mass.path,
             "raster": spiking.path, "rates": spiking.path, "stats": spiking.path, "twin": twin}
    scen = {"timeseries": "resting_state.toml", "raster": "cuba.toml"}
    for kind, src in files.items():
        png, svg = os.path.join(tmp, kind + ".png"), os.path.join(tmp, kind + ".svg")
        for out, extra in ((png, ["--dpi", "80"]), (svg, [])):
            done = subprocess.run([TB, "plot", src, "-o", out, "--what", kind, *extra], capture_output=True, text=True)
            check(f"twinbrain plot --what {kind} -o {os.path.basename(out)}: exit 0", done.returncode == 0,
                  f"exit {done.returncode}: {done.stdout} {done.stderr}")
        size = png_size(png) if os.path.exists(png) else None
        check(f"{kind}: a PNG of 10 x 4.5 in at 80 dpi (800 x 360)", size == (800, 360), str(size))
        check(f"{kind}: the PNG has something drawn", size is not None and png_pixels_vary(png))
        text = open(svg, encoding="utf-8").read() if os.path.exists(svg) else ""
        title = scen.get(kind, scen["raster"] if src == spiking.path else "resting_state.toml")
        for w in [title, device, "twinbrain " + twinbrain.__version__, "completed"] + words[kind]:
            check(f"{kind}: the SVG says {w!r}", w in text)

    # the same functions from Python, one kind a figure, and all in one
    for kind in ("timeseries", "bold", "fc", "sweep"):
        fig = getattr(tp, kind)(mass)
        path = tp.save(fig, os.path.join(tmp, f"py-{kind}.png"), dpi=50)
        check(f"twinbrain.plot.{kind}(): a 9 x 4.5 in PNG", png_size(path) == (450, 225), str(png_size(path)))
    fig = tp.figure(spiking)
    path = tp.save(fig, os.path.join(tmp, "all.pdf"))
    check("figure(): every spiking kind in one PDF", open(path, "rb").read(5) == b"%PDF-")
    fig = tp.timeseries(mass, regions=[0, 5], instance=2)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    check("timeseries(): chosen regions and instance", labels == mass.region_labels[:1] + mass.region_labels[5:6]
          and "instance 2" in fig.axes[0].get_title(), f"{labels} {fig.axes[0].get_title()}")
    done = subprocess.run([TB, "plot", spiking.path, "--what", "fc"], capture_output=True, text=True)
    check("a kind the file lacks: exit 2, naming what it has", done.returncode == 2 and "raster" in done.stderr,
          done.stderr)
    done = subprocess.run([TB, "plot", os.path.join(tmp, "none.h5")], capture_output=True, text=True)
    check("a missing file: exit 4", done.returncode == 4, done.stderr)
    done = subprocess.run([TB, "plot", spiking.path], capture_output=True, text=True,
                          env=dict(os.environ, TWINBRAIN_PYTHON=os.path.join(tmp, "no-python")))
    check("no Python: exit 1, saying what to install", done.returncode == 1 and "python3-matplotlib" in done.stderr,
          done.stderr)

c.finish()
