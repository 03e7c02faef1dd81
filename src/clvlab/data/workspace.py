"""The workspace: one analytical database (a DuckDB file by default) holding the input tables.

>>> import clvlab
>>> from clvlab.datasets import load_cdnow
>>> with clvlab.connect(":memory:") as ws:
...     first = ws.load_transactions(load_cdnow("sample"))
...     again = ws.load_transactions(load_cdnow("sample"))      # a re-load is a no-op
...     print(first.inserted, again.inserted, ws.table("transactions").count().execute())
6919 0 6919
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict, Unpack

import duckdb

from clvlab._redact import redact
from clvlab.data.contract import CONTRACTS, TableContract
from clvlab.data.load import LoadReport, load_table
from clvlab.data.mapping import build_options, read_config
from clvlab.errors import ClvlabError, DataValidationError, ParameterError

#: the workspace's own key/value table (its business time zone)
META_TABLE = "clvlab_meta"


class Workspace:
    """An Ibis backend plus the loading API.

    Parameters
    ----------
    con
        The Ibis backend (DuckDB, PostgreSQL, ...).
    path
        The DuckDB file (None for in-memory or a server database).
    url
        What was passed to :func:`connect`, for messages (a password in it is shown as ``***``).
    """

    def __init__(self, con: Any, *, path: Path | None = None, url: str = "") -> None:
        self.con = con
        self.path = path
        self.url = redact(url)
        #: the file's identity (path, inode, mtime) when a reader that follows replacements opened
        #: it (the server's snapshot reader), so what is computed from it is keyed by what was read
        self.opened_as: tuple[str, int, int] | None = None

    @property
    def timezone(self) -> str:
        """The business time zone every naive time in this workspace is in.

        Fixed by the first load (its ``timezone`` option, else ``CLVLAB_TIMEZONE``, else UTC) and
        stored in the workspace; later loads use it, and a load asking for another zone is refused.
        """
        from clvlab.settings import get_settings

        if self.is_spark:  # Spark reads days in its session's zone
            from clvlab.data.spark import session_timezone

            return session_timezone(self.con)
        return self._meta("timezone") or get_settings().timezone

    def _meta(self, key: str) -> str | None:
        if not self.is_duckdb:
            return None
        try:
            row = self.con.con.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key]).fetchone()
        except duckdb.CatalogException:  # a workspace nothing was loaded into yet
            return None
        return None if row is None else str(row[0])

    def _load_timezone(self, options: LoadOptions) -> str:
        """The zone of this load: the workspace's, refusing a ``timezone`` option that differs."""
        config = options.get("config")
        given = options.get("timezone") or (
            (config if isinstance(config, dict) else read_config(config)).get("timezone") if config else None)
        from clvlab.settings import get_settings

        stored = self._meta("timezone")
        if stored and given and given != stored:
            msg = (f"workspace {self.url!r} keeps its times in {stored} (its business time zone); this load "
                   f"asks for timezone {given!r}. Times with an offset are converted to {stored} anyway: "
                   "drop the timezone option, or load into a new workspace")
            raise ParameterError(msg)
        return str(given or stored or get_settings().timezone)

    def _remember_timezone(self, zone: str) -> None:
        con = self.con.con
        con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        con.execute(f"INSERT INTO {META_TABLE} VALUES ('timezone', ?) ON CONFLICT DO NOTHING", [zone])

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

    @property
    def is_spark(self) -> bool:
        """True when the backend is Apache Spark (ibis' pyspark backend)."""
        return str(getattr(self.con, "name", "")) == "pyspark"

    def tables(self) -> list[str]:
        """Names of the tables (and views) in the workspace, temporary ones and its own metadata excluded."""
        if self.is_duckdb:  # ibis 12's list_tables() breaks on duckdb 2 (fetch_arrow_table)
            rows = self.con.con.execute(
                "SELECT DISTINCT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = current_schema()"
            ).fetchall()
            return sorted(r[0] for r in rows if r[0] != META_TABLE)
        return sorted(t for t in self.con.list_tables() if t != META_TABLE)

    def table(self, name: str) -> Any:
        """The stored table ``name`` as an :class:`ibis.Table`."""
        if name not in self.tables():
            have = ", ".join(self.tables()) or "none"
            msg = f"workspace {self.url!r} has no table '{name}' (tables: {have})"
            hint = f"load it first, e.g. ws.load_{name}(...)" if name in CONTRACTS else None
            raise DataValidationError(msg, hint=hint)
        return self.con.table(name)

    def close(self) -> None:
        """Close the connection (a Spark session is left running: it belongs to the process)."""
        if self.is_spark:
            return
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    @property
    def rejects_dir(self) -> Path | None:
        """Where rejects files go by default: ``<workspace stem>.rejects/`` next to the file."""
        if self.path is None:
            return None
        return self.path.with_name(self.path.stem + ".rejects")

    def load(self, table: str, source: Any, mapping: dict[str, str] | None = None,
             **options: Unpack[LoadOptions]) -> LoadReport:
        """Load ``source`` into the contract table ``table`` (``transactions``, ``customers``,
        ``feedback``, ``marketing_spend``, ``events``): validated, idempotent, with rejected rows kept in a rejects file.

        Parameters
        ----------
        source
            A CSV/TSV/whitespace text file (optionally ``.gz``), Excel ``.xlsx`` (first sheet) or
            Parquet path, read as named (no glob expansion); a pandas or
            Polars DataFrame; a pyarrow Table; an ibis.Table of any backend; or
            ``"postgres://user@host:port/db?table=name&schema=s"``.
        mapping
            ``{canonical_name: source_column}``; columns named canonically (or by a common alias,
            see :mod:`clvlab.data.contract`) map by themselves.
        **options
            See :class:`LoadOptions`: config, date_format, timezone, decimal, sep, header,
            columns, encoding, merge_duplicates, rejects, progress, scales, refunds.

        Returns
        -------
        LoadReport

        Raises
        ------
        DataValidationError
            A required column is missing, a mapping is wrong, or no row is valid.  Nothing is
            written to the workspace then.
        """
        if table not in CONTRACTS:
            msg = f"unknown table '{table}'; known tables: {', '.join(CONTRACTS)}"
            raise ClvlabError(msg)
        contract: TableContract = CONTRACTS[table]
        if self.is_spark:
            msg = (f"loading into a Spark workspace ({self.url!r}) is not supported: loading stays on "
                   "DuckDB (its checks, rejects and idempotence keys are DuckDB SQL on one machine), "
                   f"and Spark reads the '{table}' table prepared with the contract's columns")
            raise ClvlabError(msg, hint=("load into a DuckDB workspace, export the table to Parquet "
                                         "(see docs/scale.md) and read it in Spark as a table"))
        if not self.is_duckdb:
            msg = (
                f"loading into a {getattr(self.con, 'name', '?')} workspace is not supported yet; "
                "load into a DuckDB workspace (clvlab.connect('shop.duckdb')), or create the "
                f"'{table}' table in the database yourself"
            )
            raise ClvlabError(msg)
        zone = self._load_timezone(options)
        opts = build_options(
            options.get("config"), mapping=mapping, date_format=options.get("date_format"),
            timezone=zone, decimal=options.get("decimal"), sep=options.get("sep"),
            header=options.get("header"), columns=options.get("columns"), scales=options.get("scales"),
            refunds=options.get("refunds"), encoding=options.get("encoding"),
        )
        report = load_table(
            self.con.con, contract, source, opts,
            merge_duplicates=options.get("merge_duplicates", False),
            rejects=options.get("rejects"), rejects_dir=self.rejects_dir,
            progress=options.get("progress", False),
        )
        self._remember_timezone(zone)
        return report

    def load_transactions(self, source: Any, mapping: dict[str, str] | None = None,
                          **options: Unpack[LoadOptions]) -> LoadReport:
        """Load a transaction log into the ``transactions`` table (see :meth:`load`).

        Required: ``customer_id``, ``ordered_at``, ``amount`` (or ``quantity`` and
        ``unit_price``). A row's key is its order id and line, or, without an order id, its
        content plus its occurrence number among identical rows; exact duplicates are kept and
        counted unless ``merge_duplicates=True``. Negative amounts or quantities and cancelled
        invoices are flagged ``is_refund`` and netted against the purchase they undo
        (``refunds``; an order refunded in full is not a purchase in RFM).
        """
        return self.load("transactions", source, mapping, **options)

    def load_customers(self, source: Any, mapping: dict[str, str] | None = None,
                       **options: Unpack[LoadOptions]) -> LoadReport:
        """Load customer attributes into the ``customers`` table (see :meth:`load`); a customer
        id repeated in one source is rejected."""
        return self.load("customers", source, mapping, **options)

    def load_feedback(self, source: Any, mapping: dict[str, str] | None = None,
                      **options: Unpack[LoadOptions]) -> LoadReport:
        """Load survey responses into the ``feedback`` table (see :meth:`load`).

        Long layout, one row per answer: ``response_id, responded_at, metric, score`` plus the
        optional ``customer_id, comment, channel, touchpoint, store_id, product_id, survey_id``.
        ``metric`` is folded to lower case (``NPS``/``推荐`` -> ``nps``, ``CSAT``/``满意度`` ->
        ``csat``, ``CES``/``费力度`` -> ``ces``).  Wide layout, one column per metric: map
        ``{"score:nps": "推荐分", "score:csat": "满意度"}``; each answered metric becomes a row
        whose response id is ``<response_id>:<metric>``.

        Rows are rejected (with row, column, value and reason, in the rejects file) for: a
        missing response id, date, metric or score; an unknown metric; a score off its scale
        (NPS whole numbers 0-10, CSAT 1-5, CES 1-7; change or add scales with ``scales``); a
        response id repeated with different content (an identical repeat is stored once).
        A re-load inserts nothing.

        Comments are cleaned and personal data masked (:func:`clvlab.mask_pii`: [PHONE],
        [EMAIL], [ID], [CARD]) before anything is stored: the table and the rejects file hold
        the masked text, and so do unused source columns in the rejects file.
        """
        return self.load("feedback", source, mapping, **options)


    def load_marketing_spend(self, source: Any, mapping: dict[str, str] | None = None,
                             **options: Unpack[LoadOptions]) -> LoadReport:
        """Load acquisition spend into the ``marketing_spend`` table (see :meth:`load`).

        Columns: ``period`` (a date in the period, e.g. its first day; ``date_format="%Y-%m"``
        reads ``2024-01``), ``channel``, ``cost`` and optionally ``new_customers``. One row per
        period and channel: a repeat in one file is rejected, a re-load of a changed cost
        updates the stored row.
        """
        return self.load("marketing_spend", source, mapping, **options)

    def load_events(self, source: Any, mapping: dict[str, str] | None = None,
                    **options: Unpack[LoadOptions]) -> LoadReport:
        """Load behavioural events into the ``events`` table (see :meth:`load`).

        Columns: ``customer_id``, ``occurred_at`` (in the workspace's time zone like
        ``ordered_at``: a time with an offset is converted to it), ``event`` (folded to lower
        case: ``Page View`` -> ``page view``) and optionally ``value`` (a number), ``properties``
        (a JSON object, stored compact) and ``event_id``.

        Key: ``event_id`` when the source has it (a repeated id with other content is
        rejected), else ``customer_id`` + ``occurred_at`` + ``event``, numbered by occurrence
        among distinct rows (two views of different products in the same second are two rows).
        An exact repeat of a row is stored once and counted as merged; a re-load inserts
        nothing; a changed value or properties under a stored key updates the row. Rows are
        rejected (row, column, value and reason in the rejects file) for a missing customer,
        time or event, a time that is no date, a value that is no number, properties that are
        not a JSON object.
        """
        return self.load("events", source, mapping, **options)


