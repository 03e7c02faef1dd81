"""Next best action per customer (:func:`next_best_actions`) and its experiment (:func:`assign_action`).

Inputs, all read from the workspace:

* ``stages`` (stage), ``scores`` (clv) and ``churn`` (p_churn, clv_at_risk): required, written by
  ``clvlab run``;
* ``health`` (band): optional;
* NPS class of the customer's latest NPS answer: from ``feedback`` (else the churn table's
  ``nps_latest``), optional;
* open cases (``open`` or ``in_progress``) per customer: from the app store when one is given.

The rule table (:mod:`clvlab.actions.rules`) turns these into one action per customer with its
reason (the rule's conditions with the customer's figures) and the value at stake.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvlab.actions.rules import ActionRule, ActionRules, load_action_rules
from clvlab.derived import read_derived
from clvlab.errors import DataValidationError, Hint, ParameterError

WHERE = "next_best_actions"
REQUIRED = ("stages", "scores", "churn")


def open_case_counts(store: Any) -> pd.Series:
    """Open or in-progress cases per customer id in the app store."""
    from sqlalchemy import func, select

    from clvlab.store import Case

    with store.session() as session:
        rows = session.execute(
            select(Case.customer_id, func.count()).where(Case.state.in_(("open", "in_progress")),
                                                        Case.customer_id.is_not(None))
            .group_by(Case.customer_id)).all()
    return pd.Series({str(c): int(n) for c, n in rows}, dtype="int64", name="open_cases")


def _inputs(ws: Any) -> pd.DataFrame:
    tables = set(ws.tables())
    missing = [t for t in REQUIRED if t not in tables]
    if missing:
        msg = f"{WHERE}: the workspace has no {', '.join(missing)} table{'s' if len(missing) > 1 else ''}"
        raise DataValidationError(msg, hint=Hint("run `clvlab run -w WORKSPACE` first: it writes stages, scores, "
                                                 "health and churn"))
    st = read_derived(ws, "stages", columns=("stage",), where=WHERE).select("customer_id", "stage").execute()
    sc = read_derived(ws, "scores", columns=("clv",), where=WHERE).select("customer_id", "clv").execute()
    ch = read_derived(ws, "churn", columns=("p_churn", "clv_at_risk"), where=WHERE)
    ch_cols = ["customer_id", "p_churn", "clv_at_risk", *(["nps_latest"] if "nps_latest" in ch.columns else [])]
    frame = st.merge(sc, on="customer_id", how="left").merge(ch.select(*ch_cols).execute(), on="customer_id",
                                                             how="left")
    health = read_derived(ws, "health", columns=("band",), where=WHERE, missing_ok=True)
    frame["band"] = (frame["customer_id"].map(health.select("customer_id", "band").execute()
                                              .set_index("customer_id")["band"]) if health is not None else None)
    score = frame.pop("nps_latest") if "nps_latest" in frame.columns else pd.Series(np.nan, index=frame.index)
    if "feedback" in tables:
        from clvlab.voc.drivers import _latest_nps

        latest = _latest_nps(ws, WHERE).set_index("customer_id")["score"]
        score = frame["customer_id"].map(latest).fillna(score)
    frame["nps_score"] = pd.to_numeric(score, errors="coerce")
    return frame


def classify(frame: pd.DataFrame, rules: ActionRules) -> pd.DataFrame:
    """Apply the rule table to a frame of customers (the documented core, no I/O).

    ``frame`` has ``customer_id``, ``stage``, ``clv``, ``p_churn``, ``clv_at_risk`` and optionally
    ``band``, ``nps_score`` (0-10) and ``open_cases``. Returns it with ``nps_class``, ``at_risk``,
    ``high_clv``, ``action``, ``reason``, ``value_at_stake`` and ``value_basis``, sorted by value
    at stake (largest first; customers without an action last).
    """
    out = frame.copy()
    for col, default in (("band", None), ("nps_score", np.nan), ("open_cases", 0)):
        if col not in out.columns:
            out[col] = default
    clv = pd.to_numeric(out["clv"], errors="coerce")
    p_churn = pd.to_numeric(out["p_churn"], errors="coerce")
    nps = pd.to_numeric(out["nps_score"], errors="coerce")
    labels = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor")).astype(object)
    labels[nps.isna().to_numpy()] = None
    out["nps_class"] = labels
    cut = float(np.nanquantile(clv, rules.high_clv_quantile)) if clv.notna().any() else np.inf
    out["at_risk"] = p_churn.ge(rules.high_churn).fillna(False).astype(bool)
    out["high_clv"] = clv.ge(cut).fillna(False).astype(bool)
    out["open_cases"] = pd.to_numeric(out["open_cases"], errors="coerce").fillna(0).astype(int)
    mean_clv = float(clv.mean()) if clv.notna().any() else np.nan
    action = pd.Series("none", index=out.index, dtype=object)
    reason = pd.Series("no rule applies", index=out.index, dtype=object)
    value = pd.Series(0.0, index=out.index)
    basis = pd.Series("", index=out.index, dtype=object)
    free = pd.Series(True, index=out.index)
    for rule in rules.rules:
        hit = free & _mask(rule, out)
        if not hit.any():
            continue
        action[hit] = rule.action
        basis[hit] = rule.value_basis()
        value[hit] = _value(rule, out.loc[hit], mean_clv)
        reason[hit] = pd.Series([_reason(rule, row, rules, cut) for row in out.loc[hit].to_dict("records")],
                                index=out.index[hit], dtype=object)
        free &= ~hit
    out["action"], out["reason"], out["value_at_stake"], out["value_basis"] = action, reason, value, basis
    out.attrs.update(high_clv_cut=cut, high_churn=rules.high_churn, mean_clv=mean_clv)
    order = np.lexsort((out["customer_id"].astype(str).to_numpy(), -out["value_at_stake"].fillna(0).to_numpy(),
                        (out["action"] == "none").to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _fold(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower().str.replace(" ", "_").str.replace("-", "_")


def _mask(rule: ActionRule, frame: pd.DataFrame) -> pd.Series:
    hit = pd.Series(True, index=frame.index)
    for col in ("stage", "band", "nps_class"):
        wanted = getattr(rule, col)
        if wanted is not None:
            hit &= _fold(frame[col]).isin([w.replace(" ", "_").replace("-", "_") for w in wanted]).fillna(False)
    if rule.open_case is not None:
        hit &= (frame["open_cases"] > 0) == rule.open_case
    for col in ("at_risk", "high_clv"):
        wanted = getattr(rule, col)
        if wanted is not None:
            hit &= frame[col] == wanted
    return hit.astype(bool)


def _value(rule: ActionRule, rows: pd.DataFrame, mean_clv: float) -> pd.Series:
    clv = pd.to_numeric(rows["clv"], errors="coerce")
    if rule.value == "clv_at_risk":
        return pd.to_numeric(rows["clv_at_risk"], errors="coerce")
    if rule.value == "clv_share":
        return rule.share * clv
    if rule.value == "mean_clv_share":
        return pd.Series(rule.share * mean_clv, index=rows.index)
    return clv


def _reason(rule: ActionRule, row: Mapping[Any, Any], rules: ActionRules, cut: float) -> str:
    parts = []
    if rule.stage is not None:
        parts.append(f"stage {row['stage']}")
    if rule.band is not None:
        parts.append(f"health {row['band']}")
    if rule.nps_class is not None:
        parts.append(f"{row['nps_class']} (NPS {row['nps_score']:g})")
    if rule.open_case is not None:
        parts.append(f"{row['open_cases']} open case{'s' if row['open_cases'] != 1 else ''}")
    if rule.at_risk is not None:
        rel = ">=" if row["at_risk"] else "<"
        parts.append(f"p_churn {row['p_churn']:.2f} {rel} {rules.high_churn:g}")
    if rule.high_clv is not None:
        rel = ">=" if row["high_clv"] else "<"
        parts.append(f"CLV {row['clv']:,.0f} {rel} {cut:,.0f} (the {rules.high_clv_quantile:g} quantile)")
    return ", ".join(parts) or "the table's catch-all rule"


def next_best_actions(
    ws: Any, *, rules: ActionRules | Mapping[str, Any] | str | Path | None = None,
    open_cases: pd.Series | Any = None, top: int | None = None, include_none: bool = False,
) -> pd.DataFrame:
    """One action per customer with its reason and value at stake (module docstring).

    Parameters
    ----------
    ws
        A :class:`clvlab.Workspace` after ``clvlab run`` (stages, scores, churn; health optional).
    rules
        The rule table: :class:`ActionRules`, a mapping, a YAML/TOML path, or None (the defaults).
    open_cases
        Open cases per customer: a Series (customer_id -> count) or an app store
        (:func:`clvlab.open_app_store`); None: nobody has an open case.
    top
        Keep the ``top`` customers with the most value at stake.
    include_none
        Keep customers no rule applies to (action ``none``).
    """
    table = load_action_rules(rules)
    frame = _inputs(ws)
    if open_cases is not None:
        counts = open_cases if isinstance(open_cases, pd.Series) else open_case_counts(open_cases)
        counts.index = counts.index.astype(str)
        frame["open_cases"] = frame["customer_id"].astype(str).map(counts).fillna(0)
    out = classify(frame, table)
    if not include_none:
        out = out[out["action"] != "none"]
    if top is not None:
        if not isinstance(top, int) or isinstance(top, bool) or top < 1:
            msg = f"{WHERE}: top must be an int >= 1. Got {top!r} instead."
            raise ParameterError(msg)
        out = out.head(top)
    out = _name_items(ws, out.reset_index(drop=True))
    cols = ["customer_id", "action", "reason", "value_at_stake", "value_basis", "stage", "band", "nps_class",
            "open_cases", "p_churn", "clv", "clv_at_risk", "item"]
    result = out[cols].reset_index(drop=True)
    result.attrs.update({str(k): v for k, v in out.attrs.items()}, rules=table.table())
    return result


def _name_items(ws: Any, out: pd.DataFrame) -> pd.DataFrame:
    """Cross-sell rows get the customer's top recommended product (``item``) when the log names products."""
    from clvlab.actions.crosssell import top_items

    out["item"] = None
    sell = out["action"] == "cross_sell"
    if not sell.any():
        return out
    top = top_items(ws, out.loc[sell, "customer_id"])
    if top is None:
        return out
    ids = out["customer_id"].astype(str)
    found = sell & ids.isin(top.index)
    rows = top.reindex(ids[found])
    out.loc[found, "item"] = rows["item"].to_numpy()
    why = [f"; offer {i} ({'lift ' + format(lift, '.2f') + ' with ' + str(b) if s == 'co-occurrence' else 'popular'})"
           for i, lift, b, s in zip(rows["item"], rows["lift"], rows["because"], rows["source"], strict=True)]
    out.loc[found, "reason"] = out.loc[found, "reason"] + pd.Series(why, index=out.index[found])
    return out


