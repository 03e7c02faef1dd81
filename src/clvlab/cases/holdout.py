"""The closed-loop holdout: keep a random share of new detractors uncontacted and measure what contact is worth.

**Who is held out.** A rule with ``holdout: 0.1`` (:mod:`clvlab.cases.rules`) holds out a
response when ``u < 0.1``, where ``u`` is the first 8 bytes of SHA-256(``salt|response_id``) read
as a number in [0, 1): deterministic (the same response is always in or out, whichever run sees
it first), independent of the customer's answer or value, and different for another salt. The held
out response gets a case in state ``held_out`` with no owner and no notification: it is on record,
and nobody works it.

**The effect** (:func:`closed_loop_effect`) compares NPS detractor cases (score 0-6) opened since
the first held-out case: *contacted* (every case opened for an owner, whether or not the owner
reached the customer: intention to treat, so the two arms stay comparable) against *held out*:

* **repurchase**: a purchase within ``window_days`` of the response (responses whose window runs
  past the last transaction are left out); difference of proportions with Newcombe's hybrid
  score interval and the pooled two-proportion z-test;
* **NPS change**: the customer's next NPS answer after the response minus the response's score
  (customers who answered again); Welch's interval of the difference of means;
* **CLV**: the customer's CLV in the ``scores`` table (meaningful when the scores were computed
  after the responses); Welch's interval.

The ROI of the closed loop is the CLV effect times the contacted detractors: the CLV the contacts
added, with the interval scaled alike (before the cost of the contacts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvlab.stats import newcombe_interval, two_proportion_p, welch_interval

ARMS = ("contacted", "held_out")


def holdout_draw(response_id: Any, salt: str) -> float:
    """The response's uniform number in [0, 1): SHA-256 of ``salt|response_id``, first 8 bytes."""
    digest = hashlib.sha256(f"{salt}|{response_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(response_ids: Any, share: Any, salt: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which responses are kept uncontacted: their draw is below ``share`` (a number or one per response)."""
    ids = list(pd.Series(response_ids, dtype=object))
    shares = np.broadcast_to(np.asarray(share, dtype=float), (len(ids),))
    draws = np.array([holdout_draw(r, salt) for r in ids], dtype=float)
    return np.asarray(draws < shares, dtype=bool)


@dataclass
class ClosedLoopEffect:
    """The incremental effect of contacting a detractor (module docstring)."""

    since: Any
    contacted: int
    held_out: int
    reached: int
    effects: pd.DataFrame
    roi: dict[str, float] | None
    level: float = 0.95
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"since": None if self.since is None else str(self.since), "contacted": self.contacted,
                "held_out": self.held_out, "reached": self.reached, "level": self.level,
                "effects": self.effects.to_dict(orient="records"), "roi": self.roi, "notes": self.notes}

    def lines(self) -> list[str]:
        """Plain-text lines for the recovery report."""
        out = [f"closed-loop holdout since {self.since}: {self.contacted} detractor cases for contact "
               f"({self.reached} reached), {self.held_out} held out"]
        for r in self.effects.to_dict(orient="records"):
            if r["n_contacted"] < 2 or r["n_held_out"] < 2:
                out.append(f"  {r['metric']}: too few customers (contacted {r['n_contacted']}, held out "
                           f"{r['n_held_out']})")
                continue
            out.append(f"  {r['metric']}: contacted {r['contacted']:.3g} (n={r['n_contacted']}) vs held out "
                       f"{r['held_out']:.3g} (n={r['n_held_out']}): effect {r['effect']:+.3g}, "
                       f"{self.level:.0%} CI {r['lower']:+.3g} to {r['upper']:+.3g}, p={r['p']:.2g}")
        if self.roi is not None:
            out.append(f"  ROI of the closed loop: {self.roi['value']:,.0f} CLV added by {self.contacted} contacts "
                       f"({self.level:.0%} CI {self.roi['lower']:,.0f} to {self.roi['upper']:,.0f}), before their cost")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def _effect_row(metric: str, t: np.ndarray[Any, Any], c: np.ndarray[Any, Any], *, binary: bool,
                level: float) -> dict[str, Any]:
    row: dict[str, Any] = {"metric": metric, "n_contacted": int(t.size), "n_held_out": int(c.size),
                           "contacted": float(t.mean()) if t.size else float("nan"),
                           "held_out": float(c.mean()) if c.size else float("nan")}
    if t.size < 2 or c.size < 2:
        return {**row, "effect": float("nan"), "lower": float("nan"), "upper": float("nan"), "p": float("nan"),
                "method": ""}
    if binary:
        kt, kc = int(t.sum()), int(c.sum())
        d, lo, hi = newcombe_interval(kt, t.size, kc, c.size, level=level)
        return {**row, "effect": d, "lower": lo, "upper": hi, "p": two_proportion_p(kt, t.size, kc, c.size),
                "method": "Newcombe hybrid score"}
    d, lo, hi, _, p = welch_interval(t.mean(), t.var(ddof=1), t.size, c.mean(), c.var(ddof=1), c.size, level=level)
    return {**row, "effect": d, "lower": lo, "upper": hi, "p": p, "method": "Welch"}