class LoadOptions(TypedDict, total=False):
    """Options of :meth:`Workspace.load` and the ``load_*`` methods (all optional).

    config
        YAML or TOML file (or dict) with any of the options below plus ``mapping``;
        explicit arguments win.
    date_format
        strptime format of the dates (``"%d/%m/%Y %H:%M"``) or ``"ISO"``; inferred when
        unambiguous.
    timezone
        Business time zone of naive dates (default: the workspace's, see
        :attr:`Workspace.timezone`); dates with an offset are converted to it; all are stored
        naive, in the workspace's one zone.
    decimal
        Decimal mark, ``"."`` (default) or ``","``; thousands separators are dropped.
    sep
        Separator, or ``"whitespace"``; sniffed when None.
    encoding
        Text encoding of a text file (``"gb18030"``, ``"cp1252"``, ...); when None UTF-8 (with
        or without BOM), UTF-16 with a BOM and GB18030/GBK are detected.
    header, columns
        Whether the file has a header line, and column names for a headerless file.
    merge_duplicates
        Merge exact duplicate rows into one (amount, quantity, margin and cost summed).
    rejects
        Rejects CSV path; default ``<workspace stem>.rejects/<source stem>-<id>.rejects.csv``
        (``<id>`` from the source's path, so namesakes in other folders never share a file;
        an in-memory workspace uses a private temporary folder per load).
    progress
        Show a Rich progress bar.
    scales
        Feedback only: ``{metric: [low, high]}`` adding metrics or changing scales,
        e.g. ``{"csat": [0, 10], "star": [1, 5]}``.
    refunds
        Transactions only: how refunds are netted against the purchases they undo, ``"net"``
        (default: by order id, else by customer and product), ``"order"`` (order id only) or
        ``"drop"`` (not netted; refunds left out of RFM).  See :mod:`clvlab.data.refunds`.
    """

    config: str | Path | dict[str, Any] | None
    date_format: str | None
    timezone: str | None
    decimal: str | None
    sep: str | None
    header: bool | None
    columns: list[str] | None
    merge_duplicates: bool
    rejects: str | Path | None
    progress: bool
    scales: dict[str, Any] | None
    refunds: str | None
    encoding: str | None


