"""The next-best-action rule table, in one documented place.

Rules are tried in order; a customer gets the action of the first rule whose conditions all
hold (AND), and ``none`` when no rule does. The default table::

    high_churn: 0.5          # p_churn (churn table) at or above: "at risk"
    high_clv_quantile: 0.8   # CLV at or above this quantile of all scored customers: "high CLV"
    rules:
      - {action: recovery_call, nps_class: [detractor], open_case: true, value: clv_at_risk}
      - {action: retention_offer, at_risk: true, high_clv: true, value: clv_at_risk}
      - {action: onboarding_guide, stage: [onboarding], value: {clv_share: 0.1}}
      - {action: referral_invitation, nps_class: [promoter], value: {mean_clv_share: 0.1}}
      - {action: cross_sell, stage: [growth, mature], value: {clv_share: 0.1}}

Conditions: ``stage`` (lifecycle stages), ``band`` (health bands red/yellow/green),
``nps_class`` (class of the latest NPS answer), ``open_case`` (an open or in-progress case in
the app store), ``at_risk`` and ``high_clv`` (the two cut-offs above). The value at stake:

* ``clv_at_risk``: p_churn x CLV (the churn table's figure: the margin lost if the customer goes);
* ``clv``: the customer's whole CLV;
* ``{clv_share: s}``: s x CLV, an *assumed* uplift of the action (10 % by default: replace it
  with the effect an experiment measured, ``clvlab actions --experiment``);
* ``{mean_clv_share: s}``: s x the mean CLV of all scored customers (a referral brings a new
  customer with probability s, worth an average customer's CLV).

Override the whole table in a YAML or TOML file (:meth:`ActionRules.from_file`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clvlab.errors import ParameterError

CONDITIONS = ("stage", "band", "nps_class", "open_case", "at_risk", "high_clv")
VALUE_KINDS = ("clv_at_risk", "clv", "clv_share", "mean_clv_share")


@dataclass(frozen=True)
class ActionRule:
    """One row of the table: the action, its conditions (None: any) and how its value is estimated."""

    action: str
    stage: tuple[str, ...] | None = None
    band: tuple[str, ...] | None = None
    nps_class: tuple[str, ...] | None = None
    open_case: bool | None = None
    at_risk: bool | None = None
    high_clv: bool | None = None
    value: str = "clv"
    share: float = 1.0

    def describe(self) -> str:
        """The rule's conditions in words, e.g. ``nps_class in (detractor) and open_case``."""
        parts = []
        for name in CONDITIONS:
            cond = getattr(self, name)
            if isinstance(cond, tuple):
                parts.append(f"{name} in ({', '.join(cond)})")
            elif cond is not None:
                parts.append(name if cond else f"not {name}")
        return " and ".join(parts) or "always"

    def value_basis(self) -> str:
        """How the value at stake is estimated, in words."""
        if self.value == "clv_share":
            return f"{self.share:g} x CLV (assumed uplift)"
        if self.value == "mean_clv_share":
            return f"{self.share:g} x mean CLV (assumed referral)"
        return "p_churn x CLV" if self.value == "clv_at_risk" else "CLV"


DEFAULT_RULES = (
    ActionRule("recovery_call", nps_class=("detractor",), open_case=True, value="clv_at_risk"),
    ActionRule("retention_offer", at_risk=True, high_clv=True, value="clv_at_risk"),
    ActionRule("onboarding_guide", stage=("onboarding",), value="clv_share", share=0.1),
    ActionRule("referral_invitation", nps_class=("promoter",), value="mean_clv_share", share=0.1),
    ActionRule("cross_sell", stage=("growth", "mature"), value="clv_share", share=0.1),
)


