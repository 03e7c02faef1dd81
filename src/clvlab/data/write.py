"""Write a load's results: the rejects file, and the valid rows into the stored table."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clvlab.data.contract import TableContract
from clvlab.data.progress import run_sql
from clvlab.data.rows import PARSED
from clvlab.data.sources import Staged, quote_ident, quote_str

#: columns summed when exact duplicate rows are merged
ADDITIVE = ("amount", "quantity", "margin", "cost")


def rejects_file(
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
        f"FROM {PARSED} p JOIN {staged.table} s USING ({using}) WHERE p._reason IS NOT NULL "
        f"ORDER BY p._row) TO {quote_str(str(tmp))} (FORMAT csv, HEADER true)"
    )
    tmp.replace(path)


def create_table(con: Any, contract: TableContract) -> None:
    """Create the stored table, or add the columns a table stored by an older version lacks."""
    schema = contract.stored_schema()
    cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in schema)
    name = quote_ident(contract.name)
    con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    for n, t in schema:
        con.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {quote_ident(n)} {t}")


def update_sql(contract: TableContract, mapped: Sequence[str], source_name: str,
               merge: bool = False, sums: bool = False) -> str | None:
    """UPDATE of stored rows whose key is in the valid parsed rows with other values in the
    columns the source gives (mapped or derived; NULLs in the source keep the stored value);
    flags are recomputed, links of rows whose flags change are cleared.  With ``merge`` only
    first occurrences count, and with ``sums`` (amounts summed over exact duplicates) a group of
    duplicates never updates: its stored form, merged or not, stays.  None if nothing can change."""
    key = contract.key_for(mapped)
    derived = {d.target for d in contract.derivations
               if d.target not in mapped and all(i in mapped for i in d.inputs)}
    cols = [c for c in contract.names if (c in mapped or c in derived)
            and c not in key.columns and c != key.line]
    if not key.update or not cols:
        return None
    target = quote_ident(contract.name)
    sets = [f"{quote_ident(c)} = coalesce(v.{quote_ident(c)}, t.{quote_ident(c)})" for c in cols]
    flag_sel = "".join(f", coalesce({cond}, false) AS {quote_ident('_flag_' + f)}"
                       for f, cond in contract.flags.items())
    sets += [f"{quote_ident(f)} = v.{quote_ident('_flag_' + f)}" for f in contract.flags]
    same_flags = " AND ".join(f"t.{quote_ident(f)} IS NOT DISTINCT FROM v.{quote_ident('_flag_' + f)}"
                              for f in contract.flags) or "true"
    sets += [f"{quote_ident(c)} = CASE WHEN {same_flags} THEN t.{quote_ident(c)} END"
             for c in contract.links]
    changed = " OR ".join(f"(v.{quote_ident(c)} IS NOT NULL AND v.{quote_ident(c)} IS DISTINCT FROM "
                          f"t.{quote_ident(c)})" for c in cols)
    rows = "_reason IS NULL" + (" AND _dup = 1" if merge else "")
    if sums:
        rows += f" AND _h NOT IN (SELECT _h FROM {PARSED} WHERE _dup > 1)"
    return f"""
    UPDATE {target} AS t SET {", ".join(sets)}, _source = {quote_str(source_name)},
           _loaded_at = timezone('UTC', now())
    FROM (SELECT *{flag_sel} FROM {PARSED} WHERE {rows}) v
    WHERE t._key = v._key AND ({changed})
    """


def insert(
    con: Any, contract: TableContract, source_name: str, merge: bool, progress: bool,
    mapped: Sequence[str] = (),
    after: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Insert the valid, not yet stored rows (and update changed ones, where the key allows it)
    in one transaction, ``after`` running last in it; return (inserted, updated)."""
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
    inner = f"SELECT {', '.join(sel)}, _key, _dup, _row FROM {PARSED} WHERE _reason IS NULL"
    keep = "WHERE _dup = 1" if merge else ""
    all_cols = ", ".join(quote_ident(n) for n, _ in contract.stored_schema() if n not in contract.links)
    sql = f"""
    INSERT INTO {target} ({all_cols})
    SELECT {", ".join(quote_ident(n) for n in names)}{", " + flags if flags else ""}, _key,
           {quote_str(source_name)}, timezone('UTC', now())
    FROM ({inner}) v {keep}
    {"AND" if keep else "WHERE"} NOT EXISTS (SELECT 1 FROM {target} t WHERE t._key = v._key)
    ORDER BY v._row
    """
    sums = merge and not contract.key.merge_identical and any(c in mapped for c in ADDITIVE)
    update = update_sql(contract, mapped, source_name, merge, sums)
    updated = 0
    con.execute("BEGIN TRANSACTION")
    try:
        create_table(con, contract)
        if update is not None:  # before the insert, so new rows are not compared with themselves
            updated = int(con.execute(update).fetchone()[0])
        before = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        run_sql(con, sql, progress, f"inserting into {contract.name}")
        n_after = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        if after is not None:
            after()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(n_after - before), updated


def rejects_path(rejects: str | Path | None, rejects_dir: Path, staged: Staged,
                 table: str) -> Path:
    """The rejects file of this load: ``rejects`` as given, else
    ``<rejects_dir>/<source stem>[.<table>]-<id>.rejects.csv``, where ``<id>`` is a short hash of
    the source's identity (a file's resolved path) and table, so that ``jan/orders.csv`` and
    ``feb/orders.csv`` never share a file; the stem is sanitised (no path separators, no leading
    dots), so nothing lands outside ``rejects_dir``."""
    if rejects is not None:
        return Path(rejects)
    stem = re.sub(r"[^\w.-]+", "_", staged.stem).lstrip(".")[:60] or "source"
    ident = hashlib.sha256(f"{staged.origin or staged.name}\0{table}".encode()).hexdigest()[:8]
    suffix = "" if table == "transactions" else f".{table}"
    path = rejects_dir / f"{stem}{suffix}-{ident}.rejects.csv"
    if path.parent != rejects_dir or ".." in path.name.split("/"):  # pragma: no cover - sanitised
        msg = f"rejects file name {path.name!r} leaves {rejects_dir}"
        raise AssertionError(msg)
    return path


def private_rejects_dir() -> Path:
    """A folder only this user can enter, for the rejects of a workspace without a file."""
    return Path(tempfile.mkdtemp(prefix="clvlab-rejects-"))