def _not_a_workspace(file: Path) -> str | None:
    """The remedy when ``file`` is a folder or a data file rather than a DuckDB workspace (else None)."""
    if file.is_dir():
        return f"a workspace is a DuckDB file, not a folder: e.g. {file / 'clvlab.duckdb'}"
    if not file.is_file() or file.stat().st_size == 0:
        return None
    with file.open("rb") as head:
        if head.read(12)[8:12] == b"DUCK":  # the magic bytes of a DuckDB database file
            return None
    return ("a workspace is the DuckDB file that `clvlab load` writes (e.g. shop.duckdb), not a data file: "
            f"load this one with `clvlab load transactions {file} -w shop.duckdb`")


def connect(path: Any = None, *, read_only: bool = False) -> Workspace:
    """Open (or create) a workspace.

    Parameters
    ----------
    path
        A DuckDB file path, ``":memory:"``, a ``postgres://`` / ``postgresql://`` URL
        (analytics over existing tables), or Apache Spark: a ``pyspark.sql.SparkSession``, a
        master URL (``"spark://host:7077"``, ``"local[2]"``, ``"yarn"``) or ``"spark"`` (the
        environment's session; see :mod:`clvlab.data.spark`). None: the settings' workspace
        (``CLVLAB_WORKSPACE``, else ``./clvlab.duckdb``).  A password in a URL never appears in
        a message or a repr.
    read_only
        Open a DuckDB file read-only (several readers at once).
    """
    import ibis

    from clvlab.data.spark import is_spark_target
    from clvlab.settings import get_settings

    if is_spark_target(path):
        return _connect_spark(path)
    target = os.fspath(path) if path is not None else get_settings().workspace
    if target.startswith(("postgres://", "postgresql://")):
        try:
            con = ibis.connect(target)
        except Exception as exc:  # the driver's error may quote the URL: not chained, redacted
            msg = f"cannot connect to {redact(target)!r}: {redact(str(exc).splitlines()[0])}"
            raise ClvlabError(msg) from None
        return Workspace(con, url=target)
    if target == ":memory:":
        return Workspace(ibis.duckdb.connect(), url=target)
    file = Path(target).expanduser()
    if read_only and not file.exists():
        msg = f"workspace '{file}' does not exist (read_only=True cannot create it)"
        raise ClvlabError(msg)
    if (hint := _not_a_workspace(file)) is not None:  # DuckDB would read a CSV file as a database in memory
        msg = f"'{file}' is not a workspace"
        raise ClvlabError(msg, hint=hint)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(str(file), read_only=read_only)
    except Exception as exc:  # duckdb.IOException: locked by another process, another DuckDB version
        msg = f"cannot open workspace '{file}': {str(exc).splitlines()[0]}"
        raise ClvlabError(msg) from exc
    return Workspace(con, path=file.resolve(), url=target)


def _connect_spark(target: Any) -> Workspace:
    """A workspace over a SparkSession (given, or started on a master URL) in its business zone."""
    import ibis

    from clvlab.data.spark import spark_session

    session = target if not isinstance(target, str) else spark_session(target)
    zone = session.conf.get("spark.sql.session.timeZone")  # ibis resets it to UTC: kept as it was
    con = ibis.pyspark.connect(session, **{"spark.sql.session.timeZone": zone})
    master = session.sparkContext.master if not isinstance(target, str) or target == "spark" else target
    return Workspace(con, url=f"spark:{master}" if not master.startswith("spark://") else master)
