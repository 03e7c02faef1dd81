"""What customers said, as time-invariant covariates of the CLV models.

One row per customer, from the feedback answered up to the end of the observation period:

- ``nps_class``: the class of the customer's *first* NPS answer, as 0/1 columns
  ``detractor`` and ``passive`` (promoters are the reference) and ``no_nps`` (customers who never
  answered, so they are not mixed with the promoters);
- ``negative_share``: the share of the customer's comments that the sentiment analyser labels
  negative (:func:`clvlab.text.sentiment.sentiment`), 0 without comments.

The first answer, not the latest, keeps the covariate as close as possible to a trait measured
before the behaviour it explains; it is still measured inside the observation period, so a
coefficient is an association, not the effect of changing a customer's answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from clvlab.errors import ConvergenceWarning, DataValidationError, Hint, ParameterError, muted
from clvlab.voc.drivers import nps_class
from clvlab.voc.feedback import _as_table

__all__ = ["COVARIATES", "WITH_COVARIATES", "voc_covariates", "voc_in_model", "voc_rate_ratios"]

#: the covariates a user names, and the columns each one becomes
COVARIATES: dict[str, tuple[str, ...]] = {
    "nps_class": ("detractor", "passive", "no_nps"),
    "negative_share": ("negative_share",),
}
WHERE = "voc_covariates"
#: the covariate form of each purchase model that has one (MBG/NBD has none)
WITH_COVARIATES = {"BetaGeo": "BetaGeoCovariates", "ParetoNBD": "ParetoNBDCovariates"}


def _feedback_rows(source: Any, until: dt.date | None) -> pd.DataFrame:
    tables = getattr(source, "tables", None)
    if callable(tables) and "feedback" not in tables():
        msg = f"{WHERE}: the workspace has no feedback table"
        raise DataValidationError(msg, hint=Hint("load the survey answers with `clvlab load feedback FILE`"))
    t = _as_table(source, "feedback", WHERE)
    missing = [c for c in ("customer_id", "responded_at") if c not in t.columns]
    if missing:
        msg = f"{WHERE}: the feedback lacks column(s) {missing}"
        raise DataValidationError(msg)
    t = t.filter(t.customer_id.notnull())
    if until is not None:
        t = t.filter(t.responded_at.cast("date") <= ibis.date(until))
    null = {"metric": ibis.null("string"), "score": ibis.null("float64"),
            "comment": ibis.null("string"), "response_id": ibis.null("string")}
    cols = {"customer_id": t.customer_id.cast("string"), "responded_at": t.responded_at.cast("timestamp"),
            **{k: (t[k].cast("float64") if k == "score" else t[k].cast("string")) if k in t.columns else v
               for k, v in null.items()}}
    rows = pd.DataFrame(t.select(**cols).execute())
    return rows.sort_values(["responded_at", "response_id"], kind="stable")


def voc_covariates(
    source: Any,
    customers: Iterable[Any],
    *,
    covariates: Sequence[str] = ("nps_class", "negative_share"),
    until: dt.date | str | None = None,
    drop_constant: bool = True,
) -> pd.DataFrame:
    """Per-customer VoC covariates (module docstring) for ``customers``, indexed by customer id.

    Parameters
    ----------
    source
        A workspace with a ``feedback`` table, or the feedback as a frame or Ibis table.
    customers
        The customers to describe (e.g. the index of an RFM summary), in that order.
    covariates
        Names from :data:`COVARIATES`.
    until
        Last day of feedback to use (the RFM's observation end); default all.
    drop_constant
        Leave out the columns that are the same for every customer (they cannot be estimated);
        ``False`` keeps them (scoring a fitted model needs every column it was fitted with).

    Returns
    -------
    pandas.DataFrame
        The covariate columns, floats. Columns that are constant over ``customers`` (e.g. no
        passives at all) cannot be estimated and are left out; ``attrs["dropped"]`` lists them.
    """
    unknown = [c for c in covariates if c not in COVARIATES]
    if unknown or isinstance(covariates, str):
        msg = (f"The 'covariates' parameter of {WHERE} must be a list of {sorted(COVARIATES)}. "
               f"Got {covariates!r} instead.")
        raise ParameterError(msg)
    day = dt.date.fromisoformat(until) if isinstance(until, str) else until
    rows = _feedback_rows(source, day)
    index = pd.Index([str(c) for c in customers], name="customer_id")
    out = pd.DataFrame(index=index)
    if "nps_class" in covariates:
        nps = rows[rows["score"].notna() & (rows["metric"].isna() | (rows["metric"].str.lower() == "nps"))]
        first = nps.groupby("customer_id", sort=False)["score"].first()
        cls = pd.Series(nps_class(first.to_numpy()), index=first.index).reindex(index)
        for name in ("detractor", "passive"):
            out[name] = (cls == name).astype(float)
        out["no_nps"] = cls.isna().astype(float)
    if "negative_share" in covariates:
        text = rows["comment"].where(rows["comment"].fillna("").str.strip().str.len() > 0)
        said = rows[text.notna()]
        share = pd.Series(dtype=float)
        if len(said):
            from clvlab.text.sentiment import sentiment

            negative = sentiment(said["comment"].tolist())["label"].to_numpy() == "negative"
            share = pd.Series(negative.astype(float), index=said["customer_id"].to_numpy())
            share = share.groupby(level=0).mean()
        out["negative_share"] = share.reindex(index).fillna(0.0).to_numpy(dtype=np.float64)
    constant = [c for c in out.columns if out[c].nunique() <= 1] if drop_constant else []
    out = out.drop(columns=constant)
    out.attrs["dropped"] = constant
    return out


#: how each covariate column reads in a sentence: (its group, the reference group)
_LABELS = {
    "detractor": ("a detractor", "a promoter"),
    "passive": ("a passive", "a promoter"),
    "no_nps": ("a non-respondent", "a promoter"),  # no NPS answer
    "negative_share": ("an all-negative commenter", "a customer with no negative comment"),
}
_NPS_COLUMNS = COVARIATES["nps_class"]


def voc_rate_ratios(model: Any, *, level: float = 0.95) -> pd.DataFrame:
    """Every covariate of a fitted covariate model as rate ratios, one row per process.

    For the NPS classes the reference is a promoter (all class columns 0), for
    ``negative_share`` a customer with no negative comment (0 against 1); other covariates are
    held at their mean. Columns: ``process``, ``covariate``, ``ratio``, ``lower``, ``upper``,
    ``text`` ("a detractor's expected dropout rate is 2.10 times a promoter's (95% CI ...)").
    """
    records = []
    lists = {"purchase": tuple(model.purchase_covariates), "dropout": tuple(model.dropout_covariates)}
    for process, names in lists.items():
        nps = [c for c in names if c in _NPS_COLUMNS]
        for name in names:
            if name in _NPS_COLUMNS:
                reference = dict.fromkeys(nps, 0.0)
                group = {**reference, name: 1.0}
            else:
                reference, group = {name: 0.0}, {name: 1.0}
            rr = model.rate_ratio(process, group, reference, level=level)
            label = _LABELS.get(name, (f"{name} = 1", f"{name} = 0"))
            records.append({"process": process, "covariate": name, "ratio": rr.ratio,
                            "lower": rr.lower, "upper": rr.upper, "text": rr.describe(*label)})
    return pd.DataFrame(records, columns=["process", "covariate", "ratio", "lower", "upper", "text"])


def voc_in_model(
    source: Any, cal: pd.DataFrame, rfm: pd.DataFrame, *, family: str, covariates: Sequence[str],
    calibration_end: str, observation_end: str, holdout_mae_without: float | None = None,
    penalizer: float = 0.0,
) -> dict[str, Any]:
    """What customers say, inside a run's purchase model: does it predict better, and what does
    each covariate do to the purchase and dropout rates?

    The covariate form of ``family`` (``BetaGeo`` or ``ParetoNBD``, :data:`WITH_COVARIATES`) is
    fitted on the calibration period ``cal`` with the covariates of the feedback up to
    ``calibration_end`` and judged on the holdout like the run's candidates (mean absolute error
    of each customer's holdout purchases, beside ``holdout_mae_without``, the same model's
    without covariates); then refitted on the whole period ``rfm`` with the feedback up to
    ``observation_end`` for the rate ratios (:func:`voc_rate_ratios`). A JSON-ready record: the
    run's scores still come from the chosen model without covariates (its CLV interval, the
    engine runs and every table read it), which the record says.
    """
    from clvlab import models

    where = "voc_in_model"
    if family not in WITH_COVARIATES:
        msg = (f"{where}: {family} has no covariate form; the VoC covariates fit BG/NBD or Pareto/NBD "
               f"({', '.join(WITH_COVARIATES)})")
        raise ParameterError(msg)
    z_cal = voc_covariates(source, cal.index, covariates=covariates, until=calibration_end)
    z = voc_covariates(source, rfm.index, covariates=covariates, until=observation_end)
    columns = [c for c in z.columns if c in z_cal.columns]  # estimable in both periods
    dropped = sorted(set(z_cal.attrs["dropped"]) | set(z.attrs["dropped"]))
    record: dict[str, Any] = {"model": WITH_COVARIATES[family], "family": family, "covariates": list(covariates),
                              "columns": columns, "dropped": dropped,
                              "scores_from": f"{family} without covariates"}
    if not columns:
        record["note"] = "every covariate column is the same for every customer: nothing to estimate"
        return record
    cls = getattr(models, WITH_COVARIATES[family])
    with muted(ConvergenceWarning):  # the verdict is reported as fit_status below
        on_cal = cls(purchase_covariates=columns, dropout_covariates=columns, penalizer=penalizer).fit(
            cal, covariates=z_cal[columns])
        whole = cls(purchase_covariates=columns, dropout_covariates=columns, penalizer=penalizer).fit(
            rfm, covariates=z[columns])
    predicted = np.asarray(on_cal.conditional_expected_purchases(
        cal["duration_holdout"], cal["frequency_cal"], cal["recency_cal"], cal["T_cal"],
        covariates=z_cal[columns]), dtype=float)
    actual = cal["frequency_holdout"].to_numpy(dtype=float)
    ratios = voc_rate_ratios(whole)
    record.update(
        holdout_mae=float(np.mean(np.abs(predicted - actual))), holdout_mae_without=holdout_mae_without,
        predicted_total=float(predicted.sum()), actual_total=float(actual.sum()),
        bic_calibration=float(on_cal.bic_), status=whole.fit_status_.label,
        status_message="" if whole.fit_status_.ok else whole.fit_status_.message(type(whole).__name__),
        params={k: float(v) for k, v in whole.params_.items()},
        rate_ratios=[{k: (float(v) if k in ("ratio", "lower", "upper") else str(v)) for k, v in r.items()}
                     for r in ratios.to_dict(orient="records")],
    )
    return record
