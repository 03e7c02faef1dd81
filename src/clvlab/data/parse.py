"""SQL expressions that parse VARCHAR source values by column kind, and date-format inference.

Everything here builds DuckDB SQL text; nothing loops over rows in Python.
"""

from __future__ import annotations

from typing import Any

from clvlab.data.sources import quote_ident, quote_str
from clvlab.errors import DataValidationError, Hint

#: formats tried, in order, when no date_format is given ("ISO" = ISO 8601 with optional offset)
DATE_CANDIDATES: tuple[str, ...] = (
    "ISO",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%m-%Y %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
)
#: also tried when suggesting a format for values that did not parse
HINT_CANDIDATES: tuple[str, ...] = (*DATE_CANDIDATES, "%Y-%d-%m", "%d-%m-%Y %H:%M:%S")

_MISSING = "|nan|null|none|na|n/a|nat||"
_OFFSET = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)"


def present(raw: str) -> str:
    """SQL condition: the raw value is given (not NULL, blank or a missing-value marker such
    as "NaN", "NULL", "N/A"; a string search instead of IN keeps DuckDB from joining)."""
    t = f"trim({raw})"
    return (
        f"coalesce(length({t}) > 4 OR NOT contains('{_MISSING}', '|' || lower({t}) || '|'), "
        "false)"
    )


def id_expr(raw: str, ok: str) -> str:
    """An id: trimmed text; float-looking integers ("17850.0") lose their ".0".  ``ok`` is the
    :func:`present` condition (computed once by the caller)."""
    return f"CASE WHEN {ok} THEN regexp_replace(trim({raw}), '^(-?[0-9]+)\\.0+$', '\\1') END"


def string_expr(raw: str, ok: str) -> str:
    """Free text: trimmed; missing when not ``ok``."""
    return f"CASE WHEN {ok} THEN trim({raw}) END"


def number_text(raw: str, decimal: str) -> str:
    """Normalise a number as written (currency signs, thousands separators, decimal comma)."""
    s = f"trim({raw}, ' $€£¥\t')"
    if decimal == ",":
        return (
            f"CASE WHEN regexp_full_match({s}, '[-+]?[0-9]{{1,3}}([. ][0-9]{{3}})+(,[0-9]*)?') "
            f"THEN replace(replace(replace({s}, '.', ''), ' ', ''), ',', '.') "
            f"ELSE replace({s}, ',', '.') END"
        )
    return (
        f"CASE WHEN regexp_full_match({s}, '[-+]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]*)?') "
        f"THEN replace({s}, ',', '') ELSE {s} END"
    )


def decimal_expr(raw: str, decimal: str) -> str:
    """A DECIMAL(18,4) value, NULL when it does not parse (plain numbers take a fast path)."""
    slow = f"TRY_CAST({number_text(raw, decimal)} AS DECIMAL(18,4))"
    if decimal == ",":
        return slow
    return f"coalesce(TRY_CAST(trim({raw}) AS DECIMAL(18,4)), {slow})"


def integer_expr(raw: str, decimal: str) -> str:
    """A BIGINT value, NULL unless the number is whole."""
    d = decimal_expr(raw, decimal)
    return f"CASE WHEN {d} = floor({d}) THEN TRY_CAST({d} AS BIGINT) END"


def json_expr(raw: str, ok: str) -> str:
    """A JSON object as compact text; NULL when missing, not valid JSON or not an object
    (nested CASEs: ``json_type`` and ``json`` fail on invalid text)."""
    t = f"trim({raw})"
    return (f"CASE WHEN {ok} AND json_valid({t}) THEN CASE WHEN json_type({t}) = 'OBJECT' "
            f"THEN CAST(json({t}) AS VARCHAR) END END")


def number_expr(raw: str, decimal: str) -> str:
    """A DOUBLE value (scores, ratings), NULL when it does not parse."""
    return f"CAST({decimal_expr(raw, decimal)} AS DOUBLE)"


def category_expr(raw: str, ok: str, values: dict[str, tuple[str, ...]]) -> str:
    """A category: trimmed and lower-cased, other spellings folded to the canonical value."""
    low = f"lower(trim({raw}))"
    whens = " ".join(
        f"WHEN {quote_str(alt.strip().lower())} THEN {quote_str(canon)}"
        for canon, alts in values.items() for alt in alts
    )
    folded = f"CASE {low} {whens} ELSE {low} END" if whens else low
    return f"CASE WHEN {ok} THEN {folded} END"


