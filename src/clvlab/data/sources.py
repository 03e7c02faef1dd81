"""Read any supported source into a DuckDB staging table of VARCHAR columns, in source order.

Supported sources: delimited text (CSV, TSV, ``;``/``|``-separated, optionally ``.gz``; UTF-8 or
any encoding Python knows, GB18030/GBK detected), whitespace-separated text (CDNOW's ``.txt``:
runs of spaces, leading spaces, CRLF), Excel ``.xlsx`` (first sheet), Parquet,
pandas and Polars DataFrames, pyarrow tables, an :class:`ibis.Table` of any backend (streamed in
Arrow batches) and a URL ``postgres://user@host:port/db?table=name&schema=public``.

Every value is kept as written (``all_varchar``) so that a rejected value is reported exactly;
``_row`` is the 1-based data row (header excluded, blank lines skipped) in source order.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from clvlab.data.files import (
    SNIFF_BYTES,
    check_readable,
    literal_path,
    mixes_line_ends,
    text_as_utf8,
    utf8_problem,
)
from clvlab.errors import ClvlabError, DataValidationError, Hint

_DELIMS = (",", "\t", ";", "|")
_NUMBERISH = re.compile(r"^[\s\"']*[-+]?[\d.,/:\- ]*\d[\d.,/:\- TZ]*[\s\"']*$")


@dataclass
class Staged:
    """A staged source: temp table name, its data columns (as in the source) and row count.

    ``parts`` is True when a wide source was unpivoted: rows are then identified by
    ``(_row, _part)``, ``_row`` still being the source row."""

    table: str
    columns: list[str]
    rows: int
    name: str
    stem: str
    parts: bool = False
    origin: str = ""


def quote_ident(name: str) -> str:
    """Quote ``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    """Quote ``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _head_lines(path: Path, n: int = 30) -> list[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw: bytes = fh.read(SNIFF_BYTES)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(raw) == SNIFF_BYTES and lines:
        lines = lines[:-1]  # possibly cut in the middle
    return lines[:n]


def sniff_sep(path: Path) -> str | None:
    """Guess the separator of a text file: a delimiter, ``"whitespace"``, or None (let DuckDB)."""
    lines = _head_lines(path)
    if not lines:
        return None
    for d in _DELIMS:
        counts = {ln.count(d) for ln in lines}
        if min(counts) > 0 and len(counts) == 1:
            return d
    if any(any(d in ln for d in _DELIMS) for ln in lines):
        return None  # quoted fields or ragged rows: DuckDB's sniffer knows better
    widths = {len(ln.split()) for ln in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return "whitespace"
    return None


def sniff_header(path: Path, sep: str | None) -> bool:
    """True when the first line looks like column names (none of its fields looks like data)."""
    lines = _head_lines(path, 2)
    if not lines:
        return True
    first = lines[0]
    if sep == "whitespace":
        fields = first.split()
    elif sep:
        fields = first.split(sep)
    else:
        fields = re.split(r"[,;\t|]", first)
    return not any(_NUMBERISH.match(f) for f in fields if f.strip())


def _file_name_and_stem(path: Path) -> tuple[str, str]:
    name = path.name
    stem = name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return name, stem or "source"


def stage_file(
    con: Any,
    path: Path,
    table: str,
    *,
    sep: str | None,
    header: bool | None,
    names: list[str] | None,
    encoding: str | None = None,
) -> Staged:
    """Stage a text, Excel or Parquet file into temp table ``table``.

    The path is read as given: glob characters (``tx[1].csv``, ``sales*.csv``) are part of the
    name.  Text that is not UTF-8 is decoded with ``encoding`` (detected when None: UTF-8 with
    or without BOM, UTF-16 with BOM, GB18030/GBK) and read from a UTF-8 copy.
    """
    check_readable(path)
    staged = _stage_path(con, path, table, sep, header, names, encoding)
    staged.origin = str(path.resolve())
    return staged


def _stage_path(con: Any, path: Path, table: str, sep: str | None, header: bool | None,
                names: list[str] | None, encoding: str | None) -> Staged:
    name, stem = _file_name_and_stem(path)
    low = path.name.lower()
    if low.endswith((".xlsx", ".xlsm")):
        return stage_excel(con, path, table, name, stem, header, names)
    if low.endswith(".xls"):
        msg = f"'{name}' is an old Excel .xls workbook, which clvlab does not read"
        raise DataValidationError(msg, hint="save it as .xlsx or CSV and load that")
    if low.endswith((".parquet", ".pq")):
        with literal_path(path) as readable:
            return _stage_parquet(con, readable, table, name, stem, names)
    try:
        with text_as_utf8(path, encoding) as readable:
            return _stage_text(con, readable, table, sep, header, names, name, stem)
    except DataValidationError:
        if not mixes_line_ends(path):
            raise
    with text_as_utf8(path, encoding, lf=True) as readable:  # CRLF and LF mixed: one kind
        return _stage_text(con, readable, table, sep, header, names, name, stem)


def _stage_parquet(con: Any, path: Path, table: str, name: str, stem: str,
                   names: list[str] | None) -> Staged:
    p = quote_str(str(path))
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({p})").fetchall()]
    except Exception as exc:  # duckdb.Error: not a Parquet file
        msg = f"cannot read '{name}' as Parquet: {str(exc).splitlines()[0]}"
        raise DataValidationError(msg, hint="check the file (a .parquet name must hold Parquet)"
                                  ) from exc
    sel = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT file_row_number + 1 AS _row, {sel} "
        f"FROM read_parquet({p}, file_row_number=true) ORDER BY file_row_number"
    )
    return _finish(con, table, name, stem, names)


def _stage_text(con: Any, path: Path, table: str, sep: str | None, header: bool | None,
                names: list[str] | None, name: str, stem: str) -> Staged:
    low = name.lower()
    if sep is None and (low.endswith((".tsv", ".tsv.gz", ".tab"))):
        sep = "\t"
    if sep is None:
        sep = sniff_sep(path)
    if sep in ("whitespace", "space", " "):
        return _stage_whitespace(con, path, table, header, names, name, stem)
    if header is None:
        header = sniff_header(path, sep)
    opts = ["all_varchar=true", f"header={'true' if header else 'false'}"]
    if sep:
        opts.append(f"delim={quote_str(sep)}")
    if names:
        opts.append("names=[" + ", ".join(quote_str(n) for n in names) + "]")
    p = quote_str(str(path))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv({p}, {', '.join(opts)})"
        )
    except Exception as exc:  # duckdb.Error: malformed file (ragged rows, bad quoting, encoding)
        bad_text = utf8_problem(path, name)
        if bad_text is not None:  # not UTF-8 past the part that was sniffed
            raise bad_text from exc
        msg = f"cannot read '{name}' as delimited text: {str(exc).splitlines()[0]}"
        raise DataValidationError(
            msg, hint=Hint("',', ';', '\\t' or 'whitespace'; or fix the line named above", option="sep")
        ) from exc
    cols = _columns(con, table)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT rowid + 1 AS _row, "
        + ", ".join(quote_ident(c) for c in cols)
        + f" FROM {table}"
    )
    return _finish(con, table, name, stem, None)


def stage_excel(con: Any, path: Path, table: str, name: str, stem: str, header: bool | None,
                names: list[str] | None) -> Staged:
    """Stage the first sheet of an ``.xlsx`` workbook (read by openpyxl through pandas); every
    cell as text, dates as ISO 8601."""
    import pandas as pd
    import pyarrow as pa

    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl",
                              header=None if header is False else 0, names=names)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ValueError: not a workbook
        msg = f"cannot read '{name}' as an Excel workbook: {str(exc).splitlines()[0]}"
        raise DataValidationError(msg, hint="check the file, or save it as CSV") from exc
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.dropna(how="all")
    staged = stage_arrow(con, pa.Table.from_pandas(frame, preserve_index=False), table, name)
    staged.stem = stem
    return staged


def _stage_whitespace(
    con: Any,
    path: Path,
    table: str,
    header: bool | None,
    names: list[str] | None,
    name: str,
    stem: str,
) -> Staged:
    lines = _head_lines(path, 2)
    if header is None:
        header = sniff_header(path, "whitespace")
    width = len(lines[0].split()) if lines else 0
    if names:
        width = max(width, len(names))
    cols = list(names or [])
    if header and lines and not names:
        cols = lines[0].split()
    cols += [f"column{i}" for i in range(len(cols), width)]
    p = quote_str(str(path))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_raw AS SELECT line FROM read_csv({p}, "
        "columns={'line': 'VARCHAR'}, header=false, delim='\x01', quote='', escape='', "
        "auto_detect=false, strict_mode=false) WHERE trim(line, ' \t\r\ufeff') <> ''"
    )
    parts = ", ".join(f"NULLIF(f[{i + 1}], '') AS {quote_ident(c)}" for i, c in enumerate(cols))
    skip = "WHERE _n > 1" if header else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT _n - {1 if header else 0} AS _row, "
        f"len(f) AS _nf, {parts} FROM (SELECT rowid + 1 AS _n, "
        f"string_split_regex(trim(line, ' \t\r\ufeff'), '[ \t]+') AS f FROM {table}_raw) {skip}"
    )
    con.execute(f"DROP TABLE {table}_raw")
    extra = con.execute(f"SELECT min(_row) FROM {table} WHERE _nf > {len(cols)}").fetchone()[0]
    con.execute(f"ALTER TABLE {table} DROP COLUMN _nf")
    if extra is not None:
        msg = f"row {extra} of '{name}' has more fields than the {len(cols)} columns {cols}"
        raise DataValidationError(msg, hint="give all column names in the config 'columns'")
    return _finish(con, table, name, stem, None)


def stage_arrow(con: Any, data: Any, table: str, name: str) -> Staged:
    """Stage an Arrow table or RecordBatchReader (streamed, so large sources stay out of RAM)."""
    view = f"{table}_arrow"
    con.register(view, data)
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()]
        sel = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in cols)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT row_number() OVER () AS _row, "
            f"{sel} FROM {view}"
        )
    finally:
        con.unregister(view)
    return _finish(con, table, name, name, None)


def stage_ibis(con: Any, expr: Any, table: str) -> Staged:
    """Stage an ibis.Table: Arrow batches from any backend; DuckDB SQL for a DuckDB backend."""
    try:
        name = str(expr.get_name())
    except Exception:  # an expression, not a named table
        name = "ibis_table"
    backend = expr._find_backend()
    if getattr(backend, "name", "") == "duckdb":
        # ibis 12's to_pyarrow_batches() breaks on duckdb 2; stream through DuckDB's own reader
        sql = str(backend.compile(expr))
        reader = backend.con.sql(sql).to_arrow_reader(1_000_000)
        return stage_arrow(con, reader, table, name)
    return stage_arrow(con, expr.to_pyarrow_batches(), table, name)


def _columns(con: Any, table: str) -> list[str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return [r[0] for r in rows if r[0] != "_row"]


def _finish(con: Any, table: str, name: str, stem: str, names: list[str] | None) -> Staged:
    cols = _columns(con, table)
    if names and len(names) == len(cols) and names != cols:
        for old, new in zip(cols, names, strict=True):
            con.execute(f"ALTER TABLE {table} RENAME {quote_ident(old)} TO {quote_ident(new)}")
        cols = list(names)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Staged(table=table, columns=cols, rows=int(rows), name=name, stem=stem)


def open_url(url: str) -> tuple[Any, Any, str]:
    """Open ``postgres://user@host/db?table=name[&schema=s]``: (backend, ibis.Table, name).

    The caller disconnects the backend."""
    import ibis

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    table = query.pop("table", None)
    schema = query.pop("schema", None)
    if not table:
        msg = f"source URL '{_redact(url)}' names no table"
        raise DataValidationError(msg, hint="append ?table=<name> (and &schema=<schema>)")
    bare = urlunsplit(parts._replace(query=urlencode(query)))
    try:
        backend = ibis.connect(bare)
    except Exception as exc:
        msg = f"cannot connect to '{_redact(url)}': {str(exc).splitlines()[0]}"
        raise ClvlabError(msg) from exc
    try:
        t = backend.table(table, database=schema) if schema else backend.table(table)
    except Exception as exc:
        backend.disconnect()
        msg = f"cannot open table '{table}' at '{_redact(url)}': {str(exc).splitlines()[0]}"
        raise ClvlabError(msg) from exc
    return backend, t, table


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def stage_source(
    con: Any,
    source: Any,
    table: str,
    *,
    sep: str | None = None,
    header: bool | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
) -> Staged:
    """Stage any supported ``source`` (see the module docstring) into temp table ``table``."""
    if isinstance(source, str) and re.match(r"^postgres(ql)?://", source):
        backend, t, tname = open_url(source)
        try:
            return stage_arrow(con, t.to_pyarrow_batches(), table, tname)
        finally:
            backend.disconnect()
    if isinstance(source, (str, Path)):
        return stage_file(con, Path(source).expanduser(), table, sep=sep, header=header,
                          names=names, encoding=encoding)
    import pyarrow as pa

    mod = type(source).__module__
    if mod.startswith("pandas"):
        return stage_arrow(con, pa.Table.from_pandas(source, preserve_index=False), table,
                           "dataframe")
    if mod.startswith("polars"):
        return stage_arrow(con, source.to_arrow(), table, "dataframe")
    if isinstance(source, (pa.Table, pa.RecordBatchReader)):
        return stage_arrow(con, source, table, "arrow")
    if mod.startswith("ibis"):
        return stage_ibis(con, source, table)
    msg = (
        f"cannot load a source of type {type(source).__name__}: expected a file path, a "
        "postgres:// URL, a pandas/Polars DataFrame, a pyarrow Table or an ibis.Table"
    )
    raise DataValidationError(msg)
