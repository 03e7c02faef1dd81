"""Alert rules and case policy: which feedback opens a case, how urgent it is, and when it is due.

Defaults (issue 3): NPS <= 6, CSAT <= 2, and a negative comment with a complaint or churn-threat
intent.  Priority comes from the customer's CLV rank (top decile P1, the next 20% P2, else P3) and
each priority has an SLA (P1 24 h, P2 48 h, P3 72 h).  All of it can be changed in a YAML or TOML
file::

    rules:
      - {name: nps_detractor, metric: nps, max_score: 6}
      - {name: csat_low, metric: csat, max_score: 2}
      - {name: negative_complaint, sentiment: negative, intents: [complaint, churn_threat]}
    priority:            # CLV quantile at or above which a customer gets the priority
      P1: 0.9
      P2: 0.7
    default_priority: P3 # below every threshold, or CLV unknown
    sla_hours: {P1: 24, P2: 48, P3: 72}
    due_soon_share: 0.25 # 'due soon' when less than this share of the SLA window is left

The closed-loop holdout: a rule with ``holdout: 0.1`` keeps 10 % of the new responses it matches
uncontacted (recorded as ``held_out`` cases with no owner; :mod:`clvlab.cases.holdout`), chosen by
hashing the response id with ``holdout_salt`` (a top-level key; default ``clvlab-closed-loop``)::

    rules:
      - {name: nps_detractor, metric: nps, max_score: 6, holdout: 0.1}
    holdout_salt: shop-2026
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvlab._config import read_config
from clvlab.errors import DataQualityWarning, DataValidationError, Issue, ParameterError, warn

TEXT_COLUMNS = ("sentiment_label", "intents")


def _norm(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True)
class Rule:
    """One alert condition; every condition given must hold (AND).

    Parameters
    ----------
    name
        Shown on the case as its reason.
    metric, max_score, min_score
        Score condition: the row's metric equals ``metric`` and its score lies in the bounds.
    sentiment
        Comment condition: the comment's sentiment label (``negative``, ...).
    intents
        The comment has at least one of these intents (``complaint``, ``churn_threat``, ...).
    """

    name: str
    metric: str | None = None
    max_score: float | None = None
    min_score: float | None = None
    sentiment: str | None = None
    intents: tuple[str, ...] = ()
    holdout: float = 0.0  #: share of matched responses kept uncontacted (the closed-loop holdout)

    @property
    def needs_text(self) -> bool:
        """True when the rule reads sentiment or intents."""
        return self.sentiment is not None or bool(self.intents)

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean Series: which rows of ``frame`` the rule matches."""
        hit = pd.Series(True, index=frame.index)
        if self.metric is not None:
            hit &= frame["metric"].astype("string").str.lower().eq(self.metric.lower()).fillna(False)
        score = pd.to_numeric(frame["score"], errors="coerce") if "score" in frame else None
        if self.max_score is not None or self.min_score is not None:
            if score is None:
                return pd.Series(False, index=frame.index)
            if self.max_score is not None:
                hit &= score.le(self.max_score).fillna(False)
            if self.min_score is not None:
                hit &= score.ge(self.min_score).fillna(False)
        if self.sentiment is not None:
            label = frame["sentiment_label"].astype("string").str.lower()
            hit &= label.eq(self.sentiment.lower()).fillna(False)
        if self.intents:
            wanted = {_norm(i) for i in self.intents}
            hit &= frame["intents"].map(lambda v: bool(wanted & _intent_set(v))).astype(bool)
        return hit


def _intent_set(value: Any) -> set[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return set()
    if isinstance(value, str):
        return {_norm(v) for v in value.replace(";", ",").split(",") if v.strip()}
    if isinstance(value, Mapping):  # {"complaint": 0.8, ...} or {"complaint": True}
        return {_norm(k) for k, v in value.items() if v}
    return {_norm(v) for v in value}


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("nps_detractor", metric="nps", max_score=6),
    Rule("csat_low", metric="csat", max_score=2),
    Rule("negative_complaint", sentiment="negative", intents=("complaint", "churn_threat", "churn")),
)


