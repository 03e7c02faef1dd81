"""The analysis of an experiment (:func:`analyze_experiment`): effects, intervals, CUPED, SRM.

For each metric (see :mod:`clvlab.experiments.metrics`) and each arm other than control (one,
``treatment``, or more: :func:`compare_arms`), that arm minus control:

- **raw**: proportions by Newcombe's hybrid score interval and the pooled z-test, means by Welch;
- **CUPED**: y - theta (x - mean x) with x the metric's pre-period value, theta = cov / var within
  arms, pooled (Deng et al. 2013), then Welch;
- **regression**: the same with several covariates at once (the pre-period metric, pre-period
  CLV and RFM: frequency, recency, monetary), theta by least squares within arms;
- the **primary** analysis (``adjust``) gives the effect, its interval, the relative effect
  (delta method) and the p-value that is adjusted across arms x metrics (Holm, or Benjamini-Hochberg);
- ``nps``: the NPS difference among respondents (:func:`clvlab.stats.nps_difference`) with the
  arms' response rates beside it;
- money metrics (spend, clv) are winsorized at a percentile of the pooled data (both arms) before
  anything else, and get a seeded percentile bootstrap interval of the primary difference;
- a sample-ratio-mismatch chi-squared test of all arms' counts against the planned split
  (p < 0.001 is flagged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab import stats
from clvlab.errors import DataValidationError, check_param
from clvlab.experiments.definitions import get_definition, read_baselines
from clvlab.experiments.metrics import (
    METRICS,
    MONEY,
    PRE,
    PROPORTIONS,
    RFM,
    customer_metrics,
    nps_answers,
    periods,
)

WHERE = "analyze_experiment"
SRM_ALPHA = 0.001
Adjust = Literal["none", "cuped", "regression"]
Correction = Literal["holm", "bh"]
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


@dataclass
class ExperimentAnalysis:
    """What :func:`analyze_experiment` found: one row per metric in ``metrics`` and the checks."""

    experiment_id: str
    pre_period: tuple[Any, Any]
    post_period: tuple[Any, Any]
    n_control: int
    n_treatment: int
    srm: dict[str, Any]
    adjust: str
    correction: str
    winsor_percentile: float | None
    level: float
    metrics: pd.DataFrame
    covariates: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)
    name: str = ""
    arms: dict[str, int] = field(default_factory=dict)

    @property
    def summaries(self) -> list[str]:
        """The plain-words sentence of every metric."""
        return list(self.metrics["summary"])

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"experiment_id": self.experiment_id, "name": self.name, "pre_period": list(self.pre_period),
                "post_period": list(self.post_period), "n_control": self.n_control,
                "n_treatment": self.n_treatment, "srm": self.srm, "adjust": self.adjust,
                "correction": CORRECTION_NAMES[self.correction], "winsor_percentile": self.winsor_percentile,
                "level": self.level, "covariates": self.covariates, "notes": self.notes, "arms": self.arms,
                "metrics": self.metrics.reset_index().to_dict(orient="records")}


def _assignments(ws: Any, experiment_id: str) -> pd.DataFrame:
    if "experiments" not in ws.tables():
        msg = f"{WHERE}: the workspace has no experiments table"
        raise DataValidationError(msg, hint="assign one (clvlab.assign) or load one (clvlab load experiments FILE)")
    t = ws.table("experiments")
    frame = t.filter(t.experiment_id == experiment_id).select("customer_id", "arm", "assigned_at").execute()
    if frame.empty:
        have = sorted(t.select("experiment_id").distinct().execute()["experiment_id"].astype(str))
        msg = f"{WHERE}: no customer is assigned to experiment '{experiment_id}' (experiments: {', '.join(have)})"
        raise DataValidationError(msg, hint="analyze one of the experiments listed, or assign it first")
    arms = set(frame["arm"])
    if "control" not in arms or len(arms) < 2:
        msg = (f"{WHERE}: experiment '{experiment_id}' has arms {sorted(arms)}; the analysis compares each "
               "arm with 'control'")
        raise DataValidationError(msg, hint="load a 'control' arm and at least one other")
    return frame


def srm_check(counts: Mapping[str, int], shares: Mapping[str, float] | None) -> dict[str, Any]:
    """The sample-ratio-mismatch verdict over all arms as a dict (``flagged`` when p < 0.001).

    ``counts`` and ``shares`` by arm (control first); ``shares`` None: the planned split is unknown.
    """
    if shares is None or set(shares) != set(counts):
        return {"checked": False, "flagged": False, "expected_control_share": None,
                "text": "SRM not checked: the planned split is unknown (pass control=)"}
    names = list(shares)
    n = [int(counts[a]) for a in names]
    chi2, p = stats.srm_test(n, [shares[a] for a in names])
    flagged = p < SRM_ALPHA
    seen = {a: k / sum(n) for a, k in zip(names, n, strict=True)}
    control_share, n_control, n_treatment = shares["control"], counts["control"], sum(n) - counts["control"]
    if len(names) == 2:
        split = f"{n_control:,} control / {n_treatment:,} treatment ({seen['control']:.1%} control)"
        seen_text, planned = f"{seen['control']:.1%} control", f"{control_share:.0%}"
        fit = f"chi-squared {chi2:.2f}, p = {p:.2g}"
    else:
        split = seen_text = ", ".join(f"{a} {counts[a]:,} ({seen[a]:.1%})" for a in names)
        planned = " / ".join(f"{shares[a]:.0%}" for a in names)
        fit = f"chi-squared {chi2:.2f} with {len(names) - 1} df, p = {p:.2g}"
    text = (f"SAMPLE RATIO MISMATCH: {split} against a planned {planned} (chi-squared {chi2:.1f}, p = {p:.2g} < "
            f"{SRM_ALPHA}): the assignment or the data are broken; do not trust the effects" if flagged else
            f"no sample ratio mismatch: {seen_text} against a planned {planned} ({fit})")
    return {"checked": True, "flagged": bool(flagged), "chi2": chi2, "p_value": p,
            "expected_control_share": control_share, "observed_control_share": seen["control"],
            "expected_shares": dict(shares), "observed_shares": seen, "text": text}


def _welch(values: np.ndarray[Any, Any], treated: np.ndarray[Any, Any], level: float) -> tuple[float, ...]:
    t, c = values[treated], values[~treated]
    return stats.welch_interval(t.mean(), t.var(ddof=1), len(t), c.mean(), c.var(ddof=1), len(c), level=level)


def _metric(
    frame: pd.DataFrame, metric: str, *, adjust: str, level: float, winsor: float | None, n_boot: int, seed: int,
    covariates: list[str],
) -> dict[str, Any]:
    treated = (frame["arm"] == "treatment").to_numpy()
    y = frame[metric].to_numpy(dtype=float)
    keep = ~np.isnan(y)
    frame, y, treated = frame[keep], y[keep], treated[keep]
    money = metric in MONEY
    pre = frame[PRE[metric]].to_numpy(dtype=float)
    x_reg = frame[covariates].to_numpy(dtype=float)
    cap = None
    if money and winsor is not None:
        y, cap = stats.winsorize(y, winsor)
        pre = stats.winsorize(pre, winsor)[0]
        x_reg = x_reg.copy()
        for i, name in enumerate(covariates):
            if name in ("pre_spend", "pre_clv", "pre_monetary"):
                x_reg[:, i] = stats.winsorize(x_reg[:, i], winsor)[0]
    row: dict[str, Any] = {"metric": metric, "kind": "proportion" if metric in PROPORTIONS else "mean",
                           "n_control": int((~treated).sum()), "n_treatment": int(treated.sum()),
                           "mean_control": float(y[~treated].mean()), "mean_treatment": float(y[treated].mean()),
                           "winsor_cap": cap}
    welch_raw = _welch(y, treated, level)
    if metric in PROPORTIONS:
        kt, kc = int(y[treated].sum()), int(y[~treated].sum())
        d, lo, hi = stats.newcombe_interval(kt, int(treated.sum()), kc, int((~treated).sum()), level=level)
        raw = (d, lo, hi, stats.two_proportion_p(kt, int(treated.sum()), kc, int((~treated).sum())))
    else:
        raw = (welch_raw[0], welch_raw[1], welch_raw[2], welch_raw[4])
    row.update(raw_effect=raw[0], raw_lower=raw[1], raw_upper=raw[2], raw_p=raw[3])
    adjusted: dict[str, np.ndarray[Any, Any]] = {}
    for name, x in (("cuped", pre), ("regression", x_reg)):
        values, theta, r2 = stats.covariate_adjust(y, x, treated)
        d, lo, hi, se, p = _welch(values, treated, level)
        if not se > 0:  # nothing varies (e.g. nobody bought): the adjustment adds nothing, keep raw
            values, (d, lo, hi, p), se = y, raw, welch_raw[3]
        adjusted[name] = values
        row.update({f"{name}_effect": d, f"{name}_lower": lo, f"{name}_upper": hi, f"{name}_p": p,
                    f"{name}_r2": r2, f"{name}_narrowing": 1 - se / welch_raw[3] if welch_raw[3] else float("nan")})
        if name == "cuped":
            row["cuped_theta"] = float(theta[0])
    prim = y if adjust == "none" else adjusted[adjust]
    key = "raw" if adjust == "none" else adjust
    row.update(effect=row[f"{key}_effect"], lower=row[f"{key}_lower"], upper=row[f"{key}_upper"],
               p_value=row[f"{key}_p"], narrowing=row.get(f"{key}_narrowing", 0.0))
    t, c = prim[treated], prim[~treated]
    rel = stats.relative_interval(t.mean(), t.var(ddof=1), len(t), c.mean(), c.var(ddof=1), len(c), level=level)
    row.update(relative=rel[0], relative_lower=rel[1], relative_upper=rel[2])
    boot = stats.bootstrap_interval(t, c, level=level, n_resamples=n_boot, seed=seed) if money and n_boot else None
    row.update(bootstrap_lower=boot[0] if boot else None, bootstrap_upper=boot[1] if boot else None)
    return row


def nps_metric(assignments: pd.DataFrame, answers: pd.Series, level: float) -> dict[str, Any]:
    """The NPS row: treatment minus control among respondents (:func:`clvlab.stats.nps_difference`),
    with each arm's response rate and their difference (Newcombe) beside it."""
    arm = assignments.assign(customer_id=assignments["customer_id"].astype(str)).set_index("customer_id")["arm"]
    score = answers.reindex(arm.index)
    counts, assigned = {}, {}
    for name in ("treatment", "control"):
        s = score[arm == name].dropna()
        counts[name] = (int((s >= 9).sum()), int(((s > 6) & (s < 9)).sum()), int((s <= 6).sum()))
        assigned[name] = int((arm == name).sum())
    d, lo, hi, _, p = stats.nps_difference(counts["treatment"], counts["control"], level=level)
    n_t, n_c = sum(counts["treatment"]), sum(counts["control"])
    rr = stats.newcombe_interval(n_t, assigned["treatment"], n_c, assigned["control"], level=level)
    nps_of = {k: 100 * (c[0] - c[2]) / sum(c) if sum(c) else float("nan") for k, c in counts.items()}
    nan = float("nan")
    return {"metric": "nps", "kind": "nps", "n_control": n_c, "n_treatment": n_t, "mean_control": nps_of["control"],
            "mean_treatment": nps_of["treatment"], "winsor_cap": None, "raw_effect": d, "raw_lower": lo,
            "raw_upper": hi, "raw_p": p, "effect": d, "lower": lo, "upper": hi, "p_value": p, "narrowing": nan,
            "relative": nan, "relative_lower": nan, "relative_upper": nan, "bootstrap_lower": None,
            "bootstrap_upper": None, "assigned_control": assigned["control"],
            "assigned_treatment": assigned["treatment"], "response_rate_control": n_c / assigned["control"],
            "response_rate_treatment": n_t / assigned["treatment"], "response_rate_effect": rr[0],
            "response_rate_lower": rr[1], "response_rate_upper": rr[2]}


