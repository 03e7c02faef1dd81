"""Lifecycle stages as of any date, the transition matrix between two dates, onboarding figures.

Stages (first rule that applies, thresholds in :class:`~clvlab.lifecycle.LifecycleThresholds`):

========== ===================================================================================
prospect   a row of ``customers`` (known by the date), or a person with an event in ``events`` by
           the date, without any purchase up to it (:func:`clvlab.lead_scores` ranks them)
onboarding one purchase day, the first at most ``onboarding_days`` ago (new/onboarding)
churned    days since the last purchase >= ``churn_ratio`` x the customer's own cadence, or
           P(alive) < ``churn_p_alive``
declining  the same with ``decline_ratio`` and ``decline_p_alive``
won_back   the gap before the last purchase was >= ``churn_ratio`` x the cadence before it (the
           customer was churned and bought again), at most ``won_back_days`` ago
mature     at least ``mature_purchases`` purchase days (mature/loyal)
growth     every other active customer
========== ===================================================================================

The cadence is the customer's mean days between purchases, shrunk towards the population's
(:attr:`~LifecycleThresholds.cadence_prior`); a one-purchase customer has the population's.
P(alive) comes from MBG/NBD (default; Pareto/NBD on request) fitted on the purchases up to the date;
BG/NBD is refused: it gives P(alive) = 1 to every customer without a repeat purchase.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clvlab.errors import (
    ConvergenceWarning,
    DataValidationError,
    ParameterError,
    check_param,
    muted,
)
from clvlab.lifecycle._features import (
    aligned,
    cadence_stats,
    check_as_of,
    customer_features,
    customer_ids,
    purchase_days,
    rfm_as_of,
    shared,
)
from clvlab.lifecycle.thresholds import LifecycleThresholds, ResolvedThresholds, resolve

#: stages in lifecycle order
STAGES = ("prospect", "onboarding", "growth", "mature", "won_back", "declining", "churned")
#: P(alive) models a stage may rest on (BG/NBD is refused, see the module docstring)
ALIVE_MODELS = ("ParetoNBD", "ModifiedBetaGeo")


def _thresholds(value: LifecycleThresholds | dict[str, Any] | str | None, where: str) -> LifecycleThresholds:
    if value is None:
        return LifecycleThresholds()
    if isinstance(value, LifecycleThresholds):
        return value
    if isinstance(value, dict):
        return LifecycleThresholds.from_mapping(value, where=where)
    if isinstance(value, str):
        return LifecycleThresholds.from_file(value)
    check_param(False, "thresholds", where, "LifecycleThresholds, a dict or a YAML/TOML path", value)
    raise AssertionError  # pragma: no cover


def p_alive(days: Any, as_of: dt.date, model: Any, where: str) -> pd.Series:
    """P(alive) per customer of the purchase days ``days`` as of ``as_of`` from a Pareto/NBD or
    MBG/NBD model.

    ``model`` is a class name of :data:`ALIVE_MODELS` (fitted on the purchases up to
    ``as_of``), a fitted model of those classes (scored in its ``time_unit_``), or None (no
    P(alive): a column of NaN).
    """
    key = ("p_alive", days.op(), as_of, model if isinstance(model, str | None) else id(model))
    return shared(key, lambda: _p_alive(days, as_of, model, where))


def _p_alive(days: Any, as_of: dt.date, model: Any, where: str) -> pd.Series:
    from clvlab import models
    from clvlab.features.units import DEFAULT_TIME_UNIT

    freq = model.time_unit_ if not isinstance(model, str | None) and hasattr(model, "time_unit_") else None
    rfm = rfm_as_of(days, as_of, freq or DEFAULT_TIME_UNIT)
    if model is None:
        return pd.Series(np.nan, index=rfm.index, name="p_alive")
    name = model if isinstance(model, str) else type(model).__name__
    if name not in ALIVE_MODELS:
        msg = (f"The 'model' parameter of {where} must be one of {ALIVE_MODELS} (or None), got {name!r}: "
               "BG/NBD gives P(alive) = 1 to every customer without a repeat purchase, so stages "
               "cannot rest on it")
        raise ParameterError(msg)
    if isinstance(model, str):
        with muted(ConvergenceWarning):  # convergence is reported by the fit's converged_
            model = getattr(models, name)().fit(rfm)
    values = model.probability_alive(rfm["frequency"], rfm["recency"], rfm["T"])
    return pd.Series(np.asarray(values, dtype=float), index=rfm.index, name="p_alive")


def _assign(frame: pd.DataFrame, th: LifecycleThresholds, res: ResolvedThresholds) -> pd.Series:
    """The stage of each customer of a :func:`customer_features` frame with ``p_alive``; adds
    the columns ``cadence_days`` and ``gap_ratio`` to ``frame``."""
    prior, pop = th.cadence_prior, res.cadence_days
    n = frame["n"].to_numpy(dtype=float)
    span = _days_between(frame["first"], frame["last"])
    cadence = (prior * pop + span) / np.maximum(prior + n - 1, 1e-9)
    cadence = np.where(n > 1, cadence, pop)
    ratio = frame["since_days"].to_numpy(dtype=float) / cadence
    before_span = _days_between(frame["first"], frame["prev"])
    cadence_before = np.where(n > 2, (prior * pop + before_span) / np.maximum(prior + n - 2, 1e-9), pop)
    last_gap_ratio = frame["last_gap_days"].to_numpy(dtype=float) / cadence_before
    alive = frame["p_alive"].to_numpy(dtype=float)
    low = np.nan_to_num(alive, nan=1.0)
    conditions = [
        (n == 1) & (frame["age_days"].to_numpy() <= th.onboarding_days),
        (ratio >= res.churn_ratio) | (low < th.churn_p_alive),
        (ratio >= res.decline_ratio) | (low < th.decline_p_alive),
        (n >= 2) & (np.nan_to_num(last_gap_ratio) >= res.churn_ratio)
        & (frame["since_days"].to_numpy() <= res.won_back_days),
        n >= res.mature_purchases,
    ]
    choices = ("onboarding", "churned", "declining", "won_back", "mature", "growth")  # growth: the default
    frame["cadence_days"], frame["gap_ratio"] = cadence, ratio
    codes = np.select(conditions, range(len(conditions)), default=len(conditions))
    return labels(codes, choices, frame.index, "stage")


def _days_between(start: pd.Series, end: pd.Series) -> np.ndarray:
    """Days from ``start`` to ``end`` (dates) as float, NaN where either is missing: NumPy
    arithmetic, not pandas' ``.dt.days`` (several times slower on 3 million rows)."""
    return (end.to_numpy() - start.to_numpy()) / np.timedelta64(1, "D")


