"""Parse and check the staged rows and give each its key: temp table ``_clv_parsed``.

One SQL statement turns the staged VARCHAR source into parsed canonical columns, the first
problem of each row (``_column``, ``_reason``, ``_value``), a content hash ``_h``, the
occurrence ``_dup`` among identical rows and the row key ``_key`` (see
:class:`~clvlab.data.contract.Key`).
"""

from __future__ import annotations

from typing import Any

from clvlab.data.contract import SQL_TYPES, TableContract
from clvlab.data.mapping import LoadOptions
from clvlab.data.parse import (
    category_expr,
    decimal_expr,
    id_expr,
    integer_expr,
    json_expr,
    number_expr,
    number_text,
    present,
    string_expr,
    timestamp_expr,
)
from clvlab.data.progress import run_sql
from clvlab.data.sources import Staged, quote_ident, quote_str

PARSED = "_clv_parsed"
#: dates outside these years are rejected as placeholders or typos (0001-01-01, 9999-12-31)
PLAUSIBLE_YEARS = (1900, 2199)


def parse_exprs(
    contract: TableContract, mapping: dict[str, str], fmt: str | None, opts: LoadOptions
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Parsed SQL per mapped canonical column, and the ordered checks
    ``(column, condition, reason)``.  Both read level-0 names: ``_r_<col>`` (raw text) and
    ``_ok_<col>`` (the raw value is present); checks also read the parsed ``<col>``."""
    parsed: dict[str, str] = {}
    checks: list[tuple[str, str, str]] = []
    needed = set(contract.required)
    for d in contract.derivations:
        if d.target not in mapping and all(i in mapping for i in d.inputs):
            needed |= set(d.inputs)
    for col in contract.columns:
        if col.name not in mapping:
            continue
        raw = quote_ident("_r_" + col.name)
        ok = quote_ident("_ok_" + col.name)
        if col.kind == "id":
            expr = id_expr(raw, ok)
        elif col.kind in ("string", "text"):
            expr = string_expr(raw, ok)
        elif col.kind == "category":
            expr = category_expr(raw, ok, col.values)
        elif col.kind == "json":
            expr = json_expr(raw, ok)
        elif col.kind == "number":
            expr = number_expr(raw, opts.decimal)
        elif col.kind == "decimal":
            expr = decimal_expr(raw, opts.decimal)
        elif col.kind == "integer":
            expr = integer_expr(raw, opts.decimal)
        else:
            expr = timestamp_expr(raw, fmt or "ISO", opts.timezone)
        parsed[col.name] = expr
        if col.name in needed:
            what = "customer id" if col.name == "customer_id" else col.name
            checks.append((col.name, f"NOT {ok}", f"missing {what}"))
        name = quote_ident(col.name)
        if col.kind in ("decimal", "integer", "number"):
            big = f"TRY_CAST({number_text(raw, opts.decimal)} AS DOUBLE)"
            checks.append((col.name, f"{name} IS NULL AND {ok} AND abs({big}) >= 1e14",
                           "too large (amounts and numbers must lie below 1e14 in absolute value)"))
        bad = {
            "timestamp": f"not a date (expected {fmt or 'ISO 8601'})",
            "decimal": "not a number",
            "number": "not a number",
            "integer": "not a whole number",
        }.get(col.kind)
        if bad:
            checks.append((col.name, f"{name} IS NULL AND {ok}", bad))
        if col.kind == "json":
            checks.append((col.name, f"{ok} AND NOT json_valid(trim({raw}))",
                           "not valid JSON (properties must be a JSON object such as "
                           "{\"page\": \"/home\"})"))
            checks.append((col.name, f"{name} IS NULL AND {ok}",
                           "not a JSON object (an array or a bare value; use {\"key\": value})"))
        if col.kind == "timestamp":
            low, high = PLAUSIBLE_YEARS
            checks.append((col.name, f"NOT year({name}) BETWEEN {low} AND {high}",
                           f"implausible date (year outside {low}-{high})"))
    checks += _scale_checks(contract, mapping, opts)
    return parsed, checks


def _scale_checks(contract: TableContract, mapping: dict[str, str], opts: LoadOptions
                  ) -> list[tuple[str, str, str]]:
    """Checks of ``contract.scale``: known category, whole values, value within range."""
    sc = contract.scale
    if sc is None or sc.by not in mapping or sc.value not in mapping:
        return []
    ranges = {**sc.ranges, **opts.scales}
    by, val = quote_ident(sc.by), quote_ident(sc.value)
    known = ", ".join(quote_str(k) for k in ranges)
    checks = [(sc.by, f"{by} IS NOT NULL AND {by} NOT IN ({known})",
               f"unknown {sc.by} (known: {', '.join(ranges)})")]
    for cat, (low, high) in ranges.items():
        c = quote_str(cat)
        if cat in sc.whole:
            checks.append((sc.value, f"{by} = {c} AND {val} <> floor({val})",
                           f"not a whole number on the {cat} scale"))
        checks.append((sc.value, f"{by} = {c} AND {val} NOT BETWEEN {low} AND {high}",
                       f"outside the {cat} scale {low:g}-{high:g}"))
    return checks


def build_parsed(
    con: Any,
    contract: TableContract,
    staged: Staged,
    mapping: dict[str, str],
    fmt: str | None,
    opts: LoadOptions,
    progress: bool,
) -> None:
    """Create temp table ``_clv_parsed``: parsed canonical columns, the first problem of each
    row (``_column``, ``_reason``, ``_value``), content hash ``_h``, occurrence ``_dup``, and
    the row key ``_key``."""
    parsed, checks = parse_exprs(contract, mapping, fmt, opts)
    level0 = ["s._row", *(["s._part"] if staged.parts else [])]
    for c, src in mapping.items():
        level0.append(f"s.{quote_ident(src)} AS {quote_ident('_r_' + c)}")
        level0.append(f"{present('s.' + quote_ident(src))} AS {quote_ident('_ok_' + c)}")
    content = ", ".join(f"coalesce(s.{quote_ident(c)}, chr(0))" for c in staged.columns)
    level0.append(f"md5_number(concat_ws(chr(31), {content})) AS _h")
    level1 = ["_row", "_h", *(["_part"] if staged.parts else [])]
    for col in contract.columns:
        expr = parsed.get(col.name, "NULL")
        level1.append(f"CAST({expr} AS {SQL_TYPES[col.kind]}) AS {quote_ident(col.name)}")
    level1 += [quote_ident("_r_" + c) for c in mapping]
    level1 += [quote_ident("_ok_" + c) for c in mapping]
    if checks:
        idx = " ".join(f"WHEN {c} THEN {i + 1}" for i, (_, c, _) in enumerate(checks))
        problem = f"CASE {idx} END"
        col_list = "[" + ", ".join(quote_str(k) for k, _, _ in checks) + "]"
        why_list = "[" + ", ".join(quote_str(r) for _, _, r in checks) + "]"
        value = " ".join(
            f"WHEN {i + 1} THEN {quote_ident('_r_' + k)}" for i, (k, _, _) in enumerate(checks)
        )
        problems = (f"{col_list}[_p] AS _column, {why_list}[_p] AS _reason, "
                    f"CASE _p {value} END AS _value")
    else:
        problem = "NULL::INTEGER"
        problems = "NULL::VARCHAR AS _column, NULL::VARCHAR AS _reason, NULL::VARCHAR AS _value"
    raws = [quote_ident("_r_" + c) for c in mapping] + [quote_ident("_ok_" + c) for c in mapping]
    targets = [d for d in contract.derivations if d.target not in mapping]
    derived = "".join(
        f", CAST({d.sql} AS DECIMAL(18,4)) AS {quote_ident(d.target)}" for d in targets
    )
    key = contract.key_for(mapping)
    keyed = all(c in mapping for c in key.columns)
    kcols = ", ".join(quote_ident(c) for c in key.columns)
    fill_line = keyed and key.line is not None and key.line not in mapping
    line_sel = ""
    if fill_line:
        line_sel = (
            f", CASE WHEN {quote_ident(key.columns[0])} IS NOT NULL THEN "
            f"row_number() OVER (PARTITION BY {kcols} ORDER BY _row) END AS {quote_ident(key.line or '')}"
        )
    excl = [quote_ident(d.target) for d in targets]
    if fill_line:
        excl.append(quote_ident(key.line or ""))
    level3 = f"* EXCLUDE ({', '.join([*excl, *raws, '_p'])})"
    base_parts = [*key.columns, *([key.line] if key.line else [])]
    base = "concat_ws('|', " + ", ".join(
        f"CAST({quote_ident(c)} AS VARCHAR)" for c in base_parts) + ")"
    null_key = " OR ".join(f"{quote_ident(c)} IS NULL" for c in key.columns)
    if keyed and fill_line:  # (key, generated line) is unique by construction: no window
        kexpr = (f"CASE WHEN {null_key} THEN 'h:' || hex(_h) || '#' || _dup "
                 f"ELSE 'k:' || {base} || '#1' END AS _key, 1 AS _occ, _row AS _first")
    elif keyed:
        # with merge_identical, exact repeats (_dup > 1, never stored) are not numbered
        part = f"{base}, _dup = 1" if key.merge_identical else base
        occ = f"row_number() OVER (PARTITION BY {part} ORDER BY _row)"
        kexpr = (f"CASE WHEN {null_key} THEN 'h:' || hex(_h) || '#' || _dup "
                 f"ELSE 'k:' || {base} || '#' || {occ} END AS _key, "
                 f"CASE WHEN {null_key} THEN 1 ELSE {occ} END AS _occ, "
                 f"min(_row) OVER (PARTITION BY {base}) AS _first")
    else:
        kexpr = "'h:' || hex(_h) || '#' || _dup AS _key, 1 AS _occ, _row AS _first"
    sql = f"""
    CREATE OR REPLACE TEMP TABLE {PARSED} AS
    WITH p0 AS (SELECT {", ".join(level0)} FROM {staged.table} s),
    p1 AS (SELECT {", ".join(level1)} FROM p0),
    p2 AS (SELECT *, {problem} AS _p FROM p1),
    p3 AS (SELECT {level3}, {problems}{derived}{line_sel},
                  row_number() OVER (PARTITION BY _h ORDER BY _row) AS _dup FROM p2)
    SELECT *, {kexpr} FROM p3
    """
    run_sql(con, sql, progress, f"checking {staged.name}")
    if key.unique and keyed:
        first = key.columns[0]
        what = " with different content" if key.merge_identical else ""
        only = " AND _dup = 1" if key.merge_identical else ""
        con.execute(
            f"UPDATE {PARSED} SET _column = {quote_str(first)}, _reason = 'duplicate ' || "
            f"{quote_str(first + what)} || ' (first in row ' || _first || ')', "
            f"_value = CAST({quote_ident(first)} AS VARCHAR) "
            f"WHERE _reason IS NULL AND _occ > 1{only}"
        )
