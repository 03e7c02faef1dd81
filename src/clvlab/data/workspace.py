"""The workspace: one analytical database (a DuckDB file by default) holding the input tables.

>>> import clvlab
>>> with clvlab.connect(":memory:") as ws:                           # doctest: +SKIP
...     report = ws.load_transactions("orders.csv", mapping={"amount": "total"})
...     print(report)
...     ws.table("transactions").count().execute()
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from clvlab.data.contract import CONTRACTS, TableContract
from clvlab.data.load import LoadReport, load_table
from clvlab.data.mapping import build_options
from clvlab.errors import ClvlabError, DataValidationError

DEFAULT_PATH = "clvlab.duckdb"


class Workspace:
    """An Ibis backend plus the loading API.

    Parameters
    ----------
    con
        The Ibis backend (DuckDB, PostgreSQL, ...).
    path
        The DuckDB file (None for in-memory or a server database).
    url
        What was passed to :func:`connect`, for messages.
    """

    def __init__(self, con: Any, *, path: Path | None = None, url: str = "") -> None:
        self.con = con
        self.path = path
        self.url = url

    def __repr__(self) -> str:
        return f"Workspace({self.url!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_duckdb(self) -> bool:
        """True when the backend is DuckDB (loading is supported there)."""
        return str(getattr(self.con, "name", "")) == "duckdb"

    def tables(self) -> list[str]:
        """Names of the tables (and views) in the workspace, temporary ones excluded."""
        if self.is_duckdb:  # ibis 12's list_tables() breaks on duckdb 2 (fetch_arrow_table)
            rows = self.con.con.execute(
                "SELECT DISTINCT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = current_schema()"
            ).fetchall()
            return sorted(r[0] for r in rows)
        return sorted(self.con.list_tables())

    def table(self, name: str) -> Any:
        """The stored table ``name`` as an :class:`ibis.Table`."""
        if name not in self.tables():
            have = ", ".join(self.tables()) or "none"
            msg = f"workspace {self.url!r} has no table '{name}' (tables: {have})"
            hint = f"load it first, e.g. ws.load_{name}(...)" if name in CONTRACTS else None
            raise DataValidationError(msg, hint=hint)
        return self.con.table(name)

    def close(self) -> None:
        """Close the connection."""
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    @property
    def rejects_dir(self) -> Path | None:
        """Where rejects files go by default: ``<workspace stem>.rejects/`` next to the file."""
        if self.path is None:
            return None
        return self.path.with_name(self.path.stem + ".rejects")

    def load(
        self,
        table: str,
        source: Any,
        mapping: dict[str, str] | None = None,
        *,
        config: str | Path | dict[str, Any] | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
        decimal: str | None = None,
        sep: str | None = None,
        header: bool | None = None,
        columns: list[str] | None = None,
        merge_duplicates: bool = False,
        rejects: str | Path | None = None,
        progress: bool = False,
    ) -> LoadReport:
        """Load ``source`` into the contract table ``table``; see :meth:`load_transactions`."""
        if table not in CONTRACTS:
            msg = f"unknown table '{table}'; known tables: {', '.join(CONTRACTS)}"
            raise ClvlabError(msg)
        contract: TableContract = CONTRACTS[table]
        if not self.is_duckdb:
            msg = (
                f"loading into a {getattr(self.con, 'name', '?')} workspace is not supported yet; "
                "load into a DuckDB workspace (clvlab.connect('shop.duckdb')), or create the "
                f"'{table}' table in the database yourself"
            )
            raise ClvlabError(msg)
        opts = build_options(
            config, mapping=mapping, date_format=date_format, timezone=timezone,
            decimal=decimal, sep=sep, header=header, columns=columns,
        )
        return load_table(
            self.con.con, contract, source, opts, merge_duplicates=merge_duplicates,
            rejects=rejects, rejects_dir=self.rejects_dir, progress=progress,
        )

    def load_transactions(
        self,
        source: Any,
        mapping: dict[str, str] | None = None,
        *,
        config: str | Path | dict[str, Any] | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
        decimal: str | None = None,
        sep: str | None = None,
        header: bool | None = None,
        columns: list[str] | None = None,
        merge_duplicates: bool = False,
        rejects: str | Path | None = None,
        progress: bool = False,
    ) -> LoadReport:
        """Load a transaction log into the ``transactions`` table.

        Parameters
        ----------
        source
            A CSV/TSV/whitespace text file (optionally ``.gz``) or Parquet path; a pandas or
            Polars DataFrame; a pyarrow Table; an ibis.Table of any backend; or
            ``"postgres://user@host:port/db?table=name&schema=s"``.
        mapping
            ``{canonical_name: source_column}``; columns named canonically (or by a common alias,
            see :mod:`clvlab.data.contract`) map by themselves.
        config
            YAML or TOML file (or dict) with any of: mapping, date_format, timezone, decimal, sep,
            header, columns.  Explicit arguments win.
        date_format
            strptime format of the dates (``"%d/%m/%Y %H:%M"``) or ``"ISO"``; inferred when
            unambiguous.
        timezone
            Business time zone (default UTC): dates with an offset are converted to it; all are
            stored naive.
        decimal
            Decimal mark, ``"."`` (default) or ``","``; thousands separators are dropped.
        sep
            Separator, or ``"whitespace"``; sniffed when None.
        header, columns
            Whether the file has a header line, and column names for a headerless file.
        merge_duplicates
            Merge exact duplicate rows into one (amount, quantity, margin and cost summed).
            By default they are kept as separate rows and counted in ``report.duplicates``.
        rejects
            Rejects CSV path; default ``<workspace stem>.rejects/<source stem>.rejects.csv``.
        progress
            Show a Rich progress bar.

        Returns
        -------
        LoadReport

        Raises
        ------
        DataValidationError
            A required column is missing, a mapping is wrong, or no row is valid.  Nothing is
            written to the workspace then.
        """
        return self.load(
            "transactions", source, mapping, config=config, date_format=date_format,
            timezone=timezone, decimal=decimal, sep=sep, header=header, columns=columns,
            merge_duplicates=merge_duplicates, rejects=rejects, progress=progress,
        )

    def load_customers(
        self,
        source: Any,
        mapping: dict[str, str] | None = None,
        *,
        config: str | Path | dict[str, Any] | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
        decimal: str | None = None,
        sep: str | None = None,
        header: bool | None = None,
        columns: list[str] | None = None,
        merge_duplicates: bool = False,
        rejects: str | Path | None = None,
        progress: bool = False,
    ) -> LoadReport:
        """Load customer attributes into the ``customers`` table (options as
        :meth:`load_transactions`); a customer id repeated in one source is rejected."""
        return self.load(
            "customers", source, mapping, config=config, date_format=date_format,
            timezone=timezone, decimal=decimal, sep=sep, header=header, columns=columns,
            merge_duplicates=merge_duplicates, rejects=rejects, progress=progress,
        )


def connect(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Workspace:
    """Open (or create) a workspace.

    Parameters
    ----------
    path
        A DuckDB file path, ``":memory:"``, or a ``postgres://`` / ``postgresql://`` URL
        (analytics over existing tables).  None: ``$CLVLAB_WORKSPACE`` or ``./clvlab.duckdb``.
    read_only
        Open a DuckDB file read-only (several readers at once).
    """
    import ibis

    target = os.fspath(path) if path is not None else None
    if target is None:
        target = os.environ.get("CLVLAB_WORKSPACE") or DEFAULT_PATH
    if target.startswith(("postgres://", "postgresql://")):
        try:
            con = ibis.connect(target)
        except Exception as exc:
            msg = f"cannot connect to {target!r}: {str(exc).splitlines()[0]}"
            raise ClvlabError(msg) from exc
        return Workspace(con, url=target)
    if target == ":memory:":
        return Workspace(ibis.duckdb.connect(), url=target)
    file = Path(target).expanduser()
    if read_only and not file.exists():
        msg = f"workspace '{file}' does not exist (read_only=True cannot create it)"
        raise ClvlabError(msg)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(str(file), read_only=read_only)
    except Exception as exc:  # duckdb.IOException: locked by another process, not a DuckDB file
        msg = f"cannot open workspace '{file}': {str(exc).splitlines()[0]}"
        raise ClvlabError(msg) from exc
    return Workspace(con, path=file.resolve(), url=target)