def labels(codes: np.ndarray, names: Sequence[str], index: pd.Index, name: str) -> pd.Series:
    """A ``str`` Series of ``names[codes]``, built as Arrow (a NumPy array of 3 million Python
    strings costs seconds)."""
    values = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(list(names)))
    return values.cast(pa.string()).to_pandas().set_axis(index).rename(name)


def take_labels(values: pd.Series, order: np.ndarray, index: pd.Index) -> pd.Series:
    """The strings of ``values`` at the positions ``order``, on ``index``: for a few distinct
    strings (stages), through Arrow dictionary codes; a take of 3 million strings costs ten times
    as much as encoding them and taking their codes."""
    data = pa.array(values)
    taken = pc.dictionary_encode(data).take(pa.array(order)).cast(data.type)
    return taken.to_pandas().set_axis(index).rename(values.name)


def lifecycle_stages(
    source: Any, *, as_of: Any = None, model: Any = "ModifiedBetaGeo",
    thresholds: LifecycleThresholds | dict[str, Any] | str | None = None,
) -> pd.DataFrame:
    """The lifecycle stage of every customer as of ``as_of`` (see the module docstring).

    Parameters
    ----------
    source
        A Workspace (``transactions``, and ``customers`` or ``events`` for prospects) or a
        transactions table.
    as_of
        The date (default: the last purchase day); it must lie inside the data.
    model
        P(alive) model: ``"ModifiedBetaGeo"`` (default), ``"ParetoNBD"``, a fitted one of those,
        or None (cadence only).
    thresholds
        :class:`LifecycleThresholds`, a mapping of them, or a YAML/TOML file path.

    Returns
    -------
    pandas.DataFrame
        One row per customer (index ``customer_id``): ``stage``, ``n_purchases``,
        ``first_purchase``, ``last_purchase``, ``days_since_last``, ``cadence_days``,
        ``gap_ratio`` (days since last / cadence), ``p_alive``. ``attrs`` hold ``as_of``, the
        model and the thresholds in force.
    """
    where = "lifecycle_stages"
    th = _thresholds(thresholds, where)
    days = purchase_days(source, where)
    day = check_as_of(as_of, days, where)
    frame, res = _features_with_alive(days, day, model, th, where)
    out = frame.rename(columns={"n": "n_purchases", "first": "first_purchase", "last": "last_purchase",
                                "since_days": "days_since_last"})
    out = out[["stage", "n_purchases", "first_purchase", "last_purchase", "days_since_last", "cadence_days",
               "gap_ratio", "p_alive"]]
    ids = customer_ids(source, day)
    if ids is not None:
        prospects = ids.difference(out.index)
        if len(prospects):
            extra = pd.DataFrame(index=pd.Index(prospects, name="customer_id"), columns=out.columns)
            extra["stage"], extra["n_purchases"] = "prospect", 0
            out = pd.concat([out.astype(object), extra]).infer_objects()
            out["n_purchases"] = out["n_purchases"].astype("int64")
            out = out.sort_index()  # without prospects the frame is in id order already (customer_features)
    out.attrs.update(as_of=day.isoformat(), model=model if isinstance(model, str | None) else type(model).__name__,
                     thresholds=res.as_dict())
    return out


