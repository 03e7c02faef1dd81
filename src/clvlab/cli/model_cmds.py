"""``clvlab fit``, ``clvlab score`` and ``clvlab evaluate``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from clvlab.cli._common import (
    WorkspaceOpt,
    connect_workspace,
    console,
    emit_json,
    fmt_number,
    print_p_alive_note,
    read_frame,
    state,
    styled,
    user_errors,
    write_frame,
)
from clvlab.cli.data_cmds import Freq, FreqOpt, UnitOpt, freq_value
from clvlab.errors import DataValidationError, Hint, ParameterError

if TYPE_CHECKING:
    import pandas as pd

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


def _summary_frame(
    rfm_file: Path | None, workspace: Path | None, freq: Freq | None, observation_end: str | None,
    *, default_unit: str | None = None,
) -> pd.DataFrame:
    """The RFM summary from a file (in the unit it records) or from the workspace.

    ``attrs["freq"]`` is always set: from the file's ``time_unit`` column, else ``--freq``; a
    file without a unit and no ``--freq``, or a ``--freq`` that contradicts the file, is refused.
    From the workspace the RFM is computed in ``--freq``, else ``default_unit``, else weeks.
    """
    from clvlab.features.units import DEFAULT_TIME_UNIT, UNIT_COLUMN, read_unit_columns, unit_name

    if rfm_file is not None:
        frame = read_unit_columns(read_frame(rfm_file), str(rfm_file))
        known = frame.attrs.get("freq")
        if known is None and freq is None:
            msg = f"'{rfm_file}' does not record its time unit (days, weeks or months)"
            raise DataValidationError(msg, hint=[Hint(f"add a column '{UNIT_COLUMN}' holding D, W or M to the "
                                                      "file (clvlab rfm writes it)"),
                                                 Hint("or D, M", option="freq", value="W")])
        if known is not None and freq is not None and freq.value != known:
            msg = f"--freq {freq.value} contradicts '{rfm_file}', which is in {unit_name(known)}"
            raise DataValidationError(msg, hint=f"drop --freq, or recompute the file with clvlab rfm --freq {freq.value}")
        frame.attrs["freq"] = known or freq_value(freq)  # type: ignore[arg-type]
        return frame
    from clvlab.features.rfm import rfm_summary

    unit = freq.value if freq is not None else (default_unit or DEFAULT_TIME_UNIT)
    with connect_workspace(workspace) as ws:
        return rfm_summary(ws, freq=unit, observation_end=observation_end)  # type: ignore[arg-type]


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
    console.print(styled(("fit status:", style), f" {status.message(type(model).__name__)}"),
                  soft_wrap=True)  # one line, however long


def fit_quietly(cls: Any, data: Any, penalizer: float) -> tuple[Any, list[str]]:
    """Fit ``cls(penalizer=...)`` on ``data``; the warnings other than the fit status (which
    :func:`print_summary` shows), as text."""
    from clvlab.errors import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = cls(penalizer=penalizer).fit(data)
    return fitted, [str(w.message) for w in caught if not issubclass(w.category, ConvergenceWarning)]




def _fit_with_covariates(cls: Any, data: pd.DataFrame, names: list[str], workspace: Path | None,
                         penalizer: float) -> tuple[Any, list[str], pd.DataFrame]:
    """Fit the covariate version of ``cls`` with VoC covariates from the workspace's feedback
    (on both processes); the warnings as text and the rate ratios."""
    from functools import partial

    from clvlab import models
    from clvlab.voc.covariates import WITH_COVARIATES, voc_covariates, voc_rate_ratios

    if cls.__name__ not in WITH_COVARIATES:
        msg = f"--covariate works with the bgnbd and pareto models, not {cls.__name__}"
        raise ParameterError(msg)
    if workspace is None:
        msg = "--covariate reads the customers' feedback from a workspace: pass -w WORKSPACE"
        raise ParameterError(msg)
    ids = data["customer_id"] if "customer_id" in data.columns else data.index
    with connect_workspace(workspace) as ws:
        z = voc_covariates(ws, ids, covariates=names, until=data.attrs.get("observation_end"))
    caught = [f"covariate column '{c}' is the same for every customer: left out"
              for c in z.attrs["dropped"]]
    columns = list(z.columns)
    frame = data.assign(**{c: z[c].to_numpy() for c in columns})  # z is in the rows' order
    covariate_cls = partial(getattr(models, WITH_COVARIATES[cls.__name__]),
                            purchase_covariates=columns, dropout_covariates=columns)
    fitted, more = fit_quietly(covariate_cls, frame, penalizer)
    return fitted, caught + more, voc_rate_ratios(fitted)


@user_errors
def fit(
    model: Annotated[str, typer.Argument(help="bgnbd, mbgnbd, pareto, gammagamma, bgbb or sbg.")],
    rfm_file: RfmArg = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the fitted model as JSON.")] = None,
    penalizer: PenalizerOpt = 0.0,
    workspace: WorkspaceOpt = None,
    freq: UnitOpt = None,
    observation_end: Annotated[str | None, typer.Option("--observation-end")] = None,
    covariate: Annotated[list[str] | None, typer.Option(
        "--covariate", help="VoC covariate from the workspace's feedback, on the purchase and dropout "
                            "processes (bgnbd, pareto): nps_class (first NPS answer) or negative_share "
                            "(share of negative comments). Repeat for several.")] = None,
) -> None:
    """Fit a model by maximum likelihood and print its parameters with standard errors.

    With --covariate, BG/NBD or Pareto/NBD with time-invariant covariates (Fader & Hardie 2007),
    and what each covariate does to the expected purchase and dropout rates, with 95% intervals.
    The saved model records the time unit of the RFM it was fitted on.
    """
    cls = model_class(model)
    data = _summary_frame(rfm_file, workspace, freq, observation_end)
    ratios = None
    if covariate:
        fitted, caught, ratios = _fit_with_covariates(cls, data, covariate, workspace, penalizer)
    else:
        fitted, caught = fit_quietly(cls, data, penalizer)
    fitted.time_unit_ = data.attrs["freq"]
    if output is not None:
        fitted.save(output)
    if state.json:
        out = fitted.to_dict()
        if ratios is not None:
            out["rate_ratios"] = ratios.to_dict(orient="records")
        emit_json(out)
        return
    print_summary(fitted)
    for text in ([] if ratios is None else ratios["text"]):
        console.print(text, soft_wrap=True)
    for message in caught:
        console.print(styled(("warning:", "yellow"), f" {message}"))
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
    freq: UnitOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write .csv/.parquet/.json here instead of stdout.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Score customers: P(alive), expected purchases and spend, discounted CLV with an interval.

    Without an RFM file the RFM is computed from the workspace in the model's time unit; an RFM
    file in another unit than the model is refused. With a workspace (-w, or no RFM file) the
    scores are also written to its table 'scores', which 'voc metrics --by segment', case
    priorities and value by NPS class read.
    """
    from clvlab.derived import write_derived
    from clvlab.features.units import check_same_unit, unit_name
    from clvlab.models import load_model
    from clvlab.value.score import score_customers
    from clvlab.voc.covariates import WITH_COVARIATES

    fitted = load_model(model_file)
    with_covariates = type(fitted).__name__ in WITH_COVARIATES.values()
    if with_covariates and workspace is None:
        msg = (f"'{model_file}' holds a {type(fitted).__name__}: scoring it reads each customer's covariates "
               "from the workspace's feedback; pass -w WORKSPACE")
        raise ParameterError(msg)
    spend = load_model(spend_model) if spend_model is not None else None
    model_unit = getattr(fitted, "time_unit_", None)
    if freq is not None and model_unit is not None and freq.value != model_unit:
        msg = f"--freq {freq.value} contradicts '{model_file}', fitted on RFM in {unit_name(model_unit)}"
        raise DataValidationError(msg, hint="drop --freq (score uses the model's unit), or refit the model "
                                  f"on an RFM in --freq {freq.value}")
    data = _summary_frame(rfm_file, workspace, freq, None, default_unit=model_unit)
    unit = str(data.attrs["freq"])
    data_source = f"'{rfm_file}'" if rfm_file is not None else "the workspace's RFM"
    remedy = (f"recompute the RFM in the model's unit (clvlab rfm --freq {model_unit} -o FILE), or omit "
              "the RFM file: score then computes it from the workspace in the model's unit")
    for model, source in ((fitted, model_file), (spend, spend_model)):
        if model is not None:
            check_same_unit(model, unit, model_source=f"'{source}'", data_source=data_source, remedy=remedy)
    if model_unit is None:
        console.print(styled(("warning:", "yellow"), f" '{model_file}' does not record its time unit (saved by "
                             f"an older clvlab); assumed to be the RFM's, {unit_name(unit)}"), highlight=False)
    covariates = _score_covariates(fitted, data, workspace) if with_covariates else None
    # a warning (e.g. interval draws that failed) prints as a warning line (user_errors)
    scores = score_customers(data, fitted, spend, horizon=horizon_days, discount_rate=discount_rate,
                             margin=margin, freq=unit, covariates=covariates)
    write_frame(scores, output, "json" if state.json else "csv")
    print_p_alive_note(fitted, scores)
    stored = ""
    if workspace is not None or rfm_file is None:
        with connect_workspace(workspace) as ws:
            run_id = write_derived(ws, "scores", scores, as_of=data.attrs.get("observation_end"),
                                   values={"time_unit": unit, "horizon_days": float(horizon_days),
                                           "model": type(fitted).__name__})
        stored = f"; workspace table 'scores' written (run {run_id})"
    if output is not None or stored:
        where = f"; written to {output}" if output is not None else ""
        console.print(f"{len(scores):,} customers scored, total CLV {scores['clv'].sum():,.2f}{where}{stored}",
                      highlight=False)


