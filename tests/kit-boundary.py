"""The foundation names no kit: outside comments, no file of core/ (the
folders of the kits, the command line and the benchmarks aside) and no
foundation header of include/twinbrain/ says "mass" or "spiking" (or a
later kit's name). A kit reaches the core through its tb_kit table only
(docs/architecture.md, "One core, several kits")."""
import os
import re
import sys

src = os.environ.get("TB_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
KITS = ["mass", "spiking", "twin", "perturb"]
# the public headers of the kits themselves, and the umbrella that includes them all
KIT_HEADERS = {"mass.h", "spiking.h", "twin.h", "perturb.h", "twinbrain.h"}


def code_only(text):
    """The text with comments blanked (strings kept: a kit's name in a
    string is a kit named in code)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def files():
    core = os.path.join(src, "core")
    for name in sorted(os.listdir(core)):
        if name.endswith((".c", ".h")):
            yield os.path.join(core, name)
    inc = os.path.join(src, "include", "twinbrain")
    for name in sorted(os.listdir(inc)):
        if name.endswith(".h") and name not in KIT_HEADERS:
            yield os.path.join(inc, name)


# a kit's name as a word or a part of an identifier (tb_mass_kit), not inside
# another word (twinbrain)
word = re.compile(r"(?i)(?<![a-z])(" + "|".join(KITS) + r")(?![a-z])")
bad = 0
checked = 0
for path in files():
    checked += 1
    with open(path, encoding="utf-8") as f:
        code = code_only(f.read())
    for no, line in enumerate(code.split("\n"), 1):
        if word.search(line):
            print(f"FAIL: {os.path.relpath(path, src)}:{no}: names a kit outside a comment: {line.strip()}")
            bad += 1
print(f"{checked} foundation files checked, {bad} lines name a kit")
if checked < 20:
    print("FAIL: fewer foundation files than expected: is TB_SRCDIR right?")
    sys.exit(1)
sys.exit(1 if bad else 0)