def assign_action(
    ws: Any, actions: pd.DataFrame, experiment_id: str, *, action: str | None = None, control: float = 0.2,
    seed: int | None = None, **kwargs: Any,
) -> Any:
    """Assign the customers of one action in ``actions`` to control and treatment (:func:`clvlab.assign`).

    ``action`` may be left out when ``actions`` holds a single action. The customers are stratified
    by stage, as :func:`clvlab.assign` does by default; the experiment is named after the action.
    """
    from clvlab.experiments.assignment import assign

    have = sorted(set(actions["action"]) - {"none"})
    if action is None:
        if len(have) != 1:
            msg = f"assign_action: the list holds the actions {have}; say which one is the treatment (action=...)"
            raise ParameterError(msg)
        action = have[0]
    if action not in have:
        msg = f"assign_action: no customer in the list has the action '{action}' (actions: {', '.join(have) or 'none'})"
        raise DataValidationError(msg, hint=Hint(option="action", value=have[0] if have else None))
    chosen = actions.loc[actions["action"] == action, ["customer_id", "stage"]]
    kwargs.setdefault("name", f"next best action: {action}")
    return assign(ws, experiment_id, control=control, seed=seed, stages=_stage_frame(chosen), **kwargs)


def _stage_frame(chosen: pd.DataFrame) -> pd.DataFrame:
    frame = chosen.copy()
    frame["stage"] = frame["stage"].fillna("unknown").astype(str)
    return frame


__all__ = ["assign_action", "classify", "next_best_actions", "open_case_counts"]
