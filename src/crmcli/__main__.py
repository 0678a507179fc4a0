"""Entry point: ``crm`` and ``python -m crmcli``."""

from __future__ import annotations

import sys


def main() -> None:
    # `crm --version` answers before anything heavy is imported (it runs in loops and cron).
    if sys.argv[1:] == ["--version"]:
        from crmcli import __version__

        sys.stdout.write(f"crm {__version__}\n")
        return
    from crmcli.cli import run

    sys.exit(run())


if __name__ == "__main__":
    main()
