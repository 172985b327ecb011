"""The progress bar of a run: tqdm when it is installed, else one line
rewritten in place on stderr."""
import sys

try:
    import tqdm as _tqdm
except ImportError:
    _tqdm = None


class Progress:
    """Called after each chunk with the library's progress figures."""

    def __init__(self, label="twinbrain", stream=None, use_tqdm=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.bar = None
        self.use_tqdm = (_tqdm is not None) if use_tqdm is None else use_tqdm
        self.last_len = 0

    @staticmethod
    def wanted(stream=None):
        """tqdm draws in notebooks too; the plain line needs a terminal."""
        stream = stream or sys.stderr
        return _tqdm is not None or (hasattr(stream, "isatty") and stream.isatty())

    def __call__(self, step, steps, t_ms, duration_ms, wall_seconds, eta_seconds):
        if self.use_tqdm:
            if self.bar is None:
                self.bar = _tqdm.tqdm(total=steps, desc=self.label, unit="step", file=self.stream, leave=False)
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(f"t = {t_ms:g} ms")
            return
        pct = 100.0 * step / steps if steps else 100.0
        eta = f", {eta_seconds:.0f} s left" if eta_seconds == eta_seconds and step < steps else ""
        line = f"\r{self.label}: {pct:5.1f}%  t = {t_ms:g} of {duration_ms:g} ms{eta}"
        self.stream.write(line + " " * max(0, self.last_len - len(line)))
        self.stream.flush()
        self.last_len = len(line)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.last_len:
            self.stream.write("\r" + " " * self.last_len + "\r")
            self.stream.flush()
            self.last_len = 0