def _score_covariates(model: Any, data: pd.DataFrame, workspace: Path | None) -> pd.DataFrame:
    """The VoC covariates a covariate model was fitted with, for the customers of ``data``, from the
    workspace's feedback up to the RFM's observation end (a column the same for everyone is kept)."""
    from clvlab.voc.covariates import COVARIATES, voc_covariates

    columns = list(dict.fromkeys((*model.purchase_covariates, *model.dropout_covariates)))
    names = [name for name, cols in COVARIATES.items() if set(cols) & set(columns)]
    known = {c for name in names for c in COVARIATES[name]}
    other = [c for c in columns if c not in known]
    if other:
        msg = (f"the model's covariate(s) {other} are not VoC covariates clvlab computes "
               f"({', '.join(sorted(COVARIATES))}); score it from Python: "
               "clvlab.score_customers(rfm, model, spend, covariates=FRAME)")
        raise ParameterError(msg)
    ids = data["customer_id"] if "customer_id" in data.columns else data.index
    with connect_workspace(workspace) as ws:
        z = voc_covariates(ws, ids, covariates=names, until=data.attrs.get("observation_end"), drop_constant=False)
    return z[columns]


@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="bgnbd, mbgnbd or pareto.")],
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="Last day of the calibration period.")],
    observation_end: Annotated[str | None, typer.Option("--observation-end", help="End of the holdout \\[default: latest].")] = None,
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
        console.print(styled(("warning:", "yellow"), f" {message}"))
    table = RichTable(title="Holdout")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if isinstance(value, int | float):
            table.add_row(key, fmt_number(value, whole=True))
    console.print(table)
    deciles = result.get("deciles")
    if deciles:
        import pandas as pd

        frame = pd.DataFrame(deciles)
        dec = RichTable(title="Decile lift (1 = highest predicted)")
        for col in frame.columns:
            dec.add_column(str(col), justify="right")
        for row in frame.itertuples(index=False):
            dec.add_row(*(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in row))
        console.print(dec)
