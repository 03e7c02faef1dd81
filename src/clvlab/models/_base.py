"""What every clvlab model shares: scikit-learn conventions, input checks, summary, JSON save/load.

A model subclass declares its parameter names, writes its log-likelihood, and calls
:meth:`BaseModel._fit_mle`. Hyperparameters live in ``__init__`` (stored, never checked there);
``fit`` validates and returns ``self``; fitted attributes end in ``_``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from clvlab.errors import (
    ConvergenceWarning,
    DataValidationError,
    Issue,
    NotFittedError,
    ParameterError,
    warn,
)
from clvlab.models._mle import FitStatus, MLEResult, maximize_likelihood

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
ArrayLike = Any  # anything np.asarray accepts


class BaseModel:
    """Base of all clvlab models (not used directly)."""

    #: the papers' parameter names, in the papers' order
    param_names: ClassVar[tuple[str, ...]] = ()
    #: time unit of the data fitted on (D, W, M), when known; saved with the model
    time_unit_: str

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # ---- scikit-learn style plumbing -------------------------------------------------------
    @classmethod
    def _init_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._init_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters; unknown names raise :class:`ParameterError`."""
        valid = set(self._init_param_names())
        for key, value in params.items():
            if key not in valid:
                msg = f"Invalid parameter {key!r} for {type(self).__name__}. Valid: {sorted(valid)}."
                raise ParameterError(msg)
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        fitted = ""
        if hasattr(self, "params_"):
            fitted = " fitted: " + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({args}){fitted}"

    def _names(self) -> tuple[str, ...]:
        """Names of the fitted parameters: ``param_names``, plus, in models with covariates,
        one coefficient per covariate (known from the hyperparameters, before the fit)."""
        return self.param_names

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            msg = f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            raise NotFittedError(msg)
        params: dict[str, float] = self.params_
        return params

    def _check_penalizer(self) -> float:
        pen = self.penalizer
        if not isinstance(pen, int | float) or isinstance(pen, bool) or not np.isfinite(pen) or pen < 0:
            msg = (
                f"The 'penalizer' parameter of {type(self).__name__} must be a float >= 0. "
                f"Got {pen!r} instead."
            )
            raise ParameterError(msg)
        return float(pen)

    # ---- fitting ---------------------------------------------------------------------------
    def _remember_unit(self, data: Any) -> None:
        """Record the time unit of an RFM frame (``data.attrs['freq']``, as ``rfm_summary`` and
        ``calibration_holdout`` set it) as ``time_unit_``, so scoring can refuse a mismatch."""
        unit = getattr(data, "attrs", {}).get("freq") if data is not None else None
        if isinstance(unit, str):
            self.time_unit_ = unit

    def _fit_mle(
        self,
        neg_log_likelihood: Callable[[FloatArray], float],
        x0: FloatArray,
        *,
        gradient: Callable[[FloatArray], FloatArray] | None = None,
        n_customers: float,
        n_rows: int,
        degenerate: str | Callable[[dict[str, float]], str] = "",
        unbounded: tuple[bool, ...] = (),
    ) -> MLEResult:
        """Maximise the likelihood over the log-parameters and store the fitted attributes.

        ``neg_log_likelihood`` and ``gradient`` take the *log* of the parameters (in
        ``_names()`` order; the parameters flagged True in ``unbounded``, such as covariate
        coefficients, as they are) and return the total (weighted) negative log-likelihood and its
        gradient with respect to the log-parameters. The penalizer is added here.
        ``degenerate`` names a property of the data that keeps it from identifying the model
        (e.g. no repeat purchases), or is a function of the fitted parameters that does (e.g.
        Gamma-Gamma's q <= 1). The verdict on the fit is ``fit_status_``
        (:class:`~clvlab.models.FitStatus`), the one place that decides it; a fit that is not
        ``ok`` warns here, once, with a :class:`~clvlab.errors.ConvergenceWarning`.
        """
        result = maximize_likelihood(
            neg_log_likelihood, x0, gradient=gradient, n_customers=n_customers,
            penalizer=self._check_penalizer(), model=type(self).__name__,
            param_names=self._names(), unbounded=unbounded,
        )
        names = self._names()
        self.params_ = dict(zip(names, map(float, result.params), strict=True))
        found = degenerate(self.params_) if callable(degenerate) else degenerate
        status = dataclasses.replace(result.status, degenerate=found)
        self.log_likelihood_ = float(result.log_likelihood)
        self.standard_errors_ = dict(zip(names, map(float, result.standard_errors), strict=True))
        self.covariance_ = pd.DataFrame(result.covariance, index=list(names), columns=list(names))
        self.n_customers_ = float(n_customers)
        self.n_rows_ = int(n_rows)
        self.fit_status_ = status
        self.converged_ = status.ok
        self.n_iter_ = status.n_iter
        if not status.ok:
            warn(status.message(type(self).__name__), ConvergenceWarning, stacklevel=3)
        return result

    # ---- reporting -------------------------------------------------------------------------
    @property
    def aic_(self) -> float:
        """Akaike information criterion of the fit."""
        self._check_fitted()
        return 2 * len(self._names()) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion of the fit (n = number of customers)."""
        self._check_fitted()
        return len(self._names()) * float(np.log(self.n_customers_)) - 2 * self.log_likelihood_

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95% Wald intervals (one row per parameter)."""
        params = self._check_fitted()
        se = pd.Series(self.standard_errors_)
        coef = pd.Series(params)
        out = pd.DataFrame({"coef": coef, "se": se})
        out["lower 95%"] = out["coef"] - 1.959963984540054 * out["se"]
        out["upper 95%"] = out["coef"] + 1.959963984540054 * out["se"]
        out.index.name = "param"
        out.attrs.update(
            model=type(self).__name__, log_likelihood=self.log_likelihood_,
            n_customers=self.n_customers_, aic=self.aic_, bic=self.bic_,
        )
        return out

    # ---- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the model and its fit.

        ``time_unit`` is the time unit of the RFM data the model was fitted on (``D``, ``W``,
        ``M``; the fitted attribute ``time_unit_``, set by ``fit`` from the frame's unit, see
        :mod:`clvlab.features.units`), or None when unknown.
        """
        params = self._check_fitted()
        return {
            "model": type(self).__name__,
            "hyperparameters": self.get_params(),
            "params": params,
            "standard_errors": self.standard_errors_,
            "covariance": self.covariance_.to_numpy().tolist(),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "n_rows": self.n_rows_,
            "converged": self.converged_,
            "time_unit": getattr(self, "time_unit_", None),
            "fit_status": self.fit_status_.to_dict(),
        }

    def save(self, path: str | Path) -> None:
        """Write the fitted model as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("model") != cls.__name__:
            msg = f"This file holds a {data.get('model')!r} model, not a {cls.__name__}."
            raise DataValidationError(msg)
        model = cls(**data.get("hyperparameters", {}))
        names = list(model._names())
        model.params_ = {k: float(data["params"][k]) for k in names}
        model.standard_errors_ = {k: float(v) for k, v in data.get("standard_errors", {}).items()}
        cov = data.get("covariance") or np.full((len(names), len(names)), np.nan)
        model.covariance_ = pd.DataFrame(np.asarray(cov, dtype=float), index=names, columns=names)
        model.log_likelihood_ = float(data["log_likelihood"])
        model.n_customers_ = float(data.get("n_customers", float("nan")))
        model.n_rows_ = int(data.get("n_rows", 0))
        model.converged_ = bool(data.get("converged", True))
        unit = data.get("time_unit")
        if unit is not None:
            model.time_unit_ = str(unit)
        if "fit_status" in data:
            model.fit_status_ = FitStatus.from_dict(data["fit_status"])
        else:  # files written before fit_status_ existed
            model.fit_status_ = FitStatus(converged=model.converged_)
        model.n_iter_ = model.fit_status_.n_iter
        return model

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"Cannot read model file '{path}': {exc}"
            raise DataValidationError(msg) from exc
        return cls.from_dict(data)


