"""Python values as TOML: what Scenario.from_dict() and Scenario.set() hand
to the library (which reads TOML 1.0)."""
import json
import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(k):
    """A key, bare when TOML allows it, else quoted."""
    k = str(k)
    return k if _BARE.match(k) else _string(k)


def _string(s):
    # JSON's escapes are TOML's, except that TOML has no surrogate pairs:
    # keep non-ASCII characters as they are.
    return json.dumps(s, ensure_ascii=False)


def value(v):
    """One value, inline (arrays and tables included)."""
    if hasattr(v, "tolist"):  # numpy arrays and scalars
        v = v.tolist()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _is_table_array(v):
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def _table(lines, path, table):
    simple = [(k, v) for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for k, v in simple:
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in table.items():
        sub = path + [key(k)]
        if isinstance(v, dict):
            lines.append("")
            lines.append("[" + ".".join(sub) + "]")
            _table(lines, sub, v)
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append("[[" + ".".join(sub) + "]]")
                _table(lines, sub, item)


def dumps(doc):
    """A document: a dict of keys, tables (dicts) and arrays of tables."""
    lines = []
    _table(lines, [], doc)
    return "\n".join(lines).lstrip("\n") + "\n"