def timestamp_expr(raw: str, fmt: str, tz: str) -> str:
    """A naive TIMESTAMP in business zone ``tz``; values with an offset are converted to ``tz``."""
    t = f"trim({raw})"
    z = quote_str(tz)
    if fmt.upper() == "ISO":
        return (
            f"CASE WHEN regexp_matches({t}, '{_OFFSET}$') "
            f"THEN timezone({z}, TRY_CAST({t} AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST({t} AS TIMESTAMP) END"
        )
    if "%z" in fmt or "%Z" in fmt:
        return f"timezone({z}, try_strptime({t}, {quote_str(fmt)}))"
    return f"CAST(try_strptime({t}, {quote_str(fmt)}) AS TIMESTAMP)"


def check_timezone(con: Any, tz: str) -> None:
    """Raise unless DuckDB knows time zone ``tz``."""
    from clvlab.errors import ParameterError

    try:
        con.execute(
            f"SELECT timezone({quote_str(tz)}, TIMESTAMPTZ '2020-01-01 00:00:00+00')"
        ).fetchall()
    except Exception as exc:
        msg = (
            f"The 'timezone' parameter of load must be an IANA zone name such as 'UTC' or "
            f"'Europe/Berlin'. Got {tz!r} instead."
        )
        raise ParameterError(msg) from exc


def check_date_format(con: Any, fmt: str | None) -> None:
    """Raise a :class:`ParameterError` unless ``fmt`` is None, ``"ISO"`` or a format DuckDB's
    strptime knows."""
    from clvlab.errors import ParameterError

    if fmt is None or fmt.upper() == "ISO":
        return
    try:
        con.execute(f"SELECT try_strptime('2020-01-01', {quote_str(fmt)})").fetchall()
    except Exception as exc:  # duckdb.InvalidInputException: unknown specifier
        msg = (f"The 'date_format' parameter of load must be 'ISO' or a strptime format such as "
               f"'%d/%m/%Y %H:%M'. Got {fmt!r} instead.")
        raise ParameterError(msg) from exc


def infer_date_format(con: Any, table: str, column: str, source: str, tz: str) -> str:
    """Pick the one candidate format that parses the most values of ``column`` (a sample).

    Raises
    ------
    DataValidationError
        Two formats parse every sampled value but read them differently (``%d/%m`` vs
        ``%m/%d``): the user must choose.
    """
    raw = quote_ident(column)
    sample = f"{table}_dates"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {sample} AS SELECT DISTINCT trim({raw}) AS v FROM "
        f"(SELECT {raw} FROM {table} WHERE {present(raw)} AND _row <= 200000) LIMIT 20000"
    )
    try:
        n = con.execute(f"SELECT count(*) FROM {sample}").fetchone()[0]
        if n == 0:
            return "ISO"
        counts = con.execute(
            "SELECT "
            + ", ".join(f"count({timestamp_expr('v', f, tz)})" for f in DATE_CANDIDATES)
            + f" FROM {sample}"
        ).fetchone()
        best = max(counts)
        if best == 0:
            return "ISO"
        tied = [f for f, c in zip(DATE_CANDIDATES, counts, strict=True) if c == best]
        first = tied[0]
        for other in tied[1:]:
            row = con.execute(
                f"SELECT v, {timestamp_expr('v', first, tz)}::VARCHAR, "
                f"{timestamp_expr('v', other, tz)}::VARCHAR FROM {sample} WHERE "
                f"{timestamp_expr('v', first, tz)} IS DISTINCT FROM "
                f"{timestamp_expr('v', other, tz)} ORDER BY v LIMIT 1"
            ).fetchone()
            if row is not None:
                msg = (
                    f"dates in column '{column}' of '{source}' are ambiguous: {row[0]!r} reads "
                    f"as {row[1]} with '{first}' and as {row[2]} with '{other}'"
                )
                raise DataValidationError(msg, hint=[Hint(option="date_format", value=first),
                                                     Hint(option="date_format", value=other)])
        return first
    finally:
        con.execute(f"DROP TABLE IF EXISTS {sample}")


def suggest_date_format(con: Any, values: list[str], tz: str, current: str) -> str | None:
    """A candidate format (other than ``current``) that parses all ``values``, if any."""
    if not values:
        return None
    vals = ", ".join(f"({quote_str(v)})" for v in values)
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count({timestamp_expr('v', f, tz)})" for f in HINT_CANDIDATES)
        + f" FROM (VALUES {vals}) AS t(v)"
    ).fetchone()
    for f, c in zip(HINT_CANDIDATES, counts, strict=True):
        if c == len(values) and f != current:
            return f
    return None