def _features_with_alive(
    days: Any, day: dt.date, model: Any, th: LifecycleThresholds, where: str
) -> tuple[pd.DataFrame, ResolvedThresholds]:
    """The :func:`customer_features` of ``day`` with ``p_alive``, ``stage``, ``cadence_days`` and
    ``gap_ratio``, and the thresholds in force: computed once per date, model and thresholds
    inside :func:`~clvlab.lifecycle._features.shared_features` (the stages and the health
    score read the same frame). The frame is shared: callers build new frames from it, they
    never change it."""
    key = ("staged", days.op(), day, model if isinstance(model, str | None) else id(model), th)
    return shared(key, lambda: _staged(days, day, model, th, where))


def _staged(days: Any, day: dt.date, model: Any, th: LifecycleThresholds, where: str
            ) -> tuple[pd.DataFrame, ResolvedThresholds]:
    res = resolved(days, day, th)
    frame = customer_features(days, day, th.trend_days)
    frame["p_alive"] = aligned(p_alive(days, day, model, where), frame.index)
    frame["stage"] = _assign(frame, th, res)
    shared(cadence_key(days, day, th), lambda: frame[["cadence_days", "gap_ratio"]])  # the churn features read them
    return frame, res


def resolved(days: Any, day: dt.date, th: LifecycleThresholds) -> ResolvedThresholds:
    """The thresholds in force on ``day``: ``th`` with the data-driven ones taken from the cadence
    figures of the purchases up to it (one engine query, shared within a run)."""
    return resolve(th, cadence_stats(days, day, {"decline": th.decline_quantile, "churn": th.churn_quantile},
                                     th.mature_quantile))


def cadence_key(days: Any, day: dt.date, th: LifecycleThresholds) -> tuple[Any, ...]:
    """The :func:`~clvlab.lifecycle._features.shared` key of ``cadence_days`` and ``gap_ratio`` of
    a date's customers: they depend on neither the P(alive) model nor the trend window."""
    return ("cadence", days.op(), day, th)


def stage_sizes(stages: pd.DataFrame) -> pd.Series:
    """Customers per stage, in lifecycle order (zeros kept)."""
    return stages["stage"].value_counts().reindex(list(STAGES), fill_value=0).rename("customers")


def stage_transitions(
    source: Any, *, start: Any, end: Any, model: Any = "ModifiedBetaGeo",
    thresholds: LifecycleThresholds | dict[str, Any] | str | None = None,
) -> pd.DataFrame:
    """Customers by stage at ``start`` (rows) and at ``end`` (columns).

    A customer with no stage at ``start`` (not yet a customer) is in the row ``(none)``, so the
    row of each stage sums to that stage's size at ``start``.
    """
    where = "stage_transitions"
    a = lifecycle_stages(source, as_of=start, model=model, thresholds=thresholds)
    b = lifecycle_stages(source, as_of=end, model=model, thresholds=thresholds)
    check_param(a.attrs["as_of"] < b.attrs["as_of"], "end", where, f"after start ({a.attrs['as_of']})",
                b.attrs["as_of"])
    return transition_matrix(a, b)


