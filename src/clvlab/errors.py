"""The clvlab error tree.

Every error a user can cause derives from :class:`ClvlabError`; interfaces translate it at the
boundary (the CLI prints one line and exits 1, the REST API answers 422 with the same fields).

Examples
--------
>>> import clvlab
>>> clvlab.BetaGeo().probability_alive(1, 2, 3)
Traceback (most recent call last):
...
clvlab.errors.NotFittedError: This BetaGeo instance is not fitted yet. Call 'fit' first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ClvlabError(Exception):
    """Root of every error clvlab raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One located problem in user data. ``row`` is 1-based, header excluded."""

    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(f"'{self.source}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return (", ".join(where) + ": " if where else "") + self.message


class DataValidationError(ValueError, ClvlabError):
    """User data that cannot be used as given. ``issues`` lists where and why."""

    def __init__(self, message: str, issues: Sequence[Issue] = (), hint: str | None = None):
        self.issues = list(issues)
        self.hint = hint
        text = message
        if self.issues:
            shown = "; ".join(str(i) for i in self.issues[:3])
            more = f" (and {len(self.issues) - 3} more)" if len(self.issues) > 3 else ""
            text = f"{message}: {shown}{more}"
        if hint:
            text = f"{text}. Hint: {hint}"
        super().__init__(text)


class ParameterError(ValueError, ClvlabError):
    """A function or estimator was called with an invalid argument."""


class NotFittedError(ValueError, AttributeError, ClvlabError):
    """A model was used before ``fit``."""


class ConvergenceError(RuntimeError, ClvlabError):
    """Maximum-likelihood estimation did not converge."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped at a boundary or with a large gradient; results may be unreliable."""


class DataQualityWarning(UserWarning):
    """Data was usable but something in it deserves a look (e.g. customers left out of a fit)."""


def check_param(
    ok: bool, name: str, where: str, expected: str, got: object
) -> None:
    """Raise a :class:`ParameterError` in scikit-learn's wording unless ``ok``."""
    if not ok:
        msg = f"The '{name}' parameter of {where} must be {expected}. Got {got!r} instead."
        raise ParameterError(msg)
