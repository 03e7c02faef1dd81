"""Per-customer scores: P(alive), expected purchases and spend, discounted CLV with an interval.

Time and money conventions
--------------------------
- ``horizon`` is in **days**. The RFM summary counts time in periods (``freq``: ``"D"`` day,
  ``"W"`` week = 7 days, ``"M"`` month = 365.25 / 12 days); the horizon is converted with
  these lengths.
- ``discount_rate`` is an **annual** rate ``d``. Cash flows are discounted in monthly steps:
  with a month of ``365.25 / 12`` days, step ``k = 1..K`` (``K = ceil(horizon / month)``) ends
  at ``t_k = min(k * month, horizon)`` days and the CLV is

  .. math::

      CLV = margin \\cdot E[spend] \\cdot \\sum_{k=1}^{K}
            \\frac{E[N(t_k)] - E[N(t_{k-1})]}{(1 + d)^{t_k / 365.25}}

  where ``E[N(t)]`` is the model's conditional expected number of purchases in ``(T, T + t]``
  given the customer's history (``t_0 = 0``). With whole months this is the monthly rate
  ``(1 + d)^{1/12} - 1`` applied per month (lifetimes' ``customer_lifetime_value`` applies a
  monthly rate per month of 30 days or 4.345 weeks).
- ``E[spend]`` is the spend model's expected spend per transaction; without a spend model it is
  the customer's own ``monetary_value`` (mean repeat spend), and for customers with no repeat
  purchase (``frequency == 0``, whose ``monetary_value`` is 0 by convention) the mean
  ``monetary_value`` of the customers with ``frequency > 0``.

Interval
--------
``clv_lower`` and ``clv_upper`` carry **parameter uncertainty only** (``INTERVAL_COVERS``, also
in the result's ``attrs["clv_interval"]``): ``n_draws`` parameter vectors are drawn from the
asymptotic normal of the *log* parameters (covariance ``covariance_ / outer(theta, theta)``,
the delta method back from the natural scale; purchase and spend models independently), the
CLV is recomputed for every draw and the ``(1 - interval) / 2`` and ``(1 + interval) / 2``
quantiles are taken. The interval ignores the customer's own randomness (how many purchases one
customer makes, the Poisson/Gamma noise), which is much larger for one customer: it says how
sure the *expectation* is.

The draws are evaluated on the distinct ``(frequency, recency, T, monetary_value)`` rows, the
expected purchases per distinct (frequency, T) pair; when there are more than
``MAX_EXACT_INTERVAL_ROWS`` distinct rows, on a grid of cells instead (frequency exact below 8,
then in half-octaves; recency, T and monetary value in 8 quantile bins; the expected purchases
per (frequency, T bin) pair at the pair's mean), and each customer gets its point CLV times the
quantiles of ``CLV_draw / CLV`` of its cell. Bounds are widened to contain the point estimate.

The interval never collapses silently. A fit without a usable covariance (none, not finite, or
with a negative variance, as at a boundary MLE) gives NaN bounds, with a
:class:`~clvlab.errors.DataQualityWarning` in the last case. Draws whose CLV is not finite (a
special function failing at extreme parameter values) are dropped, counted in the warning and
in ``attrs["clv_interval_failed_draws"]``; a cell that loses more than ``(1 - interval) / 2``
of its draws (they could be a whole tail) gets NaN bounds. ``attrs["clv_interval_note"]`` says
what happened (None when nothing did).

Speed
-----
BG/NBD, MBG/NBD and Pareto/NBD factor ``E[N(t) | x, t_x, T]`` as P(alive) times a function of
(t, x, T) alone, so the step expectations are computed once per distinct (x, T) pair (a few
thousand in an RFM summary of millions of customers) and each customer gets its own P(alive)
times its pair's discounted sum; other models are evaluated per distinct (x, t_x, T) row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataQualityWarning, DataValidationError, check_param, warn
from clvlab.features.units import check_same_unit
from clvlab.models._base import FloatArray, as_columns
from clvlab.models._btyd import IntArray, check_frt, distinct_rows
from clvlab.value._expected import (
    RFM_COLUMNS,
    expected_spend,
    fitted_params,
    population_spend,
    purchases,
)
from clvlab.value._interval import INTERVAL_COVERS, MAX_EXACT_INTERVAL_ROWS, clv_interval
from clvlab.value.segments import as_frame, rfm_segments

__all__ = ["INTERVAL_COVERS", "MAX_EXACT_INTERVAL_ROWS", "customer_lifetime_value", "score_customers"]

#: length of one period in days
DAYS_PER_PERIOD = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
_DAYS_PER_YEAR = 365.25
_DAYS_PER_MONTH = 365.25 / 12


# ---- argument handling -----------------------------------------------------------------------
def _is_real(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _check_common(
    where: str, horizon: object, discount_rate: object, margin: object
) -> None:
    check_param(_is_real(horizon) and float(horizon) > 0, "horizon", where,  # type: ignore[arg-type]
                "a float > 0 (days)", horizon)
    check_param(_is_real(discount_rate) and 0 <= float(discount_rate) < 1,  # type: ignore[arg-type]
                "discount_rate", where, "a float in [0, 1)", discount_rate)
    check_param(_is_real(margin) and 0 < float(margin) <= 1, "margin", where,  # type: ignore[arg-type]
                "a float in (0, 1]", margin)


def _check_models(where: str, model: object, spend_model: object) -> None:
    ok = all(hasattr(model, m) for m in ("conditional_expected_purchases", "probability_alive"))
    check_param(ok, "model", where,
                "a continuous BTYD model (BetaGeo, ModifiedBetaGeo, ParetoNBD)",
                type(model).__name__)
    fitted_params(model)
    if spend_model is not None:
        check_param(hasattr(spend_model, "expected_spend"), "spend_model", where,
                    "None or a spend model with expected_spend (GammaGamma)",
                    type(spend_model).__name__)
        fitted_params(spend_model)


def _resolve_freq(where: str, rfm: pd.DataFrame, freq: object, *models: Any) -> str:
    """The RFM's time unit; models fitted in another unit are refused."""
    if freq is None:
        freq = rfm.attrs.get("freq")
        check_param(freq in DAYS_PER_PERIOD, "freq", where,
                    "one of 'D', 'W', 'M' (the rfm frame has no attrs['freq'] to take it from)",
                    None)
    check_param(freq in DAYS_PER_PERIOD, "freq", where, "one of 'D', 'W', 'M'", freq)
    for model in models:
        check_same_unit(model, str(freq), model_source=f"{where}: the {type(model).__name__}",
                        data_source="the rfm frame", remedy=f"compute the RFM with rfm_summary(..., freq="
                        f"{getattr(model, 'time_unit_', None)!r}) or score with models fitted on this RFM")
    return str(freq)