def load_model(path: str | Path) -> BaseModel:
    """Read any model written by ``save``, whatever its class."""
    from clvlab import models

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        cls = getattr(models, data["model"])
    except (OSError, json.JSONDecodeError, KeyError, AttributeError) as exc:
        msg = f"'{path}' is not a clvlab model file ({exc})"
        raise DataValidationError(msg) from exc
    model: BaseModel = cls.from_dict(data)
    return model


# ---- input extraction ----------------------------------------------------------------------
class Columns(dict[str, FloatArray]):
    """Float columns pulled out of user input, with the customer ids of their rows.

    ``labels`` holds the customer id of each row (a frame's index, or its ``customer_id``
    column), or None for plain arrays; :func:`check_rule` names rows by it.
    """

    labels: np.ndarray[Any, Any] | pd.Index | None = None


def row_labels(data: Any) -> np.ndarray[Any, Any] | pd.Index | None:
    """Customer ids of the rows of ``data``: a pandas index other than the default 0..n-1 (the
    index itself: only a bad row's id is ever read, and turning millions of Arrow strings into
    Python objects for it cost 0.15 s a fit), else a ``customer_id`` column; None when there
    are none (rows are then named by position)."""
    if isinstance(data, pd.DataFrame):
        index = data.index
        plain = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
        if not plain or index.name is not None:
            return index
    column = _column(data, "customer_id") if data is not None and not isinstance(data, Mapping) else None
    return None if column is None else np.asarray(column)