def transition_matrix(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The transition matrix between two :func:`lifecycle_stages` frames."""
    joined = b[["stage"]].join(a[["stage"]].rename(columns={"stage": "from"}), how="outer")
    joined["from"] = joined["from"].fillna("(none)")
    joined["stage"] = joined["stage"].fillna("(none)")
    rows = [*STAGES, "(none)"]
    matrix = pd.crosstab(joined["from"], joined["stage"]).reindex(index=rows, columns=list(STAGES), fill_value=0)
    matrix.index.name, matrix.columns.name = "from", "to"
    matrix.attrs.update(start=a.attrs.get("as_of"), end=b.attrs.get("as_of"))
    return matrix


def month_ends(source: Any, as_of: Any = None, *, months: int | None = None) -> list[dt.date]:
    """Month ends from the first purchase month to ``as_of`` (the last one is ``as_of``)."""
    where = "month_ends"
    days = purchase_days(source, where)
    day = check_as_of(as_of, days, where)
    first = pd.Timestamp(days.day.min().execute())
    ends = [d.date() for d in pd.date_range(first, pd.Timestamp(day), freq="ME") if d.date() < day]
    ends.append(day)
    return ends[-months:] if months else ends


def stages_over_time(
    source: Any, dates: Sequence[Any], *, model: Any = "ModifiedBetaGeo",
    thresholds: LifecycleThresholds | dict[str, Any] | str | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`lifecycle_stages` on each date, by ISO date."""
    out: dict[str, pd.DataFrame] = {}
    for d in dates:
        frame = lifecycle_stages(source, as_of=d, model=model, thresholds=thresholds)
        out[frame.attrs["as_of"]] = frame
    return out


def onboarding_summary(
    source: Any, *, as_of: Any = None, by: str = "cohort", onboarding_days: int = 90,
) -> pd.DataFrame:
    """Time to the second purchase and the share who make it within ``onboarding_days``.

    ``by="cohort"`` groups by acquisition cohort (month of the first purchase); ``"channel"``
    by ``customers.acquisition_channel``. Computed in the engine, one row per group back.

    Returns
    -------
    pandas.DataFrame
        Per group: ``customers``, ``second_buyers`` (second purchase by ``as_of``),
        ``median_days_to_second`` (of those), ``eligible`` (first purchase at least
        ``onboarding_days`` before ``as_of``), ``within`` (of those, second purchase within
        ``onboarding_days``) and ``share_within`` (%, NaN without eligible customers).
    """
    where = "onboarding_summary"
    check_param(by in ("cohort", "channel"), "by", where, "'cohort' or 'channel'", by)
    check_param(isinstance(onboarding_days, int) and onboarding_days > 0, "onboarding_days", where,
                "an int > 0", onboarding_days)
    days = purchase_days(source, where)
    day = check_as_of(as_of, days, where)
    end = ibis.date(day)
    d = days.filter(days.day <= end)
    d = d.mutate(first_=d.day.min().over(group_by=d.cid))
    per = d.group_by("cid").aggregate(first=d.first_.min(), second=d.day.min(where=d.day > d.first_))
    per = per.mutate(to_second=per.second.delta(per["first"], unit="day"),
                     eligible=per["first"] <= end - ibis.interval(days=onboarding_days))
    if by == "channel":
        tables = getattr(source, "tables", None)
        if not callable(tables) or "customers" not in tables() or \
                "acquisition_channel" not in source.table("customers").columns:
            msg = f"{where}: by='channel' needs the customers table with an acquisition_channel column"
            raise DataValidationError(msg, hint="load it: clvlab load customers FILE --map acquisition_channel=...")
        cust = source.table("customers").select(cid=ibis._.customer_id.cast("string"),
                                                channel=ibis._.acquisition_channel)
        per = per.left_join(cust, per.cid == cust.cid).drop("cid_right")
        per = per.mutate(group=ibis.coalesce(per.channel, ibis.literal("(unknown)")))
    else:
        per = per.mutate(group=per["first"].truncate("M").cast("date"))
    within = per.eligible & per.to_second.notnull() & (per.to_second <= onboarding_days)
    agg = per.group_by("group").aggregate(
        customers=per.count(), second_buyers=per.second.count(),
        median_days_to_second=per.to_second.cast("float64").median(),
        eligible=per.count(where=per.eligible), within=per.count(where=within),
    ).order_by("group")
    frame = agg.execute().rename(columns={"group": by}).set_index(by)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["share_within"] = 100 * frame["within"] / frame["eligible"].where(frame["eligible"] > 0)
    frame.attrs.update(as_of=day.isoformat(), onboarding_days=onboarding_days)
    return frame
