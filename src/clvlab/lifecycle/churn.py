"""Churn early warning: a gradient-boosted model on what customers do and what they say.

:class:`ChurnModel` wraps scikit-learn's ``HistGradientBoostingClassifier`` (missing values
and categories handled natively, no heavy dependency). It fits any feature frame with a 0/1
label (``ChurnModel().fit(X, y)``: contractual data such as the telco example), or a workspace
on a time split (:meth:`ChurnModel.fit_workspace`): features as of ``as_of - window``
(:mod:`clvlab.lifecycle.churn_features`), label = no purchase in the ``window`` days that
follow, so the model only uses what was known by ``as_of``; it then scores as of ``as_of``.

**Reasons without SHAP.** A customer's reason is a group of features (recency, the frequency
trend, the latest NPS...); its contribution is how much the predicted churn probability drops
when that group is set to the typical value of the customers who stayed (the median over the
training rows labelled 0, the most common category, or "missing" when most of them have no
value, e.g. no survey answer). The reference is the stayers, not everyone: where most customers
churn, the typical customer is a lapsed one, and nothing would look like a risk beside him. The three largest positive contributions, written out ("no purchase for 210 days,
3.1x own cadence", "latest NPS 3 (detractor)"), are the customer's top reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError, Hint, NotFittedError, ParameterError, check_param
from clvlab.lifecycle.churn_features import (
    VOC,
    Feedback,
    behaviour_columns,
    float_frame,
    purchased,
)
from clvlab.lifecycle.thresholds import CHURN_WINDOW_DAYS, LifecycleThresholds

#: reason groups of the workspace features, in display order, and how each reads
GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("since_days", "gap_ratio", "n", "cadence_days", "last_gap_days", "gap_std", "gap_max",
                "silence_vs_longest_gap", "last_gap_vs_mean", "recency_share"),
    "frequency_trend": ("n_recent", "n_before", "frequency_trend", "n_30d", "n_180d", "n_365d"),
    "spend": ("spend", "mean_spend"),
    "spend_trend": ("spend_recent", "spend_before", "spend_trend", "spend_30d", "spend_180d", "spend_365d",
                    "last_spend_vs_mean"),
    "purchase_model": ("p_alive", "expected_purchases", "p_alive_pareto", "expected_purchases_pareto"),
    "nps": ("nps_latest", "nps_change", "has_feedback"),
    "csat": ("csat_latest",),
    "ces": ("ces_latest",),
    "sentiment": ("sentiment_latest",),
    "complaints": ("complaints",),
    "open_cases": ("open_cases",),
}
#: minimum drop in churn probability for a group to count as a reason
MIN_CONTRIBUTION = 0.005
#: most distinct values of a text column (the model's categories; one bin each, 255 bins at most)
MAX_CATEGORIES = 255
#: customer-snapshots a fit learns from, at most: a random sample (``random_state``) beyond it.
#: Gradient boosting's ranking stops improving long before (on CDNOW's 70,710 rows it is all
#: of them), while time and memory grow with every row: on 10M transactions (3.2M customers,
#: three snapshots) the fit alone took minutes and gigabytes. 100,000 ranks as well as 200,000
#: out of time on the 10M-row benchmark log (AUC 0.8394 and 0.8395 over its 3.18M customers; CDNOW
#: is below either cap), and early stopping then stops: 48 to 54 trees instead of all 100, about
#: half the prediction time (docs/lifecycle.md)
MAX_TRAIN_ROWS = 100_000
#: the gradient boosting's defaults. Scoring costs one pass over every customer per tree, so
#: fewer, smaller trees score millions of customers faster: learning rate 0.1, 7 leaves, 400 per
#: leaf, at most 100 trees ranks as well as 0.05, 15 leaves, 100 per leaf, 200 trees, out of time
#: on CDNOW (AUC 0.8396 both) and on the 10M-row benchmark log (0.8410 and 0.8408), and predicts in
#: about half the time (docs/lifecycle.md). On the 10M log early stopping ends the fit on
#: MAX_TRAIN_ROWS at 48 trees (it never stopped on the former 200,000 rows: all 100)
PARAMS: dict[str, Any] = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 7, "min_samples_leaf": 400,
                          "l2_regularization": 5.0, "early_stopping": True, "validation_fraction": 0.1}
#: rows from which a prediction runs on every core (:func:`_threads`)
PARALLEL_ROWS = 100_000
#: rows predicted both by cell and one by one, to check the cells (:meth:`ChurnModel._probability`)
CELL_CHECK_ROWS = 1024
#: rows predicted at a time when scoring a workspace (:meth:`ChurnModel._probability`; on every core)
PREDICT_ROWS = 262_144


def _nps_class(score: float) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _plural(n: float, word: str) -> str:
    return f"{n:,.0f} {word}{'' if round(n) == 1 else 's'}"


def _text(group: str, r: Mapping[str, Any], window: int, typical: Mapping[str, Any]) -> str:
    """One reason, written out from the customer's own values (and a typical stayer's)."""
    if group == "recency":
        if r["n"] <= 1:
            return f"one purchase only, {r['since_days']:,.0f} days ago"
        if not r["gap_ratio"] < 1:
            return (f"no purchase for {r['since_days']:,.0f} days, {r['gap_ratio']:.1f}x own cadence (one purchase "
                    f"every {r['cadence_days']:,.0f} days over {r['n']:,.0f} purchase days)")
        # not overdue yet: the risk is in the cadence (a customer who buys rarely), said first so
        # that a recent purchase never reads as a reason to leave
        usual = typical.get("cadence_days", np.nan)
        than = "" if pd.isna(usual) else f" (a typical stayer: every {usual:,.0f} days)"
        return (f"one purchase every {r['cadence_days']:,.0f} days over {r['n']:,.0f} purchase days{than}, "
                f"the last {r['since_days']:,.0f} days ago")
    if group == "frequency_trend":
        return (f"{_plural(r['n_recent'], 'purchase day')} in the last {window} days, "
                f"{r['n_before']:,.0f} in the {window} before")
    if group == "spend":
        usual = typical.get("mean_spend", np.nan)
        than = "" if pd.isna(usual) else f" (a typical stayer: {usual:,.2f})"
        return f"spend {r['spend']:,.2f} in all, {r['mean_spend']:,.2f} per purchase day{than}"
    if group == "spend_trend":
        return f"spend {r['spend_recent']:,.2f} in the last {window} days, {r['spend_before']:,.2f} before"
    if group == "purchase_model":  # the expectation first: a high P(alive) is no reason to leave
        usual = typical.get("expected_purchases", np.nan)
        than = "" if pd.isna(usual) else f" (a typical stayer: {usual:.2f})"
        return (f"{r['expected_purchases']:.2f} purchases expected in the next {window} days{than}, "
                f"P(alive) {r['p_alive']:.2f} (MBG/NBD)")
    if group == "nps":
        if not r["has_feedback"]:
            return "no survey answer"
        if pd.isna(r["nps_latest"]):
            return "no NPS answer"
        change = "" if pd.isna(r["nps_change"]) else f", {r['nps_change']:+.0f} on the answer before"
        return f"latest NPS {r['nps_latest']:.0f} ({_nps_class(r['nps_latest'])}){change}"
    if group in ("csat", "ces"):
        value = r[f"{group}_latest"]
        return f"no {group.upper()} answer" if pd.isna(value) else f"latest {group.upper()} {value:.0f}"
    if group == "sentiment":
        value = r["sentiment_latest"]
        if pd.isna(value):
            return "no comment"
        tone = "negative" if value < -0.2 else "positive" if value > 0.2 else "neutral"
        return f"latest comment {tone} ({value:+.2f})"
    if group == "complaints":
        return "no complaint" if pd.isna(r["complaints"]) else f"{_plural(r['complaints'], 'complaint')} in comments"
    if group == "open_cases":
        return "a case open" if r["open_cases"] else "no open case"
    cols = GROUPS.get(group, (group,))
    return ", ".join(f"{c} = {r[c]}" for c in cols)


class ChurnModel:
    """Gradient-boosted churn probability with per-customer reasons (see the module docstring).

    Parameters
    ----------
    window
        Days of the churn label on a workspace: churned = no purchase in the ``window`` days
        after the feature date (default :data:`~clvlab.lifecycle.thresholds.CHURN_WINDOW_DAYS`).
    voc
        Use the voice-of-the-customer features (:data:`~clvlab.lifecycle.churn_features.VOC`);
        False drops them, to see what they add.
    history
        On a workspace, add the purchase-history features of
        :data:`~clvlab.lifecycle.churn_features.EXTRA` (counts and spend over 30, 180 and 365
        days, the spread and longest of the customer's gaps, the last spend against the mean,
        Pareto/NBD's scores): one more engine query and a Pareto/NBD fit per snapshot. Off by
        default: on CDNOW they do not raise the out-of-time AUC (docs/lifecycle.md).
    thresholds
        Lifecycle thresholds (the cadence of the recency feature), as in the stages.
    random_state, **params
        Passed to ``HistGradientBoostingClassifier`` (defaults :data:`PARAMS`: at most 100
        iterations, learning rate 0.1, 7 leaves, 400 customers per leaf, L2 penalty 5, early
        stopping on a tenth of the rows).

    Examples
    --------
    Any feature frame and 0/1 label (on a workspace: ``fit_workspace(ws, as_of=...)``, then
    ``score(ws, as_of=...)``):

    >>> import numpy as np, pandas as pd, clvlab
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"days_since_last": rng.uniform(0, 300, 1000)})
    >>> y = (X["days_since_last"] + rng.normal(0, 40, 1000) > 150).astype(int)
    >>> model = clvlab.ChurnModel().fit(X, y)
    >>> p = model.predict_proba(pd.DataFrame({"days_since_last": [10.0, 290.0]}))[:, 1]
    >>> bool(p[0] < 0.2 < 0.8 < p[1])
    True
    """

    def __init__(self, *, window: int | None = None, voc: bool = True, history: bool = False,
                 thresholds: Any = None, random_state: int = 0, **params: Any) -> None:
        where = "ChurnModel"
        window = CHURN_WINDOW_DAYS if window is None else window
        check_param(isinstance(window, int) and not isinstance(window, bool) and window > 0, "window", where,
                    "an int > 0 (days)", window)
        self.window, self.voc, self.history, self.random_state = window, bool(voc), bool(history), random_state
        from clvlab.lifecycle.stages import _thresholds

        self.thresholds: LifecycleThresholds = _thresholds(thresholds, where)
        self.params = {**PARAMS, **params}
        self.estimator_: Any = None
        self.features_: list[str] = []
        self.categories_: dict[str, list[Any]] = {}
        self.typical_: pd.DataFrame | None = None
        self.split_: dict[str, Any] = {}
        self.train_rows_ = 0

    # ---- plain frames ---------------------------------------------------------------------

    def _matrix(self, X: pd.DataFrame, *, fitting: bool) -> pd.DataFrame:
        where = "ChurnModel"
        check_param(isinstance(X, pd.DataFrame), "X", where, "a pandas DataFrame of features", type(X).__name__)
        if fitting:
            cols = [c for c in X.columns if self.voc or c not in VOC]
            self.features_ = [str(c) for c in cols]
            self.categories_ = {}
            for c in cols:
                if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]):
                    self.categories_[str(c)] = sorted(X[c].dropna().astype(str).unique())
                    if len(self.categories_[str(c)]) > MAX_CATEGORIES:
                        msg = (f"{where}: column {c!r} has {len(self.categories_[str(c)]):,} distinct values; a "
                               f"category may have at most {MAX_CATEGORIES}")
                        raise DataValidationError(msg, hint="drop id-like columns, or make it numeric")
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            msg = f"{where}: the frame lacks the feature column(s) {missing} the model was fitted on"
            raise DataValidationError(msg, hint="pass the same columns as to fit()")
        if not self.categories_ and list(X.columns) == self.features_ and all(d == np.float64 for d in X.dtypes):
            return X  # the model's float columns in order (as scoring builds them): no copy of millions of rows
        numeric = [c for c in self.features_ if c not in self.categories_]
        columns = []
        for c in numeric:
            try:
                columns.append(pd.to_numeric(X[c], errors="raise").to_numpy(dtype=float))
            except (TypeError, ValueError) as exc:
                msg = f"{where}: feature column {c!r} is not numeric as at fit ({exc})"
                raise DataValidationError(msg) from exc
        # one float block (a frame of many single columns costs a copy per column on millions of rows)
        matrix = float_frame(columns, pd.RangeIndex(len(X)), numeric)
        if not self.categories_:
            return matrix
        for c in self.categories_:
            if c in self.features_:
                text = X[c].astype("string").astype(object).where(X[c].notna())
                matrix[c] = pd.Categorical(text.to_numpy(), categories=self.categories_[c])
        return matrix[self.features_]

    def fit(self, X: pd.DataFrame, y: Any) -> ChurnModel:
        """Fit on a feature frame ``X`` (numeric or categorical columns, NaN allowed) and 0/1 ``y``
        (1 = churned; booleans and 'Yes'/'No' read as such)."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        where = "ChurnModel.fit"
        target = _as_label(y, len(X) if isinstance(X, pd.DataFrame) else -1, where)
        if len(target) > MAX_TRAIN_ROWS:  # a random sample (see MAX_TRAIN_ROWS)
            keep = np.sort(np.random.default_rng(self.random_state).choice(len(target), MAX_TRAIN_ROWS,
                                                                           replace=False))
            X, target = X.iloc[keep], target[keep]
        self.train_rows_ = len(target)
        matrix = self._matrix(X, fitting=True)
        empty = [c for c in matrix.columns if matrix[c].isna().all()]  # no data: no signal (and HGB refuses it)
        self.features_ = [c for c in self.features_ if c not in empty]
        matrix = matrix[self.features_]
        if target.min() == target.max():
            msg = f"{where}: every customer has the same label ({int(target[0])}); nothing to learn"
            raise DataValidationError(msg, hint="use a longer history or another window")
        self.estimator_ = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=self.random_state, **self.params)
        with _threads():
            self.estimator_.fit(matrix, target)
        self.typical_ = _typical(matrix[target == 0])
        return self

    def _check_fitted(self) -> None:
        if self.estimator_ is None:
            msg = "This ChurnModel is not fitted yet; call fit() or fit_workspace() first"
            raise NotFittedError(msg)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)``: P(stay), P(churn) per row of ``X`` (scikit-learn's convention)."""
        self._check_fitted()
        with _threads(len(X)):
            return np.asarray(self.estimator_.predict_proba(self._matrix(X, fitting=False)))

    def churn_probability(self, X: pd.DataFrame) -> pd.Series:
        """P(churn) per row, indexed like ``X``."""
        return pd.Series(self.predict_proba(X)[:, 1], index=X.index, name="p_churn")

    def _probability(self, columns: Mapping[str, np.ndarray], rows: int, *, by_cell: bool = True) -> np.ndarray:
        """P(churn) from one array per feature.

        Once per cell of the trees' splits (:mod:`~clvlab.lifecycle.tree_cells`: rows in one
        cell get the same number, bit for bit; 3.18M customers of the benchmark log lie in 185K
        cells), then :data:`PREDICT_ROWS` rows at a time: a block of the model's features for
        every customer would be one more copy of millions of rows (585 MB for 3.2M customers),
        and each row's prediction is independent of the others, so the chunks give the same
        numbers. ``by_cell=False``: every row predicted."""
        from clvlab.lifecycle.tree_cells import first_rows, split_cells

        self._check_fitted()
        names = [c for c in self.features_ if c in columns]  # a missing one: _matrix says which
        found = None
        if by_cell and not self.categories_ and names == self.features_:
            found = split_cells(self.estimator_, [columns[c] for c in names])
        if found is not None and found[1] < rows:
            codes, n = found
            first = first_rows(codes, n)
            out = self._probability({c: np.asarray(columns[c])[first] for c in names}, n, by_cell=False)[codes]
            # a check of the cells against the model itself on rows spread over all (a release of
            # scikit-learn that read its trees otherwise would fail it): else every row is predicted
            probe = np.unique(np.linspace(0, rows - 1, min(rows, CELL_CHECK_ROWS)).astype(np.intp))
            if np.array_equal(out[probe], self._probability({c: np.asarray(columns[c])[probe] for c in names},
                                                            len(probe), by_cell=False)):
                return out
        out = np.empty(rows)
        for start in range(0, rows, PREDICT_ROWS):
            stop = min(rows, start + PREDICT_ROWS)
            block = float_frame([columns[c][start:stop] for c in names], pd.RangeIndex(stop - start), names)
            out[start:stop] = self.predict_proba(block)[:, 1]
        return out

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row and reason group: the drop in P(churn) when the group takes its typical value."""
        self._check_fitted()
        assert self.typical_ is not None
        matrix = self._matrix(X, fitting=False)
        out = {}
        with _threads():
            base = self.estimator_.predict_proba(matrix)[:, 1]
            for name, cols in self._groups().items():
                changed = matrix.copy()
                for c in cols:
                    changed[c] = self.typical_[c].iloc[0] if c not in self.categories_ else pd.Categorical(
                        [self.typical_[c].iloc[0]] * len(changed), categories=self.categories_[c])
                out[name] = base - self.estimator_.predict_proba(changed)[:, 1]
        return pd.DataFrame(out, index=X.index)

    def _groups(self) -> dict[str, tuple[str, ...]]:
        known = set(self.features_)
        groups = {g: tuple(c for c in cols if c in known) for g, cols in GROUPS.items()}
        groups = {g: cols for g, cols in groups.items() if cols}
        grouped = {c for cols in groups.values() for c in cols}
        return {**groups, **{c: (c,) for c in self.features_ if c not in grouped}}

    def reasons(self, X: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
        """``reason_1`` .. ``reason_<top>``: the groups that raise P(churn) most, written out
        (None when fewer raise it by :data:`MIN_CONTRIBUTION`)."""
        contrib = self.contributions(X)
        names = np.array(contrib.columns)
        values = contrib.to_numpy()
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        records: list[dict[str, Any]] = X.to_dict(orient="records")  # type: ignore[assignment]
        assert self.typical_ is not None
        typical = {str(k): v for k, v in self.typical_.iloc[0].items()}
        rows = []
        for i, rec in enumerate(records):
            texts: list[str | None] = [
                _describe(names[j], rec, self.window, typical) if values[i, j] >= MIN_CONTRIBUTION else None
                for j in order[i]]
            rows.append(texts + [None] * (top - len(texts)))
        return pd.DataFrame(rows, index=X.index, columns=[f"reason_{k + 1}" for k in range(top)])

    # ---- workspaces -----------------------------------------------------------------------

    def features(self, source: Any, *, as_of: Any = None, app_store: Any = None,
                 feedback: Feedback | None = None) -> pd.DataFrame:
        """The behaviour and VoC features of every customer who bought by ``as_of``."""
        index, columns, day = self._columns(source, as_of=as_of, app_store=app_store, feedback=feedback)
        return _frame(index, columns, day)

    def _columns(self, source: Any, *, as_of: Any = None, app_store: Any = None, feedback: Feedback | None = None
                 ) -> tuple[pd.Index, dict[str, np.ndarray], dt.date]:
        """:meth:`features` as the customers, one array per feature, and the date."""
        from clvlab.lifecycle._features import check_as_of, purchase_days

        where = "ChurnModel.features"
        days = purchase_days(source, where)
        day = check_as_of(as_of, days, where)
        return (*_workspace_columns(source, days, day, self, app_store, feedback), day)

    def fit_workspace(self, source: Any, *, as_of: Any = None, app_store: Any = None,
                      feedback: Feedback | None = None, snapshots: int = 3) -> ChurnModel:
        """Fit on time splits that end by ``as_of`` (default: the last purchase day).

        Snapshot k (k = 1 .. ``snapshots``): features as of ``as_of - k x window``, churned = no
        purchase in the ``window`` days after it; snapshots before the first purchase day are
        left out. Several snapshots show the model customers at different ages and seasons.
        Beyond :data:`MAX_TRAIN_ROWS` customer-snapshots in all, each snapshot gives a random
        sample of its share: the customers are drawn in the engine (seeded by
        ``random_state``), so only they are brought into Python.
        """
        from clvlab.lifecycle._features import (
            check_as_of,
            data_range,
            positions,
            purchase_days,
            sample_days,
        )

        where = "ChurnModel.fit_workspace"
        check_param(isinstance(snapshots, int) and snapshots > 0, "snapshots", where, "an int > 0", snapshots)
        days = purchase_days(source, where)
        end = check_as_of(as_of, days, where)
        lo, hi = data_range(days)
        if end - dt.timedelta(days=self.window) >= hi:  # the last window's labels would all read churned
            first = lo + dt.timedelta(days=self.window + 1)
            msg = (f"{where}: as_of {end.isoformat()} lies {(end - hi).days:,} days after the data, which end on "
                   f"{hi.isoformat()}: no purchase after {hi.isoformat()} can be observed, so the churn labels "
                   f"up to {end.isoformat()} would read every customer as churned")
            raise DataValidationError(msg, hint=Hint(f"a date from {first.isoformat()} to {hi.isoformat()}",
                                                     option="as_of"))
        starts = [end - dt.timedelta(days=k * self.window) for k in range(1, snapshots + 1)]
        starts = [d for d in starts if d > lo]
        if not starts:
            first = end - dt.timedelta(days=self.window)
            msg = (f"{where}: training the churn model needs purchases before {first.isoformat()} "
                   f"({self.window} days before {end.isoformat()}); the data start on {lo.isoformat()}")
            raise DataValidationError(msg, hint=f"use a later date (the data end on {hi.isoformat()}) "
                                      "or a shorter window")
        frames, labels = [], []
        rng, per_snapshot = np.random.default_rng(self.random_state), MAX_TRAIN_ROWS // len(starts)
        sample = sample_days(days, starts[0], per_snapshot, self.random_state)  # the latest has the most customers
        for start in starts:
            X = _workspace_features(source, sample, start, self, app_store, feedback)
            label = positions(X.index, purchased(sample, start, start + dt.timedelta(days=self.window))) < 0
            if len(X) > per_snapshot:  # each snapshot's share of MAX_TRAIN_ROWS, at random
                keep = np.sort(rng.choice(len(X), per_snapshot, replace=False))
                X, label = X.iloc[keep], label[keep]
            frames.append(X)
            labels.append(label)
        churned = np.concatenate(labels)
        self.fit(pd.concat(frames, ignore_index=True), churned)
        self.split_ = {"features_as_of": [d.isoformat() for d in starts], "label_end": end.isoformat(),
                       "window": self.window, "rows": len(churned), "churn_rate": float(churned.mean())}
        return self

    def score(self, source: Any, *, as_of: Any = None, app_store: Any = None, feedback: Feedback | None = None,
              top: int = 3, reasons: bool = True) -> pd.DataFrame:
        """``p_churn`` (no purchase in the next ``window`` days), the top reasons (unless
        ``reasons=False``) of every customer who bought by ``as_of``, and the features."""
        X = self.features(source, as_of=as_of, app_store=app_store, feedback=feedback)
        parts: list[pd.Series | pd.DataFrame] = [self.churn_probability(X), X]
        if reasons:
            parts.insert(1, self.reasons(X, top=top))
        out = pd.concat(parts, axis=1)
        out.attrs.update(as_of=X.attrs["as_of"], split=self.split_)
        return out


def _threads(rows: int = 0) -> Any:
    """One OpenMP thread up to :data:`PARALLEL_ROWS` rows: on tens of thousands of rows it is
    faster than many, and on a shared machine several threads slow the fit down several times.
    Predicting on more rows uses every core: each row is independent work (on 3.2M customers
    two cores took the former 127 trees from 13.3 s to 6.6 s)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if rows < PARALLEL_ROWS else None, user_api="openmp")


