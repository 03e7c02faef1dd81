"""Promoters with their CLV and referral potential, and loyalty tiers from CLV quantiles.

* :func:`promoter_list`: customers whose latest NPS answer is 9-10, with CLV, P(alive), their
  CLV tier and two lists: **VIP** (CLV in the top tier) and **co-creation** (they wrote a comment
  with a 9-10 answer: promoters who already give input). Referral potential is ``high`` when the
  promoter is active (P(alive) >= 0.5) and answered 10, ``medium`` when one of the two holds,
  ``low`` otherwise: who is likely to be around to refer, and most enthusiastic.
* :func:`loyalty_tiers`: tiers from CLV quantiles (default cut points 0.5, 0.8, 0.95: bronze,
  silver, gold, platinum, i.e. the bottom half, the next 30 %, the next 15 % and the top 5 %).
* :func:`tier_transitions`: customers by tier in an earlier run (rows) and a later one (columns).
  Both runs are cut at the earlier run's CLV values, so a tier means the same CLV range on both
  dates and a move is a change of value, not of rank.

The CLV gap between promoters and detractors, with its interval, is
:func:`clvlab.voc.drivers.value_by_nps_class`'s ``promoter - detractor`` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvlab.derived import read_derived
from clvlab.errors import DataValidationError, Hint, ParameterError

WHERE = "promoters"
DEFAULT_CUTS = (0.5, 0.8, 0.95)
DEFAULT_TIERS = ("bronze", "silver", "gold", "platinum")


def _check_cuts(cuts: Sequence[float], names: Sequence[str] | None) -> tuple[tuple[float, ...], tuple[str, ...]]:
    values = tuple(float(c) for c in cuts)
    if not values or any(not 0 < c < 1 for c in values) or list(values) != sorted(set(values)):
        msg = (f"{WHERE}: tier cut points must be increasing quantiles in (0, 1), e.g. {list(DEFAULT_CUTS)}. "
               f"Got {list(cuts)!r} instead.")
        raise ParameterError(msg)
    if names is None:
        names = DEFAULT_TIERS if len(values) == 3 else tuple(f"tier_{i + 1}" for i in range(len(values) + 1))
    if len(names) != len(values) + 1:
        msg = f"{WHERE}: {len(values)} cut points make {len(values) + 1} tiers; got {len(names)} names"
        raise ParameterError(msg)
    return values, tuple(str(n) for n in names)


def tier_cuts(clv: Any, cuts: Sequence[float] = DEFAULT_CUTS) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The CLV values at the cut-point quantiles of ``clv`` (NaN ignored)."""
    values, _ = _check_cuts(cuts, None)
    arr = pd.to_numeric(pd.Series(clv), errors="coerce").dropna().to_numpy(dtype=float)
    if arr.size == 0:
        msg = f"{WHERE}: no customer has a CLV to cut tiers from"
        raise DataValidationError(msg, hint=Hint("run `clvlab run -w WORKSPACE` first: it writes the scores"))
    out: np.ndarray[Any, np.dtype[np.float64]] = np.quantile(arr, values)
    return out


def loyalty_tiers(
    clv: pd.Series, cuts: Sequence[float] = DEFAULT_CUTS, names: Sequence[str] | None = None, *,
    values: Sequence[float] | np.ndarray[Any, np.dtype[np.float64]] | None = None,
) -> pd.Series:
    """The tier of each CLV in ``clv``: tier i when the CLV is at or above the i-th cut value.

    ``values`` gives the CLV cut values directly (e.g. an earlier run's); otherwise they are the
    ``cuts`` quantiles of ``clv``. Customers without a CLV get no tier (NA).
    """
    _, labels = _check_cuts(cuts, names)
    edges = np.asarray(values, dtype=float) if values is not None else tier_cuts(clv, cuts)
    num = pd.to_numeric(clv, errors="coerce")
    idx = np.searchsorted(edges, num.to_numpy(dtype=float), side="right")
    tiers = pd.Series(np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)], index=clv.index,
                      dtype=object, name="tier")
    tiers[num.isna()] = None
    return tiers