def analyze_experiment(
    ws: Any, experiment_id: str, *, metrics: Sequence[str] | None = None, pre_period: Any = None,
    post_period: Any = None, adjust: Adjust = "cuped", correction: Correction = "holm",
    winsorize: float | None = 99.0, bootstrap: int = 2000, level: float = 0.95, control: float | None = None,
    seed: int | None = None,
) -> ExperimentAnalysis:
    """Effects of ``experiment_id`` on each metric, with intervals, CUPED and the SRM check.

    Parameters
    ----------
    ws
        The workspace holding ``experiments`` (and ``transactions``; ``scores`` for clv, p_alive).
    metrics
        Of ``retention``, ``repurchase``, ``spend``, ``clv``, ``p_alive``, ``nps``; default:
        the definition's, else the first four.
    pre_period, post_period
        ``(first day, last day)``; see :func:`clvlab.experiments.metrics.periods`.
    adjust
        The primary analysis: ``"cuped"`` (default), ``"regression"`` or ``"none"``.
    correction
        Multiple-metric adjustment of the primary p-values: ``"holm"`` (default) or ``"bh"``.
    winsorize
        Percentile (pooled over arms) at which money metrics are capped; None: no cap.
    bootstrap
        Resamples of the bootstrap interval of money metrics (0: none); seeded by the experiment.
    control
        The planned control share of a two-arm split for the SRM check (default: the
        definition's arm shares).
    """
    check_param(adjust in ("none", "cuped", "regression"), "adjust", WHERE, "'none', 'cuped' or 'regression'", adjust)
    check_param(correction in CORRECTION_NAMES, "correction", WHERE, "'holm' or 'bh'", correction)
    level = stats.check_level(level, WHERE)
    ok = winsorize is None or (isinstance(winsorize, float | int) and 50 <= winsorize <= 100)
    check_param(ok, "winsorize", WHERE, "a percentile in [50, 100] or None", winsorize)
    definition = get_definition(ws, experiment_id)
    chosen = list(metrics) if metrics else (definition.to_dict()["metrics"] if definition else
                                            ["retention", "repurchase", "spend", "clv"])
    for m in chosen:
        check_param(m in METRICS, "metrics", WHERE, f"a list of {list(METRICS)}", m)
    frame = _assignments(ws, experiment_id)
    tx = ws.table("transactions")
    last_day = pd.Timestamp(tx.ordered_at.max().execute()).date()
    pre, post = periods(frame, last_day, pre_period, post_period, WHERE)
    baselines = read_baselines(ws, experiment_id)
    data = customer_metrics(ws, frame, pre=pre, post=post, metrics=tuple(chosen), baselines=baselines, where=WHERE)
    seed = seed if seed is not None else (definition.seed if definition else 0)
    answers = nps_answers(ws, frame, post, WHERE) if "nps" in chosen else None
    table, covs = compare_arms(data, chosen, answers=answers, adjust=adjust, correction=correction, level=level,
                               winsorize=winsorize, bootstrap=bootstrap, seed=seed)
    counts = frame["arm"].value_counts()
    arms = {a: int(counts[a]) for a in ["control", *sorted(set(counts.index) - {"control"})]}
    planned = definition.arm_shares() if definition else None
    if control is not None and len(arms) == 2:
        planned = {a: control if a == "control" else 1 - control for a in arms}
    n_c = arms["control"]
    result = ExperimentAnalysis(experiment_id, pre, post, n_c, sum(arms.values()) - n_c, srm_check(arms, planned),
                                adjust, correction, winsorize, level, table, covs,
                                notes=[f"pre-period CLV covariate: {data.attrs['pre_clv_source']}"],
                                name=definition.name if definition else experiment_id, arms=arms)
    table["summary"] = [plain_words(str(r["base_metric"]), r, result) for _, r in table.iterrows()]
    return result


