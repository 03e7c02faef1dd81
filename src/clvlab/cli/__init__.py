"""The ``clvlab`` command line: one thin function per command over the Python API.

Exit codes: 0 ok, 1 data error, 2 usage error, 130 interrupted (Ctrl-C). ``--json`` prints machine-readable output,
``--debug`` adds tracebacks to errors.
"""

from __future__ import annotations

import sys

from clvlab.cli.app import app

#: options of ``clvlab`` itself, accepted after the command too (``clvlab economics --json``)
GLOBAL_FLAGS = ("--json", "--debug")


def global_flags_first(args: list[str]) -> list[str]:
    """``args`` with :data:`GLOBAL_FLAGS` moved before the command (none after a ``--``)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    return [*flags, *(a for a in args[:end] if a not in GLOBAL_FLAGS), *args[end:]]


def main() -> None:
    """Console-script entry point."""
    app(args=global_flags_first(sys.argv[1:]), prog_name="clvlab")


__all__ = ["app", "main"]
