"""What BG/NBD and Pareto/NBD with time-invariant covariates share (Fader & Hardie 2007).

A covariate model keeps the shape parameters of its base model and scales some of the others
per customer: ``p_i = p0 * exp(sign * gamma' z_i)``. The subclass names the scaled parameters
(``_scaled``) and writes the base likelihood per row with per-row parameters
(``_row_terms``); this module reads the covariates, fits on the distinct (x, t_x, T, z) rows
with the chain rule to (log p0, gamma), predicts group by group through the base model, and
turns coefficients into rate ratios with delta-method intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Self

import numpy as np
import pandas as pd

from clvlab.errors import ConvergenceWarning, DataValidationError, ParameterError, muted
from clvlab.models._base import ArrayLike, BaseModel, FloatArray, as_columns, row_labels
from clvlab.models._btyd import (
    as_output,
    check_frt,
    degeneracy,
    distinct_rows,
    prediction_inputs,
    read_frt,
)
from clvlab.models._mle import one_evaluation
from clvlab.stats import z_quantile

Process = Literal["purchase", "dropout"]


class Scaled(NamedTuple):
    """A base parameter scaled by covariates: ``param_i = param0 * exp(sign * gamma' z_i)``."""

    param: str  # name in the base model, e.g. "alpha"
    prefix: str  # coefficient names are "<prefix>:<covariate>"
    sign: float
    process: Process  # which covariate list applies


@dataclass(frozen=True)
class RateRatio:
    """Ratio of an expected rate between two covariate profiles, with a delta-method interval.

    ``quantity`` names the rate (e.g. ``dropout rate``); ``ratio`` is the group's expected rate
    over the reference's; ``lower``/``upper`` bound it at ``level`` (Wald on the log ratio).
    """

    process: str
    quantity: str
    ratio: float
    lower: float
    upper: float
    level: float

    def describe(self, group: str = "the group", reference: str = "the reference") -> str:
        """One sentence: "a detractor's expected dropout rate is 2.1 times a promoter's (95% CI ...)"."""
        pct = f"{self.level * 100:g}%"
        return (f"{group}'s expected {self.quantity} is {self.ratio:.2f} times {reference}'s "
                f"({pct} CI {self.lower:.2f}-{self.upper:.2f})")


class _CovariateModel(BaseModel):
    """Base of the covariate models (not used directly)."""

    _base: ClassVar[type[BaseModel]]
    _scaled: ClassVar[tuple[Scaled, ...]]
    #: what the expected rate of each process is called in sentences ("dropout rate", ...)
    _quantity: ClassVar[dict[str, str]]

    def __init__(self, *, purchase_covariates: Sequence[str] = (),
                 dropout_covariates: Sequence[str] = (), penalizer: float = 0.0) -> None:
        super().__init__(penalizer=penalizer)
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates

    # ---- names -----------------------------------------------------------------------------
    def _covariate_lists(self) -> dict[str, tuple[str, ...]]:
        lists = {"purchase": self.purchase_covariates, "dropout": self.dropout_covariates}
        out = {}
        for process, names in lists.items():
            if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
                msg = (f"The '{process}_covariates' parameter of {type(self).__name__} must be a "
                       f"list of column names. Got {names!r} instead.")
                raise ParameterError(msg)
            out[process] = tuple(names)
        return out

    def _names(self) -> tuple[str, ...]:
        lists = self._covariate_lists()
        coefs = tuple(f"{s.prefix}:{c}" for s in self._scaled for c in lists[s.process])
        return (*self._base.param_names, *coefs)

    def _covariate_names(self) -> list[str]:
        lists = self._covariate_lists()
        return list(dict.fromkeys((*lists["purchase"], *lists["dropout"])))

    # ---- input -----------------------------------------------------------------------------
    def _read_covariates(self, data: Any, covariates: Any, n: int, where: str) -> dict[str, FloatArray]:
        """The covariate columns, one value per row of the RFM input.

        From ``covariates`` when given (aligned on the customer ids when both it and ``data``
        carry them, else row by row), else from ``data`` itself.
        """
        names = self._covariate_names()
        if not names:
            return {}
        source = data if covariates is None else covariates
        if covariates is not None and isinstance(covariates, pd.DataFrame):
            ids, own = row_labels(data), row_labels(covariates)
            if ids is not None and own is not None:
                frame = covariates.set_index(pd.Index(own)) if "customer_id" in covariates.columns else covariates
                source = frame.reindex(pd.Index(ids))
                source.index.name = "customer_id"
        cols = as_columns(source, tuple(names), {}, where=where)
        if len(cols[names[0]]) != n:
            msg = f"{where}: {len(cols[names[0]])} rows of covariates for {n} customers"
            raise DataValidationError(msg, hint="pass one covariate row per customer (same order, "
                                                "or frames indexed by customer id)")
        return dict(cols)

    def _individual(self, params: Mapping[str, float], z: Mapping[str, Any]) -> dict[str, Any]:
        """Base-model parameters per row: ``p0 * exp(sign * gamma' z)`` for the scaled ones."""
        lists = self._covariate_lists()
        out: dict[str, Any] = {k: params[k] for k in self._base.param_names}
        for s in self._scaled:
            eta = sum((params[f"{s.prefix}:{c}"] * z[c] for c in lists[s.process]), np.float64(0.0))
            if lists[s.process]:
                out[s.param] = params[s.param] * np.exp(s.sign * np.asarray(eta, dtype=np.float64))
        return out

    # ---- fitting ---------------------------------------------------------------------------
    def _row_terms(self, base: Mapping[str, Any], x: FloatArray, tx: FloatArray, T: FloatArray,
                   ctx: dict[str, Any]) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient (n, 4) in the base parameters (natural scale).

        ``ctx`` lives for one fit: ``group`` holds each row's covariate-group code, and the
        model may keep what it builds once per fit there."""
        raise NotImplementedError

    def fit(self, data: Any = None, *, covariates: Any = None, frequency: ArrayLike | None = None,
            recency: ArrayLike | None = None, T: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> Self:
        """Fit by maximum likelihood on ``frequency``, ``recency``, ``T`` and the covariates.

        The covariate columns (``purchase_covariates`` and ``dropout_covariates``) come from
        ``covariates`` (a frame indexed by customer id, or in the rows' order) or else from
        ``data``. The fit runs on the distinct (x, t_x, T, z) rows, starting from the base
        model's fit without covariates.
        """
        where = f"{type(self).__name__}.fit"
        names = self._names()  # checks the hyperparameters first
        cols, w = read_frt(data, {"frequency": frequency, "recency": recency, "T": T,
                                  "weights": weights}, where=where)
        n = len(cols["frequency"])
        z = self._read_covariates(data, covariates, n, where)
        rows = distinct_rows({**cols, **{f"z:{k}": v for k, v in z.items()}}, w)
        keep = rows.weights > 0
        x, tx, tt = (rows.column(k)[keep] for k in ("frequency", "recency", "T"))
        zr = {k: rows.column(f"z:{k}")[keep] for k in z}
        wt = rows.weights[keep]
        group = (distinct_rows(zr).inverse.astype(np.float64) if zr else np.zeros(len(x)))
        self.covariate_means_ = {k: float(np.average(v, weights=wt)) for k, v in zr.items()}
        with muted(ConvergenceWarning):  # the start point's fit status is not the user's
            start: Any = self._base().fit(frequency=x, recency=tx, T=tt, weights=wt)  # type: ignore[attr-defined]
        base_names = self._base.param_names
        n_base = len(base_names)
        x0 = np.zeros(len(names))
        x0[:n_base] = np.log([start.params_[k] for k in base_names])
        ctx: dict[str, Any] = {"group": group}
        lists = self._covariate_lists()

        def evaluate(theta: FloatArray) -> tuple[float, FloatArray]:
            params = dict(zip(names, np.concatenate([np.exp(theta[:n_base]), theta[n_base:]]), strict=True))
            base = self._individual(params, zr)
            ll, g = self._row_terms(base, x, tx, tt, ctx)
            with np.errstate(all="ignore"):
                grad = np.zeros(len(names))
                for j, k in enumerate(base_names):
                    q = wt * g[:, j] * base[k]  # d ll / d log p0, per row
                    grad[j] = q.sum()
                    scaled = next((s for s in self._scaled if s.param == k), None)
                    if scaled is not None:
                        for c in lists[scaled.process]:
                            grad[names.index(f"{scaled.prefix}:{c}")] = scaled.sign * (q @ zr[c])
                return -float(wt @ ll), -grad

        value, gradient = one_evaluation(evaluate)
        self._fit_mle(value, x0, gradient=gradient,
                      n_customers=float(wt.sum()), n_rows=len(x), degenerate=degeneracy(x, wt),
                      unbounded=tuple(i >= n_base for i in range(len(names))))
        self._remember_unit(data)
        return self

    # ---- predictions -----------------------------------------------------------------------
    def at(self, **values: float) -> Any:
        """The base model (BG/NBD or Pareto/NBD) of customers with these covariate values.

        Covariates not given are held at their mean in the fitted data. The result carries the
        individual parameters in ``params_`` and predicts like the base model; with a fitted
        covariance, it carries its parameters' covariance too (``covariance_``,
        ``standard_errors_``), by the delta method: each scaled parameter is
        ``p0 * exp(sign * gamma' z)``, so its row of the Jacobian is ``p / p0`` for ``p0`` and
        ``sign * z_c * p`` for each coefficient (exact on the log scale, where it is linear), and
        :func:`clvlab.score_customers` draws the CLV interval of these customers from it.
        """
        params = self._check_fitted()
        names = self._covariate_names()
        unknown = sorted(set(values) - set(names))
        if unknown:
            msg = f"{type(self).__name__}.at: unknown covariate(s) {unknown}; the model has {names}"
            raise ParameterError(msg)
        z = {c: np.float64(values.get(c, self.covariate_means_.get(c, 0.0))) for c in names}
        base = self._individual(params, z)
        model = self._base()
        model.params_ = {k: float(base[k]) for k in self._base.param_names}
        cov = getattr(self, "covariance_", None)
        if cov is not None:
            model.covariance_ = self._profile_covariance(params, z, model.params_, cov)
            model.standard_errors_ = {k: float(np.sqrt(v)) if v >= 0 else float("nan")
                                      for k, v in zip(self._base.param_names, np.diag(model.covariance_),
                                                      strict=True)}
        if hasattr(self, "time_unit_"):
            model.time_unit_ = self.time_unit_
        return model

    def _profile_covariance(self, params: Mapping[str, float], z: Mapping[str, Any], base: Mapping[str, float],
                            cov: pd.DataFrame) -> pd.DataFrame:
        """Covariance of one covariate profile's base parameters (see :meth:`at`)."""
        names, base_names, lists = list(self._names()), self._base.param_names, self._covariate_lists()
        jac = np.zeros((len(base_names), len(names)))
        for j, k in enumerate(base_names):
            scaled = next((s for s in self._scaled if s.param == k and lists[s.process]), None)
            jac[j, names.index(k)] = 1.0 if scaled is None else base[k] / params[k]
            if scaled is not None:
                for c in lists[scaled.process]:
                    jac[j, names.index(f"{scaled.prefix}:{c}")] = scaled.sign * float(z[c]) * base[k]
        sigma = np.asarray(pd.DataFrame(cov).loc[names, names], dtype=np.float64)
        return pd.DataFrame(jac @ sigma @ jac.T, index=list(base_names), columns=list(base_names))

    def _inputs(self, where: str, covariates: Any, **inputs: ArrayLike
                ) -> tuple[dict[str, FloatArray], dict[str, Any], FloatArray, bool]:
        """Prediction inputs (checked), the per-row base parameters, each row's covariate-group
        code, and whether the inputs were scalars. ``covariates``: a frame or mapping with the
        covariate columns, one row per customer (row by row)."""
        params = self._check_fitted()
        cols, scalar = prediction_inputs(where, **inputs)
        check_frt(cols, where)
        n = len(cols["frequency"])
        z = self._read_covariates(covariates, None, n, where)
        group = distinct_rows(z).inverse.astype(np.float64) if z else np.zeros(n)
        return cols, self._individual(params, z), group, scalar

    def _alive(self, where: str, covariates: Any, **inputs: ArrayLike
               ) -> tuple[dict[str, FloatArray], dict[str, Any], FloatArray, bool]:
        """Inputs, per-row parameters, P(alive) per row, scalar flag (the model's formula)."""
        raise NotImplementedError

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *,
                          covariates: Any = None) -> float | FloatArray:
        """P(alive) of each customer at the customer's own parameters (``covariates``: a frame or
        mapping with the covariate columns, one row per customer, row by row)."""
        _, _, alive, scalar = self._alive(f"{type(self).__name__}.probability_alive", covariates,
                                          frequency=frequency, recency=recency, T=T)
        return as_output(alive, scalar)

    def log_likelihood_individual(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *,
                                  covariates: Any = None) -> float | FloatArray:
        """Per-customer log-likelihood; sums to ``log_likelihood_`` on the fitted data."""
        cols, base, group, scalar = self._inputs(f"{type(self).__name__}.log_likelihood_individual",
                                                 covariates, frequency=frequency, recency=recency, T=T)
        ll, _ = self._row_terms(base, cols["frequency"], cols["recency"], cols["T"], {"group": group})
        return as_output(ll, scalar)

    def expected_purchases(self, t: ArrayLike, **values: float) -> float | FloatArray:
        """E[X(t)] of a new customer with covariate values ``values`` (others at their mean)."""
        out: float | FloatArray = self.at(**values).expected_purchases(t)
        return out

    # ---- reporting -------------------------------------------------------------------------
    def _log_rate(self, process: Process, params: Mapping[str, float], z: Mapping[str, Any]) -> float:
        """log of the expected rate of ``process`` at covariate values ``z``."""
        raise NotImplementedError

    def rate_ratio(self, process: Process, group: Mapping[str, float],
                   reference: Mapping[str, float], *, level: float = 0.95) -> RateRatio:
        """How many times the expected rate of ``process`` of ``group`` is that of ``reference``.

        ``group`` and ``reference`` give covariate values (others are held at their mean in
        the fitted data), e.g. ``rate_ratio("dropout", {"detractor": 1}, {"detractor": 0})``.
        The interval is Wald on the log ratio, its variance by the delta method from
        ``covariance_`` (numerical gradient).
        """
        params = self._check_fitted()
        if process not in ("purchase", "dropout"):
            msg = f"The 'process' parameter of rate_ratio must be 'purchase' or 'dropout'. Got {process!r} instead."
            raise ParameterError(msg)
        names = self._covariate_names()
        for given in (group, reference):
            unknown = sorted(set(given) - set(names))
            if unknown:
                msg = f"{type(self).__name__}.rate_ratio: unknown covariate(s) {unknown}; the model has {names}"
                raise ParameterError(msg)
        means = getattr(self, "covariate_means_", {})
        z1 = {c: np.float64(group.get(c, means.get(c, 0.0))) for c in names}
        z0 = {c: np.float64(reference.get(c, means.get(c, 0.0))) for c in names}
        keys = list(self._names())

        def log_k(vec: FloatArray) -> float:
            p = dict(zip(keys, map(float, vec), strict=True))
            return self._log_rate(process, p, z1) - self._log_rate(process, p, z0)

        theta = np.array([params[k] for k in keys])
        grad = np.zeros(len(keys))
        for i in range(len(keys)):
            h = 1e-6 * max(1.0, abs(theta[i]))
            e = np.zeros(len(keys))
            e[i] = h
            grad[i] = (log_k(theta + e) - log_k(theta - e)) / (2 * h)
        cov = self.covariance_.loc[keys, keys].to_numpy()
        se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        est = log_k(theta)
        half = z_quantile(level) * se
        return RateRatio(process=process, quantity=self._quantity[process], ratio=math.exp(est),
                         lower=math.exp(est - half), upper=math.exp(est + half), level=level)

    # ---- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """:meth:`BaseModel.to_dict` plus ``covariate_means`` (the fitted data's means)."""
        out = super().to_dict()
        out["covariate_means"] = dict(self.covariate_means_)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        model = super().from_dict(data)
        model.covariate_means_ = {k: float(v) for k, v in data.get("covariate_means", {}).items()}
        return model
