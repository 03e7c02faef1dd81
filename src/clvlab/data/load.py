"""Load a source into a stored table, driven by its :class:`~clvlab.data.contract.TableContract`.

Steps, all in DuckDB SQL: stage the source as VARCHAR (:mod:`clvlab.data.sources`), map columns
(:mod:`clvlab.data.mapping`), parse and validate every value and build row keys
(:mod:`clvlab.data.rows`), write rejected rows to a rejects file, then, in ONE transaction
(:mod:`clvlab.data.write`), update stored rows whose key comes with other values, insert the good
rows not yet stored (an anti-join on ``_key`` makes a re-load a no-op) and link refunds to the
purchases they undo (:mod:`clvlab.data.refunds`).

Exact duplicate rows (identical in every source column) are kept as separate rows and reported;
with ``merge_duplicates=True`` each group is stored once with its additive columns (amount,
quantity, margin, cost) summed.  Tables whose key has ``merge_identical`` (feedback) always store
an exact repeat once.

Before parsing, :mod:`clvlab.data.prepare` unpivots wide sources (``score:nps`` mappings) and
cleans text columns, masking personal data in the staged source itself: rejects files hold the
masked text, never the original.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from clvlab.data.contract import TableContract
from clvlab.data.mapping import LoadOptions, resolve_mapping
from clvlab.data.parse import (
    check_date_format,
    check_timezone,
    infer_date_format,
    suggest_date_format,
)
from clvlab.data.prepare import clean_staged, split_wide, suffix_keys, unpivot
from clvlab.data.refunds import LINK, RefundRule, link_refunds
from clvlab.data.report import LoadReport
from clvlab.data.rows import PARSED, build_parsed
from clvlab.data.sources import Staged, quote_ident, quote_str, stage_source
from clvlab.data.write import insert, private_rejects_dir, rejects_file, rejects_path
from clvlab.errors import DataValidationError, Hint, Issue

__all__ = ["LoadReport", "load_table"]

_STAGE = "_clv_stage"


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
    check_date_format(con, opts.date_format)
    try:
        staged = stage_source(con, source, _STAGE, sep=opts.sep, header=opts.header,
                              names=opts.columns, encoding=opts.encoding)
        report = LoadReport(source=staged.name, table=contract.name, rows_read=staged.rows)
        if staged.rows == 0:
            msg = f"'{staged.name}' has no data rows"
            raise DataValidationError(msg, hint="check the file, its separator and header")
        plain, wide = split_wide(contract, opts.mapping)
        extra = unpivot(con, contract, staged, wide) if wide else {}
        mapping = resolve_mapping(contract, staged.columns, {**plain, **extra}, staged.name)
        clean_staged(con, contract, staged, mapping)
        shown = mapping  # source columns as the user knows them (rejects, messages)
        if wide:
            mapping = suffix_keys(con, contract, staged, mapping)
        report.mapping = {k: v for k, v in shown.items() if k not in extra}
        if not wide:
            report.ignored = [c for c in staged.columns if c not in set(shown.values())]
        if contract.wide is not None:
            report.mapping.update({f"{contract.wide.value}:{c}": s for c, s in wide.items()})
        merge_duplicates = merge_duplicates or contract.key.merge_identical
        fmt = opts.date_format
        ts_cols = [c.name for c in contract.columns if c.kind == "timestamp" and c.name in mapping]
        if fmt is None and ts_cols:
            fmt = infer_date_format(con, _STAGE, mapping[ts_cols[0]], staged.name,
                                    opts.timezone)
        report.date_format = fmt
        build_parsed(con, contract, staged, mapping, fmt, opts, progress)
        if wide and contract.wide is not None:  # locate value problems in the wide column
            case = " ".join(f"WHEN {quote_str(c)} THEN {quote_str(s)}" for c, s in wide.items())
            con.execute(f"UPDATE {PARSED} SET _column = CASE {quote_ident(contract.wide.by)} "
                        f"{case} END WHERE _column = {quote_str(contract.wide.value)}")
        stats = con.execute(
            f"SELECT count(*) FILTER (_reason IS NULL AND _dup > 1),"
            f" count(*) FILTER (_reason IS NULL) FROM {PARSED}"
        ).fetchone()
        report.duplicates = int(stats[0])  # of valid rows: a rejected row is counted there
        report.merged = report.duplicates if merge_duplicates else 0
        good = int(stats[1])
        rows = con.execute(
            f"SELECT _column, _reason, count(*) FROM {PARSED} WHERE _reason IS NOT NULL "
            "GROUP BY ALL ORDER BY 3 DESC"
        ).fetchall()
        for column, reason, n in rows:
            src = shown.get(column, column)
            report.rejected[f"{src}: {reason}"] = int(n)
            if column == "customer_id" and reason.startswith("missing"):
                report.no_customer += int(n)
        if report.n_rejected:
            where = rejects_dir or private_rejects_dir()  # in-memory: a folder of its own
            rpath = rejects_path(rejects, where, staged, contract.name)
            rejects_file(con, staged, shown, rpath)
            report.rejects_path = str(rpath)
        elif rejects is None and rejects_dir is not None:
            stale = rejects_path(None, rejects_dir, staged, contract.name)
            stale.unlink(missing_ok=True)  # an earlier load of this very source (same path)
        if good == 0:
            raise _all_bad(con, staged, shown, fmt, opts, report)
        if contract.flags:
            cond = " OR ".join(f"coalesce({c}, false)" for c in contract.flags.values())
            dup = " AND _dup = 1" if merge_duplicates else ""
            report.refunds = int(con.execute(
                f"SELECT count(*) FROM {PARSED} WHERE _reason IS NULL{dup} AND ({cond})"
            ).fetchone()[0])
        after = (lambda: _link(con, contract, opts, report)) if LINK in contract.links else None
        report.inserted, report.updated = insert(con, contract, staged.name, merge_duplicates,
                                                 progress, list(mapping), after)
        report.already_present = good - report.merged - report.inserted - report.updated
    finally:
        for t in (_STAGE, PARSED):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    report.seconds = time.perf_counter() - t0
    return report


def _link(con: Any, contract: TableContract, opts: LoadOptions, report: LoadReport) -> None:
    """Link refunds to their purchases by the load's rule; record what it did in ``report``."""
    stats = link_refunds(con, contract.name, cast(RefundRule, opts.refunds))
    report.refunds_netted, report.refund_amount_netted = stats.linked, stats.amount
    report.orders_cancelled, report.refunds_unlinked = stats.cancelled_orders, stats.unlinked