def _read_rfm(rfm: Any, where: str) -> tuple[pd.DataFrame, dict[str, FloatArray]]:
    frame = as_frame(rfm, where)
    missing = [c for c in RFM_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"{where}: the rfm frame lacks the column(s) {missing}; it has {list(frame.columns)}"
        raise DataValidationError(msg, hint="build it with clvlab.rfm_summary(..., monetary='amount')")
    cols = as_columns(frame, RFM_COLUMNS, {}, where=where)
    check_frt(cols, where)
    return frame, cols


# ---- the arithmetic ----------------------------------------------------------------------------
def _schedule(horizon_days: float, discount_rate: float, freq: str) -> tuple[FloatArray, FloatArray]:
    """Ends of the monthly steps in periods, and the discount divisor of each step."""
    n_steps = max(1, math.ceil(horizon_days / _DAYS_PER_MONTH - 1e-9))
    ends_days = np.minimum(np.arange(1, n_steps + 1) * _DAYS_PER_MONTH, horizon_days)
    divisors = (1.0 + discount_rate) ** (ends_days / _DAYS_PER_YEAR)
    return ends_days / DAYS_PER_PERIOD[freq], np.asarray(divisors, dtype=np.float64)


# ---- public API --------------------------------------------------------------------------------
def _point_scores(
    model: Any, spend_model: Any, cols: Mapping[str, FloatArray], ends: FloatArray,
    divisors: FloatArray, margin: float, population: float,
) -> dict[str, FloatArray]:
    """Point scores of every customer (``population``: the mean spend of every repeat buyer)."""
    f, m = cols["frequency"], cols["monetary_value"]
    bought = purchases(model, f, cols["recency"], cols["T"], ends, divisors)
    spend = expected_spend(spend_model, f, m, population)
    return {
        "p_alive": bought.alive,
        "expected_purchases": bought.total,
        "expected_spend": spend,
        "expected_revenue": bought.total * spend,
        "clv": margin * spend * bought.discounted,
    }


def _profiles(model: Any, frame: pd.DataFrame, covariates: Any, where: str) -> list[tuple[Any, IntArray | None]]:
    """The purchase model of each group of customers: ``[(model, None)]`` (everyone) for a
    model without covariates; for a covariate model (BG/NBD or Pareto/NBD with covariates) one
    base model per distinct covariate profile (``model.at(...)``, with its parameters'
    covariance) and the rows of its customers. The covariates come from ``covariates`` (a frame
    indexed by customer id, or in the rows' order) or from the RFM frame's own columns."""
    from clvlab.models._covariates import _CovariateModel

    if not isinstance(model, _CovariateModel):
        check_param(covariates is None, "covariates", where, "None for a model without covariates",
                    type(covariates).__name__)
        return [(model, None)]
    z = model._read_covariates(frame, covariates, len(frame), where)
    if not z:
        return [(model.at(), None)]
    rows = distinct_rows(z)
    names = list(z)
    # the rows of each profile, in order: one stable sort of the profile codes, cut at their counts
    members = np.split(np.argsort(rows.inverse, kind="stable"), np.cumsum(np.bincount(rows.inverse))[:-1])
    return [(model.at(**{k: float(rows.column(k)[j]) for k in names}), members[j]) for j in range(len(members))]


def customer_lifetime_value(
    model: Any, spend_model: Any, rfm: Any, *, horizon: float = 365, discount_rate: float = 0.1,
    margin: float = 1.0, freq: str | None = None,
) -> pd.Series:
    """Discounted expected margin of each customer over ``horizon`` days (point estimate).

    Parameters
    ----------
    model
        A fitted BetaGeo, ModifiedBetaGeo or ParetoNBD.
    spend_model
        A fitted GammaGamma, or None to use each customer's ``monetary_value`` (see the module
        docstring for customers without repeat purchases).
    rfm
        Frame with ``frequency``, ``recency``, ``T``, ``monetary_value`` (as from
        :func:`clvlab.rfm_summary`), one row per customer.
    horizon
        Days ahead.
    discount_rate
        Annual discount rate in [0, 1), applied monthly: ``(1 + d) ** (t_k / 365.25)``.
    margin
        Share of revenue that is margin, in (0, 1].
    freq
        Period of ``rfm`` (``"D"``, ``"W"``, ``"M"``); default ``rfm.attrs["freq"]``.

    Returns
    -------
    pandas.Series
        ``clv`` indexed like ``rfm``.
    """
    where = "customer_lifetime_value"
    _check_common(where, horizon, discount_rate, margin)
    _check_models(where, model, spend_model)
    frame, cols = _read_rfm(rfm, where)
    period = _resolve_freq(where, frame, freq, *(m for m in (model, spend_model) if m is not None))
    ends, divisors = _schedule(float(horizon), float(discount_rate), period)
    population = population_spend(cols["frequency"], cols["monetary_value"])
    scores = _point_scores(model, spend_model, cols, ends, divisors, float(margin), population)
    return pd.Series(scores["clv"], index=frame.index, name="clv")


def score_customers(
    rfm: Any, model: Any, spend_model: Any = None, *, horizon: float = 365,
    discount_rate: float = 0.1, margin: float = 1.0, freq: str | None = None,
    interval: float = 0.9, n_draws: int = 200, seed: int | None = 0, covariates: Any = None,
) -> pd.DataFrame:
    """Score every customer: P(alive), expected purchases, spend and revenue, CLV with an
    interval, and the RFM segment.

    Parameters
    ----------
    rfm, model, spend_model, horizon, discount_rate, margin, freq
        As in :func:`customer_lifetime_value` (``horizon`` in days, ``discount_rate`` annual).
    interval
        Coverage of the CLV interval from parameter uncertainty, in (0, 1).
    n_draws
        Parameter draws for the interval; 0 skips it (``clv_lower``/``clv_upper`` are NaN, as
        they are when a model has no finite ``covariance_``).
    seed
        Seed of the draws (results are reproducible).
    covariates
        With a covariate model (:class:`clvlab.BetaGeoCovariates`,
        :class:`clvlab.ParetoNBDCovariates`): each customer's covariates (a frame indexed by
        customer id, or in the rows' order; default: the RFM frame's own columns). Customers are
        scored with their own rates, one covariate profile at a time, and their interval is
        drawn from the profile's parameter covariance (``model.at(...)``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rfm``: ``frequency``, ``recency``, ``T``, ``monetary_value`` (as given),
        ``p_alive``, ``expected_purchases`` (over the horizon), ``expected_spend`` (per
        transaction), ``expected_revenue`` (their product, undiscounted), ``clv`` (discounted
        margin), ``clv_lower``, ``clv_upper`` (the interval from parameter uncertainty only,
        not the customer's own randomness: module docstring), and ``r_score``, ``f_score``,
        ``m_score``, ``rfm_score``, ``segment`` from :func:`clvlab.rfm_segments`. ``attrs``
        record the settings, the models' names and parameters, what the interval covers
        (``clv_interval``) and why bounds are missing or draws were dropped
        (``clv_interval_note``, ``clv_interval_failed_draws``).

    Examples
    --------
    >>> import clvlab
    >>> from clvlab.datasets import load_cdnow_summary
    >>> rfm = load_cdnow_summary()
    >>> rfm.attrs["freq"] = "W"
    >>> scores = clvlab.score_customers(rfm, clvlab.BetaGeo().fit(rfm), horizon=365, discount_rate=0.1)
    >>> scores.loc["1", ["p_alive", "expected_purchases"]].round(3).tolist()
    [0.727, 1.562]
    """
    where = "score_customers"
    _check_common(where, horizon, discount_rate, margin)
    check_param(_is_real(interval) and 0 < float(interval) < 1, "interval", where,
                "a float in (0, 1)", interval)
    check_param(isinstance(n_draws, Integral) and not isinstance(n_draws, bool) and n_draws >= 0,
                "n_draws", where, "an int >= 0", n_draws)
    check_param(seed is None or (isinstance(seed, Integral) and not isinstance(seed, bool)
                                 and seed >= 0), "seed", where, "an int >= 0 or None", seed)
    _check_models(where, model, spend_model)
    frame, cols = _read_rfm(rfm, where)
    period = _resolve_freq(where, frame, freq, *(m for m in (model, spend_model) if m is not None))
    ends, divisors = _schedule(float(horizon), float(discount_rate), period)
    population = population_spend(cols["frequency"], cols["monetary_value"])
    scores: dict[str, FloatArray] = {}
    lower, upper = np.empty(len(frame)), np.empty(len(frame))
    notes: list[str] = []
    failed_draws, alarm = 0, False
    for base, rows in _profiles(model, frame, covariates, where):  # one part (everyone) without covariates
        part = cols if rows is None else {k: v[rows] for k, v in cols.items()}
        point = _point_scores(base, spend_model, part, ends, divisors, float(margin), population)
        bounds = clv_interval(
            base, spend_model, part, point["clv"], ends=ends, divisors=divisors,
            margin=float(margin), population=population, interval=float(interval),
            n_draws=int(n_draws), seed=None if seed is None else int(seed),
        )
        if rows is None:
            scores, lower, upper = point, bounds.lower, bounds.upper
        else:
            for name, values in point.items():
                scores.setdefault(name, np.empty(len(frame)))[rows] = values
            lower[rows], upper[rows] = bounds.lower, bounds.upper
        notes += [bounds.note] if bounds.note and bounds.note not in notes else []
        failed_draws, alarm = failed_draws + bounds.failed_draws, alarm or bounds.alarm
    note = "; ".join(notes) or None
    if alarm:
        warn(f"{where}: {note}", DataQualityWarning, stacklevel=2)
    segments = rfm_segments(pd.DataFrame(dict(cols), index=frame.index, copy=False))
    columns: dict[str, Any] = {**cols, **scores, "clv_lower": lower, "clv_upper": upper}
    for name in ("r_score", "f_score", "m_score"):
        columns[name] = segments[name].to_numpy()
    for name in ("rfm_score", "segment"):  # as strings: decoded from the categories' codes
        labels = segments[name].array
        columns[name] = labels.categories.array.take(labels.codes)
    out = pd.DataFrame(index=frame.index)
    for name, values in columns.items():  # column by column: no copy into one 2-D block
        out[name] = values
    out.attrs = {
        "horizon_days": float(horizon),
        "horizon_periods": float(ends[-1]),
        "freq": period,
        "discount_rate": float(discount_rate),
        "discounting": "annual rate, monthly steps: (1 + d) ** (t_k_days / 365.25)",
        "margin": float(margin),
        "interval": float(interval),
        "n_draws": int(n_draws),
        "seed": seed,
        "model": type(model).__name__,
        "model_params": fitted_params(model),
        "spend_model": None if spend_model is None else type(spend_model).__name__,
        "spend_model_params": None if spend_model is None else fitted_params(spend_model),
        "spend_population_mean": population,
        "clv_interval": INTERVAL_COVERS,
        "clv_interval_note": note,
        "clv_interval_failed_draws": failed_draws,
    }
    return out