def compare_arms(
    data: pd.DataFrame, metrics: Sequence[str], *, answers: pd.Series | None = None, adjust: str = "cuped",
    correction: str = "holm", level: float = 0.95, winsorize: float | None = 99.0, bootstrap: int = 2000,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Each treatment arm against control on each metric; p-values adjusted over all arms x metrics.

    ``data``: one row per customer (index customer_id) with ``arm`` and the columns of
    :func:`clvlab.experiments.metrics.customer_metrics`; ``answers``: NPS answers for ``nps``.
    Rows are labelled by metric with one treatment arm, else ``"arm: metric"``; columns ``arm``
    and ``base_metric`` say which.
    """
    treatments = sorted(set(data["arm"]) - {"control"})
    rows: list[dict[str, Any]] = []
    covs: dict[str, list[str]] = {}
    for arm in treatments:
        sub = data[data["arm"].isin(["control", arm])]
        sub = sub.assign(arm=np.where(sub["arm"] == "control", "control", "treatment"))
        for m in metrics:
            if m == "nps":
                covs[m] = []
                row = nps_metric(sub.rename_axis("customer_id").reset_index(), answers, level)  # type: ignore[arg-type]
            else:
                covs[m] = list(dict.fromkeys([PRE[m], "pre_clv", *RFM]))
                row = _metric(sub, m, adjust=adjust, level=level, winsor=winsorize if m in MONEY else None,
                              n_boot=bootstrap, seed=seed, covariates=covs[m])
            row.update(metric=m if len(treatments) == 1 else f"{arm}: {m}", arm=arm, base_metric=m)
            rows.append(row)
    table = pd.DataFrame(rows).set_index("metric")
    p = table["p_value"].to_numpy(dtype=float)
    finite = np.isfinite(p)
    adj = np.full(len(p), np.nan)
    if finite.any():
        adj[finite] = (stats.holm if correction == "holm" else stats.benjamini_hochberg)(p[finite])
    table["p_adjusted"] = adj
    return table, covs


def _num(value: float, money: bool) -> str:
    return f"{value:,.2f}" if money else f"{value:.3g}"


#: the plain-words sentences, per language: one builder (:func:`plain_words`), two wordings
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "arm": "{arm} vs control: {text}",
        "p": "{corr}-adjusted p = {p}", "p_none": "p undefined",
        "proportion": "{d} percentage points {more} treatment customers {verb} than control ({t} vs {c}; "
                      "{pct}% CI {lo} to {hi} points, {p})",
        "more": "more", "fewer": "fewer", "less": "less", "higher": "higher", "lower": "lower",
        "verb_retention": "bought in the post period", "verb_repurchase": "bought on 2+ days",
        "mean": "Treatment customers {noun} {d} {more} on average ({pct}% CI {lo} to {hi}, {p})",
        "noun_spend": "spent", "noun_clv": "have a predicted CLV", "noun_p_alive": "have a P(alive)",
        "zero": "; the interval includes 0: no detectable effect",
        "adjusted": "; {name} {change} the interval by {share}",
        "cuped": "CUPED", "regression": "regression adjustment", "narrowed": "narrowed", "widened": "widened",
        "winsor": " (values capped at {cap}, the {percentile}th percentile)",
        "nps_none": "No NPS comparison: {t} treatment and {c} control customers answered an NPS question in the "
                    "post period (each arm needs one).",
        "nps": "Treatment customers' NPS is {d} points {more} than control's ({t} vs {c}; {nt} / {nc} "
               "respondents; {pct}% CI {lo} to {hi} points, {p})",
        "response": "; response rate {t} vs {c} (difference {d} points, {pct}% CI {lo} to {hi}): if the treatment "
                    "changed who answers, the NPS difference mixes its effect with response bias",
        "end": ".",
    },
    "zh": {
        "arm": "{arm} 对照 control：{text}",
        "p": "{corr} 校正 p = {p}", "p_none": "p 无定义",
        "proportion": "实验组{verb}的客户比对照组{more} {d} 个百分点（{t} vs {c}；{pct}% 区间 {lo} 至 {hi} 个百分点，{p}）",
        "more": "多", "fewer": "少", "less": "少", "higher": "高", "lower": "低",
        "verb_retention": "在后测期购买", "verb_repurchase": "在 2 天以上购买",
        "mean": "实验组客户{noun}平均{more} {d}（{pct}% 区间 {lo} 至 {hi}，{p}）",
        "noun_spend": "的消费", "noun_clv": "的预测 CLV ", "noun_p_alive": "的 P(alive) ",
        "zero": "；区间包含 0：未检出效果",
        "adjusted": "；{name}使区间{change} {share}",
        "cuped": "CUPED ", "regression": "回归调整", "narrowed": "收窄", "widened": "变宽",
        "winsor": "（数值在第 {percentile} 百分位 {cap} 处截尾）",
        "nps_none": "无法比较 NPS：后测期有 {t} 名实验组和 {c} 名对照组客户回答了 NPS 问题（每组至少需要 1 名）。",
        "nps": "实验组的 NPS 比对照组{more} {d} 分（{t} vs {c}；回答者 {nt} / {nc}；{pct}% 区间 {lo} 至 {hi} 分，{p}）",
        "response": "；回答率 {t} vs {c}（差 {d} 个百分点，{pct}% 区间 {lo} 至 {hi}）：若实验改变了谁来回答，"
                    "NPS 差异就混入了回答偏差",
        "end": "。",
    },
}


def plain_words(metric: str, r: pd.Series, result: ExperimentAnalysis, lang: str = "en") -> str:
    """One sentence in ``lang`` (:data:`WORDS`): the effect, its interval, the adjusted p-value and
    what CUPED did (with more than two arms, prefixed by the arm compared with control)."""
    w = WORDS.get(lang, WORDS["en"])
    text = _sentence(metric, r, result, w)
    return w["arm"].format(arm=r["arm"], text=text) if len(result.arms) > 2 else text


def _sentence(metric: str, r: pd.Series, result: ExperimentAnalysis, w: dict[str, str]) -> str:
    pct = round(result.level * 100)
    d, lo, hi = float(r["effect"]), float(r["lower"]), float(r["upper"])
    p = (w["p"].format(corr=CORRECTION_NAMES[result.correction], p=f"{float(r['p_adjusted']):.2g}")
         if np.isfinite(r["p_adjusted"]) else w["p_none"])
    if r["kind"] == "nps":
        return _nps_words(r, result, p, w)
    if r["kind"] == "proportion":
        what = w["proportion"].format(
            d=f"{abs(d) * 100:.1f}", more=w["more" if d >= 0 else "fewer"], verb=w[f"verb_{metric}"],
            t=f"{r['mean_treatment']:.1%}", c=f"{r['mean_control']:.1%}", pct=pct, lo=f"{lo * 100:.1f}",
            hi=f"{hi * 100:.1f}", p=p)
    else:
        money = metric in MONEY
        what = w["mean"].format(noun=w[f"noun_{metric}"], d=_num(abs(d), money), more=w["more" if d >= 0 else "less"],
                                pct=pct, lo=_num(lo, money), hi=_num(hi, money), p=p)
    if lo <= 0 <= hi:
        what += w["zero"]
    if result.adjust != "none" and np.isfinite(r["narrowing"]):
        what += w["adjusted"].format(name=w["cuped" if result.adjust == "cuped" else "regression"],
                                     change=w["narrowed" if r["narrowing"] >= 0 else "widened"],
                                     share=f"{abs(float(r['narrowing'])):.0%}")
    if r["winsor_cap"] is not None and np.isfinite(r["winsor_cap"]):
        what += w["winsor"].format(cap=_num(float(r["winsor_cap"]), True), percentile=f"{result.winsor_percentile:g}")
    return what[0].upper() + what[1:] + w["end"]


def _nps_words(r: pd.Series, result: ExperimentAnalysis, p: str, w: dict[str, str]) -> str:
    pct = round(result.level * 100)
    d, lo, hi = float(r["effect"]), float(r["lower"]), float(r["upper"])
    if not np.isfinite(d):
        return w["nps_none"].format(t=f"{int(r['n_treatment']):,}", c=f"{int(r['n_control']):,}")
    what = w["nps"].format(d=f"{abs(d):.1f}", more=w["higher" if d >= 0 else "lower"], t=f"{r['mean_treatment']:.1f}",
                           c=f"{r['mean_control']:.1f}", nt=f"{int(r['n_treatment']):,}", nc=f"{int(r['n_control']):,}",
                           pct=pct, lo=f"{lo:.1f}", hi=f"{hi:.1f}", p=p)
    if lo <= 0 <= hi:
        what += w["zero"]
    rr = (float(r["response_rate_effect"]), float(r["response_rate_lower"]), float(r["response_rate_upper"]))
    what += w["response"].format(t=f"{r['response_rate_treatment']:.1%}", c=f"{r['response_rate_control']:.1%}",
                                 d=f"{rr[0] * 100:+.1f}", pct=pct, lo=f"{rr[1] * 100:+.1f}", hi=f"{rr[2] * 100:+.1f}")
    return what + w["end"]