def _all_bad(
    con: Any, staged: Staged, mapping: dict[str, str], fmt: str | None, opts: LoadOptions,
    report: LoadReport,
) -> DataValidationError:
    """The error raised when no row is valid: first issues located, plus a remedy."""
    rows = con.execute(
        f"SELECT _row, _column, _value, _reason FROM {PARSED} WHERE _reason IS NOT NULL "
        "ORDER BY _row LIMIT 1000"
    ).fetchall()
    issues = [
        Issue(message=reason, row=int(r), column=mapping.get(c, c), value=v)
        for r, c, v, reason in rows
    ]
    hints = _hints(con, rows[:3], fmt, opts)
    if report.rejects_path:
        hints.append(Hint(f"rejected rows are in {report.rejects_path}"))
    n = report.n_rejected
    msg = f"{n:,} invalid row{'s' if n != 1 else ''} in '{staged.name}' (no valid row)"
    return DataValidationError(msg, issues, hint=hints)


def _hints(con: Any, rows: list[Any], fmt: str | None, opts: LoadOptions) -> list[Hint]:
    """The setting that would make the first invalid rows valid, when one is likely."""
    dates = [str(v) for _, _, v, r in rows if str(r).startswith("not a date")]
    if dates:
        sug = suggest_date_format(con, dates, opts.timezone, fmt or "ISO")
        return [Hint(option="date_format", value=sug) if sug
                else Hint("a strftime format such as '%d/%m/%Y'", option="date_format")]
    if any(str(r) == "not a number" for *_, r in rows):
        other = "," if opts.decimal == "." else "."
        return [Hint("or check the column mapping", option="decimal", value=other)]
    if any(str(r).startswith(("outside the", "unknown", "not a whole number on"))
           for *_, r in rows):
        return [Hint("scores must lie on their metric's scale: add a metric or change its scale",
                     option="scales", value={"<metric>": ["<low>", "<high>"]})]
    if any(str(r).startswith("missing") for *_, r in rows):
        return [Hint("check the column mapping", option="mapping", value={"<canonical>": "<column>"})]
    return []
