"""Stratified random assignment with a persisted seed (:func:`assign`).

Eligible customers are the rows of the ``stages`` derived table (filtered by ``stage``), joined
with the ``segment`` of the ``scores`` table when a segment is asked for or stratified by. Then:

1. customers in the workspace's global holdout are left out (:func:`global_holdout`);
2. unless ``allow_overlap``, customers in the treatment arm of another *running* experiment are
   left out (they are never in two running experiments' treatment arms);
3. within each stratum, customers sorted by id are shuffled by a generator seeded with the
   experiment's seed, and the first round(n x control) go to control: every stratum's control
   share is within half a customer of the target. With more arms (``arms={"control": 0.2,
   "email": 0.4, "sms": 0.4}``) the shuffled customers are cut at round(n x cumulative share):
   every arm's count is within one customer of its target in every stratum.

The rows are stored in the ``experiments`` table through the loader (the contract's
guarantees) and the definition, with its seed, in ``experiment_definitions``. Calling
:func:`assign` again for the same experiment returns the stored assignment (no re-draw); a call
with different settings is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvlab.derived import read_derived
from clvlab.errors import DataValidationError, Hint, ParameterError, check_param
from clvlab.experiments.definitions import (
    DEFAULT_METRICS,
    Definition,
    duckdb_con,
    get_definition,
    global_holdout,
    in_holdout,
    save_baselines,
    save_definition,
)

WHERE = "assign"


@dataclass
class Assignment:
    """What :func:`assign` did: the definition, arm counts per stratum and who was left out."""

    definition: Definition
    created: bool
    strata: pd.DataFrame
    excluded_holdout: int = 0
    excluded_overlap: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"definition": self.definition.to_dict(), "created": self.created,
                "strata": self.strata.reset_index().to_dict(orient="records"),
                "excluded_holdout": self.excluded_holdout, "excluded_overlap": self.excluded_overlap,
                "notes": self.notes}


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _fold(text: Any) -> str:
    return str(text).strip().lower().replace(" ", "_").replace("-", "_")


def eligible_customers(
    ws: Any, *, segment: Sequence[str] = (), stage: Sequence[str] = (), stratify_by: str | None = None,
    stages: Any = None, scores: Any = None,
) -> pd.DataFrame:
    """Eligible customers (index customer_id) with their ``stratum`` column ('' when unstratified)."""
    need_scores = bool(segment) or stratify_by == "segment"
    st = read_derived(stages if stages is not None else ws, "stages", columns=("stage",), where=WHERE)
    frame = st.select("customer_id", "stage").execute().set_index("customer_id")
    if need_scores:
        sc = read_derived(scores if scores is not None else ws, "scores", columns=("segment",), where=WHERE)
        seg = sc.select("customer_id", "segment").execute().set_index("customer_id")["segment"]
        frame = frame.join(seg, how="inner")
    for column, wanted in (("stage", stage), ("segment", segment)):
        if not wanted:
            continue
        have = sorted({str(v) for v in frame[column].dropna().unique()})
        folded = {_fold(v) for v in wanted}
        unknown = sorted(folded - {_fold(v) for v in have})
        if unknown:
            msg = f"{WHERE}: no customer has {column} {unknown} (the {column}s are: {', '.join(have)})"
            raise DataValidationError(msg, hint=Hint(option=column, value=have[0] if have else None))
        frame = frame[frame[column].map(_fold).isin(folded)]
    if stratify_by in (None, ""):
        frame["stratum"] = ""
    elif stratify_by in ("stage", "segment"):
        frame["stratum"] = frame[stratify_by].fillna("").astype(str)
    else:
        customers = ws.table("customers")
        check_param(stratify_by in customers.columns, "stratify_by", WHERE,
                    "'stage', 'segment' or a column of customers", stratify_by)
        attr = customers.select("customer_id", stratify_by).execute().set_index("customer_id")[stratify_by]
        frame["stratum"] = attr.reindex(frame.index).fillna("").astype(str)
    frame.index = frame.index.astype(str)
    return frame[["stratum"]]


def treated_elsewhere(ws: Any, experiment_id: str) -> set[str]:
    """Customers in the treatment arm of another running (or loaded) experiment."""
    if "experiments" not in ws.tables():
        return set()
    t = ws.table("experiments")
    rows = t.filter((t.arm != "control") & (t.experiment_id != experiment_id)).select(
        "experiment_id", "customer_id").execute()
    from clvlab.experiments.definitions import list_experiments

    running = list_experiments(ws)
    live = set(running.loc[running["status"] != "stopped", "experiment_id"])
    return set(rows.loc[rows["experiment_id"].isin(live), "customer_id"].astype(str))


def draw_arms(strata: pd.Series, control: float | Mapping[str, float], seed: int) -> pd.Series:
    """The arm of each customer, seeded: in each stratum the customers (sorted by id) are permuted
    and cut at round(n x cumulative share); ``control`` is the control share of a two-arm split
    (control, treatment) or the share of every arm, control first."""
    shares = dict(control) if isinstance(control, Mapping) else {"control": control, "treatment": 1 - control}
    cum = np.cumsum(list(shares.values()))
    rng = np.random.default_rng(seed)
    arms = pd.Series("treatment", index=strata.index, dtype=object)
    for _, ids in sorted(strata.groupby(strata).groups.items()):
        order = sorted(ids)
        perm = rng.permutation(len(order))
        cuts = [0, *(int(np.floor(len(order) * c + 0.5)) for c in cum)]
        for name, lo, hi in zip(shares, cuts[:-1], cuts[1:], strict=True):
            arms.loc[[order[i] for i in perm[lo:hi]]] = name
    return arms


def parse_arms(arms: Mapping[str, float] | str, where: str = WHERE) -> dict[str, float]:
    """``{arm: share}`` with control first, from a mapping or ``"control:0.2,email:0.4,sms:0.4"``;
    a :class:`~clvlab.errors.ParameterError` unless there is a control arm, another arm, and the
    shares are positive and sum to 1."""
    expected = "arms with shares summing to 1, one named 'control', e.g. 'control:0.2,email:0.4,sms:0.4'"
    try:
        pairs = ([(a.partition(":")[0], float(a.partition(":")[2])) for a in arms.split(",")]
                 if isinstance(arms, str) else [(k, float(v)) for k, v in arms.items()])
    except ValueError:
        check_param(False, "arms", where, expected, arms)
        raise AssertionError from None  # pragma: no cover
    shares = {str(k).strip().lower(): v for k, v in pairs}
    ok = (len(shares) == len(pairs) >= 2 and "control" in shares and all(k and v > 0 for k, v in shares.items())
          and abs(sum(shares.values()) - 1) < 1e-9)
    check_param(ok, "arms", where, expected, arms)
    return {"control": shares.pop("control"), **shares}


def _check(given: dict[str, Any], stored: Definition) -> None:
    for key, value in given.items():
        have = getattr(stored, key)
        same = abs(float(have) - float(value)) < 1e-12 if isinstance(value, float) else have == value
        if not same:
            msg = (f"{WHERE}: experiment '{stored.experiment_id}' is already assigned with {key}={have!r}; "
                   f"this call asks for {value!r}, and re-drawing the arms would break the experiment: give the new "
                   "design a new experiment id")
            raise ParameterError(msg)


def assign(
    ws: Any, experiment_id: str, *, segment: str | Sequence[str] | None = None,
    stage: str | Sequence[str] | None = None, control: float = 0.2, stratify_by: str | None = "stage",
    seed: int | None = None, allow_overlap: bool = False, holdout: float | None = None,
    name: str | None = None, metrics: Sequence[str] = DEFAULT_METRICS, assigned_at: Any = None,
    stages: Any = None, scores: Any = None, arms: Mapping[str, float] | str | None = None,
) -> Assignment:
    """Assign the eligible customers of ``experiment_id`` to control and treatment (module docstring).

    Parameters
    ----------
    ws
        A DuckDB :class:`clvlab.Workspace` with the ``stages`` table (and ``scores`` for segments).
    experiment_id
        The experiment's id, e.g. ``"winback-q1"``.
    segment, stage
        Eligibility: RFM segment(s) of ``scores`` and lifecycle stage(s) of ``stages``
        (case, spaces and dashes ignored: ``at_risk`` matches ``At risk``). None: everyone.
    control
        Share of the control arm, in (0, 1), the rest in ``treatment``.
    arms
        More than two arms: ``{"control": 0.2, "email": 0.4, "sms": 0.4}`` (or that as text,
        ``"control:0.2,email:0.4,sms:0.4"``); replaces ``control``. Each treatment arm is
        compared with control by :func:`clvlab.analyze_experiment`.
    stratify_by
        ``"stage"``, ``"segment"``, a column of ``customers`` (``store_id``, ``region``), or None.
    seed
        The random seed; a new random one (stored with the definition) when None.
    allow_overlap
        Let customers in the treatment arm of another running experiment enter.
    holdout
        Set the workspace's global holdout share (0.01-0.10) before assigning; None uses the stored one.
    assigned_at
        The assignment time written on the rows (default: now, in the workspace's time zone);
        an earlier date replays a past campaign.
    stages, scores
        Frames to read eligibility from instead of the workspace's tables (e.g. stages as of the
        assignment day).
    """
    duckdb_con(ws, WHERE)
    shares = parse_arms(arms) if arms is not None else None
    control = shares["control"] if shares else control
    ok = isinstance(control, float | int) and not isinstance(control, bool) and 0 < control < 1
    check_param(ok, "control", WHERE, "a share in (0, 1)", control)
    shares = shares or {"control": float(control), "treatment": 1 - float(control)}
    arms_text = ",".join(f"{k}:{v:g}" for k, v in shares.items())
    check_param(isinstance(experiment_id, str) and bool(experiment_id.strip()), "experiment_id", WHERE,
                "a non-empty string", experiment_id)
    given: dict[str, Any] = {"control_share": float(control), "stratify_by": stratify_by or "",
             "segment": ",".join(_names(segment)), "stage": ",".join(_names(stage)),
             "allow_overlap": bool(allow_overlap), **({"arms": arms_text} if arms is not None else {})}
    share = global_holdout(ws, holdout)
    stored = get_definition(ws, experiment_id)
    if stored is not None:
        _check({**given, **({"seed": seed} if seed is not None else {})}, stored)
        return Assignment(stored, False, _strata_counts(ws, experiment_id),
                          notes=["already assigned: the stored arms are returned, nothing was re-drawn"])
    eligible = eligible_customers(ws, segment=_names(segment), stage=_names(stage), stratify_by=stratify_by,
                                  stages=stages, scores=scores)
    held = in_holdout(ws, eligible.index.to_series())
    overlap = (eligible.index.isin(list(treated_elsewhere(ws, experiment_id))) & ~held.to_numpy()
               if not allow_overlap else np.zeros(len(eligible), dtype=bool))
    kept = eligible[~held.to_numpy() & ~overlap]
    if kept.empty:
        msg = (f"{WHERE}: no eligible customer is left for '{experiment_id}' ({len(eligible):,} eligible, "
               f"{int(held.sum()):,} in the global holdout, {int(overlap.sum()):,} treated by running experiments)")
        raise DataValidationError(msg, hint=[Hint("widen the segment or stage"), Hint(option="allow_overlap", value=True)])
    seed = secrets.randbits(31) if seed is None else int(seed)
    drawn = draw_arms(kept["stratum"], shares, seed)
    when = pd.Timestamp(assigned_at) if assigned_at is not None else pd.Timestamp.now(tz=ws.timezone).tz_localize(None)
    when = when.floor("s")
    rows = pd.DataFrame({"experiment_id": experiment_id, "customer_id": kept.index, "arm": drawn.to_numpy(),
                         "assigned_at": when, "stratum": kept["stratum"].to_numpy()})
    ws.load("experiments", rows)
    now = pd.Timestamp.now(tz=ws.timezone).tz_localize(None).floor("s").to_pydatetime()
    definition = Definition(experiment_id=experiment_id, name=name or experiment_id, status="running", seed=seed,
                            created_at=now, assigned_at=when.to_pydatetime(), metrics=",".join(metrics),
                            holdout_share=share, customers=len(rows), **{"arms": arms_text, **given})
    save_definition(ws, definition)
    notes = _snapshot(ws, rows, when, scores)
    return Assignment(definition, True, _strata_counts(ws, experiment_id), int(held.sum()), int(overlap.sum()), notes)


def _snapshot(ws: Any, rows: pd.DataFrame, when: pd.Timestamp, scores: Any) -> list[str]:
    """Store each customer's CLV and P(alive) at assignment when the scores predate it."""
    sc = read_derived(scores if scores is not None else ws, "scores", columns=("clv", "p_alive"), where=WHERE,
                      missing_ok=True)
    if sc is None:
        return ["no scores table: the analysis has no pre-period CLV covariate"]
    cols = ["customer_id", "clv", "p_alive", *(["as_of"] if "as_of" in sc.columns else [])]
    frame = sc.select(*cols).execute()
    as_of = pd.to_datetime(frame["as_of"]).max() if "as_of" in frame else pd.NaT
    if pd.isna(as_of) or as_of.date() > when.date():
        return [f"the scores hold as of {as_of.date() if not pd.isna(as_of) else 'an unknown day'}, after the "
                "assignment: they are not stored as pre-period CLV"]
    base = rows[["experiment_id", "customer_id"]].merge(frame, on="customer_id", how="left")
    base["scores_as_of"] = as_of.date()
    save_baselines(ws, base)
    return [f"pre-period CLV and P(alive) stored from the scores as of {as_of.date()}"]


def _strata_counts(ws: Any, experiment_id: str) -> pd.DataFrame:
    t = ws.table("experiments")
    t = t.filter(t.experiment_id == experiment_id)
    counts = t.group_by(stratum=t.stratum.fill_null(""), arm=t.arm).aggregate(n=t.count()).execute()
    frame = counts.pivot_table(index="stratum", columns="arm", values="n", fill_value=0).sort_index()
    arms = ["control", *sorted(c for c in frame.columns if c != "control")]
    frame = frame.reindex(columns=arms, fill_value=0).astype(int)
    frame.columns.name = None
    frame["control_share"] = frame["control"] / frame[arms].sum(axis=1)
    return frame


__all__ = ["Assignment", "assign", "draw_arms", "eligible_customers", "parse_arms", "treated_elsewhere"]