def tier_summary(clv: pd.Series, cuts: Sequence[float] = DEFAULT_CUTS, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per tier: customers, the CLV range's lower bound, mean CLV and the tier's share of total CLV."""
    _, labels = _check_cuts(cuts, names)
    edges = tier_cuts(clv, cuts)
    tiers = loyalty_tiers(clv, cuts, labels, values=edges)
    num = pd.to_numeric(clv, errors="coerce")
    total = float(num.sum())
    rows = []
    for i, name in enumerate(labels):
        part = num[tiers == name]
        rows.append({"tier": name, "quantile_from": 0.0 if i == 0 else float(cuts[i - 1]),
                     "clv_from": float(num.min()) if i == 0 else float(edges[i - 1]), "customers": len(part),
                     "mean_clv": float(part.mean()) if len(part) else float("nan"),
                     "clv_share": float(part.sum() / total) if total else float("nan")})
    return pd.DataFrame(rows)


def tier_transitions(
    before: pd.Series, after: pd.Series, cuts: Sequence[float] = DEFAULT_CUTS, names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customers by tier in ``before`` (rows) and ``after`` (columns), CLV Series indexed by customer.

    Both are cut at ``before``'s quantile values (module docstring). A customer absent from one
    run is in the row or column ``(none)``.
    """
    _, labels = _check_cuts(cuts, names)
    edges = tier_cuts(before, cuts)
    a = loyalty_tiers(before, cuts, labels, values=edges).fillna("(none)")
    b = loyalty_tiers(after, cuts, labels, values=edges).fillna("(none)")
    a.index, b.index = a.index.astype(str), b.index.astype(str)
    joined = pd.DataFrame({"from": a}).join(pd.DataFrame({"to": b}), how="outer").fillna("(none)")
    order = [*labels, "(none)"]
    matrix = pd.crosstab(joined["from"], joined["to"]).reindex(index=order, columns=order, fill_value=0)
    matrix.index.name, matrix.columns.name = "from", "to"
    matrix.attrs["cut_values"] = [float(e) for e in edges]
    return matrix


@dataclass
class PromoterReport:
    """Promoters, the CLV gap to detractors, and the tiers."""

    promoters: pd.DataFrame
    gap: dict[str, Any]
    tiers: pd.DataFrame
    transitions: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"promoters": self.promoters.to_dict(orient="records"), "clv_gap": self.gap,
                "tiers": self.tiers.to_dict(orient="records"),
                "transitions": None if self.transitions is None else
                {"cut_values": self.transitions.attrs.get("cut_values"),
                 "matrix": {str(k): {str(c): int(v) for c, v in row.items()}
                            for k, row in self.transitions.to_dict(orient="index").items()}},
                "notes": self.notes}


def _scores(source: Any) -> pd.DataFrame:
    sc = read_derived(source, "scores", columns=("clv", "p_alive"), where=WHERE)
    return pd.DataFrame(sc.select("customer_id", "clv", "p_alive").execute())


def _commenters(ws: Any) -> set[str]:
    fb = ws.table("feedback")
    if "comment" not in fb.columns:
        return set()
    t = fb.filter(fb.customer_id.notnull() & (fb.score >= 9) & fb.comment.notnull() & (fb.comment.strip() != ""))
    if "metric" in fb.columns:
        t = t.filter(t.metric.lower() == "nps")
    return set(t.select(cid=t.customer_id.cast("string")).distinct().execute()["cid"])


def promoter_list(
    ws: Any, *, cuts: Sequence[float] = DEFAULT_CUTS, names: Sequence[str] | None = None,
    previous: Any = None, level: float = 0.95,
) -> PromoterReport:
    """Promoters with CLV, tier, referral potential and VIP / co-creation lists (module docstring).

    ``previous`` is an earlier run's scores (a Workspace, a frame or an ibis table): the report
    then has the tier transition matrix from it to now.
    """
    from clvlab.voc.drivers import _latest_nps, value_by_nps_class

    if "feedback" not in ws.tables():
        msg = f"{WHERE}: the workspace has no feedback table"
        raise DataValidationError(msg, hint=Hint("load the survey answers with `clvlab load feedback FILE`"))
    if "scores" not in ws.tables():
        msg = f"{WHERE}: the workspace has no scores table"
        raise DataValidationError(msg, hint=Hint("run `clvlab run -w WORKSPACE` first: it writes the scores"))
    _, labels = _check_cuts(cuts, names)
    sc = _scores(ws)
    clv = sc.set_index("customer_id")["clv"]
    tiers = loyalty_tiers(clv, cuts, labels)
    latest = _latest_nps(ws, WHERE)
    pro = latest[latest["score"] >= 9].merge(sc, on="customer_id", how="inner")
    pro["tier"] = pro["customer_id"].map(tiers)
    active, ten = pro["p_alive"].ge(0.5), pro["score"].ge(10)
    pro["referral_potential"] = np.where(active & ten, "high", np.where(active | ten, "medium", "low"))
    commenters = _commenters(ws)
    lists = [[*(["vip"] if t == labels[-1] else []), *(["co-creation"] if c in commenters else [])]
             for t, c in zip(pro["tier"], pro["customer_id"], strict=True)]
    pro["lists"] = [",".join(x) for x in lists]
    pro = pro.sort_values(["clv", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    by_class = value_by_nps_class(ws, ws, level=level)
    cell: dict[Any, dict[Any, Any]] = by_class.to_dict(orient="index")
    row = cell["promoter - detractor"]
    gap = {"clv_gap": float(row["clv"]), "lower": float(row["clv_lower"]), "upper": float(row["clv_upper"]),
           "level": level, "promoters": int(cell["promoter"]["n"]), "detractors": int(cell["detractor"]["n"]),
           "promoter_clv": float(cell["promoter"]["clv"]), "detractor_clv": float(cell["detractor"]["clv"])}
    report = PromoterReport(pro[["customer_id", "score", "clv", "p_alive", "tier", "referral_potential", "lists"]],
                            gap, tier_summary(clv, cuts, labels))
    if previous is not None:
        before = _scores(previous).set_index("customer_id")["clv"]
        report.transitions = tier_transitions(before, clv, cuts, labels)
    if not np.isfinite(gap["clv_gap"]):
        report.notes.append("the CLV gap and its interval need at least two promoters and two detractors")
    if not len(pro):
        report.notes.append("no customer's latest NPS answer is a 9 or 10")
    return report


__all__ = ["PromoterReport", "loyalty_tiers", "promoter_list", "tier_cuts", "tier_summary", "tier_transitions"]
