"""Load a source into a stored table, driven by its :class:`~clvlab.data.contract.TableContract`.

Steps, all in DuckDB SQL: stage the source as VARCHAR (:mod:`clvlab.data.sources`), map columns
(:mod:`clvlab.data.mapping`), parse and validate every value (:mod:`clvlab.data.parse`), build
row keys, write rejected rows to a rejects file, then insert the good rows that are not already
stored in ONE transaction (an anti-join on ``_key`` makes a re-load a no-op).

Exact duplicate rows (identical in every source column) are kept as separate rows and reported;
with ``merge_duplicates=True`` each group is stored once with its additive columns (amount,
quantity, margin, cost) summed.  Tables whose key has ``merge_identical`` (feedback) always store
an exact repeat once.

Before parsing, :mod:`clvlab.data.prepare` unpivots wide sources (``score:nps`` mappings) and
cleans text columns, masking personal data in the staged source itself: rejects files hold the
masked text, never the original.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clvlab.data.contract import SQL_TYPES, TableContract
from clvlab.data.mapping import LoadOptions, resolve_mapping
from clvlab.data.parse import (
    category_expr,
    check_timezone,
    decimal_expr,
    id_expr,
    infer_date_format,
    integer_expr,
    number_expr,
    present,
    string_expr,
    suggest_date_format,
    timestamp_expr,
)
from clvlab.data.prepare import clean_staged, split_wide, suffix_keys, unpivot
from clvlab.data.progress import run_sql
from clvlab.data.sources import Staged, quote_ident, quote_str, stage_source
from clvlab.errors import DataValidationError, Issue

#: columns summed when exact duplicate rows are merged
ADDITIVE = ("amount", "quantity", "margin", "cost")
_STAGE = "_clv_stage"
_PARSED = "_clv_parsed"


@dataclass
class LoadReport:
    """What one load did. ``str()`` is a readable summary, :meth:`to_dict` feeds ``--json``.

    Attributes
    ----------
    rows_read : data rows in the source (header and blank lines excluded).
    inserted : rows written to the table.
    already_present : valid rows whose key was already stored with the same values (a re-load).
    updated : valid rows whose key was stored with other values, now updated (tables whose key
        allows it: customers).
    rejected : rejected row counts by ``"column: reason"``.
    duplicates : rows identical to an earlier row of the same source.
    merged : duplicate rows folded into their first occurrence (``merge_duplicates=True``).
    refunds : valid rows flagged ``is_refund``.
    no_customer : rows rejected for a missing customer id.
    """

    source: str
    table: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    already_present: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    merged: int = 0
    refunds: int = 0
    no_customer: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None

    @property
    def n_rejected(self) -> int:
        """Total rejected rows."""
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``n_rejected``."""
        d = asdict(self)
        d["n_rejected"] = self.n_rejected
        return d

    def __str__(self) -> str:
        lines = [
            f"Loaded '{self.source}' into '{self.table}' in {self.seconds:.2f} s",
            f"  rows read        {self.rows_read:>12,}",
            f"  inserted         {self.inserted:>12,}",
            *([f"  updated          {self.updated:>12,}"] if self.updated else []),
            f"  already present  {self.already_present:>12,}",
            f"  rejected         {self.n_rejected:>12,}",
        ]
        lines += [f"    {reason}: {n:,}" for reason, n in sorted(self.rejected.items())]
        if self.duplicates:
            how = "merged" if self.merged else "kept as separate rows"
            lines.append(f"  exact duplicates {self.duplicates:>12,}  ({how})")
        if self.refunds:
            lines.append(f"  refunds flagged  {self.refunds:>12,}")
        if self.rejects_path:
            lines.append(f"  rejected rows written to {self.rejects_path}")
        if self.mapping:
            pairs = ", ".join(f"{k} <- {v}" for k, v in self.mapping.items())
            lines.append(f"  columns: {pairs}")
        if self.date_format:
            lines.append(f"  date format: {self.date_format}")
        return "\n".join(lines)