def _describe(group: str, record: Mapping[str, Any], window: int, typical: Mapping[str, Any]) -> str:
    try:
        return _text(group, record, window, typical)
    except KeyError:  # a plain frame: the column and its value
        return ", ".join(f"{c} = {record.get(c)}" for c in GROUPS.get(group, (group,)))


def _typical(matrix: pd.DataFrame) -> pd.DataFrame:
    """One row: per column the median (numeric), the most common category, or NaN when most are
    missing (of the rows given: the stayers)."""
    row: dict[str, Any] = {}
    for c in matrix.columns:
        col = matrix[c]
        if col.isna().mean() > 0.5:
            row[c] = np.nan
        elif isinstance(col.dtype, pd.CategoricalDtype):
            row[c] = col.value_counts().index[0]
        else:
            row[c] = float(col.median())
    return pd.DataFrame([row])


def _as_label(y: Any, n: int, where: str) -> np.ndarray:
    series = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy())
    if n >= 0 and len(series) != n:
        msg = f"{where}: {len(series)} labels for {n} rows"
        raise ParameterError(msg)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip().str.lower()
        mapped = text.map({"yes": 1, "no": 0, "true": 1, "false": 0, "1": 1, "0": 0})
        if mapped.isna().any():
            bad = int(mapped.isna().to_numpy().argmax())
            msg = f"{where}: label {series.iloc[bad]!r} (row {bad + 1}) is not 0/1, yes/no or true/false"
            raise DataValidationError(msg)
        return mapped.to_numpy(dtype=int)
    values = series.to_numpy(dtype=float)
    if not np.isin(values, (0.0, 1.0)).all():
        bad = int((~np.isin(values, (0.0, 1.0))).argmax())
        msg = f"{where}: label {values[bad]!r} (row {bad + 1}) is not 0 or 1"
        raise DataValidationError(msg)
    return values.astype(int)


def _workspace_features(source: Any, days: Any, day: dt.date, model: ChurnModel, app_store: Any,
                        feedback: Feedback | None) -> pd.DataFrame:
    return _frame(*_workspace_columns(source, days, day, model, app_store, feedback), day)


def _workspace_columns(source: Any, days: Any, day: dt.date, model: ChurnModel, app_store: Any,
                       feedback: Feedback | None) -> tuple[pd.Index, dict[str, np.ndarray]]:
    index, columns = behaviour_columns(days, day, model.window, model.thresholds, history=model.history)
    if model.voc:
        from clvlab.lifecycle.health import _open_cases

        fb = feedback if feedback is not None else Feedback.read(source, day)
        open_ids = _open_cases(app_store, day) if app_store is not None else None
        columns.update(fb.columns(day, index, open_ids))
    return index, columns


def _frame(index: pd.Index, columns: dict[str, np.ndarray], day: dt.date) -> pd.DataFrame:
    X = float_frame(list(columns.values()), index, list(columns))  # side by side: one copy, no join
    X.attrs["as_of"] = day.isoformat()
    return X


__all__ = ["GROUPS", "MIN_CONTRIBUTION", "PARAMS", "ChurnModel"]
