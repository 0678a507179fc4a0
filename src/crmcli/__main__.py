"""Entry point: ``crm`` and ``python -m crmcli``.

Start-up is most of what a typical ``crm`` call costs (it runs in loops and from cron), so:

- the cyclic garbage collector is off while the modules load (importing Typer makes many
  objects and the collector would rescan them again and again: ≈ 20 ms); the root command
  turns it back on, after freezing what start-up made (:func:`crmcli.cli.root`);
- a few standard modules that Typer and the standard library import but no usual command
  runs are loaded on first use instead of at start-up (:func:`defer`, ≈ 5 ms);
- the process ends with ``os._exit`` once output is flushed and the database closed, skipping
  the interpreter's teardown of every loaded module (≈ 20 ms).
"""

from __future__ import annotations

import errno
import gc
import os
import sys
import types
from typing import Any

# Imported at start-up by Typer or the standard library, used by no usual command:
# subprocess (≈ 3 ms with signal, selectors and locale): Typer's --install-completion and
#   `typer.launch`;
# ipaddress: urllib.parse, for the IPv6 host of a URL (pathlib imports urllib.parse);
# tokenize, linecache, textwrap: inspect and traceback, to show source lines and tracebacks;
#   textwrap also formats --help.
# Only pure-Python standard modules that do nothing when imported and whose import cannot
# fail (not bz2 or lzma: shutil checks whether their import works).
DEFERRED = ("subprocess", "ipaddress", "tokenize", "linecache", "textwrap")


class _Deferred(types.ModuleType):
    """A module whose code runs when one of its attributes is first used.

    The module object in ``sys.modules`` is the real one from the start, so identity,
    ``from m import x``, monkeypatching and pickling behave as after a plain import.
    (``importlib.util.LazyLoader`` would load at once here: on Python 3.11 the import
    statement reads ``__spec__`` to check the module is initialised, and any attribute read
    makes a lazy module load.)  Meant for one thread, as ``crm`` runs: a second thread
    reading the module while its code runs could see it half-made.
    """

    def __getattribute__(self, name: str) -> Any:
        if name == "__spec__":
            return super().__getattribute__(name)
        _load(self)
        return getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        _load(self)
        setattr(self, name, value)

    def __delattr__(self, name: str) -> None:
        _load(self)
        delattr(self, name)


def _load(module: types.ModuleType) -> None:
    spec = object.__getattribute__(module, "__spec__")
    # From here on it is a plain module: reads made while its code runs (and by the code
    # itself) are ordinary attribute reads.
    object.__setattr__(module, "__class__", types.ModuleType)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)  # as a failed import leaves it
        raise


def defer(names: tuple[str, ...] = DEFERRED) -> None:
    """Put the modules ``names`` in ``sys.modules``, to be run on first use."""
    from importlib.machinery import SourceFileLoader
    from importlib.util import find_spec, module_from_spec

    for name in names:
        if name in sys.modules:
            continue
        spec = find_spec(name)
        if spec is None or not isinstance(spec.loader, SourceFileLoader):
            continue  # not a plain source module here: imported as usual when asked for
        module = module_from_spec(spec)
        module.__class__ = _Deferred
        sys.modules[name] = module


class _ClosedOutput:
    """Stands for stdout or stderr when the process was started with it closed
    (``crm customer add X >&-``): writing to it fails like writing to a closed descriptor,
    which the error handler reports (the command's change, if committed, stays saved)."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self.name} is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError(errno.EBADF, f"{self.name} is closed")


def guard_streams() -> None:
    """Make closed standard streams harmless.

    A descriptor 0, 1 or 2 closed at start is taken by /dev/null, so that no file crm opens
    later (a backup, an export) gets it and receives what is meant for the terminal.  Python
    leaves ``sys.stdout`` (and the others) None then: stdout becomes a stream whose writes
    fail (the handler says so), stderr and stdin /dev/null."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for _ in closed:
        os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: one of those closed
    if sys.stdin is None:
        sys.stdin = open(os.devnull)  # noqa: SIM115 (for the whole process)
    if sys.stdout is None:
        sys.stdout = _ClosedOutput("standard output")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the whole process)


# Letters that have no plain-ASCII decomposition, for an output that only encodes ASCII.
_ASCII_LETTERS = {
    "đ": "d", "Đ": "D", "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D",
    "ı": "i", "…": "...", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
}  # fmt: skip


def _plain_letters(exc: UnicodeError) -> tuple[str, int]:
    """A codec error handler: what the output's encoding cannot show, written without its
    accents (``Nguyễn`` → ``Nguyen``), else as ``?``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    import unicodedata

    out = []
    for char in exc.object[exc.start : exc.end]:
        if char in _ASCII_LETTERS:
            out.append(_ASCII_LETTERS[char])
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        try:
            base.encode(exc.encoding)
        except UnicodeEncodeError:
            base = ""
        out.append(base or "?")
    return "".join(out), exc.end


def plain_output() -> None:
    """When stdout or stderr cannot encode all of Unicode (``PYTHONIOENCODING=ascii``, a
    Latin-1 locale), print what they cannot without accents instead of failing."""
    import codecs

    registered = False
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            continue
        if name.startswith("utf") or not hasattr(stream, "reconfigure"):
            continue
        if not registered:
            codecs.register_error("crm-plain", _plain_letters)
            registered = True
        stream.reconfigure(errors="crm-plain")


def main() -> None:
    gc.disable()
    defer()
    guard_streams()
    plain_output()
    from crmcli.cli import run

    code = run()
    try:
        sys.stdout.flush()
    except OSError:  # the reader went away (`crm … | head -1`): nothing more to say
        code = code or 1
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
