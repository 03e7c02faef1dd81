"""Reading the small YAML/TOML files users configure clvlab with (mappings, alert rules)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clvlab.errors import ClvlabError


def read_config_file(path: str | Path, *, what: str, error: type[ClvlabError]) -> dict[str, Any]:
    """The mapping held by a ``.toml`` or ``.yaml``/``.yml`` file (BOM tolerated).

    ``what`` names the file in messages ("config file", "alert rules file"); ``error`` is the
    exception raised when the file is missing, unparseable or not a mapping.
    """
    p = Path(path)
    if not p.exists():
        msg = f"{what} '{p}' does not exist"
        raise error(msg)
    text = p.read_text(encoding="utf-8-sig")
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:  # yaml.YAMLError, tomllib.TOMLDecodeError
        msg = f"cannot parse {what} '{p}': {exc}"
        raise error(msg) from exc
    if not isinstance(data, dict):
        msg = f"{what} '{p}' must hold a mapping of options, got {type(data).__name__}"
        raise error(msg)
    return data


def read_config(source: str | Path | Mapping[str, Any], *, name: str, what: str,
                error: type[ClvlabError]) -> tuple[dict[str, Any], str]:
    """The mapping ``source`` is (a dict) or holds (a file, see :func:`read_config_file`), and how
    messages name it: ``name`` for a dict, the quoted path for a file."""
    if isinstance(source, Mapping):
        return dict(source), name
    path = Path(source)
    return read_config_file(path, what=what, error=error), f"'{path}'"
