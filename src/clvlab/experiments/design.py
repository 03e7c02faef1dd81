"""Sample size, power and duration of an experiment (:func:`design_experiment`).

Proportions (retention, repurchase): Fleiss, Tytun and Ury (1980) with the continuity
correction (:func:`clvlab.stats.sample_size_proportions`); means (spend, clv, p_alive): the
t-based two-sample formula (:func:`clvlab.stats.sample_size_means`). CUPED with a pre-period
covariate explaining a share r^2 of the metric's variance needs n (1 - r^2) customers (Deng et al.
2013). Duration = customers needed / eligible inflow per week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from clvlab import stats
from clvlab.errors import check_param
from clvlab.experiments.metrics import METRICS, PROPORTIONS

WHERE = "design_experiment"


@dataclass
class Design:
    """Customers needed per arm, in total, and the weeks that takes."""

    metric: str
    kind: str
    baseline: float
    mde: float
    alpha: float
    power: float
    control: float
    cuped_r2: float
    n_control: int
    n_treatment: int
    n_total: int
    n_without_cuped: int
    inflow_per_week: float | None
    weeks: int | None
    method: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return dict(self.__dict__)


def _share(value: Any, name: str, low: float = 0.0, high: float = 1.0) -> float:
    ok = isinstance(value, float | int) and not isinstance(value, bool) and low < value < high
    check_param(ok, name, WHERE, f"a number in ({low:g}, {high:g})", value)
    return float(value)


def design_experiment(
    metric: str = "repurchase", *, baseline: float, mde: float, sd: float | None = None, alpha: float = 0.05,
    power: float = 0.8, control: float = 0.5, cuped_r2: float = 0.0, inflow_per_week: float | None = None,
    workspace: Any = None,
) -> Design:
    """Customers needed to detect an absolute effect ``mde`` on ``metric`` (two-sided test).

    Parameters
    ----------
    metric
        ``retention`` or ``repurchase`` (proportions: ``baseline`` is the control rate), or
        ``spend``, ``clv``, ``p_alive`` (means: ``baseline`` the control mean, ``sd`` required).
    mde
        The minimum detectable effect, absolute (0.03 = 3 percentage points; 5.0 = 5 money units).
    control
        Share of customers in the control arm.
    cuped_r2
        Share of the metric's variance CUPED removes (the squared correlation with its
        pre-period value; ``analyze_experiment`` reports it as ``cuped_r2``).
    inflow_per_week
        Eligible customers per week; with ``workspace`` and none given, the new customers per
        week over the last 12 weeks of transactions.
    """
    check_param(metric in METRICS, "metric", WHERE, f"one of {list(METRICS)}", metric)
    alpha, power = _share(alpha, "alpha"), _share(power, "power")
    control = _share(control, "control")
    check_param(isinstance(cuped_r2, float | int) and 0 <= cuped_r2 < 1, "cuped_r2", WHERE, "a number in [0, 1)", cuped_r2)
    check_param(isinstance(mde, float | int) and mde != 0, "mde", WHERE, "a non-zero number", mde)
    ratio = (1 - control) / control
    notes: list[str] = []
    if metric in PROPORTIONS:
        baseline = _share(baseline, "baseline")
        target = baseline + mde
        check_param(0 < target < 1, "mde", WHERE, "such that baseline + mde lies in (0, 1)", mde)
        n_c = stats.sample_size_proportions(baseline, target, alpha=alpha, power=power, ratio=ratio)
        method = "Fleiss, Tytun and Ury (1980), continuity-corrected"
        kind = "proportion"
    else:
        check_param(isinstance(sd, float | int) and sd > 0, "sd", WHERE,
                    "the metric's standard deviation per customer (> 0)", sd)
        assert sd is not None
        n_c = stats.sample_size_means(abs(mde), float(sd), alpha=alpha, power=power, ratio=ratio)
        method = "two-sample t (Cohen 1988, ch. 2)"
        kind = "mean"
    plain_c = math.ceil(n_c)
    n_c *= 1 - cuped_r2
    n_control, n_treatment = math.ceil(n_c), math.ceil(n_c * ratio)
    if cuped_r2:
        notes.append(f"CUPED removing {cuped_r2:.0%} of the variance: n x (1 - r^2)")
    if inflow_per_week is None and workspace is not None:
        inflow_per_week = new_customers_per_week(workspace)
        notes.append("inflow: new customers per week over the last 12 weeks of transactions")
        if not inflow_per_week:
            notes.append("no new customer in the last 12 weeks: no duration (give inflow_per_week)")
            inflow_per_week = None
    weeks = None
    if inflow_per_week is not None:
        check_param(inflow_per_week > 0, "inflow_per_week", WHERE, "a positive number", inflow_per_week)
        weeks = math.ceil((n_control + n_treatment) / inflow_per_week)
    return Design(metric, kind, float(baseline), float(mde), alpha, power, control, float(cuped_r2), n_control,
                  n_treatment, n_control + n_treatment, plain_c + math.ceil(plain_c * ratio), inflow_per_week,
                  weeks, method, notes)


def new_customers_per_week(ws: Any, weeks: int = 12) -> float:
    """Customers whose first purchase fell in the last ``weeks`` weeks of the data, per week."""
    import pandas as pd

    tx = ws.table("transactions")
    first = tx.group_by("customer_id").aggregate(first=tx.ordered_at.min())
    last = pd.Timestamp(tx.ordered_at.max().execute())
    start = last - pd.Timedelta(weeks=weeks)
    n = int(first.filter(first["first"] > start).count().execute())
    return n / weeks
