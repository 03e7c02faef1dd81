"""Reshape and clean a staged source before it is parsed: wide-to-long, and text cleaning.

Both steps change the staging table itself, so that everything downstream (checks, row keys,
the rejects file, the stored table) sees the same values: a comment is cleaned and its personal
data masked here, before anything is stored or written to a rejects file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clvlab.data.contract import TableContract
from clvlab.data.mapping import MAPPING_HINT
from clvlab.data.parse import present
from clvlab.data.sources import Staged, quote_ident, quote_str
from clvlab.errors import DataValidationError


def split_wide(contract: TableContract, mapping: dict[str, str]) -> tuple[dict[str, str],
                                                                          dict[str, str]]:
    """Split ``mapping`` into plain entries and wide ones ``{category: source_column}``.

    A wide entry has the key ``"<value>:<category>"`` (``"score:nps"``); the category is folded
    like the values of the category column (``"score:推荐"`` is ``nps``).
    """
    plain: dict[str, str] = {}
    wide: dict[str, str] = {}
    for key, src in mapping.items():
        if ":" not in key:
            plain[key] = src
            continue
        value, _, cat = key.partition(":")
        w = contract.wide
        if w is None or value.strip() != w.value or not cat.strip():
            allowed = f"'{w.value}:<{w.by}>'" if w else "none (plain names only)"
            msg = (f"mapping key '{key}' is not a column of table '{contract.name}'; wide keys "
                   f"allowed: {allowed}")
            raise DataValidationError(msg, hint=MAPPING_HINT)
        cat = cat.strip().lower()
        for canon, alts in contract.column(w.by).values.items():
            if cat in {a.lower() for a in alts}:
                cat = canon
        if cat in wide:
            msg = f"mapping names '{w.value}:{cat}' twice ('{wide[cat]}' and '{src}')"
            raise DataValidationError(msg)
        wide[cat] = src
    if wide and contract.wide is not None:
        for canon in (contract.wide.value, contract.wide.by):
            if canon in plain:
                msg = (f"mapping gives both '{canon}' and wide '{contract.wide.value}:...' "
                       "columns; use one layout")
                raise DataValidationError(msg)
    return plain, wide


def unpivot(con: Any, contract: TableContract, staged: Staged, wide: dict[str, str]
            ) -> dict[str, str]:
    """Turn the wide staging table into one row per (source row, category with a value).

    Adds columns ``_part`` (the category's position), ``_<by>`` and ``_<value>`` (``_metric``,
    ``_score``); the source columns stay as they are (so the rejects file shows the row as written).
    Returns the mapping entries for the value and category columns.
    """
    assert contract.wide is not None
    by, value = f"_{contract.wide.by}", f"_{contract.wide.value}"
    missing = [src for src in wide.values() if src not in staged.columns]
    if missing:
        msg = (f"mapping names column '{missing[0]}', which '{staged.name}' does not have; "
               f"available columns: {', '.join(staged.columns)}")
        raise DataValidationError(msg)
    cols = ", ".join(quote_ident(c) for c in ["_row", *staged.columns])
    given = [present(quote_ident(src)) for src in wide.values()]
    none = " AND ".join(f"NOT {g}" for g in given)
    parts = []
    for i, (cat, src) in enumerate(wide.items()):
        keep = given[i] if i else f"({given[i]} OR ({none}))"
        parts.append(
            f"SELECT {cols}, {i} AS _part, {quote_str(cat)} AS {quote_ident(by)}, "
            f"{quote_ident(src)} AS {quote_ident(value)} FROM {staged.table} WHERE {keep}"
        )
    t = staged.table
    con.execute(f"CREATE OR REPLACE TEMP TABLE {t}_wide AS " + " UNION ALL ".join(parts))
    con.execute(f"DROP TABLE {t}")
    con.execute(f"ALTER TABLE {t}_wide RENAME TO {t}")
    staged.columns = [*staged.columns, by, value]
    staged.parts = True
    return {contract.wide.value: value, contract.wide.by: by}


def suffix_keys(con: Any, contract: TableContract, staged: Staged,
                mapping: dict[str, str]) -> dict[str, str]:
    """Key columns of an unpivoted source with ``":<category>"`` appended (``R7:nps``), in new
    hidden staged columns ``_key_<name>``: the source columns keep the values as written (the
    rejects file shows ``R7``).  Returns ``mapping`` with the key columns pointing to them."""
    assert contract.wide is not None
    by = quote_ident(f"_{contract.wide.by}")
    result = dict(mapping)
    for k in contract.key.columns:
        src = mapping.get(k)
        if src is None:
            continue
        c, hidden = quote_ident(src), f"_key_{k}"
        con.execute(f"ALTER TABLE {staged.table} ADD COLUMN {quote_ident(hidden)} VARCHAR")
        con.execute(f"UPDATE {staged.table} SET {quote_ident(hidden)} = CASE WHEN {present(c)} "
                    f"THEN trim({c}) || ':' || {by} ELSE {c} END")
        result[k] = hidden
    return result


def _rewrite(con: Any, table: str, column: str, fn: Callable[[list[str]], list[str | None]]
             ) -> int:
    """Replace each distinct value ``v`` of ``column`` by ``fn(v)`` (once per distinct value);
    return how many distinct values changed."""
    import pyarrow as pa

    c = quote_ident(column)
    rows = con.execute(f"SELECT DISTINCT {c} FROM {table} WHERE {c} IS NOT NULL").fetchall()
    values = [str(r[0]) for r in rows]
    new = fn(values)
    changed = [(a, b) for a, b in zip(values, new, strict=True) if a != b]
    if not changed:
        return 0
    m = pa.table({"raw": [a for a, _ in changed], "new": [b for _, b in changed]},
                 schema=pa.schema([("raw", pa.string()), ("new", pa.string())]))
    view = f"{table}_rewrite"
    con.register(view, m)
    try:
        con.execute(f"UPDATE {table} SET {c} = m.new FROM {view} m WHERE {table}.{c} = m.raw")
    finally:
        con.unregister(view)
    return len(changed)


def clean_staged(con: Any, contract: TableContract, staged: Staged,
                 mapping: dict[str, str]) -> None:
    """Clean and mask the source columns of text columns; with ``contract.mask_unmapped``
    also mask personal data in the source columns the table does not use."""
    from clvlab.text.clean import clean_text, mask_pii

    text_src = {mapping[c.name] for c in contract.columns
                if c.kind == "text" and c.name in mapping}
    for src in sorted(text_src):
        _rewrite(con, staged.table, src, mask_pii)
    if not contract.mask_unmapped:
        return
    used = set(mapping.values())

    def only_pii(values: list[str]) -> list[str | None]:
        masked = mask_pii(values)
        cleaned = clean_text(values)
        return [v if m == c else m for v, m, c in zip(values, masked, cleaned, strict=True)]

    for src in staged.columns:
        if src not in used:
            _rewrite(con, staged.table, src, only_pii)