@dataclass(frozen=True)
class CasePolicy:
    """Priority by CLV quantile and SLA hours per priority (a business rule: change it freely)."""

    priority: tuple[tuple[str, float], ...] = (("P1", 0.9), ("P2", 0.7))
    default_priority: str = "P3"
    sla_hours: Mapping[str, float] = field(default_factory=lambda: {"P1": 24.0, "P2": 48.0, "P3": 72.0})
    due_soon_share: float = 0.25

    def __post_init__(self) -> None:
        for name, q in self.priority:
            if not 0.0 <= q <= 1.0:
                msg = f"The priority quantile of '{name}' must be in [0, 1]. Got {q!r} instead."
                raise ParameterError(msg)
        for name in [*(p for p, _ in self.priority), self.default_priority]:
            if name not in self.sla_hours:
                msg = (f"priority '{name}' has no SLA; add it to sla_hours "
                       f"(have: {', '.join(self.sla_hours)})")
                raise ParameterError(msg)

    def thresholds(self, clv: pd.Series) -> list[tuple[str, float]]:
        """(priority, CLV cut-off) pairs from the CLV distribution of all customers, strictest first."""
        values = pd.to_numeric(clv, errors="coerce").dropna()
        if values.empty:
            return []
        ordered = sorted(self.priority, key=lambda p: -p[1])
        return [(name, float(np.quantile(values.to_numpy(), q))) for name, q in ordered]

    def priority_for(self, clv: float | None, thresholds: Sequence[tuple[str, float]]) -> str:
        """The priority of a customer worth ``clv`` (unknown CLV: the default priority)."""
        if clv is None or not np.isfinite(clv):
            return self.default_priority
        for name, cut in thresholds:
            if clv >= cut:
                return name
        return self.default_priority

    def due(self, priority: str, opened_at: datetime) -> datetime:
        """SLA due time of a case of ``priority`` opened at ``opened_at``."""
        return opened_at + timedelta(hours=float(self.sla_hours[priority]))

    def sla_state(self, *, opened_at: datetime, due_at: datetime, now: datetime,
                  done_at: datetime | None = None) -> str:
        """``ok``, ``due soon`` or ``overdue`` (``met`` / ``missed`` once contacted at ``done_at``)."""
        if done_at is not None:
            return "met" if done_at <= due_at else "missed"
        if now > due_at:
            return "overdue"
        window = (due_at - opened_at).total_seconds()
        return "due soon" if (due_at - now).total_seconds() <= self.due_soon_share * window else "ok"


@dataclass(frozen=True)
class AlertConfig:
    """Rules plus policy, as read from a YAML/TOML file (or the defaults)."""

    rules: tuple[Rule, ...] = DEFAULT_RULES
    policy: CasePolicy = field(default_factory=CasePolicy)
    holdout_salt: str = "clvlab-closed-loop"


def load_alert_config(source: str | Path | Mapping[str, Any] | None = None) -> AlertConfig:
    """Read rules and policy from a ``.yaml``/``.yml``/``.toml`` file or a dict (None: defaults)."""
    if source is None:
        return AlertConfig()
    data, where = read_config(source, name="alert config", what="alert rules file", error=DataValidationError)
    rules = DEFAULT_RULES
    if "rules" in data:
        rules = tuple(_rule(raw, i, where) for i, raw in enumerate(data["rules"] or [], start=1))
    base = CasePolicy()
    priority = data.get("priority")
    policy = CasePolicy(
        priority=tuple((str(k), float(v)) for k, v in priority.items()) if priority else base.priority,
        default_priority=str(data.get("default_priority", base.default_priority)),
        sla_hours={str(k): float(v) for k, v in (data.get("sla_hours") or base.sla_hours).items()},
        due_soon_share=float(data.get("due_soon_share", base.due_soon_share)),
    )
    return AlertConfig(rules=rules, policy=policy,
                       holdout_salt=str(data.get("holdout_salt", AlertConfig.holdout_salt)))


_RULE_KEYS = {"name", "metric", "max_score", "min_score", "sentiment", "intents", "holdout"}


