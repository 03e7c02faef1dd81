"""The CLV run: features, model fits chosen on a holdout, spend, scores.

One function, :func:`run_clv`, used by ``clvlab demo`` (and later ``clvlab run``):

1. calibration/holdout split; every candidate model is fitted on the calibration period and
   judged on the holdout (per-customer MAE, total error) and by BIC;
2. the best model is refitted on the whole observation period, Gamma-Gamma on repeat buyers;
3. every customer is scored (P(alive), expected purchases and spend, discounted CLV with an
   interval, RFM segment) and the scores are written to the workspace table ``scores``.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from clvlab.errors import ClvlabError, DataValidationError

if TYPE_CHECKING:
    from clvlab.features.rfm import Freq

#: BTYD candidates compared in a run, by class name
DEFAULT_CANDIDATES = ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD")

Step = Callable[[str], None]


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

    def diagnostics(self) -> dict[str, Any]:
        """A JSON-ready record: settings, the comparison, the chosen fits and a data hash."""
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(self.rfm[["frequency", "recency", "T"]], index=True).to_numpy().tobytes()
        ).hexdigest()[:16]
        return {
            "settings": self.settings,
            "data_hash": digest,
            "n_customers": len(self.rfm),
            "comparison": self.comparison.reset_index().to_dict(orient="records"),
            "best": self.best,
            "model": self.model.to_dict(),
            "spend_model": self.spend_model.to_dict() if self.spend_model is not None else None,
        }


def compare_models(
    cal: pd.DataFrame, candidates: Sequence[str] = DEFAULT_CANDIDATES, *, on_step: Step | None = None,
    penalizer: float = 0.0,
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
    other warnings (e.g. data quality) reach the caller.
    """
    from clvlab import models
    from clvlab.errors import ConvergenceWarning
    from clvlab.value.evaluation import evaluate_holdout

    rows = []
    for name in candidates:
        if on_step:
            on_step(f"fitting {name} on the calibration period")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # shown as the status column
                model = getattr(models, name)(penalizer=penalizer).fit(cal)
            ev = evaluate_holdout(model, cal)
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


def run_clv(
    source: Any,
    *,
    freq: Freq = "W",
    calibration_end: str | None = None,
    observation_end: str | None = None,
    horizon: int = 365,
    discount_rate: float = 0.1,
    margin: float = 1.0,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    on_step: Step | None = None,
) -> ClvRun:
    """Fit, choose and score: the CLV half of a run (see the module docstring).

    ``source`` is a workspace or an Ibis table of transactions. ``calibration_end`` defaults
    to the date that leaves the last third of the observed period as the holdout.
    """
    from clvlab import models
    from clvlab.features.rfm import calibration_holdout, rfm_summary
    from clvlab.value.score import DAYS_PER_PERIOD, score_customers

    step = on_step or (lambda _msg: None)
    step("computing RFM summary")
    rfm = rfm_summary(source, freq=freq, observation_end=observation_end)
    obs_end = pd.Timestamp(rfm.attrs["observation_end"])
    if calibration_end is None:
        first = obs_end - pd.Timedelta(days=float(rfm["T"].max()) * DAYS_PER_PERIOD[freq])
        calibration_end = str((first + (obs_end - first) * 2 / 3).date())
    step("splitting calibration / holdout")
    cal = calibration_holdout(source, calibration_end=calibration_end, observation_end=str(obs_end.date()), freq=freq)
    comparison = compare_models(cal, candidates, on_step=step)
    best = str(comparison.index[0])
    step(f"refitting {best} on the whole period")
    model = getattr(models, best)().fit(rfm)
    step("fitting Gamma-Gamma spend on repeat buyers")
    spend = None
    repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    if len(repeat) >= 10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spend = models.GammaGamma().fit(rfm)
    step("scoring customers")
    scores = score_customers(rfm, model, spend, horizon=horizon, discount_rate=discount_rate, margin=margin, freq=freq)
    settings = {
        "freq": freq, "calibration_end": calibration_end, "observation_end": str(obs_end.date()),
        "horizon_days": horizon, "discount_rate": discount_rate, "margin": margin,
        "candidates": list(candidates),
    }
    return ClvRun(rfm=rfm, comparison=comparison, best=best, model=model, spend_model=spend,
                  scores=scores, settings=settings)

