"""Every threshold of the lifecycle stages and the health score, in one documented place.

Defaults are data-driven where the data can say: the declining and churned gaps are quantiles
of how long customers actually wait between purchases, relative to their own cadence; "mature"
is a quantile of purchase counts. The rest are documented choices (the issue's 90-day
onboarding, P(alive) cut-offs read as probabilities, the band cut-offs of the 0-100 health
score). Override any of them in Python (``LifecycleThresholds(churn_ratio=4)``) or in a YAML /
TOML file (:meth:`LifecycleThresholds.from_file`), e.g.::

    onboarding_days: 60
    churn_p_alive: 0.3
    churn_ratio: 4.0        # fixed instead of the data's quantile
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from clvlab.errors import ParameterError, check_param

#: named components of the health score, in display order
HEALTH_COMPONENTS = ("recency", "frequency_trend", "spend_trend", "p_alive", "nps", "sentiment", "open_cases")

#: churn early warning (clvlab.ChurnModel): churned = no purchase in this many days after the
#: date the features hold as of. 90 days is about one population cadence on CDNOW (82 days:
#: the median over repeat buyers of their mean gap) and leaves room for a second, out-of-time
#: window in 18 months of data; pass ``window=`` to change it.
CHURN_WINDOW_DAYS = 90


@dataclass(frozen=True)
class LifecycleThresholds:
    """Thresholds of :func:`clvlab.lifecycle_stages` and :func:`clvlab.health_scores`.

    Attributes
    ----------
    onboarding_days
        A one-purchase customer is *new/onboarding* for this many days after the first purchase
        (the second purchase ends onboarding earlier).
    decline_quantile, churn_quantile
        Quantiles of the gap ratio (days between two purchases / the customer's mean gap), over
        every repeat purchase of customers with 3+ purchase days up to the as-of date: waiting
        longer than ``decline_quantile`` of the observed returns makes a customer *declining*,
        longer than ``churn_quantile`` *churned*.
    decline_ratio, churn_ratio
        Fixed gap ratios instead of the quantiles (None: from the data).
    min_decline_ratio, min_churn_ratio
        Floors of the measured ratios: with very regular buyers the quantiles sit near 1, and a
        customer a few days late would count as gone; nobody is declining before 1.5 cadences
        of silence, nor churned before 2.
    decline_p_alive, churn_p_alive
        P(alive) (of MBG/NBD or Pareto/NBD, never BG/NBD) under which a customer is declining /
        churned, whatever the cadence: 0.5 reads "more likely gone than active".
    cadence_prior
        Weight, in purchase gaps, of the population cadence (median of customers' mean gaps) in
        a customer's own cadence: ``(prior * population + sum of own gaps) / (prior + gaps)``.
        A one-purchase customer has the population cadence.
    mature_quantile, mature_purchases
        *mature/loyal* from this many purchase days: the quantile of purchase days per repeat
        buyer, or a fixed number.
    won_back_days
        A churned customer who buys again is *won back* for this many days (None: onboarding_days).
    trend_days
        Window of the frequency and spend trends (last window vs the one before).
    churn_window_days
        Health-score label: a customer "churned" when they made no purchase in this many days
        after the date the score holds as of.
    red_below, green_from
        Health bands: red under ``red_below``, green from ``green_from``, yellow between.
    fit_customers
        The health weights are fitted on at most this many customers: beyond it, on a seeded
        sample of those who bought by the fit's feature date. A logistic regression on seven
        components needs far fewer, and the fit's cost then stops growing with the customer
        base; every customer is still scored.
    """

    onboarding_days: int = 90
    decline_quantile: float = 0.75
    churn_quantile: float = 0.95
    decline_ratio: float | None = None
    churn_ratio: float | None = None
    min_decline_ratio: float = 1.5
    min_churn_ratio: float = 2.0
    decline_p_alive: float = 0.5
    churn_p_alive: float = 0.2
    cadence_prior: float = 1.0
    mature_quantile: float = 0.75
    mature_purchases: int | None = None
    won_back_days: int | None = None
    trend_days: int = 180
    churn_window_days: int = 180
    red_below: float = 40.0
    green_from: float = 70.0
    fit_customers: int = 200_000

    def __post_init__(self) -> None:
        where = "LifecycleThresholds"
        for name in ("onboarding_days", "trend_days", "churn_window_days", "fit_customers"):
            value = getattr(self, name)
            check_param(isinstance(value, int) and value > 0, name, where, "an int > 0", value)
        for name in ("decline_quantile", "churn_quantile", "mature_quantile", "decline_p_alive", "churn_p_alive"):
            value = getattr(self, name)
            check_param(_number(value) and 0 < value < 1, name, where, "a number in (0, 1)", value)
        check_param(self.decline_quantile < self.churn_quantile, "churn_quantile", where,
                    f"above decline_quantile ({self.decline_quantile})", self.churn_quantile)
        check_param(self.churn_p_alive <= self.decline_p_alive, "churn_p_alive", where,
                    f"at most decline_p_alive ({self.decline_p_alive})", self.churn_p_alive)
        for name in ("decline_ratio", "churn_ratio", "min_decline_ratio", "min_churn_ratio"):
            value = getattr(self, name)
            check_param(value is None or (_number(value) and value > 0), name, where, "None or a number > 0", value)
        check_param(self.min_decline_ratio < self.min_churn_ratio, "min_churn_ratio", where,
                    f"above min_decline_ratio ({self.min_decline_ratio})", self.min_churn_ratio)
        if self.decline_ratio is not None and self.churn_ratio is not None:
            check_param(self.decline_ratio < self.churn_ratio, "churn_ratio", where,
                        f"above decline_ratio ({self.decline_ratio})", self.churn_ratio)
        check_param(_number(self.cadence_prior) and self.cadence_prior >= 0, "cadence_prior", where,
                    "a number >= 0", self.cadence_prior)
        for name in ("mature_purchases", "won_back_days"):
            value = getattr(self, name)
            check_param(value is None or (isinstance(value, int) and value > 0), name, where,
                        "None or an int > 0", value)
        check_param(_number(self.red_below) and _number(self.green_from)
                    and 0 <= self.red_below <= self.green_from <= 100, "green_from", where,
                    "a number with 0 <= red_below <= green_from <= 100", (self.red_below, self.green_from))

    @classmethod
    def from_mapping(cls, options: dict[str, Any], *, where: str = "LifecycleThresholds") -> LifecycleThresholds:
        """Thresholds from a mapping (unknown keys are an error naming the valid ones)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            msg = f"{where}: unknown threshold(s) {unknown}; valid: {', '.join(sorted(known))}"
            raise ParameterError(msg)
        return cls(**options)

    @classmethod
    def from_file(cls, path: str | Path) -> LifecycleThresholds:
        """Thresholds from a YAML or TOML file (a mapping of the attributes above)."""
        from clvlab._config import read_config_file

        data = read_config_file(path, what="lifecycle thresholds file", error=ParameterError)
        return cls.from_mapping(data, where=f"lifecycle thresholds file '{path}'")

    def replace(self, **changes: Any) -> LifecycleThresholds:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ResolvedThresholds:
    """The thresholds in force on one date: the data-driven ones filled from the data."""

    cadence_days: float
    decline_ratio: float
    churn_ratio: float
    mature_purchases: int
    won_back_days: int

    def as_dict(self) -> dict[str, float]:
        """JSON-ready figures."""
        return dataclasses.asdict(self)


def resolve(thresholds: LifecycleThresholds, stats: dict[str, float]) -> ResolvedThresholds:
    """Fill the data-driven thresholds from :func:`clvlab.lifecycle._features.cadence_stats` figures.

    Without enough repeat buyers to measure (NaN figures), the fallbacks are documented:
    cadence = onboarding_days, ratios 2 and 3, mature from 3 purchases.
    """
    def pick(fixed: float | None, measured: float, fallback: float) -> float:
        if fixed is not None:
            return float(fixed)
        return measured if math.isfinite(measured) and measured > 0 else fallback

    cadence = pick(None, stats.get("cadence", math.nan), float(thresholds.onboarding_days))
    decline = pick(thresholds.decline_ratio, max(stats.get("decline", math.nan), thresholds.min_decline_ratio), 2.0)
    churn = pick(thresholds.churn_ratio, max(stats.get("churn", math.nan), thresholds.min_churn_ratio), 3.0)
    churn = max(churn, decline * 1.0001)
    mature = thresholds.mature_purchases or max(3, math.ceil(pick(None, stats.get("purchases", math.nan), 3.0)))
    return ResolvedThresholds(cadence_days=cadence, decline_ratio=decline, churn_ratio=churn,
                              mature_purchases=int(mature),
                              won_back_days=thresholds.won_back_days or thresholds.onboarding_days)