def _next_nps_change(workspace: Any, response_ids: pd.Series) -> pd.Series:
    """Next NPS answer of the customer after the response minus the response's score, per response_id."""
    fb = workspace.table("feedback")
    t = fb.filter((fb.metric.lower() == "nps") & fb.customer_id.notnull() & fb.score.notnull())
    answers = t.select(response_id=t.response_id.cast("string"), customer_id=t.customer_id.cast("string"),
                       at=t.responded_at.cast("timestamp"), score=t.score.cast("float64")).execute()
    base = answers[answers["response_id"].isin(set(response_ids.astype(str)))]
    merged = base.merge(answers.drop(columns="response_id"), on="customer_id", suffixes=("", "_next"))
    merged = merged[merged["at_next"] > merged["at"]].sort_values("at_next").drop_duplicates("response_id")
    merged = merged.set_index("response_id")
    return (merged["score_next"] - merged["score"]).rename("nps_change")


def closed_loop_effect(
    cases: pd.DataFrame, workspace: Any | None, *, window_days: int = 90, level: float = 0.95,
) -> ClosedLoopEffect | None:
    """The effect of contact among the detractor ``cases`` (columns response_id, customer_id, score,
    responded_at, state, opened_at, first_contact_at); None when no case is held out."""
    held = cases["state"].eq("held_out")
    if not held.any():
        return None
    since = cases.loc[held, "opened_at"].min()
    frame = cases[cases["opened_at"] >= since].copy()
    frame["arm"] = np.where(frame["state"].eq("held_out"), "held_out", "contacted")
    is_t = frame["arm"].eq("contacted")
    notes: list[str] = []
    rows = []
    if workspace is not None and {"feedback", "transactions"} <= set(workspace.tables()):
        from clvlab.cases.recovery import repurchase_flags

        flags = repurchase_flags(workspace, window_days=window_days).set_index("response_id")["repurchased"]
        rep = frame["response_id"].astype(str).map(flags)
        rows.append(_effect_row(f"repurchase within {window_days} days", rep[is_t].dropna().to_numpy(float),
                                rep[~is_t].dropna().to_numpy(float), binary=True, level=level))
        change = frame["response_id"].astype(str).map(_next_nps_change(workspace, frame["response_id"]))
        rows.append(_effect_row("NPS change (next answer - score)", change[is_t].dropna().to_numpy(float),
                                change[~is_t].dropna().to_numpy(float), binary=False, level=level))
    else:
        notes.append("repurchase and NPS change need the workspace's feedback and transactions tables")
    roi = None
    if workspace is not None and "scores" in workspace.tables():
        from clvlab.derived import read_derived

        sc = read_derived(workspace, "scores", columns=("clv",), where="closed_loop_effect").select(
            "customer_id", "clv").execute()
        clv = frame["customer_id"].astype("string").map(sc.set_index("customer_id")["clv"])
        row = _effect_row("CLV", clv[is_t].dropna().to_numpy(float), clv[~is_t].dropna().to_numpy(float),
                          binary=False, level=level)
        rows.append(row)
        n_t = int(is_t.sum())
        if np.isfinite(row["effect"]) and np.isfinite(row["lower"]):
            roi = {"value": row["effect"] * n_t, "lower": row["lower"] * n_t, "upper": row["upper"] * n_t}
        notes.append("CLV is the scores table's: it measures the loop only when the scores were computed after "
                     "the responses")
    effects = pd.DataFrame(rows, columns=["metric", "n_contacted", "n_held_out", "contacted", "held_out", "effect",
                                          "lower", "upper", "p", "method"])
    return ClosedLoopEffect(since=since, contacted=int(is_t.sum()), held_out=int((~is_t).sum()),
                            reached=int(frame.loc[is_t, "first_contact_at"].notna().sum()), effects=effects,
                            roi=roi, level=level, notes=notes)


__all__ = ["ClosedLoopEffect", "closed_loop_effect", "held_out", "holdout_draw"]
