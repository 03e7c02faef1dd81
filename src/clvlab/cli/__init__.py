"""The ``clvlab`` command line: one thin function per command over the Python API.

Exit codes: 0 ok, 1 data error, 2 usage error. ``--json`` prints machine-readable output,
``--debug`` adds tracebacks to errors.
"""

from __future__ import annotations

from clvlab.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app(prog_name="clvlab")


__all__ = ["app", "main"]
