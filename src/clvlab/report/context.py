"""What the report's sections share: the :class:`Section` they return, the :class:`Context`
they read the workspace through (tables read once), and number formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from clvlab.derived import read_derived
from clvlab.report.charts import Chart, Table
from clvlab.report.labels import sentence

WHERE = "build_report"
TOP = 20


@dataclass
class Section:
    """One part of the page: a title, what it shows, then tiles, charts and tables (or a note)."""

    key: str
    title: str
    intro: str = ""
    note: str | None = None
    badges: list[str] = field(default_factory=list)
    tiles: list[tuple[str, str]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What every section needs: the workspace, the labels, units, and the tables read once."""

    ws: Any
    t: dict[str, str]
    currency: str = ""
    app_store: Any = None
    top: int = TOP
    lang: str = "en"

    def say(self, text: str) -> str:
        """A sentence the library wrote in English (a churn reason, a note), in the report's language."""
        return sentence(text, self.lang)

    def money(self, value: Any, digits: int | None = None) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        value = float(value)
        places = digits if digits is not None else (2 if abs(value) < 100 else 0)
        text = f"{value:,.{places}f}"
        return f"{self.currency} {text}" if self.currency else text

    def stage(self, name: Any) -> str:
        return self.t.get(f"stage_{name}", str(name))

    def band(self, name: Any) -> str:
        return self.t.get(f"band_{name}", str(name))

    @cached_property
    def tables(self) -> list[str]:
        return list(self.ws.tables())

    @cached_property
    def scores(self) -> pd.DataFrame:
        """The CLV column (one row per customer); :meth:`first` has the run's constants."""
        return read_derived(self.ws, "scores", columns=("clv",), where=WHERE).select("clv").execute()

    @cached_property
    def _run_row(self) -> dict[str, Any]:
        table = read_derived(self.ws, "scores", columns=("clv",), where=WHERE)
        keep = [c for c in ("model", "horizon_days", "as_of", "run_id") if c in table.columns]
        rows = table.select(*keep).limit(1).execute().to_dict("records") if keep else []
        return rows[0] if rows else {}

    @cached_property
    def diagnostics(self) -> dict[str, Any] | None:
        from clvlab.value.diagnostics import read_run_diagnostics

        if "diagnostics" not in self.tables:
            return None
        return read_run_diagnostics(self.ws, where=WHERE)

    @cached_property
    def settings(self) -> dict[str, Any]:
        diag = self.diagnostics
        settings = dict(diag["run"].get("settings", {})) if diag else {}
        if "horizon_days" not in settings and self.first("horizon_days") is not None:
            settings["horizon_days"] = float(self.first("horizon_days"))
        return settings

    def first(self, column: str) -> Any:
        """A column of ``scores`` that is the same on every row (model, horizon, as-of, run id)."""
        return self._run_row.get(column)

    @property
    def as_of(self) -> str:
        value = self.first("as_of")
        return "" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())

    @property
    def alive_model(self) -> str:
        from clvlab.lifecycle.stages import ALIVE_MODELS

        model = self.first("model")
        return str(model) if model in ALIVE_MODELS else "ModifiedBetaGeo"


def pct(value: Any, digits: int = 1) -> str:
    """``12.3%`` (the value is in percent already); ``–`` when missing."""
    return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}%"


def num(value: Any, spec: str = ",.0f") -> str:
    """The value in ``spec``; ``–`` when missing."""
    return "–" if value is None or pd.isna(value) else format(float(value), spec)


def plain(value: Any) -> float | None:
    """A float, or None for missing values (NaN, NA, None)."""
    return None if value is None or pd.isna(value) else float(value)


def rounded(value: Any, digits: int = 2) -> float | None:
    """:func:`plain`, rounded (chart data: short JSON)."""
    number = plain(value)
    return None if number is None else round(number, digits)
