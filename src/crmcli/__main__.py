"""Entry point: ``crm`` and ``python -m crmcli``.

Start-up is most of what a typical ``crm`` call costs (it runs in loops and from cron), so:

- the cyclic garbage collector is off while the modules load (importing Typer makes many
  objects and the collector would rescan them again and again: ≈ 20 ms); the root command
  turns it back on, after freezing what start-up made (:func:`crmcli.cli.root`);
- the process ends with ``os._exit`` once output is flushed and the database closed, skipping
  the interpreter's teardown of every loaded module (≈ 20 ms).
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    gc.disable()
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
