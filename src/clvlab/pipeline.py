"""A run: load, fit and choose, score, write the derived tables, summarise feedback, open cases.

:func:`run_pipeline` is the whole run, used by ``clvlab demo`` (:func:`run_demo`, on the bundled
data) and next by ``clvlab run`` and the server; its CLV half is :func:`run_clv`:

1. calibration/holdout split; every candidate model is fitted on the calibration period and
   judged on the holdout (per-customer MAE, total error) and by BIC;
2. the best model is refitted on the whole observation period, Gamma-Gamma on repeat buyers;
3. every customer is scored (P(alive), expected purchases and spend, discounted CLV with an
   interval, RFM segment).

:func:`run_pipeline` then writes the scores to the workspace table ``scores`` (through
:func:`clvlab.derived.write_derived`, with the run id), its diagnostics (table ``diagnostics``: the
comparison, the fits, the holdout period by period, :mod:`clvlab.value.diagnostics`), the
lifecycle stages and health score (tables ``stages`` and ``health``, :mod:`clvlab.lifecycle`),
the churn watchlist (table ``churn``), summarises the feedback (NPS overall and
by store, value by NPS class) and lets the alert rules open cases in the application store.
The library draws nothing: it reports each step to an ``on_progress(message, done, total)``
callback, and the command line draws the bar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import pandas as pd

from clvlab.errors import (
    ClvlabError,
    ConvergenceWarning,
    DataQualityWarning,
    DataValidationError,
    muted,
)
from clvlab.features.units import DEFAULT_TIME_UNIT

if TYPE_CHECKING:
    from clvlab.cases.alerts import AlertsReport
    from clvlab.data.load import LoadReport
    from clvlab.features.rfm import Freq

#: BTYD candidates compared in a run, by class name
DEFAULT_CANDIDATES = ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD")

Step = Callable[[str], None]
#: progress callback: (what starts now, steps done before it, steps in all)
ProgressCallback = Callable[[str, int, int], None]


class _Steps:
    """Counts the steps of a run and reports each to the progress callback (a :data:`Step`)."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def __call__(self, message: str) -> None:
        if self.callback is not None:
            self.callback(message, min(self.done, self.total), self.total)
        self.done += 1

    def finish(self) -> None:
        if self.callback is not None:
            self.callback("done", self.total, self.total)


def _clv_steps(options: ClvOptions) -> int:
    return 6 + len(options.get("candidates", DEFAULT_CANDIDATES)) + int(bool(options.get("covariates")))


@dataclass
class ClvRun:
    """Everything a CLV run produced."""

    rfm: pd.DataFrame
    comparison: pd.DataFrame
    best: str
    model: Any
    spend_model: Any
    scores: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    #: the chosen model's holdout, period by period (clvlab.value.diagnostics.holdout_tracking)
    tracking: pd.DataFrame | None = None
    #: with ``covariates``: the VoC covariate model's check (clvlab.voc.covariates.voc_in_model)
    voc_model: dict[str, Any] | None = None

    def diagnostics(self) -> dict[str, Any]:
        """A JSON-ready record: settings, the comparison, the chosen fits and a data hash."""
        return {
            "settings": self.settings,
            "data_hash": data_hash(self.rfm),
            "n_customers": len(self.rfm),
            "comparison": self.comparison.reset_index().to_dict(orient="records"),
            "best": self.best,
            "model": self.model.to_dict(),
            "spend_model": self.spend_model.to_dict() if self.spend_model is not None else None,
            "voc_model": self.voc_model,
        }


