"""Load options, config files and the mapping of source columns to canonical names.

A config file (YAML ``.yml``/``.yaml`` or TOML ``.toml``) holds the same options as the keyword
arguments of :meth:`~clvlab.data.workspace.Workspace.load_transactions`::

    # cdnow_sample.yml: CDNOW_sample.txt has no header
    header: false
    columns: [customer_id, customer_index, date, cds, dollar_value]
    sep: whitespace
    date_format: "%Y%m%d"
    timezone: UTC
    decimal: "."
    mapping: {ordered_at: date, amount: dollar_value, quantity: cds}

Keyword arguments given explicitly win over the config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from clvlab._config import read_config_file
from clvlab.data.contract import TableContract, normalise_name
from clvlab.data.refunds import RULES
from clvlab.errors import DataValidationError, Hint, ParameterError, check_param

#: the shape of a mapping: the table's column first, then the source's
MAPPING_HINT = Hint("the table's column first, then the file's", option="mapping",
                    value={"<canonical>": "<source column>"})

_CONFIG_KEYS = {"mapping", "date_format", "timezone", "decimal", "sep", "header", "columns",
                "scales", "refunds", "encoding"}


@dataclass
class LoadOptions:
    """Every option of one load, after merging the config file and keyword arguments."""

    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    timezone: str = "UTC"
    decimal: str = "."
    sep: str | None = None
    header: bool | None = None
    columns: list[str] | None = None
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    refunds: str = "net"
    encoding: str | None = None


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML or TOML config file into a dict, checking its keys."""
    p = Path(path)
    data = read_config_file(p, what="config file", error=ParameterError)
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        msg = (
            f"config file '{p}' has unknown key(s) {unknown}; "
            f"allowed: {sorted(_CONFIG_KEYS)}"
        )
        raise ParameterError(msg)
    return data


def build_options(config: str | Path | dict[str, Any] | None, **given: Any) -> LoadOptions:
    """Merge ``config`` (file path or dict) with explicitly ``given`` keyword options."""
    merged: dict[str, Any] = {}
    if config is not None:
        merged.update(config if isinstance(config, dict) else read_config(config))
    for k, v in given.items():
        if v is not None:
            merged[k] = v
    known = {f.name for f in fields(LoadOptions)}
    opts = LoadOptions(**{k: v for k, v in merged.items() if k in known})
    where = "load"
    check_param(isinstance(opts.mapping, dict), "mapping", where,
                "a dict {canonical_name: source_column}", opts.mapping)
    opts.mapping = {str(k): str(v) for k, v in opts.mapping.items()}
    check_param(opts.decimal in (".", ","), "decimal", where, "'.' or ','", opts.decimal)
    check_param(opts.header is None or isinstance(opts.header, bool), "header", where,
                "a bool", opts.header)
    check_param(opts.columns is None or isinstance(opts.columns, list), "columns", where,
                "a list of column names", opts.columns)
    if opts.sep is not None:
        opts.sep = {"tab": "\t", "\\t": "\t", "space": "whitespace", " ": "whitespace"}.get(
            opts.sep, opts.sep
        )
    check_param(opts.sep is None or opts.sep == "whitespace" or len(opts.sep) == 1, "sep",
                where, "one character or 'whitespace'", opts.sep)
    check_param(isinstance(opts.timezone, str), "timezone", where, "an IANA zone name",
                opts.timezone)
    check_param(opts.encoding is None or isinstance(opts.encoding, str), "encoding", where,
                "a text encoding name such as 'gb18030'", opts.encoding)
    check_param(opts.refunds in RULES, "refunds", where, f"one of {', '.join(map(repr, RULES))}",
                opts.refunds)
    check_param(isinstance(opts.scales, dict), "scales", where,
                "a dict {metric: [low, high]}", opts.scales)
    scales: dict[str, tuple[float, float]] = {}
    for k, v in opts.scales.items():
        ok = (isinstance(v, (list, tuple)) and len(v) == 2
              and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
              and v[0] <= v[1])
        check_param(ok, "scales", where, f"a dict {{metric: [low, high]}} with low <= high "
                    f"(entry {k!r})", v)
        scales[str(k).strip().lower()] = (float(v[0]), float(v[1]))
    opts.scales = scales
    return opts


def resolve_mapping(
    contract: TableContract, available: list[str], mapping: dict[str, str], source: str
) -> dict[str, str]:
    """Return ``{canonical: source_column}`` for every canonical column found in the source.

    Explicit ``mapping`` entries come first and must name existing columns; then a source column
    with the canonical name, then one matching an alias (all compared case- and
    separator-insensitively).  A source column is used for at most one canonical column.

    Raises
    ------
    DataValidationError
        A mapping names an unknown canonical column or a missing source column, or a required
        column (not derivable) is absent.
    """
    names = contract.names
    cols = ", ".join(available)
    for canon, src in mapping.items():
        if canon not in names:
            msg = (
                f"mapping names '{canon}', which is not a column of table '{contract.name}' "
                f"(its columns: {', '.join(names)})"
            )
            raise DataValidationError(msg, hint=MAPPING_HINT)
        if src not in available:
            close = [c for c in available if normalise_name(c) == normalise_name(src)]
            msg = (
                f"mapping '{canon}' -> '{src}': '{source}' has no column '{src}'; "
                f"available columns: {cols}"
            )
            hint = Hint(option="mapping", value={canon: close[0]}) if close else None
            raise DataValidationError(msg, hint=hint)
    result = dict(mapping)
    used = set(result.values())
    by_norm: dict[str, str] = {}
    for c in available:
        by_norm.setdefault(normalise_name(c), c)
    for passes in ("name", "alias"):
        for col in contract.columns:
            if col.name in result:
                continue
            cands = [col.name] if passes == "name" else list(col.aliases)
            for cand in cands:
                found = by_norm.get(normalise_name(cand))
                if found is not None and found not in used:
                    result[col.name] = found
                    used.add(found)
                    break
    derivable = {d.target for d in contract.derivations if all(i in result for i in d.inputs)}
    missing = [c for c in contract.required if c not in result and c not in derivable]
    if missing:
        alt = ""
        for d in contract.derivations:
            if d.target in missing:
                alt = f" ({d.target} may also come from {' and '.join(d.inputs)})"
        first = missing[0]
        msg = (
            f"'{source}' has no column for required {', '.join(repr(m) for m in missing)} of "
            f"table '{contract.name}'{alt}; available columns: {cols}"
        )
        hints = [Hint("or 'mapping' in a config file", option="mapping", value={first: "<column>"})]
        if contract.wide is not None and first in (contract.wide.value, contract.wide.by):
            hints.append(Hint(f"one column per {contract.wide.by}", option="mapping",
                              value={f"{contract.wide.value}:<{contract.wide.by}>": "<column>"}))
        raise DataValidationError(msg, hint=hints)
    return {c: result[c] for c in names if c in result}
