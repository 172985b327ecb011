"""`twinbrain connectome import` on every layout The Virtual Brain's loaders
read (tvb.datatypes.connectivity.Connectivity.from_file and TVB's zip
importer): members plain or compressed as NAME.txt.bz2, at the top of the
zip or in a folder of it, a folder instead of a zip, centres.txt with four
columns or more (label x y z [...]) or three (x y z), the older names
(centers.txt, tract.txt), and the optional hemispheres, cortical, areas and
average orientations. The zips are built here, with Python's zipfile and
bz2, from made-up numbers; each import is checked against them, dataset by
dataset."""
import bz2
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import h5py
import numpy as np

TB = os.environ["TWINBRAIN"]
failures = []
if not shutil.which("unzip") or not shutil.which("bzip2"):
    print("SKIP: the import reads zips with `unzip` and .bz2 with `bzip2` (scripts/install-deps)")
    sys.exit(77)


def check(name, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


N = 7
rng = np.random.default_rng(7)
W = rng.random((N, N)) * (rng.random((N, N)) < 0.6)
np.fill_diagonal(W, 0.0)
L = np.round(rng.random((N, N)) * 120.0, 3)
LABELS = [f"ctx-{'lr'[i % 2]}h-R{i}" for i in range(N)]
CENTRES = np.round(rng.normal(0.0, 40.0, (N, 3)), 4)
HEMI = np.array([i % 2 for i in range(N)], dtype=np.uint8)
CORTICAL = np.array([1, 1, 0, 1, 1, 0, 1], dtype=np.uint8)
AREAS = np.round(rng.random(N) * 3000.0, 2)
ORIENT = np.round(rng.normal(0.0, 1.0, (N, 3)), 5)


def matrix(m):
    return "".join(" ".join(repr(float(x)) for x in row) + "\n" for row in m)


def centres(columns):
    rows = []
    for i in range(N):
        xyz = " ".join(repr(float(x)) for x in CENTRES[i])
        if columns == 3:
            rows.append(xyz)
        else:  # label x y z and columns TVB does not read
            rows.append("\t".join([LABELS[i], xyz] + [f"extra{k}" for k in range(columns - 4)]))
    return "\n".join(rows) + "\n"


def files(centre_columns=4, optional=True, centres_name="centres.txt", tract_name="tract_lengths.txt",
          orient_name="average_orientations.txt"):
    f = {"weights.txt": matrix(W), tract_name: matrix(L)}
    if centre_columns:
        f[centres_name] = centres(centre_columns)
    if optional:
        f["hemispheres.txt"] = "".join(("True" if h else "False") + "\n" for h in HEMI)
        f["cortical.txt"] = "".join(f"{c}\n" for c in CORTICAL)
        f["areas.txt"] = "".join(repr(float(a)) + "\n" for a in AREAS)
        f[orient_name] = "".join(" ".join(repr(float(x)) for x in o) + "\n" for o in ORIENT)
    return f


def make_zip(path, contents, folder="", packed=(), extra=()):
    """contents: name -> text; names in `packed` are stored as NAME.bz2."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in contents.items():
            data = text.encode()
            if name in packed or packed == "all":
                name, data = name + ".bz2", bz2.compress(data)
            z.writestr(folder + name, data)
        for name, data in extra:
            z.writestr(name, data)
    return path


def run_import(src, out, env=None):
    return subprocess.run([TB, "connectome", "import", src, "-o", out], capture_output=True, text=True, env=env)


def read(path):
    with h5py.File(path, "r") as f:
        got = {k: np.array(f[k]) for k in f.keys()}
        got["description"] = f.attrs.get("description", "")
    got["region_labels"] = [s.decode() if isinstance(s, bytes) else s for s in got["region_labels"]]
    return got


def expect(name, src, out, centre_columns=4, optional=True, listed=()):
    r = run_import(src, out)
    if r.returncode != 0:
        check(name, False, f"exit {r.returncode}: {r.stderr.strip()}")
        return
    got = read(out)
    ok = np.array_equal(got["weights"], W) and np.array_equal(got["tract_lengths"], L)
    detail = []
    if centre_columns:
        ok &= np.array_equal(got.get("centres"), CENTRES)
        labels = LABELS if centre_columns >= 4 else [f"region_{i:03d}" for i in range(N)]
        ok &= got["region_labels"] == labels
    else:
        ok &= "centres" not in got
    want_optional = {"hemispheres": HEMI, "cortical": CORTICAL, "areas": AREAS, "orientations": ORIENT}
    for key, value in want_optional.items():
        if optional:
            same = key in got and np.array_equal(got[key], value) and got[key].shape == value.shape
        else:
            same = key not in got
        ok &= same
        if not same:
            detail.append(key)
    for member in listed:
        ok &= member in got["description"]
    if optional:
        ok &= got["cortical"].dtype == np.uint8 and got["hemispheres"].dtype == np.uint8
    check(name, bool(ok), ", ".join(detail) or str(sorted(got)))


def expect_failure(name, src, out, status, message, env=None):
    r = run_import(src, out, env)
    ok = r.returncode == status and message in r.stderr and not os.path.exists(out)
    check(name, ok, f"exit {r.returncode}: {r.stderr.strip()}")


with tempfile.TemporaryDirectory(prefix="tb-tvb-import-") as tmp:
    out = os.path.join(tmp, "out.h5")

    def fresh():
        if os.path.exists(out):
            os.remove(out)
        return out

    z = make_zip(os.path.join(tmp, "plain.zip"), files())
    expect("plain members at the top of the zip", z, fresh(),
           listed=("weights.txt", "cortical.txt", "areas.txt", "average_orientations.txt"))

    z = make_zip(os.path.join(tmp, "bz2.zip"), files(), folder="connectivity_7/", packed="all")
    expect("every member .txt.bz2, in a folder of the zip", z, fresh(),
           listed=("weights.txt.bz2", "tract_lengths.txt.bz2", "centres.txt.bz2", "cortical.txt.bz2"))

    z = make_zip(os.path.join(tmp, "mixed.zip"), files(centre_columns=6), folder="a/b/",
                 packed=("weights.txt", "areas.txt"))
    expect("centres with six columns (label x y z and two TVB ignores), some members .bz2", z, fresh())

    z = make_zip(os.path.join(tmp, "five.zip"), files(centre_columns=5, optional=False))
    expect("centres with five columns, no optional files", z, fresh(), centre_columns=5, optional=False)

    z = make_zip(os.path.join(tmp, "xyz.zip"), files(centre_columns=3))
    expect("centres as bare x y z: regions named by index", z, fresh(), centre_columns=3)

    z = make_zip(os.path.join(tmp, "old.zip"), files(centres_name="centers.txt", tract_name="tract.txt",
                                                     orient_name="orientations.txt"), packed=("tract.txt",))
    expect("older names: centers.txt, tract.txt.bz2, orientations.txt", z, fresh())

    z = make_zip(os.path.join(tmp, "mac.zip"), files(), folder="c/",
                 extra=(("__MACOSX/c/._weights.txt", b"\x00\x05\x16\x07junk"),
                        ("__MACOSX/c/weights.txt", b"not a matrix")))
    expect("macOS resource forks beside the members are ignored", z, fresh())

    folder = os.path.join(tmp, "folder")
    os.mkdir(folder)
    for name, text in files().items():
        packed = name in ("weights.txt", "centres.txt", "cortical.txt")
        with open(os.path.join(folder, name + (".bz2" if packed else "")), "wb") as f:
            f.write(bz2.compress(text.encode()) if packed else text.encode())
    expect("a folder with .txt.bz2 and .txt files", folder, fresh())

    info = subprocess.run([TB, "connectome", "info", out], capture_output=True, text=True)
    check("info names the optional datasets", "also            areas, cortical (5 of 7), orientations" in info.stdout,
          info.stdout)
    info = subprocess.run([TB, "connectome", "info", "--json", out], capture_output=True, text=True)
    check("info --json too", '"areas": true, "orientations": true, "cortical": 5' in info.stdout, info.stdout)

    # Refusals: exit status 4 (input), a message naming the member, no file.
    both = files()
    z = make_zip(os.path.join(tmp, "both.zip"), both, extra=(("weights.txt.bz2", bz2.compress(b"0 1\n1 0\n")),))
    expect_failure("weights.txt and weights.txt.bz2 together", z, fresh(), 4, "holds both weights.txt and "
                   "weights.txt.bz2")
    damaged = files()
    del damaged["areas.txt"]
    z = make_zip(os.path.join(tmp, "broken.zip"), damaged, extra=(("areas.txt.bz2", b"BZh91AY&SY not really"),))
    expect_failure("a damaged .bz2 member", z, fresh(), 4, "broken.zip:areas.txt.bz2: unzip | bzip2 cannot extract")
    bad = files()
    bad["cortical.txt"] = "1\n1\n2\n1\n1\n0\n1\n"
    z = make_zip(os.path.join(tmp, "cortical.zip"), bad)
    expect_failure("cortical.txt with a 2", z, fresh(), 4, "cortical.txt: line 3: '2': expected 0/1 or False/True")
    bad = files()
    bad["areas.txt"] = "1\n2\n-3\n4\n5\n6\n7\n"
    z = make_zip(os.path.join(tmp, "areas.zip"), bad, packed=("areas.txt",))
    expect_failure("a negative area", z, fresh(), 4, "areas.txt.bz2: line 3: '-3': expected a finite number >= 0")
    bad = files()
    bad["areas.txt"] = "1 2 3\n"
    z = make_zip(os.path.join(tmp, "few.zip"), bad)
    expect_failure("too few areas", z, fresh(), 4, "areas.txt: 3 values, but weights.txt has 7 regions")
    bad = files()
    bad["average_orientations.txt"] = "1 0\n" * N
    z = make_zip(os.path.join(tmp, "orient.zip"), bad)
    expect_failure("orientations of two columns", z, fresh(), 4,
                   "average_orientations.txt: line 1 has 2 values, expected 3")
    bad = files()
    bad["centres.txt"] = centres(5).replace("\textra0\n", "\n", 1)
    z = make_zip(os.path.join(tmp, "ragged.zip"), bad)
    expect_failure("centres lines of unequal columns", z, fresh(), 4,
                   "centres.txt: line 2 has 5 columns, the first has 4")

    # Without the bzip2 command a compressed member is refused with a way
    # out: a PATH of every command but bzip2's (the build's libtool wrapper
    # needs a few).
    bin_dir = os.path.join(tmp, "bin")
    os.mkdir(bin_dir)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        for e in os.scandir(d) if os.path.isdir(d) else ():
            target = os.path.join(bin_dir, e.name)
            if "bz" not in e.name and not os.path.lexists(target):
                os.symlink(e.path, target)
    env = dict(os.environ, PATH=bin_dir)
    z = os.path.join(tmp, "bz2.zip")
    expect_failure("no bzip2 command", z, fresh(), 1, "needs the `bzip2` command, which is not installed", env)

if failures:
    print("FAIL: " + ", ".join(failures))
    sys.exit(1)
print("PASS")
