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


def main() -> None:
    gc.disable()
    defer()
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
