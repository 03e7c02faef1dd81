"""``clvlab fit``, ``clvlab score`` and ``clvlab evaluate``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table as RichTable

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    read_frame,
    state,
    user_errors,
    write_frame,
)
from clvlab.cli.data_cmds import Freq, FreqOpt, freq_value
from clvlab.errors import ParameterError

RfmArg = Annotated[
    Path | None,
    typer.Argument(help="RFM summary (.csv/.parquet from 'clvlab rfm'); omit to compute it from the workspace."),
]


def model_class(name: str) -> Any:
    """Resolve ``bgnbd``, ``pareto``, ``BetaGeo``... to a model class."""
    from clvlab import models

    key = name.lower().replace("-", "").replace("_", "").replace("/", "")
    cls_name = models.MODEL_ALIASES.get(key) or next((n for n in models.__all__ if n.lower() == key), None)
    if cls_name is None or cls_name in {"BaseModel", "load_model", "FitStatus"}:
        choices = ", ".join(sorted(models.MODEL_ALIASES))
        msg = f"Unknown model {name!r}. Choose one of: {choices}."
        raise ParameterError(msg)
    return getattr(models, cls_name)


def _summary_frame(rfm_file: Path | None, workspace: Path | None, freq: Freq, observation_end: str | None) -> pd.DataFrame:
    if rfm_file is not None:
        return read_frame(rfm_file)
    from clvlab.features.rfm import rfm_summary

    with connect_workspace(workspace) as ws:
        return rfm_summary(ws, freq=freq_value(freq), observation_end=observation_end)


PenalizerOpt = Annotated[float, typer.Option(
    "--penalizer", help="L2 penalty on the parameters (e.g. 0.001 when a fit reports a boundary).")]


def print_summary(model: Any) -> None:
    """A Rich table of a fitted model's parameters, then its fit status in one line."""
    summary = model.summary()
    table = RichTable(title=f"{type(model).__name__}  log-likelihood {model.log_likelihood_:,.2f}  "
                      f"n={model.n_customers_:,.0f}")
    for col in ("param", *summary.columns):
        table.add_column(col, justify="right")
    for name, row in summary.iterrows():
        table.add_row(str(name), *(f"{v:.4f}" for v in row))
    console.print(table)
    status = model.fit_status_
    style = "green" if status.ok else "yellow"
    console.print(f"[{style}]fit status:[/] {escape(status.message(type(model).__name__))}",
                  soft_wrap=True)  # one line, however long


def fit_quietly(cls: Any, data: Any, penalizer: float) -> tuple[Any, list[str]]:
    """Fit ``cls(penalizer=...)`` on ``data``; the warnings other than the fit status (which
    :func:`print_summary` shows), as text."""
    from clvlab.errors import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = cls(penalizer=penalizer).fit(data)
    return fitted, [str(w.message) for w in caught if not issubclass(w.category, ConvergenceWarning)]


@user_errors
def fit(
    model: Annotated[str, typer.Argument(help="bgnbd, mbgnbd, pareto, gammagamma, bgbb or sbg.")],
    rfm_file: RfmArg = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the fitted model as JSON.")] = None,
    penalizer: PenalizerOpt = 0.0,
    workspace: WorkspaceOpt = None,
    freq: FreqOpt = Freq.W,
    observation_end: Annotated[str | None, typer.Option("--observation-end")] = None,
) -> None:
    """Fit a model by maximum likelihood and print its parameters with standard errors."""
    cls = model_class(model)
    data = _summary_frame(rfm_file, workspace, freq, observation_end)
    fitted, caught = fit_quietly(cls, data, penalizer)
    if output is not None:
        fitted.save(output)
    if state.json:
        emit_json(fitted.to_dict())
        return
    print_summary(fitted)
    for message in caught:
        console.print(f"[yellow]warning:[/] {escape(message)}")
    if output is not None:
        console.print(f"model saved to {output}")


@user_errors
def score(
    model_file: Annotated[Path, typer.Argument(help="Model JSON from 'clvlab fit'.")],
    rfm_file: RfmArg = None,
    spend_model: Annotated[Path | None, typer.Option("--spend-model", help="Gamma-Gamma JSON from 'clvlab fit gammagamma'.")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="CLV horizon in days.")] = 365,
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Annual discount rate.")] = 0.1,
    margin: Annotated[float, typer.Option("--margin", help="Profit margin applied to revenue.")] = 1.0,
    freq: FreqOpt = Freq.W,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write .csv/.parquet/.json here instead of stdout.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Score customers: P(alive), expected purchases and spend, discounted CLV with an interval."""
    from clvlab.models import load_model
    from clvlab.value.score import score_customers

    fitted = load_model(model_file)
    spend = load_model(spend_model) if spend_model is not None else None
    data = _summary_frame(rfm_file, workspace, freq, None)
    scores = score_customers(data, fitted, spend, horizon=horizon_days, discount_rate=discount_rate,
                             margin=margin, freq=data.attrs.get("freq", freq.value))
    write_frame(scores, output, "json" if state.json else "csv")
    if output is not None:
        console.print(f"{len(scores):,} customers scored, total CLV {scores['clv'].sum():,.2f}; written to {output}")


@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="bgnbd, mbgnbd or pareto.")],
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="Last day of the calibration period.")],
    observation_end: Annotated[str | None, typer.Option("--observation-end", help="End of the holdout [default: latest].")] = None,
    freq: FreqOpt = Freq.W,
    penalizer: PenalizerOpt = 0.0,
    workspace: WorkspaceOpt = None,
) -> None:
    """Fit on the calibration period and measure predictions on the holdout period."""
    from clvlab.features.rfm import calibration_holdout
    from clvlab.value.evaluation import evaluate_holdout

    cls = model_class(model)
    with connect_workspace(workspace) as ws:
        cal = calibration_holdout(ws, calibration_end=calibration_end, observation_end=observation_end,
                                  freq=freq_value(freq))
    fitted, caught = fit_quietly(cls, cal, penalizer)
    result = evaluate_holdout(fitted, cal)
    if state.json:
        emit_json({"model": fitted.to_dict(), "holdout": result})
        return
    print_summary(fitted)
    for message in caught:
        console.print(f"[yellow]warning:[/] {escape(message)}")
    table = RichTable(title="Holdout")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if isinstance(value, int | float):
            table.add_row(key, f"{value:,.4f}")
    console.print(table)
    deciles = result.get("deciles")
    if deciles:
        frame = pd.DataFrame(deciles)
        dec = RichTable(title="Decile lift (1 = highest predicted)")
        for col in frame.columns:
            dec.add_column(str(col), justify="right")
        for row in frame.itertuples(index=False):
            dec.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row))
        console.print(dec)