def _locate(columns: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Where row ``i`` (0-based) is, for an :class:`Issue`: its customer id, else its 1-based row."""
    labels = getattr(columns, "labels", None)
    if labels is not None and len(labels) > i:
        return {"source": f"customer {labels[i]}"}
    return {"row": i + 1}


def _what(columns: Mapping[str, Any]) -> str:
    return "customers" if getattr(columns, "labels", None) is not None else "rows (1-based)"


def as_columns(
    data: Any,
    names: tuple[str, ...],
    given: Mapping[str, ArrayLike | None],
    *,
    where: str,
    optional: tuple[str, ...] = (),
) -> Columns:
    """Pull float columns out of a frame (pandas/Polars/mapping) or out of keyword arrays.

    Every name in ``names`` is required; names in ``optional`` are returned when present.
    Checks that the columns are numeric, finite and of equal length, naming the first bad
    customers (by id when the frame has them, see :func:`row_labels`, else by 1-based row).
    """
    out = Columns()
    labels = row_labels(data)
    for name in (*names, *optional):
        value = given.get(name)
        if value is None and data is not None:
            # a calibration_holdout frame fits directly: 'frequency' falls back to 'frequency_cal'
            value = _column(data, name)
            if value is None:
                value = _column(data, f"{name}_cal")
        elif labels is None and isinstance(value, pd.Series):
            labels = row_labels(value.to_frame())
        if value is None:
            if name in optional:
                continue
            msg = (
                f"{where} needs '{name}': pass a frame with a '{name}' column "
                f"or {name}=array."
            )
            raise DataValidationError(msg)
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            msg = f"{where}: column '{name}' is not numeric ({exc})"
            raise DataValidationError(msg) from exc
        arr = np.atleast_1d(arr)
        if arr.ndim != 1:
            msg = f"{where}: '{name}' must be one-dimensional, got shape {arr.shape}"
            raise DataValidationError(msg)
        out[name] = arr
    lengths = {k: len(v) for k, v in out.items()}
    if len(set(lengths.values())) > 1:
        msg = f"{where}: columns have different lengths {lengths}"
        raise DataValidationError(msg)
    if labels is not None and lengths and len(labels) != next(iter(lengths.values())):
        labels = None
    out.labels = labels
    for name, arr in out.items():
        check_rule(~np.isfinite(arr), out, name, "not a finite number", where=where)
    if out and not next(iter(out.values())).size:
        msg = f"{where}: no customers to fit (empty input)"
        raise DataValidationError(msg)
    return out


def check_rule(
    mask: np.ndarray, columns: Mapping[str, FloatArray], column: str, message: str, *, where: str
) -> None:
    """Raise a located :class:`DataValidationError` for the rows where ``mask`` is True.

    Rows are named by customer id when ``columns`` is a :class:`Columns` with labels, else by
    1-based position.
    """
    bad = np.flatnonzero(mask)
    if bad.size:
        issues = [
            Issue(message, column=column, value=float(columns[column][i]), **_locate(columns, int(i)))
            for i in bad[:3]
        ]
        msg = f"{where}: {bad.size} invalid {_what(columns)}"
        raise DataValidationError(msg, issues)


def _column(data: Any, name: str) -> Any:
    if isinstance(data, pd.DataFrame):
        return data[name].to_numpy() if name in data.columns else None
    if isinstance(data, Mapping):
        return data.get(name)
    columns = getattr(data, "columns", None)  # Polars and other frame libraries
    if columns is not None and name in list(columns):
        col = data[name]
        return col.to_numpy() if hasattr(col, "to_numpy") else col
    return None


def compress(columns: Mapping[str, FloatArray], weights: FloatArray | None) -> tuple[dict[str, FloatArray], FloatArray]:
    """Collapse identical rows into distinct rows with summed weights.

    Fitting on the distinct (frequency, recency, T) rows is exact (the log-likelihood is a
    weighted sum) and, on real data, shrinks a million customers to a few hundred thousand rows
    or far fewer at week granularity.
    """
    names = list(columns)
    n = len(columns[names[0]])
    w = np.ones(n) if weights is None else weights
    frame = pd.DataFrame({**columns, "__w": w})
    grouped = frame.groupby(names, sort=False, observed=True)["__w"].sum()
    idx = grouped.index
    if len(names) == 1:
        distinct = {names[0]: np.asarray(idx, dtype=np.float64)}
    else:
        distinct = {name: np.asarray(idx.get_level_values(i), dtype=np.float64) for i, name in enumerate(names)}
    return distinct, grouped.to_numpy(dtype=np.float64)