def _rule(raw: Any, index: int, where: str) -> Rule:
    if not isinstance(raw, Mapping) or "name" not in raw:
        msg = f"{where}: rule {index} must be a mapping with a 'name' (got {raw!r})"
        raise DataValidationError(msg)
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        msg = (f"{where}: rule {index} ('{raw['name']}') has unknown keys {sorted(unknown)}; "
               f"allowed: {sorted(_RULE_KEYS)}")
        raise DataValidationError(msg)
    intents = raw.get("intents") or ()
    rule = Rule(
        name=str(raw["name"]),
        metric=raw.get("metric"),
        max_score=None if raw.get("max_score") is None else float(raw["max_score"]),
        min_score=None if raw.get("min_score") is None else float(raw["min_score"]),
        sentiment=raw.get("sentiment"),
        intents=(intents,) if isinstance(intents, str) else tuple(str(i) for i in intents),
        holdout=_holdout_share(raw.get("holdout", 0.0), index, str(raw["name"]), where),
    )
    if rule.metric is None and not rule.needs_text:
        msg = f"{where}: rule {index} ('{rule.name}') has no condition; give a metric or a sentiment/intents"
        raise DataValidationError(msg)
    return rule


def _holdout_share(value: Any, index: int, name: str, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value)
    msg = f"{where}: rule {index} ('{name}'): holdout must be a share in [0, 1), e.g. 0.1. Got {value!r} instead."
    raise DataValidationError(msg)


def add_text_signals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``sentiment_label`` and ``intents`` from the comments (the one place that calls the analysers).

    Rows without a comment get no label and no intents.  When the text analysers are not
    installed, the columns are left empty and a :class:`DataQualityWarning` says so.
    """
    out = frame.copy()
    if all(c in out.columns for c in TEXT_COLUMNS):
        return out
    out["sentiment_label"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["intents"] = pd.Series([()] * len(out), index=out.index, dtype=object)
    if "comment" not in out.columns:
        return out
    has_text = out["comment"].notna() & out["comment"].astype("string").str.strip().ne("")
    texts = out.loc[has_text, "comment"].astype(str).tolist()
    if not texts:
        return out
    try:
        from clvlab.text.analyze import analyze_text
    except ImportError as exc:
        warn(f"text rules skipped: the text analysers are unavailable ({exc})",
                      DataQualityWarning, stacklevel=2)
        return out
    result: Any = analyze_text(texts)
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "comments", None)
    if not isinstance(table, pd.DataFrame) or len(table) != len(texts):
        msg = "analyze_text returned no per-comment table; cannot evaluate the text rules"
        raise DataValidationError(msg)
    label_col = next((c for c in ("sentiment_label", "sentiment", "label") if c in table.columns), None)
    if label_col is None:
        from clvlab.text.sentiment import sentiment

        labels = sentiment(texts)["label"]
    else:
        labels = table[label_col]
    out.loc[has_text, "sentiment_label"] = pd.Series(labels).astype("string").to_numpy()
    intents = table["intents"] if "intents" in table.columns else pd.Series([()] * len(texts))
    out.loc[has_text, "intents"] = pd.Series(
        [tuple(sorted(_intent_set(v))) for v in intents], dtype=object
    ).to_numpy()
    return out


def evaluate_rules(frame: pd.DataFrame, rules: Sequence[Rule] = DEFAULT_RULES) -> pd.DataFrame:
    """Rows of ``frame`` that match at least one rule, with a ``reasons`` column (rule names)
    and ``holdout``, the largest holdout share of the rules the row matches.

    ``frame`` is feedback in the canonical columns (``response_id``, ``metric``, ``score``, ...);
    text rules need ``sentiment_label`` and ``intents`` (see :func:`add_text_signals`).
    """
    issues = [Issue("required column missing", column=c, source="feedback")
              for c in ("response_id", "metric", "score") if c not in frame.columns]
    if any(r.needs_text for r in rules):
        issues += [Issue("required by the text rules; call add_text_signals() first", column=c,
                         source="feedback") for c in TEXT_COLUMNS if c not in frame.columns]
    if issues:
        msg = "cannot evaluate the alert rules"
        raise DataValidationError(msg, issues)
    names: list[list[str]] = [[] for _ in range(len(frame))]
    share = np.zeros(len(frame))
    for rule in rules:
        for pos in np.flatnonzero(rule.mask(frame).to_numpy()):
            names[pos].append(rule.name)
            share[pos] = max(share[pos], rule.holdout)
    hit = np.array([bool(n) for n in names], dtype=bool)
    out = frame.loc[hit].copy()
    out["reasons"] = [",".join(n) for n in names if n]
    out["holdout"] = share[hit]
    return out
