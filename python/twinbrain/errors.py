"""Exceptions: one class per exit status of the command (docs/scenario.md).

Every error the library reports becomes a :class:`Error` subclass whose
``status`` is the exit status ``twinbrain`` would return. Scenario errors
carry where they are: ``file``, ``line`` and ``column`` of the first one
(``None`` when the message names no position), and ``errors``, every
``(file, line, column, message)`` the library reported.
"""
import re

__all__ = ["Error", "ScenarioError", "DeviceError", "InputError", "DivergedError", "ResumeError", "Interrupted",
           "from_status"]

_WHERE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")
_OVERRIDE = re.compile(r"^(?P<file>.+?): --set: (?P<msg>.*)$")  # a value given with set(): no line


class Error(Exception):
    """A twinbrain error; ``status`` is the command's exit status for it."""

    status = 1

    def __init__(self, message, status=None, output=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        #: the output file a failed run left behind (interrupted, diverged), else None
        self.output = output
        self.errors = []
        for text in message.splitlines():
            m = _WHERE.match(text)
            if m:
                self.errors.append((m["file"], int(m["line"]), int(m["col"]), m["msg"]))
                continue
            m = _OVERRIDE.match(text)
            if m:
                self.errors.append((m["file"], None, None, m["msg"]))
        first = self.errors[0] if self.errors else (None, None, None, None)
        self.file, self.line, self.column = first[:3]


class ScenarioError(Error):
    """Usage or scenario error (exit status 2)."""

    status = 2


class DeviceError(Error):
    """Device, OpenCL or kernel-build error (exit status 3)."""

    status = 3


class InputError(Error):
    """An input file is missing or malformed, or the output cannot be written (4)."""

    status = 4


class DivergedError(Error):
    """The simulation produced NaN or Inf; ``output`` keeps it up to there (5)."""

    status = 5


class ResumeError(Error):
    """Nothing to resume: the file has no whole checkpoint, or its kind of
    model cannot checkpoint (6)."""

    status = 6


class Interrupted(Error, KeyboardInterrupt):
    """Ctrl-C stopped a run after a chunk; ``output`` holds what it wrote (130).

    It is also a KeyboardInterrupt, so an uncaught one ends a script as
    Ctrl-C would; ``result`` reads the partial output."""

    status = 130

    @property
    def result(self):
        from .result import Result
        return Result(self.output) if self.output else None


_BY_STATUS = {c.status: c for c in (ScenarioError, DeviceError, InputError, DivergedError, ResumeError,
                                            Interrupted)}


def from_status(status, message, output=None):
    """The exception for a library status and message (used by the C extension)."""
    return _BY_STATUS.get(status, Error)(message, status, output)
