"""The time unit of an RFM summary, and how it travels through files and model files.

``frequency`` counts distinct purchase periods and ``recency`` and ``T`` are measured in
periods, so every RFM figure, every fitted BTYD parameter with a time scale and every CLV
horizon depends on the period: the **time unit** ``"D"`` (day), ``"W"`` (week) or ``"M"``
(month). clvlab's default everywhere (Python and command line) is :data:`DEFAULT_TIME_UNIT`,
weeks, the unit of the BTYD papers.

In memory the unit is ``frame.attrs["freq"]``. In files (CSV, Parquet, Excel, by hand) it is a
column :data:`UNIT_COLUMN` (``time_unit``) holding the same value on every row (``D``, ``W``,
``M``, or ``day``/``week``/``month``, any case): a plain column survives pandas, spreadsheets and
hand-made files, where attributes and header comments are lost. ``observation_end`` and
``calibration_end`` travel the same way. A fitted model records the unit of the data it was
fitted on as ``time_unit_`` (``"time_unit"`` in its JSON); :func:`check_same_unit` refuses to
combine a model and data in different units.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import pandas as pd

from clvlab.errors import DataValidationError, HintLike, Issue

if TYPE_CHECKING:
    from clvlab.features.rfm import Freq

__all__ = [
    "DEFAULT_TIME_UNIT", "UNIT_COLUMN", "check_same_unit", "parse_unit", "read_unit_columns",
    "unit_name", "with_unit_columns",
]

#: the time unit used when none is given: weeks
DEFAULT_TIME_UNIT: Freq = "W"
#: the column that carries the time unit in files
UNIT_COLUMN = "time_unit"
#: frame attrs written as columns next to the unit
_DATE_COLUMNS = ("observation_end", "calibration_end")
_SPELLINGS: dict[str, Freq] = {
    "d": "D", "day": "D", "days": "D",
    "w": "W", "week": "W", "weeks": "W",
    "m": "M", "month": "M", "months": "M",
}
_NAMES = {"D": "days", "W": "weeks", "M": "months"}


def parse_unit(value: object) -> Freq | None:
    """``"W"``, ``"week"``, ``" Weeks "`` -> ``"W"``; anything else -> None."""
    if not isinstance(value, str):
        return None
    return _SPELLINGS.get(value.strip().lower())


def unit_name(unit: str | None) -> str:
    """``"W"`` -> ``"weeks (W)"``, for messages."""
    return f"{_NAMES[unit]} ({unit})" if unit in _NAMES else "an unknown unit"


def with_unit_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of an RFM frame with its unit (and observation/calibration end) as columns, to write."""
    out = frame.copy()
    for name in _DATE_COLUMNS:
        if frame.attrs.get(name):
            out[name] = str(frame.attrs[name])
    unit = parse_unit(frame.attrs.get("freq"))
    if unit is not None:
        out[UNIT_COLUMN] = unit
    return out


def _constant(frame: pd.DataFrame, column: str, source: str) -> tuple[Any, int]:
    """The single value of ``column`` and its first row (1-based; blank cells ignored);
    a located error when rows differ."""
    values = frame[column].reset_index(drop=True)
    present = values[values.notna() & values.astype(str).str.strip().ne("")]
    if present.empty:
        return None, 0
    first = present.iloc[0]
    differ = present[present.astype(str).str.strip() != str(first).strip()]
    if not differ.empty:
        row = int(differ.index[0]) + 1
        msg = f"An RFM file holds one summary, but its '{column}' changes"
        issue = Issue(f"differs from {first!r} above", source=source, row=row, column=column,
                      value=differ.iloc[0])
        raise DataValidationError(msg, [issue], hint=f"give every row the same {column}")
    return first, int(present.index[0]) + 1


def read_unit_columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Move the unit (and dates) columns of an RFM file into ``attrs``; unknown unit -> no ``freq``.

    Attributes the file format kept (Parquet written by pandas) are used when the columns are
    absent. A ``time_unit`` that is not a unit, or that differs between rows, is a located error.
    """
    out = frame.drop(columns=[c for c in (UNIT_COLUMN, *_DATE_COLUMNS) if c in frame.columns])
    attrs: dict[Hashable, Any] = {k: v for k, v in frame.attrs.items() if k in ("freq", "exact", *_DATE_COLUMNS)}
    for name in _DATE_COLUMNS:
        if name in frame.columns:
            value, _ = _constant(frame, name, source)
            if value is not None:
                attrs[name] = str(value)
    if UNIT_COLUMN in frame.columns:
        value, row = _constant(frame, UNIT_COLUMN, source)
        unit = parse_unit(value)
        if value is not None and unit is None:
            msg = "The RFM file's time unit is not one clvlab knows"
            issue = Issue("not a time unit", source=source, row=row, column=UNIT_COLUMN, value=value)
            raise DataValidationError(msg, [issue], hint="use D (day), W (week) or M (month)")
        attrs["freq"] = unit
    if parse_unit(attrs.get("freq")) is None:
        attrs.pop("freq", None)
    out.attrs = attrs
    return out


def check_same_unit(model: Any, unit: str, *, model_source: str, data_source: str, remedy: HintLike) -> None:
    """Refuse a model fitted in another time unit than the data it is applied to.

    A model without a recorded unit (files from older versions) passes: its unit is unknown.
    """
    fitted = getattr(model, "time_unit_", None)
    if fitted is None or fitted == unit:
        return
    msg = (f"{model_source} was fitted on RFM in {unit_name(fitted)} but {data_source} is in "
           f"{unit_name(unit)}: the CLV would be off by the ratio of the units")
    raise DataValidationError(msg, hint=remedy)