def data_hash(rfm: pd.DataFrame) -> str:
    """16 hex digits of SHA-256 over the customer ids (UTF-8, each with its length) and their
    frequency, recency and T (float64): equal for the same customers and figures in the same
    order. The bytes are Arrow's and NumPy's as they lie, hashed without a copy: pandas'
    ``hash_pandas_object`` of the same frame took 1.9 s for 3.2M customers (each id hashed as a
    Python object), this 0.08 s."""
    import numpy as np
    import pyarrow as pa

    digest = hashlib.sha256()
    ids = pa.array(rfm.index.astype(str), type=pa.large_string())
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset:ids.offset + len(ids) + 1]
    digest.update(np.diff(offsets).tobytes())  # the lengths: "ab","c" and "a","bc" differ
    data = ids.buffers()[2]  # None when every id is empty
    digest.update(b"" if data is None or not len(ids) else memoryview(data)[offsets[0]:offsets[-1]])
    for column in ("frequency", "recency", "T"):
        digest.update(np.ascontiguousarray(rfm[column].to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()[:16]


def compare_models(
    cal: pd.DataFrame, candidates: Sequence[str] = DEFAULT_CANDIDATES, *, on_step: Step | None = None,
    penalizer: float = 0.0, fitted: dict[str, Any] | None = None, weights: str | None = None,
) -> pd.DataFrame:
    """Fit each candidate on the calibration columns of ``cal`` and evaluate it on the holdout.

    Returns one row per model (index ``model``) with log-likelihood, BIC, holdout MAE/RMSE,
    predicted and actual holdout totals, and the fit status (``status``: the one-word
    :attr:`FitStatus.label <clvlab.models.FitStatus.label>`, ``converged``: whether the fit
    can be trusted, ``status_message``: the one line saying why not); models that fail to fit
    are listed with their error. Rows are sorted best first: trusted fits before the others
    (a model whose fit did not converge or sits at a boundary is never first unless no fit
    converged), then by holdout MAE, then BIC. ``penalizer`` is passed to every candidate.
    Each candidate's fit-status warning is summarised in the table instead of being raised;
    other warnings (e.g. data quality) reach the caller. ``fitted``, when given, receives each
    candidate's calibration fit by name. ``weights`` names a column of ``cal`` counting the
    customers of each row, when ``cal`` holds distinct rows counted by an engine
    (:mod:`clvlab.scale`): fits and errors are then weighted by it.
    """
    from clvlab import models
    from clvlab.value.evaluation import evaluate_holdout

    if len(cal) < 10:  # the holdout check ranks customers in ten groups; no model learns from fewer
        msg = f"only {len(cal):,} customers bought in the calibration period: too few to fit and compare purchase models"
        raise DataValidationError(msg, hint="load more customers' history (models need hundreds)")
    rows = []
    for name in candidates:
        if on_step:
            on_step(f"fitting {name} on the calibration period")
        try:
            with muted(ConvergenceWarning):  # shown as the status column
                model = getattr(models, name)(penalizer=penalizer).fit(
                    cal, weights=None if weights is None else cal[weights].to_numpy(dtype=float))
            ev = evaluate_holdout(model, cal) if weights is None else _weighted_holdout(model, cal, weights)
            if fitted is not None:
                fitted[name] = model
            status = model.fit_status_
            rows.append({
                "model": name, "log_likelihood": model.log_likelihood_, "bic": model.bic_,
                "holdout_mae": ev["mae"], "holdout_rmse": ev["rmse"],
                "predicted_total": ev["predicted_total"], "actual_total": ev["actual_total"],
                "converged": status.ok, "status": status.label,
                "status_message": "" if status.ok else status.message(name), "error": "",
            })
        except ClvlabError as exc:
            rows.append({"model": name, "converged": False, "status": "failed", "error": str(exc)})
    table = pd.DataFrame(rows).set_index("model")
    if "holdout_mae" not in table or table["holdout_mae"].isna().all():
        msg = "No model could be fitted: " + "; ".join(table["error"].astype(str))
        raise DataValidationError(msg)
    table["converged"] = table["converged"].astype(bool)
    table["_untrusted"] = ~table["converged"]
    table = table.sort_values(["_untrusted", "holdout_mae", "bic"], na_position="last")
    return table.drop(columns="_untrusted")


def _weighted_holdout(model: Any, cal: pd.DataFrame, weights: str) -> dict[str, float]:
    """Holdout totals and per-customer errors of distinct calibration rows counted in ``weights``."""
    import numpy as np

    w = cal[weights].to_numpy(dtype=float)
    predicted = np.asarray(model.conditional_expected_purchases(
        cal["duration_holdout"], cal["frequency_cal"], cal["recency_cal"], cal["T_cal"]), dtype=float)
    actual = cal["frequency_holdout"].to_numpy(dtype=float)
    err = predicted - actual
    return {"mae": float(np.sum(w * np.abs(err)) / w.sum()), "rmse": float(np.sqrt(np.sum(w * err**2) / w.sum())),
            "predicted_total": float(np.sum(w * predicted)), "actual_total": float(np.sum(w * actual))}


class ClvOptions(TypedDict, total=False):
    """Settings of the CLV half of a run (all optional).

    ``freq`` time unit (default weeks); ``calibration_end`` (default: the date that leaves the
    last third of the observed period as the holdout); ``observation_end`` (default: the latest
    purchase); ``horizon`` in days (365); ``discount_rate`` annual (0.1); ``margin`` (1.0 in the
    CLV scores; unset, the economics take theirs from the transactions' cost column, else 1.0);
    ``candidates``: model class names compared (:data:`DEFAULT_CANDIDATES`); ``penalizer``: L2
    penalty given to every candidate and to the refit (0); ``covariates``: VoC covariates
    (``nps_class``, ``negative_share``) of a check of what customers say inside the purchase
    model (:func:`clvlab.voc.covariates.voc_in_model`; needs a ``feedback`` table; the scores
    stay the chosen model's).
    """

    freq: Freq
    calibration_end: str | None
    observation_end: str | None
    horizon: int
    discount_rate: float
    margin: float
    candidates: Sequence[str]
    penalizer: float
    covariates: Sequence[str]


def default_calibration_end(observation_end: pd.Timestamp, longest_T: float, freq: str) -> str:
    """The calibration end when none is given: two thirds of the way from the first purchase
    (``longest_T`` periods of ``freq`` before ``observation_end``) to the observation end."""
    from clvlab.value.score import DAYS_PER_PERIOD

    first = observation_end - pd.Timedelta(days=longest_T * DAYS_PER_PERIOD[freq])
    return str((first + (observation_end - first) * 2 / 3).date())


def run_clv(source: Any, *, on_progress: ProgressCallback | None = None, **options: Unpack[ClvOptions]) -> ClvRun:
    """Fit, choose and score: the CLV half of a run (see the module docstring).

    ``source`` is a workspace or an Ibis table of transactions; ``options`` as in
    :class:`ClvOptions`. The models record ``freq`` as their ``time_unit_``.
    """
    steps = _Steps(on_progress, _clv_steps(options))
    run = _run_clv(source, steps, **options)
    steps.finish()
    return run


def _run_clv(
    source: Any, step: Step, *, freq: Freq = DEFAULT_TIME_UNIT, calibration_end: str | None = None,
    observation_end: str | None = None, horizon: int = 365, discount_rate: float = 0.1, margin: float = 1.0,
    candidates: Sequence[str] = DEFAULT_CANDIDATES, penalizer: float = 0.0, covariates: Sequence[str] = (),
    on_rfm: Callable[[pd.DataFrame], None] | None = None, on_refit: Callable[[Any, pd.DataFrame], None] | None = None,
) -> ClvRun:
    """``on_rfm(rfm)``: called once the RFM summary is computed (the churn features ahead take
    it); ``on_refit(model, rfm)``: once the chosen model is refitted on the whole period (a run
    starts its stages and health ahead from it); both for :mod:`clvlab.run_ahead`."""
    from clvlab import models
    from clvlab.features.rfm import calibration_holdout, rfm_summary
    from clvlab.value.diagnostics import holdout_tracking
    from clvlab.value.score import score_customers

    step("computing RFM summary")
    rfm = rfm_summary(source, freq=freq, observation_end=observation_end)
    if on_rfm is not None:
        on_rfm(rfm)
    obs_end = pd.Timestamp(rfm.attrs["observation_end"])
    if calibration_end is None:
        calibration_end = default_calibration_end(obs_end, float(rfm["T"].max()), freq)
    step("splitting calibration / holdout")
    cal = calibration_holdout(source, calibration_end=calibration_end, observation_end=str(obs_end.date()), freq=freq)
    fitted: dict[str, Any] = {}
    comparison = compare_models(cal, candidates, on_step=step, penalizer=penalizer, fitted=fitted)
    best = str(comparison.index[0])
    step(f"tracking {best} on the holdout, period by period")
    tracking = holdout_tracking(source, fitted[best], cal)
    step(f"refitting {best} on the whole period")
    model = getattr(models, best)(penalizer=penalizer).fit(rfm)  # records rfm's time unit
    if on_refit is not None:
        on_refit(model, rfm)
    step("fitting Gamma-Gamma spend on repeat buyers")
    spend = None
    repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    if len(repeat) >= 10:
        with muted(DataQualityWarning, ConvergenceWarning):  # non-repeaters get the population mean
            spend = models.GammaGamma().fit(rfm)
    voc_model = None
    if covariates:
        voc_model = _voc_model(source, step, cal, rfm, comparison, best, covariates, calibration_end,
                               str(obs_end.date()), penalizer)
    step("scoring customers")
    scores = score_customers(rfm, model, spend, horizon=horizon, discount_rate=discount_rate, margin=margin, freq=freq)
    settings = {
        "freq": freq, "calibration_end": calibration_end, "observation_end": str(obs_end.date()),
        "horizon_days": horizon, "discount_rate": discount_rate, "margin": margin,
        "candidates": list(candidates), "penalizer": penalizer, "covariates": list(covariates),
    }
    return ClvRun(rfm=rfm, comparison=comparison, best=best, model=model, spend_model=spend,
                  scores=scores, settings=settings, tracking=tracking, voc_model=voc_model)


def _voc_model(source: Any, step: Step, cal: pd.DataFrame, rfm: pd.DataFrame, comparison: pd.DataFrame,
               best: str, covariates: Sequence[str], calibration_end: str, observation_end: str,
               penalizer: float) -> dict[str, Any]:
    """The chosen model's covariate form (Pareto/NBD when the chosen one has none) checked on the
    same holdout, with its rate ratios."""
    from clvlab.voc.covariates import WITH_COVARIATES, voc_in_model

    family = best if best in WITH_COVARIATES else "ParetoNBD"
    step(f"fitting {family} with VoC covariates ({', '.join(covariates)})")
    without = comparison["holdout_mae"].get(family) if "holdout_mae" in comparison else None
    record = voc_in_model(source, cal, rfm, family=family, covariates=covariates, calibration_end=calibration_end,
                          observation_end=observation_end, penalizer=penalizer,
                          holdout_mae_without=None if without is None or pd.isna(without) else float(without))
    if family != best:
        record["family_note"] = f"{best} has no covariate form: {family} is fitted with the covariates"
    return record


# ---- the whole run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One input of a run: the contract table to load, the file/URL/frame, and load options
    (``mapping``, ``date_format``, ``sep``... as :meth:`clvlab.Workspace.load` takes them)."""

    table: str
    source: Any
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipelineRun:
    """Everything :func:`run_pipeline` produced."""

    loads: list[LoadReport]
    clv: ClvRun
    run_id: str
    voc: dict[str, pd.DataFrame]
    alerts: AlertsReport | None = None
    cases: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: stage sizes, health bands and weights (clvlab.lifecycle.tables.write_lifecycle_tables)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    #: prospects, base rate and evaluation of the lead score, or its error (clvlab.lifecycle.leads)
    leads: dict[str, Any] = field(default_factory=dict)
    #: the churn watchlist's head and totals (clvlab.lifecycle.churn_table.write_churn_table)
    churn: dict[str, Any] = field(default_factory=dict)
    #: the economics tables written and ``cac``: its source, else what to load (write_economics_tables)
    economics: dict[str, Any] = field(default_factory=dict)

    def load(self, table: str) -> LoadReport | None:
        """The report of the first load into ``table`` (None when the run loaded none)."""
        return next((r for r in self.loads if r.table == table), None)


def run_pipeline(
    workspace: Any, *, sources: Sequence[Source] = (), app_store: Any = None, owners: Any = None,
    on_progress: ProgressCallback | None = None, **options: Unpack[ClvOptions],
) -> PipelineRun:
    """Load, run the CLV models, write ``scores``, summarise feedback and open cases.

    Parameters
    ----------
    workspace
        An open :class:`clvlab.Workspace`.
    sources
        Inputs to load first (idempotent: a re-run loads nothing new).
    app_store
        An open application store (:func:`clvlab.open_app_store`); without one no cases are
        opened. ``owners``, if given, are loaded into it first (an upsert).
    on_progress
        Called with ``(message, done, total)`` as each step starts, and ``("done", total,
        total)`` at the end.
    options
        The CLV settings, :class:`ClvOptions`.

    Returns
    -------
    PipelineRun
        The load reports, the CLV run, the run id written on ``scores``, the feedback summary
        (empty without a feedback table), the alerts report (None without an app store or a
        feedback table) and open cases by owner.
    """
    from clvlab.derived import new_run_id
    from clvlab.lifecycle._features import shared_features
    from clvlab.lifecycle.churn_table import write_churn_table
    from clvlab.lifecycle.leads import write_leads_table
    from clvlab.lifecycle.tables import write_lifecycle_tables
    from clvlab.run_ahead import RunAhead
    from clvlab.value.economics_tables import write_cohorts_table, write_economics_table

    has_store = app_store is not None
    clv_steps = _clv_steps(options)
    total = len(sources) + clv_steps + 5 + (int(owners is not None) + 1 if has_store else 0)
    total += 1  # lead scores
    steps = _Steps(on_progress, total)
    loads = []
    for src in sources:
        steps(f"loading {src.table}")
        loads.append(workspace.load(src.table, src.source, **{**src.options, "progress": False}))
    run_id = new_run_id()
    # the lifecycle steps start ahead, on their own connection, while the CLV part fits in Python
    # (clvlab.run_ahead); stages, health and churn read the same customers as of the same days,
    # cohorts and economics the purchase days they hold; the purchase models of the run's date
    # start from its RFM
    ahead = RunAhead(workspace, observation_end=options.get("observation_end"), app_store=app_store, run_id=run_id)
    try:
        def on_refit(model: Any, rfm: pd.DataFrame) -> None:  # stages and health ahead, from the run's model
            ahead.start_lifecycle_tables(model, rfm, as_of=str(pd.Timestamp(rfm.attrs["observation_end"]).date()),
                                         run_id=run_id)

        with shared_features(), ahead.running():
            clv = _run_clv(workspace, steps, on_rfm=ahead.offer_rfm, on_refit=on_refit, **options)
            ahead.clv_finished()  # the engine's threads as they were: the stores at the end use every core
            # every table from here on is stored on the writer connection while the next is computed
            with ahead.writing():
                steps("writing the scores table")
                write_clv_tables(workspace, clv, run_id=run_id)
                scores_stored = ahead.stored()
                as_of = clv.settings["observation_end"]
                steps("lifecycle stages and health")
                lifecycle_ws = ahead.lifecycle_workspace()
                lifecycle = ahead.lifecycle_tables(as_of)  # None: not computed ahead
                if lifecycle is None:
                    lifecycle = write_lifecycle_tables(lifecycle_ws, as_of=as_of, run_id=run_id,
                                                       app_store=app_store, model=clv.model, rfm=clv.rfm)
                steps("churn early warning")
                churn = write_churn_table(lifecycle_ws, as_of=as_of, run_id=run_id, app_store=app_store,
                                          clv=clv.scores["clv"], scored=ahead.churn_scores(as_of))
                steps("writing the cohorts and economics tables")
                end = ahead.cohorts(as_of) or write_cohorts_table(lifecycle_ws, run_id=run_id, as_of=as_of)
                scores_stored()  # the economics read the model CLV of the scores table
                economics = write_economics_table(lifecycle_ws, run_id=run_id, as_of=end,
                                                  margin=options.get("margin"))  # None: the cost column's
    finally:
        ahead.close()
    steps("lead scores of prospects")
    leads = write_leads_table(workspace, run_id=run_id, as_of=clv.settings["observation_end"])
    steps("summarising feedback")
    if has_store:  # survey responses collected by the server join the feedback (an idempotent load)
        from clvlab.surveys.feedback import load_responses

        answered = load_responses(workspace, app_store)
        loads += [answered] if answered is not None else []
    has_feedback = "feedback" in workspace.tables()
    voc = voc_summary(workspace) if has_feedback else {}
    alerts, cases = None, pd.DataFrame()
    if has_store:
        alerts, cases = _close_the_loop(workspace, app_store, owners, steps, has_feedback)
    steps.finish()
    return PipelineRun(loads=loads, clv=clv, run_id=run_id, voc=voc, alerts=alerts, cases=cases,
                       lifecycle=lifecycle, leads=leads, churn=churn, economics=economics)


def write_clv_tables(workspace: Any, clv: ClvRun, *, run_id: str | None = None) -> str:
    """Write a CLV run's ``scores`` and ``diagnostics`` tables under ``run_id`` (default: a new
    one; returned): with :func:`run_clv`, what a run did before the lifecycle steps (the
    benchmark's CLV part)."""
    from clvlab.derived import write_derived
    from clvlab.value.diagnostics import write_run_diagnostics

    run_id = write_derived(workspace, "scores", clv.scores, run_id=run_id, as_of=clv.settings["observation_end"],
                           values={"time_unit": clv.settings["freq"], "horizon_days": float(clv.settings["horizon_days"]),
                                   "model": clv.best})
    write_run_diagnostics(workspace, clv, run_id=run_id)
    return run_id


#: the whole run under a short name: ``clvlab.run(ws, app_store=store, observation_end="2024-12-31")``
run = run_pipeline


def voc_summary(workspace: Any) -> dict[str, pd.DataFrame]:
    """NPS overall and by store, and what promoters and detractors are worth (needs ``scores``)."""
    from clvlab.voc.drivers import value_by_nps_class
    from clvlab.voc.metrics import feedback_metrics

    return {
        "nps": feedback_metrics(workspace, metric="nps", by=()),
        "nps_by_store": feedback_metrics(workspace, metric="nps", by=("store",)),
        "value_by_nps_class": value_by_nps_class(workspace, workspace),
    }


def _close_the_loop(workspace: Any, store: Any, owners: Any, step: Step,
                    has_feedback: bool) -> tuple[AlertsReport | None, pd.DataFrame]:
    """Owners into the app store; alert rules open cases (none without a feedback table: the
    report is then None); open cases counted by owner."""
    from clvlab.cases.alerts import run_alerts
    from clvlab.cases.owners import load_owners
    from clvlab.cases.service import CaseService

    if owners is not None:
        step("loading case owners")
        load_owners(store, owners)
    if has_feedback:
        step("alert rules: opening cases")
        report: AlertsReport | None = run_alerts(workspace, store)
    else:
        step("alert rules: no feedback table, no cases to open")
        report = None
    views = CaseService(store).list_cases(state=["open", "in_progress"])
    frame = pd.DataFrame([{"owner": v.owner_id or "(none)", "priority": v.priority, "sla": v.sla_state}
                          for v in views])
    if frame.empty:
        return report, pd.DataFrame(columns=["owner", "P1", "P2", "P3", "overdue"])
    table = pd.crosstab(frame["owner"], frame["priority"]).reindex(columns=["P1", "P2", "P3"], fill_value=0)
    table["overdue"] = frame.assign(o=frame["sla"].eq("overdue")).groupby("owner")["o"].sum()
    return report, table.reset_index()


#: CDNOW master: whitespace-separated, header 'customer_id date number_of_cds dollar_value'
CDNOW_MAPPING = {"ordered_at": "date", "quantity": "number_of_cds", "amount": "dollar_value"}


def run_demo(
    workspace: Any, app_store: Any, *, freq: Freq = DEFAULT_TIME_UNIT, horizon: int = 365,
    on_progress: ProgressCallback | None = None,
) -> PipelineRun:
    """The demo run on the bundled data: CDNOW transactions (models judged on weeks 40-78 after a
    1997-09-30 calibration end), the demo feedback and its store owners."""
    from clvlab.datasets import path as dataset_path

    sources = [
        Source("transactions", dataset_path("cdnow_master"),
               {"mapping": CDNOW_MAPPING, "date_format": "%Y%m%d", "sep": "whitespace"}),
        Source("feedback", dataset_path("demo_feedback")),
        Source("customers", dataset_path("demo_customers")),  # demo assumption: channels
        Source("marketing_spend", dataset_path("demo_marketing_spend")),  # demo assumption: spend
        Source("customers", dataset_path("demo_prospects")),  # demo assumption: prospects who never buy
        Source("events", dataset_path("demo_events")),  # demo assumption: behaviour before a first purchase
    ]
    return run_pipeline(workspace, sources=sources, app_store=app_store, owners=dataset_path("demo_owners"),
                        freq=freq, calibration_end="1997-09-30", observation_end="1998-06-30",
                        horizon=horizon, on_progress=on_progress)