@dataclass(frozen=True)
class ActionRules:
    """The ordered rule table and its two cut-offs (see the module docstring)."""

    rules: tuple[ActionRule, ...] = DEFAULT_RULES
    high_churn: float = 0.5
    high_clv_quantile: float = 0.8
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("high_churn", "high_clv_quantile"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
                msg = f"action rules: {name} must be a number in (0, 1). Got {value!r} instead."
                raise ParameterError(msg)
        if not self.rules:
            msg = "action rules: the table has no rule"
            raise ParameterError(msg)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "action rules") -> ActionRules:
        """Rules from a mapping like the module docstring's (unknown keys are errors naming the valid ones)."""
        unknown = sorted(set(data) - {"rules", "high_churn", "high_clv_quantile"})
        if unknown:
            msg = f"{where}: unknown key(s) {unknown}; valid: high_churn, high_clv_quantile, rules"
            raise ParameterError(msg)
        rules: tuple[ActionRule, ...] = DEFAULT_RULES
        if "rules" in data:
            rules = tuple(_rule(raw, i, where) for i, raw in enumerate(data["rules"] or [], start=1))
        base = cls()
        return cls(rules=rules, high_churn=float(data.get("high_churn", base.high_churn)),
                   high_clv_quantile=float(data.get("high_clv_quantile", base.high_clv_quantile)))

    @classmethod
    def from_file(cls, path: str | Path) -> ActionRules:
        """Rules from a YAML or TOML file."""
        from clvlab._config import read_config_file

        data = read_config_file(path, what="action rules file", error=ParameterError)
        return cls.from_mapping(data, where=f"action rules file '{path}'")

    def table(self) -> list[dict[str, Any]]:
        """The table as rows (order, action, when, value), for display and JSON."""
        return [{"order": i, "action": r.action, "when": r.describe(), "value": r.value_basis()}
                for i, r in enumerate(self.rules, start=1)]


def load_action_rules(source: ActionRules | Mapping[str, Any] | str | Path | None) -> ActionRules:
    """An :class:`ActionRules` from itself, a mapping, a YAML/TOML path, or None (the defaults)."""
    if source is None:
        return ActionRules()
    if isinstance(source, ActionRules):
        return source
    if isinstance(source, Mapping):
        return ActionRules.from_mapping(source)
    return ActionRules.from_file(source)


def _rule(raw: Any, index: int, where: str) -> ActionRule:
    if not isinstance(raw, Mapping) or "action" not in raw:
        msg = f"{where}: rule {index} must be a mapping with an 'action' (got {raw!r})"
        raise ParameterError(msg)
    name = str(raw["action"])
    unknown = sorted(set(raw) - {"action", "value", *CONDITIONS})
    if unknown:
        msg = f"{where}: rule {index} ('{name}') has unknown key(s) {unknown}; valid: action, value, {', '.join(CONDITIONS)}"
        raise ParameterError(msg)
    kwargs: dict[str, Any] = {}
    for key in ("stage", "band", "nps_class"):
        if raw.get(key) is not None:
            value = raw[key]
            kwargs[key] = (str(value).lower(),) if isinstance(value, str) else tuple(str(v).lower() for v in value)
    for key in ("open_case", "at_risk", "high_clv"):
        if raw.get(key) is not None:
            if not isinstance(raw[key], bool):
                msg = f"{where}: rule {index} ('{name}'): {key} must be true or false. Got {raw[key]!r} instead."
                raise ParameterError(msg)
            kwargs[key] = raw[key]
    spec: Any = raw.get("value", "clv")
    kind, share = (spec, 1.0) if isinstance(spec, str) else _share(spec, index, name, where)
    if kind not in VALUE_KINDS:
        msg = f"{where}: rule {index} ('{name}'): value must be one of {', '.join(VALUE_KINDS)}. Got {kind!r} instead."
        raise ParameterError(msg)
    return ActionRule(name, value=kind, share=share, **kwargs)


def _share(value: Any, index: int, name: str, where: str) -> tuple[str, float]:
    if isinstance(value, Mapping) and len(value) == 1:
        kind, share = next(iter(value.items()))
        if isinstance(share, int | float) and not isinstance(share, bool) and share >= 0:
            return str(kind), float(share)
    msg = (f"{where}: rule {index} ('{name}'): value must be clv_at_risk, clv, {{clv_share: S}} or "
           f"{{mean_clv_share: S}} with S >= 0. Got {value!r} instead.")
    raise ParameterError(msg)


__all__ = ["DEFAULT_RULES", "ActionRule", "ActionRules", "load_action_rules"]