def _parse_exprs(
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
        bad = {
            "timestamp": f"not a date (expected {fmt or 'ISO 8601'})",
            "decimal": "not a number",
            "number": "not a number",
            "integer": "not a whole number",
        }.get(col.kind)
        if bad:
            checks.append((col.name, f"{quote_ident(col.name)} IS NULL AND {ok}", bad))
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


def _build_parsed(
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
    parsed, checks = _parse_exprs(contract, mapping, fmt, opts)
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
    key = contract.key
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
        occ = f"row_number() OVER (PARTITION BY {base} ORDER BY _row)"
        kexpr = (f"CASE WHEN {null_key} THEN 'h:' || hex(_h) || '#' || _dup "
                 f"ELSE 'k:' || {base} || '#' || {occ} END AS _key, "
                 f"CASE WHEN {null_key} THEN 1 ELSE {occ} END AS _occ, "
                 f"min(_row) OVER (PARTITION BY {base}) AS _first")
    else:
        kexpr = "'h:' || hex(_h) || '#' || _dup AS _key, 1 AS _occ, _row AS _first"
    sql = f"""
    CREATE OR REPLACE TEMP TABLE {_PARSED} AS
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
            f"UPDATE {_PARSED} SET _column = {quote_str(first)}, _reason = 'duplicate ' || "
            f"{quote_str(first + what)} || ' (first in row ' || _first || ')', "
            f"_value = CAST({quote_ident(first)} AS VARCHAR) "
            f"WHERE _reason IS NULL AND _occ > 1{only}"
        )


def _rejects_file(
    con: Any, staged: Staged, mapping: dict[str, str], path: Path
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    reserved = {"row", "column", "value", "reason"}
    orig = ", ".join(
        f"s.{quote_ident(c)} AS {quote_ident('source_' + c if c in reserved else c)}"
        for c in staged.columns
    )
    case = " ".join(f"WHEN {quote_str(k)} THEN {quote_str(v)}" for k, v in mapping.items())
    col = f"CASE p._column {case} ELSE p._column END" if case else "p._column"
    tmp = path.with_name(path.name + ".tmp")
    using = "_row, _part" if staged.parts else "_row"
    con.execute(
        f"COPY (SELECT p._row AS row, {col} AS column, p._reason AS reason, {orig} "
        f"FROM {_PARSED} p JOIN {staged.table} s USING ({using}) WHERE p._reason IS NOT NULL "
        f"ORDER BY p._row) TO {quote_str(str(tmp))} (FORMAT csv, HEADER true)"
    )
    tmp.replace(path)


def _create_table(con: Any, contract: TableContract) -> None:
    cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in contract.stored_schema())
    con.execute(f"CREATE TABLE IF NOT EXISTS {quote_ident(contract.name)} ({cols})")


def _update_sql(contract: TableContract, mapped: Sequence[str], source_name: str) -> str | None:
    """UPDATE of stored rows whose key is in the valid parsed rows with other values in
    ``mapped`` columns (NULLs in the source keep the stored value); None if nothing can change."""
    cols = [c for c in contract.names if c in mapped and c not in contract.key.columns]
    if not contract.key.update or not cols:
        return None
    target = quote_ident(contract.name)
    sets = ", ".join(f"{quote_ident(c)} = coalesce(v.{quote_ident(c)}, t.{quote_ident(c)})"
                     for c in cols)
    changed = " OR ".join(f"(v.{quote_ident(c)} IS NOT NULL AND v.{quote_ident(c)} IS DISTINCT FROM "
                          f"t.{quote_ident(c)})" for c in cols)
    return f"""
    UPDATE {target} AS t SET {sets}, _source = {quote_str(source_name)},
           _loaded_at = timezone('UTC', now())
    FROM (SELECT * FROM {_PARSED} WHERE _reason IS NULL AND _dup = 1) v
    WHERE t._key = v._key AND ({changed})
    """


def _insert(
    con: Any, contract: TableContract, source_name: str, merge: bool, progress: bool,
    mapped: Sequence[str] = (),
) -> tuple[int, int]:
    """Insert the valid, not yet stored rows (and update changed ones, where the key allows it)
    in one transaction; return (inserted, updated)."""
    names = contract.names
    target = quote_ident(contract.name)
    sel = []
    for n in names:
        if merge and n in ADDITIVE:
            sel.append(f"sum({quote_ident(n)}) OVER (PARTITION BY _h) AS {quote_ident(n)}")
        else:
            sel.append(quote_ident(n))
    flags = ", ".join(f"coalesce({cond}, false) AS {quote_ident(f)}"
                      for f, cond in contract.flags.items())
    inner = f"SELECT {', '.join(sel)}, _key, _dup, _row FROM {_PARSED} WHERE _reason IS NULL"
    keep = "WHERE _dup = 1" if merge else ""
    all_cols = ", ".join(quote_ident(n) for n, _ in contract.stored_schema())
    sql = f"""
    INSERT INTO {target} ({all_cols})
    SELECT {", ".join(quote_ident(n) for n in names)}{", " + flags if flags else ""}, _key,
           {quote_str(source_name)}, timezone('UTC', now())
    FROM ({inner}) v {keep}
    {"AND" if keep else "WHERE"} NOT EXISTS (SELECT 1 FROM {target} t WHERE t._key = v._key)
    ORDER BY v._row
    """
    update = _update_sql(contract, mapped, source_name)
    updated = 0
    con.execute("BEGIN TRANSACTION")
    try:
        _create_table(con, contract)
        if update is not None:  # before the insert, so new rows are not compared with themselves
            updated = int(con.execute(update).fetchone()[0])
        before = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        run_sql(con, sql, progress, f"inserting into {contract.name}")
        after = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(after - before), updated


def load_table(
    con: Any,
    contract: TableContract,
    source: Any,
    opts: LoadOptions,
    *,
    merge_duplicates: bool = False,
    rejects: str | Path | None = None,
    rejects_dir: Path | None = None,
    progress: bool = False,
) -> LoadReport:
    """Load ``source`` into ``contract.name`` on DuckDB connection ``con``; see the module doc."""
    t0 = time.perf_counter()
    check_timezone(con, opts.timezone)
    try:
        staged = stage_source(con, source, _STAGE, sep=opts.sep, header=opts.header,
                              names=opts.columns)
        report = LoadReport(source=staged.name, table=contract.name, rows_read=staged.rows)
        if staged.rows == 0:
            msg = f"'{staged.name}' has no data rows"
            raise DataValidationError(msg, hint="check the file, its separator and header")
        plain, wide = split_wide(contract, opts.mapping)
        extra = unpivot(con, contract, staged, wide) if wide else {}
        mapping = resolve_mapping(contract, staged.columns, {**plain, **extra}, staged.name)
        if wide:
            suffix_keys(con, contract, staged, mapping)
        clean_staged(con, contract, staged, mapping)
        report.mapping = {k: v for k, v in mapping.items() if k not in extra}
        if contract.wide is not None:
            report.mapping.update({f"{contract.wide.value}:{c}": s for c, s in wide.items()})
        merge_duplicates = merge_duplicates or contract.key.merge_identical
        fmt = opts.date_format
        ts_cols = [c.name for c in contract.columns if c.kind == "timestamp" and c.name in mapping]
        if fmt is None and ts_cols:
            fmt = infer_date_format(con, _STAGE, mapping[ts_cols[0]], staged.name,
                                    opts.timezone)
        report.date_format = fmt
        _build_parsed(con, contract, staged, mapping, fmt, opts, progress)
        if wide and contract.wide is not None:  # locate value problems in the wide column
            case = " ".join(f"WHEN {quote_str(c)} THEN {quote_str(s)}" for c, s in wide.items())
            con.execute(f"UPDATE {_PARSED} SET _column = CASE {quote_ident(contract.wide.by)} "
                        f"{case} END WHERE _column = {quote_str(contract.wide.value)}")
        stats = con.execute(
            f"SELECT count(*) FILTER (_dup > 1), count(*) FILTER (_reason IS NULL AND _dup > 1),"
            f" count(*) FILTER (_reason IS NULL) FROM {_PARSED}"
        ).fetchone()
        report.duplicates = int(stats[0])
        report.merged = int(stats[1]) if merge_duplicates else 0
        good = int(stats[2])
        rows = con.execute(
            f"SELECT _column, _reason, count(*) FROM {_PARSED} WHERE _reason IS NOT NULL "
            "GROUP BY ALL ORDER BY 3 DESC"
        ).fetchall()
        for column, reason, n in rows:
            src = mapping.get(column, column)
            report.rejected[f"{src}: {reason}"] = int(n)
            if column == "customer_id" and reason.startswith("missing"):
                report.no_customer += int(n)
        rpath = _rejects_path(rejects, rejects_dir, staged.stem, contract.name)
        if report.n_rejected:
            _rejects_file(con, staged, mapping, rpath)
            report.rejects_path = str(rpath)
        elif rejects is None and rpath.exists():
            rpath.unlink()  # stale rejects of an earlier load of the same source
        if good == 0:
            raise _all_bad(con, staged, mapping, fmt, opts, report)
        if contract.flags:
            cond = " OR ".join(f"coalesce({c}, false)" for c in contract.flags.values())
            dup = " AND _dup = 1" if merge_duplicates else ""
            report.refunds = int(con.execute(
                f"SELECT count(*) FROM {_PARSED} WHERE _reason IS NULL{dup} AND ({cond})"
            ).fetchone()[0])
        report.inserted, report.updated = _insert(con, contract, staged.name, merge_duplicates,
                                                  progress, list(mapping))
        report.already_present = good - report.merged - report.inserted - report.updated
    finally:
        for t in (_STAGE, _PARSED):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    report.seconds = time.perf_counter() - t0
    return report


def _rejects_path(rejects: str | Path | None, rejects_dir: Path | None, stem: str,
                  table: str) -> Path:
    if rejects is not None:
        return Path(rejects)
    base = rejects_dir or Path(tempfile.gettempdir()) / "clvlab.rejects"
    suffix = "" if table == "transactions" else f".{table}"
    return base / f"{stem}{suffix}.rejects.csv"


def _all_bad(
    con: Any, staged: Staged, mapping: dict[str, str], fmt: str | None, opts: LoadOptions,
    report: LoadReport,
) -> DataValidationError:
    """The error raised when no row is valid: first issues located, plus a remedy."""
    rows = con.execute(
        f"SELECT _row, _column, _value, _reason FROM {_PARSED} WHERE _reason IS NOT NULL "
        "ORDER BY _row LIMIT 1000"
    ).fetchall()
    issues = [
        Issue(message=reason, row=int(r), column=mapping.get(c, c), value=v)
        for r, c, v, reason in rows
    ]
    hint = _hint(con, rows[:3], fmt, opts)
    if report.rejects_path:
        extra = f"rejected rows are in {report.rejects_path}"
        hint = f"{hint}; {extra}" if hint else extra
    n = report.n_rejected
    msg = f"{n:,} invalid row{'s' if n != 1 else ''} in '{staged.name}' (no valid row)"
    return DataValidationError(msg, issues, hint=hint)


def _hint(con: Any, rows: list[Any], fmt: str | None, opts: LoadOptions) -> str | None:
    dates = [str(v) for _, _, v, r in rows if str(r).startswith("not a date")]
    if dates:
        sug = suggest_date_format(con, dates, opts.timezone, fmt or "ISO")
        return f"--date-format '{sug}'" if sug else "--date-format '<strftime format>'"
    if any(str(r) == "not a number" for *_, r in rows):
        other = "," if opts.decimal == "." else "."
        return f"check the column mapping, or --decimal '{other}'"
    if any(str(r).startswith(("outside the", "unknown", "not a whole number on"))
           for *_, r in rows):
        return ("scores must lie on their metric's scale; pass scales={metric: [low, high]} "
                "(config key 'scales') to add a metric or change a scale")
    if any(str(r).startswith("missing") for *_, r in rows):
        return "check the column mapping (--map canonical=source_column)"
    return None
